// NetworkPolicy (networking.k8s.io/v1): decoded, defaulted and validated exactly as the apiserver
// does on create (pkg/apis/networking/validation ValidateNetworkPolicy, SetDefaults_NetworkPolicy).
import { cidrStrictlyContains, parseCIDR } from './cidr.js';
import { FieldDecoder, type DecodeOptions, type Json } from './decode.js';
import type { FieldError, FieldPath } from './diagnostics.js';
import { decodeLabelSelector } from './labels.js';
import { decodeObjectMeta } from './metadata.js';
import { isValidPortName, isValidPortNum } from './names.js';
import type {
  IPBlock,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicyRule,
  PolicyType,
  Protocol,
} from './types.js';

export interface DecodedPolicy {
  /** Present only when there are no errors: nothing is computed from an invalid policy. */
  readonly policy?: NetworkPolicy;
  readonly errors: readonly FieldError[];
}

const PROTOCOL_VALUES: readonly string[] = ['TCP', 'UDP', 'SCTP'];
const POLICY_TYPE_VALUES: readonly string[] = ['Ingress', 'Egress'];

function decodePort(d: FieldDecoder, raw: unknown, path: FieldPath): NetworkPolicyPort | undefined {
  const obj = d.object(raw, path);
  if (!obj) return { protocol: 'TCP' };
  d.knownFields(obj, ['protocol', 'port', 'endPort'], path);
  // "If not specified, this field defaults to TCP."
  const protocol = d.string(obj.protocol, [...path, 'protocol']) ?? 'TCP';
  if (!PROTOCOL_VALUES.includes(protocol)) d.notSupported([...path, 'protocol'], protocol, PROTOCOL_VALUES);
  const endPort = d.integer(obj.endPort, [...path, 'endPort']);
  let port: number | string | undefined;
  if (typeof obj.port === 'number') {
    port = d.integer(obj.port, [...path, 'port']);
    if (port !== undefined) {
      for (const msg of isValidPortNum(port)) d.invalid([...path, 'port'], port, msg);
      if (endPort !== undefined) {
        if (endPort < port) d.invalid([...path, 'endPort'], endPort, 'must be greater than or equal to `port`');
        for (const msg of isValidPortNum(endPort)) d.invalid([...path, 'endPort'], endPort, msg);
      }
    }
  } else if (obj.port !== undefined && obj.port !== null) {
    port = d.string(obj.port, [...path, 'port']);
    if (port !== undefined) {
      if (endPort !== undefined) {
        d.invalid([...path, 'endPort'], endPort, 'may not be specified when `port` is non-numeric');
      }
      for (const msg of isValidPortName(port)) d.invalid([...path, 'port'], port, msg);
    }
  } else if (endPort !== undefined) {
    d.invalid([...path, 'endPort'], endPort, 'may not be specified when `port` is not specified');
  }
  return { protocol: protocol as Protocol, port, endPort: port === undefined ? undefined : endPort };
}

function decodeIPBlock(d: FieldDecoder, raw: unknown, path: FieldPath): IPBlock | undefined {
  const obj = d.object(raw, path);
  if (!obj) return undefined;
  d.knownFields(obj, ['cidr', 'except'], path);
  const cidrText = d.string(obj.cidr, [...path, 'cidr']) ?? '';
  const except: string[] = [];
  const exceptRaw = d.array(obj.except, [...path, 'except']);
  if (cidrText === '') {
    d.required([...path, 'cidr']);
    return undefined;
  }
  const cidr = parseCIDR(cidrText);
  for (const msg of cidr.errors) d.invalid([...path, 'cidr'], cidrText, msg);
  if (!cidr.cidr) return undefined;
  exceptRaw.forEach((rawExcept, i) => {
    const exceptPath = [...path, 'except', i];
    const text = d.string(rawExcept, exceptPath);
    if (text === undefined) return;
    const parsed = parseCIDR(text);
    for (const msg of parsed.errors) d.invalid(exceptPath, text, msg);
    if (!parsed.cidr) return;
    if (!cidrStrictlyContains(cidr.cidr, parsed.cidr)) d.invalid(exceptPath, text, 'must be a strict subset of `cidr`');
    except.push(text);
  });
  return { cidr: cidrText, except };
}

function decodePeer(d: FieldDecoder, raw: unknown, path: FieldPath): NetworkPolicyPeer | undefined {
  const obj = d.object(raw, path) ?? {};
  d.knownFields(obj, ['podSelector', 'namespaceSelector', 'ipBlock'], path);
  let count = 0;
  const peer: { -readonly [K in keyof NetworkPolicyPeer]: NetworkPolicyPeer[K] } = {};
  // A present-but-null selector is "not set" to the Go decoder, so only objects count.
  if (obj.podSelector !== undefined && obj.podSelector !== null) {
    count++;
    peer.podSelector = decodeLabelSelector(d, obj.podSelector, [...path, 'podSelector']);
  }
  if (obj.namespaceSelector !== undefined && obj.namespaceSelector !== null) {
    count++;
    peer.namespaceSelector = decodeLabelSelector(d, obj.namespaceSelector, [...path, 'namespaceSelector']);
  }
  if (obj.ipBlock !== undefined && obj.ipBlock !== null) {
    count++;
    peer.ipBlock = decodeIPBlock(d, obj.ipBlock, [...path, 'ipBlock']);
  }
  if (count === 0) d.required(path, 'must specify a peer');
  else if (count > 1 && peer.ipBlock !== undefined) d.forbidden(path, 'may not specify both ipBlock and another peer');
  return peer;
}

function decodeRules(d: FieldDecoder, raw: unknown, path: FieldPath, peerField: 'from' | 'to'): NetworkPolicyRule[] {
  return d.array(raw, path).map((rawRule, i) => {
    const rulePath = [...path, i];
    const rule = d.object(rawRule, rulePath) ?? {};
    d.knownFields(rule, ['ports', peerField], rulePath);
    const ports = d
      .array(rule.ports, [...rulePath, 'ports'])
      .map((p, j) => decodePort(d, p, [...rulePath, 'ports', j]))
      .filter((p): p is NetworkPolicyPort => p !== undefined);
    const peers = d
      .array(rule[peerField], [...rulePath, peerField])
      .map((p, j) => decodePeer(d, p, [...rulePath, peerField, j]))
      .filter((p): p is NetworkPolicyPeer => p !== undefined);
    // "If this field is empty or missing, this rule matches all ports/sources/destinations."
    return { ports: ports.length > 0 ? ports : undefined, peers: peers.length > 0 ? peers : undefined };
  });
}

function decodePolicyTypes(d: FieldDecoder, raw: unknown, hasEgress: boolean): PolicyType[] {
  const path = ['spec', 'policyTypes'];
  const values = d.array(raw, path).map((v, i) => d.string(v, [...path, i]) ?? '');
  if (values.length > 2) {
    d.invalid(path, values, 'may not specify more than two policyTypes');
    return [];
  }
  values.forEach((v, i) => {
    if (!POLICY_TYPE_VALUES.includes(v)) d.notSupported([...path, i], v, POLICY_TYPE_VALUES);
  });
  if (values.length === 0) {
    // SetDefaults_NetworkPolicy: "Any policy that does not specify policyTypes implies at least
    // Ingress", plus Egress when the policy has egress rules.
    return hasEgress ? ['Ingress', 'Egress'] : ['Ingress'];
  }
  return [...new Set(values)].filter((v): v is PolicyType => POLICY_TYPE_VALUES.includes(v));
}

/** Decodes and validates one NetworkPolicy object. */
export function decodeNetworkPolicy(obj: Json, defaultNamespace: string, options: DecodeOptions = {}): DecodedPolicy {
  const d = new FieldDecoder(options);
  d.knownFields(obj, ['apiVersion', 'kind', 'metadata', 'spec', 'status'], []);
  const meta = decodeObjectMeta(d, obj, 'subdomain');
  const spec = d.object(obj.spec, ['spec']) ?? {};
  d.knownFields(spec, ['podSelector', 'policyTypes', 'ingress', 'egress'], ['spec']);
  const podSelector = decodeLabelSelector(d, spec.podSelector, ['spec', 'podSelector']);
  const ingress = decodeRules(d, spec.ingress, ['spec', 'ingress'], 'from');
  const egress = decodeRules(d, spec.egress, ['spec', 'egress'], 'to');
  const policyTypes = decodePolicyTypes(d, spec.policyTypes, egress.length > 0);
  if (d.errors.length > 0) return { errors: d.errors };
  return {
    errors: [],
    policy: {
      namespace: meta.namespace ?? defaultNamespace,
      name: meta.name,
      spec: { podSelector, policyTypes, ingress, egress },
    },
  };
}
