// The UI's JSON API over the three-tier example: the model the page draws, matrices, explanations,
// checks, the editor's preview (diff and diagnostics with field paths), exports, the lab stream,
// and the server's shell (127.0.0.1, Host check, events, the `ui` command).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { runUi } from '../src/cli/ui.js';
import type { PortProtocol } from '../src/engine/index.js';
import { loadManifests, loadTexts, type Cluster } from '../src/model/index.js';
import { handleApi, labSource, startUiServer, staticSource, type LabHandle } from '../src/web/index.js';
import type { CheckView, ExplainView, MatrixView, ModelView, PreviewView } from '../src/web/index.js';
import { twoHundredPods } from './ui-fixtures.js';

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
    await new Promise((r) => setTimeout(r, 120));
    source.close();
    assert.ok(events.includes('model'));
    assert.ok(events.includes('counters'));
    assert.equal(source.current().version, 2);
    const c = { source, namespace: 'default' };
    assert.deepEqual((await get<{ counters: unknown }>('/api/lab/counters', c)).body, { counters: { 'in/default/a': { packets: 3, bytes: 180 } } });
    await get('/api/lab/probe', c);
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
    while (out.length === 0) await new Promise((r) => setTimeout(r, 20));
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
