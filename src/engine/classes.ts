// Equivalence classes of endpoints: two endpoints that are selected by the same policies, matched
// by the same peers (at the same addresses) and resolve named ports alike are indistinguishable to
// every rule, so matrices are computed per class and cost grows with classes, not pods squared.
// Admin and baseline policies count too: the policies whose subject selects an endpoint, per tier,
// and their peers (pods peers and networks/nodes addresses, in the shared peer table).
import { parseIP, selectorMatches, type Endpoint, type IPAddress, type IPFamily } from '../model/index.js';
import type { CompiledAdminPolicy, CompiledCluster, CompiledPeer, CompiledPolicy } from './compile.js';
import { isolatingPolicies } from './evaluate.js';
import { ipBlockContains } from './match.js';

export interface EndpointClass {
  readonly id: number;
  /** Any member: every member answers every question the same way. */
  readonly representative: Endpoint;
  readonly members: readonly number[];
  readonly ingressPolicies: readonly CompiledPolicy[];
  readonly egressPolicies: readonly CompiledPolicy[];
  /** The admin and baseline policies whose subject selects the class, per tier, in evaluation order. */
  readonly adminPolicies: { readonly Admin: readonly CompiledAdminPolicy[]; readonly Baseline: readonly CompiledAdminPolicy[] };
  /** The class's container ports that some rule names (name/protocol/number): named ports resolve alike for every member. */
  readonly namedPortKey: string;
  /** Ids of pod peers that match the class. */
  readonly podPeers: ReadonlySet<number>;
  /** Ids of ipBlock peers matching the class's IPv4 address, and its IPv6 address. */
  readonly ipPeers: { readonly 4: ReadonlySet<number>; readonly 6: ReadonlySet<number> };
  readonly primaryFamily?: IPFamily;
}

export interface EndpointClasses {
  readonly classes: readonly EndpointClass[];
  /** classOf[i] is the class of cluster.endpoints[i]. */
  readonly classOf: Int32Array;
}

const EMPTY: ReadonlySet<number> = new Set();

function sortedIds(ids: Iterable<number>): string {
  return [...ids].sort((a, b) => a - b).join(',');
}

export function computeClasses(compiled: CompiledCluster): EndpointClasses {
  const endpoints = compiled.cluster.endpoints;
  const podPeers = compiled.peers.filter((p): p is Extract<CompiledPeer, { kind: 'pods' }> => p.kind === 'pods');
  const ipPeers = compiled.peers.filter((p): p is Extract<CompiledPeer, { kind: 'ipBlock' }> => p.kind === 'ipBlock');
  const namedPorts = new Set<string>();
  for (const policy of compiled.policies) {
    for (const rule of [...policy.rules.Ingress, ...policy.rules.Egress]) {
      for (const port of rule.ports ?? []) if (port.kind === 'named') namedPorts.add(port.name);
    }
  }
  const admin = compiled.adminPolicies;
  for (const policy of [...admin.Admin, ...admin.Baseline]) {
    for (const rule of [...policy.rules.Ingress, ...policy.rules.Egress]) {
      for (const port of rule.ports ?? []) if (port.kind === 'namedAnyProtocol') namedPorts.add(port.name);
    }
  }
  const adminIndex = new Map<CompiledAdminPolicy, number>([...admin.Admin, ...admin.Baseline].map((p, i) => [p, i]));
  const NO_ADMIN = { Admin: [], Baseline: [] };
  // Admin and baseline policies whose namespace selector matches a namespace, found once per namespace.
  const adminByNamespace = new Map<string, { Admin: CompiledAdminPolicy[]; Baseline: CompiledAdminPolicy[] }>();
  const adminOf = (e: Endpoint): { Admin: readonly CompiledAdminPolicy[]; Baseline: readonly CompiledAdminPolicy[] } => {
    if (e.hostNetwork || adminIndex.size === 0) return NO_ADMIN;
    let inNs = adminByNamespace.get(e.namespace);
    if (!inNs) {
      const nsLabels = compiled.namespaceLabels.get(e.namespace) ?? {};
      const matching = (ps: readonly CompiledAdminPolicy[]): CompiledAdminPolicy[] => ps.filter((p) => selectorMatches(p.subject.namespaceSelector, nsLabels));
      inNs = { Admin: matching(admin.Admin), Baseline: matching(admin.Baseline) };
      adminByNamespace.set(e.namespace, inNs);
    }
    const selecting = (ps: readonly CompiledAdminPolicy[]): CompiledAdminPolicy[] =>
      ps.filter((p) => p.subject.podSelector === undefined || selectorMatches(p.subject.podSelector, e.labels));
    return { Admin: selecting(inNs.Admin), Baseline: selecting(inNs.Baseline) };
  };

  // Only the named ports some policy refers to can tell endpoints apart.
  const namedPortKey = (e: Endpoint): string =>
    e.ports
      .filter((p) => p.name !== undefined && namedPorts.has(p.name))
      .map((p) => `${p.name}/${p.protocol}/${p.containerPort}`)
      .sort()
      .join(',');

  // Pod peers that can match anything in a namespace, found once per namespace.
  const peersByNamespace = new Map<string, typeof podPeers>();
  const applicablePeers = (ns: string): typeof podPeers => {
    let list = peersByNamespace.get(ns);
    if (!list) {
      const nsLabels = compiled.namespaceLabels.get(ns) ?? {};
      list = podPeers.filter((p) => (p.namespace !== undefined ? p.namespace === ns : selectorMatches(p.namespaceSelector!, nsLabels)));
      peersByNamespace.set(ns, list);
    }
    return list;
  };

  const ipSets = (e: Endpoint): { 4: Set<number>; 6: Set<number>; primary?: IPFamily } => {
    const out: { 4: Set<number>; 6: Set<number>; primary?: IPFamily } = { 4: new Set(), 6: new Set() };
    const seen = new Set<IPFamily>();
    for (const text of e.ips) {
      const ip: IPAddress | undefined = parseIP(text);
      if (!ip || seen.has(ip.family)) continue;
      seen.add(ip.family);
      out.primary ??= ip.family;
      for (const peer of ipPeers) if (ipBlockContains(peer, ip)) out[ip.family].add(peer.id);
    }
    return out;
  };

  // First level: endpoints with the same raw facts share one computation.
  const rawGroups = new Map<string, { first: Endpoint; ips: ReturnType<typeof ipSets>; members: number[] }>();
  endpoints.forEach((e, i) => {
    const ips = ipSets(e);
    const labels = Object.keys(e.labels)
      .sort()
      .map((k) => `${k}=${e.labels[k]}`)
      .join('\u0000');
    const key = [e.namespace, labels, namedPortKey(e), e.hostNetwork, ips.primary, sortedIds(ips[4]), sortedIds(ips[6])].join('\u0001');
    const group = rawGroups.get(key);
    if (group) group.members.push(i);
    else rawGroups.set(key, { first: e, ips, members: [i] });
  });

  // Second level: merge groups whose behaviour is identical.
  const classes: (EndpointClass & { members: number[] })[] = [];
  const bySignature = new Map<string, number>();
  const classOf = new Int32Array(endpoints.length);
  for (const { first, ips, members } of rawGroups.values()) {
    const ingressPolicies = first.hostNetwork ? [] : isolatingPolicies(compiled, first, 'Ingress');
    const egressPolicies = first.hostNetwork ? [] : isolatingPolicies(compiled, first, 'Egress');
    const matched = new Set<number>();
    if (!first.hostNetwork) {
      for (const peer of applicablePeers(first.namespace)) {
        if (peer.podSelector === undefined || selectorMatches(peer.podSelector, first.labels)) matched.add(peer.id);
      }
    }
    const adminPolicies = adminOf(first);
    const policyIds = (ps: readonly CompiledPolicy[]): string => ps.map((p) => `${p.namespace}/${p.ref.name}`).join(',');
    const adminIds = (ps: readonly CompiledAdminPolicy[]): string => ps.map((p) => adminIndex.get(p)).join(',');
    const portKey = namedPortKey(first);
    const signature = [
      policyIds(ingressPolicies),
      policyIds(egressPolicies),
      adminIds(adminPolicies.Admin),
      adminIds(adminPolicies.Baseline),
      sortedIds(matched),
      ips.primary,
      sortedIds(ips[4]),
      sortedIds(ips[6]),
      portKey,
    ].join('|');
    const existing = bySignature.get(signature);
    if (existing !== undefined) {
      classes[existing].members.push(...members);
      continue;
    }
    bySignature.set(signature, classes.length);
    classes.push({
      id: classes.length,
      representative: first,
      members: [...members],
      ingressPolicies,
      egressPolicies,
      adminPolicies,
      namedPortKey: portKey,
      podPeers: matched.size > 0 ? matched : EMPTY,
      ipPeers: { 4: ips[4], 6: ips[6] },
      primaryFamily: ips.primary,
    });
  }
  for (const cls of classes) {
    cls.members.sort((a, b) => a - b);
    for (const m of cls.members) classOf[m] = cls.id;
  }
  return { classes, classOf };
}
