// The UI's JSON API over the three-tier example: the model the page draws, matrices, explanations,
// checks, the editor's preview (diff and diagnostics with field paths), exports, the lab stream,
// and the server's shell (127.0.0.1, Host check, events, the `ui` command).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { describe, it } from 'node:test';
import { runUi } from '../src/cli/ui.js';
import type { PortProtocol } from '../src/engine/index.js';
import { loadManifests, loadTexts, type Cluster } from '../src/model/index.js';
import { handleApi, labSource, startUiServer, staticSource, type LabHandle } from '../src/web/index.js';
import type { CheckView, ExplainView, MatrixView, ModelView, PreviewView } from '../src/web/index.js';
import { twoHundredPods } from './ui-fixtures.js';

/** Waits for a condition (a deadline, not a sleep). */
async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setImmediate(r));
  }
}

/** A raw HTTP request, headers as given (fetch would add or refuse some). */
function raw(port: number, options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; host?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: options.host ?? '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

function threeTier(): Cluster {
  const r = loadManifests(['examples/three-tier']);
  assert.ok(r.cluster);
  return r.cluster;
}
const ctx = () => ({ source: staticSource(threeTier(), 'three-tier'), namespace: 'default' });
const get = async <T>(path: string, c = ctx()): Promise<{ status: number; body: T }> => handleApi(c, 'GET', new URL(path, 'http://x')) as Promise<{ status: number; body: T }>;
const post = async <T>(path: string, body: unknown, c = ctx()): Promise<{ status: number; body: T }> =>
  handleApi(c, 'POST', new URL(path, 'http://x'), body) as Promise<{ status: number; body: T }>;

const WEB_POLICY_5001 = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-policy
spec:
  podSelector:
    matchLabels:
      role: web
  policyTypes: [Ingress, Egress]
  ingress:
  - ports:
    - port: 80
  egress:
  - to:
    - podSelector:
        matchLabels:
          name: api-pod
    ports:
    - port: 5001
`;

describe('ui api: the model', () => {
  it('draws exactly the flows `podwall matrix` allows, plus outside -> web:80', async () => {
    const { body } = await get<ModelView>('/api/model');
    assert.deepEqual(
      body.flows.map((f) => `${f.from} -> ${f.to} ${f.ports.map((p) => `${p.port}/${p.protocol}`).join(',')}`),
      ['default/api -> default/db 3306/TCP', 'default/db -> default/web 80/TCP', 'default/web -> default/api 5000/TCP', 'outside -> default/web 80/TCP'],
    );
    assert.deepEqual(body.endpoints.map((e) => [e.id, e.isolation.ingress, e.isolation.egress]), [
      ['default/api', true, true],
      ['default/db', true, false],
      ['default/web', true, true],
    ]);
    assert.deepEqual(body.ports, [{ port: 80, protocol: 'TCP' }, { port: 3306, protocol: 'TCP' }, { port: 5000, protocol: 'TCP' }]);
    assert.deepEqual(body.policies.map((p) => [p.id, p.selects]), [['default/api-policy', ['default/api']], ['default/db-policy', ['default/db']], ['default/web-policy', ['default/web']]]);
    assert.match(body.policies[1].yaml, /name: db-policy/);
  });

  it('lists the blocked flows on declared ports when asked for denied ones', async () => {
    const { body } = await get<ModelView>('/api/model');
    assert.deepEqual(body.denied.map((f) => f.id), ['d:default/api->default/web', 'd:default/db->default/api', 'd:default/web->default/db']);
    assert.equal(body.deniedOmitted, 0);
  });

  it('matrix, explain and check answer as the engine does', async () => {
    const m = await get<MatrixView>('/api/matrix?port=3306&protocol=TCP');
    assert.deepEqual(m.body.pods, ['default/api', 'default/db', 'default/web']);
    assert.deepEqual(m.body.allowed, [[false, true, false], [false, false, false], [false, false, false]]);
    const x = await get<ExplainView>('/api/explain/default/db');
    assert.deepEqual(x.body.selectedBy, [{ policy: 'default/db-policy', policyTypes: ['Ingress'] }]);
    assert.equal(x.body.ingress.isolated, true);
    assert.deepEqual(x.body.ingress.reach, [{ endpoint: 'default/api', ports: [{ port: 3306, protocol: 'TCP' }] }]);
    assert.equal(x.body.egress.isolated, false);
    const c = await get<CheckView>('/api/check?from=web&to=db&port=3306');
    assert.equal(c.body.allowed, false);
    assert.deepEqual(c.body.ingress.isolatingPolicies, ['default/db-policy']);
    const ok = await get<CheckView>('/api/check?from=default/api&to=default/db&port=3306&protocol=TCP');
    assert.deepEqual(ok.body.ingress.allowedBy.map((r) => r.ref), ['default/db-policy ingress[0]']);
    assert.deepEqual(ok.body.egress.allowedBy.map((r) => r.ref), ['default/api-policy egress[0]']);
  });

  it('rejects bad questions with a reason', async () => {
    assert.equal((await get('/api/matrix?port=0')).status, 400);
    assert.equal((await get('/api/explain/default/nope')).status, 404);
    assert.equal((await get('/api/lab/probe')).status, 404);
    assert.equal((await get('/api/nothing')).status, 404);
  });
});

describe('ui api: the editor', () => {
  it('a policy of the same name replaces the loaded one, and the diff names the closed flow', async () => {
    const { body } = await post<PreviewView>('/api/preview', { text: WEB_POLICY_5001 });
    assert.ok(body.ok);
    assert.deepEqual(body.replaced, ['default/web-policy']);
    assert.deepEqual(body.closed, [{ from: 'default/web', to: 'default/api', port: 5000, protocol: 'TCP' }]);
    assert.deepEqual(body.opened, []);
    assert.ok(!body.model.flows.some((f) => f.id === 'a:default/web->default/api'));
  });

  it('validation errors come back with line, column and field path', async () => {
    const { body } = await post<PreviewView>('/api/preview', { text: WEB_POLICY_5001.replace('port: 5001', 'port: 70000') });
    assert.equal(body.ok, false);
    assert.ok(!body.ok);
    assert.equal(body.diagnostics.length, 1);
    assert.equal(body.diagnostics[0].field, 'spec.egress[0].ports[0].port');
    assert.equal(body.diagnostics[0].line, 19);
    assert.match(body.diagnostics[0].message, /Invalid value: 70000/);
  });

  it('takes NetworkPolicies only', async () => {
    const { body } = await post<PreviewView>('/api/preview', { text: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers: [{name: c, image: i}]\n' });
    assert.ok(!body.ok);
    assert.match(body.diagnostics[0].message, /NetworkPolicy objects only/);
  });

  it('matrix and check by POST include the edit; the export writes every policy as YAML', async () => {
    const m = await post<MatrixView>('/api/matrix?port=5000', { text: WEB_POLICY_5001 });
    assert.equal(m.body.allowed[2][0], false);
    const y = await handleApi(ctx(), 'GET', new URL('http://x/api/export/policies'));
    assert.equal(y.contentType, 'application/yaml; charset=utf-8');
    const reloaded = loadTexts([{ file: 'export.yaml', text: y.body as string }]);
    assert.deepEqual(reloaded.cluster?.policies.map((p) => p.name), ['api-policy', 'db-policy', 'web-policy']);
    const edited = await post<string>('/api/export/policies', { text: WEB_POLICY_5001 });
    assert.match(edited.body, /port: 5001/);
  });
});

describe('ui api: a lab, followed live', () => {
  it('a change in the lab bumps the version and tells listeners; counters and probes come through', async () => {
    let cluster = loadTexts([{ file: 'a.yaml', text: 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers: [{name: c, image: i, ports: [{containerPort: 80}]}]\n' }]).cluster!;
    let probes = 0;
    const fake: LabHandle = {
      cluster: () => cluster,
      probe: async (_ports?: readonly PortProtocol[]) => {
        probes += 1;
        return [];
      },
      counters: async () => new Map([['in/default/a', { packets: 3, bytes: 180 }]]),
      close: () => undefined,
    };
    const source = labSource(fake, 'lab test', { intervalMs: 20, countersMs: 20 });
    const events: string[] = [];
    source.subscribe((e) => events.push(e));
    cluster = threeTier();
    await until(() => events.includes('model') && events.includes('counters'));
    source.close();
    assert.equal(source.current().version, 2);
    const c = { source, namespace: 'default' };
    assert.deepEqual((await get<{ counters: unknown }>('/api/lab/counters', c)).body, { counters: { 'in/default/a': { packets: 3, bytes: 180 } } });
    assert.equal((await get('/api/lab/probe', c)).status, 404, 'probing is a POST: no GET from another page can start it');
    assert.equal(probes, 0);
    await post('/api/lab/probe', {}, c);
    assert.equal(probes, 1);
    assert.equal((await get<ModelView>('/api/model', c)).body.source, 'lab');
  });
});

describe('ui server', () => {
  it('listens on 127.0.0.1, refuses other Host names, streams events', async () => {
    const server = await startUiServer({ source: staticSource(threeTier(), 't'), port: 0, clientDir: '/nonexistent' });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const model = await fetch(`${server.url}api/model`);
      assert.equal(model.status, 200);
      // fetch may not set Host: ask with node:http, as a page on another name would reach us
      const status = await new Promise<number>((resolve, reject) =>
        request({ host: '127.0.0.1', port: server.port, path: '/api/model', headers: { host: 'evil.example' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end(),
      );
      assert.equal(status, 421);
      const page = await fetch(server.url);
      assert.equal(page.status, 503);
      const events = await fetch(`${server.url}api/events`);
      const reader = events.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      assert.match(first, /^event: hello\ndata: \{"version":1\}/);
      await reader.cancel();
    } finally {
      await server.close();
    }
  });

  it('`podwall ui -f` prints its address and stops when told', async () => {
    const out: string[] = [];
    const controller = new AbortController();
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s), color: false };
    const done = runUi({ filename: ['examples/three-tier'], namespace: 'default', port: '0' }, io, controller.signal);
    await until(() => out.length > 0);
    const url = /Podwall UI: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out[0])?.[1];
    assert.ok(url, out[0]);
    assert.equal((await fetch(`${url}api/model`)).status, 200);
    controller.abort();
    assert.equal(await done, 0);
  });

  it('the 200-pod example loads and is drawn with its flows', async () => {
    const built = loadTexts([{ file: '200.yaml', text: twoHundredPods() }]);
    assert.ok(built.cluster, built.diagnostics.map((d) => d.message).join('\n'));
    const { body } = await get<ModelView>('/api/model', { source: staticSource(built.cluster, '200'), namespace: 'default' });
    assert.equal(body.endpoints.length, 200);
    // Per namespace: 8 web x 7 api + 7 api x 5 db pod flows, and outside -> each web pod.
    assert.equal(body.flows.filter((f) => f.from !== 'outside').length, 10 * (8 * 7 + 7 * 5));
    assert.equal(body.flows.filter((f) => f.from === 'outside').length, 80);
  });
});

describe('ui server: nothing from another origin, bodies bounded', () => {
  const withServer = async (fn: (port: number) => Promise<void>, options: { maxBodyBytes?: number } = {}): Promise<void> => {
    const server = await startUiServer({ source: staticSource(threeTier(), 't'), port: 0, clientDir: '/nonexistent', ...options });
    try {
      await fn(server.port);
    } finally {
      await server.close();
    }
  };
  const preview = JSON.stringify({ text: WEB_POLICY_5001 });

  it('a "simple" cross-origin POST (text/plain, from another site) is refused before it is read', async () => {
    await withServer(async (port) => {
      const r = await raw(port, { method: 'POST', path: '/api/preview', headers: { host: `127.0.0.1:${port}`, origin: 'http://evil.example', 'content-type': 'text/plain' }, body: preview });
      assert.equal(r.status, 403);
      assert.match(r.body, /cross-origin/);
    });
  });

  it('any API request from another origin or site is refused, a GET included; the page\'s own origin is served', async () => {
    await withServer(async (port) => {
      const host = `127.0.0.1:${port}`;
      assert.equal((await raw(port, { path: '/api/model', headers: { host, origin: 'http://evil.example' } })).status, 403);
      assert.equal((await raw(port, { path: '/api/model', headers: { host, 'sec-fetch-site': 'cross-site' } })).status, 403);
      assert.equal((await raw(port, { path: '/api/model', headers: { host, 'sec-fetch-site': 'same-site' } })).status, 403);
      assert.equal((await raw(port, { path: '/api/model', headers: { host, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' } })).status, 200);
      assert.equal((await raw(port, { path: '/api/model', headers: { host } })).status, 200, 'no Origin at all (curl) is fine');
      assert.equal((await raw(port, { method: 'POST', path: '/api/preview', headers: { host, origin: `http://${host}`, 'content-type': 'application/json' }, body: preview })).status, 200);
    });
  });

  it('a POST body that does not say it is JSON gets 415, even from the same origin', async () => {
    await withServer(async (port) => {
      const host = `127.0.0.1:${port}`;
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) {
        const r = await raw(port, { method: 'POST', path: '/api/preview', headers: { host, 'content-type': type }, body: preview });
        assert.equal(r.status, 415, type);
      }
      assert.equal((await raw(port, { method: 'POST', path: '/api/preview', headers: { host, 'content-type': 'application/json; charset=utf-8' }, body: preview })).status, 200);
    });
  });

  it('a body over the limit is answered 413 (the client reads the answer, not a reset), with or without Content-Length', async () => {
    await withServer(
      async (port) => {
        const host = `127.0.0.1:${port}`;
        const big = JSON.stringify({ text: 'x'.repeat(5000) });
        const declared = await raw(port, { method: 'POST', path: '/api/preview', headers: { host, 'content-type': 'application/json' }, body: big });
        assert.equal(declared.status, 413);
        assert.match(declared.body, /over 1024 bytes/);
        const chunked = await raw(port, { method: 'POST', path: '/api/preview', headers: { host, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: big });
        assert.equal(chunked.status, 413);
      },
      { maxBodyBytes: 1024 },
    );
  });

  it('the largest body accepted costs a bounded time, and the server answers others meanwhile', async () => {
    await withServer(async (port) => {
      const host = `127.0.0.1:${port}`;
      const one = (i: number): string =>
        `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p${i}}\nspec:\n  podSelector: {matchLabels: {role: db}}\n  ingress: [{from: [{podSelector: {matchLabels: {name: api-pod}}}], ports: [{port: ${1000 + i}}]}]\n`;
      let text = '';
      for (let i = 0; JSON.stringify({ text: text + one(i) }).length < 128 * 1024 - 200; i++) text += `${i ? '---\n' : ''}${one(i)}`;
      const t0 = Date.now();
      const big = raw(port, { method: 'POST', path: '/api/preview', headers: { host, 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
      const model = await raw(port, { path: '/api/model', headers: { host } });
      assert.equal(model.status, 200);
      assert.equal((await big).status, 200);
      // A generous bound: the point is that the cost is capped (seconds, not the 50 s of before).
      assert.ok(Date.now() - t0 < 10_000, `the largest preview and a model took ${Date.now() - t0} ms`);
    });
  });

  it('--address 0.0.0.0 warns, and answers on a non-loopback address of this machine; other Host names still get 421', async (t) => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (!external) return t.skip('this machine has no non-loopback IPv4 address');
    const out: string[] = [];
    const controller = new AbortController();
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s), color: false };
    const done = runUi({ filename: ['examples/three-tier'], namespace: 'default', port: '0', address: '0.0.0.0' }, io, controller.signal);
    try {
      await until(() => out.some((l) => l.startsWith('Podwall UI:')));
      assert.ok(out.some((l) => /^warning: listening on 0\.0\.0\.0, not loopback/.test(l)), out.join('\n'));
      const port = Number(/:(\d+)\/$/.exec(out.find((l) => l.startsWith('Podwall UI:'))!)![1]);
      assert.equal((await raw(port, { host: external, path: '/api/model', headers: { host: `${external}:${port}` } })).status, 200);
      assert.equal((await raw(port, { host: external, path: '/api/model', headers: { host: `evil.example:${port}` } })).status, 421);
    } finally {
      controller.abort();
      assert.equal(await done, 0);
    }
  });

  it('--address that is not an IP address is bad input', async () => {
    await assert.rejects(runUi({ filename: ['examples/three-tier'], namespace: 'default', address: 'example.com' }, { out: () => undefined, err: () => undefined, color: false }), /--address: "example\.com" is not an IP address/);
  });
});
