// explainEndpoints with admin tiers: the admin and baseline policies selecting an endpoint, per
// direction, in evaluation order with their rules in words, and outside access judged tier by tier.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiagnostic, loadTexts } from '../model/index.js';
import { compileCluster, explainEndpoints, formatAdminPolicyRef, formatAdminRuleRef, type CompiledCluster } from './index.js';

function build(text: string): CompiledCluster {
  const r = loadTexts([{ file: 'c.yaml', text }]);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic), []);
  return compileCluster(r.cluster!);
}

const PODS = `
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {role: web}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, labels: {role: db}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 3306}]}]}
status: {podIP: 10.0.0.2}
`;

const cnp = (name: string, tier: string, priority: number, body: string): string => `
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: ${name}}
spec:
  tier: ${tier}
  priority: ${priority}
  subject: {namespaces: {}}
${body}`;

describe('explain with admin tiers', () => {
  test('admin policies are listed per direction in evaluation order (priority, then kind, then name), only where they have rules of that direction', () => {
    const c = build(
      PODS +
        cnp('z-first', 'Admin', 1, '  egress:\n  - {action: Pass, to: [{networks: [192.0.2.0/24]}]}') +
        cnp('b-second', 'Admin', 2, '  ingress:\n  - {name: web-only, action: Accept, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {role: web}}}}]}') +
        cnp('a-second', 'Admin', 2, '  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}') +
        cnp('base', 'Baseline', 1, '  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}') +
        `
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: anp}
spec:
  priority: 2
  subject: {namespaces: {}}
  ingress:
  - {action: Pass, from: [{namespaces: {}}], ports: [{portNumber: {protocol: TCP, port: 3306}}, {namedPort: http}]}
`,
    );
    const [db] = explainEndpoints(c, [c.cluster.endpoints.find((e) => e.name === 'db')!]);
    assert.deepEqual(
      db.ingress.admin.map((p) => formatAdminPolicyRef(p.policy)),
      ['AdminNetworkPolicy/anp (Admin tier, priority 2)', 'ClusterNetworkPolicy/a-second (Admin tier, priority 2)', 'ClusterNetworkPolicy/b-second (Admin tier, priority 2)'],
    );
    assert.deepEqual(db.egress.admin.map((p) => p.policy.name), ['z-first']);
    assert.deepEqual(db.ingress.baseline.map((p) => p.policy.name), ['base']);
    assert.deepEqual(db.egress.baseline, []);
    assert.deepEqual(
      db.ingress.admin.flatMap((p) => p.rules.map((r) => `${formatAdminRuleRef(r.rule)} from ${r.peers}, on ${r.ports}`)),
      [
        'AdminNetworkPolicy/anp (Admin tier, priority 2) ingress[0]: Pass from all pods in all namespaces, on TCP 3306, the port named "http" (any protocol)',
        'ClusterNetworkPolicy/a-second (Admin tier, priority 2) ingress[0]: Deny from all pods in all namespaces, on all ports',
        'ClusterNetworkPolicy/b-second (Admin tier, priority 2) ingress[0] "web-only": Accept from pods with role=web in all namespaces, on all ports',
      ],
    );
    assert.equal(db.ingress.isolated, false, 'admin policies never isolate a pod');
  });

  test('egress to outside is judged tier by tier: an admin networks Deny of some addresses makes it "some"', () => {
    const c = build(PODS + cnp('no-docs', 'Admin', 1, '  egress:\n  - {action: Deny, to: [{networks: [203.0.113.0/24]}]}'));
    const [web] = explainEndpoints(c, [c.cluster.endpoints.find((e) => e.name === 'web')!]);
    assert.equal(web.egress.external, 'some');
    assert.equal(web.ingress.external, 'all');
  });
});
