// Findings in admin and baseline policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
// ClusterNetworkPolicy): same-priority overlaps whose order upstream leaves undefined, subjects that
// select no pod, rules an earlier rule always decides first, baseline rules NetworkPolicy always
// overrides, and domain names no static analysis can match.
import { NAMESPACE_NAME_LABEL, parseIP, selectorMatches, type LabelSelector } from '../../model/index.js';
import { adminPolicySelects, type CompiledAdminPolicy, type CompiledAdminPort, type CompiledAdminRule, type CompiledPeer } from '../compile.js';
import { describeAdminSubject, formatAdminPolicyRef, formatAdminRuleRef, formatPolicyRef } from '../describe.js';
import { isolatingPolicies } from '../evaluate.js';
import { peerMatches } from '../match.js';
import type { Direction } from '../types.js';
import { listNames, plural, selectorText, type LintContext } from './context.js';
import type { LintObjectRef } from './types.js';
import { blockIntervals, implies, podPeerCovers, within } from './redundant.js';

type PodPeer = Extract<CompiledPeer, { kind: 'pods' }>;
type IPBlockPeer = Extract<CompiledPeer, { kind: 'ipBlock' }>;

const DIRECTIONS: readonly Direction[] = ['Ingress', 'Egress'];
const EMPTY: LabelSelector = { matchLabels: {}, matchExpressions: [] };
const field = (d: Direction): 'ingress' | 'egress' => (d === 'Ingress' ? 'ingress' : 'egress');

export function adminObject(policy: CompiledAdminPolicy): LintObjectRef {
  return { kind: policy.ref.kind, name: policy.ref.name };
}

const hasPeerKind = (rule: CompiledAdminRule, kind: 'nodes' | 'domainNames'): boolean => rule.rule.peers.some((p) => p.kind === kind);

/** Some connection both rules' peers match: a pod of the input both match, or an address both hold. */
function peersOverlap(ctx: LintContext, a: CompiledAdminRule, b: CompiledAdminRule): boolean {
  const names = (r: CompiledAdminRule): string[] => r.rule.peers.flatMap((p) => (p.kind === 'domainNames' ? p.domainNames : []));
  if (names(a).some((n) => names(b).includes(n))) return true;
  const { compiled } = ctx;
  for (const e of compiled.cluster.endpoints) {
    const addresses = e.ips.map(parseIP).filter((ip) => ip !== undefined);
    const matches = (r: CompiledAdminRule): boolean =>
      r.peers.some((p) => (p.kind === 'pods' ? peerMatches(compiled, p, e, undefined) : addresses.some((ip) => peerMatches(compiled, p, e, ip))));
    if (matches(a) && matches(b)) return true;
  }
  const blocks = (r: CompiledAdminRule): IPBlockPeer[] => r.peers.filter((p): p is IPBlockPeer => p.kind === 'ipBlock');
  for (const x of blocks(a).map(blockIntervals)) {
    for (const y of blocks(b).map(blockIntervals)) {
      if (x.family === y.family && x.intervals.some(([lo, hi]) => y.intervals.some(([ylo, yhi]) => ylo <= hi && yhi >= lo))) return true;
    }
  }
  return false;
}

/** Some port both rules' ports match (a named port against the numbers pods of the input give it). */
function portsOverlap(ctx: LintContext, a: CompiledAdminRule, b: CompiledAdminRule): boolean {
  if (a.ports === undefined || b.ports === undefined) return true;
  const numbers = (p: CompiledAdminPort): { protocol: string; lo: number; hi: number }[] => {
    if (p.kind === 'all') return [{ protocol: p.protocol, lo: 1, hi: 65535 }];
    if (p.kind === 'range') return [{ protocol: p.protocol, lo: p.port, hi: p.endPort }];
    return ctx.compiled.cluster.endpoints.flatMap((e) => e.ports.filter((c) => c.name === p.name).map((c) => ({ protocol: c.protocol, lo: c.containerPort, hi: c.containerPort })));
  };
  return a.ports.some((p) =>
    b.ports!.some((q) => {
      if (p.kind === 'namedAnyProtocol' && q.kind === 'namedAnyProtocol' && p.name === q.name) return true;
      return numbers(p).some((x) => numbers(q).some((y) => x.protocol === y.protocol && x.lo <= y.hi && y.lo <= x.hi));
    }),
  );
}

/** Every connection `inner` matches, `outer` matches too, judged from the rules as written (never from the input's pods). */
function ruleCovers(outer: CompiledAdminRule, inner: CompiledAdminRule): boolean {
  if (hasPeerKind(inner, 'domainNames') || hasPeerKind(inner, 'nodes') || hasPeerKind(outer, 'nodes')) return false;
  const outerPods = outer.peers.filter((p): p is PodPeer => p.kind === 'pods');
  const noLabels = (): undefined => undefined;
  for (const p of inner.peers) if (p.kind === 'pods' && !outerPods.some((q) => podPeerCovers(q, p, noLabels))) return false;
  const blocks = (r: CompiledAdminRule, family: 4 | 6) =>
    r.peers.filter((p): p is IPBlockPeer => p.kind === 'ipBlock').map(blockIntervals).filter((b) => b.family === family).flatMap((b) => b.intervals);
  if (!([4, 6] as const).every((family) => within(blocks(inner, family), blocks(outer, family)))) return false;
  if (outer.ports === undefined) return true;
  if (inner.ports === undefined) return false;
  return inner.ports.every((p) => {
    if (p.kind === 'namedAnyProtocol') return outer.ports!.some((q) => q.kind === 'namedAnyProtocol' && q.name === p.name);
    const lo = BigInt(p.kind === 'all' ? 1 : p.port);
    const hi = BigInt(p.kind === 'all' ? 65535 : p.endPort);
    const ranges = outer.ports!.flatMap((q): [bigint, bigint][] =>
      q.kind === 'namedAnyProtocol' || q.protocol !== p.protocol ? [] : [[BigInt(q.kind === 'all' ? 1 : q.port), BigInt(q.kind === 'all' ? 65535 : q.endPort)]],
    );
    return within([[lo, hi]], ranges);
  });
}

/** Every pod `inner`'s subject selects, `outer`'s subject selects too (from the selectors alone). */
function subjectCovers(outer: CompiledAdminPolicy, inner: CompiledAdminPolicy): boolean {
  return implies(inner.subject.namespaceSelector, outer.subject.namespaceSelector) && implies(inner.subject.podSelector ?? EMPTY, outer.subject.podSelector ?? EMPTY);
}

/**
 * Namespaces a namespaceSelector could match whose pods or labels the input does not show (the
 * system namespaces of a manifest input, declared namespaces without pods): where an empty answer
 * is not certain.
 */
function unknownNamespaces(ctx: LintContext, nsSelector: LabelSelector): string[] {
  const namespaces = ctx.namespaces.filter((n) => selectorMatches(nsSelector, n.labels));
  const nameOnly: LabelSelector = {
    matchLabels: Object.hasOwn(nsSelector.matchLabels, NAMESPACE_NAME_LABEL) ? { [NAMESPACE_NAME_LABEL]: nsSelector.matchLabels[NAMESPACE_NAME_LABEL] } : {},
    matchExpressions: nsSelector.matchExpressions.filter((e) => e.key === NAMESPACE_NAME_LABEL),
  };
  const hidden = ctx.namespaces.filter((n) => !n.labelsKnown && selectorMatches(nameOnly, n.labels)).map((n) => n.name);
  return [...new Set([...namespaces.filter((n) => !ctx.contentsKnown(n.name)).map((n) => n.name), ...hidden])].sort();
}

const EFFECT_WORDS = { accept: 'allow', deny: 'deny', pass: 'pass on' } as const;

export function lintAdminPolicies(ctx: LintContext): void {
  const { compiled } = ctx;
  const subjects = compiled.cluster.endpoints.filter((e) => !e.hostNetwork);
  // Peers repeat across policies: whether one matches some pod is found once.
  const peerMatchesSome = new Map<string, boolean>();
  for (const tier of ['Admin', 'Baseline'] as const) {
    const policies = compiled.adminPolicies[tier];
    const selected = new Map(policies.map((p) => [p, subjects.filter((e) => adminPolicySelects(compiled, p, e))]));

    for (const policy of policies) {
      // Subjects that select nothing, where the input shows every namespace the selector could match.
      if (ctx.hasEndpoints && selected.get(policy)!.length === 0) {
        const unknown = unknownNamespaces(ctx, policy.subject.namespaceSelector);
        const where = unknown.length > 0 ? `; ${listNames(unknown)} ${unknown.length === 1 ? 'is' : 'are'} not in the input, so ${unknown.length === 1 ? 'its' : 'their'} pods and labels are unknown` : '';
        ctx.report({
          id: 'PW-ADMIN-SUBJECT-SELECTS-NOTHING',
          severity: unknown.length > 0 ? 'info' : 'warning',
          object: adminObject(policy),
          path: ['spec', 'subject'],
          message: `the subject (${describeAdminSubject(policy.policy.subject)}) selects no pod of the input${where}: the policy applies to nothing. Compare the selectors with the pods' and namespaces' labels`,
        });
      }

      for (const direction of DIRECTIONS) {
        const rules = policy.rules[direction];
        rules.forEach((rule, j) => {
          // domainNames: kept, but no address matches them before they are resolved.
          rule.rule.peers.forEach((peer, k) => {
            if (peer.kind !== 'domainNames') return;
            ctx.report({
              id: 'PW-ADMIN-DOMAIN-NAMES',
              object: adminObject(policy),
              path: ['spec', field(direction), j, 'to', k, 'domainNames'],
              message: `${formatAdminRuleRef(rule.ref)} allows ${peer.domainNames.join(', ')} by name: the names are resolved when traffic flows, so Podwall's answers (check, matrix, diff) match no address to them, and say so where that changes an answer`,
            });
          });
          // Peers that select nothing: pods and namespaces against the input, nodes where the input has nodes.
          rule.rule.peers.forEach((peer, k) => {
            const path = ['spec', field(direction), j, direction === 'Ingress' ? 'from' : 'to', k, peer.kind];
            if (peer.kind === 'nodes') {
              const nodes = compiled.cluster.nodes ?? [];
              if (nodes.length === 0 || nodes.some((n) => selectorMatches(peer.nodes, n.labels))) return;
              ctx.report({
                id: 'PW-ADMIN-PEER-SELECTS-NOTHING',
                object: adminObject(policy),
                path,
                message: `no node of the input (${listNames(nodes.map((n) => n.name))}) has ${selectorText(peer.nodes, 'any labels')}: this peer of ${formatAdminRuleRef(rule.ref)} matches no address`,
              });
              return;
            }
            if (peer.kind !== 'namespaces' && peer.kind !== 'pods') return;
            if (!ctx.hasEndpoints) return;
            const nsSelector = peer.kind === 'namespaces' ? peer.namespaces : peer.pods.namespaceSelector;
            const podSelector = peer.kind === 'pods' ? peer.pods.podSelector : undefined;
            const peerKey = JSON.stringify([nsSelector, podSelector ?? null]);
            let matched = peerMatchesSome.get(peerKey);
            if (matched === undefined) {
              matched = subjects.some(
                (e) => selectorMatches(nsSelector, compiled.namespaceLabels.get(e.namespace) ?? {}) && (podSelector === undefined || selectorMatches(podSelector, e.labels)),
              );
              peerMatchesSome.set(peerKey, matched);
            }
            if (matched) return;
            const unknown = unknownNamespaces(ctx, nsSelector);
            const where = unknown.length > 0 ? `; ${listNames(unknown)} ${unknown.length === 1 ? 'is' : 'are'} not in the input, so ${unknown.length === 1 ? 'its' : 'their'} pods and labels are unknown` : '';
            ctx.report({
              id: 'PW-ADMIN-PEER-SELECTS-NOTHING',
              severity: unknown.length > 0 ? 'info' : 'warning',
              object: adminObject(policy),
              path,
              message: `no pod of the input is in ${peer.kind === 'namespaces' ? 'a namespace with' : `a namespace with ${selectorText(nsSelector, 'any labels')} and has`} ${selectorText(peer.kind === 'namespaces' ? nsSelector : podSelector, 'any labels')}${where}: this peer of ${formatAdminRuleRef(rule.ref)} matches nobody. Compare the selectors with the pods' and namespaces' labels`,
            });
          });
          // An earlier rule of this policy, or of a policy evaluated earlier for every pod this one selects.
          const earlier = rules.slice(0, j).find((r) => ruleCovers(r, rule));
          // Only a policy certainly evaluated earlier (a lower priority; any Baseline ClusterNetworkPolicy before the
          // BaselineAdminNetworkPolicy): at equal priorities the order is undefined, which PW-ADMIN-SAME-PRIORITY says.
          const earlierPolicy = (p: CompiledAdminPolicy): boolean => p.ref.priority !== undefined && (policy.ref.priority === undefined || p.ref.priority < policy.ref.priority);
          const before = policies.slice(0, policies.indexOf(policy)).filter((p) => earlierPolicy(p) && subjectCovers(p, policy));
          const elsewhere = earlier ? undefined : before.flatMap((p) => p.rules[direction].filter((r) => ruleCovers(r, rule)))[0];
          const by = earlier ?? elsewhere;
          if (!by) return;
          ctx.report({
            id: 'PW-ADMIN-RULE-SHADOWED',
            object: adminObject(policy),
            path: ['spec', field(direction), j],
            message: `${formatAdminRuleRef(rule.ref)} never decides anything: every connection it matches, ${formatAdminRuleRef(by.ref)} matches first${elsewhere ? ` (that policy is evaluated earlier and selects every pod this one does)` : ''} and ${by.effect === 'pass' ? 'passes it on' : `${EFFECT_WORDS[by.effect]}s it`}. Remove the rule, or move it before the broader one`,
            related: elsewhere ? [{ kind: by.ref.policy.kind, name: by.ref.policy.name }] : [],
          });
        });
      }

      // A baseline rule applies only where no NetworkPolicy isolates the pod in its direction.
      if (tier === 'Baseline' && selected.get(policy)!.length > 0) {
        for (const direction of DIRECTIONS) {
          if (policy.rules[direction].length === 0) continue;
          const pods = selected.get(policy)!;
          const isolating = pods.map((e) => isolatingPolicies(compiled, e, direction));
          if (!isolating.every((ps) => ps.length > 0)) continue;
          const by = [...new Set(isolating.flat().map((p) => formatPolicyRef(p.ref)))].sort();
          ctx.report({
            id: 'PW-BASELINE-RULES-OVERRIDDEN',
            object: adminObject(policy),
            path: ['spec', field(direction)],
            message: `every pod the subject selects (${plural(pods.length, 'pod')}) is isolated for ${field(direction)} by NetworkPolicy (${listNames(by)}), which decides before the Baseline tier: these ${field(direction)} rules never apply to the input's pods`,
            related: isolating.flat().map((p) => ({ kind: 'NetworkPolicy', namespace: p.namespace, name: p.ref.name })),
          });
        }
      }
    }

    // Same tier, same priority: upstream leaves the order undefined; it matters where the subjects
    // overlap and two rules that can match the same connection do different things.
    for (let a = 0; a < policies.length; a++) {
      for (let b = a + 1; b < policies.length; b++) {
        const first = policies[a];
        const second = policies[b];
        if (first.ref.priority === undefined || first.ref.priority !== second.ref.priority) continue;
        const firstIds = new Set(selected.get(first)!.map((e) => e.id));
        const common = selected.get(second)!.filter((e) => firstIds.has(e.id));
        if (common.length === 0) continue;
        const conflict = DIRECTIONS.flatMap((direction) =>
          first.rules[direction].flatMap((x) => second.rules[direction].filter((y) => x.effect !== y.effect && peersOverlap(ctx, x, y) && portsOverlap(ctx, x, y)).map((y) => [x, y] as const)),
        )[0];
        if (!conflict) continue;
        const [x, y] = conflict;
        ctx.report({
          id: 'PW-ADMIN-SAME-PRIORITY',
          object: adminObject(second),
          path: ['spec', 'priority'],
          message: `${formatAdminPolicyRef(second.ref)} and ${formatAdminPolicyRef(first.ref)} have the same priority, both select ${plural(common.length, 'pod')} (${listNames(common.map((e) => e.id), 4)}), and ${formatAdminRuleRef(y.ref)} and ${formatAdminRuleRef(x.ref)} can match the same connection: the API leaves their order undefined, so implementations may disagree. Podwall evaluates ${first.ref.kind}/${first.ref.name} first (same priority: by kind, then name). Give them different priorities`,
          related: [adminObject(first)],
        });
      }
    }
  }
}
