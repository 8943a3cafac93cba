// A packet judged as nft would judge it against a compiled Ruleset, without the kernel: the
// dispatch maps, the class chains' lookups (through the gotos of the admin tiers' stages) and
// interval-set membership, and the forward hook's order (the source's egress, then the
// destination's ingress). Shared by the data plane's unit
// tests and the upstream case table (test/dataplane-conformance.test.ts), so a wrong ruleset fails
// CI even where the kernel tests cannot run.
import assert from 'node:assert/strict';
import type { NftSet, Ruleset } from '../../src/dataplane/ruleset.js';
import { parseIP } from '../../src/model/index.js';

export type Fam = 4 | 6;
export const family = (ip: string): Fam => (ip.includes(':') ? 6 : 4);

export function chain(r: Ruleset, name: string): readonly string[] {
  const c = r.chains.find((x) => x.name === name);
  assert.ok(c, `no chain ${name} in ${r.chains.map((x) => x.name).join(', ')}`);
  return c.rules;
}

export function map(r: Ruleset, name: string): Map<string, string> {
  const m = r.maps.find((x) => x.name === name);
  assert.ok(m, `no map ${name}`);
  return new Map(m.elements.map(([k, v]) => [k, v]));
}

/** The class chain an address is dispatched to for `direction`, or undefined. */
export function dispatched(r: Ruleset, direction: 'ingress' | 'egress', ip: string): string | undefined {
  const verdict = map(r, `${direction}${family(ip)}`).get(ip);
  if (verdict === undefined) return undefined;
  assert.match(verdict, /^jump /);
  return verdict.slice('jump '.length);
}

/** How a class chain ends: the pod's counter (or its log chain), then the refusal. */
export const DENY_TAIL = {
  in: ['counter name ip daddr map @count-in4', 'counter name ip6 daddr map @count-in6', 'meta l4proto tcp reject with tcp reset', 'reject with icmpx admin-prohibited'],
  eg: ['counter name ip saddr map @count-eg4', 'counter name ip6 saddr map @count-eg6', 'meta l4proto tcp reject with tcp reset', 'reject with icmpx admin-prohibited'],
};
export const LOG_TAIL = {
  in: ['ip daddr vmap @log-in4', 'ip6 daddr vmap @log-in6', 'meta l4proto tcp reject with tcp reset', 'reject with icmpx admin-prohibited'],
  eg: ['ip saddr vmap @log-eg4', 'ip6 saddr vmap @log-eg6', 'meta l4proto tcp reject with tcp reset', 'reject with icmpx admin-prohibited'],
};
export const isLogged = (r: Ruleset): boolean => r.maps.some((m) => m.name.startsWith('log-'));

export interface Interval {
  readonly first: bigint;
  readonly last: bigint;
}

export const PROTOCOL_NUMBERS: Record<string, bigint> = { icmp: 1n, tcp: 6n, udp: 17n, sctp: 132n, 'ipv6-icmp': 58n };

export function parseAddress(text: string, fam: Fam): bigint {
  const ip = parseIP(text);
  assert.ok(ip && ip.family === fam, `not an IPv${fam} address: ${text}`);
  return ip.value;
}

/** One field of an element as the interval it stands for. */
export function parseField(text: string, type: string): Interval {
  if (type === 'ipv4_addr' || type === 'ipv6_addr') {
    const fam: Fam = type === 'ipv4_addr' ? 4 : 6;
    const bits = fam === 4 ? 32n : 128n;
    if (text.includes('/')) {
      const [addr, prefix] = text.split('/');
      const first = parseAddress(addr, fam);
      const host = (1n << (bits - BigInt(prefix))) - 1n;
      assert.equal(first & host, 0n, `${text} has host bits set`);
      return { first, last: first | host };
    }
    if (text.includes('-')) {
      const [a, b] = text.split('-');
      const range = { first: parseAddress(a, fam), last: parseAddress(b, fam) };
      assert.ok(range.first < range.last, `${text} is an empty or one-address range`);
      return range;
    }
    const v = parseAddress(text, fam);
    return { first: v, last: v };
  }
  if (type === 'inet_proto') {
    const n = PROTOCOL_NUMBERS[text];
    assert.ok(n !== undefined, `unknown protocol ${text}`);
    return { first: n, last: n };
  }
  assert.equal(type, 'inet_service');
  const [a, b] = text.split('-');
  assert.match(text, /^\d+(-\d+)?$/);
  const range = { first: BigInt(a), last: BigInt(b ?? a) };
  assert.ok(range.first <= range.last && range.last <= 65535n, `bad port range ${text}`);
  if (b !== undefined) assert.ok(range.first < range.last, `${text}: a one-port range is written as the port`);
  return range;
}

const boxCache = new WeakMap<NftSet, Interval[][]>();

/** A set's elements as boxes, one interval per concatenated field. */
export function boxes(set: NftSet): Interval[][] {
  let cached = boxCache.get(set);
  if (!cached) {
    const types = set.type.split(' . ');
    cached = set.elements.map((e) => {
      const fields = e.split(' . ');
      assert.equal(fields.length, types.length, `element ${e} does not fit ${set.type}`);
      return fields.map((f, i) => parseField(f, types[i]));
    });
    boxCache.set(set, cached);
  }
  return cached;
}

const contains = (box: readonly Interval[], key: readonly bigint[]): boolean => box.every((f, i) => key[i] >= f.first && key[i] <= f.last);
export const overlap = (a: readonly Interval[], b: readonly Interval[]): boolean => a.every((f, i) => f.first <= b[i].last && b[i].first <= f.last);
export const inSet = (set: NftSet, key: readonly bigint[]): boolean => boxes(set).some((b) => contains(b, key));

export interface Packet {
  readonly src: string;
  readonly dst: string;
  readonly proto: 'tcp' | 'udp' | 'sctp' | 'icmp';
  readonly port?: number;
}

export type Outcome = 'allowed' | 'denied' | 'not isolated';

const VERDICT = String.raw`(accept|return|goto [A-Za-z0-9_.-]+)(?: comment "([^"]*)")?`;
const LOOKUP = {
  all: new RegExp(String.raw`^meta nfproto ipv(4|6) ${VERDICT}$`),
  any: new RegExp(String.raw`^(ip6?) (saddr|daddr) @(\S+) ${VERDICT}$`),
  ports: new RegExp(String.raw`^(ip6?) (saddr|daddr) \. meta l4proto \. th dport @(\S+) ${VERDICT}$`),
  named: new RegExp(String.raw`^(ip6?) daddr \. (ip6?) saddr \. meta l4proto \. th dport @(\S+) ${VERDICT}$`),
};

export type Rule =
  | { kind: 'all' | 'any' | 'ports' | 'named'; fam: Fam; field?: string; set?: string; verdict: string; comment?: string }
  | { kind: 'goto'; chain: string }
  | { kind: 'tail' };

/** What a class chain's rule is: a lookup of one family (with its verdict and stage comment), a goto to the next stage, or part of the deny tail. */
export function classify(rule: string): Rule {
  const fam = (keyword: string): Fam => (keyword === 'ip' ? 4 : 6);
  let m = LOOKUP.all.exec(rule);
  if (m) return { kind: 'all', fam: Number(m[1]) as Fam, verdict: m[2], comment: m[3] };
  m = LOOKUP.any.exec(rule);
  if (m) return { kind: 'any', fam: fam(m[1]), field: m[2], set: m[3], verdict: m[4], comment: m[5] };
  m = LOOKUP.ports.exec(rule);
  if (m) return { kind: 'ports', fam: fam(m[1]), field: m[2], set: m[3], verdict: m[4], comment: m[5] };
  m = LOOKUP.named.exec(rule);
  if (m) {
    assert.equal(m[1], m[2], `${rule} mixes families`);
    return { kind: 'named', fam: fam(m[1]), field: 'daddr', set: m[3], verdict: m[4], comment: m[5] };
  }
  m = /^goto ([A-Za-z0-9_.-]+)$/.exec(rule);
  if (m) return { kind: 'goto', chain: m[1] };
  assert.ok([...DENY_TAIL.in, ...DENY_TAIL.eg, ...LOG_TAIL.in, ...LOG_TAIL.eg].includes(rule), `not a class chain rule: ${rule}`);
  return { kind: 'tail' };
}

/**
 * The verdict of the chain the packet's pod is dispatched to for `direction`, followed through its
 * gotos: accept and return let this side through, the deny tail refuses, and falling off the end
 * of a chain returns to the hook (allowed).
 */
export function judge(r: Ruleset, direction: 'ingress' | 'egress', p: Packet): Outcome {
  const fam = family(p.dst);
  assert.equal(family(p.src), fam);
  let name = dispatched(r, direction, direction === 'ingress' ? p.dst : p.src);
  if (name === undefined) return 'not isolated';
  const peer = parseAddress(direction === 'ingress' ? p.src : p.dst, fam);
  const dst = parseAddress(p.dst, fam);
  const proto = PROTOCOL_NUMBERS[p.proto];
  const seen = new Set<string>();
  next: for (;;) {
    assert.ok(!seen.has(name), `${name} is reached twice: a loop`);
    seen.add(name);
    for (const rule of chain(r, name)) {
      const c = classify(rule);
      if (c.kind === 'tail') {
        if (rule.includes('reject')) return 'denied';
        continue;
      }
      if (c.kind === 'goto') {
        name = c.chain;
        continue next;
      }
      if (c.fam !== fam) continue;
      let hit = c.kind === 'all';
      if (!hit) {
        const set = r.sets.find((s) => s.name === c.set);
        assert.ok(set, `${rule} refers to a missing set`);
        // th dport exists for tcp, udp and sctp; the sets hold nothing else.
        hit =
          c.kind === 'any'
            ? inSet(set, [peer])
            : p.port !== undefined && (c.kind === 'ports' ? inSet(set, [peer, proto, BigInt(p.port)]) : inSet(set, [dst, peer, proto, BigInt(p.port)]));
      }
      if (!hit) continue;
      if (c.verdict === 'accept' || c.verdict === 'return') return 'allowed';
      name = c.verdict.slice('goto '.length);
      continue next;
    }
    return 'allowed';
  }
}

/** A new connection through the forward hook: the source's egress (if isolated), then the destination's ingress. */
export function judgeConnection(r: Ruleset, p: Packet): 'allowed' | 'denied' {
  if (judge(r, 'egress', p) === 'denied') return 'denied';
  return judge(r, 'ingress', p) === 'denied' ? 'denied' : 'allowed';
}

/** What every compiled ruleset keeps, whatever its input. */
export function checkInvariants(r: Ruleset): void {
  const logged = isLogged(r);
  const referenced = new Set<string>();
  for (const c of r.chains) {
    if (c.base) continue;
    if (/^log-(in|eg)-(conflict-)?\d+$/.test(c.name)) {
      assert.ok(logged, `${c.name} exists without logging`);
      assert.equal(c.rules.length, 2, `${c.name}: a counter and a rate-limited log`);
      continue;
    }
    const conflict = /^(in|eg)-conflict$/.exec(c.name)?.[1];
    if (conflict) {
      assert.deepEqual(c.rules, (logged ? LOG_TAIL : DENY_TAIL)[conflict as 'in' | 'eg'], `${c.name}: a shared address is only counted and refused`);
      continue;
    }
    const deny = /^(in|eg)-deny$/.exec(c.name)?.[1];
    if (deny) {
      assert.deepEqual(c.rules, (logged ? LOG_TAIL : DENY_TAIL)[deny as 'in' | 'eg'], `${c.name}: an admin or baseline denial is only counted and refused`);
      continue;
    }
    const m = /^(in|eg)-\d+(-np)?$/.exec(c.name);
    assert.ok(m, `unexpected chain ${c.name}: only class chains${logged ? ' and log chains' : ''}`);
    const tag = m[1] as 'in' | 'eg';
    const allow = tag === 'in' ? 'accept' : 'return';
    const tail = (logged ? LOG_TAIL : DENY_TAIL)[tag];
    const rules = c.rules.map(classify);
    const tiered = rules.some((l) => l.kind !== 'tail' && l.kind !== 'goto' && l.comment !== undefined) || m[2] !== undefined;
    if (!tiered) assert.deepEqual(c.rules.slice(-4), tail, `${c.name}: a NetworkPolicy class chain ends with the deny tail`);
    const tailAt = c.rules.findIndex((rule) => classify(rule).kind === 'tail');
    if (tailAt >= 0) assert.deepEqual(c.rules.slice(tailAt), tail, `${c.name}: the deny tail comes last, whole`);
    const body = tailAt >= 0 ? rules.slice(0, tailAt) : rules;
    // A chain is stages of lookups; the lookups of one stage share its verdict and comment.
    const groups: { key: string; kinds: { 4: string[]; 6: string[] }; families: Fam[] }[] = [];
    body.forEach((l, i) => {
      assert.notEqual(l.kind, 'tail');
      if (l.kind === 'tail') return;
      if (l.kind === 'goto') {
        assert.equal(i, body.length - 1, `${c.name}: a goto to the next stage ends the chain`);
        assert.equal(l.chain, `${c.name}-np`, `${c.name}: the admin stage goes on to its own NetworkPolicy stage`);
        assert.ok(r.chains.some((x) => x.name === l.chain), `${c.name} goes to a missing chain ${l.chain}`);
        return;
      }
      const verdicts = [allow, `goto ${tag}-deny`, ...(m[2] ? [] : [`goto ${c.name}-np`])];
      assert.ok(verdicts.includes(l.verdict), `${c.name}: ${l.verdict} is not one of ${verdicts.join(', ')}`);
      if (l.verdict.startsWith('goto ')) assert.ok(r.chains.some((x) => x.name === l.verdict.slice(5)), `${c.name} goes to a missing chain: ${l.verdict}`);
      if (l.verdict === `goto ${tag}-deny`) assert.match(l.comment ?? '', / deny$/, `${c.name}: only a denial is refused`);
      if (!tiered) assert.equal(l.comment, undefined);
      if (l.kind === 'any' || l.kind === 'ports') assert.equal(l.field, tag === 'in' ? 'saddr' : 'daddr', `${c.name}: the peer is the ${tag === 'in' ? 'source' : 'destination'}`);
      if (l.kind === 'named') assert.equal(tag, 'in', 'named ports per destination pod are an ingress lookup');
      if (l.set) {
        referenced.add(l.set);
        const set = r.sets.find((x) => x.name === l.set);
        assert.ok(set, `${c.name} looks up a missing set ${l.set}`);
        const addr = l.fam === 4 ? 'ipv4_addr' : 'ipv6_addr';
        const types: Record<string, string> = { any: addr, ports: `${addr} . inet_proto . inet_service`, named: `${addr} . ${addr} . inet_proto . inet_service` };
        assert.equal(set.type, types[l.kind], `${c.name}: ${l.set} has the family and fields its lookup matches`);
      }
      const key = `${l.verdict}|${l.comment ?? ''}`;
      let group = groups[groups.length - 1];
      if (group?.key !== key) {
        group = { key, kinds: { 4: [], 6: [] }, families: [] };
        groups.push(group);
      }
      group.kinds[l.fam].push(l.kind);
      group.families.push(l.fam);
    });
    // Adjacent rules with one outcome are one stage: two neighbouring stages never share verdict and comment.
    const stages = groups.map((g) => g.key);
    stages.forEach((key, i) => assert.ok(i === 0 || stages[i - 1] !== key, `${c.name}: neighbouring stages with one outcome (${stages.join('; ')})`));
    for (const g of groups) {
      for (const fam of [4, 6] as const) {
        const kinds = g.kinds[fam];
        assert.ok(kinds.length <= 3, `${c.name}: at most three lookups for IPv${fam} per stage, got ${kinds.join(', ')}`);
        assert.equal(new Set(kinds).size, kinds.length, `${c.name}: one lookup of each kind for IPv${fam} per stage`);
        if (kinds.includes('all')) assert.deepEqual(kinds, ['all'], `${c.name}: nothing else beside matching all of IPv${fam}`);
        // Family 4 first, then 6; within a family any, ports, named.
        const order = ['all', 'any', 'ports', 'named'];
        assert.deepEqual([...kinds].sort((a, b) => order.indexOf(a) - order.indexOf(b)), kinds);
      }
      assert.deepEqual([...g.families].sort(), g.families, `${c.name}: IPv4 lookups before IPv6 in a stage`);
    }
  }
  for (const tag of ['in', 'eg']) {
    const numbers = r.chains.map((c) => new RegExp(`^${tag}-(\\d+)$`).exec(c.name)?.[1]).filter((n) => n !== undefined).map(Number);
    assert.deepEqual(numbers, numbers.map((_, i) => i), `${tag} class chains are numbered from 0 without gaps`);
  }
  const names = r.sets.map((s) => s.name);
  assert.equal(new Set(names).size, names.length, 'set names are unique');
  const contents = r.sets.map((s) => `${s.type}|${s.elements.join(',')}`);
  assert.equal(new Set(contents).size, contents.length, 'sets of equal content are shared');
  for (const s of r.sets) {
    assert.ok(referenced.has(s.name), `set ${s.name} is never looked up`);
    assert.ok(s.elements.length > 0, `set ${s.name} is empty`);
    assert.equal(s.interval, true, `${s.name}: interval sets`);
    assert.equal(new Set(s.elements).size, s.elements.length, `${s.name} repeats an element`);
    const b = boxes(s);
    for (let i = 0; i < b.length; i++) {
      for (let j = i + 1; j < b.length; j++) assert.ok(!overlap(b[i], b[j]), `${s.name}: ${s.elements[i]} overlaps ${s.elements[j]} (the kernel refuses it)`);
    }
  }
  for (const m of r.maps) assert.equal(new Set(m.elements.map(([k]) => k)).size, m.elements.length, `${m.name} has a duplicate key`);
}
