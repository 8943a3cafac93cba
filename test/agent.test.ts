// The agent against the lab's API server, as root: started alone (listing in pages) it converges
// to the same ruleset as the lab's own agent; it follows changes; it fails closed (the API server
// killed, or unreachable at start, leaves the kernel's rules as they were); health and metrics.
// The agent process against a fake API server (a cluster without the admin policy CRDs): its table
// restored, SIGTERM, the admin kinds read as none. Bad input: exit 2.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, agentMetrics, OPTIONAL_STREAMS, serveHealth } from '../src/agent/index.js';
import { deleteTable } from '../src/dataplane/index.js';
import { Lab } from '../src/lab/index.js';
import { loadTexts } from '../src/model/index.js';
import { main } from '../src/cli/main.js';
import type { Output } from '../src/cli/output.js';

const LAB = 'agt';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
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
    // Pages of one item: every list needs the lab API server's continue tokens.
    agent = new Agent({ node: LAB, kubeconfig: kc, table: TABLE, nodeAddresses: [lab.settings.gateways[4]], watchTimeoutSeconds: 30, pageSize: 1 });
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

  test('started alone, listing in pages of one item, it converges to the same ruleset as the lab\'s own agent', async () => {
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
    assert.match(metrics, /^podwall_denied_packets_total\{pod="shop\/db",direction="ingress"\} \d+/m);
    // Totals are counters (Prometheus rate() needs them monotonic), not gauges.
    for (const total of ['podwall_syncs_total', 'podwall_sync_errors_total', 'podwall_watch_restarts_total', 'podwall_connections_revoked_total', 'podwall_denied_packets_total']) {
      assert.match(metrics, new RegExp(`^# TYPE ${total} counter$`, 'm'), total);
    }
  });

  test('a table deleted behind its back is put back within 2 s, the same as before', async () => {
    const before = listing(TABLE);
    spawnSync('nft', ['delete', 'table', 'inet', TABLE]);
    const deleted = Date.now();
    assert.ok(await until(() => listing(TABLE) === before, 2000), `restored within 2 s (after ${Date.now() - deleted} ms: ${listing(TABLE).slice(0, 80)})`);
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
    await agent.waitForSync((versions) => versions.every((v) => Number(v) >= rv));
    assert.equal(listing(TABLE), listing(lab.names.table));
    assert.match(listing(TABLE), /egress of pods isolated by shop\/web-egress/);
  });

  test('with the API server killed, enforcement stays: the rules are unchanged and the kernel still decides', async () => {
    const before = listing(TABLE);
    const probeBefore = await lab.probe([{ port: 5432, protocol: 'TCP' }]);
    const restarts = agent.getStatus().watchRestarts;
    process.kill(lab.daemon()!.pid, 'SIGKILL');
    assert.ok(await until(() => agent.getStatus().watchRestarts > restarts, 10_000), 'the agent noticed the API server is gone');
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
    assert.ok(await until(() => fresh.getStatus().watchRestarts >= 3, 10_000), 'it tried to list (and failed) for each kind');
    assert.equal(fresh.getStatus().synced, false);
    assert.equal(listing(TABLE), before, 'nothing applied from an empty view of the cluster');
    stop.abort();
    await run;
  });
});

/**
 * A fake API server (plain HTTP on loopback) for the agent process: empty lists at version 1 and
 * watches held open, so the test decides when something changes. It is a cluster without the
 * network-policy-api CRDs: policy.networking.k8s.io answers 404.
 */
class FakeApi {
  private readonly server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const kind = { '/api/v1/namespaces': 'NamespaceList', '/api/v1/pods': 'PodList', '/api/v1/nodes': 'NodeList', '/apis/networking.k8s.io/v1/networkpolicies': 'NetworkPolicyList' }[url.pathname];
    if (!kind) {
      res.writeHead(404).end();
      return;
    }
    if (url.searchParams.get('watch') !== 'true') {
      const apiVersion = kind === 'NetworkPolicyList' ? 'networking.k8s.io/v1' : 'v1';
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ kind, apiVersion, metadata: { resourceVersion: '1' }, items: [] }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    this.watches.push({ path: url.pathname, res });
  });
  readonly watches: { path: string; res: ServerResponse }[] = [];
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** A pod of node n1 and a policy isolating it appear (in namespace default): the agent's ruleset changes. */
  addIsolatedPod(name: string, ip: string, version: string): void {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', resourceVersion: version },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] },
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
    };
    const policy = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `deny-${name}`, namespace: 'default', resourceVersion: version }, spec: { podSelector: {} } };
    for (const [path, object] of [
      ['/api/v1/pods', pod],
      ['/apis/networking.k8s.io/v1/networkpolicies', policy],
    ] as const) {
      for (const w of this.watches.filter((x) => x.path === path)) w.res.write(`${JSON.stringify({ type: 'ADDED', object })}\n`);
    }
  }

  kubeconfig(dir: string): string {
    const path = join(dir, 'fake-api.yaml');
    writeFileSync(path, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:${this.port}', insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`);
    return path;
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.res.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

// The podwall agent process against a fake API server: a table deleted behind its back comes
// back; SIGTERM stops it while idle (its watches open), while a ruleset transaction is in flight,
// and while a conntrack process is in flight. Programs on its PATH that hang when told to (a file
// in the directory) stand in for a slow nft or conntrack.
describe('the podwall agent process, as root', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwall-agent-stop-'));
  const table = 'podwall-agtstop';
  const api = new FakeApi();
  let version = 1;
  before(() => api.start());
  after(async () => {
    await api.stop();
    for (const f of ['nft.pid', 'conntrack.pid']) {
      if (!existsSync(join(dir, f))) continue;
      try {
        process.kill(Number(readFileSync(join(dir, f), 'utf8')), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await deleteTable(table).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  const fake = (program: string, hangWhen: string): void => {
    const real = spawnSync('which', [program], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(join(dir, program), `#!/bin/sh\nif [ -e ${dir}/hang-${program} ] && ${hangWhen}; then echo $$ > ${dir}/${program}.pid; exec sleep 60; fi\nexec ${real} "$@"\n`, { mode: 0o755 });
  };
  fake('nft', '[ "$1" = "-f" ]');
  fake('conntrack', '[ "$1" = "-L" ]');

  /** Starts `podwall agent` and waits until it is ready (its first sync applied). */
  async function startAgent(): Promise<{ child: ChildProcess; stderr: () => string; exited: Promise<number | null> }> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/entry.ts'), 'agent', '--kubeconfig', api.kubeconfig(dir), '--node', 'n1', '--table', table, '--health-address', '127.0.0.1:0'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    assert.ok(await until(() => /health on http:\/\/127\.0\.0\.1:\d+/.test(stderr), 20_000), stderr);
    const port = Number(/health on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    let ready = false;
    const deadline = Date.now() + 20_000;
    while (!ready && Date.now() < deadline) ready = (await get(port, '/readyz').catch(() => ({ status: 0 }))).status === 200;
    assert.ok(ready, `the agent became ready: ${stderr}`);
    return { child, stderr: () => stderr, exited };
  }

  test('a table deleted behind its back is put back within 2 s, with the same rules', async () => {
    const { child, exited } = await startAgent();
    try {
      const before = listing(table);
      assert.notEqual(before, `(no table ${table})`);
      spawnSync('nft', ['delete', 'table', 'inet', table]);
      const deleted = Date.now();
      assert.ok(await until(() => listing(table) === before, 2000), `restored within 2 s (after ${Date.now() - deleted} ms: ${listing(table).slice(0, 80)})`);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  test('on a cluster without the admin policy CRDs it gets ready, saying once per kind that it reads none', async () => {
    const { child, stderr, exited } = await startAgent();
    try {
      for (const path of OPTIONAL_STREAMS) assert.equal(stderr().split(`${path} is not served`).length - 1, 1, `${path} said once: ${stderr()}`);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  const cases: [string, 'nft' | 'conntrack' | undefined][] = [
    ['while idle, its watches open', undefined],
    ['while a ruleset transaction is in flight', 'nft'],
    ['while a conntrack process is in flight', 'conntrack'],
  ];
  for (const [what, hang] of cases) {
    test(`SIGTERM stops it within 2 s ${what}, exit 0, its rules left in place`, async () => {
      const { child, stderr, exited } = await startAgent();
      try {
        if (hang) {
          writeFileSync(join(dir, `hang-${hang}`), '');
          // A change makes it sync: its transaction (or the conntrack listing after it) hangs.
          version++;
          api.addIsolatedPod(`pod-${hang}`, `10.250.0.${version}`, String(version));
          assert.ok(await until(() => existsSync(join(dir, `${hang}.pid`)), 10_000), `the agent started ${hang}: ${stderr()}`);
        }
        const rules = listing(table);
        assert.notEqual(rules, `(no table ${table})`);
        const t0 = Date.now();
        child.kill('SIGTERM');
        const code = await Promise.race([exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 2000))]);
        assert.equal(code, 0, `exit 0 within 2 s (got ${String(code)} after ${Date.now() - t0} ms): ${stderr()}`);
        assert.equal(listing(table), rules, 'its rules stay in force');
      } finally {
        child.kill('SIGKILL');
        if (hang) rmSync(join(dir, `hang-${hang}`), { force: true });
      }
    });
  }
});

describe('podwall agent: bad input is exit 2 with one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podwall-agent-input-'));
  let busy: Server;
  before(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  });
  after(() => {
    busy.close();
    rmSync(dir, { recursive: true, force: true });
  });
  /** Runs `podwall agent` in this process with the environment changed as given (undefined: unset). */
  const run = async (args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; err: string }> => {
    let err = '';
    const io: Output = { out: () => undefined, err: (s) => (err += `${s}\n`), color: false };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    const set = (values: Record<string, string | undefined>): void => {
      for (const [k, v] of Object.entries(values)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    };
    set(env);
    try {
      return { code: await main(['agent', ...args], io), err };
    } finally {
      set(saved);
    }
  };
  const garbage = join(dir, 'garbage.yaml');
  writeFileSync(garbage, 'this: [is not a kubeconfig');
  const noCluster = join(dir, 'empty.yaml');
  writeFileSync(noCluster, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
  const kubeconfig = (cluster: string, user = '{}'): string => `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', ${cluster}}}]
users: [{name: u, user: ${user}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;
  const good = join(dir, 'good.yaml');
  writeFileSync(good, kubeconfig("insecure-skip-tls-verify: true"));
  const noCA = join(dir, 'no-ca.yaml');
  writeFileSync(noCA, kubeconfig(`certificate-authority: ${join(dir, 'missing-ca.crt')}`));
  const noKey = join(dir, 'no-key.yaml');
  writeFileSync(noKey, kubeconfig('insecure-skip-tls-verify: true', `{client-certificate: ${good}, client-key: ${join(dir, 'missing.key')}}`));
  const plainHttp = join(dir, 'plain-http.yaml');
  writeFileSync(plainHttp, kubeconfig('insecure-skip-tls-verify: false').replace('https://127.0.0.1:1', 'http://127.0.0.1:1'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const notInCluster = { KUBERNETES_SERVICE_HOST: undefined, KUBERNETES_SERVICE_PORT: undefined };
  const cases: [string, () => string[], RegExp, Record<string, string | undefined>?][] = [
    ['a kubeconfig that does not exist', () => ['--kubeconfig', join(dir, 'nope.yaml')], /--kubeconfig .*nope\.yaml: .*(ENOENT|no such file)/],
    ['a kubeconfig that is not YAML', () => ['--kubeconfig', garbage], /--kubeconfig .*garbage\.yaml: /],
    ['a kubeconfig without a cluster', () => ['--kubeconfig', noCluster], /no current cluster/],
    ['no kubeconfig at all (no --kubeconfig, no KUBECONFIG, no ~/.kube/config, not in a pod)', () => [], /no kubeconfig: .*home\/\.kube\/config does not exist/, { ...notInCluster, KUBECONFIG: undefined, HOME: home }],
    ['a KUBECONFIG that does not exist', () => [], /KUBECONFIG=.*nope\.yaml: .*(ENOENT|no such file)/, { ...notInCluster, KUBECONFIG: join(dir, 'nope.yaml') }],
    ['a kubeconfig whose certificate authority file does not exist', () => ['--kubeconfig', noCA], /certificate-authority .*missing-ca\.crt does not exist/],
    ['a kubeconfig whose client key file does not exist', () => ['--kubeconfig', noKey], /client-key .*missing\.key does not exist/],
    ['a kubeconfig whose server is plain HTTP without insecure-skip-tls-verify', () => ['--kubeconfig', plainHttp], /server http:\/\/127\.0\.0\.1:1 is plain HTTP, which needs insecure-skip-tls-verify: true/],
    ['a health address without a port', () => ['--health-address', 'localhost'], /--health-address: "localhost" is not ADDRESS:PORT/],
    ['a health address with a bad port', () => ['--health-address', '127.0.0.1:99999'], /--health-address: "127\.0\.0\.1:99999" is not ADDRESS:PORT/],
    ['a health address that is a host name', () => ['--health-address', 'example.com:9743'], /is not ADDRESS:PORT/],
    ['a health address that cannot be bound (in use)', () => ['--kubeconfig', good, '--health-address', `127.0.0.1:${(busy.address() as AddressInfo).port}`], /--health-address 127\.0\.0\.1:\d+: .*EADDRINUSE/],
    ['a node address that is not an IP', () => ['--node-address', '10.0.0.300'], /--node-address: "10\.0\.0\.300" is not an IP address/],
  ];
  if (!existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) {
    cases.push(['in a pod without a service account token', () => [], /the in-cluster configuration: .*serviceaccount\/(token|ca\.crt) does not exist/, { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }]);
  }
  for (const [what, args, message, env] of cases) {
    // A config that slipped through would start an agent that never returns: the timeout says so.
    test(what, { timeout: 10_000 }, async () => {
      const r = await run(args(), env);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, message);
      assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
    });
  }
});
