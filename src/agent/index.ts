// The agent layer: enforcement on a real cluster's nodes, fed by the Kubernetes API.
export { Agent, type AgentOptions, type AgentStatus, type SyncRecord } from './agent.js';
export { agentMetrics, serveHealth, type HealthOptions } from './health.js';
export { Reflector, listRaw } from './reflector.js';
export { CoalescingRunner } from './runner.js';
