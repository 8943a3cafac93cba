// Plain words for compiled rules, peers and ports, shared by every command and the UI so they
// all describe a policy the same way.
import { formatLabelSelector, isEmptySelector, type AdminPeer, type AdminPort, type AdminSubject, type LabelSelector } from '../model/index.js';
import type { CompiledAdminRule, CompiledCluster, CompiledPeer, CompiledPort, CompiledRule } from './compile.js';
import type { AdminPolicyRef, AdminRuleRef, DirectionVerdict, PolicyRef, RuleRef } from './types.js';

function selectorWords(selector: LabelSelector): string {
  return isEmptySelector(selector) ? '' : formatLabelSelector(selector);
}

export function describePeer(peer: CompiledPeer): string {
  if (peer.kind === 'ipBlock') {
    const except = peer.text.except.length > 0 ? ` except ${peer.text.except.join(', ')}` : '';
    return `addresses in ${peer.text.cidr}${except}`;
  }
  const pods = peer.podSelector && !isEmptySelector(peer.podSelector) ? `pods with ${selectorWords(peer.podSelector)}` : 'all pods';
  if (peer.namespace !== undefined) return `${pods} in namespace ${peer.namespace}`;
  const ns = selectorWords(peer.namespaceSelector!);
  return ns ? `${pods} in namespaces with ${ns}` : `${pods} in all namespaces`;
}

export function describePort(port: CompiledPort): string {
  switch (port.kind) {
    case 'all':
      return `all ${port.protocol} ports`;
    case 'range':
      return port.endPort === port.port ? `${port.protocol} ${port.port}` : `${port.protocol} ${port.port}-${port.endPort}`;
    case 'named':
      return `${port.protocol} port named "${port.name}"`;
  }
}

export function describeRule(rule: CompiledRule): { peers: string; ports: string } {
  const anywhere = rule.direction === 'Ingress' ? 'any source (every pod, and outside the cluster)' : 'any destination (every pod, and outside the cluster)';
  return {
    peers: rule.peers === undefined ? anywhere : rule.peers.map(describePeer).join('; or '),
    ports: rule.ports === undefined ? 'all ports' : rule.ports.map(describePort).join(', '),
  };
}

export function formatPolicyRef(ref: PolicyRef): string {
  return `${ref.namespace}/${ref.name}`;
}

/** `default/db-policy ingress[0]`: the policy and the rule's index, as field paths name it. */
export function formatRuleRef(ref: RuleRef): string {
  return `${formatPolicyRef(ref.policy)} ${ref.direction === 'Ingress' ? 'ingress' : 'egress'}[${ref.index}]`;
}

/** `AdminNetworkPolicy/deny-ravenclaw (Admin tier, priority 3)`; a BaselineAdminNetworkPolicy has no priority. */
export function formatAdminPolicyRef(ref: AdminPolicyRef): string {
  const priority = ref.priority === undefined ? '' : `, priority ${ref.priority}`;
  return `${ref.kind}/${ref.name} (${ref.tier} tier${priority})`;
}

/** `AdminNetworkPolicy/deny-ravenclaw (Admin tier, priority 3) egress[1] "deny-to-ravenclaw": Deny`. */
export function formatAdminRuleRef(ref: AdminRuleRef): string {
  const name = ref.name ? ` ${JSON.stringify(ref.name)}` : '';
  return `${formatAdminPolicyRef(ref.policy)} ${ref.direction === 'Ingress' ? 'ingress' : 'egress'}[${ref.index}]${name}: ${ref.action}`;
}

function namespacesWords(selector: LabelSelector): string {
  const ns = selectorWords(selector);
  return ns ? `namespaces with ${ns}` : 'all namespaces';
}

function podsWords(podSelector: LabelSelector | undefined, namespaceSelector: LabelSelector): string {
  const pods = podSelector && !isEmptySelector(podSelector) ? `pods with ${selectorWords(podSelector)}` : 'all pods';
  return `${pods} in ${namespacesWords(namespaceSelector)}`;
}

/** An admin policy's `spec.subject` in words: `pods with role=db in all namespaces`. */
export function describeAdminSubject(subject: AdminSubject): string {
  return subject.namespaces ? podsWords(undefined, subject.namespaces) : podsWords(subject.pods.podSelector, subject.pods.namespaceSelector);
}

/** One peer of an admin rule in words, as written (nodes and domain names too, which match by address or not at all). */
export function describeAdminPeer(peer: AdminPeer): string {
  switch (peer.kind) {
    case 'namespaces':
      return podsWords(undefined, peer.namespaces);
    case 'pods':
      return podsWords(peer.pods.podSelector, peer.pods.namespaceSelector);
    case 'nodes': {
      const nodes = selectorWords(peer.nodes);
      return nodes ? `the addresses of nodes with ${nodes}` : 'the addresses of every node';
    }
    case 'networks':
      return `addresses in ${peer.networks.join(', ')}`;
    case 'domainNames':
      return `the domain names ${peer.domainNames.join(', ')} (resolved at run time: Podwall matches no address to them)`;
  }
}

export function describeAdminPort(port: AdminPort): string {
  switch (port.kind) {
    case 'number':
      return `${port.protocol} ${port.port}`;
    case 'range':
      return `${port.protocol} ${port.start}-${port.end}`;
    case 'named':
      return `the port named "${port.name}" (any protocol)`;
  }
}

/** An admin or baseline rule in words: what it does, to or from whom, on which ports. */
export function describeAdminRule(rule: CompiledAdminRule): { peers: string; ports: string } {
  return {
    peers: rule.rule.peers.map(describeAdminPeer).join('; or '),
    ports: rule.rule.ports === undefined ? 'all ports' : rule.rule.ports.map(describeAdminPort).join(', '),
  };
}

/** `AdminNetworkPolicy/x (Admin tier, priority 3) ingress[0]: Deny from pods with ..., on TCP 80`. */
export function describeAdminRuleLine(rule: CompiledAdminRule): string {
  const words = describeAdminRule(rule);
  return `${formatAdminRuleRef(rule.ref)} ${rule.ref.direction === 'Egress' ? 'to' : 'from'} ${words.peers}, on ${words.ports}`;
}

/** Whether the cluster has admin or baseline policies: without them every text reads as it did before the tiers. */
export function hasAdminPolicies(compiled: CompiledCluster): boolean {
  return compiled.adminPolicies.Admin.length + compiled.adminPolicies.Baseline.length > 0;
}

/** `passed on by X, then by Y; `: the Pass rules a side went through, as a prefix, or nothing. */
function passedWords(v: DirectionVerdict): string {
  return v.passedBy.length === 0 ? '' : `passed on by ${v.passedBy.map(formatAdminRuleRef).join(', then ')}; `;
}

/**
 * One side of a verdict in words, as `check` prints it: the head line (the tier that decided, the
 * Pass rules on the way), then (indented by `indent`) the rules of the isolating policies when
 * none allows it, and the verdict's notes. Without admin policies it reads as NetworkPolicy alone.
 */
export function describeVerdictSide(compiled: CompiledCluster, v: DirectionVerdict, who: string, indent = '    '): string[] {
  const dir = v.direction === 'Egress' ? 'egress' : 'ingress';
  const head = `${dir} ${v.direction === 'Egress' ? 'from' : 'to'} ${who}`;
  if (v.notSubject === 'external') return [`${head}: outside the cluster, not subject to NetworkPolicy`];
  if (v.notSubject === 'hostNetwork') return [`${head}: hostNetwork pod, not subject to NetworkPolicy (its traffic is the node's)`];
  const notes = v.notes.map((note) => `${indent}note: ${note}`);
  const passed = passedWords(v);
  if ((v.tier === 'Admin' || v.tier === 'Baseline') && v.decidedBy) {
    const outcome = v.allowed ? 'allowed' : 'denied';
    const by = v.isolatingPolicies.map(formatPolicyRef).join(', ');
    // The Admin tier comes first: say which NetworkPolicies it overrode; the Baseline tier only applies unisolated.
    const unheard = v.isolated ? `: ${by} isolating it ${v.isolatingPolicies.length === 1 ? 'is' : 'are'} not consulted` : '';
    const before = v.tier === 'Admin' ? '' : `not isolated for ${dir} by NetworkPolicy, so the Baseline tier decides: `;
    const after = v.tier === 'Admin' ? ` (the Admin tier decides before NetworkPolicy${unheard})` : '';
    return [`${head}: ${passed}${before}${formatAdminRuleRef(v.decidedBy)}, so ${outcome}${after}`, ...notes];
  }
  if (!v.isolated) {
    if (!hasAdminPolicies(compiled)) return [`${head}: not isolated for ${dir} (no policy selects it for ${v.direction}), so allowed`, ...notes];
    const none = v.passedBy.length > 0 ? 'no other admin or baseline rule matches' : 'no admin or baseline rule matches';
    return [`${head}: ${passed}not isolated for ${dir} (no policy selects it for ${v.direction}) and ${none}: no tier decided, so allowed`, ...notes];
  }
  const by = v.isolatingPolicies.map(formatPolicyRef).join(', ');
  const lines: string[] = [];
  if (v.allowed) {
    lines.push(`${head}: ${passed}isolated by ${by}; allowed by ${v.allowedBy.map(formatRuleRef).join(', ')}`);
  } else {
    lines.push(`${head}: ${passed}isolated by ${by}; no ${dir} rule allows it`);
    const rules = compiled.policies
      .filter((p) => v.isolatingPolicies.some((r) => r.namespace === p.namespace && r.name === p.ref.name))
      .flatMap((p) => p.rules[v.direction]);
    if (rules.length === 0) lines.push(`${indent}(the isolating policies have no ${dir} rules: they allow nothing)`);
    for (const rule of rules) {
      const words = describeRule(rule);
      lines.push(`${indent}${formatRuleRef({ tier: 'NetworkPolicy', policy: rule.policy, direction: rule.direction, index: rule.index })} allows ${v.direction === 'Egress' ? 'to' : 'from'} ${words.peers}, on ${words.ports}`);
    }
  }
  return [...lines, ...notes];
}
