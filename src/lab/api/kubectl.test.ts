// The API server's answers as a real kubectl shows them, without a lab (no root): the duplicated
// pod address of issue 13 (kubectl create -f with a status, kubectl patch --subresource=status),
// READY and POD-SELECTOR columns, lists in chunks, an oversized body, and Services (issue 8:
// create, apply, get svc, expose, refusals, delete). Skipped without kubectl ($PODWALL_KUBECTL,
// else `kubectl` on PATH); --subresource needs kubectl 1.24 or later.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Manifest } from '../../model/index.js';
import { MAX_BODY_BYTES } from './body.js';
import { KUBECTL, kubectlMinor, kubectlOk, NETPOL, pod, PODS, policy, runKubectl, startTestServer, type KubectlResult, type TestServer } from './testing.js';

const minor = kubectlMinor();
const skip = minor === 0 ? `needs a kubectl (${KUBECTL})` : false;

const DB_IP = '10.244.0.2';
let t: TestServer;
let kubeconfig: string;

const kubectl = (args: readonly string[]): Promise<KubectlResult> => runKubectl(t, kubeconfig, args);
const ok = (args: readonly string[]): Promise<string> => kubectlOk(t, kubeconfig, args);

function file(name: string, content: unknown): string {
  const path = join(t.dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe(`kubectl ${minor ? `1.${minor} ` : ''}against the lab's API server (no lab)`, { skip }, () => {
  before(async () => {
    t = await startTestServer();
    kubeconfig = t.kubeconfig();
    for (const [name, role] of [['db', 'db'], ['web', 'web']]) assert.equal((await t.api.call('POST', PODS, pod(name, { role }))).status, 201);
    // What the pod runner writes: db bound to the lab's node, Running and ready, at its address.
    const db = t.store.get('Pod', 'default', 'db')!;
    t.store.transaction(() => {
      t.store.setPodNetwork({ namespace: 'default', name: 'db', slot: 1, ips: [DB_IP] });
      t.store.put('Pod', 'default', 'db', {
        ...db.manifest,
        spec: { ...(db.manifest.spec as Manifest), nodeName: 'lab' },
        status: { phase: 'Running', podIP: DB_IP, podIPs: [{ ip: DB_IP }], containerStatuses: [{ name: 'c', image: 'x', imageID: '', ready: true, restartCount: 0, started: true, state: { running: {} } }] },
      });
    });
    assert.equal((await t.api.call('POST', NETPOL, policy('db', 3306, { podSelector: { matchLabels: { role: 'db' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['web', 'cache'] }] } }))).status, 201);
  });

  after(() => t?.close());

  test("kubectl create -f a Pod that claims db's address (status.podIP, bound elsewhere): created Pending, without an address", async () => {
    const intruder = file('intruder.yaml', `apiVersion: v1
kind: Pod
metadata:
  name: intruder
spec:
  nodeName: elsewhere
  containers:
  - name: c
    image: x
status:
  phase: Running
  podIP: ${DB_IP}
  podIPs:
  - ip: ${DB_IP}
`);
    assert.match(await ok(['create', '-f', intruder]), /^pod\/intruder created$/m);
    assert.deepEqual(JSON.parse(await ok(['get', 'pod', 'intruder', '-o', 'jsonpath={.status}'])), { phase: 'Pending' });
    assert.equal(await ok(['get', 'pod', 'intruder', '-o', 'jsonpath={.spec.nodeName}']), 'elsewhere');
  });

  test("kubectl patch --subresource=status claiming db's address is refused with the apiserver's 422", { skip: minor < 24 ? 'kubectl patch --subresource needs kubectl 1.24' : false }, async () => {
    const r = await kubectl(['patch', 'pod', 'web', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { podIP: DB_IP, podIPs: [{ ip: DB_IP }] } })]);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.err, /The Pod "web" is invalid: status\.podIPs: Invalid value: "10\.244\.0\.2": address already in use by pod default\/db/);
    const moved = await kubectl(['patch', 'pod', 'db', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { podIP: '10.244.0.99', podIPs: [{ ip: '10.244.0.99' }] } })]);
    assert.notEqual(moved.code, 0, moved.out);
    assert.match(moved.err, /The Pod "db" is invalid: status\.podIPs: Forbidden: may not be changed once set/);
    assert.equal(await ok(['get', 'pod', 'db', '-o', 'jsonpath={.status.podIP}']), DB_IP);
    assert.match(await ok(['patch', 'pod', 'db', '--subresource=status', '--type=merge', '-p', '{"status":{"message":"fine"}}']), /pod\/db patched/);
  });

  test('kubectl get pods: READY counts ready containers from their statuses', async () => {
    const out = await ok(['get', 'pods']);
    assert.match(out, /^db\s+1\/1\s+Running\s+0\s/m);
    assert.match(out, /^web\s+0\/1\s+Pending\s+0\s/m);
  });

  test('kubectl get netpol: POD-SELECTOR in the model\'s words', async () => {
    assert.match(await ok(['get', 'netpol']), /^db\s+role=db,tier notin \(cache,web\)\s+\d+s$/m);
  });

  test('kubectl get --chunk-size=1 pages through every pod with continue tokens', async () => {
    const names = (await ok(['get', 'pods', '--chunk-size=1', '-o', 'name'])).trim().split('\n');
    assert.deepEqual(names, ['pod/db', 'pod/intruder', 'pod/web']);
    const page = JSON.parse(await ok(['get', '--raw', '/api/v1/namespaces/default/pods?limit=1'])) as { metadata: { continue?: string; remainingItemCount?: number } };
    assert.ok(page.metadata.continue);
    assert.equal(page.metadata.remainingItemCount, 2);
  });

  test('kubectl create -f a body over the cap gets the 413, not a broken connection', async () => {
    const big = file('big.json', { ...pod('big'), metadata: { name: 'big', annotations: { pad: 'x'.repeat(MAX_BODY_BYTES) } } });
    const r = await kubectl(['create', '-f', big]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /Error from server \(RequestEntityTooLarge\).*Request entity too large: limit is 524288/);
  });

  describe('Services', () => {
    const webService = `apiVersion: v1
kind: Service
metadata:
  name: web-np
spec:
  type: NodePort
  selector:
    role: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
    nodePort: 30080
  - name: https
    port: 443
`;

    test('kubectl create -f a NodePort Service (validated, no --validate=false); kubectl get svc shows its ClusterIP and node ports', async () => {
      assert.match(await ok(['create', '-f', file('web-np.yaml', webService)]), /^service\/web-np created$/m);
      const out = await ok(['get', 'svc']);
      assert.match(out, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/m);
      assert.match(out, /^web-np\s+NodePort\s+10\.96\.1\.1\s+<none>\s+80:30080\/TCP,443:30086\/TCP\s+\d+s$/m);
      assert.match(await ok(['get', 'svc', 'web-np', '-o', 'wide']), /^web-np\s+NodePort\s+10\.96\.1\.1\s+<none>\s+80:30080\/TCP,443:30086\/TCP\s+\d+s\s+role=web$/m);
    });

    test('kubectl apply -f the same manifest changed: the ClusterIP and node ports stay', async () => {
      const path = file('web-np.yaml', webService.replace('targetPort: 8080', 'targetPort: 9090'));
      assert.match(await ok(['apply', '-f', path]), /^service\/web-np configured$/m);
      assert.equal(await ok(['get', 'svc', 'web-np', '-o', 'jsonpath={.spec.clusterIP} {.spec.ports[*].nodePort} {.spec.ports[0].targetPort}']), '10.96.1.1 30080 30086 9090');
      assert.match(await ok(['apply', '-f', path]), /^service\/web-np unchanged$/m);
    });

    test('kubectl expose pod web: a Service selecting the pod\'s labels on the given port', async () => {
      assert.match(await ok(['expose', 'pod', 'web', '--port', '80', '--target-port', '8080', '--name', 'web']), /^service\/web exposed$/m);
      const spec = JSON.parse(await ok(['get', 'svc', 'web', '-o', 'jsonpath={.spec}'])) as Manifest;
      assert.deepEqual(spec.selector, { role: 'web' });
      assert.deepEqual(spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 8080 }]);
      assert.equal(spec.clusterIP, '10.96.1.2');
      // Without --port, kubectl takes the pod's container ports.
      assert.match(await ok(['expose', 'pod', 'db', '--name', 'db', '--type', 'NodePort']), /^service\/db exposed$/m);
      assert.match(await ok(['get', 'svc', 'db']), /^db\s+NodePort\s+10\.96\.1\.3\s+<none>\s+80:30087\/TCP\s/m);
    });

    test('kubectl expose of a kind the lab does not serve says so', async () => {
      const r = await kubectl(['expose', 'deployment', 'web', '--port', '80']);
      assert.notEqual(r.code, 0);
      assert.match(r.err, /the server doesn't have a resource type "deployment"/);
    });

    test('an invalid Service is refused with the apiserver\'s message', async () => {
      const bad = file('bad-svc.yaml', `apiVersion: v1
kind: Service
metadata:
  name: bad
spec:
  type: NodePort
  ports:
  - port: 80
    protocol: ICMP
    nodePort: 80
`);
      const r = await kubectl(['create', '-f', bad]);
      assert.notEqual(r.code, 0, r.out);
      assert.match(
        r.err,
        /The Service "bad" is invalid: \n\* spec\.ports\[0\]\.protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"\n\* spec\.ports\[0\]\.nodePort: Invalid value: 80: provided port is not in the valid range\. The range of valid ports is 30000-32767/,
      );
    });

    test('a Service with a misspelt field is refused (strict field validation, kubectl\'s default)', async () => {
      const typo = await kubectl(['create', '-f', file('typo-svc.yaml', webService.replace('name: web-np', 'name: typo').replace('targetPort: 8080', 'targetport: 8080'))]);
      assert.notEqual(typo.code, 0, typo.out);
      assert.match(typo.err, /strict decoding error: unknown field "spec\.ports\[0\]\.targetport"/);
    });

    test('a ClusterIP outside the service CIDR, or one another Service holds, is refused; so is a node port another Service holds', async () => {
      const outside = await kubectl(['create', 'service', 'clusterip', 'far', '--tcp', '80:80', '--clusterip', '10.0.0.1']);
      assert.notEqual(outside.code, 0, outside.out);
      assert.match(outside.err, /Service "far" is invalid: spec\.clusterIPs: Invalid value: \["10\.0\.0\.1"\]: failed to allocate IP 10\.0\.0\.1: the provided IP \(10\.0\.0\.1\) is not in the valid range\. The range of valid IPs is 10\.96\.0\.0\/16/);
      const taken = await kubectl(['create', 'service', 'clusterip', 'twin', '--tcp', '80:80', '--clusterip', '10.96.1.1']);
      assert.match(taken.err, /Service "twin" is invalid: spec\.clusterIPs: Invalid value: \["10\.96\.1\.1"\]: failed to allocate IP 10\.96\.1\.1: provided IP is already allocated/);
      const port = await kubectl(['create', 'service', 'nodeport', 'twin', '--tcp', '80:80', '--node-port', '30080']);
      assert.match(port.err, /Service "twin" is invalid: spec\.ports\[0\]\.nodePort: Invalid value: 30080: provided port is already allocated/);
      assert.doesNotMatch(await ok(['get', 'svc', '-o', 'name']), /far|twin/);
    });

    test('a ClusterIP may not change once set (kubectl patch)', async () => {
      const r = await kubectl(['patch', 'svc', 'web', '--type=merge', '-p', '{"spec":{"clusterIP":"10.96.0.99","clusterIPs":["10.96.0.99"]}}']);
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.err, /The Service "web" is invalid: spec\.clusterIPs\[0\]: Invalid value: \["10\.96\.0\.99"\]: may not change once set/);
    });

    test('kubectl get all lists pods and Services (the discovery category all)', async () => {
      const out = await ok(['get', 'all']);
      assert.match(out, /^pod\/web\s/m);
      assert.match(out, /^service\/web\s+ClusterIP\s+10\.96\.1\.2\s/m);
    });

    test('kubectl describe svc shows its families, addresses and policies', async () => {
      const out = await ok(['describe', 'svc', 'web']);
      for (const line of [/^IP Family Policy:\s+SingleStack$/m, /^IP Families:\s+IPv4$/m, /^IPs:\s+10\.96\.1\.2$/m, /^TargetPort:\s+8080\/TCP$/m, /^Internal Traffic Policy:\s+Cluster$/m]) assert.match(out, line);
    });

    test('kubectl delete svc frees its ClusterIP and node ports', async () => {
      assert.match(await ok(['delete', 'svc', 'web-np', 'db']), /service "web-np" deleted\nservice "db" deleted/);
      assert.match(await ok(['create', 'service', 'nodeport', 'again', '--tcp', '80:80', '--node-port', '30080']), /^service\/again created$/m);
      assert.equal(await ok(['get', 'svc', 'again', '-o', 'jsonpath={.spec.clusterIP}']), '10.96.1.1');
      assert.deepEqual((await ok(['get', 'svc', '-o', 'name'])).trim().split('\n'), ['service/again', 'service/web']);
    });
  });
});
