// The engine layer: pure NetworkPolicy semantics over a loaded cluster.
export * from './types.js';
export {
  adminPolicySelects,
  compileCluster,
  policySelects,
  type AdminEffect,
  type CompiledAdminPolicy,
  type CompiledAdminPort,
  type CompiledAdminRule,
  type CompiledCluster,
  type CompiledPolicy,
  type CompiledRule,
  type CompiledPeer,
  type CompiledPort,
} from './compile.js';
export { adminPortMatches, peerMatches, portMatches, ipBlockContains } from './match.js';
export { adminPoliciesSelecting, evaluateConnection, isHairpin, isolatingPolicies, connectionAddresses, standsForOnePod } from './evaluate.js';
export { computeClasses, type EndpointClass, type EndpointClasses } from './classes.js';
export { computeMatrix, computeMatrixPairwise, declaredPorts, type Matrix, type PortProtocol } from './matrix.js';
export { explainEndpoints, type AdminPolicyExplanation, type AdminRuleExplanation, type EndpointExplanation, type DirectionExplanation, type Reach, type RuleExplanation } from './explain.js';
export {
  describeAdminPeer,
  describeAdminPort,
  describeAdminRule,
  describeAdminRuleLine,
  describeAdminSubject,
  describePeer,
  describePort,
  describeRule,
  describeVerdictSide,
  formatAdminPolicyRef,
  formatAdminRuleRef,
  formatPolicyRef,
  formatRuleRef,
  hasAdminPolicies,
} from './describe.js';
export { resolvePeer, resolveTarget, type Resolution, type TargetResolution } from './resolve.js';
export {
  computeServiceMatrix,
  destinationNotes,
  evaluateServiceConnection,
  explainServices,
  exposedOutside,
  findService,
  findServicePort,
  formatServicePort,
  OUTSIDE_ROW,
  resolveService,
  resolveTargetPort,
  serviceAddresses,
  serviceAt,
  serviceId,
  serviceSources,
  type BackendVerdict,
  type ResolvedService,
  type ServiceBackend,
  type ServiceConnectionVerdict,
  type ServiceExplanation,
  type ServiceMatrix,
  type ServiceNote,
  type ServiceNoteCode,
  type ServicePortColumn,
  type ServicePortExplanation,
} from './services.js';
export { cellsAdmission, externalAccess, openToOutside, outsideAdmission, outsideCells, tiersMatchOutside, type ExternalAccess, type OutsideCell } from './external.js';
export { diffClusters, endpointOwner, type EndpointGroup, type FlowChange, type FlowDiff, type FlowGroup, type FlowPeer, type SideReason, type VersionVerdict } from './diff.js';
export {
  judgeExpectations,
  describeCase,
  describeExpectedPeer,
  flowEndName,
  type CaseResult,
  type ExpectationProblem,
  type ExpectationsResult,
  type FlowCheck,
  type FlowEnd,
  type FlowVerdict,
} from './expectations.js';
export { lintCluster, lintRule, LINT_RULES, LINT_SEVERITIES, type LintFinding, type LintLocation, type LintObjectRef, type LintOptions, type LintRelated, type LintRule, type LintRuleId, type LintSeverity } from './lint.js';
export { fixConnection, type AddedRule, type AskedFlow, type FixAnswer, type FixQuestion, type FixStatus, type JSONPatchOperation, type PolicyChange } from './fix.js';
