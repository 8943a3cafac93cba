// `podwall test --expect`: end to end through main(), for its output in every format (JUnit read
// back by a JUnit parser, TAP by its grammar and a YAML parser) and its exit codes: 0 every case
// passes, 1 some case fails, 2 bad input (nothing judged), never 1 for a crash.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseJUnit, type TestSuite, type TestSuites } from 'junit2json';
import { parse as parseYAML } from 'yaml';
import { combineCells, exitCode, judge, renderJUnit, renderTAP, type KernelVerdict } from '../src/cli/expect.js';
import { compileCluster, judgeExpectations, type FlowCheck } from '../src/engine/index.js';
import { decodeExpectations, loadManifests } from '../src/model/index.js';
import type { Output } from '../src/cli/output.js';
import { runCli as run } from './support/cli.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const threeTier = join(repo, 'examples/three-tier');
const threeTierExpect = join(repo, 'examples/expectations/three-tier.yaml');
const wild = (app: string): string => join(repo, '../shared/wild', app);

const scratch = mkdtempSync(join(tmpdir(), 'podwall-expect-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

const HEAD = 'apiVersion: podwall.dev/v1alpha1\nkind: Expectations\n';

/** Three-tier: two cases that hold, one the policies break (web -> db), with a name XML and TAP must escape. */
const mixed = file(
  'mixed.yaml',
  `${HEAD}metadata: {name: mixed}\ncases:\n- name: web reaches api\n  allow: {from: web, to: api, port: 5000}\n- name: 'web <reaches> "db" & #1'\n  allow: {from: web, to: db, port: 3306}\n- deny: {from: outside, to: [api, db]}\n`,
);

describe('podwall test: verdicts and exit codes', () => {
  test('every case of the three-tier example holds: exit 0, one ✓ line per case and a summary', async () => {
    const r = await run(['test', '-f', threeTier, '--expect', threeTierExpect]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.equal(lines.filter((l) => l.startsWith('✓ ')).length, 7);
    assert.equal(lines.at(-1), 'three-tier: 7 of 7 cases passed');
  });

  test('a case that fails: exit 1, ✗ with the flow, the expected and engine verdicts and the reasons', async () => {
    const r = await run(['test', '-f', threeTier, '--expect', mixed]);
    assert.equal(r.code, 1);
    assert.equal(
      r.out,
      [
        '✓ web reaches api',
        '✗ web <reaches> "db" & #1',
        '    default/web -> default/db 3306/TCP: expected ALLOWED, engine DENIED',
        '      egress from default/web: isolated by default/web-policy; no egress rule allows it',
        '        default/web-policy egress[0] allows to pods with name=api-pod in namespace default, on TCP 5000',
        '        default/web-policy egress[1] allows to pods with k8s-app=kube-dns in namespaces with kubernetes.io/metadata.name=kube-system, on UDP 53, TCP 53',
        '      ingress to default/db: isolated by default/db-policy; no ingress rule allows it',
        '        default/db-policy ingress[0] allows from pods with name=api-pod in namespace default, on TCP 3306',
        '✓ deny outside -> api, db on every declared TCP port (2 flows)',
        'mixed: 2 of 3 cases passed, 1 failed',
        '',
      ].join('\n'),
    );
  });

  const bad: { rule: string; args: () => string[]; err: RegExp }[] = [
    {
      rule: 'a decoding error names file:line:col and the field path, and nothing is judged',
      args: () => ['test', '-f', threeTier, '--expect', file('typo.yaml', `${HEAD}cases:\n- allow: {from: web, to: api, prot: 5000}\n`)],
      err: /typo\.yaml:4:37: Expectations: cases\[0\]\.allow\.prot: unknown field "cases\[0\]\.allow\.prot"; did you mean "port"\?\n.*1 error in .*typo\.yaml: nothing was judged/s,
    },
    {
      rule: 'a case naming an endpoint that does not exist is bad input, at its line',
      args: () => ['test', '-f', threeTier, '--expect', file('ghost.yaml', `${HEAD}cases:\n- allow: {from: web, to: api, port: 5000}\n- deny:\n    from: cache\n    to: db\n    port: 3306\n`)],
      err: /ghost\.yaml:6:11: Expectations: cases\[1\]\.deny\.from: no endpoint "default\/cache" in the input/,
    },
    {
      rule: 'a selector that selects nothing is bad input, said so',
      args: () => ['test', '-f', threeTier, '--expect', file('empty-sel.yaml', `${HEAD}cases:\n- deny: {from: {podSelector: {matchLabels: {role: cache}}}, to: db, port: 3306}\n`)],
      err: /cases\[0\]\.deny\.from: the selector selects nothing: no endpoint with role=cache in namespace default/,
    },
    { rule: 'an expectations file that cannot be read', args: () => ['test', '-f', threeTier, '--expect', join(scratch, 'missing.yaml')], err: /--expect: cannot read ".*missing\.yaml": does not exist/ },
    { rule: 'an output format test does not have', args: () => ['test', '-f', threeTier, '--expect', mixed, '-o', 'xml'], err: /-o: "xml" is not one of text, json, junit, tap/ },
    { rule: 'no manifests, no cluster and no lab', args: () => ['test', '--expect', mixed], err: /nothing to read: give -f PATH/ },
    { rule: '--name without --lab', args: () => ['test', '-f', threeTier, '--expect', mixed, '--name', 'other'], err: /--name names a lab: give it with --lab/ },
    {
      rule: '--lab with no lab up says so',
      args: () => ['test', '--expect', mixed, '--lab', '--name', 'nolab', '--state-dir', join(scratch, 'state')],
      err: /no lab "nolab" is up/,
    },
  ];
  for (const { rule, args, err } of bad) {
    test(`exit 2: ${rule}`, async () => {
      const r = await run(args());
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, err);
      assert.equal(r.out, '', 'nothing is judged from bad input');
    });
  }
});

describe('podwall test: output formats', () => {
  test('json: every case with its status and every flow with expected, engine and reasons', async () => {
    const r = await run(['test', '-f', threeTier, '--expect', mixed, '-o', 'json']);
    assert.equal(r.code, 1);
    const body = JSON.parse(r.out);
    assert.deepEqual(
      { file: body.file, name: body.name, lab: body.lab, passed: body.passed, summary: body.summary },
      { file: mixed, name: 'mixed', lab: null, passed: false, summary: { cases: 3, passed: 2, failed: 1, inconclusive: 0 } },
    );
    assert.deepEqual(
      body.cases.map((c: { index: number; verb: string; status: string; checks: unknown[] }) => [c.index, c.verb, c.status, c.checks.length]),
      [
        [0, 'allow', 'passed', 1],
        [1, 'allow', 'failed', 1],
        [2, 'deny', 'passed', 2],
      ],
    );
    const flow = body.cases[1].checks[0];
    assert.deepEqual(
      { ...flow, reasons: flow.reasons.length },
      { from: 'default/web', to: 'default/db', port: 3306, protocol: 'TCP', expected: 'allowed', engine: 'denied', kernel: null, passed: false, reasons: 5 },
    );
  });

  test('junit: a JUnit parser reads one testsuite for the file, one testcase per case, a failure with its message', async () => {
    const r = await run(['test', '-f', threeTier, '--expect', mixed, '-o', 'junit']);
    assert.equal(r.code, 1);
    const parsed = (await parseJUnit(r.out)) as TestSuites;
    assert.equal(parsed.tests, 3);
    assert.equal(parsed.failures, 1);
    assert.equal(parsed.testsuite?.length, 1);
    const suite = parsed.testsuite![0] as TestSuite;
    assert.deepEqual([suite.name, suite.tests, suite.failures, suite.errors], ['mixed', 3, 1, 0]);
    assert.deepEqual(
      suite.testcase!.map((c) => [c.name, c.classname, c.failure?.length ?? 0]),
      [
        ['web reaches api', 'podwall.mixed', 0],
        ['web <reaches> "db" & #1', 'podwall.mixed', 1],
        ['deny outside -> api, db on every declared TCP port', 'podwall.mixed', 0],
      ],
    );
    const failure = suite.testcase![1].failure![0];
    assert.equal(failure.message, '1 of 1 flow disagrees: default/web -> default/db 3306/TCP: expected ALLOWED, engine DENIED');
    assert.equal(failure.type, 'ExpectationFailed');
    assert.match(failure.inner ?? '', /ingress to default\/db: isolated by default\/db-policy; no ingress rule allows it/);
  });

  test('junit: a passing file has no failure elements', async () => {
    const r = await run(['test', '-f', threeTier, '--expect', threeTierExpect, '-o', 'junit']);
    assert.equal(r.code, 0);
    const suite = ((await parseJUnit(r.out)) as TestSuites).testsuite![0];
    assert.equal(suite.testcase!.length, 7);
    assert.ok(suite.testcase!.every((c) => c.failure === undefined && c.error === undefined));
  });

  test('tap: version, plan, ok / not ok per case (# escaped), and YAML diagnostics under the failure', async () => {
    const r = await run(['test', '-f', threeTier, '--expect', mixed, '-o', 'tap']);
    assert.equal(r.code, 1);
    const lines = r.out.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 4), ['TAP version 13', '1..3', 'ok 1 - web reaches api', 'not ok 2 - web <reaches> "db" & \\#1']);
    assert.equal(lines.at(-1), 'ok 3 - deny outside -> api, db on every declared TCP port');
    const start = lines.indexOf('  ---');
    const end = lines.indexOf('  ...');
    assert.ok(start === 4 && end > start, 'the diagnostics follow the failing test line');
    const diagnostics = parseYAML(lines.slice(start + 1, end).map((l) => l.slice(2)).join('\n'));
    assert.equal(diagnostics.severity, 'fail');
    assert.deepEqual(diagnostics.at, { file: mixed, line: 7, column: 3 });
    assert.deepEqual(
      diagnostics.flows.map((f: { from: string; to: string; expected: string; engine: string }) => `${f.from} -> ${f.to}: expected ${f.expected}, engine ${f.engine}`),
      ['default/web -> default/db: expected allowed, engine denied'],
    );
  });
});

describe('podwall test on the wild apps', () => {
  test('sock-shop: the front-end cannot reach carts, nor carts its database (the policies select name=cart, the pods are carts)', async () => {
    const exp = file(
      'sock-shop.yaml',
      `${HEAD}metadata: {name: sock-shop}\nnamespace: sock-shop\ncases:\n- allow: {from: outside, to: sock-shop/service/front-end, port: 80}\n- allow: {from: front-end, to: sock-shop/service/carts, port: 80}\n- only: {to: carts-db, from: [carts]}\n`,
    );
    const r = await run(['test', '-f', wild('sock-shop'), '--expect', exp, '-o', 'json']);
    assert.equal(r.code, 1);
    const body = JSON.parse(r.out);
    assert.deepEqual(body.cases.map((c: { status: string }) => c.status), ['passed', 'failed', 'failed']);
    const failed = body.cases[2].checks.filter((c: { passed: boolean }) => !c.passed).map((c: { from: string; engine: string }) => `${c.from}: ${c.engine}`);
    assert.deepEqual(failed, ['sock-shop/deployment/carts: denied']);
  });

  test('eks-retail-store: checkout -> orders is denied (orders admits only the ui), the ui reaches every backend', async () => {
    const exp = file(
      'retail.yaml',
      `${HEAD}cases:\n- allow: {from: ui/deployment/ui, to: [catalog/service/catalog, carts/service/carts, orders/service/orders, checkout/service/checkout], port: 80}\n- allow: {from: checkout/deployment/checkout, to: orders/service/orders, port: 80}\n`,
    );
    const r = await run(['test', '-f', wild('eks-retail-store'), '--expect', exp]);
    assert.equal(r.code, 1);
    assert.match(r.out, /^✓ allow ui\/deployment\/ui -> .* \(4 flows\)$/m);
    assert.match(r.out, /^✗ allow checkout\/deployment\/checkout -> orders\/service\/orders on 80\/TCP$/m);
    assert.match(r.out, /orders\/allow-orders-ingress-webservice ingress\[0\] allows from pods with app\.kubernetes\.io\/name=ui/);
  });
});

describe('podwall test: the kernel as the second judge (fake probe verdicts)', () => {
  const exp = decodeExpectations(`${HEAD}metadata: {name: k}\ncases:\n- allow: {from: web, to: api, port: 5000}\n- deny: {from: web, to: db, port: 3306}\n`, 'k.yaml').expectations!;
  const result = judgeExpectations(compileCluster(loadManifests([threeTier]).cluster!), exp);
  const [toApi, toDb] = result.cases.map((c) => c.checks[0]);
  const silent: Output = { out: () => undefined, err: () => undefined, color: false };
  const judgedWith = (verdicts: [FlowCheck, KernelVerdict][]) => judge(result.cases, new Map(verdicts));

  const table: { rule: string; kernel: [FlowCheck, KernelVerdict][]; statuses: string[]; exit: number }[] = [
    { rule: 'the kernel agreeing everywhere passes (exit 0)', kernel: [[toApi, { verdict: 'allowed' }], [toDb, { verdict: 'denied' }]], statuses: ['passed', 'passed'], exit: 0 },
    { rule: 'a flow not probed is judged by the engine alone', kernel: [[toApi, { note: 'not probed: SCTP' }]], statuses: ['passed', 'passed'], exit: 0 },
    { rule: 'the kernel disagreeing fails the case (exit 1)', kernel: [[toDb, { verdict: 'allowed' }]], statuses: ['passed', 'failed'], exit: 1 },
    { rule: 'a flow the kernel left undecided is no verdict: exit 3, as lab probe', kernel: [[toApi, { inconclusive: true, note: 'inconclusive: timed out' }]], statuses: ['inconclusive', 'passed'], exit: 3 },
    {
      rule: 'one pair the kernel allowed contradicts a deny even when other pairs stayed undecided (exit 1)',
      kernel: [[toDb, { verdict: 'allowed', inconclusive: true, note: 'inconclusive: timed out' }]],
      statuses: ['passed', 'failed'],
      exit: 1,
    },
    { rule: 'a failure outweighs an undecided flow (exit 1)', kernel: [[toApi, { inconclusive: true, note: 'inconclusive: timed out' }], [toDb, { verdict: 'allowed' }]], statuses: ['inconclusive', 'failed'], exit: 1 },
  ];
  for (const { rule, kernel, statuses, exit } of table) {
    test(rule, () => {
      const judged = judgedWith(kernel);
      assert.deepEqual(judged.map((j) => j.status), statuses);
      assert.equal(exitCode(judged, silent), exit);
    });
  }

  const cells: { rule: string; cells: { cell: boolean | 'inconclusive' | 'not probed'; reason?: string }[]; want: KernelVerdict }[] = [
    { rule: 'every pod pair connected: allowed', cells: [{ cell: true }, { cell: true }], want: { verdict: 'allowed' } },
    { rule: 'every pod pair refused: denied', cells: [{ cell: false }, { cell: false }], want: { verdict: 'denied' } },
    { rule: 'pod pairs that differ: allowed only in part', cells: [{ cell: true }, { cell: false }], want: { verdict: 'partly' } },
    { rule: 'nothing probed: no verdict, and why', cells: [{ cell: 'not probed' }], want: { note: 'not probed: SCTP' } },
    { rule: 'an undecided pair keeps the decided verdict and marks it inconclusive', cells: [{ cell: true }, { cell: 'inconclusive', reason: 'timed out' }], want: { verdict: 'allowed', inconclusive: true, note: 'inconclusive: timed out' } },
  ];
  for (const { rule, cells: c, want } of cells) {
    test(`a workload's pod pairs in the kernel: ${rule}`, () => assert.deepEqual(combineCells(c, 'SCTP'), want));
  }

  test('junit says an undecided case is an error, not a failure; tap says not ok with severity inconclusive', async () => {
    const judged = judgedWith([[toApi, { inconclusive: true, note: 'inconclusive: timed out' }]]);
    const suite = ((await parseJUnit(renderJUnit(judged, exp, 'k'))) as TestSuites).testsuite![0];
    assert.deepEqual([suite.tests, suite.failures, suite.errors], [2, 0, 1]);
    assert.equal(suite.testcase![0].error![0].type, 'ProbeInconclusive');
    assert.match(suite.testcase![0].error![0].message ?? '', /default\/web -> default\/api 5000\/TCP: expected ALLOWED, engine ALLOWED \(kernel: inconclusive: timed out\)/);
    const tap = renderTAP(judged, exp).split('\n');
    assert.equal(tap[2], 'not ok 1 - allow web -> api on 5000/TCP');
    assert.ok(tap.includes('  severity: inconclusive'));
  });
});
