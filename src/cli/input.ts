// Shared `-f`/`-n` handling: load manifests, print diagnostics, refuse to go on with errors or
// with nothing at all.
import { compileCluster, type CompiledCluster } from '../engine/index.js';
import { formatDiagnostic, InvalidInputError, isDNS1123Label, loadManifests, parsePortText, parseProtocolText, type Cluster } from '../model/index.js';
import { UsageError, type Output } from './output.js';
import type { Protocol } from '../model/index.js';

export interface InputOptions {
  readonly filename: readonly string[];
  readonly namespace: string;
}

/** Where an analysis command reads its cluster: manifests (`-f`) or a running cluster. */
export interface AnalysisInputOptions {
  readonly filename?: readonly string[];
  readonly namespace: string;
  /** A kubeconfig file to read the cluster through. */
  readonly kubeconfig?: string;
  /** A context of that kubeconfig (default: its current context). */
  readonly context?: string;
  /** The current context of $KUBECONFIG or ~/.kube/config. */
  readonly cluster?: boolean;
}

/** True when the options ask for a running cluster rather than manifests. */
export function wantsLiveCluster(options: AnalysisInputOptions): boolean {
  return Boolean(options.cluster || options.kubeconfig !== undefined || options.context !== undefined);
}

/**
 * The cluster an analysis command works on: read from manifests, or from a running cluster
 * through its API (`--cluster`, `--kubeconfig`, `--context`); never both.
 */
export async function loadAnalysisInput(options: AnalysisInputOptions, io: Output): Promise<{ cluster: Cluster; compiled: CompiledCluster }> {
  const files = options.filename ?? [];
  if (wantsLiveCluster(options)) {
    if (files.length > 0) throw new UsageError('give either -f PATH... (manifests) or --cluster/--kubeconfig/--context (a running cluster), not both');
    checkNamespaceFlag(options.namespace);
    const { readLiveCluster } = await import('./live.js');
    const cluster = await readLiveCluster(options, io);
    return { cluster, compiled: compileCluster(cluster) };
  }
  if (files.length === 0) throw new UsageError('nothing to read: give -f PATH... (manifests), or --cluster (the current kubeconfig context)');
  return loadInput({ filename: files, namespace: options.namespace }, io);
}

/** `-n` names a namespace as the apiserver requires one to be named (a DNS-1123 label). */
export function checkNamespaceFlag(namespace: string): void {
  const problems = isDNS1123Label(namespace);
  if (problems.length > 0) throw new UsageError(`-n: "${namespace}" is not a valid namespace name: ${problems.join('; ')}`);
}

/**
 * Loads the input or throws InvalidInputError (exit 2) after printing every error. Input with no
 * objects at all is refused too (UsageError, exit 2), as `kubectl apply` refuses it: an empty file
 * is more likely a mistake than a question about nothing.
 */
export function loadInput(options: InputOptions, io: Output): { cluster: Cluster; compiled: CompiledCluster } {
  checkNamespaceFlag(options.namespace);
  const result = loadManifests(options.filename, { namespace: options.namespace });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  for (const d of result.diagnostics) io.err(`${d.severity}: ${formatDiagnostic(d)}`);
  if (result.skipped.size > 0) {
    const total = [...result.skipped.values()].reduce((a, b) => a + b, 0);
    const kinds = [...result.skipped.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([kind, n]) => (n > 1 ? `${kind} ×${n}` : kind))
      .join(', ');
    io.err(`notice: skipped ${total} object${total === 1 ? '' : 's'} Podwall does not model: ${kinds}`);
  }
  if (errors.length > 0 || !result.cluster) {
    io.err(`${errors.length} error${errors.length === 1 ? '' : 's'}: nothing was computed`);
    throw new InvalidInputError(result.diagnostics);
  }
  const { cluster } = result;
  const services = (cluster.services?.length ?? 0) + (cluster.endpointSlices?.length ?? 0);
  const admin = (cluster.adminPolicies?.length ?? 0) + (cluster.nodes?.length ?? 0);
  if (cluster.endpoints.length + cluster.policies.length + services + admin + cluster.namespaces.filter((n) => n.declared).length + result.skipped.size === 0) {
    throw new UsageError(`no objects in: ${options.filename.map((f) => (f === '-' ? 'stdin' : f)).join(', ')}`);
  }
  return { cluster, compiled: compileCluster(cluster) };
}

export function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const r = parsePortText(text);
  if ('error' in r) throw new UsageError(`--port: ${r.error}`);
  return r.port;
}

export function parseProtocol(text: string | undefined): Protocol | undefined {
  if (text === undefined) return undefined;
  const r = parseProtocolText(text);
  if ('error' in r) throw new UsageError(`--protocol: ${r.error}`);
  return r.protocol;
}

export function parseFormat<T extends string>(text: string | undefined, allowed: readonly T[]): T {
  const value = (text ?? allowed[0]) as T;
  if (!allowed.includes(value)) throw new UsageError(`-o: "${text}" is not one of ${allowed.join(', ')}`);
  return value;
}
