// The lab layer: a cluster on this machine (one node, or several), built from the same parts as a real one.
export {
  Lab,
  LabInputError,
  LabChangeInterrupted,
  LabPodsNotReady,
  LAB_MAX_PODS,
  defaultStateRoot,
  labDaemonContext,
  DEFAULT_POD_CIDR,
  DEFAULT_API_PORT,
  type ChangeReport,
  type LabOptions,
  type LabSettings,
  type LabDaemonState,
  type Convergence,
} from './lab.js';
export { LabPrerequisiteError } from './host.js';
export { DEFAULT_LAB } from './names.js';
export { TOPOLOGIES, MAX_NODES, type TopologyKind, type Topology, type LabNode } from './topology.js';
export { agentStatus, type NodeAgentStatus } from './agents.js';
export type { ProbeReport, ServiceProbeReport, ServiceColumn } from './probe.js';
export { OUTSIDE } from './probe.js';
export { LabApiServer } from './api/server.js';
export { labCredentials, writeKubeconfig, kubeconfigPath, type Credentials } from './api/credentials.js';
export { LabStore, type StoredKind } from './store.js';
export { dnsAddress } from './services.js';
export { OWNER_ANNOTATION } from './pods.js';
