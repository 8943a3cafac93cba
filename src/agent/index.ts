// The agent layer: enforcement on a real cluster's nodes, fed by the Kubernetes API.
export { Agent, kernelDataplane, STREAMS, OPTIONAL_STREAMS, type AgentDataplane, type AgentOptions, type AgentStatus, type SyncRecord } from './agent.js';
export { agentMetrics, serveHealth, type AgentView, type HealthOptions } from './health.js';
export { statusReport, type AgentStatusReport } from './health.js';
export { Reflector, listRaw, type ReflectorEvents, type Source } from './reflector.js';
export { CoalescingRunner } from './runner.js';
