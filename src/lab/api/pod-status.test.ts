// Pod status and addresses through the API: only the lab's pod runner assigns addresses (it writes
// the store directly), so a client can neither create a pod with a status (podStrategy.
// PrepareForCreate), nor change status through the main resource (PrepareForUpdate), nor move or
// duplicate an address through the status subresource: two pods at one address would share one
// verdict-map entry, and the real pod would lose its verdicts (issue 13, item 1).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Manifest } from '../../model/index.js';
import { meta, pod, PODS, startTestServer, type TestServer } from './testing.js';

const LAB_NODE = 'lab';
const DB_IP = '10.244.0.2';

let t: TestServer;

/** What the pod runner does: binds the pod to the lab's node, records its network and writes its status. */
function runnerAssigns(name: string, ips: readonly string[], slot: number, extra: Manifest = {}): void {
  const o = t.store.get('Pod', 'default', name)!;
  t.store.transaction(() => {
    t.store.setPodNetwork({ namespace: 'default', name, slot, ips: [...ips] });
    t.store.put('Pod', 'default', name, {
      ...o.manifest,
      spec: { ...(o.manifest.spec as Manifest), nodeName: LAB_NODE },
      status: { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })), ...extra },
    });
  });
}

const statusPatch = (name: string, status: Manifest) => t.api.call('PATCH', `${PODS}/${name}/status`, { status }, 'application/merge-patch+json');

interface Cause {
  readonly field: string;
  readonly reason: string;
  readonly message: string;
}
const causes = (body: Manifest): Cause[] => ((body.details as { causes?: Cause[] } | undefined)?.causes ?? []);

before(async () => {
  t = await startTestServer();
  for (const name of ['db', 'web']) assert.equal((await t.api.call('POST', PODS, pod(name, { app: name }))).status, 201);
  runnerAssigns('db', [DB_IP], 1);
});

after(() => t.close());

describe('pod create', () => {
  test('a Pod created with status.podIP of another pod (and bound to another node) keeps none of its status', async () => {
    const intruder = { ...pod('intruder', { app: 'api' }, { nodeName: 'elsewhere' }), status: { phase: 'Running', podIP: DB_IP, podIPs: [{ ip: DB_IP }] } };
    const r = await t.api.call('POST', PODS, intruder);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body.status, { phase: 'Pending' });
    // Bound elsewhere is allowed: the lab's runner ignores such a pod, so it stays Pending without an address.
    assert.equal((r.body.spec as Manifest).nodeName, 'elsewhere');
    const stored = t.store.get('Pod', 'default', 'intruder')!.manifest;
    assert.deepEqual(stored.status, { phase: 'Pending' });
  });

  test('an invalid status on create is dropped before admission, not refused', async () => {
    const r = await t.api.call('POST', PODS, { ...pod('odd'), status: { podIP: 'not-an-ip' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body.status, { phase: 'Pending' });
  });

  test('PUT and PATCH never create a pod (pods do not AllowCreateOnUpdate), so no write path creates one with a status', async () => {
    const ghost = { ...pod('ghost'), status: { phase: 'Running', podIP: DB_IP } };
    for (const [method, path, body, type] of [
      ['PUT', `${PODS}/ghost`, ghost, undefined],
      ['PUT', `${PODS}/ghost/status`, ghost, undefined],
      ['PATCH', `${PODS}/ghost`, ghost, 'application/merge-patch+json'],
      ['PATCH', `${PODS}/ghost/status`, { status: ghost.status }, 'application/strategic-merge-patch+json'],
    ] as const) {
      const r = await t.api.call(method, path, body, type);
      assert.equal(r.status, 404, `${method} ${path}: ${JSON.stringify(r.body)}`);
    }
    assert.equal(t.store.get('Pod', 'default', 'ghost'), undefined);
  });
});

describe('pod update (the main resource)', () => {
  test('PUT and PATCH without /status leave the status as it was', async () => {
    const before = t.store.get('Pod', 'default', 'db')!.manifest.status;
    const patched = await t.api.call('PATCH', `${PODS}/db`, { metadata: { labels: { x: 'y' } }, status: { podIP: '10.244.0.77', podIPs: [{ ip: '10.244.0.77' }] } }, 'application/merge-patch+json');
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.status, before);
    const current = (await t.api.call('GET', `${PODS}/db`)).body;
    const put = await t.api.call('PUT', `${PODS}/db`, { ...current, status: { phase: 'Failed' } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body.status, before);
  });

  test('spec.nodeName is immutable once set (ValidatePodUpdate); an update that leaves it out keeps it', async () => {
    const moved = await t.api.call('PATCH', `${PODS}/db`, { spec: { nodeName: 'elsewhere' } }, 'application/merge-patch+json');
    assert.equal(moved.status, 422);
    assert.deepEqual(causes(moved.body).map((c) => [c.field, c.reason, c.message]), [['spec.nodeName', 'FieldValueInvalid', 'Invalid value: "elsewhere": field is immutable']]);
    const current = (await t.api.call('GET', `${PODS}/db`)).body;
    const { nodeName: _n, ...spec } = current.spec as Manifest;
    const put = await t.api.call('PUT', `${PODS}/db`, { ...current, spec });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal((put.body.spec as Manifest).nodeName, LAB_NODE);
  });
});

describe('the pods/status subresource', () => {
  test('discovery names pods/status with get, patch and update', async () => {
    const core = await t.api.call('GET', '/api/v1');
    const status = (core.body.resources as { name: string; verbs: string[] }[]).find((r) => r.name === 'pods/status');
    assert.deepEqual(status?.verbs, ['get', 'patch', 'update']);
    const got = await t.api.call('GET', `${PODS}/db/status`);
    assert.equal(got.status, 200);
    assert.equal((got.body.status as Manifest).podIP, DB_IP);
  });

  test("a status write claiming another live pod's address is refused (422 naming the pod)", async () => {
    const r = await statusPatch('web', { podIP: DB_IP, podIPs: [{ ip: DB_IP }] });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.reason, 'Invalid');
    assert.deepEqual(causes(r.body).map((c) => c.field), ['status.podIPs']);
    assert.match(String(r.body.message), /^Pod "web" is invalid: status\.podIPs: Invalid value: "10\.244\.0\.2": address already in use by pod default\/db$/);
    assert.equal(t.store.get('Pod', 'default', 'web')!.manifest.status && (t.store.get('Pod', 'default', 'web')!.manifest.status as Manifest).podIP, undefined, 'nothing was written');
  });

  test('an address held only by the network the runner gave a pod counts too, in any spelling', async () => {
    t.store.setPodNetwork({ namespace: 'default', name: 'v6', slot: 9, ips: ['fd00::9'] });
    const r = await statusPatch('web', { podIP: 'fd00:0:0::9', podIPs: [{ ip: 'fd00:0:0::9' }] });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.match(String(r.body.message), /address already in use by pod default\/v6/);
    t.store.removePodNetwork('default', 'v6');
  });

  test("a status write that moves a pod's address once set is refused (422 on status.podIPs)", async () => {
    runnerAssigns('web', ['10.244.0.3'], 2);
    for (const status of [
      { podIP: '10.244.0.9', podIPs: [{ ip: '10.244.0.9' }] },
      { podIP: null, podIPs: null },
    ]) {
      const r = await statusPatch('web', status);
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.deepEqual(causes(r.body).map((c) => [c.field, c.reason]), [['status.podIPs', 'FieldValueForbidden']]);
      assert.match(String(r.body.message), /may not be changed once set: only the lab's pod runner assigns pod addresses/);
    }
    assert.equal((t.store.get('Pod', 'default', 'web')!.manifest.status as Manifest).podIP, '10.244.0.3');
  });

  test('a status write that keeps the addresses is accepted, and changes nothing but the status', async () => {
    const r = await statusPatch('web', { phase: 'Running', message: 'fine', podIP: '10.244.0.3' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((r.body.status as Manifest).message, 'fine');
    const labelled = await t.api.call('PATCH', `${PODS}/web/status`, { metadata: { labels: { sneaky: 'yes' } } }, 'application/merge-patch+json');
    assert.equal(labelled.status, 200);
    assert.equal((meta(labelled.body).labels as Record<string, string>).sneaky, undefined);
  });

  test("a pod the lab runs cannot be declared Failed by a client: its address would leave the ruleset while its namespace still sends", async () => {
    for (const phase of ['Failed', 'Succeeded', 'Pending']) {
      const r = await statusPatch('db', { phase });
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.deepEqual(causes(r.body).map((c) => [c.field, c.reason]), [['status.phase', 'FieldValueForbidden']]);
    }
    assert.equal((t.store.get('Pod', 'default', 'db')!.manifest.status as Manifest).phase, 'Running');
  });

  test('the address of a pod that has terminated (Succeeded or Failed) is free for another', async () => {
    assert.equal((await t.api.call('POST', PODS, pod('done'))).status, 201);
    assert.equal((await t.api.call('POST', PODS, pod('next'))).status, 201);
    const o = t.store.get('Pod', 'default', 'done')!;
    t.store.put('Pod', 'default', 'done', { ...o.manifest, status: { phase: 'Succeeded', podIP: '10.244.0.50', podIPs: [{ ip: '10.244.0.50' }] } });
    const r = await statusPatch('next', { podIP: '10.244.0.50', podIPs: [{ ip: '10.244.0.50' }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });

  test("hostNetwork pods may all report the node's address", async () => {
    for (const name of ['host-a', 'host-b']) {
      assert.equal((await t.api.call('POST', PODS, pod(name, {}, { hostNetwork: true }))).status, 201);
      const r = await statusPatch(name, { podIP: '10.244.0.1', podIPs: [{ ip: '10.244.0.1' }] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
});
