// The agent: keeps the cluster's Pods, Namespaces, NetworkPolicies, Nodes and admin policies
// (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy, when their CRDs are
// installed) in memory through list/watch, and enforces them for this node's pods through the data
// plane, one atomic transaction per batch of changes. It fails closed: until its first full sync, and whenever the
// API server is unreachable, the rules already in the kernel stay as they are. Its table is
// checked every second: one deleted behind its back is put back within a second or two.
import type { KubeConfig } from '@kubernetes/client-node';
import {
  compileRuleset,
  tableExists,
  connectionChanges,
  listConntrack,
  markConntrack,
  readTableCounters,
  RulesetApplier,
  rulesetStats,
  type ConntrackEntry,
  type CounterValue,
  type Ruleset,
  type RulesetStats,
} from '../dataplane/index.js';
import { compileCluster } from '../engine/index.js';
import { clusterFromObjects, formatDiagnostic, type Manifest } from '../model/index.js';
import { Reflector, type ReflectorEvents, type Source } from './reflector.js';
import { CoalescingRunner } from './runner.js';

/** The kernel side of the agent: the data plane's effects (the real ones by default, a fake in tests). */
export interface AgentDataplane {
  /** The table's named counters, or undefined when the table is not in the kernel. */
  readTableCounters(table: string): Promise<Map<string, CounterValue> | undefined>;
  tableExists(table: string): Promise<boolean>;
  /** One transaction; false when the ruleset equals the one last applied and `force` is not set. */
  apply(ruleset: Ruleset, options: { force: boolean }): Promise<boolean>;
  listConntrack(): Promise<ConntrackEntry[]>;
  markConntrack(entries: readonly ConntrackEntry[], revoked: boolean): Promise<void>;
}

/** The data plane on this machine's kernel (nft and conntrack). */
export function kernelDataplane(): AgentDataplane {
  const applier = new RulesetApplier();
  return {
    readTableCounters: (table) => readTableCounters(table),
    tableExists: (table) => tableExists(table),
    apply: (ruleset, options) => applier.apply(ruleset, options),
    listConntrack,
    markConntrack,
  };
}

export interface AgentOptions {
  /** This node's name: pods whose spec.nodeName is this one are enforced here. */
  readonly node: string;
  readonly kubeconfig: KubeConfig;
  /** The nftables table the agent owns (`podwall`). */
  readonly table?: string;
  readonly log?: boolean;
  /** Addresses of the node itself, whose connections are never judged (health probes). */
  readonly nodeAddresses?: readonly string[];
  readonly minSyncIntervalMs?: number;
  readonly resyncIntervalMs?: number;
  /** The first retry of a failed sync (ms); it doubles up to the resync interval. */
  readonly retryMs?: number;
  readonly watchTimeoutSeconds?: number;
  /** How often the agent checks that its table is still in the kernel (ms). */
  readonly tableCheckIntervalMs?: number;
  /** How long stopping waits for a sync under way (ms); its transaction is atomic either way. */
  readonly stopGraceMs?: number;
  /** Items per list page. */
  readonly pageSize?: number;
  /** How often a resource the server does not serve (an admin policy kind without its CRD) is looked for again (ms). */
  readonly notServedRetryMs?: number;
  /** The streams (Reflectors on the kubeconfig by default; fakes in tests). */
  readonly sources?: (path: string, events: ReflectorEvents) => Source;
  readonly dataplane?: AgentDataplane;
  readonly logger?: (line: string) => void;
}

/** The streams a sync reads, in this order: their versions make up a snapshot's `versions`. */
export const STREAMS = [
  '/api/v1/namespaces',
  '/api/v1/pods',
  '/apis/networking.k8s.io/v1/networkpolicies',
  '/api/v1/nodes',
  '/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies',
  '/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies',
  '/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies',
] as const;

/**
 * The streams of custom resources (network-policy-api's CRDs), which a cluster may not have: while
 * the server answers 404 they read as empty (version ''), NetworkPolicy is enforced as ever, and
 * they are looked for again so that a later install is picked up.
 */
export const OPTIONAL_STREAMS: ReadonlySet<string> = new Set(STREAMS.filter((path) => path.startsWith('/apis/policy.networking.k8s.io/')));

export interface SyncRecord {
  readonly at: number;
  readonly durationMs: number;
  readonly applied: boolean;
  readonly stats: RulesetStats;
  readonly connectionsCut: number;
  /**
   * The snapshot this sync computed from: the resourceVersions (opaque) of the STREAMS, in that
   * order, read in the same synchronous step as their objects; '' for a stream whose resource the
   * server does not serve (it stands for no objects, at any version).
   */
  readonly versions: readonly string[];
  readonly skippedObjects: number;
}

export interface AgentStatus {
  readonly synced: boolean;
  readonly syncs: number;
  /** Syncs that changed the kernel ruleset. */
  readonly applies: number;
  /** Established connections cut, over every sync. */
  readonly connectionsCut: number;
  readonly errors: number;
  readonly watchRestarts: number;
  readonly last?: SyncRecord;
  readonly lastError?: string;
}

interface Waiter {
  readonly covered: (versions: readonly string[]) => boolean;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface Snapshot {
  readonly versions: readonly string[];
  readonly objects: readonly Manifest[];
}

export class Agent {
  readonly table: string;
  private readonly sources: Source[];
  private readonly runner: CoalescingRunner;
  private readonly dataplane: AgentDataplane;
  private readonly waiters = new Set<Waiter>();
  private status: AgentStatus = { synced: false, syncs: 0, applies: 0, connectionsCut: 0, errors: 0, watchRestarts: 0 };
  /** Whether the kernel may differ from the state the last sync started from (an object changed, a sync failed, the table went missing). */
  private dirty = true;
  /** The sync under way, settled either way (for stopping). */
  private inFlight?: Promise<unknown>;
  private stopped = false;
  private checking = false;
  /** The versions the enforced state stands for (advanced by bookmarks when nothing changed). */
  private enforced?: readonly string[];
  /** Called after every completed sync (metrics, the lab's pod runner). */
  onSync?: (record: SyncRecord) => void;

  constructor(private readonly options: AgentOptions) {
    this.table = options.table ?? 'podwall';
    this.dataplane = options.dataplane ?? kernelDataplane();
    const log = options.logger ?? (() => undefined);
    const changed = (): void => {
      this.dirty = true;
      this.runner.request();
    };
    const events = (path: string): ReflectorEvents => ({
      replaced: changed,
      changed,
      bookmark: () => this.advance(),
      error: (err: unknown) => log(`watch ${path}: ${(err as Error).message}`),
      restarted: () => {
        this.status = { ...this.status, watchRestarts: this.status.watchRestarts + 1 };
      },
      // Logged when it happens, not on every retry.
      notServed: () => log(`${path} is not served (its CRD is not installed?): read as none, looking again every ${Math.round((options.notServedRetryMs ?? 60_000) / 1000)} s; NetworkPolicy is enforced as ever`),
      served: () => log(`${path} is served now`),
    });
    const source =
      options.sources ??
      ((path, e) =>
        new Reflector(options.kubeconfig, path, e, {
          watchTimeoutSeconds: options.watchTimeoutSeconds,
          pageSize: options.pageSize,
          optional: OPTIONAL_STREAMS.has(path),
          notServedRetryMs: options.notServedRetryMs,
        }));
    this.sources = STREAMS.map((path) => source(path, events(path)));
    this.runner = new CoalescingRunner(() => this.sync(), {
      minIntervalMs: options.minSyncIntervalMs ?? 20,
      maxIntervalMs: options.resyncIntervalMs ?? 60_000,
      retryMs: options.retryMs ?? 500,
      onError: (err) => {
        this.status = { ...this.status, errors: this.status.errors + 1, lastError: (err as Error).message };
        if (!this.stopped) log(`sync failed: ${(err as Error).message}`);
      },
    });
  }

  getStatus(): AgentStatus {
    return this.status;
  }

  /** The longest any watch has been silent, for the health check. */
  watchSilence(): number {
    return Math.max(...this.sources.map((r) => r.silentFor));
  }

  /**
   * Runs until the signal aborts. The kernel rules are left in place on stop (fail closed); a sync
   * under way gets `stopGraceMs` to finish and goes no further than the step it is in.
   */
  async run(signal: AbortSignal): Promise<void> {
    this.runner.start(signal);
    const check = setInterval(() => void this.checkTable(), this.options.tableCheckIntervalMs ?? 1000);
    try {
      await Promise.all(this.sources.map((r) => r.run(signal)));
    } finally {
      clearInterval(check);
      this.stopped = true;
      for (const w of [...this.waiters]) w.reject(new Error('the agent stopped'));
      this.waiters.clear();
      if (this.inFlight) await settledWithin(this.inFlight, this.options.stopGraceMs ?? 500);
    }
  }

  /**
   * Resolves once the kernel enforces a state whose snapshot satisfies `covered`: a completed sync
   * (ruleset applied, connections no longer allowed cut) that started from a snapshot whose
   * `versions` (the resourceVersions of the STREAMS, in that order, read in the same synchronous
   * step as the objects it computed from; '' for a resource not served) pass `covered`; or,
   * when no object has changed since such a sync started, the versions the streams have reached
   * since (bookmarks), since they stand for the same objects. A failed sync satisfies no one.
   * Versions are opaque to the agent, which never compares them: only the caller, which knows its
   * API server, interprets them. Rejects when the agent stops, or when `signal` aborts.
   */
  waitForSync(covered: (versions: readonly string[]) => boolean, signal?: AbortSignal): Promise<void> {
    try {
      if (this.enforced && covered(this.enforced)) return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.stopped) return Promise.reject(new Error('the agent stopped'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        covered,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  /** The kernel enforces the state these versions stand for: release the waiters they cover. */
  private settle(versions: readonly string[]): void {
    this.enforced = versions;
    for (const w of [...this.waiters]) {
      let done: boolean;
      try {
        done = w.covered(versions);
      } catch (err) {
        this.waiters.delete(w);
        w.reject(err);
        continue;
      }
      if (done) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }

  /**
   * The versions the enforced state stands for (those of the last completed sync's snapshot, or
   * later ones bookmarks reached with nothing changed since); undefined before the first sync.
   * What a waiter in another process compares against (the agent's /status).
   */
  enforcedVersions(): readonly string[] | undefined {
    return this.enforced;
  }

  /** The streams' versions, in STREAMS order. */
  private versions(): string[] {
    return this.sources.map((r) => r.version);
  }

  /**
   * A bookmark advanced a stream: no object changed on it up to its new version. If nothing changed
   * since the last completed sync started either, the enforced state stands for the new versions
   * too; a sync under way settles them itself when it ends; otherwise a sync is due.
   */
  private advance(): void {
    if (this.stopped || this.inFlight) return;
    if (!this.dirty && this.status.synced) this.settle(this.versions());
    else this.runner.request();
  }

  /** A table deleted behind the agent's back (or a flushed ruleset) is put back at once. */
  private async checkTable(): Promise<void> {
    if (this.checking || !this.status.synced || this.stopped) return;
    this.checking = true;
    try {
      if (!(await this.dataplane.tableExists(this.table)) && !this.stopped) {
        this.options.logger?.(`table inet ${this.table} is gone from the kernel: putting it back`);
        this.dirty = true;
        this.runner.request();
      }
    } catch {
      // nft failing here is retried at the next check; the sync reports its own errors
    } finally {
      this.checking = false;
    }
  }

  async counters(): Promise<Map<string, CounterValue>> {
    return (await this.dataplane.readTableCounters(this.table)) ?? new Map();
  }

  private async sync(): Promise<void> {
    // Fail closed: nothing is computed from a partial view of the cluster.
    if (this.stopped || !this.sources.every((r) => r.hasSynced)) return;
    const snapshot = this.snapshot();
    this.dirty = false;
    const work = this.enforce(snapshot);
    this.inFlight = work.catch(() => undefined);
    let record: SyncRecord | undefined;
    try {
      record = await work;
    } catch (err) {
      this.dirty = true;
      throw err;
    } finally {
      this.inFlight = undefined;
    }
    // Abandoned at stop: it claims nothing.
    if (!record) return;
    this.status = {
      ...this.status,
      synced: true,
      syncs: this.status.syncs + 1,
      applies: this.status.applies + (record.applied ? 1 : 0),
      connectionsCut: this.status.connectionsCut + record.connectionsCut,
      last: record,
    };
    this.onSync?.(record);
    this.settle(record.versions);
    // Nothing changed while it ran: the enforced state also stands for what the streams reached since.
    if (!this.dirty) this.settle(this.versions());
  }

  /** Every stream's objects and version, read in one synchronous step: the versions are those of exactly these objects. */
  private snapshot(): Snapshot {
    return { versions: this.versions(), objects: this.sources.flatMap((r) => r.items()) };
  }

  /** Computes the ruleset from the snapshot, applies it and cuts what it no longer allows; undefined if stopped part-way. */
  private async enforce(snapshot: Snapshot): Promise<SyncRecord | undefined> {
    const started = Date.now();
    // The kernel's counters (and whether the table is there) are read while the ruleset is computed.
    const counterRead = this.dataplane.readTableCounters(this.table);
    const built = clusterFromObjects([...snapshot.objects]);
    const skipped = built.diagnostics.filter((d) => d.severity === 'error');
    for (const d of skipped.slice(0, 5)) this.options.logger?.(`skipping invalid object: ${formatDiagnostic(d)}`);
    const compiled = compileCluster(built.cluster!);
    const node = this.options.node;
    const isLocal = (e: { nodeName?: string }) => e.nodeName === node;
    const unlabelled = compileRuleset(compiled, { table: this.table, log: this.options.log, isLocal });
    const counterValues = await counterRead;
    if (this.stopped) return undefined;
    const ruleset = counterValues ? { ...unlabelled, counters: unlabelled.counters.map((c) => ({ ...c, ...counterValues.get(c.name) })) } : unlabelled;
    // A table removed behind the agent's back is put back even if nothing changed.
    const applied = await this.dataplane.apply(ruleset, { force: counterValues === undefined });
    if (this.stopped) return undefined;
    const ignore = new Set([
      ...(this.options.nodeAddresses ?? []),
      ...compiled.cluster.endpoints.filter((e) => e.hostNetwork && e.nodeName === node).flatMap((e) => e.ips),
    ]);
    const { revoke, restore } = connectionChanges(compiled, await this.dataplane.listConntrack(), ignore);
    if (this.stopped) return undefined;
    await this.dataplane.markConntrack(revoke, true);
    await this.dataplane.markConntrack(restore, false);
    if (this.stopped) return undefined;
    return {
      at: Date.now(),
      durationMs: Date.now() - started,
      applied,
      stats: rulesetStats(ruleset),
      connectionsCut: revoke.length,
      versions: snapshot.versions,
      skippedObjects: skipped.length,
    };
  }
}

/** Resolves when `work` settles or after `ms`, whichever comes first, leaving no timer behind. */
function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void work.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
