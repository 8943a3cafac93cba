// decodeAdminPolicy: each rule of the AdminNetworkPolicy/BaselineAdminNetworkPolicy CRDs (v1alpha1 at
// network-policy-api v0.1.7, experimental channel) and of the ClusterNetworkPolicy CRD (v1alpha2),
// with the field path and the wording apiextensions-apiserver gives it; and the one AdminPolicy shape.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BASELINE_NAME_MESSAGE, decodeAdminPolicy } from './adminpolicy.js';
import type { Json } from './decode.js';
import { fieldErrorBody, renderFieldPath } from './diagnostics.js';
import { adminPolicyManifest } from './manifest.js';
import type { AdminPolicy } from './types.js';

const V1ALPHA1 = 'policy.networking.k8s.io/v1alpha1';
const V1ALPHA2 = 'policy.networking.k8s.io/v1alpha2';

const anp = (spec: Json, metadata: Json = { name: 'a' }): Json => ({ apiVersion: V1ALPHA1, kind: 'AdminNetworkPolicy', metadata, spec });
const banp = (spec: Json, metadata: Json = { name: 'default' }): Json => ({ apiVersion: V1ALPHA1, kind: 'BaselineAdminNetworkPolicy', metadata, spec });
const cnp = (spec: Json, metadata: Json = { name: 'c' }): Json => ({ apiVersion: V1ALPHA2, kind: 'ClusterNetworkPolicy', metadata, spec });

const ALL_NAMESPACES = { namespaces: {} };
const ingress = (rule: Json): Json => ({ ingress: [{ action: 'Deny', from: [ALL_NAMESPACES], ...rule }] });
const egress = (rule: Json): Json => ({ egress: [{ action: 'Deny', to: [ALL_NAMESPACES], ...rule }] });
const anpSpec = (extra: Json): Json => ({ priority: 10, subject: ALL_NAMESPACES, ...extra });
const banpSpec = (extra: Json): Json => ({ subject: ALL_NAMESPACES, ...extra });
const cnpSpec = (extra: Json): Json => ({ tier: 'Admin', priority: 10, subject: ALL_NAMESPACES, ...extra });
const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

/** apiextensions' field.TooMany, reported as Invalid until diagnostics.ts has TooMany (see the request to the lead). */
const TOO_MANY = (actual: number, max: number): string => `Too many: ${actual}: must have at most ${max} items`;
const DUPLICATE = (value: string): string => `Duplicate value: ${JSON.stringify(value)}`;
const DOMAIN_PATTERN = String.raw`^(\*\.)?([a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$`;
const NAMED_PORT_CEL = 'networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts for networks/nodes/domainNames';

const errorsOf = (obj: Json, ignoreUnknownFields = false): string[] =>
  decodeAdminPolicy(obj, { ignoreUnknownFields }).errors.map((e) => `${renderFieldPath(e.path)}: ${fieldErrorBody(e)}`);

interface Case {
  readonly name: string;
  /** The CRD field or rule the case restates. */
  readonly cites: string;
  readonly input: Json;
  readonly errors: readonly string[];
  readonly ignoreUnknownFields?: boolean;
}

const cases: readonly Case[] = [
  // spec.priority
  { name: 'an AdminNetworkPolicy requires spec.priority', cites: 'ANP CRD spec.required [priority, subject]', input: anp({ subject: ALL_NAMESPACES }), errors: ['spec.priority: Required value'] },
  {
    name: 'priority is at most 1000',
    cites: 'AdminNetworkPolicySpec.Priority +kubebuilder:validation:Maximum=1000',
    input: anp(anpSpec({ priority: 1001 })),
    errors: ['spec.priority: Invalid value: 1001: spec.priority in body should be less than or equal to 1000'],
  },
  {
    name: 'priority is at least 0',
    cites: 'AdminNetworkPolicySpec.Priority +kubebuilder:validation:Minimum=0',
    input: anp(anpSpec({ priority: -1 })),
    errors: ['spec.priority: Invalid value: -1: spec.priority in body should be greater than or equal to 0'],
  },
  {
    name: 'priority is an integer',
    cites: 'AdminNetworkPolicySpec.Priority int32',
    input: anp(anpSpec({ priority: 'high' })),
    errors: ['spec.priority: Invalid value: "high": spec.priority in body must be of type integer: "high"'],
  },
  { name: 'priority 0 and 1000 are valid', cites: 'Minimum=0, Maximum=1000 are inclusive', input: anp(anpSpec({ priority: 1000 })), errors: [] },
  {
    name: 'a ClusterNetworkPolicy priority is at most 1000 too',
    cites: 'ClusterNetworkPolicySpec.Priority Maximum=1000',
    input: cnp(cnpSpec({ priority: 1001 })),
    errors: ['spec.priority: Invalid value: 1001: spec.priority in body should be less than or equal to 1000'],
  },
  { name: 'a ClusterNetworkPolicy requires spec.priority', cites: 'CNP CRD spec.required [priority, subject, tier]', input: cnp({ tier: 'Admin', subject: ALL_NAMESPACES }), errors: ['spec.priority: Required value'] },
  {
    name: 'a BaselineAdminNetworkPolicy has no priority',
    cites: 'BaselineAdminNetworkPolicySpec has no Priority field',
    input: banp(banpSpec({ priority: 1 })),
    errors: ['spec.priority: unknown field "spec.priority"'],
  },
  // spec.tier
  { name: 'a ClusterNetworkPolicy requires spec.tier', cites: 'CNP CRD spec.required tier', input: cnp({ priority: 1, subject: ALL_NAMESPACES }), errors: ['spec.tier: Required value'] },
  {
    name: 'tier is Admin or Baseline',
    cites: 'Tier +kubebuilder:validation:Enum={"Admin", "Baseline"}',
    input: cnp(cnpSpec({ tier: 'Admins' })),
    errors: ['spec.tier: Unsupported value: "Admins": supported values: "Admin", "Baseline"'],
  },
  { name: 'v1alpha1 kinds have no tier field', cites: 'AdminNetworkPolicySpec has no Tier', input: anp(anpSpec({ tier: 'Admin' })), errors: ['spec.tier: unknown field "spec.tier"'] },
  // spec.subject
  { name: 'spec.subject is required', cites: 'ANP CRD spec.required subject', input: anp({ priority: 1 }), errors: ['spec.subject: Required value'] },
  {
    name: 'a subject sets one field at least',
    cites: 'AdminNetworkPolicySubject MinProperties=1',
    input: anp(anpSpec({ subject: {} })),
    errors: ['spec.subject: Invalid value: 0: spec.subject in body should have at least 1 properties'],
  },
  {
    name: 'a subject sets one field at most',
    cites: 'AdminNetworkPolicySubject MaxProperties=1',
    input: anp(anpSpec({ subject: { namespaces: {}, pods: { namespaceSelector: {}, podSelector: {} } } })),
    errors: [`spec.subject: ${TOO_MANY(2, 1)}`],
  },
  {
    name: 'v1alpha1 NamespacedPod requires namespaceSelector',
    cites: 'v1alpha1 NamespacedPod.NamespaceSelector (required)',
    input: anp(anpSpec({ subject: { pods: { podSelector: {} } } })),
    errors: ['spec.subject.pods.namespaceSelector: Required value'],
  },
  {
    name: 'NamespacedPod requires podSelector',
    cites: 'NamespacedPod.PodSelector (required)',
    input: cnp(cnpSpec({ subject: { pods: { namespaceSelector: {} } } })),
    errors: ['spec.subject.pods.podSelector: Required value'],
  },
  {
    name: 'v1alpha2 NamespacedPod may leave namespaceSelector out',
    cites: 'v1alpha2 NamespacedPod.NamespaceSelector +optional',
    input: cnp(cnpSpec({ subject: { pods: { podSelector: { matchLabels: { app: 'db' } } } } })),
    errors: [],
  },
  {
    name: 'subject selectors are validated as label selectors',
    cites: 'metav1.LabelSelector (ValidateLabelSelector)',
    input: anp(anpSpec({ subject: { namespaces: { matchExpressions: [{ key: 'team', operator: 'Equals', values: ['a'] }] } } })),
    errors: ['spec.subject.namespaces.matchExpressions[0].operator: Invalid value: "Equals": not a valid selector operator'],
  },
  // actions
  {
    name: 'AdminNetworkPolicy actions are Allow, Deny and Pass',
    cites: 'AdminNetworkPolicyRuleAction Enum={"Allow", "Deny", "Pass"}',
    input: anp(anpSpec(ingress({ action: 'Allowed' }))),
    errors: ['spec.ingress[0].action: Unsupported value: "Allowed": supported values: "Allow", "Deny", "Pass"'],
  },
  {
    name: 'BaselineAdminNetworkPolicy actions are Allow and Deny (no Pass)',
    cites: 'BaselineAdminNetworkPolicyRuleAction Enum={"Allow", "Deny"}',
    input: banp(banpSpec(egress({ action: 'Pass' }))),
    errors: ['spec.egress[0].action: Unsupported value: "Pass": supported values: "Allow", "Deny"'],
  },
  {
    name: 'ClusterNetworkPolicy actions are Accept, Deny and Pass (not Allow)',
    cites: 'ClusterNetworkPolicyRuleAction Enum={"Accept", "Deny", "Pass"}',
    input: cnp(cnpSpec(ingress({ action: 'Allow' }))),
    errors: ['spec.ingress[0].action: Unsupported value: "Allow": supported values: "Accept", "Deny", "Pass"'],
  },
  { name: 'a rule requires action', cites: 'rule required [action, from|to]', input: anp(anpSpec({ ingress: [{ from: [ALL_NAMESPACES] }] })), errors: ['spec.ingress[0].action: Required value'] },
  // rules
  { name: 'an ingress rule requires from', cites: 'ingress rule required from', input: anp(anpSpec({ ingress: [{ action: 'Deny' }] })), errors: ['spec.ingress[0].from: Required value'] },
  { name: 'an egress rule requires to', cites: 'egress rule required to', input: cnp(cnpSpec({ egress: [{ action: 'Deny' }] })), errors: ['spec.egress[0].to: Required value'] },
  {
    name: 'from holds one peer at least',
    cites: 'From +kubebuilder:validation:MinItems=1',
    input: anp(anpSpec(ingress({ from: [] }))),
    errors: ['spec.ingress[0].from: Invalid value: 0: spec.ingress[0].from in body should have at least 1 items'],
  },
  {
    name: 'v1alpha1: at most 100 ingress rules',
    cites: 'AdminNetworkPolicySpec.Ingress MaxItems=100',
    input: anp(anpSpec({ ingress: times(101, () => ({ action: 'Deny', from: [ALL_NAMESPACES] })) })),
    errors: [`spec.ingress: ${TOO_MANY(101, 100)}`],
  },
  { name: 'v1alpha1: 100 egress rules are valid', cites: 'MaxItems=100 is inclusive', input: banp(banpSpec({ egress: times(100, () => ({ action: 'Deny', to: [ALL_NAMESPACES] })) })), errors: [] },
  {
    name: 'v1alpha2: at most 25 egress rules',
    cites: 'ClusterNetworkPolicySpec.Egress MaxItems=25',
    input: cnp(cnpSpec({ egress: times(26, () => ({ action: 'Deny', to: [ALL_NAMESPACES] })) })),
    errors: [`spec.egress: ${TOO_MANY(26, 25)}`],
  },
  {
    name: 'v1alpha1: at most 100 peers',
    cites: 'From MaxItems=100',
    input: anp(anpSpec(ingress({ from: times(101, () => ALL_NAMESPACES) }))),
    errors: [`spec.ingress[0].from: ${TOO_MANY(101, 100)}`],
  },
  {
    name: 'v1alpha2: at most 25 peers',
    cites: 'To MaxItems=25',
    input: cnp(cnpSpec(egress({ to: times(26, () => ALL_NAMESPACES) }))),
    errors: [`spec.egress[0].to: ${TOO_MANY(26, 25)}`],
  },
  {
    name: 'v1alpha1: at most 100 ports',
    cites: 'Ports MaxItems=100',
    input: anp(anpSpec(ingress({ ports: times(101, (i) => ({ portNumber: { port: i + 1 } })) }))),
    errors: [`spec.ingress[0].ports: ${TOO_MANY(101, 100)}`],
  },
  {
    name: 'v1alpha2: at most 25 protocols',
    cites: 'Protocols MaxItems=25',
    input: cnp(cnpSpec(ingress({ protocols: times(26, (i) => ({ tcp: { destinationPort: { number: i + 1 } } })) }))),
    errors: [`spec.ingress[0].protocols: ${TOO_MANY(26, 25)}`],
  },
  {
    name: 'ports, when present, holds one port at least',
    cites: 'Ports MinItems=1',
    input: anp(anpSpec(ingress({ ports: [] }))),
    errors: ['spec.ingress[0].ports: Invalid value: 0: spec.ingress[0].ports in body should have at least 1 items'],
  },
  {
    name: 'a rule name is at most 100 characters',
    cites: 'rule Name MaxLength=100',
    input: anp(anpSpec(ingress({ name: 'x'.repeat(101) }))),
    errors: ['spec.ingress[0].name: Too long: may not be more than 100 bytes'],
  },
  { name: 'a rule name of 100 characters is valid', cites: 'MaxLength=100 is inclusive', input: cnp(cnpSpec(ingress({ name: 'x'.repeat(100) }))), errors: [] },
  // peers
  {
    name: 'a peer sets one field at least',
    cites: 'AdminNetworkPolicyIngressPeer MinProperties=1',
    input: anp(anpSpec(ingress({ from: [{}] }))),
    errors: ['spec.ingress[0].from[0]: Invalid value: 0: spec.ingress[0].from[0] in body should have at least 1 properties'],
  },
  {
    name: 'a peer sets one field at most',
    cites: 'ClusterNetworkPolicyEgressPeer MaxProperties=1',
    input: cnp(cnpSpec(egress({ to: [{ namespaces: {}, networks: ['10.0.0.0/8'] }] }))),
    errors: [`spec.egress[0].to[0]: ${TOO_MANY(2, 1)}`],
  },
  {
    name: 'ingress peers are namespaces and pods only: nodes is an unknown field',
    cites: 'AdminNetworkPolicyIngressPeer has only Namespaces and Pods',
    input: anp(anpSpec(ingress({ from: [{ nodes: {} }] }))),
    errors: ['spec.ingress[0].from[0].nodes: unknown field "spec.ingress[0].from[0].nodes"'],
  },
  {
    name: 'ingress peers are namespaces and pods only: networks is an unknown field',
    cites: 'ClusterNetworkPolicyIngressPeer has only Namespaces and Pods',
    input: cnp(cnpSpec(ingress({ from: [{ networks: ['10.0.0.0/8'] }] }))),
    errors: ['spec.ingress[0].from[0].networks: unknown field "spec.ingress[0].from[0].networks"'],
  },
  {
    name: 'with unknown fields ignored, a subject of unknown fields only is pruned to an empty subject',
    cites: 'structural pruning, then AdminNetworkPolicySubject MinProperties=1',
    input: anp(anpSpec({ subject: { serviceAccounts: {} } })),
    ignoreUnknownFields: true,
    errors: ['spec.subject: Invalid value: 0: spec.subject in body should have at least 1 properties'],
  },
  {
    name: 'BaselineAdminNetworkPolicy egress peers have no domainNames',
    cites: 'BaselineAdminNetworkPolicyEgressPeer has no DomainNames',
    input: banp(banpSpec(egress({ action: 'Allow', to: [{ domainNames: ['example.com'] }] }))),
    errors: ['spec.egress[0].to[0].domainNames: unknown field "spec.egress[0].to[0].domainNames"'],
  },
  { name: 'AdminNetworkPolicy egress peers may name domainNames', cites: 'AdminNetworkPolicyEgressPeer.DomainNames (experimental)', input: anp(anpSpec(egress({ action: 'Allow', to: [{ domainNames: ['*.example.com', 'kubernetes.io.'] }] }))), errors: [] },
  {
    name: 'a domain name matches the DomainName pattern',
    cites: 'DomainName +kubebuilder:validation:Pattern',
    input: cnp(cnpSpec(egress({ action: 'Accept', to: [{ domainNames: ['example'] }] }))),
    errors: [`spec.egress[0].to[0].domainNames[0]: Invalid value: "example": spec.egress[0].to[0].domainNames[0] in body should match '${DOMAIN_PATTERN}'`],
  },
  {
    name: 'at most 25 domainNames',
    cites: 'DomainNames MaxItems=25',
    input: cnp(cnpSpec(egress({ action: 'Accept', to: [{ domainNames: times(26, (i) => `d${i}.example.com`) }] }))),
    errors: [`spec.egress[0].to[0].domainNames: ${TOO_MANY(26, 25)}`],
  },
  {
    name: 'v1alpha1: at most 25 networks',
    cites: 'Networks MaxItems=25',
    input: anp(anpSpec(egress({ to: [{ networks: times(26, (i) => `10.${i}.0.0/16`) }] }))),
    errors: [`spec.egress[0].to[0].networks: ${TOO_MANY(26, 25)}`],
  },
  {
    name: 'v1alpha2: at most 25 networks',
    cites: 'Networks MaxItems=25',
    input: cnp(cnpSpec(egress({ to: [{ networks: times(26, (i) => `10.${i}.0.0/16`) }] }))),
    errors: [`spec.egress[0].to[0].networks: ${TOO_MANY(26, 25)}`],
  },
  {
    name: 'networks, when present, holds one CIDR at least',
    cites: 'Networks MinItems=1',
    input: anp(anpSpec(egress({ to: [{ networks: [] }] }))),
    errors: ['spec.egress[0].to[0].networks: Invalid value: 0: spec.egress[0].to[0].networks in body should have at least 1 items'],
  },
  {
    name: 'networks is a set: a repeated CIDR is a duplicate',
    cites: 'Networks +listType=set',
    input: anp(anpSpec(egress({ to: [{ networks: ['10.0.0.0/8', '10.0.0.0/8'] }] }))),
    errors: [`spec.egress[0].to[0].networks[1]: ${DUPLICATE('10.0.0.0/8')}`],
  },
  {
    name: 'a network is a CIDR',
    cites: 'CIDR XValidation isCIDR(self), message "Invalid CIDR format provided"',
    input: cnp(cnpSpec(egress({ to: [{ networks: ['10.0.0.0'] }] }))),
    errors: ['spec.egress[0].to[0].networks[0]: Invalid value: "string": Invalid CIDR format provided'],
  },
  {
    name: 'isCIDR refuses leading zeros in the prefix length',
    cites: 'CEL isCIDR (netip.ParsePrefix)',
    input: anp(anpSpec(egress({ to: [{ networks: ['10.0.0.0/08'] }] }))),
    errors: ['spec.egress[0].to[0].networks[0]: Invalid value: "string": Invalid CIDR format provided'],
  },
  {
    name: 'isCIDR refuses IPv4-mapped IPv6',
    cites: 'CEL isCIDR',
    input: anp(anpSpec(egress({ to: [{ networks: ['::ffff:10.0.0.0/104'] }] }))),
    errors: ['spec.egress[0].to[0].networks[0]: Invalid value: "string": Invalid CIDR format provided'],
  },
  { name: 'isCIDR accepts bits beyond the prefix, and IPv6', cites: 'CEL isCIDR (netip.ParsePrefix keeps host bits)', input: anp(anpSpec(egress({ to: [{ networks: ['10.0.0.1/8', 'fd00::/8'] }] }))), errors: [] },
  {
    name: 'a network is at most 43 characters',
    cites: 'CIDR MaxLength=43',
    input: anp(anpSpec(egress({ to: [{ networks: [`${'0'.repeat(40)}::/64`] }] }))),
    errors: ['spec.egress[0].to[0].networks[0]: Too long: may not be more than 43 bytes', 'spec.egress[0].to[0].networks[0]: Invalid value: "string": Invalid CIDR format provided'],
  },
  {
    name: 'nodes peers select nodes by label selector',
    cites: 'EgressPeer.Nodes metav1.LabelSelector',
    input: cnp(cnpSpec(egress({ to: [{ nodes: { matchLabels: { 'bad key!': 'x' } } }] }))),
    // validation.RegexError's double space between examples, as the apiserver writes it.
    errors: [
      `spec.egress[0].to[0].nodes.matchLabels: Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    ],
  },
  // ports
  {
    name: 'a v1alpha1 port sets one field at least',
    cites: 'AdminNetworkPolicyPort MinProperties=1',
    input: anp(anpSpec(ingress({ ports: [{}] }))),
    errors: ['spec.ingress[0].ports[0]: Invalid value: 0: spec.ingress[0].ports[0] in body should have at least 1 properties'],
  },
  {
    name: 'a v1alpha1 port sets one field at most',
    cites: 'AdminNetworkPolicyPort MaxProperties=1',
    input: anp(anpSpec(ingress({ ports: [{ portNumber: { port: 80 }, namedPort: 'http' }] }))),
    errors: [`spec.ingress[0].ports[0]: ${TOO_MANY(2, 1)}`],
  },
  {
    name: 'a port number is at least 1',
    cites: 'Port.Port Minimum=1',
    input: anp(anpSpec(ingress({ ports: [{ portNumber: { port: 0 } }] }))),
    errors: ['spec.ingress[0].ports[0].portNumber.port: Invalid value: 0: spec.ingress[0].ports[0].portNumber.port in body should be greater than or equal to 1'],
  },
  {
    name: 'a port range ends at 65535 at most',
    cites: 'PortRange.End Maximum=65535',
    input: banp(banpSpec(ingress({ ports: [{ portRange: { start: 1, end: 65536 } }] }))),
    errors: ['spec.ingress[0].ports[0].portRange.end: Invalid value: 65536: spec.ingress[0].ports[0].portRange.end in body should be less than or equal to 65535'],
  },
  { name: 'portNumber requires port', cites: 'Port required [port, protocol]', input: anp(anpSpec(ingress({ ports: [{ portNumber: { protocol: 'UDP' } }] }))), errors: ['spec.ingress[0].ports[0].portNumber.port: Required value'] },
  { name: 'portRange requires start and end', cites: 'PortRange required [end, start]', input: anp(anpSpec(ingress({ ports: [{ portRange: { end: 90 } }] }))), errors: ['spec.ingress[0].ports[0].portRange.start: Required value'] },
  { name: 'v1alpha1 has no rule that start is below end', cites: 'the v1alpha1 CRD carries no XValidation on PortRange', input: anp(anpSpec(ingress({ ports: [{ portRange: { start: 90, end: 80 } }] }))), errors: [] },
  {
    name: 'a v1alpha1 protocol is TCP, UDP or SCTP (Podwall: the CRD leaves it unchecked)',
    cites: 'Port.Protocol core/v1 Protocol "TCP, UDP, or SCTP"',
    input: anp(anpSpec(ingress({ ports: [{ portNumber: { protocol: 'ICMP', port: 1 } }] }))),
    errors: ['spec.ingress[0].ports[0].portNumber.protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"'],
  },
  {
    name: 'a v1alpha2 protocol sets one field at least',
    cites: 'ClusterNetworkPolicyProtocol MinProperties=1',
    input: cnp(cnpSpec(ingress({ protocols: [{}] }))),
    errors: ['spec.ingress[0].protocols[0]: Invalid value: 0: spec.ingress[0].protocols[0] in body should have at least 1 properties'],
  },
  {
    name: 'a v1alpha2 protocol sets one field at most',
    cites: 'ClusterNetworkPolicyProtocol MaxProperties=1',
    input: cnp(cnpSpec(ingress({ protocols: [{ tcp: { destinationPort: { number: 80 } }, udp: { destinationPort: { number: 80 } } }] }))),
    errors: [`spec.ingress[0].protocols[0]: ${TOO_MANY(2, 1)}`],
  },
  {
    name: 'tcp needs a destinationPort',
    cites: 'ClusterNetworkPolicyProtocolTCP MinProperties=1',
    input: cnp(cnpSpec(ingress({ protocols: [{ tcp: {} }] }))),
    errors: ['spec.ingress[0].protocols[0].tcp: Invalid value: 0: spec.ingress[0].protocols[0].tcp in body should have at least 1 properties'],
  },
  {
    name: 'destinationPort sets number or range, not both',
    cites: 'v1alpha2 Port MaxProperties=1',
    input: cnp(cnpSpec(ingress({ protocols: [{ udp: { destinationPort: { number: 53, range: { start: 1, end: 2 } } } }] }))),
    errors: [`spec.ingress[0].protocols[0].udp.destinationPort: ${TOO_MANY(2, 1)}`],
  },
  {
    name: 'destinationPort sets number or range',
    cites: 'v1alpha2 Port MinProperties=1',
    input: cnp(cnpSpec(ingress({ protocols: [{ udp: { destinationPort: {} } }] }))),
    errors: ['spec.ingress[0].protocols[0].udp.destinationPort: Invalid value: 0: spec.ingress[0].protocols[0].udp.destinationPort in body should have at least 1 properties'],
  },
  {
    name: 'a v1alpha2 port number is at most 65535',
    cites: 'v1alpha2 Port.Number Maximum=65535',
    input: cnp(cnpSpec(ingress({ protocols: [{ sctp: { destinationPort: { number: 70000 } } }] }))),
    errors: ['spec.ingress[0].protocols[0].sctp.destinationPort.number: Invalid value: 70000: spec.ingress[0].protocols[0].sctp.destinationPort.number in body should be less than or equal to 65535'],
  },
  {
    name: 'a v1alpha2 range starts below its end',
    cites: 'PortRange XValidation self.start < self.end, message "Start port must be less than End port"',
    input: cnp(cnpSpec(egress({ protocols: [{ tcp: { destinationPort: { range: { start: 90, end: 90 } } } }] }))),
    errors: ['spec.egress[0].protocols[0].tcp.destinationPort.range: Invalid value: "object": Start port must be less than End port'],
  },
  // the named-port rule
  {
    name: 'an egress rule to networks may not use named ports',
    cites: 'AdminNetworkPolicyEgressRule XValidation (networks/nodes/domainNames with namedPort)',
    input: anp(anpSpec(egress({ to: [ALL_NAMESPACES, { networks: ['10.0.0.0/8'] }], ports: [{ namedPort: 'http' }] }))),
    errors: [`spec.egress[0]: Invalid value: "object": ${NAMED_PORT_CEL}`],
  },
  {
    name: 'a baseline egress rule to nodes may not use named ports (its own message)',
    cites: 'BaselineAdminNetworkPolicyEgressRule XValidation',
    input: banp(banpSpec(egress({ to: [{ nodes: {} }], ports: [{ namedPort: 'http' }] }))),
    errors: ['spec.egress[0]: Invalid value: "object": networks/nodes peer cannot be set with namedPorts since there are no namedPorts for networks/nodes'],
  },
  {
    name: 'a ClusterNetworkPolicy egress rule to domainNames may not use destinationNamedPort',
    cites: 'ClusterNetworkPolicyEgressRule XValidation',
    input: cnp(cnpSpec(egress({ action: 'Accept', to: [{ domainNames: ['example.com'] }], protocols: [{ destinationNamedPort: 'https' }] }))),
    errors: [`spec.egress[0]: Invalid value: "object": ${NAMED_PORT_CEL}`],
  },
  { name: 'named ports with pods peers are valid', cites: 'the rule names only networks/nodes/domainNames', input: cnp(cnpSpec(egress({ to: [{ pods: { podSelector: {} } }], protocols: [{ destinationNamedPort: 'http' }] }))), errors: [] },
  // metadata
  {
    name: 'a BaselineAdminNetworkPolicy is named default',
    cites: 'BANP CRD root XValidation self.metadata.name == \'default\'',
    input: banp(banpSpec({}), { name: 'baseline' }),
    errors: [`: Invalid value: "object": ${BASELINE_NAME_MESSAGE}`],
  },
  { name: 'metadata.namespace of a cluster-scoped kind is ignored', cites: 'scope: Cluster (the apiserver clears the namespace)', input: anp(anpSpec({}), { name: 'a', namespace: 'Not_A_Namespace' }), errors: [] },
  {
    name: 'metadata.name is a DNS subdomain',
    cites: 'custom resources: ValidateObjectMetaAccessor with NameIsDNSSubdomain',
    input: cnp(cnpSpec({}), { name: 'Deny_All' }),
    errors: [
      `metadata.name: Invalid value: "Deny_All": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    ],
  },
  { name: 'an unknown spec field is refused under strict field validation', cites: 'fieldValidation=Strict', input: anp({ ...anpSpec({}), priorty: 1 }), errors: ['spec.priorty: unknown field "spec.priorty"'] },
  { name: 'an unknown spec field is pruned when unknown fields are ignored', cites: 'structural pruning', input: anp({ ...anpSpec({}), priorty: 1 }), ignoreUnknownFields: true, errors: [] },
  { name: 'spec is required', cites: 'CRD openAPIV3Schema required [metadata, spec]', input: { apiVersion: V1ALPHA1, kind: 'AdminNetworkPolicy', metadata: { name: 'a' } }, errors: ['spec: Required value'] },
];

describe('decodeAdminPolicy validates as the CRDs do', () => {
  for (const c of cases) {
    test(`${c.name} (${c.cites})`, () => {
      const errors = errorsOf(c.input, c.ignoreUnknownFields);
      assert.deepEqual(errors, c.errors);
      assert.equal(decodeAdminPolicy(c.input, { ignoreUnknownFields: c.ignoreUnknownFields }).policy === undefined, c.errors.length > 0, 'a policy exactly when valid');
    });
  }
});

describe('a peer or port of unknown fields only fails closed when unknown fields are ignored (objects a newer CRD accepted)', () => {
  // The peer types' doc: "For "Allow" rules, "fail closed" means: "treat the rule as matching no
  // traffic". For "Deny" and "Pass" rules, "fail closed" means: "treat the rule as a 'Deny all' rule"."
  const allPeers = [
    { kind: 'namespaces', namespaces: { matchLabels: {}, matchExpressions: [] } },
    { kind: 'networks', networks: ['0.0.0.0/0', '::/0'] },
  ];
  const table: { name: string; input: Json; rule: Json; notice: string }[] = [
    {
      name: 'an Allow rule with an unknown peer matches no traffic',
      input: anp(anpSpec(ingress({ name: 'r', action: 'Allow', from: [ALL_NAMESPACES, { serviceAccounts: { name: 'x' } }] }))),
      rule: { name: 'r', action: 'Allow', peers: [] },
      notice: 'spec.ingress[0].from[1]: sets no field Podwall knows (a newer CRD?): fails closed, the rule matches no traffic',
    },
    {
      name: 'a Deny rule with an unknown peer denies all traffic',
      input: cnp(cnpSpec(egress({ action: 'Deny', to: [{ services: {} }], protocols: [{ tcp: { destinationPort: { number: 80 } } }] }))),
      rule: { action: 'Deny', peers: allPeers },
      notice: 'spec.egress[0].to[0]: sets no field Podwall knows (a newer CRD?): fails closed, the rule denies all traffic',
    },
    {
      name: 'a Pass rule with an unknown port denies all traffic',
      input: cnp(cnpSpec(ingress({ action: 'Pass', protocols: [{ icmp: { type: 8 } }] }))),
      rule: { action: 'Deny', peers: allPeers },
      notice: 'spec.ingress[0].protocols[0]: sets no field Podwall knows (a newer CRD?): fails closed, the rule denies all traffic',
    },
    {
      name: 'an Accept rule with a protocol of unknown fields only matches no traffic',
      input: cnp(cnpSpec(ingress({ action: 'Accept', protocols: [{ tcp: { sourcePort: { number: 1 } } }] }))),
      rule: { action: 'Accept', peers: [] },
      notice: 'spec.ingress[0].protocols[0].tcp: sets no field Podwall knows (a newer CRD?): fails closed, the rule matches no traffic',
    },
  ];
  for (const c of table) {
    test(c.name, () => {
      const decoded = decodeAdminPolicy(c.input, { ignoreUnknownFields: true });
      assert.deepEqual(decoded.errors, []);
      const policy = decoded.policy!;
      assert.deepEqual([...policy.ingress, ...policy.egress], [c.rule]);
      assert.deepEqual(decoded.notices?.map((n) => `${renderFieldPath(n.path)}: ${n.message}`), [c.notice]);
    });
  }

  test('under strict field validation the same peer is an unknown-field error, not a policy', () => {
    assert.deepEqual(errorsOf(anp(anpSpec(ingress({ from: [{ serviceAccounts: {} }] })))), ['spec.ingress[0].from[0].serviceAccounts: unknown field "spec.ingress[0].from[0].serviceAccounts"']);
  });
});

describe('both API versions decode into the one AdminPolicy shape', () => {
  const selector = (labels: Record<string, string>) => ({ matchLabels: labels, matchExpressions: [] });
  const every = selector({});
  const table: { name: string; input: Json; expect: AdminPolicy }[] = [
    {
      name: 'an AdminNetworkPolicy is Admin tier; v1alpha1 ports default to TCP (Port.Protocol +kubebuilder:default=TCP)',
      input: anp(
        {
          priority: 3,
          subject: { namespaces: { matchLabels: { team: 'a' } } },
          ingress: [{ name: 'from-b', action: 'Allow', from: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'b' } } } }], ports: [{ portNumber: { port: 80 } }, { portRange: { protocol: 'UDP', start: 1000, end: 2000 } }, { namedPort: 'dns' }] }],
          egress: [{ action: 'Pass', to: [{ networks: ['10.0.0.0/8'] }, { nodes: {} }, { domainNames: ['example.com'] }] }],
        },
        { name: 'pass-a', namespace: 'ignored' },
      ),
      expect: {
        kind: 'AdminNetworkPolicy',
        apiVersion: V1ALPHA1,
        name: 'pass-a',
        tier: 'Admin',
        priority: 3,
        subject: { namespaces: selector({ team: 'a' }) },
        ingress: [
          {
            name: 'from-b',
            action: 'Allow',
            peers: [{ kind: 'pods', pods: { namespaceSelector: every, podSelector: selector({ app: 'b' }) } }],
            ports: [
              { kind: 'number', protocol: 'TCP', port: 80 },
              { kind: 'range', protocol: 'UDP', start: 1000, end: 2000 },
              { kind: 'named', name: 'dns' },
            ],
          },
        ],
        egress: [{ action: 'Pass', peers: [{ kind: 'networks', networks: ['10.0.0.0/8'] }, { kind: 'nodes', nodes: every }, { kind: 'domainNames', domainNames: ['example.com'] }] }],
      },
    },
    {
      name: 'a BaselineAdminNetworkPolicy is Baseline tier without a priority',
      input: banp({ subject: { pods: { namespaceSelector: {}, podSelector: {} } }, ingress: [{ action: 'Deny', from: [{ namespaces: {} }] }] }),
      expect: {
        kind: 'BaselineAdminNetworkPolicy',
        apiVersion: V1ALPHA1,
        name: 'default',
        tier: 'Baseline',
        subject: { pods: { namespaceSelector: every, podSelector: every } },
        ingress: [{ action: 'Deny', peers: [{ kind: 'namespaces', namespaces: every }] }],
        egress: [],
      },
    },
    {
      name: 'a ClusterNetworkPolicy takes its tier from spec.tier; protocols become ports; a missing namespaceSelector is empty',
      input: cnp({
        tier: 'Baseline',
        priority: 0,
        subject: { pods: { podSelector: { matchLabels: { app: 'db' } } } },
        egress: [{ action: 'Accept', to: [{ pods: { podSelector: {} } }], protocols: [{ tcp: { destinationPort: { number: 3306 } } }, { sctp: { destinationPort: { range: { start: 1, end: 9 } } } }, { destinationNamedPort: 'metrics' }] }],
      }),
      expect: {
        kind: 'ClusterNetworkPolicy',
        apiVersion: V1ALPHA2,
        name: 'c',
        tier: 'Baseline',
        priority: 0,
        subject: { pods: { namespaceSelector: every, podSelector: selector({ app: 'db' }) } },
        ingress: [],
        egress: [
          {
            action: 'Accept',
            peers: [{ kind: 'pods', pods: { namespaceSelector: every, podSelector: every } }],
            ports: [
              { kind: 'number', protocol: 'TCP', port: 3306 },
              { kind: 'range', protocol: 'SCTP', start: 1, end: 9 },
              { kind: 'named', name: 'metrics' },
            ],
          },
        ],
      },
    },
  ];
  for (const c of table) {
    test(c.name, () => {
      const decoded = decodeAdminPolicy(c.input);
      assert.deepEqual(decoded.errors, []);
      assert.deepEqual(decoded.policy, c.expect);
    });
  }

  test('adminPolicyManifest renders each policy in its own apiVersion and kind, and it decodes back to the same policy', () => {
    const valid = [...table.map((c) => c.input), ...cases.filter((c) => c.errors.length === 0 && !c.ignoreUnknownFields).map((c) => c.input)];
    for (const input of valid) {
      const policy = decodeAdminPolicy(input).policy!;
      const manifest = adminPolicyManifest(policy);
      assert.equal(manifest.apiVersion, input.apiVersion);
      assert.equal(manifest.kind, input.kind);
      assert.deepEqual(decodeAdminPolicy(manifest), { errors: [], policy }, JSON.stringify(input));
    }
  });

  test('adminPolicyManifest writes v1alpha1 protocols out and v1alpha2 protocols as field names', () => {
    const [anpPolicy, , cnpPolicy] = table.map((c) => decodeAdminPolicy(c.input).policy!);
    const anpSpec = adminPolicyManifest(anpPolicy).spec as Json;
    assert.deepEqual((anpSpec.ingress as Json[])[0].ports, [{ portNumber: { protocol: 'TCP', port: 80 } }, { portRange: { protocol: 'UDP', start: 1000, end: 2000 } }, { namedPort: 'dns' }]);
    const cnpSpec = adminPolicyManifest(cnpPolicy).spec as Json;
    assert.equal(cnpSpec.tier, 'Baseline');
    assert.deepEqual((cnpSpec.egress as Json[])[0].protocols, [{ tcp: { destinationPort: { number: 3306 } } }, { sctp: { destinationPort: { range: { start: 1, end: 9 } } } }, { destinationNamedPort: 'metrics' }]);
  });

  test('a kind in the version of another is refused (ClusterNetworkPolicy is v1alpha2 only)', () => {
    assert.deepEqual(errorsOf({ ...cnp(cnpSpec({})), apiVersion: V1ALPHA1 }), [
      'apiVersion: Invalid value: "policy.networking.k8s.io/v1alpha1": no matches for kind "ClusterNetworkPolicy" in version "policy.networking.k8s.io/v1alpha1" (use policy.networking.k8s.io/v1alpha2)',
    ]);
  });
});
