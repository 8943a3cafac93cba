// The Kubernetes objects Podwall reasons about, as decoded and validated from manifests.
// Field names follow k8s.io/api (networking/v1, core/v1, meta/v1) verbatim.

export type Labels = Readonly<Record<string, string>>;

/** A Kubernetes object as plain JSON (a manifest, an API body, a stored object). */
export type Manifest = Record<string, unknown>;

/**
 * A LabelSelector object's operators, and Gt/Lt, which only the string form (labels.Parse: `a>1`)
 * can write: validation of a LabelSelector object refuses them.
 */
export type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: LabelSelectorOperator;
  readonly values: readonly string[];
}

/** meta/v1 LabelSelector: matchLabels and matchExpressions are ANDed; empty matches everything. */
export interface LabelSelector {
  readonly matchLabels: Labels;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

export type PolicyType = 'Ingress' | 'Egress';

export interface IPBlock {
  readonly cidr: string;
  readonly except: readonly string[];
}

/** networking/v1 NetworkPolicyPeer: exactly one of ipBlock, or pod and/or namespace selectors. */
export interface NetworkPolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IPBlock;
}

/** networking/v1 NetworkPolicyPort; `protocol` is already defaulted to TCP. */
export interface NetworkPolicyPort {
  readonly protocol: Protocol;
  readonly port?: number | string;
  readonly endPort?: number;
}

/**
 * An ingress or egress rule. `peers` is `from` (ingress) or `to` (egress); undefined when the
 * field is empty or missing, which "matches all sources/destinations".
 */
export interface NetworkPolicyRule {
  readonly peers?: readonly NetworkPolicyPeer[];
  /** undefined when empty or missing: the rule "matches all ports". */
  readonly ports?: readonly NetworkPolicyPort[];
}

export interface NetworkPolicySpec {
  readonly podSelector: LabelSelector;
  /** Defaulted as the apiserver does: Ingress always, Egress when egress rules are present. */
  readonly policyTypes: readonly PolicyType[];
  readonly ingress: readonly NetworkPolicyRule[];
  readonly egress: readonly NetworkPolicyRule[];
}

/** Where an object came from, so every answer and error can point back to it. */
export interface SourceRef {
  readonly file: string;
  /** 1-based index of the YAML document in its file. */
  readonly document: number;
  /** 1-based line and column of the object's start. */
  readonly line: number;
  readonly column: number;
}

export interface NetworkPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly spec: NetworkPolicySpec;
  readonly source?: SourceRef;
}

export interface Namespace {
  readonly name: string;
  /** Includes `kubernetes.io/metadata.name`, which the apiserver always sets. */
  readonly labels: Labels;
  /** True when some manifest declared it; false when it only exists because something uses it. */
  readonly declared: boolean;
  readonly source?: SourceRef;
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol: Protocol;
}

/** The kinds that become endpoints; workloads are named `ns/kind/name` with the kind lower-cased. */
export type EndpointKind =
  | 'Pod'
  | 'Deployment'
  | 'StatefulSet'
  | 'DaemonSet'
  | 'ReplicaSet'
  | 'ReplicationController'
  | 'Job'
  | 'CronJob';

/**
 * Something traffic can come from or go to inside the cluster: a Pod, or a workload standing for
 * the pods its template would create.
 */
export interface Endpoint {
  /** `ns/name` for a Pod, `ns/kind/name` for a workload. */
  readonly id: string;
  readonly kind: EndpointKind;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  readonly ports: readonly ContainerPort[];
  /** status.podIPs (or status.podIP); empty for workload templates and unscheduled pods. */
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
  /** spec.nodeName: the node a pod runs on, once scheduled (the agent enforces for its own node's pods). */
  readonly nodeName?: string;
  /** Pod replicas a workload asks for (1 for a Pod, undefined where it does not apply). */
  readonly replicas?: number;
  readonly source?: SourceRef;
}

/** core/v1 ServiceSpec.type, defaulted to ClusterIP. */
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
export const SERVICE_TYPES: readonly ServiceType[] = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

/** core/v1 ServiceExternalTrafficPolicy: `Cluster` may SNAT outside traffic to a node's address, `Local` keeps the client's. */
export type ExternalTrafficPolicy = 'Cluster' | 'Local';

/** core/v1 ServicePort, defaulted as SetDefaults_Service does: protocol TCP, targetPort = port. */
export interface ServicePort {
  /** Required when the Service has more than one port (a DNS-1123 label). */
  readonly name?: string;
  readonly protocol: Protocol;
  /** The port clients connect to on the Service's addresses. */
  readonly port: number;
  /** The backends' port: a number, or the name of a container port, looked up per backend pod. */
  readonly targetPort: number | string;
  /** NodePort/LoadBalancer: the port every node forwards (30000-32767). */
  readonly nodePort?: number;
  readonly appProtocol?: string;
}

/** A core/v1 Service, validated and defaulted as the apiserver does on create. */
export interface Service {
  readonly namespace: string;
  readonly name: string;
  readonly type: ServiceType;
  /**
   * spec.selector; undefined when absent or empty, which means "an external process manages its
   * endpoints": its backends then come from EndpointSlices (`kubernetes.io/service-name`).
   */
  readonly selector?: Labels;
  readonly ports: readonly ServicePort[];
  /** spec.clusterIPs (from spec.clusterIP when only that is given); empty: allocated by the apiserver; ['None']: headless. */
  readonly clusterIPs: readonly string[];
  /** clusterIP: None: no virtual address and no DNAT; clients reach the backends' own addresses. */
  readonly headless: boolean;
  readonly externalIPs: readonly string[];
  /** spec.loadBalancerIP and status.loadBalancer.ingress[].ip: addresses outside traffic arrives at. */
  readonly loadBalancerIPs: readonly string[];
  readonly loadBalancerSourceRanges: readonly string[];
  /** ExternalName: the DNS name the Service is an alias (CNAME) for. */
  readonly externalName?: string;
  /** Set (default Cluster) only for Services reachable from outside: NodePort, LoadBalancer, or with externalIPs. */
  readonly externalTrafficPolicy?: ExternalTrafficPolicy;
  readonly publishNotReadyAddresses: boolean;
  readonly source?: SourceRef;
}

/** discovery.k8s.io/v1 AddressType. */
export type EndpointSliceAddressType = 'IPv4' | 'IPv6' | 'FQDN';

/** discovery.k8s.io/v1 Endpoint: one backend of a slice. */
export interface EndpointSliceEndpoint {
  readonly addresses: readonly string[];
  /** conditions.ready; "a nil value should be interpreted as ready" (unknown state). */
  readonly ready: boolean;
  readonly targetRef?: { readonly kind: string; readonly namespace?: string; readonly name: string };
  readonly nodeName?: string;
}

/** discovery.k8s.io/v1 EndpointPort; matched to a Service port by name (and protocol). */
export interface EndpointSlicePort {
  readonly name: string;
  readonly protocol: Protocol;
  /** undefined: "all ports" (kube-proxy routes no Service port to it). */
  readonly port?: number;
}

/** A discovery.k8s.io/v1 EndpointSlice: the backends of the Service named by its `kubernetes.io/service-name` label. */
export interface EndpointSlice {
  readonly namespace: string;
  readonly name: string;
  /** The `kubernetes.io/service-name` label. */
  readonly serviceName?: string;
  readonly addressType: EndpointSliceAddressType;
  readonly endpoints: readonly EndpointSliceEndpoint[];
  readonly ports: readonly EndpointSlicePort[];
  readonly source?: SourceRef;
}

/** A core/v1 Node: what `nodes` peers of admin policies select, by labels, at its status addresses. */
export interface Node {
  readonly name: string;
  readonly labels: Labels;
  /** status.addresses of every type (InternalIP, ExternalIP), in order; hostnames are left out. */
  readonly addresses: readonly string[];
  readonly source?: SourceRef;
}

/**
 * The cluster-scoped policy kinds of policy.networking.k8s.io: v1alpha1 AdminNetworkPolicy and
 * BaselineAdminNetworkPolicy, and v1alpha2 ClusterNetworkPolicy (which carries its tier in spec.tier).
 */
export type AdminPolicyKind = 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'ClusterNetworkPolicy';
export type AdminPolicyAPIVersion = 'policy.networking.k8s.io/v1alpha1' | 'policy.networking.k8s.io/v1alpha2';

/** Admin rules are evaluated before NetworkPolicy, Baseline rules after it. */
export type AdminTier = 'Admin' | 'Baseline';

/**
 * A rule's action as written: v1alpha1 `Allow` and v1alpha2 `Accept` mean the same thing (the
 * traffic is let through, no lower rule or NetworkPolicy is consulted for that direction).
 * `Pass` skips the rest of its tier. BaselineAdminNetworkPolicy has no Pass.
 */
export type AdminRuleAction = 'Allow' | 'Accept' | 'Deny' | 'Pass';

/** NamespacedPod: pods matching podSelector in namespaces matching namespaceSelector (empty: all). */
export interface NamespacedPod {
  readonly namespaceSelector: LabelSelector;
  readonly podSelector: LabelSelector;
}

/** spec.subject: exactly one of namespaces or pods. Host-network pods are never subjects. */
export type AdminSubject =
  | { readonly namespaces: LabelSelector; readonly pods?: undefined }
  | { readonly pods: NamespacedPod; readonly namespaces?: undefined };

/** One peer of an admin rule: exactly one field set. nodes, networks and domainNames are egress-only. */
export type AdminPeer =
  | { readonly kind: 'namespaces'; readonly namespaces: LabelSelector }
  | { readonly kind: 'pods'; readonly pods: NamespacedPod }
  /** Experimental: the addresses of the Nodes the selector matches (status.addresses). */
  | { readonly kind: 'nodes'; readonly nodes: LabelSelector }
  /** CIDRs; they match any address, pod addresses included. */
  | { readonly kind: 'networks'; readonly networks: readonly string[] }
  /** Experimental, Accept/Allow egress only: resolved at run time, so no static address matches them. */
  | { readonly kind: 'domainNames'; readonly domainNames: readonly string[] };

/**
 * One port match of an admin rule, both API versions in one shape: v1alpha1 `portNumber`,
 * `portRange`, `namedPort`; v1alpha2 `protocols[].tcp|udp|sctp.destinationPort.number|range` (a
 * protocol without destinationPort cannot be written: MinProperties=1) and `destinationNamedPort`.
 */
export type AdminPort =
  | { readonly kind: 'number'; readonly protocol: Protocol; readonly port: number }
  | { readonly kind: 'range'; readonly protocol: Protocol; readonly start: number; readonly end: number }
  /** A container port of the destination pod by name, whatever its protocol. */
  | { readonly kind: 'named'; readonly name: string };

export interface AdminRule {
  /** The rule's optional `name` (at most 100 characters): shown in every reason. */
  readonly name?: string;
  readonly action: AdminRuleAction;
  /** `from` (ingress) or `to` (egress): at least one. */
  readonly peers: readonly AdminPeer[];
  /** `ports` (v1alpha1) or `protocols` (v1alpha2); undefined: the rule does not filter by port. */
  readonly ports?: readonly AdminPort[];
}

/** An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy, validated as its CRD does. */
export interface AdminPolicy {
  readonly kind: AdminPolicyKind;
  readonly apiVersion: AdminPolicyAPIVersion;
  /** Cluster-scoped: a name only. A BaselineAdminNetworkPolicy is always named `default`. */
  readonly name: string;
  /** AdminNetworkPolicy: Admin; BaselineAdminNetworkPolicy: Baseline; ClusterNetworkPolicy: spec.tier. */
  readonly tier: AdminTier;
  /** 0-1000, lower first. A BaselineAdminNetworkPolicy has none: undefined, evaluated after every Baseline ClusterNetworkPolicy. */
  readonly priority?: number;
  readonly subject: AdminSubject;
  readonly ingress: readonly AdminRule[];
  readonly egress: readonly AdminRule[];
  readonly source?: SourceRef;
}

/** Everything loaded from manifests: the input to the engine. */
export interface Cluster {
  readonly namespaces: readonly Namespace[];
  readonly endpoints: readonly Endpoint[];
  readonly policies: readonly NetworkPolicy[];
  /** Sorted by namespace, then name. Optional so that clusters built by hand (the UI's overlay) stay valid: absent means none. */
  readonly services?: readonly Service[];
  /** Sorted by namespace, then name. */
  readonly endpointSlices?: readonly EndpointSlice[];
  /** Admin and Baseline policies of every kind, sorted by kind, then name; absent means none. */
  readonly adminPolicies?: readonly AdminPolicy[];
  /** Sorted by name; absent means none were given. */
  readonly nodes?: readonly Node[];
}
