// Service (core/v1) and EndpointSlice (discovery.k8s.io/v1): decoded, defaulted and validated as the
// apiserver does on create (pkg/apis/core/validation ValidateService, pkg/apis/core/v1
// SetDefaults_Service, pkg/apis/discovery/validation ValidateEndpointSlice), strictly field-checked.
import { parseCIDR, parseIP } from './cidr.js';
import { FieldDecoder, type DecodeOptions, type Json } from './decode.js';
import type { FieldError, FieldPath } from './diagnostics.js';
import { decodeLabels } from './labels.js';
import { decodeObjectMeta } from './metadata.js';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidPortName, isValidPortNum } from './names.js';
import { TOP_LEVEL_FIELDS } from './status.js';
import type {
  EndpointSlice,
  EndpointSliceAddressType,
  EndpointSliceEndpoint,
  EndpointSlicePort,
  ExternalTrafficPolicy,
  Labels,
  Protocol,
  Service,
  ServicePort,
  ServiceType,
} from './types.js';

/** The label that ties an EndpointSlice to its Service (discovery/v1 LabelServiceName). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** The apiserver's default --service-node-port-range. */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

const SERVICE_SPEC_FIELDS: readonly string[] = [
  'ports',
  'selector',
  'clusterIP',
  'clusterIPs',
  'type',
  'externalIPs',
  'sessionAffinity',
  'loadBalancerIP',
  'loadBalancerSourceRanges',
  'externalName',
  'externalTrafficPolicy',
  'healthCheckNodePort',
  'publishNotReadyAddresses',
  'sessionAffinityConfig',
  'ipFamilies',
  'ipFamilyPolicy',
  'allocateLoadBalancerNodePorts',
  'loadBalancerClass',
  'internalTrafficPolicy',
  'trafficDistribution',
];
const SERVICE_PORT_FIELDS: readonly string[] = ['name', 'protocol', 'appProtocol', 'port', 'targetPort', 'nodePort'];
const LOAD_BALANCER_INGRESS_FIELDS: readonly string[] = ['ip', 'hostname', 'ipMode', 'ports'];
const CONDITION_FIELDS: readonly string[] = ['type', 'status', 'observedGeneration', 'lastTransitionTime', 'reason', 'message'];

// sets.List order: the apiserver lists supported values sorted.
const PROTOCOL_VALUES: readonly string[] = ['SCTP', 'TCP', 'UDP'];
const TYPE_VALUES: readonly string[] = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const TRAFFIC_POLICY_VALUES: readonly string[] = ['Cluster', 'Local'];
const SESSION_AFFINITY_VALUES: readonly string[] = ['ClientIP', 'None'];
const IP_FAMILY_VALUES: readonly string[] = ['IPv4', 'IPv6'];
const IP_FAMILY_POLICY_VALUES: readonly string[] = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
const MAX_CLIENT_IP_AFFINITY_SECONDS = 86400;
const IP_INVALID = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const DNS1035_LABEL_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";

/** IsDNS1035Label, as ValidateServiceName (NameIsDNS1035Label) checks a Service's name. */
export function isDNS1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!new RegExp(`^${DNS1035_LABEL_FMT}$`).test(value)) {
    errs.push(`${DNS1035_LABEL_MSG} (e.g. 'my-name',  or 'abc-123', regex used for validation is '${DNS1035_LABEL_FMT}')`);
  }
  return errs;
}

export interface DecodedService {
  /** Present only when there are no errors. */
  readonly service?: Service;
  readonly errors: readonly FieldError[];
}

export interface DecodedEndpointSlice {
  readonly slice?: EndpointSlice;
  readonly errors: readonly FieldError[];
}

const duplicate = (d: FieldDecoder, path: FieldPath, value: unknown): void => {
  d.errors.push({ type: 'Invalid', path, value, detail: 'Duplicate value' });
};

/** Decodes metadata with a Service's name rule (DNS-1035), in place of the DNS-1123 label check. */
function decodeServiceMeta(d: FieldDecoder, obj: Json): { name: string; namespace?: string } {
  const before = d.errors.length;
  const meta = decodeObjectMeta(d, obj, 'label');
  const isName = (e: FieldError): boolean => e.type === 'Invalid' && e.path.length === 2 && e.path[0] === 'metadata' && e.path[1] === 'name';
  const kept = d.errors.slice(before).filter((e) => !isName(e));
  d.errors.length = before;
  const rawName = (obj.metadata as Json | undefined)?.name;
  if (typeof rawName === 'string' && rawName !== '') for (const msg of isDNS1035Label(rawName)) d.invalid(['metadata', 'name'], rawName, msg);
  for (const e of kept) d.errors.push(e);
  return meta;
}

interface RawPort {
  readonly port: ServicePort;
  readonly path: FieldPath;
}

/** validateServicePort, after SetDefaults_Service (protocol TCP; targetPort 0 or "" becomes port). */
function decodeServicePort(d: FieldDecoder, raw: unknown, path: FieldPath, requireName: boolean, names: Set<string>): RawPort | undefined {
  const obj = d.object(raw, path);
  if (!obj) return undefined;
  d.knownFields(obj, SERVICE_PORT_FIELDS, path);
  const name = d.string(obj.name, [...path, 'name']) ?? '';
  if (requireName && name === '') d.required([...path, 'name']);
  else if (name !== '') {
    for (const msg of isDNS1123Label(name)) d.invalid([...path, 'name'], name, msg);
    if (names.has(name)) duplicate(d, [...path, 'name'], name);
    else names.add(name);
  }
  // A missing port is 0 to the Go decoder, and 0 is out of range.
  const port = d.integer(obj.port, [...path, 'port']) ?? (obj.port === undefined || obj.port === null ? 0 : undefined);
  if (port !== undefined) for (const msg of isValidPortNum(port)) d.invalid([...path, 'port'], port, msg);
  const protocol = d.string(obj.protocol, [...path, 'protocol']) || 'TCP';
  if (!PROTOCOL_VALUES.includes(protocol)) d.notSupported([...path, 'protocol'], protocol, PROTOCOL_VALUES);
  // ValidatePortNumOrName: an IntOrString; a quoted number stays a (badly named) name.
  let targetPort: number | string = port ?? 0;
  const tp = obj.targetPort;
  if (typeof tp === 'number') {
    const n = d.integer(tp, [...path, 'targetPort']);
    if (n !== undefined && n !== 0) {
      for (const msg of isValidPortNum(n)) d.invalid([...path, 'targetPort'], n, msg);
      targetPort = n;
    }
  } else if (tp !== undefined && tp !== null) {
    const s = d.string(tp, [...path, 'targetPort']);
    if (s !== undefined && s !== '') {
      for (const msg of isValidPortName(s)) d.invalid([...path, 'targetPort'], s, msg);
      targetPort = s;
    }
  }
  const appProtocol = d.string(obj.appProtocol, [...path, 'appProtocol']);
  if (appProtocol !== undefined) for (const msg of isQualifiedName(appProtocol)) d.invalid([...path, 'appProtocol'], appProtocol, msg);
  const nodePort = d.integer(obj.nodePort, [...path, 'nodePort']);
  return {
    path,
    port: {
      name: name || undefined,
      protocol: protocol as Protocol,
      port: port ?? 0,
      targetPort,
      nodePort: nodePort || undefined,
      appProtocol,
    },
  };
}

function decodeStrings(d: FieldDecoder, value: unknown, path: FieldPath): string[] {
  const out: string[] = [];
  d.array(value, path).forEach((v, i) => {
    const s = d.string(v, [...path, i]);
    if (s !== undefined) out.push(s);
  });
  return out;
}

/** ValidateServiceClusterIPsRelatedFields, after the create strategy copies clusterIP into clusterIPs. */
function checkClusterIPs(d: FieldDecoder, clusterIP: string, clusterIPs: string[], ipFamilies: string[], headless: boolean): void {
  const path: FieldPath = ['spec', 'clusterIPs'];
  if (clusterIP !== '') {
    if (clusterIPs[0] !== clusterIP) d.invalid(path, clusterIPs, 'first value must match `clusterIP`');
  } else if (clusterIPs.length > 0) {
    d.invalid(path, clusterIPs, 'must be empty when `clusterIP` is not specified');
  }
  let invalidIPs = false;
  clusterIPs.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (clusterIPs.length > 1) {
        invalidIPs = true;
        d.invalid(path, clusterIPs, "'None' must be the first and only value");
      }
      return;
    }
    if (!parseIP(ip)) {
      invalidIPs = true;
      d.invalid([...path, i], ip, IP_INVALID);
    }
  });
  if (clusterIPs.length > 2) d.invalid(path, clusterIPs, 'may only hold up to 2 values');
  if (invalidIPs) return;
  if (clusterIPs.length === 2 && parseIP(clusterIPs[0])?.family === parseIP(clusterIPs[1])?.family) {
    d.invalid(path, clusterIPs, 'may specify no more than one IP for each IP family');
  }
  if (headless) return;
  clusterIPs.forEach((ip, i) => {
    if (i >= ipFamilies.length) return;
    const v6 = parseIP(ip)?.family === 6;
    if (ipFamilies[i] === 'IPv4' && v6) d.invalid([...path, i], ip, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``);
    if (ipFamilies[i] === 'IPv6' && !v6) d.invalid([...path, i], ip, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``);
  });
}

/** ServiceStatus: field names only, and the load balancers' addresses. */
function decodeServiceStatus(d: FieldDecoder, value: unknown): string[] {
  const status = d.object(value, ['status']);
  if (!status) return [];
  d.knownFields(status, ['loadBalancer', 'conditions'], ['status']);
  d.knownFieldsOfEach(status.conditions, CONDITION_FIELDS, ['status', 'conditions']);
  const lb = d.object(status.loadBalancer, ['status', 'loadBalancer']);
  if (!lb) return [];
  d.knownFields(lb, ['ingress'], ['status', 'loadBalancer']);
  const ips: string[] = [];
  d.knownFieldsOfEach(lb.ingress, LOAD_BALANCER_INGRESS_FIELDS, ['status', 'loadBalancer', 'ingress']).forEach((ingress, i) => {
    const path = ['status', 'loadBalancer', 'ingress', i];
    d.knownFieldsOfEach(ingress.ports, ['port', 'protocol', 'error'], [...path, 'ports']);
    const ip = d.string(ingress.ip, [...path, 'ip']);
    if (ip === undefined || ip === '') return;
    if (!parseIP(ip)) d.invalid([...path, 'ip'], ip, IP_INVALID);
    else ips.push(ip);
  });
  return ips;
}

/** Decodes, defaults and validates one Service object. */
export function decodeService(obj: Json, defaultNamespace: string, options: DecodeOptions = {}): DecodedService {
  const d = new FieldDecoder(options);
  d.knownFields(obj, TOP_LEVEL_FIELDS, []);
  const meta = decodeServiceMeta(d, obj);
  const spec = d.object(obj.spec, ['spec']) ?? {};
  d.knownFields(spec, SERVICE_SPEC_FIELDS, ['spec']);

  // SetDefaults_Service: "ClusterIP" when unset.
  const type = d.string(spec.type, ['spec', 'type']) || 'ClusterIP';
  if (!TYPE_VALUES.includes(type)) d.notSupported(['spec', 'type'], type, TYPE_VALUES);

  const clusterIP = d.string(spec.clusterIP, ['spec', 'clusterIP']) ?? '';
  let clusterIPs = decodeStrings(d, spec.clusterIPs, ['spec', 'clusterIPs']);
  if (clusterIP !== '' && clusterIPs.length === 0) clusterIPs = [clusterIP];
  const headless = clusterIPs.length === 1 && clusterIPs[0] === 'None';
  const ipFamilies = decodeStrings(d, spec.ipFamilies, ['spec', 'ipFamilies']);
  const ipFamilyPolicy = d.string(spec.ipFamilyPolicy, ['spec', 'ipFamilyPolicy']);

  const rawPorts = d.array(spec.ports, ['spec', 'ports']);
  if (rawPorts.length === 0 && !headless && type !== 'ExternalName') d.required(['spec', 'ports']);
  switch (type) {
    case 'LoadBalancer':
    case 'NodePort':
      if (headless) d.invalid(['spec', 'clusterIPs', 0], 'None', `may not be set to 'None' for ${type} services`);
      break;
    case 'ExternalName': {
      if (clusterIPs.length > 0) d.forbidden(['spec', 'clusterIPs'], 'may not be set for ExternalName services');
      if (ipFamilies.length > 0) d.forbidden(['spec', 'ipFamilies'], 'may not be set for ExternalName services');
      if (ipFamilyPolicy !== undefined) d.forbidden(['spec', 'ipFamilyPolicy'], 'may not be set for ExternalName services');
      break;
    }
  }
  let externalName: string | undefined;
  if (type === 'ExternalName') {
    // "The value (a CNAME) may have a trailing dot to denote it as fully qualified."
    const cname = (d.string(spec.externalName, ['spec', 'externalName']) ?? '').replace(/\.$/, '');
    if (cname === '') d.required(['spec', 'externalName']);
    else for (const msg of isDNS1123Subdomain(cname)) d.invalid(['spec', 'externalName'], cname, msg);
    externalName = cname || undefined;
  }

  const names = new Set<string>();
  const ports = rawPorts
    .map((raw, i) => decodeServicePort(d, raw, ['spec', 'ports', i], rawPorts.length > 1, names))
    .filter((p): p is RawPort => p !== undefined);

  const selectorRaw = spec.selector;
  const selector: Labels = selectorRaw === undefined || selectorRaw === null ? {} : decodeLabels(d, selectorRaw, ['spec', 'selector']);

  const sessionAffinity = d.string(spec.sessionAffinity, ['spec', 'sessionAffinity']) || 'None';
  if (!SESSION_AFFINITY_VALUES.includes(sessionAffinity)) d.notSupported(['spec', 'sessionAffinity'], sessionAffinity, SESSION_AFFINITY_VALUES);
  const affinityConfig = d.object(spec.sessionAffinityConfig, ['spec', 'sessionAffinityConfig']);
  if (affinityConfig) {
    d.knownFields(affinityConfig, ['clientIP'], ['spec', 'sessionAffinityConfig']);
    const clientIP = d.object(affinityConfig.clientIP, ['spec', 'sessionAffinityConfig', 'clientIP']);
    if (clientIP) {
      const path = ['spec', 'sessionAffinityConfig', 'clientIP', 'timeoutSeconds'];
      d.knownFields(clientIP, ['timeoutSeconds'], path.slice(0, -1));
      const timeout = d.integer(clientIP.timeoutSeconds, path);
      // SetDefaults_Service drops the config when affinity is None.
      if (sessionAffinity === 'ClientIP' && timeout !== undefined && !(timeout > 0 && timeout <= MAX_CLIENT_IP_AFFINITY_SECONDS)) {
        d.invalid(path, timeout, `must be greater than 0 and less than ${MAX_CLIENT_IP_AFFINITY_SECONDS}`);
      }
    }
  }

  ipFamilies.forEach((f, i) => {
    if (!IP_FAMILY_VALUES.includes(f)) d.notSupported(['spec', 'ipFamilies', i], f, IP_FAMILY_VALUES);
    if (ipFamilies.indexOf(f) < i) duplicate(d, ['spec', 'ipFamilies', i], f);
  });
  if (ipFamilyPolicy !== undefined && type !== 'ExternalName' && !IP_FAMILY_POLICY_VALUES.includes(ipFamilyPolicy)) {
    d.notSupported(['spec', 'ipFamilyPolicy'], ipFamilyPolicy, IP_FAMILY_POLICY_VALUES);
  }
  if (type !== 'ExternalName') checkClusterIPs(d, clusterIP, clusterIPs, ipFamilies, headless);

  const externalIPs = decodeStrings(d, spec.externalIPs, ['spec', 'externalIPs']);
  externalIPs.forEach((ip, i) => {
    if (!parseIP(ip)) d.invalid(['spec', 'externalIPs', i], ip, IP_INVALID);
  });

  for (const { port, path } of ports) {
    if (type === 'ClusterIP' && port.nodePort !== undefined) d.forbidden([...path, 'nodePort'], "may not be used when `type` is 'ClusterIP'");
    // The node port allocator's range check (the default --service-node-port-range).
    if ((type === 'NodePort' || type === 'LoadBalancer') && port.nodePort !== undefined && (port.nodePort < NODE_PORT_RANGE.min || port.nodePort > NODE_PORT_RANGE.max)) {
      d.invalid([...path, 'nodePort'], port.nodePort, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`);
    }
  }
  const nodePorts = new Set<string>();
  const servicePorts = new Set<string>();
  for (const { port, path } of ports) {
    if (port.nodePort !== undefined) {
      const key = `${port.protocol}/${port.nodePort}`;
      if (nodePorts.has(key)) duplicate(d, [...path, 'nodePort'], port.nodePort);
      nodePorts.add(key);
    }
    const key = `${port.protocol}/${port.port}`;
    if (servicePorts.has(key)) duplicate(d, path, { port: port.port, protocol: port.protocol });
    servicePorts.add(key);
  }

  const sourceRanges = decodeStrings(d, spec.loadBalancerSourceRanges, ['spec', 'loadBalancerSourceRanges']);
  if (sourceRanges.length > 0) {
    // The apiserver names this field with a capital L in its errors.
    const path = ['spec', 'LoadBalancerSourceRanges'];
    if (type !== 'LoadBalancer') d.forbidden(path, "may only be used when `type` is 'LoadBalancer'");
    sourceRanges.forEach((r, i) => {
      if (!parseCIDR(r.trim()).cidr) d.invalid([...path, i], r.trim(), 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)');
    });
  }
  const allocate = d.boolean(spec.allocateLoadBalancerNodePorts, ['spec', 'allocateLoadBalancerNodePorts']);
  if (allocate !== undefined && type !== 'LoadBalancer') d.forbidden(['spec', 'allocateLoadBalancerNodePorts'], "may only be used when `type` is 'LoadBalancer'");

  // ExternallyAccessible: NodePort, LoadBalancer, or ClusterIP with externalIPs; defaulted to Cluster.
  const accessible = type === 'NodePort' || type === 'LoadBalancer' || (type === 'ClusterIP' && externalIPs.length > 0);
  const trafficPolicyRaw = d.string(spec.externalTrafficPolicy, ['spec', 'externalTrafficPolicy']) ?? '';
  let externalTrafficPolicy: ExternalTrafficPolicy | undefined;
  if (!accessible) {
    if (trafficPolicyRaw !== '') d.invalid(['spec', 'externalTrafficPolicy'], trafficPolicyRaw, 'may only be set for externally-accessible services');
  } else if (trafficPolicyRaw !== '' && !TRAFFIC_POLICY_VALUES.includes(trafficPolicyRaw)) {
    d.notSupported(['spec', 'externalTrafficPolicy'], trafficPolicyRaw, TRAFFIC_POLICY_VALUES);
  } else {
    externalTrafficPolicy = (trafficPolicyRaw || 'Cluster') as ExternalTrafficPolicy;
  }
  const healthCheckNodePort = d.integer(spec.healthCheckNodePort, ['spec', 'healthCheckNodePort']);
  if (healthCheckNodePort) {
    if (!(type === 'LoadBalancer' && externalTrafficPolicy === 'Local')) {
      d.invalid(['spec', 'healthCheckNodePort'], healthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'");
    } else for (const msg of isValidPortNum(healthCheckNodePort)) d.invalid(['spec', 'healthCheckNodePort'], healthCheckNodePort, msg);
  }
  const internalTrafficPolicy = d.string(spec.internalTrafficPolicy, ['spec', 'internalTrafficPolicy']);
  if (internalTrafficPolicy !== undefined && !TRAFFIC_POLICY_VALUES.includes(internalTrafficPolicy)) {
    d.notSupported(['spec', 'internalTrafficPolicy'], internalTrafficPolicy, TRAFFIC_POLICY_VALUES);
  }
  d.string(spec.loadBalancerClass, ['spec', 'loadBalancerClass']);
  d.string(spec.trafficDistribution, ['spec', 'trafficDistribution']);
  const publishNotReadyAddresses = d.boolean(spec.publishNotReadyAddresses, ['spec', 'publishNotReadyAddresses']) ?? false;

  const loadBalancerIPs: string[] = [];
  const lbIP = d.string(spec.loadBalancerIP, ['spec', 'loadBalancerIP']);
  if (lbIP && parseIP(lbIP)) loadBalancerIPs.push(lbIP);
  for (const ip of decodeServiceStatus(d, obj.status)) if (!loadBalancerIPs.includes(ip)) loadBalancerIPs.push(ip);

  if (d.errors.length > 0) return { errors: d.errors };
  return {
    errors: [],
    service: {
      namespace: meta.namespace ?? defaultNamespace,
      name: meta.name,
      type: type as ServiceType,
      // "If empty or not present, the service is assumed to have an external process managing its endpoints."
      selector: Object.keys(selector).length > 0 && type !== 'ExternalName' ? selector : undefined,
      ports: ports.map((p) => p.port),
      clusterIPs: type === 'ExternalName' ? [] : clusterIPs,
      headless,
      externalIPs,
      loadBalancerIPs: type === 'LoadBalancer' ? loadBalancerIPs : [],
      loadBalancerSourceRanges: sourceRanges.map((r) => r.trim()),
      externalName,
      externalTrafficPolicy,
      publishNotReadyAddresses,
    },
  };
}

const ENDPOINT_FIELDS: readonly string[] = ['addresses', 'conditions', 'hostname', 'targetRef', 'deprecatedTopology', 'nodeName', 'zone', 'hints'];
const OBJECT_REFERENCE_FIELDS: readonly string[] = ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'];
const ADDRESS_TYPES: readonly string[] = ['FQDN', 'IPv4', 'IPv6'];
/** discovery validation's limits: endpoints per slice, addresses per endpoint, ports per slice. */
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 20000;

function decodeSliceEndpoint(d: FieldDecoder, obj: Json, path: FieldPath, addressType: string): EndpointSliceEndpoint {
  const addressesPath = [...path, 'addresses'];
  const addresses = decodeStrings(d, obj.addresses, addressesPath);
  if (addresses.length === 0) d.required(addressesPath, 'must contain at least 1 address');
  else if (addresses.length > MAX_ADDRESSES) d.errors.push({ type: 'Invalid', path: addressesPath, value: addresses.length, detail: `must have at most ${MAX_ADDRESSES} items` });
  addresses.forEach((a, i) => {
    const ip = parseIP(a);
    if (addressType === 'IPv4' && ip?.family !== 4) d.invalid([...addressesPath, i], a, 'must be a valid IPv4 address');
    else if (addressType === 'IPv6' && ip?.family !== 6) d.invalid([...addressesPath, i], a, 'must be a valid IPv6 address');
    else if (addressType === 'FQDN') for (const msg of isDNS1123Subdomain(a)) d.invalid([...addressesPath, i], a, msg);
  });
  const conditions = d.object(obj.conditions, [...path, 'conditions']);
  let ready = true;
  if (conditions) {
    d.knownFields(conditions, ['ready', 'serving', 'terminating'], [...path, 'conditions']);
    ready = d.boolean(conditions.ready, [...path, 'conditions', 'ready']) ?? true;
    d.boolean(conditions.serving, [...path, 'conditions', 'serving']);
    d.boolean(conditions.terminating, [...path, 'conditions', 'terminating']);
  }
  const hostname = d.string(obj.hostname, [...path, 'hostname']);
  if (hostname) for (const msg of isDNS1123Label(hostname)) d.invalid([...path, 'hostname'], hostname, msg);
  d.stringMap(obj.deprecatedTopology, [...path, 'deprecatedTopology']);
  const hints = d.object(obj.hints, [...path, 'hints']);
  if (hints) {
    d.knownFields(hints, ['forZones', 'forNodes'], [...path, 'hints']);
    d.knownFieldsOfEach(hints.forZones, ['name'], [...path, 'hints', 'forZones']);
    d.knownFieldsOfEach(hints.forNodes, ['name'], [...path, 'hints', 'forNodes']);
  }
  d.string(obj.zone, [...path, 'zone']);
  const nodeName = d.string(obj.nodeName, [...path, 'nodeName']) || undefined;
  const ref = d.object(obj.targetRef, [...path, 'targetRef']);
  let targetRef: EndpointSliceEndpoint['targetRef'];
  if (ref) {
    d.knownFields(ref, OBJECT_REFERENCE_FIELDS, [...path, 'targetRef']);
    const kind = d.string(ref.kind, [...path, 'targetRef', 'kind']);
    const name = d.string(ref.name, [...path, 'targetRef', 'name']);
    const namespace = d.string(ref.namespace, [...path, 'targetRef', 'namespace']) || undefined;
    if (kind && name) targetRef = { kind, name, namespace };
  }
  return { addresses, ready, targetRef, nodeName };
}

/** Decodes and validates one EndpointSlice (ValidateEndpointSlice; ports defaulted: name "", protocol TCP). */
export function decodeEndpointSlice(obj: Json, defaultNamespace: string, options: DecodeOptions = {}): DecodedEndpointSlice {
  const d = new FieldDecoder(options);
  d.knownFields(obj, ['apiVersion', 'kind', 'metadata', 'addressType', 'endpoints', 'ports'], []);
  const meta = decodeObjectMeta(d, obj, 'subdomain');
  const addressType = d.string(obj.addressType, ['addressType']) ?? '';
  if (addressType === '') d.required(['addressType']);
  else if (!ADDRESS_TYPES.includes(addressType)) d.notSupported(['addressType'], addressType, ADDRESS_TYPES);

  const rawEndpoints = d.array(obj.endpoints, ['endpoints']);
  if (rawEndpoints.length > MAX_ENDPOINTS) d.errors.push({ type: 'Invalid', path: ['endpoints'], value: rawEndpoints.length, detail: `must have at most ${MAX_ENDPOINTS} items` });
  const endpoints = d
    .knownFieldsOfEach(rawEndpoints, ENDPOINT_FIELDS, ['endpoints'])
    .map((e, i) => decodeSliceEndpoint(d, e, ['endpoints', i], addressType));

  const rawPorts = d.array(obj.ports, ['ports']);
  if (rawPorts.length > MAX_PORTS) d.errors.push({ type: 'Invalid', path: ['ports'], value: rawPorts.length, detail: `must have at most ${MAX_PORTS} items` });
  const names = new Set<string>();
  const ports: EndpointSlicePort[] = [];
  d.knownFieldsOfEach(rawPorts, ['name', 'protocol', 'port', 'appProtocol'], ['ports']).forEach((p, i) => {
    const path = ['ports', i];
    const name = d.string(p.name, [...path, 'name']) ?? '';
    if (name !== '') for (const msg of isDNS1123Label(name)) d.invalid([...path, 'name'], name, msg);
    if (names.has(name)) duplicate(d, [...path, 'name'], name);
    names.add(name);
    const protocol = d.string(p.protocol, [...path, 'protocol']) || 'TCP';
    if (!PROTOCOL_VALUES.includes(protocol)) d.notSupported([...path, 'protocol'], protocol, PROTOCOL_VALUES);
    const port = d.integer(p.port, [...path, 'port']);
    if (port !== undefined) for (const msg of isValidPortNum(port)) d.invalid([...path, 'port'], port, msg);
    const appProtocol = d.string(p.appProtocol, [...path, 'appProtocol']);
    if (appProtocol !== undefined) for (const msg of isQualifiedName(appProtocol)) d.invalid([...path, 'appProtocol'], appProtocol, msg);
    ports.push({ name, protocol: protocol as Protocol, port });
  });

  if (d.errors.length > 0) return { errors: d.errors };
  const labels = (((obj.metadata as Json | undefined)?.labels ?? {}) as Record<string, unknown>)[SERVICE_NAME_LABEL];
  return {
    errors: [],
    slice: {
      namespace: meta.namespace ?? defaultNamespace,
      name: meta.name,
      serviceName: typeof labels === 'string' && labels !== '' ? labels : undefined,
      addressType: addressType as EndpointSliceAddressType,
      endpoints,
      ports,
    },
  };
}
