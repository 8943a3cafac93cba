// Pure: the editor's text (NetworkPolicies in YAML) laid over a cluster. Policies of the same
// namespace/name replace the cluster's, others are added; the result is compiled by the engine
// and compared flow by flow with the cluster as it was.
import { compileCluster, formatPolicyRef, type CompiledCluster } from '../engine/index.js';
import { compareStrings, formatDiagnostic, loadTexts, NAMESPACE_NAME_LABEL, type Cluster, type Diagnostic } from '../model/index.js';
import type { DiagnosticView } from './types.js';

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
