// OpenAPI documents (v2 and v3) for the served kinds, good enough for kubectl to validate
// manifests (`kubectl create -f` without `--validate=false`) and to find that the server checks
// fields itself (the `fieldValidation` parameter on PATCH and POST).
import { apiVersionOf, RESOURCES, type Resource } from './resources.js';

type Schema = Record<string, unknown>;

const DEF = {
  ObjectMeta: 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
  LabelSelector: 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector',
  LabelSelectorRequirement: 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement',
  IntOrString: 'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
  Pod: 'io.k8s.api.core.v1.Pod',
  Namespace: 'io.k8s.api.core.v1.Namespace',
  NetworkPolicy: 'io.k8s.api.networking.v1.NetworkPolicy',
  NetworkPolicySpec: 'io.k8s.api.networking.v1.NetworkPolicySpec',
  NetworkPolicyIngressRule: 'io.k8s.api.networking.v1.NetworkPolicyIngressRule',
  NetworkPolicyEgressRule: 'io.k8s.api.networking.v1.NetworkPolicyEgressRule',
  NetworkPolicyPeer: 'io.k8s.api.networking.v1.NetworkPolicyPeer',
  NetworkPolicyPort: 'io.k8s.api.networking.v1.NetworkPolicyPort',
  IPBlock: 'io.k8s.api.networking.v1.IPBlock',
  Service: 'io.k8s.api.core.v1.Service',
  ServiceSpec: 'io.k8s.api.core.v1.ServiceSpec',
  ServicePort: 'io.k8s.api.core.v1.ServicePort',
  ServiceStatus: 'io.k8s.api.core.v1.ServiceStatus',
  SessionAffinityConfig: 'io.k8s.api.core.v1.SessionAffinityConfig',
  ClientIPConfig: 'io.k8s.api.core.v1.ClientIPConfig',
  LoadBalancerStatus: 'io.k8s.api.core.v1.LoadBalancerStatus',
  LoadBalancerIngress: 'io.k8s.api.core.v1.LoadBalancerIngress',
  PortStatus: 'io.k8s.api.core.v1.PortStatus',
  Condition: 'io.k8s.apimachinery.pkg.apis.meta.v1.Condition',
} as const;

const str = { type: 'string' };
const bool = { type: 'boolean' };
const int32 = { type: 'integer', format: 'int32' };
const strMap = { type: 'object', additionalProperties: { type: 'string' } };
const arrayOf = (items: Schema, extensions: Schema = {}): Schema => ({ type: 'array', items, ...extensions });
const atomic = { 'x-kubernetes-list-type': 'atomic' };
/** An object without declared properties: anything goes (kubectl does not validate inside). */
const anything = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

function definitions(ref: (name: string) => Schema): Record<string, Schema> {
  const gvk = (r: Resource) => ({ 'x-kubernetes-group-version-kind': [{ group: r.group, version: r.version, kind: r.kind }] });
  const resource = (kind: string) => RESOURCES.find((r) => r.kind === kind)!;
  const top = (kind: string, spec: Schema, status: Schema = anything): Schema => ({
    type: 'object',
    properties: { apiVersion: str, kind: str, metadata: ref(DEF.ObjectMeta), spec, status },
    ...gvk(resource(kind)),
  });
  return {
    [DEF.ObjectMeta]: {
      type: 'object',
      properties: {
        name: str,
        generateName: str,
        namespace: str,
        labels: strMap,
        annotations: strMap,
        uid: str,
        resourceVersion: str,
        generation: { type: 'integer', format: 'int64' },
        creationTimestamp: { type: 'string', format: 'date-time' },
        deletionTimestamp: { type: 'string', format: 'date-time' },
        deletionGracePeriodSeconds: { type: 'integer', format: 'int64' },
        ownerReferences: arrayOf(anything),
        finalizers: arrayOf(str),
        managedFields: arrayOf(anything),
        selfLink: str,
      },
    },
    [DEF.LabelSelector]: {
      type: 'object',
      properties: { matchLabels: strMap, matchExpressions: arrayOf(ref(DEF.LabelSelectorRequirement)) },
      'x-kubernetes-map-type': 'atomic',
    },
    [DEF.LabelSelectorRequirement]: { type: 'object', required: ['key', 'operator'], properties: { key: str, operator: str, values: arrayOf(str) } },
    [DEF.IntOrString]: { type: 'string', format: 'int-or-string' },
    [DEF.Pod]: top('Pod', anything),
    [DEF.Namespace]: top('Namespace', anything),
    [DEF.NetworkPolicy]: top('NetworkPolicy', ref(DEF.NetworkPolicySpec)),
    [DEF.NetworkPolicySpec]: {
      type: 'object',
      properties: {
        podSelector: ref(DEF.LabelSelector),
        policyTypes: arrayOf(str),
        ingress: arrayOf(ref(DEF.NetworkPolicyIngressRule)),
        egress: arrayOf(ref(DEF.NetworkPolicyEgressRule)),
      },
    },
    [DEF.NetworkPolicyIngressRule]: { type: 'object', properties: { from: arrayOf(ref(DEF.NetworkPolicyPeer)), ports: arrayOf(ref(DEF.NetworkPolicyPort)) } },
    [DEF.NetworkPolicyEgressRule]: { type: 'object', properties: { to: arrayOf(ref(DEF.NetworkPolicyPeer)), ports: arrayOf(ref(DEF.NetworkPolicyPort)) } },
    [DEF.NetworkPolicyPeer]: {
      type: 'object',
      properties: { podSelector: ref(DEF.LabelSelector), namespaceSelector: ref(DEF.LabelSelector), ipBlock: ref(DEF.IPBlock) },
    },
    [DEF.NetworkPolicyPort]: { type: 'object', properties: { protocol: str, port: ref(DEF.IntOrString), endPort: { type: 'integer', format: 'int32' } } },
    [DEF.IPBlock]: { type: 'object', required: ['cidr'], properties: { cidr: str, except: arrayOf(str) } },
    [DEF.Service]: top('Service', ref(DEF.ServiceSpec), ref(DEF.ServiceStatus)),
    [DEF.ServiceSpec]: {
      type: 'object',
      properties: {
        // Strategic merge patches merge ports by port number, as the Go type's patch tags say.
        ports: arrayOf(ref(DEF.ServicePort), {
          'x-kubernetes-list-map-keys': ['port', 'protocol'],
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-patch-merge-key': 'port',
          'x-kubernetes-patch-strategy': 'merge',
        }),
        selector: { ...strMap, 'x-kubernetes-map-type': 'atomic' },
        clusterIP: str,
        clusterIPs: arrayOf(str, atomic),
        type: str,
        externalIPs: arrayOf(str, atomic),
        sessionAffinity: str,
        loadBalancerIP: str,
        loadBalancerSourceRanges: arrayOf(str, atomic),
        externalName: str,
        externalTrafficPolicy: str,
        healthCheckNodePort: int32,
        publishNotReadyAddresses: bool,
        sessionAffinityConfig: ref(DEF.SessionAffinityConfig),
        ipFamilies: arrayOf(str, atomic),
        ipFamilyPolicy: str,
        allocateLoadBalancerNodePorts: bool,
        loadBalancerClass: str,
        internalTrafficPolicy: str,
        trafficDistribution: str,
      },
    },
    [DEF.ServicePort]: {
      type: 'object',
      required: ['port'],
      properties: { name: str, protocol: str, appProtocol: str, port: int32, targetPort: ref(DEF.IntOrString), nodePort: int32 },
    },
    [DEF.SessionAffinityConfig]: { type: 'object', properties: { clientIP: ref(DEF.ClientIPConfig) } },
    [DEF.ClientIPConfig]: { type: 'object', properties: { timeoutSeconds: int32 } },
    [DEF.ServiceStatus]: {
      type: 'object',
      properties: {
        loadBalancer: ref(DEF.LoadBalancerStatus),
        conditions: arrayOf(ref(DEF.Condition), { 'x-kubernetes-list-map-keys': ['type'], 'x-kubernetes-list-type': 'map', 'x-kubernetes-patch-merge-key': 'type', 'x-kubernetes-patch-strategy': 'merge' }),
      },
    },
    [DEF.LoadBalancerStatus]: { type: 'object', properties: { ingress: arrayOf(ref(DEF.LoadBalancerIngress), atomic) } },
    [DEF.LoadBalancerIngress]: { type: 'object', properties: { ip: str, hostname: str, ipMode: str, ports: arrayOf(ref(DEF.PortStatus), atomic) } },
    [DEF.PortStatus]: { type: 'object', required: ['port', 'protocol'], properties: { port: int32, protocol: str, error: str } },
    [DEF.Condition]: {
      type: 'object',
      required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
      properties: { type: str, status: str, observedGeneration: { type: 'integer', format: 'int64' }, lastTransitionTime: { type: 'string', format: 'date-time' }, reason: str, message: str },
    },
  };
}

const QUERY_PARAMS = ['fieldValidation', 'dryRun', 'fieldManager', 'pretty'];

function operations(r: Resource, params: (name: string) => Schema): Record<string, Schema> {
  const base = `/${r.group ? `apis/${r.group}` : 'api'}/${r.version}`;
  const collection = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`;
  const gvk = { 'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind } };
  const op = (verb: string, id: string): Schema => ({ operationId: `${id}${r.kind}`, 'x-kubernetes-action': verb, ...gvk, parameters: QUERY_PARAMS.map(params), responses: { '200': { description: 'OK' } } });
  return {
    [collection]: { get: op('list', 'list'), post: op('post', 'create'), delete: op('deletecollection', 'deleteCollection') },
    [`${collection}/{name}`]: { get: op('get', 'read'), put: op('put', 'replace'), patch: op('patch', 'patch'), delete: op('delete', 'delete') },
  };
}

export function openAPIv2(): Schema {
  const paths: Record<string, Schema> = {};
  for (const r of RESOURCES) Object.assign(paths, operations(r, (name) => ({ name, in: 'query', type: 'string', uniqueItems: true })));
  return {
    swagger: '2.0',
    info: { title: 'Podwall lab', version: 'v1.31.0' },
    paths,
    definitions: definitions((name) => ({ $ref: `#/definitions/${name}` })),
  };
}

/** The group versions served, as `/openapi/v3` lists them. */
export function openAPIv3Index(hash: string): Schema {
  const paths: Record<string, Schema> = {};
  for (const gv of new Set(RESOURCES.map(apiVersionOf))) {
    const key = gv.includes('/') ? `apis/${gv}` : `api/${gv}`;
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { paths };
}

export function openAPIv3(groupVersion: string): Schema | undefined {
  const served = RESOURCES.filter((r) => apiVersionOf(r) === groupVersion);
  if (served.length === 0) return undefined;
  const paths: Record<string, Schema> = {};
  for (const r of served) Object.assign(paths, operations(r, (name) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } })));
  return {
    openapi: '3.0.0',
    info: { title: 'Podwall lab', version: 'v1.31.0' },
    paths,
    components: { schemas: definitions((name) => ({ allOf: [{ $ref: `#/components/schemas/${name}` }] })) },
  };
}
