// Reads a running cluster through its API, for every analysis command (`--cluster`,
// `--kubeconfig`, `--context`).
import type { Cluster } from '../model/index.js';
import type { AnalysisInputOptions } from './input.js';
import { UsageError, type Output } from './output.js';

export async function readLiveCluster(_options: AnalysisInputOptions, _io: Output): Promise<Cluster> {
  throw new UsageError('reading a running cluster is being built');
}
