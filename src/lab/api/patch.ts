// The three patch types kubectl sends: JSON merge patch (RFC 7386), JSON patch (RFC 6902, by
// fast-json-patch), and strategic merge patch (apimachinery's strategicpatch), whose list merge keys
// come from the Go types of the objects the lab serves (core/v1 Pod, Service and Namespace, meta/v1 ObjectMeta).
import jsonpatch from 'fast-json-patch';

type Json = unknown;
type JsonObject = Record<string, Json>;

const isObject = (v: Json): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);
const own = (o: object, key: string): boolean => Object.hasOwn(o, key);

/**
 * A patch that cannot be applied: 400 when the patch itself is malformed (as the apiserver answers
 * a bad directive or an undecodable JSON patch), 413 when it holds too many operations, 422 when it
 * is well formed but does not apply to the object (a missing path, a failed `test`, copies past the
 * limit).
 */
export class PatchError extends Error {
  constructor(
    message: string,
    readonly code: 400 | 413 | 422 = 422,
  ) {
    super(message);
    this.name = 'PatchError';
  }
}

const malformed = (message: string): PatchError => new PatchError(message, 400);

/** Keys that would reach an object's prototype through plain assignment; no served type has such a field. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function refuseProto(patch: JsonObject): void {
  if (own(patch, '__proto__')) throw malformed('a patch may not name the key "__proto__"');
}

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  refuseProto(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(own(out, k) ? out[k] : undefined, v);
  }
  return out;
}

const JSON_PATCH_OPS = ['add', 'remove', 'replace', 'move', 'copy', 'test'];

/** The apiserver's maxJSONPatchOperations: more is 413. */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

/**
 * How many bytes the `copy` operations of one JSON patch may copy in all (upstream's
 * JSONPatchMaxCopyBytes, which defaults to its body limit; this is the lab's, MAX_BODY_BYTES).
 * A copy is the one operation that makes a result larger than its patch: 24 copies of a subtree
 * into itself would make a 2 KB patch build gigabytes in the daemon that enforces.
 */
export const MAX_JSON_PATCH_COPY_BYTES = 512 * 1024;

/** RFC 6901: `/a/b~1c` -> ['a', 'b/c']. */
function pointerSegments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The shape RFC 6902 requires, checked before anything is applied; a path through a prototype key is refused. */
function checkJsonPatch(patch: Json): jsonpatch.Operation[] {
  if (!Array.isArray(patch)) throw malformed('a JSON patch must be a list of operations');
  if (patch.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new PatchError(`The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`, 413);
  }
  patch.forEach((op: Json, i) => {
    if (!isObject(op)) throw malformed(`operation ${i}: must be an object`);
    if (typeof op.op !== 'string' || !JSON_PATCH_OPS.includes(op.op)) throw malformed(`operation ${i}: unknown op ${JSON.stringify(op.op ?? null)}`);
    const pointers: [string, Json][] = [['path', op.path]];
    if (op.op === 'move' || op.op === 'copy') pointers.push(['from', op.from]);
    for (const [field, pointer] of pointers) {
      if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/'))) throw malformed(`operation ${i}: "${field}" must be a JSON pointer`);
      const reserved = pointerSegments(pointer).find((s) => RESERVED_KEYS.has(s));
      if (reserved !== undefined) throw malformed(`operation ${i}: "${field}" ${JSON.stringify(pointer)} may not name the key "${reserved}"`);
    }
    if ((op.op === 'add' || op.op === 'replace' || op.op === 'test') && !own(op, 'value')) throw malformed(`operation ${i}: "${op.op}" needs a value`);
  });
  return patch as jsonpatch.Operation[];
}

/** The JSON size of what a copy would copy; 0 when `from` names nothing (applying the copy then says so). */
function copySize(document: Json, from: string): number {
  let source: unknown;
  try {
    source = jsonpatch.getValueByPointer(document, from);
  } catch {
    return 0;
  }
  return source === undefined ? 0 : Buffer.byteLength(JSON.stringify(source));
}

export function jsonPatch(target: Json, patch: Json): Json {
  const ops = checkJsonPatch(patch);
  let document = clone(target);
  let copied = 0;
  for (const [i, op] of ops.entries()) {
    if (op.op === 'copy') {
      // Counted before the copy is made, as evanphx/json-patch counts AccumulatedCopySizeLimit.
      copied += copySize(document, op.from);
      if (copied > MAX_JSON_PATCH_COPY_BYTES) {
        throw new PatchError(`Unable to complete the copy, the accumulated size increase of copy is ${copied}, exceeding the limit ${MAX_JSON_PATCH_COPY_BYTES}`);
      }
    }
    try {
      document = jsonpatch.applyOperation(document, op, true, true, true, i).newDocument;
    } catch (err) {
      throw new PatchError((err as Error).message.split('\n')[0]);
    }
  }
  return document;
}

/**
 * patchMergeKey of the lists the served types declare with `patchStrategy:"merge"`, by field path
 * with list indexes dropped ('' for lists of scalars, merged as sets); every other list is
 * replaced whole (tolerations, NetworkPolicy rules).
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
  'spec.initContainers.volumeMounts': 'mountPath',
  'spec.containers.volumeDevices': 'devicePath',
  'spec.initContainers.volumeDevices': 'devicePath',
  'spec.volumes': 'name',
  'spec.imagePullSecrets': 'name',
  'spec.hostAliases': 'ip',
  'spec.topologySpreadConstraints': 'topologyKey',
  'spec.resourceClaims': 'name',
  'spec.schedulingGates': 'name',
  // ServiceSpec.ports: patchMergeKey "port" (two protocols on one port number merge as one item, as upstream's do).
  'spec.ports': 'port',
  'status.conditions': 'type',
  'status.podIPs': 'ip',
  'status.hostIPs': 'ip',
};

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

/** `$retainKeys`: keys of the result not listed are cleared; the patch may only set listed keys. */
function retainKeys(out: JsonObject, patch: JsonObject, path: string): void {
  const keys = patch[RETAIN_KEYS];
  if (!Array.isArray(keys)) throw malformed(`${path || 'the patch'}: ${RETAIN_KEYS} must be a list of field names`);
  const retained = new Set(keys.map(String));
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$') || v === null) continue;
    if (!retained.has(k)) throw malformed(`${path || 'the patch'}: "${k}" is set by the patch but not listed in ${RETAIN_KEYS}`);
  }
  for (const k of Object.keys(out)) if (!retained.has(k)) delete out[k];
}

function strategic(target: Json, patch: JsonObject, path: string): JsonObject {
  refuseProto(patch);
  if (own(patch, DIRECTIVE)) {
    // handleDirectiveInMergeMap: replace takes the patch as it is, delete leaves an empty map.
    if (patch[DIRECTIVE] === 'replace') {
      const { [DIRECTIVE]: _replace, ...rest } = patch;
      return clone(rest);
    }
    if (patch[DIRECTIVE] === 'delete') return {};
    throw malformed(`unknown patch type: ${JSON.stringify(patch[DIRECTIVE])} in map at ${path || 'the top'}`);
  }
  const out: JsonObject = isObject(target) ? { ...target } : {};
  if (own(patch, RETAIN_KEYS)) retainKeys(out, patch, path);
  for (const [key, value] of Object.entries(patch)) {
    // The order kubectl would like a merged list in: lists keep the server's order here.
    if (key === RETAIN_KEYS || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      if (!Array.isArray(value)) throw malformed(`${key}: must be a list`);
      const drop = new Set(value.map((v) => JSON.stringify(v)));
      if (Array.isArray(out[field])) out[field] = (out[field] as Json[]).filter((v) => !drop.has(JSON.stringify(v)));
      continue;
    }
    const childPath = path ? `${path}.${key}` : key;
    const current = own(out, key) ? out[key] : undefined;
    if (value === null) {
      delete out[key];
    } else if (Array.isArray(value) && own(MERGE_KEYS, childPath)) {
      out[key] = mergeList(Array.isArray(current) ? current : [], value, MERGE_KEYS[childPath], childPath);
    } else if (isObject(value)) {
      out[key] = strategic(current, value, childPath);
    } else {
      out[key] = clone(value);
    }
  }
  return out;
}

/** A list merged by its key (mergeSlice): `$patch: delete` items remove, `$patch: replace` replaces the list. */
function mergeList(current: Json[], patch: Json[], key: string, path: string): Json[] {
  if (key === '') {
    // A merged list of scalars: union, keeping order.
    const seen = new Set(current.map((v) => JSON.stringify(v)));
    return [...current, ...patch.filter((v) => !seen.has(JSON.stringify(v)))];
  }
  const merging: JsonObject[] = [];
  const deleted = new Set<Json>();
  let replace = false;
  for (const item of patch) {
    if (!isObject(item)) throw malformed(`${path}: list items must be objects with "${key}"`);
    if (!own(item, DIRECTIVE)) {
      merging.push(item);
      continue;
    }
    switch (item[DIRECTIVE]) {
      case 'delete':
        if (!own(item, key)) throw malformed(`${path}: an item with "$patch: delete" must name its "${key}"`);
        deleted.add(item[key]);
        break;
      case 'replace':
        replace = true;
        break;
      case 'merge':
        throw malformed(`${path}: merging lists cannot yet be specified in the patch`);
      default:
        throw malformed(`unknown patch type: ${JSON.stringify(item[DIRECTIVE])} in ${path}`);
    }
  }
  if (replace) return merging.map(clone);
  const out = current.filter((o) => !(isObject(o) && deleted.has(o[key]))).map(clone);
  // Items by merge key (the first of each), so a patch of n items into a list of m costs n + m, not n * m.
  const at = new Map<Json, number>();
  out.forEach((o, i) => {
    if (isObject(o) && !at.has(o[key])) at.set(o[key], i);
  });
  for (const item of merging) {
    if (!own(item, key)) throw malformed(`${path}: map ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const index = at.get(item[key]);
    if (index !== undefined) out[index] = strategic(out[index], item, path);
    else {
      at.set(item[key], out.length);
      out.push(strategic({}, item, path));
    }
  }
  return out;
}

export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) throw malformed('a strategic merge patch must be an object');
  return strategic(target, patch, '');
}
