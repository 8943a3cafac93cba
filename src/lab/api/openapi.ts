// OpenAPI documents (v2 and v3) for the served kinds, good enough for kubectl to validate
// manifests (`kubectl create -f` without `--validate=false`), to explain the admin policy kinds
// (`kubectl explain anp.spec`), to choose the patch `kubectl apply` sends, and to find that the
// server checks fields itself (the `fieldValidation` parameter on PATCH and POST).
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
  Node: 'io.k8s.api.core.v1.Node',
  // Custom resources are named as the apiextensions apiserver names them: the group reversed.
  AdminNetworkPolicy: 'io.k8s.networking.policy.v1alpha1.AdminNetworkPolicy',
  BaselineAdminNetworkPolicy: 'io.k8s.networking.policy.v1alpha1.BaselineAdminNetworkPolicy',
  ClusterNetworkPolicy: 'io.k8s.networking.policy.v1alpha2.ClusterNetworkPolicy',
} as const;

const str = { type: 'string' };
const bool = { type: 'boolean' };
const int32 = { type: 'integer', format: 'int32' };
const strMap = { type: 'object', additionalProperties: { type: 'string' } };
const arrayOf = (items: Schema, extensions: Schema = {}): Schema => ({ type: 'array', items, ...extensions });
const atomic = { 'x-kubernetes-list-type': 'atomic' };
/** An object without declared properties: anything goes (kubectl does not validate inside). */
const anything = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

const described = (description: string, schema: Schema): Schema => ({ description, ...schema });
const int32Range = (minimum: number, maximum: number): Schema => ({ type: 'integer', format: 'int32', minimum, maximum });

/**
 * The admin policy kinds' schemas, restated from their CRDs (network-policy-api v0.1.7 for
 * v1alpha1, v1alpha2 for ClusterNetworkPolicy, experimental fields included) for `kubectl explain`;
 * admission (the model's decodeAdminPolicy) does the validation, CEL rules included.
 */
function adminPolicySchemas(ref: (name: string) => Schema): Record<'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'ClusterNetworkPolicy', Schema> {
  const selector = (description: string): Schema => ({ description, ...ref(DEF.LabelSelector) });
  const namespacedPod = described('Pods matching podSelector in the namespaces matching namespaceSelector.', {
    type: 'object',
    required: ['namespaceSelector', 'podSelector'],
    properties: { namespaceSelector: selector('Namespaces of the pods; an empty selector selects every namespace.'), podSelector: selector('Pods in those namespaces; an empty selector selects every pod.') },
  });
  const subject = described('The pods this policy applies to: exactly one of namespaces or pods. Host-network pods are never subjects.', {
    type: 'object',
    properties: { namespaces: selector('Every pod in the namespaces this selector matches.'), pods: namespacedPod },
  });
  const protocol = described('TCP, UDP or SCTP.', { type: 'string', enum: ['TCP', 'UDP', 'SCTP'] });
  const v1alpha1Ports = arrayOf(
    described('Exactly one of portNumber, namedPort, portRange.', {
      type: 'object',
      properties: {
        portNumber: { type: 'object', required: ['protocol', 'port'], properties: { protocol, port: int32Range(1, 65535) } },
        namedPort: described("A container port of the destination pod, by name.", str),
        portRange: { type: 'object', required: ['start', 'end'], properties: { protocol, start: int32Range(1, 65535), end: int32Range(1, 65535) } },
      },
    }),
    { maxItems: 100 },
  );
  const cidrs = described('CIDRs; they match any address, pod addresses included.', arrayOf(str, { 'x-kubernetes-list-type': 'set', minItems: 1, maxItems: 25 }));
  const peer = (egress: boolean, domainNames: boolean): Schema =>
    described('Exactly one field set.', {
      type: 'object',
      properties: {
        namespaces: selector('Every pod in the namespaces this selector matches.'),
        pods: namespacedPod,
        ...(egress ? { nodes: selector('The addresses of the Nodes this selector matches (experimental).'), networks: cidrs } : {}),
        ...(egress && domainNames ? { domainNames: described('Domain names, resolved at run time (experimental; Accept only).', arrayOf(str, { 'x-kubernetes-list-type': 'set', minItems: 1, maxItems: 25 })) } : {}),
      },
    });
  const portMatch = { type: 'object', properties: { number: int32Range(1, 65535), range: { type: 'object', required: ['start', 'end'], properties: { start: int32Range(1, 65535), end: int32Range(1, 65535) } } } };
  const protocols = arrayOf(
    described('Exactly one of tcp, udp, sctp, destinationNamedPort.', {
      type: 'object',
      properties: {
        tcp: { type: 'object', properties: { destinationPort: portMatch } },
        udp: { type: 'object', properties: { destinationPort: portMatch } },
        sctp: { type: 'object', properties: { destinationPort: portMatch } },
        destinationNamedPort: described("A container port of the destination pod, by name.", str),
      },
    }),
    { maxItems: 25 },
  );
  /** A rule list; only BaselineAdminNetworkPolicy's egress peers have no domainNames. */
  const rule = (direction: 'ingress' | 'egress', actions: string[], v1alpha2: boolean, max: number, domainNames = true): Schema =>
    arrayOf(
      {
        type: 'object',
        required: ['action', direction === 'ingress' ? 'from' : 'to'],
        properties: {
          name: described('Shown in every reason that names this rule.', { type: 'string', maxLength: 100 }),
          action: described(`What a match does: ${actions.join(', ')}.`, { type: 'string', enum: actions }),
          [direction === 'ingress' ? 'from' : 'to']: arrayOf(peer(direction === 'egress', domainNames), { minItems: 1, maxItems: 100 }),
          ...(v1alpha2 ? { protocols } : { ports: v1alpha1Ports }),
        },
      },
      { maxItems: max },
    );
  const status = described('Status reported by the implementation.', {
    type: 'object',
    required: ['conditions'],
    properties: { conditions: arrayOf(ref(DEF.Condition), { 'x-kubernetes-list-map-keys': ['type'], 'x-kubernetes-list-type': 'map' }) },
  });
  const top = (description: string, spec: Schema): Schema => ({
    description,
    type: 'object',
    required: ['metadata', 'spec'],
    properties: { apiVersion: str, kind: str, metadata: ref(DEF.ObjectMeta), spec, status },
  });
  const priority = described('0-1000; lower numbers are evaluated first.', int32Range(0, 1000));
  return {
    AdminNetworkPolicy: top('A cluster-wide policy evaluated before NetworkPolicy.', {
      type: 'object',
      required: ['priority', 'subject'],
      properties: { priority, subject, ingress: rule('ingress', ['Allow', 'Deny', 'Pass'], false, 100), egress: rule('egress', ['Allow', 'Deny', 'Pass'], false, 100) },
    }),
    BaselineAdminNetworkPolicy: top('The cluster-wide default, evaluated after NetworkPolicy; named `default`.', {
      type: 'object',
      required: ['subject'],
      properties: { subject, ingress: rule('ingress', ['Allow', 'Deny'], false, 100), egress: rule('egress', ['Allow', 'Deny'], false, 100, false) },
    }),
    ClusterNetworkPolicy: top('A cluster-wide policy in the Admin tier (before NetworkPolicy) or the Baseline tier (after it).', {
      type: 'object',
      required: ['tier', 'priority', 'subject'],
      properties: {
        tier: described('Admin or Baseline.', { type: 'string', enum: ['Admin', 'Baseline'] }),
        priority,
        subject,
        ingress: rule('ingress', ['Accept', 'Deny', 'Pass'], true, 25),
        egress: rule('egress', ['Accept', 'Deny', 'Pass'], true, 25),
      },
    }),
  };
}

function definitions(ref: (name: string) => Schema): Record<string, Schema> {
  const gvk = (r: Resource) => ({ 'x-kubernetes-group-version-kind': [{ group: r.group, version: r.version, kind: r.kind }] });
  const resource = (kind: string) => RESOURCES.find((r) => r.kind === kind)!;
  const top = (kind: string, spec: Schema, status: Schema = anything): Schema => ({
    type: 'object',
    properties: { apiVersion: str, kind: str, metadata: ref(DEF.ObjectMeta), spec, status },
    ...gvk(resource(kind)),
  });
  const admin = adminPolicySchemas(ref);
  return {
    [DEF.Node]: top('Node', anything),
    [DEF.AdminNetworkPolicy]: { ...admin.AdminNetworkPolicy, ...gvk(resource('AdminNetworkPolicy')) },
    [DEF.BaselineAdminNetworkPolicy]: { ...admin.BaselineAdminNetworkPolicy, ...gvk(resource('BaselineAdminNetworkPolicy')) },
    [DEF.ClusterNetworkPolicy]: { ...admin.ClusterNetworkPolicy, ...gvk(resource('ClusterNetworkPolicy')) },
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

/** The patch media types a resource takes: a custom resource none of the strategic kind. */
export function patchMediaTypes(r: Resource): string[] {
  return ['application/json-patch+json', 'application/merge-patch+json', ...(r.custom ? [] : ['application/strategic-merge-patch+json'])];
}

/**
 * The paths of one resource. Only a custom resource's PATCH says what it consumes (v2 `consumes`,
 * v3 `requestBody`), as the apiserver's document does: kubectl looks there for the strategic merge
 * type and, not finding it, sends a JSON merge patch; for the built-in kinds it finds none and
 * falls back to the types compiled into it, which take strategic merge patches.
 */
function operations(r: Resource, params: (name: string) => Schema, v3: boolean): Record<string, Schema> {
  const base = `/${r.group ? `apis/${r.group}` : 'api'}/${r.version}`;
  const collection = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`;
  const gvk = { 'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind } };
  const op = (verb: string, id: string, suffix = ''): Schema => ({ operationId: `${id}${r.kind}${suffix}`, 'x-kubernetes-action': verb, ...gvk, parameters: QUERY_PARAMS.map(params), responses: { '200': { description: 'OK' } } });
  const consumes = patchMediaTypes(r);
  const patch = (suffix = ''): Schema => ({
    ...op('patch', 'patch', suffix),
    ...(r.custom ? (v3 ? { requestBody: { content: Object.fromEntries(consumes.map((t) => [t, { schema: { type: 'object' } }])) } } : { consumes }) : {}),
  });
  return {
    [collection]: { get: op('list', 'list'), post: op('post', 'create'), delete: op('deletecollection', 'deleteCollection') },
    [`${collection}/{name}`]: { get: op('get', 'read'), put: op('put', 'replace'), patch: patch(), delete: op('delete', 'delete') },
    ...(r.status ? { [`${collection}/{name}/status`]: { get: op('get', 'read', 'Status'), put: op('put', 'replace', 'Status'), patch: patch('Status') } } : {}),
  };
}

export function openAPIv2(): Schema {
  const paths: Record<string, Schema> = {};
  for (const r of RESOURCES) Object.assign(paths, operations(r, (name) => ({ name, in: 'query', type: 'string', uniqueItems: true }), false));
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
  for (const r of served) Object.assign(paths, operations(r, (name) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } }), true));
  return {
    openapi: '3.0.0',
    info: { title: 'Podwall lab', version: 'v1.31.0' },
    paths,
    components: { schemas: definitions((name) => ({ allOf: [{ $ref: `#/components/schemas/${name}` }] })) },
  };
}
