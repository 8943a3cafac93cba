// The agent's convergence contract on fake streams and a fake kernel (no API server, no root): a
// sync claims the versions of the snapshot it computed from and nothing read later; a waiter needs
// every stream to have reached its version; bookmarks alone can satisfy it; a failed sync
// satisfies no one; stopping rejects waiters and never waits on a hung sync; a missing table is
// put back; the admin policy streams of a cluster without their CRDs read as none.
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { renderTable, type ConntrackEntry, type CounterValue, type Ruleset } from '../dataplane/index.js';
import type { Manifest } from '../model/index.js';
import { Agent, OPTIONAL_STREAMS, STREAMS, type AgentDataplane, type AgentOptions, type SyncRecord } from './agent.js';
import type { ReflectorEvents, Source } from './reflector.js';

/** A stream the test drives by hand: lists, events and bookmarks, each with the version it names. */
class FakeStream implements Source {
  version = '';
  /** How often a sync looked at whether this stream has listed. */
  looked = 0;
  private listed = false;
  readonly silentFor = 0;
  private readonly objects = new Map<string, Manifest>();

  constructor(
    readonly path: string,
    private readonly events: ReflectorEvents,
  ) {}

  get hasSynced(): boolean {
    this.looked++;
    return this.listed;
  }

  items(): Manifest[] {
    return [...this.objects.values()];
  }

  run(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  }

  list(version: string, items: Manifest[] = []): void {
    this.objects.clear();
    for (const o of items) this.objects.set(key(o), o);
    this.version = version;
    this.listed = true;
    this.events.replaced(items);
  }

  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Manifest, version: string): void {
    this.version = version;
    if (type === 'DELETED') this.objects.delete(key(object));
    else this.objects.set(key(object), object);
    this.events.changed(type, object);
  }

  bookmark(version: string): void {
    this.version = version;
    this.events.bookmark?.();
  }
}

const key = (o: Manifest): string => {
  const m = o.metadata as { namespace?: string; name: string };
  return `${m.namespace ?? ''}/${m.name}`;
};

/** The kernel as the agent sees it: applies are recorded, and may be held or made to fail. */
class FakeKernel implements AgentDataplane {
  present = false;
  readonly applies: { ruleset: Ruleset; force: boolean }[] = [];
  /** tableExists() calls. */
  checks = 0;
  /** apply() calls, including those held or failed. */
  calls = 0;
  /** The next apply waits for this. */
  gate?: Promise<void>;
  failures = 0;
  /** Called as each apply starts. */
  onApply?: () => void;

  async readTableCounters(): Promise<Map<string, CounterValue> | undefined> {
    return this.present ? new Map() : undefined;
  }

  async tableExists(): Promise<boolean> {
    this.checks++;
    return this.present;
  }

  async apply(ruleset: Ruleset, options: { force: boolean }): Promise<boolean> {
    this.calls++;
    this.onApply?.();
    const gate = this.gate;
    this.gate = undefined;
    if (gate) await gate;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('nft exited with 1');
    }
    this.applies.push({ ruleset, force: options.force });
    this.present = true;
    return true;
  }

  async listConntrack(): Promise<ConntrackEntry[]> {
    return [];
  }

  async markConntrack(): Promise<void> {}
}

const namespace = (name: string): Manifest => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
const pod = (name: string, ip: string): Manifest => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'shop', labels: { app: name } },
  spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }] }] },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});
const policy = (name: string): Manifest => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'shop' },
  spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] },
});

interface Rig {
  readonly agent: Agent;
  readonly kernel: FakeKernel;
  readonly namespaces: FakeStream;
  readonly pods: FakeStream;
  readonly policies: FakeStream;
  /** nodes and the three admin policy kinds. */
  readonly others: FakeStream[];
  /** Every stream, in STREAMS order. */
  readonly all: FakeStream[];
  readonly records: SyncRecord[];
  readonly controller: AbortController;
  readonly running: Promise<void>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.controller.abort();
    await r.running;
  }
});

function rig(options: Partial<AgentOptions> = {}): Rig {
  const kernel = new FakeKernel();
  const streams: FakeStream[] = [];
  const agent = new Agent({
    node: 'node-1',
    kubeconfig: new KubeConfig(),
    table: 'podwall-test',
    minSyncIntervalMs: 0,
    retryMs: 5,
    tableCheckIntervalMs: 10,
    stopGraceMs: 50,
    sources: (path, events) => {
      const s = new FakeStream(path, events);
      streams.push(s);
      return s;
    },
    dataplane: kernel,
    ...options,
  });
  const records: SyncRecord[] = [];
  agent.onSync = (r) => records.push(r);
  const controller = new AbortController();
  const running = agent.run(controller.signal);
  assert.deepEqual(
    streams.map((s) => s.path),
    [...STREAMS],
  );
  const [namespaces, pods, policies, ...others] = streams;
  const r = { agent, kernel, namespaces, pods, policies, others, all: streams, records, controller, running };
  rigs.push(r);
  return r;
}

/** Lists every stream at `version`: the shop namespace, web and db, and the policies given (no nodes, no admin policies). */
function listAll(r: Rig, version: string, policies: Manifest[] = []): void {
  r.namespaces.list(version, [namespace('shop')]);
  r.pods.list(version, [pod('web', '10.0.0.1'), pod('db', '10.0.0.2')]);
  r.policies.list(version, policies);
  for (const s of r.others) s.list(version);
}

/** The versions of a snapshot where every stream stands at `version`. */
const everyStreamAt = (version: string): string[] => STREAMS.map(() => version);

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Whether a promise has settled, once pending callbacks have run. */
function tracked(p: Promise<void>): { readonly state: () => 'pending' | 'resolved' | 'rejected'; readonly error: () => unknown } {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  let error: unknown;
  p.then(
    () => (state = 'resolved'),
    (err: unknown) => {
      state = 'rejected';
      error = err;
    },
  );
  return { state: () => state, error: () => error };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const atLeast = (n: number) => (versions: readonly string[]) => versions.every((v) => Number(v) >= n);

describe('agent: convergence is claimed for the snapshot a sync computed from', () => {
  test('a sync claims one opaque version per stream (namespaces, pods, networkpolicies, nodes, the three admin policy kinds), exactly as the streams gave them', async () => {
    const r = rig();
    r.namespaces.list('ns/7', [namespace('shop')]);
    r.pods.list('p:0042', [pod('web', '10.0.0.1')]);
    r.policies.list('np-x', []);
    r.others.forEach((s, i) => s.list(`other-${i}`));
    await until('a sync', () => r.records.length === 1);
    const claimed = ['ns/7', 'p:0042', 'np-x', 'other-0', 'other-1', 'other-2', 'other-3'];
    assert.deepEqual(r.records[0].versions, claimed);
    let seen: readonly string[] = [];
    await r.agent.waitForSync((versions) => {
      seen = versions;
      return true;
    });
    assert.deepEqual(seen, claimed);
  });

  test('nothing is enforced before every stream has listed (fail closed)', async () => {
    const r = rig();
    r.namespaces.list('1', [namespace('shop')]);
    r.pods.list('1', [pod('web', '10.0.0.1')]);
    for (const s of r.others) s.list('1');
    const waiting = tracked(r.agent.waitForSync(() => true));
    const looked = r.policies.looked;
    await until('a sync that finds the policies not listed', () => r.policies.looked > looked);
    await flush();
    assert.equal(r.kernel.calls, 0);
    assert.equal(waiting.state(), 'pending');
    r.policies.list('1', []);
    await until('the first sync', () => waiting.state() === 'resolved');
    assert.equal(r.kernel.calls, 1);
  });

  test('a write that arrives while a sync is under way is claimed only by a later sync that computed from it', async () => {
    const r = rig();
    let release!: () => void;
    r.kernel.gate = new Promise((resolve) => (release = resolve));
    listAll(r, '1');
    await until('the first apply, held', () => r.kernel.calls === 1);
    r.policies.event('ADDED', policy('db-ingress'), '2');
    for (const s of [r.namespaces, r.pods, ...r.others]) s.bookmark('2');
    const waiting = tracked(r.agent.waitForSync(atLeast(2)));
    release();
    r.kernel.gate = new Promise((resolve) => (release = resolve));
    await until('the first sync', () => r.records.length === 1);
    await flush();
    assert.deepEqual(r.records[0].versions, everyStreamAt('1'), 'the first sync claims the snapshot it started from');
    assert.doesNotMatch(renderTable(r.kernel.applies[0].ruleset), /db-ingress/);
    assert.equal(waiting.state(), 'pending', 'versions read after the snapshot are not claimed');
    await until('the second apply, held', () => r.kernel.calls === 2);
    release();
    await until('the waiter', () => waiting.state() === 'resolved');
    const last = r.records[r.records.length - 1];
    assert.deepEqual(last.versions, everyStreamAt('2'));
    assert.match(renderTable(r.kernel.applies[r.kernel.applies.length - 1].ruleset), /db-ingress/, 'the ruleset that satisfied it holds the write');
  });

  test('a high version on one stream says nothing about the others: a waiter needs every stream to reach it', async () => {
    const r = rig();
    listAll(r, '5');
    await until('the first sync', () => r.records.length === 1);
    r.pods.event('MODIFIED', pod('web', '10.0.0.1'), '100');
    await until('the second sync', () => r.records.length === 2);
    const waiting = tracked(r.agent.waitForSync(atLeast(50)));
    await flush();
    assert.equal(waiting.state(), 'pending', 'pods at 100 do not say the policies stream has delivered everything up to 50');
    r.policies.bookmark('60');
    for (const s of r.others) s.bookmark('60');
    await flush();
    assert.equal(waiting.state(), 'pending', 'namespaces are still at 5');
    r.namespaces.bookmark('61');
    await until('the waiter', () => waiting.state() === 'resolved');
  });

  test('bookmarks alone (no object changed) satisfy a waiter, without another transaction', async () => {
    const r = rig();
    listAll(r, '3');
    await until('the first sync', () => r.records.length === 1);
    const waiting = tracked(r.agent.waitForSync(atLeast(9)));
    for (const s of r.all) s.bookmark('9');
    await until('the waiter', () => waiting.state() === 'resolved');
    assert.equal(r.kernel.calls, 1);
  });

  test('bookmarks that arrive during a sync are claimed when it ends, if nothing changed meanwhile', async () => {
    const r = rig();
    let release!: () => void;
    r.kernel.gate = new Promise((resolve) => (release = resolve));
    listAll(r, '1');
    await until('the first apply, held', () => r.kernel.calls === 1);
    const waiting = tracked(r.agent.waitForSync(atLeast(4)));
    for (const s of r.all) s.bookmark('4');
    release();
    await until('the waiter', () => waiting.state() === 'resolved');
    assert.equal(r.kernel.calls, 1, 'no second sync');
  });

  test('a failed sync satisfies no waiter; the retry that succeeds does', async () => {
    const r = rig();
    r.kernel.failures = 1;
    const waiting = tracked(r.agent.waitForSync(atLeast(1)));
    const atRetry: string[] = [];
    r.kernel.onApply = () => atRetry.push(waiting.state());
    listAll(r, '1');
    await until('the waiter', () => waiting.state() === 'resolved');
    assert.deepEqual(atRetry, ['pending', 'pending'], 'still waiting when the retry started');
    assert.equal(r.agent.getStatus().errors, 1);
    assert.equal(r.records.length, 1);
  });

  test('a bookmark after a failed sync asks for a sync instead of claiming the failed state', async () => {
    const r = rig({ retryMs: 60_000 });
    listAll(r, '1');
    await until('the first sync', () => r.records.length === 1);
    r.kernel.failures = 1;
    r.policies.event('ADDED', policy('db-ingress'), '2');
    await until('the failed sync', () => r.agent.getStatus().errors === 1);
    const waiting = tracked(r.agent.waitForSync(atLeast(3)));
    for (const s of r.all) s.bookmark('3');
    await flush();
    assert.equal(waiting.state(), 'pending');
    assert.deepEqual(r.records[0].versions, everyStreamAt('1'));
  });
});

describe('agent: waitForSync ends with the agent or its signal', () => {
  test('it rejects when the agent stops', async () => {
    const r = rig();
    const waiting = tracked(r.agent.waitForSync(() => true));
    r.controller.abort();
    await r.running;
    await flush();
    assert.equal(waiting.state(), 'rejected');
    await assert.rejects(r.agent.waitForSync(() => false), /the agent stopped/);
  });

  test('it rejects when its signal aborts, and at once for a signal aborted already', async () => {
    const r = rig();
    const controller = new AbortController();
    const waiting = tracked(r.agent.waitForSync(() => false, controller.signal));
    controller.abort(new Error('caller gave up'));
    await flush();
    assert.equal(waiting.state(), 'rejected');
    assert.match(String(waiting.error()), /caller gave up/);
    const late = tracked(r.agent.waitForSync(() => false, AbortSignal.abort(new Error('too late'))));
    await flush();
    assert.equal(late.state(), 'rejected', 'a signal aborted already');
    assert.match(String(late.error()), /too late/);
  });

  test('a predicate that throws rejects its own waiter only', async () => {
    const r = rig();
    const bad = tracked(
      r.agent.waitForSync(() => {
        throw new Error('bad predicate');
      }),
    );
    const good = tracked(r.agent.waitForSync(() => true));
    listAll(r, '1');
    await until('both settle', () => bad.state() !== 'pending' && good.state() !== 'pending');
    assert.equal(bad.state(), 'rejected');
    assert.equal(good.state(), 'resolved');
  });
});

describe('agent: the kernel side', () => {
  test('a table deleted behind its back is put back at the next check, even with nothing changed', async () => {
    const r = rig();
    listAll(r, '1', [policy('db-ingress')]);
    await until('the first sync', () => r.kernel.applies.length === 1);
    r.kernel.present = false;
    await until('the table put back', () => r.kernel.present);
    const again = r.kernel.applies[r.kernel.applies.length - 1];
    assert.equal(again.force, true, 'applied even though the ruleset is the one last applied');
    assert.equal(renderTable(again.ruleset), renderTable(r.kernel.applies[0].ruleset), 'the same rules');
  });

  test('while its table is missing, bookmarks claim nothing: the kernel no longer holds the state', async () => {
    const r = rig({ minSyncIntervalMs: 60_000 });
    listAll(r, '1');
    await until('the first sync', () => r.records.length === 1);
    r.kernel.present = false;
    const checks = r.kernel.checks;
    await until('a check that finds the table gone', () => r.kernel.checks > checks);
    await flush();
    const waiting = tracked(r.agent.waitForSync(atLeast(2)));
    for (const s of r.all) s.bookmark('2');
    await flush();
    assert.equal(waiting.state(), 'pending');
  });

  test('stopping does not wait for a sync that hangs, and the hung sync claims nothing', async () => {
    const r = rig({ stopGraceMs: 50 });
    r.kernel.gate = new Promise<void>(() => undefined);
    listAll(r, '1');
    await until('the apply, hung', () => r.kernel.calls === 1);
    const t0 = Date.now();
    r.controller.abort();
    await r.running;
    assert.ok(Date.now() - t0 < 1000, `stopped after ${Date.now() - t0} ms`);
    assert.equal(r.records.length, 0);
    assert.equal(r.agent.getStatus().synced, false);
  });
});

describe('agent: a cluster without the admin policy CRDs', () => {
  /** A plain-HTTP API that serves the core streams (empty, at version 7) and answers 404 for policy.networking.k8s.io, as a cluster without its CRDs does. */
  async function apiWithoutCRDs(): Promise<{ kubeconfig: KubeConfig; paths: string[]; close: () => Promise<void> }> {
    const paths: string[] = [];
    const open = new Set<ServerResponse>();
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      paths.push(url.pathname);
      if (url.pathname.startsWith('/apis/policy.networking.k8s.io/')) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
      } else if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        open.add(res);
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '7' }, items: [] }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
      currentContext: 'c',
    });
    return {
      kubeconfig,
      paths,
      close: async () => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }

  test('the admin policy streams answered with 404 read as none: the agent says so once per kind, syncs and enforces, claiming "" for them', async () => {
    const api = await apiWithoutCRDs();
    const kernel = new FakeKernel();
    const logs: string[] = [];
    const agent = new Agent({ node: 'node-1', kubeconfig: api.kubeconfig, table: 'podwall-test', minSyncIntervalMs: 0, notServedRetryMs: 20, dataplane: kernel, logger: (l) => logs.push(l) });
    const records: SyncRecord[] = [];
    agent.onSync = (r) => records.push(r);
    const controller = new AbortController();
    const running = agent.run(controller.signal);
    try {
      await until('a sync', () => records.length >= 1);
      assert.deepEqual(records[0].versions, ['7', '7', '7', '7', '', '', '']);
      await until('each admin kind looked for again', () => [...OPTIONAL_STREAMS].every((path) => api.paths.filter((p) => p === path).length >= 3));
      const said = logs.filter((l) => /is not served/.test(l));
      assert.deepEqual(said.map((l) => l.split(' ')[0]).sort(), [...OPTIONAL_STREAMS].sort(), 'once per kind, however often it is looked for');
      assert.deepEqual(logs.filter((l) => !/is not served/.test(l)), [], 'no errors');
      assert.equal(agent.getStatus().synced, true);
    } finally {
      controller.abort();
      await running;
      await api.close();
    }
  });
});
