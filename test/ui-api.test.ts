// The UI's JSON API over the three-tier example: the model the page draws, matrices, explanations,
// checks, the editor's preview (diff and diagnostics with field paths), exports, and a lab followed
// live (versions, counters, probes). The server's shell is in ui-server.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PortProtocol } from '../src/engine/index.js';
import { LabPodsNotReady, type ProbeReport } from '../src/lab/index.js';
import { loadManifests, loadTexts, type Cluster } from '../src/model/index.js';
import { handleApi, inputTitle, labSource, startUiServer, staticSource, type ClusterSource, type LabHandle, type SourceEvent } from '../src/web/index.js';
import type { CheckView, ExplainView, LintView, MatrixView, ModelView, PreviewView, ProbeView } from '../src/web/index.js';
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
    assert.equal((await post('/api/lab/probe', {})).status, 404, 'not following a lab');
    assert.equal((await get('/api/nothing')).status, 404);
    assert.equal((await get('/api/explain/%E0%A4%A')).status, 400, 'malformed percent-encoding');
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

  it('a throw while reading the edit is a diagnostic (200 for a preview, 422 for a question), never a thrown error', async () => {
    const throwing = { ...ctx(), overlay: (): never => { throw new RangeError('Maximum call stack size exceeded'); } };
    const preview = await post<PreviewView>('/api/preview', { text: 'anything' }, throwing);
    assert.equal(preview.status, 200);
    assert.ok(!preview.body.ok);
    assert.match(preview.body.diagnostics[0].message, /the edit could not be read: Maximum call stack size exceeded/);
    assert.equal((await post('/api/matrix?port=80', { text: 'anything' }, throwing)).status, 422);
    assert.equal((await post('/api/export/policies', { text: 'anything' }, throwing)).status, 422);
  });

  it('at most 100 diagnostics come back, then one saying how many more', async () => {
    const bad = Array.from({ length: 150 }, (_, i) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p${i}}\nspec: {podSelector: {}, ingress: [{ports: [{port: 0}]}]}\n`).join('---\n');
    const { body } = await post<PreviewView>('/api/preview', { text: bad });
    assert.ok(!body.ok);
    assert.equal(body.diagnostics.length, 101);
    assert.equal(body.diagnostics[100].message, '50 more errors not shown');
  });
});

const WILD = '/work/shared/wild';
const wildCtx = (app: string) => ({ source: staticSource(loadManifests([`${WILD}/${app}`]).cluster!, app), namespace: 'default' });

describe('ui api: findings and marks', () => {
  it("GET /api/lint gives lint's findings with the endpoints and policies each involves (sock-shop's `name: cart`)", async () => {
    const { status, body } = await get<LintView>('/api/lint', wildCtx('sock-shop'));
    assert.equal(status, 200);
    const cart = body.findings.find((f) => f.id === 'PW-POLICY-SELECTS-NOTHING' && f.object === 'NetworkPolicy sock-shop/cart-access');
    assert.ok(cart, JSON.stringify(body.findings.map((f) => [f.id, f.object])));
    assert.equal(cart.severity, 'warning');
    assert.equal(cart.path, 'spec.podSelector');
    assert.match(cart.message, /name=cart \(did you mean name=carts/);
    assert.deepEqual(cart.policies, ['sock-shop/cart-access']);
    assert.deepEqual(cart.endpoints, ['sock-shop/deployment/carts', 'sock-shop/deployment/carts-db']);
    assert.equal(cart.summary, 'the podSelector selects no pod');
    assert.match(cart.file ?? '', /manifests-policy\.yaml$/);
    const unselected = body.findings.find((f) => f.id === 'PW-UNSELECTED-PODS');
    assert.deepEqual(unselected?.endpoints, ['monitoring/daemonset/node-directory-size-metrics', 'monitoring/deployment/prometheus-deployment']);
    assert.equal(unselected?.object, undefined);
  });

  it('POST /api/lint lints the cluster with the editor\'s policies laid over; bad text is 422 with diagnostics', async () => {
    const fixed = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: cart-access\n  namespace: sock-shop\nspec:\n  podSelector:\n    matchLabels:\n      name: carts\n  ingress:\n  - from:\n    - podSelector:\n        matchLabels:\n          name: front-end\n`;
    const { status, body } = await post<LintView>('/api/lint', { text: fixed }, wildCtx('sock-shop'));
    assert.equal(status, 200);
    assert.ok(!body.findings.some((f) => f.object === 'NetworkPolicy sock-shop/cart-access'));
    assert.equal((await post('/api/lint', { text: 'kind: [' }, wildCtx('sock-shop'))).status, 422);
    assert.equal((await handleApi(ctx(), 'DELETE', new URL('http://x/api/lint'))).status, 405);
  });

  it('POST /api/lint through the server is evaluated in the edit worker with the edit laid over', async () => {
    const server = await startUiServer({ source: wildCtx('sock-shop').source, port: 0, clientDir: '/nonexistent' });
    try {
      const lint = async (text: string): Promise<{ status: number; body: LintView }> => {
        const res = await fetch(`${server.url}api/lint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
        return { status: res.status, body: (await res.json()) as LintView };
      };
      const before = await lint('');
      assert.ok(before.body.findings.some((f) => f.object === 'NetworkPolicy sock-shop/cart-access'));
      const typo = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: extra\n  namespace: sock-shop\nspec:\n  podSelector:\n    matchLabels:\n      name: nothing-has-this\n`;
      const after = await lint(typo);
      assert.equal(after.status, 200);
      assert.deepEqual(after.body.findings.filter((f) => f.object === 'NetworkPolicy sock-shop/extra').map((f) => [f.id, f.file, f.line]), [['PW-POLICY-SELECTS-NOTHING', 'editor.yaml', 1]]);
    } finally {
      await server.close();
    }
  });

  it('the model marks endpoints selected by no policy and endpoints open to outside, as lint counts them', async () => {
    const { body } = await get<ModelView>('/api/model', wildCtx('sock-shop'));
    const marked = (flag: 'unselected' | 'openToOutside'): string[] => body.endpoints.filter((e) => e[flag]).map((e) => e.id);
    assert.deepEqual(marked('unselected'), ['monitoring/daemonset/node-directory-size-metrics', 'monitoring/deployment/prometheus-deployment']);
    assert.deepEqual(marked('openToOutside'), ['monitoring/daemonset/node-directory-size-metrics', 'monitoring/deployment/prometheus-deployment', 'sock-shop/deployment/front-end']);
    const three = await get<ModelView>('/api/model');
    assert.deepEqual(three.body.endpoints.map((e) => [e.id, e.unselected, e.openToOutside]), [
      ['default/api', false, false],
      ['default/db', false, false],
      ['default/web', false, true],
    ]);
    const preview = await post<PreviewView>('/api/preview', { text: WEB_POLICY_5001 });
    assert.ok(preview.body.ok && preview.body.model.endpoints.every((e) => e.unselected === false));
  });
});

describe('ui api: the title', () => {
  const cases: { rule: string; input: Parameters<typeof inputTitle>[0]; want: string }[] = [
    { rule: 'a directory is its name, not its absolute path', input: { files: [`${WILD}/sock-shop`] }, want: 'sock-shop' },
    { rule: 'a directory named with a trailing slash is its name', input: { files: ['examples/three-tier/'] }, want: 'three-tier' },
    { rule: 'a file is its name without the manifest extension', input: { files: [`${WILD}/online-boutique/kubernetes-manifests.yaml`] }, want: 'kubernetes-manifests' },
    { rule: 'files of one directory are that directory', input: { files: [`${WILD}/sock-shop/complete-demo.yaml`, `${WILD}/sock-shop/manifests-policy.yaml`] }, want: 'sock-shop' },
    { rule: 'files of several directories are the first and how many more', input: { files: [`${WILD}/sock-shop`, `${WILD}/argocd`] }, want: 'sock-shop +1 more' },
    { rule: 'standard input says so', input: { files: ['-'] }, want: 'standard input' },
    { rule: 'a cluster is its context', input: { context: 'kind-dev' }, want: 'kind-dev' },
    { rule: 'a cluster without a context named is the current context', input: {}, want: 'current context' },
  ];
  for (const c of cases) it(c.rule, () => assert.equal(inputTitle(c.input), c.want));
});

describe('ui api: unknown fields in the editor', () => {
  const typo = (field: string, at: string): string => WEB_POLICY_5001.replace(at, field);
  const cases: { rule: string; text: string; line: number; field: string; meant?: string }[] = [
    { rule: 'a misspelt block field is reported at its own line (not its value\'s) with the field meant', text: typo('  ingres:', '  ingress:'), line: 10, field: 'spec.ingres', meant: 'ingress' },
    { rule: 'a misspelt field inside a rule names the rule\'s field meant', text: typo('    - podSelectr:', '    - podSelector:'), line: 15, field: 'spec.egress[0].to[0].podSelectr', meant: 'podSelector' },
    { rule: 'a misspelt port field suggests the port field', text: typo('    - prot: 5001', '    - port: 5001'), line: 19, field: 'spec.egress[0].ports[0].prot', meant: 'port' },
    { rule: 'a field like none known gets no guess', text: typo('  zzzzzz: 1\n  ingress:', '  ingress:'), line: 10, field: 'spec.zzzzzz' },
  ];
  for (const c of cases) {
    it(c.rule, async () => {
      const { body } = await post<PreviewView>('/api/preview', { text: c.text });
      assert.ok(!body.ok);
      const d = body.diagnostics.find((x) => x.field === c.field);
      assert.ok(d, JSON.stringify(body.diagnostics));
      assert.equal(d.line, c.line, `${c.text.split('\n')[c.line - 1]}`);
      if (c.meant) assert.match(d.message, new RegExp(`did you mean "${c.meant}"\\?$`));
      else assert.doesNotMatch(d.message, /did you mean/);
      assert.match(d.text, new RegExp(`^editor\\.yaml:${c.line}:`));
    });
  }
});

/** Resolves once the source has emitted every event named (subscribed before the change is made). */
function events(source: ClusterSource, wanted: readonly SourceEvent[]): Promise<void> {
  const missing = new Set(wanted);
  return new Promise((resolve) => {
    const stop = source.subscribe((e) => {
      missing.delete(e);
      if (missing.size === 0) {
        stop();
        resolve();
      }
    });
  });
}

/** A promise with its resolve and reject at hand: a fake lab's probe that the test ends when it chooses. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
}

const POD_A = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers: [{name: c, image: i, ports: [{containerPort: 80}]}]\n';

function fakeLab(probe: LabHandle['probe'], cluster: () => Cluster = () => loadTexts([{ file: 'a.yaml', text: POD_A }]).cluster!): LabHandle {
  return { cluster, probe, counters: async () => new Map([['in/default/a', { packets: 3, bytes: 180 }]]), close: () => undefined };
}

/** One port's report, as Lab.probe gives it: web -> db inconclusive (nothing listening), api -> db a real difference. */
const REPORT: ProbeReport = {
  port: 3306,
  protocol: 'TCP',
  pods: ['default/api', 'default/db', 'default/web'],
  allowed: [[null, false, null], [null, null, null], [null, null, null]],
  predicted: [[false, true, false], [false, false, false], [false, false, false]],
  differences: [{ from: 'default/api', to: 'default/db' }],
  inconclusive: [{ from: 'default/web', to: 'default/db', reason: 'nothing listens on 10.244.0.3:3306' }],
  notProbed: ['a pod to itself'],
};

describe('ui api: a lab, followed live', () => {
  it('a change in the lab bumps the version and tells listeners; counters come through', async () => {
    let cluster = loadTexts([{ file: 'a.yaml', text: POD_A }]).cluster!;
    const source = labSource(fakeLab(async () => [], () => cluster), 'lab test', { intervalMs: 20, countersMs: 20 });
    try {
      const seen = events(source, ['model', 'counters']);
      cluster = threeTier();
      await seen;
      assert.equal(source.current().version, 2);
      const c = { source, namespace: 'default' };
      assert.deepEqual((await get<{ counters: unknown }>('/api/lab/counters', c)).body, { counters: { 'in/default/a': { packets: 3, bytes: 180 } } });
      assert.equal((await get<ModelView>('/api/model', c)).body.source, 'lab');
    } finally {
      source.close();
    }
  });

  it('probing is a POST: a GET is 405 and probes nothing', async () => {
    let probes = 0;
    const source = labSource(fakeLab(async () => (probes++, [])), 'lab test');
    try {
      const c = { source, namespace: 'default' };
      const refused = await get('/api/lab/probe', c);
      assert.equal(refused.status, 405);
      assert.deepEqual((refused as { headers?: unknown }).headers, { allow: 'POST' });
      assert.equal(probes, 0);
      assert.equal((await post('/api/lab/probe', {}, c)).status, 200);
      assert.equal(probes, 1);
    } finally {
      source.close();
    }
  });

  it('a probe passes inconclusive cells through apart from the differences', async () => {
    const source = labSource(fakeLab(async () => [REPORT]), 'lab test');
    try {
      const { status, body } = await post<ProbeView[]>('/api/lab/probe', {}, { source, namespace: 'default' });
      assert.equal(status, 200);
      assert.deepEqual(body[0].inconclusive, [{ from: 'default/web', to: 'default/db', reason: 'nothing listens on 10.244.0.3:3306' }]);
      assert.deepEqual(body[0].differences, [{ from: 'default/api', to: 'default/db' }]);
      assert.deepEqual(body[0], REPORT);
    } finally {
      source.close();
    }
  });

  it('a lab that cannot be probed (pods that cannot run) is a 503 naming them, not a verdict and not a 500', async () => {
    const source = labSource(fakeLab(async () => Promise.reject(new LabPodsNotReady([{ pod: 'default/db', reason: 'FailedCreatePodSandBox: address taken' }]))), 'lab test');
    try {
      const { status, body } = await post<{ error: string; notReady: unknown }>('/api/lab/probe', {}, { source, namespace: 'default' });
      assert.equal(status, 503);
      assert.match(body.error, /1 pod is not running: default\/db \(FailedCreatePodSandBox: address taken\)/);
      assert.deepEqual(body.notReady, [{ pod: 'default/db', reason: 'FailedCreatePodSandBox: address taken' }]);
      assert.ok(!JSON.stringify(body).includes('    at '), 'no stack');
    } finally {
      source.close();
    }
  });

  it('a probe asked for while one runs gets a run that starts after it asked, shared by everyone who asked meanwhile', async () => {
    const runs: ReturnType<typeof deferred<ProbeReport[]>>[] = [];
    const secondRun = deferred<void>();
    const source = labSource(
      fakeLab((_ports?: readonly PortProtocol[]) => {
        const run = deferred<ProbeReport[]>();
        runs.push(run);
        if (runs.length === 2) secondRun.resolve();
        return run.promise;
      }),
      'lab test',
    );
    try {
      const first = source.lab!.probe();
      const second = source.lab!.probe();
      const third = source.lab!.probe();
      assert.equal(runs.length, 1, 'one run at a time');
      const older = [{ ...REPORT, port: 1 }];
      runs[0].resolve(older);
      assert.equal(await first, older);
      const next = await Promise.race([second.then(() => 'answered'), secondRun.promise.then(() => 'a run started')]);
      assert.equal(next, 'a run started', 'not answered before a run that started after it asked');
      const newer = [{ ...REPORT, port: 2 }];
      runs[1].resolve(newer);
      assert.equal(await second, newer, 'not the answer of the run under way when it asked');
      assert.equal(await third, newer);
      assert.equal(runs.length, 2);
    } finally {
      source.close();
    }
  });
});

describe('ui api: size', () => {
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
