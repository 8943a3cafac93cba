// Plain words for compiled rules, peers and ports, shared by every command and the UI so they
// all describe a policy the same way.
import { formatLabelSelector, isEmptySelector, type LabelSelector } from '../model/index.js';
import type { CompiledCluster, CompiledPeer, CompiledPort, CompiledRule } from './compile.js';
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

/**
 * One side of a verdict in words, as `check` prints it: the head line, then (indented by
 * `indent`) the rules of the isolating policies when none allows it, and the verdict's notes.
 */
export function describeVerdictSide(compiled: CompiledCluster, v: DirectionVerdict, who: string, indent = '    '): string[] {
  const dir = v.direction === 'Egress' ? 'egress' : 'ingress';
  const head = `${dir} ${v.direction === 'Egress' ? 'from' : 'to'} ${who}`;
  if (v.notSubject === 'external') return [`${head}: outside the cluster, not subject to NetworkPolicy`];
  if (v.notSubject === 'hostNetwork') return [`${head}: hostNetwork pod, not subject to NetworkPolicy (its traffic is the node's)`];
  if (!v.isolated) return [`${head}: not isolated for ${dir} (no policy selects it for ${v.direction}), so allowed`];
  const by = v.isolatingPolicies.map(formatPolicyRef).join(', ');
  const lines: string[] = [];
  if (v.allowed) {
    lines.push(`${head}: isolated by ${by}; allowed by ${v.allowedBy.map(formatRuleRef).join(', ')}`);
  } else {
    lines.push(`${head}: isolated by ${by}; no ${dir} rule allows it`);
    const rules = compiled.policies
      .filter((p) => v.isolatingPolicies.some((r) => r.namespace === p.namespace && r.name === p.ref.name))
      .flatMap((p) => p.rules[v.direction]);
    if (rules.length === 0) lines.push(`${indent}(the isolating policies have no ${dir} rules: they allow nothing)`);
    for (const rule of rules) {
      const words = describeRule(rule);
      lines.push(`${indent}${formatRuleRef({ tier: 'NetworkPolicy', policy: rule.policy, direction: rule.direction, index: rule.index })} allows ${v.direction === 'Egress' ? 'to' : 'from'} ${words.peers}, on ${words.ports}`);
    }
  }
  for (const note of v.notes) lines.push(`${indent}note: ${note}`);
  return lines;
}
