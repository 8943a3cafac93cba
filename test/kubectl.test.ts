// The lab's control plane driven by a real kubectl, as the seed drives a cluster: `kubectl create -f
// db-policy.yaml`, then apply, get, describe, label, delete and get -w; after each change the
// kernel (a real probe) must follow within a few seconds. The lab's Node and the admin policy kinds
// are there as on a cluster with the network-policy-api CRDs (test/lab-admin.test.ts enforces them). Invalid and mistyped policies are
// refused the way a real apiserver (or kubectl's own validation) refuses them.
//
// kubectl: $PODWALL_KUBECTL, else `kubectl` on PATH (CI installs Debian's kubernetes-client, 1.20;
// newer ones validate typos on the server instead of the client, and both are accepted). Kernel
// objects use the lab name "kctl" and the pod CIDR 10.246.0.0/16.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Lab } from '../src/lab/index.js';
import { loadTexts } from '../src/model/index.js';

const LAB = 'kctl';
const POD_CIDR = '10.246.0.0/16';
const KUBECTL = process.env.PODWALL_KUBECTL ?? 'kubectl';
const root = fileURLToPath(new URL('..', import.meta.url));
const threeTier = join(root, 'examples/three-tier');
const dbPolicy = join(threeTier, 'db-policy.yaml');
const stateRoot = mkdtempSync(join(tmpdir(), 'podwall-kctl-'));
const scratch = mkdtempSync(join(tmpdir(), 'podwall-kctl-files-'));

const have = (p: string): boolean => spawnSync('which', [p]).status === 0;
const kubectlVersion = spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' });
const canRun = process.getuid?.() === 0 && ['ip', 'nft', 'conntrack', 'python3'].every(have) && kubectlVersion.status === 0;
const skip = canRun ? false : `needs root with ip, nft, conntrack, python3 and a kubectl (${KUBECTL}) (CI installs them)`;
/** kubectl's minor version: 1.20 validates against OpenAPI on the client, newer ones ask the server to be strict. */
const minor = Number(/Minor:"(\d+)|v1\.(\d+)\./.exec(kubectlVersion.stdout ?? '')?.slice(1).find((x) => x !== undefined) ?? 0);

interface Run {
  code: number | null;
  out: string;
  err: string;
}

let lab: Lab;

/** kubectl with the lab's kubeconfig and a discovery cache of this test's own. */
function kubectl(args: readonly string[], input?: string): Run {
  const r = spawnSync(KUBECTL, ['--cache-dir', join(scratch, 'kube-cache'), ...args], {
    encoding: 'utf8',
    input,
    env: { ...process.env, KUBECONFIG: lab.kubeconfig, HOME: scratch },
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function ok(args: readonly string[], input?: string): string {
  const r = kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} exited ${r.code}:\n${r.err}${r.out}`);
  return r.out;
}

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

/** What the kernel holds of the lab: namespaces, links, tables, helper processes. */
function leftovers(): string[] {
  const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith(`pw-${LAB}-`));
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(`pw-${LAB}-`));
  const tables = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(`podwall-${LAB}`));
  const procs = spawnSync('pgrep', ['-fa', stateRoot], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.trim());
  return [...netns, ...links, ...tables, ...procs];
}

type Flows = Record<string, boolean>;

/** The kernel's verdicts for `from->to` cells on one TCP port, and where they differ from the engine. */
async function probe(port: number): Promise<{ flows: Flows; differences: string[] }> {
  const [report] = await lab.probe([{ port, protocol: 'TCP' }]);
  const flows: Flows = {};
  report.pods.forEach((from, i) =>
    report.pods.forEach((to, j) => {
      const v = report.allowed[i][j];
      if (v !== null) flows[`${from.replace(/^default\//, '')}->${to.replace(/^default\//, '')}`] = v;
    }),
  );
  return { flows, differences: report.differences.map((d) => `${d.from}->${d.to}`) };
}

/**
 * Polls probes until every expected cell holds and the whole grid equals the engine's (the kernel
 * follows a change within ~3 s). A new pod is Running before its servers listen (they start once
 * the ruleset covers it), so the grid may differ for a moment.
 */
async function expectFlows(port: number, want: Flows, within = 3000): Promise<void> {
  const deadline = Date.now() + within;
  let got: Awaited<ReturnType<typeof probe>>;
  for (;;) {
    got = await probe(port);
    if (got.differences.length === 0 && Object.entries(want).every(([k, v]) => got.flows[k] === v)) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seen = Object.fromEntries(Object.keys(want).map((k) => [k, got.flows[k]]));
  assert.deepEqual(seen, want, `port ${port}: the kernel did not follow within ${within} ms`);
  assert.deepEqual(got.differences, [], `port ${port}: the kernel differs from the engine`);
}

const policyText = (name: string, selectorFrom: Record<string, string>): string => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: ${name}
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
  - Ingress
  ingress:
  - from:
    - podSelector:
        matchLabels:
${Object.entries(selectorFrom).map(([k, v]) => `          ${k}: ${v}\n`).join('')}    ports:
    - protocol: TCP
      port: 3306
`;

after(async () => {
  if (canRun) {
    lab?.close();
    await Lab.down(LAB, stateRoot);
  }
  rmSync(scratch, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
});

describe(`kubectl ${minor ? `1.${minor}` : ''} against the lab's API server`, { skip }, () => {
  before(async () => {
    await Lab.down(LAB, stateRoot);
    const pods = loadTexts([{ file: 'pods.yaml', text: readFileSync(join(threeTier, 'pods.yaml'), 'utf8') }]).cluster!;
    lab = (await Lab.up(pods, { name: LAB, stateRoot, podCIDR: POD_CIDR })).lab;
  });

  test('without policies every pod reaches db:3306', async () => {
    await expectFlows(3306, { 'web->db': true, 'api->db': true });
  });

  test("kubectl create -f db-policy.yaml (the seed's command): web can no longer reach db, api still can", async () => {
    const out = ok(['create', '-f', dbPolicy]);
    assert.match(out, /^networkpolicy\.networking\.k8s\.io\/db-policy created$/m);
    await expectFlows(3306, { 'web->db': false, 'api->db': true });
    // Creating it again is a 409 AlreadyExists, as kubectl shows it.
    const again = kubectl(['create', '-f', dbPolicy]);
    assert.notEqual(again.code, 0);
    assert.match(again.err, /Error from server \(AlreadyExists\).*networkpolicies\.networking\.k8s\.io "db-policy" already exists/);
  });

  test('kubectl apply -f a changed policy: the kernel follows (db now admits role=web only)', async () => {
    const changed = file('db-policy-web.yaml', policyText('db-policy', { role: 'web' }));
    const out = ok(['apply', '-f', changed]);
    assert.match(out, /^networkpolicy\.networking\.k8s\.io\/db-policy configured$/m);
    await expectFlows(3306, { 'web->db': true, 'api->db': false });
    // Applying the seed's file again (a three-way merge against the last applied configuration).
    assert.match(ok(['apply', '-f', dbPolicy]), /db-policy configured/);
    await expectFlows(3306, { 'web->db': false, 'api->db': true });
    assert.match(ok(['apply', '-f', dbPolicy]), /db-policy unchanged/);
  });

  test('kubectl get networkpolicies, get pods -o wide (IPs, Running), describe networkpolicy', () => {
    const policies = ok(['get', 'networkpolicies']);
    assert.match(policies, /^NAME\s+POD-SELECTOR\s+AGE$/m);
    assert.match(policies, /^db-policy\s+role=db\s+\d+s$/m);

    const pods = ok(['get', 'pods', '-o', 'wide']);
    assert.match(pods, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/m);
    for (const name of ['web', 'api', 'db']) {
      const ip = lab.store.podNetwork('default', name)!.ips[0];
      assert.match(ip, /^10\.246\./);
      assert.match(pods, new RegExp(`^${name}\\s+1/1\\s+Running\\s+0\\s+\\d+s\\s+${ip.replace(/\./g, '\\.')}\\s+${LAB}\\b`, 'm'));
    }
    const json = JSON.parse(ok(['get', 'pod', 'db', '-o', 'json'])) as { status: { phase: string; podIP: string; podIPs: { ip: string }[] } };
    assert.equal(json.status.phase, 'Running');
    assert.equal(json.status.podIP, lab.store.podNetwork('default', 'db')!.ips[0]);

    const described = ok(['describe', 'networkpolicy', 'db-policy']);
    assert.match(described, /^Name:\s+db-policy$/m);
    assert.match(described, /^Namespace:\s+default$/m);
    assert.match(described, /PodSelector:\s+role=db/);
    assert.match(described, /Allowing ingress traffic:\s+To Port: 3306\/TCP\s+From:\s+PodSelector: name=api-pod/);
    assert.match(described, /Not affecting egress traffic/);
    assert.match(described, /Policy Types: Ingress/);
  });

  test('kubectl label pod web name=api-pod --overwrite: web now reaches db; labelled back, it does not', async () => {
    assert.match(ok(['label', 'pod', 'web', 'name=api-pod', '--overwrite']), /^pod\/web labeled$/m);
    await expectFlows(3306, { 'web->db': true, 'api->db': true });
    assert.match(ok(['get', 'pod', 'web', '--show-labels']), /name=api-pod/);
    assert.match(ok(['label', 'pod', 'web', 'name=web-pod', '--overwrite']), /pod\/web labeled/);
    await expectFlows(3306, { 'web->db': false, 'api->db': true });
  });

  test('kubectl delete -f db-policy.yaml: open again', async () => {
    assert.match(ok(['delete', '-f', dbPolicy]), /^networkpolicy\.networking\.k8s\.io "db-policy" deleted$/m);
    await expectFlows(3306, { 'web->db': true, 'api->db': true });
    assert.match(ok(['get', 'networkpolicies']), /^$/);
    const gone = kubectl(['get', 'networkpolicy', 'db-policy']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.err, /Error from server \(NotFound\): networkpolicies\.networking\.k8s\.io "db-policy" not found/);
  });

  test('kubectl get pods -w prints a pod created meanwhile, then Running, then its deletion', async () => {
    const watcher = spawn(KUBECTL, ['--cache-dir', join(scratch, 'kube-cache'), 'get', 'pods', '-w', '--output-watch-events'], {
      env: { ...process.env, KUBECONFIG: lab.kubeconfig, HOME: scratch },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    watcher.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    watcher.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<void>((r) => watcher.once('exit', () => r()));
    const killer = setTimeout(() => watcher.kill('SIGKILL'), 30_000);
    const waitOut = async (re: RegExp, ms = 5000): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!re.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.match(out, re, `the watch printed:\n${out}\n${err}`);
    };
    const bridgeMAC = (): string => /link\/ether (\S+)/.exec(spawnSync('ip', ['-o', 'link', 'show', `pw-${LAB}-br`], { encoding: 'utf8' }).stdout)?.[1] ?? '';
    const macBefore = bridgeMAC();
    try {
      await waitOut(/^ADDED\s+db\s+1\/1\s+Running/m);
      const cache = file(
        'cache.yaml',
        'apiVersion: v1\nkind: Pod\nmetadata: {name: cache, labels: {role: cache}}\nspec:\n  containers: [{name: redis, image: redis, ports: [{containerPort: 6379}]}]\n',
      );
      assert.match(ok(['create', '-f', cache]), /^pod\/cache created$/m);
      await waitOut(/^ADDED\s+cache\s+0\/1\s+Pending/m);
      await waitOut(/^MODIFIED\s+cache\s+1\/1\s+Running/m);
      // The new pod is a real one: it has a namespace, an address and a server on 6379.
      await expectFlows(6379, { 'web->cache': true, 'db->cache': true });
      assert.match(ok(['delete', 'pod', 'cache']), /pod "cache" deleted/);
      await waitOut(/^DELETED\s+cache\s/m);
    } finally {
      clearTimeout(killer);
      watcher.kill('SIGTERM');
      await exited;
    }
    const deadline = Date.now() + 3000;
    while (lab.store.podNetwork('default', 'cache') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(lab.store.podNetwork('default', 'cache'), undefined, 'the deleted pod lost its network');
    // The gateway's MAC must not move when a pod's veth comes and goes (a bridge otherwise takes
    // its lowest port MAC), or the other pods' ARP caches go stale and their traffic stops.
    assert.equal(bridgeMAC(), macBefore, "the bridge's MAC did not change");
    await expectFlows(3306, { 'web->db': true, 'api->db': true });
  });

  test('an invalid policy: kubectl exits non-zero with the apiserver-style 422 and its field paths; nothing changes', async () => {
    const bad = file(
      'bad.yaml',
      `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: bad-policy
spec:
  podSelector:
    matchLabels:
      role: db
  ingress:
  - ports:
    - port: 70000
  - from:
    - ipBlock:
        cidr: 10.0.0.0/33
`,
    );
    for (const verb of ['create', 'apply']) {
      const r = kubectl([verb, '-f', bad]);
      assert.notEqual(r.code, 0, `${verb}: ${r.out}`);
      assert.match(r.err, /The NetworkPolicy "bad-policy" is invalid:/);
      assert.match(r.err, /spec\.ingress\[0\]\.ports\[0\]\.port: Invalid value: 70000: must be between 1 and 65535, inclusive/);
      assert.match(r.err, /spec\.ingress\[1\]\.from\[0\]\.ipBlock\.cidr: Invalid value: "10\.0\.0\.0\/33"/);
    }
    assert.notEqual(kubectl(['get', 'networkpolicy', 'bad-policy']).code, 0, 'nothing was stored');
    await expectFlows(3306, { 'web->db': true, 'api->db': true });
  });

  test(`a mistyped field is refused (kubectl 1.20: its own OpenAPI validation; newer: the server's strict field validation)`, async () => {
    const typo = file('typo.yaml', policyText('typo-policy', { role: 'web' }).replace('policyTypes:', 'polcyTypes:'));
    for (const verb of ['create', 'apply']) {
      const r = kubectl([verb, '-f', typo]);
      assert.notEqual(r.code, 0, `${verb}: ${r.out}`);
      if (minor > 0 && minor < 25) {
        assert.match(r.err, /error validating data: ValidationError\(NetworkPolicy\.spec\): unknown field "polcyTypes" in io\.k8s\.api\.networking\.v1\.NetworkPolicySpec/);
      } else {
        assert.match(r.err, /Error from server \(BadRequest\).*strict decoding error: unknown field "spec\.polcyTypes"/);
      }
    }
    assert.notEqual(kubectl(['get', 'networkpolicy', 'typo-policy']).code, 0, 'nothing was stored');
    await expectFlows(3306, { 'web->db': true, 'api->db': true });
  });

  test('requests without the token are refused (401)', () => {
    const noToken = file('no-token.kubeconfig', readFileSync(lab.kubeconfig, 'utf8').replace(/token: .*/, 'token: wrong'));
    const r = spawnSync(KUBECTL, ['--cache-dir', join(scratch, 'kube-cache-2'), '--kubeconfig', noToken, 'get', 'pods'], { encoding: 'utf8', env: { ...process.env, HOME: scratch } });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Unauthorized|provide credentials/);
  });

  test("kubectl get nodes shows the lab's Node, registered as a kubelet registers its own: Ready, at the address its pods reach it at", () => {
    const nodes = ok(['get', 'nodes', '-o', 'wide']);
    assert.match(nodes, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP/m);
    assert.match(nodes, new RegExp(`^${LAB}\\s+Ready\\s+<none>\\s+\\S+\\s+v1\\.\\d+\\.\\d+-podwall\\s+${lab.settings.gateways[4].replace(/\./g, '\\.')}\\s+<none>$`, 'm'));
    assert.match(ok(['get', 'node', LAB, '--show-labels']), new RegExp(`kubernetes\\.io/hostname=${LAB}`));
  });

  test('kubectl api-resources lists the admin policy kinds with their short names, and kubectl get anp,banp,cnp answers (none yet)', () => {
    const resources = ok(['api-resources', '--api-group=policy.networking.k8s.io']);
    for (const [plural, short, kind] of [
      ['adminnetworkpolicies', 'anp', 'AdminNetworkPolicy'],
      ['baselineadminnetworkpolicies', 'banp', 'BaselineAdminNetworkPolicy'],
      ['clusternetworkpolicies', 'cnp', 'ClusterNetworkPolicy'],
    ]) {
      assert.match(resources, new RegExp(`^${plural}\\s+${short}\\s+policy\\.networking\\.k8s\\.io/v1alpha\\d\\s+false\\s+${kind}$`, 'm'));
    }
    const none = kubectl(['get', 'anp,banp,cnp']);
    assert.equal(none.code, 0, none.err);
    assert.match(none.err, /No resources found/);
  });

  test('Lab.down leaves nothing behind', async () => {
    assert.ok(leftovers().length > 0, 'the lab exists before down');
    lab.close();
    await Lab.down(LAB, stateRoot);
    assert.deepEqual(leftovers(), []);
  });
});
