// Pure: admin and baseline policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
// ClusterNetworkPolicy) as the page shows them: each policy with its tier, priority, subject and rules
// in the engine's words, and as a manifest of its own API version for the editor and the export.
import {
  adminPolicySelects,
  describeAdminRule,
  describeAdminSubject,
  formatAdminPolicyRef,
  formatAdminRuleRef,
  type AdminRuleRef,
  type CompiledAdminPolicy,
  type CompiledCluster,
} from '../engine/index.js';
import type { AdminPeer, AdminPolicy, AdminPort, AdminRule, LabelSelector, Manifest } from '../model/index.js';
import { stringify } from 'yaml';
import type { AdminPolicyView, AdminRuleView } from './types.js';

/** `ClusterNetworkPolicy/web-never-reaches-db`: cluster-scoped, so kind and name. */
export const adminPolicyId = (p: { kind: string; name: string }): string => `${p.kind}/${p.name}`;

function selectorManifest(s: LabelSelector): Manifest {
  const out: Manifest = {};
  if (Object.keys(s.matchLabels).length > 0) out.matchLabels = { ...s.matchLabels };
  if (s.matchExpressions.length > 0) {
    out.matchExpressions = s.matchExpressions.map((e) => ({ key: e.key, operator: e.operator, ...(e.values.length > 0 ? { values: [...e.values] } : {}) }));
  }
  return out;
}

function peerManifest(p: AdminPeer): Manifest {
  switch (p.kind) {
    case 'namespaces':
      return { namespaces: selectorManifest(p.namespaces) };
    case 'pods':
      return { pods: { namespaceSelector: selectorManifest(p.pods.namespaceSelector), podSelector: selectorManifest(p.pods.podSelector) } };
    case 'nodes':
      return { nodes: selectorManifest(p.nodes) };
    case 'networks':
      return { networks: [...p.networks] };
    case 'domainNames':
      return { domainNames: [...p.domainNames] };
  }
}

/** v1alpha1 `ports`: portNumber, portRange or namedPort. */
function v1alpha1Port(p: AdminPort): Manifest {
  if (p.kind === 'number') return { portNumber: { protocol: p.protocol, port: p.port } };
  if (p.kind === 'range') return { portRange: { protocol: p.protocol, start: p.start, end: p.end } };
  return { namedPort: p.name };
}

/** v1alpha2 `protocols`: `{tcp|udp|sctp: {destinationPort: {number|range}}}` or `{destinationNamedPort}`. */
function v1alpha2Protocol(p: AdminPort): Manifest {
  if (p.kind === 'named') return { destinationNamedPort: p.name };
  const destinationPort = p.kind === 'number' ? { number: p.port } : { range: { start: p.start, end: p.end } };
  return { [p.protocol.toLowerCase()]: { destinationPort } };
}

function ruleManifest(r: AdminRule, peerField: 'from' | 'to', v1alpha2: boolean): Manifest {
  return {
    ...(r.name !== undefined ? { name: r.name } : {}),
    action: r.action,
    [peerField]: r.peers.map(peerManifest),
    ...(r.ports !== undefined ? (v1alpha2 ? { protocols: r.ports.map(v1alpha2Protocol) } : { ports: r.ports.map(v1alpha1Port) }) : {}),
  };
}

/** The policy as a manifest of its own kind and API version (what the editor loads and the export writes). */
export function adminPolicyManifest(p: AdminPolicy): Manifest {
  const v1alpha2 = p.apiVersion === 'policy.networking.k8s.io/v1alpha2';
  const subject = p.subject.namespaces
    ? { namespaces: selectorManifest(p.subject.namespaces) }
    : { pods: { namespaceSelector: selectorManifest(p.subject.pods.namespaceSelector), podSelector: selectorManifest(p.subject.pods.podSelector) } };
  const spec: Manifest = {
    ...(p.kind === 'ClusterNetworkPolicy' ? { tier: p.tier } : {}),
    ...(p.priority !== undefined ? { priority: p.priority } : {}),
    subject,
  };
  if (p.ingress.length > 0) spec.ingress = p.ingress.map((r) => ruleManifest(r, 'from', v1alpha2));
  if (p.egress.length > 0) spec.egress = p.egress.map((r) => ruleManifest(r, 'to', v1alpha2));
  return { apiVersion: p.apiVersion, kind: p.kind, metadata: { name: p.name }, spec };
}

export function adminPolicyYaml(p: AdminPolicy): string {
  return stringify(adminPolicyManifest(p));
}

/** A rule reference in the CLI's words, with the rule's peers and ports described. */
export function adminRuleView(compiled: CompiledCluster, ref: AdminRuleRef): AdminRuleView {
  const policy = compiled.adminPolicies[ref.policy.tier].find((p) => p.ref.kind === ref.policy.kind && p.ref.name === ref.policy.name);
  const rule = policy?.rules[ref.direction][ref.index];
  const words = rule ? describeAdminRule(rule) : { peers: '?', ports: '?' };
  return {
    ref: formatAdminRuleRef(ref),
    policy: adminPolicyId(ref.policy),
    tier: ref.policy.tier,
    direction: ref.direction,
    index: ref.index,
    ...(ref.name !== undefined ? { name: ref.name } : {}),
    action: ref.action,
    ...words,
  };
}

function policyView(compiled: CompiledCluster, p: CompiledAdminPolicy, order: number): AdminPolicyView {
  return {
    id: adminPolicyId(p.ref),
    kind: p.ref.kind,
    name: p.ref.name,
    tier: p.ref.tier,
    ...(p.ref.priority !== undefined ? { priority: p.ref.priority } : {}),
    ref: formatAdminPolicyRef(p.ref),
    order,
    subject: describeAdminSubject(p.policy.subject),
    selects: compiled.cluster.endpoints.filter((e) => adminPolicySelects(compiled, p, e)).map((e) => e.id),
    yaml: adminPolicyYaml(p.policy),
    ingress: p.rules.Ingress.map((r) => adminRuleView(compiled, r.ref)),
    egress: p.rules.Egress.map((r) => adminRuleView(compiled, r.ref)),
  };
}

/** Every admin and baseline policy in evaluation order: the Admin tier, then the Baseline tier. */
export function adminPolicyViews(compiled: CompiledCluster): AdminPolicyView[] {
  return [...compiled.adminPolicies.Admin.map((p, i) => policyView(compiled, p, i)), ...compiled.adminPolicies.Baseline.map((p, i) => policyView(compiled, p, i))];
}
