// The API's verbs over the lab store, with the apiserver's rules: admission is Podwall's own
// validation (422 with field causes), optimistic concurrency on resourceVersion (409 Conflict),
// AlreadyExists/NotFound, namespaces that must exist and take their contents with them.
import { randomBytes } from 'node:crypto';
import { admitObject, fieldErrorBody, parseFieldSelector, parseLabelSelector, renderFieldPath, selectorMatches, type FieldError, type LabelSelector } from '../../model/index.js';
import type { LabStore, StoredObject } from '../store.js';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.js';
import { apiVersionOf, qualifiedName, type Resource } from './resources.js';

type Manifest = Record<string, unknown>;

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field: string;
}

/** A failure the API answers with a Status object. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] },
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
const meta = (m: Manifest): Record<string, unknown> => (m.metadata && typeof m.metadata === 'object' ? (m.metadata as Record<string, unknown>) : {});

const CAUSE_REASONS: Record<string, string> = {
  Invalid: 'FieldValueInvalid',
  TypeInvalid: 'FieldValueTypeInvalid',
  Required: 'FieldValueRequired',
  Forbidden: 'FieldValueForbidden',
  NotSupported: 'FieldValueNotSupported',
};

function deleteAt(obj: Manifest, path: readonly (string | number)[]): void {
  let cur: unknown = obj;
  for (const p of path.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object') return;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  if (cur !== null && typeof cur === 'object') delete (cur as Record<string | number, unknown>)[path[path.length - 1]];
}

export class Registry {
  constructor(readonly store: LabStore) {}

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
        const value = String(section[key] ?? '');
        return f.operator === '=' ? value === f.value : value !== f.value;
      });
    };
  }

  create(r: Resource, namespace: string, body: unknown, fieldValidation: FieldValidation): Written {
    const admitted = this.admit(r, namespace, body, fieldValidation);
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
      if (r.kind === 'Pod') admitted.object.status = { phase: 'Pending', ...((admitted.object.status as Manifest) ?? {}) };
      const stored = this.store.put(r.kind, r.namespaced ? namespace : '', name, admitted.object)!;
      return { object: this.present(r, stored), warnings: admitted.warnings };
    });
  }

  /** PUT: replaces the object; the status subresource replaces only the status. */
  update(r: Resource, namespace: string, name: string, body: unknown, fieldValidation: FieldValidation, subresource?: 'status'): Written {
    const key = r.namespaced ? namespace : '';
    const existing = this.store.get(r.kind, key, name);
    if (!existing) throw this.notFound(r, name);
    const incoming = body as Manifest;
    const wanted = meta(incoming ?? {}).resourceVersion;
    if (wanted !== undefined && wanted !== '' && String(wanted) !== String(existing.resourceVersion)) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualifiedName(r)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name, group: r.group, kind: r.plural },
      );
    }
    let next: Manifest;
    if (subresource === 'status') next = { ...existing.manifest, status: incoming?.status };
    else {
      next = { ...incoming };
      // The main resource never changes status: that is the status subresource's job.
      if (r.kind === 'Pod' || r.kind === 'Namespace') next.status = existing.manifest.status;
      if (r.kind === 'Pod') {
        // A pod stays bound to its node: spec.nodeName cannot change once set.
        const bound = (existing.manifest.spec as { nodeName?: string } | undefined)?.nodeName;
        const asked = (next.spec as { nodeName?: string } | undefined)?.nodeName;
        if (bound && asked && asked !== bound) {
          throw this.invalid(r, name, [{ type: 'Forbidden', path: ['spec', 'nodeName'], detail: 'pod updates may not change the node a pod is bound to' }]);
        }
        if (bound) next.spec = { ...((next.spec as Manifest) ?? {}), nodeName: bound };
      }
    }
    const admitted = this.admit(r, namespace, next, fieldValidation, name);
    const stored = this.store.put(r.kind, key, name, admitted.object);
    return { object: this.present(r, stored ?? existing), warnings: admitted.warnings };
  }

  patch(r: Resource, namespace: string, name: string, type: PatchType, patch: unknown, fieldValidation: FieldValidation, subresource?: 'status'): Written {
    const current = this.get(r, namespace, name);
    let next: unknown;
    try {
      next = type === 'json' ? jsonPatch(current, patch) : type === 'merge' ? mergePatch(current, patch) : strategicMergePatch(current, patch);
    } catch (err) {
      if (err instanceof PatchError) throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${err.message}`);
      throw err;
    }
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
        for (const o of [...this.store.list('Pod', name), ...this.store.list('NetworkPolicy', name)]) this.store.remove(o.kind, o.namespace, o.name);
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

