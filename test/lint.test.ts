// `podwall lint` end to end: the findings pinned on the six wild apps, the text, JSON and SARIF
// outputs (SARIF checked field by field against the 2.1.0 shape code hosts read), the exit codes
// (0 clean, 1 findings at or above --fail-on, 2 bad input), and a running cluster read through its API.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileCluster, lintCluster, LINT_RULES, type LintFinding } from '../src/engine/index.js';
import { labCredentials, writeKubeconfig } from '../src/lab/index.js';
import { startTestServer } from '../src/lab/api/testing.js';
import { loadManifests, type Manifest } from '../src/model/index.js';
import { runCli as run } from './support/cli.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const WILD = resolve(REPO, '../shared/wild');
const THREE_TIER = resolve(REPO, 'examples/three-tier');

const scratch = mkdtempSync(join(tmpdir(), 'podwall-lint-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

/** `severity ID Kind ns/name path @ file:line:col`, the file by its base name. */
function pin(f: LintFinding): string {
  const object = f.object ? `${f.object.kind} ${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}` : '-';
  const at = f.location ? ` @ ${basename(f.location.file)}:${f.location.line}:${f.location.column}` : '';
  return `${f.severity} ${f.id} ${object} ${f.path ?? '-'}${at}`;
}

const cache = new Map<string, LintFinding[]>();

/** The app's findings as the CLI computes them (with positions), read back from `-o json`. */
async function lintApp(name: string): Promise<LintFinding[]> {
  let findings = cache.get(name);
  if (!findings) {
    const r = await run(['lint', '-f', join(WILD, name), '-o', 'json', '--fail-on', 'none', ...(name === 'online-boutique' ? ['-n', 'default'] : [])]);
    assert.equal(r.code, 0, r.err);
    findings = (JSON.parse(r.out) as { findings: LintFinding[] }).findings;
    cache.set(name, findings);
  }
  return findings;
}

const byId = (findings: readonly LintFinding[], id: string): LintFinding[] => findings.filter((f) => f.id === id);

describe('lint on the wild apps', () => {
  test('sock-shop: the dead selectors (name: cart where the pods say carts; name: cortex, which no pod has), at their lines', async () => {
    const findings = await lintApp('sock-shop');
    assert.deepEqual(findings.filter((f) => f.object).map(pin), [
      'warning PW-POLICY-SELECTS-NOTHING NetworkPolicy sock-shop/cart-access spec.podSelector @ manifests-policy.yaml:10:5',
      'warning PW-PEER-SELECTS-NOTHING NetworkPolicy sock-shop/carts-db-access spec.ingress[0].from[0].podSelector @ manifests-policy.yaml:37:13',
      'warning PW-PEER-SELECTS-NOTHING NetworkPolicy sock-shop/cortex-access spec.ingress[0].from[0].podSelector @ manifests-policy.yaml:94:13',
    ]);
    const [cart] = byId(findings, 'PW-POLICY-SELECTS-NOTHING');
    assert.match(cart.message, /no pod in namespace sock-shop has name=cart \(did you mean name=carts or name=carts-db\?\)/);
    assert.deepEqual(cart.related.map((r) => `${r.kind} ${r.namespace}/${r.name}`), ['Deployment sock-shop/carts', 'Deployment sock-shop/carts-db']);
    // The line is the selector's: `matchLabels:` under `podSelector:` of cart-access.
    const lines = readFileSync(join(WILD, 'sock-shop/manifests-policy.yaml'), 'utf8').split('\n');
    assert.deepEqual([lines[8].trim(), lines[9].trim(), lines[10].trim()], ['podSelector:', 'matchLabels:', 'name: cart']);
    assert.match(byId(findings, 'PW-UNSELECTED-PODS')[0].message, /^2 pods of 16 .*monitoring\/daemonset\/node-directory-size-metrics, monitoring\/deployment\/prometheus-deployment$/);
    assert.match(byId(findings, 'PW-REACHABLE-FROM-OUTSIDE')[0].message, /sock-shop\/deployment\/front-end \(8079\/TCP by sock-shop\/front-end-access ingress\[0\]\)/);
  });

  test('aks-regulated: the DNS egress rule allows UDP 53 only, so TCP 53 is said to be missing; its namespaceSelector names a label only the undeclared kube-system could carry (info)', async () => {
    const findings = await lintApp('aks-regulated');
    assert.deepEqual(findings.filter((f) => f.object).map(pin), [
      'warning PW-NO-DNS-EGRESS NetworkPolicy a0005-i/default spec.egress[0].ports @ cluster-manifests-a0005-i.yaml:67:5',
      'info PW-NAMESPACE-SELECTS-NOTHING NetworkPolicy a0005-i/default spec.egress[0].to[0].namespaceSelector @ cluster-manifests-a0005-i.yaml:71:9',
      'warning PW-NO-DNS-EGRESS NetworkPolicy a0005-o/default spec.egress[0].ports @ cluster-manifests-a0005-o.yaml:67:5',
      'info PW-NAMESPACE-SELECTS-NOTHING NetworkPolicy a0005-o/default spec.egress[0].to[0].namespaceSelector @ cluster-manifests-a0005-o.yaml:71:9',
    ]);
    const [dns] = byId(findings, 'PW-NO-DNS-EGRESS');
    assert.match(dns.message, /may reach the cluster DNS .* on UDP 53 through a0005-i\/default egress\[0\] .*but not on TCP 53: answers too large for UDP/);
    assert.deepEqual(dns.related.map((r) => r.name), ['microservice-c', 'web-frontend']);
    assert.match(byId(findings, 'PW-NAMESPACE-SELECTS-NOTHING')[0].message, /no namespace in the input has the label kubernetes\.io\/cluster-service=true; .*kube-system are not declared in the input/);
  });

  test('eks-retail-store: checkout -> orders is a flow the app needs, which lint cannot know: it finds nothing wrong with the orders policy (its one peer reads the same as two) and lists checkout among the pods no policy selects', async () => {
    const findings = await lintApp('eks-retail-store');
    assert.deepEqual(findings.map(pin), ['info PW-UNSELECTED-PODS - -', 'info PW-REACHABLE-FROM-OUTSIDE - -']);
    const [unselected] = byId(findings, 'PW-UNSELECTED-PODS');
    assert.match(unselected.message, /^5 pods of 9 .*: carts\/deployment\/carts, carts\/deployment\/carts-dynamodb, checkout\/deployment\/checkout, checkout\/deployment\/checkout-redis, orders\/statefulset\/orders-postgresql$/);
    // ui's DNS: its egress rule admits every pod of kube-system, on every port.
    assert.deepEqual(byId(findings, 'PW-NO-DNS-EGRESS'), []);
  });

  const quiet: [string, string[]][] = [
    ['online-boutique', ['PW-REACHABLE-FROM-OUTSIDE']],
    ['argocd', ['PW-REACHABLE-FROM-OUTSIDE']],
    ['calico-stars', ['PW-UNSELECTED-PODS', 'PW-REACHABLE-FROM-OUTSIDE']],
  ];
  for (const [name, ids] of quiet) {
    test(`${name}: only the summaries (its policies select what they mean to, every egress-isolated pod has DNS)`, async () => {
      assert.deepEqual((await lintApp(name)).map((f) => f.id), ids);
    });
  }

  test('the engine alone (no positions) finds the same as the CLI on every app', async () => {
    for (const name of ['aks-regulated', 'argocd', 'calico-stars', 'eks-retail-store', 'online-boutique', 'sock-shop']) {
      const built = loadManifests([join(WILD, name)], name === 'online-boutique' ? { namespace: 'default' } : {});
      const engine = lintCluster(compileCluster(built.cluster!));
      const strip = (f: LintFinding): string => `${f.id} ${f.object?.name ?? '-'} ${f.path ?? '-'} ${f.message}`;
      assert.deepEqual(engine.map(strip), (await lintApp(name)).map(strip), name);
    }
  });
});

describe('lint output', () => {
  test('text: grouped by object, each finding starting with file:line:col so editors jump to it, then a count', async () => {
    const r = await run(['lint', '-f', join(WILD, 'sock-shop')]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    const at = lines.indexOf('NetworkPolicy sock-shop/cart-access');
    assert.ok(at >= 0, r.out);
    assert.match(lines[at + 1], /^\S*sock-shop\/manifests-policy\.yaml:10:5: warning: spec\.podSelector: no pod in namespace sock-shop has name=cart .*\[PW-POLICY-SELECTS-NOTHING\]$/);
    assert.ok(lines.includes('cluster'));
    assert.equal(lines[lines.length - 1], '3 warnings, 2 info');
    const ESC = '\u001b';
    assert.ok(!r.out.includes(ESC));
    // On a terminal, severities are coloured.
    assert.ok((await run(['lint', '-f', join(WILD, 'sock-shop')], true)).out.includes(`${ESC}[33mwarning${ESC}[0m`));
  });

  test('json: {findings: [{id, severity, object, path, location, message, related}], summary: {error, warning, info}}', async () => {
    const r = await run(['lint', '-f', join(WILD, 'sock-shop'), '-o', 'json']);
    const doc = JSON.parse(r.out) as { findings: LintFinding[]; summary: Record<string, number> };
    assert.deepEqual(Object.keys(doc), ['findings', 'summary']);
    assert.deepEqual(doc.summary, { error: 0, warning: 3, info: 2 });
    assert.deepEqual(Object.keys(doc.findings[0]), ['id', 'severity', 'object', 'path', 'location', 'message', 'related']);
    const summaryFinding = doc.findings.find((f) => f.id === 'PW-UNSELECTED-PODS')!;
    assert.deepEqual(Object.keys(summaryFinding), ['id', 'severity', 'message', 'related']);
  });

  test('sarif: a result keeps at most 100 related locations (GitHub keeps no more), while JSON lists every related object', async () => {
    const pods = Array.from({ length: 150 }, (_, i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: p${i}, labels: {app: p}}\nspec: {containers: [{name: c, image: x}]}\n`).join('---\n');
    const path = file('many.yaml', pods);
    const sarif = JSON.parse((await run(['lint', '-f', path, '-o', 'sarif'])).out);
    const unselected = sarif.runs[0].results.find((x: { ruleId: string }) => x.ruleId === 'PW-UNSELECTED-PODS');
    assert.equal(unselected.relatedLocations.length, 100);
    const json = JSON.parse((await run(['lint', '-f', path, '-o', 'json'])).out) as { findings: LintFinding[] };
    assert.equal(byId(json.findings, 'PW-UNSELECTED-PODS')[0].related.length, 150);
  });

  test('sarif: a SARIF 2.1.0 log whose results resolve to rules, with levels, messages and positions relative to the working directory', async () => {
    const policies = file('sarif-policies.yaml', readFileSync(join(WILD, 'sock-shop/manifests-policy.yaml'), 'utf8'));
    const r = await run(['lint', '-f', join(WILD, 'sock-shop/complete-demo.yaml'), '-f', policies, '-o', 'sarif']);
    assert.equal(r.code, 0, r.err);
    const log = JSON.parse(r.out);
    assert.equal(log.version, '2.1.0');
    assert.equal(log.$schema, 'https://json.schemastore.org/sarif-2.1.0.json');
    assert.equal(log.runs.length, 1);
    const [runLog] = log.runs;
    const driver = runLog.tool.driver;
    assert.equal(driver.name, 'podwall');
    assert.deepEqual(driver.rules.map((x: { id: string }) => x.id), LINT_RULES.map((x) => x.id));
    for (const rule of driver.rules) {
      assert.ok(rule.id && rule.name && rule.shortDescription.text && rule.fullDescription.text && rule.help.text, JSON.stringify(rule));
      assert.ok(['error', 'warning', 'note'].includes(rule.defaultConfiguration.level));
    }
    const base = runLog.originalUriBaseIds['%SRCROOT%'].uri as string;
    assert.ok(base.startsWith('file:///') && base.endsWith('/'), base);
    // complete-demo.yaml holds only sock-shop: every pod is selected (by cortex-access), front-end is open from outside.
    assert.deepEqual(runLog.results.map((x: { ruleId: string }) => x.ruleId), ['PW-POLICY-SELECTS-NOTHING', 'PW-PEER-SELECTS-NOTHING', 'PW-PEER-SELECTS-NOTHING', 'PW-REACHABLE-FROM-OUTSIDE']);
    for (const result of runLog.results) {
      assert.equal(driver.rules[result.ruleIndex].id, result.ruleId, 'ruleIndex points at the rule');
      assert.ok(['error', 'warning', 'note'].includes(result.level));
      assert.ok(result.message.text.length > 0);
      assert.ok(result.locations.length >= 1, `${result.ruleId} has a location`);
      for (const loc of [...result.locations, ...(result.relatedLocations ?? [])]) {
        const { artifactLocation, region } = loc.physicalLocation;
        assert.equal(artifactLocation.uriBaseId, '%SRCROOT%');
        assert.doesNotMatch(artifactLocation.uri, /^([a-z]+:|\/)/, 'relative');
        assert.ok(Number.isInteger(region.startLine) && region.startLine >= 1 && Number.isInteger(region.startColumn) && region.startColumn >= 1);
      }
      assert.ok(result.partialFingerprints['podwallFinding/v1']);
    }
    const cart = runLog.results.find((x: { ruleId: string }) => x.ruleId === 'PW-POLICY-SELECTS-NOTHING');
    assert.equal(cart.level, 'warning');
    const { artifactLocation, region } = cart.locations[0].physicalLocation;
    // The URI, resolved against the working directory, is the file, and the line is the selector's.
    const text = readFileSync(resolve(process.cwd(), decodeURIComponent(artifactLocation.uri)), 'utf8').split('\n');
    assert.equal(text[region.startLine - 1].slice(region.startColumn - 1), 'matchLabels:');
    assert.equal(cart.locations[0].logicalLocations[0].fullyQualifiedName, 'NetworkPolicy sock-shop/cart-access spec.podSelector');
    // A summary is shown at the first object it lists.
    const info = runLog.results.find((x: { ruleId: string }) => x.ruleId === 'PW-REACHABLE-FROM-OUTSIDE');
    assert.equal(info.level, 'note');
    assert.match(info.locations[0].physicalLocation.artifactLocation.uri, /complete-demo\.yaml$/);
  });
});

describe('lint exit codes', () => {
  const ignored = file('ignored.yaml', `apiVersion: v1
kind: Pod
metadata: {name: api, labels: {app: api}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
  ingress: [{}]
  egress: [{to: [{podSelector: {}}]}]
`);
  const endPort = file('endport.yaml', `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web}
spec:
  podSelector: {}
  ingress:
  - ports:
    - port: http
      endPort: 90
`);
  const cases: { name: string; args: () => string[]; code: number; err?: RegExp }[] = [
    { name: 'only info findings, default --fail-on error: 0', args: () => ['-f', THREE_TIER], code: 0 },
    { name: 'warnings, default --fail-on error: 0', args: () => ['-f', join(WILD, 'sock-shop')], code: 0 },
    { name: 'warnings with --fail-on warning: 1', args: () => ['-f', join(WILD, 'sock-shop'), '--fail-on', 'warning'], code: 1 },
    { name: 'info findings with --fail-on info: 1', args: () => ['-f', THREE_TIER, '--fail-on', 'info'], code: 1 },
    { name: 'an error finding (rules policyTypes ignores), default --fail-on: 1', args: () => ['-f', ignored], code: 1 },
    { name: 'an error finding with --fail-on none: 0', args: () => ['-f', ignored, '--fail-on', 'none'], code: 0 },
    { name: 'a bad --fail-on: 2', args: () => ['-f', THREE_TIER, '--fail-on', 'fatal'], code: 2, err: /--fail-on: "fatal" is not one of error, warning, info, none/ },
    { name: 'a bad -o: 2', args: () => ['-f', THREE_TIER, '-o', 'xml'], code: 2, err: /-o: "xml" is not one of text, json, sarif/ },
    { name: 'no input: 2', args: () => [], code: 2, err: /nothing to read/ },
    { name: 'a path that does not exist: 2', args: () => ['-f', join(scratch, 'missing.yaml')], code: 2, err: /does not exist/ },
    { name: 'input the apiserver refuses (endPort on a named port): 2, whatever --fail-on says', args: () => ['-f', endPort, '--fail-on', 'none'], code: 2, err: /spec\.ingress\[0\]\.ports\[0\]\.endPort: Invalid value: 90: may not be specified when `port` is non-numeric/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await run(['lint', ...c.args()]);
      assert.equal(r.code, c.code, r.out + r.err);
      if (c.err) assert.match(r.err, c.err);
    });
  }

  test('input the apiserver refuses is still reported in json and sarif, as an error at its field (endPort on a named port keeps its rule id)', async () => {
    const json = await run(['lint', '-f', endPort, '-o', 'json']);
    assert.equal(json.code, 2);
    const doc = JSON.parse(json.out) as { findings: LintFinding[] };
    assert.deepEqual(doc.findings.map(pin), ['error PW-ENDPORT-NAMED-PORT NetworkPolicy default/web spec.ingress[0].ports[0].endPort @ endport.yaml:9:16']);
    const sarif = await run(['lint', '-f', endPort, '-o', 'sarif']);
    assert.equal(sarif.code, 2);
    const [result] = JSON.parse(sarif.out).runs[0].results;
    assert.deepEqual([result.ruleId, result.level, result.locations[0].physicalLocation.region], ['PW-ENDPORT-NAMED-PORT', 'error', { startLine: 9, startColumn: 16 }]);
    const typo = file('typo.yaml', 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec: {podSelector: {}, ingres: []}\n');
    const invalid = JSON.parse((await run(['lint', '-f', typo, '-o', 'json'])).out) as { findings: LintFinding[] };
    assert.deepEqual(invalid.findings.map((f) => `${f.id} ${f.path}`), ['PW-INVALID spec.ingres']);
  });
});

describe('lint on a running cluster', () => {
  const objects: Manifest[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'shop' } } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: 80 }] }] } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db', namespace: 'shop', labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 5432 }] }] } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'db', namespace: 'shop' },
      spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'wbe' } } }], ports: [{ port: 5432 }] }] },
    },
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'cache', namespace: 'shop' }, spec: { podSelector: { matchLabels: { app: 'cache' } } } },
  ];
  const strip = (f: LintFinding): string => `${f.severity} ${f.id} ${f.object?.name ?? '-'} ${f.path ?? '-'}`;

  test('the lab API server read as a running cluster gives the same findings as the manifests it was built from', async () => {
    const t = await startTestServer();
    try {
      for (const o of objects) {
        const m = o.metadata as { namespace?: string };
        const path = o.kind === 'Namespace' ? '/api/v1/namespaces' : o.kind === 'Pod' ? `/api/v1/namespaces/${m.namespace}/pods` : `/apis/networking.k8s.io/v1/namespaces/${m.namespace}/networkpolicies`;
        assert.equal((await t.api.call('POST', path, o)).status, 201);
      }
      const live = await run(['lint', '--kubeconfig', t.kubeconfig(), '-o', 'json', '--fail-on', 'none']);
      assert.equal(live.code, 0, live.err);
      const manifests = await run(['lint', '-f', file('live.json', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects })), '-o', 'json', '--fail-on', 'none']);
      const fromLive = (JSON.parse(live.out) as { findings: LintFinding[] }).findings;
      const fromFiles = (JSON.parse(manifests.out) as { findings: LintFinding[] }).findings;
      assert.deepEqual(fromLive.map(strip), fromFiles.map(strip));
      assert.deepEqual(fromLive.filter((f) => f.object).map(strip), ['warning PW-POLICY-SELECTS-NOTHING cache spec.podSelector', 'warning PW-PEER-SELECTS-NOTHING db spec.ingress[0].from[0].podSelector']);
      // A running cluster has no files: no positions, and the lab serves no DaemonSets, so nothing is said about enforcement.
      assert.ok(fromLive.every((f) => f.location === undefined));
      assert.deepEqual(byId(fromLive, 'PW-NOT-ENFORCED'), []);
    } finally {
      await t.close();
    }
  });

  test('a cluster whose only network plugin is Flannel gets one warning: policies exist but nothing enforces them, with the reason', async () => {
    const credentials = await labCredentials(mkdtempSync(join(scratch, 'ca-')));
    const list = (kind: string, items: readonly Manifest[]) => ({ kind: `${kind}List`, apiVersion: 'v1', metadata: { resourceVersion: '1', continue: '' }, items });
    const flannel = { metadata: { namespace: 'kube-flannel', name: 'kube-flannel-ds' }, spec: { template: { spec: { containers: [{ name: 'kube-flannel', image: 'docker.io/flannel/flannel:v0.26.1' }] } } } };
    const served: Partial<Record<string, () => unknown>> = {
      '/api/v1/namespaces': () => list('Namespace', [{ metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop' } } }]),
      '/api/v1/pods': () => list('Pod', [{ metadata: { name: 'db', namespace: 'shop', labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'x' }] }, status: { phase: 'Running', podIP: '10.0.0.3' } }]),
      '/api/v1/services': () => list('Service', []),
      '/apis/networking.k8s.io/v1/networkpolicies': () => list('NetworkPolicy', [{ metadata: { name: 'db', namespace: 'shop' }, spec: { podSelector: {} } }]),
      '/apis/discovery.k8s.io/v1/endpointslices': () => list('EndpointSlice', []),
      '/apis/apps/v1/daemonsets': () => list('DaemonSet', [flannel]),
    };
    const server: Server = createServer({ key: credentials.keyPem, cert: credentials.certPem }, (req, res) => {
      const answer = served[new URL(req.url ?? '/', 'https://localhost').pathname];
      res.writeHead(answer !== undefined ? 200 : 404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(answer !== undefined ? answer() : { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const dir = mkdtempSync(join(scratch, 'fake-'));
      const kubeconfig = writeKubeconfig(dir, 'fake', `https://127.0.0.1:${(server.address() as { port: number }).port}`, credentials);
      const r = await run(['lint', '--kubeconfig', kubeconfig, '-o', 'json']);
      assert.equal(r.code, 0, r.err);
      const [finding] = byId((JSON.parse(r.out) as { findings: LintFinding[] }).findings, 'PW-NOT-ENFORCED');
      assert.equal(finding.severity, 'warning');
      assert.match(finding.message, /^policies exist but nothing enforces them: DaemonSet kube-flannel\/kube-flannel-ds \(docker\.io\/flannel\/flannel:v0\.26\.1\): Flannel does not enforce NetworkPolicy/);
      assert.equal((await run(['lint', '--kubeconfig', kubeconfig, '--fail-on', 'warning'])).code, 1);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    }
  });
});

describe('lint of admin and baseline policies', () => {
  const ADMIN = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: allow-api
spec:
  priority: 5
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {name: db-pod}}}}
  ingress:
  - action: Allow
    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {name: api-pod}}}}]
---
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: deny-all-to-db
spec:
  tier: Admin
  priority: 5
  subject: {pods: {namespaceSelector: {}, podSelector: {matchLabels: {name: db-pod}}}}
  ingress:
  - name: nobody
    action: Deny
    from: [{namespaces: {}}]
  - name: not-web
    action: Deny
    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {name: web-pod}}}}]
`;

  test('PW-ADMIN-SAME-PRIORITY and PW-ADMIN-RULE-SHADOWED point at the admin policy\'s file and line; --fail-on warning exits 1, the default exits 0', async () => {
    const path = file('admin-same-priority.yaml', ADMIN);
    const r = await run(['lint', '-f', THREE_TIER, '-f', path, '-o', 'json', '--fail-on', 'none']);
    assert.equal(r.code, 0, r.err);
    const findings = (JSON.parse(r.out) as { findings: LintFinding[] }).findings.filter((f) => f.id.startsWith('PW-ADMIN'));
    assert.deepEqual(findings.map(pin), [
      'warning PW-ADMIN-SAME-PRIORITY ClusterNetworkPolicy deny-all-to-db spec.priority @ admin-same-priority.yaml:18:13',
      'warning PW-ADMIN-RULE-SHADOWED ClusterNetworkPolicy deny-all-to-db spec.ingress[1] @ admin-same-priority.yaml:24:5',
    ]);
    assert.match(findings[0].message, /the API leaves their order undefined.*Podwall evaluates AdminNetworkPolicy\/allow-api first/);
    assert.deepEqual(findings[0].related.map((x) => `${x.kind}/${x.name}@${x.location?.line}`), ['AdminNetworkPolicy/allow-api@1']);
    assert.equal((await run(['lint', '-f', THREE_TIER, '-f', path])).code, 0);
    const strict = await run(['lint', '-f', THREE_TIER, '-f', path, '--fail-on', 'warning']);
    assert.equal(strict.code, 1);
    assert.ok(strict.out.includes(`${path}:18:13: warning: spec.priority: ClusterNetworkPolicy/deny-all-to-db (Admin tier, priority 5) and AdminNetworkPolicy/allow-api (Admin tier, priority 5) have the same priority`), strict.out);
  });

  test('SARIF lists the admin rules and places their results at the admin policy', async () => {
    const path = file('admin-sarif.yaml', ADMIN);
    const sarif = JSON.parse((await run(['lint', '-f', THREE_TIER, '-f', path, '-o', 'sarif', '--fail-on', 'none'])).out);
    const result = sarif.runs[0].results.find((x: { ruleId: string }) => x.ruleId === 'PW-ADMIN-SAME-PRIORITY');
    assert.equal(result.locations[0].physicalLocation.region.startLine, 18);
  });
});
