// Where the UI's cluster comes from: manifests loaded once (`-f`), or a running lab followed by
// polling its store. A source hands out the current compiled cluster and its version and tells
// listeners when either the cluster or (for a lab) the drop counters change.
import { basename, dirname, extname, resolve } from 'node:path';
import { compileCluster, type CompiledCluster, type PortProtocol } from '../engine/index.js';
import type { Cluster } from '../model/index.js';
import type { CounterValue } from '../dataplane/index.js';
import type { ProbeReport } from '../lab/index.js';

export type SourceEvent = 'model' | 'counters';

export interface ClusterSource {
  readonly kind: 'files' | 'lab';
  readonly title: string;
  current(): { compiled: CompiledCluster; version: number };
  /** Calls `listener` after each change; returns the function that stops it. */
  subscribe(listener: (event: SourceEvent) => void): () => void;
  /** Only a lab has these. */
  readonly lab?: LabAccess;
  close(): void;
}

/** What the UI needs of a lab; `Lab` from src/lab has this shape, tests pass fakes. */
export interface LabHandle {
  cluster(): Cluster;
  probe(ports?: readonly PortProtocol[], timeoutSeconds?: number): Promise<ProbeReport[]>;
  counters(): Promise<Map<string, CounterValue>>;
  close(): void;
}

export interface LabAccess {
  /**
   * Probes every declared port in a run that starts after the call: callers while no run is under
   * way start one; callers during a run share the one run that follows it (a run under way may
   * have settled before what they ask about).
   */
  probe(): Promise<ProbeReport[]>;
  counters(): Record<string, CounterValue>;
}

const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

/** A path's short name: a directory's name, a file's name without its manifest extension. */
function shortName(path: string): string {
  if (path === '-') return 'standard input';
  const name = basename(resolve(path));
  const ext = extname(name).toLowerCase();
  return MANIFEST_EXTENSIONS.includes(ext) ? name.slice(0, -ext.length) : name;
}

/**
 * The page's title: the input's short name, never an absolute path. Manifests: the directory or
 * file named (`sock-shop`), several manifest files of one directory by that directory, others by the first
 * and how many more; a cluster: its context.
 */
export function inputTitle(input: { readonly files?: readonly string[]; readonly context?: string }): string {
  const files = input.files ?? [];
  if (files.length === 0) return input.context ?? 'current context';
  if (files.length === 1) return shortName(files[0]);
  const manifests = files.every((f) => MANIFEST_EXTENSIONS.includes(extname(f).toLowerCase()));
  const parents = new Set(files.map((f) => dirname(resolve(f))));
  if (manifests && parents.size === 1) return basename([...parents][0]) || shortName(files[0]);
  return `${shortName(files[0])} +${files.length - 1} more`;
}

export function staticSource(cluster: Cluster, title: string): ClusterSource {
  const compiled = compileCluster(cluster);
  return {
    kind: 'files',
    title,
    current: () => ({ compiled, version: 1 }),
    subscribe: () => () => undefined,
    close: () => undefined,
  };
}

export interface LabSourceOptions {
  /** How often the lab's store is read (ms); 500 by default. */
  readonly intervalMs?: number;
  /** How often the counters are read (ms); 1000 by default. */
  readonly countersMs?: number;
}

/**
 * Follows a lab: reads its store every `intervalMs` and bumps the version when the cluster it
 * holds changed, in the same step as the read, so a version always names the cluster read with it;
 * reads the drop counters every `countersMs`. One probe runs at a time (see LabAccess.probe). A
 * failing read is retried at the next tick.
 */
export function labSource(lab: LabHandle, title: string, options: LabSourceOptions = {}): ClusterSource {
  const listeners = new Set<(event: SourceEvent) => void>();
  const emit = (event: SourceEvent): void => listeners.forEach((l) => l(event));
  let cluster = lab.cluster();
  let fingerprint = JSON.stringify(cluster);
  let compiled = compileCluster(cluster);
  let version = 1;
  let counters: Record<string, CounterValue> = {};
  let countersText = '{}';
  let probing: Promise<ProbeReport[]> | undefined;
  let queued: Promise<ProbeReport[]> | undefined;
  const startProbe = (): Promise<ProbeReport[]> => {
    const run = lab.probe().finally(() => {
      if (probing === run) probing = undefined;
    });
    probing = run;
    return run;
  };
  let reading = false;

  const readCluster = (): void => {
    try {
      cluster = lab.cluster();
    } catch {
      return; // the store is being written or the lab went down: try again next tick
    }
    const next = JSON.stringify(cluster);
    if (next === fingerprint) return;
    fingerprint = next;
    compiled = compileCluster(cluster);
    version += 1;
    emit('model');
  };
  const readCounters = async (): Promise<void> => {
    if (reading) return;
    reading = true;
    try {
      const map = await lab.counters();
      const next = Object.fromEntries([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      const text = JSON.stringify(next);
      if (text !== countersText) {
        counters = next;
        countersText = text;
        emit('counters');
      }
    } catch {
      // nft not readable right now: keep the last values
    } finally {
      reading = false;
    }
  };
  const clusterTimer = setInterval(readCluster, options.intervalMs ?? 500);
  const countersTimer = setInterval(() => void readCounters(), options.countersMs ?? 1000);
  void readCounters();

  return {
    kind: 'lab',
    title,
    current: () => ({ compiled, version }),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    lab: {
      probe() {
        if (!probing) return startProbe();
        queued ??= probing
          .then(
            () => undefined,
            () => undefined,
          )
          .then(() => {
            queued = undefined;
            return probing ?? startProbe();
          });
        return queued;
      },
      counters: () => counters,
    },
    close() {
      clearInterval(clusterTimer);
      clearInterval(countersTimer);
      listeners.clear();
      lab.close();
    },
  };
}
