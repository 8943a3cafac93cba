// Cluster state + the pods local to this node -> one nftables table. Pure. Rules grow with
// policies, not pods: pods that the same policies isolate share one chain, peers are named
// address sets per rule, and a pod reaches its chain through a verdict map keyed by its address.
import {
  isolatingPolicies,
  peerMatches,
  policySelects,
  type CompiledCluster,
  type CompiledPolicy,
  type CompiledRule,
  type Direction,
} from '../engine/index.js';
import { parseCIDR, parseIP, type Endpoint, type IPAddress, type Protocol } from '../model/index.js';
import { REVOKED_MARK } from './conntrack.js';
import { cidrRange, formatRange, mergeRanges, subtractRanges, type AddressRange } from './ranges.js';
import { quote, type Family, type NftChain, type NftCounter, type NftSet, type NftVerdictMap, type Ruleset } from './ruleset.js';

export interface DataplaneOptions {
  /** The table Podwall owns; nothing else is touched. */
  readonly table?: string;
  /** Which endpoints run on this node (all, in the lab). */
  readonly isLocal?: (endpoint: Endpoint) => boolean;
  /** Log denied packets (rate-limited) with a prefix naming the pod. */
  readonly log?: boolean;
  /** Counter values to carry over from the table being replaced. */
  readonly counterValues?: ReadonlyMap<string, { packets: number; bytes: number }>;
}

export const DEFAULT_TABLE = 'podwall';

interface PodAddresses {
  readonly endpoint: Endpoint;
  readonly index: number;
  readonly ips: { readonly 4?: IPAddress; readonly 6?: IPAddress };
  readonly text: { readonly 4?: string; readonly 6?: string };
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
const ipKeyword = (f: Family): string => (f === 4 ? 'ip' : 'ip6');
const addrType = (f: Family): string => (f === 4 ? 'ipv4_addr' : 'ipv6_addr');
const nftProto = (p: Protocol): string => p.toLowerCase();
const dirTag = (d: Direction): string => (d === 'Ingress' ? 'in' : 'eg');

function addressesOf(endpoint: Endpoint, index: number): PodAddresses {
  const ips: { 4?: IPAddress; 6?: IPAddress } = {};
  const text: { 4?: string; 6?: string } = {};
  for (const t of endpoint.ips) {
    const ip = parseIP(t);
    if (!ip || ips[ip.family]) continue;
    ips[ip.family] = ip;
    // Rendered from the parsed value, never from the manifest's text.
    text[ip.family] = formatRange({ first: ip.value, last: ip.value }, ip.family);
  }
  return { endpoint, index, ips, text };
}

/** Counter names must be identifiers; pod names are DNS names, which fit, unless too long. */
export function counterName(direction: Direction, endpoint: Endpoint): string {
  const name = `${dirTag(direction)}/${endpoint.namespace}/${endpoint.name}`;
  if (name.length <= 200) return name;
  let h = 0;
  for (const ch of name) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return `${name.slice(0, 190)}.${h.toString(16)}`;
}

export function compileRuleset(compiled: CompiledCluster, options: DataplaneOptions = {}): Ruleset {
  const table = options.table ?? DEFAULT_TABLE;
  const isLocal = options.isLocal ?? (() => true);
  const pods = compiled.cluster.endpoints
    .map((e, i) => addressesOf(e, i))
    .filter((p) => p.endpoint.ips.length > 0 && (p.ips[4] || p.ips[6]));
  // hostNetwork pods are not subject to policy and are the node's traffic: never dispatched. An
  // address claimed twice (a stale pod beside the one that reuses its IP) goes to the first pod
  // only, so one bad object cannot make the whole transaction fail.
  const claimed = new Set<string>();
  const local = pods
    .filter((p) => isLocal(p.endpoint) && !p.endpoint.hostNetwork)
    .map((p) => {
      const text: { 4?: string; 6?: string } = {};
      for (const family of [4, 6] as const) {
        const addr = p.text[family];
        if (addr && !claimed.has(addr)) {
          claimed.add(addr);
          text[family] = addr;
        }
      }
      return { ...p, text };
    });

  const sets: NftSet[] = [];
  const setNames = new Map<string, string | null>();
  // Rules whose sets hold the same elements share one set: the kernel's cost of a transaction grows
  // faster than linearly with the number of sets in it (1,716 sets for 1,000 pods / 1,000 policies
  // took about 2 s to apply, the 668 distinct ones a fraction of that).
  const byContent = new Map<string, { index: number; users: number }>();

  /** A named set, created once per key and shared by equal contents; null when it would be empty (nothing matches). */
  const internSet = (key: string, make: () => Omit<NftSet, 'name'>, prefix: string): string | null => {
    if (setNames.has(key)) return setNames.get(key)!;
    const body = make();
    if (body.elements.length === 0) {
      setNames.set(key, null);
      return null;
    }
    const content = `${body.type}|${body.interval}|${body.elements.join(',')}`;
    const same = byContent.get(content);
    if (same) {
      same.users++;
      setNames.set(key, sets[same.index].name);
      return sets[same.index].name;
    }
    const name = `${prefix}${sets.length}`;
    byContent.set(content, { index: sets.length, users: 1 });
    sets.push({ name, ...body });
    setNames.set(key, name);
    return name;
  };
  /** A shared set's comment names the first rule and how many more use it. */
  const commentedSets = (): NftSet[] =>
    [...byContent.values()].map(({ index, users }) => (users > 1 ? { ...sets[index], comment: `${sets[index].comment} (+${users - 1} more)` } : sets[index]));

  const ruleLabel = (rule: CompiledRule): string =>
    `${rule.policy.namespace}/${rule.policy.name} ${rule.direction === 'Ingress' ? 'ingress' : 'egress'}[${rule.index}]`;

  /** Addresses of the rule's peers, as pods and ipBlocks resolve them ("from"/"to"). */
  const peerSet = (rule: CompiledRule, family: Family): string | null =>
    internSet(
      `peers|${rule.policy.namespace}|${rule.policy.name}|${rule.direction}|${rule.index}|${family}`,
      () => {
        const ranges: AddressRange[] = [];
        for (const peer of rule.peers ?? []) {
          if (peer.kind === 'ipBlock') {
            if (peer.cidr.family !== family) continue;
            const holes = peer.except.map(cidrRange);
            ranges.push(...subtractRanges(cidrRange(peer.cidr), holes));
            continue;
          }
          for (const p of pods) {
            const ip = p.ips[family];
            if (ip && peerMatches(compiled, peer, p.endpoint, ip)) ranges.push({ first: ip.value, last: ip.value });
          }
        }
        return {
          type: addrType(family),
          interval: true,
          elements: mergeRanges(ranges).map((r) => formatRange(r, family)),
          comment: `${ruleLabel(rule)} peers`,
        };
      },
      `peer${family}-`,
    );

  /**
   * Named ports resolve per destination pod: (destination address . protocol . port) for every
   * pod the name can land on: pods the policy selects (ingress) or pods the rule's peers match (egress).
   */
  const namedPortSet = (policy: CompiledPolicy, rule: CompiledRule, family: Family): string | null =>
    internSet(
      `named|${rule.policy.namespace}|${rule.policy.name}|${rule.direction}|${rule.index}|${family}`,
      () => {
        const named = (rule.ports ?? []).filter((p) => p.kind === 'named');
        const destinations =
          rule.direction === 'Ingress'
            ? local.filter((p) => policySelects(policy, p.endpoint))
            : pods.filter(
                (p) =>
                  p.ips[family] !== undefined &&
                  (rule.peers === undefined || rule.peers.some((peer) => peerMatches(compiled, peer, p.endpoint, p.ips[family]))),
              );
        const elements = new Set<string>();
        for (const d of destinations) {
          const addr = d.text[family];
          if (!addr) continue;
          for (const entry of named) {
            if (entry.kind !== 'named') continue;
            for (const cp of d.endpoint.ports) {
              if (cp.name === entry.name && cp.protocol === entry.protocol) {
                elements.add(`${addr} . ${nftProto(cp.protocol)} . ${cp.containerPort}`);
              }
            }
          }
        }
        return {
          type: `${addrType(family)} . inet_proto . inet_service`,
          interval: false,
          elements: [...elements].sort(),
          comment: `${ruleLabel(rule)} named ports`,
        };
      },
      `named${family}-`,
    );

  /** The nft rules for one policy rule; `verdict` is accept (ingress) or return (egress, so ingress is still checked). */
  const renderRule = (policy: CompiledPolicy, rule: CompiledRule, verdict: 'accept' | 'return'): string[] => {
    const peerField = rule.direction === 'Ingress' ? 'saddr' : 'daddr';
    const comment = `comment ${quote(ruleLabel(rule))}`;
    type Cond = { text: string; family?: Family };
    const peerConds: Cond[] = [];
    if (rule.peers === undefined) peerConds.push({ text: '' });
    else {
      for (const family of [4, 6] as const) {
        const set = peerSet(rule, family);
        if (set) peerConds.push({ text: `${ipKeyword(family)} ${peerField} @${set}`, family });
      }
    }
    const portConds: Cond[] = [];
    if (rule.ports === undefined) portConds.push({ text: '' });
    else {
      const wholeProtocols = [...new Set(rule.ports.filter((p) => p.kind === 'all').map((p) => nftProto(p.protocol)))].sort();
      if (wholeProtocols.length === 1) portConds.push({ text: `meta l4proto ${wholeProtocols[0]}` });
      else if (wholeProtocols.length > 1) portConds.push({ text: `meta l4proto { ${wholeProtocols.join(', ')} }` });
      // Per protocol, overlapping or adjacent ranges merged: nft refuses overlapping interval elements
      // (`port: 8080` beside `port: 8000, endPort: 8100` would fail the whole transaction).
      // Each merged range keeps the place of its first port in the rule.
      const ranged = rule.ports.flatMap((p, at) => (p.kind === 'range' ? [{ proto: nftProto(p.protocol), first: p.port, last: p.endPort, at }] : []));
      const numbered = [...new Set(ranged.map((r) => r.proto))]
        .flatMap((proto) => {
          const mine = ranged.filter((r) => r.proto === proto);
          return mergeRanges(mine.map((r) => ({ first: BigInt(r.first), last: BigInt(r.last) }))).map((m) => ({
            text: `${proto} . ${m.first === m.last ? m.first : `${m.first}-${m.last}`}`,
            at: Math.min(...mine.filter((r) => BigInt(r.first) >= m.first && BigInt(r.last) <= m.last).map((r) => r.at)),
          }));
        })
        .sort((a, b) => a.at - b.at)
        .map((r) => r.text);
      if (numbered.length > 0) portConds.push({ text: `meta l4proto . th dport { ${numbered.join(', ')} }` });
      if (rule.ports.some((p) => p.kind === 'named')) {
        for (const family of [4, 6] as const) {
          const set = namedPortSet(policy, rule, family);
          if (set) portConds.push({ text: `${ipKeyword(family)} daddr . meta l4proto . th dport @${set}`, family });
        }
      }
    }
    const lines: string[] = [];
    for (const peer of peerConds) {
      for (const port of portConds) {
        if (peer.family && port.family && peer.family !== port.family) continue;
        lines.push([peer.text, port.text, verdict, comment].filter((s) => s !== '').join(' '));
      }
    }
    return lines;
  };

  const counters: NftCounter[] = [];
  const maps: NftVerdictMap[] = [];
  const chains: NftChain[] = [];

  for (const direction of ['Ingress', 'Egress'] as const) {
    const tag = dirTag(direction);
    const addrField = direction === 'Ingress' ? 'daddr' : 'saddr';
    const dispatch: Record<Family, [string, string][]> = { 4: [], 6: [] };
    const drops: Record<Family, [string, string][]> = { 4: [], 6: [] };
    const classChains = new Map<string, string>();

    for (const pod of local) {
      const policies = isolatingPolicies(compiled, pod.endpoint, direction);
      if (policies.length === 0) continue; // not isolated: no rule stands in its way
      const key = policies.map((p) => `${p.namespace}/${p.ref.name}`).join(',');
      let chain = classChains.get(key);
      if (!chain) {
        chain = `${tag}-${classChains.size}`;
        classChains.set(key, chain);
        const verdict = direction === 'Ingress' ? 'accept' : 'return';
        const rules = policies.flatMap((p) => p.rules[direction].flatMap((r) => renderRule(p, r, verdict)));
        // Nothing allowed it: count and reject in the pod's own drop chain.
        rules.push(`${ipKeyword(4)} ${addrField} vmap @drop-${tag}4`, `${ipKeyword(6)} ${addrField} vmap @drop-${tag}6`);
        rules.push('reject with icmpx admin-prohibited');
        chains.push({ name: chain, rules });
      }
      const counter = counterName(direction, pod.endpoint);
      const previous = options.counterValues?.get(counter);
      counters.push({ name: counter, packets: previous?.packets ?? 0, bytes: previous?.bytes ?? 0 });
      const dropChain = `drop-${tag}-${pod.index}`;
      const dropRules = [`counter name ${quote(counter, 255)}`];
      if (options.log) {
        dropRules.push(`limit rate 10/second burst 20 packets log prefix ${quote(`podwall drop ${tag} ${pod.endpoint.id}: `, 120)} level info`);
      }
      dropRules.push('meta l4proto tcp reject with tcp reset', 'reject with icmpx admin-prohibited');
      chains.push({ name: dropChain, rules: dropRules });
      for (const family of [4, 6] as const) {
        const addr = pod.text[family];
        if (!addr) continue;
        dispatch[family].push([addr, `jump ${chain}`]);
        drops[family].push([addr, `goto ${dropChain}`]);
      }
    }
    for (const family of [4, 6] as const) {
      maps.push({ name: `${direction === 'Ingress' ? 'ingress' : 'egress'}${family}`, type: addrType(family), elements: dispatch[family] });
      maps.push({ name: `drop-${tag}${family}`, type: addrType(family), elements: drops[family] });
    }
  }

  const revoked = `ct mark & ${hex(REVOKED_MARK)} == ${hex(REVOKED_MARK)}`;
  const common = [
    // A connection a change no longer allows is revoked (see conntrack.ts): every packet of it, either way, is refused.
    `${revoked} meta l4proto tcp reject with tcp reset`,
    `${revoked} drop`,
    // Replies and related ICMP always flow; only new connections are judged.
    'ct state established,related accept',
    'meta l4proto ipv6-icmp icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } accept',
    'ip saddr vmap @egress4',
    'ip6 saddr vmap @egress6',
  ];
  const base: NftChain[] = [
    // Pod to pod and pod to outside: the source's egress, then the destination's ingress.
    { name: 'forward', base: { hook: 'forward', priority: 'filter' }, rules: [...common, 'ip daddr vmap @ingress4', 'ip6 daddr vmap @ingress6'] },
    // Pod to the node itself: egress only. The node's own traffic to pods (probes) never passes here.
    { name: 'input', base: { hook: 'input', priority: 'filter' }, rules: common },
  ];

  return {
    family: 'inet',
    table,
    counters: counters.sort((a, b) => (a.name < b.name ? -1 : 1)),
    sets: commentedSets(),
    maps,
    chains: [...base, ...chains],
  };
}

/** Exposed for tests: the address ranges an ipBlock stands for. */
export function ipBlockRanges(cidr: string, except: readonly string[]): AddressRange[] {
  const c = parseCIDR(cidr).cidr!;
  return subtractRanges(cidrRange(c), except.map((e) => cidrRange(parseCIDR(e).cidr!)));
}
