// The lab end to end, as root on this machine: bring-up, changes the kernel must follow,
// existing connections (kept while allowed, cut within 1 s when not), counters, failures that
// must leave nothing behind, and clean-up. Kernel objects use the lab name "life".
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';
import type { Output } from '../src/cli/output.js';
import { Lab } from '../src/lab/index.js';
import { loadTexts } from '../src/model/index.js';
import { waitFor } from './lab-support.js';

const LAB = 'life';
const root = fileURLToPath(new URL('..', import.meta.url));
const threeTier = join(root, 'examples/three-tier');
const stateRoot = mkdtempSync(join(tmpdir(), 'podwall-lab-'));
const scratch = mkdtempSync(join(tmpdir(), 'podwall-lab-files-'));

const canRun = process.getuid?.() === 0 && ['ip', 'nft', 'conntrack', 'python3'].every((p) => spawnSync('which', [p]).status === 0);
const skip = canRun ? false : 'needs root with ip, nft, conntrack and python3 (CI installs them)';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Output = { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), color: false };
  // The lab flags go right after `lab <command>`, before any `--` that starts a pod's command.
  const code = await main([...args.slice(0, 2), '--name', LAB, '--state-dir', stateRoot, ...args.slice(2)], io);
  return { code, out, err };
}

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

/** What the kernel holds of the lab: namespaces, links, tables, helper processes. */
function leftovers(lab = LAB): string[] {
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`pw-${lab}-`));
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(`pw-${lab}-`));
  const tables = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(`podwall-${lab}`));
  const helpers = spawnSync('pgrep', ['-fa', `podnet.py serve ${stateRoot}`], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.trim());
  return [...netns, ...links, ...tables, ...helpers];
}

/** The host settings a lab changes while it is up. */
function hostSettings(): string[] {
  return ['net/ipv4/ip_forward', 'net/ipv4/conf/all/send_redirects'].map((k) => readFileSync(`/proc/sys/${k}`, 'utf8').trim());
}
const hostBefore = hostSettings();

function probeCell(json: string, from: string, to: string): boolean | null {
  const r = JSON.parse(json) as { pods: string[]; allowed: (boolean | null)[][] };
  return r.allowed[r.pods.indexOf(from)][r.pods.indexOf(to)];
}

after(async () => {
  if (canRun) await Lab.down(LAB, stateRoot);
  rmSync(scratch, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
});

describe('lab lifecycle with the three-tier example', { skip }, () => {
  before(async () => {
    await Lab.down(LAB, stateRoot);
  });

  test('lab up builds the pods, enforces the policies and prints a probed matrix equal to the engine', async () => {
    const r = await cli(['lab', 'up', '-f', threeTier, '--pod-cidr', '10.249.0.0/16']);
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /lab "life" is up: bridge pw-life-br, pod CIDR 10\.249\.0\.0\/16, table inet podwall-life/);
    assert.deepEqual(hostSettings(), ['1', '0'], 'the host forwards, and sends no ICMP redirects that would teach pods a way around it');
    assert.match(r.out, /pod default\/web {2}10\.249\.0\.\d+ {2}netns pw-life-\d+/);
    assert.doesNotMatch(r.out, /differ from the engine/);
    // 80, 3306 and 5000 over TCP, the cluster DNS's 53 over UDP and TCP, and the Services.
    assert.equal((r.out.match(/kernel = engine/g) ?? []).length, 6, 'one verdict line per port, and one for the Services');
    assert.match(r.out, /^outside +- - ✓ - -$/m, 'from outside, only web, through its NodePort');
  });

  test('the seed flow: web reaches api:5000, api reaches db:3306, web does not reach db:3306', async () => {
    assert.equal(probeCell((await cli(['lab', 'probe', '--port', '5000', '-o', 'json'])).out, 'default/web', 'default/api'), true);
    const db = (await cli(['lab', 'probe', '--port', '3306', '-o', 'json'])).out;
    assert.equal(probeCell(db, 'default/api', 'default/db'), true);
    assert.equal(probeCell(db, 'default/web', 'default/db'), false);
  });

  test('a second lab up with the same name is refused (exit 2) and changes nothing', async () => {
    const r = await cli(['lab', 'up', '-f', threeTier]);
    assert.equal(r.code, 2);
    assert.match(r.err, /lab "life" is already up/);
    assert.equal((await cli(['lab', 'probe', '--port', '3306'])).code, 0);
  });

  test('lab get lists pods with addresses, and policies', async () => {
    const pods = await cli(['lab', 'get', 'pods']);
    assert.match(pods.out, /default\s+web\s+10\.249\.0\.\d+\s+80\/TCP\s+name=web-pod,role=web/);
    const policies = await cli(['lab', 'get', 'policies']);
    assert.match(policies.out, /default\s+db-policy\s+role=db\s+Ingress/);
  });

  test('lab exec runs a command inside the pod and returns its exit code', async () => {
    assert.equal((await cli(['lab', 'exec', 'default/web', '--', 'true'])).code, 0);
    assert.equal((await cli(['lab', 'exec', 'default/web', '--', 'false'])).code, 1);
    const r = await cli(['lab', 'exec', 'default/nope', '--', 'true']);
    assert.equal(r.code, 2);
    assert.match(r.err, /no pod "default\/nope"/);
  });

  test('denied connections are counted per pod and direction', async () => {
    const before = JSON.parse((await cli(['lab', 'counters', '-o', 'json'])).out) as { pod: string; direction: string; packets: number }[];
    const count = (rows: typeof before) => rows.find((r) => r.pod === 'default/web' && r.direction === 'egress')!.packets;
    await cli(['lab', 'probe', '--port', '3306']);
    const afterProbe = JSON.parse((await cli(['lab', 'counters', '-o', 'json'])).out) as typeof before;
    assert.ok(count(afterProbe) > count(before), 'web -> db was denied by web egress, and counted there');
  });

  test('deleting policies and relabelling a pod: the kernel follows each step', async () => {
    const webPolicy = join(threeTier, 'web-policy.yaml');
    const deleted = await cli(['lab', 'delete', '-f', webPolicy]);
    assert.equal(deleted.code, 0, deleted.err);
    assert.match(deleted.out, /NetworkPolicy default\/web-policy deleted/);
    // web's egress is open now, but db-policy still admits only name=api-pod.
    assert.equal(probeCell((await cli(['lab', 'probe', '--port', '3306', '-o', 'json'])).out, 'default/web', 'default/db'), false);

    const relabel = file(
      'web-as-api.yaml',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {name: api-pod, role: web}}\nspec:\n  containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 80}]}]\n',
    );
    const relabelled = await cli(['lab', 'apply', '-f', relabel]);
    assert.match(relabelled.out, /Pod default\/web configured/);
    const probe = await cli(['lab', 'probe', '--port', '3306', '-o', 'json']);
    assert.equal(probe.code, 0, probe.out);
    assert.equal(probeCell(probe.out, 'default/web', 'default/db'), true, 'db-policy now admits web by its new label');

    const restore = await cli(['lab', 'apply', '-f', threeTier]);
    assert.match(restore.out, /NetworkPolicy default\/web-policy created/);
    assert.equal(probeCell((await cli(['lab', 'probe', '--port', '3306', '-o', 'json'])).out, 'default/web', 'default/db'), false);
  });

  test('re-applying an unchanged state does not touch the kernel', async () => {
    const r = await cli(['lab', 'apply', '-f', threeTier]);
    assert.match(r.out, /nothing changed/);
    assert.match(r.out, /ruleset unchanged/);
  });

  test('lab down removes every namespace, link, table and process, and is idempotent', async () => {
    assert.ok(leftovers().length > 0, 'the lab exists before down');
    const r = await cli(['lab', 'down']);
    assert.match(r.out, /lab "life" is down/);
    assert.deepEqual(leftovers(), []);
    assert.match((await cli(['lab', 'down'])).out, /nothing to remove/);
    assert.equal(existsSync(join(stateRoot, 'labs', LAB)), false);
    assert.deepEqual(hostSettings(), hostBefore, 'forwarding and ICMP redirects are as they were before the lab');
  });
});

/** A long-lived TCP connection inside the lab: an echo server and a client that reports every exchange. */
function startEchoPair(lab: Lab, serverPod: string, clientPod: string, serverIP: string, port: number): { client: ChildProcess; server: ChildProcess; events: { t: number; ok: boolean }[] } {
  const serverCode = `import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',${port}));s.listen(5)\nwhile True:\n  c,_=s.accept()\n  try:\n    while True:\n      d=c.recv(64)\n      if not d: break\n      c.sendall(d)\n  except OSError: pass\n`;
  const clientCode = `import socket,sys,time\ns=socket.create_connection(('${serverIP}',${port}),timeout=2)\nwhile True:\n  try:\n    s.sendall(b'x');d=s.recv(64)\n    if not d: raise OSError('closed')\n    print('ok',flush=True)\n  except OSError as e:\n    print('fail',e,flush=True);sys.exit(0)\n  time.sleep(0.02)\n`;
  const server = spawn('ip', ['netns', 'exec', lab.netnsOf(serverPod), 'python3', '-c', serverCode], { stdio: 'ignore' });
  const events: { t: number; ok: boolean }[] = [];
  let client!: ChildProcess;
  const startClient = (): void => {
    client = spawn('ip', ['netns', 'exec', lab.netnsOf(clientPod), 'python3', '-c', clientCode], { stdio: ['ignore', 'pipe', 'ignore'] });
    let buffer = '';
    client.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) events.push({ t: Date.now(), ok: line.startsWith('ok') });
    });
  };
  // The client connects once the server listens (checked from inside the server's pod).
  const deadline = Date.now() + 10_000;
  while (spawnSync('ip', ['netns', 'exec', lab.netnsOf(serverPod), 'python3', '-c', `import socket;socket.create_connection(('127.0.0.1',${port}),timeout=1).close()`]).status !== 0) {
    if (Date.now() > deadline) throw new Error(`the echo server in ${serverPod} did not listen on ${port}`);
  }
  startClient();
  return { client, server, events };
}

describe('existing connections', { skip }, () => {
  const manifests = `apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: server, labels: {app: server}}
spec: {containers: [{name: s, image: x, ports: [{containerPort: 80}]}]}
`;
  const policy = (port: number): string => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server-ingress}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: ${port}}]
`;
  const cluster = (text: string) => loadTexts([{ file: 'conn.yaml', text }]).cluster!;
  let lab: Lab;
  let pair: ReturnType<typeof startEchoPair>;

  before(async () => {
    await Lab.down(LAB, stateRoot);
    lab = (await Lab.up(cluster(manifests), { name: LAB, stateRoot, podCIDR: '10.249.0.0/16' })).lab;
    const serverIP = lab.store.podNetwork('default', 'server')!.ips[0];
    pair = startEchoPair(lab, 'default/server', 'default/client', serverIP, 7001);
    assert.ok(await waitFor(() => pair.events.some((e) => e.ok), 5000), 'the connection is up');
  });

  after(async () => {
    pair?.client.kill('SIGKILL');
    pair?.server.kill('SIGKILL');
    lab?.close();
    await Lab.down(LAB, stateRoot);
    assert.deepEqual(leftovers(), []);
  });

  test('an established connection that stays allowed keeps flowing when a policy is applied', async () => {
    await lab.apply(cluster(policy(7001)));
    const applied = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    const since = pair.events.filter((e) => e.t > applied);
    assert.ok(since.length > 10 && since.every((e) => e.ok), `exchanges after the policy: ${since.length}, failures: ${since.filter((e) => !e.ok).length}`);
  });

  test('an established connection the new policy no longer allows stops within 1 s', async () => {
    const started = Date.now();
    const report = await lab.apply(cluster(policy(7002)));
    const applied = Date.now();
    assert.ok(report.connectionsCut >= 1, 'the stale connection was cut');
    // The cut may land while apply is still finishing (it starts the pods' servers last).
    const stopped = await waitFor(() => pair.events.some((e) => e.t >= started && !e.ok), 1000);
    assert.ok(stopped, 'the client saw its connection fail within 1 s of the change being applied');
    const failedAt = pair.events.find((e) => e.t >= started && !e.ok)!.t;
    assert.ok(failedAt - applied <= 1000, `failed ${failedAt - applied} ms after apply returned`);
    assert.equal(pair.events.filter((e) => e.t > failedAt && e.ok).length, 0, 'no exchange succeeded after the cut');
  });
});

describe('failures leave nothing behind', { skip }, () => {
  test('a pod asking for a public address fails lab up (exit 2) and everything made is rolled back', async () => {
    await Lab.down(LAB, stateRoot);
    const bad = file('public.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: x}]}\nstatus: {podIP: 8.8.8.8}\n');
    const r = await cli(['lab', 'up', '-f', threeTier, '-f', bad]);
    assert.equal(r.code, 2);
    assert.match(r.err, /status\.podIP 8\.8\.8\.8: lab pods may only use private addresses/);
    assert.deepEqual(leftovers(), []);
    assert.equal(existsSync(join(stateRoot, 'labs', LAB)), false);
  });

  test('invalid manifests fail lab up before anything is made', async () => {
    const bad = file('bad.yaml', 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec: {podSelector: {}, policyTypes: [Sideways]}\n');
    const r = await cli(['lab', 'up', '-f', bad]);
    assert.equal(r.code, 2);
    assert.match(r.err, /spec\.policyTypes\[0\]: Unsupported value: "Sideways"/);
    assert.deepEqual(leftovers(), []);
  });

  test('a missing nft is one clear line naming the package to install, exit 2, nothing made', () => {
    // A PATH with everything the lab uses except nft.
    const bin = join(scratch, 'bin-without-nft');
    mkdirSync(bin, { recursive: true });
    for (const program of ['ip', 'conntrack', 'python3', 'node']) {
      const where = spawnSync('which', [program], { encoding: 'utf8' }).stdout.trim();
      if (!existsSync(join(bin, program))) symlinkSync(where, join(bin, program));
    }
    const r = spawnSync(process.execPath, [join(root, 'bin/podwall.js'), 'lab', 'up', '-f', threeTier, '--name', LAB, '--state-dir', stateRoot], {
      encoding: 'utf8',
      env: { ...process.env, PATH: bin },
    });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim(), "error: nft not found: install Debian's nftables package (apt-get install nftables)");
    assert.deepEqual(leftovers(), []);
  });

  test('lab commands without a lab say how to start one (exit 2)', async () => {
    const r = await cli(['lab', 'probe']);
    assert.equal(r.code, 2);
    assert.match(r.err, /no lab "life" is up \(start one with: podwall lab up -f PATH --name life\)/);
  });
});

describe('IPv6 pods', { skip }, () => {
  test('pods with IPv6 addresses reach each other through the host, and an IPv6 ipBlock except is enforced', async () => {
    await Lab.down(LAB, stateRoot);
    const pod = (name: string) =>
      `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, labels: {app: ${name}}}\nspec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}\nstatus: {podIP: "fd00:10::${name}", podIPs: [{ip: "fd00:10::${name}"}]}\n`;
    const policy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-ingress}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress: [{from: [{ipBlock: {cidr: "fd00:10::/64", except: ["fd00:10::c/128"]}}]}]
`;
    const { lab } = await Lab.up(loadTexts([{ file: 'v6.yaml', text: [pod('a'), pod('b'), pod('c'), policy].join('---\n') }]).cluster!, {
      name: LAB,
      stateRoot,
      podCIDR: '10.249.0.0/16',
    });
    try {
      const [r] = await lab.probe([{ port: 80, protocol: 'TCP' }]);
      const cell = (from: string, to: string) => r.allowed[r.pods.indexOf(`default/${from}`)][r.pods.indexOf(`default/${to}`)];
      assert.equal(r.differences.length, 0);
      assert.equal(cell('a', 'b'), true);
      assert.equal(cell('c', 'b'), false, 'fd00:10::c is in the except');
      assert.equal(cell('c', 'a'), true);
    } finally {
      lab.close();
      await Lab.down(LAB, stateRoot);
    }
    assert.deepEqual(leftovers(), []);
  });
});
