// The agent's own HTTP endpoints: /healthz (the watches are alive), /readyz (the first full sync
// is applied), /status (how far it got, as JSON) and /metrics in Prometheus format. Loopback by default.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RulesetStats } from '../dataplane/index.js';
import type { Agent, SyncRecord } from './agent.js';

export interface HealthOptions {
  readonly host?: string;
  readonly port?: number;
  /** A watch silent for longer than this is unhealthy. */
  readonly maxWatchSilenceMs?: number;
}

/** What the health endpoints and metrics read of an agent (an Agent, or a fake in tests). */
export type AgentView = Pick<Agent, 'getStatus' | 'counters' | 'watchSilence' | 'onSync'> & Partial<Pick<Agent, 'enforcedVersions'>>;

export function agentMetrics(agent: AgentView): Registry {
  const registry = new Registry();
  const syncs = new Counter({ name: 'podwall_syncs_total', help: 'Syncs of the ruleset with the cluster state', registers: [registry] });
  const applied = new Counter({ name: 'podwall_ruleset_applies_total', help: 'Syncs that changed the kernel ruleset', registers: [registry] });
  const duration = new Histogram({
    name: 'podwall_sync_duration_seconds',
    help: 'Time to compute and apply one sync',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const rules = new Gauge({ name: 'podwall_ruleset_rules', help: 'Rules in the applied ruleset', registers: [registry] });
  const elements = new Gauge({ name: 'podwall_ruleset_set_elements', help: 'Set and map elements in the applied ruleset', registers: [registry] });
  const chains = new Gauge({ name: 'podwall_ruleset_chains', help: 'Chains in the applied ruleset', registers: [registry] });
  const cut = new Counter({ name: 'podwall_connections_revoked_total', help: 'Established connections cut because a change no longer allows them', registers: [registry] });
  // Totals are Counters: they only go up. Each follows a running total the agent keeps, by adding
  // what is new since the last scrape.
  const following = (read: () => number) => {
    let seen = 0;
    return function (this: Counter) {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = now;
    };
  };
  new Counter({ name: 'podwall_sync_errors_total', help: 'Syncs that failed (and were retried)', registers: [registry], collect: following(() => agent.getStatus().errors) });
  new Counter({
    name: 'podwall_watch_restarts_total',
    help: 'Watches restarted after an error, a 410 or a stall',
    registers: [registry],
    collect: following(() => agent.getStatus().watchRestarts),
  });
  // The kernel's counters go back to zero when the table is made again: such a drop is a reset, so
  // the new value is all new packets, and the Counter stays monotonic.
  const lastSeen = new Map<string, number>();
  new Counter({
    name: 'podwall_denied_packets_total',
    help: 'Packets denied per pod (or shared address) and direction, from the data plane counters',
    labelNames: ['pod', 'direction'],
    registers: [registry],
    async collect() {
      for (const [name, value] of await agent.counters()) {
        const before = lastSeen.get(name) ?? 0;
        const added = value.packets >= before ? value.packets - before : value.packets;
        lastSeen.set(name, value.packets);
        const [dir, ...pod] = name.split('/');
        const labels = { pod: pod.join('/'), direction: dir === 'in' ? 'ingress' : 'egress' };
        if (added > 0) this.inc(labels, added);
        else this.inc(labels, 0);
      }
    },
  });
  const previous = agent.onSync;
  agent.onSync = (r: SyncRecord) => {
    previous?.(r);
    syncs.inc();
    if (r.applied) applied.inc();
    duration.observe(r.durationMs / 1000);
    rules.set(r.stats.rules);
    elements.set(r.stats.setElements);
    chains.set(r.stats.chains);
    cut.inc(r.connectionsCut);
  };
  return registry;
}

/** What GET /status answers: enough for a lab daemon in another network namespace to follow a node's agent. */
export interface AgentStatusReport {
  readonly synced: boolean;
  readonly syncs: number;
  readonly applies: number;
  readonly connectionsCut: number;
  readonly errors: number;
  /**
   * The resourceVersions the enforced state stands for (the last completed sync's snapshot, or later
   * versions bookmarks reached with nothing changed since), or null before the first sync.
   */
  readonly versions: readonly string[] | null;
  /** The ruleset the last sync applied, or null before the first. */
  readonly stats: RulesetStats | null;
  /** The last failed sync's error (kept after later successes: errors says how many there were), or null. */
  readonly lastError: string | null;
  /** This process's memory (bytes). */
  readonly memory: { readonly rss: number; readonly heapUsed: number };
}

export function statusReport(agent: Pick<Agent, 'getStatus'> & Partial<Pick<Agent, 'enforcedVersions'>>): AgentStatusReport {
  const status = agent.getStatus();
  const { rss, heapUsed } = process.memoryUsage();
  return {
    synced: status.synced,
    syncs: status.syncs,
    applies: status.applies,
    connectionsCut: status.connectionsCut,
    errors: status.errors,
    versions: agent.enforcedVersions?.() ?? status.last?.versions ?? null,
    stats: status.last?.stats ?? null,
    lastError: status.lastError ?? null,
    memory: { rss, heapUsed },
  };
}

export function serveHealth(agent: AgentView, registry: Registry, options: HealthOptions = {}): Promise<{ server: Server; port: number }> {
  const maxSilence = options.maxWatchSilenceMs ?? 10 * 60_000;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'Content-Type': type });
      res.end(body);
    };
    if (path === '/healthz') {
      const silence = agent.watchSilence();
      return silence > maxSilence ? text(500, `watches silent for ${Math.round(silence / 1000)} s\n`) : text(200, 'ok\n');
    }
    if (path === '/readyz') return agent.getStatus().synced ? text(200, 'ok\n') : text(503, 'waiting for the first full sync\n');
    if (path === '/status') return text(200, `${JSON.stringify(statusReport(agent))}\n`, 'application/json');
    if (path === '/metrics') {
      registry
        .metrics()
        .then((body) => text(200, body, registry.contentType))
        .catch((err: Error) => text(500, `${err.message}\n`));
      return;
    }
    text(404, 'not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 9743, options.host ?? '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, port: typeof address === 'object' && address ? address.port : (options.port ?? 9743) });
    });
  });
}
