// Duplicate and shadowed rules: a rule every flow of which another rule already allows, in a policy
// that selects the same pods (or more). Rules are ORed, so such a rule restricts nothing. Peers are
// compared by what their selectors imply (so pods outside the input cannot make a rule look
// covered), ipBlocks as address ranges, ports per protocol (named ports resolved on the selected pods).
import { PROTOCOLS, type Endpoint, type LabelSelector, type LabelSelectorRequirement, type Labels, type Protocol } from '../../model/index.js';
import { policySelects, type CompiledPeer, type CompiledPolicy, type CompiledPort, type CompiledRule } from '../compile.js';
import { describeRule, formatPolicyRef, formatRuleRef } from '../describe.js';
import type { Direction, RuleRef } from '../types.js';
import { policyObject, type LintContext } from './context.js';

type PodPeer = Extract<CompiledPeer, { kind: 'pods' }>;
type IPBlockPeer = Extract<CompiledPeer, { kind: 'ipBlock' }>;
type Interval = readonly [bigint, bigint];

const EMPTY: LabelSelector = { matchLabels: {}, matchExpressions: [] };

/** Every label set `r` matches, `s` matches too (judged from the requirements alone). */
export function implies(r: LabelSelector, s: LabelSelector): boolean {
  const fixed = (key: string): string | undefined => {
    if (Object.hasOwn(r.matchLabels, key)) return r.matchLabels[key];
    const single = r.matchExpressions.find((e) => e.key === key && e.operator === 'In' && e.values.length === 1);
    return single?.values[0];
  };
  const possible = (key: string): readonly string[] | undefined => {
    const v = fixed(key);
    if (v !== undefined) return [v];
    return r.matchExpressions.find((e) => e.key === key && e.operator === 'In')?.values;
  };
  const requirement = (e: LabelSelectorRequirement): boolean => {
    if (r.matchExpressions.some((x) => x.key === e.key && x.operator === e.operator && x.values.length === e.values.length && x.values.every((v) => e.values.includes(v)))) return true;
    const values = possible(e.key);
    switch (e.operator) {
      case 'Exists':
        return values !== undefined || r.matchExpressions.some((x) => x.key === e.key && x.operator === 'Exists');
      case 'In':
        return values !== undefined && values.every((v) => e.values.includes(v));
      case 'NotIn':
        return (
          (values !== undefined && values.every((v) => !e.values.includes(v))) ||
          r.matchExpressions.some((x) => x.key === e.key && (x.operator === 'DoesNotExist' || (x.operator === 'NotIn' && e.values.every((v) => x.values.includes(v)))))
        );
      case 'DoesNotExist':
        return r.matchExpressions.some((x) => x.key === e.key && x.operator === 'DoesNotExist');
      default:
        return false;
    }
  };
  return Object.entries(s.matchLabels).every(([k, v]) => fixed(k) === v) && s.matchExpressions.every(requirement);
}

export function podPeerCovers(s: PodPeer, r: PodPeer, namespaceLabels: (ns: string) => Labels | undefined): boolean {
  let namespaces: boolean;
  if (r.namespace !== undefined) {
    if (s.namespace !== undefined) namespaces = s.namespace === r.namespace;
    else {
      const labels = namespaceLabels(r.namespace);
      namespaces = implies({ matchLabels: labels ?? {}, matchExpressions: [] }, s.namespaceSelector!);
    }
  } else if (s.namespace !== undefined) {
    namespaces = implies(r.namespaceSelector!, { matchLabels: { 'kubernetes.io/metadata.name': s.namespace }, matchExpressions: [] });
  } else namespaces = implies(r.namespaceSelector!, s.namespaceSelector!);
  return namespaces && implies(r.podSelector ?? EMPTY, s.podSelector ?? EMPTY);
}

export function blockIntervals(peer: IPBlockPeer): { family: 4 | 6; intervals: Interval[] } {
  const bits = peer.cidr.family === 4 ? 32 : 128;
  const range = (network: bigint, prefix: number): Interval => [network, network + (1n << BigInt(bits - prefix)) - 1n];
  let intervals: Interval[] = [range(peer.cidr.network, peer.cidr.prefix)];
  for (const e of peer.except) {
    const [a, b] = range(e.network, e.prefix);
    intervals = intervals.flatMap(([x, y]): Interval[] => {
      if (b < x || a > y) return [[x, y]];
      const out: Interval[] = [];
      if (a > x) out.push([x, a - 1n]);
      if (b < y) out.push([b + 1n, y]);
      return out;
    });
  }
  return { family: peer.cidr.family, intervals };
}

export function within(inner: readonly Interval[], outer: readonly Interval[]): boolean {
  const merged = [...outer].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const union: [bigint, bigint][] = [];
  for (const [a, b] of merged) {
    const last = union[union.length - 1];
    if (last && a <= last[1] + 1n) last[1] = b > last[1] ? b : last[1];
    else union.push([a, b]);
  }
  return inner.every(([a, b]) => union.some(([x, y]) => a >= x && b <= y));
}

function peersCovered(s: CompiledRule, r: CompiledRule, namespaceLabels: (ns: string) => Labels | undefined): boolean {
  if (s.peers === undefined) return true;
  if (r.peers === undefined) return false;
  const sPods = s.peers.filter((p): p is PodPeer => p.kind === 'pods');
  for (const p of r.peers) if (p.kind === 'pods' && !sPods.some((q) => podPeerCovers(q, p, namespaceLabels))) return false;
  const blocks = (rule: CompiledRule, family: 4 | 6): Interval[] =>
    rule.peers!.filter((p): p is IPBlockPeer => p.kind === 'ipBlock').map(blockIntervals).filter((b) => b.family === family).flatMap((b) => b.intervals);
  return ([4, 6] as const).every((family) => within(blocks(r, family), blocks(s, family)));
}

const FULL: Interval = [1n, 65535n];

/** The port numbers a rule's entries admit for a protocol on a destination (named ports only with one). */
function portIntervals(ports: readonly CompiledPort[], protocol: Protocol, destination: Endpoint | undefined): Interval[] {
  const out: Interval[] = [];
  for (const p of ports) {
    if (p.protocol !== protocol) continue;
    if (p.kind === 'all') out.push(FULL);
    else if (p.kind === 'range') out.push([BigInt(p.port), BigInt(p.endPort)]);
    else if (destination) {
      for (const c of destination.ports) if (c.name === p.name && c.protocol === protocol) out.push([BigInt(c.containerPort), BigInt(c.containerPort)]);
    }
  }
  return out;
}

function portsCovered(s: CompiledRule, r: CompiledRule, destinations: readonly Endpoint[]): boolean {
  if (s.ports === undefined) return true;
  const sPorts = s.ports;
  const rPorts: readonly CompiledPort[] = r.ports ?? PROTOCOLS.map((protocol) => ({ kind: 'all', protocol }));
  return rPorts.every((p) => {
    if (sPorts.some((q) => q.protocol === p.protocol && (q.kind === 'all' || (p.kind === 'named' && q.kind === 'named' && q.name === p.name)))) return true;
    if (p.kind === 'all') return false;
    if (p.kind === 'range' && within(portIntervals([p], p.protocol, undefined), portIntervals(sPorts, p.protocol, undefined))) return true;
    // What remains depends on named ports, resolved on each destination: known only for ingress.
    if (destinations.length === 0) return false;
    return destinations.every((d) => within(portIntervals([p], p.protocol, d), portIntervals(sPorts, p.protocol, d)));
  });
}

function samePeers(a: CompiledRule, b: CompiledRule): boolean {
  if (a.peers === undefined || b.peers === undefined) return a.peers === b.peers;
  const ids = (r: CompiledRule): string => [...new Set(r.peers!.map((p) => p.id))].sort((x, y) => x - y).join(',');
  return ids(a) === ids(b);
}

function samePorts(a: CompiledRule, b: CompiledRule): boolean {
  if (a.ports === undefined || b.ports === undefined) return a.ports === b.ports;
  const keys = (r: CompiledRule): string => [...new Set(r.ports!.map((p) => JSON.stringify(p)))].sort().join('|');
  return keys(a) === keys(b);
}

export function lintRedundantRules(ctx: LintContext): void {
  if (!ctx.hasEndpoints) return;
  const { compiled } = ctx;
  const labelsOf = (ns: string): Labels | undefined => ctx.namespaces.find((n) => n.name === ns && n.labelsKnown)?.labels ?? compiled.namespaceLabels.get(ns);
  const order = new Map(compiled.policies.map((p, i) => [p, i]));
  for (const [namespace, policies] of [...compiled.policiesByNamespace.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const pods = ctx.endpointsIn(namespace);
    const selected = new Map(policies.map((p) => [p, pods.filter((e) => policySelects(p, e))]));
    const subset = (a: CompiledPolicy, b: CompiledPolicy): boolean => {
      const inB = new Set(selected.get(b)!.map((e) => e.id));
      return selected.get(a)!.every((e) => inB.has(e.id));
    };
    for (const direction of ['Ingress', 'Egress'] as Direction[]) {
      const rules = policies
        .filter((p) => selected.get(p)!.length > 0)
        .flatMap((p) => p.rules[direction].map((rule) => ({ policy: p, rule })))
        .sort((a, b) => order.get(a.policy)! - order.get(b.policy)! || a.rule.index - b.rule.index);
      const covers = (s: (typeof rules)[number], r: (typeof rules)[number]): boolean =>
        subset(r.policy, s.policy) &&
        peersCovered(s.rule, r.rule, labelsOf) &&
        portsCovered(s.rule, r.rule, direction === 'Ingress' ? selected.get(r.policy)! : []);
      rules.forEach((r, k) => {
        const by = rules.find((s, m) => m !== k && covers(s, r) && !(m > k && covers(r, s) && subset(s.policy, r.policy)));
        if (!by) return;
        const ref = (x: typeof r): RuleRef => ({ tier: 'NetworkPolicy', policy: x.policy.ref, direction, index: x.rule.index });
        const duplicate = samePeers(by.rule, r.rule) && samePorts(by.rule, r.rule);
        const elsewhere = by.policy !== r.policy ? ` (${formatPolicyRef(by.policy.ref)} selects ${subset(by.policy, r.policy) ? 'the same' : 'all of these'} pods)` : '';
        const words = describeRule(by.rule);
        ctx.report({
          id: duplicate ? 'PW-RULE-DUPLICATE' : 'PW-RULE-SHADOWED',
          object: policyObject(r.policy),
          path: ['spec', direction === 'Ingress' ? 'ingress' : 'egress', r.rule.index],
          message: duplicate
            ? `repeats ${formatRuleRef(ref(by))}${elsewhere}: the same peers and ports. Rules are ORed, so one of them can go`
            : `every flow this rule allows is already allowed by ${formatRuleRef(ref(by))}${elsewhere}, which allows ${direction === 'Ingress' ? 'from' : 'to'} ${words.peers}, on ${words.ports}. Rules are ORed, so this rule restricts nothing: if it was meant to, narrow the other rule`,
          related: by.policy !== r.policy ? [policyObject(by.policy)] : [],
        });
      });
    }
  }
}
