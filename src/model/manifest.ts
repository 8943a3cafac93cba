// Typed objects back to manifests (canonical JSON, defaults written out), for stores, exports
// and anything that hands objects to Kubernetes tooling.
import type { LabelSelector, Namespace, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyRule } from './types.js';

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
