// Reachability matrices for one port/protocol, computed over endpoint classes with bitsets:
// each rule's matching classes are found once, then rows are unions of rule bitsets. Admin and
// baseline rules are walked in order per list of selecting policies, splitting the classes still
// undecided into accepted, denied and passed ones; without them the NetworkPolicy rows stand alone.
import type { Endpoint, IPFamily, Protocol } from '../model/index.js';
import { computeClasses, type EndpointClass, type EndpointClasses } from './classes.js';
import type { CompiledAdminPolicy, CompiledAdminPort, CompiledAdminRule, CompiledCluster, CompiledPeer, CompiledRule } from './compile.js';
import { evaluateConnection, standsForOnePod } from './evaluate.js';
import { adminPortMatches, portMatches } from './match.js';

export interface PortProtocol {
  readonly port: number;
  readonly protocol: Protocol;
}

export interface Matrix extends PortProtocol {
  readonly endpoints: readonly Endpoint[];
  /**
   * allowed(i, j): can endpoints[i] open a connection to endpoints[j] (at its own address: a pod
   * reaching its own pod IP is judged by NetworkPolicy alone, as evaluateConnection judges it).
   */
  allowed(i: number, j: number): boolean;
  /**
   * The same through a Service address that leads back to endpoints[j]: differs from allowed only for
   * a pod reaching itself. For class representatives it is the class cell: the answer between any two
   * distinct members of the classes of i and j (what class-level counts should read).
   */
  allowedViaService(i: number, j: number): boolean;
}

class ClassMatrix implements Matrix {
  constructor(
    readonly port: number,
    readonly protocol: Protocol,
    readonly endpoints: readonly Endpoint[],
    private readonly classOf: Int32Array,
    private readonly classCount: number,
    private readonly cells: Uint8Array,
    /** Per class, a pod of it reaching its own pod IP (the hairpin answer); undefined when it equals the class's cell with itself. */
    private readonly self?: Uint8Array,
    /** Per endpoint, whether a connection to itself is a hairpin (see isHairpin); undefined with `self`. */
    private readonly hairpin?: Uint8Array,
  ) {}

  allowed(i: number, j: number): boolean {
    if (i === j && this.self !== undefined && this.hairpin![i] === 1) return this.self[this.classOf[i]] === 1;
    return this.cells[this.classOf[i] * this.classCount + this.classOf[j]] === 1;
  }

  allowedViaService(i: number, j: number): boolean {
    return this.cells[this.classOf[i] * this.classCount + this.classOf[j]] === 1;
  }
}

/** The pairwise baseline's matrix: one cell per endpoint pair, and the diagonal through a Service apart. */
class PairMatrix implements Matrix {
  constructor(
    readonly port: number,
    readonly protocol: Protocol,
    readonly endpoints: readonly Endpoint[],
    private readonly cells: Uint8Array,
    private readonly selfViaService: Uint8Array,
  ) {}

  allowed(i: number, j: number): boolean {
    return this.cells[i * this.endpoints.length + j] === 1;
  }

  allowedViaService(i: number, j: number): boolean {
    return i === j ? this.selfViaService[i] === 1 : this.allowed(i, j);
  }
}

class Bitset {
  readonly words: Uint32Array;
  constructor(readonly size: number) {
    this.words = new Uint32Array((size + 31) >>> 5);
  }
  set(i: number): void {
    this.words[i >>> 5] |= 1 << (i & 31);
  }
  has(i: number): boolean {
    return (this.words[i >>> 5] & (1 << (i & 31))) !== 0;
  }
  or(other: Bitset): void {
    const w = this.words;
    const o = other.words;
    for (let k = 0; k < w.length; k++) w[k] |= o[k];
  }
  and(other: Bitset): void {
    const w = this.words;
    const o = other.words;
    for (let k = 0; k < w.length; k++) w[k] &= o[k];
  }
  andNot(other: Bitset): void {
    const w = this.words;
    const o = other.words;
    for (let k = 0; k < w.length; k++) w[k] &= ~o[k];
  }
  isEmpty(): boolean {
    return this.words.every((x) => x === 0);
  }
  fill(): void {
    this.words.fill(0xffffffff);
  }
  copy(): Bitset {
    const b = new Bitset(this.size);
    b.words.set(this.words);
    return b;
  }
}

/** Which source address family a destination class makes a connection use (see connectionAddresses). */
type SourceMode = IPFamily | 'primary';

/**
 * For each peer, the classes it matches, found once from the classes' own peer sets: a pod peer
 * matches a class whose podPeers has it; an ipBlock peer matches a class whose address of the
 * family in use is in it ("primary": the class's primary family; none when it has no address).
 */
class PeerIndex {
  private readonly pods = new Map<number, Bitset>();
  private readonly ips = { 4: new Map<number, Bitset>(), 6: new Map<number, Bitset>(), primary: new Map<number, Bitset>() };
  private readonly empty: Bitset;

  constructor(private readonly list: readonly EndpointClass[]) {
    const n = list.length;
    this.empty = new Bitset(n);
    const add = (map: Map<number, Bitset>, id: number, cls: number): void => {
      let set = map.get(id);
      if (!set) map.set(id, (set = new Bitset(n)));
      set.set(cls);
    };
    for (const cls of list) {
      for (const id of cls.podPeers) add(this.pods, id, cls.id);
      for (const id of cls.ipPeers[4]) add(this.ips[4], id, cls.id);
      for (const id of cls.ipPeers[6]) add(this.ips[6], id, cls.id);
      if (cls.primaryFamily !== undefined) for (const id of cls.ipPeers[cls.primaryFamily]) add(this.ips.primary, id, cls.id);
    }
  }

  /** The classes some peer of a rule matches (all of them when the rule has no peers). */
  classesOf(peers: readonly CompiledPeer[] | undefined, mode: SourceMode): Bitset {
    const out = new Bitset(this.list.length);
    if (peers === undefined) {
      out.fill();
      return out;
    }
    for (const peer of peers) out.or((peer.kind === 'pods' ? this.pods : this.ips[mode]).get(peer.id) ?? this.empty);
    return out;
  }
}

function portMatchesClass(rule: CompiledRule, target: PortProtocol, destination: EndpointClass): boolean {
  return rule.ports === undefined || rule.ports.some((p) => portMatches(p, target.port, target.protocol, destination.representative));
}

/** The class-level matrix; `classes` may be passed in to share them across ports. */
export function computeMatrix(compiled: CompiledCluster, target: PortProtocol, classes?: EndpointClasses): Matrix {
  const { classes: list, classOf } = classes ?? computeClasses(compiled);
  const n = list.length;
  const peerIndex = new PeerIndex(list);

  // The destination classes a rule's ports admit: the same for every class unless a named port
  // (resolved against each destination) is all that could match.
  const allClasses = new Bitset(n);
  allClasses.fill();
  const portClasses = (rule: CompiledRule): Bitset => {
    if (rule.ports === undefined) return allClasses;
    if (rule.ports.some((p) => p.kind !== 'named' && portMatches(p, target.port, target.protocol, undefined))) return allClasses;
    const set = new Bitset(n);
    if (rule.ports.some((p) => p.kind === 'named' && p.protocol === target.protocol)) {
      for (const d of list) if (portMatchesClass(rule, target, d)) set.set(d.id);
    }
    return set;
  };

  // Egress: for each rule, the destination classes it lets a source reach on this port.
  const destinationsByRule = new Map<CompiledRule, Bitset>();
  const destinationsOf = (rule: CompiledRule): Bitset => {
    let set = destinationsByRule.get(rule);
    if (!set) {
      set = peerIndex.classesOf(rule.peers, 'primary');
      set.and(portClasses(rule));
      destinationsByRule.set(rule, set);
    }
    return set;
  };
  // Ingress: for each rule, the source classes it admits, given the address family in use.
  const sourcesByRule = new Map<string, Bitset>();
  const ruleIds = new Map<CompiledRule, number>();
  const sourcesOf = (rule: CompiledRule, mode: SourceMode): Bitset => {
    let id = ruleIds.get(rule);
    if (id === undefined) ruleIds.set(rule, (id = ruleIds.size));
    const key = `${id}/${mode}`;
    let set = sourcesByRule.get(key);
    if (!set) {
      set = peerIndex.classesOf(rule.peers, mode);
      sourcesByRule.set(key, set);
    }
    return set;
  };

  // NetworkPolicy: the row (column) of an isolated class; undefined when it is not isolated.
  const npEgress = list.map((s): Bitset | undefined => {
    if (s.egressPolicies.length === 0) return undefined;
    const row = new Bitset(n);
    for (const p of s.egressPolicies) for (const rule of p.rules.Egress) row.or(destinationsOf(rule));
    return row;
  });
  const npIngress = list.map((d): Bitset | undefined => {
    if (d.ingressPolicies.length === 0) return undefined;
    const column = new Bitset(n);
    const mode: SourceMode = d.primaryFamily ?? 'primary';
    for (const p of d.ingressPolicies) {
      for (const rule of p.rules.Ingress) if (portMatchesClass(rule, target, d)) column.or(sourcesOf(rule, mode));
    }
    return column;
  });

  const admin = compiled.adminPolicies;
  if (admin.Admin.length + admin.Baseline.length === 0) {
    const egressRows = npEgress.map((row) => row ?? allClasses);
    const ingressColumns = npIngress.map((column) => (column ?? allClasses).words);
    const cells = combine(n, egressRows, ingressColumns);
    return new ClassMatrix(target.port, target.protocol, compiled.cluster.endpoints, classOf, n, cells);
  }

  // Admin and baseline rules: the classes a rule matches on the other side, found once per rule.
  const adminPortClasses = (ports: readonly CompiledAdminPort[] | undefined): Bitset => {
    if (ports === undefined) return allClasses;
    if (ports.some((p) => p.kind !== 'namedAnyProtocol' && adminPortMatches(p, target.port, target.protocol, undefined))) return allClasses;
    const set = new Bitset(n);
    if (ports.some((p) => p.kind === 'namedAnyProtocol')) {
      for (const d of list) if (ports.some((p) => adminPortMatches(p, target.port, target.protocol, d.representative))) set.set(d.id);
    }
    return set;
  };
  const adminDestinations = new Map<CompiledAdminRule, Bitset>();
  const adminDestinationsOf = (rule: CompiledAdminRule): Bitset => {
    let set = adminDestinations.get(rule);
    if (!set) {
      set = peerIndex.classesOf(rule.peers, 'primary');
      set.and(adminPortClasses(rule.ports));
      adminDestinations.set(rule, set);
    }
    return set;
  };
  const adminSources = new Map<string, Bitset>();
  const adminRuleIds = new Map<CompiledAdminRule, number>();
  const adminSourcesOf = (rule: CompiledAdminRule, mode: SourceMode): Bitset => {
    let id = adminRuleIds.get(rule);
    if (id === undefined) adminRuleIds.set(rule, (id = adminRuleIds.size));
    const key = `${id}/${mode}`;
    let set = adminSources.get(key);
    if (!set) adminSources.set(key, (set = peerIndex.classesOf(rule.peers, mode)));
    return set;
  };

  /**
   * One tier's rules in order over the classes of the other side: each rule takes the classes it
   * matches among those no earlier rule matched ("the first matching rule decides"); a Pass rule's
   * classes are neither accepted nor denied, so they go on to the next tier.
   */
  interface Walk {
    readonly accepted: Bitset;
    readonly denied: Bitset;
  }
  const walk = (policies: readonly CompiledAdminPolicy[], direction: 'Ingress' | 'Egress', matchOf: (rule: CompiledAdminRule) => Bitset | undefined): Walk => {
    const undecided = new Bitset(n);
    undecided.fill();
    const accepted = new Bitset(n);
    const denied = new Bitset(n);
    const u = undecided.words;
    for (const policy of policies) {
      for (const rule of policy.rules[direction]) {
        const matched = matchOf(rule);
        if (matched === undefined) continue;
        const m = matched.words;
        // The rule's effect on the classes it matches among the undecided ones; a Pass only takes them out.
        const into = rule.effect === 'accept' ? accepted.words : rule.effect === 'deny' ? denied.words : undefined;
        for (let k = 0; k < u.length; k++) {
          if (into !== undefined) into[k] |= m[k] & u[k];
          u[k] &= ~m[k];
        }
      }
    }
    return { accepted, denied };
  };
  const walks = new Map<string, Walk>();
  const cachedWalk = (key: string, make: () => Walk): Walk => {
    let w = walks.get(key);
    if (!w) walks.set(key, (w = make()));
    return w;
  };
  const policyIndex = new Map<CompiledAdminPolicy, number>([...admin.Admin, ...admin.Baseline].map((p, k) => [p, k]));
  const policyKey = (ps: readonly CompiledAdminPolicy[]): string => ps.map((p) => policyIndex.get(p)).join(',');

  /** A side's answer over the other side's classes: accepted by the Admin tier, or neither accepted nor denied there and allowed by NetworkPolicy if it isolates, else by the Baseline tier. */
  const side = (first: Walk, np: Bitset | undefined, baseline: () => Walk): Bitset => {
    const rest = new Bitset(n);
    rest.fill();
    rest.andNot(first.accepted);
    rest.andNot(first.denied);
    if (np) rest.and(np);
    else rest.andNot(baseline().denied);
    rest.or(first.accepted);
    return rest;
  };

  // Only policies with rules of the direction matter; classes with the same lists share their walks.
  const withRules = (ps: readonly CompiledAdminPolicy[], direction: 'Ingress' | 'Egress'): readonly CompiledAdminPolicy[] =>
    ps.every((p) => p.rules[direction].length > 0) ? ps : ps.filter((p) => p.rules[direction].length > 0);
  const egressRows = list.map((s, i) => {
    const Admin = withRules(s.adminPolicies.Admin, 'Egress');
    const Baseline = withRules(s.adminPolicies.Baseline, 'Egress');
    if (Admin.length === 0 && (npEgress[i] || Baseline.length === 0)) return npEgress[i] ?? allClasses;
    const first = cachedWalk(`E|A|${policyKey(Admin)}`, () => walk(Admin, 'Egress', adminDestinationsOf));
    return side(first, npEgress[i], () => cachedWalk(`E|B|${policyKey(Baseline)}`, () => walk(Baseline, 'Egress', adminDestinationsOf)));
  });
  const ingressColumns = list.map((d, i) => {
    const Admin = withRules(d.adminPolicies.Admin, 'Ingress');
    const Baseline = withRules(d.adminPolicies.Baseline, 'Ingress');
    if (Admin.length === 0 && (npIngress[i] || Baseline.length === 0)) return (npIngress[i] ?? allClasses).words;
    // Sources are matched at the address family the destination makes a connection use; named ports resolve on the destination.
    const mode: SourceMode = d.primaryFamily ?? 'primary';
    const matchOf = (rule: CompiledAdminRule): Bitset | undefined =>
      rule.ports === undefined || rule.ports.some((p) => adminPortMatches(p, target.port, target.protocol, d.representative)) ? adminSourcesOf(rule, mode) : undefined;
    const tail = `${mode}|${d.namedPortKey}`;
    const first = cachedWalk(`I|A|${policyKey(Admin)}|${tail}`, () => walk(Admin, 'Ingress', matchOf));
    return side(first, npIngress[i], () => cachedWalk(`I|B|${policyKey(Baseline)}|${tail}`, () => walk(Baseline, 'Ingress', matchOf))).words;
  });
  const cells = combine(n, egressRows, ingressColumns);

  // A pod reaching its own pod IP is judged by NetworkPolicy alone (the hairpin rule).
  const self = new Uint8Array(n);
  for (const c of list) self[c.id] = (npEgress[c.id]?.has(c.id) ?? true) && (npIngress[c.id]?.has(c.id) ?? true) ? 1 : 0;
  const hairpin = Uint8Array.from(compiled.cluster.endpoints, (e) => (!e.hostNetwork && standsForOnePod(e) ? 1 : 0));
  return new ClassMatrix(target.port, target.protocol, compiled.cluster.endpoints, classOf, n, cells, self, hairpin);
}

/**
 * A cell is set where the source's egress reaches the destination and the destination's ingress
 * admits the source; only the set bits of each egress row are visited.
 */
function combine(n: number, egressRows: readonly Bitset[], ingressColumns: readonly Uint32Array[]): Uint8Array {
  const cells = new Uint8Array(n * n);
  for (let s = 0; s < n; s++) {
    const words = egressRows[s].words;
    const sWord = s >>> 5;
    const sBit = 1 << (s & 31);
    const base = s * n;
    for (let w = 0; w < words.length; w++) {
      let bits = words[w];
      while (bits !== 0) {
        const low = bits & -bits;
        const d = (w << 5) + (31 - Math.clz32(low));
        bits ^= low;
        if (d < n && (ingressColumns[d][sWord] & sBit) !== 0) cells[base + d] = 1;
      }
    }
  }
  return cells;
}

/** The baseline: every pair asked separately with evaluateConnection. Quadratic; for tests and benchmarks. */
export function computeMatrixPairwise(compiled: CompiledCluster, target: PortProtocol): Matrix {
  const endpoints = compiled.cluster.endpoints;
  const n = endpoints.length;
  const cells = new Uint8Array(n * n);
  const selfViaService = new Uint8Array(n);
  const ask = (i: number, j: number, viaService: boolean): boolean =>
    evaluateConnection(compiled, {
      source: { kind: 'endpoint', endpoint: endpoints[i] },
      destination: { kind: 'endpoint', endpoint: endpoints[j] },
      port: target.port,
      protocol: target.protocol,
      viaService,
    }).allowed;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (ask(i, j, false)) cells[i * n + j] = 1;
    if (ask(i, i, true)) selfViaService[i] = 1;
  }
  return new PairMatrix(target.port, target.protocol, endpoints, cells, selfViaService);
}

/** Every port/protocol some endpoint declares, sorted by port then protocol. */
export function declaredPorts(endpoints: readonly Endpoint[]): PortProtocol[] {
  const seen = new Map<string, PortProtocol>();
  for (const e of endpoints) for (const p of e.ports) seen.set(`${p.containerPort}/${p.protocol}`, { port: p.containerPort, protocol: p.protocol });
  return [...seen.values()].sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0));
}
