// Selectors that select nothing: a policy's podSelector, its namespace, each peer's pod and
// namespace selectors, and the AND/OR trap of podSelector and namespaceSelector in one peer or two.
import {
  NAMESPACE_NAME_LABEL,
  selectorMatches,
  type Endpoint,
  type FieldPath,
  type LabelSelector,
  type NetworkPolicyPeer,
} from '../../model/index.js';
import { policySelects, type CompiledPeer, type CompiledPolicy } from '../compile.js';
import { peerMatches } from '../match.js';
import type { Direction } from '../types.js';
import { endpointObject, listNames, nearLabels, plural, policyObject, selectorText, unmatchedLabels, type LintContext } from './context.js';

/** The pods a pod peer (podSelector and/or namespaceSelector) reaches, as far as the input shows. */
interface PeerReach {
  readonly endpoints: readonly Endpoint[];
  /** The namespaces it looks in. */
  readonly namespaces: readonly string[];
  /** Every namespace it looks in has its contents in the input: an empty answer is real. */
  readonly allKnown: boolean;
  /** Namespaces whose labels the input does not show that could match the namespaceSelector. */
  readonly hidden: readonly string[];
}

/** A selector restricted to the namespace-name label, the one label every namespace is known to carry. */
function nameOnly(selector: LabelSelector): LabelSelector {
  const matchLabels: Record<string, string> = Object.hasOwn(selector.matchLabels, NAMESPACE_NAME_LABEL) ? { [NAMESPACE_NAME_LABEL]: selector.matchLabels[NAMESPACE_NAME_LABEL] } : {};
  return { matchLabels, matchExpressions: selector.matchExpressions.filter((e) => e.key === NAMESPACE_NAME_LABEL) };
}

function reach(ctx: LintContext, policyNamespace: string, podSelector: LabelSelector | undefined, namespaceSelector: LabelSelector | undefined): PeerReach {
  let namespaces: string[];
  let hidden: string[] = [];
  if (namespaceSelector === undefined) namespaces = [policyNamespace];
  else {
    namespaces = ctx.namespaces.filter((n) => selectorMatches(namespaceSelector, n.labels)).map((n) => n.name);
    const partial = nameOnly(namespaceSelector);
    hidden = ctx.namespaces.filter((n) => !n.labelsKnown && !namespaces.includes(n.name) && selectorMatches(partial, n.labels)).map((n) => n.name);
  }
  // Which pods it matches is the engine's answer for a peer of these selectors.
  const peer: CompiledPeer = { id: -1, key: '', kind: 'pods', namespace: namespaceSelector ? undefined : policyNamespace, namespaceSelector, podSelector };
  const endpoints = namespaces.flatMap((ns) => ctx.endpointsIn(ns)).filter((e) => peerMatches(ctx.compiled, peer, e, undefined));
  return { endpoints, namespaces, allKnown: namespaces.every((ns) => ctx.contentsKnown(ns)), hidden };
}

const ids = (endpoints: readonly Endpoint[]): string[] => endpoints.map((e) => e.id);

function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  const set = new Set(ids(a));
  return set.size === new Set(ids(b)).size && ids(b).every((id) => set.has(id));
}

function union(a: readonly Endpoint[], b: readonly Endpoint[]): Endpoint[] {
  const seen = new Set(ids(a));
  return [...a, ...b.filter((e) => !seen.has(e.id))];
}

const podOnly = (p: NetworkPolicyPeer): boolean => p.podSelector !== undefined && p.namespaceSelector === undefined && p.ipBlock === undefined;
const namespaceOnly = (p: NetworkPolicyPeer): boolean => p.namespaceSelector !== undefined && p.podSelector === undefined && p.ipBlock === undefined;

function podWords(selector: LabelSelector | undefined): string {
  const text = selectorText(selector, '');
  return text === '' ? 'every pod' : `pods with ${text}`;
}

function namespaceWords(selector: LabelSelector): string {
  const text = selectorText(selector, '');
  return text === '' ? 'every namespace' : `namespaces with ${text}`;
}

export function lintPolicySelectors(ctx: LintContext, policy: CompiledPolicy): void {
  if (!ctx.hasEndpoints) return;
  const object = policyObject(policy);
  const inNamespace = ctx.endpointsIn(policy.namespace);
  if (inNamespace.length === 0) {
    ctx.report({
      id: 'PW-POLICY-NAMESPACE-EMPTY',
      object,
      path: ['metadata', 'namespace'],
      message: `namespace ${policy.namespace} has no pods${ctx.options.complete ? '' : ' or workloads in the input'}, and a policy applies only to pods of its own namespace: it applies to nothing. Check metadata.namespace (objects without one go to the -n namespace)`,
    });
    return;
  }
  if (inNamespace.some((e) => policySelects(policy, e))) return;
  const near = nearLabels(policy.podSelector, inNamespace.map((e) => e.labels));
  const missing = unmatchedLabels(policy.podSelector, inNamespace.map((e) => e.labels));
  const nearEndpoints = inNamespace.filter((e) => near.some((l) => e.labels[l.split('=')[0]] === l.slice(l.indexOf('=') + 1)));
  ctx.report({
    id: 'PW-POLICY-SELECTS-NOTHING',
    object,
    path: ['spec', 'podSelector'],
    message: `no pod in namespace ${policy.namespace} has ${missing.length > 0 ? missing.join(', ') : `all of ${selectorText(policy.podSelector, '')}`}${near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : ''}: the policy selects nothing and isolates nothing. Fix the podSelector to match the pods' labels`,
    related: nearEndpoints.map(endpointObject),
  });
}

export function lintPeerSelectors(ctx: LintContext, policy: CompiledPolicy): void {
  if (!ctx.hasEndpoints) return;
  for (const direction of ['Ingress', 'Egress'] as const) {
    if (!policy.isolates[direction]) continue;
    const rules = direction === 'Ingress' ? policy.policy.spec.ingress : policy.policy.spec.egress;
    rules.forEach((rule, i) => {
      const peers = rule.peers ?? [];
      const explained = lintAndOr(ctx, policy, direction, i, peers);
      peers.forEach((peer, j) => {
        if (!explained.has(j)) lintPeer(ctx, policy, peerPath(direction, i, j), peer);
      });
    });
  }
}

function peerPath(direction: Direction, rule: number, peer: number): FieldPath {
  return direction === 'Ingress' ? ['spec', 'ingress', rule, 'from', peer] : ['spec', 'egress', rule, 'to', peer];
}

function lintPeer(ctx: LintContext, policy: CompiledPolicy, path: FieldPath, peer: NetworkPolicyPeer): void {
  if (peer.ipBlock) return;
  const object = policyObject(policy);
  const r = reach(ctx, policy.namespace, peer.podSelector, peer.namespaceSelector);
  if (peer.namespaceSelector && r.namespaces.length === 0) {
    const labels = ctx.namespaces.map((n) => n.labels);
    const missing = unmatchedLabels(peer.namespaceSelector, labels);
    const near = nearLabels(peer.namespaceSelector, labels);
    const what = missing.length > 0 ? `the label${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` : `all of ${selectorText(peer.namespaceSelector, '')}`;
    const hint = near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : '';
    // A label some namespace of the input carries (with another value) is likely mistyped here; one
    // no namespace of the input uses may be on a namespace the input does not declare.
    const usedKeys = new Set(ctx.namespaces.filter((n) => n.labelsKnown).flatMap((n) => Object.keys(n.labels)));
    const unknownKeys = [...Object.keys(peer.namespaceSelector.matchLabels), ...peer.namespaceSelector.matchExpressions.map((e) => e.key)].every(
      (k) => k === NAMESPACE_NAME_LABEL || !usedKeys.has(k),
    );
    if (r.hidden.length > 0 && unknownKeys && near.length === 0) {
      ctx.report({
        id: 'PW-NAMESPACE-SELECTS-NOTHING',
        severity: 'info',
        object,
        path: [...path, 'namespaceSelector'],
        message: `no namespace in the input has ${what}${hint}; ${listNames(r.hidden)} ${r.hidden.length > 1 ? 'are' : 'is'} not declared in the input, so ${r.hidden.length > 1 ? 'their' : 'its'} labels are unknown: unless ${r.hidden.length > 1 ? 'one of them carries' : 'it carries'} ${missing.length > 1 ? 'them' : 'it'}, this peer admits nobody`,
      });
    } else {
      ctx.report({
        id: 'PW-NAMESPACE-SELECTS-NOTHING',
        object,
        path: [...path, 'namespaceSelector'],
        message: `no namespace has ${what}${hint}: this peer admits nobody. Every namespace carries ${NAMESPACE_NAME_LABEL}=NAME; other labels must be set on the Namespace`,
      });
    }
    return;
  }
  if (!r.allKnown || r.endpoints.length > 0 || r.namespaces.length === 0) return;
  const candidates = r.namespaces.flatMap((ns) => ctx.endpointsIn(ns));
  const selector = peer.podSelector ?? { matchLabels: {}, matchExpressions: [] };
  const near = nearLabels(selector, candidates.map((e) => e.labels));
  const missing = unmatchedLabels(selector, candidates.map((e) => e.labels));
  const where = peer.namespaceSelector ? `the ${plural(r.namespaces.length, 'namespace')} with ${selectorText(peer.namespaceSelector, 'any labels')} (${listNames(r.namespaces)})` : `namespace ${policy.namespace}`;
  const nearEndpoints = candidates.filter((e) => near.some((l) => e.labels[l.split('=')[0]] === l.slice(l.indexOf('=') + 1)));
  ctx.report({
    id: 'PW-PEER-SELECTS-NOTHING',
    object,
    path: peer.podSelector ? [...path, 'podSelector'] : path,
    message: `no pod in ${where} has ${missing.length > 0 ? missing.join(', ') : `all of ${selectorText(selector, '')}`}${near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : ''}: this peer admits nobody${peer.namespaceSelector ? '' : ' (a podSelector without namespaceSelector looks only in the policy\'s namespace)'}`,
    related: nearEndpoints.map(endpointObject),
  });
}

/**
 * The AND/OR trap, judged by what each reading selects: two adjacent peers, one podSelector and one
 * namespaceSelector, that as one peer would select other pods; and one peer with both selectors
 * that selects nothing while the podSelector alone selects pods of the policy's namespace.
 * Returns the peers a finding explains, so they are not reported again as selecting nothing.
 */
function lintAndOr(ctx: LintContext, policy: CompiledPolicy, direction: Direction, rule: number, peers: readonly NetworkPolicyPeer[]): Set<number> {
  const explained = new Set<number>();
  const object = policyObject(policy);
  const field = direction === 'Ingress' ? 'from' : 'to';
  for (let j = 0; j + 1 < peers.length; j++) {
    const [a, b] = [peers[j], peers[j + 1]];
    const pair = podOnly(a) && namespaceOnly(b) ? { pod: a, ns: b, podIndex: j } : namespaceOnly(a) && podOnly(b) ? { pod: b, ns: a, podIndex: j + 1 } : undefined;
    if (!pair || explained.has(j)) continue;
    const pods = reach(ctx, policy.namespace, pair.pod.podSelector, undefined);
    const namespaces = reach(ctx, policy.namespace, undefined, pair.ns.namespaceSelector);
    if (namespaces.namespaces.length === 0) continue;
    const and = reach(ctx, policy.namespace, pair.pod.podSelector, pair.ns.namespaceSelector);
    const or = union(pods.endpoints, namespaces.endpoints);
    if (sameEndpoints(or, and.endpoints)) continue;
    if (pods.endpoints.length === 0 && and.endpoints.length === 0) continue;
    const deadPods = pods.endpoints.length === 0;
    const podText = podWords(pair.pod.podSelector);
    const nsText = namespaceWords(pair.ns.namespaceSelector!);
    const andList = and.endpoints.length > 0 ? ` (${listNames(ids(and.endpoints))})` : ' (none in the input)';
    ctx.report({
      id: 'PW-PEERS-OR-MEANT-AND',
      severity: deadPods ? 'warning' : 'info',
      object,
      path: [...peerPath(direction, rule, j + 1)],
      message: deadPods
        ? `${field}[${j}] and ${field}[${j + 1}] are two peers, ORed: ${podText} in namespace ${policy.namespace}, where none is, or every pod in ${nsText} (${plural(namespaces.endpoints.length, 'pod')}). One peer with both selectors would admit ${podText} in those namespaces${andList}: if that was meant, put both selectors in one list item`
        : `${field}[${j}] and ${field}[${j + 1}] are two peers, ORed: ${podText} in namespace ${policy.namespace}, or every pod in ${nsText}: ${plural(or.length, 'pod')} in all. One peer with both selectors would admit only ${podText} in those namespaces${andList}: if that was meant, put both selectors in one list item`,
      related: (deadPods ? and.endpoints : []).map(endpointObject),
    });
    explained.add(pair.podIndex);
    j++;
  }
  peers.forEach((peer, j) => {
    if (explained.has(j) || !peer.podSelector || !peer.namespaceSelector) return;
    const and = reach(ctx, policy.namespace, peer.podSelector, peer.namespaceSelector);
    if (and.namespaces.length === 0 || !and.allKnown || and.endpoints.length > 0) return;
    const pods = reach(ctx, policy.namespace, peer.podSelector, undefined);
    if (pods.endpoints.length === 0) return;
    const namespaces = reach(ctx, policy.namespace, undefined, peer.namespaceSelector);
    ctx.report({
      id: 'PW-PEER-AND-MEANT-OR',
      object,
      path: peerPath(direction, rule, j),
      message: `this one peer means ${podWords(peer.podSelector)} in ${namespaceWords(peer.namespaceSelector)} (${listNames(and.namespaces)}), and there is none: it admits nobody. ${podWords(peer.podSelector)} exist in namespace ${policy.namespace} (${listNames(ids(pods.endpoints))})${namespaces.endpoints.length > 0 ? `, and the selected namespaces hold ${plural(namespaces.endpoints.length, 'other pod')}` : ''}: if either was meant, write the selectors as two list items`,
      related: pods.endpoints.map(endpointObject),
    });
    explained.add(j);
  });
  return explained;
}
