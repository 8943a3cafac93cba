// Admission for the objects the lab's API server stores: the same validation and defaulting as
// manifests get from files, applied to one object as a create or an update would see it.
import { decodeAdminPolicy } from './adminpolicy.js';
import { FieldDecoder, type Json } from './decode.js';
import type { FieldError } from './diagnostics.js';
import { networkPolicyManifest } from './manifest.js';
import { decodeObjectMeta } from './metadata.js';
import { decodeNetworkPolicy } from './networkpolicy.js';
import { decodeNode } from './node.js';
import { decodeService } from './service.js';
import { checkNamespaceFields } from './status.js';
import { decodePod } from './workload.js';

export type AdmittedKind =
  | 'Namespace'
  | 'Pod'
  | 'NetworkPolicy'
  | 'Service'
  | 'AdminNetworkPolicy'
  | 'BaselineAdminNetworkPolicy'
  | 'ClusterNetworkPolicy'
  | 'Node';

export interface Admission {
  readonly errors: readonly FieldError[];
  /** The object as it is stored: defaults written out (policyTypes, protocol, a Service's type and targetPorts, an admin policy port's protocol). */
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

/** A cluster-scoped object as stored: the apiserver clears metadata.namespace (rest.BeforeCreate). */
function withoutNamespace(obj: Json): Json {
  const out = structuredClone(obj);
  if (isObject(out.metadata)) delete out.metadata.namespace;
  return out;
}

/**
 * The v1alpha1 CRDs' one default, written into a copy of a policy that validated: Port.Protocol and
 * PortRange.Protocol `+kubebuilder:default=TCP`. (v1alpha2 names the protocol as a field: nothing to default.)
 */
export function defaultAdminPolicy(obj: Json): Json {
  const out = withoutNamespace(obj);
  if (out.apiVersion !== 'policy.networking.k8s.io/v1alpha1' || !isObject(out.spec)) return out;
  for (const direction of ['ingress', 'egress']) {
    const rules = out.spec[direction];
    if (!Array.isArray(rules)) continue;
    for (const rule of rules) {
      if (!isObject(rule) || !Array.isArray(rule.ports)) continue;
      for (const port of rule.ports) {
        if (!isObject(port)) continue;
        for (const field of ['portNumber', 'portRange']) {
          const p = port[field];
          if (isObject(p) && (p.protocol === undefined || p.protocol === null)) p.protocol = 'TCP';
        }
      }
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
    case 'AdminNetworkPolicy':
    case 'BaselineAdminNetworkPolicy':
    case 'ClusterNetworkPolicy': {
      const decoded = decodeAdminPolicy(obj);
      return decoded.policy ? { errors: [], object: defaultAdminPolicy(obj) } : { errors: decoded.errors };
    }
    case 'Node': {
      const decoded = decodeNode(obj);
      return decoded.node ? { errors: [], object: withoutNamespace(obj) } : { errors: decoded.errors };
    }
  }
}
