// The admin policy kinds (AdminNetworkPolicy, BaselineAdminNetworkPolicy in v1alpha1,
// ClusterNetworkPolicy in v1alpha2) and Nodes served as an apiserver serves them: cluster-scoped
// resources of policy.networking.k8s.io with the CRDs' discovery (short names, verbs, status
// subresource), OpenAPI, printer columns, the apiextensions apiserver's patch types (no strategic
// merge: 415) and status rules, and admission by the model's validation (422 with field causes).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Manifest } from '../../model/index.js';
import { meta, startTestServer, type TestServer } from './testing.js';

const V1ALPHA1 = '/apis/policy.networking.k8s.io/v1alpha1';
const ANP = `${V1ALPHA1}/adminnetworkpolicies`;
const BANP = `${V1ALPHA1}/baselineadminnetworkpolicies`;
const CNP = '/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies';

const anp = (name: string, priority = 3, extra: Manifest = {}): Manifest => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha1',
  kind: 'AdminNetworkPolicy',
  metadata: { name },
  spec: {
    priority,
    subject: { namespaces: { matchLabels: { tenant: 'a' } } },
    ingress: [{ name: 'deny-from-b', action: 'Deny', from: [{ namespaces: { matchLabels: { tenant: 'b' } } }] }],
  },
  ...extra,
});
const banp = (name = 'default'): Manifest => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha1',
  kind: 'BaselineAdminNetworkPolicy',
  metadata: { name },
  spec: { subject: { namespaces: {} }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] },
});
const cnp = (name: string, tier = 'Admin', priority = 7): Manifest => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha2',
  kind: 'ClusterNetworkPolicy',
  metadata: { name },
  spec: { tier, priority, subject: { namespaces: {} }, egress: [{ action: 'Accept', to: [{ networks: ['10.0.0.0/8'] }], protocols: [{ tcp: { destinationPort: { number: 53 } } }] }] },
});

const status = { conditions: [{ type: 'Ready', status: 'True', reason: 'SetUp', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' }] };

let t: TestServer;

before(async () => {
  t = await startTestServer();
});

after(() => t.close());

describe('discovery of policy.networking.k8s.io, as the apiextensions apiserver lists CRDs', () => {
  test('the group lists v1alpha2 and v1alpha1, v1alpha2 preferred (Kubernetes version priority)', async () => {
    const groups = (await t.api.call('GET', '/apis')).body.groups as { name: string; versions: { version: string }[]; preferredVersion: { groupVersion: string } }[];
    const group = groups.find((g) => g.name === 'policy.networking.k8s.io');
    assert.deepEqual(group?.versions.map((v) => v.version), ['v1alpha2', 'v1alpha1']);
    assert.equal(group?.preferredVersion.groupVersion, 'policy.networking.k8s.io/v1alpha2');
    const one = await t.api.call('GET', '/apis/policy.networking.k8s.io');
    assert.equal(one.body.kind, 'APIGroup');
    assert.deepEqual(one.body.preferredVersion, group?.preferredVersion);
  });

  const cases = [
    { gv: 'policy.networking.k8s.io/v1alpha1', plural: 'adminnetworkpolicies', kind: 'AdminNetworkPolicy', shortName: 'anp' },
    { gv: 'policy.networking.k8s.io/v1alpha1', plural: 'baselineadminnetworkpolicies', kind: 'BaselineAdminNetworkPolicy', shortName: 'banp' },
    { gv: 'policy.networking.k8s.io/v1alpha2', plural: 'clusternetworkpolicies', kind: 'ClusterNetworkPolicy', shortName: 'cnp' },
    { gv: 'v1', plural: 'nodes', kind: 'Node', shortName: 'no' },
  ];
  for (const c of cases) {
    test(`${c.gv} lists ${c.plural} (${c.kind}): cluster-scoped, short name ${c.shortName}, every verb, and its status subresource`, async () => {
      const list = await t.api.call('GET', c.gv === 'v1' ? '/api/v1' : `/apis/${c.gv}`);
      assert.equal(list.body.groupVersion, c.gv);
      const resources = list.body.resources as { name: string; kind: string; namespaced: boolean; shortNames?: string[]; verbs: string[]; singularName: string }[];
      const main = resources.find((r) => r.name === c.plural);
      assert.deepEqual(
        { kind: main?.kind, namespaced: main?.namespaced, shortNames: main?.shortNames, singular: main?.singularName, verbs: [...(main?.verbs ?? [])].sort() },
        { kind: c.kind, namespaced: false, shortNames: [c.shortName], singular: c.kind.toLowerCase(), verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] },
      );
      assert.deepEqual(resources.find((r) => r.name === `${c.plural}/status`)?.verbs, ['get', 'patch', 'update']);
    });
  }

  test('a version the group does not have is not served (v1alpha1 has no clusternetworkpolicies)', async () => {
    assert.equal((await t.api.call('GET', `${V1ALPHA1}/clusternetworkpolicies`)).status, 404);
    assert.equal((await t.api.call('GET', '/apis/policy.networking.k8s.io/v1/adminnetworkpolicies')).status, 404);
    assert.equal((await t.api.call('GET', '/apis/policy.networking.k8s.io/v1alpha1/namespaces/default/adminnetworkpolicies')).status, 404, 'cluster-scoped: no namespaced path');
  });
});

describe('OpenAPI for the admin policy kinds', () => {
  test('v3 lists both group versions; each holds its kinds with their group-version-kind and the fields kubectl explain shows', async () => {
    const index = (await t.api.call('GET', '/openapi/v3')).body.paths as Record<string, { serverRelativeURL: string }>;
    for (const [gv, kinds] of [
      ['policy.networking.k8s.io/v1alpha1', ['AdminNetworkPolicy', 'BaselineAdminNetworkPolicy']],
      ['policy.networking.k8s.io/v1alpha2', ['ClusterNetworkPolicy']],
    ] as const) {
      const url = index[`apis/${gv}`]?.serverRelativeURL;
      assert.ok(url, `${gv} in the index`);
      const doc = (await t.api.call('GET', url)).body as { components: { schemas: Record<string, Manifest> } };
      for (const kind of kinds) {
        const schema = Object.values(doc.components.schemas).find((s) => JSON.stringify(s['x-kubernetes-group-version-kind']) === JSON.stringify([{ group: 'policy.networking.k8s.io', version: gv.split('/')[1], kind }]));
        assert.ok(schema, `${kind} schema`);
        const spec = (schema.properties as Record<string, Manifest>).spec;
        assert.ok((spec.properties as Manifest).subject, `${kind} spec.subject`);
      }
    }
  });

  test('a custom resource\'s PATCH consumes no strategic merge patch (so kubectl apply sends a JSON merge patch); the built-in kinds say nothing (kubectl uses its own types)', async () => {
    const v3 = (await t.api.call('GET', '/openapi/v3/apis/policy.networking.k8s.io/v1alpha2')).body as { paths: Record<string, { patch?: { requestBody?: { content: Manifest } } }> };
    const patch = v3.paths['/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies/{name}'].patch;
    assert.deepEqual(Object.keys(patch?.requestBody?.content ?? {}).sort(), ['application/json-patch+json', 'application/merge-patch+json']);
    const v2 = (await t.api.call('GET', '/openapi/v2')).body as { paths: Record<string, { patch?: { consumes?: string[] } }>; definitions: Record<string, Manifest> };
    assert.deepEqual(v2.paths[`${ANP}/{name}`].patch?.consumes, ['application/json-patch+json', 'application/merge-patch+json']);
    assert.equal(v2.paths['/api/v1/namespaces/{namespace}/pods/{name}'].patch?.consumes, undefined);
    assert.ok(v2.definitions['io.k8s.networking.policy.v1alpha1.AdminNetworkPolicy'], 'named with the group reversed, as CRD definitions are');
  });
});

/** Every field path of a value, objects' keys only (list items share their list's path). */
function fieldPaths(value: unknown, path: string[] = []): string[][] {
  if (Array.isArray(value)) return value.flatMap((v) => fieldPaths(v, path));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Manifest).flatMap(([k, v]) => [[...path, k], ...fieldPaths(v, [...path, k])]);
}

/** Whether a swagger 2.0 schema declares a field path (through $refs, array items and additionalProperties maps). */
function declares(definitions: Record<string, Manifest>, schema: Manifest, path: readonly string[]): boolean {
  let s: Manifest | undefined = schema;
  for (const key of path) {
    while (s && (s.$ref || s.items)) s = s.$ref ? definitions[String(s.$ref).replace('#/definitions/', '')] : (s.items as Manifest);
    if (!s) return false;
    if (s.additionalProperties) s = s.additionalProperties as Manifest;
    else if (s['x-kubernetes-preserve-unknown-fields']) return true;
    else s = (s.properties as Record<string, Manifest> | undefined)?.[key];
  }
  return s !== undefined;
}

describe('OpenAPI v2 declares every field of the admin policy kinds (kubectl 1.20 validates against it on the client)', () => {
  const port = (p: Manifest): Manifest[] => [p];
  const selector = { matchLabels: { a: 'b' }, matchExpressions: [{ key: 'k', operator: 'In', values: ['v'] }] };
  const pods = { namespaceSelector: selector, podSelector: selector };
  const everyField: Manifest[] = [
    {
      ...anp('every-field'),
      spec: {
        priority: 1,
        subject: { pods },
        ingress: [{ name: 'i', action: 'Pass', from: [{ namespaces: selector }, { pods }], ports: [...port({ portNumber: { protocol: 'TCP', port: 80 } }), { namedPort: 'http' }, { portRange: { protocol: 'UDP', start: 1, end: 2 } }] }],
        egress: [{ name: 'e', action: 'Allow', to: [{ namespaces: selector }, { pods }, { nodes: selector }, { networks: ['10.0.0.0/8'] }, { domainNames: ['example.com'] }], ports: [{ namedPort: 'dns' }] }],
      },
      status,
    },
    { ...banp(), spec: { subject: { namespaces: selector }, ingress: [{ name: 'i', action: 'Allow', from: [{ pods }] }], egress: [{ name: 'e', action: 'Deny', to: [{ nodes: selector }, { networks: ['::/0'] }], ports: [{ portNumber: { protocol: 'SCTP', port: 9 } }] }] } },
    {
      ...cnp('every-field'),
      spec: {
        tier: 'Baseline',
        priority: 2,
        subject: { namespaces: selector },
        ingress: [{ name: 'i', action: 'Deny', from: [{ pods }], protocols: [{ tcp: { destinationPort: { number: 1 } } }, { udp: { destinationPort: { range: { start: 1, end: 9 } } } }, { sctp: { destinationPort: { number: 3 } } }, { destinationNamedPort: 'x' }] }],
        egress: [{ name: 'e', action: 'Accept', to: [{ domainNames: ['*.example.com'] }, { networks: ['10.0.0.0/8'] }, { nodes: selector }] }],
      },
    },
  ];
  for (const object of everyField) {
    test(`${String(object.kind)}: every field of a policy that uses every field is in the schema`, async () => {
      const definitions = (await t.api.call('GET', '/openapi/v2')).body.definitions as Record<string, Manifest>;
      const schema = Object.values(definitions).find((d) => (d['x-kubernetes-group-version-kind'] as { kind: string }[] | undefined)?.[0]?.kind === object.kind)!;
      const missing = fieldPaths(object).filter((p) => !declares(definitions, schema, p));
      assert.deepEqual(missing.map((p) => p.join('.')), []);
    });
  }

  test('a field the kinds do not have is not declared (the check can fail)', async () => {
    const definitions = (await t.api.call('GET', '/openapi/v2')).body.definitions as Record<string, Manifest>;
    const banpSchema = definitions['io.k8s.networking.policy.v1alpha1.BaselineAdminNetworkPolicy'];
    assert.equal(declares(definitions, banpSchema, ['spec', 'priority']), false);
    assert.equal(declares(definitions, banpSchema, ['spec', 'egress', 'to', 'domainNames']), false);
    assert.equal(declares(definitions, banpSchema, ['spec', 'egress', 'to', 'networks']), true);
  });
});

describe('the verbs on cluster-scoped admin policies', () => {
  test('create, get, list, update and delete an AdminNetworkPolicy; it is cluster-scoped (no namespace kept)', async () => {
    const created = await t.api.call('POST', ANP, anp('crud', 3, { metadata: { name: 'crud', namespace: 'ignored' } }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(meta(created.body).namespace, undefined);
    assert.equal(meta(created.body).generation, 1);
    assert.equal(created.body.kind, 'AdminNetworkPolicy');
    const got = await t.api.call('GET', `${ANP}/crud`);
    assert.deepEqual((got.body.spec as Manifest).priority, 3);
    const list = await t.api.call('GET', ANP);
    assert.equal(list.body.kind, 'AdminNetworkPolicyList');
    assert.equal(list.body.apiVersion, 'policy.networking.k8s.io/v1alpha1');
    assert.ok((list.body.items as Manifest[]).some((i) => meta(i).name === 'crud'));
    const updated = await t.api.call('PUT', `${ANP}/crud`, { ...got.body, spec: { ...(got.body.spec as Manifest), priority: 4 } });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.equal(meta(updated.body).generation, 2);
    const stale = await t.api.call('PUT', `${ANP}/crud`, got.body);
    assert.equal(stale.status, 409);
    const again = await t.api.call('POST', ANP, anp('crud'));
    assert.equal(again.status, 409);
    assert.equal(again.body.message, 'adminnetworkpolicies.policy.networking.k8s.io "crud" already exists');
    const deleted = await t.api.call('DELETE', `${ANP}/crud`);
    assert.equal(deleted.status, 200);
    const gone = await t.api.call('GET', `${ANP}/crud`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.message, 'adminnetworkpolicies.policy.networking.k8s.io "crud" not found');
  });

  test('the wrong version for a kind is refused (AdminNetworkPolicy is v1alpha1, ClusterNetworkPolicy v1alpha2)', async () => {
    const r = await t.api.call('POST', CNP, { ...cnp('wrong'), apiVersion: 'policy.networking.k8s.io/v1alpha1' });
    assert.equal(r.status, 400);
    assert.match(String(r.body.message), /does not match the expected API version \(policy\.networking\.k8s\.io\/v1alpha2\)/);
  });

  test('an invalid object is refused with 422 Invalid, its causes carrying the field paths, named as apiextensions names a custom resource', async () => {
    const r = await t.api.call('POST', ANP, anp('too-low', 1001));
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.reason, 'Invalid');
    assert.match(String(r.body.message), /^AdminNetworkPolicy\.policy\.networking\.k8s\.io "too-low" is invalid: spec\.priority: /);
    const details = r.body.details as { kind: string; group: string; causes: { field: string }[] };
    assert.equal(details.group, 'policy.networking.k8s.io');
    assert.equal(details.kind, 'AdminNetworkPolicy');
    assert.deepEqual(details.causes.map((c) => c.field), ['spec.priority']);
    assert.equal((await t.api.call('GET', `${ANP}/too-low`)).status, 404, 'nothing stored');
    const named = await t.api.call('POST', BANP, banp('not-default'));
    assert.equal(named.status, 422, 'a BaselineAdminNetworkPolicy is named default (a CEL rule of its CRD)');
    assert.match(String(named.body.message), /metadata\.name="default"/);
  });

  test('an unknown field is refused under fieldValidation=Strict (kubectl\'s default), dropped otherwise', async () => {
    const typo = { ...cnp('typo'), spec: { ...(cnp('typo').spec as Manifest), ingres: [] } };
    const strict = await t.api.call('POST', `${CNP}?fieldValidation=Strict`, typo);
    assert.equal(strict.status, 400);
    assert.match(String(strict.body.message), /strict decoding error: .*ingres/);
    const lax = await t.api.call('POST', `${CNP}?fieldValidation=Ignore`, typo);
    assert.equal(lax.status, 201, JSON.stringify(lax.body));
    assert.equal((lax.body.spec as Manifest).ingres, undefined);
    await t.api.call('DELETE', `${CNP}/typo`);
  });

  test('a JSON merge patch and a JSON patch apply; a strategic merge patch gets 415 with the types a custom resource takes', async () => {
    assert.equal((await t.api.call('POST', CNP, cnp('patched'))).status, 201);
    const merged = await t.api.call('PATCH', `${CNP}/patched`, { spec: { priority: 9 } }, 'application/merge-patch+json');
    assert.equal(merged.status, 200, JSON.stringify(merged.body));
    assert.equal((merged.body.spec as Manifest).priority, 9);
    assert.equal((merged.body.spec as Manifest).tier, 'Admin', 'the rest kept');
    const json = await t.api.call('PATCH', `${CNP}/patched`, [{ op: 'replace', path: '/spec/tier', value: 'Baseline' }], 'application/json-patch+json');
    assert.equal(json.status, 200);
    assert.equal((json.body.spec as Manifest).tier, 'Baseline');
    const strategic = await t.api.call('PATCH', `${CNP}/patched`, { spec: { priority: 10 } }, 'application/strategic-merge-patch+json');
    assert.equal(strategic.status, 415);
    assert.equal(strategic.body.reason, 'UnsupportedMediaType');
    assert.equal(strategic.body.message, 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json');
    const invalid = await t.api.call('PATCH', `${CNP}/patched`, { spec: { priority: -1 } }, 'application/merge-patch+json');
    assert.equal(invalid.status, 422, 'a patch is admitted like any write');
    await t.api.call('DELETE', `${CNP}/patched`);
  });

  test('status: a create drops it, the main resource never changes it, the status subresource writes only it', async () => {
    const created = await t.api.call('POST', ANP, anp('with-status', 5, { status }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.status, undefined, 'create cannot set status');
    const set = await t.api.call('PUT', `${ANP}/with-status/status`, { ...created.body, spec: { ...(created.body.spec as Manifest), priority: 6 }, status });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.status, status);
    assert.equal((set.body.spec as Manifest).priority, 5, 'the status subresource changes nothing else');
    const main = await t.api.call('PUT', `${ANP}/with-status`, { ...set.body, status: { conditions: [] } });
    assert.equal(main.status, 200);
    assert.deepEqual(main.body.status, status, 'update is not allowed to set status');
    await t.api.call('DELETE', `${ANP}/with-status`);
  });

  test('a watch of a cluster-scoped kind sees its changes (ADDED, MODIFIED, DELETED) and, with bookmarks, follows writes of other kinds', async () => {
    const list = await t.api.call('GET', BANP);
    const from = String(meta(list.body).resourceVersion);
    const w = await t.watch(`${BANP}?watch=true&resourceVersion=${from}&allowWatchBookmarks=true`);
    assert.equal((await t.api.call('POST', BANP, banp())).status, 201);
    await t.api.call('PATCH', `${BANP}/default`, { metadata: { labels: { touched: 'yes' } } }, 'application/merge-patch+json');
    await t.api.call('DELETE', `${BANP}/default`);
    await w.until((events) => events.filter((e) => e.type !== 'BOOKMARK').length === 3, 'three events');
    assert.deepEqual(w.events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${String(e.object.kind)} ${String(meta(e.object).name)}`), [
      'ADDED BaselineAdminNetworkPolicy default',
      'MODIFIED BaselineAdminNetworkPolicy default',
      'DELETED BaselineAdminNetworkPolicy default',
    ]);
    const other = await t.api.call('POST', CNP, cnp('elsewhere'));
    const rv = Number(meta(other.body).resourceVersion);
    await w.until((events) => events.some((e) => e.type === 'BOOKMARK' && Number(meta(e.object).resourceVersion) >= rv), 'a bookmark past the other kind\'s write');
    w.close();
    await t.api.call('DELETE', `${CNP}/elsewhere`);
  });
});

describe('kubectl get tables with the CRDs\' printer columns', () => {
  const table = async (path: string): Promise<{ columns: string[]; rows: unknown[][] }> => {
    const r = await t.request('GET', path, { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } });
    const body = r.json() as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    return { columns: body.columnDefinitions.map((c) => c.name), rows: body.rows.map((row) => row.cells) };
  };

  test('AdminNetworkPolicy: NAME, PRIORITY, AGE; BaselineAdminNetworkPolicy: NAME, AGE; ClusterNetworkPolicy: NAME, TIER, PRIORITY, AGE', async () => {
    await t.api.call('POST', ANP, anp('printed', 42));
    await t.api.call('POST', BANP, banp());
    await t.api.call('POST', CNP, cnp('printed', 'Baseline', 8));
    const a = await table(`${ANP}/printed`);
    assert.deepEqual(a.columns, ['Name', 'Priority', 'Age']);
    assert.deepEqual(a.rows[0].slice(0, 2), ['printed', '42'], 'priority is a string column, printed as JSONPath prints it');
    const b = await table(BANP);
    assert.deepEqual(b.columns, ['Name', 'Age']);
    assert.equal(b.rows[0][0], 'default');
    const c = await table(CNP);
    assert.deepEqual(c.columns, ['Name', 'Tier', 'Priority', 'Age']);
    assert.deepEqual(c.rows[0].slice(0, 3), ['printed', 'Baseline', '8']);
    for (const path of [`${ANP}/printed`, `${BANP}/default`, `${CNP}/printed`]) await t.api.call('DELETE', path);
  });

  test('Node: NAME, STATUS (the Ready condition), ROLES, AGE, VERSION, and with -o wide its addresses', async () => {
    t.store.put('Node', '', 'lab', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'lab', labels: { 'node-role.kubernetes.io/control-plane': '' } },
      spec: {},
      status: { conditions: [{ type: 'Ready', status: 'True' }], addresses: [{ type: 'InternalIP', address: '10.244.0.1' }], nodeInfo: { kubeletVersion: 'v1.31.0-podwall' } },
    });
    const n = await table('/api/v1/nodes');
    assert.deepEqual(n.columns, ['Name', 'Status', 'Roles', 'Age', 'Version', 'Internal-IP', 'External-IP']);
    assert.deepEqual([...n.rows[0].slice(0, 3), ...n.rows[0].slice(4)], ['lab', 'Ready', 'control-plane', 'v1.31.0-podwall', '10.244.0.1', '<none>']);
  });

  test('nodes take the field selector spec.unschedulable, false when the field is left out', async () => {
    const names = async (selector: string): Promise<unknown[]> => ((await t.api.call('GET', `/api/v1/nodes?fieldSelector=${encodeURIComponent(selector)}`)).body.items as Manifest[]).map((n) => meta(n).name);
    assert.deepEqual(await names('spec.unschedulable=false'), ['lab']);
    assert.deepEqual(await names('spec.unschedulable=true'), []);
    assert.deepEqual(await names('metadata.name=lab'), ['lab']);
  });

  test('a Node is labelled with a strategic merge patch (kubectl label node), which keeps its status; its status changes only through nodes/status', async () => {
    const labelled = await t.api.call('PATCH', '/api/v1/nodes/lab', { metadata: { labels: { zone: 'a' } }, status: { addresses: [] } }, 'application/strategic-merge-patch+json');
    assert.equal(labelled.status, 200, JSON.stringify(labelled.body));
    assert.equal((meta(labelled.body).labels as Record<string, string>).zone, 'a');
    assert.deepEqual((labelled.body.status as { addresses: Manifest[] }).addresses, [{ type: 'InternalIP', address: '10.244.0.1' }]);
    const moved = await t.api.call('PATCH', '/api/v1/nodes/lab/status', { status: { addresses: [{ type: 'InternalIP', address: '10.244.0.9' }] } }, 'application/merge-patch+json');
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.deepEqual((moved.body.status as { addresses: Manifest[] }).addresses, [{ type: 'InternalIP', address: '10.244.0.9' }]);
  });
});
