// describeVerdictSide with the tiers: which tier decided a side, the Pass rules on the way, and
// the NetworkPolicy wording unchanged where there are no admin policies.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiagnostic, loadTexts } from '../model/index.js';
import { compileCluster, describeVerdictSide, evaluateConnection, type CompiledCluster, type DirectionVerdict } from './index.js';

const PODS = `
apiVersion: v1
kind: Pod
metadata: {name: a, labels: {app: a}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, labels: {app: b}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.2}
`;

function build(text: string): CompiledCluster {
  const r = loadTexts([{ file: 'c.yaml', text }]);
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic), []);
  return compileCluster(r.cluster!);
}

function sides(c: CompiledCluster): { egress: DirectionVerdict; ingress: DirectionVerdict } {
  const [a, b] = c.cluster.endpoints;
  return evaluateConnection(c, { source: { kind: 'endpoint', endpoint: a }, destination: { kind: 'endpoint', endpoint: b }, port: 80, protocol: 'TCP' });
}

const PASS_BOTH = `
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: admin-pass}
spec:
  tier: Admin
  priority: 1
  subject: {namespaces: {}}
  ingress: [{name: on, action: Pass, from: [{namespaces: {}}]}]
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: base-pass}
spec:
  tier: Baseline
  priority: 1
  subject: {namespaces: {}}
  ingress: [{action: Pass, from: [{namespaces: {}}]}]
`;

describe('describeVerdictSide tier by tier', () => {
  test('without admin policies a side not isolated reads as it always has', () => {
    const c = build(PODS);
    assert.deepEqual(describeVerdictSide(c, sides(c).ingress, 'default/b'), ['ingress to default/b: not isolated for ingress (no policy selects it for Ingress), so allowed']);
  });

  test('a Pass in each tier, then no tier deciding: both Pass rules are named, in order, and "no other rule" decided', () => {
    const c = build(PODS + PASS_BOTH);
    assert.deepEqual(describeVerdictSide(c, sides(c).ingress, 'default/b'), [
      'ingress to default/b: passed on by ClusterNetworkPolicy/admin-pass (Admin tier, priority 1) ingress[0] "on": Pass, then ClusterNetworkPolicy/base-pass (Baseline tier, priority 1) ingress[0]: Pass; not isolated for ingress (no policy selects it for Ingress) and no other admin or baseline rule matches: no tier decided, so allowed',
    ]);
  });
});
