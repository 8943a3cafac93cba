// The agent against the lab's API server, as root: started alone it converges to the same
// ruleset as the lab's own agent; it follows changes; it fails closed (the API server killed,
// or unreachable at start, leaves the kernel's rules as they were); health and metrics.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, agentMetrics, serveHealth } from '../src/agent/index.js';
import { deleteTable } from '../src/dataplane/index.js';
import { Lab } from '../src/lab/index.js';
import { loadTexts } from '../src/model/index.js';

const LAB = 'agt';
const TABLE = 'podwall-agtx';
const stateRoot = mkdtempSync(join(tmpdir(), 'podwall-agent-'));
const canRun = process.getuid?.() === 0 && ['ip', 'nft', 'conntrack', 'python3'].every((p) => spawnSync('which', [p]).status === 0);
const skip = canRun ? false : 'needs root with ip, nft, conntrack and python3 (CI installs them)';

const manifests = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: x, ports: [{name: http, containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: db, image: x, ports: [{containerPort: 5432}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-ingress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]
`;
const cluster = (text: string) => loadTexts([{ file: 'agent.yaml', text }]).cluster!;

/** The table as nft lists it, named alike and with counter values cleared, to compare two tables. */
function listing(table: string): string {
  const r = spawnSync('nft', ['list', 'table', 'inet', table], { encoding: 'utf8' });
  if (r.status !== 0) return `(no table ${table})`;
  return r.stdout.replace(`table inet ${table} `, 'table inet T ').replace(/packets \d+ bytes \d+/g, 'packets 0 bytes 0');
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return check();
}

describe('the agent', { skip }, () => {
  let lab: Lab;
  let agent: Agent;
  const controller = new AbortController();
  let running: Promise<void>;
  let healthPort: number;
  let closeHealth: () => void;

  before(async () => {
    await Lab.down(LAB, stateRoot);
    lab = (await Lab.up(cluster(manifests), { name: LAB, stateRoot, podCIDR: '10.243.0.0/16' })).lab;
    const kc = new KubeConfig();
    kc.loadFromFile(lab.kubeconfig);
    agent = new Agent({ node: LAB, kubeconfig: kc, table: TABLE, nodeAddresses: [lab.settings.gateways[4]], watchTimeoutSeconds: 30 });
    const health = await serveHealth(agent, agentMetrics(agent), { port: 0 });
    healthPort = health.port;
    closeHealth = () => health.server.close();
    running = agent.run(controller.signal);
  });

  after(async () => {
    controller.abort();
    await running;
    closeHealth?.();
    lab?.close();
    await deleteTable(TABLE).catch(() => undefined);
    await Lab.down(LAB, stateRoot);
    rmSync(stateRoot, { recursive: true, force: true });
    assert.equal(spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout.includes(TABLE), false);
  });

  test('started alone, it converges to the same ruleset as the lab\'s own agent', async () => {
    assert.ok(await until(() => agent.getStatus().synced, 10_000), 'first sync');
    assert.equal(listing(TABLE), listing(lab.names.table));
    assert.match(listing(TABLE), /ports4-\d+/, 'the db ingress is enforced');
  });

  test('/readyz is ready after the first sync; /healthz and /metrics answer', async () => {
    assert.equal((await get(healthPort, '/readyz')).status, 200);
    assert.equal((await get(healthPort, '/healthz')).status, 200);
    const metrics = (await get(healthPort, '/metrics')).body;
    assert.match(metrics, /^podwall_syncs_total \d+/m);
    assert.match(metrics, /^podwall_ruleset_rules \d+/m);
    assert.match(metrics, /^podwall_ruleset_set_elements \d+/m);
    assert.match(metrics, /^podwall_sync_duration_seconds_count \d+/m);
    assert.match(metrics, /^podwall_denied_packets\{pod="shop\/db",direction="ingress"\} \d+/m);
  });

  test('a change made through the API is enforced by both agents alike', async () => {
    const egress = `${manifests}---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  egress: [{to: [{podSelector: {matchLabels: {app: db}}}], ports: [{port: 5432}]}]
`;
    await lab.apply(cluster(egress));
    const rv = lab.store.currentResourceVersion();
    await agent.waitForSync(rv);
    assert.equal(listing(TABLE), listing(lab.names.table));
    assert.match(listing(TABLE), /egress of pods isolated by shop\/web-egress/);
  });

  test('with the API server killed, enforcement stays: the rules are unchanged and the kernel still decides', async () => {
    const before = listing(TABLE);
    const probeBefore = await lab.probe([{ port: 5432, protocol: 'TCP' }]);
    process.kill(lab.daemon()!.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(listing(TABLE), before, 'the agent left its rules in place');
    assert.equal(listing(lab.names.table), before, "the lab's rules stay too");
    assert.equal((await get(healthPort, '/readyz')).status, 200, 'still ready: it has applied a full sync');
    const probeAfter = await lab.probe([{ port: 5432, protocol: 'TCP' }]);
    assert.deepEqual(probeAfter[0].allowed, probeBefore[0].allowed);
    assert.equal(probeAfter[0].differences.length, 0);
  });

  test('a restarted agent that cannot reach the API server leaves the rules alone until its first full sync', async () => {
    const before = listing(TABLE);
    controller.abort();
    await running;
    assert.equal(listing(TABLE), before, 'stopping leaves the rules (fail closed)');
    const kc = new KubeConfig();
    kc.loadFromFile(lab.kubeconfig);
    const fresh = new Agent({ node: LAB, kubeconfig: kc, table: TABLE });
    const stop = new AbortController();
    const run = fresh.run(stop.signal);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(fresh.getStatus().synced, false);
    assert.equal(listing(TABLE), before, 'nothing applied from an empty view of the cluster');
    stop.abort();
    await run;
  });
});
