// Per-node identity on the lab API server (the node lab): each node's agent reads with its own
// token as `system:node:<node>` and may not write, in the apiserver's RBAC words; the server
// answers on several addresses with one serving certificate, re-issued by the same CA for new ones.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { Manifest } from '../../model/index.js';
import { LabStore } from '../store.js';
import { certificateIPs, labCredentials, nodeCredentials, writeKubeconfig, writeNodeKubeconfig, type Credentials } from './credentials.js';
import { LabApiServer } from './server.js';
import { pod, PODS } from './testing.js';

interface Answer {
  readonly status: number;
  readonly body: Manifest;
}

/** One HTTPS request that verifies the server's certificate against `ca` (for the address in `base`). */
function call(base: string, ca: string, token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const contentType = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, ca, headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(raw) as Manifest });
        } catch {
          reject(new Error(`${method} ${path} answered ${res.statusCode ?? 0}, not JSON: ${raw.slice(0, 200)}`));
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (text !== undefined) req.write(text);
    req.end();
  });
}

/** Opens a watch and resolves with the first event `wanted` accepts (the stream is then closed). */
function firstEvent(base: string, ca: string, token: string, path: string, wanted: (e: { type: string; object: Manifest }) => boolean): Promise<{ type: string; object: Manifest }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method: 'GET', ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) {
        req.destroy();
        reject(new Error(`watch answered ${res.statusCode ?? 0}`));
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buffer += d;
        for (let at = buffer.indexOf('\n'); at >= 0; at = buffer.indexOf('\n')) {
          const event = JSON.parse(buffer.slice(0, at)) as { type: string; object: Manifest };
          buffer = buffer.slice(at + 1);
          if (wanted(event)) {
            req.destroy();
            resolve(event);
            return;
          }
        }
      });
      res.on('end', () => reject(new Error('the watch ended without the event')));
    });
    req.on('error', (err) => reject(err));
    req.end();
  });
}

const nameOf = (m: Manifest): unknown => (m.metadata as Record<string, unknown> | undefined)?.name;

describe('per-node identity', () => {
  let dir: string;
  let store: LabStore;
  let server: LabApiServer;
  let credentials: Credentials;
  let port: number;
  const base = (host = '127.0.0.1'): string => `https://${host}:${port}`;
  const admin = (method: string, path: string, body?: unknown) => call(base(), credentials.caPem, credentials.token, method, path, body);
  const asNode = (node: string, method: string, path: string, body?: unknown) => call(base(), credentials.caPem, credentials.nodeTokens![node], method, path, body);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'podwall-identity-'));
    store = LabStore.open(join(dir, 'lab.db'));
    await labCredentials(dir, { ips: ['127.0.0.2'] });
    credentials = await nodeCredentials(dir, ['lab-node1', 'lab-node2']);
    // The getter is read on every request, as the lab daemon's would be.
    server = new LabApiServer({ store, credentials, hosts: ['127.0.0.1', '127.0.0.2'], port: 0, nodeTokens: () => credentials.nodeTokens ?? {} });
    ({ port } = await server.listen());
    assert.equal((await admin('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } })).status, 201);
    assert.equal((await admin('POST', PODS, pod('web', { app: 'web' }))).status, 201);
  });

  after(async () => {
    await server.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a node token reads: get and list pods, discovery, OpenAPI and the version', async () => {
    for (const path of [PODS, `${PODS}/web`, '/api/v1/pods', '/api/v1/nodes', '/api', '/apis', '/api/v1', '/apis/networking.k8s.io/v1', '/version', '/openapi/v2', '/openapi/v3']) {
      assert.equal((await asNode('lab-node1', 'GET', path)).status, 200, path);
    }
    assert.equal(nameOf((await asNode('lab-node1', 'GET', `${PODS}/web`)).body), 'web');
  });

  test('a node token watches pods and hears later writes', async () => {
    const added = firstEvent(base(), credentials.caPem, credentials.nodeTokens!['lab-node1'], `${PODS}?watch=true`, (e) => e.type === 'ADDED' && nameOf(e.object) === 'api');
    assert.equal((await admin('POST', PODS, pod('api', { app: 'api' }))).status, 201);
    assert.equal(nameOf((await added).object), 'api');
  });

  test('a node token may not create, update, patch or delete: 403 Forbidden in the apiserver RBAC words, and nothing changes', async () => {
    const user = 'User "system:node:lab-node1"';
    const cases: { method: string; path: string; body?: unknown; message: string; details: Manifest }[] = [
      { method: 'POST', path: PODS, body: pod('evil'), message: `pods is forbidden: ${user} cannot create resource "pods" in API group "" in the namespace "default"`, details: { kind: 'pods' } },
      {
        method: 'PUT',
        path: `${PODS}/web`,
        body: pod('web'),
        message: `pods "web" is forbidden: ${user} cannot update resource "pods" in API group "" in the namespace "default"`,
        details: { name: 'web', kind: 'pods' },
      },
      {
        method: 'PATCH',
        path: `${PODS}/web`,
        body: { metadata: { labels: { app: 'evil' } } },
        message: `pods "web" is forbidden: ${user} cannot patch resource "pods" in API group "" in the namespace "default"`,
        details: { name: 'web', kind: 'pods' },
      },
      {
        method: 'PUT',
        path: `${PODS}/web/status`,
        body: pod('web'),
        message: `pods "web" is forbidden: ${user} cannot update resource "pods/status" in API group "" in the namespace "default"`,
        details: { name: 'web', kind: 'pods' },
      },
      {
        method: 'DELETE',
        path: `${PODS}/web`,
        message: `pods "web" is forbidden: ${user} cannot delete resource "pods" in API group "" in the namespace "default"`,
        details: { name: 'web', kind: 'pods' },
      },
      { method: 'DELETE', path: PODS, message: `pods is forbidden: ${user} cannot deletecollection resource "pods" in API group "" in the namespace "default"`, details: { kind: 'pods' } },
      {
        method: 'POST',
        path: '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies',
        body: {},
        message: `networkpolicies.networking.k8s.io is forbidden: ${user} cannot create resource "networkpolicies" in API group "networking.k8s.io" in the namespace "default"`,
        details: { group: 'networking.k8s.io', kind: 'networkpolicies' },
      },
      // Cluster-scoped: upstream's forbiddenMessage says "at the cluster scope".
      {
        method: 'DELETE',
        path: '/api/v1/nodes/lab-node2',
        message: `nodes "lab-node2" is forbidden: ${user} cannot delete resource "nodes" in API group "" at the cluster scope`,
        details: { name: 'lab-node2', kind: 'nodes' },
      },
      // A namespace's own requests carry its name as their namespace (RequestInfoFactory).
      {
        method: 'DELETE',
        path: '/api/v1/namespaces/default',
        message: `namespaces "default" is forbidden: ${user} cannot delete resource "namespaces" in API group "" in the namespace "default"`,
        details: { name: 'default', kind: 'namespaces' },
      },
    ];
    for (const c of cases) {
      const r = await asNode('lab-node1', c.method, c.path, c.body);
      assert.equal(r.status, 403, `${c.method} ${c.path}`);
      assert.deepEqual(
        { kind: r.body.kind, status: r.body.status, reason: r.body.reason, code: r.body.code, message: r.body.message, details: r.body.details },
        { kind: 'Status', status: 'Failure', reason: 'Forbidden', code: 403, message: c.message, details: c.details },
        `${c.method} ${c.path}`,
      );
    }
    const web = await admin('GET', `${PODS}/web`);
    assert.deepEqual((web.body.metadata as Manifest).labels, { app: 'web' });
    assert.equal((await admin('GET', '/api/v1/namespaces/default')).status, 200);
  });

  test('an unknown token is 401 Unauthorized; the admin token may still write', async () => {
    const r = await call(base(), credentials.caPem, 'not-a-token', 'GET', PODS);
    assert.equal(r.status, 401);
    assert.equal(r.body.reason, 'Unauthorized');
    assert.equal((await admin('PATCH', `${PODS}/web`, { metadata: { annotations: { seen: 'yes' } } })).status, 200);
  });

  test('a node whose token was dropped gets 401 on its next request; the kept node keeps its token', async () => {
    const dropped = credentials.nodeTokens!['lab-node2'];
    const kept = credentials.nodeTokens!['lab-node1'];
    assert.equal((await call(base(), credentials.caPem, dropped, 'GET', PODS)).status, 200);
    credentials = await nodeCredentials(dir, ['lab-node1']);
    assert.deepEqual(Object.keys(credentials.nodeTokens ?? {}), ['lab-node1']);
    assert.equal(credentials.nodeTokens!['lab-node1'], kept);
    assert.equal((await call(base(), credentials.caPem, dropped, 'GET', PODS)).status, 401);
    assert.equal((await call(base(), credentials.caPem, kept, 'GET', PODS)).status, 200);
    const stored = JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8')) as Credentials;
    assert.deepEqual(stored.nodeTokens, { 'lab-node1': kept });
    assert.equal(statSync(join(dir, 'credentials.json')).mode & 0o777, 0o600);
  });

  test('the server answers on both addresses, on one port, with a certificate the CA verifies for each', async () => {
    for (const host of ['127.0.0.1', '127.0.0.2']) {
      const r = await call(base(host), credentials.caPem, credentials.token, 'GET', '/version');
      assert.equal(r.status, 200, host);
    }
    assert.deepEqual(certificateIPs(credentials.certPem), ['127.0.0.1', '127.0.0.2']);
  });

  test("a node's kubeconfig names the server, the CA and its token as user system:node:<node>, readable by root only", () => {
    const path = writeNodeKubeconfig(dir, 'lab-node1', 'https://127.0.0.2:6443', credentials);
    assert.equal(path, join(dir, 'nodes', 'lab-node1.kubeconfig'));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const config = parse(readFileSync(path, 'utf8')) as Manifest;
    const cluster = (config.clusters as { cluster: Record<string, string> }[])[0].cluster;
    assert.equal(cluster.server, 'https://127.0.0.2:6443');
    assert.equal(Buffer.from(cluster['certificate-authority-data'], 'base64').toString(), credentials.caPem);
    assert.deepEqual(config.users, [{ name: 'system:node:lab-node1', user: { token: credentials.nodeTokens!['lab-node1'] } }]);
    assert.equal(config['current-context'], 'lab-node1');
    assert.deepEqual(config.contexts, [{ name: 'lab-node1', context: { cluster: 'podwall-lab', user: 'system:node:lab-node1' } }]);
    assert.throws(() => writeNodeKubeconfig(dir, 'lab-node9', 'https://127.0.0.2:6443', credentials), /node "lab-node9" has no token/);
    assert.throws(() => writeNodeKubeconfig(dir, '../lab', 'https://127.0.0.2:6443', credentials), /node name "\.\.\/lab"/);
  });
});

describe('serving certificate', () => {
  test('re-issuing the serving certificate for a new address keeps the CA and the tokens: an old kubeconfig still verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podwall-reissue-'));
    const store = LabStore.open(join(dir, 'lab.db'));
    const servers: LabApiServer[] = [];
    try {
      const first = await labCredentials(dir);
      const oldKubeconfig = parse(readFileSync(writeKubeconfig(dir, 'test', 'https://127.0.0.1:6443', first), 'utf8')) as Manifest;
      const oldCA = Buffer.from((oldKubeconfig.clusters as { cluster: Record<string, string> }[])[0].cluster['certificate-authority-data'], 'base64').toString();
      const serve = async (credentials: Credentials): Promise<number> => {
        const server = new LabApiServer({ store, credentials, host: '127.0.0.3', port: 0 });
        servers.push(server);
        return (await server.listen()).port;
      };

      // Without 127.0.0.3 in the certificate, a client that checks the address refuses it.
      const before = await serve(first);
      await assert.rejects(call(`https://127.0.0.3:${before}`, oldCA, first.token, 'GET', '/version'), (err: NodeJS.ErrnoException) => err.code === 'ERR_TLS_CERT_ALTNAME_INVALID');

      const second = await labCredentials(dir, { ips: ['127.0.0.3'] });
      assert.equal(second.caPem, first.caPem);
      assert.equal(second.token, first.token);
      assert.notEqual(second.certPem, first.certPem);
      assert.deepEqual(certificateIPs(second.certPem), ['127.0.0.1', '127.0.0.3']);
      assert.deepEqual(await labCredentials(dir), second, 'asking without addresses keeps the re-issued certificate');
      assert.deepEqual(await labCredentials(dir, { ips: ['127.0.0.3'] }), second, 'an address already named re-issues nothing');

      const after = await serve(second);
      assert.equal((await call(`https://127.0.0.3:${after}`, oldCA, second.token, 'GET', '/version')).status, 200);
    } finally {
      for (const s of servers) await s.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a credentials file without the CA key is replaced whole when a new address is asked for', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podwall-oldcreds-'));
    try {
      const { caKeyPem, ...old } = await labCredentials(dir);
      assert.ok(caKeyPem);
      writeFileSync(join(dir, 'credentials.json'), JSON.stringify(old), { mode: 0o600 });
      assert.deepEqual(await labCredentials(dir), old, 'an old file serves as it is while no new address is asked for');
      const fresh = await labCredentials(dir, { ips: ['127.0.0.3'] });
      assert.notEqual(fresh.caPem, old.caPem);
      assert.ok(fresh.caKeyPem);
      assert.deepEqual(certificateIPs(fresh.certPem), ['127.0.0.1', '127.0.0.3']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an address that is not an IP is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podwall-badip-'));
    try {
      await assert.rejects(labCredentials(dir, { ips: ['lab.example'] }), /"lab\.example" is not an IP address/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
