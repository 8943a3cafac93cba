// The conformance suite of kubernetes-sigs/network-policy-api, for both API versions, as data.
//
// Sources (read, restated here, never copied): for v1alpha1 (AdminNetworkPolicy and
// BaselineAdminNetworkPolicy) release v0.1.7, commit f8d2f69; for v1alpha2 (ClusterNetworkPolicy
// with `tier: Admin|Baseline`) the mirrored HEAD, commit 0eec1b0. At both: `conformance/tests/*.go`
// (the tests, their t.Run sub-tests, patches and PokeServer probes), `conformance/base/manifests.yaml`
// (the houses) and `conformance/base/{admin_network_policy,baseline_admin_network_policy,admin_tier,
// baseline_tier,api_integration}/*.yaml` (the policies each test applies).
//
// THE HOUSES (upstream's cluster): namespaces network-policy-conformance-<house>, labelled
// `conformance-house: <house>` (the apiserver adds kubernetes.io/metadata.name). Upstream runs a
// StatefulSet of 2 replicas per house; they are restated as the two Pods it makes
// (`harry-potter-0`, `harry-potter-1`, ...) with the template's labels and fixed addresses
// (10.231.<house>.<10 + ordinal>), so probes can name one pod and CIDR peers can hold its address.
// Every house pod declares its serving ports: 80/TCP `web`, 53/UDP `dns` as upstream does, and
// 8080/TCP, 5353/UDP, 9003/SCTP, 9005/SCTP, which upstream serves without declaring; declared
// without a name, they change no policy's meaning (only `web` and `dns` are ever named), and they
// let the lab serve them. The forbidden-forrest pods (`centaur-*`) are hostNetwork: each runs on
// its own Node (two replicas with the same host ports cannot share a node) at that node's address;
// their ports are the version's host-network ports (hostNetworkPorts()).
//
// ONE DESCRIPTION PER POLICY: every upstream policy is described once (PolicyDesc: tier, priority,
// subject, rules with action, peers, ports) and rendered as a manifest of either API version:
// v1alpha1 AdminNetworkPolicy / BaselineAdminNetworkPolicy `default` (Allow, portNumber/portRange/
// namedPort), or v1alpha2 ClusterNetworkPolicy (tier, Accept, protocols[].tcp|udp|sctp.destinationPort,
// destinationNamedPort; upstream's baseline CNPs carry priority 10).
//
// A CASE is one upstream sub-test (t.Run) of one test, in one API version, named
// `<ShortName> / <sub-test title>`. Its steps are complete states: upstream runs the sub-tests of a
// test in order against the same objects, so every patch (a rule swap, an action or priority
// change, a rule rewritten to a named port, a rule inserted, a NetworkPolicy deleted, a namespace
// relabelled) holds for the rest of the test: a step's state is the test's manifests with every
// patch so far applied. Each probe is one upstream PokeServer: client pod, server pod (at its pod
// IP), port, protocol, and whether upstream expects the connection to succeed.
import type { AdminTier, Manifest, PolicyType as Direction, Protocol } from '../../src/model/index.js';

export type ApiVersion = 'v1alpha1' | 'v1alpha2';
export const API_VERSIONS: readonly ApiVersion[] = ['v1alpha1', 'v1alpha2'];
/** The upstream commit each version's suite was read at. */
export const UPSTREAM_REVISION: Readonly<Record<ApiVersion, string>> = { v1alpha1: 'f8d2f69 (v0.1.7)', v1alpha2: '0eec1b0' };
export const API_GROUP = 'policy.networking.k8s.io';

// ---------------------------------------------------------------------------------------------
// The houses

export type House = 'gryffindor' | 'slytherin' | 'hufflepuff' | 'ravenclaw' | 'forbidden-forrest';
export const HOUSES: readonly House[] = ['gryffindor', 'slytherin', 'hufflepuff', 'ravenclaw', 'forbidden-forrest'];
export const HOUSE_LABEL = 'conformance-house';
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
export const namespaceOf = (house: House): string => `network-policy-conformance-${house}`;

/** Each house's StatefulSet: its pods are `<name>-0` and `<name>-1`. */
const STATEFUL_SETS: Readonly<Record<House, string>> = {
  gryffindor: 'harry-potter',
  slytherin: 'draco-malfoy',
  hufflepuff: 'cedric-diggory',
  ravenclaw: 'luna-lovegood',
  'forbidden-forrest': 'centaur',
};

export type PodName = `${'harry-potter' | 'draco-malfoy' | 'cedric-diggory' | 'luna-lovegood' | 'centaur'}-${0 | 1}`;

export interface HousePod {
  readonly name: PodName;
  readonly house: House;
  /** The engine's endpoint id: `namespace/name`. */
  readonly id: string;
  readonly ip: string;
  readonly hostNetwork: boolean;
  /** The Node a hostNetwork pod runs on (its address is the node's). */
  readonly nodeName?: string;
}

/** The Nodes the centaur pods run on; `kubernetes.io/os: linux` is what upstream's nodes peers select. */
export const NODES: readonly { readonly name: string; readonly address: string }[] = [
  { name: 'conformance-node-1', address: '10.231.0.1' },
  { name: 'conformance-node-2', address: '10.231.0.2' },
];

export const PODS: readonly HousePod[] = HOUSES.flatMap((house, h) =>
  [0, 1].map((ordinal): HousePod => {
    const name = `${STATEFUL_SETS[house]}-${ordinal}` as PodName;
    const hostNetwork = house === 'forbidden-forrest';
    return {
      name,
      house,
      id: `${namespaceOf(house)}/${name}`,
      ip: hostNetwork ? NODES[ordinal].address : `10.231.${h + 1}.${10 + ordinal}`,
      hostNetwork,
      ...(hostNetwork ? { nodeName: NODES[ordinal].name } : {}),
    };
  }),
);

export function housePod(name: PodName): HousePod {
  const pod = PODS.find((p) => p.name === name);
  if (!pod) throw new Error(`no house pod ${name}`);
  return pod;
}

/**
 * The host-network pods' ports by index, as upstream's templates use them: 0, 1 TCP; 2, 4 UDP
 * (3, 5 their servers' unused HTTP ports); 6, 7 SCTP. v1alpha1 fixes them; v1alpha2 takes a
 * configurable range, by default 34345-34352.
 */
export function hostNetworkPorts(version: ApiVersion): readonly number[] {
  return version === 'v1alpha1' ? [36363, 36364, 34345, 34358, 34346, 34357, 9003, 9005] : [34345, 34346, 34347, 34348, 34349, 34350, 34351, 34352];
}

/** A host-network port by its index in hostNetworkPorts(). */
export type HostPort = 'hp0' | 'hp1' | 'hp2' | 'hp4' | 'hp6' | 'hp7';
type PortRef = number | HostPort;
const resolvePort = (port: PortRef, version: ApiVersion): number => (typeof port === 'number' ? port : hostNetworkPorts(version)[Number(port.slice(2))]);

interface DeclaredPort {
  readonly name?: string;
  readonly port: PortRef;
  readonly protocol: Protocol;
}

const HOUSE_PORTS: readonly DeclaredPort[] = [
  { name: 'web', port: 80, protocol: 'TCP' },
  { port: 8080, protocol: 'TCP' },
  { port: 5353, protocol: 'UDP' },
  { name: 'dns', port: 53, protocol: 'UDP' },
  { port: 9003, protocol: 'SCTP' },
  { port: 9005, protocol: 'SCTP' },
];

function centaurPorts(version: ApiVersion): DeclaredPort[] {
  const [p0, p1, p2, , p4, , p6, p7] = hostNetworkPorts(version);
  return [
    { name: `web-${p0}`, port: p0, protocol: 'TCP' },
    { name: `web-${p1}`, port: p1, protocol: 'TCP' },
    { name: `dns-${p2}`, port: p2, protocol: 'UDP' },
    { name: `dns-${p4}`, port: p4, protocol: 'UDP' },
    { port: p6, protocol: 'SCTP' },
    { port: p7, protocol: 'SCTP' },
  ];
}

export type Labels = Readonly<Record<string, string>>;

/** The houses' Namespaces, Nodes and Pods; `namespaceLabels` replaces a house's labels (upstream's SetLabels). */
export function houseManifests(version: ApiVersion, namespaceLabels: Readonly<Partial<Record<House, Labels>>> = {}): Manifest[] {
  const namespaces = HOUSES.map((house) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespaceOf(house), labels: { ...(namespaceLabels[house] ?? { [HOUSE_LABEL]: house }) } },
  }));
  const nodes = NODES.map((node) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: node.name, labels: { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': node.name } },
    status: { addresses: [{ type: 'InternalIP', address: node.address }, { type: 'Hostname', address: node.name }] },
  }));
  const pods = PODS.map((pod) => {
    const ports = pod.hostNetwork ? centaurPorts(version) : HOUSE_PORTS;
    const set = STATEFUL_SETS[pod.house];
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod.name, namespace: namespaceOf(pod.house), labels: { [HOUSE_LABEL]: pod.house } },
      spec: {
        ...(pod.hostNetwork ? { hostNetwork: true, nodeName: pod.nodeName } : {}),
        containers: [
          { name: `${set}-client`, image: 'registry.k8s.io/e2e-test-images/agnhost:2.45' },
          ...ports.map((p) => ({
            name: `${set}-${resolvePort(p.port, version)}-${p.protocol.toLowerCase()}`,
            image: 'registry.k8s.io/e2e-test-images/agnhost:2.45',
            ports: [{ containerPort: resolvePort(p.port, version), protocol: p.protocol, ...(p.name ? { name: p.name } : {}) }],
          })),
        ],
      },
      status: { phase: 'Running', hostIP: pod.ip, podIP: pod.ip, podIPs: [{ ip: pod.ip }] },
    };
  });
  return [...namespaces, ...nodes, ...pods];
}

// ---------------------------------------------------------------------------------------------
// Policies, described once

/** Only matchLabels: every upstream selector is one. */
type Selector = Labels;

export type SubjectDesc = { readonly namespaces: Selector } | { readonly pods: { readonly namespaceSelector: Selector; readonly podSelector: Selector } };
export type PeerDesc =
  | { readonly namespaces: Selector }
  | { readonly pods: { readonly namespaceSelector: Selector; readonly podSelector: Selector } }
  | { readonly nodes: Selector }
  | { readonly networks: readonly string[] };
export type PortDesc =
  | { readonly protocol: Protocol; readonly port: PortRef }
  | { readonly protocol: Protocol; readonly start: PortRef; readonly end: PortRef }
  | { readonly named: string };
/** v1alpha1's word for letting traffic through; rendered `Accept` in v1alpha2. */
export type ActionDesc = 'Allow' | 'Deny' | 'Pass';

export interface RuleDesc {
  readonly name: string;
  readonly action: ActionDesc;
  readonly peers: readonly PeerDesc[];
  readonly ports?: readonly PortDesc[];
}

export interface PolicyDesc {
  readonly name: string;
  readonly tier: AdminTier;
  /** Admin: spec.priority. Baseline: v1alpha2's spec.priority (upstream uses 10); v1alpha1's BANP has none. */
  readonly priority: number;
  readonly subject: SubjectDesc;
  readonly ingress: readonly RuleDesc[];
  readonly egress: readonly RuleDesc[];
}

const matchLabels = (labels: Selector) => ({ matchLabels: { ...labels } });

function renderSubjectOrPeer(x: SubjectDesc | PeerDesc): Manifest {
  if ('namespaces' in x) return { namespaces: matchLabels(x.namespaces) };
  if ('pods' in x) return { pods: { namespaceSelector: matchLabels(x.pods.namespaceSelector), podSelector: matchLabels(x.pods.podSelector) } };
  if ('nodes' in x) return { nodes: matchLabels(x.nodes) };
  return { networks: [...x.networks] };
}

function renderPort(p: PortDesc, version: ApiVersion): Manifest {
  if ('named' in p) return version === 'v1alpha1' ? { namedPort: p.named } : { destinationNamedPort: p.named };
  if ('port' in p) {
    const port = resolvePort(p.port, version);
    return version === 'v1alpha1' ? { portNumber: { protocol: p.protocol, port } } : { [p.protocol.toLowerCase()]: { destinationPort: { number: port } } };
  }
  const [start, end] = [resolvePort(p.start, version), resolvePort(p.end, version)];
  return version === 'v1alpha1' ? { portRange: { protocol: p.protocol, start, end } } : { [p.protocol.toLowerCase()]: { destinationPort: { range: { start, end } } } };
}

function renderRule(rule: RuleDesc, direction: Direction, version: ApiVersion): Manifest {
  return {
    name: rule.name,
    action: version === 'v1alpha2' && rule.action === 'Allow' ? 'Accept' : rule.action,
    [direction === 'Ingress' ? 'from' : 'to']: rule.peers.map(renderSubjectOrPeer),
    ...(rule.ports ? { [version === 'v1alpha1' ? 'ports' : 'protocols']: rule.ports.map((p) => renderPort(p, version)) } : {}),
  };
}

/** The policy as a manifest of the version: ANP/BANP (v1alpha1) or ClusterNetworkPolicy (v1alpha2). */
export function renderPolicy(policy: PolicyDesc, version: ApiVersion): Manifest {
  const rules = {
    ...(policy.ingress.length > 0 ? { ingress: policy.ingress.map((r) => renderRule(r, 'Ingress', version)) } : {}),
    ...(policy.egress.length > 0 ? { egress: policy.egress.map((r) => renderRule(r, 'Egress', version)) } : {}),
  };
  const subject = renderSubjectOrPeer(policy.subject);
  if (version === 'v1alpha2') {
    return { apiVersion: `${API_GROUP}/v1alpha2`, kind: 'ClusterNetworkPolicy', metadata: { name: policy.name }, spec: { tier: policy.tier, priority: policy.priority, subject, ...rules } };
  }
  if (policy.tier === 'Admin') {
    return { apiVersion: `${API_GROUP}/v1alpha1`, kind: 'AdminNetworkPolicy', metadata: { name: policy.name }, spec: { priority: policy.priority, subject, ...rules } };
  }
  // BaselineAdminNetworkPolicy: the singleton `default`, no priority, no Pass.
  if (policy.name !== 'default') throw new Error(`a BaselineAdminNetworkPolicy is named default, not ${policy.name}`);
  if ([...policy.ingress, ...policy.egress].some((r) => r.action === 'Pass')) throw new Error('a BaselineAdminNetworkPolicy has no Pass action');
  return { apiVersion: `${API_GROUP}/v1alpha1`, kind: 'BaselineAdminNetworkPolicy', metadata: { name: 'default' }, spec: { subject, ...rules } };
}

// Selectors upstream uses.
const byName = (house: House): { namespaces: Selector } => ({ namespaces: { [NAMESPACE_NAME_LABEL]: namespaceOf(house) } });
const byHouse = (house: House): { namespaces: Selector } => ({ namespaces: { [HOUSE_LABEL]: house } });
const housePods = (house: House): { pods: { namespaceSelector: Selector; podSelector: Selector } } => ({
  pods: { namespaceSelector: { [HOUSE_LABEL]: house }, podSelector: { [HOUSE_LABEL]: house } },
});
const linuxNodes: PeerDesc = { nodes: { 'kubernetes.io/os': 'linux' } };
const internet: PeerDesc = { networks: ['0.0.0.0/0', '::/0'] };
const port = (protocol: Protocol, number: PortRef): PortDesc => ({ protocol, port: number });
const TCP = (n: PortRef): PortDesc => port('TCP', n);
const UDP = (n: PortRef): PortDesc => port('UDP', n);
const SCTP = (n: PortRef): PortDesc => port('SCTP', n);
const rule = (name: string, action: ActionDesc, peers: readonly PeerDesc[], ports?: readonly PortDesc[]): RuleDesc => ({ name, action, peers, ...(ports ? { ports } : {}) });

const portWords = (ports: readonly PortDesc[]): string => ports.map((p) => ('port' in p ? String(p.port) : 'named' in p ? p.named : `${p.start}-${p.end}`)).join('-');

/**
 * The shape every protocol test's policy has, per direction, over three other houses: `everything`
 * (Allow, Deny and, in the Admin tier, Pass with no ports), `atPort` (Deny, and in the Admin tier
 * Pass, at some ports) and `allowedAt` (Allow at some ports, then Deny for the rest). Admin: 7 rules
 * (indices 0-6); Baseline, without the two Pass rules: 5.
 */
function protocolRules(
  tier: AdminTier,
  direction: Direction,
  everything: House,
  atPort: readonly [House, readonly PortDesc[]],
  allowedAt: readonly [House, readonly PortDesc[]],
): RuleDesc[] {
  const way = direction === 'Ingress' ? 'from' : 'to';
  const [p, pPorts] = atPort;
  const [a, aPorts] = allowedAt;
  const rules = [
    rule(`allow-${way}-${everything}-everything`, 'Allow', [byName(everything)]),
    rule(`deny-${way}-${everything}-everything`, 'Deny', [byName(everything)]),
    rule(`pass-${way}-${everything}-everything`, 'Pass', [byName(everything)]),
    rule(`deny-${way}-${p}-at-port-${portWords(pPorts)}`, 'Deny', [byName(p)], pPorts),
    rule(`pass-${way}-${p}-at-port-${portWords(pPorts)}`, 'Pass', [byName(p)], pPorts),
    rule(`allow-${way}-${a}-at-port-${portWords(aPorts)}`, 'Allow', [byName(a)], aPorts),
    rule(`deny-${way}-${a}-everything-else`, 'Deny', [byName(a)]),
  ];
  return tier === 'Admin' ? rules : rules.filter((r) => r.action !== 'Pass');
}

/** The protocol tests' policies (standard-{ingress,egress}-{tcp,udp,sctp}-rules, standard-gress-rules-combined). */
function protocolPolicy(tier: AdminTier, name: string, priority: number, subject: House, ingress: RuleDesc[] | undefined, egress: RuleDesc[] | undefined): PolicyDesc {
  return { name: tier === 'Admin' ? name : 'default', tier, priority: tier === 'Admin' ? priority : 10, subject: byName(subject), ingress: ingress ?? [], egress: egress ?? [] };
}

const ingressTCP = (tier: AdminTier) =>
  protocolPolicy(tier, 'ingress-tcp', 3, 'gryffindor', protocolRules(tier, 'Ingress', 'ravenclaw', ['slytherin', [TCP(80)]], ['hufflepuff', [TCP(80)]]), undefined);
const ingressUDP = (tier: AdminTier) =>
  protocolPolicy(tier, 'ingress-udp', 4, 'hufflepuff', protocolRules(tier, 'Ingress', 'ravenclaw', ['slytherin', [UDP(5353)]], ['gryffindor', [UDP(53)]]), undefined);
const ingressSCTP = (tier: AdminTier) =>
  protocolPolicy(tier, 'ingress-sctp', 5, 'ravenclaw', protocolRules(tier, 'Ingress', 'gryffindor', ['slytherin', [SCTP(9003)]], ['hufflepuff', [SCTP(9003)]]), undefined);
const egressTCP = (tier: AdminTier) =>
  protocolPolicy(tier, 'egress-tcp', 6, 'gryffindor', undefined, protocolRules(tier, 'Egress', 'ravenclaw', ['slytherin', [TCP(80)]], ['hufflepuff', [TCP(8080)]]));
const egressUDP = (tier: AdminTier) =>
  protocolPolicy(tier, 'egress-udp', 7, 'hufflepuff', undefined, protocolRules(tier, 'Egress', 'ravenclaw', ['slytherin', [UDP(5353)]], ['gryffindor', [UDP(53)]]));
const egressSCTP = (tier: AdminTier) =>
  protocolPolicy(tier, 'egress-sctp', 8, 'ravenclaw', undefined, protocolRules(tier, 'Egress', 'gryffindor', ['slytherin', [SCTP(9003)]], ['hufflepuff', [SCTP(9003)]]));
const gressRules = (tier: AdminTier) =>
  protocolPolicy(
    tier,
    'gress-rules',
    15,
    'gryffindor',
    protocolRules(tier, 'Ingress', 'ravenclaw', ['slytherin', [TCP(80), UDP(53), SCTP(9003)]], ['hufflepuff', [TCP(80), UDP(5353), SCTP(9003)]]),
    protocolRules(tier, 'Egress', 'ravenclaw', ['slytherin', [TCP(80), UDP(53), SCTP(9003)]], ['hufflepuff', [TCP(8080), UDP(5353), SCTP(9003)]]),
  );

/** standard-egress-inline-cidr-rules: gryffindor may reach slytherin's pods and no other address. */
const inlineCIDR = (tier: AdminTier): PolicyDesc => ({
  name: tier === 'Admin' ? 'inline-cidr-as-peers-example' : 'default',
  tier,
  priority: tier === 'Admin' ? 85 : 10,
  subject: tier === 'Admin' ? housePods('gryffindor') : byName('gryffindor'),
  ingress: [],
  egress: [rule('allow-egress-to-slytherin', 'Allow', [housePods('slytherin')]), rule('deny-egress-to-internet', 'Deny', [internet])],
});

/** experimental-egress-selector-rules: nodes peers, at the host-network pods' ports. */
const nodePeers = (tier: AdminTier): PolicyDesc =>
  tier === 'Admin'
    ? {
        name: 'node-and-cidr-as-peers-example',
        tier,
        priority: 75,
        subject: housePods('gryffindor'),
        ingress: [],
        egress: [
          rule('allow-egress-to-nodes-at-the-first-tcp-port', 'Allow', [linuxNodes], [TCP('hp0')]),
          rule('pass-egress-to-nodes-at-the-first-udp-port', 'Pass', [linuxNodes], [UDP('hp2')]),
          rule('deny-egress-to-slytherin-and-nodes-and-internet', 'Deny', [housePods('slytherin'), linuxNodes, internet]),
        ],
      }
    : {
        name: 'default',
        tier,
        priority: 10,
        subject: byName('gryffindor'),
        ingress: [],
        egress: [
          rule('allow-egress-to-nodes-at-both-tcp-ports', 'Allow', [linuxNodes], [{ protocol: 'TCP', start: 'hp0', end: 'hp1' }]),
          rule('deny-egress-to-nodes-and-internet', 'Deny', [linuxNodes, internet]),
        ],
      };

/** api_integration/standard-anp-np-banp: an admin Deny (patched to Pass), a NetworkPolicy, a baseline Deny, all between gryffindor and slytherin. */
const integrationPolicies: readonly PolicyDesc[] = [
  {
    name: 'pass-example',
    tier: 'Admin',
    priority: 10,
    subject: byHouse('gryffindor'),
    ingress: [rule('deny-all-ingress-from-slytherin', 'Deny', [byHouse('slytherin')])],
    egress: [rule('deny-all-egress-to-slytherin', 'Deny', [byHouse('slytherin')])],
  },
  {
    name: 'default',
    tier: 'Baseline',
    priority: 10,
    subject: byHouse('gryffindor'),
    ingress: [rule('deny-all-ingress-from-slytherin', 'Deny', [byHouse('slytherin')])],
    egress: [rule('deny-all-egress-to-slytherin', 'Deny', [byHouse('slytherin')])],
  },
];
const INTEGRATION_NETWORK_POLICY = 'allow-gress-from-to-slytherin-to-gryffindor';
const integrationNetworkPolicy: Manifest = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: INTEGRATION_NETWORK_POLICY, namespace: namespaceOf('gryffindor') },
  spec: {
    podSelector: {},
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { [HOUSE_LABEL]: 'slytherin' } } }] }],
    egress: [{ to: [{ namespaceSelector: { matchLabels: { [HOUSE_LABEL]: 'slytherin' } } }] }],
  },
};

/** standard-priority-field: a Deny at 50, a Pass at 60 (patched to 40), a baseline Allow, all between gryffindor's and slytherin's pods. */
const priorityPolicies: readonly PolicyDesc[] = [
  {
    name: 'priority-50-example',
    tier: 'Admin',
    priority: 50,
    subject: housePods('gryffindor'),
    ingress: [rule('deny-all-ingress-from-slytherin', 'Deny', [housePods('slytherin')])],
    egress: [rule('deny-all-egress-to-slytherin', 'Deny', [housePods('slytherin')])],
  },
  {
    name: 'old-priority-60-new-priority-40-example',
    tier: 'Admin',
    priority: 60,
    subject: housePods('gryffindor'),
    ingress: [rule('pass-all-ingress-from-slytherin', 'Pass', [housePods('slytherin')])],
    egress: [rule('pass-all-egress-to-slytherin', 'Pass', [housePods('slytherin')])],
  },
  {
    name: 'default',
    tier: 'Baseline',
    priority: 10,
    subject: housePods('gryffindor'),
    ingress: [rule('allow-all-ingress-from-slytherin', 'Allow', [housePods('slytherin')])],
    egress: [rule('allow-all-egress-to-slytherin', 'Allow', [housePods('slytherin')])],
  },
];

// ---------------------------------------------------------------------------------------------
// Patches: what a sub-test changes, kept for the rest of its test

export type Patch =
  | { readonly op: 'swapRules'; readonly policy: string; readonly direction: Direction; readonly a: number; readonly b: number }
  | { readonly op: 'setAction'; readonly policy: string; readonly direction: Direction; readonly index: number; readonly action: ActionDesc }
  | { readonly op: 'setPriority'; readonly policy: string; readonly priority: number }
  | { readonly op: 'setPorts'; readonly policy: string; readonly direction: Direction; readonly index: number; readonly ports: readonly PortDesc[] }
  | { readonly op: 'prependRule'; readonly policy: string; readonly direction: Direction; readonly rule: RuleDesc }
  | { readonly op: 'deleteNetworkPolicy'; readonly name: string }
  | { readonly op: 'setNamespaceLabels'; readonly house: House; readonly labels: Labels };

const swap = (policy: string, direction: Direction, a: number, b: number): Patch => ({ op: 'swapRules', policy, direction, a, b });
const swapBoth = (policy: string, a: number, b: number): Patch[] => [swap(policy, 'Egress', a, b), swap(policy, 'Ingress', a, b)];

/** Upstream's wording of a patch, for step labels. */
export function describePatch(p: Patch): string {
  const at = (direction: Direction, index: number): string => `${direction.toLowerCase()}[${index}]`;
  switch (p.op) {
    case 'swapRules':
      return `${p.policy}: swap ${at(p.direction, p.a)} and ${at(p.direction, p.b)}`;
    case 'setAction':
      return `${p.policy}: ${at(p.direction, p.index)} action ${p.action}`;
    case 'setPriority':
      return `${p.policy}: priority ${p.priority}`;
    case 'setPorts':
      return `${p.policy}: ${at(p.direction, p.index)} ports ${portWords(p.ports)}`;
    case 'prependRule':
      return `${p.policy}: insert ${p.direction.toLowerCase()}[0] "${p.rule.name}"`;
    case 'deleteNetworkPolicy':
      return `delete NetworkPolicy ${p.name}`;
    case 'setNamespaceLabels':
      return `namespace ${namespaceOf(p.house)} labels ${Object.entries(p.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}`;
  }
}

interface State {
  readonly policies: readonly PolicyDesc[];
  readonly networkPolicies: readonly Manifest[];
  readonly namespaceLabels: Readonly<Partial<Record<House, Labels>>>;
}

function applyPatch(state: State, p: Patch): State {
  const rulesKey = (d: Direction): 'ingress' | 'egress' => (d === 'Ingress' ? 'ingress' : 'egress');
  const onPolicy = (name: string, change: (x: PolicyDesc) => PolicyDesc): State => {
    if (!state.policies.some((x) => x.name === name)) throw new Error(`patch of unknown policy ${name}`);
    return { ...state, policies: state.policies.map((x) => (x.name === name ? change(x) : x)) };
  };
  const onRules = (name: string, d: Direction, change: (rules: RuleDesc[]) => RuleDesc[]): State =>
    onPolicy(name, (x) => ({ ...x, [rulesKey(d)]: change([...x[rulesKey(d)]]) }));
  const at = (rules: RuleDesc[], i: number): RuleDesc => {
    if (!rules[i]) throw new Error(`patch of a rule that does not exist: [${i}]`);
    return rules[i];
  };
  switch (p.op) {
    case 'swapRules':
      return onRules(p.policy, p.direction, (rules) => {
        const [a, b] = [at(rules, p.a), at(rules, p.b)];
        rules[p.a] = b;
        rules[p.b] = a;
        return rules;
      });
    case 'setAction':
      return onRules(p.policy, p.direction, (rules) => rules.map((r, i) => (i === p.index ? { ...at(rules, i), action: p.action } : r)));
    case 'setPorts':
      return onRules(p.policy, p.direction, (rules) => rules.map((r, i) => (i === p.index ? { ...at(rules, i), ports: p.ports } : r)));
    case 'prependRule':
      return onRules(p.policy, p.direction, (rules) => [p.rule, ...rules]);
    case 'setPriority':
      return onPolicy(p.policy, (x) => ({ ...x, priority: p.priority }));
    case 'deleteNetworkPolicy':
      return { ...state, networkPolicies: state.networkPolicies.filter((m) => (m.metadata as { name: string }).name !== p.name) };
    case 'setNamespaceLabels':
      return { ...state, namespaceLabels: { ...state.namespaceLabels, [p.house]: p.labels } };
  }
}

// ---------------------------------------------------------------------------------------------
// The tests

export interface AdminProbe {
  readonly client: PodName;
  readonly server: PodName;
  readonly protocol: Protocol;
  readonly port: number;
  /** Upstream's shouldConnect. */
  readonly allowed: boolean;
}

interface ProbeDef extends Omit<AdminProbe, 'port'> {
  readonly port: PortRef;
}

interface StepDef {
  readonly by?: string;
  readonly patches?: readonly Patch[];
  readonly probes: readonly ProbeDef[];
}

interface SubtestDef {
  readonly title: string;
  /** v1alpha2's title where it differs ("respecting admin CNP" for "respecting ANP"). */
  readonly v1alpha2Title?: string;
  /** A sub-test only one version's suite has in this form. */
  readonly only?: ApiVersion;
  readonly steps: readonly StepDef[];
}

/** Optional upstream features (suite.SupportedFeature) a test needs beyond its tier's API. */
type Extension = 'NamedPorts' | 'EgressNodePeers';

interface TestDef {
  /** The ShortName without its version's prefix (AdminNetworkPolicy / BaselineAdminNetworkPolicy, CNPAdminTier / CNPBaselineTier). */
  readonly suffix: string;
  readonly tier: AdminTier;
  /** conformance/tests/<file>: the same file name at both revisions. */
  readonly file: string;
  readonly extension?: Extension;
  /** v1alpha1: the test also needs SupportBaselineAdminNetworkPolicy. */
  readonly usesBaseline?: boolean;
  readonly policies: readonly PolicyDesc[];
  readonly networkPolicies?: readonly Manifest[];
  readonly subtests: readonly SubtestDef[];
  /** What a reader of this restatement should know (a static limit, a deliberate choice). */
  readonly note?: string;
}

const p = (client: PodName, server: PodName, protocol: Protocol, port: PortRef, allowed: boolean): ProbeDef => ({ client, server, protocol, port, allowed });
const sub = (title: string, patches: readonly Patch[], probes: readonly ProbeDef[], extra: Partial<SubtestDef> = {}): SubtestDef => ({
  title,
  steps: [{ ...(patches.length > 0 ? { patches } : {}), probes }],
  ...extra,
});

const NODE_PEERS_NOTE =
  'nodes peers match the addresses of the Nodes they select; upstream reads them from a live cluster, here two Nodes are written out (labelled kubernetes.io/os=linux, at fixed addresses) and the hostNetwork centaur pods run at their nodes\' addresses, so the engine decides these probes exactly. The lab cannot probe them: its probes run inside pod network namespaces and a hostNetwork pod has none (the node itself).';

/** The Admin-tier protocol tests: 6 sub-tests over the 7-rule policy, its rules swapped in three sub-tests. */
function adminProtocolTest(suffix: string, file: string, policy: PolicyDesc, direction: Direction | 'both', word: string, kind: string, probes: readonly (readonly ProbeDef[])[]): TestDef {
  const swaps = (a: number, b: number): Patch[] => (direction === 'both' ? swapBoth(policy.name, a, b) : [swap(policy.name, direction, a, b)]);
  const what = kind === 'gress' ? 'across different protocols' : `for ${kind} protocol`;
  const atPorts = kind === 'gress' ? 'at the specified ports' : 'at the specified port';
  const ordering = kind === 'gress' ? '' : '; ensure rule ordering is respected';
  return {
    suffix,
    tier: 'Admin',
    file,
    policies: [policy],
    subtests: [
      sub(`Should support an 'allow-${word}' policy ${what}${ordering}`, [], probes[0]),
      sub(`Should support an 'allow-${word}' policy ${what} ${atPorts}`, [], probes[1]),
      sub(`Should support an 'deny-${word}' policy ${what}${ordering}`, swaps(0, 1), probes[2]),
      sub(`Should support a 'deny-${word}' policy ${what} ${atPorts}`, [], probes[3]),
      sub(`Should support an 'pass-${word}' policy ${what}${ordering}`, swaps(0, 2), probes[4]),
      sub(`Should support a 'pass-${word}' policy ${what} ${atPorts}`, swaps(3, 4), probes[5]),
    ],
  };
}

/** The Baseline-tier protocol tests: the same without Pass, 4 sub-tests over the 5-rule policy. */
function baselineProtocolTest(suffix: string, file: string, policy: PolicyDesc, direction: Direction | 'both', word: string, kind: string, probes: readonly (readonly ProbeDef[])[]): TestDef {
  const admin = adminProtocolTest(suffix, file, policy, direction, word, kind, [...probes, [], []]);
  return { ...admin, tier: 'Baseline', subtests: admin.subtests.slice(0, 4) };
}

/** The gress tests' "at the specified ports" probes, the same in both tiers: hufflepuff's ports (allowed and the rest denied), then slytherin's (denied and the rest allowed). */
const gressAtPortsAllowed: readonly ProbeDef[] = [
  p('harry-potter-0', 'cedric-diggory-1', 'TCP', 8080, true),
  p('harry-potter-1', 'cedric-diggory-1', 'TCP', 80, false),
  p('harry-potter-0', 'cedric-diggory-1', 'UDP', 5353, true),
  p('harry-potter-1', 'cedric-diggory-1', 'UDP', 53, false),
  p('harry-potter-0', 'cedric-diggory-1', 'SCTP', 9003, true),
  p('harry-potter-1', 'cedric-diggory-1', 'SCTP', 9005, false),
  p('cedric-diggory-0', 'harry-potter-1', 'TCP', 80, true),
  p('cedric-diggory-1', 'harry-potter-1', 'TCP', 8080, false),
  p('cedric-diggory-0', 'harry-potter-1', 'UDP', 5353, true),
  p('cedric-diggory-1', 'harry-potter-1', 'UDP', 53, false),
  p('cedric-diggory-0', 'harry-potter-1', 'SCTP', 9003, true),
  p('cedric-diggory-1', 'harry-potter-1', 'SCTP', 9005, false),
];
const gressAtPortsDenied: readonly ProbeDef[] = [
  p('harry-potter-0', 'draco-malfoy-0', 'TCP', 80, false),
  p('harry-potter-1', 'draco-malfoy-0', 'TCP', 8080, true),
  p('harry-potter-0', 'draco-malfoy-0', 'UDP', 53, false),
  p('harry-potter-1', 'draco-malfoy-0', 'UDP', 5353, true),
  p('harry-potter-0', 'draco-malfoy-0', 'SCTP', 9003, false),
  p('harry-potter-1', 'draco-malfoy-0', 'SCTP', 9005, true),
  p('draco-malfoy-0', 'harry-potter-0', 'TCP', 80, false),
  p('draco-malfoy-1', 'harry-potter-0', 'TCP', 8080, true),
  p('draco-malfoy-0', 'harry-potter-0', 'UDP', 53, false),
  p('draco-malfoy-1', 'harry-potter-0', 'UDP', 5353, true),
  p('draco-malfoy-0', 'harry-potter-0', 'SCTP', 9003, false),
  p('draco-malfoy-1', 'harry-potter-0', 'SCTP', 9005, true),
];

const ADMIN = 'admin-network-policy';
const BASELINE = 'baseline-admin-network-policy';

const TESTS: readonly TestDef[] = [
  // admin-network-policy-experimental-egress-rules.go
  {
    suffix: 'EgressNamedPort',
    tier: 'Admin',
    file: `${ADMIN}-experimental-egress-rules.go`,
    extension: 'NamedPorts',
    policies: [egressTCP('Admin')],
    subtests: [
      sub(
        "Should support an 'allow-egress' policy for named port",
        // egress[5] (allow hufflepuff at 8080/TCP) becomes the named port `web`: 80/TCP on the destination.
        [{ op: 'setPorts', policy: 'egress-tcp', direction: 'Egress', index: 5, ports: [{ named: 'web' }] }],
        [p('harry-potter-0', 'cedric-diggory-1', 'TCP', 80, true), p('harry-potter-1', 'cedric-diggory-1', 'TCP', 8080, false)],
      ),
    ],
  },
  {
    suffix: 'EgressNodePeers',
    tier: 'Admin',
    file: `${ADMIN}-experimental-egress-rules.go`,
    extension: 'EgressNodePeers',
    policies: [nodePeers('Admin')],
    note: NODE_PEERS_NOTE,
    subtests: [
      // The two versions probe from different clients here.
      sub("Should support an 'allow-egress' rule policy for egress-node-peer", [], [p('harry-potter-0', 'centaur-1', 'TCP', 'hp0', true)], { only: 'v1alpha1' }),
      sub("Should support an 'allow-egress' rule policy for egress-node-peer", [], [p('harry-potter-1', 'centaur-1', 'TCP', 'hp0', true)], { only: 'v1alpha2' }),
      sub("Should support a 'pass-egress' rule policy for egress-node-peer", [], [p('harry-potter-1', 'centaur-1', 'UDP', 'hp2', true)]),
      sub("Should support a 'deny-egress' rule policy for egress-node-peer", [], [
        p('harry-potter-1', 'centaur-1', 'TCP', 'hp1', false),
        p('harry-potter-1', 'centaur-1', 'UDP', 'hp4', false),
        p('harry-potter-1', 'centaur-1', 'SCTP', 'hp6', false),
      ]),
    ],
  },
  // admin-network-policy-experimental-ingress-rules.go
  {
    suffix: 'IngressNamedPort',
    tier: 'Admin',
    file: `${ADMIN}-experimental-ingress-rules.go`,
    extension: 'NamedPorts',
    policies: [ingressUDP('Admin')],
    subtests: [
      sub(
        "Should support an 'allow-ingress' policy for named port",
        // ingress[5] (allow gryffindor at 53/UDP) becomes the named port `dns`: 53/UDP on the destination.
        [{ op: 'setPorts', policy: 'ingress-udp', direction: 'Ingress', index: 5, ports: [{ named: 'dns' }] }],
        [p('harry-potter-0', 'cedric-diggory-1', 'UDP', 53, true), p('harry-potter-1', 'cedric-diggory-1', 'UDP', 5353, false)],
      ),
    ],
  },
  inlineCIDRTest('Admin'),
  adminProtocolTest('EgressSCTP', `${ADMIN}-standard-egress-sctp-rules.go`, egressSCTP('Admin'), 'Egress', 'egress', 'SCTP', [
    [p('luna-lovegood-0', 'harry-potter-0', 'SCTP', 9003, true), p('luna-lovegood-1', 'harry-potter-0', 'SCTP', 9005, true)],
    [p('luna-lovegood-0', 'cedric-diggory-1', 'SCTP', 9003, true), p('luna-lovegood-1', 'cedric-diggory-1', 'SCTP', 9005, false)],
    [p('luna-lovegood-0', 'harry-potter-1', 'SCTP', 9003, false), p('luna-lovegood-1', 'harry-potter-1', 'SCTP', 9005, false)],
    [p('luna-lovegood-0', 'draco-malfoy-0', 'SCTP', 9003, false), p('luna-lovegood-1', 'draco-malfoy-0', 'SCTP', 9005, true)],
    [p('luna-lovegood-0', 'harry-potter-1', 'SCTP', 9003, true), p('luna-lovegood-1', 'harry-potter-1', 'SCTP', 9005, true)],
    [p('luna-lovegood-0', 'draco-malfoy-0', 'SCTP', 9003, true), p('luna-lovegood-1', 'draco-malfoy-0', 'SCTP', 9005, true)],
  ]),
  adminProtocolTest('EgressTCP', `${ADMIN}-standard-egress-tcp-rules.go`, egressTCP('Admin'), 'Egress', 'egress', 'TCP', [
    [p('harry-potter-0', 'luna-lovegood-0', 'TCP', 80, true), p('harry-potter-1', 'luna-lovegood-0', 'TCP', 8080, true)],
    [p('harry-potter-0', 'cedric-diggory-1', 'TCP', 8080, true), p('harry-potter-1', 'cedric-diggory-1', 'TCP', 80, false)],
    [p('harry-potter-0', 'luna-lovegood-1', 'TCP', 80, false), p('harry-potter-1', 'luna-lovegood-1', 'TCP', 8080, false)],
    [p('harry-potter-0', 'draco-malfoy-0', 'TCP', 80, false), p('harry-potter-1', 'draco-malfoy-0', 'TCP', 8080, true)],
    [p('harry-potter-0', 'luna-lovegood-0', 'TCP', 80, true), p('harry-potter-1', 'luna-lovegood-0', 'TCP', 8080, true)],
    [p('harry-potter-0', 'draco-malfoy-0', 'TCP', 80, true), p('harry-potter-1', 'draco-malfoy-0', 'TCP', 8080, true)],
  ]),
  adminProtocolTest('EgressUDP', `${ADMIN}-standard-egress-udp-rules.go`, egressUDP('Admin'), 'Egress', 'egress', 'UDP', [
    [p('cedric-diggory-0', 'luna-lovegood-0', 'UDP', 53, true), p('cedric-diggory-1', 'luna-lovegood-0', 'UDP', 5353, true)],
    [p('cedric-diggory-0', 'harry-potter-1', 'UDP', 53, true), p('cedric-diggory-1', 'harry-potter-1', 'UDP', 5353, false)],
    [p('cedric-diggory-0', 'luna-lovegood-1', 'UDP', 53, false), p('cedric-diggory-1', 'luna-lovegood-1', 'UDP', 5353, false)],
    [p('cedric-diggory-0', 'draco-malfoy-0', 'UDP', 5353, false), p('cedric-diggory-1', 'draco-malfoy-0', 'UDP', 53, true)],
    [p('cedric-diggory-0', 'luna-lovegood-1', 'UDP', 5353, true), p('cedric-diggory-1', 'luna-lovegood-1', 'UDP', 53, true)],
    [p('cedric-diggory-0', 'draco-malfoy-0', 'UDP', 5353, true), p('cedric-diggory-1', 'draco-malfoy-0', 'UDP', 53, true)],
  ]),
  adminProtocolTest('Gress', `${ADMIN}-standard-gress-rules.go`, gressRules('Admin'), 'both', 'gress', 'gress', [
    [
      p('harry-potter-0', 'luna-lovegood-0', 'TCP', 80, true),
      p('harry-potter-1', 'luna-lovegood-0', 'UDP', 53, true),
      p('harry-potter-0', 'luna-lovegood-0', 'SCTP', 9003, true),
      p('luna-lovegood-0', 'harry-potter-0', 'TCP', 80, true),
      p('luna-lovegood-1', 'harry-potter-0', 'UDP', 53, true),
      p('luna-lovegood-1', 'harry-potter-0', 'SCTP', 9003, true),
    ],
    gressAtPortsAllowed,
    [
      p('harry-potter-0', 'luna-lovegood-1', 'TCP', 80, false),
      p('harry-potter-1', 'luna-lovegood-1', 'UDP', 53, false),
      p('harry-potter-0', 'luna-lovegood-1', 'SCTP', 9003, false),
      p('luna-lovegood-0', 'harry-potter-1', 'TCP', 80, false),
      p('luna-lovegood-1', 'harry-potter-1', 'UDP', 53, false),
      p('luna-lovegood-1', 'harry-potter-1', 'SCTP', 9003, false),
    ],
    gressAtPortsDenied,
    [
      p('harry-potter-0', 'luna-lovegood-0', 'TCP', 80, true),
      p('harry-potter-0', 'luna-lovegood-0', 'UDP', 5353, true),
      p('harry-potter-0', 'luna-lovegood-0', 'SCTP', 9003, true),
      p('luna-lovegood-0', 'harry-potter-0', 'TCP', 80, true),
      p('luna-lovegood-1', 'harry-potter-0', 'UDP', 53, true),
      p('luna-lovegood-1', 'harry-potter-0', 'SCTP', 9003, true),
    ],
    [
      p('harry-potter-0', 'draco-malfoy-0', 'TCP', 80, true),
      p('harry-potter-1', 'draco-malfoy-0', 'TCP', 8080, true),
      p('harry-potter-0', 'draco-malfoy-0', 'UDP', 53, true),
      p('harry-potter-1', 'draco-malfoy-0', 'UDP', 5353, true),
      p('harry-potter-0', 'draco-malfoy-0', 'SCTP', 9003, true),
      p('harry-potter-1', 'draco-malfoy-0', 'SCTP', 9005, true),
      p('draco-malfoy-0', 'harry-potter-0', 'TCP', 80, true),
      p('draco-malfoy-1', 'harry-potter-0', 'TCP', 8080, true),
      p('draco-malfoy-0', 'harry-potter-0', 'UDP', 53, true),
      p('draco-malfoy-1', 'harry-potter-0', 'UDP', 5353, true),
      p('draco-malfoy-0', 'harry-potter-0', 'SCTP', 9003, true),
      p('draco-malfoy-1', 'harry-potter-0', 'SCTP', 9005, true),
    ],
  ]),
  adminProtocolTest('IngressSCTP', `${ADMIN}-standard-ingress-sctp-rules.go`, ingressSCTP('Admin'), 'Ingress', 'ingress', 'SCTP', [
    [p('harry-potter-0', 'luna-lovegood-0', 'SCTP', 9003, true), p('harry-potter-1', 'luna-lovegood-0', 'SCTP', 9005, true)],
    [p('cedric-diggory-0', 'luna-lovegood-1', 'SCTP', 9003, true), p('cedric-diggory-1', 'luna-lovegood-1', 'SCTP', 9005, false)],
    [p('harry-potter-0', 'luna-lovegood-1', 'SCTP', 9003, false), p('harry-potter-1', 'luna-lovegood-1', 'SCTP', 9005, false)],
    [p('draco-malfoy-0', 'luna-lovegood-0', 'SCTP', 9003, false), p('draco-malfoy-1', 'luna-lovegood-0', 'SCTP', 9005, true)],
    [p('harry-potter-0', 'luna-lovegood-1', 'SCTP', 9003, true), p('harry-potter-1', 'luna-lovegood-1', 'SCTP', 9005, true)],
    [p('draco-malfoy-0', 'luna-lovegood-0', 'SCTP', 9003, true), p('draco-malfoy-1', 'luna-lovegood-0', 'SCTP', 9005, true)],
  ]),
  adminProtocolTest('IngressTCP', `${ADMIN}-standard-ingress-tcp-rules.go`, ingressTCP('Admin'), 'Ingress', 'ingress', 'TCP', [
    [p('luna-lovegood-0', 'harry-potter-0', 'TCP', 80, true), p('luna-lovegood-1', 'harry-potter-0', 'TCP', 8080, true)],
    [p('cedric-diggory-0', 'harry-potter-1', 'TCP', 80, true), p('cedric-diggory-1', 'harry-potter-1', 'TCP', 8080, false)],
    [p('luna-lovegood-0', 'harry-potter-1', 'TCP', 80, false), p('luna-lovegood-1', 'harry-potter-1', 'TCP', 8080, false)],
    [p('draco-malfoy-0', 'harry-potter-0', 'TCP', 80, false), p('draco-malfoy-1', 'harry-potter-0', 'TCP', 8080, true)],
    [p('luna-lovegood-0', 'harry-potter-0', 'TCP', 80, true), p('luna-lovegood-1', 'harry-potter-0', 'TCP', 8080, true)],
    [p('draco-malfoy-0', 'harry-potter-0', 'TCP', 80, true), p('draco-malfoy-1', 'harry-potter-0', 'TCP', 8080, true)],
  ]),
  adminProtocolTest('IngressUDP', `${ADMIN}-standard-ingress-udp-rules.go`, ingressUDP('Admin'), 'Ingress', 'ingress', 'UDP', [
    [p('luna-lovegood-0', 'cedric-diggory-0', 'UDP', 53, true), p('luna-lovegood-1', 'cedric-diggory-0', 'UDP', 5353, true)],
    [p('harry-potter-0', 'cedric-diggory-1', 'UDP', 53, true), p('harry-potter-1', 'cedric-diggory-1', 'UDP', 5353, false)],
    [p('luna-lovegood-0', 'cedric-diggory-1', 'UDP', 53, false), p('luna-lovegood-1', 'cedric-diggory-1', 'UDP', 5353, false)],
    [p('draco-malfoy-0', 'cedric-diggory-0', 'UDP', 5353, false), p('draco-malfoy-1', 'cedric-diggory-0', 'UDP', 53, true)],
    [p('luna-lovegood-0', 'cedric-diggory-1', 'UDP', 5353, true), p('luna-lovegood-1', 'cedric-diggory-1', 'UDP', 53, true)],
    [p('draco-malfoy-0', 'cedric-diggory-0', 'UDP', 5353, true), p('draco-malfoy-1', 'cedric-diggory-0', 'UDP', 53, true)],
  ]),
  // admin-network-policy-standard-integration.go
  {
    suffix: 'Integration',
    tier: 'Admin',
    file: `${ADMIN}-standard-integration.go`,
    usesBaseline: true,
    policies: integrationPolicies,
    networkPolicies: [integrationNetworkPolicy],
    subtests: [
      sub('Should Deny traffic from slytherin to gryffindor respecting ANP', [], slytherinToGryffindor(false), { v1alpha2Title: 'Should Deny traffic from slytherin to gryffindor respecting admin CNP' }),
      sub('Should Deny traffic to slytherin from gryffindor respecting ANP', [], gryffindorToSlytherin(false), { v1alpha2Title: 'Should Deny traffic to slytherin from gryffindor respecting admin CNP' }),
      sub(
        "Should support a 'pass-ingress' policy for ANP and respect the match for network policy",
        [{ op: 'setAction', policy: 'pass-example', direction: 'Ingress', index: 0, action: 'Pass' }],
        slytherinToGryffindor(true),
        { v1alpha2Title: "Should support a 'pass-ingress' policy for admin CNP and respect the match for network policy" },
      ),
      sub(
        "Should support a 'pass-egress' policy for ANP and respect the match for network policy",
        [{ op: 'setAction', policy: 'pass-example', direction: 'Egress', index: 0, action: 'Pass' }],
        gryffindorToSlytherin(true),
        { v1alpha2Title: "Should support a 'pass-egress' policy for admin CNP and respect the match for network policy" },
      ),
      sub(
        "Should support a 'pass-ingress' policy for ANP and respect the match for baseline admin network policy",
        [{ op: 'deleteNetworkPolicy', name: INTEGRATION_NETWORK_POLICY }],
        slytherinToGryffindor(false),
        { v1alpha2Title: "Should support a 'pass-ingress' policy for admin CNP and respect the match for baseline cluster network policy" },
      ),
      sub("Should support a 'pass-egress' policy for ANP and respect the match for baseline admin network policy", [], gryffindorToSlytherin(false), {
        v1alpha2Title: "Should support a 'pass-egress' policy for admin CNP and respect the match for baseline cluster network policy",
      }),
    ],
  },
  // admin-network-policy-standard-priority.go
  {
    suffix: 'PriorityField',
    tier: 'Admin',
    file: `${ADMIN}-standard-priority.go`,
    usesBaseline: true,
    policies: priorityPolicies,
    subtests: [
      sub('Should Deny traffic from slytherin to gryffindor respecting ANP', [], slytherinToGryffindor(false), { v1alpha2Title: 'Should Deny traffic from slytherin to gryffindor respecting admin CNP' }),
      sub('Should Deny traffic to slytherin from gryffindor respecting ANP', [], gryffindorToSlytherin(false), { v1alpha2Title: 'Should Deny traffic to slytherin from gryffindor respecting admin CNP' }),
      sub(
        'Should respect ANP priority field; thus passing both ingress and egress traffic over to BANP',
        [{ op: 'setPriority', policy: 'old-priority-60-new-priority-40-example', priority: 40 }],
        [...slytherinToGryffindor(true), ...gryffindorToSlytherin(true)],
        { v1alpha2Title: 'Should respect admin CNP priority field; thus passing both ingress and egress traffic over to baseline CNP' },
      ),
    ],
  },
  // baseline-admin-network-policy-experimental-egress-rules.go
  {
    suffix: 'EgressNamedPort',
    tier: 'Baseline',
    file: `${BASELINE}-experimental-egress-rules.go`,
    extension: 'NamedPorts',
    policies: [egressUDP('Baseline')],
    subtests: [
      sub(
        "Should support an 'allow-egress' policy for named port",
        // egress[3] (allow gryffindor at 53/UDP) becomes the named port `dns`.
        [{ op: 'setPorts', policy: 'default', direction: 'Egress', index: 3, ports: [{ named: 'dns' }] }],
        [p('cedric-diggory-0', 'harry-potter-1', 'UDP', 53, true), p('cedric-diggory-1', 'harry-potter-1', 'UDP', 5353, false)],
      ),
    ],
  },
  {
    suffix: 'EgressNodePeers',
    tier: 'Baseline',
    file: `${BASELINE}-experimental-egress-rules.go`,
    extension: 'EgressNodePeers',
    policies: [nodePeers('Baseline')],
    note: NODE_PEERS_NOTE,
    subtests: [
      sub("Should support an 'allow-egress' rule policy for egress-node-peer", [], [p('harry-potter-0', 'centaur-1', 'TCP', 'hp0', true), p('harry-potter-1', 'centaur-1', 'TCP', 'hp1', true)]),
      sub("Should support a 'deny-egress' rule policy for egress-node-peer", [], [p('harry-potter-1', 'centaur-1', 'UDP', 'hp4', false), p('harry-potter-1', 'centaur-1', 'SCTP', 'hp6', false)]),
    ],
  },
  // baseline-admin-network-policy-experimental-ingress-rules.go
  {
    suffix: 'IngressNamedPort',
    tier: 'Baseline',
    file: `${BASELINE}-experimental-ingress-rules.go`,
    extension: 'NamedPorts',
    policies: [ingressTCP('Baseline')],
    subtests: [
      sub(
        "Should support an 'allow-ingress' policy for named port",
        // ingress[3] (allow hufflepuff at 80/TCP) becomes the named port `web`.
        [{ op: 'setPorts', policy: 'default', direction: 'Ingress', index: 3, ports: [{ named: 'web' }] }],
        [p('cedric-diggory-0', 'harry-potter-1', 'TCP', 80, true), p('cedric-diggory-1', 'harry-potter-1', 'TCP', 8080, false)],
      ),
    ],
  },
  inlineCIDRTest('Baseline'),
  baselineProtocolTest('EgressSCTP', `${BASELINE}-standard-egress-sctp-rules.go`, egressSCTP('Baseline'), 'Egress', 'egress', 'SCTP', [
    [p('luna-lovegood-0', 'harry-potter-0', 'SCTP', 9003, true), p('luna-lovegood-1', 'harry-potter-0', 'SCTP', 9005, true)],
    [p('luna-lovegood-0', 'cedric-diggory-1', 'SCTP', 9003, true), p('luna-lovegood-1', 'cedric-diggory-1', 'SCTP', 9005, false)],
    [p('luna-lovegood-0', 'harry-potter-1', 'SCTP', 9003, false), p('luna-lovegood-1', 'harry-potter-1', 'SCTP', 9005, false)],
    [p('luna-lovegood-0', 'draco-malfoy-0', 'SCTP', 9003, false), p('luna-lovegood-1', 'draco-malfoy-0', 'SCTP', 9005, true)],
  ]),
  baselineProtocolTest('EgressTCP', `${BASELINE}-standard-egress-tcp-rules.go`, egressTCP('Baseline'), 'Egress', 'egress', 'TCP', [
    [p('harry-potter-0', 'luna-lovegood-0', 'TCP', 80, true), p('harry-potter-1', 'luna-lovegood-0', 'TCP', 8080, true)],
    [p('harry-potter-0', 'cedric-diggory-1', 'TCP', 8080, true), p('harry-potter-1', 'cedric-diggory-1', 'TCP', 80, false)],
    [p('harry-potter-0', 'luna-lovegood-1', 'TCP', 80, false), p('harry-potter-1', 'luna-lovegood-1', 'TCP', 8080, false)],
    [p('harry-potter-0', 'draco-malfoy-0', 'TCP', 80, false), p('harry-potter-1', 'draco-malfoy-0', 'TCP', 8080, true)],
  ]),
  baselineProtocolTest('EgressUDP', `${BASELINE}-standard-egress-udp-rules.go`, egressUDP('Baseline'), 'Egress', 'egress', 'UDP', [
    [p('cedric-diggory-0', 'luna-lovegood-0', 'UDP', 53, true), p('cedric-diggory-1', 'luna-lovegood-0', 'UDP', 5353, true)],
    [p('cedric-diggory-0', 'harry-potter-1', 'UDP', 53, true), p('cedric-diggory-1', 'harry-potter-1', 'UDP', 5353, false)],
    [p('cedric-diggory-0', 'luna-lovegood-1', 'UDP', 53, false), p('cedric-diggory-1', 'luna-lovegood-1', 'UDP', 5353, false)],
    [p('cedric-diggory-0', 'draco-malfoy-0', 'UDP', 5353, false), p('cedric-diggory-1', 'draco-malfoy-0', 'UDP', 53, true)],
  ]),
  baselineProtocolTest('Gress', `${BASELINE}-standard-gress-rules.go`, gressRules('Baseline'), 'both', 'gress', 'gress', [
    [
      p('harry-potter-0', 'luna-lovegood-0', 'TCP', 80, true),
      p('harry-potter-1', 'luna-lovegood-0', 'UDP', 53, true),
      p('harry-potter-0', 'luna-lovegood-0', 'SCTP', 9003, true),
      p('luna-lovegood-0', 'harry-potter-0', 'TCP', 80, true),
      p('luna-lovegood-1', 'harry-potter-0', 'UDP', 53, true),
      p('luna-lovegood-1', 'harry-potter-0', 'SCTP', 9003, true),
    ],
    gressAtPortsAllowed,
    [
      p('harry-potter-0', 'luna-lovegood-1', 'TCP', 80, false),
      p('harry-potter-1', 'luna-lovegood-1', 'UDP', 53, false),
      p('harry-potter-0', 'luna-lovegood-1', 'SCTP', 9003, false),
      p('luna-lovegood-0', 'harry-potter-1', 'TCP', 80, false),
      p('luna-lovegood-1', 'harry-potter-1', 'UDP', 53, false),
      p('luna-lovegood-1', 'harry-potter-1', 'SCTP', 9003, false),
    ],
    gressAtPortsDenied,
  ]),
  baselineProtocolTest('IngressSCTP', `${BASELINE}-standard-ingress-sctp-rules.go`, ingressSCTP('Baseline'), 'Ingress', 'ingress', 'SCTP', [
    [p('harry-potter-0', 'luna-lovegood-0', 'SCTP', 9003, true), p('harry-potter-1', 'luna-lovegood-0', 'SCTP', 9005, true)],
    [p('cedric-diggory-0', 'luna-lovegood-1', 'SCTP', 9003, true), p('cedric-diggory-1', 'luna-lovegood-1', 'SCTP', 9005, false)],
    [p('harry-potter-0', 'luna-lovegood-1', 'SCTP', 9003, false), p('harry-potter-1', 'luna-lovegood-1', 'SCTP', 9005, false)],
    [p('draco-malfoy-0', 'luna-lovegood-0', 'SCTP', 9003, false), p('draco-malfoy-1', 'luna-lovegood-0', 'SCTP', 9005, true)],
  ]),
  baselineProtocolTest('IngressTCP', `${BASELINE}-standard-ingress-tcp-rules.go`, ingressTCP('Baseline'), 'Ingress', 'ingress', 'TCP', [
    [p('luna-lovegood-0', 'harry-potter-0', 'TCP', 80, true), p('luna-lovegood-1', 'harry-potter-0', 'TCP', 8080, true)],
    [p('cedric-diggory-0', 'harry-potter-1', 'TCP', 80, true), p('cedric-diggory-1', 'harry-potter-1', 'TCP', 8080, false)],
    [p('luna-lovegood-0', 'harry-potter-1', 'TCP', 80, false), p('luna-lovegood-1', 'harry-potter-1', 'TCP', 8080, false)],
    [p('draco-malfoy-0', 'harry-potter-0', 'TCP', 80, false), p('draco-malfoy-1', 'harry-potter-0', 'TCP', 8080, true)],
  ]),
  baselineProtocolTest('IngressUDP', `${BASELINE}-standard-ingress-udp-rules.go`, ingressUDP('Baseline'), 'Ingress', 'ingress', 'UDP', [
    [p('luna-lovegood-0', 'cedric-diggory-0', 'UDP', 53, true), p('luna-lovegood-1', 'cedric-diggory-0', 'UDP', 5353, true)],
    [p('harry-potter-0', 'cedric-diggory-1', 'UDP', 53, true), p('harry-potter-1', 'cedric-diggory-1', 'UDP', 5353, false)],
    [p('luna-lovegood-0', 'cedric-diggory-1', 'UDP', 53, false), p('luna-lovegood-1', 'cedric-diggory-1', 'UDP', 5353, false)],
    [p('draco-malfoy-0', 'cedric-diggory-0', 'UDP', 5353, false), p('draco-malfoy-1', 'cedric-diggory-0', 'UDP', 53, true)],
  ]),
];

function slytherinToGryffindor(allowed: boolean): ProbeDef[] {
  return [p('draco-malfoy-0', 'harry-potter-0', 'TCP', 80, allowed), p('draco-malfoy-1', 'harry-potter-0', 'TCP', 8080, allowed)];
}
function gryffindorToSlytherin(allowed: boolean): ProbeDef[] {
  return [p('harry-potter-0', 'draco-malfoy-0', 'TCP', 80, allowed), p('harry-potter-1', 'draco-malfoy-0', 'TCP', 8080, allowed)];
}

/** standard-egress-inline-cidr-rules, both tiers; v1alpha2 adds a namespace relabel to the deny sub-test. */
function inlineCIDRTest(tier: AdminTier): TestDef {
  const policy = inlineCIDR(tier);
  const toPod = (server: PodName, allowed: boolean): ProbeDef[] => [
    p('harry-potter-1', server, 'TCP', 80, allowed),
    p('harry-potter-1', server, 'UDP', 53, allowed),
    p('harry-potter-1', server, 'SCTP', 9003, allowed),
  ];
  const denyProbes = [...toPod('luna-lovegood-0', false), ...toPod('cedric-diggory-0', false), ...toPod('draco-malfoy-0', true)];
  const denyTitle = "Should support a 'deny-egress' rule policy for egress-cidr-peer";
  const cidr = (pod: PodName): string => `${housePod(pod).ip}/32`;
  return {
    suffix: 'EgressInlineCIDRPeers',
    tier,
    file: `${tier === 'Admin' ? ADMIN : BASELINE}-standard-egress-inline-cidr-rules.go`,
    policies: [policy],
    subtests: [
      sub(denyTitle, [], denyProbes, { only: 'v1alpha1' }),
      {
        title: denyTitle,
        only: 'v1alpha2',
        steps: [
          { probes: denyProbes },
          {
            by: 'slytherin relabelled: its pods no longer match the Accept, the networks Deny takes them',
            patches: [{ op: 'setNamespaceLabels', house: 'slytherin', labels: { [HOUSE_LABEL]: 'denied-namespace-label' } }],
            probes: toPod('draco-malfoy-0', false),
          },
          {
            by: 'slytherin labelled back: the Accept matches again',
            patches: [{ op: 'setNamespaceLabels', house: 'slytherin', labels: { [HOUSE_LABEL]: 'slytherin' } }],
            probes: toPod('draco-malfoy-0', true),
          },
        ],
      },
      sub(
        "Should support an 'allow-egress' rule policy for egress-cidr-peer",
        [
          {
            op: 'prependRule',
            policy: policy.name,
            direction: 'Egress',
            rule: rule('allow-egress-to-specific-podIPs', 'Allow', [{ networks: [cidr('luna-lovegood-0'), cidr('cedric-diggory-0')] }]),
          },
        ],
        [...toPod('luna-lovegood-0', true), ...toPod('cedric-diggory-0', true), ...toPod('luna-lovegood-1', false), ...toPod('cedric-diggory-1', false)],
      ),
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// The cases

export interface AdminStep {
  /** What changed to reach this state (the patches of this step), or the sub-test's own words. */
  readonly by?: string;
  readonly policies: readonly PolicyDesc[];
  readonly networkPolicies: readonly Manifest[];
  readonly namespaceLabels: Readonly<Partial<Record<House, Labels>>>;
  readonly probes: readonly AdminProbe[];
}

export interface AdminCase {
  readonly version: ApiVersion;
  /** Upstream's ShortName in this version. */
  readonly test: string;
  /** Upstream's t.Run title in this version. */
  readonly subtest: string;
  /** `<test> / <subtest>`: unique over both versions. */
  readonly name: string;
  readonly tier: AdminTier;
  /** conformance/tests/<file> at UPSTREAM_REVISION[version]. */
  readonly file: string;
  /** upstream's suite.SupportedFeature values the test needs. */
  readonly features: readonly string[];
  readonly steps: readonly AdminStep[];
  readonly note?: string;
}

export function shortName(version: ApiVersion, tier: AdminTier, suffix: string): string {
  if (version === 'v1alpha2') return `CNP${tier}Tier${suffix}`;
  return `${tier === 'Admin' ? 'AdminNetworkPolicy' : 'BaselineAdminNetworkPolicy'}${suffix}`;
}

function features(version: ApiVersion, t: TestDef): string[] {
  if (version === 'v1alpha2') return ['SupportClusterNetworkPolicy', ...(t.extension ? [`SupportClusterNetworkPolicy${t.extension}`] : [])];
  const api = t.tier === 'Admin' ? 'SupportAdminNetworkPolicy' : 'SupportBaselineAdminNetworkPolicy';
  return [api, ...(t.usesBaseline ? ['SupportBaselineAdminNetworkPolicy'] : []), ...(t.extension ? [`${api}${t.extension}`] : [])];
}

function casesOf(version: ApiVersion, t: TestDef): AdminCase[] {
  const test = shortName(version, t.tier, t.suffix);
  let state: State = { policies: t.policies, networkPolicies: t.networkPolicies ?? [], namespaceLabels: {} };
  const out: AdminCase[] = [];
  for (const s of t.subtests) {
    if (s.only && s.only !== version) continue;
    const subtest = version === 'v1alpha2' && s.v1alpha2Title ? s.v1alpha2Title : s.title;
    const steps = s.steps.map((step): AdminStep => {
      for (const patch of step.patches ?? []) state = applyPatch(state, patch);
      const by = step.by ?? (step.patches?.map(describePatch).join('; ') || undefined);
      return {
        ...(by ? { by } : {}),
        ...state,
        probes: step.probes.map((x) => ({ ...x, port: resolvePort(x.port, version) })),
      };
    });
    out.push({ version, test, subtest, name: `${test} / ${subtest}`, tier: t.tier, file: t.file, features: features(version, t), steps, ...(t.note ? { note: t.note } : {}) });
  }
  return out;
}

/** Every sub-test of every upstream test, v1alpha1 first, each version's tests in upstream's file order. */
export const ADMIN_UPSTREAM_CASES: readonly AdminCase[] = API_VERSIONS.flatMap((version) => TESTS.flatMap((t) => casesOf(version, t)));

/** Upstream's counts, per version: tests (ShortNames) and sub-tests (t.Run). */
export const UPSTREAM_COUNTS: Readonly<Record<ApiVersion, { readonly tests: number; readonly subtests: number }>> = {
  v1alpha1: { tests: 24, subtests: 92 },
  v1alpha2: { tests: 24, subtests: 92 },
};

/** Namespaces, Nodes and Pods in the step's labels, then its NetworkPolicies and its admin policies rendered in the case's version. */
export function stepManifests(c: AdminCase, stepIndex: number): Manifest[] {
  const step = c.steps[stepIndex];
  return [...houseManifests(c.version, step.namespaceLabels), ...step.networkPolicies, ...step.policies.map((x) => renderPolicy(x, c.version))];
}

/** The step as one multi-document text (JSON documents are YAML), ready for `loadTexts`. */
export function stepTexts(c: AdminCase, stepIndex: number): { file: string; text: string }[] {
  const slug = c.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 100);
  const text = stepManifests(c, stepIndex)
    .map((m) => `---\n${JSON.stringify(m, null, 2)}\n`)
    .join('');
  return [{ file: `admin-upstream/${c.version}/${slug}/step-${stepIndex + 1}.yaml`, text }];
}
