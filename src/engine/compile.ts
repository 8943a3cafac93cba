// Policies are compiled once into an IR (target selector -> rules -> peers, ports) with peers and
// ports deduplicated by content, so that matrices and the data plane share matchers.
import {
  formatCIDR,
  parseCIDR,
  selectorMatches,
  type AdminPeer,
  type AdminPolicy,
  type AdminPort,
  type AdminRule,
  type AdminTier,
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
import type { AdminPolicyRef, AdminRuleRef, Direction, PolicyRef } from './types.js';

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

/** An admin rule's port: as a NetworkPolicy's, or a named port that means the destination's container port of that name, whatever its protocol. */
export type CompiledAdminPort = Exclude<CompiledPort, { kind: 'named' }> | { readonly kind: 'namedAnyProtocol'; readonly name: string };

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

/** What an admin or baseline rule does to the traffic it matches; Allow (v1alpha1) and Accept (v1alpha2) are one effect. */
export type AdminEffect = 'accept' | 'deny' | 'pass';

/**
 * One rule of an admin or baseline policy. Its peers are matchers in the shared peer table:
 * `namespaces`/`pods` become pod peers with a namespaceSelector, `networks` one ipBlock peer per
 * CIDR, `nodes` one ipBlock peer per address of each node the selector matches now; `domainNames`
 * match no address here (they are resolved at run time), so a rule of only those matches nothing.
 */
export interface CompiledAdminRule {
  readonly ref: AdminRuleRef;
  readonly rule: AdminRule;
  readonly effect: AdminEffect;
  readonly peers: readonly CompiledPeer[];
  /** undefined: the rule does not filter by port. */
  readonly ports?: readonly CompiledAdminPort[];
}

export interface CompiledAdminPolicy {
  readonly ref: AdminPolicyRef;
  readonly policy: AdminPolicy;
  /** spec.subject as selectors: `namespaces` is every pod (podSelector undefined) of the matching namespaces. */
  readonly subject: { readonly namespaceSelector: LabelSelector; readonly podSelector?: LabelSelector };
  readonly rules: { readonly Ingress: readonly CompiledAdminRule[]; readonly Egress: readonly CompiledAdminRule[] };
}

export interface CompiledCluster {
  readonly cluster: Cluster;
  readonly namespaceLabels: ReadonlyMap<string, Labels>;
  readonly policies: readonly CompiledPolicy[];
  readonly policiesByNamespace: ReadonlyMap<string, readonly CompiledPolicy[]>;
  /**
   * Admin and baseline policies in evaluation order: by priority (lower first), then kind, then
   * name (the API leaves equal priorities undefined; Podwall's order is stable and lint warns);
   * a BaselineAdminNetworkPolicy, which has no priority, after every Baseline ClusterNetworkPolicy.
   */
  readonly adminPolicies: { readonly Admin: readonly CompiledAdminPolicy[]; readonly Baseline: readonly CompiledAdminPolicy[] };
  /** Every distinct peer (of NetworkPolicies and admin policies alike), indexed by id. */
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

function compileAdminPort(p: AdminPort): CompiledAdminPort {
  if (p.kind === 'named') return { kind: 'namedAnyProtocol', name: p.name };
  if (p.kind === 'number') return { kind: 'range', protocol: p.protocol, port: p.port, endPort: p.port };
  return { kind: 'range', protocol: p.protocol, port: p.start, endPort: p.end };
}

const EFFECTS: Readonly<Record<AdminRule['action'], AdminEffect>> = { Allow: 'accept', Accept: 'accept', Deny: 'deny', Pass: 'pass' };

function compilePort(p: NetworkPolicyPort): CompiledPort {
  if (p.port === undefined) return { kind: 'all', protocol: p.protocol };
  if (typeof p.port === 'string') return { kind: 'named', protocol: p.protocol, name: p.port };
  return { kind: 'range', protocol: p.protocol, port: p.port, endPort: p.endPort ?? p.port };
}

export function compileCluster(cluster: Cluster): CompiledCluster {
  const peerByKey = new Map<string, CompiledPeer>();
  const peers: CompiledPeer[] = [];

  const intern = (compiled: CompiledPeer): CompiledPeer => {
    const existing = peerByKey.get(compiled.key);
    if (existing) return existing;
    peerByKey.set(compiled.key, compiled);
    peers.push(compiled);
    return compiled;
  };
  const ipBlockPeer = (cidrText: string, exceptText: readonly string[]): CompiledPeer => {
    const cidr = parseCIDR(cidrText).cidr!;
    const except = exceptText.map((e) => parseCIDR(e).cidr!);
    const key = `ip|${cidrText}|${[...exceptText].sort().join(',')}`;
    return intern({ id: peers.length, key, kind: 'ipBlock', cidr, except, text: { cidr: cidrText, except: exceptText } });
  };
  const podsPeer = (namespace: string | undefined, namespaceSelector: LabelSelector | undefined, podSelector: LabelSelector | undefined): CompiledPeer => {
    const key = `pods|${namespace ?? ''}|${selectorKey(namespaceSelector)}|${selectorKey(podSelector)}`;
    return intern({ id: peers.length, key, kind: 'pods', namespace, namespaceSelector, podSelector });
  };

  const nodes = cluster.nodes ?? [];
  const adminPeers = (peer: AdminPeer): CompiledPeer[] => {
    switch (peer.kind) {
      case 'namespaces':
        return [podsPeer(undefined, peer.namespaces, undefined)];
      case 'pods':
        return [podsPeer(undefined, peer.pods.namespaceSelector, peer.pods.podSelector)];
      case 'networks':
        return peer.networks.map((cidr) => ipBlockPeer(cidr, []));
      case 'nodes':
        return nodes
          .filter((n) => selectorMatches(peer.nodes, n.labels))
          .flatMap((n) => n.addresses.map((a) => parseCIDR(a.includes(':') ? `${a}/128` : `${a}/32`)))
          .filter((c) => c.cidr !== undefined)
          .map((c) => ipBlockPeer(formatHostCIDR(c.cidr!), []));
      case 'domainNames':
        return [];
    }
  };

  const compileAdmin = (policy: AdminPolicy): CompiledAdminPolicy => {
    const ref: AdminPolicyRef = { kind: policy.kind, name: policy.name, tier: policy.tier, priority: policy.priority };
    const subject = policy.subject.namespaces
      ? { namespaceSelector: policy.subject.namespaces }
      : { namespaceSelector: policy.subject.pods!.namespaceSelector, podSelector: policy.subject.pods!.podSelector };
    const compileRules = (direction: Direction): CompiledAdminRule[] =>
      (direction === 'Ingress' ? policy.ingress : policy.egress).map((rule, index) => ({
        ref: { policy: ref, direction, index, name: rule.name, action: rule.action },
        rule,
        effect: EFFECTS[rule.action],
        peers: rule.peers.flatMap(adminPeers),
        ports: rule.ports?.map(compileAdminPort),
      }));
    return { ref, policy, subject, rules: { Ingress: compileRules('Ingress'), Egress: compileRules('Egress') } };
  };
  const tierOrder = (a: CompiledAdminPolicy, b: CompiledAdminPolicy): number =>
    (a.ref.priority ?? Number.MAX_SAFE_INTEGER) - (b.ref.priority ?? Number.MAX_SAFE_INTEGER) ||
    (a.ref.kind < b.ref.kind ? -1 : a.ref.kind > b.ref.kind ? 1 : 0) ||
    (a.ref.name < b.ref.name ? -1 : a.ref.name > b.ref.name ? 1 : 0);
  const compiledAdmin = (cluster.adminPolicies ?? []).map(compileAdmin);
  const inTier = (tier: AdminTier): CompiledAdminPolicy[] => compiledAdmin.filter((p) => p.ref.tier === tier).sort(tierOrder);

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
    adminPolicies: { Admin: inTier('Admin'), Baseline: inTier('Baseline') },
    peers,
    endpointsById: new Map(cluster.endpoints.map((e) => [e.id, e])),
  };
}

/** A host address as a CIDR text, from the parsed value. */
function formatHostCIDR(c: CIDR): string {
  return formatCIDR(c);
}

/**
 * "podSelector selects the pods to which this NetworkPolicy object applies", within the policy's
 * namespace; hostNetwork pods are not subject to NetworkPolicy.
 */
export function policySelects(policy: CompiledPolicy, endpoint: Endpoint): boolean {
  return !endpoint.hostNetwork && endpoint.namespace === policy.namespace && selectorMatches(policy.podSelector, endpoint.labels);
}

/**
 * Whether an admin or baseline policy's subject selects the endpoint: pods of the namespaces its
 * namespace selector matches (and, for `pods`, its pod selector); "host-networked pods are not
 * included in subject selection".
 */
export function adminPolicySelects(compiled: CompiledCluster, policy: CompiledAdminPolicy, endpoint: Endpoint): boolean {
  if (endpoint.hostNetwork) return false;
  if (!selectorMatches(policy.subject.namespaceSelector, compiled.namespaceLabels.get(endpoint.namespace) ?? {})) return false;
  return policy.subject.podSelector === undefined || selectorMatches(policy.subject.podSelector, endpoint.labels);
}
