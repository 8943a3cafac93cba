// Hostile and malformed requests get the apiserver's answers, never a reset connection, a 500 or a
// stalled daemon (issue 13, items 4 and 7): bodies over the cap are 413, malformed
// percent-encoding, deep nesting and prototype keys are 400, and a resourceVersion from the
// future is a 504 Timeout with cause ResourceVersionTooLarge after a bounded wait.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Manifest } from '../../model/index.js';
import { MAX_BODY_BYTES, MAX_BODY_DEPTH, MAX_YAML_BODY_BYTES, parseBody } from './body.js';
import { meta, NETPOL, pod, PODS, policy, startTestServer, type TestServer } from './testing.js';
import { MAX_OBJECT_BYTES } from './shape.js';
import { waitForResourceVersion } from './watch.js';

/** Short, so the refusal of a future resourceVersion is quick to see; the daemon waits 3 s as upstream does. */
const WAIT_MS = 150;

let t: TestServer;

before(async () => {
  t = await startTestServer({ resourceVersionWaitMs: WAIT_MS });
  assert.equal((await t.api.call('POST', PODS, pod('web'))).status, 201);
});

after(() => t.close());

const json = (v: unknown): string => JSON.stringify(v);
/** A pod manifest padded with a container argument to `bytes` bytes of JSON (annotations may hold only 256 KiB). */
function podOfSize(name: string, bytes: number): string {
  const base = json(pod(name, {}, { containers: [{ name: 'c', image: 'x', args: ['PAD'] }] }));
  return base.replace('"PAD"', `"${'x'.repeat(Math.max(0, bytes - base.length + 3))}"`);
}

describe('request bodies', () => {
  test(`a body over ${MAX_BODY_BYTES} bytes is answered 413 RequestEntityTooLarge, with or without a Content-Length`, async () => {
    for (const [size, chunked] of [
      [MAX_BODY_BYTES + 1, false],
      [5 * 1024 * 1024, false],
      [5 * 1024 * 1024, true],
    ] as const) {
      const r = await t.request('POST', PODS, { body: podOfSize('big', size), headers: { 'Content-Type': 'application/json' }, chunked });
      assert.equal(r.status, 413, `${size} bytes${chunked ? ', chunked' : ''}: ${r.body.toString().slice(0, 200)}`);
      const status = r.json();
      assert.equal(status.kind, 'Status');
      assert.equal(status.reason, 'RequestEntityTooLarge');
      assert.equal(status.message, `Request entity too large: limit is ${MAX_BODY_BYTES}`);
    }
    assert.equal(t.store.get('Pod', 'default', 'big'), undefined, 'nothing was stored');
    // The connection (or a new one) still serves requests.
    assert.equal((await t.api.call('GET', `${PODS}/web`)).status, 200);
  });

  test('a body just under the cap is served', async () => {
    const r = await t.request('POST', PODS, { body: podOfSize('large', MAX_BODY_BYTES - 1), headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 201, r.body.toString().slice(0, 200));
  });

  test(`a YAML body over ${MAX_YAML_BODY_BYTES} bytes is 413 (YAML costs far more to parse than JSON)`, async () => {
    const yaml = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: y\n  annotations:\n    pad: ${'x'.repeat(MAX_YAML_BODY_BYTES)}\nspec:\n  containers: [{name: c, image: x}]\n`;
    const r = await t.request('POST', PODS, { body: yaml, headers: { 'Content-Type': 'application/yaml' } });
    assert.equal(r.status, 413);
    assert.equal(r.json().message, `Request entity too large: limit is ${MAX_YAML_BODY_BYTES}`);
    const small = await t.request('POST', PODS, { body: 'apiVersion: v1\nkind: Pod\nmetadata: {name: y}\nspec:\n  containers: [{name: c, image: x}]\n', headers: { 'Content-Type': 'application/yaml' } });
    assert.equal(small.status, 201, small.body.toString());
  });

  test('a YAML map with many keys parses in linear time (the yaml library compares every pair of keys)', () => {
    // 25,000 keys: pairwise that is 300 million comparisons (about 8 s); one set per map, a few ms.
    const text = Array.from({ length: 25_000 }, (_, i) => `k${i}: v`).join('\n');
    const started = performance.now();
    const parsed = parseBody(text, 'application/yaml') as Record<string, string>;
    assert.equal(Object.keys(parsed).length, 25_000);
    assert.ok(performance.now() - started < 2000, `took ${Math.round(performance.now() - started)} ms`);
  });

  test('duplicate keys in a YAML body are 400', async () => {
    const r = await t.request('POST', PODS, { body: 'apiVersion: v1\nkind: Pod\nmetadata: {name: d, name: e}\nspec: {containers: [{name: c, image: x}]}\n', headers: { 'Content-Type': 'application/yaml' } });
    assert.equal(r.status, 400);
    assert.match(String(r.json().message), /^the request body is not valid YAML: map keys must be unique: "name" appears twice/);
  });

  test('a YAML alias bomb is 400, not an explosion', async () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...['b', 'c', 'd', 'e', 'f'].map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcde'[i]}`).join(', ')}]`)].join('\n');
    const r = await t.request('POST', PODS, { body: bomb, headers: { 'Content-Type': 'application/yaml' } });
    assert.equal(r.status, 400);
    assert.match(String(r.json().message), /not valid YAML: Excessive alias count/);
  });

  test(`JSON nested deeper than ${MAX_BODY_DEPTH} levels is 400, on create and on patch`, async () => {
    const deep = (n: number): string => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    const create = await t.request('POST', PODS, { body: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"deep"},"spec":${deep(20_000)}}`, headers: { 'Content-Type': 'application/json' } });
    assert.equal(create.status, 400, create.body.toString().slice(0, 300));
    assert.match(String(create.json().message), /^the request body is nested more than 100 levels deep \(at spec\.a\.a/);
    const patch = await t.request('PATCH', `${PODS}/web`, { body: `{"metadata":{"annotations":${deep(20_000)}}}`, headers: { 'Content-Type': 'application/merge-patch+json' } });
    assert.equal(patch.status, 400, patch.body.toString().slice(0, 300));
    const arrays = await t.request('PATCH', `${PODS}/web`, { body: `${'['.repeat(200_000)}${']'.repeat(200_000)}`, headers: { 'Content-Type': 'application/json-patch+json' } });
    assert.equal(arrays.status, 400);
  });

  test('malformed JSON is 400', async () => {
    const r = await t.request('POST', PODS, { body: '{"apiVersion": ', headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.match(String(r.json().message), /^the request body is not valid JSON/);
  });
});

describe('patches that would grow an object without bound', () => {
  const jsonPatch = (body: unknown, name = 'web') => t.request('PATCH', `${PODS}/${name}`, { body: json(body), headers: { 'Content-Type': 'application/json-patch+json' } });
  const nest = (n: number): unknown => (n === 0 ? 1 : { a: nest(n - 1) });

  test(`a patch whose result nests deeper than ${MAX_BODY_DEPTH} levels is 422, so patch after patch cannot deepen an object`, async () => {
    // Both values are 60 deep, within the body limit; the copy puts one inside the other.
    const r = await jsonPatch([
      { op: 'add', path: '/spec/x', value: nest(60) },
      { op: 'copy', from: '/spec/x', path: `/spec/x${'/a'.repeat(59)}/b` },
    ]);
    assert.equal(r.status, 422, r.body.toString().slice(0, 300));
    assert.match(String(r.json().message), /the patched object is nested more than 100 levels deep \(at spec\.x\.a\.a/);
    assert.equal(((await t.api.call('GET', `${PODS}/web`)).body.spec as Manifest).x, undefined, 'nothing was stored');
  });

  test(`an update that would leave an object over ${MAX_OBJECT_BYTES} bytes is 413, so patches cannot grow it without end`, async () => {
    assert.equal((await t.api.call('POST', PODS, pod('growing', {}, { containers: [{ name: 'c', image: 'x', args: [] }] }))).status, 201);
    const grow = () => jsonPatch([{ op: 'add', path: '/spec/containers/0/args/-', value: 'x'.repeat(400 * 1024) }], 'growing');
    assert.equal((await grow()).status, 200);
    assert.equal((await grow()).status, 200);
    const before = meta((await t.api.call('GET', `${PODS}/growing`)).body).resourceVersion;
    const r = await grow();
    assert.equal(r.status, 413, r.body.toString().slice(0, 300));
    assert.equal(r.json().reason, 'RequestEntityTooLarge');
    assert.match(String(r.json().message), new RegExp(`^Request entity too large: the object would be \\d+ bytes, limit is ${MAX_OBJECT_BYTES}$`));
    assert.equal(meta((await t.api.call('GET', `${PODS}/growing`)).body).resourceVersion, before);
  });

  test('copies past the copy limit are 422 and more than 10,000 operations are 413, and nothing is stored', async () => {
    const before = meta((await t.api.call('GET', `${PODS}/web`)).body).resourceVersion;
    const bomb = await jsonPatch([
      { op: 'add', path: '/spec/x', value: { v: 'y'.repeat(64) } },
      ...Array.from({ length: 24 }, (_, i) => ({ op: 'copy', from: '/spec/x', path: `/spec/x/k${i}` })),
    ]);
    assert.equal(bomb.status, 422, bomb.body.toString().slice(0, 300));
    assert.match(String(bomb.json().message), /accumulated size increase of copy is \d+, exceeding the limit/);
    const many = await jsonPatch(Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/kind', value: 'Pod' })));
    assert.equal(many.status, 413, many.body.toString().slice(0, 300));
    assert.equal(many.json().reason, 'RequestEntityTooLarge');
    assert.equal(meta((await t.api.call('GET', `${PODS}/web`)).body).resourceVersion, before);
  });
});

describe('patches that reach for a prototype', () => {
  const cases: { name: string; type: string; body: unknown }[] = [
    { name: 'a JSON patch adding under __proto__', type: 'application/json-patch+json', body: [{ op: 'add', path: '/metadata/__proto__/polluted', value: 'yes' }] },
    { name: 'a JSON patch through constructor/prototype', type: 'application/json-patch+json', body: [{ op: 'add', path: '/constructor/prototype/polluted', value: 'yes' }] },
    { name: 'a JSON patch copying from __proto__', type: 'application/json-patch+json', body: [{ op: 'copy', from: '/__proto__', path: '/metadata/x' }] },
    { name: 'a JSON merge patch with a __proto__ key', type: 'application/merge-patch+json', body: '{"metadata":{"__proto__":{"polluted":"yes"}}}' },
    { name: 'a strategic merge patch with a __proto__ key', type: 'application/strategic-merge-patch+json', body: '{"spec":{"__proto__":{"polluted":"yes"}}}' },
  ];
  for (const c of cases) {
    test(`${c.name} is 400 BadRequest, and nothing is polluted`, async () => {
      const r = await t.request('PATCH', `${PODS}/web`, { body: typeof c.body === 'string' ? c.body : json(c.body), headers: { 'Content-Type': c.type } });
      assert.equal(r.status, 400, r.body.toString());
      assert.equal(r.json().reason, 'BadRequest');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(meta((await t.api.call('GET', `${PODS}/web`)).body).annotations, undefined);
    });
  }

  test('a malformed JSON patch (not a list, an unknown op) is 400; one that does not apply is 422', async () => {
    for (const body of [{ op: 'add' }, [{ op: 'frobnicate', path: '/x' }], [{ op: 'add', path: 'no-slash', value: 1 }]]) {
      const r = await t.request('PATCH', `${PODS}/web`, { body: json(body), headers: { 'Content-Type': 'application/json-patch+json' } });
      assert.equal(r.status, 400, `${json(body)}: ${r.body.toString()}`);
    }
    const r = await t.request('PATCH', `${PODS}/web`, { body: json([{ op: 'replace', path: '/spec/nothing/here', value: 1 }]), headers: { 'Content-Type': 'application/json-patch+json' } });
    assert.equal(r.status, 422, r.body.toString());
  });
});

describe('request URIs', () => {
  for (const path of ['/api/v1/namespaces/%zz/pods', '/api/v1/namespaces/default/pods/%E0%A4%A', `${PODS}/web%`, '/api/v1/namespaces/default/pods/%FF']) {
    test(`malformed percent-encoding in the path (${path}) is 400`, async () => {
      const r = await t.request('GET', path);
      assert.equal(r.status, 400, r.body.toString());
      assert.equal(r.json().reason, 'BadRequest');
    });
  }

  for (const query of ['labelSelector=%zz', 'labelSelector=app%3D%FF', 'watch=%']) {
    test(`malformed percent-encoding in the query (?${query}) is 400`, async () => {
      const r = await t.request('GET', `${PODS}?${query}`);
      assert.equal(r.status, 400, r.body.toString());
    });
  }

  test('a path with more segments than a subresource is 404', async () => {
    assert.equal((await t.request('GET', `${PODS}/web/status/extra`)).status, 404);
    assert.equal((await t.request('GET', `${PODS}/web/logs`)).status, 404);
  });

  test('namespaces/NAME/status is the namespace\'s status subresource, not a collection in it', async () => {
    const r = await t.request('GET', '/api/v1/namespaces/default/status');
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(meta(r.json()).name, 'default');
    assert.equal((await t.request('GET', '/api/v1/namespaces/default/nothing')).status, 404);
  });

  test('a name with an encoded slash is one name', async () => {
    const r = await t.request('GET', `${PODS}/a%2Fb`);
    assert.equal(r.status, 404);
    assert.equal(r.json().message, 'pods "a/b" not found');
  });
});

describe('resourceVersions from the future', () => {
  test('a watch from a resourceVersion newer than the store\'s gets a 504 Timeout with cause ResourceVersionTooLarge, after a bounded wait', async () => {
    const current = t.store.currentResourceVersion();
    const started = Date.now();
    const stream = await t.watch(`${NETPOL}?watch=true&resourceVersion=${current + 1000}`);
    await stream.until((events) => events.length > 0, 'an ERROR event');
    await stream.until(() => stream.isEnded, 'the end of the stream');
    assert.ok(Date.now() - started >= WAIT_MS - 10, 'it waited for the store first');
    assert.equal(stream.status, 200);
    const event = stream.events[0];
    assert.equal(event.type, 'ERROR');
    assert.deepEqual(event.object, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `Timeout: Too large resource version: ${current + 1000}, current: ${current}`,
      reason: 'Timeout',
      details: { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 },
      code: 504,
    });
  });

  test('the wait for a future resourceVersion ends as soon as the store reaches it, at the bound otherwise, or when the client goes', async () => {
    const next = t.store.currentResourceVersion() + 1;
    const reaching = waitForResourceVersion(t.store, next, 60_000);
    assert.equal((await t.api.call('POST', NETPOL, policy('soon'))).status, 201);
    assert.equal(await reaching, true);
    assert.equal(await waitForResourceVersion(t.store, next + 100, 20), false);
    const gone = new AbortController();
    const waiting = waitForResourceVersion(t.store, next + 100, 60_000, gone.signal);
    gone.abort();
    assert.equal(await waiting, false);
  });

  test('a watch from the store\'s next resourceVersion is served, not refused', async () => {
    const next = t.store.currentResourceVersion() + 1;
    const opening = t.watch(`${NETPOL}?watch=true&resourceVersion=${next}`);
    assert.equal((await t.api.call('POST', NETPOL, policy('then'))).status, 201);
    const stream = await opening;
    await t.api.call('POST', NETPOL, policy('later'));
    await stream.until((events) => events.some((e) => meta(e.object).name === 'later'), 'the next change');
    stream.close();
    assert.deepEqual(stream.events.map((e) => `${e.type} ${String(meta(e.object).name)}`), ['ADDED later']);
  });

  test('a list at a resourceVersion newer than the store\'s is 504 after the wait; at an older one it is served', async () => {
    const current = t.store.currentResourceVersion();
    const r = await t.request('GET', `${PODS}?resourceVersion=${current + 5}`);
    assert.equal(r.status, 504);
    const status = r.json();
    assert.equal(status.reason, 'Timeout');
    assert.deepEqual((status.details as Manifest).causes, [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }]);
    assert.equal((await t.request('GET', `${PODS}?resourceVersion=${current}`)).status, 200);
  });

  test('a resourceVersion that is not one of the lab\'s is 400', async () => {
    for (const rv of ['abc', '-1', '1e3', '99999999999999999999']) {
      assert.equal((await t.request('GET', `${PODS}?watch=true&resourceVersion=${rv}`)).status, 400, rv);
      assert.equal((await t.request('GET', `${PODS}?resourceVersion=${rv}`)).status, 400, rv);
    }
  });
});
