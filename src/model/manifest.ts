// Typed objects back to manifests (canonical JSON, defaults written out), for stores, exports
// and anything that hands objects to Kubernetes tooling.
import type {
  AdminPeer,
  AdminPolicy,
  AdminPort,
  AdminRule,
  AdminSubject,
  LabelSelector,
  Manifest,
  NamespacedPod,
  Namespace,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyRule,
} from './types.js';

function selectorManifest(s: LabelSelector): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (Object.keys(s.matchLabels).length > 0) out.matchLabels = { ...s.matchLabels };
  if (s.matchExpressions.length > 0) {
    out.matchExpressions = s.matchExpressions.map((e) => ({ key: e.key, operator: e.operator, ...(e.values.length > 0 ? { values: [...e.values] } : {}) }));
  }
  return out;
}

function peerManifest(p: NetworkPolicyPeer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (p.podSelector) out.podSelector = selectorManifest(p.podSelector);
  if (p.namespaceSelector) out.namespaceSelector = selectorManifest(p.namespaceSelector);
  if (p.ipBlock) out.ipBlock = { cidr: p.ipBlock.cidr, ...(p.ipBlock.except.length > 0 ? { except: [...p.ipBlock.except] } : {}) };
  return out;
}

function ruleManifest(r: NetworkPolicyRule, peerField: 'from' | 'to'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (r.ports) {
    out.ports = r.ports.map((p) => ({
      protocol: p.protocol,
      ...(p.port !== undefined ? { port: p.port } : {}),
      ...(p.endPort !== undefined ? { endPort: p.endPort } : {}),
    }));
  }
  if (r.peers) out[peerField] = r.peers.map(peerManifest);
  return out;
}

export function networkPolicyManifest(p: NetworkPolicy): Record<string, unknown> {
  const spec: Record<string, unknown> = { podSelector: selectorManifest(p.spec.podSelector), policyTypes: [...p.spec.policyTypes] };
  if (p.spec.ingress.length > 0) spec.ingress = p.spec.ingress.map((r) => ruleManifest(r, 'from'));
  if (p.spec.egress.length > 0) spec.egress = p.spec.egress.map((r) => ruleManifest(r, 'to'));
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: p.name, namespace: p.namespace }, spec };
}

export function namespaceManifest(n: Namespace): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n.name, labels: { ...n.labels } } };
}

function namespacedPodManifest(p: NamespacedPod): Manifest {
  return { namespaceSelector: selectorManifest(p.namespaceSelector), podSelector: selectorManifest(p.podSelector) };
}

function subjectManifest(s: AdminSubject): Manifest {
  return s.namespaces ? { namespaces: selectorManifest(s.namespaces) } : { pods: namespacedPodManifest(s.pods) };
}

function adminPeerManifest(p: AdminPeer): Manifest {
  switch (p.kind) {
    case 'namespaces':
      return { namespaces: selectorManifest(p.namespaces) };
    case 'pods':
      return { pods: namespacedPodManifest(p.pods) };
    case 'nodes':
      return { nodes: selectorManifest(p.nodes) };
    case 'networks':
      return { networks: [...p.networks] };
    case 'domainNames':
      return { domainNames: [...p.domainNames] };
  }
}

/** v1alpha1 AdminNetworkPolicyPort, protocol written out as the CRD defaults it. */
function portV1alpha1(p: AdminPort): Manifest {
  switch (p.kind) {
    case 'number':
      return { portNumber: { protocol: p.protocol, port: p.port } };
    case 'range':
      return { portRange: { protocol: p.protocol, start: p.start, end: p.end } };
    case 'named':
      return { namedPort: p.name };
  }
}

/** v1alpha2 ClusterNetworkPolicyProtocol: the protocol is the field's name. */
function protocolV1alpha2(p: AdminPort): Manifest {
  switch (p.kind) {
    case 'number':
      return { [p.protocol.toLowerCase()]: { destinationPort: { number: p.port } } };
    case 'range':
      return { [p.protocol.toLowerCase()]: { destinationPort: { range: { start: p.start, end: p.end } } } };
    case 'named':
      return { destinationNamedPort: p.name };
  }
}

function adminRuleManifest(r: AdminRule, peerField: 'from' | 'to', v1alpha2: boolean): Manifest {
  const out: Manifest = {};
  if (r.name !== undefined) out.name = r.name;
  out.action = r.action;
  out[peerField] = r.peers.map(adminPeerManifest);
  if (r.ports) out[v1alpha2 ? 'protocols' : 'ports'] = r.ports.map(v1alpha2 ? protocolV1alpha2 : portV1alpha1);
  return out;
}

/** An admin policy in its own apiVersion and kind, as decodeAdminPolicy reads it back. */
export function adminPolicyManifest(p: AdminPolicy): Manifest {
  const v1alpha2 = p.kind === 'ClusterNetworkPolicy';
  const spec: Manifest = {};
  if (v1alpha2) spec.tier = p.tier;
  if (p.priority !== undefined) spec.priority = p.priority;
  spec.subject = subjectManifest(p.subject);
  if (p.ingress.length > 0) spec.ingress = p.ingress.map((r) => adminRuleManifest(r, 'from', v1alpha2));
  if (p.egress.length > 0) spec.egress = p.egress.map((r) => adminRuleManifest(r, 'to', v1alpha2));
  return { apiVersion: p.apiVersion, kind: p.kind, metadata: { name: p.name }, spec };
}
