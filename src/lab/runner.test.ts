// The pod runner's promises, without root: fakes stand in for the kernel (namespaces) and the
// pod-server helper, a real store underneath. What a pass claims to have caught up with must be
// the version of the listing it acted on, and a pod is Running only once its sockets listen.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Manifest } from '../model/index.js';
import type { Convergence } from './lab.js';
import type { PodLink } from './network.js';
import { REQUESTED_IPS_ANNOTATION } from './pods.js';
import type { ProcessRecord } from './process.js';
import { PodRunner, SANDBOX_FAILED, type PodNetworkOps, type PodServing, type RunnerNode } from './runner.js';
import { expectedSockets, type ServedPod, type ServeResult } from './servers.js';
import { LabStore } from './store.js';

const pod = (name: string, ports: number[] = [80], annotations?: Record<string, string>): Manifest => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'x', labels: { pod: name }, ...(annotations ? { annotations } : {}) },
  spec: { containers: [{ name: 'c', image: 'i', ports: ports.map((containerPort) => ({ containerPort })) }] },
});

/** A gate a fake operation waits at until the test opens it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

class FakeNetwork implements PodNetworkOps {
  readonly namespaces = new Set<string>();
  createGate?: Promise<void>;
  createStarted?: () => void;
  /** Which node each pod's namespace was made on. */
  readonly nodeOf = new Map<number, string>();
  async createPods(links: readonly PodLink[], node: string): Promise<void> {
    for (const l of links) this.nodeOf.set(l.slot, node);
    if (links.length > 0 && this.createGate) {
      const g = this.createGate;
      this.createGate = undefined;
      this.createStarted?.();
      await g;
    }
    for (const l of links) this.namespaces.add(this.netns(l.slot));
  }
  async deletePods(links: readonly PodLink[]): Promise<void> {
    for (const l of links) this.namespaces.delete(this.netns(l.slot));
  }
  async enableIPv6(): Promise<void> {}
  async listNamespaces(): Promise<string[]> {
    return [...this.namespaces];
  }
  async deleteNamespaces(names: readonly string[]): Promise<void> {
    for (const n of names) this.namespaces.delete(n);
  }
  netns(slot: number): string {
    return `ns-${slot}`;
  }
}

class FakeServers implements PodServing {
  serving: readonly ServedPod[] = [];
  alive = true;
  /** Sockets (`pod name -> 80/TCP/4`) that fail to open. */
  failing = new Map<string, string>();
  syncs = 0;
  private exit?: () => void;
  async sync(pods: readonly ServedPod[]): Promise<ServeResult> {
    this.syncs++;
    this.alive = true;
    this.serving = pods;
    const missing = new Map<string, { sockets: string[]; errors: string[] }>();
    for (const p of pods) {
      const bad = expectedSockets(p).filter((s) => this.failing.get(p.name) === s);
      if (bad.length > 0) missing.set(p.name, { sockets: bad, errors: [`${p.netns} ${bad[0]}: Address already in use`] });
    }
    return { process: { pid: 4242, start: '1' }, missing };
  }
  running(process: ProcessRecord | undefined): boolean {
    return this.alive && process?.pid === 4242;
  }
  onExit(listener: () => void): void {
    this.exit = listener;
  }
  die(): void {
    this.alive = false;
    this.exit?.();
  }
}

let dir = '';
let store: LabStore;
let network: FakeNetwork;
let servers: FakeServers;
let controller: AbortController;
let enforcedUpTo = 0;

function runner(enforced: (rv: number) => Promise<void> = async (rv) => void (enforcedUpTo = Math.max(enforcedUpTo, rv))): PodRunner {
  return new PodRunner({ store, network, servers, podCIDR: '10.9.0.0/24', gateways: { 4: '10.9.0.1', 6: 'fd00::1' }, node: 'lab', enforced, superviseIntervalMs: 20 });
}

const claim = (): Convergence | undefined => store.getMeta<Convergence>('converged');
const phase = (name: string): unknown => (store.get('Pod', 'x', name)?.manifest.status as Manifest | undefined)?.phase;

async function until(what: string, condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'podwall-runner-'));
  store = LabStore.open(join(dir, 'lab.db'));
  network = new FakeNetwork();
  servers = new FakeServers();
  controller = new AbortController();
  enforcedUpTo = 0;
});

afterEach(() => {
  controller.abort();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('pod runner', () => {
  test("a pod stored while a pass waits is not covered by that pass's claim until it is served", async () => {
    const first = gate();
    const firstStarted = gate();
    network.createGate = first.wait;
    network.createStarted = firstStarted.open;
    store.put('Pod', 'x', 'a', pod('a'));
    runner().start(controller.signal);
    await firstStarted.wait;
    // The pass listed only x/a and is now creating its namespace; x/b arrives meanwhile.
    const late = store.put('Pod', 'x', 'b', pod('b'))!;
    const second = gate();
    const secondStarted = gate();
    network.createGate = second.wait;
    network.createStarted = secondStarted.open;
    first.open();
    // The next pass is now held while making x/b's namespace: the first pass is over.
    await secondStarted.wait;
    assert.ok((claim()?.resourceVersion ?? 0) < late.resourceVersion, `the first pass claimed ${claim()?.resourceVersion}, which covers x/b (stored at ${late.resourceVersion}) though it never saw it`);
    assert.equal(phase('a'), 'Running');
    second.open();
    await until('a claim covering x/b', () => (claim()?.resourceVersion ?? 0) >= late.resourceVersion);
    assert.ok(servers.serving.some((p) => p.name === 'x/b'), 'x/b is served');
    assert.equal(phase('b'), 'Running');
    assert.deepEqual(claim()?.notReady, []);
  });

  test('servers start only after enforcement covers the pod, and the pod is Running only once they listen', async () => {
    const order: string[] = [];
    const release = gate();
    const enforced = async (rv: number): Promise<void> => {
      order.push(`enforced ${phase('a') === undefined ? 'no status' : String(phase('a'))}`);
      if (order.length === 1) await release.wait;
      enforcedUpTo = Math.max(enforcedUpTo, rv);
    };
    store.put('Pod', 'x', 'a', pod('a'));
    runner(enforced).start(controller.signal);
    await until('the first enforcement wait', () => order.length === 1);
    assert.equal(servers.syncs, 0, 'nothing is served before the ruleset covers the pod');
    assert.equal(phase('a'), 'Pending', 'the pod has its address but is not running yet');
    const status = store.get('Pod', 'x', 'a')!.manifest.status as Manifest;
    assert.equal(status.podIP, '10.9.0.2');
    release.open();
    await until('x/a running', () => phase('a') === 'Running');
    assert.equal(servers.syncs >= 1, true);
  });

  test('a socket that does not open keeps the pod Pending and is named in the claim', async () => {
    servers.failing.set('x/a', '80/TCP/4');
    store.put('Pod', 'x', 'a', pod('a', [80, 81]));
    store.put('Pod', 'x', 'b', pod('b'));
    runner().start(controller.signal);
    await until('a claim', () => (claim()?.resourceVersion ?? 0) >= 2 && phase('b') === 'Running');
    assert.equal(phase('a'), 'Pending');
    assert.deepEqual(claim()?.notReady.map((n) => n.pod), ['x/a']);
    assert.match(claim()!.notReady[0].reason, /80\/TCP\/4: .*Address already in use/);
  });

  test('a pod asking for an address another pod holds gets none, says why, and takes it once it is free', async () => {
    store.put('Pod', 'x', 'a', pod('a', [80], { [REQUESTED_IPS_ANNOTATION]: '10.9.0.50' }));
    store.put('Pod', 'x', 'b', pod('b', [80], { [REQUESTED_IPS_ANNOTATION]: '10.9.0.50' }));
    runner().start(controller.signal);
    await until('x/a running', () => phase('a') === 'Running' && (claim()?.notReady.length ?? 0) > 0);
    const b = store.get('Pod', 'x', 'b')!.manifest.status as Manifest;
    assert.equal(b.phase, 'Pending');
    assert.equal(b.reason, SANDBOX_FAILED);
    assert.equal(b.podIP, undefined, 'no address is shared');
    assert.match(String(b.message), /10\.9\.0\.50 is already in use/);
    store.remove('Pod', 'x', 'a');
    await until('x/b running at the freed address', () => phase('b') === 'Running');
    assert.equal((store.get('Pod', 'x', 'b')!.manifest.status as Manifest).podIP, '10.9.0.50');
  });

  test('only the runner assigns addresses: a status claiming another address is put right', async () => {
    store.put('Pod', 'x', 'a', pod('a'));
    store.put('Pod', 'x', 'db', pod('db'));
    runner().start(controller.signal);
    await until('both running', () => phase('a') === 'Running' && phase('db') === 'Running');
    const db = (store.get('Pod', 'x', 'db')!.manifest.status as Manifest).podIP;
    const a = store.get('Pod', 'x', 'a')!;
    // As if a client had written it past the API server's checks.
    store.put('Pod', 'x', 'a', { ...a.manifest, status: { ...(a.manifest.status as Manifest), podIP: db, podIPs: [{ ip: db }] } });
    await until('x/a back at its own address', () => (store.get('Pod', 'x', 'a')!.manifest.status as Manifest).podIP === '10.9.0.2');
  });

  test('a pod-server helper that dies is restarted at once', async () => {
    store.put('Pod', 'x', 'a', pod('a'));
    runner().start(controller.signal);
    await until('x/a running', () => phase('a') === 'Running');
    const before = servers.syncs;
    servers.die();
    await until('the helper serving again', () => servers.syncs > before && servers.alive, 2000);
  });

  test('after a crash: namespaces the store does not know are removed, and pods whose namespace is gone get a new one at the same address', async () => {
    store.put('Pod', 'x', 'a', pod('a'));
    store.put('Pod', 'x', 'b', pod('b'));
    runner().start(controller.signal);
    await until('both running', () => phase('a') === 'Running' && phase('b') === 'Running');
    controller.abort();
    const bNet = store.podNetwork('x', 'b')!;
    network.namespaces.delete(network.netns(bNet.slot));
    network.namespaces.add('ns-77');
    controller = new AbortController();
    runner().start(controller.signal);
    await until('the kernel matching the store', () => !network.namespaces.has('ns-77') && network.namespaces.size === 2 && store.podNetwork('x', 'b') !== undefined);
    assert.deepEqual(store.podNetwork('x', 'b')!.ips, bNet.ips);
  });

  test('an address a pod bound elsewhere claims in its status is never handed to another pod', async () => {
    const elsewhere = pod('elsewhere');
    store.put('Pod', 'x', 'elsewhere', { ...elsewhere, spec: { ...(elsewhere.spec as Manifest), nodeName: 'node-2' }, status: { phase: 'Running', podIP: '10.9.0.2', podIPs: [{ ip: '10.9.0.2' }] } });
    store.put('Pod', 'x', 'a', pod('a'));
    runner().start(controller.signal);
    await until('x/a running', () => phase('a') === 'Running');
    assert.equal((store.get('Pod', 'x', 'a')!.manifest.status as Manifest).podIP, '10.9.0.3');
  });

  test('pods bound to another node are left alone; hostNetwork pods run at the node address', async () => {
    store.put('Pod', 'x', 'elsewhere', { ...pod('elsewhere'), spec: { ...(pod('elsewhere').spec as Manifest), nodeName: 'node-2' } });
    store.put('Pod', 'x', 'host', { ...pod('host'), spec: { ...(pod('host').spec as Manifest), hostNetwork: true } });
    const last = store.put('Pod', 'x', 'a', pod('a'))!;
    runner().start(controller.signal);
    await until('a claim', () => (claim()?.resourceVersion ?? 0) >= last.resourceVersion && phase('a') === 'Running');
    assert.equal(phase('elsewhere'), undefined);
    assert.equal(store.podNetwork('x', 'elsewhere'), undefined);
    assert.equal(phase('host'), 'Running');
    assert.equal((store.get('Pod', 'x', 'host')!.manifest.status as Manifest).podIP, '10.9.0.1');
    assert.deepEqual(claim()?.notReady, []);
  });

  describe('many nodes', () => {
    const node = (i: number, schedulable = true): RunnerNode => ({ name: `lab-node${i}`, address: `198.19.0.${i + 1}`, podCIDR: `10.9.${i - 1}.0/24`, gateway: `10.9.${i - 1}.1`, schedulable });
    let nodes: RunnerNode[] = [];
    const multi = (): PodRunner =>
      new PodRunner({ store, network, servers, podCIDR: '10.9.0.0/16', gateways: { 4: '10.9.0.1', 6: 'fd00::1' }, node: 'lab', nodes: () => nodes, enforced: async () => undefined, superviseIntervalMs: 20 });
    const status = (name: string): Manifest => (store.get('Pod', 'x', name)!.manifest.status ?? {}) as Manifest;
    const nodeName = (name: string): unknown => (store.get('Pod', 'x', name)!.manifest.spec as Manifest).nodeName;

    test('pods without spec.nodeName are spread over the nodes, fewest pods first, each from its node block at its node address', async () => {
      nodes = [node(1), node(2), node(3)];
      for (const n of ['a', 'b', 'c', 'd']) store.put('Pod', 'x', n, pod(n));
      multi().start(controller.signal);
      await until('all running', () => ['a', 'b', 'c', 'd'].every((n) => phase(n) === 'Running'));
      assert.deepEqual(['a', 'b', 'c', 'd'].map(nodeName), ['lab-node1', 'lab-node2', 'lab-node3', 'lab-node1']);
      assert.deepEqual(['a', 'b', 'c', 'd'].map((n) => status(n).podIP), ['10.9.0.2', '10.9.1.2', '10.9.2.2', '10.9.0.3']);
      assert.deepEqual(['a', 'b'].map((n) => status(n).hostIP), ['198.19.0.2', '198.19.0.3']);
      assert.equal(network.nodeOf.get(store.podNetwork('x', 'b')!.slot), 'lab-node2');
    });

    test('spec.nodeName is honoured; a requested address places the pod on the node whose block holds it', async () => {
      nodes = [node(1), node(2), node(3)];
      store.put('Pod', 'x', 'pinned', { ...pod('pinned'), spec: { ...(pod('pinned').spec as Manifest), nodeName: 'lab-node3' } });
      store.put('Pod', 'x', 'asks', pod('asks', [80], { [REQUESTED_IPS_ANNOTATION]: '10.9.1.7' }));
      multi().start(controller.signal);
      await until('both running', () => phase('pinned') === 'Running' && phase('asks') === 'Running');
      assert.equal(nodeName('pinned'), 'lab-node3');
      assert.deepEqual([nodeName('asks'), status('asks').podIP], ['lab-node2', '10.9.1.7']);
    });

    test("a pod bound to a node whose block does not hold its requested address gets none, and says why", async () => {
      nodes = [node(1), node(2)];
      store.put('Pod', 'x', 'wrong', { ...pod('wrong', [80], { [REQUESTED_IPS_ANNOTATION]: '10.9.0.9' }), spec: { ...(pod('wrong').spec as Manifest), nodeName: 'lab-node2' } });
      multi().start(controller.signal);
      await until('a sandbox failure', () => status('wrong').reason === SANDBOX_FAILED);
      assert.match(String(status('wrong').message), /status\.podIP 10\.9\.0\.9 is outside node lab-node2's pod CIDR 10\.9\.1\.0\/24/);
    });

    test('a node that is not schedulable (its agent is down) gets no new pods; a pod bound to a node the lab lacks is left alone', async () => {
      nodes = [node(1, false), node(2)];
      store.put('Pod', 'x', 'a', pod('a'));
      store.put('Pod', 'x', 'b', pod('b'));
      store.put('Pod', 'x', 'gone', { ...pod('gone'), spec: { ...(pod('gone').spec as Manifest), nodeName: 'lab-node9' } });
      multi().start(controller.signal);
      await until('both running', () => phase('a') === 'Running' && phase('b') === 'Running');
      assert.deepEqual([nodeName('a'), nodeName('b')], ['lab-node2', 'lab-node2']);
      assert.equal(phase('gone'), undefined);
    });

    test('a pod bound to a node whose agent is down gets no network until the agent runs: nothing would enforce its policies', async () => {
      nodes = [node(1, false), node(2)];
      store.put('Pod', 'x', 'held', { ...pod('held'), spec: { ...(pod('held').spec as Manifest), nodeName: 'lab-node1' } });
      multi().start(controller.signal);
      await until('held back', () => status('held').reason === 'NetworkNotReady');
      assert.equal(store.podNetwork('x', 'held'), undefined);
      assert.match(String(status('held').message), /node lab-node1: its podwall agent is not running/);
      nodes = [node(1), node(2)];
      store.put('Pod', 'x', 'nudge', pod('nudge'));
      await until('running once the agent is back', () => phase('held') === 'Running');
    });

    test('hostNetwork pods run at their node address', async () => {
      nodes = [node(1), node(2)];
      store.put('Pod', 'x', 'h', { ...pod('h'), spec: { ...(pod('h').spec as Manifest), hostNetwork: true, nodeName: 'lab-node2' } });
      multi().start(controller.signal);
      await until('running', () => phase('h') === 'Running');
      assert.deepEqual([status('h').podIP, status('h').hostIP], ['198.19.0.3', '198.19.0.3']);
    });
  });
});
