// `podwall test --lab`, as root: expectations judged by the engine and by real packets in a running
// lab (pods to pods, pods and the outside host to Services, workloads as the pods they made). A case
// fails when the kernel disagrees with it, even where the engine agrees: here, manifests that drop
// db-policy against a lab that still enforces it.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseJUnit, type TestSuites } from 'junit2json';
import { Lab } from '../src/lab/index.js';
import { loadManifests } from '../src/model/index.js';
import { labSkipReason, leftovers } from './lab-support.js';
import { runCli as run } from './support/cli.js';

const LAB = 'xpct';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const threeTier = join(ROOT, 'examples/three-tier');
const threeTierExpect = join(ROOT, 'examples/expectations/three-tier.yaml');
const stateRoot = mkdtempSync(join(tmpdir(), 'podwall-lab-xpct-'));
const skip = labSkipReason();

/** A Deployment beside the three pods: the lab runs it as two pods of its own naming. */
const CACHE = `apiVersion: apps/v1
kind: Deployment
metadata: {name: cache, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {role: cache}}
  template:
    metadata: {labels: {role: cache}}
    spec: {containers: [{name: c, image: redis, ports: [{containerPort: 6379}]}]}
`;

/** The three-tier example and the cache, with or without db-policy. */
function manifests(name: string, withDbPolicy: boolean): string {
  const dir = join(stateRoot, name);
  mkdirSync(dir, { recursive: true });
  for (const f of ['pods.yaml', 'services.yaml', 'web-policy.yaml', 'api-policy.yaml', ...(withDbPolicy ? ['db-policy.yaml'] : [])]) copyFileSync(join(threeTier, f), join(dir, f));
  writeFileSync(join(dir, 'cache.yaml'), CACHE);
  return dir;
}

function expectations(name: string, cases: string): string {
  const path = join(stateRoot, `${name}.yaml`);
  writeFileSync(path, `apiVersion: podwall.dev/v1alpha1\nkind: Expectations\nmetadata: {name: ${name}}\ncases:\n${cases}`);
  return path;
}

const labFlags = ['--lab', '--name', LAB, '--state-dir', stateRoot];

interface Flow {
  from: string;
  to: string;
  expected: string;
  engine: string;
  kernel: string | null;
  kernelNote?: string;
  passed: boolean;
}

describe('podwall test --lab: expectations judged by the engine and by the kernel', { skip }, () => {
  let lab: Lab;

  before(async () => {
    await Lab.down(LAB, stateRoot);
    const input = loadManifests([manifests('full', true)]).cluster!;
    lab = (await Lab.up(input, { name: LAB, stateRoot, podCIDR: '10.226.0.0/16', serviceCIDR: '10.225.0.0/16', apiPort: 0 })).lab;
  });

  after(async () => {
    lab?.close();
    await Lab.down(LAB, stateRoot);
    assert.deepEqual(leftovers(LAB, `podwall-${LAB}`, join(stateRoot, 'labs', LAB)), []);
    rmSync(stateRoot, { recursive: true, force: true });
  });

  test('without -f the model is the lab: the three-tier expectations hold in engine and kernel alike (exit 0), pod, Service and outside flows probed', async () => {
    const r = await run(['test', ...labFlags, '--expect', threeTierExpect, '-o', 'json']);
    assert.equal(r.code, 0, r.out + r.err);
    const body = JSON.parse(r.out);
    assert.equal(body.lab, LAB);
    const flows: Flow[] = body.cases.flatMap((c: { checks: Flow[] }) => c.checks);
    const kernel = (from: string, to: string): string | null => flows.find((f) => f.from === from && f.to === to)!.kernel;
    assert.equal(kernel('outside', 'default/service/web'), 'allowed', 'a user outside reaches web through its NodePort');
    assert.equal(kernel('default/web', 'default/service/api'), 'allowed');
    assert.equal(kernel('default/web', 'default/api'), 'allowed');
    assert.equal(kernel('default/api', 'default/service/db'), 'allowed');
    assert.equal(kernel('default/web', 'default/db'), 'denied');
    assert.equal(kernel('outside', 'default/db'), 'denied');
    assert.equal(kernel('kube-system/coredns', 'default/db'), 'denied', 'every other pod of the lab is an unlisted source of `only`, the cluster DNS too');
    const out = flows.find((f) => f.from === 'default/web' && f.to === 'outside')!;
    assert.deepEqual([out.kernel, out.kernelNote], [null, 'not probed: the lab has no destination outside the cluster']);
    assert.ok(flows.every((f) => f.passed && (f.kernel === null || f.kernel === f.expected)));
  });

  test("a running cluster read through the lab's kubeconfig gives the engine the same answers as the manifests it was built from", async () => {
    const live = await run(['test', '--kubeconfig', lab.kubeconfig, '--expect', threeTierExpect, '-o', 'json']);
    const files = await run(['test', '-f', threeTier, '--expect', threeTierExpect, '-o', 'json']);
    assert.equal(live.code, 0, live.err);
    assert.equal(files.code, 0, files.err);
    const verdicts = (out: string): Map<string, string> =>
      new Map(JSON.parse(out).cases.flatMap((c: { checks: (Flow & { port: number })[] }) => c.checks.map((f) => [`${f.from} -> ${f.to} ${f.port}`, f.engine] as const)));
    const fromFiles = verdicts(files.out);
    const fromLive = verdicts(live.out);
    for (const [flow, engine] of fromFiles) assert.equal(fromLive.get(flow), engine, flow);
    // The cluster also runs its DNS and the cache's two pods: more sources the `only` case denies.
    const extra = [...fromLive.entries()].filter(([k]) => !fromFiles.has(k));
    assert.deepEqual(
      extra.map(([k, engine]) => `${k.replace(/^default\/cache-[a-z0-9-]+/, 'default/cache-*')}: ${engine}`),
      ['default/cache-* -> default/db 3306: denied', 'default/cache-* -> default/db 3306: denied', 'kube-system/coredns -> default/db 3306: denied'],
    );
  });

  test('a workload is judged in the kernel by every pod it made', async () => {
    const exp = expectations('cache', '- allow: {from: db, to: default/deployment/cache, port: 6379}\n- deny: {from: web, to: default/deployment/cache, port: 6379}\n');
    const r = await run(['test', '-f', manifests('full', true), ...labFlags, '--expect', exp, '-o', 'json']);
    assert.equal(r.code, 0, r.out + r.err);
    const flows: Flow[] = JSON.parse(r.out).cases.flatMap((c: { checks: Flow[] }) => c.checks);
    assert.deepEqual(
      flows.map((f) => `${f.from} -> ${f.to}: engine ${f.engine}, kernel ${f.kernel}`),
      ['default/db -> default/deployment/cache: engine allowed, kernel allowed', 'default/web -> default/deployment/cache: engine denied, kernel denied'],
    );
  });

  test('the kernel disagreeing where the engine agrees fails the case (exit 1): manifests without db-policy, a lab that enforces it', async () => {
    const exp = expectations('nodb', '- name: without db-policy anything reaches the database\n  allow: {from: outside, to: db, port: 3306}\n');
    const r = await run(['test', '-f', manifests('nodb', false), ...labFlags, '--expect', exp]);
    assert.equal(r.code, 1, r.err);
    assert.equal(
      r.out,
      [
        '✗ without db-policy anything reaches the database (all probed in the lab)',
        '    outside -> default/db 3306/TCP: expected ALLOWED, engine ALLOWED, kernel DENIED',
        '      egress from outside: outside the cluster, not subject to NetworkPolicy',
        '      ingress to default/db: not isolated for ingress (no policy selects it for Ingress), so allowed',
        '      the engine agrees with the expectation; the kernel does not (the lab enforces the objects it holds, not this input: see podwall lab get)',
        'nodb: 0 of 1 case passed, 1 failed, engine and kernel (lab xpct)',
        '',
      ].join('\n'),
    );
  });

  test('a case the expectation gets wrong fails with the engine and kernel verdicts side by side, in JUnit too', async () => {
    const exp = expectations('wrong', '- name: api never reaches the database\n  deny: {from: api, to: db, port: 3306}\n- allow: {from: web, to: api, port: 5000}\n');
    const text = await run(['test', ...labFlags, '--expect', exp]);
    assert.equal(text.code, 1);
    assert.match(text.out, /^ {4}default\/api -> default\/db 3306\/TCP: expected DENIED, engine ALLOWED, kernel ALLOWED$/m);
    assert.match(text.out, /^ {6}ingress to default\/db: isolated by default\/db-policy; allowed by default\/db-policy ingress\[0\]$/m);
    const junit = await run(['test', ...labFlags, '--expect', exp, '-o', 'junit']);
    assert.equal(junit.code, 1);
    const suite = ((await parseJUnit(junit.out)) as TestSuites).testsuite![0];
    assert.deepEqual([suite.name, suite.tests, suite.failures], ['wrong', 2, 1]);
    assert.equal(suite.testcase![0].failure![0].message, '1 of 1 flow disagrees: default/api -> default/db 3306/TCP: expected DENIED, engine ALLOWED, kernel ALLOWED');
    assert.equal(suite.testcase![1].failure, undefined);
  });
});
