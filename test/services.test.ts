// Services through the command line, end to end (main() with captured output): check to and from
// a Service (a verdict per backend, exit 0 only when every backend admits it), the Service views
// of matrix and explain, and how Services are read (no longer skipped; invalid ones refused).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli as run } from './support/cli.js';

const threeTier = fileURLToPath(new URL('../examples/three-tier', import.meta.url));
const wild = (name: string): string => fileURLToPath(new URL(`../../shared/wild/${name}`, import.meta.url));

const scratch = mkdtempSync(join(tmpdir(), 'podwall-services-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(scratch, name);
  writeFileSync(path, text);
  return path;
}

/** Two api pods behind one Service whose named targetPort means 8080 on one and 9090 on the other. */
const SPLIT = `apiVersion: v1
kind: Pod
metadata: {name: api-old, labels: {app: api}}
spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api-new, labels: {app: api}}
spec: {containers: [{name: c, image: x, ports: [{name: http, containerPort: 9090}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  clusterIP: 10.96.0.30
  selector: {app: api}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: none}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: mail}
spec: {type: ExternalName, externalName: smtp.example.com}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{ports: [{port: 8080}]}]
`;

describe('check to a Service', () => {
  test('the issue\'s example: outside -> sock-shop\'s front-end Service on 80 is allowed (the Service maps 80 -> 8079), exit 0', async () => {
    const r = await run(['check', '-f', wild('sock-shop'), '--from', '8.8.8.8', '--to', 'sock-shop/service/front-end', '--port', '80']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^8\.8\.8\.8 \(outside the cluster\) -> sock-shop\/service\/front-end port 80\/TCP -> targetPort 8079: ALLOWED: 1 of 1 backend admits it$/m);
    assert.match(r.out, /^ {2}sock-shop\/deployment\/front-end on 8079\/TCP: ALLOWED/m);
    assert.match(r.out, /allowed by sock-shop\/front-end-access ingress\[0\]/);
  });

  test('the issue\'s example: --to front-end (the Deployment, on a port it does not declare) is denied, and says which Service was meant', async () => {
    const r = await run(['check', '-f', wild('sock-shop'), '-n', 'sock-shop', '--from', '8.8.8.8', '--to', 'front-end', '--port', '80']);
    assert.equal(r.code, 1);
    assert.match(r.out, /note \[port-undeclared\]: sock-shop\/deployment\/front-end declares no container port 80\/TCP \(it declares 8079\/TCP\): nothing would listen there/);
    assert.match(r.out, /note \[same-name-service\]: sock-shop\/service\/front-end has the same name and port 80\/TCP, which reaches its backends on 8079\/TCP: to ask about the Service, use --to sock-shop\/service\/front-end/);
  });

  test('the issue\'s example: --to frontend-external (online-boutique) is the LoadBalancer Service, not "no endpoint"', async () => {
    const r = await run(['check', '-f', wild('online-boutique'), '--from', '8.8.8.8', '--to', 'frontend-external', '--port', '80']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /-> default\/service\/frontend-external port 80\/TCP \(http\) -> targetPort 8080: ALLOWED/);
  });

  test('one backend denying is a denied answer (exit 1); each backend is listed with its port and verdict', async () => {
    const r = await run(['check', '-f', file('split.yaml', SPLIT), '--from', 'client', '--to', 'default/service/api', '--port', '80']);
    assert.equal(r.code, 1);
    assert.match(r.out, /targetPort "http": DENIED: 1 of 2 backends admits it/);
    assert.match(r.out, /^ {2}default\/api-new on 9090\/TCP: DENIED$/m);
    assert.match(r.out, /^ {2}default\/api-old on 8080\/TCP: ALLOWED$/m);
  });

  test('-o json lists the backends with their ports, verdicts and reasons, and the notes as data', async () => {
    const r = await run(['check', '-f', file('split.yaml', SPLIT), '--from', 'client', '--to', 'api', '--port', '80', '--output', 'json']);
    const v = JSON.parse(r.out);
    assert.equal(v.to, 'default/service/api');
    assert.deepEqual([v.allowed, v.routed, v.admitted], [false, 2, 1]);
    assert.deepEqual(
      v.backends.map((b: { backend: string; port: number; allowed: boolean }) => [b.backend, b.port, b.allowed]),
      [
        ['default/api-new', 9090, false],
        ['default/api-old', 8080, true],
      ],
    );
    assert.deepEqual(v.backends[1].ingress.allowedBy, [{ policy: 'default/api', direction: 'Ingress', rule: 0, tier: 'NetworkPolicy' }]);
    assert.deepEqual(v.service.port, { name: null, port: 80, protocol: 'TCP', targetPort: 'http', nodePort: null });
  });

  test('a ClusterIP as --to means its Service', async () => {
    const r = await run(['check', '-f', file('split.yaml', SPLIT), '--from', 'client', '--to', '10.96.0.30', '--port', '80', '-o', 'json']);
    assert.equal(JSON.parse(r.out).to, 'default/service/api');
  });

  test('a Service with no backends reaches nothing: exit 1, and the answer says why', async () => {
    const r = await run(['check', '-f', file('split.yaml', SPLIT), '--from', 'client', '--to', 'default/service/nobody', '--port', '80']);
    assert.equal(r.code, 1);
    assert.match(r.out, /DENIED: no backend serves this port/);
    assert.match(r.out, /note \[no-backends\]: default\/service\/nobody has no backends: its selector \(app=none\) matches no pod or workload in namespace default/);
  });

  test('a port the Service does not have is bad input (exit 2), with a hint when it is a targetPort', async () => {
    const r = await run(['check', '-f', wild('sock-shop'), '--from', '8.8.8.8', '--to', 'sock-shop/service/front-end', '--port', '8079']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--port: sock-shop\/service\/front-end has no port 8079\/TCP \(ports: 80\/TCP -> 8079 \(node port 30001\)\); 8079 is the targetPort of port 80: ask for the Service port, --port 80/);
  });

  test('an ExternalName Service is no question check can answer without an address (exit 2), and says how to ask', async () => {
    const r = await run(['check', '-f', file('split.yaml', SPLIT), '--from', 'client', '--to', 'service/mail', '--port', '25']);
    assert.equal(r.code, 2);
    assert.match(r.err, /ExternalName Service, a DNS alias \(CNAME\) for smtp\.example\.com/);
  });
});

describe('check from a Service', () => {
  test('--from a Service means each backend; exit 0 only when every one is allowed', async () => {
    const r = await run(['check', '-f', threeTier, '--from', 'default/service/web', '--to', 'default/service/api', '--port', '5000', '-o', 'json']);
    assert.equal(r.code, 0);
    const v = JSON.parse(r.out);
    assert.deepEqual([v.from, v.to, v.allowed, v.sources.length], ['default/service/web', 'default/service/api', true, 1]);
    const denied = await run(['check', '-f', threeTier, '--from', 'default/service/web', '--to', 'db', '--port', '3306']);
    assert.equal(denied.code, 1);
    assert.match(denied.out, /^default\/service\/web \(each of its 1 backend\) -> default\/db on 3306\/TCP: DENIED for 0 of 1$/m);
  });

  test('a ClusterIP as --from is refused: a Service\'s address opens no connection', async () => {
    const r = await run(['check', '-f', file('split.yaml', SPLIT), '--from', '10.96.0.30', '--to', 'client', '--port', '80']);
    assert.equal(r.code, 2);
    assert.match(r.err, /10\.96\.0\.30 is an address of default\/service\/api, and a Service's address opens no connection \(only its backends do\)/);
  });
});

describe('the Service views', () => {
  test('matrix --services: rows are endpoints and outside, columns Service ports (three-tier)', async () => {
    const r = await run(['matrix', '-f', threeTier, '--services']);
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      `Services  rows: from, columns: Service ports; ✓ every backend admits it, ~ only some backends (or some outside addresses), · none, - not exposed outside
1 default/service/api 5000/TCP (api) -> 5000
2 default/service/db 3306/TCP (mysql) -> 3306
3 default/service/web 80/TCP (http) -> 80 [node port 30080]
from \\ to    1 2 3
default/api  · ✓ ·
default/db   · · ✓
default/web  ✓ · ·
outside      - - ✓
`,
    );
  });

  test('matrix --services -o json: allowed[i][j] per source and Service port, admitted counts the backends that admit it', async () => {
    const r = await run(['matrix', '-f', file('split.yaml', SPLIT), '--services', '-o', 'json']);
    const m = JSON.parse(r.out);
    assert.deepEqual(
      m.services.map((s: { service: string; port: number; backends: number }) => [s.service, s.port, s.backends]),
      [
        ['default/service/api', 80, 2],
        ['default/service/nobody', 80, 0],
      ],
    );
    assert.deepEqual(m.sources, ['default/api-new', 'default/api-old', 'default/client']);
    assert.deepEqual(m.allowed[2], [false, false]);
    assert.deepEqual(m.admitted[2], [1, 0]);
  });

  test('matrix --services --port keeps the Service ports with that number', async () => {
    const r = await run(['matrix', '-f', threeTier, '--services', '--port', '3306', '-o', 'json']);
    assert.deepEqual(JSON.parse(r.out).services.map((s: { service: string }) => s.service), ['default/service/db']);
  });

  test('explain --services: backends per port, who may reach each port, and the notes', async () => {
    const r = await run(['explain', '-f', file('split.yaml', SPLIT), '--services']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^default\/service\/api {2}\[ClusterIP\] {2}selector: app=api {2}clusterIP: 10\.96\.0\.30$/m);
    assert.match(r.out, /^ {2}port 80\/TCP -> http: default\/api-new:9090, default\/api-old:8080$/m);
    // api-new is reached on 9090, which its policy does not admit: every source gets through to one backend of two.
    assert.match(r.out, /^ {4}may be reached by: no endpoint; by some backends only: default\/api-new \(1 of 2\), default\/api-old \(1 of 2\), default\/client \(1 of 2\)$/m);
    assert.match(r.out, /^ {2}note \[external-name\]: default\/service\/mail is an ExternalName Service/m);
  });

  test('explain ns/service/NAME explains that Service; -o json is its data', async () => {
    const r = await run(['explain', '-f', threeTier, 'default/service/web', '-o', 'json']);
    const [x] = JSON.parse(r.out);
    assert.deepEqual([x.service, x.type, x.ports[0].targets, x.ports[0].reachedBy, x.ports[0].outside], ['default/service/web', 'NodePort', [{ backend: 'default/web', port: 80 }], ['default/db'], 'all']);
  });

  test('explain NAME --services takes the Service where a pod has the same name', async () => {
    const r = await run(['explain', '-f', threeTier, 'db', '--services']);
    assert.match(r.out, /^default\/service\/db {2}\[ClusterIP\]/);
  });
});

describe('reading Services', () => {
  test('Services and EndpointSlices are no longer counted among the skipped objects', async () => {
    const extra = file('extra.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1, labels: {kubernetes.io/service-name: web}}\naddressType: IPv4\n');
    const r = await run(['matrix', '-f', threeTier, '-f', extra, '--port', '80', '-o', 'json']);
    assert.equal(r.code, 0);
    assert.equal(r.err.trim(), 'notice: skipped 1 object Podwall does not model: ConfigMap');
  });

  test('an invalid Service is bad input: file:line:col, object and field path in the apiserver\'s words, exit 2', async () => {
    const bad = file('bad.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - port: 80\n    nodePort: 30080\n');
    const r = await run(['check', '-f', threeTier, '-f', bad, '--from', 'web', '--to', 'db', '--port', '3306']);
    assert.equal(r.code, 2);
    assert.match(r.err, /bad\.yaml:7:15: Service default\/web: spec\.ports\[0\]\.nodePort: Forbidden: may not be used when `type` is 'ClusterIP'/);
    assert.match(r.err, /1 error: nothing was computed/);
  });
});
