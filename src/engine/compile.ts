// Policies are compiled once into an IR (target selector -> rules -> peers, ports) with peers and
// ports deduplicated by content, so that matrices and the data plane share matchers.
import {
  parseCIDR,
  selectorMatches,
  type CIDR,
  type Cluster,
  type Endpoint,
  type LabelSelector,
  type Labels,
  type NetworkPolicy,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
  type Protocol,
} from '../model/index.js';
import type { Direction, PolicyRef } from './types.js';

/**
 * A peer, deduplicated by content. A pod peer without a namespaceSelector is bound to the
 * policy's namespace ("selects particular Pods in the same namespace as the NetworkPolicy").
 */
export type CompiledPeer =
  | {
      readonly id: number;
      readonly key: string;
      readonly kind: 'pods';
      /** Set when the peer has no namespaceSelector. */
      readonly namespace?: string;
      readonly namespaceSelector?: LabelSelector;
      /** Absent: every pod in the selected namespaces. */
      readonly podSelector?: LabelSelector;
    }
  | {
      readonly id: number;
      readonly key: string;
      readonly kind: 'ipBlock';
      readonly cidr: CIDR;
      readonly except: readonly CIDR[];
      readonly text: { readonly cidr: string; readonly except: readonly string[] };
    };

export type CompiledPort =
  | { readonly kind: 'all'; readonly protocol: Protocol }
  | { readonly kind: 'range'; readonly protocol: Protocol; readonly port: number; readonly endPort: number }
  | { readonly kind: 'named'; readonly protocol: Protocol; readonly name: string };

export interface CompiledRule {
  readonly policy: PolicyRef;
  readonly direction: Direction;
  readonly index: number;
  /** undefined: all peers ("If this field is empty or missing, this rule matches all sources"). */
  readonly peers?: readonly CompiledPeer[];
  /** undefined: all ports and protocols. */
  readonly ports?: readonly CompiledPort[];
}

export interface CompiledPolicy {
  readonly ref: PolicyRef;
  readonly policy: NetworkPolicy;
  readonly namespace: string;
  readonly podSelector: LabelSelector;
  readonly isolates: { readonly Ingress: boolean; readonly Egress: boolean };
  /** Only rules of the directions in policyTypes: others never take effect. */
  readonly rules: { readonly Ingress: readonly CompiledRule[]; readonly Egress: readonly CompiledRule[] };
}

export interface CompiledCluster {
  readonly cluster: Cluster;
  readonly namespaceLabels: ReadonlyMap<string, Labels>;
  readonly policies: readonly CompiledPolicy[];
  readonly policiesByNamespace: ReadonlyMap<string, readonly CompiledPolicy[]>;
  /** Every distinct peer, indexed by id. */
  readonly peers: readonly CompiledPeer[];
  readonly endpointsById: ReadonlyMap<string, Endpoint>;
}

function selectorKey(s: LabelSelector | undefined): string {
  if (!s) return '-';
  const labels = Object.keys(s.matchLabels)
    .sort()
    .map((k) => [k, s.matchLabels[k]]);
  const exprs = s.matchExpressions.map((e) => [e.key, e.operator, [...e.values].sort()]).sort();
  return JSON.stringify([labels, exprs]);
}

function compilePort(p: NetworkPolicyPort): CompiledPort {
  if (p.port === undefined) return { kind: 'all', protocol: p.protocol };
  if (typeof p.port === 'string') return { kind: 'named', protocol: p.protocol, name: p.port };
  return { kind: 'range', protocol: p.protocol, port: p.port, endPort: p.endPort ?? p.port };
}

export function compileCluster(cluster: Cluster): CompiledCluster {
  const peerByKey = new Map<string, CompiledPeer>();
  const peers: CompiledPeer[] = [];

  const internPeer = (peer: NetworkPolicyPeer, policyNamespace: string): CompiledPeer => {
    let compiled: CompiledPeer;
    if (peer.ipBlock) {
      const cidr = parseCIDR(peer.ipBlock.cidr).cidr!;
      const except = peer.ipBlock.except.map((e) => parseCIDR(e).cidr!);
      const key = `ip|${peer.ipBlock.cidr}|${[...peer.ipBlock.except].sort().join(',')}`;
      compiled = { id: peers.length, key, kind: 'ipBlock', cidr, except, text: peer.ipBlock };
    } else {
      const namespace = peer.namespaceSelector ? undefined : policyNamespace;
      const key = `pods|${namespace ?? ''}|${selectorKey(peer.namespaceSelector)}|${selectorKey(peer.podSelector)}`;
      compiled = {
        id: peers.length,
        key,
        kind: 'pods',
        namespace,
        namespaceSelector: peer.namespaceSelector,
        podSelector: peer.podSelector,
      };
    }
    const existing = peerByKey.get(compiled.key);
    if (existing) return existing;
    peerByKey.set(compiled.key, compiled);
    peers.push(compiled);
    return compiled;
  };

  const policies = cluster.policies.map((policy): CompiledPolicy => {
    const ref = { namespace: policy.namespace, name: policy.name };
    const isolates = {
      Ingress: policy.spec.policyTypes.includes('Ingress'),
      Egress: policy.spec.policyTypes.includes('Egress'),
    };
    const compileRules = (direction: Direction): CompiledRule[] => {
      if (!isolates[direction]) return [];
      const rules = direction === 'Ingress' ? policy.spec.ingress : policy.spec.egress;
      return rules.map((rule, index) => ({
        policy: ref,
        direction,
        index,
        peers: rule.peers?.map((p) => internPeer(p, policy.namespace)),
        ports: rule.ports?.map(compilePort),
      }));
    };
    return {
      ref,
      policy,
      namespace: policy.namespace,
      podSelector: policy.spec.podSelector,
      isolates,
      rules: { Ingress: compileRules('Ingress'), Egress: compileRules('Egress') },
    };
  });

  const policiesByNamespace = new Map<string, CompiledPolicy[]>();
  for (const p of policies) {
    const list = policiesByNamespace.get(p.namespace) ?? [];
    list.push(p);
    policiesByNamespace.set(p.namespace, list);
  }
  return {
    cluster,
    namespaceLabels: new Map(cluster.namespaces.map((n) => [n.name, n.labels])),
    policies,
    policiesByNamespace,
    peers,
    endpointsById: new Map(cluster.endpoints.map((e) => [e.id, e])),
  };
}

/**
 * "podSelector selects the pods to which this NetworkPolicy object applies", within the policy's
 * namespace; hostNetwork pods are not subject to NetworkPolicy.
 */
export function policySelects(policy: CompiledPolicy, endpoint: Endpoint): boolean {
  return !endpoint.hostNetwork && endpoint.namespace === policy.namespace && selectorMatches(policy.podSelector, endpoint.labels);
}
