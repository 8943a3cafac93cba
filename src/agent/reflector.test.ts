// The reflector against a scripted fake API server (plain HTTP on loopback): paged lists as one
// snapshot, watches from the list's version, resuming after a closed watch, re-listing on 410 and
// on a lost connection, bookmarks, the watchdog for a watch that went silent, and resources a
// cluster may not serve (the admin policy CRDs): read as none while they answer 404, picked up later.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import type { Manifest } from '../model/index.js';
import { listRaw, Reflector } from './reflector.js';

const pod = (name: string, rv: string): Manifest => ({ metadata: { name, namespace: 'x', resourceVersion: rv } });

interface Request {
  readonly watch: boolean;
  readonly query: URLSearchParams;
}

/** A fake API server for /api/v1/pods: lists answered by `list`, watches kept open for the test to write to. */
class FakeApi {
  private server!: Server;
  readonly requests: Request[] = [];
  readonly watches: ServerResponse[] = [];
  list: (query: URLSearchParams) => { status: number; body: unknown } = () => ({ status: 200, body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] } });
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const watch = url.searchParams.get('watch') === 'true';
      this.requests.push({ watch, query: url.searchParams });
      if (!watch) {
        const answer = this.list(url.searchParams);
        res.writeHead(answer.status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(answer.body));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      this.watches.push(res);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Writes one watch event to the newest open watch. */
  send(type: string, object: Manifest): void {
    this.watches[this.watches.length - 1].write(`${JSON.stringify({ type, object })}\n`);
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  kubeconfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'u' }],
      currentContext: 'fake',
    });
    return kc;
  }
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let api: FakeApi;
let controller: AbortController;
let running: Promise<void> | undefined;

beforeEach(async () => {
  api = new FakeApi();
  await api.start();
  controller = new AbortController();
  running = undefined;
});

afterEach(async () => {
  controller.abort();
  await running;
  await api.stop();
});

function start(options: ConstructorParameters<typeof Reflector>[3] = {}): { reflector: Reflector; events: string[] } {
  const events: string[] = [];
  const reflector = new Reflector(
    api.kubeconfig(),
    '/api/v1/pods',
    {
      replaced: (items) => events.push(`replaced ${items.map((i) => (i.metadata as { name: string }).name).join(',')}`),
      changed: (type, o) => events.push(`${type} ${(o.metadata as { name: string }).name}`),
      bookmark: () => events.push('bookmark'),
      restarted: () => events.push('restarted'),
      notServed: () => events.push('not served'),
      served: () => events.push('served'),
    },
    { retryMs: 10, ...options },
  );
  running = reflector.run(controller.signal);
  return { reflector, events };
}

const names = (r: Reflector): string[] => r.items().map((i) => (i.metadata as { name: string }).name).sort();
const watchRequests = (): Request[] => api.requests.filter((r) => r.watch);

describe('reflector', () => {
  test('a list comes in pages (limit, continue), as one snapshot at the first page\'s version', async () => {
    const all = ['a', 'b', 'c', 'd', 'e'].map((n, i) => pod(n, String(i + 1)));
    api.list = (q) => {
      const from = Number(q.get('continue') ?? '0');
      const limit = Number(q.get('limit'));
      const next = from + limit < all.length ? String(from + limit) : undefined;
      return { status: 200, body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: from === 0 ? '42' : '99', ...(next ? { continue: next } : {}) }, items: all.slice(from, from + limit) } };
    };
    const list = await listRaw(api.kubeconfig(), '/api/v1/pods', { limit: 2 });
    assert.deepEqual(list.items.map((i) => (i.metadata as { name: string }).name), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(list.resourceVersion, '42');
    assert.equal(list.items[0].kind, 'Pod', 'items get the list\'s kind');
    assert.deepEqual(api.requests.map((r) => `${r.query.get('limit')}/${r.query.get('continue') ?? '-'}`), ['2/-', '2/2', '2/4']);
  });

  test('a continue token that expired (410) starts the list over', async () => {
    let expired = true;
    api.list = (q) => {
      if (q.get('continue') && expired) {
        expired = false;
        return { status: 410, body: { kind: 'Status', code: 410, reason: 'Expired' } };
      }
      if (!q.get('continue')) return { status: 200, body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '5', continue: 't' }, items: [pod('a', '1')] } };
      return { status: 200, body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '5' }, items: [pod('b', '2')] } };
    };
    const list = await listRaw(api.kubeconfig(), '/api/v1/pods', { limit: 1 });
    assert.deepEqual(list.items.map((i) => (i.metadata as { name: string }).name), ['a', 'b']);
    assert.equal(api.requests.length, 4);
  });

  test('it watches from the list\'s version, applies events, and resumes from the last version after the server closes the watch', async () => {
    api.list = () => ({ status: 200, body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '10' }, items: [pod('a', '9')] } });
    const { reflector, events } = start();
    await until('a watch', () => api.watches.length === 1);
    assert.equal(watchRequests()[0].query.get('resourceVersion'), '10');
    assert.equal(watchRequests()[0].query.get('allowWatchBookmarks'), 'true');
    api.send('ADDED', pod('b', '11'));
    api.send('MODIFIED', pod('a', '12'));
    api.send('DELETED', pod('b', '13'));
    await until('three events', () => events.length === 4);
    assert.deepEqual(events, ['replaced a', 'ADDED b', 'MODIFIED a', 'DELETED b']);
    assert.deepEqual(names(reflector), ['a']);
    assert.equal(reflector.version, '13');
    api.watches[0].end();
    await until('a second watch', () => api.watches.length === 2);
    assert.equal(watchRequests()[1].query.get('resourceVersion'), '13');
    assert.equal(api.requests.filter((r) => !r.watch).length, 1, 'no new list: the watch resumed');
  });

  test('a BOOKMARK advances the version and says so, without changing any object', async () => {
    const { reflector, events } = start();
    await until('a watch', () => api.watches.length === 1);
    api.send('BOOKMARK', { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '77' } });
    await until('the bookmark', () => events.includes('bookmark'));
    assert.equal(reflector.version, '77');
    assert.deepEqual(reflector.items(), []);
  });

  test('410 Gone in a watch makes it list again (a full resync)', async () => {
    let lists = 0;
    api.list = () => {
      lists++;
      return { status: 200, body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(lists * 100) }, items: lists === 1 ? [pod('old', '1')] : [pod('new', '150')] } };
    };
    const { reflector, events } = start();
    await until('a watch', () => api.watches.length === 1);
    api.send('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
    await until('a second list and watch', () => lists === 2 && api.watches.length === 2);
    assert.deepEqual(names(reflector), ['new']);
    assert.equal(watchRequests()[1].query.get('resourceVersion'), '200');
    assert.ok(events.includes('restarted'));
  });

  test('a watch from a version the server has not reached (504 ResourceVersionTooLarge) lists again', async () => {
    let lists = 0;
    api.list = () => {
      lists++;
      return { status: 200, body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(lists) }, items: [] } };
    };
    start();
    await until('a watch', () => api.watches.length === 1);
    api.send('ERROR', { kind: 'Status', code: 504, reason: 'Timeout', details: { causes: [{ reason: 'ResourceVersionTooLarge' }] } });
    await until('a second list', () => lists === 2 && api.watches.length === 2);
  });

  test('a lost connection ends in a full re-list, not a resumed watch', async () => {
    let lists = 0;
    api.list = () => {
      lists++;
      return { status: 200, body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(lists) }, items: [] } };
    };
    start();
    await until('a watch', () => api.watches.length === 1);
    api.watches[0].destroy();
    await until('a second list', () => lists === 2 && api.watches.length === 2);
  });

  test('a watch that goes silent is restarted by the watchdog', async () => {
    const { events } = start({ maxSilenceMs: 150, watchdogIntervalMs: 20 });
    await until('a watch', () => api.watches.length === 1);
    await until('a restarted watch', () => api.watches.length === 2, 3000);
    assert.ok(events.includes('restarted'));
  });

  test('retrying through a long outage leaves no abort listeners behind', async () => {
    let lists = 0;
    api.list = () => {
      lists++;
      return { status: 500, body: { kind: 'Status', code: 500 } };
    };
    start({ retryMs: 1 });
    await until('thirty failed lists', () => lists >= 30);
    assert.ok(getEventListeners(controller.signal, 'abort').length <= 2, `${getEventListeners(controller.signal, 'abort').length} listeners`);
  });

  test('stopping is prompt even while a watch is open', async () => {
    start();
    await until('a watch', () => api.watches.length === 1);
    const t0 = Date.now();
    controller.abort();
    await running;
    assert.ok(Date.now() - t0 < 500, `stopped after ${Date.now() - t0} ms`);
  });
});

describe('reflector: a resource that may not be served (a CRD not installed)', () => {
  const notFound = { status: 404, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource' } };
  const listed = (rv: string, items: Manifest[] = []) => ({ status: 200, body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: rv }, items } });

  test('an optional resource answered with 404 reads as an empty collection, listed (version ""), said once however often it is looked for; installed later, it is listed and watched', async () => {
    let installed = false;
    let lists = 0;
    api.list = () => {
      lists++;
      return installed ? listed('30', [pod('a', '29')]) : notFound;
    };
    const { reflector, events } = start({ optional: true, notServedRetryMs: 10 });
    await until('three lists', () => lists >= 3);
    assert.equal(reflector.hasSynced, true, 'empty, and complete: a sync may go ahead without it');
    assert.equal(reflector.version, '');
    assert.deepEqual(reflector.items(), []);
    assert.equal(reflector.served, false);
    assert.equal(reflector.silentFor, 0, 'no watch to go silent: the health check stays green');
    assert.deepEqual(events, ['not served', 'replaced '], 'said once, replaced once, no errors nor restarts');
    assert.equal(watchRequests().length, 0);
    installed = true;
    await until('a watch', () => api.watches.length === 1);
    assert.deepEqual(names(reflector), ['a']);
    assert.equal(reflector.version, '30');
    assert.equal(watchRequests()[0].query.get('resourceVersion'), '30');
    assert.deepEqual(events, ['not served', 'replaced ', 'served', 'replaced a']);
  });

  test('an optional resource that stops being served (its CRD removed: the watch fails, the list answers 404) reads as empty again', async () => {
    let installed = true;
    api.list = () => (installed ? listed('5', [pod('a', '4')]) : notFound);
    const { reflector, events } = start({ optional: true, notServedRetryMs: 10 });
    await until('a watch', () => api.watches.length === 1);
    installed = false;
    api.watches[0].destroy();
    await until('the resource read as none', () => events.includes('not served') && reflector.items().length === 0);
    assert.equal(reflector.version, '');
    assert.equal(events[events.length - 1], 'replaced ');
  });

  test('a resource that is not optional answers 404 as an error: never listed, so no sync goes ahead on it, and it is retried', async () => {
    let lists = 0;
    api.list = () => {
      lists++;
      return notFound;
    };
    const { reflector, events } = start({ retryMs: 5 });
    await until('three lists', () => lists >= 3);
    assert.equal(reflector.hasSynced, false);
    assert.ok(!events.includes('not served'));
    assert.ok(events.includes('restarted'));
  });
});
