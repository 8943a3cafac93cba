// Plain words for compiled rules, peers and ports, shared by every command and the UI so they
// all describe a policy the same way.
import { formatLabelSelector, isEmptySelector, type LabelSelector } from '../model/index.js';
import type { CompiledPeer, CompiledPort, CompiledRule } from './compile.js';
import type { PolicyRef, RuleRef } from './types.js';

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
