// ObjectMeta as the apiserver decodes and validates it on create (strict field decoding of
// meta/v1 ObjectMeta; ValidateObjectMeta: name, namespace, labels, annotations).
import type { FieldDecoder, Json } from './decode.js';
import type { FieldPath } from './diagnostics.js';
import { decodeLabels } from './labels.js';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName } from './names.js';
import type { Labels } from './types.js';

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels: Labels;
  readonly ownerReferences: readonly { kind: string; name: string; controller: boolean }[];
}

export type NameRule = 'subdomain' | 'label';

/** The JSON fields of meta/v1 ObjectMeta (clusterName is a tombstone since Kubernetes 1.25). */
const OBJECT_META_FIELDS: readonly string[] = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
];
const OWNER_REFERENCE_FIELDS: readonly string[] = ['apiVersion', 'kind', 'name', 'uid', 'controller', 'blockOwnerDeletion'];
const MANAGED_FIELDS_ENTRY_FIELDS: readonly string[] = ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1', 'subresource'];

/** apimachinery pkg/api/validation TotalAnnotationSizeLimitB: keys and values together, in bytes. */
export const TOTAL_ANNOTATION_SIZE_LIMIT_B = 256 * 1024;

/** Bytes of the UTF-8 encoding, as Go's len() counts a string (a lone surrogate becomes U+FFFD). */
function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

/**
 * ValidateAnnotations: "The rule is QualifiedName except that case doesn't matter", and all keys
 * and values together hold at most 256 KiB.
 */
function decodeAnnotations(d: FieldDecoder, value: unknown, path: FieldPath): void {
  const annotations = d.stringMap(value, path);
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const msg of isQualifiedName(k.toLowerCase())) d.invalid(path, k, msg);
    size += utf8Length(k) + utf8Length(v);
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT_B) d.tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT_B);
}

/** The fields of an ObjectMeta at `path` that hold no name: known fields, labels, annotations. */
function decodeMetaFields(d: FieldDecoder, meta: Json, path: FieldPath): Labels {
  d.knownFields(meta, OBJECT_META_FIELDS, path);
  d.knownFieldsOfEach(meta.managedFields, MANAGED_FIELDS_ENTRY_FIELDS, [...path, 'managedFields']);
  decodeAnnotations(d, meta.annotations, [...path, 'annotations']);
  return decodeLabels(d, meta.labels, [...path, 'labels']);
}

export function decodeObjectMeta(d: FieldDecoder, obj: Json, nameRule: NameRule): ObjectMeta {
  const meta = d.object(obj.metadata, ['metadata']) ?? {};
  const name = d.string(meta.name, ['metadata', 'name']) ?? '';
  const generateName = d.string(meta.generateName, ['metadata', 'generateName']);
  if (name === '') {
    if (!generateName) d.required(['metadata', 'name'], 'name or generateName is required');
  } else {
    const check = nameRule === 'label' ? isDNS1123Label : isDNS1123Subdomain;
    for (const msg of check(name)) d.invalid(['metadata', 'name'], name, msg);
  }
  const namespace = d.string(meta.namespace, ['metadata', 'namespace']);
  if (namespace !== undefined && namespace !== '') {
    for (const msg of isDNS1123Label(namespace)) d.invalid(['metadata', 'namespace'], namespace, msg);
  }
  const labels = decodeMetaFields(d, meta, ['metadata']);
  const ownerReferences = d.knownFieldsOfEach(meta.ownerReferences, OWNER_REFERENCE_FIELDS, ['metadata', 'ownerReferences']).flatMap((ref) =>
    typeof ref.kind === 'string' && typeof ref.name === 'string' ? [{ kind: ref.kind, name: ref.name, controller: ref.controller === true }] : [],
  );
  return { name: name || (generateName ?? ''), namespace: namespace || undefined, labels, ownerReferences };
}

/** A pod template's ObjectMeta (`spec.template.metadata`): the same fields, no name required. */
export function decodeTemplateMeta(d: FieldDecoder, value: unknown, path: FieldPath): Labels {
  const meta = d.object(value, path) ?? {};
  d.knownFieldsOfEach(meta.ownerReferences, OWNER_REFERENCE_FIELDS, [...path, 'ownerReferences']);
  return decodeMetaFields(d, meta, path);
}
