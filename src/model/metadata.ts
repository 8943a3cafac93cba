// ObjectMeta as the apiserver validates it on create (ValidateObjectMeta): name, namespace, labels.
import type { FieldDecoder, Json } from './decode.js';
import { decodeLabels } from './labels.js';
import { isDNS1123Label, isDNS1123Subdomain } from './names.js';
import type { Labels } from './types.js';

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels: Labels;
  readonly ownerReferences: readonly { kind: string; name: string; controller: boolean }[];
}

export type NameRule = 'subdomain' | 'label';

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
  const labels = decodeLabels(d, meta.labels, ['metadata', 'labels']);
  const ownerReferences = d.array(meta.ownerReferences, ['metadata', 'ownerReferences']).flatMap((raw) => {
    const ref = raw !== null && typeof raw === 'object' ? (raw as Json) : {};
    return typeof ref.kind === 'string' && typeof ref.name === 'string'
      ? [{ kind: ref.kind, name: ref.name, controller: ref.controller === true }]
      : [];
  });
  return { name: name || (generateName ?? ''), namespace: namespace || undefined, labels, ownerReferences };
}
