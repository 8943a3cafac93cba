// Pure: the editor's text (NetworkPolicies, and the cluster-scoped AdminNetworkPolicy,
// BaselineAdminNetworkPolicy and ClusterNetworkPolicy, in YAML) laid over a cluster. Policies of the
// same namespace/name (kind/name) replace the cluster's, others are added; the result is compiled by
// the engine and compared flow by flow with the cluster as it was, by the engine's diff (as `podwall diff`).
import { compileCluster, diffClusters, formatPolicyRef, type CompiledCluster } from '../engine/index.js';
import { closestWord, compareStrings, formatDiagnostic, loadTexts, NAMESPACE_NAME_LABEL, type Cluster, type Diagnostic } from '../model/index.js';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { adminPolicyId } from './admin.js';
import { OUTSIDE, type DiagnosticView, type FlowKey } from './types.js';

/** The kinds the editor takes. */
export const EDITOR_KINDS = ['NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'ClusterNetworkPolicy'] as const;

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

/**
 * The fields of an AdminNetworkPolicy / BaselineAdminNetworkPolicy (policy.networking.k8s.io
 * v1alpha1) or ClusterNetworkPolicy (v1alpha2) at a path, from their types' json tags.
 */
function knownAdminFieldsAt(kind: string, at: string, last: string): readonly string[] | undefined {
  const v1alpha2 = kind === 'ClusterNetworkPolicy';
  if (at === 'spec') return [...(v1alpha2 ? ['tier'] : []), ...(kind === 'BaselineAdminNetworkPolicy' ? [] : ['priority']), 'subject', 'ingress', 'egress'];
  if (at === 'spec.subject' || at === 'spec.ingress.from') return ['namespaces', 'pods'];
  if (at === 'spec.egress.to') return ['namespaces', 'pods', 'nodes', 'networks', ...(kind === 'BaselineAdminNetworkPolicy' ? [] : ['domainNames'])];
  if (at === 'spec.ingress') return ['name', 'action', 'from', v1alpha2 ? 'protocols' : 'ports'];
  if (at === 'spec.egress') return ['name', 'action', 'to', v1alpha2 ? 'protocols' : 'ports'];
  if (last === 'pods') return ['namespaceSelector', 'podSelector'];
  if (last === 'ports') return ['portNumber', 'namedPort', 'portRange'];
  if (last === 'portNumber') return ['protocol', 'port'];
  if (last === 'portRange') return ['protocol', 'start', 'end'];
  if (last === 'protocols') return ['tcp', 'udp', 'sctp', 'destinationNamedPort'];
  if (last === 'tcp' || last === 'udp' || last === 'sctp') return ['destinationPort'];
  if (last === 'destinationPort') return ['number', 'range'];
  if (last === 'range') return ['start', 'end'];
  if (last === 'namespaces' || last === 'nodes' || last === 'podSelector' || last === 'namespaceSelector') return ['matchLabels', 'matchExpressions'];
  if (last === 'matchExpressions') return ['key', 'operator', 'values'];
  return undefined;
}

/** The fields a NetworkPolicy (k8s.io/api networking/v1 types.go), or an admin kind, has at a path, by the path's field names (list indexes left out). */
function knownFieldsAt(names: readonly string[], kind: string): readonly string[] | undefined {
  const at = names.join('.');
  const last = names[names.length - 1] ?? '';
  if (at === '') return ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
  if (at === 'metadata') return ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields'];
  if (kind !== 'NetworkPolicy' && (EDITOR_KINDS as readonly string[]).includes(kind)) return knownAdminFieldsAt(kind, at, last);
  if (at === 'spec') return ['podSelector', 'policyTypes', 'ingress', 'egress'];
  if (at === 'spec.ingress') return ['from', 'ports'];
  if (at === 'spec.egress') return ['to', 'ports'];
  if (at === 'spec.ingress.from' || at === 'spec.egress.to') return ['podSelector', 'namespaceSelector', 'ipBlock'];
  if (at === 'spec.ingress.ports' || at === 'spec.egress.ports') return ['port', 'endPort', 'protocol'];
  if (last === 'ipBlock') return ['cidr', 'except'];
  if (last === 'podSelector' || last === 'namespaceSelector') return ['matchLabels', 'matchExpressions'];
  if (last === 'matchExpressions') return ['key', 'operator', 'values'];
  return undefined;
}

/** `spec.ingress[0].from` -> ['spec', 'ingress', 0, 'from']. */
function parseFieldPath(field: string): (string | number)[] {
  return [...field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]));
}

/**
 * An unknown field, as the editor shows it: at the line of its key (the model points at its value,
 * a line below for a block) and with the known field it most likely meant.
 */
function placeUnknownFields(text: string, diagnostics: readonly Diagnostic[]): Diagnostic[] {
  if (!diagnostics.some((d) => d.field && d.message.startsWith('unknown field'))) return [...diagnostics];
  const lines = new LineCounter();
  const docs: Document[] = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: false }) as Document[];
  const lineStarts = lines.lineStarts;
  return diagnostics.map((d) => {
    if (!d.field || !d.message.startsWith('unknown field') || d.line === undefined) return d;
    const offset = (lineStarts[d.line - 1] ?? 0) + (d.column ?? 1) - 1;
    const doc = docs.find((x) => x.range !== undefined && x.range[0] <= offset && offset <= x.range[2]);
    const path = parseFieldPath(d.field);
    const key = path[path.length - 1];
    let node: unknown = doc?.contents;
    for (const step of path.slice(0, -1)) node = isMap(node) || isSeq(node) ? node.get(step, true) : undefined;
    const pair = isMap(node) ? node.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
    const start = pair && isScalar(pair.key) ? pair.key.range?.[0] : undefined;
    const at = start !== undefined ? lines.linePos(start) : undefined;
    const kind = isMap(doc?.contents) ? String(doc.contents.get('kind') ?? 'NetworkPolicy') : 'NetworkPolicy';
    const known = knownFieldsAt(
      path.slice(0, -1).filter((p): p is string => typeof p === 'string'),
      kind,
    );
    const guess = known && typeof key === 'string' && !d.message.includes('did you mean') ? closestWord(key, known) : undefined;
    return {
      ...d,
      ...(at ? { line: at.line, column: at.col } : {}),
      ...(guess ? { message: `${d.message}; did you mean "${guess}"?` } : {}),
    };
  });
}

export function overlayPolicies(base: Cluster, text: string, namespace = 'default'): Overlay {
  const built = loadTexts([{ file: EDITOR_FILE, text }], namespace);
  const errors = built.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 || !built.cluster) return { ok: false, diagnostics: placeUnknownFields(text, errors) };
  const edit = built.cluster;
  const others = [
    ...built.skipped.keys(),
    ...(edit.endpoints.length > 0 ? ['Pod or workload'] : []),
    ...(edit.namespaces.some((n) => n.declared) ? ['Namespace'] : []),
    ...((edit.nodes ?? []).length > 0 ? ['Node'] : []),
    ...((edit.services ?? []).length > 0 ? ['Service'] : []),
    ...((edit.endpointSlices ?? []).length > 0 ? ['EndpointSlice'] : []),
  ];
  if (others.length > 0) {
    const kinds = `${EDITOR_KINDS.slice(0, -1).join(', ')} and ${EDITOR_KINDS[EDITOR_KINDS.length - 1]}`;
    return { ok: false, diagnostics: [{ severity: 'error', file: EDITOR_FILE, message: `the editor takes ${kinds} objects only, not ${others.sort().join(', ')}` }] };
  }
  const id = (p: { namespace: string; name: string }): string => formatPolicyRef(p);
  const edited = new Set(edit.policies.map(id));
  const existing = new Set(base.policies.map(id));
  const namespaces = [...base.namespaces];
  for (const p of edit.policies) {
    if (!namespaces.some((n) => n.name === p.namespace)) namespaces.push({ name: p.namespace, labels: { [NAMESPACE_NAME_LABEL]: p.namespace }, declared: false });
  }
  // Cluster-scoped: an admin policy replaces the one of the same kind and name.
  const editedAdmin = new Set((edit.adminPolicies ?? []).map(adminPolicyId));
  const existingAdmin = new Set((base.adminPolicies ?? []).map(adminPolicyId));
  const adminPolicies = [...(base.adminPolicies ?? []).filter((p) => !editedAdmin.has(adminPolicyId(p))), ...(edit.adminPolicies ?? [])].sort(
    (a, b) => compareStrings(a.kind, b.kind) || compareStrings(a.name, b.name),
  );
  const cluster: Cluster = {
    ...base,
    namespaces: namespaces.sort((a, b) => compareStrings(a.name, b.name)),
    endpoints: base.endpoints,
    policies: [...base.policies.filter((p) => !edited.has(id(p))), ...edit.policies].sort(
      (a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name),
    ),
    ...(adminPolicies.length > 0 ? { adminPolicies } : {}),
  };
  return {
    ok: true,
    compiled: compileCluster(cluster),
    replaced: [...[...edited].filter((p) => existing.has(p)).sort(), ...[...editedAdmin].filter((p) => existingAdmin.has(p)).sort()],
    added: [...[...edited].filter((p) => !existing.has(p)).sort(), ...[...editedAdmin].filter((p) => !existingAdmin.has(p)).sort()],
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
