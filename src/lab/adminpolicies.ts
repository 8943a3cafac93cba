// The admin policy kinds back to manifests, as `lab apply` sends them to the lab's API:
// each AdminPolicy in the API version it was written in (v1alpha1 ports, v1alpha2 protocols).
import type { AdminPeer, AdminPolicy, AdminPort, AdminRule, LabelSelector, Manifest, NamespacedPod } from '../model/index.js';

function selectorManifest(s: LabelSelector): Manifest {
  const out: Manifest = {};
  if (Object.keys(s.matchLabels).length > 0) out.matchLabels = { ...s.matchLabels };
  if (s.matchExpressions.length > 0) {
    out.matchExpressions = s.matchExpressions.map((e) => ({ key: e.key, operator: e.operator, ...(e.values.length > 0 ? { values: [...e.values] } : {}) }));
  }
  return out;
}

const namespacedPod = (p: NamespacedPod): Manifest => ({ namespaceSelector: selectorManifest(p.namespaceSelector), podSelector: selectorManifest(p.podSelector) });

function peerManifest(p: AdminPeer): Manifest {
  switch (p.kind) {
    case 'namespaces':
      return { namespaces: selectorManifest(p.namespaces) };
    case 'pods':
      return { pods: namespacedPod(p.pods) };
    case 'nodes':
      return { nodes: selectorManifest(p.nodes) };
    case 'networks':
      return { networks: [...p.networks] };
    case 'domainNames':
      return { domainNames: [...p.domainNames] };
  }
}

/** v1alpha1 AdminNetworkPolicyPort: portNumber, portRange or namedPort. */
function v1alpha1Port(p: AdminPort): Manifest {
  switch (p.kind) {
    case 'number':
      return { portNumber: { protocol: p.protocol, port: p.port } };
    case 'range':
      return { portRange: { protocol: p.protocol, start: p.start, end: p.end } };
    case 'named':
      return { namedPort: p.name };
  }
}

/** v1alpha2 ClusterNetworkPolicyProtocol: one of tcp|udp|sctp with a destinationPort, or destinationNamedPort. */
function v1alpha2Protocol(p: AdminPort): Manifest {
  switch (p.kind) {
    case 'number':
      return { [p.protocol.toLowerCase()]: { destinationPort: { number: p.port } } };
    case 'range':
      return { [p.protocol.toLowerCase()]: { destinationPort: { range: { start: p.start, end: p.end } } } };
    case 'named':
      return { destinationNamedPort: p.name };
  }
}

function ruleManifest(r: AdminRule, peers: 'from' | 'to', version: AdminPolicy['apiVersion']): Manifest {
  const v1alpha2 = version === 'policy.networking.k8s.io/v1alpha2';
  return {
    ...(r.name !== undefined ? { name: r.name } : {}),
    action: r.action,
    [peers]: r.peers.map(peerManifest),
    ...(r.ports !== undefined ? (v1alpha2 ? { protocols: r.ports.map(v1alpha2Protocol) } : { ports: r.ports.map(v1alpha1Port) }) : {}),
  };
}

export function adminPolicyManifest(p: AdminPolicy): Manifest {
  const subject = p.subject.namespaces ? { namespaces: selectorManifest(p.subject.namespaces) } : { pods: namespacedPod(p.subject.pods) };
  const spec: Manifest = {
    ...(p.kind === 'ClusterNetworkPolicy' ? { tier: p.tier } : {}),
    ...(p.priority !== undefined ? { priority: p.priority } : {}),
    subject,
    ...(p.ingress.length > 0 ? { ingress: p.ingress.map((r) => ruleManifest(r, 'from', p.apiVersion)) } : {}),
    ...(p.egress.length > 0 ? { egress: p.egress.map((r) => ruleManifest(r, 'to', p.apiVersion)) } : {}),
  };
  return { apiVersion: p.apiVersion, kind: p.kind, metadata: { name: p.name }, spec };
}
