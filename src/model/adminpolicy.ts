// AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1, release v0.1.7)
// and ClusterNetworkPolicy (v1alpha2): decoded into one AdminPolicy and validated as their CRDs of the
// experimental channel do (OpenAPI schema, x-kubernetes-validations), worded as apiextensions-apiserver words it.
import { parseIP } from './cidr.js';
import { FieldDecoder, type DecodeOptions, type Json } from './decode.js';
import { renderFieldPath, type FieldError, type FieldPath } from './diagnostics.js';
import { decodeLabelSelector } from './labels.js';
import { decodeObjectMeta } from './metadata.js';
import {
  PROTOCOLS,
  type AdminPeer,
  type AdminPolicy,
  type AdminPolicyAPIVersion,
  type AdminPolicyKind,
  type AdminPort,
  type AdminRule,
  type AdminRuleAction,
  type AdminSubject,
  type AdminTier,
  type NamespacedPod,
  type Protocol,
} from './types.js';

export const ADMIN_POLICY_GROUP = 'policy.networking.k8s.io';

/** The one version each kind is served in. */
export const ADMIN_POLICY_API_VERSIONS: Readonly<Record<AdminPolicyKind, AdminPolicyAPIVersion>> = {
  AdminNetworkPolicy: 'policy.networking.k8s.io/v1alpha1',
  BaselineAdminNetworkPolicy: 'policy.networking.k8s.io/v1alpha1',
  ClusterNetworkPolicy: 'policy.networking.k8s.io/v1alpha2',
};

export const ADMIN_POLICY_KINDS: readonly AdminPolicyKind[] = ['AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'ClusterNetworkPolicy'];

/** The BaselineAdminNetworkPolicy CRD's root rule `self.metadata.name == 'default'`, and its message. */
export const BASELINE_NAME = 'default';
export const BASELINE_NAME_MESSAGE = 'Only one baseline admin network policy with metadata.name="default" can be created in the cluster';
export const RANGE_MESSAGE = 'Start port must be less than End port';
export const CIDR_MESSAGE = 'Invalid CIDR format provided';

/** DomainName's pattern, verbatim (its `A-z` admits `[\]^_` and the backquote too, as the CRD does). */
export const DOMAIN_NAME_PATTERN = '^(\\*\\.)?([a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\\.)+[a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\\.?$';
const DOMAIN_NAME_RE = new RegExp(DOMAIN_NAME_PATTERN);

/** What differs between the three CRDs. */
interface CRD {
  readonly kind: AdminPolicyKind;
  readonly actions: readonly AdminRuleAction[];
  /** MaxItems of ingress/egress, of from/to, of ports/protocols. */
  readonly maxRules: number;
  readonly maxPeers: number;
  readonly maxPorts: number;
  readonly priority: boolean;
  readonly tier: boolean;
  readonly egressPeers: readonly AdminPeer['kind'][];
  readonly portsField: 'ports' | 'protocols';
  /** v1alpha1 NamespacedPod requires namespaceSelector; v1alpha2 makes it optional (empty: all namespaces). */
  readonly namespaceSelectorRequired: boolean;
  /** The egress rule's x-kubernetes-validations rule on named ports: the peers it names, and its message. */
  readonly namedPortPeers: readonly AdminPeer['kind'][];
  readonly namedPortMessage: string;
}

const NAMED_PORT_MESSAGE = 'networks/nodes/domainNames peer cannot be set with namedPorts since there are no namedPorts for networks/nodes/domainNames';

const CRDS: Readonly<Record<AdminPolicyKind, CRD>> = {
  AdminNetworkPolicy: {
    kind: 'AdminNetworkPolicy',
    actions: ['Allow', 'Deny', 'Pass'],
    maxRules: 100,
    maxPeers: 100,
    maxPorts: 100,
    priority: true,
    tier: false,
    egressPeers: ['namespaces', 'pods', 'nodes', 'networks', 'domainNames'],
    portsField: 'ports',
    namespaceSelectorRequired: true,
    namedPortPeers: ['networks', 'nodes', 'domainNames'],
    namedPortMessage: NAMED_PORT_MESSAGE,
  },
  BaselineAdminNetworkPolicy: {
    kind: 'BaselineAdminNetworkPolicy',
    actions: ['Allow', 'Deny'],
    maxRules: 100,
    maxPeers: 100,
    maxPorts: 100,
    priority: false,
    tier: false,
    egressPeers: ['namespaces', 'pods', 'nodes', 'networks'],
    portsField: 'ports',
    namespaceSelectorRequired: true,
    namedPortPeers: ['networks', 'nodes'],
    namedPortMessage: 'networks/nodes peer cannot be set with namedPorts since there are no namedPorts for networks/nodes',
  },
  ClusterNetworkPolicy: {
    kind: 'ClusterNetworkPolicy',
    actions: ['Accept', 'Deny', 'Pass'],
    maxRules: 25,
    maxPeers: 25,
    maxPorts: 25,
    priority: true,
    tier: true,
    egressPeers: ['namespaces', 'pods', 'nodes', 'networks', 'domainNames'],
    portsField: 'protocols',
    namespaceSelectorRequired: false,
    namedPortPeers: ['networks', 'nodes', 'domainNames'],
    namedPortMessage: NAMED_PORT_MESSAGE,
  },
};

const INGRESS_PEERS: readonly AdminPeer['kind'][] = ['namespaces', 'pods'];
const TIERS: readonly AdminTier[] = ['Admin', 'Baseline'];
/** MaxItems of networks and domainNames, in both versions; MaxLength of a CIDR. */
const MAX_ADDRESSES = 25;
const MAX_CIDR_LENGTH = 43;
const MAX_RULE_NAME_LENGTH = 100;

export interface DecodedAdminPolicy {
  /** Present only when there are no errors. */
  readonly policy?: AdminPolicy;
  readonly errors: readonly FieldError[];
  /** Rules that failed closed (unknown fields ignored only): each at the peer or port it could not read. */
  readonly notices?: readonly AdminPolicyNotice[];
}

const present = (v: unknown): boolean => v !== undefined && v !== null;
const isPlainObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** kube-openapi names the field in its messages: `spec.priority in body should be ...`. */
const inBody = (path: FieldPath): string => `${renderFieldPath(path)} in body`;

/** Something Podwall did to an object that is not an error: a rule failing closed. */
export interface AdminPolicyNotice {
  readonly path: FieldPath;
  readonly message: string;
}

/** A FieldDecoder that knows whether unknown fields are refused (strict) or pruned. */
class CRDDecoder extends FieldDecoder {
  readonly strict: boolean;
  /** Peers and ports that set only fields Podwall does not know (pruned: not strict). */
  readonly unknown: FieldPath[] = [];
  readonly notices: AdminPolicyNotice[] = [];
  constructor(options: DecodeOptions) {
    super(options);
    this.strict = options.ignoreUnknownFields !== true;
  }
}

// The schema validator's checks, each as apiextensions-apiserver converts it to a field error.

function typeInvalid(d: CRDDecoder, path: FieldPath, value: unknown, type: string): void {
  const data = typeof value === 'string' ? `: ${JSON.stringify(value)}` : '';
  d.errors.push({ type: 'TypeInvalid', path, value, detail: `${inBody(path)} must be of type ${type}${data}` });
}

/** field.TooMany (MaxItems, MaxProperties). */
function tooMany(d: CRDDecoder, path: FieldPath, actual: number, max: number): void {
  d.errors.push({ type: 'TooMany', path, value: actual, detail: `must have at most ${max} items` });
}

/** field.Duplicate (x-kubernetes-list-type: set). */
function duplicate(d: CRDDecoder, path: FieldPath, value: string): void {
  d.errors.push({ type: 'Duplicate', path, value, detail: '' });
}

function readObject(d: CRDDecoder, value: unknown, path: FieldPath): Json | undefined {
  if (!present(value)) return undefined;
  if (!isPlainObject(value)) {
    typeInvalid(d, path, value, 'object');
    return undefined;
  }
  return value;
}

/** A list item must be an object: null is not one. */
function readItem(d: CRDDecoder, value: unknown, path: FieldPath): Json | undefined {
  if (!isPlainObject(value)) {
    typeInvalid(d, path, value, 'object');
    return undefined;
  }
  return value;
}

function readArray(d: CRDDecoder, value: unknown, path: FieldPath): unknown[] | undefined {
  if (!present(value)) return undefined;
  if (!Array.isArray(value)) {
    typeInvalid(d, path, value, 'array');
    return undefined;
  }
  return value;
}

function readString(d: CRDDecoder, value: unknown, path: FieldPath): string | undefined {
  if (!present(value)) return undefined;
  if (typeof value !== 'string') {
    typeInvalid(d, path, value, 'string');
    return undefined;
  }
  return value;
}

function readInteger(d: CRDDecoder, value: unknown, path: FieldPath, min: number, max: number): number | undefined {
  if (!present(value)) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    typeInvalid(d, path, value, 'integer');
    return undefined;
  }
  if (value > max) d.invalid(path, value, `${inBody(path)} should be less than or equal to ${max}`);
  if (value < min) d.invalid(path, value, `${inBody(path)} should be greater than or equal to ${min}`);
  return value;
}

function checkItems(d: CRDDecoder, path: FieldPath, list: readonly unknown[], min: number | undefined, max: number): void {
  if (min !== undefined && list.length < min) d.invalid(path, list.length, `${inBody(path)} should have at least ${min} items`);
  if (list.length > max) tooMany(d, path, list.length, max);
}

/**
 * MinProperties=1 and MaxProperties=1 over the fields the schema knows: unknown ones are pruned
 * first. Under strict field validation an unknown field is refused before the schema is checked, so
 * an object holding only unknown fields gets that error alone. A peer or port holding only unknown
 * fields, in an object an apiserver accepted, comes from a newer CRD: it is recorded, for its rule
 * to fail closed (`mayFailClosed`), instead of failing the whole policy.
 */
function checkOneOf(d: CRDDecoder, path: FieldPath, obj: Json, fields: readonly string[], mayFailClosed = false): void {
  const count = fields.filter((f) => present(obj[f])).length;
  const onlyUnknown = count === 0 && Object.keys(obj).some((k) => !fields.includes(k) && present(obj[k]));
  if (onlyUnknown && d.strict) return;
  if (onlyUnknown && mayFailClosed) {
    d.unknown.push(path);
    return;
  }
  if (count === 0) d.invalid(path, 0, `${inBody(path)} should have at least 1 properties`);
  else if (count > 1) tooMany(d, path, count, 1);
}

function required(d: CRDDecoder, obj: Json, field: string, path: FieldPath): boolean {
  if (present(obj[field])) return true;
  d.required([...path, field]);
  return false;
}

/** CEL isCIDR: netip.ParsePrefix, without IPv4-mapped IPv6; bits beyond the prefix are allowed. */
export function isCIDR(text: string): boolean {
  const slash = text.indexOf('/');
  if (slash < 0) return false;
  const ip = parseIP(text.slice(0, slash));
  const bits = text.slice(slash + 1);
  if (!ip || !/^(0|[1-9][0-9]{0,2})$/.test(bits)) return false;
  return Number(bits) <= (ip.family === 4 ? 32 : 128);
}

function decodeNamespacedPod(d: CRDDecoder, raw: unknown, path: FieldPath, crd: CRD): NamespacedPod | undefined {
  const obj = readObject(d, raw, path);
  if (!obj) return undefined;
  d.knownFields(obj, ['namespaceSelector', 'podSelector'], path);
  if (crd.namespaceSelectorRequired) required(d, obj, 'namespaceSelector', path);
  required(d, obj, 'podSelector', path);
  return {
    namespaceSelector: decodeLabelSelector(d, obj.namespaceSelector, [...path, 'namespaceSelector']),
    podSelector: decodeLabelSelector(d, obj.podSelector, [...path, 'podSelector']),
  };
}

function decodeSubject(d: CRDDecoder, spec: Json, crd: CRD): AdminSubject | undefined {
  const path = ['spec', 'subject'];
  if (!required(d, spec, 'subject', ['spec'])) return undefined;
  const obj = readObject(d, spec.subject, path);
  if (!obj) return undefined;
  d.knownFields(obj, ['namespaces', 'pods'], path);
  checkOneOf(d, path, obj, ['namespaces', 'pods']);
  if (present(obj.namespaces)) return { namespaces: decodeLabelSelector(d, obj.namespaces, [...path, 'namespaces']) };
  if (present(obj.pods)) {
    const pods = decodeNamespacedPod(d, obj.pods, [...path, 'pods'], crd);
    return pods ? { pods } : undefined;
  }
  return undefined;
}

/** A list-type set of strings: each item checked, later duplicates reported. */
function decodeStringSet(d: CRDDecoder, raw: unknown, path: FieldPath, check: (s: string, p: FieldPath) => void): string[] {
  const list = readArray(d, raw, path);
  if (!list) return [];
  checkItems(d, path, list, 1, MAX_ADDRESSES);
  const seen = new Set<string>();
  const out: string[] = [];
  list.forEach((item, i) => {
    const itemPath = [...path, i];
    if (typeof item !== 'string') {
      typeInvalid(d, itemPath, item, 'string');
      return;
    }
    check(item, itemPath);
    if (seen.has(item)) duplicate(d, itemPath, item);
    seen.add(item);
    out.push(item);
  });
  return out;
}

function decodePeer(d: CRDDecoder, raw: unknown, path: FieldPath, fields: readonly AdminPeer['kind'][], crd: CRD): AdminPeer | undefined {
  const obj = readItem(d, raw, path);
  if (!obj) return undefined;
  d.knownFields(obj, fields, path);
  checkOneOf(d, path, obj, fields, true);
  const peers: AdminPeer[] = [];
  for (const field of fields) {
    if (!present(obj[field])) continue;
    const fieldPath = [...path, field];
    switch (field) {
      case 'namespaces':
        peers.push({ kind: 'namespaces', namespaces: decodeLabelSelector(d, obj.namespaces, fieldPath) });
        break;
      case 'nodes':
        peers.push({ kind: 'nodes', nodes: decodeLabelSelector(d, obj.nodes, fieldPath) });
        break;
      case 'pods': {
        const pods = decodeNamespacedPod(d, obj.pods, fieldPath, crd);
        if (pods) peers.push({ kind: 'pods', pods });
        break;
      }
      case 'networks': {
        const networks = decodeStringSet(d, obj.networks, fieldPath, (s, p) => {
          if ([...s].length > MAX_CIDR_LENGTH) d.tooLong(p, MAX_CIDR_LENGTH);
          // x-kubernetes-validations on a string: the value shown is its type.
          if (!isCIDR(s)) d.invalid(p, 'string', CIDR_MESSAGE);
        });
        peers.push({ kind: 'networks', networks });
        break;
      }
      case 'domainNames': {
        const domainNames = decodeStringSet(d, obj.domainNames, fieldPath, (s, p) => {
          if (!DOMAIN_NAME_RE.test(s)) d.invalid(p, s, `${inBody(p)} should match '${DOMAIN_NAME_PATTERN}'`);
        });
        peers.push({ kind: 'domainNames', domainNames });
        break;
      }
    }
  }
  return peers[0];
}

/**
 * Port.protocol is a core/v1 Protocol, which the v1alpha1 CRD leaves an unchecked string (default
 * TCP). Podwall refuses anything but TCP, UDP and SCTP: it cannot say what such a rule matches.
 */
function decodeProtocolName(d: CRDDecoder, value: unknown, path: FieldPath): Protocol {
  const protocol = readString(d, value, path) ?? 'TCP';
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) d.notSupported(path, protocol, PROTOCOLS);
  return protocol as Protocol;
}

/** v1alpha1 AdminNetworkPolicyPort: exactly one of portNumber, namedPort, portRange. */
function decodePortV1alpha1(d: CRDDecoder, raw: unknown, path: FieldPath): AdminPort | undefined {
  const obj = readItem(d, raw, path);
  if (!obj) return undefined;
  const fields = ['portNumber', 'namedPort', 'portRange'];
  d.knownFields(obj, fields, path);
  checkOneOf(d, path, obj, fields, true);
  if (present(obj.portNumber)) {
    const p = [...path, 'portNumber'];
    const o = readObject(d, obj.portNumber, p);
    if (!o) return undefined;
    d.knownFields(o, ['protocol', 'port'], p);
    // "If not specified, this field defaults to TCP" (a CRD default, so it is never missing).
    const protocol = decodeProtocolName(d, o.protocol, [...p, 'protocol']);
    required(d, o, 'port', p);
    const port = readInteger(d, o.port, [...p, 'port'], 1, 65535);
    return port === undefined ? undefined : { kind: 'number', protocol, port };
  }
  if (present(obj.portRange)) {
    const p = [...path, 'portRange'];
    const o = readObject(d, obj.portRange, p);
    if (!o) return undefined;
    d.knownFields(o, ['protocol', 'start', 'end'], p);
    const protocol = decodeProtocolName(d, o.protocol, [...p, 'protocol']);
    required(d, o, 'start', p);
    required(d, o, 'end', p);
    // The type says "the Start value must be less than End", but the v1alpha1 CRD has no rule for it.
    const start = readInteger(d, o.start, [...p, 'start'], 1, 65535);
    const end = readInteger(d, o.end, [...p, 'end'], 1, 65535);
    return start === undefined || end === undefined ? undefined : { kind: 'range', protocol, start, end };
  }
  if (present(obj.namedPort)) {
    const name = readString(d, obj.namedPort, [...path, 'namedPort']);
    return name === undefined ? undefined : { kind: 'named', name };
  }
  return undefined;
}

/** v1alpha2 Port: exactly one of number, range (start < end). */
function decodeDestinationPort(d: CRDDecoder, raw: unknown, path: FieldPath, protocol: Protocol): AdminPort | undefined {
  const obj = readObject(d, raw, path);
  if (!obj) return undefined;
  d.knownFields(obj, ['number', 'range'], path);
  checkOneOf(d, path, obj, ['number', 'range'], true);
  if (present(obj.number)) {
    const port = readInteger(d, obj.number, [...path, 'number'], 1, 65535);
    return port === undefined ? undefined : { kind: 'number', protocol, port };
  }
  if (present(obj.range)) {
    const p = [...path, 'range'];
    const o = readObject(d, obj.range, p);
    if (!o) return undefined;
    d.knownFields(o, ['start', 'end'], p);
    required(d, o, 'start', p);
    required(d, o, 'end', p);
    const start = readInteger(d, o.start, [...p, 'start'], 1, 65535);
    const end = readInteger(d, o.end, [...p, 'end'], 1, 65535);
    if (start === undefined || end === undefined) return undefined;
    if (!(start < end)) d.invalid(p, 'object', RANGE_MESSAGE);
    return { kind: 'range', protocol, start, end };
  }
  return undefined;
}

/** v1alpha2 ClusterNetworkPolicyProtocol: exactly one of tcp, udp, sctp, destinationNamedPort. */
function decodeProtocolV1alpha2(d: CRDDecoder, raw: unknown, path: FieldPath): AdminPort | undefined {
  const obj = readItem(d, raw, path);
  if (!obj) return undefined;
  const fields = ['tcp', 'udp', 'sctp', 'destinationNamedPort'];
  d.knownFields(obj, fields, path);
  checkOneOf(d, path, obj, fields, true);
  for (const [field, protocol] of [['tcp', 'TCP'], ['udp', 'UDP'], ['sctp', 'SCTP']] as const) {
    if (!present(obj[field])) continue;
    const p = [...path, field];
    const o = readObject(d, obj[field], p);
    if (!o) return undefined;
    d.knownFields(o, ['destinationPort'], p);
    // MinProperties=1: a protocol alone cannot be written.
    if (!present(o.destinationPort)) checkOneOf(d, p, o, ['destinationPort'], true);
    if (!present(o.destinationPort)) return undefined;
    return decodeDestinationPort(d, o.destinationPort, [...p, 'destinationPort'], protocol);
  }
  if (present(obj.destinationNamedPort)) {
    const name = readString(d, obj.destinationNamedPort, [...path, 'destinationNamedPort']);
    return name === undefined ? undefined : { kind: 'named', name };
  }
  return undefined;
}

function decodeRule(d: CRDDecoder, raw: unknown, path: FieldPath, crd: CRD, direction: 'ingress' | 'egress'): AdminRule | undefined {
  const obj = readItem(d, raw, path);
  if (!obj) return undefined;
  const peerField = direction === 'ingress' ? 'from' : 'to';
  const peerKinds = direction === 'ingress' ? INGRESS_PEERS : crd.egressPeers;
  d.knownFields(obj, ['name', 'action', peerField, crd.portsField], path);

  const name = readString(d, obj.name, [...path, 'name']);
  if (name !== undefined && [...name].length > MAX_RULE_NAME_LENGTH) d.tooLong([...path, 'name'], MAX_RULE_NAME_LENGTH);

  let action: AdminRuleAction | undefined;
  if (required(d, obj, 'action', path)) {
    const text = readString(d, obj.action, [...path, 'action']);
    if (text !== undefined && !(crd.actions as readonly string[]).includes(text)) d.notSupported([...path, 'action'], text, crd.actions);
    else action = text as AdminRuleAction | undefined;
  }

  const unknownBefore = d.unknown.length;
  const peers: AdminPeer[] = [];
  const rawPeers: Json[] = [];
  if (required(d, obj, peerField, path)) {
    const peersPath = [...path, peerField];
    const list = readArray(d, obj[peerField], peersPath);
    if (list) {
      checkItems(d, peersPath, list, 1, crd.maxPeers);
      list.forEach((p, i) => {
        if (isPlainObject(p)) rawPeers.push(p);
        const peer = decodePeer(d, p, [...peersPath, i], peerKinds, crd);
        if (peer) peers.push(peer);
      });
    }
  }

  let ports: AdminPort[] | undefined;
  const rawPorts: Json[] = [];
  const portsPath = [...path, crd.portsField];
  const portList = readArray(d, obj[crd.portsField], portsPath);
  if (portList) {
    checkItems(d, portsPath, portList, 1, crd.maxPorts);
    ports = [];
    portList.forEach((p, i) => {
      if (isPlainObject(p)) rawPorts.push(p);
      const port = crd.portsField === 'ports' ? decodePortV1alpha1(d, p, [...portsPath, i]) : decodeProtocolV1alpha2(d, p, [...portsPath, i]);
      if (port) ports!.push(port);
    });
  }

  if (direction === 'egress') {
    const namedField = crd.portsField === 'ports' ? 'namedPort' : 'destinationNamedPort';
    const addressPeer = rawPeers.some((p) => crd.namedPortPeers.some((k) => present(p[k])));
    if (addressPeer && rawPorts.some((p) => present(p[namedField]))) d.invalid(path, 'object', crd.namedPortMessage);
  }

  if (action === undefined) return undefined;
  const named = name !== undefined && name !== '' ? { name } : {};
  const unknown = d.unknown.slice(unknownBefore);
  if (unknown.length > 0) return failClosed(d, unknown, named, action);
  return { ...named, action, peers, ...(ports ? { ports } : {}) };
}

/** Every address and every pod: the peers of a rule that denies all traffic. */
const ALL_PEERS: readonly AdminPeer[] = [
  { kind: 'namespaces', namespaces: { matchLabels: {}, matchExpressions: [] } },
  { kind: 'networks', networks: ['0.0.0.0/0', '::/0'] },
];

/**
 * A rule with a peer or port that sets no field Podwall knows, from a CRD newer than Podwall: "If an
 * implementation sees no fields are set then it can infer that the deployed CRD is of an incompatible
 * version with an unknown field. In that case it should fail closed. For "Allow" rules, "fail closed"
 * means: "treat the rule as matching no traffic". For "Deny" and "Pass" rules, "fail closed" means:
 * "treat the rule as a 'Deny all' rule"." (the peer types' doc, both versions; applied to ports alike).
 */
function failClosed(d: CRDDecoder, unknown: readonly FieldPath[], named: { name?: string }, action: AdminRuleAction): AdminRule {
  const allow = action === 'Allow' || action === 'Accept';
  const effect = allow ? 'the rule matches no traffic' : 'the rule denies all traffic';
  for (const path of unknown) d.notices.push({ path, message: `sets no field Podwall knows (a newer CRD?): fails closed, ${effect}` });
  return allow ? { ...named, action, peers: [] } : { ...named, action: 'Deny', peers: ALL_PEERS };
}

function decodeRules(d: CRDDecoder, spec: Json, crd: CRD, direction: 'ingress' | 'egress'): AdminRule[] {
  const path = ['spec', direction];
  const list = readArray(d, spec[direction], path);
  if (!list) return [];
  checkItems(d, path, list, undefined, crd.maxRules);
  return list.flatMap((raw, i) => {
    const rule = decodeRule(d, raw, [...path, i], crd, direction);
    return rule ? [rule] : [];
  });
}

/** A cluster-scoped object's metadata.namespace is dropped, as kubectl and the apiserver drop it. */
function withoutNamespace(obj: Json): Json {
  if (!isPlainObject(obj.metadata) || !('namespace' in obj.metadata)) return obj;
  const { namespace: _namespace, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** Decodes and validates one AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy. */
export function decodeAdminPolicy(obj: Json, options: DecodeOptions = {}): DecodedAdminPolicy {
  const d = new CRDDecoder(options);
  const kind = obj.kind as AdminPolicyKind;
  if (typeof obj.kind !== 'string' || !ADMIN_POLICY_KINDS.includes(kind)) {
    d.notSupported(['kind'], obj.kind, ADMIN_POLICY_KINDS);
    return { errors: d.errors };
  }
  const apiVersion = ADMIN_POLICY_API_VERSIONS[kind];
  if (obj.apiVersion !== apiVersion) {
    d.invalid(['apiVersion'], obj.apiVersion, `no matches for kind "${kind}" in version "${String(obj.apiVersion)}" (use ${apiVersion})`);
    return { errors: d.errors };
  }
  const crd = CRDS[kind];
  const object = withoutNamespace(obj);
  d.knownFields(object, ['apiVersion', 'kind', 'metadata', 'spec', 'status'], []);
  // Custom resources' names are DNS subdomains (apiextensions' ValidateObjectMetaAccessor, NameIsDNSSubdomain).
  const meta = decodeObjectMeta(d, object, 'subdomain');
  if (kind === 'BaselineAdminNetworkPolicy' && meta.name !== '' && meta.name !== BASELINE_NAME) d.invalid([], 'object', BASELINE_NAME_MESSAGE);

  if (!present(object.spec)) {
    d.required(['spec']);
    return { errors: d.errors };
  }
  const spec = readObject(d, object.spec, ['spec']);
  if (!spec) return { errors: d.errors };
  d.knownFields(spec, [...(crd.tier ? ['tier'] : []), ...(crd.priority ? ['priority'] : []), 'subject', 'ingress', 'egress'], ['spec']);

  let tier: AdminTier = kind === 'BaselineAdminNetworkPolicy' ? 'Baseline' : 'Admin';
  if (crd.tier && required(d, spec, 'tier', ['spec'])) {
    const text = readString(d, spec.tier, ['spec', 'tier']);
    if (text !== undefined && !(TIERS as readonly string[]).includes(text)) d.notSupported(['spec', 'tier'], text, TIERS);
    else if (text !== undefined) tier = text as AdminTier;
  }
  let priority: number | undefined;
  if (crd.priority && required(d, spec, 'priority', ['spec'])) priority = readInteger(d, spec.priority, ['spec', 'priority'], 0, 1000);
  const subject = decodeSubject(d, spec, crd);
  const ingress = decodeRules(d, spec, crd, 'ingress');
  const egress = decodeRules(d, spec, crd, 'egress');

  if (d.errors.length > 0 || !subject) return { errors: d.errors };
  return {
    errors: [],
    ...(d.notices.length > 0 ? { notices: d.notices } : {}),
    policy: { kind, apiVersion, name: meta.name, tier, ...(priority !== undefined ? { priority } : {}), subject, ingress, egress },
  };
}
