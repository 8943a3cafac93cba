// One connection, decided directly from the compiled policies, tier by tier for each side (the
// source's egress, the destination's ingress): the Admin tier, NetworkPolicy, the Baseline tier,
// then the default (allowed). Both sides must allow it; replies are never filtered.
import { parseIP, type AdminTier, type Endpoint, type IPAddress } from '../model/index.js';
import { adminPolicySelects, policySelects, type CompiledAdminPolicy, type CompiledAdminRule, type CompiledCluster, type CompiledPolicy } from './compile.js';
import { formatAdminRuleRef } from './describe.js';
import { adminPortMatches, peerMatches, portMatches } from './match.js';
import type { AdminRuleRef, Connection, Direction, DirectionVerdict, RuleRef, Tier, TrafficPeer, Verdict } from './types.js';

interface Side {
  readonly endpoint?: Endpoint;
  readonly ip?: IPAddress;
  readonly ipText?: string;
}

/**
 * The addresses a connection uses: the destination's given or primary IP, and the source's IP of
 * the same family (or its primary IP when the destination has none, as for workload templates).
 */
export function connectionAddresses(source: TrafficPeer, destination: TrafficPeer): { source: Side; destination: Side } {
  const explicit = (p: TrafficPeer): string | undefined => (p.kind === 'external' ? p.ip : p.ip);
  const ipsOf = (p: TrafficPeer): readonly string[] => (p.kind === 'external' ? [p.ip] : p.endpoint.ips);
  const dstText = explicit(destination) ?? ipsOf(destination)[0];
  const dstIP = dstText !== undefined ? parseIP(dstText) : undefined;
  let srcText = explicit(source);
  if (srcText === undefined) {
    const candidates = ipsOf(source);
    srcText = dstIP ? candidates.find((ip) => parseIP(ip)?.family === dstIP.family) : candidates[0];
  }
  const srcIP = srcText !== undefined ? parseIP(srcText) : undefined;
  const endpointOf = (p: TrafficPeer): Endpoint | undefined => (p.kind === 'endpoint' ? p.endpoint : undefined);
  return {
    source: { endpoint: endpointOf(source), ip: srcIP, ipText: srcIP ? srcText : undefined },
    destination: { endpoint: endpointOf(destination), ip: dstIP, ipText: dstIP ? dstText : undefined },
  };
}

/** Policies that select the endpoint and name `direction` in their policyTypes. */
export function isolatingPolicies(compiled: CompiledCluster, endpoint: Endpoint, direction: Direction): CompiledPolicy[] {
  const inNamespace = compiled.policiesByNamespace.get(endpoint.namespace) ?? [];
  return inNamespace.filter((p) => p.isolates[direction] && policySelects(p, endpoint));
}

/** Per compiled cluster, per endpoint: the admin policies selecting it (a compiled cluster never changes, so the answers are kept). */
const selectingCache = new WeakMap<CompiledCluster, WeakMap<Endpoint, Readonly<Record<AdminTier, readonly CompiledAdminPolicy[]>>>>();

/** The admin (or baseline) policies of a tier whose subject selects the endpoint, in evaluation order. */
export function adminPoliciesSelecting(compiled: CompiledCluster, endpoint: Endpoint, tier: AdminTier): CompiledAdminPolicy[] {
  if (compiled.adminPolicies.Admin.length + compiled.adminPolicies.Baseline.length === 0) return [];
  let byEndpoint = selectingCache.get(compiled);
  if (!byEndpoint) selectingCache.set(compiled, (byEndpoint = new WeakMap()));
  let found = byEndpoint.get(endpoint);
  if (!found) {
    const select = (t: AdminTier): readonly CompiledAdminPolicy[] => compiled.adminPolicies[t].filter((p) => adminPolicySelects(compiled, p, endpoint));
    byEndpoint.set(endpoint, (found = { Admin: select('Admin'), Baseline: select('Baseline') }));
  }
  return [...found[tier]];
}

/** Whether the endpoint stands for a single pod (a Pod, or a workload of one replica), so that a connection to itself is a pod to itself. */
export function standsForOnePod(endpoint: Endpoint): boolean {
  return endpoint.kind === 'Pod' || (endpoint.replicas ?? 1) <= 1;
}

/**
 * "A Pod connecting to its own Pod IP is not subject to CNP", while "a Pod connecting to a Service
 * IP that the service proxy load-balances back to the same Pod is subject to ClusterNetworkPolicy"
 * (policy.networking.k8s.io api-overview; Podwall applies it to both API versions). A workload
 * of several replicas reaching itself is taken as one replica reaching another.
 */
export function isHairpin(connection: Connection): boolean {
  const { source, destination } = connection;
  return (
    connection.viaService !== true &&
    source.kind === 'endpoint' &&
    destination.kind === 'endpoint' &&
    source.endpoint.id === destination.endpoint.id &&
    standsForOnePod(source.endpoint)
  );
}

/** What walking one tier's rules decided, and the rules passed over that static analysis cannot fully judge. */
interface TierWalk {
  /** The first matching rule: Accept/Allow or Deny decides, Pass hands over to the next tier. */
  readonly matched?: CompiledAdminRule;
  /** Accept rules with domainNames, passed over because no address matched them statically. */
  readonly domainNames: readonly CompiledAdminRule[];
  /** Rules with networks/nodes peers, passed over because the other side has no address here. */
  readonly addressless: readonly CompiledAdminRule[];
}

/**
 * The policies in order, each policy's rules of `direction` in written order: "the relative
 * precedence of rules within a single object will be determined by the order in which the rule is
 * written". The first rule whose ports and peers match decides.
 */
function walkTier(
  compiled: CompiledCluster,
  policies: readonly CompiledAdminPolicy[],
  direction: Direction,
  other: Side,
  destination: Endpoint | undefined,
  connection: Connection,
): TierWalk {
  const domainNames: CompiledAdminRule[] = [];
  const addressless: CompiledAdminRule[] = [];
  for (const policy of policies) {
    for (const rule of policy.rules[direction]) {
      if (rule.ports !== undefined && !rule.ports.some((p) => adminPortMatches(p, connection.port, connection.protocol, destination))) continue;
      if (rule.peers.some((peer) => peerMatches(compiled, peer, other.endpoint, other.ip))) return { matched: rule, domainNames, addressless };
      if (other.endpoint === undefined && rule.rule.peers.some((p) => p.kind === 'domainNames')) domainNames.push(rule);
      if (other.endpoint !== undefined && other.ip === undefined && rule.peers.some((p) => p.kind === 'ipBlock')) addressless.push(rule);
    }
  }
  return { domainNames, addressless };
}

/** Notes for the rules passed over that could have decided otherwise than `allowed`. */
function walkNotes(walk: TierWalk, direction: Direction, other: Side, allowed: boolean): string[] {
  const notes: string[] = [];
  if (!allowed) {
    for (const rule of walk.domainNames) {
      const names = rule.rule.peers.flatMap((p) => (p.kind === 'domainNames' ? p.domainNames : [])).join(', ');
      notes.push(
        `${formatAdminRuleRef(rule.ref)} names the domain names ${names}, resolved at run time: no address matches them here, so if ${other.ipText ?? 'the destination'} is one of their addresses this side allows it`,
      );
    }
  }
  const who = direction === 'Egress' ? 'destination' : 'source';
  for (const rule of walk.addressless) {
    if (rule.effect === 'pass' || (rule.effect === 'accept') !== allowed) {
      notes.push(`the ${who} has no IP address here, so the networks and nodes peers of ${formatAdminRuleRef(rule.ref)} cannot match it`);
    }
  }
  return notes;
}

function decideSide(compiled: CompiledCluster, direction: Direction, subject: Side, other: Side, connection: Connection, hairpin: boolean): DirectionVerdict {
  const base = { direction, isolatingPolicies: [], allowedBy: [], notes: [], passedBy: [], tier: 'Default' as const };
  if (!subject.endpoint) return { ...base, allowed: true, isolated: false, notSubject: 'external' };
  // "Note that host-networked pods are not included in subject selection", nor selected by NetworkPolicy.
  if (subject.endpoint.hostNetwork) return { ...base, allowed: true, isolated: false, notSubject: 'hostNetwork' };

  const endpoint = subject.endpoint;
  const destination = direction === 'Egress' ? other.endpoint : endpoint;
  const policies = isolatingPolicies(compiled, endpoint, direction);
  const isolation = { isolated: policies.length > 0, isolatingPolicies: policies.map((p) => p.ref) };
  const passedBy: AdminRuleRef[] = [];
  const walks: TierWalk[] = [];
  const notes = (allowed: boolean, more: readonly string[] = []): string[] => [...walks.flatMap((w) => walkNotes(w, direction, other, allowed)), ...more];
  const decided = (tier: Tier, rule: CompiledAdminRule): DirectionVerdict => {
    const allowed = rule.effect === 'accept';
    return { direction, allowed, tier, decidedBy: rule.ref, passedBy, ...isolation, allowedBy: [], notes: notes(allowed) };
  };
  const hairpinNotes: string[] = [];
  // Without admin or baseline policies only NetworkPolicy can decide, as before the tiers.
  const tiers = compiled.adminPolicies.Admin.length + compiled.adminPolicies.Baseline.length > 0;

  if (tiers && !hairpin) {
    // Admin tier: "If Admin tier has made a final decision (Accept or Deny) on a connection, then no further evaluation is done."
    const walk = walkTier(compiled, adminPoliciesSelecting(compiled, endpoint, 'Admin'), direction, other, destination, connection);
    walks.push(walk);
    if (walk.matched && walk.matched.effect !== 'pass') return decided('Admin', walk.matched);
    // Pass: "Skips all further ClusterNetworkPolicy rules in the current tier ... and passes evaluation to the next tier."
    if (walk.matched) passedBy.push(walk.matched.ref);
  } else if (tiers) {
    const selecting = [...adminPoliciesSelecting(compiled, endpoint, 'Admin'), ...adminPoliciesSelecting(compiled, endpoint, 'Baseline')];
    if (selecting.some((p) => p.rules[direction].length > 0)) {
      hairpinNotes.push('a pod connecting to its own pod IP is not subject to admin and baseline policies (they are enforced outside the pod); through a Service address it would be');
    }
  }

  // NetworkPolicy tier: "v1.NetworkPolicy always makes a final decision for selected pods."
  if (policies.length > 0) {
    const allowedBy: RuleRef[] = [];
    let ipBlockUnmatchable = false;
    for (const policy of policies) {
      for (const rule of policy.rules[direction]) {
        const portOk = rule.ports === undefined || rule.ports.some((p) => portMatches(p, connection.port, connection.protocol, destination));
        if (!portOk) continue;
        const peerOk = rule.peers === undefined || rule.peers.some((peer) => peerMatches(compiled, peer, other.endpoint, other.ip));
        if (peerOk) allowedBy.push({ tier: 'NetworkPolicy', policy: rule.policy, direction, index: rule.index });
        else if (other.ip === undefined && rule.peers?.some((peer) => peer.kind === 'ipBlock')) ipBlockUnmatchable = true;
      }
    }
    const allowed = allowedBy.length > 0;
    const more: string[] = [...hairpinNotes];
    if (!allowed && ipBlockUnmatchable) {
      const who = direction === 'Egress' ? 'destination' : 'source';
      more.push(`the ${who} has no IP address here, so ipBlock peers cannot match it`);
    }
    return { direction, allowed, tier: 'NetworkPolicy', passedBy, ...isolation, allowedBy, notes: notes(allowed, more) };
  }

  if (tiers && !hairpin) {
    // Baseline tier: "Further evaluation only happens for Pods not selected by a v1.NetworkPolicy."
    const walk = walkTier(compiled, adminPoliciesSelecting(compiled, endpoint, 'Baseline'), direction, other, destination, connection);
    walks.push(walk);
    if (walk.matched && walk.matched.effect !== 'pass') return decided('Baseline', walk.matched);
    if (walk.matched) passedBy.push(walk.matched.ref);
  }
  // "By default, a pod is non-isolated for ingress/egress; all connections are allowed."
  return { ...base, allowed: true, isolated: false, passedBy, notes: notes(true, hairpinNotes) };
}

export function evaluateConnection(compiled: CompiledCluster, connection: Connection): Verdict {
  const { source, destination } = connectionAddresses(connection.source, connection.destination);
  const hairpin = isHairpin(connection);
  const egress = decideSide(compiled, 'Egress', source, destination, connection, hairpin);
  const ingress = decideSide(compiled, 'Ingress', destination, source, connection, hairpin);
  // The side that denied decides (egress first); when both allow, the destination's ingress, unless
  // it is not subject to policy (an outside address), where the source's egress is what decided.
  const tier = !egress.allowed ? egress.tier : !ingress.allowed || ingress.notSubject === undefined ? ingress.tier : egress.tier;
  return {
    allowed: egress.allowed && ingress.allowed,
    tier,
    egress,
    ingress,
    sourceIP: source.ipText,
    destinationIP: destination.ipText,
  };
}
