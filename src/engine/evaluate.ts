// One connection, decided directly from the compiled policies: the source's egress and the
// destination's ingress must both allow it ("both the egress policy on the source pod and the
// ingress policy on the destination pod need to allow the connection"). Replies are never filtered.
import { parseIP, type Endpoint, type IPAddress } from '../model/index.js';
import { policySelects, type CompiledCluster, type CompiledPolicy } from './compile.js';
import { peerMatches, portMatches } from './match.js';
import type { Connection, Direction, DirectionVerdict, RuleRef, TrafficPeer, Verdict } from './types.js';

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

function decideSide(
  compiled: CompiledCluster,
  direction: Direction,
  subject: Side,
  other: Side,
  connection: Connection,
): DirectionVerdict {
  const base = { direction, isolatingPolicies: [], allowedBy: [], notes: [], passedBy: [], tier: 'Default' as const };
  if (!subject.endpoint) return { ...base, allowed: true, isolated: false, notSubject: 'external' };
  if (subject.endpoint.hostNetwork) return { ...base, allowed: true, isolated: false, notSubject: 'hostNetwork' };

  const policies = isolatingPolicies(compiled, subject.endpoint, direction);
  // "By default, a pod is non-isolated for ingress/egress; all connections are allowed."
  if (policies.length === 0) return { ...base, allowed: true, isolated: false };

  const destination = direction === 'Egress' ? other.endpoint : subject.endpoint;
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
  const notes: string[] = [];
  if (allowedBy.length === 0 && ipBlockUnmatchable) {
    const who = direction === 'Egress' ? 'destination' : 'source';
    notes.push(`the ${who} has no IP address here, so ipBlock peers cannot match it`);
  }
  return {
    direction,
    allowed: allowedBy.length > 0,
    tier: 'NetworkPolicy',
    passedBy: [],
    isolated: true,
    isolatingPolicies: policies.map((p) => p.ref),
    allowedBy,
    notes,
  };
}

export function evaluateConnection(compiled: CompiledCluster, connection: Connection): Verdict {
  const { source, destination } = connectionAddresses(connection.source, connection.destination);
  const egress = decideSide(compiled, 'Egress', source, destination, connection);
  const ingress = decideSide(compiled, 'Ingress', destination, source, connection);
  return {
    allowed: egress.allowed && ingress.allowed,
    tier: 'NetworkPolicy',
    egress,
    ingress,
    sourceIP: source.ipText,
    destinationIP: destination.ipText,
  };
}
