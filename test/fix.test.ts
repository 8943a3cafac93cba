// `podwall fix` end to end: round trips on the three-tier example and the wild apps (fix, apply the
// printed YAML or JSON patches to the manifests, `check` allows, `podwall diff` shows exactly the asked
// flow opened and nothing closed), the output formats, and the exit codes.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import jsonpatch from 'fast-json-patch';
import { parseAllDocuments, stringify } from 'yaml';
import { startTestServer, type TestServer } from '../src/lab/api/testing.js';
import type { Manifest } from '../src/model/index.js';
import { runCli as run } from './support/cli.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const threeTier = resolve(repo, 'examples/three-tier');
const wild = (app: string): string => resolve(repo, '../shared/wild', app);

const scratch = mkdtempSync(join(tmpdir(), 'podwall-fix-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => {
  const dir = join(scratch, `case-${dirs++}`);
  mkdirSync(dir);
  return dir;
};

function manifestFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => (statSync(join(path, name)).isDirectory() ? manifestFiles(join(path, name)) : /\.ya?ml$/.test(name) ? [join(path, name)] : []));
}

/** Every object of the manifests, as plain JSON. */
function objectsOf(path: string): Manifest[] {
  return manifestFiles(path).flatMap((f) =>
    parseAllDocuments(readFileSync(f, 'utf8'))
      .map((d) => d.toJS() as Manifest | null)
      .filter((o): o is Manifest => o !== null && typeof o === 'object'),
  );
}

const policyKey = (o: Manifest, namespace: string): string => {
  const meta = (o.metadata ?? {}) as Manifest;
  return `${String(meta.namespace ?? namespace)}/${String(meta.name)}`;
};

/** `kubectl apply` of `objects` over the manifests: same-named policies replaced, new ones added; as a new directory. */
function appliedOver(path: string, namespace: string, objects: readonly Manifest[]): string {
  const replaced = new Set(objects.map((o) => policyKey(o, namespace)));
  const kept = objectsOf(path).filter((o) => o.kind !== 'NetworkPolicy' || !replaced.has(policyKey(o, namespace)));
  const dir = freshDir();
  writeFileSync(join(dir, 'manifests.yaml'), [...kept, ...objects].map((o) => stringify(o)).join('---\n'));
  return dir;
}

function yamlObjects(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => {
      assert.deepEqual(d.errors, [], 'the output is valid YAML');
      return d.toJS() as Manifest | null;
    })
    .filter((o): o is Manifest => o !== null);
}

interface DiffGroup {
  from: { kind: string; endpoints?: string[]; addresses?: string[] };
  to: { kind: string; endpoints?: string[]; addresses?: string[] };
  port: number;
  protocol: string;
}
const groupText = (g: DiffGroup): string => {
  const end = (p: DiffGroup['from']): string => (p.kind === 'outside' ? p.addresses!.join(',') : p.endpoints!.join(','));
  return `${end(g.from)} -> ${end(g.to)} ${g.port}/${g.protocol}`;
};

/** `podwall diff OLD NEW -o json`: the flows opened and closed. */
async function diffOf(before: string, afterDir: string, namespace: string): Promise<{ code: number; opened: string[]; closed: string[] }> {
  const r = await run(['diff', before, afterDir, '-n', namespace, '-o', 'json']);
  assert.notEqual(r.code, 2, r.err);
  const d = JSON.parse(r.out) as { opened: DiffGroup[]; closed: DiffGroup[] };
  return { code: r.code, opened: d.opened.map(groupText), closed: d.closed.map(groupText) };
}

interface RoundTrip {
  readonly name: string;
  readonly path: string;
  readonly namespace: string;
  readonly from: string;
  readonly to: string;
  readonly port: number;
  /** What `podwall diff` shows opened once the fix is applied: the asked flow, nothing else. */
  readonly opened: readonly string[];
  /** The policies the fix changes (existing) or creates (new). */
  readonly changes: readonly string[];
}

const ROUND_TRIPS: readonly RoundTrip[] = [
  {
    name: 'three-tier web -> db:3306, denied by both the egress of web and the ingress of db: a rule on each side',
    path: threeTier,
    namespace: 'default',
    from: 'web',
    to: 'db',
    port: 3306,
    opened: ['default/web -> default/db 3306/TCP'],
    changes: ['default/db-policy', 'default/web-policy'],
  },
  {
    name: 'sock-shop orders -> carts:80: cortex-access isolates every pod, so the rule goes into a new policy over carts alone',
    path: wild('sock-shop'),
    namespace: 'default',
    from: 'sock-shop/deployment/orders',
    to: 'sock-shop/deployment/carts',
    port: 80,
    opened: ['sock-shop/deployment/orders -> sock-shop/deployment/carts 80/TCP'],
    changes: ['sock-shop/allow-orders-to-carts-80 (new)'],
  },
  {
    name: 'online-boutique checkoutservice -> adservice:9555: one ingress rule appended to the adservice policy',
    path: wild('online-boutique'),
    namespace: 'default',
    from: 'default/deployment/checkoutservice',
    to: 'default/deployment/adservice',
    port: 9555,
    opened: ['default/deployment/checkoutservice -> default/deployment/adservice 9555/TCP'],
    changes: ['default/adservice'],
  },
  {
    name: 'eks-retail-store checkout -> the orders Service (targetPort named http): the backend admits checkout from its namespace on the named port',
    path: wild('eks-retail-store'),
    namespace: 'default',
    from: 'checkout/deployment/checkout',
    to: 'orders/service/orders',
    port: 80,
    opened: ['checkout/deployment/checkout -> orders/deployment/orders 8080/TCP'],
    changes: ['orders/allow-orders-ingress-webservice'],
  },
  {
    name: 'online-boutique, an outside address -> cartservice:7070: admitted by that address alone (ipBlock /32)',
    path: wild('online-boutique'),
    namespace: 'default',
    from: '198.51.100.7',
    to: 'default/deployment/cartservice',
    port: 7070,
    opened: ['198.51.100.7/32 -> default/deployment/cartservice 7070/TCP'],
    changes: ['default/cartservice'],
  },
];

describe('podwall fix round trips: apply the printed YAML, check allows, diff opens exactly the asked flow', () => {
  for (const c of ROUND_TRIPS) {
    test(c.name, async () => {
      const args = ['-f', c.path, '-n', c.namespace, '--from', c.from, '--to', c.to, '--port', String(c.port)];
      const before = await run(['check', ...args]);
      assert.equal(before.code, 1, `denied before the fix: ${before.out}`);

      const fixed = await run(['fix', ...args]);
      assert.equal(fixed.code, 0, fixed.err + fixed.out);
      assert.match(fixed.out, /^# podwall fix: /);
      const objects = yamlObjects(fixed.out);
      assert.deepEqual(
        objects.map((o) => policyKey(o, c.namespace)),
        c.changes.map((x) => x.replace(/ \(new\)$/, '')),
      );
      for (const o of objects) assert.equal((o.metadata as Manifest).namespace !== undefined, true, 'every object names its namespace');

      const applied = appliedOver(c.path, c.namespace, objects);
      const check = await run(['check', '-f', applied, '-n', c.namespace, '--from', c.from, '--to', c.to, '--port', String(c.port)]);
      assert.equal(check.code, 0, check.out + check.err);
      const d = await diffOf(c.path, applied, c.namespace);
      assert.deepEqual(d, { code: 1, opened: c.opened, closed: [] });
    });
  }

  test('a fix of an existing policy keeps what its author wrote (labels, annotations, field order) and adds only the rule', async () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, 'app.yaml'),
      `apiVersion: v1
kind: Pod
metadata: { name: web, labels: { app: web } }
spec: { containers: [{ name: c, image: x, ports: [{ containerPort: 80 }] }] }
---
apiVersion: v1
kind: Pod
metadata: { name: db, labels: { app: db } }
spec: { containers: [{ name: c, image: x, ports: [{ containerPort: 5432 }] }] }
---
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata:
  name: db-in
  labels: { team: data }
  annotations: { owner: dba@example.com }
spec:
  podSelector: { matchLabels: { app: db } }
  ingress: []
`,
    );
    const r = await run(['fix', '-f', dir, '--from', 'web', '--to', 'db', '--port', '5432']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(yamlObjects(r.out), [
      {
        kind: 'NetworkPolicy',
        apiVersion: 'networking.k8s.io/v1',
        metadata: { name: 'db-in', labels: { team: 'data' }, annotations: { owner: 'dba@example.com' }, namespace: 'default' },
        spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }] },
      },
    ]);
  });
});

describe('podwall fix -o patch and -o json', () => {
  test('-o patch: RFC 6902 patches per existing policy apply (fast-json-patch) to the manifests as written, and the result opens exactly the asked flow', async () => {
    const r = await run(['fix', '-f', threeTier, '--from', 'web', '--to', 'db', '--port', '3306', '-o', 'patch']);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { exact: boolean; patches: { kind: string; namespace: string; name: string; patch: jsonpatch.Operation[] }[]; create: Manifest[] };
    assert.equal(out.exact, true);
    assert.deepEqual(out.patches.map((p) => `${p.namespace}/${p.name}`), ['default/db-policy', 'default/web-policy']);
    assert.deepEqual(out.create, []);
    const patched = objectsOf(threeTier)
      .filter((o) => o.kind === 'NetworkPolicy')
      .flatMap((o) => {
        const p = out.patches.find((x) => policyKey(o, 'default') === `${x.namespace}/${x.name}`);
        // validate: every operation is checked against RFC 6902 before it is applied.
        return p ? [jsonpatch.applyPatch(structuredClone(o), p.patch, true, false).newDocument] : [];
      });
    const applied = appliedOver(threeTier, 'default', [...patched, ...out.create]);
    assert.equal((await run(['check', '-f', applied, '--from', 'web', '--to', 'db', '--port', '3306'])).code, 0);
    assert.deepEqual(await diffOf(threeTier, applied, 'default'), { code: 1, opened: ['default/web -> default/db 3306/TCP'], closed: [] });
  });

  test('-o patch: a new policy comes whole, under create', async () => {
    const r = await run(['fix', '-f', wild('sock-shop'), '--from', 'sock-shop/deployment/orders', '--to', 'sock-shop/deployment/carts', '--port', '80', '-o', 'patch']);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { patches: unknown[]; create: Manifest[] };
    assert.deepEqual(out.patches, []);
    assert.deepEqual(out.create, [
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'allow-orders-to-carts-80', namespace: 'sock-shop' },
        spec: {
          podSelector: { matchLabels: { name: 'carts' } },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: { matchLabels: { name: 'orders' } } }], ports: [{ protocol: 'TCP', port: 80 }] }],
        },
      },
    ]);
  });

  test('-o json: the connections with the sides that blocked them, each change with its rules, patch and whole object, and the flows the diff shows opened', async () => {
    const r = await run(['fix', '-f', threeTier, '--from', 'web', '--to', 'db', '--port', '3306', '-o', 'json']);
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as {
      status: string;
      exact: boolean;
      connections: { from: string; to: string; blocked: string[]; allowedBefore: boolean }[];
      changes: { policy: string; created: boolean; rules: { direction: string; index: number; text: string }[]; patch: unknown[]; object: Manifest }[];
      opened: unknown[];
      extra: unknown[];
    };
    assert.equal(out.status, 'fixed');
    assert.equal(out.exact, true);
    assert.deepEqual(out.connections.map((c) => [c.from, c.to, c.allowedBefore, c.blocked]), [['default/web', 'default/db', false, ['egress', 'ingress']]]);
    assert.deepEqual(out.changes.map((c) => [c.policy, c.created, c.rules.map((x) => `${x.direction}[${x.index}]`)]), [
      ['default/db-policy', false, ['Ingress[1]']],
      ['default/web-policy', false, ['Egress[2]']],
    ]);
    assert.deepEqual(out.opened, [{ from: { group: 'default/web', endpoints: ['default/web'] }, to: { group: 'default/db', endpoints: ['default/db'] }, port: 3306, protocol: 'TCP', portName: 'mysql', flows: 1 }]);
    assert.deepEqual(out.extra, []);
  });
});

describe('podwall fix exit codes: 0 a fix or nothing to fix, 1 no change allows only that flow, 2 bad input', () => {
  test('a connection allowed already: exit 0, said so, no object', async () => {
    const r = await run(['fix', '-f', threeTier, '--from', 'web', '--to', 'api', '--port', '5000']);
    assert.equal(r.code, 0);
    assert.match(r.out, /allowed already: nothing to change/);
    assert.deepEqual(yamlObjects(r.out), []);
  });

  test('no label selects the source without another app that shares all its labels: exit 1, the narrowest alternative printed with what else it opens', async () => {
    const dir = freshDir();
    const deployment = (name: string, labels: Record<string, string>, port: number): string => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  selector: { matchLabels: ${JSON.stringify(labels)} }
  template:
    metadata: { labels: ${JSON.stringify(labels)} }
    spec: { containers: [{ name: c, image: x, ports: [{ containerPort: ${port} }] }] }
`;
    writeFileSync(
      join(dir, 'app.yaml'),
      [
        deployment('reports', { app: 'backend' }, 8080),
        deployment('billing', { app: 'backend' }, 8080),
        deployment('db', { app: 'db' }, 5432),
        `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: db-in }
spec: { podSelector: { matchLabels: { app: db } }, policyTypes: [Ingress] }
`,
      ].join('---\n'),
    );
    const args = ['-f', dir, '--from', 'default/deployment/reports', '--to', 'default/deployment/db', '--port', '5432'];
    const r = await run(['fix', ...args]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /# NOT EXACT: no label set selects the ends of default\/deployment\/reports -> default\/deployment\/db/);
    assert.match(r.out, /# and also:\n# {3}default\/deployment\/billing -> default\/deployment\/db 5432\/TCP/);
    // The alternative is still a valid change: it allows the flow, and the diff shows the extra one it warned of.
    const applied = appliedOver(dir, 'default', yamlObjects(r.out));
    assert.equal((await run(['check', '-f', applied, '--from', 'default/deployment/reports', '--to', 'default/deployment/db', '--port', '5432'])).code, 0);
    assert.deepEqual((await diffOf(dir, applied, 'default')).opened, ['default/deployment/billing -> default/deployment/db 5432/TCP', 'default/deployment/reports -> default/deployment/db 5432/TCP']);
    const json = JSON.parse((await run(['fix', ...args, '-o', 'json'])).out) as { status: string; exact: boolean; extra: unknown[] };
    assert.deepEqual([json.status, json.exact, json.extra.length], ['inexact', false, 1]);
  });

  test('aks-regulated: the two ingress-nginx admission Jobs carry the same labels, so admitting one admits the other: exit 1, both listed', async () => {
    const r = await run(['fix', '-f', wild('aks-regulated'), '--from', 'ingress-nginx/job/ingress-nginx-admission-create', '--to', 'a0005-i/deployment/web-frontend', '--port', '8080', '-o', 'json']);
    assert.equal(r.code, 1, r.err);
    const out = JSON.parse(r.out) as { status: string; opened: DiffGroup[]; extra: DiffGroup[]; reasons: string[] };
    const text = (g: DiffGroup & { from: { group?: string }; to: { group?: string } }): string => `${g.from.group} -> ${g.to.group} ${g.port}/${g.protocol}`;
    assert.equal(out.status, 'inexact');
    assert.deepEqual(out.opened.map(text), ['ingress-nginx/job/ingress-nginx-admission-create -> a0005-i/deployment/web-frontend 8080/TCP']);
    assert.deepEqual(out.extra.map(text), ['ingress-nginx/job/ingress-nginx-admission-patch -> a0005-i/deployment/web-frontend 8080/TCP']);
    assert.match(out.reasons.join('\n'), /every label set that selects ingress-nginx\/job\/ingress-nginx-admission-create also selects ingress-nginx\/job\/ingress-nginx-admission-patch/);
  });

  test('an outside address to a ClusterIP Service: no NetworkPolicy can allow it, exit 1 with the reason', async () => {
    const r = await run(['fix', '-f', threeTier, '--from', '203.0.113.10', '--to', 'default/service/db', '--port', '3306']);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /cannot reach default\/service\/db at all/);
    assert.match(r.out, /no NetworkPolicy change can allow it/);
  });

  const BAD: readonly { readonly name: string; readonly args: readonly string[]; readonly error: RegExp }[] = [
    { name: 'no --port', args: ['--from', 'web', '--to', 'db'], error: /fix needs --port/ },
    { name: 'no --to', args: ['--from', 'web', '--port', '80'], error: /fix needs --from and --to/ },
    { name: 'an unknown endpoint', args: ['--from', 'wbe', '--to', 'db', '--port', '3306'], error: /--from: no endpoint "default\/wbe"/ },
    { name: 'a port the Service lacks', args: ['--from', 'web', '--to', 'default/service/db', '--port', '80'], error: /--port: default\/service\/db has no port 80\/TCP/ },
    { name: 'neither end in the cluster', args: ['--from', '203.0.113.1', '--to', '203.0.113.2', '--port', '80'], error: /neither end is in the cluster/ },
    { name: 'an unknown output format', args: ['--from', 'web', '--to', 'db', '--port', '3306', '-o', 'xml'], error: /-o: "xml" is not one of yaml, patch, json/ },
    { name: 'a bad protocol', args: ['--from', 'web', '--to', 'db', '--port', '3306', '--protocol', 'ICMP'], error: /--protocol/ },
  ];
  for (const c of BAD) {
    test(`bad input, exit 2: ${c.name}`, async () => {
      const r = await run(['fix', '-f', threeTier, ...c.args]);
      assert.equal(r.code, 2, r.out);
      assert.match(r.err, c.error);
      assert.equal(r.out, '');
    });
  }
});

describe('podwall fix on a running cluster (the lab\'s API server, in process)', () => {
  let t: TestServer;
  let kubeconfig: string;
  before(async () => {
    t = await startTestServer();
    kubeconfig = t.kubeconfig();
    // The three-tier pods and policies as `kubectl apply` writes them, and a policy with no ingress rules at all.
    const objects = [
      ...objectsOf(threeTier).filter((o) => o.kind === 'Pod' || o.kind === 'NetworkPolicy'),
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cache', labels: { role: 'cache' } }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 6379 }] }] } },
      { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'cache-deny' }, spec: { podSelector: { matchLabels: { role: 'cache' } }, policyTypes: ['Ingress'] } },
    ];
    for (const o of objects) {
      const path = o.kind === 'Pod' ? '/api/v1/namespaces/default/pods' : '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies';
      const r = await t.api.call('POST', path, o);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  });
  after(async () => t.close());

  test('-o patch read from the cluster: the patches apply to the served objects (PATCH application/json-patch+json), after which check allows and nothing else opened', async () => {
    const paths: string[] = [];
    for (const [from, to, port] of [['web', 'db', '3306'], ['api', 'cache', '6379']] as const) {
      const r = await run(['fix', '--kubeconfig', kubeconfig, '--from', from, '--to', to, '--port', port, '-o', 'patch']);
      assert.equal(r.code, 0, r.err);
      const out = JSON.parse(r.out) as { patches: { namespace: string; name: string; patch: unknown[] }[]; create: Manifest[] };
      assert.ok(out.patches.length > 0);
      for (const p of out.patches) {
        paths.push(...(p.patch as { path: string }[]).map((op) => `${p.name} ${op.path}`));
        const res = await t.api.call('PATCH', `/apis/networking.k8s.io/v1/namespaces/${p.namespace}/networkpolicies/${p.name}`, p.patch, 'application/json-patch+json');
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }
      for (const o of out.create) assert.equal((await t.api.call('POST', '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies', o)).status, 201);
      const check = await run(['check', '--kubeconfig', kubeconfig, '--from', from, '--to', to, '--port', port]);
      assert.equal(check.code, 0, check.out + check.err);
    }
    // cache-deny has no ingress rules, so the API server serves it without the list: the patch adds it whole.
    assert.deepEqual(paths.sort(), ['api-policy /spec/egress/-', 'cache-deny /spec/ingress', 'db-policy /spec/ingress/-', 'web-policy /spec/egress/-']);
    const d = await run(['diff', threeTier, 'cluster', '--kubeconfig', kubeconfig, '-o', 'json']);
    const opened = (JSON.parse(d.out) as { opened: DiffGroup[]; closed: DiffGroup[] }).opened.map(groupText);
    assert.deepEqual(opened, ['default/web -> default/db 3306/TCP']);
  });
});
