// The resources the lab's API server serves, described once: where they live in the URL space,
// how discovery names them, and how `kubectl get` prints them (server-side Table columns; the admin
// policy kinds with their CRDs' printer columns).
import { decodeNetworkPolicy, formatLabelSelector, type Manifest } from '../../model/index.js';
import type { StoredKind } from '../store.js';

/** The API groups served: core, NetworkPolicy's, and the admin policies' (served as their CRDs serve them). */
export type ApiGroup = '' | 'networking.k8s.io' | 'policy.networking.k8s.io';
export type ApiVersion = 'v1' | 'v1alpha1' | 'v1alpha2';

export interface Resource {
  readonly kind: StoredKind;
  readonly plural: string;
  readonly singular: string;
  readonly group: ApiGroup;
  readonly version: ApiVersion;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** Field selectors this resource supports besides metadata.name and metadata.namespace. */
  readonly fields: readonly string[];
  /** Discovery categories: `kubectl get all` lists the resources in `all`. */
  readonly categories?: readonly string[];
  /** Whether it has a `status` subresource (and its main resource never writes the status). */
  readonly status: boolean;
  /**
   * Served as the apiextensions apiserver serves a custom resource: no strategic merge patch (415,
   * as for every CRD), and a create never sets the status (customResourceStrategy.PrepareForCreate).
   */
  readonly custom?: boolean;
}

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;

const adminPolicy = (kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'ClusterNetworkPolicy', shortName: string, version: 'v1alpha1' | 'v1alpha2'): Resource => ({
  kind,
  plural: `${kind.toLowerCase()}s`.replace(/ys$/, 'ies'),
  singular: kind.toLowerCase(),
  group: 'policy.networking.k8s.io',
  version,
  namespaced: false,
  shortNames: [shortName],
  fields: [],
  status: true,
  custom: true,
});

export const RESOURCES: readonly Resource[] = [
  { kind: 'Namespace', plural: 'namespaces', singular: 'namespace', group: '', version: 'v1', namespaced: false, shortNames: ['ns'], fields: ['status.phase'], status: true },
  { kind: 'Pod', plural: 'pods', singular: 'pod', group: '', version: 'v1', namespaced: true, shortNames: ['po'], fields: ['spec.nodeName', 'status.phase', 'status.podIP'], categories: ['all'], status: true },
  // service.SelectableFields: spec.clusterIP (kube-proxy's `spec.clusterIP!=None`) and spec.type.
  { kind: 'Service', plural: 'services', singular: 'service', group: '', version: 'v1', namespaced: true, shortNames: ['svc'], fields: ['spec.clusterIP', 'spec.type'], categories: ['all'], status: true },
  // node.NodeToSelectableFields: spec.unschedulable besides the metadata.
  { kind: 'Node', plural: 'nodes', singular: 'node', group: '', version: 'v1', namespaced: false, shortNames: ['no'], fields: ['spec.unschedulable'], status: true },
  {
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    singular: 'networkpolicy',
    group: 'networking.k8s.io',
    version: 'v1',
    namespaced: true,
    shortNames: ['netpol'],
    fields: [],
    status: false,
  },
  // The CRDs of kubernetes-sigs/network-policy-api: v1alpha1 (v0.1.7) and v1alpha2 (ClusterNetworkPolicy), cluster-scoped.
  adminPolicy('AdminNetworkPolicy', 'anp', 'v1alpha1'),
  adminPolicy('BaselineAdminNetworkPolicy', 'banp', 'v1alpha1'),
  adminPolicy('ClusterNetworkPolicy', 'cnp', 'v1alpha2'),
];


export const apiVersionOf = (r: Resource): string => (r.group ? `${r.group}/${r.version}` : r.version);

/** `networkpolicies.networking.k8s.io`, as Status messages name a resource. */
export const qualifiedName = (r: Resource): string => (r.group ? `${r.plural}.${r.group}` : r.plural);

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

/** The policy's pod selector as `kubectl get netpol` shows it (metav1.FormatLabelSelector: `<none>` when empty), in the model's words. */
function podSelectorText(m: Manifest): string {
  const md = meta(m);
  const decoded = decodeNetworkPolicy(m, String(md.namespace ?? ''), { ignoreUnknownFields: true });
  if (!decoded.policy) return '<unknown>';
  return formatLabelSelector(decoded.policy.spec.podSelector) || '<none>';
}

interface ContainerStatus {
  readonly name?: string;
  readonly ready?: boolean;
  readonly restartCount?: number;
}

/**
 * READY and RESTARTS as kubectl's pod printer counts them: ready containers (from the statuses the
 * pod runner writes) over the pod's containers, sidecars (restartable init containers) included.
 */
function podReadiness(m: Manifest): { ready: string; restarts: number } {
  const spec = (m.spec ?? {}) as { containers?: unknown[]; initContainers?: { name?: string; restartPolicy?: string }[] };
  const status = (m.status ?? {}) as { containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
  const sidecars = new Set((spec.initContainers ?? []).filter((c) => c?.restartPolicy === 'Always').map((c) => c.name));
  const statuses = [...(Array.isArray(status.containerStatuses) ? status.containerStatuses : []), ...(Array.isArray(status.initContainerStatuses) ? status.initContainerStatuses.filter((c) => sidecars.has(c?.name)) : [])];
  const total = (Array.isArray(spec.containers) ? spec.containers.length : 0) + sidecars.size;
  const ready = statuses.filter((c) => c?.ready === true).length;
  const restarts = statuses.reduce((n, c) => n + (typeof c?.restartCount === 'number' ? c.restartCount : 0), 0);
  return { ready: `${ready}/${total}`, restarts };
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

interface ServiceFields {
  readonly type?: string;
  readonly clusterIPs?: unknown;
  readonly externalIPs?: unknown;
  readonly externalName?: string;
  readonly selector?: Record<string, string>;
  readonly ports?: { port?: number; nodePort?: number; protocol?: string }[];
}

/** getServiceExternalIP: what EXTERNAL-IP shows per type (the server renders wide, so nothing is cut short). */
function serviceExternalIP(spec: ServiceFields, status: Manifest): string {
  const external = strings(spec.externalIPs);
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return external.length > 0 ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      const ingress = (((status.loadBalancer ?? {}) as { ingress?: { ip?: string; hostname?: string }[] }).ingress ?? []).map((i) => i?.ip || i?.hostname || '').filter((a) => a !== '');
      const lb = [...new Set(ingress)].sort();
      const all = [...lb, ...external];
      return all.length > 0 ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
  }
  return '<unknown>';
}

/** makePortString: `80:30080/TCP,443/TCP`. */
function servicePorts(spec: ServiceFields): string {
  const ports = (Array.isArray(spec.ports) ? spec.ports : []).map((p) => (p?.nodePort ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p?.port}/${p?.protocol}`));
  return ports.length > 0 ? ports.join(',') : '<none>';
}

/** labels.FormatLabels: `k=v` sorted by key, `<none>` when empty. */
function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length > 0 ? keys.map((k) => `${k}=${labels![k]}`).join(',') : '<none>';
}

const specField = (m: Manifest, field: string): unknown => ((m.spec ?? {}) as Record<string, unknown>)[field];

/** A `string` printer column: the value as JSONPath prints it, or nothing (`<none>`) when the field is absent. */
const printedString = (v: unknown): string | null => (v === undefined || v === null ? null : typeof v === 'object' ? JSON.stringify(v) : String(v));

interface NodeStatusFields {
  readonly conditions?: { type?: string; status?: string }[];
  readonly addresses?: { type?: string; address?: string }[];
  readonly nodeInfo?: { kubeletVersion?: string };
}

/** kubectl's node printer: the Ready condition (`Ready`, `NotReady`, `Unknown`), `SchedulingDisabled` appended when cordoned. */
function nodeStatus(m: Manifest): string {
  const conditions = ((m.status ?? {}) as NodeStatusFields).conditions;
  const ready = (Array.isArray(conditions) ? conditions : []).find((c) => c?.type === 'Ready');
  const text = !ready ? 'Unknown' : ready.status === 'True' ? 'Ready' : ready.status === 'False' ? 'NotReady' : 'Unknown';
  return ((m.spec ?? {}) as { unschedulable?: boolean }).unschedulable ? `${text},SchedulingDisabled` : text;
}

/** findNodeRoles: `node-role.kubernetes.io/<role>` labels and the `kubernetes.io/role` label, sorted; `<none>` without any. */
function nodeRoles(labels: Record<string, string> | undefined): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v !== '') roles.add(v);
  }
  return roles.size > 0 ? [...roles].sort().join(',') : '<none>';
}

export interface Column {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'date';
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
    case 'Service':
      return [col('Name', 0, 'name'), col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), col('Age'), col('Selector', 1)];
    case 'Node':
      return [col('Name', 0, 'name'), col('Status'), col('Roles'), col('Age'), col('Version'), col('Internal-IP', 1), col('External-IP', 1)];
    // The CRDs' additionalPrinterColumns: priority is a `string` column (printed by JSONPath), age a `date`.
    case 'AdminNetworkPolicy':
      return [col('Name', 0, 'name'), col('Priority'), col('Age', 0, '', 'date')];
    case 'BaselineAdminNetworkPolicy':
      return [col('Name', 0, 'name'), col('Age', 0, '', 'date')];
    case 'ClusterNetworkPolicy':
      return [col('Name', 0, 'name'), col('Tier'), col('Priority'), col('Age', 0, '', 'date')];
  }
}

export function tableCells(r: Resource, m: Manifest): unknown[] {
  const md = meta(m);
  const created = md.creationTimestamp;
  switch (r.kind) {
    case 'Pod': {
      const status = (m.status ?? {}) as { phase?: string; podIP?: string };
      const { ready, restarts } = podReadiness(m);
      return [md.name, ready, status.phase ?? 'Pending', restarts, age(created), status.podIP ?? '<none>', (m.spec as { nodeName?: string } | undefined)?.nodeName ?? '<none>'];
    }
    case 'NetworkPolicy':
      return [md.name, podSelectorText(m), age(created)];
    case 'Namespace':
      return [md.name, ((m.status ?? {}) as { phase?: string }).phase ?? 'Active', age(created)];
    case 'Service': {
      const spec = (m.spec ?? {}) as ServiceFields;
      const clusterIP = strings(spec.clusterIPs)[0] ?? '<none>';
      return [md.name, spec.type ?? 'ClusterIP', clusterIP, serviceExternalIP(spec, (m.status ?? {}) as Manifest), servicePorts(spec), age(created), formatLabels(spec.selector)];
    }
    case 'Node': {
      const status = (m.status ?? {}) as NodeStatusFields;
      const address = (type: string): string => (Array.isArray(status.addresses) ? status.addresses : []).find((a) => a?.type === type)?.address ?? '<none>';
      return [md.name, nodeStatus(m), nodeRoles(md.labels as Record<string, string> | undefined), age(created), status.nodeInfo?.kubeletVersion ?? '', address('InternalIP'), address('ExternalIP')];
    }
    case 'AdminNetworkPolicy':
      return [md.name, printedString(specField(m, 'priority')), age(created)];
    case 'BaselineAdminNetworkPolicy':
      return [md.name, age(created)];
    case 'ClusterNetworkPolicy':
      return [md.name, printedString(specField(m, 'tier')), printedString(specField(m, 'priority')), age(created)];
  }
}
