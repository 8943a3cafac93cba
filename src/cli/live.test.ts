// Reading a running cluster: the kubeconfig found as kubectl finds it, lists in pages from the lab's
// own API server (in process, no root), the server's failures said in one line with the exit code
// the contract gives them, and which CNIs enforce NetworkPolicy, from DaemonSets a fake server serves.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { labCredentials, type Credentials } from '../lab/index.js';
import { startTestServer, type TestServer } from '../lab/api/testing.js';
import { clusterFromObjects, type Cluster, type Manifest } from '../model/index.js';
import { main } from './main.js';
import { ADMIN_COLLECTIONS, CLUSTER_COLLECTIONS, connect, detectPolicyEnforcement, judgeEnforcement, listCollection, LiveClusterError, loadLiveTarget, readLiveCluster } from './live.js';
import { UsageError, type Output } from './output.js';

const scratch = mkdtempSync(join(tmpdir(), 'podwall-live-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let fileCount = 0;

function capture(): Output & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (t) => lines.push(t), err: (t) => errors.push(t), color: false };
}

interface KubeconfigSpec {
  readonly contexts: readonly { name: string; server: string; ca?: string; token?: string; cluster?: string; skipTLS?: boolean }[];
  readonly current?: string;
}

/** A kubeconfig file (JSON is YAML) with one cluster and one user per context. */
function kubeconfigFile(spec: KubeconfigSpec): string {
  const path = join(scratch, `kubeconfig-${++fileCount}`);
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: spec.contexts.map((c) => ({
      name: c.name,
      cluster: { server: c.server, ...(c.ca ? { 'certificate-authority-data': Buffer.from(c.ca).toString('base64') } : {}), ...(c.skipTLS ? { 'insecure-skip-tls-verify': true } : {}) },
    })),
    users: spec.contexts.map((c) => ({ name: `${c.name}-user`, user: c.token ? { token: c.token } : {} })),
    contexts: spec.contexts.map((c) => ({ name: c.name, context: { cluster: c.cluster ?? c.name, user: `${c.name}-user` } })),
    ...(spec.current ? { 'current-context': spec.current } : {}),
  };
  writeFileSync(path, JSON.stringify(config));
  return path;
}

const live = (kubeconfig: string, context?: string) => ({ namespace: 'default', kubeconfig, context });

describe('the kubeconfig, found as kubectl finds it', () => {
  const server = 'https://127.0.0.1:1';
  const two = (): string => kubeconfigFile({ contexts: [{ name: 'prod', server }, { name: 'staging', server: 'https://127.0.0.1:2' }], current: 'prod' });

  test('--context selects a context; without it the current context is read', () => {
    const file = two();
    assert.equal(loadLiveTarget({ kubeconfig: file }, {}).context, 'prod');
    const staging = loadLiveTarget({ kubeconfig: file, context: 'staging' }, {});
    assert.equal(staging.context, 'staging');
    assert.equal(staging.server, 'https://127.0.0.1:2');
  });

  const refusals: { name: string; options: () => { kubeconfig?: string; context?: string }; env?: () => NodeJS.ProcessEnv; message: RegExp }[] = [
    { name: 'an unknown context is bad input naming the contexts there are', options: () => ({ kubeconfig: two(), context: 'qa' }), message: /--context: no context "qa" in --kubeconfig .*\(its contexts: prod, staging\)/ },
    { name: 'no current context and no --context is bad input naming the contexts', options: () => ({ kubeconfig: kubeconfigFile({ contexts: [{ name: 'a', server }] }) }), message: /has no current context: give --context NAME \(its contexts: a\)/ },
    { name: 'a current context the file does not define is bad input', options: () => ({ kubeconfig: kubeconfigFile({ contexts: [{ name: 'a', server }], current: 'gone' }) }), message: /current context "gone" is not among its contexts/ },
    { name: 'a context naming a cluster the file does not define is bad input', options: () => ({ kubeconfig: kubeconfigFile({ contexts: [{ name: 'a', server, cluster: 'elsewhere' }], current: 'a' }) }), message: /context "a" names cluster "elsewhere", which it does not define/ },
    { name: 'a --kubeconfig that does not exist is bad input', options: () => ({ kubeconfig: join(scratch, 'missing') }), message: /--kubeconfig .*missing: the file does not exist/ },
    { name: 'a kubeconfig that is not one is bad input', options: () => ({ kubeconfig: (writeFileSync(join(scratch, 'junk'), '- [a'), join(scratch, 'junk')) }), message: /--kubeconfig .*junk: / },
    { name: 'a server address that is not a URL is bad input', options: () => ({ kubeconfig: kubeconfigFile({ contexts: [{ name: 'a', server: 'not a url' }], current: 'a' }) }), message: /cluster "a" has no valid server address/ },
    { name: 'no kubeconfig anywhere is bad input, not a fallback to localhost:8080', options: () => ({}), env: () => ({ HOME: mkdtempSync(join(scratch, 'home-')) }), message: /no kubeconfig: .*\.kube\/config does not exist/ },
    { name: 'KUBECONFIG naming no file that exists is bad input', options: () => ({}), env: () => ({ KUBECONFIG: join(scratch, 'nope') }), message: /KUBECONFIG=.*none of its files exists/ },
  ];
  for (const r of refusals) {
    test(r.name, () => {
      assert.throws(() => loadLiveTarget(r.options(), r.env?.() ?? {}), (err: Error) => err instanceof UsageError && r.message.test(err.message));
    });
  }

  test('KUBECONFIG files are merged as kubectl merges them: missing ones skipped, the first current context wins', () => {
    const first = kubeconfigFile({ contexts: [{ name: 'a', server }], current: 'a' });
    const second = kubeconfigFile({ contexts: [{ name: 'a', server: 'https://127.0.0.1:9' }, { name: 'b', server: 'https://127.0.0.1:3' }], current: 'b' });
    const env = { KUBECONFIG: [join(scratch, 'missing'), first, second].join(':') };
    assert.equal(loadLiveTarget({}, env).context, 'a');
    assert.equal(loadLiveTarget({}, env).server, server);
    assert.equal(loadLiveTarget({ context: 'b' }, env).server, 'https://127.0.0.1:3');
  });

  test('without KUBECONFIG, ~/.kube/config is read', () => {
    const home = mkdtempSync(join(scratch, 'home-'));
    mkdirSync(join(home, '.kube'));
    renameSync(kubeconfigFile({ contexts: [{ name: 'home', server }], current: 'home' }), join(home, '.kube', 'config'));
    assert.equal(loadLiveTarget({}, { HOME: home }).context, 'home');
  });
});

describe('reading the lab API server (in process)', () => {
  let t: TestServer;
  let kubeconfig: string;
  const previousPageSize = process.env.PODWALL_PAGE_SIZE;

  /** What the lab's pod runner does: an address and a phase. */
  function runs(namespace: string, name: string, ip: string, phase = 'Running'): void {
    const o = t.store.get('Pod', namespace, name)!;
    t.store.put('Pod', namespace, name, { ...o.manifest, spec: { ...(o.manifest.spec as Manifest), nodeName: 'lab' }, status: { phase, podIP: ip, podIPs: [{ ip }] } });
  }

  const objects: Manifest[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'shop' } } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ name: 'http', containerPort: 80 }] }] } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'db', namespace: 'shop', labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 5432 }] }] } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'migrate', namespace: 'shop', labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'db', namespace: 'shop' },
      spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }] },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'shop' }, spec: { selector: { app: 'db' }, ports: [{ port: 5432 }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'outside', namespace: 'shop' }, spec: { ports: [{ port: 443 }] } },
  ];

  before(async () => {
    t = await startTestServer();
    kubeconfig = t.kubeconfig();
    for (const o of objects) {
      const m = (o.metadata ?? {}) as { namespace?: string };
      const path = o.kind === 'Namespace' ? '/api/v1/namespaces' : o.kind === 'NetworkPolicy' ? `/apis/networking.k8s.io/v1/namespaces/${m.namespace}/networkpolicies` : `/api/v1/namespaces/${m.namespace}/${o.kind === 'Pod' ? 'pods' : 'services'}`;
      const r = await t.api.call('POST', path, o);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    runs('shop', 'web', '10.244.0.2');
    runs('shop', 'db', '10.244.0.3');
    runs('shop', 'migrate', '10.244.0.4', 'Succeeded');
  });
  after(async () => {
    if (previousPageSize === undefined) delete process.env.PODWALL_PAGE_SIZE;
    else process.env.PODWALL_PAGE_SIZE = previousPageSize;
    await t.close();
  });

  const summary = (c: Cluster) => ({
    namespaces: c.namespaces.map((n) => [n.name, n.labels]),
    endpoints: c.endpoints.map((e) => [e.id, e.labels, e.ports, e.ips]),
    policies: c.policies.map((p) => [p.namespace, p.name, p.spec]),
    services: (c.services ?? []).map((s) => [s.namespace, s.name, s.selector, s.ports.map((p) => p.port)]),
  });

  test('namespaces, pods with their addresses, policies and Services are read; a pod that finished is left out', async () => {
    const io = capture();
    const cluster = await readLiveCluster(live(kubeconfig), io);
    const s = summary(cluster);
    assert.deepEqual(s.endpoints.map((e) => [e[0], e[3]]), [['shop/db', ['10.244.0.3']], ['shop/web', ['10.244.0.2']]]);
    assert.deepEqual(s.namespaces.find((n) => n[0] === 'shop')?.[1], { team: 'shop', 'kubernetes.io/metadata.name': 'shop' });
    assert.deepEqual(s.policies.map((p) => p[1]), ['db']);
    assert.deepEqual(s.services.map((x) => x[1]), ['db', 'outside']);
    // The same objects as manifests build the same policies and endpoints (addresses aside).
    const fromFiles = summary(clusterFromObjects(objects.filter((o) => (o.metadata as { name: string }).name !== 'migrate')).cluster!);
    assert.deepEqual(s.policies, fromFiles.policies);
    assert.deepEqual(s.endpoints.map((e) => e.slice(0, 3)), fromFiles.endpoints.map((e) => e.slice(0, 3)));
    assert.deepEqual(s.services, fromFiles.services);
    assert.match(io.errors.at(-1)!, /^notice: read context "podwall-test" \(https:\/\/127\.0\.0\.1:\d+\): 2 namespaces, 2 pods \(and 1 finished, left out\), 1 NetworkPolicy, 2 Services$/);
  });

  test('a server without EndpointSlices is read without them, and says so when a Service without a selector needs them', async () => {
    const io = capture();
    await readLiveCluster(live(kubeconfig), io);
    assert.ok(io.errors.some((l) => /^notice: the API server does not serve discovery\.k8s\.io\/v1 EndpointSlices: .*\(shop\/outside\)$/.test(l)), io.errors.join('\n'));
  });

  test('lists come in pages of PODWALL_PAGE_SIZE items, and the lab server honours limit and continue', async () => {
    const whole = summary(await readLiveCluster(live(kubeconfig), capture()));
    process.env.PODWALL_PAGE_SIZE = '1';
    try {
      assert.deepEqual(summary(await readLiveCluster(live(kubeconfig), capture())), whole);
    } finally {
      delete process.env.PODWALL_PAGE_SIZE;
    }
    const conn = await connect(loadLiveTarget({ kubeconfig }, {}));
    try {
      const pods = CLUSTER_COLLECTIONS.find((c) => c.kind === 'Pod')!;
      const paged = await listCollection(conn, pods, { limit: 1 });
      assert.equal(paged.items.length, 3);
      assert.equal(paged.pages, 3);
      assert.equal((await listCollection(conn, pods, { limit: 2 })).pages, 2);
    } finally {
      conn.close();
    }
  });

  test('a PODWALL_PAGE_SIZE that is no positive number is bad input', async () => {
    process.env.PODWALL_PAGE_SIZE = '0';
    try {
      await assert.rejects(readLiveCluster(live(kubeconfig), capture()), (err: Error) => err instanceof UsageError && /PODWALL_PAGE_SIZE: "0"/.test(err.message));
    } finally {
      delete process.env.PODWALL_PAGE_SIZE;
    }
  });

  test('a server that does not serve DaemonSets cannot tell what enforces NetworkPolicy', async () => {
    const e = await detectPolicyEnforcement(live(kubeconfig));
    assert.equal(e.enforced, undefined);
    assert.match(e.reason, /does not serve apps\/v1 DaemonSets/);
  });
});

type Handler = (path: string, query: URLSearchParams, req: IncomingMessage) => { status: number; body: unknown } | undefined;

interface FakeApi {
  readonly server: string;
  readonly credentials: Credentials;
  readonly requests: string[];
  kubeconfig(options?: { token?: string; ca?: string }): string;
  close(): Promise<void>;
}

let credentials: Credentials;
let otherCredentials: Credentials;

/** A fake API server over HTTPS (the lab's CA and serving certificate) answering by `handler`. */
async function startFakeApi(handler: Handler, host = '127.0.0.1'): Promise<FakeApi> {
  credentials ??= await labCredentials(mkdtempSync(join(scratch, 'ca-')));
  const requests: string[] = [];
  const server: Server = createHttpsServer({ key: credentials.keyPem, cert: credentials.certPem }, (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    requests.push(`${url.pathname}${url.search}`);
    const answer = handler(url.pathname, url.searchParams, req) ?? { status: 404, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource' } };
    res.writeHead(answer.status, { 'Content-Type': 'application/json' });
    res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = `https://${host}:${(server.address() as { port: number }).port}`;
  return {
    server: address,
    credentials,
    requests,
    kubeconfig: (o = {}) => kubeconfigFile({ contexts: [{ name: 'fake', server: address, ca: o.ca ?? credentials.caPem, token: o.token ?? 'secret-token-value' }], current: 'fake' }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** main.ts names an unexpected error's class; LiveClusterError is expected to be said without it (a named failure). */
const FAILURE_PREFIX = /^error: internal error \(LiveClusterError\): /;

const status = (code: number, message: string) => ({ status: code, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message } });

/** Serves `items` at `path` in pages of the client's limit (the token: the next index). */
function pagedList(items: readonly Manifest[], query: URLSearchParams, kind: string): { status: number; body: unknown } {
  const limit = Number(query.get('limit') ?? 0) || items.length;
  const from = Number(query.get('continue') ?? 0);
  const next = from + limit < items.length ? String(from + limit) : '';
  return { status: 200, body: { kind: `${kind}List`, apiVersion: 'v1', metadata: { resourceVersion: '7', continue: next }, items: items.slice(from, from + limit) } };
}

/** A Pod as a real apiserver returns it: managed fields, conditions, container statuses and all. */
function realPod(name: string, ip: string, labels: Record<string, string>): Manifest {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: '0b5e6a3c-1f0e-4a7b-9a55-0c7f2e5d9f10',
      resourceVersion: '1234',
      creationTimestamp: '2026-11-28T10:00:00Z',
      labels,
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-28T10:00:00Z' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-5d4f8c9b7`, uid: 'u', controller: true, blockOwnerDeletion: true }],
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2026-11-28T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': {} } }],
    },
    spec: {
      containers: [{ name: 'app', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }], resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' }],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      serviceAccount: 'default',
      nodeName: 'node-1',
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-11-28T10:00:05Z' }],
      hostIP: '172.18.0.2',
      hostIPs: [{ ip: '172.18.0.2' }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: '2026-11-28T10:00:00Z',
      containerStatuses: [{ name: 'app', state: { running: { startedAt: '2026-11-28T10:00:04Z' } }, lastState: {}, ready: true, restartCount: 0, image: 'docker.io/library/nginx:1.27', imageID: 'docker.io/library/nginx@sha256:abc', containerID: 'containerd://abc', started: true }],
      qosClass: 'BestEffort',
    },
  };
}

/** A Service as a real apiserver returns it (defaults, allocated address, status). */
function realService(name: string, selector = true): Manifest {
  return {
    metadata: { name, namespace: 'default', uid: 'u', resourceVersion: '99', creationTimestamp: '2026-11-28T10:00:00Z', managedFields: [] },
    spec: {
      ...(selector ? { selector: { app: name } } : {}),
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
      clusterIP: name === 'api' ? '10.96.0.20' : '10.96.0.21',
      clusterIPs: [name === 'api' ? '10.96.0.20' : '10.96.0.21'],
      type: 'ClusterIP',
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  };
}

/** An EndpointSlice as the EndpointSlice controller (or a user, for a Service without selector) writes it. */
function realSlice(service: string, ip: string): Manifest {
  return {
    metadata: {
      name: `${service}-abcde`,
      namespace: 'default',
      generateName: `${service}-`,
      labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: service, uid: 'u', controller: true, blockOwnerDeletion: true }],
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2026-11-28T10:00:05Z' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-1', zone: 'a', targetRef: { kind: 'Pod', namespace: 'default', name: service, uid: 'u' } }],
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  };
}

describe('a real API server\'s objects and failures (a fake server)', () => {
  before(async () => {
    otherCredentials = await labCredentials(mkdtempSync(join(scratch, 'other-ca-')));
  });

  const empty = (path: string, query: URLSearchParams): { status: number; body: unknown } | undefined => {
    const kind = [...CLUSTER_COLLECTIONS, ...ADMIN_COLLECTIONS].find((c) => path.endsWith(`/${c.plural}`))?.kind;
    return kind ? pagedList([], query, kind) : undefined;
  };

  test('objects as an apiserver returns them are read; one the model cannot take is left out with a warning, the rest stay', async () => {
    const api = await startFakeApi((path, query) => {
      if (path === '/api/v1/pods') return pagedList([realPod('web', '10.0.0.5', { app: 'web' }), realPod('api', '10.0.0.6', { app: 'api' })], query, 'Pod');
      if (path === '/apis/networking.k8s.io/v1/networkpolicies') {
        const bad = { metadata: { name: 'bad', namespace: 'default', managedFields: [] }, spec: { podSelector: {}, ingress: [{ ports: [{ port: 80, endPort: 70 }] }] } };
        const good = { metadata: { name: 'good', namespace: 'default', generation: 1 }, spec: { podSelector: { matchLabels: { app: 'api' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] } };
        return pagedList([bad, good], query, 'NetworkPolicy');
      }
      if (path === '/api/v1/services') return pagedList([realService('api'), realService('external', false)], query, 'Service');
      if (path === '/apis/discovery.k8s.io/v1/endpointslices') return pagedList([realSlice('api', '10.0.0.6'), realSlice('external', '192.0.2.10')], query, 'EndpointSlice');
      if (path === '/api/v1/namespaces') return pagedList([{ metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } }], query, 'Namespace');
      return empty(path, query);
    });
    try {
      const io = capture();
      const cluster = await readLiveCluster(live(api.kubeconfig()), io);
      assert.deepEqual(cluster.endpoints.map((e) => [e.id, e.ips, e.nodeName]), [['default/api', ['10.0.0.6'], 'node-1'], ['default/web', ['10.0.0.5'], 'node-1']]);
      assert.deepEqual(cluster.policies.map((p) => p.name), ['good']);
      assert.deepEqual((cluster.services ?? []).map((x) => [x.name, x.clusterIPs]), [['api', ['10.96.0.20']], ['external', ['10.96.0.21']]]);
      assert.deepEqual((cluster.endpointSlices ?? []).map((x) => x.serviceName), ['api', 'external']);
      const warnings = io.errors.filter((l) => l.startsWith('warning:'));
      assert.equal(warnings.length, 1, io.errors.join('\n'));
      assert.match(warnings[0], /^warning: left out NetworkPolicy default\/bad: spec\.ingress\[0\]\.ports\[0\]\.endPort: Invalid value: 70/);
    } finally {
      await api.close();
    }
  });

  test('admin and baseline policies and Nodes are read with the rest; a CRD that is not installed (404) means none, silently; one the reader may not list (403) is a warning', async () => {
    const anp = {
      metadata: { name: 'no-web', uid: 'u', resourceVersion: '9', generation: 1 },
      spec: { priority: 3, subject: { namespaces: {} }, ingress: [{ name: 'deny-web', action: 'Deny', from: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } } }] }] },
    };
    const node = { metadata: { name: 'node-1', labels: { zone: 'a' } }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }, { type: 'Hostname', address: 'node-1' }] } };
    const forbidden = { status: 403, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403, message: 'clusternetworkpolicies.policy.networking.k8s.io is forbidden: User "dev" cannot list resource' } };
    const api = await startFakeApi((path, query) => {
      if (path === '/api/v1/pods') return pagedList([realPod('web', '10.0.0.5', { app: 'web' })], query, 'Pod');
      if (path === '/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies') return pagedList([anp], query, 'AdminNetworkPolicy');
      if (path === '/api/v1/nodes') return pagedList([node], query, 'Node');
      if (path === '/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies') return undefined;
      if (path === '/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies') return forbidden;
      return empty(path, query);
    });
    try {
      const io = capture();
      const cluster = await readLiveCluster(live(api.kubeconfig()), io);
      assert.deepEqual((cluster.adminPolicies ?? []).map((p) => [p.kind, p.name, p.priority]), [['AdminNetworkPolicy', 'no-web', 3]]);
      assert.deepEqual((cluster.nodes ?? []).map((n) => [n.name, n.addresses]), [['node-1', ['192.168.1.10']]]);
      const warnings = io.errors.filter((l) => l.startsWith('warning:'));
      assert.deepEqual(warnings, ['warning: listing clusternetworkpolicies.policy.networking.k8s.io is forbidden: the cluster is read without its ClusterNetworkPolicies, which decide before (or after) NetworkPolicy where they apply']);
      assert.match(io.errors.at(-1)!, /, 1 admin or baseline policy$/);
    } finally {
      await api.close();
    }
  });

  test('a continue token that expired (410) starts the list over; expiring again and again, the list is read in one request', async () => {
    const pods = [realPod('a', '10.0.0.1', { app: 'a' }), realPod('b', '10.0.0.2', { app: 'b' }), realPod('c', '10.0.0.3', { app: 'c' })];
    let expiries = 0;
    let budget = 1;
    const api = await startFakeApi((path, query) => {
      if (path === '/api/v1/pods') {
        if (query.get('continue') && expiries < budget) {
          expiries++;
          return status(410, 'The provided continue parameter is too old to display a consistent list result.');
        }
        return pagedList(pods, query, 'Pod');
      }
      return empty(path, query);
    });
    try {
      const conn = await connect(loadLiveTarget({ kubeconfig: api.kubeconfig() }, {}));
      const pod = CLUSTER_COLLECTIONS.find((c) => c.kind === 'Pod')!;
      const once = await listCollection(conn, pod, { limit: 2 });
      assert.deepEqual(once.items.map((p) => (p.metadata as { name: string }).name), ['a', 'b', 'c']);
      assert.deepEqual(api.requests, ['/api/v1/pods?limit=2', '/api/v1/pods?limit=2&continue=2', '/api/v1/pods?limit=2', '/api/v1/pods?limit=2&continue=2']);
      api.requests.length = 0;
      expiries = 0;
      budget = 100;
      const always = await listCollection(conn, pod, { limit: 2 });
      assert.equal(always.items.length, 3);
      assert.equal(api.requests.at(-1), '/api/v1/pods');
      assert.equal(api.requests.filter((r) => r.includes('continue')).length, 3);
      conn.close();
    } finally {
      await api.close();
    }
  });

  test('--cluster reads the current context of $KUBECONFIG', async () => {
    const api = await startFakeApi((path, query) => (path === '/api/v1/pods' ? pagedList([realPod('web', '10.0.0.5', { app: 'web' })], query, 'Pod') : empty(path, query)));
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = api.kubeconfig();
    try {
      const io = capture();
      assert.equal(await main(['explain', '--cluster', 'default/web'], io), 0, io.errors.join('\n'));
      assert.match(io.lines.join('\n'), /^default\/web {2}\[Pod\]/);
      assert.match(io.errors.join('\n'), /notice: read context "fake"/);
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
      await api.close();
    }
  });

  test('items come with the kind and apiVersion of the collection asked for', async () => {
    const api = await startFakeApi((path, query) => (path === '/api/v1/pods' ? pagedList([realPod('a', '10.0.0.1', {})], query, 'Pod') : empty(path, query)));
    try {
      const conn = await connect(loadLiveTarget({ kubeconfig: api.kubeconfig() }, {}));
      const { items } = await listCollection(conn, CLUSTER_COLLECTIONS.find((c) => c.kind === 'Pod')!);
      conn.close();
      assert.deepEqual([items[0].kind, items[0].apiVersion], ['Pod', 'v1']);
    } finally {
      await api.close();
    }
  });

  const failures: { name: string; handler: Handler; kubeconfig?: (api: FakeApi) => string; message: RegExp; code: number }[] = [
    {
      name: '401: the credentials were refused (exit 3)',
      handler: () => status(401, 'Unauthorized'),
      message: /^error: the API server at https:\/\/127\.0\.0\.1:\d+ did not accept the credentials of context "fake" \(401 Unauthorized: Unauthorized\); they may have expired$/,
      code: 3,
    },
    {
      name: '403: says which resource was forbidden and that list permission is needed (exit 3)',
      handler: (path, query) => (path === '/apis/networking.k8s.io/v1/networkpolicies' ? status(403, 'networkpolicies.networking.k8s.io is forbidden: User "dev" cannot list resource "networkpolicies" in API group "networking.k8s.io" at the cluster scope') : pagedList([], query, 'X')),
      message: /^error: the API server at \S+ forbids listing networkpolicies\.networking\.k8s\.io at the cluster scope to context "fake" \(403 Forbidden: .*User "dev" cannot list.*\); Podwall needs list permission on namespaces, pods, services, networkpolicies\.networking\.k8s\.io and endpointslices\.discovery\.k8s\.io in every namespace$/,
      code: 3,
    },
    {
      name: 'a server failing (500) is said with its message, and never with the token it was sent',
      handler: (_p, _q, req) => status(500, `etcd is down; you sent ${String(req.headers.authorization)}`),
      message: /^error: the API server at \S+ answered 500 to listing \S+ at the cluster scope: etcd is down; you sent <redacted>$/,
      code: 3,
    },
    {
      name: 'a server that is no Kubernetes API server is said so',
      handler: () => ({ status: 200, body: '<html>login</html>' }),
      message: /did not answer GET \/api\/v1\/\S+ as a Kubernetes API server does \(no JSON list\)$/,
      code: 3,
    },
    {
      name: 'TLS: a certificate not signed by the kubeconfig\'s certificate-authority (exit 3)',
      handler: () => undefined,
      kubeconfig: (api) => api.kubeconfig({ ca: otherCredentials.caPem }),
      message: /^error: TLS with the API server at \S+ \(context "fake"\) failed: its certificate is not signed by the certificate-authority the kubeconfig gives \(\w+\)$/,
      code: 3,
    },
  ];
  for (const f of failures) {
    test(f.name, async () => {
      const api = await startFakeApi(f.handler);
      try {
        const io = capture();
        const code = await main(['explain', '--kubeconfig', (f.kubeconfig ?? ((a) => a.kubeconfig()))(api)], io);
        assert.equal(code, f.code, io.errors.join('\n'));
        const errorLines = io.errors.filter((l) => l.startsWith('error:'));
        assert.equal(errorLines.length, 1, io.errors.join('\n'));
        assert.match(errorLines[0].replace(FAILURE_PREFIX, 'error: '), f.message);
        assert.doesNotMatch(io.errors.join('\n'), /secret-token-value/);
      } finally {
        await api.close();
      }
    });
  }

  test('an unreachable server is an internal failure (exit 3) in one line; an unknown context is bad input (exit 2)', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createNetServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    const file = kubeconfigFile({ contexts: [{ name: 'down', server: `https://127.0.0.1:${port}`, token: 'secret-token-value' }], current: 'down' });
    const io = capture();
    assert.equal(await main(['check', '--kubeconfig', file, '--from', 'a/b', '--to', 'a/c', '--port', '80'], io), 3);
    assert.equal(io.errors.length, 1, io.errors.join('\n'));
    assert.equal(io.errors[0].replace(FAILURE_PREFIX, 'error: '), `error: cannot reach the API server at https://127.0.0.1:${port} (context "down"): connection refused`);
    const wrong = capture();
    assert.equal(await main(['matrix', '--kubeconfig', file, '--context', 'up'], wrong), 2);
    assert.deepEqual(wrong.errors, [`error: --context: no context "up" in --kubeconfig ${file} (its contexts: down)`]);
  });

  test('TLS: a certificate made out to another address, or a port that does not speak TLS, is said so (exit 3)', async () => {
    const elsewhere = await startFakeApi(() => undefined, '127.0.0.2');
    const plain = createHttpServer((_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      await assert.rejects(readLiveCluster(live(elsewhere.kubeconfig()), capture()), (err: Error) => err instanceof LiveClusterError && /failed: its certificate is not made out to that address \(ERR_TLS_CERT_ALTNAME_INVALID\)$/.test(err.message));
      const file = kubeconfigFile({ contexts: [{ name: 'p', server: `https://127.0.0.1:${(plain.address() as { port: number }).port}`, ca: credentials.caPem }], current: 'p' });
      await assert.rejects(readLiveCluster(live(file), capture()), (err: Error) => err instanceof LiveClusterError && /failed: it does not speak TLS on that port \(a plain-HTTP server\?\) \(EPROTO\)$/.test(err.message));
    } finally {
      await elsewhere.close();
      plain.closeAllConnections();
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });

  test('a plain-HTTP server without insecure-skip-tls-verify is bad input in one line', async () => {
    const file = kubeconfigFile({ contexts: [{ name: 'plain', server: 'http://127.0.0.1:1', token: 'secret-token-value' }], current: 'plain' });
    await assert.rejects(readLiveCluster(live(file), capture()), (err: Error) => err instanceof UsageError && /server http:\/\/127\.0\.0\.1:1 is plain HTTP, which needs insecure-skip-tls-verify: true/.test(err.message));
  });

  test('EndpointSlices a reader may not list are left out, with a warning only when a Service without a selector needs them', async () => {
    let services = [realService('api')];
    const api = await startFakeApi((path, query) => {
      if (path === '/apis/discovery.k8s.io/v1/endpointslices') return status(403, 'endpointslices.discovery.k8s.io is forbidden');
      if (path === '/api/v1/services') return pagedList(services, query, 'Service');
      return empty(path, query);
    });
    try {
      const quiet = capture();
      await readLiveCluster(live(api.kubeconfig()), quiet);
      assert.deepEqual(quiet.errors.filter((l) => !l.startsWith('notice: read context')), []);
      services = [realService('api'), realService('external', false)];
      const told = capture();
      const cluster = await readLiveCluster(live(api.kubeconfig()), told);
      assert.deepEqual(told.errors.filter((l) => !l.startsWith('notice: read context')), ['warning: listing endpointslices.discovery.k8s.io is forbidden: Services without a selector are read without backends (default/external)']);
      assert.equal(cluster.services?.length, 2);
    } finally {
      await api.close();
    }
  });

  test('a failure is a LiveClusterError with the status the server answered', async () => {
    const api = await startFakeApi(() => status(403, 'forbidden'));
    try {
      await assert.rejects(readLiveCluster(live(api.kubeconfig()), capture()), (err: Error) => err instanceof LiveClusterError && err.statusCode === 403);
    } finally {
      await api.close();
    }
  });
});

/** A DaemonSet as the API returns it, with its containers' images and arguments. */
function daemonSet(namespace: string, name: string, containers: readonly { image: string; name?: string; args?: string[] }[], status?: { numberReady: number; desiredNumberScheduled: number }): Manifest {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { namespace, name },
    spec: { template: { spec: { containers: containers.map((c, i) => ({ name: c.name ?? `c${i}`, image: c.image, ...(c.args ? { args: c.args } : {}) })) } } },
    ...(status ? { status } : {}),
  };
}

describe('which CNI enforces NetworkPolicy, from the DaemonSets', () => {
  const awsNode = (agentArgs?: string[]) =>
    daemonSet('kube-system', 'aws-node', [
      { name: 'aws-node', image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1' },
      ...(agentArgs ? [{ name: 'aws-eks-nodeagent', image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-network-policy-agent:v1.2.0-eksbuild.1', args: agentArgs }] : []),
    ]);
  const flannel = daemonSet('kube-flannel', 'kube-flannel-ds', [{ image: 'docker.io/flannel/flannel:v0.26.1' }]);
  const cases: { name: string; daemonSets: Manifest[]; enforced: boolean | undefined; reason: RegExp }[] = [
    { name: 'Calico (operator install in calico-system) enforces', daemonSets: [daemonSet('calico-system', 'calico-node', [{ image: 'docker.io/calico/node:v3.29.1' }])], enforced: true, reason: /^DaemonSet calico-system\/calico-node \(docker\.io\/calico\/node:v3\.29\.1\): Calico enforces NetworkPolicy$/ },
    { name: 'Canal (Calico with Flannel in one DaemonSet) enforces', daemonSets: [daemonSet('kube-system', 'canal', [{ image: 'calico/node:v3.29.1' }, { image: 'quay.io/coreos/flannel:v0.15.1' }])], enforced: true, reason: /Canal: Calico enforces NetworkPolicy/ },
    { name: 'Flannel beside Calico enforces (Calico does)', daemonSets: [flannel, daemonSet('kube-system', 'calico-node', [{ image: 'quay.io/calico/node:v3.29.1' }])], enforced: true, reason: /kube-system\/calico-node/ },
    { name: 'Cilium (also GKE Dataplane V2\'s anetd) enforces', daemonSets: [daemonSet('kube-system', 'anetd', [{ image: 'gke.gcr.io/cilium/cilium:v1.14.4-gke.1' }])], enforced: true, reason: /Cilium enforces NetworkPolicy/ },
    { name: 'Antrea enforces', daemonSets: [daemonSet('kube-system', 'antrea-agent', [{ image: 'antrea/antrea-agent-ubuntu:v2.2.0' }])], enforced: true, reason: /Antrea enforces/ },
    { name: 'kube-router enforces by default', daemonSets: [daemonSet('kube-system', 'kube-router', [{ image: 'docker.io/cloudnativelabs/kube-router:v2.4.1', args: ['--run-router=true'] }])], enforced: true, reason: /kube-router enforces/ },
    { name: 'kube-router with --run-firewall=false does not', daemonSets: [daemonSet('kube-system', 'kube-router', [{ image: 'cloudnativelabs/kube-router', args: ['--run-firewall=false'] }])], enforced: false, reason: /--run-firewall=false/ },
    { name: 'Weave Net with weave-npc enforces', daemonSets: [daemonSet('kube-system', 'weave-net', [{ image: 'weaveworks/weave-kube:2.8.1' }, { image: 'weaveworks/weave-npc:2.8.1' }])], enforced: true, reason: /weave-npc enforces/ },
    { name: 'Weave Net without weave-npc does not', daemonSets: [daemonSet('kube-system', 'weave-net', [{ image: 'weaveworks/weave-kube:2.8.1' }])], enforced: false, reason: /without its weave-npc/ },
    { name: 'Flannel alone does not enforce', daemonSets: [flannel], enforced: false, reason: /^DaemonSet kube-flannel\/kube-flannel-ds \(docker\.io\/flannel\/flannel:v0\.26\.1\): Flannel does not enforce NetworkPolicy, and no DaemonSet in every namespace runs a CNI that does$/ },
    { name: 'AWS VPC CNI with its policy agent enabled enforces', daemonSets: [awsNode(['--enable-ipv6=false', '--enable-network-policy=true'])], enforced: true, reason: /aws-network-policy-agent:v1\.2\.0-eksbuild\.1\): the AWS VPC CNI's network policy agent enforces NetworkPolicy/ },
    { name: 'AWS VPC CNI with its policy agent off does not', daemonSets: [awsNode(['--enable-network-policy=false'])], enforced: false, reason: /--enable-network-policy=false: NetworkPolicy is not enforced/ },
    { name: 'AWS VPC CNI whose agent leaves the flag out does not (its default is false)', daemonSets: [awsNode([])], enforced: false, reason: /--enable-network-policy=false \(its default\)/ },
    { name: 'AWS VPC CNI without the agent (before 1.14) does not', daemonSets: [awsNode()], enforced: false, reason: /without its network policy agent/ },
    { name: 'AWS VPC CNI with Calico for policy enforces', daemonSets: [awsNode(), daemonSet('calico-system', 'calico-node', [{ image: 'docker.io/calico/node:v3.29.1' }])], enforced: true, reason: /Calico/ },
    { name: "kind's kindnetd from kind v0.24.0 on enforces", daemonSets: [daemonSet('kube-system', 'kindnet', [{ image: 'docker.io/kindest/kindnetd:v20240813-c6f155d6' }])], enforced: true, reason: /kind v0\.24\.0 and later/ },
    { name: "kind's kindnetd before kind v0.24.0 does not", daemonSets: [daemonSet('kube-system', 'kindnet', [{ image: 'docker.io/kindest/kindnetd:v20240513-cd2ac642' }])], enforced: false, reason: /before kind v0\.24\.0/ },
    { name: "kind's kindnetd of a tag that says no date cannot be told", daemonSets: [daemonSet('kube-system', 'kindnet', [{ image: 'docker.io/kindest/kindnetd:latest' }])], enforced: undefined, reason: /unknown version/ },
    { name: 'kindnetd 1.x enforces unless --network-policy=false', daemonSets: [daemonSet('kube-system', 'kindnet', [{ image: 'ghcr.io/aojea/kindnetd:v1.8.5' }])], enforced: true, reason: /kindnetd 1\.x/ },
    { name: 'kindnetd 1.x with --network-policy=false does not', daemonSets: [daemonSet('kube-system', 'kindnet', [{ image: 'ghcr.io/aojea/kindnetd:v1.8.5', args: ['--network-policy=false'] }])], enforced: false, reason: /--network-policy=false/ },
    { name: "Podwall's own agent enforces", daemonSets: [daemonSet('kube-system', 'podwall-agent', [{ image: 'podwall:0.1.0', args: ['agent', '--health-address', '127.0.0.1:9743'] }])], enforced: true, reason: /Podwall's agent enforces/ },
    { name: 'an enforcer none of whose pods is ready cannot be relied on', daemonSets: [daemonSet('kube-system', 'calico-node', [{ image: 'calico/node:v3.29.1' }], { numberReady: 0, desiredNumberScheduled: 3 })], enforced: undefined, reason: /none of its 3 pods is ready/ },
    { name: 'no CNI Podwall knows cannot be told', daemonSets: [daemonSet('kube-system', 'kube-proxy', [{ image: 'registry.k8s.io/kube-proxy:v1.31.0' }])], enforced: undefined, reason: /no DaemonSet in every namespace runs a CNI Podwall knows/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const e = judgeEnforcement(c.daemonSets);
      assert.equal(e.enforced, c.enforced, e.reason);
      assert.match(e.reason, c.reason);
      assert.doesNotMatch(e.reason, /\n/);
    });
  }

  test('DaemonSets are listed in every namespace, or in kube-system when that is forbidden', async () => {
    let everywhere = true;
    const api = await startFakeApi((path, query) => {
      if (path === '/apis/apps/v1/daemonsets') return everywhere ? pagedList([flannel], query, 'DaemonSet') : status(403, 'forbidden');
      if (path === '/apis/apps/v1/namespaces/kube-system/daemonsets') return pagedList([awsNode(['--enable-network-policy=true'])], query, 'DaemonSet');
      return undefined;
    });
    try {
      const options = live(api.kubeconfig());
      const all = await detectPolicyEnforcement(options);
      assert.equal(all.enforced, false);
      assert.match(all.reason, /kube-flannel\/kube-flannel-ds/);
      everywhere = false;
      const kubeSystem = await detectPolicyEnforcement(options);
      assert.equal(kubeSystem.enforced, true, kubeSystem.reason);
      assert.match(kubeSystem.reason, /kube-system\/aws-node/);
    } finally {
      await api.close();
    }
  });

  test('lint on a cluster whose only CNI is Flannel warns that nothing enforces its policies; with Calico beside it, it does not', async () => {
    let daemonSets = [flannel];
    const policy = { metadata: { name: 'deny', namespace: 'default' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    const api = await startFakeApi((path, query) => {
      if (path === '/apis/apps/v1/daemonsets') return pagedList(daemonSets, query, 'DaemonSet');
      if (path === '/apis/networking.k8s.io/v1/networkpolicies') return pagedList([policy], query, 'NetworkPolicy');
      if (path === '/api/v1/pods') return pagedList([realPod('web', '10.0.0.5', { app: 'web' })], query, 'Pod');
      const kind = [...CLUSTER_COLLECTIONS, ...ADMIN_COLLECTIONS].find((c) => path.endsWith(`/${c.plural}`))?.kind;
      return kind ? pagedList([], query, kind) : undefined;
    });
    try {
      const warned = capture();
      assert.equal(await main(['lint', '--kubeconfig', api.kubeconfig(), '--fail-on', 'warning'], warned), 1, warned.errors.join('\n'));
      assert.match(warned.lines.join('\n'), /warning: policies exist but nothing enforces them: DaemonSet kube-flannel\/kube-flannel-ds \(docker\.io\/flannel\/flannel:v0\.26\.1\): Flannel does not enforce NetworkPolicy.*\[PW-NOT-ENFORCED\]/);
      daemonSets = [flannel, daemonSet('kube-system', 'calico-node', [{ image: 'docker.io/calico/node:v3.29.1' }])];
      const quiet = capture();
      await main(['lint', '--kubeconfig', api.kubeconfig()], quiet);
      assert.doesNotMatch(quiet.lines.join('\n'), /PW-NOT-ENFORCED/);
    } finally {
      await api.close();
    }
  });

  test('manifests (no running cluster) cannot tell', async () => {
    assert.equal((await detectPolicyEnforcement({ namespace: 'default', filename: ['x.yaml'] })).enforced, undefined);
  });
});
