// One test per Service rule: how backends are found and their target ports resolved (per pod for a
// named targetPort, podutil.FindPort), how a connection to a Service is judged per backend after
// DNAT, which traps are explained (with their stable codes), how names resolve, and that the
// class-based Service matrix agrees with the per-backend verdicts cell by cell.
// Sources: k8s.io/api core/v1 types.go (ServiceSpec, ServicePort), discovery/v1 (EndpointSlice),
// the NetworkPolicy docs on SNAT ("the source IP that the NetworkPolicy acts on may be the IP of a
// LoadBalancer or of the Pod's node").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDiagnostic, loadTexts, type Protocol } from '../model/index.js';
import {
  compileCluster,
  computeServiceMatrix,
  destinationNotes,
  evaluateServiceConnection,
  explainServices,
  findService,
  resolvePeer,
  resolveService,
  resolveTarget,
  type CompiledCluster,
  type ServiceConnectionVerdict,
  type ServiceNoteCode,
  type TrafficPeer,
} from './index.js';

// ---------------------------------------------------------------------------------------------
// Builders: pods, workloads, Services, slices and policies as YAML text.

interface PodOptions {
  readonly ip?: string;
  /** `80`, `80/UDP`, `http:8080` */
  readonly ports?: readonly string[];
  readonly hostNetwork?: boolean;
}

function portsYaml(specs: readonly string[], indent: string): string {
  if (specs.length === 0) return '';
  return `\n${indent}ports:\n${specs
    .map((spec) => {
      const m = /^(?:([a-z0-9-]+):)?([0-9]+)(?:\/(TCP|UDP|SCTP))?$/.exec(spec)!;
      return `${indent}- containerPort: ${m[2]}${m[1] ? `\n${indent}  name: ${m[1]}` : ''}${m[3] ? `\n${indent}  protocol: ${m[3]}` : ''}`;
    })
    .join('\n')}`;
}

class Manifests {
  private readonly docs: string[] = [];

  pod(id: string, labels: Record<string, string>, options: PodOptions = {}): this {
    const [namespace, name] = id.split('/');
    this.docs.push(`apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}, labels: ${JSON.stringify(labels)}}
spec:
  hostNetwork: ${options.hostNetwork === true}
  containers:
  - name: c
    image: x${portsYaml(options.ports ?? [], '    ')}
${options.ip ? `status: {podIP: ${options.ip}}` : ''}`);
    return this;
  }

  deployment(id: string, labels: Record<string, string>, ports: readonly string[], replicas = 1): this {
    const [namespace, name] = id.split('/');
    this.docs.push(`apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: ${JSON.stringify(labels)}}
  template:
    metadata: {labels: ${JSON.stringify(labels)}}
    spec:
      containers:
      - name: c
        image: x${portsYaml(ports, '        ')}`);
    return this;
  }

  /** `spec` is the Service's spec as a flow-style or block YAML fragment at column 2. */
  service(id: string, spec: string): this {
    const [namespace, name] = id.split('/');
    this.docs.push(`apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n${spec}`);
    return this;
  }

  yaml(text: string): this {
    this.docs.push(text);
    return this;
  }

  build(): CompiledCluster {
    const built = loadTexts([{ file: 'cluster.yaml', text: this.docs.join('\n---\n') }]);
    const errors = built.diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(errors.map(formatDiagnostic), []);
    return compileCluster(built.cluster!);
  }
}

function policy(id: string, spec: string): string {
  const [namespace, name] = id.split('/');
  return `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n${spec}`;
}

function peer(c: CompiledCluster, text: string): TrafficPeer {
  const r = resolvePeer(c, text);
  assert.ok('peer' in r, 'error' in r ? r.error : text);
  return r.peer;
}

function toService(c: CompiledCluster, from: string, service: string, port: number, protocol: Protocol = 'TCP'): ServiceConnectionVerdict {
  const [ns, name] = service.split('/');
  const s = findService(c, ns, name);
  assert.ok(s, service);
  const v = evaluateServiceConnection(c, peer(c, from), s, port, protocol);
  assert.ok(v, `${service} has port ${port}`);
  return v;
}

const codes = (v: { notes: readonly { code: ServiceNoteCode }[] }): ServiceNoteCode[] => [...new Set(v.notes.map((n) => n.code))].sort();
const perBackend = (v: ServiceConnectionVerdict): [string, number | undefined, boolean | undefined][] =>
  v.backends.map((b) => [b.backend.id, b.port, b.verdict?.allowed]);

const OUTSIDE = '203.0.113.10';

// ---------------------------------------------------------------------------------------------

describe('backends and target ports', () => {
  test('a Service\'s backends are the endpoints its selector matches in its own namespace', () => {
    const c = new Manifests()
      .pod('shop/a', { app: 'web' }, { ports: ['8080'] })
      .pod('shop/b', { app: 'web', extra: 'x' }, { ports: ['8080'] })
      .pod('other/c', { app: 'web' }, { ports: ['8080'] })
      .service('shop/web', '  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]')
      .build();
    const r = resolveService(c, findService(c, 'shop', 'web')!);
    assert.equal(r.origin, 'selector');
    assert.deepEqual(
      r.backends.map((b) => [b.id, b.targetPorts]),
      [
        ['shop/a', [8080]],
        ['shop/b', [8080]],
      ],
    );
  });

  test('a named targetPort resolves per backend pod, like a named policy port: each is judged at its own number', () => {
    const c = new Manifests()
      .pod('shop/old', { app: 'api' }, { ports: ['http:8080'] })
      .pod('shop/new', { app: 'api' }, { ports: ['http:9090'] })
      .pod('shop/client', { role: 'client' })
      .service('shop/api', '  selector: {app: api}\n  ports: [{port: 80, targetPort: http}]')
      .yaml(policy('shop/api', '  podSelector: {matchLabels: {app: api}}\n  ingress: [{ports: [{port: 8080}]}]'))
      .build();
    const v = toService(c, 'shop/client', 'shop/api', 80);
    assert.deepEqual(perBackend(v), [
      ['shop/new', 9090, false],
      ['shop/old', 8080, true],
    ]);
    assert.equal(v.allowed, false);
    assert.deepEqual([v.routed, v.admitted], [2, 1]);
  });

  test('a backend that does not declare the named targetPort gets none of that port\'s traffic (target-port-undeclared)', () => {
    const c = new Manifests()
      .pod('shop/a', { app: 'api' }, { ports: ['http:8080'] })
      .pod('shop/b', { app: 'api' }, { ports: ['grpc:9090'] })
      .pod('shop/client', {})
      .service('shop/api', '  selector: {app: api}\n  ports: [{port: 80, targetPort: http}]')
      .build();
    const v = toService(c, 'shop/client', 'shop/api', 80);
    assert.deepEqual(perBackend(v), [
      ['shop/a', 8080, true],
      ['shop/b', undefined, undefined],
    ]);
    assert.equal(v.allowed, true, 'only routed backends count');
    assert.deepEqual(codes(v), ['target-port-undeclared']);
  });

  test('a named targetPort matches the container port of the same protocol only', () => {
    const c = new Manifests()
      .pod('shop/dns', { app: 'dns' }, { ports: ['dns:53/UDP', 'dns-tcp:53'] })
      .pod('shop/client', {})
      .service('shop/dns', '  selector: {app: dns}\n  ports: [{name: tcp, port: 53, targetPort: dns}]')
      .build();
    const v = toService(c, 'shop/client', 'shop/dns', 53);
    assert.equal(v.routed, 0);
    assert.equal(v.allowed, false);
    assert.ok(codes(v).includes('no-backends'));
  });

  test('a numeric targetPort the backend declares no container port for is judged, with a note that nothing would listen there', () => {
    const c = new Manifests()
      .pod('shop/a', { app: 'api' }, { ports: ['8080'] })
      .pod('shop/client', {})
      .service('shop/api', '  selector: {app: api}\n  ports: [{port: 80, targetPort: 9999}]')
      .build();
    const v = toService(c, 'shop/client', 'shop/api', 80);
    assert.deepEqual(perBackend(v), [['shop/a', 9999, true]]);
    assert.deepEqual(codes(v), ['target-port-undeclared']);
  });

  test('a Service whose selector matches nothing has no backends: denied, and said why (no-backends)', () => {
    const c = new Manifests().pod('shop/client', {}).service('shop/api', '  selector: {app: api}\n  ports: [{port: 80}]').build();
    const v = toService(c, 'shop/client', 'shop/api', 80);
    assert.equal(v.allowed, false);
    assert.equal(v.routed, 0);
    assert.match(v.notes.find((n) => n.code === 'no-backends')!.message, /selector \(app=api\) matches no pod or workload in namespace shop/);
  });

  test('a workload with replicas: 0 serves nothing (not-ready)', () => {
    const c = new Manifests().deployment('shop/api', { app: 'api' }, ['80'], 0).pod('shop/client', {}).service('shop/api', '  selector: {app: api}\n  ports: [{port: 80}]').build();
    const v = toService(c, 'shop/client', 'shop/api', 80);
    assert.equal(v.allowed, false);
    assert.deepEqual(codes(v), ['no-backends', 'not-ready']);
  });

  test('a Service without selector takes its backends from EndpointSlices, addresses matched to pods by IP (no-selector)', () => {
    const c = new Manifests()
      .pod('shop/db-0', { app: 'db' }, { ip: '10.1.0.5', ports: ['6432'] })
      .pod('shop/client', {}, { ip: '10.1.0.9' })
      .service('shop/db', '  ports: [{name: sql, port: 5432}]')
      .yaml(
        `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-abc, namespace: shop, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
endpoints:
- addresses: [10.1.0.5]
- addresses: [192.0.2.50]
- addresses: [10.1.0.77]
  conditions: {ready: false}
ports: [{name: sql, port: 6432}]`,
      )
      .yaml(policy('shop/client', '  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.1.0.0/16}}]}]'))
      .build();
    const v = toService(c, 'shop/client', 'shop/db', 5432);
    assert.equal(v.service.origin, 'endpointSlices');
    assert.deepEqual(perBackend(v), [
      ['shop/db-0', 6432, true],
      ['10.1.0.77', 6432, undefined],
      ['192.0.2.50', 6432, false],
    ]);
    assert.deepEqual(
      v.backends.map((b) => b.routed),
      [true, false, true],
      'a backend that is not ready gets no traffic',
    );
    assert.deepEqual(codes(v), ['external-backend', 'no-selector', 'not-ready']);
  });

  test('a Service without selector and without EndpointSlices has no backends, and says so', () => {
    const c = new Manifests().pod('shop/client', {}).service('shop/ext', '  ports: [{port: 443}]').build();
    const v = toService(c, 'shop/client', 'shop/ext', 443);
    assert.equal(v.allowed, false);
    assert.deepEqual(codes(v), ['no-backends', 'no-selector']);
    assert.match(v.notes.find((n) => n.code === 'no-selector')!.message, /no EndpointSlice names it/);
  });

  test('a headless Service has no DNAT: clients reach the backends directly, at the targetPort its slices publish (headless)', () => {
    const c = new Manifests()
      .pod('shop/db-0', { app: 'db' }, { ports: ['sql:5432'] })
      .pod('shop/client', {})
      .service('shop/db', '  clusterIP: None\n  selector: {app: db}\n  ports: [{port: 5432, targetPort: sql}]')
      .build();
    const v = toService(c, 'shop/client', 'shop/db', 5432);
    assert.deepEqual(perBackend(v), [['shop/db-0', 5432, true]]);
    assert.deepEqual(codes(v), ['headless']);
  });

  test('an ExternalName Service has no backends here, only a note (external-name)', () => {
    const c = new Manifests().service('shop/mail', '  type: ExternalName\n  externalName: smtp.example.com').build();
    const r = resolveService(c, findService(c, 'shop', 'mail')!);
    assert.deepEqual([r.origin, r.backends, r.notes.map((n) => n.code)], ['externalName', [], ['external-name']]);
  });
});

describe('reaching a Service from outside', () => {
  const base = (spec: string, ingress = "[{ports: [{port: 8080}]}]"): CompiledCluster =>
    new Manifests()
      .pod('shop/web', { app: 'web' }, { ports: ['8080'], ip: '10.1.0.2' })
      .service('shop/web', spec)
      .yaml(policy('shop/web', `  podSelector: {matchLabels: {app: web}}\n  ingress: ${ingress}`))
      .build();

  test('a ClusterIP Service is not reachable from outside: denied whatever the policies (not-exposed)', () => {
    const v = toService(base('  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]'), OUTSIDE, 'shop/web', 80);
    assert.equal(v.reachable, false);
    assert.equal(v.allowed, false);
    assert.ok(codes(v).includes('not-exposed'));
  });

  test('a NodePort Service is reached from outside on its port or its node port, judged at the targetPort', () => {
    const c = base('  type: NodePort\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]');
    for (const port of [80, 30080]) {
      const v = toService(c, OUTSIDE, 'shop/web', port);
      assert.deepEqual([v.allowed, v.via, perBackend(v)], [true, port === 80 ? 'port' : 'nodePort', [['shop/web', 8080, true]]]);
    }
  });

  test('with externalTrafficPolicy: Cluster, a verdict resting on ipBlock rules is flagged: the pod may see a node\'s address (nodeport-snat)', () => {
    const spec = (etp: string): string => `  type: LoadBalancer\n  externalTrafficPolicy: ${etp}\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]`;
    const ipBlock = '[{from: [{ipBlock: {cidr: 203.0.113.0/24}}], ports: [{port: 8080}]}]';
    const cluster = toService(base(spec('Cluster'), ipBlock), OUTSIDE, 'shop/web', 80);
    assert.equal(cluster.allowed, true);
    assert.deepEqual(codes(cluster), ['nodeport-snat']);
    assert.match(cluster.notes[0].message, /this verdict rests on ipBlock rules, which then judge the node's address/);
    assert.deepEqual(codes(toService(base(spec('Local'), ipBlock), OUTSIDE, 'shop/web', 80)), [], 'Local keeps the client address');
    assert.deepEqual(codes(toService(base(spec('Cluster')), OUTSIDE, 'shop/web', 80)), [], 'a rule admitting every source does not depend on the address');
  });

  test('loadBalancerSourceRanges drop other sources before any NetworkPolicy (source-ranges)', () => {
    const c = base('  type: LoadBalancer\n  loadBalancerSourceRanges: [198.51.100.0/24]\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]');
    const v = toService(c, OUTSIDE, 'shop/web', 80);
    assert.deepEqual([v.reachable, v.allowed, codes(v)], [false, false, ['source-ranges']]);
    assert.equal(toService(c, '198.51.100.7', 'shop/web', 80).allowed, true);
  });
});

describe('traps explained', () => {
  test('an ingress rule written with the Service port instead of the targetPort admits nothing after DNAT (service-port-in-policy)', () => {
    const c = new Manifests()
      .pod('shop/api', { app: 'api' }, { ports: ['8080'] })
      .pod('shop/web', { app: 'web' })
      .service('shop/api', '  selector: {app: api}\n  ports: [{port: 80, targetPort: 8080}]')
      .yaml(policy('shop/api', '  podSelector: {matchLabels: {app: api}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 80}]}]'))
      .build();
    const v = toService(c, 'shop/web', 'shop/api', 80);
    assert.equal(v.allowed, false);
    const note = v.notes.find((n) => n.code === 'service-port-in-policy')!;
    assert.deepEqual(note.rules?.map((r) => `${r.policy.name} ${r.direction}[${r.index}]`), ['api Ingress[0]']);
    assert.match(note.message, /after DNAT shop\/api is reached on 8080\/TCP, which it does not allow: write the targetPort in the policy/);
    const explained = explainServices(c)[0];
    assert.ok(explained.notes.some((n) => n.code === 'service-port-in-policy'), 'the Service view names the trap too');
  });

  test('an egress rule written with the Service port is the same trap on the sending side', () => {
    const c = new Manifests()
      .pod('shop/api', { app: 'api' }, { ports: ['8080'] })
      .pod('shop/web', { app: 'web' })
      .service('shop/api', '  selector: {app: api}\n  ports: [{port: 80, targetPort: 8080}]')
      .yaml(policy('shop/web', '  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n  egress: [{to: [{podSelector: {matchLabels: {app: api}}}], ports: [{port: 80}]}]'))
      .build();
    const v = toService(c, 'shop/web', 'shop/api', 80);
    assert.equal(v.allowed, false);
    assert.deepEqual(
      v.notes.filter((n) => n.code === 'service-port-in-policy').flatMap((n) => n.rules!.map((r) => `${r.policy.name} ${r.direction}[${r.index}]`)),
      ['web Egress[0]'],
    );
  });

  test('an ipBlock holding the ClusterIP never matches: after DNAT the destination is the pod (ipblock-covers-clusterip)', () => {
    const c = new Manifests()
      .pod('shop/api', { app: 'api' }, { ports: ['8080'], ip: '10.244.1.5' })
      .pod('shop/web', { app: 'web' }, { ip: '10.244.1.6' })
      .service('shop/api', '  clusterIP: 10.96.0.20\n  selector: {app: api}\n  ports: [{port: 80, targetPort: 8080}]')
      .yaml(policy('shop/web', '  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 10.96.0.0/12}}]}]'))
      .build();
    const v = toService(c, 'shop/web', 'shop/api', 80);
    assert.equal(v.allowed, false);
    const note = v.notes.find((n) => n.code === 'ipblock-covers-clusterip')!;
    assert.match(note.message, /allows 10\.96\.0\.0\/12, which holds 10\.96\.0\.20 of shop\/service\/api: after DNAT the destination is the backend's address 10\.244\.1\.5/);
    assert.ok(explainServices(c)[0].notes.some((n) => n.code === 'ipblock-covers-clusterip'));
  });

  test('an ipBlock holding the Service address is no trap claimed when the backends\' addresses are unknown (a template may well be inside it)', () => {
    const c = new Manifests()
      .deployment('shop/api', { app: 'api' }, ['8080'])
      .pod('shop/web', { app: 'web' }, { ip: '10.244.1.6' })
      .service('shop/api', '  type: LoadBalancer\n  loadBalancerIP: 198.51.100.9\n  selector: {app: api}\n  ports: [{port: 80, targetPort: 8080}]')
      .yaml(policy('shop/web', '  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n  egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]}]'))
      .build();
    assert.ok(!codes(toService(c, 'shop/web', 'shop/api', 80)).includes('ipblock-covers-clusterip'));
    assert.ok(!codes(explainServices(c)[0]).includes('ipblock-covers-clusterip'));
  });

  test('a hostNetwork backend is not subject to NetworkPolicy (host-network-backend)', () => {
    const c = new Manifests()
      .pod('shop/agent', { app: 'agent' }, { hostNetwork: true, ports: ['9100'] })
      .pod('shop/web', {})
      .service('shop/agent', '  selector: {app: agent}\n  ports: [{port: 9100}]')
      .build();
    assert.deepEqual(codes(toService(c, 'shop/web', 'shop/agent', 9100)), ['host-network-backend']);
  });
});

describe('names', () => {
  const c = new Manifests()
    .pod('shop/web', { app: 'web' }, { ip: '10.244.0.2', ports: ['8080'] })
    .service('shop/web', '  clusterIP: 10.96.0.10\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]')
    .service('shop/lb', '  type: LoadBalancer\n  loadBalancerIP: 198.51.100.9\n  selector: {app: web}\n  ports: [{port: 443, targetPort: 8080}]')
    .build();
  const what = (text: string): string => {
    const r = resolveTarget(c, text, 'shop');
    if ('error' in r) return `error: ${r.error}`;
    if ('service' in r) return `service ${r.service.name}${r.address ? ` at ${r.address}` : ''}`;
    return r.peer.kind === 'external' ? `external ${r.peer.ip}` : `endpoint ${r.peer.endpoint.id}${r.sameNameService ? ` (also service ${r.sameNameService.name})` : ''}`;
  };
  const cases: [string, string][] = [
    ['shop/service/web', 'service web'],
    ['shop/svc/lb', 'service lb'],
    ['svc/lb', 'service lb'],
    ['lb', 'service lb'],
    ['web', 'endpoint shop/web (also service web)'],
    ['10.96.0.10', 'service web at 10.96.0.10'],
    ['198.51.100.9', 'service lb at 198.51.100.9'],
    ['10.244.0.2', 'endpoint shop/web'],
    ['192.0.2.1', 'external 192.0.2.1'],
  ];
  for (const [text, want] of cases) test(`"${text}" means ${want}`, () => assert.equal(what(text), want));

  test('a name that is no endpoint and no Service lists both kinds of known names', () => {
    assert.match(what('nope'), /^error: no endpoint "shop\/nope" in the input \(known: shop\/web, shop\/service\/lb, shop\/service\/web\)/);
    assert.match(what('shop/service/nope'), /^error: no Service "shop\/service\/nope"/);
  });

  test('resolvePeer, which takes endpoints only, refuses a Service and its ClusterIP in words', () => {
    const r = resolvePeer(c, '10.96.0.10');
    assert.ok('error' in r);
    assert.match(r.error, /10\.96\.0\.10 is an address of the Service shop\/service\/web, not an endpoint/);
  });
});

describe('notes on a connection to an endpoint', () => {
  const c = new Manifests()
    .pod('shop/web', { app: 'web' }, { ports: ['8079'] })
    .pod('shop/db', { app: 'db' }, { ports: ['3306'] })
    .service('shop/web', '  selector: {app: web}\n  ports: [{port: 80, targetPort: 8079}]')
    .service('shop/db', '  selector: {app: db}\n  ports: [{port: 3306}]')
    .build();
  const notesFor = (name: string, port: number): string[] => {
    const r = resolveTarget(c, name, 'shop');
    assert.ok('peer' in r && r.peer.kind === 'endpoint');
    return destinationNotes(c, r.peer.endpoint, port, 'TCP', r.sameNameService).map((n) => n.code);
  };

  test('a port the destination declares no container port for is noted: nothing would listen there (port-undeclared)', () => {
    assert.deepEqual(notesFor('web', 8080), ['port-undeclared']);
    assert.deepEqual(notesFor('web', 8079), []);
  });

  test('a Service of the same name is pointed at when asking it would answer otherwise (same-name-service), not when it is the same question', () => {
    assert.deepEqual(notesFor('web', 80), ['port-undeclared', 'same-name-service']);
    assert.deepEqual(notesFor('db', 3306), [], 'db:3306 through its Service is db:3306 itself');
  });
});

describe('the Service matrix', () => {
  test('rows are endpoints and outside, columns Service ports; each cell agrees with the per-backend verdicts', () => {
    const c = new Manifests()
      .pod('shop/a', { app: 'api', v: '1' }, { ports: ['http:8080'], ip: '10.244.0.1' })
      .pod('shop/b', { app: 'api', v: '2' }, { ports: ['http:9090'], ip: '10.244.0.2' })
      .deployment('shop/web', { app: 'web' }, ['80'])
      .pod('other/x', { app: 'x' }, { ip: '10.244.0.3' })
      .service('shop/api', '  selector: {app: api}\n  ports: [{name: h, port: 80, targetPort: http}, {name: m, port: 81, targetPort: 9090}]')
      .service('shop/web', '  type: NodePort\n  selector: {app: web}\n  ports: [{port: 80}]')
      .service('shop/empty', '  selector: {app: none}\n  ports: [{port: 1}]')
      .yaml(policy('shop/api', '  podSelector: {matchLabels: {app: api}}\n  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 8080}, {port: 9090}]}, {from: [{namespaceSelector: {}}], ports: [{port: 9090}]}]'))
      .yaml(policy('shop/web', '  podSelector: {matchLabels: {app: web}}\n  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]'))
      .yaml(policy('other/x', '  podSelector: {}\n  policyTypes: [Egress]\n  egress: [{ports: [{port: 9090}]}]'))
      .build();
    const m = computeServiceMatrix(c);
    assert.deepEqual(m.sources, ['other/x', 'shop/a', 'shop/b', 'shop/deployment/web', 'outside']);
    assert.deepEqual(
      m.columns.map((col) => `${col.service.id}:${col.port.port}/${col.routed}`),
      ['shop/service/api:80/2', 'shop/service/api:81/2', 'shop/service/empty:1/0', 'shop/service/web:80/1'],
    );
    for (let i = 0; i < m.sources.length - 1; i++) {
      m.columns.forEach((col, j) => {
        const v = evaluateServiceConnection(c, peer(c, m.sources[i]), col.service.service, col.port.port, col.port.protocol)!;
        assert.equal(m.allowed(i, j), v.allowed, `${m.sources[i]} -> ${col.service.id}:${col.port.port}`);
        assert.equal(m.admitted(i, j), v.admitted, `${m.sources[i]} -> ${col.service.id}:${col.port.port} (count)`);
      });
    }
    // other/x egress only to 9090: of shop/api:80, only shop/b (reached on 9090) admits it.
    assert.deepEqual([m.allowed(0, 0), m.admitted(0, 0)], [false, 1]);
    const outside = m.sources.length - 1;
    assert.deepEqual(
      m.columns.map((_, j) => m.allowed(outside, j)),
      [false, false, false, false],
    );
    assert.equal(m.partlyOutside(3), true, 'web admits outside through an ipBlock only');
  });
});
