// Pure: the editor's text (NetworkPolicies in YAML) laid over a cluster. Policies of the same
// namespace/name replace the cluster's, others are added; the result is compiled by the engine
// and compared flow by flow with the cluster as it was, by the engine's diff (as `podwall diff`).
import { compileCluster, diffClusters, formatPolicyRef, type CompiledCluster } from '../engine/index.js';
import { compareStrings, formatDiagnostic, loadTexts, NAMESPACE_NAME_LABEL, type Cluster, type Diagnostic } from '../model/index.js';
import { OUTSIDE, type DiagnosticView, type FlowKey } from './types.js';

export const EDITOR_FILE = 'editor.yaml';

export type Overlay =
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: true; readonly compiled: CompiledCluster; readonly replaced: string[]; readonly added: string[] };

export function diagnosticView(d: Diagnostic): DiagnosticView {
  return {
    ...(d.line !== undefined ? { line: d.line, column: d.column ?? 1 } : {}),
    ...(d.object ? { object: d.object } : {}),
    ...(d.field ? { field: d.field } : {}),
    message: d.message,
    text: formatDiagnostic(d),
  };
}

export function overlayPolicies(base: Cluster, text: string, namespace = 'default'): Overlay {
  const built = loadTexts([{ file: EDITOR_FILE, text }], namespace);
  const errors = built.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 || !built.cluster) return { ok: false, diagnostics: errors };
  const edit = built.cluster;
  const others = [...built.skipped.keys(), ...(edit.endpoints.length > 0 ? ['Pod or workload'] : []), ...(edit.namespaces.some((n) => n.declared) ? ['Namespace'] : [])];
  if (others.length > 0) {
    return { ok: false, diagnostics: [{ severity: 'error', file: EDITOR_FILE, message: `the editor takes NetworkPolicy objects only, not ${others.sort().join(', ')}` }] };
  }
  const id = (p: { namespace: string; name: string }): string => formatPolicyRef(p);
  const edited = new Set(edit.policies.map(id));
  const existing = new Set(base.policies.map(id));
  const namespaces = [...base.namespaces];
  for (const p of edit.policies) {
    if (!namespaces.some((n) => n.name === p.namespace)) namespaces.push({ name: p.namespace, labels: { [NAMESPACE_NAME_LABEL]: p.namespace }, declared: false });
  }
  const cluster: Cluster = {
    namespaces: namespaces.sort((a, b) => compareStrings(a.name, b.name)),
    endpoints: base.endpoints,
    policies: [...base.policies.filter((p) => !edited.has(id(p))), ...edit.policies].sort(
      (a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name),
    ),
  };
  return {
    ok: true,
    compiled: compileCluster(cluster),
    replaced: [...edited].filter((p) => existing.has(p)).sort(),
    added: [...edited].filter((p) => !existing.has(p)).sort(),
  };
}

/**
 * The flows an edit opens and closes, from the engine's diff (the one `podwall diff` prints), one
 * key per connection: every endpoint pair of a group, and `outside` -> an endpoint on a declared
 * port whenever some outside addresses gain or lose it. Egress to outside addresses has no
 * destination port to key it by and is left out, as the model's outside flows carry none.
 */
export function previewDiff(before: CompiledCluster, after: CompiledCluster): { opened: FlowKey[]; closed: FlowKey[] } {
  const d = diffClusters(before, after);
  const keys = (groups: typeof d.opened): FlowKey[] => {
    const out = new Map<string, FlowKey>();
    for (const g of groups) {
      if (g.to.kind !== 'endpoints') continue;
      const sources = g.from.kind === 'outside' ? [OUTSIDE] : g.from.endpoints;
      for (const from of sources) {
        for (const to of g.to.endpoints) {
          if (from !== to) out.set(`${from}|${to}|${g.port}/${g.protocol}`, { from, to, port: g.port, protocol: g.protocol });
        }
      }
    }
    return [...out.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, k]) => k);
  };
  return { opened: keys(d.opened), closed: keys(d.closed) };
}
