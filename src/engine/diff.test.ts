// diffClusters: the flows a change opens and closes, checked on small clusters written as manifest
// text, and against a pair-by-pair baseline (evaluateConnection on every pair of both versions).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiagnostic, loadTexts } from '../model/index.js';
import { compileCluster, declaredPorts, diffClusters, endpointOwner, evaluateConnection, type CompiledCluster, type FlowDiff, type FlowGroup } from './index.js';

function build(...docs: string[]): CompiledCluster {
  const r = loadTexts(docs.map((text, i) => ({ file: `doc${i}.yaml`, text })));
  assert.ok(r.cluster, r.diagnostics.map(formatDiagnostic).join('\n'));
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic), []);
  return compileCluster(r.cluster);
}

/** `ports`: `http:80`, `5000`, `dns:53/UDP`. */
function pod(name: string, labels: Record<string, string>, ports: string[] = [], ip?: string, namespace = 'default'): string {
  const list = ports.map((spec) => {
    const m = /^(?:([a-z0-9-]+):)?([0-9]+)(?:\/(TCP|UDP|SCTP))?$/.exec(spec)!;
    return `{containerPort: ${m[2]}${m[1] ? `, name: ${m[1]}` : ''}${m[3] ? `, protocol: ${m[3]}` : ''}}`;
  });
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}, labels: ${JSON.stringify(labels)}}
spec:
  containers: [{name: c, image: i, ports: [${list.join(', ')}]}]
${ip ? `status: {podIP: ${ip}}\n` : ''}`;
}

function policy(name: string, spec: string, namespace = 'default'): string {
  return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ${name}, namespace: ${namespace}}
spec:
${spec
  .trim()
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`;
}

const WEB = pod('web', { role: 'web' }, ['http:80'], '10.0.0.1');
const API = pod('api', { role: 'api' }, ['api:5000'], '10.0.0.2');
const DB = pod('db', { role: 'db' }, ['mysql:3306'], '10.0.0.3');
const DB_POLICY = policy('db-policy', `
podSelector: {matchLabels: {role: db}}
ingress:
- from: [{podSelector: {matchLabels: {role: api}}}]
  ports: [{port: 3306}]`);
const API_POLICY = policy('api-policy', `
podSelector: {matchLabels: {role: api}}
ingress:
- from: [{podSelector: {matchLabels: {role: web}}}]
  ports: [{port: 5000}]`);
const WEB_INGRESS = (from: string): string =>
  policy('web-policy', `
podSelector: {matchLabels: {role: web}}
ingress:
- ${from}
  ports: [{port: 80}]`);

/** One line per connection of every group, for comparing with the baseline. */
function pairs(groups: readonly FlowGroup[]): string[] {
  const out: string[] = [];
  for (const g of groups) {
    if (g.from.kind !== 'endpoints' || g.to.kind !== 'endpoints') continue;
    for (const f of g.from.endpoints) for (const t of g.to.endpoints) if (f !== t) out.push(`${f} -> ${t} ${g.port}/${g.protocol}`);
  }
  return out.sort();
}

const line = (g: FlowGroup): string => {
  const peer = (p: FlowGroup['from']): string => (p.kind === 'outside' ? `outside(${p.text})` : p.endpoints.length === 1 ? p.endpoints[0] : `${p.group}×${p.endpoints.length}`);
  return `${g.change} ${peer(g.from)} -> ${peer(g.to)} ${g.port}${g.endPort ? `-${g.endPort}` : ''}/${g.protocol}${g.portName ? `(${g.portName})` : ''} ${g.flows}`;
};
const lines = (d: FlowDiff): string[] => [...d.opened, ...d.closed].map(line);

/** The baseline: every endpoint pair in both versions on every declared port, asked one by one. */
function pairwiseDiff(before: CompiledCluster, after: CompiledCluster): { opened: string[]; closed: string[] } {
  const flows = (c: CompiledCluster, common: Set<string>): Set<string> => {
    const out = new Set<string>();
    const endpoints = c.cluster.endpoints.filter((e) => common.has(e.id));
    for (const target of declaredPorts([...before.cluster.endpoints, ...after.cluster.endpoints])) {
      for (const d of endpoints) {
        if (!d.ports.some((p) => p.containerPort === target.port && p.protocol === target.protocol)) continue;
        for (const s of endpoints) {
          if (s === d) continue;
          const v = evaluateConnection(c, { source: { kind: 'endpoint', endpoint: s }, destination: { kind: 'endpoint', endpoint: d }, ...target });
          if (v.allowed) out.add(`${s.id} -> ${d.id} ${target.port}/${target.protocol}`);
        }
      }
    }
    return out;
  };
  const newIds = new Set(after.cluster.endpoints.map((e) => e.id));
  const common = new Set(before.cluster.endpoints.map((e) => e.id).filter((id) => newIds.has(id)));
  const a = flows(before, common);
  const b = flows(after, common);
  return { opened: [...b].filter((k) => !a.has(k)).sort(), closed: [...a].filter((k) => !b.has(k)).sort() };
}

describe('diff: flows between endpoints', () => {
  const base = build(WEB, API, DB, DB_POLICY, API_POLICY);
  const cases: { name: string; after: CompiledCluster; expect: string[] }[] = [
    {
      name: 'a rule admitting a new source opens exactly its flow',
      after: build(WEB, API, DB, policy('db-policy', `
podSelector: {matchLabels: {role: db}}
ingress:
- from: [{podSelector: {matchLabels: {role: api}}}, {podSelector: {matchLabels: {role: web}}}]
  ports: [{port: 3306}]`), API_POLICY),
      expect: ['opened default/web -> default/db 3306/TCP(mysql) 1'],
    },
    {
      name: 'a rule narrowed to another port closes the flows on the old one',
      after: build(WEB, API, DB, DB_POLICY, API_POLICY.replace('port: 5000', 'port: 5001')),
      expect: ['closed default/web -> default/api 5000/TCP(api) 1'],
    },
    {
      name: 'one edit can open some flows and close others',
      after: build(WEB, API, DB, DB_POLICY, API_POLICY.replace('role: web}', 'role: db}')),
      expect: ['opened default/db -> default/api 5000/TCP(api) 1', 'closed default/web -> default/api 5000/TCP(api) 1'],
    },
    {
      name: 'a new default-deny closes every flow into the pods it selects, from every source',
      after: build(WEB, API, DB, DB_POLICY, API_POLICY, policy('deny-web', 'podSelector: {matchLabels: {role: web}}\npolicyTypes: [Ingress]')),
      expect: [
        'closed default/api -> default/web 80/TCP(http) 1',
        'closed default/db -> default/web 80/TCP(http) 1',
        'closed outside(anywhere) -> default/web 80/TCP(http) 1',
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const d = diffClusters(base, c.after);
      assert.deepEqual(lines(d), c.expect);
      assert.equal(d.changed, true);
      const baseline = pairwiseDiff(base, c.after);
      assert.deepEqual(pairs(d.opened), baseline.opened);
      assert.deepEqual(pairs(d.closed), baseline.closed);
    });
  }

  test('with the policies unchanged, relabelling a pod or a namespace changes what they select', () => {
    const ns = (labels: Record<string, string>): string => `apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: ${JSON.stringify(labels)}}\n`;
    const fromTeam = policy('api-from-team', `
podSelector: {matchLabels: {role: api}}
ingress:
- from: [{namespaceSelector: {matchLabels: {team: a}}}]`);
    const shopClient = pod('client', { role: 'client' }, [], '10.0.1.1', 'shop');
    const cases: [string, CompiledCluster, CompiledCluster, string[]][] = [
      ['a pod no longer selected by the isolating policy', build(WEB, API, API_POLICY), build(WEB, pod('api', { role: 'other' }, ['api:5000'], '10.0.0.2'), API_POLICY), []],
      ['a namespace that gains the label a namespaceSelector asks for', build(API, ns({}), shopClient, fromTeam), build(API, ns({ team: 'a' }), shopClient, fromTeam), ['opened shop/client -> default/api 5000/TCP(api) 1']],
    ];
    for (const [what, before, after, expected] of cases) {
      const d = diffClusters(before, after);
      if (expected.length > 0) assert.deepEqual(lines(d), expected, what);
      const baseline = pairwiseDiff(before, after);
      assert.deepEqual(pairs(d.opened), baseline.opened, what);
      assert.deepEqual(pairs(d.closed), baseline.closed, what);
      assert.ok(d.changed, what);
    }
  });

  test('the same cluster gives no change at all', () => {
    const d = diffClusters(base, build(WEB, API, DB, DB_POLICY, API_POLICY));
    assert.deepEqual(lines(d), []);
    assert.equal(d.changed, false);
    assert.deepEqual(d.policies, { added: [], removed: [], changed: [] });
  });

  test('reordering and renaming policies changes no flow: the policies are listed, changed stays false', () => {
    const renamed = API_POLICY.replace('name: api-policy', 'name: api-allow-web');
    const d = diffClusters(base, build(renamed, DB, WEB, DB_POLICY, API));
    assert.deepEqual(lines(d), []);
    assert.equal(d.changed, false);
    assert.deepEqual(d.policies, { added: ['default/api-allow-web'], removed: ['default/api-policy'], changed: [] });
  });

  test('each change names the allowing rules where allowed and the isolating policies where denied', () => {
    const d = diffClusters(base, build(WEB, API, DB, DB_POLICY, API_POLICY.replace('port: 5000', 'port: 5001')));
    const [g] = d.closed;
    assert.deepEqual(g.before.ingress.allowedBy, ['default/api-policy ingress[0]']);
    assert.equal(g.before.allowed, true);
    assert.equal(g.before.egress.isolated, false);
    assert.equal(g.after.allowed, false);
    assert.deepEqual(g.after.ingress.isolatingPolicies, ['default/api-policy']);
    assert.deepEqual(g.after.ingress.allowedBy, []);
  });

  test('a destination that stops declaring a port closes its flows, said as "not declared"', () => {
    const d = diffClusters(build(WEB, API, DB), build(WEB, pod('api', { role: 'api' }, ['api:5001'], '10.0.0.2'), DB));
    assert.deepEqual(lines(d).filter((l) => l.includes('5000')), [
      'closed default/db -> default/api 5000/TCP(api) 1',
      'closed default/web -> default/api 5000/TCP(api) 1',
      'closed outside(anywhere) -> default/api 5000/TCP(api) 1',
    ]);
    assert.equal(d.closed[0].after.declared, false);
  });
});

describe('diff: endpoints added and removed', () => {
  test('an added pod is reported as added with its isolation, not as flows', () => {
    const d = diffClusters(build(WEB, API, API_POLICY), build(WEB, API, API_POLICY, pod('api-2', { role: 'api' }, ['api:5000'], '10.0.0.9')));
    assert.deepEqual(lines(d), []);
    assert.deepEqual(d.added, [{ group: 'default/api-2', endpoints: ['default/api-2'], ingressIsolatedBy: ['default/api-policy'], egressIsolatedBy: [] }]);
    assert.deepEqual(d.removed, []);
    assert.equal(d.changed, true);
  });

  test('a removed pod is reported as removed', () => {
    const d = diffClusters(build(WEB, API, DB), build(WEB, API));
    assert.deepEqual(lines(d), []);
    assert.deepEqual(d.removed.map((g) => g.endpoints), [['default/db']]);
  });

  test('replicas of one Deployment read as one group with a count, by owner', () => {
    const replicas = (app: string, n: number, port: string): string[] =>
      Array.from({ length: n }, (_, i) => pod(`${app}-7c9d8b5f4d-${String(i).padStart(5, 'x')}`, { app, 'pod-template-hash': '7c9d8b5f4d' }, [port], `10.1.${app === 'web' ? 1 : 2}.${i + 1}`));
    const pods = [...replicas('web', 50, '80'), ...replicas('api', 2, '5000')];
    const deny = policy('api', 'podSelector: {matchLabels: {app: api}}\npolicyTypes: [Ingress]');
    const allow = policy('api', `
podSelector: {matchLabels: {app: api}}
ingress:
- from: [{podSelector: {matchLabels: {app: web}}}]
  ports: [{port: 5000}]`);
    const d = diffClusters(build(...pods, deny), build(...pods, allow));
    assert.deepEqual(lines(d), ['opened default/deployment/web×50 -> default/deployment/api×2 5000/TCP 100']);
    const g = d.opened[0];
    assert.ok(g.from.kind === 'endpoints' && g.from.endpoints.length === 50 && g.from.endpoints.includes('default/web-7c9d8b5f4d-xxxx0'));
  });

  test('replicas reaching each other count every pair but never a pod to itself', () => {
    const pods = [0, 1, 2].map((i) => pod(`web-5d9f8-abcd${i}`, { app: 'web', 'pod-template-hash': '5d9f8' }, ['80'], `10.1.0.${i + 1}`));
    const d = diffClusters(build(...pods), build(...pods, policy('deny', 'podSelector: {}\npolicyTypes: [Ingress]')));
    assert.deepEqual(lines(d), ['closed default/deployment/web×3 -> default/deployment/web×3 80/TCP 6', 'closed outside(anywhere) -> default/deployment/web×3 80/TCP 3']);
  });

  test('owners are traced through the labels controllers set; a bare pod is its own group', () => {
    const e = (name: string, labels: Record<string, string>) => ({ id: `ns/${name}`, kind: 'Pod' as const, namespace: 'ns', name, labels, ports: [], ips: [], hostNetwork: false });
    const cases: [string, ReturnType<typeof e>, string][] = [
      ['Deployment', e('web-5d9f8-abcde', { 'pod-template-hash': '5d9f8' }), 'ns/deployment/web'],
      ['StatefulSet', e('db-0', { 'statefulset.kubernetes.io/pod-name': 'db-0', 'controller-revision-hash': 'db-6b' }), 'ns/statefulset/db'],
      ['DaemonSet', e('agent-x2k4q', { 'controller-revision-hash': '7f', 'pod-template-generation': '1' }), 'ns/daemonset/agent'],
      ['Job', e('backup-1-zzzzz', { 'batch.kubernetes.io/job-name': 'backup-1' }), 'ns/job/backup-1'],
      ['bare pod', e('web', { app: 'web' }), 'ns/web'],
    ];
    for (const [what, endpoint, owner] of cases) assert.equal(endpointOwner(endpoint), owner, what);
  });
});

describe('diff: outside the cluster', () => {
  const base = build(WEB, API, WEB_INGRESS('from: [{ipBlock: {cidr: 0.0.0.0/0}}]'));
  test('narrowing an ipBlock closes the addresses it no longer admits, named exactly', () => {
    const d = diffClusters(base, build(WEB, API, WEB_INGRESS('from: [{ipBlock: {cidr: 0.0.0.0/0, except: [192.168.0.0/16]}}]')));
    assert.deepEqual(lines(d), ['closed outside(192.168.0.0/16) -> default/web 80/TCP(http) 1']);
    assert.deepEqual(d.closed[0].before.ingress.allowedBy, ['default/web-policy ingress[0]']);
  });

  test('widening to every source opens the IPv6 addresses and the IPv4 remainder, in the complement form', () => {
    const narrow = build(WEB, API, WEB_INGRESS('from: [{ipBlock: {cidr: 10.0.0.0/8}}]'));
    const d = diffClusters(narrow, build(WEB, API, WEB_INGRESS('from: []')));
    assert.deepEqual(lines(d), ['opened outside(0.0.0.0/0 except 10.0.0.0/8; ::/0) -> default/web 80/TCP(http) 1']);
    const g = d.opened[0];
    assert.ok(g.from.kind === 'outside');
    assert.deepEqual(g.from.addresses.slice(0, 3), ['0.0.0.0/5', '8.0.0.0/7', '11.0.0.0/8']);
    assert.deepEqual(g.from.addresses.at(-1), '::/0');
  });

  test('egress to outside addresses opens on the rule’s ports, as a range', () => {
    const egress = (rules: string): string => policy('web-egress', `podSelector: {matchLabels: {role: web}}\npolicyTypes: [Egress]\negress:\n${rules}`);
    const before = build(WEB, API, egress('- to: [{podSelector: {matchLabels: {role: api}}}]'));
    const after = build(WEB, API, egress('- to: [{podSelector: {matchLabels: {role: api}}}]\n- to: [{ipBlock: {cidr: 203.0.113.0/24}}]\n  ports: [{port: 8000, endPort: 8999}, {port: 443}, {port: http}]'));
    const d = diffClusters(before, after);
    assert.deepEqual(lines(d), ['opened default/web -> outside(203.0.113.0/24) 443/TCP 1', 'opened default/web -> outside(203.0.113.0/24) 8000-8999/TCP 1']);
    assert.deepEqual(d.opened[0].after.egress.allowedBy, ['default/web-egress egress[1]']);
    assert.deepEqual(d.opened[0].before.egress.isolatingPolicies, ['default/web-egress']);
  });

  test('removing the only egress policy opens every port to anywhere except what was allowed', () => {
    const before = build(WEB, policy('web-egress', 'podSelector: {}\npolicyTypes: [Egress]\negress:\n- ports: [{port: 53, protocol: UDP}]'));
    const d = diffClusters(before, build(WEB));
    assert.deepEqual(lines(d), [
      'opened default/web -> outside(anywhere) 1-65535/SCTP 1',
      'opened default/web -> outside(anywhere) 1-65535/TCP 1',
      'opened default/web -> outside(anywhere) 1-52/UDP 1',
      'opened default/web -> outside(anywhere) 54-65535/UDP 1',
    ]);
  });
});

describe('diff: named ports', () => {
  const web = pod('web', { role: 'web' }, ['http:8080'], '10.0.0.1');
  const web2 = pod('web2', { role: 'web' }, ['http:9090'], '10.0.0.4');
  const client = pod('client', { role: 'client' }, [], '10.0.0.5');
  const ingress = (port: string): string =>
    policy('web', `
podSelector: {matchLabels: {role: web}}
ingress:
- from: [{podSelector: {matchLabels: {role: client}}}]
  ports: [{port: ${port}}]`);

  test('a named port opens each destination at its own number, and says the name', () => {
    const d = diffClusters(build(web, web2, client, ingress('8080')), build(web, web2, client, ingress('http')));
    assert.deepEqual(lines(d), ['opened default/client -> default/web2 9090/TCP(http) 1']);
  });

  test('a rule by number replaced by the name of that number changes nothing', () => {
    const d = diffClusters(build(web, client, ingress('8080')), build(web, client, ingress('http')));
    assert.deepEqual(lines(d), []);
    assert.equal(d.changed, false);
  });

  test('a named port never admits outside addresses on egress', () => {
    const egress = (ports: string): string => policy('client', `podSelector: {matchLabels: {role: client}}\npolicyTypes: [Egress]\negress:\n- ports: [${ports}]`);
    const d = diffClusters(build(web, client, egress('{port: 1}')), build(web, client, egress('{port: 1}, {port: http}')));
    assert.deepEqual(lines(d), ['opened default/client -> default/web 8080/TCP(http) 1']);
  });
});

describe('diff: admin and baseline tiers', () => {
  const DENY_WEB_TO_DB = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: no-web-to-db}
spec:
  priority: 5
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {role: db}}}}
  ingress:
  - name: never-web
    action: Deny
    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {role: web}}}}]
`;
  const OPEN_DB = policy('db-open', `
podSelector: {matchLabels: {role: db}}
ingress:
- from: [{podSelector: {}}]`);

  test('a flow an admin Deny closes says, after, which rule of which tier decided (and before, the NetworkPolicy rule)', () => {
    const before = build(WEB, API, DB, OPEN_DB);
    const after = build(WEB, API, DB, OPEN_DB, DENY_WEB_TO_DB);
    const d = diffClusters(before, after);
    assert.deepEqual(lines(d), ['closed default/web -> default/db 3306/TCP(mysql) 1']);
    const g = d.closed[0];
    assert.deepEqual(g.before.ingress.allowedBy, ['default/db-open ingress[0]']);
    assert.equal(g.before.ingress.tier, undefined, 'a version without admin policies has no tier fields');
    assert.equal(g.after.ingress.tier, 'Admin');
    assert.equal(g.after.ingress.decidedBy, 'AdminNetworkPolicy/no-web-to-db (Admin tier, priority 5) ingress[0] "never-web": Deny');
    assert.deepEqual(d.policies.added, ['AdminNetworkPolicy/no-web-to-db']);
    assert.deepEqual(pairwiseDiff(before, after), { opened: [], closed: ['default/web -> default/db 3306/TCP'] });
  });

  test('an admin policy added without any NetworkPolicy change is not skipped as "nothing changed" for the endpoints it selects', () => {
    const before = build(WEB, API, DB);
    const after = build(WEB, API, DB, DENY_WEB_TO_DB);
    assert.deepEqual(pairs(diffClusters(before, after).closed), pairwiseDiff(before, after).closed);
    assert.equal(pairwiseDiff(before, after).closed.length, 1);
  });

  test('egress to outside closed by an admin networks Deny names exactly those addresses and the rule', () => {
    const cnp = `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: no-docs}
spec:
  tier: Admin
  priority: 1
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {role: api}}}}
  egress:
  - name: doc
    action: Deny
    to: [{networks: [203.0.113.0/24]}]
`;
    const d = diffClusters(build(WEB, API, DB), build(WEB, API, DB, cnp));
    assert.deepEqual(lines(d), ['closed default/api -> outside(203.0.113.0/24) 1-65535/SCTP 1', 'closed default/api -> outside(203.0.113.0/24) 1-65535/TCP 1', 'closed default/api -> outside(203.0.113.0/24) 1-65535/UDP 1']);
    assert.equal(d.closed[0].after.egress.decidedBy, 'ClusterNetworkPolicy/no-docs (Admin tier, priority 1) egress[0] "doc": Deny');
  });
});
