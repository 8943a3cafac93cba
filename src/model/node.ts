// Node (core/v1), for the `nodes` peers of admin policies: its name, labels and the IP addresses in
// status.addresses; metadata validated as ValidateNode validates it, fields decoded strictly.
import { parseIP } from './cidr.js';
import { FieldDecoder, type DecodeOptions, type Json } from './decode.js';
import type { FieldError } from './diagnostics.js';
import { decodeObjectMeta } from './metadata.js';
import type { Node } from './types.js';

export interface DecodedNode {
  /** Present only when there are no errors. */
  readonly node?: Node;
  readonly errors: readonly FieldError[];
}

const NODE_SPEC_FIELDS: readonly string[] = ['podCIDR', 'podCIDRs', 'providerID', 'unschedulable', 'taints', 'configSource', 'externalID'];
const NODE_STATUS_FIELDS: readonly string[] = [
  'capacity',
  'allocatable',
  'phase',
  'conditions',
  'addresses',
  'daemonEndpoints',
  'nodeInfo',
  'images',
  'volumesInUse',
  'volumesAttached',
  'config',
  'runtimeHandlers',
  'features',
];

/** The address types that carry an IP; Hostname, InternalDNS and ExternalDNS carry names. */
const IP_ADDRESS_TYPES: readonly string[] = ['InternalIP', 'ExternalIP'];

export function decodeNode(obj: Json, options: DecodeOptions = {}): DecodedNode {
  const d = new FieldDecoder(options);
  d.knownFields(obj, ['apiVersion', 'kind', 'metadata', 'spec', 'status'], []);
  // Cluster-scoped: the apiserver clears metadata.namespace (and kubectl never sends it).
  const rawMeta = obj.metadata;
  const isMeta = typeof rawMeta === 'object' && rawMeta !== null && !Array.isArray(rawMeta);
  const { namespace: _namespace, ...metadata } = isMeta ? (rawMeta as Json) : {};
  // ValidateNodeName is NameIsDNSSubdomain.
  const meta = decodeObjectMeta(d, isMeta ? { ...obj, metadata } : obj, 'subdomain');
  const spec = d.object(obj.spec, ['spec']);
  if (spec) d.knownFields(spec, NODE_SPEC_FIELDS, ['spec']);
  const status = d.object(obj.status, ['status']) ?? {};
  d.knownFields(status, NODE_STATUS_FIELDS, ['status']);
  const addresses: string[] = [];
  // NodeAddress is not validated by the apiserver: what is not an IP is left out rather than refused.
  d.knownFieldsOfEach(status.addresses, ['type', 'address'], ['status', 'addresses']).forEach((a, i) => {
    const type = d.string(a.type, ['status', 'addresses', i, 'type']);
    const address = d.string(a.address, ['status', 'addresses', i, 'address']);
    if (type !== undefined && address !== undefined && IP_ADDRESS_TYPES.includes(type) && parseIP(address) && !addresses.includes(address)) addresses.push(address);
  });
  if (d.errors.length > 0) return { errors: d.errors };
  return { errors: [], node: { name: meta.name, labels: meta.labels, addresses } };
}
