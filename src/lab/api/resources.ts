// The resources the lab's API server serves, described once: where they live in the URL space,
// how discovery names them, and how `kubectl get` prints them (server-side Table columns).
import type { StoredKind } from '../store.js';

export interface Resource {
  readonly kind: StoredKind;
  readonly plural: string;
  readonly singular: string;
  readonly group: '' | 'networking.k8s.io';
  readonly version: 'v1';
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** Field selectors this resource supports besides metadata.name and metadata.namespace. */
  readonly fields: readonly string[];
}

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;

export const RESOURCES: readonly Resource[] = [
  { kind: 'Namespace', plural: 'namespaces', singular: 'namespace', group: '', version: 'v1', namespaced: false, shortNames: ['ns'], fields: ['status.phase'] },
  { kind: 'Pod', plural: 'pods', singular: 'pod', group: '', version: 'v1', namespaced: true, shortNames: ['po'], fields: ['spec.nodeName', 'status.phase', 'status.podIP'] },
  {
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    singular: 'networkpolicy',
    group: 'networking.k8s.io',
    version: 'v1',
    namespaced: true,
    shortNames: ['netpol'],
    fields: [],
  },
];

export const apiVersionOf = (r: Resource): string => (r.group ? `${r.group}/${r.version}` : r.version);

/** `networkpolicies.networking.k8s.io`, as Status messages name a resource. */
export const qualifiedName = (r: Resource): string => (r.group ? `${r.plural}.${r.group}` : r.plural);

type Manifest = Record<string, unknown>;
const meta = (m: Manifest): Record<string, unknown> => (m.metadata ?? {}) as Record<string, unknown>;

/** `5m`, `3h`, `2d`: kubectl's short ages. */
export function age(timestamp: unknown, now = Date.now()): string {
  const t = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(t)) return '<unknown>';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function selectorText(selector: unknown): string {
  const s = (selector ?? {}) as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  const parts = Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    parts.push({ In: `${e.key} in (${values})`, NotIn: `${e.key} notin (${values})`, Exists: e.key, DoesNotExist: `!${e.key}` }[e.operator] ?? e.key);
  }
  return parts.length > 0 ? parts.join(',') : '<none>';
}

export interface Column {
  readonly name: string;
  readonly type: 'string' | 'integer';
  readonly format: string;
  readonly description: string;
  /** 0: always shown; 1: only with `-o wide`. */
  readonly priority: number;
}

const col = (name: string, priority = 0, format = '', type: Column['type'] = 'string'): Column => ({ name, type, format, description: name, priority });

export function tableColumns(r: Resource): Column[] {
  switch (r.kind) {
    case 'Pod':
      return [col('Name', 0, 'name'), col('Ready'), col('Status'), col('Restarts', 0, '', 'integer'), col('Age'), col('IP', 1), col('Node', 1)];
    case 'NetworkPolicy':
      return [col('Name', 0, 'name'), col('Pod-Selector'), col('Age')];
    case 'Namespace':
      return [col('Name', 0, 'name'), col('Status'), col('Age')];
  }
}

export function tableCells(r: Resource, m: Manifest): unknown[] {
  const md = meta(m);
  const created = md.creationTimestamp;
  switch (r.kind) {
    case 'Pod': {
      const status = (m.status ?? {}) as { phase?: string; podIP?: string };
      const containers = ((m.spec as { containers?: unknown[] } | undefined)?.containers ?? []).length;
      const running = status.phase === 'Running';
      return [md.name, `${running ? containers : 0}/${containers}`, status.phase ?? 'Pending', 0, age(created), status.podIP ?? '<none>', (m.spec as { nodeName?: string } | undefined)?.nodeName ?? '<none>'];
    }
    case 'NetworkPolicy':
      return [md.name, selectorText((m.spec as { podSelector?: unknown } | undefined)?.podSelector), age(created)];
    case 'Namespace':
      return [md.name, ((m.status ?? {}) as { phase?: string }).phase ?? 'Active', age(created)];
  }
}
