// The agent's metrics on a fake agent: every *_total is a Prometheus Counter, and denied packets
// follow the kernel's counters while staying monotonic when a re-made table starts them from zero;
// GET /status tells how far the agent got.
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { describe, test } from 'node:test';
import type { CounterValue } from '../dataplane/index.js';
import type { AgentStatus } from './agent.js';
import { agentMetrics, serveHealth, type AgentView } from './health.js';

class FakeAgent implements AgentView {
  status: AgentStatus = { synced: true, syncs: 0, applies: 0, connectionsCut: 0, errors: 0, watchRestarts: 0 };
  enforced?: readonly string[];
  enforcedVersions(): readonly string[] | undefined {
    return this.enforced;
  }
  kernel = new Map<string, CounterValue>();
  onSync?: AgentView['onSync'];

  getStatus(): AgentStatus {
    return this.status;
  }

  async counters(): Promise<Map<string, CounterValue>> {
    return new Map(this.kernel);
  }

  watchSilence(): number {
    return 0;
  }
}

const value = async (registry: ReturnType<typeof agentMetrics>, name: string, labels: Record<string, string> = {}): Promise<number | undefined> => {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const sample = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return sample?.value;
};

describe('agent metrics', () => {
  test('every *_total is a counter', async () => {
    const registry = agentMetrics(new FakeAgent());
    const text = await registry.metrics();
    const totals = [...text.matchAll(/^# TYPE (\S+_total) (\S+)$/gm)];
    assert.deepEqual(
      totals.map((m) => m[1]).sort(),
      ['podwall_connections_revoked_total', 'podwall_denied_packets_total', 'podwall_ruleset_applies_total', 'podwall_sync_errors_total', 'podwall_syncs_total', 'podwall_watch_restarts_total'],
    );
    for (const [, name, type] of totals) assert.equal(type, 'counter', name);
  });

  test('denied packets follow the kernel counters, and a reset (the table made again) keeps the counter monotonic', async () => {
    const agent = new FakeAgent();
    const registry = agentMetrics(agent);
    const db = { pod: 'shop/db', direction: 'ingress' };
    const web = { pod: 'shop/web', direction: 'egress' };
    // Kernel values scrape after scrape, and what Prometheus must read: increases add up, a drop is
    // a reset (the new value is all new packets).
    const steps: [number, number, number, number][] = [
      [5, 0, 5, 0],
      [9, 2, 9, 2],
      [9, 2, 9, 2],
      [2, 3, 11, 3],
      [3, 0, 12, 3],
      [10, 4, 19, 7],
    ];
    for (const [kernelDb, kernelWeb, wantDb, wantWeb] of steps) {
      agent.kernel = new Map([
        ['in/shop/db', { packets: kernelDb, bytes: kernelDb * 60 }],
        ['eg/shop/web', { packets: kernelWeb, bytes: kernelWeb * 60 }],
      ]);
      assert.equal(await value(registry, 'podwall_denied_packets_total', db), wantDb, `db after kernel ${kernelDb}`);
      assert.equal(await value(registry, 'podwall_denied_packets_total', web), wantWeb, `web after kernel ${kernelWeb}`);
    }
  });

  test('error and restart totals follow the agent and never go down', async () => {
    const agent = new FakeAgent();
    const registry = agentMetrics(agent);
    agent.status = { ...agent.status, errors: 2, watchRestarts: 1 };
    assert.equal(await value(registry, 'podwall_sync_errors_total'), 2);
    agent.status = { ...agent.status, errors: 5, watchRestarts: 3 };
    assert.equal(await value(registry, 'podwall_sync_errors_total'), 5);
    assert.equal(await value(registry, 'podwall_watch_restarts_total'), 3);
  });

  test('syncs, applies and revoked connections count what each sync reports', async () => {
    const agent = new FakeAgent();
    const registry = agentMetrics(agent);
    const stats = { chains: 3, rules: 7, sets: 2, setElements: 11, counters: 4 };
    agent.onSync!({ at: 0, durationMs: 12, applied: true, stats, connectionsCut: 2, versions: ['1', '1', '1'], skippedObjects: 0 });
    agent.onSync!({ at: 0, durationMs: 3, applied: false, stats, connectionsCut: 1, versions: ['2', '2', '2'], skippedObjects: 0 });
    assert.equal(await value(registry, 'podwall_syncs_total'), 2);
    assert.equal(await value(registry, 'podwall_ruleset_applies_total'), 1);
    assert.equal(await value(registry, 'podwall_connections_revoked_total'), 3);
    assert.equal(await value(registry, 'podwall_ruleset_rules'), 7);
  });
});

const getJSON = (port: number, path: string): Promise<{ status: number; type: string; body: unknown }> =>
  new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body: JSON.parse(text) as unknown });
        } catch {
          reject(new Error(`GET ${path} answered ${res.statusCode ?? 0}, not JSON: ${text}`));
        }
      });
    }).on('error', reject);
  });

describe('agent /status', () => {
  test('GET /status reports synced, syncs, applies, cuts, errors, the enforced versions, the ruleset and the last error (null before there is one), and the memory', async () => {
    const agent = new FakeAgent();
    const { server, port } = await serveHealth(agent, agentMetrics(agent), { port: 0 });
    try {
      const stats = { chains: 3, rules: 7, sets: 2, setElements: 11, counters: 4 };
      const cases: { name: string; status: AgentStatus; enforced?: readonly string[]; want: unknown }[] = [
        {
          name: 'before the first sync',
          status: { synced: false, syncs: 0, applies: 0, connectionsCut: 0, errors: 0, watchRestarts: 0 },
          want: { synced: false, syncs: 0, applies: 0, connectionsCut: 0, errors: 0, versions: null, stats: null, lastError: null },
        },
        {
          name: 'a failed sync',
          status: { synced: false, syncs: 0, applies: 0, connectionsCut: 0, errors: 1, watchRestarts: 0, lastError: 'nft: table podwall busy' },
          want: { synced: false, syncs: 0, applies: 0, connectionsCut: 0, errors: 1, versions: null, stats: null, lastError: 'nft: table podwall busy' },
        },
        {
          name: 'after a sync',
          status: {
            synced: true,
            syncs: 2,
            applies: 2,
            connectionsCut: 3,
            errors: 1,
            watchRestarts: 0,
            lastError: 'nft: table podwall busy',
            last: { at: 0, durationMs: 5, applied: true, stats, connectionsCut: 3, versions: ['7', '7', ''], skippedObjects: 0 },
          },
          want: { synced: true, syncs: 2, applies: 2, connectionsCut: 3, errors: 1, versions: ['7', '7', ''], stats, lastError: 'nft: table podwall busy' },
        },
        {
          // The lab daemon in another namespace waits on these: a bookmark advances them without a sync.
          name: 'versions advanced by bookmarks since the last sync',
          status: { synced: true, syncs: 1, applies: 1, connectionsCut: 0, errors: 0, watchRestarts: 0, last: { at: 0, durationMs: 5, applied: true, stats, connectionsCut: 0, versions: ['7', '7', ''], skippedObjects: 0 } },
          enforced: ['9', '9', ''],
          want: { synced: true, syncs: 1, applies: 1, connectionsCut: 0, errors: 0, versions: ['9', '9', ''], stats, lastError: null },
        },
      ];
      for (const c of cases) {
        agent.status = c.status;
        agent.enforced = c.enforced;
        const r = await getJSON(port, '/status');
        assert.equal(r.status, 200, c.name);
        assert.match(r.type, /^application\/json/, c.name);
        const { memory, ...rest } = r.body as { memory: { rss: number; heapUsed: number } };
        assert.deepEqual(rest, c.want, c.name);
        assert.ok(memory.rss > 0 && memory.heapUsed > 0, `${c.name}: the process's memory`);
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
