// Real applications' manifests, as their authors published them (../shared/wild/<app>/SOURCE.md):
// each must load as it is, and the flows each app needs, and those its policies forbid, are pinned
// here from reading the policies. Some pins record the policies' own mistakes, on purpose.
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  compileCluster,
  computeMatrix,
  computeServiceMatrix,
  evaluateServiceConnection,
  resolveService,
  resolveTarget,
  type ServiceConnectionVerdict,
  computeMatrixPairwise,
  declaredPorts,
  describePeer,
  evaluateConnection,
  explainEndpoints,
  formatPolicyRef,
  formatRuleRef,
  peerMatches,
  policySelects,
  resolvePeer,
  type CompiledCluster,
  type TrafficPeer,
  type Verdict,
} from '../src/engine/index.js';
import { formatDiagnostic, loadManifests, loadTexts, type BuildResult, type Protocol } from '../src/model/index.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WILD = resolve(REPO_ROOT, '../shared/wild');

/** An address outside every app: traffic from/to the Internet. */
const OUTSIDE = '203.0.113.10';

interface App {
  readonly built: BuildResult;
  readonly compiled: CompiledCluster;
}

const APPS: Record<string, { namespace?: string }> = {
  'aks-regulated': {},
  argocd: {},
  'calico-stars': {},
  'eks-retail-store': {},
  // No object names a namespace; the project's docs apply it to the current one.
  'online-boutique': { namespace: 'default' },
  'sock-shop': {},
};

const cache = new Map<string, App>();

function app(name: string): App {
  let loaded = cache.get(name);
  if (!loaded) {
    const built = loadManifests([resolve(WILD, name)], APPS[name]);
    const errors = built.diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(errors.map(formatDiagnostic), [], `${name} must load without errors`);
    assert.ok(built.cluster);
    loaded = { built, compiled: compileCluster(built.cluster) };
    cache.set(name, loaded);
  }
  return loaded;
}

function peer(c: CompiledCluster, text: string): TrafficPeer {
  const r = resolvePeer(c, text);
  assert.ok('peer' in r, 'error' in r ? r.error : text);
  return r.peer;
}

function check(appName: string, from: string, to: string, port: number, protocol: Protocol = 'TCP'): Verdict {
  const c = app(appName).compiled;
  return evaluateConnection(c, { source: peer(c, from), destination: peer(c, to), port, protocol });
}

function allowed(appName: string, from: string, to: string, port: number, protocol: Protocol = 'TCP'): boolean {
  return check(appName, from, to, port, protocol).allowed;
}

/** The other endpoints of the app that may open a connection to `to` on `port`. */
function sourcesOf(appName: string, to: string, port: number, protocol: Protocol = 'TCP'): string[] {
  const c = app(appName).compiled;
  return c.cluster.endpoints
    .filter((e) => e.id !== to && allowed(appName, e.id, to, port, protocol))
    .map((e) => e.id);
}

const rules = (v: Verdict, direction: 'ingress' | 'egress'): string[] => v[direction].allowedBy.map(formatRuleRef);
const isolating = (v: Verdict, direction: 'ingress' | 'egress'): string[] => v[direction].isolatingPolicies.map(formatPolicyRef);

function endpointIds(appName: string): string[] {
  return app(appName).compiled.cluster.endpoints.map((e) => e.id);
}

function policyIds(appName: string): string[] {
  return app(appName).compiled.cluster.policies.map((p) => `${p.namespace}/${p.name}`);
}

/** Policies whose podSelector matches no endpoint of the app. */
function idlePolicies(appName: string): string[] {
  const c = app(appName).compiled;
  return c.policies.filter((p) => !c.cluster.endpoints.some((e) => policySelects(p, e))).map((p) => formatPolicyRef(p.ref));
}

/** Rule peers that match no endpoint of the app (they may still match pods outside the input). */
function idlePeers(appName: string): string[] {
  const c = app(appName).compiled;
  const out = new Set<string>();
  for (const p of c.policies) {
    for (const rule of [...p.rules.Ingress, ...p.rules.Egress]) {
      for (const pr of rule.peers ?? []) {
        if (pr.kind === 'pods' && !c.cluster.endpoints.some((e) => peerMatches(c, pr, e, undefined))) {
          out.add(`${formatRuleRef({ tier: 'NetworkPolicy', policy: p.ref, direction: rule.direction, index: rule.index })}: ${describePeer(pr)}`);
        }
      }
    }
  }
  return [...out];
}

// ---------------------------------------------------------------------------------------------
// Loader behaviour the wild data needed, pinned on minimal inputs.

const NS = (labels: string): string => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n${labels}`;

test('loader: a comment-only document between two --- lines, or an explicit null one, is skipped as kubectl skips it', () => {
  const text = `---\n# Source: a.yaml\n---\n${NS('')}---\nnull\n---\n~\n---\n`;
  const built = loadTexts([{ file: 'x.yaml', text }]);
  assert.deepEqual(built.diagnostics, []);
  assert.deepEqual(built.cluster?.namespaces.map((n) => n.name), ['shop']);
  // A document that is a value but not an object is still refused.
  assert.equal(loadTexts([{ file: 'y.yaml', text: '---\n42\n' }]).cluster, undefined);
});

test('loader: a Namespace repeated with the same labels is a notice; with different labels, still AlreadyExists', () => {
  const same = loadTexts([
    { file: 'a.yaml', text: NS('  labels: {team: a}\n') },
    { file: 'b.yaml', text: NS('  labels: {team: a}\n  annotations: {note: x}\n') },
  ]);
  assert.deepEqual(same.diagnostics.map((d) => d.severity), ['notice']);
  assert.deepEqual(same.cluster?.namespaces[0].labels, { team: 'a', 'kubernetes.io/metadata.name': 'shop' });
  const different = loadTexts([
    { file: 'a.yaml', text: NS('  labels: {team: a}\n') },
    { file: 'b.yaml', text: NS('  labels: {team: b}\n') },
  ]);
  assert.equal(different.cluster, undefined);
  assert.match(different.diagnostics[0].message, /^AlreadyExists/);
});

// ---------------------------------------------------------------------------------------------
// Every app

for (const name of Object.keys(APPS)) {
  test(`${name}: explainEndpoints explains every endpoint, consistently with evaluateConnection`, () => {
    const c = app(name).compiled;
    const explained = explainEndpoints(c);
    assert.deepEqual(
      explained.map((x) => x.endpoint.id),
      c.cluster.endpoints.map((e) => e.id),
    );
    for (const x of explained) {
      // Who may reach x on its declared ports, per explain, must be what one-off verdicts say.
      for (const p of x.endpoint.ports) {
        const viaExplain = x.ingress.reach
          .filter((r) => r.ports.some((q) => q.port === p.containerPort && q.protocol === p.protocol))
          .map((r) => r.endpoint)
          .filter((id) => id !== x.endpoint.id);
        assert.deepEqual(viaExplain, sourcesOf(name, x.endpoint.id, p.containerPort, p.protocol), `${x.endpoint.id} ${p.containerPort}`);
      }
    }
  });

  test(`${name}: the class-based matrix equals pairwise verdicts on every declared port`, () => {
    const c = app(name).compiled;
    const n = c.cluster.endpoints.length;
    for (const target of declaredPorts(c.cluster.endpoints)) {
      const fast = computeMatrix(c, target);
      const slow = computeMatrixPairwise(c, target);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) assert.equal(fast.allowed(i, j), slow.allowed(i, j), `${target.port}/${target.protocol} ${i}->${j}`);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// online-boutique: deny-all, then one ingress allow-list per service; egress open for every service.

const OB = 'online-boutique';
const ob = (name: string): string => `default/deployment/${name}`;

test('online-boutique: loads with no errors into its 12 Deployments and 13 policies in the default namespace', () => {
  assert.deepEqual(
    endpointIds(OB),
    [
      'adservice',
      'cartservice',
      'checkoutservice',
      'currencyservice',
      'emailservice',
      'frontend',
      'loadgenerator',
      'paymentservice',
      'productcatalogservice',
      'recommendationservice',
      'redis-cart',
      'shippingservice',
    ].map(ob),
  );
  assert.equal(policyIds(OB).length, 13);
  assert.ok(policyIds(OB).every((id) => id.startsWith('default/')));
  assert.deepEqual(idlePolicies(OB), []);
  assert.deepEqual(idlePeers(OB), []);
});

test('online-boutique: -n moves every object, policies included, and changes no verdict', () => {
  const built = loadManifests([resolve(WILD, OB)], { namespace: 'shop' });
  assert.ok(built.cluster);
  const c = compileCluster(built.cluster);
  assert.ok(c.cluster.endpoints.every((e) => e.namespace === 'shop'));
  assert.ok(c.cluster.policies.every((p) => p.namespace === 'shop'));
  const v = (from: string, to: string, port: number): boolean =>
    evaluateConnection(c, { source: peer(c, `shop/deployment/${from}`), destination: peer(c, `shop/deployment/${to}`), port, protocol: 'TCP' }).allowed;
  assert.equal(v('frontend', 'cartservice', 7070), true);
  assert.equal(v('adservice', 'cartservice', 7070), false);
});

test('online-boutique: deny-all isolates every pod for ingress and egress', () => {
  for (const x of explainEndpoints(app(OB).compiled)) {
    assert.ok(x.ingress.isolatingPolicies.some((p) => p.name === 'deny-all'), x.endpoint.id);
    assert.ok(x.egress.isolatingPolicies.some((p) => p.name === 'deny-all'), x.endpoint.id);
  }
});

test('online-boutique: every call the services make (their *_SERVICE_ADDR) is allowed', () => {
  const needed: [string, string, number][] = [
    ['frontend', 'productcatalogservice', 3550],
    ['frontend', 'currencyservice', 7000],
    ['frontend', 'cartservice', 7070],
    ['frontend', 'recommendationservice', 8080],
    ['frontend', 'shippingservice', 50051],
    ['frontend', 'checkoutservice', 5050],
    ['frontend', 'adservice', 9555],
    ['checkoutservice', 'productcatalogservice', 3550],
    ['checkoutservice', 'shippingservice', 50051],
    ['checkoutservice', 'paymentservice', 50051],
    ['checkoutservice', 'emailservice', 8080], // Service port 5000 -> targetPort 8080
    ['checkoutservice', 'currencyservice', 7000],
    ['checkoutservice', 'cartservice', 7070],
    ['recommendationservice', 'productcatalogservice', 3550],
    ['cartservice', 'redis-cart', 6379],
    ['loadgenerator', 'frontend', 8080],
  ];
  for (const [from, to, port] of needed) assert.equal(allowed(OB, ob(from), ob(to), port), true, `${from} -> ${to}:${port}`);
});

test('online-boutique: only frontend and checkoutservice may reach cartservice on 7070', () => {
  assert.deepEqual(sourcesOf(OB, ob('cartservice'), 7070), [ob('checkoutservice'), ob('frontend')]);
  const v = check(OB, ob('frontend'), ob('cartservice'), 7070);
  assert.deepEqual(rules(v, 'ingress'), ['default/cartservice ingress[0]']);
  assert.deepEqual(rules(v, 'egress'), ['default/frontend egress[0]']);
});

test('online-boutique: a pair the app does not use (adservice -> cartservice) is denied by cartservice ingress, no rule allows it', () => {
  const v = check(OB, ob('adservice'), ob('cartservice'), 7070);
  assert.equal(v.allowed, false);
  assert.equal(v.egress.allowed, true); // adservice's egress: [{}] lets it try
  assert.deepEqual(rules(v, 'egress'), ['default/adservice egress[0]']);
  assert.equal(v.ingress.allowed, false);
  assert.deepEqual(rules(v, 'ingress'), []);
  assert.deepEqual(isolating(v, 'ingress'), ['default/cartservice', 'default/deny-all']);
});

test('online-boutique: only cartservice may reach redis-cart on 6379', () => {
  assert.deepEqual(sourcesOf(OB, ob('redis-cart'), 6379), [ob('cartservice')]);
});

test('online-boutique: only checkoutservice may reach paymentservice (50051) and emailservice (8080)', () => {
  assert.deepEqual(sourcesOf(OB, ob('paymentservice'), 50051), [ob('checkoutservice')]);
  assert.deepEqual(sourcesOf(OB, ob('emailservice'), 8080), [ob('checkoutservice')]);
});

test('online-boutique: productcatalogservice on 3550 only from checkoutservice, frontend and recommendationservice', () => {
  assert.deepEqual(sourcesOf(OB, ob('productcatalogservice'), 3550), [ob('checkoutservice'), ob('frontend'), ob('recommendationservice')]);
});

test('online-boutique: allow-lists name one port: frontend -> cartservice on 6379 is denied', () => {
  assert.equal(allowed(OB, ob('frontend'), ob('cartservice'), 6379), false);
});

test('online-boutique: frontend accepts anyone on any port, outside the cluster included (ingress: [{}])', () => {
  const v = check(OB, OUTSIDE, ob('frontend'), 8080);
  assert.equal(v.allowed, true);
  assert.deepEqual(rules(v, 'ingress'), ['default/frontend ingress[0]']);
  assert.equal(allowed(OB, OUTSIDE, ob('cartservice'), 7070), false);
});

test('online-boutique: loadgenerator accepts no connection (its policy names only Egress; deny-all isolates its ingress)', () => {
  const v = check(OB, ob('frontend'), ob('loadgenerator'), 8080);
  assert.equal(v.allowed, false);
  assert.deepEqual(isolating(v, 'ingress'), ['default/deny-all']);
});

// ---------------------------------------------------------------------------------------------
// sock-shop: ingress allow-lists per service, written for the pre-v1 DefaultDeny annotation.

const SS = 'sock-shop';
const ss = (name: string): string => `sock-shop/deployment/${name}`;
const PROMETHEUS = 'monitoring/deployment/prometheus-deployment';

test('sock-shop: loads with no errors into its 16 workloads and 13 policies', () => {
  assert.deepEqual(endpointIds(SS), [
    'monitoring/daemonset/node-directory-size-metrics',
    PROMETHEUS,
    ...[
      'carts',
      'carts-db',
      'catalogue',
      'catalogue-db',
      'front-end',
      'orders',
      'orders-db',
      'payment',
      'queue-master',
      'rabbitmq',
      'session-db',
      'shipping',
      'user',
      'user-db',
    ].map(ss),
  ]);
  assert.equal(policyIds(SS).length, 13);
});

test('sock-shop: Namespace sock-shop defined twice with the same labels is a notice, not an error', () => {
  const notices = app(SS).built.diagnostics.filter((d) => d.severity === 'notice');
  assert.equal(notices.length, 1);
  assert.equal(notices[0].object, 'Namespace sock-shop');
  assert.match(notices[0].file, /manifests-policy\.yaml$/);
});

test('sock-shop: cortex-access (podSelector {matchLabels: null}) selects every sock-shop pod, so all are isolated for ingress', () => {
  for (const x of explainEndpoints(app(SS).compiled)) {
    const inShop = x.endpoint.namespace === 'sock-shop';
    assert.equal(x.ingress.isolated, inShop, x.endpoint.id);
    if (inShop) assert.ok(x.ingress.isolatingPolicies.some((p) => p.name === 'cortex-access'), x.endpoint.id);
    assert.equal(x.egress.isolated, false, x.endpoint.id);
  }
});

test('sock-shop: front-end accepts anyone on 8079, outside the cluster included', () => {
  const v = check(SS, OUTSIDE, ss('front-end'), 8079);
  assert.equal(v.allowed, true);
  assert.deepEqual(rules(v, 'ingress'), ['sock-shop/front-end-access ingress[0]']);
  assert.equal(allowed(SS, OUTSIDE, ss('front-end'), 80), false);
});

test('sock-shop: front-end may reach catalogue, user and orders on 80', () => {
  for (const to of ['catalogue', 'user', 'orders']) {
    assert.equal(allowed(SS, ss('front-end'), ss(to), 80), true, to);
  }
  assert.deepEqual(rules(check(SS, ss('front-end'), ss('catalogue'), 80), 'ingress'), ['sock-shop/catalogue-access ingress[0]']);
});

test('sock-shop: each database is reachable only from its own service', () => {
  assert.deepEqual(sourcesOf(SS, ss('catalogue-db'), 3306), [ss('catalogue')]);
  assert.deepEqual(sourcesOf(SS, ss('user-db'), 27017), [ss('user')]);
  assert.deepEqual(sourcesOf(SS, ss('orders-db'), 27017), [ss('orders')]);
  const v = check(SS, ss('front-end'), ss('catalogue-db'), 3306);
  assert.equal(v.allowed, false);
  assert.deepEqual(isolating(v, 'ingress'), ['sock-shop/catalogue-db-access', 'sock-shop/cortex-access']);
});

test('sock-shop: cart-access and carts-db-access say name=cart, but the pods are name=carts: carts and carts-db are unreachable', () => {
  assert.deepEqual(idlePolicies(SS), ['sock-shop/cart-access']);
  assert.deepEqual(sourcesOf(SS, ss('carts'), 80), []);
  assert.deepEqual(sourcesOf(SS, ss('carts-db'), 27017), []);
  const v = check(SS, ss('front-end'), ss('carts'), 80);
  assert.equal(v.allowed, false);
  assert.deepEqual(isolating(v, 'ingress'), ['sock-shop/cortex-access']); // cart-access does not select carts
  assert.equal(allowed(SS, ss('orders'), ss('carts'), 80), false);
  assert.equal(allowed(SS, ss('carts'), ss('carts-db'), 27017), false);
});

test('sock-shop: no policy admits front-end to session-db, which it uses (SESSION_REDIS), so 6379 is closed', () => {
  assert.deepEqual(sourcesOf(SS, ss('session-db'), 6379), []);
});

test('sock-shop: payment and shipping accept only orders on 80; rabbitmq only shipping and queue-master on 5672', () => {
  assert.deepEqual(sourcesOf(SS, ss('payment'), 80), [ss('orders')]);
  assert.deepEqual(sourcesOf(SS, ss('shipping'), 80), [ss('orders')]);
  assert.deepEqual(sourcesOf(SS, ss('rabbitmq'), 5672), [ss('queue-master'), ss('shipping')]);
});

test('sock-shop: Prometheus (namespace monitoring) cannot scrape sock-shop services; cortex-access admits only name=cortex, which no pod has', () => {
  assert.equal(allowed(SS, PROMETHEUS, ss('catalogue'), 80), false);
  assert.equal(allowed(SS, PROMETHEUS, ss('rabbitmq'), 9090), false);
  assert.deepEqual(idlePeers(SS), [
    'sock-shop/carts-db-access ingress[0]: pods with name=cart in namespace sock-shop',
    'sock-shop/cortex-access ingress[0]: pods with name=cortex in namespace sock-shop',
  ]);
});

test('sock-shop: the pre-v1 DefaultDeny namespace annotation means nothing; the monitoring namespace stays open', () => {
  assert.equal(allowed(SS, ss('front-end'), PROMETHEUS, 9090), true);
});

// ---------------------------------------------------------------------------------------------
// calico-stars: default-deny in stars and client, then the star: ui -> everything, client ->
// frontend, frontend -> backend.

const CS = 'calico-stars';
const UI = 'management-ui/replicationcontroller/management-ui';
const FRONTEND = 'stars/replicationcontroller/frontend';
const BACKEND = 'stars/replicationcontroller/backend';
const CLIENT = 'client/replicationcontroller/client';

test('calico-stars: loads with no errors; ReplicationControllers without spec.selector become endpoints', () => {
  assert.deepEqual(endpointIds(CS), [CLIENT, UI, BACKEND, FRONTEND]);
  assert.deepEqual(policyIds(CS), [
    'client/allow-ui',
    'client/default-deny',
    'stars/allow-ui',
    'stars/backend-policy',
    'stars/default-deny',
    'stars/frontend-policy',
  ]);
  // `name: backend ` with a trailing space is a plain scalar: the space is not part of the value.
  assert.deepEqual(app(CS).compiled.endpointsById.get(BACKEND)?.labels, { role: 'backend' });
  assert.deepEqual(idlePolicies(CS), []);
  assert.deepEqual(idlePeers(CS), []);
});

test('calico-stars: backend accepts 6379 only from frontend (backend-policy) and management-ui (allow-ui)', () => {
  assert.deepEqual(sourcesOf(CS, BACKEND, 6379), [UI, FRONTEND]);
  assert.deepEqual(rules(check(CS, FRONTEND, BACKEND, 6379), 'ingress'), ['stars/backend-policy ingress[0]']);
  assert.deepEqual(rules(check(CS, UI, BACKEND, 6379), 'ingress'), ['stars/allow-ui ingress[0]']);
});

test('calico-stars: client may not reach backend; no rule admits it', () => {
  const v = check(CS, CLIENT, BACKEND, 6379);
  assert.equal(v.allowed, false);
  assert.deepEqual(rules(v, 'ingress'), []);
  assert.deepEqual(isolating(v, 'ingress'), ['stars/allow-ui', 'stars/backend-policy', 'stars/default-deny']);
});

test('calico-stars: frontend accepts 80 only from the client namespace and management-ui', () => {
  assert.deepEqual(sourcesOf(CS, FRONTEND, 80), [CLIENT, UI]);
  assert.deepEqual(rules(check(CS, CLIENT, FRONTEND, 80), 'ingress'), ['stars/frontend-policy ingress[0]']);
  assert.equal(allowed(CS, BACKEND, FRONTEND, 80), false);
});

test('calico-stars: client accepts only management-ui (client/allow-ui)', () => {
  assert.deepEqual(sourcesOf(CS, CLIENT, 9000), [UI]);
  assert.equal(allowed(CS, FRONTEND, CLIENT, 9000), false);
});

test('calico-stars: allow-ui names no ports: management-ui may reach every star on any port', () => {
  for (const to of [BACKEND, FRONTEND, CLIENT]) assert.equal(allowed(CS, UI, to, 12345), true, to);
});

test('calico-stars: management-ui is never isolated: every star, and the outside, may reach it on 9001', () => {
  assert.deepEqual(sourcesOf(CS, UI, 9001), [CLIENT, BACKEND, FRONTEND]);
  assert.equal(allowed(CS, OUTSIDE, UI, 9001), true);
  for (const x of explainEndpoints(app(CS).compiled)) assert.equal(x.egress.isolated, false, x.endpoint.id);
});

// ---------------------------------------------------------------------------------------------
// eks-retail-store: ui may only talk to service pods; catalog and orders admit only ui; catalog's
// database admits only catalog.

const ER = 'eks-retail-store';
const UI_POD = 'ui/deployment/ui';
const CATALOG = 'catalog/deployment/catalog';
const CATALOG_DB = 'catalog/statefulset/catalog-mysql';
const ORDERS = 'orders/deployment/orders';
const ORDERS_DB = 'orders/statefulset/orders-postgresql';
const CHECKOUT = 'checkout/deployment/checkout';

test('eks-retail-store: loads with no errors into 7 Deployments, 2 StatefulSets and 5 policies', () => {
  assert.deepEqual(endpointIds(ER), [
    'carts/deployment/carts',
    'carts/deployment/carts-dynamodb',
    CATALOG,
    CATALOG_DB,
    CHECKOUT,
    'checkout/deployment/checkout-redis',
    ORDERS,
    ORDERS_DB,
    UI_POD,
  ]);
  assert.deepEqual(policyIds(ER), [
    'catalog/allow-catalog-ingress-db',
    'catalog/allow-catalog-ingress-webservice',
    'orders/allow-orders-ingress-webservice',
    'ui/allow-ui-egress',
    'ui/default-deny',
  ]);
  assert.ok(app(ER).compiled.cluster.namespaces.some((n) => n.name === 'other' && n.declared));
  // kube-system (for DNS) is not part of the input.
  assert.deepEqual(idlePeers(ER), ['ui/allow-ui-egress egress[0]: all pods in namespaces with kubernetes.io/metadata.name=kube-system']);
});

test('eks-retail-store: catalog-mysql accepts only the catalog service pods', () => {
  assert.deepEqual(sourcesOf(ER, CATALOG_DB, 3306), [CATALOG]);
  const v = check(ER, CATALOG, CATALOG_DB, 3306);
  assert.deepEqual(rules(v, 'ingress'), ['catalog/allow-catalog-ingress-db ingress[0]']);
  assert.equal(allowed(ER, UI_POD, CATALOG_DB, 3306), false);
});

test('eks-retail-store: catalog accepts only ui pods of namespace ui', () => {
  assert.deepEqual(sourcesOf(ER, CATALOG, 8080), [UI_POD]);
  const v = check(ER, UI_POD, CATALOG, 8080);
  assert.deepEqual(rules(v, 'egress'), ['ui/allow-ui-egress egress[0]']);
  assert.deepEqual(rules(v, 'ingress'), ['catalog/allow-catalog-ingress-webservice ingress[0]']);
});

test('eks-retail-store: ui may reach the service pod of every component ({matchLabels: null} selects all namespaces)', () => {
  for (const to of ['carts/deployment/carts', CATALOG, CHECKOUT, ORDERS]) assert.equal(allowed(ER, UI_POD, to, 8080), true, to);
});

test('eks-retail-store: ui egress stops at service pods: no database, nothing outside the cluster', () => {
  for (const [to, port] of [
    [CATALOG_DB, 3306],
    ['checkout/deployment/checkout-redis', 6379],
    ['carts/deployment/carts-dynamodb', 8000],
    [ORDERS_DB, 5432],
  ] as const) {
    const v = check(ER, UI_POD, to, port);
    assert.equal(v.egress.allowed, false, to);
  }
  const out = check(ER, UI_POD, OUTSIDE, 443);
  assert.equal(out.allowed, false);
  assert.deepEqual(isolating(out, 'egress'), ['ui/allow-ui-egress', 'ui/default-deny']);
});

test('eks-retail-store: orders admits only ui, so checkout cannot reach orders though it calls it (RETAIL_CHECKOUT_ENDPOINTS_ORDERS)', () => {
  assert.deepEqual(sourcesOf(ER, ORDERS, 8080), [UI_POD]);
  const v = check(ER, CHECKOUT, ORDERS, 8080);
  assert.equal(v.allowed, false);
  assert.deepEqual(isolating(v, 'ingress'), ['orders/allow-orders-ingress-webservice']);
});

test('eks-retail-store: orders-postgresql, carts and checkout have no policy: anyone may reach them', () => {
  assert.equal(allowed(ER, CHECKOUT, ORDERS_DB, 5432), true);
  assert.equal(allowed(ER, OUTSIDE, 'carts/deployment/carts', 8080), true);
  assert.equal(allowed(ER, CATALOG, CHECKOUT, 8080), true);
});

// ---------------------------------------------------------------------------------------------
// aks-regulated: per namespace a `default` deny-all (DNS egress only), then per microservice an
// allow-list on the named port `web`: ingress-nginx -> web-frontend -> a -> b -> c.

const AK = 'aks-regulated';
const NGINX = 'ingress-nginx/deployment/ingress-nginx-controller';
const WEB = 'a0005-i/deployment/web-frontend';
const MS_A = 'a0005-o/deployment/microservice-a';
const MS_B = 'a0005-o/deployment/microservice-b';
const MS_C = 'a0005-i/deployment/microservice-c';

test('aks-regulated: loads with no errors into 5 Deployments, 2 Jobs and 6 policies (two named default)', () => {
  assert.deepEqual(endpointIds(AK), [
    MS_C,
    WEB,
    MS_A,
    MS_B,
    'ingress-nginx/job/ingress-nginx-admission-create',
    'ingress-nginx/job/ingress-nginx-admission-patch',
    NGINX,
  ]);
  assert.deepEqual(policyIds(AK), [
    'a0005-i/default',
    'a0005-i/microservice-c',
    'a0005-i/web-frontend',
    'a0005-o/default',
    'a0005-o/microservice-a',
    'a0005-o/microservice-b',
  ]);
  assert.deepEqual(idlePolicies(AK), []);
  // The DNS rule's kube-dns pods live in kube-system, which is not part of the input.
  assert.deepEqual(idlePeers(AK), [
    'a0005-i/default egress[0]: pods with k8s-app=kube-dns,kubernetes.io/cluster-service=true in namespaces with kubernetes.io/cluster-service=true',
    'a0005-o/default egress[0]: pods with k8s-app=kube-dns,kubernetes.io/cluster-service=true in namespaces with kubernetes.io/cluster-service=true',
  ]);
});

test('aks-regulated: the request chain ingress-nginx -> web-frontend -> microservice-a -> microservice-b -> microservice-c is allowed on web (8080)', () => {
  const chain = [NGINX, WEB, MS_A, MS_B, MS_C];
  for (let i = 0; i + 1 < chain.length; i++) assert.equal(allowed(AK, chain[i], chain[i + 1], 8080), true, `${chain[i]} -> ${chain[i + 1]}`);
  const v = check(AK, MS_B, MS_C, 8080);
  assert.deepEqual(rules(v, 'egress'), ['a0005-o/microservice-b egress[1]']);
  assert.deepEqual(rules(v, 'ingress'), ['a0005-i/microservice-c ingress[0]']);
});

test('aks-regulated: each hop admits only its predecessor: no shortcut through the chain', () => {
  assert.deepEqual(sourcesOf(AK, WEB, 8080), [NGINX]);
  assert.deepEqual(sourcesOf(AK, MS_A, 8080), [WEB]);
  assert.deepEqual(sourcesOf(AK, MS_B, 8080), [MS_A]);
  assert.deepEqual(sourcesOf(AK, MS_C, 8080), [MS_B]);
  const v = check(AK, WEB, MS_B, 8080);
  assert.equal(v.egress.allowed, false);
  assert.equal(v.ingress.allowed, false);
});

test('aks-regulated: the named port web means 8080 only: ingress-nginx -> web-frontend on 80 is denied', () => {
  assert.equal(allowed(AK, NGINX, WEB, 80), false);
});

test('aks-regulated: only microservice-a may reach the Internet on 443 (ipBlock 0.0.0.0/0)', () => {
  const v = check(AK, MS_A, OUTSIDE, 443);
  assert.equal(v.allowed, true);
  assert.deepEqual(rules(v, 'egress'), ['a0005-o/microservice-a egress[2]']);
  for (const from of [WEB, MS_B, MS_C]) assert.equal(allowed(AK, from, OUTSIDE, 443), false, from);
  assert.equal(allowed(AK, MS_A, OUTSIDE, 80), false);
});

test('aks-regulated: every a0005 pod may connect anywhere on TCP 15128 (an egress rule with ports and no peers)', () => {
  for (const from of [WEB, MS_A, MS_B, MS_C]) assert.equal(allowed(AK, from, OUTSIDE, 15128), true, from);
  // ... but the a0005 pods do not accept it: their ingress stays closed on 15128.
  assert.equal(allowed(AK, WEB, MS_C, 15128), false);
});

test('aks-regulated: DNS to a resolver outside the input is denied (the rule names kube-dns pods only)', () => {
  const v = check(AK, WEB, OUTSIDE, 53, 'UDP');
  assert.equal(v.allowed, false);
  assert.deepEqual(rules(v, 'egress'), []);
});

test('aks-regulated: namespace ingress-nginx has no policy: its controller accepts anyone', () => {
  assert.equal(allowed(AK, OUTSIDE, NGINX, 443), true);
  assert.equal(allowed(AK, MS_C, NGINX, 8443), false); // microservice-c's egress is closed to it
});

// ---------------------------------------------------------------------------------------------
// argocd: ingress-only policies per component; egress is never isolated.

const AC = 'argocd';
const ac = (kind: string, name: string): string => `argocd/${kind}/argocd-${name}`;
const SERVER = ac('deployment', 'server');
const REPO = ac('deployment', 'repo-server');
const REDIS = ac('deployment', 'redis');
const DEX = ac('deployment', 'dex-server');
const APP_CONTROLLER = ac('statefulset', 'application-controller');
const APPSET = ac('deployment', 'applicationset-controller');
const NOTIFICATIONS = ac('deployment', 'notifications-controller');

test('argocd: loads with no errors into 6 Deployments, 1 StatefulSet and 7 policies', () => {
  assert.deepEqual(endpointIds(AC), [APP_CONTROLLER, APPSET, DEX, NOTIFICATIONS, REDIS, REPO, SERVER]);
  assert.equal(policyIds(AC).length, 7);
  assert.deepEqual(idlePolicies(AC), []);
  assert.deepEqual(idlePeers(AC), []);
});

test('argocd: no policy names Egress: every component may connect anywhere', () => {
  for (const x of explainEndpoints(app(AC).compiled)) {
    assert.equal(x.egress.isolated, false, x.endpoint.id);
    assert.equal(x.ingress.isolated, true, x.endpoint.id);
  }
});

test('argocd: argocd-server accepts anyone on any port (ingress: [{}])', () => {
  const v = check(AC, OUTSIDE, SERVER, 8080);
  assert.equal(v.allowed, true);
  assert.deepEqual(rules(v, 'ingress'), ['argocd/argocd-server-network-policy ingress[0]']);
});

test('argocd: redis accepts 6379 only from application-controller, repo-server and server', () => {
  assert.deepEqual(sourcesOf(AC, REDIS, 6379), [APP_CONTROLLER, REPO, SERVER]);
  const v = check(AC, DEX, REDIS, 6379);
  assert.equal(v.allowed, false);
  assert.deepEqual(isolating(v, 'ingress'), ['argocd/argocd-redis-network-policy']);
});

test('argocd: repo-server 8081 only from application-controller, applicationset-controller, notifications-controller and server', () => {
  assert.deepEqual(sourcesOf(AC, REPO, 8081), [APP_CONTROLLER, APPSET, NOTIFICATIONS, SERVER]);
});

test('argocd: metrics ports admit every pod of every namespace (namespaceSelector: {}) but not the outside', () => {
  for (const [to, port] of [
    [REPO, 8084],
    [DEX, 5558],
    [APP_CONTROLLER, 8082],
    [APPSET, 8080],
  ] as const) {
    assert.equal(allowed(AC, REDIS, to, port), true, `${to}:${port}`);
    assert.equal(allowed(AC, OUTSIDE, to, port), false, `outside -> ${to}:${port}`);
  }
});

test('argocd: dex 5556 and 5557 only from argocd-server', () => {
  assert.deepEqual(sourcesOf(AC, DEX, 5556), [SERVER]);
  assert.deepEqual(sourcesOf(AC, DEX, 5557), [SERVER]);
  assert.deepEqual(rules(check(AC, SERVER, DEX, 5557), 'ingress'), ['argocd/argocd-dex-server-network-policy ingress[0]']);
});

test('argocd: the applicationset webhook (7000) is open to every pod, not to the outside', () => {
  assert.deepEqual(sourcesOf(AC, APPSET, 7000), [APP_CONTROLLER, DEX, NOTIFICATIONS, REDIS, REPO, SERVER]);
  assert.equal(allowed(AC, OUTSIDE, APPSET, 7000), false);
});

test('argocd: notifications-controller declares no container port; its policy opens 9001 to pods only', () => {
  assert.deepEqual(app(AC).compiled.endpointsById.get(NOTIFICATIONS)?.ports, []);
  assert.equal(allowed(AC, SERVER, NOTIFICATIONS, 9001), true);
  assert.equal(allowed(AC, SERVER, NOTIFICATIONS, 8080), false);
});

test('argocd: a port a component does not open is closed, even from argocd-server: application-controller on 8080', () => {
  const v = check(AC, SERVER, APP_CONTROLLER, 8080);
  assert.equal(v.allowed, false);
  assert.deepEqual(rules(v, 'ingress'), []);
});

// ---------------------------------------------------------------------------------------------
// Services: each app's Services answer as the kernel would after DNAT, per backend at its targetPort.

function toService(appName: string, from: string, service: string, port: number, protocol: Protocol = 'TCP'): ServiceConnectionVerdict {
  const c = app(appName).compiled;
  const r = resolveTarget(c, service);
  assert.ok('service' in r, `${service} is a Service`);
  const v = evaluateServiceConnection(c, peer(c, from), r.service, port, protocol);
  assert.ok(v, `${service} has port ${port}/${protocol}`);
  return v;
}

const backendPorts = (v: ServiceConnectionVerdict): [string, number | undefined, boolean | undefined][] => v.backends.map((b) => [b.backend.id, b.port, b.verdict?.allowed]);
const noteCodes = (v: ServiceConnectionVerdict): string[] => [...new Set(v.notes.map((n) => n.code))].sort();

for (const name of Object.keys(APPS)) {
  test(`${name}: every Service has a backend for every port, and the Service matrix equals the per-backend verdicts`, () => {
    const c = app(name).compiled;
    const services = c.cluster.services ?? [];
    assert.ok(services.length > 0, 'the app ships Services');
    for (const s of services) {
      const r = resolveService(c, s);
      s.ports.forEach((p, i) => assert.ok(r.backends.some((b) => b.ready && b.targetPorts[i] !== undefined), `${r.id} ${p.port}`));
    }
    const m = computeServiceMatrix(c);
    for (let i = 0; i < c.cluster.endpoints.length; i++) {
      m.columns.forEach((col, j) => {
        const v = evaluateServiceConnection(c, { kind: 'endpoint', endpoint: c.cluster.endpoints[i] }, col.service.service, col.port.port, col.port.protocol)!;
        assert.equal(m.allowed(i, j), v.allowed, `${m.sources[i]} -> ${col.service.id}:${col.port.port}`);
      });
    }
  });
}

test('sock-shop: from outside, the front-end Service (NodePort, 80 -> 8079) is allowed: front-end-access admits 8079 from anyone', () => {
  for (const port of [80, 30001]) {
    const v = toService(SS, OUTSIDE, 'sock-shop/service/front-end', port);
    assert.equal(v.allowed, true, `port ${port}`);
    assert.deepEqual(backendPorts(v), [[ss('front-end'), 8079, true]]);
    assert.deepEqual(v.backends[0].verdict!.ingress.allowedBy.map(formatRuleRef), ['sock-shop/front-end-access ingress[0]']);
    assert.deepEqual(noteCodes(v), [], 'a rule admitting every source does not depend on SNAT');
  }
});

test('sock-shop: asking for the front-end Deployment on 80 (today\'s wrong question) is denied, and the answer points at the Service', () => {
  const c = app(SS).compiled;
  const r = resolveTarget(c, 'front-end', 'sock-shop');
  assert.ok('peer' in r && r.peer.kind === 'endpoint' && r.peer.endpoint.id === ss('front-end'));
  assert.equal(r.sameNameService?.name, 'front-end');
  assert.equal(allowed(SS, OUTSIDE, ss('front-end'), 80), false);
});

test('sock-shop: the carts Service reaches no one: cart-access selects name=cart (the pods say carts), and cortex-access isolates every pod', () => {
  const v = toService(SS, ss('orders'), 'sock-shop/service/carts', 80);
  assert.deepEqual(backendPorts(v), [[ss('carts'), 80, false]]);
  assert.equal(v.allowed, false);
  assert.equal(toService(SS, ss('front-end'), 'sock-shop/service/catalogue', 80).allowed, true);
});

test('online-boutique: frontend-external is a LoadBalancer Service (80 -> 8080), allowed from outside; the ClusterIP frontend is not exposed', () => {
  const c = app(OB).compiled;
  const r = resolveTarget(c, 'frontend-external');
  assert.ok('service' in r, 'a name no endpoint has is the Service of that name');
  const v = toService(OB, OUTSIDE, 'default/service/frontend-external', 80);
  assert.deepEqual([v.allowed, backendPorts(v)], [true, [[ob('frontend'), 8080, true]]]);
  const internal = toService(OB, OUTSIDE, 'default/service/frontend', 80);
  assert.deepEqual([internal.reachable, internal.allowed, noteCodes(internal)], [false, false, ['not-exposed']]);
});

test('online-boutique: checkoutservice -> the emailservice Service on 5000 is judged at 8080 and allowed; frontend -> it is denied', () => {
  const v = toService(OB, ob('checkoutservice'), 'default/service/emailservice', 5000);
  assert.deepEqual([v.allowed, backendPorts(v)], [true, [[ob('emailservice'), 8080, true]]]);
  assert.equal(toService(OB, ob('frontend'), 'default/service/emailservice', 5000).allowed, false);
});

test('calico-stars: the management-ui NodePort (30002 -> 9001) is open from outside; the client reaches the stars frontend Service on 80', () => {
  assert.deepEqual(backendPorts(toService(CS, OUTSIDE, 'management-ui/service/management-ui', 30002)), [[UI, 9001, true]]);
  assert.equal(toService(CS, CLIENT, 'stars/service/frontend', 80).allowed, true);
  assert.equal(toService(CS, CLIENT, 'stars/service/backend', 6379).allowed, false);
});

test('eks-retail-store: ui reaches the catalog Service (80 -> the named port http = 8080); checkout -> the orders Service is denied', () => {
  assert.deepEqual(backendPorts(toService(ER, UI_POD, 'catalog/service/catalog', 80)), [[CATALOG, 8080, true]]);
  const v = toService(ER, CHECKOUT, 'orders/service/orders', 80);
  assert.deepEqual([v.allowed, backendPorts(v)], [false, [[ORDERS, 8080, false]]]);
});

test('aks-regulated: the ingress LoadBalancer (443 -> named https, externalTrafficPolicy: Local) is open from outside; each hop goes through its Service', () => {
  const lb = toService(AK, OUTSIDE, 'ingress-nginx/service/ingress-nginx-controller', 443);
  assert.deepEqual([lb.allowed, backendPorts(lb)], [true, [[NGINX, 443, true]]]);
  assert.ok(!noteCodes(lb).includes('nodeport-snat'), 'Local keeps the client address');
  assert.equal(toService(AK, WEB, 'a0005-o/service/microservice-a', 80).allowed, true);
  assert.equal(toService(AK, MS_B, 'a0005-i/service/microservice-c', 80).allowed, true);
  assert.equal(toService(AK, MS_A, 'a0005-i/service/microservice-c', 80).allowed, false);
});

test('argocd: the server Service maps 80 and 443 to 8080, open to every pod, not exposed outside; repo-server 8081 only from its callers', () => {
  for (const port of [80, 443]) assert.deepEqual(backendPorts(toService(AC, REDIS, 'argocd/service/argocd-server', port)), [[SERVER, 8080, true]]);
  assert.equal(toService(AC, OUTSIDE, 'argocd/service/argocd-server', 443).allowed, false);
  assert.equal(toService(AC, SERVER, 'argocd/service/argocd-repo-server', 8081).allowed, true);
  assert.equal(toService(AC, REDIS, 'argocd/service/argocd-repo-server', 8081).allowed, false);
});
