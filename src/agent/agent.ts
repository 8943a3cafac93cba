// The agent: keeps the cluster's Pods, Namespaces and NetworkPolicies in memory through
// list/watch, and enforces them for this node's pods through the data plane, one atomic
// transaction per batch of changes. It fails closed: until its first full sync, and whenever the
// API server is unreachable, the rules already in the kernel stay as they are.
import type { KubeConfig } from '@kubernetes/client-node';
import {
  compileRuleset,
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
  readonly logger?: (line: string) => void;
}

export interface SyncRecord {
  readonly at: number;
  readonly durationMs: number;
  readonly applied: boolean;
  readonly stats: RulesetStats;
  readonly connectionsCut: number;
  /** The highest resourceVersion among the objects this sync saw. */
  readonly resourceVersion: number;
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

type Manifest = Record<string, unknown>;

const rvOf = (o: Manifest): number => Number(((o.metadata ?? {}) as { resourceVersion?: string }).resourceVersion ?? 0) || 0;

export class Agent {
  readonly table: string;
  private readonly reflectors: Reflector[];
  private readonly runner: CoalescingRunner;
  private readonly applier = new RulesetApplier();
  private readonly waiters: { rv: number; resolve: () => void }[] = [];
  private status: AgentStatus = { synced: false, syncs: 0, errors: 0, watchRestarts: 0 };
  private highestSeen = 0;
  /** Called after every sync (metrics, the lab's pod runner). */
  onSync?: (record: SyncRecord) => void;

  constructor(private readonly options: AgentOptions) {
    this.table = options.table ?? 'podwall';
    const log = options.logger ?? (() => undefined);
    const events = (what: string) => ({
      replaced: (items: Manifest[]) => {
        for (const o of items) this.highestSeen = Math.max(this.highestSeen, rvOf(o));
        this.runner.request();
      },
      changed: (_type: string, o: Manifest) => {
        this.highestSeen = Math.max(this.highestSeen, rvOf(o));
        this.runner.request();
      },
      error: (err: unknown) => log(`watch ${what}: ${(err as Error).message}`),
      restarted: () => {
        this.status = { ...this.status, watchRestarts: this.status.watchRestarts + 1 };
      },
    });
    const reflect = (path: string, what: string) => new Reflector(options.kubeconfig, path, events(what), { watchTimeoutSeconds: options.watchTimeoutSeconds });
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

  /** Runs until the signal aborts. The kernel rules are left in place on stop (fail closed). */
  async run(signal: AbortSignal): Promise<void> {
    this.runner.start(signal);
    await Promise.all(this.reflectors.map((r) => r.run(signal)));
  }

  /** Resolves once a sync has seen every object up to `resourceVersion`. */
  waitForSync(resourceVersion: number): Promise<void> {
    if (this.status.last && this.status.last.resourceVersion >= resourceVersion) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ rv: resourceVersion, resolve }));
  }

  async counters(): Promise<Map<string, CounterValue>> {
    return readCounters(this.table);
  }

  private async sync(): Promise<void> {
    // Fail closed: nothing is computed from a partial view of the cluster.
    if (!this.reflectors.every((r) => r.hasSynced)) return;
    const started = Date.now();
    const seen = this.highestSeen;
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
      resourceVersion: seen,
      skippedObjects: skipped.length,
    };
    this.status = { ...this.status, synced: true, syncs: this.status.syncs + 1, last: record };
    this.onSync?.(record);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].rv <= seen) {
        this.waiters[i].resolve();
        this.waiters.splice(i, 1);
      }
    }
  }
}
