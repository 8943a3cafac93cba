// Admission for the objects the lab's API server stores: the same validation and defaulting as
// manifests get from files, applied to one object as a create or an update would see it.
import { FieldDecoder, type Json } from './decode.js';
import type { FieldError } from './diagnostics.js';
import { networkPolicyManifest } from './manifest.js';
import { decodeObjectMeta } from './metadata.js';
import { decodeNetworkPolicy } from './networkpolicy.js';
import { decodeService } from './service.js';
import { checkNamespaceFields } from './status.js';
import { decodePod } from './workload.js';

export type AdmittedKind = 'Namespace' | 'Pod' | 'NetworkPolicy' | 'Service';

export interface Admission {
  readonly errors: readonly FieldError[];
  /** The object as it is stored: defaults written out (policyTypes, protocol, a Service's type and targetPorts). */
  readonly object?: Json;
}

/** core/v1 DefaultClientIPServiceAffinitySeconds: three hours. */
const DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * pkg/apis/core/v1 SetDefaults_Service, written into a copy of a Service that validated. The
 * addresses and ports the apiserver allocates (clusterIPs, ipFamilies, nodePorts) are not defaults:
 * the API server's allocator fills them in.
 */
export function defaultService(obj: Json): Json {
  const out = structuredClone(obj);
  const spec: Json = isObject(out.spec) ? out.spec : {};
  out.spec = spec;
  if (!spec.sessionAffinity) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const config = isObject(spec.sessionAffinityConfig) ? spec.sessionAffinityConfig : undefined;
    const clientIP = config && isObject(config.clientIP) ? config.clientIP : undefined;
    if (typeof clientIP?.timeoutSeconds !== 'number') spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_AFFINITY_SECONDS } };
  }
  if (!spec.type) spec.type = 'ClusterIP';
  if (Array.isArray(spec.ports)) {
    spec.ports = spec.ports.map((raw: unknown) => {
      const p: Json = isObject(raw) ? { ...raw } : {};
      if (!p.protocol) p.protocol = 'TCP';
      // "targetPort == 0 or \"\" becomes port" (an absent IntOrString is 0).
      if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
      return p;
    });
  }
  const externalIPs = Array.isArray(spec.externalIPs) ? spec.externalIPs : [];
  // service.ExternallyAccessible: NodePort, LoadBalancer, or ClusterIP with externalIPs.
  const accessible = spec.type === 'NodePort' || spec.type === 'LoadBalancer' || (spec.type === 'ClusterIP' && externalIPs.length > 0);
  if (accessible && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if ((spec.internalTrafficPolicy === undefined || spec.internalTrafficPolicy === null) && ['ClusterIP', 'NodePort', 'LoadBalancer'].includes(spec.type as string)) {
    spec.internalTrafficPolicy = 'Cluster';
  }
  if (spec.type === 'LoadBalancer') {
    if (spec.allocateLoadBalancerNodePorts === undefined || spec.allocateLoadBalancerNodePorts === null) spec.allocateLoadBalancerNodePorts = true;
    // LoadBalancerIPMode (on by default since 1.30): an ingress IP without a mode is a VIP.
    const lb = isObject(out.status) && isObject(out.status.loadBalancer) ? out.status.loadBalancer : undefined;
    if (lb && Array.isArray(lb.ingress)) {
      lb.ingress = lb.ingress.map((i: unknown) => (isObject(i) && typeof i.ip === 'string' && i.ip !== '' && (i.ipMode === undefined || i.ipMode === null) ? { ...i, ipMode: 'VIP' } : i));
    }
  }
  return out;
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
    case 'Service': {
      const decoded = decodeService(obj, namespace);
      return decoded.service ? { errors: [], object: defaultService(obj) } : { errors: decoded.errors };
    }
  }
}
