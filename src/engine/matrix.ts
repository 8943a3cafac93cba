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
    for (let w = 0; w < this.words.length; w++) this.words[w] |= other.words[w];
  }
  fill(): void {
    this.words.fill(0xffffffff);
  }
}

/** Which source address family a destination class makes a connection use (see connectionAddresses). */
type SourceMode = IPFamily | 'primary';

function peerMatchesClass(rule: CompiledRule, cls: EndpointClass, family: IPFamily | undefined): boolean {
  if (rule.peers === undefined) return true;
  for (const peer of rule.peers) {
    if (peer.kind === 'pods' ? cls.podPeers.has(peer.id) : family !== undefined && cls.ipPeers[family].has(peer.id)) {
      return true;
    }
  }
  return false;
}

function portMatchesClass(rule: CompiledRule, target: PortProtocol, destination: EndpointClass): boolean {
  return rule.ports === undefined || rule.ports.some((p) => portMatches(p, target.port, target.protocol, destination.representative));
}

/** The class-level matrix; `classes` may be passed in to share them across ports. */
export function computeMatrix(compiled: CompiledCluster, target: PortProtocol, classes?: EndpointClasses): Matrix {
  const { classes: list, classOf } = classes ?? computeClasses(compiled);
  const n = list.length;

  // Egress: for each rule, the destination classes it lets a source reach on this port.
  const destinationsByRule = new Map<CompiledRule, Bitset>();
  const destinationsOf = (rule: CompiledRule): Bitset => {
    let set = destinationsByRule.get(rule);
    if (!set) {
      set = new Bitset(n);
      for (const d of list) {
        if (portMatchesClass(rule, target, d) && peerMatchesClass(rule, d, d.primaryFamily)) set.set(d.id);
      }
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
      set = new Bitset(n);
      for (const s of list) {
        const family = mode === 'primary' ? s.primaryFamily : mode;
        if (peerMatchesClass(rule, s, family)) set.set(s.id);
      }
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
    return column;
  });

  const cells = new Uint8Array(n * n);
  for (let s = 0; s < n; s++) {
    const row = egressRows[s];
    for (let d = 0; d < n; d++) if (row.has(d) && ingressColumns[d].has(s)) cells[s * n + d] = 1;
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
