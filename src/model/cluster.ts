// Parsed manifests -> a Cluster: namespaces, endpoints, policies, admin policies, Nodes, Services and
// EndpointSlices, placed the way `kubectl apply -f` would place them, with every problem reported as a
// positioned diagnostic.
import { ADMIN_POLICY_API_VERSIONS, ADMIN_POLICY_GROUP, ADMIN_POLICY_KINDS, decodeAdminPolicy } from './adminpolicy.js';
import type { Json } from './decode.js';
import { fieldErrorBody, renderFieldPath, type Diagnostic, type FieldError } from './diagnostics.js';
import { FieldDecoder } from './decode.js';
import { decodeObjectMeta } from './metadata.js';
import { decodeNetworkPolicy } from './networkpolicy.js';
import { decodeNode } from './node.js';
import type { ManifestObject } from './parse.js';
import { decodeEndpointSlice, decodeService } from './service.js';
import { checkNamespaceFields } from './status.js';
import type {
  AdminPolicy,
  AdminPolicyKind,
  Cluster,
  Endpoint,
  EndpointKind,
  EndpointSlice,
  Labels,
  Namespace,
  NetworkPolicy,
  Node,
  Service,
  SourceRef,
} from './types.js';
import { decodePod, decodeWorkload, type DecodedEndpoint } from './workload.js';

export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** The served version of each kind that becomes an endpoint. */
const ENDPOINT_API_VERSIONS: Readonly<Record<string, string>> = {
  Pod: 'v1',
  ReplicationController: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
};

export interface BuildResult {
  /** Undefined when any error was found: nothing is computed from invalid input. */
  readonly cluster?: Cluster;
  readonly diagnostics: readonly Diagnostic[];
  /** Objects of kinds Podwall does not model, counted by kind. */
  readonly skipped: ReadonlyMap<string, number>;
}

const NETWORK_POLICY_API = 'networking.k8s.io/v1';
const ENDPOINT_SLICE_API = 'discovery.k8s.io/v1';
/** Groups of the apiserver itself: a kind it serves elsewhere is an error there, not a CRD. */
const BUILT_IN_GROUPS: readonly string[] = ['', 'apps', 'batch', 'extensions', 'networking.k8s.io', 'discovery.k8s.io'];

function sourceOf(o: ManifestObject): SourceRef {
  const pos = o.locate([]);
  return { file: o.file, document: o.document, line: pos.line, column: pos.column };
}

function describe(kind: string, namespace: string | undefined, name: string): string {
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

function toDiagnostics(o: ManifestObject, object: string, errors: readonly FieldError[]): Diagnostic[] {
  return errors.map((e) => {
    const pos = o.locate(e.path);
    const prefix = renderFieldPath(o.prefix);
    const field = renderFieldPath(e.path);
    return {
      severity: 'error',
      file: o.file,
      document: o.multiDocument ? o.document : undefined,
      line: pos.line,
      column: pos.column,
      object,
      // A rule at an object's root (BaselineAdminNetworkPolicy's name rule) names no field.
      field: [prefix, field].filter((f) => f !== '').join('.') || undefined,
      message: fieldErrorBody(e),
    };
  });
}

function endpointId(kind: EndpointKind, namespace: string, name: string): string {
  return kind === 'Pod' ? `${namespace}/${name}` : `${namespace}/${kind.toLowerCase()}/${name}`;
}

interface PendingEndpoint {
  readonly decoded: DecodedEndpoint;
  readonly namespace: string;
  readonly source: SourceRef;
}

export interface BuildOptions {
  /**
   * Build from whatever is valid: invalid objects are left out (and reported) instead of failing
   * the whole cluster, and unknown fields are ignored. For state an apiserver already accepted.
   */
  readonly lenient?: boolean;
}

/** A built-in kind in a version the apiserver does not serve it in, as kubectl reports it. */
function unservedVersion(o: ManifestObject, object: string, kind: string, apiVersion: string, served: string): Diagnostic {
  return {
    severity: 'error',
    file: o.file,
    document: o.multiDocument ? o.document : undefined,
    ...o.locate(['apiVersion']),
    object,
    field: 'apiVersion',
    message: `no matches for kind "${kind}" in version "${apiVersion}" (use ${served})`,
  };
}

export function buildCluster(objects: readonly ManifestObject[], defaultNamespace: string, options: BuildOptions = {}): BuildResult {
  const decodeOptions = { ignoreUnknownFields: options.lenient === true };
  const diagnostics: Diagnostic[] = [];
  const skipped = new Map<string, number>();
  const namespaces = new Map<string, Namespace>();
  const policies: NetworkPolicy[] = [];
  const services: Service[] = [];
  const endpointSlices: EndpointSlice[] = [];
  const adminPolicies: AdminPolicy[] = [];
  const nodes: Node[] = [];
  const pending: PendingEndpoint[] = [];
  const seen = new Map<string, SourceRef>();

  const noteDuplicate = (o: ManifestObject, key: string, object: string): boolean => {
    const first = seen.get(key);
    if (first) {
      diagnostics.push({
        severity: 'error',
        file: o.file,
        document: o.multiDocument ? o.document : undefined,
        ...o.locate([]),
        object,
        message: `AlreadyExists: also defined at ${first.file}:${first.line}`,
      });
      return true;
    }
    seen.set(key, sourceOf(o));
    return false;
  };

  for (const o of objects) {
    const kind = typeof o.value.kind === 'string' ? o.value.kind : '';
    const apiVersion = typeof o.value.apiVersion === 'string' ? o.value.apiVersion : '';
    const rawMeta = (o.value.metadata ?? {}) as Json;
    const rawName = typeof rawMeta.name === 'string' ? rawMeta.name : '';
    const rawNamespace = typeof rawMeta.namespace === 'string' && rawMeta.namespace ? rawMeta.namespace : defaultNamespace;
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';

    if (!kind || !apiVersion) {
      const prefix = renderFieldPath(o.prefix);
      diagnostics.push({
        severity: 'error',
        file: o.file,
        document: o.multiDocument ? o.document : undefined,
        ...o.locate([]),
        field: `${prefix ? `${prefix}.` : ''}${!kind ? 'kind' : 'apiVersion'}`,
        message: `Required value: ${!kind ? 'kind' : 'apiVersion'} must be set`,
      });
      continue;
    }

    // The core group ('' as in `apiVersion: v1`) has no NetworkPolicy either: reject it rather
    // than skip it, or the policy would silently not count.
    if (kind === 'NetworkPolicy' && (group === 'networking.k8s.io' || group === 'extensions' || group === '')) {
      const object = describe(kind, rawNamespace, rawName);
      if (apiVersion !== NETWORK_POLICY_API) {
        diagnostics.push(unservedVersion(o, object, kind, apiVersion, NETWORK_POLICY_API));
        continue;
      }
      const decoded = decodeNetworkPolicy(o.value, defaultNamespace, decodeOptions);
      for (const d of toDiagnostics(o, object, decoded.errors)) diagnostics.push(d);
      if (decoded.policy && !noteDuplicate(o, `NetworkPolicy/${decoded.policy.namespace}/${decoded.policy.name}`, object)) {
        policies.push({ ...decoded.policy, source: sourceOf(o) });
      }
      continue;
    }

    // Service lives only in the core group; a Service of another group (Knative's) is a CRD and skipped.
    if ((kind === 'Service' && BUILT_IN_GROUPS.includes(group)) || (kind === 'EndpointSlice' && group === 'discovery.k8s.io')) {
      const object = describe(kind, rawNamespace, rawName);
      const served = kind === 'Service' ? 'v1' : ENDPOINT_SLICE_API;
      if (apiVersion !== served) {
        diagnostics.push(unservedVersion(o, object, kind, apiVersion, served));
        continue;
      }
      if (kind === 'Service') {
        const decoded = decodeService(o.value, defaultNamespace, decodeOptions);
        for (const d of toDiagnostics(o, object, decoded.errors)) diagnostics.push(d);
        if (decoded.service && !noteDuplicate(o, `Service/${decoded.service.namespace}/${decoded.service.name}`, object)) {
          services.push({ ...decoded.service, source: sourceOf(o) });
        }
      } else {
        const decoded = decodeEndpointSlice(o.value, defaultNamespace, decodeOptions);
        for (const d of toDiagnostics(o, object, decoded.errors)) diagnostics.push(d);
        if (decoded.slice && !noteDuplicate(o, `EndpointSlice/${decoded.slice.namespace}/${decoded.slice.name}`, object)) {
          endpointSlices.push({ ...decoded.slice, source: sourceOf(o) });
        }
      }
      continue;
    }

    // Cluster-scoped kinds: metadata.namespace means nothing to them, and kubectl drops it.
    if (group === ADMIN_POLICY_GROUP && (ADMIN_POLICY_KINDS as readonly string[]).includes(kind)) {
      const object = describe(kind, undefined, rawName);
      const served = ADMIN_POLICY_API_VERSIONS[kind as AdminPolicyKind];
      if (apiVersion !== served) {
        diagnostics.push(unservedVersion(o, object, kind, apiVersion, served));
        continue;
      }
      const decoded = decodeAdminPolicy(o.value, decodeOptions);
      for (const d of toDiagnostics(o, object, decoded.errors)) diagnostics.push(d);
      for (const n of decoded.notices ?? []) {
        const field = renderFieldPath([...o.prefix, ...n.path]);
        diagnostics.push({ severity: 'notice', file: o.file, document: o.multiDocument ? o.document : undefined, ...o.locate(n.path), object, field, message: n.message });
      }
      if (decoded.policy && !noteDuplicate(o, `${kind}/${decoded.policy.name}`, object)) {
        adminPolicies.push({ ...decoded.policy, source: sourceOf(o) });
      }
      continue;
    }

    if (kind === 'Node' && BUILT_IN_GROUPS.includes(group)) {
      const object = describe(kind, undefined, rawName);
      if (apiVersion !== 'v1') {
        diagnostics.push(unservedVersion(o, object, kind, apiVersion, 'v1'));
        continue;
      }
      const decoded = decodeNode(o.value, decodeOptions);
      for (const d of toDiagnostics(o, object, decoded.errors)) diagnostics.push(d);
      if (decoded.node && !noteDuplicate(o, `Node/${decoded.node.name}`, object)) nodes.push({ ...decoded.node, source: sourceOf(o) });
      continue;
    }

    if (kind === 'Namespace' && apiVersion === 'v1') {
      const d = new FieldDecoder(decodeOptions);
      checkNamespaceFields(d, o.value);
      const meta = decodeObjectMeta(d, o.value, 'label');
      const object = describe(kind, undefined, meta.name);
      for (const e of toDiagnostics(o, object, d.errors)) diagnostics.push(e);
      if (d.errors.length > 0) continue;
      // The apiserver always sets this label to the namespace's name.
      const labels = { ...meta.labels, [NAMESPACE_NAME_LABEL]: meta.name };
      const earlier = namespaces.get(meta.name);
      if (earlier && sameLabels(earlier.labels, labels)) {
        // Apps often ship their namespace in several files; `kubectl apply` applies the repeat over
        // the first without error, and with the same labels nothing Podwall models changes.
        diagnostics.push({
          severity: 'notice',
          file: o.file,
          document: o.multiDocument ? o.document : undefined,
          ...o.locate([]),
          object,
          message: `defined again with the same labels (first at ${earlier.source?.file}:${earlier.source?.line}); the first definition is used`,
        });
      } else if (!noteDuplicate(o, `Namespace/${meta.name}`, object)) {
        namespaces.set(meta.name, { name: meta.name, labels, declared: true, source: sourceOf(o) });
      }
      continue;
    }

    // Own properties only: `kind: constructor` is no built-in kind.
    const modelled = Object.hasOwn(ENDPOINT_API_VERSIONS, kind) ? ENDPOINT_API_VERSIONS[kind] : undefined;
    if (modelled && (group === '' || group === 'apps' || group === 'batch' || group === 'extensions')) {
      // A built-in kind in a built-in group it does not live in: the apiserver knows no such thing.
      if (modelled !== apiVersion) {
        diagnostics.push({
          severity: 'error',
          file: o.file,
          document: o.multiDocument ? o.document : undefined,
          ...o.locate(['apiVersion']),
          object: describe(kind, rawNamespace, rawName),
          field: 'apiVersion',
          message: `no matches for kind "${kind}" in version "${apiVersion}" (use ${modelled})`,
        });
        continue;
      }
    }
    const isPod = modelled !== undefined && kind === 'Pod' && apiVersion === modelled;
    const isWorkload = modelled !== undefined && kind !== 'Pod' && apiVersion === modelled;
    if (isPod || isWorkload) {
      const decoded = isPod ? decodePod(o.value, decodeOptions) : decodeWorkload(kind as EndpointKind, o.value, decodeOptions);
      const object = describe(kind, rawNamespace, decoded.meta.name);
      for (const d of toDiagnostics(o, object, decoded.errors)) diagnostics.push(d);
      if (decoded.errors.length === 0 && !noteDuplicate(o, `${kind}/${rawNamespace}/${decoded.meta.name}`, object)) {
        pending.push({ decoded, namespace: decoded.meta.namespace ?? defaultNamespace, source: sourceOf(o) });
      }
      continue;
    }

    const label = group && !['apps', 'batch', 'networking.k8s.io', 'discovery.k8s.io'].includes(group) ? `${kind}.${group}` : kind;
    skipped.set(label, (skipped.get(label) ?? 0) + 1);
  }

  const endpoints = resolveOwnership(pending);
  for (const ns of new Set([...endpoints.map((e) => e.namespace), ...policies.map((p) => p.namespace), ...services.map((s) => s.namespace)])) {
    if (!namespaces.has(ns)) namespaces.set(ns, { name: ns, labels: { [NAMESPACE_NAME_LABEL]: ns }, declared: false });
  }

  if (!options.lenient && diagnostics.some((d) => d.severity === 'error')) return { diagnostics, skipped };
  const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const byNamespaceAndName = (a: { namespace: string; name: string }, b: { namespace: string; name: string }): number =>
    compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
  return {
    diagnostics,
    skipped,
    cluster: {
      namespaces: [...namespaces.values()].sort(byName),
      endpoints: endpoints.sort(compareEndpoints),
      policies: policies.sort(byNamespaceAndName),
      services: services.sort(byNamespaceAndName),
      endpointSlices: endpointSlices.sort(byNamespaceAndName),
      ...(adminPolicies.length > 0 ? { adminPolicies: adminPolicies.sort((a, b) => compareStrings(a.kind, b.kind) || compareStrings(a.name, b.name)) } : {}),
      ...(nodes.length > 0 ? { nodes: nodes.sort(byName) } : {}),
    },
  };
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Endpoints sort by namespace, then name, then kind: the order of every matrix. */
export function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name) || compareStrings(a.kind, b.kind);
}

/**
 * A Pod (or ReplicaSet, Job) controlled by a workload that is also in the input stands for that
 * workload's pods, so it is dropped rather than counted twice. The intermediate ReplicaSet or Job
 * need not be in the input: their names derive from the owner's (`<deployment>-<pod-template-hash>`,
 * `<cronjob>-<schedule time>`).
 */
function resolveOwnership(pending: readonly PendingEndpoint[]): Endpoint[] {
  const present = new Set(pending.map((p) => `${p.namespace}/${p.decoded.kind}/${p.decoded.meta.name}`));
  const has = (ns: string, kind: string, name: string): boolean => present.has(`${ns}/${kind}/${name}`);
  const ownedByPresent = (p: PendingEndpoint): boolean =>
    p.decoded.meta.ownerReferences.some((ref) => {
      if (!ref.controller) return false;
      if (has(p.namespace, ref.kind, ref.name)) return true;
      const hash = p.decoded.labels['pod-template-hash'];
      if (ref.kind === 'ReplicaSet' && hash && ref.name.endsWith(`-${hash}`)) {
        return has(p.namespace, 'Deployment', ref.name.slice(0, -hash.length - 1));
      }
      const cron = /^(.*)-[0-9]+$/.exec(ref.name);
      return ref.kind === 'Job' && cron !== null && has(p.namespace, 'CronJob', cron[1]);
    });
  return pending
    .filter((p) => !ownedByPresent(p))
    .map((p) => ({
      id: endpointId(p.decoded.kind, p.namespace, p.decoded.meta.name),
      kind: p.decoded.kind,
      namespace: p.namespace,
      name: p.decoded.meta.name,
      labels: p.decoded.labels,
      ports: p.decoded.ports,
      ips: p.decoded.ips,
      hostNetwork: p.decoded.hostNetwork,
      nodeName: p.decoded.nodeName,
      replicas: p.decoded.replicas,
      source: p.source,
    }));
}

