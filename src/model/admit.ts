// Admission for the objects the lab's API server stores: the same validation and defaulting as
// manifests get from files, applied to one object as a create or an update would see it.
import { FieldDecoder, type Json } from './decode.js';
import type { FieldError } from './diagnostics.js';
import { networkPolicyManifest } from './manifest.js';
import { decodeObjectMeta } from './metadata.js';
import { decodeNetworkPolicy } from './networkpolicy.js';
import { checkNamespaceFields } from './status.js';
import { decodePod } from './workload.js';

export type AdmittedKind = 'Namespace' | 'Pod' | 'NetworkPolicy';

export interface Admission {
  readonly errors: readonly FieldError[];
  /** The object as it is stored: defaults written out (policyTypes, protocol). */
  readonly object?: Json;
}

export function admitObject(kind: AdmittedKind, obj: Json, namespace: string): Admission {
  switch (kind) {
    case 'NetworkPolicy': {
      const decoded = decodeNetworkPolicy(obj, namespace);
      if (!decoded.policy) return { errors: decoded.errors };
      return { errors: [], object: { ...obj, spec: networkPolicyManifest(decoded.policy).spec } };
    }
    case 'Pod': {
      const decoded = decodePod(obj);
      return decoded.errors.length > 0 ? { errors: decoded.errors } : { errors: [], object: obj };
    }
    case 'Namespace': {
      const d = new FieldDecoder();
      checkNamespaceFields(d, obj);
      decodeObjectMeta(d, obj, 'label');
      return d.errors.length > 0 ? { errors: d.errors } : { errors: [], object: obj };
    }
  }
}
