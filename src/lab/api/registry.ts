// The API's verbs over the lab store, with the apiserver's rules: admission is Podwall's own
// validation (422 with field causes), optimistic concurrency on resourceVersion (409 Conflict),
// AlreadyExists/NotFound, namespaces that must exist and take their contents with them.
import { randomBytes } from 'node:crypto';
import {
  admitObject,
  fieldErrorBody,
  formatIP,
  parseFieldSelector,
  parseIP,
  parseLabelSelector,
  renderFieldPath,
  selectorMatches,
  type FieldError,
  type LabelSelector,
  type Manifest,
} from '../../model/index.js';
import type { LabStore, StoredObject } from '../store.js';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.js';
import { apiVersionOf, qualifiedName, type Resource } from './resources.js';
import { AllocationFailure, prepareServiceUpdate, ServiceAllocator, validateServiceUpdate } from './services.js';
import { MAX_OBJECT_BYTES, shapeProblem } from './shape.js';

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field?: string;
}

/** A failure the API answers with a Status object. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[]; retryAfterSeconds?: number },
  ) {
    super(message);
    this.name = 'ApiError';
  }

  status(): Manifest {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';
export type PatchType = 'merge' | 'json' | 'strategic';

export interface Selectors {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface Written {
  readonly object: Manifest;
  readonly warnings: readonly string[];
}

const NAMESPACE_LABEL = 'kubernetes.io/metadata.name';

/** What a selectable field reads as when the object leaves it out (node.NodeToSelectableFields formats the bool `spec.unschedulable`). */
const FIELD_DEFAULTS: Readonly<Record<string, string>> = { 'spec.unschedulable': 'false' };
const isObject = (v: unknown): v is Manifest => v !== null && typeof v === 'object' && !Array.isArray(v);
const meta = (m: Manifest): Record<string, unknown> => (m.metadata && typeof m.metadata === 'object' ? (m.metadata as Record<string, unknown>) : {});

const CAUSE_REASONS: Record<string, string> = {
  Invalid: 'FieldValueInvalid',
  TypeInvalid: 'FieldValueTypeInvalid',
  Required: 'FieldValueRequired',
  Forbidden: 'FieldValueForbidden',
  NotSupported: 'FieldValueNotSupported',
  TooLong: 'FieldValueTooLong',
  TooMany: 'FieldValueTooMany',
  Duplicate: 'FieldValueDuplicate',
};

function withoutStatus(body: Manifest): Manifest {
  const { status: _status, ...rest } = body;
  return rest;
}

/** One spelling per address, so `fd00::1` and `fd00:0::1` are seen as the same. */
function canonicalIP(ip: string): string {
  const parsed = parseIP(ip);
  return parsed ? formatIP(parsed) : ip;
}

/** The addresses a pod's status claims: podIP first, then podIPs, each once, canonical. */
function statusAddresses(m: Manifest): string[] {
  const s = isObject(m.status) ? m.status : {};
  const ips = [s.podIP, ...(Array.isArray(s.podIPs) ? s.podIPs.map((p: unknown) => (isObject(p) ? p.ip : undefined)) : [])];
  return [...new Set(ips.filter((ip): ip is string => typeof ip === 'string' && ip !== '').map(canonicalIP))];
}

function deleteAt(obj: Manifest, path: readonly (string | number)[]): void {
  let cur: unknown = obj;
  for (const p of path.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object') return;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  if (cur !== null && typeof cur === 'object') delete (cur as Record<string | number, unknown>)[path[path.length - 1]];
}

export interface RegistryOptions {
  /** The range ClusterIPs are allocated from (the apiserver's --service-cluster-ip-range). */
  readonly serviceCIDR?: string;
}

/**
 * Kinds whose status a create drops (their strategies' PrepareForCreate; for a custom resource
 * with a status subresource, customResourceStrategy's "create cannot set status"). A Node keeps
 * the status it is registered with, as a kubelet registers it.
 */
const dropsStatusOnCreate = (r: Resource): boolean => r.kind === 'Pod' || r.kind === 'Service' || r.custom === true;

export class Registry {
  private readonly services: ServiceAllocator;

  constructor(
    readonly store: LabStore,
    options: RegistryOptions = {},
  ) {
    this.services = new ServiceAllocator(options.serviceCIDR);
  }

  private notFound(r: Resource, name: string): ApiError {
    return new ApiError(404, 'NotFound', `${qualifiedName(r)} "${name}" not found`, { name, group: r.group, kind: r.plural });
  }

  /** Fills in what stored objects always carry. */
  present(r: Resource, o: StoredObject): Manifest {
    return { ...o.manifest, apiVersion: apiVersionOf(r), kind: r.kind };
  }

  private requireNamespace(r: Resource, namespace: string | undefined): void {
    if (r.namespaced && namespace !== undefined && !this.store.get('Namespace', '', namespace)) {
      throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    }
  }

  /** Kind, version, name and namespace checks, then Podwall's validation as admission. */
  private admit(r: Resource, namespace: string, body: unknown, fieldValidation: FieldValidation, urlName?: string): Written {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'BadRequest', 'the request body must be an object');
    const obj = structuredClone(body) as Manifest;
    const expected = apiVersionOf(r);
    if (obj.apiVersion !== undefined && obj.apiVersion !== expected) {
      throw new ApiError(400, 'BadRequest', `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${expected})`);
    }
    if (obj.kind !== undefined && obj.kind !== r.kind) {
      throw new ApiError(400, 'BadRequest', `the kind in the data (${String(obj.kind)}) does not match the expected kind (${r.kind})`);
    }
    obj.apiVersion = expected;
    obj.kind = r.kind;
    const m = { ...meta(obj) };
    if (r.namespaced) {
      if (m.namespace !== undefined && m.namespace !== '' && m.namespace !== namespace) {
        throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      }
      m.namespace = namespace;
    } else delete m.namespace;
    if (!m.name && typeof m.generateName === 'string' && m.generateName) m.name = `${m.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    if (urlName !== undefined && m.name !== undefined && m.name !== urlName) {
      throw new ApiError(400, 'BadRequest', `the name of the object (${String(m.name)}) does not match the name on the URL (${urlName})`);
    }
    if (r.kind === 'Namespace' && typeof m.name === 'string') m.labels = { ...((m.labels as Record<string, string>) ?? {}), [NAMESPACE_LABEL]: m.name };
    obj.metadata = m;

    let admitted = admitObject(r.kind, obj, namespace);
    const warnings: string[] = [];
    const unknown = admitted.errors.filter((e) => e.type === 'Unknown');
    if (unknown.length > 0) {
      if (fieldValidation === 'Strict') {
        throw new ApiError(400, 'BadRequest', `strict decoding error: ${unknown.map((e) => e.detail).join(', ')}`);
      }
      // Without strict validation unknown fields are dropped, as the apiserver's decoder does.
      for (const e of unknown) {
        deleteAt(obj, e.path);
        if (fieldValidation === 'Warn') warnings.push(e.detail);
      }
      admitted = admitObject(r.kind, obj, namespace);
    }
    if (admitted.errors.length > 0 || !admitted.object) throw this.invalid(r, String(m.name ?? ''), admitted.errors);
    return { object: admitted.object, warnings };
  }

  private invalid(r: Resource, name: string, errors: readonly FieldError[]): ApiError {
    const causes = errors.map((e) => ({ reason: CAUSE_REASONS[e.type] ?? 'FieldValueInvalid', message: fieldErrorBody(e), field: renderFieldPath(e.path) }));
    const listed = causes.map((c) => `${c.field}: ${c.message}`);
    const kind = r.group ? `${r.kind}.${r.group}` : r.kind;
    const message = `${kind} "${name}" is invalid: ${listed.length === 1 ? listed[0] : `[${listed.join(', ')}]`}`;
    return new ApiError(422, 'Invalid', message, { name, group: r.group, kind: r.kind, causes });
  }

  get(r: Resource, namespace: string, name: string): Manifest {
    const o = this.store.get(r.kind, r.namespaced ? namespace : '', name);
    if (!o) throw this.notFound(r, name);
    return this.present(r, o);
  }

  /** Objects matching the selectors, and the resourceVersion the list is consistent with. */
  list(r: Resource, namespace: string | undefined, selectors: Selectors): { items: Manifest[]; resourceVersion: number } {
    const match = this.matcher(r, selectors);
    const items = this.store
      .list(r.kind, r.namespaced ? namespace : undefined)
      .map((o) => this.present(r, o))
      .filter(match);
    return { items, resourceVersion: this.store.currentResourceVersion() };
  }

  /** A predicate for labelSelector and fieldSelector (metadata.name/namespace and the resource's own fields). */
  matcher(r: Resource, selectors: Selectors): (m: Manifest) => boolean {
    let labels: LabelSelector | undefined;
    if (selectors.labelSelector) {
      const parsed = parseLabelSelector(selectors.labelSelector);
      if ('error' in parsed) throw new ApiError(400, 'BadRequest', `unable to parse requirement: ${parsed.error}`);
      labels = parsed.selector;
    }
    let fields: { field: string; operator: '=' | '!='; value: string }[] = [];
    if (selectors.fieldSelector) {
      const parsed = parseFieldSelector(selectors.fieldSelector, ['metadata.name', 'metadata.namespace', ...r.fields]);
      if ('error' in parsed) throw new ApiError(400, 'BadRequest', `"${selectors.fieldSelector}" is not a known field selector: ${parsed.error}`);
      fields = parsed.requirements;
    }
    return (m) => {
      if (labels && !selectorMatches(labels, (meta(m).labels as Record<string, string>) ?? {})) return false;
      return fields.every((f) => {
        const [top, key] = f.field.split('.') as [string, string];
        const section = (m[top] ?? {}) as Record<string, unknown>;
        const value = String(section[key] ?? FIELD_DEFAULTS[f.field] ?? '');
        return f.operator === '=' ? value === f.value : value !== f.value;
      });
    };
  }

  create(r: Resource, namespace: string, body: unknown, fieldValidation: FieldValidation): Written {
    // podStrategy.PrepareForCreate: a new pod's status is the server's, whatever the client sent;
    // only the lab's pod runner gives a pod its addresses. A new Service has no load balancer yet.
    const input = dropsStatusOnCreate(r) && isObject(body) ? withoutStatus(body) : body;
    const admitted = this.admit(r, namespace, input, fieldValidation);
    const m = meta(admitted.object);
    const name = String(m.name);
    delete m.resourceVersion;
    delete m.uid;
    delete m.creationTimestamp;
    this.requireNamespace(r, namespace);
    return this.store.transaction(() => {
      if (this.store.get(r.kind, r.namespaced ? namespace : '', name)) {
        throw new ApiError(409, 'AlreadyExists', `${qualifiedName(r)} "${name}" already exists`, { name, group: r.group, kind: r.plural });
      }
      if (r.kind === 'Namespace') admitted.object.status = { phase: 'Active' };
      if (r.kind === 'Pod') admitted.object.status = { phase: 'Pending' };
      if (r.kind === 'Service') {
        admitted.object.status = { loadBalancer: {} };
        this.allocateService(r, name, admitted.object);
      }
      const stored = this.store.put(r.kind, r.namespaced ? namespace : '', name, admitted.object)!;
      return { object: this.present(r, stored), warnings: admitted.warnings };
    });
  }

  /** PUT: replaces the object; the status subresource replaces only the status. */
  update(r: Resource, namespace: string, name: string, body: unknown, fieldValidation: FieldValidation, subresource?: 'status'): Written {
    const key = r.namespaced ? namespace : '';
    const existing = this.store.get(r.kind, key, name);
    if (!existing) throw this.notFound(r, name);
    if (!isObject(body)) throw new ApiError(400, 'BadRequest', 'the request body must be an object');
    const wanted = meta(body).resourceVersion;
    if (wanted !== undefined && wanted !== '' && String(wanted) !== String(existing.resourceVersion)) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualifiedName(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: r.group, kind: r.plural },
      );
    }
    let next: Manifest;
    if (subresource === 'status') {
      // podStatusStrategy.PrepareForUpdate: the status subresource changes the status and nothing else.
      next = { ...existing.manifest, status: body.status };
      if (r.kind === 'Pod') this.checkPodAddresses(r, namespace, name, existing.manifest, next);
    } else {
      // podStrategy.PrepareForUpdate (and every strategy of a kind with a status subresource): the
      // main resource never changes status, whatever the client sent.
      next = { ...body };
      if (r.status) {
        if (existing.manifest.status === undefined) delete next.status;
        else next.status = existing.manifest.status;
      }
      if (r.kind === 'Pod') next.spec = this.keepNodeName(r, name, existing.manifest, next);
      if (r.kind === 'Service') next = prepareServiceUpdate(next, existing.manifest);
    }
    const admitted = this.admit(r, namespace, next, fieldValidation, name);
    if (r.kind === 'Service' && subresource !== 'status') {
      const errors = validateServiceUpdate(admitted.object, existing.manifest);
      if (errors.length > 0) throw this.invalid(r, name, errors);
    }
    // A body is capped, but update after update (patches, a PUT that keeps the status) could grow an object without end.
    const bytes = Buffer.byteLength(JSON.stringify(admitted.object));
    if (bytes > MAX_OBJECT_BYTES) throw new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: the object would be ${bytes} bytes, limit is ${MAX_OBJECT_BYTES}`);
    return this.store.transaction(() => {
      if (r.kind === 'Service' && subresource !== 'status') this.allocateService(r, name, admitted.object, existing.manifest);
      const stored = this.store.put(r.kind, key, name, admitted.object);
      return { object: this.present(r, stored ?? existing), warnings: admitted.warnings };
    });
  }

  /**
   * ClusterIPs and node ports for a Service being written, against every other stored Service;
   * called inside the write's transaction, so two writes never take the same address.
   */
  private allocateService(r: Resource, name: string, object: Manifest, old?: Manifest): void {
    const namespace = String(meta(object).namespace ?? '');
    const others = this.store
      .list('Service')
      .filter((o) => !(o.namespace === namespace && o.name === name))
      .map((o) => o.manifest);
    let errors: FieldError[];
    try {
      errors = this.services.allocate(object, others, old);
    } catch (err) {
      if (err instanceof AllocationFailure) throw new ApiError(500, 'InternalError', `Internal error occurred: ${err.message}`, { causes: [{ reason: '', message: err.message }] });
      throw err;
    }
    if (errors.length > 0) throw this.invalid(r, name, errors);
  }

  /**
   * A pod stays on the node it is bound to (ValidatePodUpdate: spec.nodeName is immutable once
   * set). An update that leaves it out keeps it: `lab apply` sends pods as their manifests say.
   */
  private keepNodeName(r: Resource, name: string, old: Manifest, next: Manifest): unknown {
    const bound = (old.spec as { nodeName?: unknown } | undefined)?.nodeName;
    const asked = isObject(next.spec) ? next.spec.nodeName : undefined;
    if (typeof bound !== 'string' || bound === '') return next.spec;
    if (asked !== undefined && asked !== '' && asked !== bound) {
      throw this.invalid(r, name, [{ type: 'Invalid', path: ['spec', 'nodeName'], value: asked, detail: 'field is immutable' }]);
    }
    return { ...(isObject(next.spec) ? next.spec : {}), nodeName: bound };
  }

  /**
   * A status write may give a pod addresses once, never move them, and never claim one another
   * live pod holds: two pods at one address would share one verdict-map entry, and the real one
   * would lose its verdicts. Upstream's ValidatePodStatusUpdate lets a kubelet change podIPs; here
   * only the lab's pod runner assigns addresses (it writes the store directly, not through the
   * API), so no client needs to.
   */
  private checkPodAddresses(r: Resource, namespace: string, name: string, old: Manifest, next: Manifest): void {
    const before = statusAddresses(old);
    const after = statusAddresses(next);
    // A pod the runner runs keeps the phase the runner gives it: a client's "Failed" would take its
    // address out of the ruleset (finished pods hold none) while its namespace still sends.
    const phase = (m: Manifest): unknown => (isObject(m.status) ? m.status.phase : undefined);
    if (this.store.podNetwork(namespace, name) && phase(next) !== phase(old)) {
      throw this.invalid(r, name, [{ type: 'Forbidden', path: ['status', 'phase'], detail: "may not be changed: the lab's pod runner sets the phase of the pods it runs" }]);
    }
    if (before.length > 0 && before.join(',') !== after.join(',')) {
      throw this.invalid(r, name, [{ type: 'Forbidden', path: ['status', 'podIPs'], detail: "may not be changed once set: only the lab's pod runner assigns pod addresses" }]);
    }
    if (before.length > 0) return;
    const hostNetwork = isObject(old.spec) && old.spec.hostNetwork === true;
    const errors: FieldError[] = [];
    for (const ip of after) {
      const holder = this.addressHolder(ip, namespace, name, hostNetwork);
      if (holder) errors.push({ type: 'Invalid', path: ['status', 'podIPs'], value: ip, detail: `address already in use by pod ${holder}` });
    }
    if (errors.length > 0) throw this.invalid(r, name, errors);
  }

  /** The live pod (not Succeeded or Failed) that holds an address, by its status or by the network the runner gave it. */
  private addressHolder(ip: string, namespace: string, name: string, hostNetwork: boolean): string | undefined {
    const self = (o: { namespace: string; name: string }): boolean => o.namespace === namespace && o.name === name;
    for (const o of this.store.list('Pod')) {
      const phase = isObject(o.manifest.status) ? o.manifest.status.phase : undefined;
      if (self(o) || phase === 'Succeeded' || phase === 'Failed') continue;
      // hostNetwork pods all report the node's address.
      if (hostNetwork && isObject(o.manifest.spec) && o.manifest.spec.hostNetwork === true) continue;
      if (statusAddresses(o.manifest).includes(ip)) return `${o.namespace}/${o.name}`;
    }
    const net = this.store.podNetworks().find((n) => !self(n) && n.ips.map(canonicalIP).includes(ip));
    return net ? `${net.namespace}/${net.name}` : undefined;
  }

  patch(r: Resource, namespace: string, name: string, type: PatchType, patch: unknown, fieldValidation: FieldValidation, subresource?: 'status'): Written {
    const current = this.get(r, namespace, name);
    let next: unknown;
    try {
      next = type === 'json' ? jsonPatch(current, patch) : type === 'merge' ? mergePatch(current, patch) : strategicMergePatch(current, patch);
    } catch (err) {
      if (!(err instanceof PatchError)) throw err;
      if (err.code === 400) throw new ApiError(400, 'BadRequest', err.message);
      if (err.code === 413) throw new ApiError(413, 'RequestEntityTooLarge', err.message);
      throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${err.message}`);
    }
    // Bodies are capped in depth, but patch after patch could still nest an object without bound.
    const problem = shapeProblem(next);
    if (problem !== undefined) throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: the patched object ${problem}`);
    // A patch that names another resourceVersion than the current one conflicts, as an update would.
    return this.update(r, namespace, name, next, fieldValidation, subresource);
  }

  /** Deletes an object; a namespace takes everything in it along. */
  delete(r: Resource, namespace: string, name: string): Manifest {
    const key = r.namespaced ? namespace : '';
    return this.store.transaction(() => {
      const existing = this.store.get(r.kind, key, name);
      if (!existing) throw this.notFound(r, name);
      if (r.kind === 'Namespace') {
        for (const kind of ['Pod', 'NetworkPolicy', 'Service'] as const) for (const o of this.store.list(kind, name)) this.store.remove(o.kind, o.namespace, o.name);
      }
      const removed = this.store.remove(r.kind, key, name)!;
      const out = this.present(r, removed);
      if (r.kind === 'Namespace') out.status = { phase: 'Terminating' };
      return out;
    });
  }

  deleteCollection(r: Resource, namespace: string | undefined, selectors: Selectors): Manifest[] {
    const { items } = this.list(r, namespace, selectors);
    return items.map((m) => this.delete(r, String(meta(m).namespace ?? ''), String(meta(m).name)));
  }
}

