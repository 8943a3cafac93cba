// Admin tiers in a running lab, with real packets: the seed's three pods, then an
// AdminNetworkPolicy applied with kubectl that Denies web -> db (a connection allowed a moment
// before is refused), changed to Pass (NetworkPolicy decides again) and to Allow (it admits what
// a NetworkPolicy refuses), deleted; then a ClusterNetworkPolicy through `podwall lab apply -f` and
// `lab delete -f`, and a BaselineAdminNetworkPolicy under NetworkPolicy; an established connection
// an admin Deny no longer allows is cut. Each step is probed once, right after the
// command returns: the lab's convergence claim (every watch stream, the admin kinds' included) must
// already cover it, and the kernel must equal the engine on every cell.
//
// Root, ip, nft, conntrack, python3 and a kubectl ($PODWALL_KUBECTL, else `kubectl` on PATH).
// Kernel objects use the lab name "ladm", the pod CIDR 10.228.0.0/16, Services 10.227.0.0/16.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Lab } from '../src/lab/index.js';
import { loadTexts } from '../src/model/index.js';
import { runCli } from './support/cli.js';
import { waitFor } from './lab-support.js';

const LAB = 'ladm';
const POD_CIDR = '10.228.0.0/16';
const SERVICE_CIDR = '10.227.0.0/16';
const KUBECTL = process.env.PODWALL_KUBECTL ?? 'kubectl';
const root = fileURLToPath(new URL('..', import.meta.url));
const threeTier = join(root, 'examples/three-tier');
const stateRoot = mkdtempSync(join(tmpdir(), 'podwall-ladm-'));
const scratch = mkdtempSync(join(tmpdir(), 'podwall-ladm-files-'));

const have = (p: string): boolean => spawnSync('which', [p]).status === 0;
const canRun = process.getuid?.() === 0 && ['ip', 'nft', 'conntrack', 'python3'].every(have) && spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' }).status === 0;
const skip = canRun ? false : `needs root with ip, nft, conntrack, python3 and a kubectl (${KUBECTL}) (CI installs them)`;

let lab: Lab;

function kubectl(args: readonly string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(KUBECTL, ['--cache-dir', join(scratch, 'kube-cache'), ...args], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: lab.kubeconfig, HOME: scratch }, timeout: 30_000 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function ok(args: readonly string[]): string {
  const r = kubectl(args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} exited ${r.code}:\n${r.err}${r.out}`);
  return r.out;
}

async function podwall(args: readonly string[]): Promise<string> {
  const r = await runCli([...args, '--name', LAB, '--state-dir', stateRoot]);
  assert.equal(r.code, 0, `podwall ${args.join(' ')} exited ${r.code}:\n${r.err}${r.out}`);
  return r.out;
}

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

/** What the kernel holds of the lab: namespaces, links, tables, helper processes. */
function leftovers(): string[] {
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`pw-${LAB}-`));
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(`pw-${LAB}-`));
  const tables = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(`-${LAB}`));
  const procs = spawnSync('pgrep', ['-fa', stateRoot], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.trim());
  return [...netns, ...links, ...tables, ...procs];
}

/**
 * One probe of 3306/TCP, taken as soon as the change's command returned (the probe waits only for
 * the lab's own claim that it caught up): the cells asked for, and no cell where the kernel differs
 * from the engine.
 */
async function expectFlows(want: Record<string, boolean>): Promise<void> {
  const [report] = await lab.probe([{ port: 3306, protocol: 'TCP' }]);
  const flows: Record<string, boolean | null> = {};
  report.pods.forEach((from, i) => report.pods.forEach((to, j) => (flows[`${from.replace(/^default\//, '')}->${to.replace(/^default\//, '')}`] = report.allowed[i][j])));
  assert.deepEqual(Object.fromEntries(Object.keys(want).map((k) => [k, flows[k]])), want, 'the kernel, probed right after the command returned');
  assert.deepEqual(report.differences, [], 'the kernel differs from the engine');
  assert.deepEqual(report.inconclusive, []);
}

const anp = (action: 'Allow' | 'Deny' | 'Pass'): string => `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: web-to-db
spec:
  priority: 10
  subject:
    pods:
      namespaceSelector: {}
      podSelector:
        matchLabels:
          role: db
  ingress:
  - name: web
    action: ${action}
    from:
    - pods:
        namespaceSelector: {}
        podSelector:
          matchLabels:
            role: web
    ports:
    - portNumber:
        protocol: TCP
        port: 3306
`;

const cnpDenyApi = `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: no-api-to-db
spec:
  tier: Admin
  priority: 5
  subject:
    pods:
      namespaceSelector: {}
      podSelector:
        matchLabels:
          role: db
  ingress:
  - name: api
    action: Deny
    from:
    - pods:
        namespaceSelector: {}
        podSelector:
          matchLabels:
            role: api
    protocols:
    - tcp:
        destinationPort:
          number: 3306
`;

const banpDenyAll = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata:
  name: default
spec:
  subject:
    namespaces:
      matchLabels:
        kubernetes.io/metadata.name: default
  ingress:
  - name: nothing-by-default
    action: Deny
    from:
    - namespaces: {}
`;

/** Every connection from web pods to db pods, whatever the port. */
const denyWebEverywhere = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: web-cut
spec:
  priority: 1
  subject:
    pods:
      namespaceSelector: {}
      podSelector:
        matchLabels:
          role: db
  ingress:
  - action: Deny
    from:
    - pods:
        namespaceSelector: {}
        podSelector:
          matchLabels:
            role: web
`;

/** A long-lived TCP connection between two pods: an echo server and a client that reports every exchange (ok, or its failure, then exits). */
function startEchoPair(serverPod: string, clientPod: string, serverIP: string, port: number): { client: ChildProcess; server: ChildProcess; events: { t: number; ok: boolean }[] } {
  const serverCode = `import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',${port}));s.listen(5)\nwhile True:\n  c,_=s.accept()\n  try:\n    while True:\n      d=c.recv(64)\n      if not d: break\n      c.sendall(d)\n  except OSError: pass\n`;
  const clientCode = `import socket,sys,time\ns=socket.create_connection(('${serverIP}',${port}),timeout=2)\nwhile True:\n  try:\n    s.sendall(b'x');d=s.recv(64)\n    if not d: raise OSError('closed')\n    print('ok',flush=True)\n  except OSError as e:\n    print('fail',e,flush=True);sys.exit(0)\n  time.sleep(0.02)\n`;
  const server = spawn('ip', ['netns', 'exec', lab.netnsOf(serverPod), 'python3', '-c', serverCode], { stdio: 'ignore' });
  // The client connects once the server listens (checked from inside the server's pod).
  const deadline = Date.now() + 10_000;
  while (spawnSync('ip', ['netns', 'exec', lab.netnsOf(serverPod), 'python3', '-c', `import socket;socket.create_connection(('127.0.0.1',${port}),timeout=1).close()`]).status !== 0) {
    if (Date.now() > deadline) throw new Error(`the echo server in ${serverPod} did not listen on ${port}`);
  }
  const events: { t: number; ok: boolean }[] = [];
  const client = spawn('ip', ['netns', 'exec', lab.netnsOf(clientPod), 'python3', '-c', clientCode], { stdio: ['ignore', 'pipe', 'ignore'] });
  let buffer = '';
  client.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) events.push({ t: Date.now(), ok: line.startsWith('ok') });
  });
  return { client, server, events };
}

after(async () => {
  if (canRun) {
    lab?.close();
    await Lab.down(LAB, stateRoot);
  }
  rmSync(scratch, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
});

describe('admin tiers in the lab: kubectl and podwall lab apply, probed with real packets', { skip }, () => {
  before(async () => {
    await Lab.down(LAB, stateRoot);
    const pods = loadTexts([{ file: 'pods.yaml', text: readFileSync(join(threeTier, 'pods.yaml'), 'utf8') }]).cluster!;
    lab = (await Lab.up(pods, { name: LAB, stateRoot, podCIDR: POD_CIDR, serviceCIDR: SERVICE_CIDR, apiPort: 0 })).lab;
  });

  test('without policies web and api reach db:3306', async () => {
    await expectFlows({ 'web->db': true, 'api->db': true });
  });

  test('kubectl apply -f an AdminNetworkPolicy whose rule Denies web: web -> db, allowed a moment ago, is refused; api -> db is not', async () => {
    assert.match(ok(['apply', '-f', file('anp.yaml', anp('Deny'))]), /^adminnetworkpolicy\.policy\.networking\.k8s\.io\/web-to-db created$/m);
    await expectFlows({ 'web->db': false, 'api->db': true });
    assert.match(ok(['get', 'anp']), /^web-to-db\s+10\s+\S+$/m);
  });

  test('changed to Pass: NetworkPolicy decides, so web -> db is allowed while none isolates db, and refused once db-policy (api only) does', async () => {
    assert.match(ok(['apply', '-f', file('anp.yaml', anp('Pass'))]), /web-to-db configured/);
    await expectFlows({ 'web->db': true, 'api->db': true });
    assert.match(ok(['create', '-f', join(threeTier, 'db-policy.yaml')]), /db-policy created/);
    await expectFlows({ 'web->db': false, 'api->db': true });
  });

  test('changed to Allow (v1alpha1\'s Accept): web -> db is admitted whatever db-policy says', async () => {
    assert.match(ok(['patch', 'anp', 'web-to-db', '--type=json', '-p', '[{"op":"replace","path":"/spec/ingress/0/action","value":"Allow"}]']), /patched/);
    await expectFlows({ 'web->db': true, 'api->db': true });
  });

  test('kubectl delete anp: db-policy alone decides again', async () => {
    assert.match(ok(['delete', 'anp', 'web-to-db']), /"web-to-db" deleted/);
    await expectFlows({ 'web->db': false, 'api->db': true });
  });

  test('podwall lab apply -f a ClusterNetworkPolicy (Admin tier, Deny api) beside db-policy: api -> db refused although db-policy admits it; lab get adminpolicies lists it; lab delete -f removes both', async () => {
    // A file of policies as a team keeps them: the NetworkPolicy is already in the lab, unchanged.
    const both = file('policies.yaml', `${cnpDenyApi}---\n${readFileSync(join(threeTier, 'db-policy.yaml'), 'utf8')}`);
    const applied = await podwall(['lab', 'apply', '-f', both]);
    assert.match(applied, /^ClusterNetworkPolicy no-api-to-db created$/m);
    assert.doesNotMatch(applied, /db-policy/);
    await expectFlows({ 'web->db': false, 'api->db': false });
    assert.match(await podwall(['lab', 'get', 'adminpolicies']), /^ClusterNetworkPolicy\s+no-api-to-db\s+Admin\s+5\s+1\s+0$/m);
    assert.match(await podwall(['lab', 'apply', '-f', both]), /nothing changed/);
    const deleted = await podwall(['lab', 'delete', '-f', both]);
    assert.match(deleted, /^ClusterNetworkPolicy no-api-to-db deleted$/m);
    assert.match(deleted, /^NetworkPolicy default\/db-policy deleted$/m);
    await expectFlows({ 'web->db': true, 'api->db': true });
  });

  test('kubectl create -f a BaselineAdminNetworkPolicy that denies everything: what NetworkPolicy leaves undecided is denied; once db-policy isolates db, it decides first (api allowed)', async () => {
    assert.match(ok(['create', '-f', file('banp.yaml', banpDenyAll)]), /baselineadminnetworkpolicy\.policy\.networking\.k8s\.io\/default created/);
    await expectFlows({ 'web->db': false, 'api->db': false });
    ok(['create', '-f', join(threeTier, 'db-policy.yaml')]);
    await expectFlows({ 'web->db': false, 'api->db': true });
    assert.match(ok(['delete', 'networkpolicy', 'db-policy']), /deleted/);
    await expectFlows({ 'web->db': false, 'api->db': false });
    assert.match(ok(['delete', 'banp', 'default']), /deleted/);
    await expectFlows({ 'web->db': true, 'api->db': true });
  });

  test('an established connection an AdminNetworkPolicy Deny no longer allows is cut by the time the lab has caught up (within 1 s)', async () => {
    const dbIP = lab.store.podNetwork('default', 'db')!.ips[0];
    const pair = startEchoPair('default/db', 'default/web', dbIP, 7003);
    try {
      assert.ok(await waitFor(() => pair.events.some((e) => e.ok), 5000), 'the connection is up');
      assert.match(ok(['apply', '-f', file('cut.yaml', denyWebEverywhere)]), /web-cut created/);
      await lab.settle();
      const settled = Date.now();
      assert.ok(await waitFor(() => pair.events.some((e) => !e.ok), 1000), 'the client saw its connection fail within 1 s of the lab catching up');
      const failedAt = pair.events.find((e) => !e.ok)!.t;
      assert.equal(pair.events.filter((e) => e.t > failedAt && e.ok).length, 0, 'no exchange succeeded after the cut');
      assert.ok(failedAt - settled <= 1000);
    } finally {
      pair.client.kill('SIGKILL');
      pair.server.kill('SIGKILL');
    }
    ok(['delete', 'anp', 'web-cut']);
    await expectFlows({ 'web->db': true, 'api->db': true });
  });

  test('Lab.down leaves nothing behind', async () => {
    assert.ok(leftovers().length > 0, 'the lab exists before down');
    lab.close();
    await Lab.down(LAB, stateRoot);
    assert.deepEqual(leftovers(), []);
  });
});
