// The model layer: Kubernetes objects, their loading and their validation.
export * from './types.js';
export * from './diagnostics.js';
export { parseIP, parseCIDR, cidrContains, formatIP, formatCIDR, type IPAddress, type CIDR, type IPFamily } from './cidr.js';
export { parsePortText, parseProtocolText } from './ports.js';
export { selectorMatches } from './selector-match.js';
export { formatLabelSelector, isEmptySelector } from './labels.js';
export { buildCluster, compareEndpoints, compareStrings, NAMESPACE_NAME_LABEL, type BuildResult } from './cluster.js';
export { parseManifests, MAX_ALIAS_COUNT, MAX_NESTING_DEPTH, type ManifestObject } from './parse.js';
export { isDNS1123Label } from './names.js';
export { TOTAL_ANNOTATION_SIZE_LIMIT_B } from './metadata.js';
export { loadManifests, loadTexts, clusterFromObjects, STDIN, type LoadOptions } from './load.js';
export { decodeNetworkPolicy } from './networkpolicy.js';
export { decodeAdminPolicy, ADMIN_POLICY_API_VERSIONS, ADMIN_POLICY_GROUP, ADMIN_POLICY_KINDS, type AdminPolicyNotice, type DecodedAdminPolicy } from './adminpolicy.js';
export { decodePod } from './workload.js';
export { decodeNode, type DecodedNode } from './node.js';
export { decodeService, decodeEndpointSlice, isDNS1035Label, SERVICE_NAME_LABEL, NODE_PORT_RANGE } from './service.js';
export { networkPolicyManifest, namespaceManifest, adminPolicyManifest } from './manifest.js';
export { parseLabelSelector, parseFieldSelector, type FieldRequirement } from './selector-parse.js';
export { admitObject, defaultAdminPolicy, type AdmittedKind, type Admission } from './admit.js';
export {
  decodeExpectations,
  expectationDiagnostic,
  closestWord,
  EXPECTATIONS_API_VERSION,
  EXPECTATIONS_KIND,
  EXPECTATION_VERBS,
  OUTSIDE_PEER,
  type DecodedExpectations,
  type ExpectationCase,
  type ExpectationVerb,
  type ExpectedPeer,
  type Expectations,
} from './expectations.js';
