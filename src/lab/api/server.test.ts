// The lab API server against the apiserver's contract: authentication, discovery, the verbs,
// selectors, optimistic concurrency, admission errors as Status objects, and watch semantics
// (every change after a list's resourceVersion, once, in order; 410 when too old).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Manifest } from '../../model/index.js';
import { LabApiClient } from './client.js';
import { OPENAPI_V2_PROTOBUF } from './openapi-proto.js';
import { meta, NETPOL, pod, PODS, policy, startTestServer, type TestServer } from './testing.js';

let t: TestServer;
let api: LabApiClient;

before(async () => {
  t = await startTestServer();
  api = t.api;
});

after(() => t.close());

describe('authentication and discovery', () => {
  test('a request without the bearer token gets 401 Unauthorized', async () => {
    const r = await new LabApiClient(t.base, { ...t.credentials, token: 'wrong' }).call('GET', '/api/v1/pods');
    assert.equal(r.status, 401);
    assert.equal(r.body.reason, 'Unauthorized');
  });

  test('discovery names the served resources, their verbs and short names', async () => {
    const core = await api.call('GET', '/api/v1');
    const resources = core.body.resources as { name: string; shortNames?: string[]; verbs: string[] }[];
    assert.deepEqual(resources.find((r) => r.name === 'pods')?.shortNames, ['po']);
    assert.ok(resources.find((r) => r.name === 'pods')?.verbs.includes('watch'));
    const groups = await api.call('GET', '/apis');
    assert.equal((groups.body.groups as { name: string }[])[0].name, 'networking.k8s.io');
    const net = await api.call('GET', '/apis/networking.k8s.io/v1');
    assert.deepEqual((net.body.resources as { name: string }[]).map((r) => r.name), ['networkpolicies']);
    assert.equal((await api.call('GET', '/version')).body.major, '1');
  });

  test('OpenAPI v2 is served as JSON, and as protobuf to clients that ask for it (kubectl 1.2x)', async () => {
    const json = await api.call('GET', '/openapi/v2');
    assert.ok((json.body.definitions as Manifest)['io.k8s.api.networking.v1.NetworkPolicy']);
    const proto = await t.request('GET', '/openapi/v2', { headers: { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
    assert.equal(proto.headers['content-type'], OPENAPI_V2_PROTOBUF);
    assert.ok(proto.body.includes(Buffer.from('io.k8s.api.networking.v1.NetworkPolicySpec')));
    const v3 = await api.call('GET', '/openapi/v3');
    assert.ok((v3.body.paths as Manifest)['apis/networking.k8s.io/v1']);
  });
});

describe('verbs', () => {
  test('create fills in the metadata the apiserver keeps and writes defaults out', async () => {
    const r = await api.call('POST', NETPOL, policy('db'));
    assert.equal(r.status, 201);
    const m = meta(r.body);
    assert.match(String(m.uid), /^[0-9a-f-]{36}$/);
    assert.match(String(m.creationTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(m.generation, 1);
    assert.equal(m.namespace, 'default');
    assert.deepEqual((r.body.spec as Manifest).policyTypes, ['Ingress'], 'policyTypes defaulted');
    assert.deepEqual((r.body.spec as { ingress: { ports: Manifest[] }[] }).ingress[0].ports[0], { protocol: 'TCP', port: 3306 }, 'protocol defaulted');
  });

  test('creating it again is 409 AlreadyExists', async () => {
    const r = await api.call('POST', NETPOL, policy('db'));
    assert.equal(r.status, 409);
    assert.equal(r.body.reason, 'AlreadyExists');
    assert.equal(r.body.message, 'networkpolicies.networking.k8s.io "db" already exists');
  });

  test('an invalid policy is refused with 422 and causes that carry the field paths', async () => {
    const r = await api.call('POST', NETPOL, policy('bad', 80, { ingress: [{ ports: [{ port: 80, endPort: 79 }, { protocol: 'ICMP' }] }] }));
    assert.equal(r.status, 422);
    assert.equal(r.body.reason, 'Invalid');
    const details = r.body.details as { kind: string; causes: { field: string; reason: string; message: string }[] };
    assert.equal(details.kind, 'NetworkPolicy');
    assert.deepEqual(
      details.causes.map((c) => [c.field, c.reason]),
      [
        ['spec.ingress[0].ports[0].endPort', 'FieldValueInvalid'],
        ['spec.ingress[0].ports[1].protocol', 'FieldValueNotSupported'],
      ],
    );
    assert.match(String(r.body.message), /^NetworkPolicy\.networking\.k8s\.io "bad" is invalid: \[spec\.ingress\[0\]\.ports\[0\]\.endPort: Invalid value: 79/);
  });

  test('an unknown field is 400 with fieldValidation=Strict, and dropped with a warning otherwise', async () => {
    const typo = { ...policy('typo'), spec: { podSelecter: {}, podSelector: {} } };
    const strict = await api.call('POST', `${NETPOL}?fieldValidation=Strict`, typo);
    assert.equal(strict.status, 400);
    assert.equal(strict.body.message, 'strict decoding error: unknown field "spec.podSelecter"');
    const warned = await api.call('POST', NETPOL, typo);
    assert.equal(warned.status, 201);
    assert.equal((warned.body.spec as Manifest).podSelecter, undefined);
    assert.equal((await api.call('DELETE', `${NETPOL}/typo`)).status, 200);
  });

  test('get of a missing object is 404 NotFound; in a missing namespace too', async () => {
    const r = await api.call('GET', `${NETPOL}/nope`);
    assert.equal(r.status, 404);
    assert.equal(r.body.message, 'networkpolicies.networking.k8s.io "nope" not found');
    const ns = await api.call('POST', '/api/v1/namespaces/ghost/pods', pod('p'));
    assert.equal(ns.status, 404);
    assert.equal(ns.body.message, 'namespaces "ghost" not found');
  });

  test('update with a stale resourceVersion is 409 Conflict; with the current one it succeeds and bumps generation', async () => {
    const current = (await api.call('GET', `${NETPOL}/db`)).body;
    const stale = { ...current, metadata: { ...meta(current), resourceVersion: '1' }, spec: { ...(current.spec as Manifest), policyTypes: ['Ingress', 'Egress'] } };
    const conflict = await api.call('PUT', `${NETPOL}/db`, stale);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.reason, 'Conflict');
    const ok = await api.call('PUT', `${NETPOL}/db`, { ...stale, metadata: meta(current) });
    assert.equal(ok.status, 200);
    assert.equal(meta(ok.body).generation, 2);
    assert.equal(meta(ok.body).uid, meta(current).uid, 'uid is kept');
  });

  test('patch: JSON merge, JSON patch and strategic merge as kubectl sends them', async () => {
    const merge = await api.call('PATCH', `${NETPOL}/db`, { metadata: { labels: { tier: 'data' } } }, 'application/merge-patch+json');
    assert.deepEqual(meta(merge.body).labels, { app: 'shop', tier: 'data' });
    const json = await api.call('PATCH', `${NETPOL}/db`, [{ op: 'replace', path: '/spec/ingress/0/ports/0/port', value: 3307 }], 'application/json-patch+json');
    assert.equal((json.body.spec as { ingress: { ports: { port: number }[] }[] }).ingress[0].ports[0].port, 3307);
    await api.call('POST', PODS, pod('web', { app: 'web' }));
    const strategic = await api.call(
      'PATCH',
      `${PODS}/web`,
      { metadata: { labels: { app: null, tier: 'front' } }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 8080 }] }] } },
      'application/strategic-merge-patch+json',
    );
    assert.equal(strategic.status, 200);
    assert.deepEqual(meta(strategic.body).labels, { tier: 'front' }, 'null deletes a label');
    const ports = ((strategic.body.spec as { containers: { ports: { containerPort: number }[] }[] }).containers[0].ports).map((p) => p.containerPort);
    assert.deepEqual(ports, [80, 8080], 'containers merge by name, ports by containerPort');
  });

  test('list filters by labelSelector and by fieldSelector (metadata.name, spec.nodeName)', async () => {
    await api.call('POST', PODS, pod('api', { app: 'api', tier: 'back' }));
    const byLabel = await api.call('GET', `${PODS}?labelSelector=${encodeURIComponent('tier in (back,front),app!=nope')}`);
    assert.deepEqual((byLabel.body.items as Manifest[]).map((p) => meta(p).name), ['api', 'web']);
    const byName = await api.call('GET', `${PODS}?fieldSelector=metadata.name%3Dapi`);
    assert.deepEqual((byName.body.items as Manifest[]).map((p) => meta(p).name), ['api']);
    const byNode = await api.call('GET', `/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1`);
    assert.deepEqual(byNode.body.items, []);
    assert.ok(Number((byName.body.metadata as Manifest).resourceVersion) > 0, 'a list carries its resourceVersion');
    const bad = await api.call('GET', `${PODS}?fieldSelector=spec.image%3Dx`);
    assert.equal(bad.status, 400);
  });

  test('kubectl get asks for a Table and gets the columns kubectl prints', async () => {
    const r = await t.request('GET', PODS, { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } });
    const table = r.json() as unknown as { kind: string; columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    assert.equal(table.kind, 'Table');
    assert.deepEqual(table.columnDefinitions.map((c) => c.name).slice(0, 3), ['Name', 'Ready', 'Status']);
    assert.equal(table.rows.length, 2);
  });

  test('deletecollection deletes what matches; deleting a namespace deletes what it holds', async () => {
    const r = await api.call('DELETE', `${PODS}?labelSelector=app%3Dapi`);
    assert.equal(r.status, 200);
    assert.deepEqual(((await api.call('GET', PODS)).body.items as Manifest[]).map((p) => meta(p).name), ['web']);
    await api.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    await api.call('POST', '/api/v1/namespaces/shop/pods', pod('cart'));
    await api.call('POST', '/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies', { ...policy('x'), metadata: { name: 'x' } });
    const gone = await api.call('DELETE', '/api/v1/namespaces/shop');
    assert.equal(gone.status, 200);
    assert.equal((await api.call('GET', '/api/v1/namespaces/shop/pods/cart')).status, 404);
    assert.equal((await api.call('GET', '/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/x')).status, 404);
  });

  test('generateName makes a unique name', async () => {
    const r = await api.call('POST', PODS, { ...pod(''), metadata: { generateName: 'job-' } });
    assert.equal(r.status, 201);
    assert.match(String(meta(r.body).name), /^job-[0-9a-f]{5}$/);
  });

  test('namespaces carry the kubernetes.io/metadata.name label, whatever the client sent', async () => {
    const r = await api.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'blue', labels: { 'kubernetes.io/metadata.name': 'lies' } } });
    assert.deepEqual(meta(r.body).labels, { 'kubernetes.io/metadata.name': 'blue' });
  });
});

describe('watch', () => {
  test('a watch from a list\'s resourceVersion sees every later change exactly once, in order', async () => {
    const list = await api.call('GET', NETPOL);
    const rv = String((list.body.metadata as Manifest).resourceVersion);
    const stream = await t.watch(`${NETPOL}?watch=true&resourceVersion=${rv}`);
    await api.call('POST', NETPOL, policy('w1'));
    await api.call('PATCH', `${NETPOL}/w1`, { metadata: { labels: { x: 'y' } } }, 'application/merge-patch+json');
    await api.call('DELETE', `${NETPOL}/w1`);
    await api.call('POST', PODS, pod('other'), 'application/json');
    // The pod is written last: once the policy's deletion is seen, everything before it was too.
    await stream.until((events) => events.some((e) => e.type === 'DELETED'), 'the deletion of w1');
    stream.close();
    assert.deepEqual(stream.events.map((e) => `${e.type} ${String(meta(e.object).name)}`), ['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
    const versions = stream.events.map((e) => Number(meta(e.object).resourceVersion));
    assert.deepEqual(versions, [...versions].sort((a, b) => a - b), 'in order');
    assert.ok(versions[0] > Number(rv));
  });

  test('a watch from a version the log no longer reaches is 410 Gone (ERROR event, reason Expired)', async () => {
    // The log holds 10,000 events: version 1 is still reachable, and the replay starts.
    const old = await t.watch(`${NETPOL}?watch=true&resourceVersion=1`);
    await old.until((events) => events.length > 0, 'a replayed event');
    old.close();
    assert.equal(old.events[0].type, 'ADDED');
    // Push it out of the log with writes elsewhere, then watch from the start again.
    t.store.transaction(() => {
      for (let i = 0; i < 10_050; i++) t.store.put('Namespace', '', `n${i % 2}`, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `n${i % 2}`, labels: { i: String(i) } } });
    });
    const gone = await t.watch(`${NETPOL}?watch=true&resourceVersion=1`);
    await gone.until((events) => events.length > 0, 'an ERROR event');
    const event = gone.events[0] as { type: string; object: { code?: number; reason?: string } };
    assert.equal(event.type, 'ERROR');
    assert.equal(event.object.code, 410);
    assert.equal(event.object.reason, 'Expired');
    await gone.until(() => gone.isEnded, 'the end of the stream');
  });

  test('a watch without a resourceVersion starts with the current objects as ADDED', async () => {
    const stream = await t.watch(`${PODS}?watch=true`);
    await stream.until((events) => events.some((e) => e.type === 'ADDED' && meta(e.object).name === 'web'), 'web as ADDED');
    stream.close();
  });

  test('a label change that takes an object out of a watch\'s selector is seen as DELETED', async () => {
    const stream = await t.watch(`${PODS}?watch=true&labelSelector=tier%3Dfront`);
    await stream.until((events) => events.length === 1, 'web as ADDED');
    await api.call('PATCH', `${PODS}/web`, { metadata: { labels: { tier: 'back' } } }, 'application/merge-patch+json');
    await stream.until((events) => events.length === 2, 'the DELETED event');
    stream.close();
    assert.deepEqual(stream.events.map((e) => `${e.type} ${String(meta(e.object).name)}`), ['ADDED web', 'DELETED web']);
  });
});
