// The seed's whole flow with real packets, as root: a user outside the cluster reaches web through
// its NodePort, web finds api by name (the lab's DNS, then the Service's DNAT), api finds db, and
// nothing else gets through; DNS is a pod like any other, so a default-deny egress breaks it until
// DNS egress is allowed; a Service follows its backends as pods come and go.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Lab, OUTSIDE, type ProbeReport, type ServiceProbeReport } from '../src/lab/index.js';
import { loadManifests, loadTexts, type Cluster } from '../src/model/index.js';
import { labSkipReason, leftovers } from './lab-support.js';

const LAB = 'svc';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const stateRoot = mkdtempSync(join(tmpdir(), 'podwall-lab-svc-'));
const skip = labSkipReason();

const cluster = (text: string): Cluster => {
  const built = loadTexts([{ file: 'svc.yaml', text }]);
  assert.ok(built.cluster, built.diagnostics.map((d) => d.message).join('\n'));
  return built.cluster;
};

/** A TCP connection from inside a pod, by name or address, as `kubectl exec ... -- curl` would make it: what answered, or the error. */
function connectFrom(lab: Lab, pod: string, host: string, port: number): string {
  const code = `import socket,sys\ntry:\n  s=socket.create_connection((sys.argv[1], int(sys.argv[2])), 2)\n  print(s.recv(100).decode().strip())\nexcept socket.gaierror as e:\n  print('no name:', e)\nexcept OSError as e:\n  print('error:', e.strerror or e)\n`;
  // `ip netns exec` gives the command the pod's own resolv.conf (the lab's DNS), as `lab exec` does.
  const r = spawnSync('ip', ['netns', 'exec', lab.netnsOf(pod), 'python3', '-c', code, host, String(port)], { encoding: 'utf8', timeout: 20_000 });
  return r.stdout.trim() || r.stderr.trim();
}

function cell(r: ServiceProbeReport, from: string, service: string): boolean | null {
  const j = r.columns.findIndex((c) => c.service === service);
  assert.ok(j >= 0, `no column for ${service}`);
  return r.allowed[r.sources.indexOf(from)][j];
}

function podCell(reports: readonly ProbeReport[], port: number, from: string, to: string): boolean | null {
  const r = reports.find((x) => x.port === port && x.protocol === 'TCP')!;
  return r.allowed[r.pods.indexOf(from)][r.pods.indexOf(to)];
}

describe('Services, DNS and the outside world in the lab', { skip }, () => {
  let lab: Lab;

  before(async () => {
    await Lab.down(LAB, stateRoot);
    lab = (await Lab.up(loadManifests([join(ROOT, 'examples/three-tier')]).cluster!, { name: LAB, stateRoot, podCIDR: '10.238.0.0/16', serviceCIDR: '10.232.0.0/16', apiPort: 0 })).lab;
  });

  after(async () => {
    lab?.close();
    await Lab.down(LAB, stateRoot);
    assert.deepEqual(leftovers(LAB, `podwall-${LAB}`, join(stateRoot, 'labs', LAB)), []);
    rmSync(stateRoot, { recursive: true, force: true });
  });

  test("the seed's flow through the Services: outside -> web's NodePort, web -> api, api -> db connect; web -> db and outside -> db are refused", async () => {
    const services = await lab.probeServices();
    assert.deepEqual(services.differences, []);
    assert.deepEqual(services.inconclusive, []);
    assert.equal(cell(services, OUTSIDE, 'default/service/web'), true, 'a user outside reaches web through its NodePort');
    assert.equal(cell(services, 'default/web', 'default/service/api'), true);
    assert.equal(cell(services, 'default/api', 'default/service/db'), true);
    assert.equal(cell(services, 'default/web', 'default/service/db'), false);
    assert.equal(cell(services, OUTSIDE, 'default/service/db'), null, 'a ClusterIP is not reachable from outside at all');
    const pods = await lab.probe();
    assert.equal(podCell(pods, 3306, OUTSIDE, 'default/db'), false, 'nor is the db pod itself');
    assert.equal(podCell(pods, 80, OUTSIDE, 'default/web'), true);
  });

  test('by name, as an application calls: web reaches api:5000 through the lab DNS and the Service; web -> db is refused', () => {
    assert.equal(connectFrom(lab, 'default/web', 'api', 5000), 'default/api');
    assert.equal(connectFrom(lab, 'default/web', 'api.default.svc.cluster.local', 5000), 'default/api');
    assert.equal(connectFrom(lab, 'default/api', 'db', 3306), 'default/db');
    assert.match(connectFrom(lab, 'default/web', 'db', 3306), /^error: Connection refused/);
  });

  test('a default-deny egress policy breaks name resolution until DNS egress is allowed', async () => {
    const pod = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: shop, labels: {app: client}}\nspec: {containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}\n';
    const denyAll = `${pod}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-egress, namespace: shop}\nspec: {podSelector: {}, policyTypes: [Egress]}\n`;
    await lab.apply(cluster(denyAll));
    assert.match(connectFrom(lab, 'shop/client', 'api.default', 5000), /^no name:/, 'DNS is refused like any other egress');
    const allowDns = `${denyAll}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-dns, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]\n    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]\n`;
    await lab.apply(cluster(allowDns));
    // The name resolves now; the connection itself is still refused by the egress policy.
    assert.match(connectFrom(lab, 'shop/client', 'api.default', 5000), /^error: Connection refused/);
  });

  test('a Service follows its backends: traffic reaches every ready backend, then the one left, and is refused when none is', async () => {
    const deployment = (replicas: number): string =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: echo, namespace: default}\nspec:\n  replicas: ${replicas}\n  selector: {matchLabels: {app: echo}}\n  template:\n    metadata: {labels: {app: echo}}\n    spec: {containers: [{name: e, image: x, ports: [{name: http, containerPort: 8080}]}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: echo, namespace: default}\nspec:\n  selector: {app: echo}\n  ports: [{port: 80, targetPort: http}]\n`;
    await lab.apply(cluster(deployment(2)));
    const backends = lab.store.list('Pod', 'default').filter((p) => p.name.startsWith('echo-')).map((p) => `default/${p.name}`);
    assert.equal(backends.length, 2);
    const answers = new Set<string>();
    for (let i = 0; i < 40 && answers.size < 2; i++) answers.add(connectFrom(lab, 'default/db', 'echo', 80));
    assert.deepEqual([...answers].sort(), [...backends].sort(), 'both backends answer, each at its named targetPort 8080');
    await lab.apply(cluster(deployment(1)));
    const left = lab.store.list('Pod', 'default').filter((p) => p.name.startsWith('echo-')).map((p) => `default/${p.name}`);
    assert.equal(left.length, 1);
    for (let i = 0; i < 10; i++) assert.equal(connectFrom(lab, 'default/db', 'echo', 80), left[0]);
    await lab.apply(cluster(deployment(0)));
    assert.match(connectFrom(lab, 'default/db', 'echo', 80), /^error: Connection refused/, 'no backend: refused at once, as kube-proxy does');
  });

  test('lab probe --services exits 0 with kernel = engine, and 1 would mean a real difference', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/entry.ts'), 'lab', 'probe', '--services', '--name', LAB, '--state-dir', stateRoot], { encoding: 'utf8', cwd: ROOT });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /kernel = engine on all \d+ probed cells/);
  });
});
