// The agent: keeps the cluster's Pods, Namespaces and NetworkPolicies in memory through
// list/watch, and enforces them for this node's pods through the data plane, one atomic
// transaction per batch of changes. It fails closed: until its first full sync, and whenever the
// API server is unreachable, the rules already in the kernel stay as they are. Its table is
// watched: one deleted behind its back is put back within a second or two.
import type { KubeConfig } from '@kubernetes/client-node';
import {
  compileRuleset,
  tableExists,
  connectionChanges,
  listConntrack,
  markConntrack,
  readCounters,
  readTableCounters,
  RulesetApplier,
  rulesetStats,
  type CounterValue,
  type RulesetStats,
} from '../dataplane/index.js';
import { compileCluster } from '../engine/index.js';
import { clusterFromObjects, formatDiagnostic } from '../model/index.js';
import { Reflector } from './reflector.js';
import { CoalescingRunner } from './runner.js';

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
  readonly watchTimeoutSeconds?: number;
  /** How often the agent checks that its table is still in the kernel (ms). */
  readonly tableCheckIntervalMs?: number;
  /** Items per list page. */
  readonly pageSize?: number;
  readonly logger?: (line: string) => void;
}

/** The resourceVersions (opaque) of the namespaces, pods and networkpolicies streams a sync computed from. */
export interface SyncSnapshot {
  readonly versions: readonly string[];
}

export interface SyncRecord {
  readonly at: number;
  readonly durationMs: number;
  readonly applied: boolean;
  readonly stats: RulesetStats;
  readonly connectionsCut: number;
  /** The streams' versions of the state this sync computed from. */
  readonly versions: readonly string[];
  readonly skippedObjects: number;
}

export interface AgentStatus {
  readonly synced: boolean;
  readonly syncs: number;
  readonly errors: number;
  readonly watchRestarts: number;
  readonly last?: SyncRecord;
  readonly lastError?: string;
}

interface Waiter {
  readonly covered: (versions: readonly string[]) => boolean;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class Agent {
  readonly table: string;
  private readonly reflectors: Reflector[];
  private readonly runner: CoalescingRunner;
  private readonly applier = new RulesetApplier();
  private readonly waiters = new Set<Waiter>();
  private status: AgentStatus = { synced: false, syncs: 0, errors: 0, watchRestarts: 0 };
  /** Whether an object changed since the state the last sync started from. */
  private dirty = true;
  private syncing = false;
  private stopped = false;
  /** The versions the enforced state is known to stand for (advanced by bookmarks when nothing changed). */
  private enforcedVersions?: readonly string[];
  /** Called after every sync (metrics, the lab's pod runner). */
  onSync?: (record: SyncRecord) => void;

  constructor(private readonly options: AgentOptions) {
    this.table = options.table ?? 'podwall';
    const log = options.logger ?? (() => undefined);
    const events = (what: string) => ({
      replaced: () => {
        this.dirty = true;
        this.runner.request();
      },
      changed: () => {
        this.dirty = true;
        this.runner.request();
      },
      bookmark: () => this.advance(),
      error: (err: unknown) => log(`watch ${what}: ${(err as Error).message}`),
      restarted: () => {
        this.status = { ...this.status, watchRestarts: this.status.watchRestarts + 1 };
      },
    });
    const reflect = (path: string, what: string) => new Reflector(options.kubeconfig, path, events(what), { watchTimeoutSeconds: options.watchTimeoutSeconds, pageSize: options.pageSize });
    this.reflectors = [
      reflect('/api/v1/namespaces', 'namespaces'),
      reflect('/api/v1/pods', 'pods'),
      reflect('/apis/networking.k8s.io/v1/networkpolicies', 'networkpolicies'),
    ];
    this.runner = new CoalescingRunner(() => this.sync(), {
      minIntervalMs: options.minSyncIntervalMs ?? 20,
      maxIntervalMs: options.resyncIntervalMs ?? 60_000,
      retryMs: 500,
      onError: (err) => {
        this.status = { ...this.status, errors: this.status.errors + 1, lastError: (err as Error).message };
        log(`sync failed: ${(err as Error).message}`);
      },
    });
  }

  getStatus(): AgentStatus {
    return this.status;
  }

  /** The longest any watch has been silent, for the health check. */
  watchSilence(): number {
    return Math.max(...this.reflectors.map((r) => r.silentFor));
  }

  /**
   * Runs until the signal aborts. The kernel rules are left in place on stop (fail closed); a sync
   * under way is given a moment to finish (its transaction is atomic either way).
   */
  async run(signal: AbortSignal): Promise<void> {
    this.runner.start(signal);
    const check = setInterval(() => void this.checkTable(), this.options.tableCheckIntervalMs ?? 1000);
    try {
      await Promise.all(this.reflectors.map((r) => r.run(signal)));
    } finally {
      clearInterval(check);
      this.stopped = true;
      for (const w of this.waiters) w.reject(new Error('the agent stopped'));
      this.waiters.clear();
      const deadline = Date.now() + 1000;
      while (this.syncing && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** The current versions of the three streams (namespaces, pods, networkpolicies). */
  private versions(): string[] {
    return this.reflectors.map((r) => r.version);
  }

  /**
   * Resolves once the kernel enforces a state whose stream versions satisfy `covered`: a completed
   * sync (ruleset applied, connections handled) that started from such a snapshot, or a later
   * bookmark with no object changed since. The agent never compares versions itself (they are
   * opaque); the caller, which knows its API server, does. Rejects when the agent stops or `signal`
   * aborts. A failed sync satisfies no one.
   */
  waitForSync(covered: (versions: readonly string[]) => boolean, signal?: AbortSignal): Promise<void> {
    if (this.enforcedVersions && covered(this.enforcedVersions)) return Promise.resolve();
    if (this.stopped) return Promise.reject(new Error('the agent stopped'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        covered,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = (): void => {
        this.waiters.delete(waiter);
        reject(new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  private settle(versions: readonly string[]): void {
    this.enforcedVersions = versions;
    for (const w of [...this.waiters]) {
      if (w.covered(versions)) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }

  /** A bookmark: if no object changed since the last sync, the enforced state stands for the new versions too. */
  private advance(): void {
    if (!this.dirty && !this.syncing && this.status.synced) this.settle(this.versions());
    else this.runner.request();
  }

  /** A table deleted behind the agent's back (or a flushed ruleset) is put back at once. */
  private checking = false;
  private async checkTable(): Promise<void> {
    if (this.checking || !this.status.synced) return;
    this.checking = true;
    try {
      if (!(await tableExists(this.table))) {
        this.options.logger?.(`table inet ${this.table} is gone from the kernel: putting it back`);
        this.runner.request();
      }
    } catch {
      // nft failing here is retried at the next check; the sync reports its own errors
    } finally {
      this.checking = false;
    }
  }

  async counters(): Promise<Map<string, CounterValue>> {
    return readCounters(this.table);
  }

  private async sync(): Promise<void> {
    // Fail closed: nothing is computed from a partial view of the cluster.
    if (!this.reflectors.every((r) => r.hasSynced)) return;
    const started = Date.now();
    // The snapshot: the streams' versions, read in the same synchronous step as their objects.
    const versions = this.versions();
    this.dirty = false;
    this.syncing = true;
    try {
      await this.syncFrom(versions, started);
    } catch (err) {
      this.dirty = true;
      throw err;
    } finally {
      this.syncing = false;
    }
    // Nothing changed while it ran: the enforced state also stands for what the streams reached since.
    if (!this.dirty) this.settle(this.versions());
  }

  private async syncFrom(versions: readonly string[], started: number): Promise<void> {
    // The kernel's counters (and whether the table is there) are read while the ruleset is computed.
    const counterRead = readTableCounters(this.table);
    const objects = this.reflectors.flatMap((r) => r.items());
    const built = clusterFromObjects(objects);
    const skipped = built.diagnostics.filter((d) => d.severity === 'error');
    for (const d of skipped.slice(0, 5)) this.options.logger?.(`skipping invalid object: ${formatDiagnostic(d)}`);
    const compiled = compileCluster(built.cluster!);
    const node = this.options.node;
    const isLocal = (e: { nodeName?: string }) => e.nodeName === node;
    const unlabelled = compileRuleset(compiled, { table: this.table, log: this.options.log, isLocal });
    const counterValues = await counterRead;
    const ruleset = counterValues ? { ...unlabelled, counters: unlabelled.counters.map((c) => ({ ...c, ...counterValues.get(c.name) })) } : unlabelled;
    // A table removed behind the agent's back is put back even if nothing changed.
    const applied = await this.applier.apply(ruleset, { force: counterValues === undefined });
    const ignore = new Set([
      ...(this.options.nodeAddresses ?? []),
      ...compiled.cluster.endpoints.filter((e) => e.hostNetwork && e.nodeName === node).flatMap((e) => e.ips),
    ]);
    const { revoke, restore } = connectionChanges(compiled, await listConntrack(), ignore);
    await markConntrack(revoke, true);
    await markConntrack(restore, false);
    const record: SyncRecord = {
      at: Date.now(),
      durationMs: Date.now() - started,
      applied,
      stats: rulesetStats(ruleset),
      connectionsCut: revoke.length,
      versions,
      skippedObjects: skipped.length,
    };
    this.status = { ...this.status, synced: true, syncs: this.status.syncs + 1, last: record };
    this.onSync?.(record);
    this.settle(versions);
  }
}
