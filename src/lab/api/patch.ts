// The three patch types kubectl sends: JSON merge patch (RFC 7386), JSON patch (RFC 6902, by
// fast-json-patch), and strategic merge patch, whose list merge keys come from the Go types of
// the objects the lab serves (core/v1 Pod, meta/v1 ObjectMeta).
import jsonpatch from 'fast-json-patch';

type Json = unknown;
type JsonObject = Record<string, Json>;

const isObject = (v: Json): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export function jsonPatch(target: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw new PatchError('a JSON patch must be a list of operations');
  const errors = jsonpatch.validate(patch as jsonpatch.Operation[], target);
  if (errors) throw new PatchError(errors.message);
  try {
    return jsonpatch.applyPatch(clone(target), patch as jsonpatch.Operation[], true, false).newDocument;
  } catch (err) {
    throw new PatchError((err as Error).message);
  }
}

/**
 * patchMergeKey of the lists the served types declare (`patchStrategy:"merge"`), by field path
 * with list indexes dropped; every other list is replaced whole.
 */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  'metadata.ownerReferences': 'uid',
  'metadata.finalizers': '',
  'spec.containers': 'name',
  'spec.initContainers': 'name',
  'spec.ephemeralContainers': 'name',
  'spec.containers.ports': 'containerPort',
  'spec.initContainers.ports': 'containerPort',
  'spec.containers.env': 'name',
  'spec.initContainers.env': 'name',
  'spec.containers.volumeMounts': 'mountPath',
  'spec.volumes': 'name',
  'spec.imagePullSecrets': 'name',
  'spec.tolerations': '',
  'status.conditions': 'type',
  'status.podIPs': 'ip',
};

function strategic(target: Json, patch: Json, path: string): Json {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _replace, ...rest } = patch;
    return clone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$setElementOrder/') || key === '$retainKeys' || key === '$patch') continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((Array.isArray(value) ? value : []).map((v) => JSON.stringify(v)));
      if (Array.isArray(out[field])) out[field] = (out[field] as Json[]).filter((v) => !drop.has(JSON.stringify(v)));
      continue;
    }
    const childPath = path ? `${path}.${key}` : key;
    if (value === null) {
      delete out[key];
    } else if (Array.isArray(value) && childPath in MERGE_KEYS) {
      out[key] = mergeList(Array.isArray(out[key]) ? (out[key] as Json[]) : [], value, MERGE_KEYS[childPath], childPath);
    } else if (isObject(value)) {
      const merged = strategic(out[key], value, childPath);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else {
      out[key] = clone(value);
    }
  }
  return out;
}

function mergeList(current: Json[], patch: Json[], key: string, path: string): Json[] {
  if (key === '') {
    // A merged list of scalars: union, keeping order.
    const seen = new Set(current.map((v) => JSON.stringify(v)));
    return [...current, ...patch.filter((v) => !seen.has(JSON.stringify(v)))];
  }
  const out = current.map(clone);
  for (const item of patch) {
    if (!isObject(item)) throw new PatchError(`${path}: list items must be objects with "${key}"`);
    if (item.$patch === 'replace') return patch.filter((p) => isObject(p) && p.$patch !== 'replace').map(clone);
    const index = out.findIndex((o) => isObject(o) && o[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) out.splice(index, 1);
    } else if (index >= 0) {
      out[index] = strategic(out[index], item, path);
    } else {
      out.push(strategic({}, item, path));
    }
  }
  return out;
}

export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) throw new PatchError('a strategic merge patch must be an object');
  return strategic(target, patch, '');
}
