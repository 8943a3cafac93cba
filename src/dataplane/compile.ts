// Cluster state + the pods local to this node -> one nftables table. Pure. Pods under the same
// policies (admin, NetworkPolicy, baseline) share one chain, reached through a verdict map keyed by
// pod address; each stage of a chain is a few lookups per address family, whatever the number of
// rules, in interval sets that hold everything its rules match: peer addresses (pods resolved to
// their IPs, ipBlocks with `except` cut out) with protocols and port ranges, and named ports
// resolved per pod. The stages run in the tiers' order: Admin, NetworkPolicy, Baseline.
import {
  adminPoliciesSelecting,
  computeClasses,
  isolatingPolicies,
  peerMatches,
  type CompiledAdminPolicy,
  type CompiledAdminPort,
  type CompiledCluster,
  type CompiledPeer,
  type CompiledPolicy,
  type CompiledPort,
  type Direction,
} from '../engine/index.js';
import { parseCIDR, parseIP, type AdminTier, type Endpoint, type IPAddress, type Protocol } from '../model/index.js';
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

/** A rule as the sets see it: a NetworkPolicy rule, or an admin or baseline rule (whose `key` caches its addresses). */
interface TrafficRule {
  readonly key: object;
  /** undefined: every address. */
  readonly peers?: readonly CompiledPeer[];
  /** undefined: every protocol and port. */
  readonly ports?: readonly (CompiledPort | CompiledAdminPort)[];
}

/** How a shared address is taken as a peer: admitted when the rule matches every claimant, or refused when it matches any. */
type SharedMode = 'every' | 'any';

/** Traffic a class's rules match, per family, before it is rendered as set elements. */
interface Allowed {
  /** Rules without ports: every protocol from/to these addresses. */
  readonly anyProtocol: AddressRange[];
  /** Rules with ports: (peer addresses, protocol, port range); egress named ports land here too. */
  readonly ports: { readonly addresses: AddressRange; readonly protocol: string; readonly first: number; readonly last: number }[];
  /** Ingress named ports: (destination pod, peer addresses, protocol, port). */
  readonly named: { readonly destination: string; readonly addresses: AddressRange; readonly protocol: string; readonly port: number }[];
}

/** Whether a rule's traffic depends on the class it is compiled for: ingress named ports resolve against the class's members. */
const isPerClass = (rule: TrafficRule, direction: Direction): boolean =>
  direction === 'Ingress' && rule.ports?.some((p) => p.kind === 'named' || p.kind === 'namedAnyProtocol') === true;
const isEmpty = (a: Allowed): boolean => a.anyProtocol.length + a.ports.length + a.named.length === 0;
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

  /**
   * Addresses a rule's peers stand for ("from"/"to"), per family; all of them when it has none.
   * A packet from a shared address may come from any claimant: where the rule lets traffic on
   * (`every`), its pod peers admit the address only when they match every claimant; where it denies
   * (`any`), when they match any one (an ipBlock covering the address matches it either way: it is
   * about addresses).
   */
  const peerRanges: Record<SharedMode, Map<object, Record<Family, AddressRange[]>>> = { every: new Map(), any: new Map() };
  const rangesOf = (rule: TrafficRule, family: Family, mode: SharedMode): AddressRange[] => {
    let cached = peerRanges[mode].get(rule.key);
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
        const members = new Set(matched.map((p) => p.index));
        for (const p of matched) {
          const ip = p.ips[f];
          const text = p.text[f];
          if (!ip || !text) continue;
          if (mode === 'every' && shared.has(text) && !claimants.get(text)!.every((i) => members.has(i))) continue;
          ranges.push({ first: ip.value, last: ip.value });
        }
        cached[f] = mergeRanges(ranges);
      }
      peerRanges[mode].set(rule.key, cached);
    }
    return cached[family];
  };

  /**
   * Everything one rule matches in one direction, for one family. Only ingress named ports depend
   * on the class (its members' own numbers): everything else is computed once per rule, however
   * many classes the rule's policy applies to.
   */
  const ruleTraffic = new Map<object, Map<string, Allowed>>();
  const trafficOfRule = (rule: TrafficRule, direction: Direction, family: Family, members: readonly PodAddresses[], mode: SharedMode): Allowed => {
    const perClass = isPerClass(rule, direction);
    const key = `${direction}|${family}|${mode}`;
    const cached = perClass ? undefined : ruleTraffic.get(rule.key)?.get(key);
    if (cached) return cached;
    const allowed = computeTraffic(rule, direction, family, members, mode);
    if (!perClass) {
      const byKey = ruleTraffic.get(rule.key) ?? new Map<string, Allowed>();
      byKey.set(key, allowed);
      ruleTraffic.set(rule.key, byKey);
    }
    return allowed;
  };
  /** Everything some of `rules` match in one direction, for one family. */
  const trafficOf = (rules: readonly TrafficRule[], direction: Direction, family: Family, members: readonly PodAddresses[], mode: SharedMode): Allowed => {
    const allowed: Allowed = { anyProtocol: [], ports: [], named: [] };
    for (const rule of rules) {
      const one = trafficOfRule(rule, direction, family, members, mode);
      for (const r of one.anyProtocol) allowed.anyProtocol.push(r);
      for (const p of one.ports) allowed.ports.push(p);
      for (const n of one.named) allowed.named.push(n);
    }
    return allowed;
  };
  const computeTraffic = (rule: TrafficRule, direction: Direction, family: Family, members: readonly PodAddresses[], mode: SharedMode): Allowed => {
    const allowed: Allowed = { anyProtocol: [], ports: [], named: [] };
    const ranges = rangesOf(rule, family, mode);
    if (ranges.length === 0) return allowed; // peers that match nothing match no traffic
    if (rule.ports === undefined) {
      allowed.anyProtocol.push(...ranges);
      return allowed;
    }
    for (const port of rule.ports) {
      if (port.kind === 'all') for (const addresses of ranges) allowed.ports.push({ addresses, protocol: nftProto(port.protocol), first: 0, last: 65535 });
      else if (port.kind === 'range') for (const addresses of ranges) allowed.ports.push({ addresses, protocol: nftProto(port.protocol), first: port.port, last: port.endPort });
      else {
        // A NetworkPolicy's named port keeps its protocol; an admin rule's means the container port of that name, whatever its protocol.
        const named = (cp: Endpoint['ports'][number]): boolean => cp.name === port.name && (port.kind === 'namedAnyProtocol' || cp.protocol === port.protocol);
        if (direction === 'Ingress') {
          // "a named port is resolved against the destination pod": each member on its own number.
          for (const m of members) {
            const destination = m.text[family];
            if (!destination) continue;
            for (const cp of m.endpoint.ports) {
              if (!named(cp)) continue;
              for (const addresses of ranges) allowed.named.push({ destination, addresses, protocol: nftProto(cp.protocol), port: cp.containerPort });
            }
          }
        } else {
          // Egress: the destination is the peer, so its addresses carry their own numbers. A shared
          // address gets only the numbers every claimant is a peer for and gives the name (any one, for a denial).
          const numbers = (d: PodAddresses, ip: IPAddress): string[] => {
            const inPeers = rule.peers === undefined || rule.peers.some((peer) => peerMatches(compiled, peer, d.endpoint, ip));
            return inPeers ? d.endpoint.ports.filter(named).map((cp) => `${nftProto(cp.protocol)}/${cp.containerPort}`) : [];
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
              admitted = mode === 'every' ? admitted.filter((n) => other.includes(n)) : [...admitted, ...other];
            }
            for (const n of new Set(admitted)) {
              const [protocol, number] = n.split('/');
              allowed.ports.push({ addresses: { first: ip.value, last: ip.value }, protocol, first: Number(number), last: Number(number) });
            }
          }
        }
      }
    }
    return allowed;
  };
  const networkPolicyRules = (policies: readonly CompiledPolicy[], direction: Direction): TrafficRule[] =>
    policies.flatMap((policy) => policy.rules[direction].map((rule) => ({ key: rule, peers: rule.peers, ports: rule.ports })));

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

  /** The matches of one stage of a class chain: at most three per family (each then ends in the stage's verdict). */
  const lookups = (allowed: Record<Family, Allowed>, direction: Direction, label: string): string[] => {
    const peerField = direction === 'Ingress' ? 'saddr' : 'daddr';
    const rules: string[] = [];
    for (const family of [4, 6] as const) {
      const a = allowed[family];
      const ip = ipKeyword(family);
      const any = mergeRanges(a.anyProtocol);
      if (any.length === 1 && any[0].first === 0n && any[0].last === wholeSpace(family).last) {
        rules.push(`meta nfproto ipv${family}`);
        continue;
      }
      if (any.length > 0) {
        const set = internSet({ type: addrType(family), interval: true, elements: any.map((r) => formatRange(r, family)), comment: `${label}: any protocol` }, `any${family}-`);
        rules.push(`${ip} ${peerField} @${set}`);
      }
      if (a.ports.length > 0) {
        const elements: string[] = [];
        for (const protocol of [...new Set(a.ports.map((p) => p.protocol))].sort()) {
          for (const box of disjoint(a.ports.filter((p) => p.protocol === protocol))) {
            elements.push(`${formatRange(box.addresses, family)} . ${protocol} . ${box.first === box.last ? box.first : `${box.first}-${box.last}`}`);
          }
        }
        const set = internSet({ type: `${addrType(family)} . inet_proto . inet_service`, interval: true, elements, comment: `${label}: ports` }, `ports${family}-`);
        rules.push(`${ip} ${peerField} . meta l4proto . th dport @${set}`);
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
        rules.push(`${ip} daddr . ${ip} saddr . meta l4proto . th dport @${set}`);
      }
    }
    return rules;
  };
  // Classes that differ in some tier share the sets of the others: a stage's matches are computed once per content.
  const ruleIds = new Map<object, number>();
  const idOf = (o: object): number => {
    let id = ruleIds.get(o);
    if (id === undefined) ruleIds.set(o, (id = ruleIds.size));
    return id;
  };
  const stageLookups = new Map<string, string[]>();
  const lookupsOf = (rules: readonly TrafficRule[], direction: Direction, members: readonly PodAddresses[], mode: SharedMode, label: string, verdict: string, comment?: string): string[] => {
    const perClass = rules.some((r) => isPerClass(r, direction));
    const key = [direction, mode, rules.map((r) => idOf(r.key)).join(','), perClass ? members.map((m) => m.index).join(',') : ''].join('|');
    let matches = stageLookups.get(key);
    if (!matches) {
      matches = lookups({ 4: trafficOf(rules, direction, 4, members, mode), 6: trafficOf(rules, direction, 6, members, mode) }, direction, label);
      stageLookups.set(key, matches);
    }
    const end = comment === undefined ? verdict : `${verdict} comment ${quote(comment)}`;
    return matches.map((match) => `${match} ${end}`);
  };

  /** The admin or baseline policies whose subject selects the pod and that have rules of `direction` (never a host-network pod). */
  const subjectOf = (tier: AdminTier, endpoint: Endpoint, direction: Direction): CompiledAdminPolicy[] =>
    adminPoliciesSelecting(compiled, endpoint, tier).filter((p) => p.rules[direction].length > 0);
  const adminName = (p: CompiledAdminPolicy): string => `${p.ref.kind}/${p.ref.name}`;

  /**
   * One tier's stage: its policies' rules of `direction` in evaluation order, each run of adjacent
   * rules that lead to one verdict a lookup of their union (the first matching rule decides, so order
   * within a run does not matter), without the runs at the end that lead where the stage's end does.
   */
  const stageRules = (
    policies: readonly CompiledAdminPolicy[],
    tier: AdminTier,
    verdicts: { readonly allow: string; readonly deny: string; readonly end: string },
    label: (stage: string) => string,
    direction: Direction,
    members: readonly PodAddresses[],
  ): string[] => {
    // "Pass: skip the rest of the Admin tier"; in the Baseline tier nothing follows but the default: allow.
    const pass = tier === 'Admin' ? verdicts.end : verdicts.allow;
    const runs: { verdict: string; rules: TrafficRule[] }[] = [];
    for (const policy of policies) {
      for (const rule of policy.rules[direction]) {
        const verdict = rule.effect === 'accept' ? verdicts.allow : rule.effect === 'deny' ? verdicts.deny : pass;
        const traffic = { key: rule, peers: rule.peers, ports: rule.ports };
        // A rule that matches no traffic here never decides: left out, so that its neighbours may join.
        const mode = verdict === verdicts.deny ? 'any' : 'every';
        if (([4, 6] as const).every((f) => isEmpty(trafficOfRule(traffic, direction, f, members, mode)))) continue;
        const last = runs[runs.length - 1];
        if (last?.verdict === verdict) last.rules.push(traffic);
        else runs.push({ verdict, rules: [traffic] });
      }
    }
    while (runs.length > 0 && runs[runs.length - 1].verdict === verdicts.end) runs.pop();
    return runs.flatMap((run) => {
      const what = run.verdict === verdicts.deny ? 'deny' : run.verdict === verdicts.allow ? 'accept' : 'pass';
      return lookupsOf(run.rules, direction, members, what === 'deny' ? 'any' : 'every', label(`${tier} ${what}`), run.verdict, `${tier} ${what}`);
    });
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
    const denyTail: string[] = [];
    for (const family of [4, 6] as const) {
      const key = `${ipKeyword(family)} ${addrField}`;
      denyTail.push(options.log ? `${key} vmap @log-${tag}${family}` : `counter name ${key} map @count-${tag}${family}`);
    }
    denyTail.push('meta l4proto tcp reject with tcp reset', 'reject with icmpx admin-prohibited');
    interface Class {
      readonly admin: CompiledAdminPolicy[];
      readonly policies: CompiledPolicy[];
      readonly baseline: CompiledAdminPolicy[];
      readonly members: typeof local;
    }
    const classes = new Map<string, Class>();
    for (const pod of local) {
      if (pod.text[4] === undefined && pod.text[6] === undefined) continue; // every address shared: the conflict chain's
      const admin = subjectOf('Admin', pod.endpoint, direction);
      const policies = isolatingPolicies(compiled, pod.endpoint, direction);
      // NetworkPolicy decides for the pods it isolates: the baseline tier is never reached for them.
      const baseline = policies.length > 0 ? [] : subjectOf('Baseline', pod.endpoint, direction);
      if (admin.length === 0 && policies.length === 0 && baseline.length === 0) continue; // no rule stands in its way
      const npKey = policies.map((p) => `${p.namespace}/${p.ref.name}`).join(',');
      const key = admin.length === 0 && baseline.length === 0 ? npKey : `${admin.map(adminName).join(',')}|${npKey}|${baseline.map(adminName).join(',')}`;
      const cls = classes.get(key) ?? { admin, policies, baseline, members: [] };
      cls.members.push(pod);
      classes.set(key, cls);
    }
    let index = 0;
    let denies = false;
    for (const [key, cls] of classes) {
      const chain = `${tag}-${index}`;
      const way = direction === 'Ingress' ? 'ingress' : 'egress';
      const allow = direction === 'Ingress' ? 'accept' : 'return';
      const rules: string[] = [];
      if (cls.admin.length === 0 && cls.baseline.length === 0) {
        const label = `${way} of pods isolated by ${key}`;
        rules.push(...lookupsOf(networkPolicyRules(cls.policies, direction), direction, cls.members, 'every', label, allow));
        // Nothing allowed it: counted in the pod's own counter, logged if asked, then refused at once.
        rules.push(...denyTail);
        chains.push({ name: chain, rules });
      } else {
        // The tiers in order. An admin Accept lets this side through (`return` to the hook, which
        // still judges the other side; ingress is judged last, so it may `accept`), a Deny is counted
        // and refused, a Pass skips the rest of the Admin tier; then NetworkPolicy decides for pods it
        // isolates; else the baseline tier, whose Pass, like falling off its end, means allowed.
        const deny = `goto ${tag}-deny`;
        // The stage first: comments are cut at 127 characters.
        const label = (stage: string): string =>
          `${stage}, ${way} of ${[...cls.admin, ...cls.baseline].map(adminName).join(',')}${cls.policies.length > 0 ? ` and pods isolated by ${cls.policies.map((p) => `${p.namespace}/${p.ref.name}`).join(',')}` : ''}`;
        const rest: string[] = [];
        if (cls.policies.length > 0) {
          rest.push(...lookupsOf(networkPolicyRules(cls.policies, direction), direction, cls.members, 'every', label('NetworkPolicy'), allow, 'NetworkPolicy allow'));
          rest.push(...denyTail);
        } else {
          rest.push(...stageRules(cls.baseline, 'Baseline', { allow, deny, end: allow }, label, direction, cls.members));
        }
        const afterAdmin = rest.length > 0 ? `goto ${chain}-np` : allow;
        const admin = stageRules(cls.admin, 'Admin', { allow, deny, end: afterAdmin }, label, direction, cls.members);
        if (afterAdmin !== allow && admin.some((r) => r.includes(` ${afterAdmin} comment `))) {
          chains.push({ name: chain, rules: [...admin, afterAdmin] }, { name: `${chain}-np`, rules: rest });
        } else if (admin.length + rest.length > 0) chains.push({ name: chain, rules: [...admin, ...rest] });
        else continue; // every rule lets it through: nothing to dispatch
        denies ||= [...admin, ...rest].some((r) => r.includes(` ${deny} `));
      }
      index++;
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
    // Admin and baseline denials: counted in the pod's counter and refused, as NetworkPolicy's are.
    if (denies) chains.push({ name: `${tag}-deny`, rules: denyTail });
    if (conflicted.length > 0) {
      const chain = `${tag}-conflict`;
      chains.push({ name: chain, rules: denyTail });
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
