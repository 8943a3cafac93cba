// Reads a running cluster through its API, for every analysis command (`--cluster`,
// `--kubeconfig`, `--context`).
import type { Cluster } from '../model/index.js';
import type { AnalysisInputOptions } from './input.js';
import { UsageError, type Output } from './output.js';

/** What the cluster's DaemonSets say about whether anything enforces NetworkPolicy. */
export interface PolicyEnforcement {
  /** true: a known enforcing CNI runs; false: only a known non-enforcing one; undefined: cannot tell. */
  readonly enforced: boolean | undefined;
  /** One line: what was found (DaemonSet and image) and what it means. */
  readonly reason: string;
}

export async function readLiveCluster(_options: AnalysisInputOptions, _io: Output): Promise<Cluster> {
  throw new UsageError('reading a running cluster is being built');
}

export async function detectPolicyEnforcement(_options: AnalysisInputOptions): Promise<PolicyEnforcement> {
  return { enforced: undefined, reason: 'not determined' };
}
