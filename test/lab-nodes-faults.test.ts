// The node lab under faults, as root, with real packets: a node's agent killed (its pods keep the
// rules in place, other nodes follow changes, a new pod for it waits), restarted (it converges without opening anything),
// the API server killed (every node keeps enforcing; `lab up` resumes and the agents reconnect),
// and a node deleted (its pods, namespace, routes and identity go with it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../src/cli/main.js';
import type { Output } from '../src/cli/output.js';
import { agentStatus, Lab, type LabDaemonState } from '../src/lab/index.js';
import { isRunning, type ProcessRecord } from '../src/lab/process.js';
import { loadTexts, type Cluster } from '../src/model/index.js';
import { labSkipReason, leftovers } from './lab-support.js';

const LAB = 'nf';
const POD_CIDR = '10.223.0.0/16';
const SERVICE_CIDR = '10.224.0.0/16';
// Long enough that a test can look at a node whose agent is dead before the daemon restarts it.
const RESTART_MS = 8_000;
const skip = labSkipReason();

const pod = (name: string, node: number): string =>
  `---\napiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: x, labels: {pod: ${name}}}\nspec: {nodeName: ${LAB}-node${node}, containers: [{name: c, image: i, ports: [{containerPort: 80}]}]}\n`;
const PODS = `---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n${pod('a', 1)}${pod('b', 2)}${pod('c', 3)}`;
/** Only x/a may reach x/b. */
const ONLY_A_TO_B = `---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: b-from-a, namespace: x}\nspec: {podSelector: {matchLabels: {pod: b}}, ingress: [{from: [{podSelector: {matchLabels: {pod: a}}}]}]}\n`;
/** Nothing may reach x/b (replaces the one above by name: the same object, a new spec). */
const NOTHING_TO_B = `---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: b-from-a, namespace: x}\nspec: {podSelector: {matchLabels: {pod: b}}, policyTypes: [Ingress]}\n`;
/** Nothing may reach x/a. */
const NOTHING_TO_A = `---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a-closed, namespace: x}\nspec: {podSelector: {matchLabels: {pod: a}}, policyTypes: [Ingress]}\n`;

const cluster = (...texts: string[]): Cluster => loadTexts(texts.map((text, i) => ({ file: `f${i}.yaml`, text }))).cluster!;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Output = { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), color: false };
  return { code: await main(args, io), out, err };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('node lab faults', { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'podwall-nodes-faults-'));
  let lab: Lab;
  let dir = '';
  const previousRestart = process.env.PODWALL_LAB_AGENT_RESTART_MS;

  /** One TCP connection from a pod to a pod's port 80, as the lab's probes make them. */
  const connects = (from: string, to: string): boolean => {
    const ip = lab.store.podNetwork('x', to)!.ips[0];
    const r = spawnSync('ip', ['netns', 'exec', lab.netnsOf(`x/${from}`), 'python3', '-c', `import socket\ns=socket.create_connection(('${ip}',80),timeout=0.5)`], { stdio: 'ignore' });
    return r.status === 0;
  };
  const agents = (): Record<string, ProcessRecord> => lab.store.getMeta<Record<string, ProcessRecord>>('agents') ?? {};
  const node = (i: number) => lab.settings.topology!.nodes[i - 1];

  before(async () => {
    process.env.PODWALL_LAB_AGENT_RESTART_MS = String(RESTART_MS);
    lab = (await Lab.up(cluster(PODS, ONLY_A_TO_B), { name: LAB, stateRoot: root, podCIDR: POD_CIDR, serviceCIDR: SERVICE_CIDR, apiPort: 0, nodes: 3 })).lab;
    dir = lab.dir;
  });

  after(async () => {
    if (previousRestart === undefined) delete process.env.PODWALL_LAB_AGENT_RESTART_MS;
    else process.env.PODWALL_LAB_AGENT_RESTART_MS = previousRestart;
    lab?.close();
    await Lab.down(LAB, root);
    rmSync(root, { recursive: true, force: true });
  });

  test('each node runs its own agent process, with its own table in its own namespace', async () => {
    assert.deepEqual(Object.keys(agents()).sort(), [1, 2, 3].map((i) => `${LAB}-node${i}`));
    for (const i of [1, 2, 3]) {
      const tables = spawnSync('ip', ['netns', 'exec', lab.nodeNetns(`${LAB}-node${i}`), 'nft', 'list', 'tables'], { encoding: 'utf8' }).stdout;
      assert.match(tables, /table inet podwall\b/, `node ${i} has the agent's table`);
    }
    assert.equal(spawnSync('nft', ['list', 'table', 'inet', `podwall-${LAB}`]).status !== 0, true, 'no policy table on the host');
    assert.ok(connects('a', 'b') && !connects('c', 'b') && connects('b', 'c'));
  });

  test("a killed agent leaves its node's pods enforced by the rules in place; the other nodes follow changes", async () => {
    const victim = agents()[`${LAB}-node2`];
    process.kill(victim.pid, 'SIGKILL');
    await until('the agent is gone', () => !isRunning(victim), 5000);
    const killedAt = Date.now();
    // Closes x/b completely (node 2's business) and x/a (node 1's).
    await lab.apply(cluster(PODS, NOTHING_TO_B, NOTHING_TO_A));
    assert.equal(connects('a', 'b'), true, "node 2 still enforces the rules it had: x/a -> x/b open as before");
    assert.equal(connects('c', 'b'), false, 'and x/c -> x/b closed as before');
    assert.equal(connects('b', 'a'), false, 'node 1 followed the change');
    assert.equal(connects('a', 'c'), true, 'node 3 is unaffected');
    // A new pod for that node waits: nothing there would enforce its policies yet.
    await assert.rejects(lab.apply(cluster(PODS, pod('d', 2), NOTHING_TO_B, NOTHING_TO_A)), /x\/d \(node nf-node2: its podwall agent is not running\)/);
    assert.equal(lab.store.podNetwork('x', 'd'), undefined);
    assert.ok(Date.now() - killedAt < RESTART_MS, 'all of this was seen before the daemon restarted the agent');
    assert.equal(lab.agentRunning(`${LAB}-node2`), false);
  });

  test('the restarted agent converges without opening anything on the way', async () => {
    // x/c -> x/b is closed by the old rules and by the new: it must never connect meanwhile.
    let opened = 0;
    let probes = 0;
    await until(
      'node 2 enforces the new policy',
      async () => {
        probes++;
        if (connects('c', 'b')) opened++;
        const status = lab.agentRunning(`${LAB}-node2`) ? await agentStatus(node(2)) : undefined;
        return status?.synced === true && !connects('a', 'b');
      },
      RESTART_MS + 30_000,
    );
    assert.equal(opened, 0, `x/c -> x/b connected ${opened} times in ${probes} tries while the agent restarted`);
    await until('the held pod runs on its node', () => (lab.store.get('Pod', 'x', 'd')?.manifest.status as { phase?: string } | undefined)?.phase === 'Running', 30_000);
    await lab.settle();
    assert.deepEqual((await lab.probe([{ port: 80, protocol: 'TCP' }])).flatMap((r) => r.differences), []);
  });

  test('with the API server down every node keeps enforcing; lab up resumes it and the agents follow again', async () => {
    const daemon = lab.daemon() as LabDaemonState;
    process.kill(daemon.pid, 'SIGKILL');
    await until('the daemon is gone', () => !isRunning(daemon), 5000);
    assert.deepEqual(Object.values(agents()).map((a) => isRunning(a)), [true, true, true], 'the agents outlive the API server');
    assert.deepEqual((await lab.probe([{ port: 80, protocol: 'TCP' }])).flatMap((r) => r.differences), [], 'kernel = engine with the API server down');
    lab.close();
    lab = (await Lab.up(cluster(PODS, ONLY_A_TO_B), { name: LAB, stateRoot: root })).lab;
    assert.equal(connects('a', 'b'), true, 'a change after the restart reaches node 2');
    assert.deepEqual((await lab.probe([{ port: 80, protocol: 'TCP' }])).flatMap((r) => r.differences), []);
  });

  test('lab node delete takes the node, its pods, its agent, its namespace and its routes; kubectl sees two nodes', async () => {
    const gone = node(3);
    const netns = lab.nodeNetns(gone.name);
    const r = await cli(['lab', 'node', 'delete', gone.name, '--name', LAB, '--state-dir', root]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`node ${gone.name} deleted, and its pods with it: x/c`));
    lab.close();
    lab = Lab.open(LAB, root);
    assert.equal(lab.store.get('Pod', 'x', 'c'), undefined);
    assert.deepEqual((await lab.list('Node')).map((n) => (n.metadata as { name: string }).name), [`${LAB}-node1`, `${LAB}-node2`]);
    assert.equal(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.includes(`${netns} `), false);
    assert.doesNotMatch(spawnSync('ip', ['route', 'show'], { encoding: 'utf8' }).stdout, new RegExp(gone.podCIDR.replaceAll('.', '\\.')));
    assert.equal(Object.keys(agents()).includes(gone.name), false);
    const last = await cli(['lab', 'get', 'nodes', '--name', LAB, '--state-dir', root]);
    assert.match(last.out, new RegExp(`${LAB}-node2 +Ready +${node(2).address.replaceAll('.', '\\.')} +10\\.223\\.1\\.0/24 +2 +running`));
    assert.equal(connects('a', 'b'), true);
  });

  test('lab down leaves no namespace, link, table or process behind', async () => {
    lab.close();
    await Lab.down(LAB, root);
    assert.deepEqual(leftovers(LAB, `podwall-${LAB}`, dir), []);
  });
});
