// The engine layer: pure NetworkPolicy semantics over a loaded cluster.
export * from './types.js';
export { compileCluster, policySelects, type CompiledCluster, type CompiledPolicy, type CompiledRule, type CompiledPeer, type CompiledPort } from './compile.js';
export { peerMatches, portMatches, ipBlockContains } from './match.js';
export { evaluateConnection, isolatingPolicies, connectionAddresses } from './evaluate.js';
export { computeClasses, type EndpointClass, type EndpointClasses } from './classes.js';
export { computeMatrix, computeMatrixPairwise, declaredPorts, type Matrix, type PortProtocol } from './matrix.js';
export { explainEndpoints, type EndpointExplanation, type DirectionExplanation, type Reach, type RuleExplanation } from './explain.js';
export { describePeer, describePort, describeRule, formatPolicyRef, formatRuleRef } from './describe.js';
export { resolvePeer, type Resolution } from './resolve.js';
export { externalAccess, type ExternalAccess } from './external.js';
