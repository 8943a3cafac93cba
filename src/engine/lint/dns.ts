// Egress-isolated pods and the cluster DNS: a pod isolated for egress may connect only where a rule
// allows, so without UDP and TCP 53 to the DNS pods its name lookups fail (TCP carries answers too
// large for UDP). Judged with the engine's own verdicts against the DNS pods of the input, or, when
// the input holds none, against a stand-in: a kube-system pod labelled k8s-app=kube-dns.
import { NAMESPACE_NAME_LABEL, type Endpoint, type LabelSelector, type Protocol } from '../../model/index.js';
import { computeClasses } from '../classes.js';
import type { CompiledCluster, CompiledPolicy, CompiledRule } from '../compile.js';
import { formatAdminRuleRef, formatPolicyRef, formatRuleRef, hasAdminPolicies } from '../describe.js';
import { evaluateConnection, isolatingPolicies } from '../evaluate.js';
import { portMatches } from '../match.js';
import type { AdminRuleRef, RuleRef } from '../types.js';
import { endpointObject, listNames, plural, policyObject, type LintContext } from './context.js';

const DNS_LABEL = 'k8s-app';
const DNS_VALUE = 'kube-dns';
const DNS_NAMESPACE = 'kube-system';
const PROTOCOLS: readonly Protocol[] = ['UDP', 'TCP'];

const STAND_IN: Endpoint = {
  id: `${DNS_NAMESPACE}/${DNS_VALUE}`,
  kind: 'Pod',
  namespace: DNS_NAMESPACE,
  name: DNS_VALUE,
  labels: { [DNS_LABEL]: DNS_VALUE },
  ports: [
    { name: 'dns', containerPort: 53, protocol: 'UDP' },
    { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
  ],
  ips: [],
  hostNetwork: false,
};

/** A podSelector that asks for the DNS pods by their label: the rule is about DNS even where the input cannot show its namespace. */
function namesDNS(selector: LabelSelector | undefined): boolean {
  if (!selector) return false;
  if (selector.matchLabels[DNS_LABEL] === DNS_VALUE) return true;
  return selector.matchExpressions.some((e) => e.key === DNS_LABEL && e.operator === 'In' && e.values.includes(DNS_VALUE));
}

/** Without the DNS pods' addresses, only a block of every address surely holds them. */
function everyAddress(rule: CompiledRule): boolean {
  return rule.peers!.some((p) => p.kind === 'ipBlock' && p.cidr.prefix === 0 && p.except.length === 0);
}

interface Group {
  readonly policies: readonly CompiledPolicy[];
  readonly endpoints: Endpoint[];
}

export function lintDNSEgress(ctx: LintContext): void {
  const { compiled } = ctx;
  const groups = new Map<string, Group>();
  for (const e of compiled.cluster.endpoints) {
    if (e.hostNetwork) continue;
    const policies = isolatingPolicies(compiled, e, 'Egress');
    if (policies.length === 0) continue;
    const key = policies.map((p) => formatPolicyRef(p.ref)).join(',');
    const group = groups.get(key) ?? { policies, endpoints: [] };
    group.endpoints.push(e);
    groups.set(key, group);
  }
  if (groups.size === 0) return;

  const real = compiled.cluster.endpoints.filter((e) => !e.hostNetwork && e.labels[DNS_LABEL] === DNS_VALUE);
  const standIn = real.length === 0;
  const targets = standIn ? [STAND_IN] : real;
  // The stand-in's namespace must have labels for namespaceSelectors to be judged against.
  const judge: CompiledCluster =
    standIn && !compiled.namespaceLabels.has(DNS_NAMESPACE)
      ? { ...compiled, namespaceLabels: new Map([...compiled.namespaceLabels, [DNS_NAMESPACE, { [NAMESPACE_NAME_LABEL]: DNS_NAMESPACE }]]) }
      : compiled;

  const merged = new Map<string, { policy: CompiledPolicy; path: (string | number)[]; missing: Protocol[]; allowing?: RuleRef; assumed: boolean; endpoints: Endpoint[]; policies: Set<string> }>();
  for (const group of groups.values()) {
    // The DNS pods' own egress goes to upstream resolvers, not to themselves: judge another member.
    const source = group.endpoints.find((e) => !targets.some((t) => t.id === e.id));
    if (!source) continue;
    const allowedBy = new Map<Protocol, { rule: RuleRef; assumed: boolean }>();
    // An Admin-tier rule decides before these policies: its Accept lets DNS through, its Deny is PW-ADMIN-BLOCKS-DNS.
    const byAdmin = new Set<Protocol>();
    for (const protocol of PROTOCOLS) {
      for (const target of targets) {
        if (target.id === source.id) continue;
        const v = evaluateConnection(judge, { source: { kind: 'endpoint', endpoint: source }, destination: { kind: 'endpoint', endpoint: target }, port: 53, protocol });
        if (v.egress.tier === 'Admin') {
          byAdmin.add(protocol);
          break;
        }
        if (v.egress.allowed && v.egress.allowedBy.length > 0) {
          allowedBy.set(protocol, { rule: v.egress.allowedBy[0], assumed: false });
          break;
        }
      }
      if (allowedBy.has(protocol) || byAdmin.has(protocol) || !standIn) continue;
      for (const policy of group.policies) {
        const rule = policy.rules.Egress.find(
          (r) =>
            (r.ports === undefined || r.ports.some((p) => portMatches(p, 53, protocol, STAND_IN))) &&
            r.peers !== undefined &&
            (r.peers.some((p) => p.kind === 'pods' && namesDNS(p.podSelector)) || everyAddress(r)),
        );
        if (rule) {
          allowedBy.set(protocol, { rule: { tier: 'NetworkPolicy', policy: rule.policy, direction: 'Egress', index: rule.index }, assumed: !everyAddress(rule) });
          break;
        }
      }
    }
    const missing = PROTOCOLS.filter((p) => !allowedBy.has(p) && !byAdmin.has(p));
    if (missing.length === 0) continue;
    const allowing = [...allowedBy.values()][0];
    let policy: CompiledPolicy;
    let path: (string | number)[];
    if (allowing) {
      policy = group.policies.find((p) => p.ref.namespace === allowing.rule.policy.namespace && p.ref.name === allowing.rule.policy.name)!;
      const rule = policy.rules.Egress[allowing.rule.index];
      path = rule.ports ? ['spec', 'egress', allowing.rule.index, 'ports'] : ['spec', 'egress', allowing.rule.index];
    } else {
      // Where a DNS rule usually goes: the namespace-wide policy, if one isolates these pods.
      policy = group.policies.find((p) => Object.keys(p.podSelector.matchLabels).length === 0 && p.podSelector.matchExpressions.length === 0) ?? group.policies[0];
      path = policy.policy.spec.egress.length > 0 ? ['spec', 'egress'] : ['spec', 'policyTypes'];
    }
    const key = `${formatPolicyRef(policy.ref)}|${path.join('.')}|${missing.join(',')}`;
    const entry = merged.get(key) ?? { policy, path, missing, allowing: allowing?.rule, assumed: allowing?.assumed ?? false, endpoints: [], policies: new Set<string>() };
    entry.endpoints.push(...group.endpoints);
    for (const p of group.policies) entry.policies.add(formatPolicyRef(p.ref));
    merged.set(key, entry);
  }

  const where = `the cluster DNS (${DNS_NAMESPACE} pods labelled ${DNS_LABEL}=${DNS_VALUE}${standIn ? ', not in the input' : ''})`;
  for (const entry of merged.values()) {
    const n = entry.endpoints.length;
    const who = `${plural(n, 'pod')} (${listNames(entry.endpoints.map((e) => e.id), 5)}) isolated for egress by ${listNames([...entry.policies].sort(), 4)}`;
    let message: string;
    if (entry.missing.length === 2) {
      message = `${who} may not reach ${where} on UDP or TCP 53: name lookups fail. Add an egress rule to those pods on UDP and TCP port 53`;
    } else if (!entry.allowing) {
      const [lacking] = entry.missing;
      message = `${who} may not reach ${where} on ${lacking} 53 (the other protocol is decided by the Admin tier). Add an egress rule to those pods on ${lacking} port 53`;
    } else {
      const [lacking] = entry.missing;
      const has = lacking === 'TCP' ? 'UDP' : 'TCP';
      const assumption = entry.assumed ? ` (if the DNS pods' namespace matches the rule's namespaceSelector: ${DNS_NAMESPACE} is not in the input)` : '';
      const why = lacking === 'TCP' ? 'answers too large for UDP come back truncated and are retried over TCP, which fails' : 'most lookups are sent over UDP and fail';
      message = `${who} may reach ${where} on ${has} 53 through ${formatRuleRef(entry.allowing!)}${assumption}, but not on ${lacking} 53: ${why}. Add {protocol: ${lacking}, port: 53} to this rule's ports`;
    }
    ctx.report({ id: 'PW-NO-DNS-EGRESS', object: policyObject(entry.policy), path: entry.path, message, related: entry.endpoints.map(endpointObject) });
  }
}

/**
 * Pods whose egress to the cluster DNS an admin or baseline rule denies: name lookups fail, and for
 * an Admin-tier Deny no NetworkPolicy can help (a Baseline Deny yields to an egress NetworkPolicy
 * that allows DNS). One finding per deciding rule, at that rule.
 */
export function lintAdminDNS(ctx: LintContext): void {
  const { compiled } = ctx;
  if (!hasAdminPolicies(compiled)) return;
  const real = compiled.cluster.endpoints.filter((e) => !e.hostNetwork && e.labels[DNS_LABEL] === DNS_VALUE);
  const targets = real.length > 0 ? real : [STAND_IN];
  const judge: CompiledCluster =
    real.length === 0 && !compiled.namespaceLabels.has(DNS_NAMESPACE)
      ? { ...compiled, namespaceLabels: new Map([...compiled.namespaceLabels, [DNS_NAMESPACE, { [NAMESPACE_NAME_LABEL]: DNS_NAMESPACE }]]) }
      : compiled;
  const blocked = new Map<string, { rule: AdminRuleRef; protocols: Set<Protocol>; endpoints: Endpoint[] }>();
  // Members of one class answer alike: one evaluation per class (a DNS pod itself is never the one judged).
  const { classes } = computeClasses(compiled);
  const all = compiled.cluster.endpoints;
  for (const cls of classes) {
    const members = cls.members.map((k) => all[k]).filter((e) => !e.hostNetwork && !targets.some((t) => t.id === e.id));
    const source = members[0];
    if (!source) continue;
    for (const protocol of PROTOCOLS) {
      let denied: AdminRuleRef | undefined;
      for (const target of targets) {
        const v = evaluateConnection(judge, { source: { kind: 'endpoint', endpoint: source }, destination: { kind: 'endpoint', endpoint: target }, port: 53, protocol });
        if (v.egress.allowed) {
          denied = undefined;
          break;
        }
        if ((v.egress.tier === 'Admin' || v.egress.tier === 'Baseline') && v.egress.decidedBy) denied ??= v.egress.decidedBy;
        else break;
      }
      if (!denied) continue;
      const key = formatAdminRuleRef(denied);
      const entry = blocked.get(key) ?? { rule: denied, protocols: new Set<Protocol>(), endpoints: [] };
      entry.protocols.add(protocol);
      for (const e of members) if (!entry.endpoints.includes(e)) entry.endpoints.push(e);
      blocked.set(key, entry);
    }
  }
  const where = `the cluster DNS (${DNS_NAMESPACE} pods labelled ${DNS_LABEL}=${DNS_VALUE}${real.length === 0 ? ', not in the input' : ''})`;
  for (const { rule, protocols, endpoints: unordered } of blocked.values()) {
    const order = new Map(all.map((e, i) => [e, i]));
    const endpoints = [...unordered].sort((a, b) => order.get(a)! - order.get(b)!);
    const on = PROTOCOLS.filter((p) => protocols.has(p)).join(' and ');
    const remedy =
      rule.policy.tier === 'Admin'
        ? 'the Admin tier decides before NetworkPolicy, so no NetworkPolicy can allow it: let DNS through in this policy (an earlier Allow/Accept or Pass rule)'
        : 'the Baseline tier decides only for pods no NetworkPolicy isolates for egress: an egress NetworkPolicy allowing DNS, or an earlier rule here, lets it through';
    ctx.report({
      id: 'PW-ADMIN-BLOCKS-DNS',
      object: { kind: rule.policy.kind, name: rule.policy.name },
      path: ['spec', 'egress', rule.index],
      message: `${plural(endpoints.length, 'pod')} (${listNames(endpoints.map((e) => e.id), 5)}) may not reach ${where} on ${on} 53: ${formatAdminRuleRef(rule)} denies it, so name lookups fail; ${remedy}`,
      related: endpoints.map(endpointObject),
    });
  }
}
