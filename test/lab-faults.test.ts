// The lab under faults and careless use, as root: labs side by side (one going down leaves the
// other alone), recorded pids that now name a stranger, a killed daemon (resumed by `lab up`),
// a killed pod-server helper, addresses already taken, absurd replica counts, an interrupted
// apply, host routes a pod CIDR must avoid, and 200 pods arriving in many requests.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';
import type { Output } from '../src/cli/output.js';
import { Lab, LabChangeInterrupted, LabInputError, LAB_MAX_PODS, type LabDaemonState } from '../src/lab/index.js';
import { isRunning, processRecord, type ProcessRecord } from '../src/lab/process.js';
import { runProbes } from '../src/lab/probe.js';
import { loadManifests, loadTexts, type Cluster } from '../src/model/index.js';
import { labSkipReason, leftovers } from './lab-support.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const threeTier = join(ROOT, 'examples/three-tier');
const stateRoot = mkdtempSync(join(tmpdir(), 'podwall-lab-faults-'));
const otherRoot = mkdtempSync(join(tmpdir(), 'podwall-lab-faults-other-'));
const scratch = mkdtempSync(join(tmpdir(), 'podwall-lab-faults-files-'));
const skip = labSkipReason();

const labsMade: [string, string][] = [];
async function up(text: string | undefined, name: string, podCIDR: string, root = stateRoot): Promise<Lab> {
  labsMade.push([name, root]);
  const cluster = text === undefined ? threeTierCluster() : loadTexts([{ file: `${name}.yaml`, text }]).cluster!;
  return (await Lab.up(cluster, { name, stateRoot: root, podCIDR, apiPort: 0 })).lab;
}

function threeTierCluster(): Cluster {
  return loadManifests([threeTier]).cluster!;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Output = { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), color: false };
  return { code: await main(args, io), out, err };
}

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** kernel = engine on every probed cell, nothing undecided, and at least one cell probed. */
async function assertEnforcing(lab: Lab, what: string): Promise<void> {
  const reports = await lab.probe();
  const probed = reports.flatMap((r) => r.allowed.flat()).filter((v) => v !== null).length;
  assert.ok(probed > 0, `${what}: something was probed`);
  assert.deepEqual(reports.flatMap((r) => r.differences), [], `${what}: kernel = engine`);
  assert.deepEqual(reports.flatMap((r) => r.inconclusive), [], `${what}: every cell decided`);
}

after(async () => {
  if (!skip) for (const [name, root] of labsMade) await Lab.down(name, root);
  for (const dir of [stateRoot, otherRoot, scratch]) rmSync(dir, { recursive: true, force: true });
});

describe('lab faults', { skip }, () => {
  test('two labs side by side: taking down the lab named "lab" leaves the other serving its API and enforcing', async () => {
    const first = await up(undefined, 'lab', '10.236.0.0/16');
    const second = await up(undefined, 'hb', '10.237.0.0/16');
    const daemon = second.daemon()!;
    first.close();
    await Lab.down('lab', stateRoot);
    assert.deepEqual(leftovers('lab', 'podwall', join(stateRoot, 'labs', 'lab')), []);
    assert.ok(isRunning(daemon), 'the other lab\'s daemon is still the same process');
    assert.equal((await second.list('Pod')).filter((p) => (p.metadata as { namespace: string }).namespace === 'default').length, 3, 'its API still answers');
    await assertEnforcing(second, 'the other lab');
    second.close();
    await Lab.down('hb', stateRoot);
  });

  test('lab down never signals a process that only took over a recorded pid', async () => {
    const lab = await up(undefined, 'pid', '10.236.0.0/16');
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const real = lab.daemon()!;
      // As if the daemon had died and its pid gone to another program (same pid, other start time).
      lab.store.setMeta('daemon', { ...real, pid: stranger.pid!, start: '1' } satisfies LabDaemonState);
      lab.close();
      await Lab.down('pid', stateRoot);
      assert.ok(isRunning(processRecord(stranger.pid!)), 'the stranger lives');
      assert.ok(!isRunning(real), 'the real daemon, found by its exact --name and --state-dir, is gone');
      assert.deepEqual(leftovers('pid', 'podwall-pid', join(stateRoot, 'labs', 'pid')), []);
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  test('after kill -9 of the daemon (and its helper, and a lost pod namespace), lab up resumes the lab from its store', async () => {
    let lab = await up(undefined, 'res', '10.236.0.0/16');
    const before = lab.store.podNetworks().map((n) => `${n.namespace}/${n.name} ${n.ips.join(',')}`);
    const daemon = lab.daemon()!;
    const helper = lab.store.getMeta<ProcessRecord>('serverProcess')!;
    process.kill(daemon.pid, 'SIGKILL');
    process.kill(helper.pid, 'SIGKILL');
    await until('both gone', () => !isRunning(daemon) && !isRunning(helper), 5000);
    const lost = lab.netnsOf('default/db');
    spawnSync('ip', ['netns', 'del', lost]);
    lab.close();
    const r = await cli(['lab', 'up', '-f', threeTier, '--name', 'res', '--state-dir', stateRoot]);
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /lab "res" was not running: resumed from its store/);
    assert.match(r.out, /nothing changed/);
    lab = Lab.open('res', stateRoot);
    try {
      assert.deepEqual(
        lab.store.podNetworks().map((n) => `${n.namespace}/${n.name} ${n.ips.join(',')}`).sort(),
        [...before].sort(),
        'every pod keeps its address',
      );
      assert.ok(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.includes(lab.netnsOf('default/db')), 'the lost namespace is back');
      await assertEnforcing(lab, 'after resuming');
    } finally {
      lab.close();
    }
    await Lab.down('res', stateRoot);
  });

  test('a pod-server helper that dies is restarted at once', async () => {
    const lab = await up(undefined, 'hlp', '10.236.0.0/16');
    try {
      const helper = lab.store.getMeta<ProcessRecord>('serverProcess')!;
      process.kill(helper.pid, 'SIGKILL');
      const killed = Date.now();
      await until('a new helper serving', () => {
        const now = lab.store.getMeta<ProcessRecord>('serverProcess');
        return now !== undefined && now.pid !== helper.pid && isRunning(now);
      }, 3000);
      assert.ok(Date.now() - killed < 2000, `restarted after ${Date.now() - killed} ms`);
      await assertEnforcing(lab, 'after the restart');
    } finally {
      lab.close();
      await Lab.down('hlp', stateRoot);
    }
  });

  test('lab apply of a pod asking for an address another pod holds exits 2 naming the conflict, and writes nothing', async () => {
    const lab = await up(undefined, 'adr', '10.236.0.0/16');
    try {
      const db = lab.store.podNetwork('default', 'db')!.ips[0];
      const impostor = file('impostor.yaml', `apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: impostor, namespace: other}\nspec: {containers: [{name: c, image: x, ports: [{containerPort: 3306}]}]}\nstatus: {podIP: ${db}}\n`);
      const r = await cli(['lab', 'apply', '-f', impostor, '--name', 'adr', '--state-dir', stateRoot]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, new RegExp(`Pod other/impostor: status\\.podIP ${db.replaceAll('.', '\\.')} is already used by Pod default/db: nothing was changed`));
      assert.equal(lab.store.get('Namespace', '', 'other'), undefined, 'not even the namespace was made');
      await assertEnforcing(lab, 'after the refused apply');
    } finally {
      lab.close();
      await Lab.down('adr', stateRoot);
    }
  });

  test(`a workload asking for 100,000,000 replicas is refused (exit 2) before anything is made; a lab holds at most ${LAB_MAX_PODS} pods`, async () => {
    const huge = file(
      'huge.yaml',
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: big}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: big}\nspec:\n  replicas: 100000000\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: x, ports: [{containerPort: 80}]}]}\n',
    );
    const upHuge = await cli(['lab', 'up', '-f', huge, '--name', 'big', '--state-dir', stateRoot]);
    assert.equal(upHuge.code, 2, upHuge.err);
    assert.match(upHuge.err, new RegExp(`Deployment big/web: spec\\.replicas: 100000000: a lab holds at most ${LAB_MAX_PODS} pods`));
    assert.deepEqual(leftovers('big', 'podwall-big', join(stateRoot, 'labs', 'big')), []);

    const lab = await up(undefined, 'cap', '10.236.0.0/16');
    try {
      const r = await cli(['lab', 'apply', '-f', huge, '--name', 'cap', '--state-dir', stateRoot]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /nothing was changed/);
      assert.equal(lab.store.get('Namespace', '', 'big'), undefined);
    } finally {
      lab.close();
      await Lab.down('cap', stateRoot);
    }
  });

  test('an interrupted lab apply says exactly which objects it wrote', async () => {
    const lab = await up(undefined, 'int', '10.236.0.0/16');
    try {
      const pods = Array.from({ length: 80 }, (_, i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}, labels: {app: p}}\nspec: {containers: [{name: c, image: x}]}\n`);
      const controller = new AbortController();
      const applying = lab.apply(loadTexts([{ file: 'many.yaml', text: pods.join('---\n') }]).cluster!, controller.signal);
      const count = (): number => lab.store.list('Pod').length;
      const base = 3;
      await until('some pods written', () => count() > base + 5, 30_000);
      controller.abort();
      const err = await applying.then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof LabChangeInterrupted, `interrupted, got ${String(err)}`);
      const written = new Set(err.written.map((w) => w.replace(/ created$/, '')));
      const stored = new Set(lab.store.list('Pod').map((p) => `Pod ${p.namespace}/${p.name}`).filter((p) => /\/p\d+$/.test(p)));
      assert.deepEqual(written, stored, 'what it says it wrote is what the lab holds');
      assert.ok(stored.size > 0 && stored.size < 80, `stopped part-way (${stored.size} of 80)`);
      assert.match(err.message, /^interrupted\nwritten before it stopped: Pod default\/p/);
    } finally {
      lab.close();
      await Lab.down('int', stateRoot);
    }
  });

  test("a pod CIDR is checked against the host's routes: a route in it, or another state directory's lab, is refused", async () => {
    spawnSync('ip', ['route', 'add', 'blackhole', '10.235.5.0/24']);
    try {
      await assert.rejects(up(undefined, 'rt', '10.235.0.0/16'), (err: Error) => err instanceof LabInputError && /overlaps routes on this host \(blackhole 10\.235\.5\.0\/24/.test(err.message));
      assert.deepEqual(leftovers('rt', 'podwall-rt', join(stateRoot, 'labs', 'rt')), []);
    } finally {
      spawnSync('ip', ['route', 'del', 'blackhole', '10.235.5.0/24']);
    }
    const mine = await up(undefined, 'ovl', '10.234.0.0/16', otherRoot);
    try {
      await assert.rejects(up(undefined, 'ovl2', '10.234.0.0/16'), (err: Error) => err instanceof LabInputError && /dev pw-ovl-br/.test(err.message));
    } finally {
      mine.close();
      await Lab.down('ovl', otherRoot);
    }
  });

  test('200 pods arriving in many requests: lab up returns with every pod Running and every socket answering', async () => {
    const text = Array.from(
      { length: 200 },
      (_, i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}, labels: {app: p${i % 7}}}\nspec: {containers: [{name: c, image: x, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP}]}]}\n`,
    ).join('---\n');
    const lab = await up(text, 'many', '10.233.0.0/16');
    try {
      const pods = lab.store.list('Pod').filter((p) => p.namespace === 'default');
      assert.equal(pods.length, 200);
      assert.deepEqual(pods.filter((p) => (p.manifest.status as { phase?: string }).phase !== 'Running').map((p) => p.name), []);
      // Checked from inside each pod, not taken from the runner's word.
      const nets = lab.store.podNetworks().filter((n) => n.namespace === 'default');
      const probes = nets.flatMap((n) =>
        [
          { port: 80, protocol: 'TCP' },
          { port: 53, protocol: 'UDP' },
        ].map((p) => ({ netns: lab.names.netns(n.slot), ip: '127.0.0.1', ...p, expect: `${n.namespace}/${n.name}` })),
      );
      const results = await runProbes(probes, 2);
      assert.deepEqual(
        results.flatMap((r, i) => (r.ok ? [] : [`${probes[i].expect} ${probes[i].port}/${probes[i].protocol}: ${r.error}`])),
        [],
      );
    } finally {
      lab.close();
      await Lab.down('many', stateRoot);
    }
  });
});
