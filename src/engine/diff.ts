// The flows a change opens and closes between two versions of a cluster. Endpoints present in both
// are compared class pair by class pair (their old class x new class), so the cost grows with
// classes, not pods squared; endpoints only one version has are reported as added or removed, not
// as flows. Each change carries the rules responsible for the verdict before and after.
import { compareStrings, type Endpoint, type Protocol } from '../model/index.js';
import { computeClasses } from './classes.js';
import type { CompiledCluster, CompiledPolicy, CompiledRule } from './compile.js';
import { formatAdminRuleRef, formatPolicyRef, formatRuleRef, hasAdminPolicies } from './describe.js';
import { evaluateConnection, isolatingPolicies } from './evaluate.js';
import {
  addressCIDRs,
  addressesIntersect,
  cidrRange,
  describeAddresses,
  isEmptyAddresses,
  normalizeRanges,
  subtractAddresses,
  unionAddresses,
  outsideCells,
  tiersMatchOutside,
  ALL_ADDRESSES,
  NO_ADDRESSES,
  type AddressSet,
  type OutsideCell,
} from './external.js';
import { portMatches } from './match.js';
import { computeMatrix, declaredPorts, type Matrix, type PortProtocol } from './matrix.js';
import type { Direction, DirectionVerdict, NotSubjectReason, RuleRef, Tier } from './types.js';

export type FlowChange = 'opened' | 'closed';

/** One side of a connection in one version: the source's egress or the destination's ingress. */
export interface SideReason {
  readonly direction: Direction;
  readonly allowed: boolean;
  readonly isolated: boolean;
  /** Not subject to NetworkPolicy at all: an address outside the cluster, a hostNetwork pod. */
  readonly notSubject?: NotSubjectReason;
  /** `ns/name` of the policies isolating this side (where denied: the reason). */
  readonly isolatingPolicies: readonly string[];
  /** `ns/name ingress[i]` of the rules allowing it (where allowed). */
  readonly allowedBy: readonly string[];
  /** With admin or baseline policies in this version only: the tier whose decision stands. */
  readonly tier?: Tier;
  /** The admin or baseline rule that decided (formatAdminRuleRef), when `tier` is Admin or Baseline. */
  readonly decidedBy?: string;
  /** The Pass rules on the way, in order. */
  readonly passedBy?: readonly string[];
}

/** A flow's verdict in one version. */
export interface VersionVerdict {
  /** The flow exists: allowed by both sides, and the destination declares the port. */
  readonly allowed: boolean;
  /** False when the destination declares no such port in this version: nothing listens there. */
  readonly declared: boolean;
  readonly egress: SideReason;
  readonly ingress: SideReason;
}

/** Endpoints of the cluster (one owner's, in one class), or addresses outside the cluster. */
export type FlowPeer =
  | {
      readonly kind: 'endpoints';
      /** The workload the endpoints belong to where known (`ns/deployment/web`), else the endpoint itself. */
      readonly group: string;
      readonly endpoints: readonly string[];
    }
  | {
      readonly kind: 'outside';
      /** Exactly the addresses whose access changed, as CIDRs (IPv4 first). */
      readonly addresses: readonly string[];
      /** The same in words: `anywhere`, `0.0.0.0/0 except 10.0.0.0/8`, ... */
      readonly text: string;
    };

/**
 * Connections that one version allows and the other does not, alike in every respect: every
 * `from` x `to` pair (an endpoint to itself excluded) on the port, or on every port of
 * `port`-`endPort` towards addresses outside the cluster.
 */
export interface FlowGroup {
  readonly change: FlowChange;
  readonly from: FlowPeer;
  readonly to: FlowPeer;
  readonly protocol: Protocol;
  readonly port: number;
  /** Set for a range of ports (egress to outside addresses only). */
  readonly endPort?: number;
  /** The name the destination gives the port (a named port), when it gives one. */
  readonly portName?: string;
  /** How many connections (endpoint pairs; for outside peers, endpoints) the group stands for. */
  readonly flows: number;
  readonly before: VersionVerdict;
  readonly after: VersionVerdict;
}

/** Endpoints only one version has, by owner and isolation. */
export interface EndpointGroup {
  readonly group: string;
  readonly endpoints: readonly string[];
  readonly ingressIsolatedBy: readonly string[];
  readonly egressIsolatedBy: readonly string[];
}

export interface FlowDiff {
  /** Every port some endpoint declares in either version: the ports compared. */
  readonly ports: readonly PortProtocol[];
  readonly opened: readonly FlowGroup[];
  readonly closed: readonly FlowGroup[];
  readonly added: readonly EndpointGroup[];
  readonly removed: readonly EndpointGroup[];
  /** Policies by `ns/name`, for the reader: renaming or reordering alone changes no flow. */
  readonly policies: { readonly added: readonly string[]; readonly removed: readonly string[]; readonly changed: readonly string[] };
  /** Something opened, closed, appeared or disappeared. */
  readonly changed: boolean;
}

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
const MAX_PORT = 65535;
const union = unionAddresses;
const subtract = subtractAddresses;
const isEmpty = isEmptyAddresses;
const intersects = addressesIntersect;
const normalize = normalizeRanges;
const cidrsOf = addressCIDRs;

/** The outside addresses a rule's peers match: all for a rule without peers, its ipBlocks otherwise. */
function ruleAddresses(rule: CompiledRule): AddressSet {
  if (rule.peers === undefined) return ALL_ADDRESSES;
  let set = NO_ADDRESSES;
  for (const peer of rule.peers) {
    if (peer.kind !== 'ipBlock') continue;
    const block: AddressSet = { ...NO_ADDRESSES, [peer.cidr.family]: [cidrRange(peer.cidr)] };
    const except: AddressSet = { ...NO_ADDRESSES, [peer.cidr.family]: normalize(peer.except.map(cidrRange)) };
    set = union(set, subtract(block, except));
  }
  return set;
}

// ---------------------------------------------------------------------------------------------
// Owners: the workload a pod belongs to, from the labels its controller gives it.

/**
 * `ns/kind/name` of the workload an endpoint stands for or belongs to: a workload endpoint is
 * itself; a Pod is traced through the labels its controller sets (pod-template-hash for a
 * Deployment's ReplicaSet, the StatefulSet pod name, a DaemonSet's template generation, the Job
 * name); otherwise the Pod is its own group.
 */
export function endpointOwner(e: Endpoint): string {
  if (e.kind !== 'Pod') return e.id;
  const l = e.labels;
  const ns = e.namespace;
  const hash = l['pod-template-hash'];
  if (hash) {
    const m = new RegExp(`^(.+)-${hash.replace(/[^a-z0-9]/g, '')}-[a-z0-9]+$`).exec(e.name);
    if (m) return `${ns}/deployment/${m[1]}`;
  }
  if (l['statefulset.kubernetes.io/pod-name'] === e.name) {
    const m = /^(.+)-[0-9]+$/.exec(e.name);
    if (m) return `${ns}/statefulset/${m[1]}`;
  }
  if (l['pod-template-generation'] !== undefined && l['controller-revision-hash'] !== undefined) {
    const m = /^(.+)-[a-z0-9]{5}$/.exec(e.name);
    if (m) return `${ns}/daemonset/${m[1]}`;
  }
  const job = l['batch.kubernetes.io/job-name'] ?? l['job-name'];
  if (job) return `${ns}/job/${job}`;
  return e.id;
}

// ---------------------------------------------------------------------------------------------
// Verdicts with reasons.

/** A side's reasons; the tier fields only where the version has admin or baseline policies (`tiers`). */
function sideReason(v: DirectionVerdict, tiers: boolean): SideReason {
  return {
    direction: v.direction,
    allowed: v.allowed,
    isolated: v.isolated,
    ...(v.notSubject ? { notSubject: v.notSubject } : {}),
    isolatingPolicies: v.isolatingPolicies.map(formatPolicyRef),
    allowedBy: v.tier === 'NetworkPolicy' ? v.allowedBy.map(formatRuleRef) : [],
    ...(tiers && v.notSubject === undefined
      ? { tier: v.tier, ...(v.decidedBy ? { decidedBy: formatAdminRuleRef(v.decidedBy) } : {}), passedBy: v.passedBy.map(formatAdminRuleRef) }
      : {}),
  };
}

const OUTSIDE_SIDE = (direction: Direction): SideReason => ({ direction, allowed: true, isolated: false, notSubject: 'external', isolatingPolicies: [], allowedBy: [] });

function endpointVerdict(compiled: CompiledCluster, from: Endpoint, to: Endpoint, target: PortProtocol, declared: boolean): VersionVerdict {
  const v = evaluateConnection(compiled, { source: { kind: 'endpoint', endpoint: from }, destination: { kind: 'endpoint', endpoint: to }, port: target.port, protocol: target.protocol });
  const tiers = hasAdminPolicies(compiled);
  return { allowed: declared && v.allowed, declared, egress: sideReason(v.egress, tiers), ingress: sideReason(v.ingress, tiers) };
}

/** One rule's admission of outside addresses: on which protocol and ports, to or from which addresses. */
interface OutsideEntry {
  readonly protocol: Protocol;
  readonly lo: number;
  readonly hi: number;
  readonly addresses: AddressSet;
  readonly rule?: RuleRef;
}

/** How one endpoint meets the outside in one direction: open (not isolated), or through these rule entries. */
interface OutsideAccess {
  readonly isolated: boolean;
  readonly notSubject?: NotSubjectReason;
  readonly isolatingPolicies: readonly string[];
  readonly entries: readonly OutsideEntry[];
}

/**
 * The rules that admit outside addresses for an endpoint: rules without peers or with ipBlock
 * peers ("pod and namespace selectors never match them"); a named port never matches an outside
 * destination, while for ingress it resolves against the endpoint itself.
 */
function outsideAccess(compiled: CompiledCluster, e: Endpoint, direction: Direction): OutsideAccess {
  const open = (notSubject?: NotSubjectReason): OutsideAccess => ({
    isolated: false,
    ...(notSubject ? { notSubject } : {}),
    isolatingPolicies: [],
    entries: PROTOCOLS.map((protocol) => ({ protocol, lo: 1, hi: MAX_PORT, addresses: ALL_ADDRESSES })),
  });
  if (e.hostNetwork) return open('hostNetwork');
  const policies = isolatingPolicies(compiled, e, direction);
  if (policies.length === 0) return open();
  const entries: OutsideEntry[] = [];
  for (const rule of policies.flatMap((p) => p.rules[direction])) {
    const addresses = ruleAddresses(rule);
    if (isEmpty(addresses)) continue;
    const ref: RuleRef = { tier: 'NetworkPolicy', policy: rule.policy, direction, index: rule.index };
    if (rule.ports === undefined) {
      for (const protocol of PROTOCOLS) entries.push({ protocol, lo: 1, hi: MAX_PORT, addresses, rule: ref });
      continue;
    }
    for (const p of rule.ports) {
      if (p.kind === 'all') entries.push({ protocol: p.protocol, lo: 1, hi: MAX_PORT, addresses, rule: ref });
      else if (p.kind === 'range') entries.push({ protocol: p.protocol, lo: p.port, hi: p.endPort, addresses, rule: ref });
      else if (direction === 'Ingress') {
        for (const c of e.ports) {
          if (portMatches(p, c.containerPort, c.protocol, e)) entries.push({ protocol: p.protocol, lo: c.containerPort, hi: c.containerPort, addresses, rule: ref });
        }
      }
    }
  }
  return { isolated: true, isolatingPolicies: policies.map((p) => formatPolicyRef(p.ref)), entries };
}

function covering(access: OutsideAccess, protocol: Protocol, lo: number, hi: number): OutsideEntry[] {
  return access.entries.filter((x) => x.protocol === protocol && x.lo <= lo && x.hi >= hi);
}

function addressesOf(entries: readonly OutsideEntry[]): AddressSet {
  return entries.reduce((s, x) => union(s, x.addresses), NO_ADDRESSES);
}

/** The verdict of the endpoint's side for the changed addresses: the rules reaching into them, or the isolation. */
function outsideSide(access: OutsideAccess, direction: Direction, entries: readonly OutsideEntry[], changed: AddressSet): SideReason {
  const allowedBy = [...new Set(entries.filter((x) => x.rule && intersects(x.addresses, changed)).map((x) => formatRuleRef(x.rule!)))].sort(compareStrings);
  const allowed = !access.isolated || allowedBy.length > 0;
  return {
    direction,
    allowed,
    isolated: access.isolated,
    ...(access.notSubject ? { notSubject: access.notSubject } : {}),
    isolatingPolicies: access.isolatingPolicies,
    allowedBy,
  };
}

// ---------------------------------------------------------------------------------------------
// The diff.

/** Endpoints present in both versions that no rule of either version tells apart. */
interface Joint {
  readonly old: Endpoint;
  readonly new: Endpoint;
  readonly oldIndex: number;
  readonly newIndex: number;
  /** Members by owner, both sorted. */
  readonly owners: readonly (readonly [string, readonly string[]])[];
  readonly oldPorts: ReadonlyMap<string, string | undefined>;
  readonly newPorts: ReadonlyMap<string, string | undefined>;
  /**
   * The endpoint and the content of the policies isolating it are the same in both versions, so
   * every verdict on its egress (as a source) / its ingress (as a destination) is too, unless the
   * other end changed.
   */
  readonly sameEgress: boolean;
  readonly sameIngress: boolean;
}

const portKey = (p: { port: number; protocol: Protocol }): string => `${p.port}/${p.protocol}`;

function portsOf(e: Endpoint): Map<string, string | undefined> {
  const m = new Map<string, string | undefined>();
  for (const p of e.ports) if (!m.has(`${p.containerPort}/${p.protocol}`) || p.name) m.set(`${p.containerPort}/${p.protocol}`, p.name);
  return m;
}

function endpointGroups(compiled: CompiledCluster, endpoints: readonly Endpoint[]): EndpointGroup[] {
  const groups = new Map<string, { group: string; endpoints: string[]; ingressIsolatedBy: string[]; egressIsolatedBy: string[] }>();
  for (const e of endpoints) {
    const by = (d: Direction): string[] => (e.hostNetwork ? [] : isolatingPolicies(compiled, e, d).map((p) => formatPolicyRef(p.ref)));
    const g = { group: endpointOwner(e), ingressIsolatedBy: by('Ingress'), egressIsolatedBy: by('Egress') };
    const key = JSON.stringify(g);
    const found = groups.get(key);
    if (found) found.endpoints.push(e.id);
    else groups.set(key, { ...g, endpoints: [e.id] });
  }
  return [...groups.values()].sort((a, b) => compareStrings(a.group, b.group) || compareStrings(a.endpoints[0], b.endpoints[0]));
}

function comparePeers(a: FlowPeer, b: FlowPeer): number {
  const text = (p: FlowPeer): string => (p.kind === 'outside' ? `\uffff${p.text}` : `${p.group}\u0000${p.endpoints[0]}`);
  return compareStrings(text(a), text(b));
}

function compareGroups(a: FlowGroup, b: FlowGroup): number {
  return comparePeers(a.from, b.from) || comparePeers(a.to, b.to) || compareStrings(a.protocol, b.protocol) || a.port - b.port;
}

function policyChanges(before: CompiledCluster, after: CompiledCluster): FlowDiff['policies'] {
  // Admin and baseline policies are cluster-scoped: named `Kind/name`.
  const specs = (c: CompiledCluster): Map<string, string> =>
    new Map([
      ...c.cluster.policies.map((p): [string, string] => [formatPolicyRef(p), JSON.stringify(p.spec)]),
      ...(c.cluster.adminPolicies ?? []).map((p): [string, string] => [`${p.kind}/${p.name}`, JSON.stringify({ ...p, source: undefined })]),
    ]);
  const a = specs(before);
  const b = specs(after);
  const sorted = (xs: Iterable<string>): string[] => [...xs].sort(compareStrings);
  return {
    added: sorted([...b.keys()].filter((k) => !a.has(k))),
    removed: sorted([...a.keys()].filter((k) => !b.has(k))),
    changed: sorted([...a.keys()].filter((k) => b.has(k) && a.get(k) !== b.get(k))),
  };
}

/** The flows `after` allows and `before` does not (opened), and the reverse (closed). Pure. */
export function diffClusters(before: CompiledCluster, after: CompiledCluster): FlowDiff {
  const oldEndpoints = before.cluster.endpoints;
  const newEndpoints = after.cluster.endpoints;
  const newIndex = new Map(newEndpoints.map((e, i) => [e.id, i]));
  const oldIds = new Set(oldEndpoints.map((e) => e.id));
  const oldClasses = computeClasses(before);
  const newClasses = computeClasses(after);

  // What a verdict depends on: the endpoint as policies see it, and the content of the policies
  // isolating it (a renamed or reordered policy is the same policy).
  const contents = new Map<CompiledPolicy, string>();
  const contentOf = (p: CompiledPolicy): string => {
    let key = contents.get(p);
    if (key === undefined) contents.set(p, (key = `${p.namespace}\u0000${JSON.stringify(p.policy.spec)}`));
    return key;
  };
  const policiesKey = (ps: readonly CompiledPolicy[]): string => ps.map(contentOf).sort().join('\u0001');
  // Admin and baseline policies (and the nodes their peers name) reach across namespaces: when they
  // differ at all, any endpoint's verdicts may have changed.
  const adminKey = (c: CompiledCluster): string =>
    JSON.stringify([(c.cluster.adminPolicies ?? []).map((p) => ({ ...p, source: undefined })), (c.cluster.nodes ?? []).map((n) => ({ ...n, source: undefined }))]);
  const sameAdmin = adminKey(before) === adminKey(after);
  const facts = (c: CompiledCluster, e: Endpoint): string => JSON.stringify([e.labels, c.namespaceLabels.get(e.namespace) ?? {}, e.ips, e.ports, e.hostNetwork]);

  // Joint classes: same old class, same new class, same declared ports in each version.
  const portsText = (e: Endpoint): string => e.ports.map((p) => `${p.containerPort}/${p.protocol}/${p.name ?? ''}`).sort().join(',');
  const building = new Map<string, { old: Endpoint; new: Endpoint; oldIndex: number; newIndex: number; owners: Map<string, string[]> }>();
  oldEndpoints.forEach((e, i) => {
    const j = newIndex.get(e.id);
    if (j === undefined) return;
    const n = newEndpoints[j];
    const key = `${oldClasses.classOf[i]}|${newClasses.classOf[j]}|${portsText(e)}|${portsText(n)}`;
    let joint = building.get(key);
    if (!joint) building.set(key, (joint = { old: e, new: n, oldIndex: i, newIndex: j, owners: new Map() }));
    const owner = endpointOwner(n);
    const list = joint.owners.get(owner);
    if (list) list.push(e.id);
    else joint.owners.set(owner, [e.id]);
  });
  const joints: Joint[] = [...building.values()].map((j) => {
    const oldClass = oldClasses.classes[oldClasses.classOf[j.oldIndex]];
    const newClass = newClasses.classes[newClasses.classOf[j.newIndex]];
    const sameEndpoint = sameAdmin && facts(before, j.old) === facts(after, j.new);
    return {
      ...j,
      owners: [...j.owners.entries()].map(([o, ids]) => [o, ids.sort(compareStrings)] as const).sort(([a], [b]) => compareStrings(a, b)),
      oldPorts: portsOf(j.old),
      newPorts: portsOf(j.new),
      sameEgress: sameEndpoint && policiesKey(oldClass.egressPolicies) === policiesKey(newClass.egressPolicies),
      sameIngress: sameEndpoint && policiesKey(oldClass.ingressPolicies) === policiesKey(newClass.ingressPolicies),
    };
  });
  const changedSources = joints.filter((j) => !j.sameEgress);

  const opened: FlowGroup[] = [];
  const closed: FlowGroup[] = [];
  const emit = (g: FlowGroup): void => void (g.change === 'opened' ? opened : closed).push(g);

  // Between endpoints in both versions, per port: one comparison per pair of joint classes where
  // the source's egress or the destination's ingress may have changed.
  const seen = new Map<string, PortProtocol>();
  for (const p of [...declaredPorts(oldEndpoints), ...declaredPorts(newEndpoints)]) seen.set(portKey(p), p);
  const ports = [...seen.values()].sort((a, b) => a.port - b.port || compareStrings(a.protocol, b.protocol));
  for (const target of ports) {
    const key = portKey(target);
    const destinations = joints.filter((d) => (d.oldPorts.has(key) || d.newPorts.has(key)) && (changedSources.length > 0 || !d.sameIngress));
    if (destinations.length === 0) continue;
    const mOld: Matrix | undefined = destinations.some((d) => d.oldPorts.has(key)) ? computeMatrix(before, target, oldClasses) : undefined;
    const mNew: Matrix | undefined = destinations.some((d) => d.newPorts.has(key)) ? computeMatrix(after, target, newClasses) : undefined;
    for (const d of destinations) {
      const declaredOld = d.oldPorts.has(key);
      const declaredNew = d.newPorts.has(key);
      for (const s of d.sameIngress ? changedSources : joints) {
        if (s === d && s.owners.length === 1 && s.owners[0][1].length === 1) continue;
        const was = declaredOld && mOld!.allowed(s.oldIndex, d.oldIndex);
        const is = declaredNew && mNew!.allowed(s.newIndex, d.newIndex);
        if (was === is) continue;
        const beforeVerdict = endpointVerdict(before, s.old, d.old, target, declaredOld);
        const afterVerdict = endpointVerdict(after, s.new, d.new, target, declaredNew);
        const portName = (declaredNew ? d.newPorts.get(key) : undefined) ?? d.oldPorts.get(key);
        for (const [from, sources] of s.owners) {
          for (const [to, dests] of d.owners) {
            const flows = sources.length * dests.length - (s === d && from === to ? sources.length : 0);
            if (flows === 0) continue;
            emit({
              change: is ? 'opened' : 'closed',
              from: { kind: 'endpoints', group: from, endpoints: sources },
              to: { kind: 'endpoints', group: to, endpoints: dests },
              protocol: target.protocol,
              port: target.port,
              ...(portName ? { portName } : {}),
              flows,
              before: beforeVerdict,
              after: afterVerdict,
            });
          }
        }
      }
    }
  }

  // With the outside: into each joint class on its declared ports, and out of it on any port
  // (where its ingress, or its egress, may have changed).
  // Tier by tier only where an admin or baseline rule can match outside addresses in that direction.
  const byTiers = (d: Direction): boolean => tiersMatchOutside(before, d) || tiersMatchOutside(after, d);
  if (byTiers('Ingress')) outsideByTiers(before, after, joints, emit, 'Ingress');
  if (byTiers('Egress')) outsideByTiers(before, after, joints, emit, 'Egress');
  for (const j of joints.filter((x) => !x.sameIngress && !byTiers('Ingress'))) {
    const inOld = outsideAccess(before, j.old, 'Ingress');
    const inNew = outsideAccess(after, j.new, 'Ingress');
    const declared = [...new Set([...j.oldPorts.keys(), ...j.newPorts.keys()])];
    for (const key of declared) {
      const [portText, protocol] = key.split('/') as [string, Protocol];
      const port = Number(portText);
      const entriesOld = j.oldPorts.has(key) ? covering(inOld, protocol, port, port) : [];
      const entriesNew = j.newPorts.has(key) ? covering(inNew, protocol, port, port) : [];
      const was = j.oldPorts.has(key) ? (inOld.isolated ? addressesOf(entriesOld) : ALL_ADDRESSES) : NO_ADDRESSES;
      const is = j.newPorts.has(key) ? (inNew.isolated ? addressesOf(entriesNew) : ALL_ADDRESSES) : NO_ADDRESSES;
      const portName = j.newPorts.get(key) ?? j.oldPorts.get(key);
      for (const change of ['opened', 'closed'] as const) {
        const addresses = change === 'opened' ? subtract(is, was) : subtract(was, is);
        if (isEmpty(addresses)) continue;
        const verdict = (access: OutsideAccess, entries: readonly OutsideEntry[], declaredHere: boolean): VersionVerdict => {
          const ingress = outsideSide(access, 'Ingress', entries, addresses);
          return { allowed: declaredHere && ingress.allowed, declared: declaredHere, egress: OUTSIDE_SIDE('Egress'), ingress };
        };
        for (const [to, dests] of j.owners) {
          emit({
            change,
            from: { kind: 'outside', addresses: [...cidrsOf(4, addresses[4]), ...cidrsOf(6, addresses[6])], text: describeAddresses(addresses) },
            to: { kind: 'endpoints', group: to, endpoints: dests },
            protocol,
            port,
            ...(portName ? { portName } : {}),
            flows: dests.length,
            before: verdict(inOld, entriesOld, j.oldPorts.has(key)),
            after: verdict(inNew, entriesNew, j.newPorts.has(key)),
          });
        }
      }
    }
  }
  for (const j of changedSources.filter(() => !byTiers('Egress'))) {
    const outOld = outsideAccess(before, j.old, 'Egress');
    const outNew = outsideAccess(after, j.new, 'Egress');
    for (const protocol of PROTOCOLS) {
      // Elementary port segments: within one, every entry of either version covers all or nothing.
      const cuts = new Set([1, MAX_PORT + 1]);
      for (const x of [...outOld.entries, ...outNew.entries]) if (x.protocol === protocol) cuts.add(x.lo).add(x.hi + 1);
      const bounds = [...cuts].sort((a, b) => a - b);
      let pending: { lo: number; hi: number; opened: AddressSet; closed: AddressSet; text: string; old: OutsideEntry[]; new: OutsideEntry[] } | undefined;
      const flush = (): void => {
        if (!pending) return;
        for (const change of ['opened', 'closed'] as const) {
          const addresses = pending[change];
          if (isEmpty(addresses)) continue;
          const verdict = (access: OutsideAccess, entries: readonly OutsideEntry[]): VersionVerdict => {
            const egress = outsideSide(access, 'Egress', entries, addresses);
            return { allowed: egress.allowed, declared: true, egress, ingress: OUTSIDE_SIDE('Ingress') };
          };
          for (const [from, sources] of j.owners) {
            emit({
              change,
              from: { kind: 'endpoints', group: from, endpoints: sources },
              to: { kind: 'outside', addresses: [...cidrsOf(4, addresses[4]), ...cidrsOf(6, addresses[6])], text: describeAddresses(addresses) },
              protocol,
              port: pending.lo,
              ...(pending.hi !== pending.lo ? { endPort: pending.hi } : {}),
              flows: sources.length,
              before: verdict(outOld, pending.old),
              after: verdict(outNew, pending.new),
            });
          }
        }
        pending = undefined;
      };
      for (let k = 0; k + 1 < bounds.length; k++) {
        const lo = bounds[k];
        const hi = bounds[k + 1] - 1;
        const entriesOld = covering(outOld, protocol, lo, hi);
        const entriesNew = covering(outNew, protocol, lo, hi);
        const was = addressesOf(entriesOld);
        const is = addressesOf(entriesNew);
        const segment = { lo, hi, opened: subtract(is, was), closed: subtract(was, is), old: entriesOld, new: entriesNew };
        const text = JSON.stringify([describeAddresses(segment.opened), describeAddresses(segment.closed), entriesOld.map((x) => x.rule && formatRuleRef(x.rule)), entriesNew.map((x) => x.rule && formatRuleRef(x.rule))]);
        // Neighbouring segments that change the same addresses for the same rules read as one range.
        if (pending && pending.text === text && pending.hi + 1 === lo) pending.hi = hi;
        else {
          flush();
          if (!isEmpty(segment.opened) || !isEmpty(segment.closed)) pending = { ...segment, text };
        }
      }
      flush();
    }
  }

  return finish(before, after, ports, opened, closed, oldIds, newIndex);
}

function finish(
  before: CompiledCluster,
  after: CompiledCluster,
  ports: readonly PortProtocol[],
  opened: FlowGroup[],
  closed: FlowGroup[],
  oldIds: ReadonlySet<string>,
  newIndex: ReadonlyMap<string, number>,
): FlowDiff {
  opened.sort(compareGroups);
  closed.sort(compareGroups);
  const added = endpointGroups(after, after.cluster.endpoints.filter((e) => !oldIds.has(e.id)));
  const removed = endpointGroups(before, before.cluster.endpoints.filter((e) => !newIndex.has(e.id)));
  return {
    ports,
    opened,
    closed,
    added,
    removed,
    policies: policyChanges(before, after),
    changed: opened.length + closed.length + added.length + removed.length > 0,
  };
}

// ---------------------------------------------------------------------------------------------
// With the outside, tier by tier: admin rules' networks and nodes peers, and the order of the tiers,
// make the NetworkPolicy-only address arithmetic above insufficient, so each version's side is
// judged per address atom and port segment (outsideCells) and the two are compared piece by piece.

const intersect = (a: AddressSet, b: AddressSet): AddressSet => subtract(a, subtract(a, b));

function outsideByTiers(before: CompiledCluster, after: CompiledCluster, joints: readonly Joint[], emit: (g: FlowGroup) => void, direction: Direction): void {
  const tiersOld = hasAdminPolicies(before);
  const tiersNew = hasAdminPolicies(after);
  const peer = (a: AddressSet): FlowPeer => ({ kind: 'outside', addresses: [...cidrsOf(4, a[4]), ...cidrsOf(6, a[6])], text: describeAddresses(a) });

  /** Pieces of (segment, addresses) whose verdict differs, grouped by the reasons before and after. */
  const compare = (
    oldCells: readonly OutsideCell[],
    newCells: readonly OutsideCell[],
    protocol: Protocol,
    declared: { old: boolean; new: boolean },
  ): { lo: number; hi: number; change: FlowChange; addresses: AddressSet; old: SideReason; new: SideReason; key: string }[] => {
    const ofProtocol = (cells: readonly OutsideCell[]): OutsideCell[] => cells.filter((c) => c.protocol === protocol);
    const o = ofProtocol(oldCells);
    const n = ofProtocol(newCells);
    const cuts = new Set<number>();
    for (const c of [...o, ...n]) cuts.add(c.lo).add(c.hi + 1);
    const bounds = [...cuts].sort((a, b) => a - b);
    const out: { lo: number; hi: number; change: FlowChange; addresses: AddressSet; old: SideReason; new: SideReason; key: string }[] = [];
    for (let k = 0; k + 1 < bounds.length; k++) {
      const lo = bounds[k];
      const hi = bounds[k + 1] - 1;
      const oldAt = o.filter((c) => c.lo <= lo && hi <= c.hi);
      const newAt = n.filter((c) => c.lo <= lo && hi <= c.hi);
      if (oldAt.length === 0 && newAt.length === 0) continue;
      const pieces = new Map<string, { change: FlowChange; addresses: AddressSet; old: SideReason; new: SideReason }>();
      for (const x of oldAt) {
        for (const y of newAt) {
          const was = declared.old && x.verdict.allowed;
          const is = declared.new && y.verdict.allowed;
          if (was === is) continue;
          const addresses = intersect(x.addresses, y.addresses);
          if (isEmpty(addresses)) continue;
          const oldSide = sideReason(x.verdict, tiersOld);
          const newSide = sideReason(y.verdict, tiersNew);
          const key = JSON.stringify([is, oldSide, newSide]);
          const found = pieces.get(key);
          if (found) pieces.set(key, { ...found, addresses: union(found.addresses, addresses) });
          else pieces.set(key, { change: is ? 'opened' : 'closed', addresses, old: oldSide, new: newSide });
        }
      }
      for (const [key, piece] of pieces) out.push({ lo, hi, ...piece, key: `${key}|${describeAddresses(piece.addresses)}` });
    }
    // Neighbouring segments that change the same addresses for the same reasons read as one range.
    const merged: typeof out = [];
    for (const piece of out) {
      const last = merged.find((m) => m.key === piece.key && m.hi + 1 === piece.lo);
      if (last) merged[merged.indexOf(last)] = { ...last, hi: piece.hi };
      else merged.push(piece);
    }
    return merged;
  };

  for (const j of joints.filter((x) => direction === 'Ingress' && !x.sameIngress)) {
    for (const key of [...new Set([...j.oldPorts.keys(), ...j.newPorts.keys()])]) {
      const [portText, protocol] = key.split('/') as [string, Protocol];
      const target = { port: Number(portText), protocol };
      const declared = { old: j.oldPorts.has(key), new: j.newPorts.has(key) };
      const portName = j.newPorts.get(key) ?? j.oldPorts.get(key);
      const pieces = compare(outsideCells(before, j.old, 'Ingress', target), outsideCells(after, j.new, 'Ingress', target), protocol, declared);
      for (const piece of pieces) {
        for (const [to, dests] of j.owners) {
          emit({
            change: piece.change,
            from: peer(piece.addresses),
            to: { kind: 'endpoints', group: to, endpoints: dests },
            protocol,
            port: target.port,
            ...(portName ? { portName } : {}),
            flows: dests.length,
            before: { allowed: declared.old && piece.old.allowed, declared: declared.old, egress: OUTSIDE_SIDE('Egress'), ingress: piece.old },
            after: { allowed: declared.new && piece.new.allowed, declared: declared.new, egress: OUTSIDE_SIDE('Egress'), ingress: piece.new },
          });
        }
      }
    }
  }
  for (const j of joints.filter((x) => direction === 'Egress' && !x.sameEgress)) {
    const oldCells = outsideCells(before, j.old, 'Egress');
    const newCells = outsideCells(after, j.new, 'Egress');
    for (const protocol of PROTOCOLS) {
      for (const piece of compare(oldCells, newCells, protocol, { old: true, new: true })) {
        for (const [from, sources] of j.owners) {
          emit({
            change: piece.change,
            from: { kind: 'endpoints', group: from, endpoints: sources },
            to: peer(piece.addresses),
            protocol,
            port: piece.lo,
            ...(piece.hi !== piece.lo ? { endPort: piece.hi } : {}),
            flows: sources.length,
            before: { allowed: piece.old.allowed, declared: true, egress: piece.old, ingress: OUTSIDE_SIDE('Ingress') },
            after: { allowed: piece.new.allowed, declared: true, egress: piece.new, ingress: OUTSIDE_SIDE('Ingress') },
          });
        }
      }
    }
  }
}
