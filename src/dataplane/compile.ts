// Cluster state + the pods local to this node -> one nftables table. Pure. Pods isolated by the
// same policies share one chain, reached through a verdict map keyed by pod address; each chain
// is at most a few lookups per address family, whatever the number of rules, in interval sets
// that hold everything its policies allow: peer addresses (pods resolved to their IPs, ipBlocks
// with `except` cut out) with protocols and port ranges, and named ports resolved per pod.
import { computeClasses, isolatingPolicies, peerMatches, type CompiledCluster, type CompiledPolicy, type CompiledRule, type Direction } from '../engine/index.js';
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

/** Traffic a class lets through, per family, before it is rendered as set elements. */
interface Allowed {
  /** Rules without ports: every protocol from/to these addresses. */
  readonly anyProtocol: AddressRange[];
  /** Rules with ports: (peer addresses, protocol, port range); egress named ports land here too. */
  readonly ports: { readonly addresses: AddressRange; readonly protocol: string; readonly first: number; readonly last: number }[];
  /** Ingress named ports: (destination pod, peer addresses, protocol, port). */
  readonly named: { readonly destination: string; readonly addresses: AddressRange; readonly protocol: string; readonly port: number }[];
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
const ipKeyword = (f: Family): string => (f === 4 ? 'ip' : 'ip6');
const addrType = (f: Family): string => (f === 4 ? 'ipv4_addr' : 'ipv6_addr');
const nftProto = (p: Protocol): string => p.toLowerCase();
const dirTag = (d: Direction): string => (d === 'Ingress' ? 'in' : 'eg');
const wholeSpace = (f: Family): AddressRange => ({ first: 0n, last: (1n << (f === 4 ? 32n : 128n)) - 1n });

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

/**
 * Boxes (addresses x port range) of one protocol made disjoint: the kernel's interval sets for
 * concatenations refuse overlapping elements. Port boundaries cut the axis into pieces; each
 * piece takes the merged addresses of the boxes covering it; equal neighbours join again.
 */
function disjoint(boxes: readonly { addresses: AddressRange; first: number; last: number }[]): { addresses: AddressRange; first: number; last: number }[] {
  const cuts = [...new Set(boxes.flatMap((b) => [b.first, b.last + 1]))].sort((a, b) => a - b);
  const pieces: { first: number; last: number; ranges: AddressRange[]; key: string }[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const first = cuts[i];
    const last = cuts[i + 1] - 1;
    const ranges = mergeRanges(boxes.filter((b) => b.first <= first && b.last >= last).map((b) => b.addresses));
    if (ranges.length === 0) continue;
    const key = ranges.map((r) => `${r.first}-${r.last}`).join(',');
    const previous = pieces[pieces.length - 1];
    if (previous && previous.key === key && previous.last + 1 === first) previous.last = last;
    else pieces.push({ first, last, ranges, key });
  }
  return pieces.flatMap((p) => p.ranges.map((addresses) => ({ addresses, first: p.first, last: p.last })));
}

export function compileRuleset(compiled: CompiledCluster, options: DataplaneOptions = {}): Ruleset {
  const table = options.table ?? DEFAULT_TABLE;
  const isLocal = options.isLocal ?? (() => true);
  const pods = compiled.cluster.endpoints
    .map((e, i) => addressesOf(e, i))
    .filter((p) => p.ips[4] !== undefined || p.ips[6] !== undefined);
  // "The data plane never lets a shared address weaken isolation: when two live pods claim one
  // address, that address gets the verdict of the most restrictive claimant (or is dropped), never
  // 'no entry'" (issue 13). A packet cannot tell the claimants (a terminating pod beside the new one
  // that reuses its IP, or a forged status) apart, so where any claimant runs on this node the
  // address is dropped: every new connection from or to it goes to a conflict chain that counts it
  // (`in|eg/conflict/<address>`, so an operator sees why) and refuses it. That is exact and costs one
  // chain, where an intersection of the claimants' chains would be a new class per combination;
  // a remote claimant's node sees the same state and drops it too. As a peer, an address is admitted
  // by a rule only when the rule admits every claimant (an ipBlock covering it does: it is about
  // addresses). Terminated pods hold no address (the model drops them); hostNetwork pods share the
  // node's address by design and are never dispatched.
  const claimants = new Map<string, number[]>();
  for (const p of pods) {
    if (p.endpoint.hostNetwork) continue;
    for (const family of [4, 6] as const) {
      const addr = p.text[family];
      if (addr) claimants.set(addr, [...(claimants.get(addr) ?? []), p.index]);
    }
  }
  const shared = new Set([...claimants].filter(([, who]) => who.length > 1).map(([addr]) => addr));
  const conflicted = [...shared].filter((addr) => claimants.get(addr)!.some((i) => isLocal(compiled.cluster.endpoints[i]))).sort();
  const local = pods
    .filter((p) => isLocal(p.endpoint) && !p.endpoint.hostNetwork)
    .map((p) => {
      const text: { 4?: string; 6?: string } = {};
      for (const family of [4, 6] as const) {
        const addr = p.text[family];
        if (addr && !shared.has(addr)) text[family] = addr;
      }
      return { ...p, text };
    });

  // Which pods each pod peer matches, from the engine's classes (one selector match per class, not per pod).
  const byIndex = new Map(pods.map((p) => [p.index, p]));
  const { classes, classOf } = computeClasses(compiled);
  const podsOfPeer = new Map<number, PodAddresses[]>();
  compiled.cluster.endpoints.forEach((_, i) => {
    const pod = byIndex.get(i);
    if (!pod) return;
    for (const id of classes[classOf[i]].podPeers) {
      const list = podsOfPeer.get(id);
      if (list) list.push(pod);
      else podsOfPeer.set(id, [pod]);
    }
  });

  /** Addresses a rule's peers stand for ("from"/"to"), per family; all of them when it has none. */
  const peerRanges = new Map<CompiledRule, Record<Family, AddressRange[]>>();
  const rangesOf = (rule: CompiledRule, family: Family): AddressRange[] => {
    let cached = peerRanges.get(rule);
    if (!cached) {
      cached = { 4: [], 6: [] };
      for (const f of [4, 6] as const) {
        if (rule.peers === undefined) {
          cached[f] = [wholeSpace(f)];
          continue;
        }
        const ranges: AddressRange[] = [];
        const matched: PodAddresses[] = [];
        for (const peer of rule.peers) {
          if (peer.kind === 'ipBlock') {
            if (peer.cidr.family === f) ranges.push(...subtractRanges(cidrRange(peer.cidr), peer.except.map(cidrRange)));
          } else matched.push(...(podsOfPeer.get(peer.id) ?? []));
        }
        // A packet from a shared address may come from any claimant: the rule's pod peers admit it
        // only when they match every claimant (an ipBlock covering it admits it: it is about addresses).
        const members = new Set(matched.map((p) => p.index));
        for (const p of matched) {
          const ip = p.ips[f];
          const text = p.text[f];
          if (!ip || !text) continue;
          if (shared.has(text) && !claimants.get(text)!.every((i) => members.has(i))) continue;
          ranges.push({ first: ip.value, last: ip.value });
        }
        cached[f] = mergeRanges(ranges);
      }
      peerRanges.set(rule, cached);
    }
    return cached[family];
  };

  /** Everything a class's policies allow in one direction, for one family. */
  const allowedFor = (policies: readonly CompiledPolicy[], direction: Direction, family: Family, members: readonly PodAddresses[]): Allowed => {
    const allowed: Allowed = { anyProtocol: [], ports: [], named: [] };
    for (const policy of policies) {
      for (const rule of policy.rules[direction]) {
        const ranges = rangesOf(rule, family);
        if (ranges.length === 0) continue; // peers that match nothing allow nothing
        if (rule.ports === undefined) {
          allowed.anyProtocol.push(...ranges);
          continue;
        }
        for (const port of rule.ports) {
          const protocol = nftProto(port.protocol);
          if (port.kind === 'all') for (const addresses of ranges) allowed.ports.push({ addresses, protocol, first: 0, last: 65535 });
          else if (port.kind === 'range') for (const addresses of ranges) allowed.ports.push({ addresses, protocol, first: port.port, last: port.endPort });
          else if (direction === 'Ingress') {
            // "a named port is resolved against the destination pod": each member on its own number.
            for (const m of members) {
              const destination = m.text[family];
              if (!destination) continue;
              for (const cp of m.endpoint.ports) {
                if (cp.name !== port.name || cp.protocol !== port.protocol) continue;
                for (const addresses of ranges) allowed.named.push({ destination, addresses, protocol, port: cp.containerPort });
              }
            }
          } else {
            // Egress: the destination is the peer, so its addresses carry their own numbers. A shared
            // address gets only the numbers every claimant is a peer for and gives the name.
            const numbers = (d: PodAddresses, ip: IPAddress): number[] => {
              const inPeers = rule.peers === undefined || rule.peers.some((peer) => peerMatches(compiled, peer, d.endpoint, ip));
              return inPeers ? d.endpoint.ports.filter((cp) => cp.name === port.name && cp.protocol === port.protocol).map((cp) => cp.containerPort) : [];
            };
            for (const d of pods) {
              const ip = d.ips[family];
              const text = d.text[family];
              if (!ip || !text) continue;
              let admitted = numbers(d, ip);
              const who = shared.has(text) ? claimants.get(text)! : [];
              if (who.length > 0 && who[0] !== d.index) continue; // a shared address once, through its first claimant
              for (const i of who.slice(1)) {
                const other = numbers(byIndex.get(i)!, ip);
                admitted = admitted.filter((n) => other.includes(n));
              }
              for (const n of new Set(admitted)) allowed.ports.push({ addresses: { first: ip.value, last: ip.value }, protocol, first: n, last: n });
            }
          }
        }
      }
    }
    return allowed;
  };

  const sets: NftSet[] = [];
  const byContent = new Map<string, number>();
  /** A named set; sets of equal content are shared. */
  const internSet = (body: Omit<NftSet, 'name'>, prefix: string): string => {
    const content = `${body.type}|${body.elements.join(',')}`;
    const existing = byContent.get(content);
    if (existing !== undefined) return sets[existing].name;
    const name = `${prefix}${sets.length}`;
    byContent.set(content, sets.length);
    sets.push({ name, ...body });
    return name;
  };

  /** The lookups of one class chain: at most three per family. */
  const classRules = (allowed: Record<Family, Allowed>, direction: Direction, label: string): string[] => {
    const verdict = direction === 'Ingress' ? 'accept' : 'return';
    const peerField = direction === 'Ingress' ? 'saddr' : 'daddr';
    const rules: string[] = [];
    for (const family of [4, 6] as const) {
      const a = allowed[family];
      const ip = ipKeyword(family);
      const any = mergeRanges(a.anyProtocol);
      if (any.length === 1 && any[0].first === 0n && any[0].last === wholeSpace(family).last) {
        rules.push(`meta nfproto ipv${family} ${verdict}`);
        continue;
      }
      if (any.length > 0) {
        const set = internSet({ type: addrType(family), interval: true, elements: any.map((r) => formatRange(r, family)), comment: `${label}: any protocol` }, `any${family}-`);
        rules.push(`${ip} ${peerField} @${set} ${verdict}`);
      }
      if (a.ports.length > 0) {
        const elements: string[] = [];
        for (const protocol of [...new Set(a.ports.map((p) => p.protocol))].sort()) {
          for (const box of disjoint(a.ports.filter((p) => p.protocol === protocol))) {
            elements.push(`${formatRange(box.addresses, family)} . ${protocol} . ${box.first === box.last ? box.first : `${box.first}-${box.last}`}`);
          }
        }
        const set = internSet({ type: `${addrType(family)} . inet_proto . inet_service`, interval: true, elements, comment: `${label}: ports` }, `ports${family}-`);
        rules.push(`${ip} ${peerField} . meta l4proto . th dport @${set} ${verdict}`);
      }
      if (a.named.length > 0) {
        const grouped = new Map<string, AddressRange[]>();
        for (const n of a.named) {
          const key = `${n.destination} . %s . ${n.protocol} . ${n.port}`;
          grouped.set(key, [...(grouped.get(key) ?? []), n.addresses]);
        }
        const elements = [...grouped.entries()].flatMap(([key, ranges]) => mergeRanges(ranges).map((r) => key.replace('%s', formatRange(r, family)))).sort();
        const set = internSet(
          { type: `${addrType(family)} . ${addrType(family)} . inet_proto . inet_service`, interval: true, elements, comment: `${label}: named ports` },
          `named${family}-`,
        );
        rules.push(`${ip} daddr . ${ip} saddr . meta l4proto . th dport @${set} ${verdict}`);
      }
    }
    return rules;
  };

  const counters: NftCounter[] = [];
  const maps: NftVerdictMap[] = [];
  const chains: NftChain[] = [];

  for (const direction of ['Ingress', 'Egress'] as const) {
    const tag = dirTag(direction);
    const addrField = direction === 'Ingress' ? 'daddr' : 'saddr';
    const dispatch: Record<Family, [string, string][]> = { 4: [], 6: [] };
    const counted: Record<Family, [string, string][]> = { 4: [], 6: [] };
    const logged: Record<Family, [string, string][]> = { 4: [], 6: [] };
    const classes = new Map<string, { policies: CompiledPolicy[]; members: typeof local }>();
    for (const pod of local) {
      if (pod.text[4] === undefined && pod.text[6] === undefined) continue; // every address shared: the conflict chain's
      const policies = isolatingPolicies(compiled, pod.endpoint, direction);
      if (policies.length === 0) continue; // not isolated: no rule stands in its way
      const key = policies.map((p) => `${p.namespace}/${p.ref.name}`).join(',');
      const cls = classes.get(key) ?? { policies, members: [] };
      cls.members.push(pod);
      classes.set(key, cls);
    }
    let index = 0;
    for (const [key, cls] of classes) {
      const chain = `${tag}-${index++}`;
      const label = `${direction === 'Ingress' ? 'ingress' : 'egress'} of pods isolated by ${key}`;
      const allowed = { 4: allowedFor(cls.policies, direction, 4, cls.members), 6: allowedFor(cls.policies, direction, 6, cls.members) };
      const rules = classRules(allowed, direction, label);
      // Nothing allowed it: counted in the pod's own counter, logged if asked, then refused at once.
      for (const family of [4, 6] as const) {
        const key = `${ipKeyword(family)} ${addrField}`;
        rules.push(options.log ? `${key} vmap @log-${tag}${family}` : `counter name ${key} map @count-${tag}${family}`);
      }
      rules.push('meta l4proto tcp reject with tcp reset', 'reject with icmpx admin-prohibited');
      chains.push({ name: chain, rules });
      for (const pod of cls.members) {
        const counter = counterName(direction, pod.endpoint);
        const previous = options.counterValues?.get(counter);
        counters.push({ name: counter, packets: previous?.packets ?? 0, bytes: previous?.bytes ?? 0 });
        if (options.log) {
          const logChain = `log-${tag}-${pod.index}`;
          chains.push({
            name: logChain,
            rules: [
              `counter name ${quote(counter, 255)}`,
              `limit rate 10/second burst 20 packets log prefix ${quote(`podwall drop ${tag} ${pod.endpoint.id}: `, 120)} level info`,
            ],
          });
          for (const family of [4, 6] as const) if (pod.text[family]) logged[family].push([pod.text[family]!, `jump ${logChain}`]);
        }
        for (const family of [4, 6] as const) {
          const addr = pod.text[family];
          if (!addr) continue;
          dispatch[family].push([addr, `jump ${chain}`]);
          counted[family].push([addr, quote(counter, 255)]);
        }
      }
    }
    if (conflicted.length > 0) {
      const chain = `${tag}-conflict`;
      const rules: string[] = [];
      for (const family of [4, 6] as const) {
        const key = `${ipKeyword(family)} ${addrField}`;
        rules.push(options.log ? `${key} vmap @log-${tag}${family}` : `counter name ${key} map @count-${tag}${family}`);
      }
      rules.push('meta l4proto tcp reject with tcp reset', 'reject with icmpx admin-prohibited');
      chains.push({ name: chain, rules });
      for (const addr of conflicted) {
        const family = parseIP(addr)!.family;
        // Counter names take no ':' (IPv6): written with '-' instead.
        const counter = `${tag}/conflict/${addr.replaceAll(':', '-')}`;
        const previous = options.counterValues?.get(counter);
        counters.push({ name: counter, packets: previous?.packets ?? 0, bytes: previous?.bytes ?? 0 });
        dispatch[family].push([addr, `jump ${chain}`]);
        counted[family].push([addr, quote(counter, 255)]);
        if (options.log) {
          const logChain = `log-${tag}-conflict-${conflicted.indexOf(addr)}`;
          chains.push({
            name: logChain,
            rules: [`counter name ${quote(counter, 255)}`, `limit rate 10/second burst 20 packets log prefix ${quote(`podwall drop ${tag} shared ${addr}: `, 120)} level info`],
          });
          logged[family].push([addr, `jump ${logChain}`]);
        }
      }
    }
    for (const family of [4, 6] as const) {
      maps.push({ name: `${direction === 'Ingress' ? 'ingress' : 'egress'}${family}`, type: addrType(family), elements: dispatch[family] });
      if (options.log) maps.push({ name: `log-${tag}${family}`, type: addrType(family), elements: logged[family] });
      else maps.push({ name: `count-${tag}${family}`, type: addrType(family), valueType: 'counter', elements: counted[family] });
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
    sets,
    maps,
    chains: [...base, ...chains],
  };
}

/** Exposed for tests: the address ranges an ipBlock stands for. */
export function ipBlockRanges(cidr: string, except: readonly string[]): AddressRange[] {
  const c = parseCIDR(cidr).cidr!;
  return subtractRanges(cidrRange(c), except.map((e) => cidrRange(parseCIDR(e).cidr!)));
}
