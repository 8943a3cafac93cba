// The agent's metrics on a fake agent: every *_total is a Prometheus Counter, and denied packets
// follow the kernel's counters while staying monotonic when a re-made table starts them from zero.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CounterValue } from '../dataplane/index.js';
import type { AgentStatus } from './agent.js';
import { agentMetrics, type AgentView } from './health.js';

class FakeAgent implements AgentView {
  status: AgentStatus = { synced: true, syncs: 0, errors: 0, watchRestarts: 0 };
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
