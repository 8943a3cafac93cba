// What every lint rule shares: the endpoints per namespace, which namespaces' contents and labels
// the input really knows, and how a finding is placed (object, field path, file position).
import {
  formatLabelSelector,
  renderFieldPath,
  selectorMatches,
  NAMESPACE_NAME_LABEL,
  type Endpoint,
  type FieldPath,
  type LabelSelector,
  type Labels,
} from '../../model/index.js';
import type { CompiledCluster, CompiledPolicy } from '../compile.js';
import type { LintFinding, LintLocation, LintObjectRef, LintOptions, LintRelated, LintRuleId, LintSeverity } from './types.js';
import { lintRule } from './types.js';

/** Namespaces every cluster has, whether or not the input declares them. */
const SYSTEM_NAMESPACES: readonly string[] = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

export interface LintContext {
  readonly compiled: CompiledCluster;
  readonly options: LintOptions;
  /** Endpoints NetworkPolicy applies to (not hostNetwork), per namespace. */
  readonly endpointsIn: (namespace: string) => readonly Endpoint[];
  /** Every namespace: the input's, and the system namespaces it does not declare. */
  readonly namespaces: readonly { readonly name: string; readonly labels: Labels; readonly labelsKnown: boolean }[];
  /** The input shows what the namespace holds: it has endpoints, or the input is the whole cluster. */
  readonly contentsKnown: (namespace: string) => boolean;
  readonly hasEndpoints: boolean;
  readonly findings: LintFinding[];
  report(finding: {
    id: LintRuleId;
    severity?: LintSeverity;
    object?: LintObjectRef;
    path?: FieldPath;
    message: string;
    related?: readonly LintObjectRef[];
  }): void;
}

export function policyObject(policy: CompiledPolicy): LintObjectRef {
  return { kind: 'NetworkPolicy', namespace: policy.namespace, name: policy.ref.name };
}

export function endpointObject(endpoint: Endpoint): LintObjectRef {
  return { kind: endpoint.kind, namespace: endpoint.namespace, name: endpoint.name };
}

export function createContext(compiled: CompiledCluster, options: LintOptions): LintContext {
  const { cluster } = compiled;
  const byNamespace = new Map<string, Endpoint[]>();
  for (const e of cluster.endpoints) {
    if (e.hostNetwork) continue;
    const list = byNamespace.get(e.namespace) ?? [];
    list.push(e);
    byNamespace.set(e.namespace, list);
  }
  const complete = options.complete === true;
  const namespaces = cluster.namespaces.map((n) => ({ name: n.name, labels: n.labels, labelsKnown: complete || n.declared }));
  if (!complete) {
    for (const name of SYSTEM_NAMESPACES) {
      if (!namespaces.some((n) => n.name === name)) namespaces.push({ name, labels: { [NAMESPACE_NAME_LABEL]: name }, labelsKnown: false });
    }
  }

  // Where each object is, for findings and their related objects.
  const sources = new Map<string, LintLocation>();
  const key = (o: LintObjectRef): string => `${o.kind}/${o.namespace ?? ''}/${o.name}`;
  const remember = (o: LintObjectRef, s: { file: string; line: number; column: number } | undefined): void => {
    if (s) sources.set(key(o), { file: s.file, line: s.line, column: s.column });
  };
  for (const p of cluster.policies) remember({ kind: 'NetworkPolicy', namespace: p.namespace, name: p.name }, p.source);
  for (const e of cluster.endpoints) remember(endpointObject(e), e.source);
  for (const n of cluster.namespaces) remember({ kind: 'Namespace', name: n.name }, n.source);
  for (const s of cluster.services ?? []) remember({ kind: 'Service', namespace: s.namespace, name: s.name }, s.source);
  for (const a of cluster.adminPolicies ?? []) remember({ kind: a.kind, name: a.name }, a.source);

  const locate = (o: LintObjectRef, path: FieldPath): LintLocation | undefined => options.locate?.(o, path) ?? sources.get(key(o));
  const findings: LintFinding[] = [];
  // Summaries and wide ipBlocks relate thousands of pods: each related entry is made once.
  const relatedEntries = new Map<string, LintRelated>();
  const relatedEntry = (r: LintObjectRef): LintRelated => {
    const k = key(r);
    let entry = relatedEntries.get(k);
    if (!entry) {
      const location = sources.get(k);
      entry = location ? { ...r, location } : { ...r };
      relatedEntries.set(k, entry);
    }
    return entry;
  };
  return {
    compiled,
    options,
    endpointsIn: (ns) => byNamespace.get(ns) ?? [],
    namespaces,
    contentsKnown: (ns) => complete || (byNamespace.get(ns)?.length ?? 0) > 0,
    hasEndpoints: cluster.endpoints.length > 0,
    findings,
    report(f) {
      const related = (f.related ?? []).map(relatedEntry);
      findings.push({
        id: f.id,
        severity: f.severity ?? lintRule(f.id).severity,
        ...(f.object ? { object: f.object } : {}),
        ...(f.path ? { path: renderFieldPath(f.path) } : {}),
        ...(f.object ? withLocation(locate(f.object, f.path ?? [])) : {}),
        message: f.message,
        related,
      });
    },
  };
}

function withLocation(location: LintLocation | undefined): { location?: LintLocation } {
  return location ? { location } : {};
}

/** `name=cart` for a selector, `all pods` style words for an empty one. */
export function selectorText(selector: LabelSelector | undefined, empty: string): string {
  if (!selector) return empty;
  const text = formatLabelSelector(selector);
  return text === '' ? empty : text;
}

/** At most `max` names, then how many more. */
export function listNames(names: readonly string[], max = 8): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** The selector's matchLabels entries no label set satisfies on its own, as `key=value`. */
export function unmatchedLabels(selector: LabelSelector, candidates: readonly Labels[]): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels)) {
    if (!candidates.some((l) => Object.hasOwn(l, k) && l[k] === v)) out.push(`${k}=${v}`);
  }
  for (const e of selector.matchExpressions) {
    const one = { matchLabels: {}, matchExpressions: [e] };
    if (!candidates.some((l) => selectorMatches(one, l))) out.push(formatLabelSelector(one));
  }
  return out;
}

/** Edits between two strings, a swapped pair of neighbouring letters counting as one (`wbe` -> `web`). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * Label values close to the ones a selector asks for (`name=cart` -> `name=carts`), from the
 * candidates' labels: the likely typo, said in the message.
 */
export function nearLabels(selector: LabelSelector, candidates: readonly Labels[]): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(selector.matchLabels)) {
    for (const l of candidates) {
      if (!Object.hasOwn(l, k) || l[k] === v) continue;
      const other = l[k];
      const close = editDistance(v, other) <= Math.max(1, Math.floor(Math.min(v.length, other.length) / 4)) || other.startsWith(v) || v.startsWith(other);
      if (close) out.add(`${k}=${other}`);
    }
  }
  return [...out].sort();
}
