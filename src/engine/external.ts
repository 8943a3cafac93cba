// Traffic between an endpoint and addresses outside the cluster, per rule: which of the
// endpoint's declared ports an outside source may connect to, and which rules let the endpoint
// connect out. Outside addresses are matched only by rules with no peers ("matches all
// sources/destinations") or with ipBlock peers; pod and namespace selectors never match them.
// Where admin or baseline rules can match outside addresses, sides are judged tier by tier per
// address range and port segment (outsideCells), on the address sets shared with diff.
import { formatCIDR, formatIP, type CIDR, type Endpoint, type IPFamily, type Protocol } from '../model/index.js';
import type { CompiledCluster, CompiledPeer, CompiledRule } from './compile.js';
import { describePeer, describePort } from './describe.js';
import { adminPoliciesSelecting, evaluateConnection, isolatingPolicies } from './evaluate.js';
import { portMatches } from './match.js';
import type { PortProtocol } from './matrix.js';
import type { Direction, DirectionVerdict, RuleRef, TrafficPeer } from './types.js';

export interface ExternalAccess {
  readonly direction: Direction;
  /** Not isolated in this direction (or a hostNetwork pod): outside traffic is not restricted. */
  readonly open: boolean;
  /** Ingress: the declared ports an outside source may reach, each with the rules admitting it. */
  readonly ports: readonly (PortProtocol & { readonly allowedBy: readonly RuleRef[]; readonly peers: readonly string[]; readonly fromAnywhere: boolean })[];
  /** The rules that admit outside addresses, with who and which ports in words. */
  readonly rules: readonly { readonly rule: RuleRef; readonly peers: string; readonly ports: string }[];
}

function admitsOutside(rule: CompiledRule): boolean {
  return rule.peers === undefined || rule.peers.some((p) => p.kind === 'ipBlock');
}

function outsidePeers(rule: CompiledRule): string[] {
  if (rule.peers === undefined) return ['anywhere'];
  return rule.peers.filter((p) => p.kind === 'ipBlock').map(describePeer);
}

export function externalAccess(compiled: CompiledCluster, endpoint: Endpoint, direction: Direction): ExternalAccess {
  const policies = endpoint.hostNetwork ? [] : isolatingPolicies(compiled, endpoint, direction);
  const declared = new Map<string, PortProtocol>();
  for (const p of endpoint.ports) declared.set(`${p.containerPort}/${p.protocol}`, { port: p.containerPort, protocol: p.protocol });
  if (policies.length === 0) {
    const ports = direction === 'Ingress' ? [...declared.values()].map((p) => ({ ...p, allowedBy: [], peers: ['anywhere'], fromAnywhere: true })) : [];
    return { direction, open: true, ports, rules: [] };
  }
  const rules = policies.flatMap((p) => p.rules[direction]).filter(admitsOutside);
  const ref = (r: CompiledRule): RuleRef => ({ tier: 'NetworkPolicy', policy: r.policy, direction, index: r.index });
  const ports =
    direction === 'Ingress'
      ? [...declared.values()].flatMap((target) => {
          // A named port resolves against the destination: this endpoint.
          const admitting = rules.filter((r) => r.ports === undefined || r.ports.some((p) => portMatches(p, target.port, target.protocol, endpoint)));
          if (admitting.length === 0) return [];
          return [{ ...target, allowedBy: admitting.map(ref), peers: [...new Set(admitting.flatMap(outsidePeers))], fromAnywhere: admitting.some((r) => r.peers === undefined) }];
        })
      : [];
  return {
    direction,
    open: false,
    ports,
    rules: rules.map((r) => ({
      rule: ref(r),
      peers: outsidePeers(r).join('; or '),
      ports: r.ports === undefined ? 'all ports' : r.ports.map(describePort).join(', '),
    })),
  };
}

/** Whether any outside address may connect to the endpoint on some port (lint's and the UI's "open to outside"). */
export function openToOutside(compiled: CompiledCluster, endpoint: Endpoint): boolean {
  if (tiersMatchOutside(compiled, 'Ingress')) return outsideCells(compiled, endpoint, 'Ingress').some((c) => c.verdict.allowed);
  const access = externalAccess(compiled, endpoint, 'Ingress');
  return access.open || access.ports.length > 0 || access.rules.length > 0;
}

/**
 * Whether every, some or no outside address may connect to `endpoint` on one port, judged as if
 * it listened there (a port it does not declare is added, unnamed, so named ports resolve as they do).
 */
export function outsideAdmission(compiled: CompiledCluster, endpoint: Endpoint, target: PortProtocol): 'all' | 'some' | 'none' {
  const declares = endpoint.ports.some((p) => p.containerPort === target.port && p.protocol === target.protocol);
  const listening = declares ? endpoint : { ...endpoint, ports: [...endpoint.ports, { containerPort: target.port, protocol: target.protocol }] };
  if (tiersMatchOutside(compiled, 'Ingress')) return cellsAdmission(outsideCells(compiled, listening, 'Ingress', target));
  const access = externalAccess(compiled, listening, 'Ingress');
  if (access.open) return 'all';
  const port = access.ports.find((p) => p.port === target.port && p.protocol === target.protocol);
  if (!port) return 'none';
  return port.fromAnywhere ? 'all' : 'some';
}

// ---------------------------------------------------------------------------------------------
// Sets of addresses outside the cluster: per family, sorted disjoint inclusive ranges. With admin
// and baseline policies, outside traffic is judged tier by tier, so it is evaluated per address
// atom (no CIDR of any rule that could apply splits it) and per port segment, exactly.

export type AddressRange = readonly [bigint, bigint];
export interface AddressSet {
  readonly 4: readonly AddressRange[];
  readonly 6: readonly AddressRange[];
}
const FAMILIES: readonly IPFamily[] = [4, 6];
const BITS = { 4: 32, 6: 128 } as const;
const TOP_ADDRESS = { 4: (1n << 32n) - 1n, 6: (1n << 128n) - 1n } as const;
export const NO_ADDRESSES: AddressSet = { 4: [], 6: [] };
export const ALL_ADDRESSES: AddressSet = { 4: [[0n, TOP_ADDRESS[4]]], 6: [[0n, TOP_ADDRESS[6]]] };

export function cidrRange(c: CIDR): AddressRange {
  return [c.network, c.network + (1n << BigInt(BITS[c.family] - c.prefix)) - 1n];
}

export function normalizeRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1n) {
      if (hi > last[1]) last[1] = hi;
    } else out.push([lo, hi]);
  }
  return out;
}

export function subtractRanges(a: readonly AddressRange[], b: readonly AddressRange[]): AddressRange[] {
  const out: AddressRange[] = [];
  for (const [lo0, hi] of a) {
    let lo = lo0;
    for (const [blo, bhi] of b) {
      if (bhi < lo || blo > hi) continue;
      if (blo > lo) out.push([lo, blo - 1n]);
      lo = bhi + 1n;
      if (lo > hi) break;
    }
    if (lo <= hi) out.push([lo, hi]);
  }
  return out;
}

export const unionAddresses = (a: AddressSet, b: AddressSet): AddressSet => ({ 4: normalizeRanges([...a[4], ...b[4]]), 6: normalizeRanges([...a[6], ...b[6]]) });
export const subtractAddresses = (a: AddressSet, b: AddressSet): AddressSet => ({ 4: subtractRanges(a[4], b[4]), 6: subtractRanges(a[6], b[6]) });
export const isEmptyAddresses = (s: AddressSet): boolean => s[4].length === 0 && s[6].length === 0;
export const addressesIntersect = (a: AddressSet, b: AddressSet): boolean =>
  FAMILIES.some((f) => a[f].some(([lo, hi]) => b[f].some(([blo, bhi]) => blo <= hi && bhi >= lo)));

/** The fewest CIDRs covering exactly [lo, hi]. */
function rangeCIDRs(family: IPFamily, [lo0, hi]: AddressRange): CIDR[] {
  const out: CIDR[] = [];
  let lo = lo0;
  while (lo <= hi) {
    let size = 0;
    while (size < BITS[family] && (lo & ((1n << BigInt(size + 1)) - 1n)) === 0n && lo + (1n << BigInt(size + 1)) - 1n <= hi) size++;
    out.push({ family, network: lo, prefix: BITS[family] - size });
    lo += 1n << BigInt(size);
  }
  return out;
}

export const addressCIDRs = (family: IPFamily, ranges: readonly AddressRange[]): string[] => ranges.flatMap((r) => rangeCIDRs(family, r)).map(formatCIDR);

/** `anywhere`, `0.0.0.0/0 except 10.0.0.0/8`, or the CIDRs: whichever is shorter. */
export function describeAddresses(s: AddressSet): string {
  if (s[4].length === 1 && s[6].length === 1 && s[4][0][1] - s[4][0][0] === TOP_ADDRESS[4] && s[6][0][1] - s[6][0][0] === TOP_ADDRESS[6]) return 'anywhere';
  const parts: string[] = [];
  for (const f of FAMILIES) {
    if (s[f].length === 0) continue;
    const listed = addressCIDRs(f, s[f]);
    const missing = addressCIDRs(f, subtractRanges([[0n, TOP_ADDRESS[f]]], s[f]));
    const all = f === 4 ? '0.0.0.0/0' : '::/0';
    parts.push(missing.length === 0 ? all : missing.length + 1 < listed.length ? `${all} except ${missing.join(', ')}` : listed.join(', '));
  }
  return parts.join('; ');
}

/**
 * Whether some admin or baseline rule of this direction can match an outside address (a `networks`
 * or `nodes` peer; both are egress-only in the API). Where none can, outside traffic is decided by
 * NetworkPolicy alone or allowed by no tier, exactly as without the tiers, and the cheaper per-rule
 * answers hold.
 */
export function tiersMatchOutside(compiled: CompiledCluster, direction: Direction): boolean {
  return [...compiled.adminPolicies.Admin, ...compiled.adminPolicies.Baseline].some((p) => p.rules[direction].some((r) => r.peers.some((peer) => peer.kind === 'ipBlock')));
}

/** Outside addresses on a port segment that one verdict applies to alike. */
export interface OutsideCell {
  readonly protocol: Protocol;
  readonly lo: number;
  readonly hi: number;
  readonly addresses: AddressSet;
  readonly verdict: DirectionVerdict;
}

const MAX_PORT = 65535;
const ALL_PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/**
 * The endpoint's side towards every outside address, tier by tier: the address space is cut at every
 * CIDR of a rule that could apply (its NetworkPolicies' ipBlocks, its admin and baseline rules'
 * networks and nodes), the ports at every bound of those rules (and, for ingress, at each declared
 * port, where named ports resolve); each piece is judged once with evaluateConnection. `only`
 * restricts to one port.
 */
export function outsideCells(compiled: CompiledCluster, endpoint: Endpoint, direction: Direction, only?: PortProtocol): OutsideCell[] {
  const ipPeers: Extract<CompiledPeer, { kind: 'ipBlock' }>[] = [];
  const cuts = new Map<Protocol, Set<number>>(ALL_PROTOCOLS.map((p) => [p, new Set([1, MAX_PORT + 1])]));
  const cutAt = (protocol: Protocol, lo: number, hi: number): void => void cuts.get(protocol)!.add(lo).add(hi + 1);
  const np = endpoint.hostNetwork ? [] : isolatingPolicies(compiled, endpoint, direction);
  for (const rule of np.flatMap((p) => p.rules[direction])) {
    for (const peer of rule.peers ?? []) if (peer.kind === 'ipBlock') ipPeers.push(peer);
    for (const port of rule.ports ?? []) if (port.kind === 'range') cutAt(port.protocol, port.port, port.endPort);
  }
  const admin = [...adminPoliciesSelecting(compiled, endpoint, 'Admin'), ...adminPoliciesSelecting(compiled, endpoint, 'Baseline')];
  for (const rule of admin.flatMap((p) => p.rules[direction])) {
    for (const peer of rule.peers) if (peer.kind === 'ipBlock') ipPeers.push(peer);
    for (const port of rule.ports ?? []) if (port.kind === 'range') cutAt(port.protocol, port.port, port.endPort);
  }
  if (direction === 'Ingress') for (const p of endpoint.ports) cutAt(p.protocol, p.containerPort, p.containerPort);

  const atoms: { family: IPFamily; range: AddressRange }[] = [];
  for (const family of FAMILIES) {
    const bounds = new Set<bigint>([0n, TOP_ADDRESS[family] + 1n]);
    for (const peer of ipPeers) {
      for (const c of [peer.cidr, ...peer.except]) {
        if (c.family !== family) continue;
        const [lo, hi] = cidrRange(c);
        bounds.add(lo).add(hi + 1n);
      }
    }
    const sorted = [...bounds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (let k = 0; k + 1 < sorted.length; k++) atoms.push({ family, range: [sorted[k], sorted[k + 1] - 1n] });
  }

  const cells: OutsideCell[] = [];
  for (const protocol of ALL_PROTOCOLS) {
    if (only && only.protocol !== protocol) continue;
    const bounds = [...cuts.get(protocol)!].sort((a, b) => a - b);
    for (let k = 0; k + 1 < bounds.length; k++) {
      let lo = bounds[k];
      let hi = bounds[k + 1] - 1;
      if (only) {
        if (only.port < lo || only.port > hi) continue;
        lo = hi = only.port;
      }
      for (const atom of atoms) {
        const ip = formatIP({ family: atom.family, value: atom.range[0] });
        const outside: TrafficPeer = { kind: 'external', ip };
        const self: TrafficPeer = { kind: 'endpoint', endpoint };
        const connection = direction === 'Ingress' ? { source: outside, destination: self, port: lo, protocol } : { source: self, destination: outside, port: lo, protocol };
        const verdict = evaluateConnection(compiled, connection);
        const addresses: AddressSet = { ...NO_ADDRESSES, [atom.family]: [atom.range] };
        cells.push({ protocol, lo, hi, addresses, verdict: direction === 'Ingress' ? verdict.ingress : verdict.egress });
      }
    }
  }
  return cells;
}

/** Every, some or none of the cells allowed. */
export function cellsAdmission(cells: readonly OutsideCell[]): 'all' | 'some' | 'none' {
  const allowed = cells.filter((c) => c.verdict.allowed).length;
  return allowed === 0 ? 'none' : allowed === cells.length ? 'all' : 'some';
}
