// fixConnection: the smallest change that allows a denied connection and nothing else, checked
// against the diff engine (diffClusters) on the fixed cluster, rule by rule of the fix's contract.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeNetworkPolicy, loadTexts, networkPolicyManifest, type Cluster, type Manifest } from '../model/index.js';
import { compileCluster, diffClusters, evaluateConnection, fixConnection, resolveTarget, type FixAnswer, type FixQuestion, type FlowGroup } from './index.js';

function cluster(yaml: string): Cluster {
  const built = loadTexts([{ file: 'test.yaml', text: yaml }]);
  assert.ok(built.cluster, JSON.stringify(built.diagnostics));
  return built.cluster;
}

function fix(c: Cluster, q: Partial<FixQuestion> & Pick<FixQuestion, 'from' | 'to' | 'port'>): FixAnswer {
  const a = fixConnection(compileCluster(c), { protocol: 'TCP', ...q });
  assert.ok(!('error' in a), 'error' in a ? a.error : '');
  return a;
}

/** The cluster with the fix's whole policies in place of the originals. */
function applied(c: Cluster, a: FixAnswer): Cluster {
  const replaced = new Set(a.changes.map((x) => `${x.policy.namespace}/${x.policy.name}`));
  const policies = c.policies.filter((p) => !replaced.has(`${p.namespace}/${p.name}`));
  for (const x of a.changes) policies.push(decodeNetworkPolicy(x.manifest, 'default').policy!);
  return { ...c, policies };
}

const groupText = (g: FlowGroup): string => {
  const end = (p: FlowGroup['from']): string => (p.kind === 'outside' ? p.addresses.join(',') : p.endpoints.join(','));
  return `${end(g.from)} -> ${end(g.to)} ${g.port}/${g.protocol}`;
};

/** What applying the fix opens and closes, as the diff engine sees it. */
function opened(c: Cluster, a: FixAnswer): { opened: string[]; closed: string[] } {
  const d = diffClusters(compileCluster(c), compileCluster(applied(c, a)));
  return { opened: d.opened.map(groupText), closed: d.closed.map(groupText) };
}

function allowed(c: Cluster, from: string, to: string, port: number): boolean {
  const compiled = compileCluster(c);
  const s = resolveTarget(compiled, from);
  const d = resolveTarget(compiled, to);
  assert.ok('peer' in s && 'peer' in d);
  return evaluateConnection(compiled, { source: s.peer, destination: d.peer, port, protocol: 'TCP' }).allowed;
}

const pod = (name: string, labels: Record<string, string>, port: number | { name: string; port: number }, ns = 'default', ip?: string): string => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns}, labels: ${JSON.stringify(labels)} }
spec:
  containers:
  - name: c
    image: x
    ports: [${typeof port === 'number' ? `{ containerPort: ${port} }` : `{ name: ${port.name}, containerPort: ${port.port} }`}]
${ip ? `status: { podIP: ${ip}, podIPs: [{ ip: ${ip} }] }` : ''}
---`;

const policy = (name: string, spec: Manifest, ns = 'default'): string => `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ${name}, namespace: ${ns} }
spec: ${JSON.stringify(spec)}
---`;

// The seed's three tiers: web (80) -> api (5000) -> db (3306); web is egress-isolated, db ingress-isolated.
const THREE_TIER = [
  pod('web', { name: 'web-pod', role: 'web', 'pod-template-hash': '5d9c7b' }, 80),
  pod('api', { name: 'api-pod', role: 'api' }, 5000),
  pod('db', { name: 'db-pod', role: 'db' }, 3306),
  policy('db-policy', { podSelector: { matchLabels: { role: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { name: 'api-pod' } } }], ports: [{ port: 3306 }] }] }),
  policy('web-policy', { podSelector: { matchLabels: { role: 'web' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { name: 'api-pod' } } }], ports: [{ port: 5000 }] }] }),
].join('\n');

describe('fix: one rule per blocking side, in the policy that isolates it', () => {
  test('a connection blocked on both sides gets an egress rule in the source\'s policy and an ingress rule in the destination\'s', () => {
    const c = cluster(THREE_TIER);
    const a = fix(c, { from: 'web', to: 'db', port: 3306 });
    assert.equal(a.status, 'fixed');
    assert.deepEqual(
      a.changes.map((x) => [x.policy.name, x.created, x.rules.map((r) => `${r.rule.direction}[${r.rule.index}]`), x.patch.map((p) => p.path)]),
      [
        ['db-policy', false, ['Ingress[1]'], ['/spec/ingress/-']],
        ['web-policy', false, ['Egress[1]'], ['/spec/egress/-']],
      ],
    );
    assert.deepEqual(a.changes[0].rules[0].manifest, { from: [{ podSelector: { matchLabels: { name: 'web-pod' } } }], ports: [{ protocol: 'TCP', port: 3306 }] });
    assert.deepEqual(a.changes[1].rules[0].manifest, { to: [{ podSelector: { matchLabels: { name: 'db-pod' } } }], ports: [{ protocol: 'TCP', port: 3306 }] });
    assert.ok(allowed(applied(c, a), 'web', 'db', 3306));
    assert.deepEqual(opened(c, a), { opened: ['default/web -> default/db 3306/TCP'], closed: [] });
    assert.deepEqual(a.opened.map(groupText), ['default/web -> default/db 3306/TCP']);
    assert.deepEqual(a.extra, []);
  });

  test('a connection already allowed needs no change', () => {
    const a = fix(cluster(THREE_TIER), { from: 'web', to: 'api', port: 5000 });
    assert.equal(a.status, 'allowed');
    assert.deepEqual(a.changes, []);
  });

  test('a port the destination declares no container port for is allowed all the same, with a note that nothing would listen there', () => {
    const c = cluster(THREE_TIER);
    const a = fix(c, { from: 'web', to: 'db', port: 9999 });
    assert.equal(a.status, 'fixed');
    assert.ok(allowed(applied(c, a), 'web', 'db', 9999));
    assert.deepEqual(a.opened, []);
    assert.deepEqual(a.notes.map((n) => n.code), ['port-undeclared']);
  });

  test('labels a controller sets per rollout (pod-template-hash) are never selected by, though they would be narrower', () => {
    // Mid-rollout: two ReplicaSets of one Deployment; selecting the hash would leave the new pods out.
    const c = cluster([
      pod('web-5d9c7b-abcde', { app: 'web', 'pod-template-hash': '5d9c7b' }, 80),
      pod('web-7f8e9a-fghij', { app: 'web', 'pod-template-hash': '7f8e9a' }, 80),
      pod('db', { app: 'db' }, 5432),
      policy('db-in', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] }),
    ].join('\n'));
    const a = fix(c, { from: 'web-5d9c7b-abcde', to: 'db', port: 5432 });
    assert.equal(a.status, 'fixed');
    assert.deepEqual(a.changes[0].rules[0].manifest, { from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 5432 }] });
  });

  test('a policy with no rules in the direction gets the whole list added (an empty list is omitted from the served object)', () => {
    const c = cluster([pod('web', { app: 'web' }, 80), pod('db', { app: 'db' }, 5432), policy('db-deny', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] })].join('\n'));
    const a = fix(c, { from: 'web', to: 'db', port: 5432 });
    assert.equal(a.status, 'fixed');
    assert.deepEqual(a.changes.map((x) => [x.policy.name, x.patch]), [
      ['db-deny', [{ op: 'add', path: '/spec/ingress', value: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }] }]],
    ]);
    // The patch turns the policy as served into the fixed one.
    const served = networkPolicyManifest(c.policies[0]) as { spec: Manifest };
    assert.deepEqual({ ...served, spec: { ...served.spec, ingress: a.changes[0].patch[0].value } }, a.changes[0].manifest);
  });
});

describe('fix: nothing else that was denied opens, and nothing closes', () => {
  test('a rule goes into a new policy when the policy that isolates the destination selects other pods listening on the port', () => {
    // deny-all isolates every pod; appending to it would open web -> cache:5432 as well.
    const c = cluster([
      pod('web', { app: 'web' }, 80),
      pod('db', { app: 'db', tier: 'data' }, 5432),
      pod('cache', { app: 'cache', tier: 'data' }, 5432),
      policy('deny-all', { podSelector: {}, policyTypes: ['Ingress'] }),
    ].join('\n'));
    const a = fix(c, { from: 'web', to: 'db', port: 5432 });
    assert.equal(a.status, 'fixed');
    assert.deepEqual(a.changes.map((x) => [x.policy.name, x.created, (x.manifest.spec as Manifest).podSelector]), [['allow-web-to-db-5432', true, { matchLabels: { app: 'db' } }]]);
    assert.deepEqual(opened(c, a), { opened: ['default/web -> default/db 5432/TCP'], closed: [] });
  });

  test('a new policy selects the destination by as many labels as it takes to leave out pods that are not isolated', () => {
    // db-tools shares app=db but is not isolated: the new policy must select db by both labels.
    const c = cluster([
      pod('web', { app: 'web' }, 80),
      pod('db', { app: 'db', tier: 'data' }, 5432),
      pod('db-tools', { app: 'db' }, 5432),
      pod('cache', { app: 'cache', tier: 'data' }, 5432),
      policy('data-deny', { podSelector: { matchLabels: { tier: 'data' } }, policyTypes: ['Ingress'] }),
    ].join('\n'));
    const a = fix(c, { from: 'web', to: 'db', port: 5432 });
    assert.equal(a.status, 'fixed');
    assert.deepEqual(a.changes.map((x) => (x.manifest.spec as Manifest).podSelector), [{ matchLabels: { app: 'db', tier: 'data' } }]);
    assert.deepEqual(opened(c, a), { opened: ['default/web -> default/db 5432/TCP'], closed: [] });
  });

  test('a new policy never selects a pod that was not isolated (it would close that pod\'s flows): better an inexact fix than a closing one', () => {
    // Every label set of db also selects db-tools, which no policy isolates; the policy isolating db also isolates cache, on the same port.
    const c = cluster([
      pod('web', { app: 'web' }, 80),
      pod('db', { app: 'db' }, 5432),
      pod('db-tools', { app: 'db', tools: 'yes' }, 5432),
      pod('cache', { app: 'cache' }, 5432),
      policy('no-tools', { podSelector: { matchExpressions: [{ key: 'tools', operator: 'DoesNotExist' }] }, policyTypes: ['Ingress'] }),
    ].join('\n'));
    const a = fix(c, { from: 'web', to: 'db', port: 5432 });
    assert.equal(a.status, 'inexact');
    assert.deepEqual(a.changes.map((x) => [x.policy.name, x.created]), [['no-tools', false]]);
    assert.deepEqual(opened(c, a), { opened: ['default/web -> default/cache 5432/TCP', 'default/web -> default/db 5432/TCP'], closed: [] });
  });

  test('a source in another namespace is selected by kubernetes.io/metadata.name and its own labels, narrow enough to leave its neighbours out', () => {
    const c = cluster([
      pod('checkout', { 'app.kubernetes.io/name': 'checkout', 'app.kubernetes.io/component': 'service' }, 8080, 'checkout'),
      pod('checkout-redis', { 'app.kubernetes.io/name': 'checkout', 'app.kubernetes.io/component': 'redis' }, 6379, 'checkout'),
      pod('orders', { 'app.kubernetes.io/name': 'orders' }, 8080, 'orders'),
      policy('orders-in', { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'orders' } }, ingress: [] }, 'orders'),
    ].join('\n'));
    const a = fix(c, { from: 'checkout/checkout', to: 'orders/orders', port: 8080 });
    assert.equal(a.status, 'fixed');
    assert.deepEqual(a.changes[0].rules[0].manifest, {
      from: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'checkout' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/component': 'service', 'app.kubernetes.io/name': 'checkout' } },
        },
      ],
      ports: [{ protocol: 'TCP', port: 8080 }],
    });
    assert.deepEqual(opened(c, a), { opened: ['checkout/checkout -> orders/orders 8080/TCP'], closed: [] });
  });

  test('when no label set selects the source alone, the narrowest alternative is offered with what else it opens', () => {
    // billing shares every label with reports: admitting reports by labels admits billing too.
    const c = cluster([
      pod('reports', { app: 'backend' }, 8080),
      pod('billing', { app: 'backend' }, 8080),
      pod('db', { app: 'db' }, 5432),
      policy('db-in', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] }),
    ].join('\n'));
    const a = fix(c, { from: 'reports', to: 'db', port: 5432 });
    assert.equal(a.status, 'inexact');
    assert.match(a.reasons.join('\n'), /no label set selects/);
    assert.match(a.reasons.join('\n'), /every label set that selects default\/reports also selects default\/billing, whose connections to default\/db on 5432\/TCP were denied too/);
    assert.deepEqual(a.opened.map(groupText), ['default/reports -> default/db 5432/TCP']);
    assert.deepEqual(a.extra.map(groupText), ['default/billing -> default/db 5432/TCP']);
    assert.deepEqual(opened(c, a).opened.sort(), ['default/billing -> default/db 5432/TCP', 'default/reports -> default/db 5432/TCP']);
  });

  test('when no label set selects the destination alone, the alternative names the pod that shares its labels', () => {
    const c = cluster([
      pod('web', { app: 'web' }, 80),
      pod('db', { app: 'db' }, 5432),
      pod('db-legacy', { app: 'db' }, 5432),
      policy('db-in', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] }),
    ].join('\n'));
    const a = fix(c, { from: 'web', to: 'db', port: 5432 });
    assert.equal(a.status, 'inexact');
    assert.deepEqual(a.extra.map(groupText), ['default/web -> default/db-legacy 5432/TCP']);
    assert.match(a.reasons.join('\n'), /every label set that selects default\/db also selects default\/db-legacy, to which connections from default\/web on 5432\/TCP were denied too/);
  });

  test('the replicas of the source\'s workload open with it: a label selector cannot tell them apart, and they are the same application', () => {
    const replica = (name: string): string => pod(name, { app: 'web', 'pod-template-hash': '5d9c7b' }, 80);
    const c = cluster([replica('web-5d9c7b-abcde'), replica('web-5d9c7b-fghij'), pod('db', { app: 'db' }, 5432), policy('db-in', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] })].join('\n'));
    const a = fix(c, { from: 'web-5d9c7b-abcde', to: 'db', port: 5432 });
    assert.equal(a.status, 'fixed');
    assert.deepEqual(opened(c, a).opened, ['default/web-5d9c7b-abcde,default/web-5d9c7b-fghij -> default/db 5432/TCP']);
  });

  test('another pod that carries the source\'s labels and was denied makes the fix inexact, though no rule tells them apart', () => {
    const c = cluster([pod('web-1', { app: 'web' }, 80), pod('web-2', { app: 'web', canary: 'yes' }, 80), pod('db', { app: 'db' }, 5432), policy('db-in', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] })].join('\n'));
    const a = fix(c, { from: 'web-1', to: 'db', port: 5432 });
    assert.equal(a.status, 'inexact');
    assert.deepEqual(a.extra.map(groupText), ['default/web-2 -> default/db 5432/TCP']);
  });
});

describe('fix: ends outside the cluster and Services', () => {
  test('an outside source is admitted by its address alone: ipBlock /32, and /128 for IPv6', () => {
    for (const [ip, cidr] of [['203.0.113.10', '203.0.113.10/32'], ['2001:db8::7', '2001:db8::7/128']]) {
      const c = cluster(THREE_TIER);
      const a = fix(c, { from: ip, to: 'db', port: 3306 });
      assert.equal(a.status, 'fixed');
      assert.deepEqual(a.changes.map((x) => [x.policy.name, x.rules.map((r) => r.manifest)]), [['db-policy', [{ from: [{ ipBlock: { cidr } }], ports: [{ protocol: 'TCP', port: 3306 }] }]]]);
      assert.deepEqual(opened(c, a), { opened: [`${cidr} -> default/db 3306/TCP`], closed: [] });
    }
  });

  test('an outside destination is reached by its address alone', () => {
    const c = cluster(THREE_TIER);
    const a = fix(c, { from: 'web', to: '198.51.100.9', port: 443 });
    assert.equal(a.status, 'fixed');
    assert.deepEqual(a.changes[0].rules[0].manifest, { to: [{ ipBlock: { cidr: '198.51.100.9/32' } }], ports: [{ protocol: 'TCP', port: 443 }] });
    assert.deepEqual(opened(c, a), { opened: ['default/web -> 198.51.100.9/32 443/TCP'], closed: [] });
  });

  test('a hostNetwork source, which pod and namespace selectors never match, is admitted by its (the node\'s) address', () => {
    const c = cluster(`
apiVersion: v1
kind: Pod
metadata: { name: agent, labels: { app: agent } }
spec: { hostNetwork: true, containers: [{ name: c, image: x, ports: [{ containerPort: 9100 }] }] }
status: { podIP: 192.168.1.10, podIPs: [{ ip: 192.168.1.10 }] }
---
${pod('db', { app: 'db' }, 5432, 'default', '10.244.0.5')}
${policy('db-in', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] })}`);
    const a = fix(c, { from: 'agent', to: 'db', port: 5432 });
    assert.equal(a.status, 'fixed');
    assert.deepEqual(a.changes[0].rules[0].manifest, { from: [{ ipBlock: { cidr: '192.168.1.10/32' } }], ports: [{ protocol: 'TCP', port: 5432 }] });
    assert.ok(allowed(applied(c, a), 'agent', 'db', 5432));
  });

  test('a Service destination is fixed per backend at its targetPort, by the port\'s name when the Service names it', () => {
    // The named targetPort "http" is 8080 on one backend and 9090 on the other.
    const c = cluster(
      [
        pod('client', { app: 'client' }, 80),
        pod('web-a', { app: 'web', track: 'a' }, { name: 'http', port: 8080 }),
        pod('web-b', { app: 'web', track: 'b' }, { name: 'http', port: 9090 }),
        policy('deny-all', { podSelector: {}, policyTypes: ['Ingress'] }),
        `apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec: { selector: { app: web }, ports: [{ port: 80, targetPort: http }] }`,
      ].join('\n'),
    );
    const a = fix(c, { from: 'client', to: 'default/service/web', port: 80 });
    assert.equal(a.status, 'fixed');
    assert.deepEqual(a.flows.map((f) => `${f.destination.kind === 'endpoint' ? f.destination.endpoint.id : ''}:${f.port}:${f.portName}`), ['default/web-a:8080:http', 'default/web-b:9090:http']);
    // Only the backends declare a port named http, so the rule fits in the policy that isolates them all.
    assert.deepEqual(a.changes.map((x) => [x.policy.name, x.created, x.rules.map((r) => r.manifest)]), [
      ['deny-all', false, [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ protocol: 'TCP', port: 'http' }] }]],
    ]);
    assert.deepEqual(opened(c, a), { opened: ['default/client -> default/web-a 8080/TCP', 'default/client -> default/web-b 9090/TCP'], closed: [] });
  });

  test('a source Service means each of its backends', () => {
    const c = cluster(
      [
        pod('api-1', { app: 'api' }, 5000),
        pod('api-2', { app: 'api', canary: 'yes' }, 5000),
        pod('db', { app: 'db' }, 5432),
        policy('db-in', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] }),
        `apiVersion: v1
kind: Service
metadata: { name: api, namespace: default }
spec: { selector: { app: api }, ports: [{ port: 80, targetPort: 5000 }] }`,
      ].join('\n'),
    );
    const a = fix(c, { from: 'default/service/api', to: 'db', port: 5432 });
    assert.equal(a.status, 'fixed');
    assert.equal(a.flows.length, 2);
    assert.deepEqual(opened(c, a).opened.sort(), ['default/api-1 -> default/db 5432/TCP', 'default/api-2 -> default/db 5432/TCP']);
  });

  test('a ClusterIP Service cannot be opened to the outside by any NetworkPolicy', () => {
    const c = cluster(`${THREE_TIER}
apiVersion: v1
kind: Service
metadata: { name: db, namespace: default }
spec: { selector: { role: db }, ports: [{ port: 3306 }] }`);
    const a = fix(c, { from: '203.0.113.10', to: 'default/service/db', port: 3306 });
    assert.equal(a.status, 'impossible');
    assert.match(a.reasons.join('\n'), /cannot reach default\/service\/db at all/);
  });

  test('questions that name nothing, or no connection of pods, are errors', () => {
    const compiled = compileCluster(cluster(THREE_TIER));
    const cases: [FixQuestion, RegExp][] = [
      [{ from: 'nope', to: 'db', port: 3306, protocol: 'TCP' }, /--from: no endpoint "default\/nope"/],
      [{ from: 'web', to: 'nope', port: 3306, protocol: 'TCP' }, /--to: no endpoint/],
      [{ from: '203.0.113.1', to: '203.0.113.2', port: 80, protocol: 'TCP' }, /neither end is in the cluster/],
    ];
    for (const [q, message] of cases) {
      const a = fixConnection(compiled, q);
      assert.ok('error' in a, JSON.stringify(q));
      assert.match(a.error, message);
    }
  });
});

describe('fix: admin and baseline tiers', () => {
  const ADMIN_DENY = `
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: { name: no-web-to-db }
spec:
  priority: 5
  subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { role: db } } } }
  ingress:
  - name: never-web
    action: Deny
    from: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { role: web } } } }]
---`;
  // The cluster's default for pods without egress NetworkPolicy: nothing out at all.
  const BASELINE_NO_EGRESS = `
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: { name: default }
spec:
  subject: { namespaces: {} }
  egress:
  - name: default-deny
    action: Deny
    to: [{ namespaces: {} }, { networks: [0.0.0.0/0, '::/0'] }]
---`;

  test('an Admin-tier Deny makes fix impossible: no NetworkPolicy is proposed, the reason names the rule and the cluster administrator', () => {
    const a = fix(cluster(THREE_TIER + ADMIN_DENY), { from: 'web', to: 'db', port: 3306 });
    assert.equal(a.status, 'impossible');
    assert.deepEqual(a.changes, []);
    assert.equal(a.reasons.length, 1);
    assert.match(a.reasons[0], /denied by AdminNetworkPolicy\/no-web-to-db \(Admin tier, priority 5\) ingress\[0\] "never-web": Deny/);
    assert.match(a.reasons[0], /only a cluster administrator can change/);
  });

  test('a baseline Deny on a pod no NetworkPolicy isolates is fixed by a NetworkPolicy selecting it (NetworkPolicy then decides), verified tier by tier', () => {
    const c = cluster(THREE_TIER + BASELINE_NO_EGRESS);
    assert.ok(!allowed(c, 'api', 'db', 3306), 'the baseline denies api egress');
    const a = fix(c, { from: 'api', to: 'db', port: 3306 });
    assert.equal(a.status, 'fixed', a.reasons.join('\n'));
    assert.deepEqual(
      a.changes.map((x) => [x.policy.name, x.created, x.rules.map((r) => `${r.rule.direction}[${r.rule.index}]`)]),
      [['allow-api-to-db-3306', true, ['Egress[0]']]],
    );
    assert.ok(allowed(applied(c, a), 'api', 'db', 3306));
    assert.deepEqual(opened(c, a), { opened: ['default/api -> default/db 3306/TCP'], closed: [] });
    assert.match(a.reasons.join('\n'), /BaselineAdminNetworkPolicy\/default \(Baseline tier\) egress\[0\] "default-deny": Deny; the Baseline tier applies only where no NetworkPolicy isolates the pod/);
  });

  test('where isolating the pod closes what the baseline did not deny, the fix is inexact and the closed flows are in its diff', () => {
    const baselineIngress = `
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: { name: default }
spec:
  subject: { namespaces: {} }
  ingress:
  - action: Deny
    from: [{ namespaces: {} }]
---`;
    const c = cluster(THREE_TIER + baselineIngress);
    const a = fix(c, { from: 'web', to: 'api', port: 5000 });
    assert.equal(a.status, 'inexact');
    assert.deepEqual(a.diff!.closed.map(groupText), ['0.0.0.0/0,::/0 -> default/api 5000/TCP']);
    assert.ok(allowed(applied(c, a), 'web', 'api', 5000));
  });
});
