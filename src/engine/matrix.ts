// Reachability matrices for one port/protocol, computed over endpoint classes with bitsets:
// each rule's matching classes are found once, then rows are unions of rule bitsets.
import type { Endpoint, IPFamily, Protocol } from '../model/index.js';
import { computeClasses, type EndpointClass, type EndpointClasses } from './classes.js';
import type { CompiledCluster, CompiledRule } from './compile.js';
import { evaluateConnection } from './evaluate.js';
import { portMatches } from './match.js';

export interface PortProtocol {
  readonly port: number;
  readonly protocol: Protocol;
}

export interface Matrix extends PortProtocol {
  readonly endpoints: readonly Endpoint[];
  /** allowed(i, j): can endpoints[i] open a connection to endpoints[j]. */
  allowed(i: number, j: number): boolean;
}

class ClassMatrix implements Matrix {
  constructor(
    readonly port: number,
    readonly protocol: Protocol,
    readonly endpoints: readonly Endpoint[],
    private readonly classOf: Int32Array,
    private readonly classCount: number,
    private readonly cells: Uint8Array,
  ) {}

  allowed(i: number, j: number): boolean {
    return this.cells[this.classOf[i] * this.classCount + this.classOf[j]] === 1;
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

  /** The classes some peer of `rule` matches (all of them when the rule has no peers). */
  classesOf(rule: CompiledRule, mode: SourceMode): Bitset {
    const out = new Bitset(this.list.length);
    if (rule.peers === undefined) {
      out.fill();
      return out;
    }
    for (const peer of rule.peers) out.or((peer.kind === 'pods' ? this.pods : this.ips[mode]).get(peer.id) ?? this.empty);
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
      set = peerIndex.classesOf(rule, 'primary');
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
      set = peerIndex.classesOf(rule, mode);
      sourcesByRule.set(key, set);
    }
    return set;
  };

  const egressRows = list.map((s) => {
    const row = new Bitset(n);
    if (s.egressPolicies.length === 0) row.fill();
    else for (const p of s.egressPolicies) for (const rule of p.rules.Egress) row.or(destinationsOf(rule));
    return row;
  });
  const ingressColumns = list.map((d) => {
    const column = new Bitset(n);
    if (d.ingressPolicies.length === 0) column.fill();
    else {
      const mode: SourceMode = d.primaryFamily ?? 'primary';
      for (const p of d.ingressPolicies) {
        for (const rule of p.rules.Ingress) if (portMatchesClass(rule, target, d)) column.or(sourcesOf(rule, mode));
      }
    }
    return column.words;
  });

  // A cell is set where the source's egress reaches the destination and the destination's ingress
  // admits the source; only the set bits of each egress row are visited.
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
  return new ClassMatrix(target.port, target.protocol, compiled.cluster.endpoints, classOf, n, cells);
}

/** The baseline: every pair asked separately with evaluateConnection. Quadratic; for tests and benchmarks. */
export function computeMatrixPairwise(compiled: CompiledCluster, target: PortProtocol): Matrix {
  const endpoints = compiled.cluster.endpoints;
  const n = endpoints.length;
  const cells = new Uint8Array(n * n);
  const identity = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const verdict = evaluateConnection(compiled, {
        source: { kind: 'endpoint', endpoint: endpoints[i] },
        destination: { kind: 'endpoint', endpoint: endpoints[j] },
        port: target.port,
        protocol: target.protocol,
      });
      if (verdict.allowed) cells[i * n + j] = 1;
    }
  }
  return new ClassMatrix(target.port, target.protocol, endpoints, identity, n, cells);
}

/** Every port/protocol some endpoint declares, sorted by port then protocol. */
export function declaredPorts(endpoints: readonly Endpoint[]): PortProtocol[] {
  const seen = new Map<string, PortProtocol>();
  for (const e of endpoints) for (const p of e.ports) seen.set(`${p.containerPort}/${p.protocol}`, { port: p.containerPort, protocol: p.protocol });
  return [...seen.values()].sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0));
}
