// Services through the lab's API server, against the apiserver's contract: discovery and OpenAPI,
// admission with SetDefaults_Service, ClusterIPs and node ports allocated as
// pkg/registry/core/service does it (ranges, static bands, the first error's words), the update
// rules (allocated values kept, a ClusterIP that may not change, values released with a type
// change or a delete), field selectors, watches, and namespaces that take their Services along.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Manifest } from '../../model/index.js';
import { OPENAPI_V2_PROTOBUF } from './openapi-proto.js';
import { ServiceAllocator } from './services.js';
import { meta, rvOf, startTestServer, type TestServer } from './testing.js';

const SVC = '/api/v1/namespaces/default/services';

const service = (name: string, spec: Manifest = {}, extra: Manifest = {}): Manifest => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
  ...extra,
});

const specOf = (m: Manifest): Manifest => (m.spec ?? {}) as Manifest;
const portsOf = (m: Manifest): Manifest[] => (specOf(m).ports ?? []) as Manifest[];
const causes = (m: Manifest): string[] => ((m.details as { causes?: { field: string; message: string }[] } | undefined)?.causes ?? []).map((c) => `${c.field}: ${c.message}`);

let t: TestServer;

async function create(body: Manifest, path = SVC): Promise<Manifest> {
  const r = await t.api.call('POST', path, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function refused(method: string, path: string, body: unknown, code = 422): Promise<Manifest> {
  const r = await t.api.call(method, path, body, method === 'PATCH' ? 'application/merge-patch+json' : 'application/json');
  assert.equal(r.status, code, JSON.stringify(r.body));
  return r.body;
}

async function remove(name: string): Promise<void> {
  assert.equal((await t.api.call('DELETE', `${SVC}/${name}`)).status, 200);
}

before(async () => {
  t = await startTestServer();
});

after(() => t.close());

describe('discovery and OpenAPI', () => {
  test('discovery serves services in v1 with the short name svc, and services/status', async () => {
    const resources = (await t.api.call('GET', '/api/v1')).body.resources as { name: string; kind: string; namespaced: boolean; shortNames?: string[]; verbs: string[] }[];
    const services = resources.find((r) => r.name === 'services');
    assert.deepEqual([services?.kind, services?.namespaced, services?.shortNames], ['Service', true, ['svc']]);
    assert.deepEqual((services as { categories?: string[] } | undefined)?.categories, ['all'], '`kubectl get all` includes Services');
    assert.ok(services?.verbs.includes('watch'));
    assert.deepEqual(resources.find((r) => r.name === 'services/status')?.verbs, ['get', 'patch', 'update']);
  });

  test('OpenAPI v2 (JSON and protobuf) and v3 describe Service, its ports merged by port number', async () => {
    const defs = (await t.api.call('GET', '/openapi/v2')).body.definitions as Record<string, Manifest>;
    const ports = (defs['io.k8s.api.core.v1.ServiceSpec'].properties as Record<string, Manifest>).ports;
    assert.equal(ports['x-kubernetes-patch-merge-key'], 'port');
    assert.deepEqual(defs['io.k8s.api.core.v1.Service']['x-kubernetes-group-version-kind'], [{ group: '', version: 'v1', kind: 'Service' }]);
    const proto = await t.request('GET', '/openapi/v2', { headers: { Accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
    assert.equal(proto.headers['content-type'], OPENAPI_V2_PROTOBUF);
    assert.ok(proto.body.includes(Buffer.from('io.k8s.api.core.v1.ServicePort')));
    const v3 = (await t.api.call('GET', '/openapi/v3/api/v1')).body;
    assert.ok((v3.paths as Manifest)['/api/v1/namespaces/{namespace}/services']);
    assert.ok(((v3.components as Manifest).schemas as Manifest)['io.k8s.api.core.v1.ServiceSpec']);
  });
});

describe('admission and SetDefaults_Service', () => {
  test('a created Service carries the defaults and its allocations: ClusterIP type, TCP, targetPort = port, sessionAffinity None, internalTrafficPolicy Cluster, one IPv4 address SingleStack', async () => {
    const svc = await create(service('plain'));
    const spec = specOf(svc);
    assert.equal(spec.type, 'ClusterIP');
    assert.deepEqual(spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
    assert.equal(spec.sessionAffinity, 'None');
    assert.equal(spec.internalTrafficPolicy, 'Cluster');
    assert.equal(spec.externalTrafficPolicy, undefined, 'only externally accessible Services get one');
    assert.deepEqual(spec.ipFamilies, ['IPv4']);
    assert.equal(spec.ipFamilyPolicy, 'SingleStack');
    assert.match(String(spec.clusterIP), /^10\.96\./);
    assert.deepEqual(spec.clusterIPs, [spec.clusterIP]);
    assert.deepEqual(svc.status, { loadBalancer: {} });
    await remove('plain');
  });

  const cases: { name: string; spec: Manifest; expect: Manifest }[] = [
    { name: 'NodePort gets externalTrafficPolicy Cluster', spec: { type: 'NodePort' }, expect: { externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster' } },
    { name: 'LoadBalancer gets externalTrafficPolicy Cluster and allocateLoadBalancerNodePorts true', spec: { type: 'LoadBalancer' }, expect: { externalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: true } },
    { name: 'a ClusterIP Service with externalIPs is externally accessible: externalTrafficPolicy Cluster', spec: { externalIPs: ['192.0.2.7'] }, expect: { externalTrafficPolicy: 'Cluster' } },
    { name: 'sessionAffinity ClientIP gets the three-hour timeout', spec: { sessionAffinity: 'ClientIP' }, expect: { sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } } },
    { name: 'sessionAffinity None drops a sessionAffinityConfig', spec: { sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }, expect: { sessionAffinityConfig: undefined } },
    { name: 'ExternalName gets no internalTrafficPolicy and no IP families', spec: { type: 'ExternalName', externalName: 'db.example.com', selector: undefined, ports: undefined }, expect: { internalTrafficPolicy: undefined, ipFamilies: undefined, clusterIP: undefined } },
    { name: 'a headless Service with a selector is SingleStack IPv4', spec: { clusterIP: 'None' }, expect: { clusterIPs: ['None'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' } },
    { name: 'a headless Service without a selector is RequireDualStack with both families (upstream\'s single-stack exception)', spec: { clusterIP: 'None', selector: undefined }, expect: { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' } },
    { name: 'a named targetPort is kept, a targetPort of 0 becomes the port', spec: { ports: [{ name: 'a', port: 80, targetPort: 'http' }, { name: 'b', port: 81, targetPort: 0 }] }, expect: { ports: [{ name: 'a', port: 80, targetPort: 'http', protocol: 'TCP' }, { name: 'b', port: 81, targetPort: 81, protocol: 'TCP' }] } },
  ];
  for (const [i, c] of cases.entries()) {
    test(c.name, async () => {
      const name = `defaults-${i}`;
      const spec = specOf(await create(service(name, c.spec)));
      for (const [field, value] of Object.entries(c.expect)) {
        if (field === 'ports') assert.deepEqual(spec.ports, value);
        else assert.deepEqual(spec[field], value, field);
      }
      await remove(name);
    });
  }

  test('an invalid Service is 422 Invalid, every cause with its field path in the apiserver\'s words', async () => {
    const body = await refused('POST', SVC, service('Bad', { type: 'Magic', ports: [{ port: 0, protocol: 'ICMP' }] }));
    assert.equal(body.reason, 'Invalid');
    assert.equal((body.details as Manifest).kind, 'Service');
    assert.deepEqual(causes(body), [
      "metadata.name: Invalid value: \"Bad\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
      'spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive',
      'spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
    ]);
    assert.match(String(body.message), /^Service "Bad" is invalid: \[metadata\.name: /);
  });

  test('an unknown field is 400 under fieldValidation=Strict, and dropped with a warning otherwise', async () => {
    const typo = service('typo', { ports: [{ port: 80, targetport: 8080 }] });
    const strict = await refused('POST', `${SVC}?fieldValidation=Strict`, typo, 400);
    assert.match(String(strict.message), /strict decoding error: unknown field "spec\.ports\[0\]\.targetport"/);
    const warned = await t.request('POST', `${SVC}?fieldValidation=Warn`, { body: JSON.stringify(typo), headers: { 'Content-Type': 'application/json' } });
    assert.equal(warned.status, 201);
    assert.match(String(warned.headers.warning), /unknown field/);
    assert.deepEqual(portsOf(warned.json()), [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
    await remove('typo');
  });

  test('a client\'s status is dropped on create (PrepareForCreate): no load balancer until one is given through services/status', async () => {
    const svc = await create(service('lb', { type: 'LoadBalancer' }, { status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } }));
    assert.deepEqual(svc.status, { loadBalancer: {} });
    const patched = await t.api.call('PATCH', `${SVC}/lb/status`, { status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } }, 'application/merge-patch+json');
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual(patched.body.status, { loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }] } }, 'LoadBalancerIPMode: an ingress IP without a mode is a VIP');
    const spec = await t.api.call('PATCH', `${SVC}/lb`, { spec: { sessionAffinity: 'ClientIP' }, status: { loadBalancer: {} } }, 'application/merge-patch+json');
    assert.deepEqual((spec.body.status as Manifest).loadBalancer, { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }] }, 'the main resource does not change the status');
    await remove('lb');
  });
});

describe('ClusterIP allocation', () => {
  test('ClusterIPs are the lowest free addresses above the static band (the first 256 of a /16 are kept for addresses clients ask for)', async () => {
    const a = specOf(await create(service('alloc-a')));
    const b = specOf(await create(service('alloc-b')));
    assert.deepEqual([a.clusterIP, b.clusterIP], ['10.96.1.1', '10.96.1.2']);
    await remove('alloc-a');
    assert.equal(specOf(await create(service('alloc-c'))).clusterIP, '10.96.1.1', 'a deleted Service\'s address is free again');
    await remove('alloc-b');
    await remove('alloc-c');
  });

  test('a requested ClusterIP in the range is honoured, in the static band too (kube-dns at the tenth address)', async () => {
    const dns = specOf(await create(service('kube-dns', { clusterIP: '10.96.0.10' })));
    assert.deepEqual([dns.clusterIP, dns.clusterIPs], ['10.96.0.10', ['10.96.0.10']]);
    await remove('kube-dns');
  });

  const refusals: { name: string; spec: Manifest; cause: string }[] = [
    {
      name: 'a requested ClusterIP outside the service CIDR is refused, naming the range',
      spec: { clusterIP: '10.0.0.1' },
      cause: 'spec.clusterIPs: Invalid value: ["10.0.0.1"]: failed to allocate IP 10.0.0.1: the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/16',
    },
    {
      name: 'the network address is not in the valid range',
      spec: { clusterIP: '10.96.0.0' },
      cause: 'spec.clusterIPs: Invalid value: ["10.96.0.0"]: failed to allocate IP 10.96.0.0: the provided IP (10.96.0.0) is not in the valid range. The range of valid IPs is 10.96.0.0/16',
    },
    {
      name: 'the broadcast address is not in the valid range',
      spec: { clusterIP: '10.96.255.255' },
      cause: 'spec.clusterIPs: Invalid value: ["10.96.255.255"]: failed to allocate IP 10.96.255.255: the provided IP (10.96.255.255) is not in the valid range. The range of valid IPs is 10.96.0.0/16',
    },
    { name: 'an IPv6 ClusterIP on an IPv4 cluster is refused', spec: { clusterIP: 'fd00::1' }, cause: 'spec.clusterIPs[0]: Invalid value: ["fd00::1"]: IPv6 is not configured on this cluster' },
    { name: 'ipFamilies IPv6 on an IPv4 cluster is refused', spec: { ipFamilies: ['IPv6'] }, cause: 'spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster' },
    { name: 'RequireDualStack on a single-stack cluster is refused', spec: { ipFamilyPolicy: 'RequireDualStack' }, cause: 'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services' },
  ];
  for (const c of refusals) {
    test(c.name, async () => {
      assert.deepEqual(causes(await refused('POST', SVC, service('refused', c.spec))), [c.cause]);
      assert.equal((await t.api.call('GET', `${SVC}/refused`)).status, 404, 'nothing was stored');
    });
  }

  test('a ClusterIP another Service holds is refused: provided IP is already allocated (in any namespace)', async () => {
    assert.equal((await t.api.call('POST', '/api/v1/namespaces', { metadata: { name: 'other' } })).status, 201);
    await create(service('holder', { clusterIP: '10.96.0.20' }), '/api/v1/namespaces/other/services');
    const body = await refused('POST', SVC, service('taker', { clusterIP: '10.96.0.20' }));
    assert.deepEqual(causes(body), ['spec.clusterIPs: Invalid value: ["10.96.0.20"]: failed to allocate IP 10.96.0.20: provided IP is already allocated']);
    assert.equal(body.message, 'Service "taker" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.20"]: failed to allocate IP 10.96.0.20: provided IP is already allocated');
    assert.equal((await t.api.call('DELETE', '/api/v1/namespaces/other')).status, 200);
    assert.equal(specOf(await create(service('taker', { clusterIP: '10.96.0.20' }))).clusterIP, '10.96.0.20', 'deleting the namespace released its Services\' addresses');
    await remove('taker');
  });

  test('headless and ExternalName Services get no ClusterIP and hold none', async () => {
    const headless = specOf(await create(service('headless', { clusterIP: 'None' })));
    const alias = specOf(await create(service('alias', { type: 'ExternalName', externalName: 'example.com', ports: undefined, selector: undefined })));
    assert.deepEqual([headless.clusterIP, headless.clusterIPs], ['None', ['None']]);
    assert.deepEqual([alias.clusterIP, alias.clusterIPs], [undefined, undefined]);
    assert.equal(specOf(await create(service('after-them'))).clusterIP, '10.96.1.1');
    for (const n of ['headless', 'alias', 'after-them']) await remove(n);
  });
});

describe('node port allocation', () => {
  test('node ports are the lowest free ports above the static band (30000-30085 are kept for ports clients ask for)', async () => {
    const web = await create(service('np-web', { type: 'NodePort', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] }));
    assert.deepEqual(portsOf(web).map((p) => p.nodePort), [30086, 30087]);
    const lb = await create(service('np-lb', { type: 'LoadBalancer' }));
    assert.deepEqual(portsOf(lb).map((p) => p.nodePort), [30088]);
    await remove('np-web');
    await remove('np-lb');
  });

  test('ports with the same number share one node port (initNodePorts: 53/UDP and 53/TCP)', async () => {
    const dns = await create(service('np-dns', { type: 'NodePort', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] }));
    assert.deepEqual(portsOf(dns).map((p) => p.nodePort), [30086, 30086]);
    await remove('np-dns');
  });

  test('a LoadBalancer with allocateLoadBalancerNodePorts false gets only the node ports it asks for', async () => {
    const lb = await create(service('np-none', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81, nodePort: 30081 }] }));
    assert.deepEqual(portsOf(lb).map((p) => p.nodePort), [undefined, 30081]);
    await remove('np-none');
  });

  test('externalTrafficPolicy Local on a LoadBalancer allocates a healthCheckNodePort', async () => {
    const lb = await create(service('np-hc', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }));
    assert.deepEqual([portsOf(lb)[0].nodePort, specOf(lb).healthCheckNodePort], [30086, 30087]);
    await remove('np-hc');
  });

  test('a requested node port is honoured; one another Service holds is refused, whatever its protocol', async () => {
    const web = await create(service('np-holder', { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }));
    assert.equal(portsOf(web)[0].nodePort, 30080);
    const body = await refused('POST', SVC, service('np-taker', { type: 'NodePort', ports: [{ port: 53, protocol: 'UDP', nodePort: 30080 }] }));
    assert.deepEqual(causes(body), ['spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated']);
    await remove('np-holder');
    assert.equal(portsOf(await create(service('np-taker', { type: 'NodePort', ports: [{ port: 53, protocol: 'UDP', nodePort: 30080 }] })))[0].nodePort, 30080, 'a deleted Service\'s node ports are free again');
    await remove('np-taker');
  });

  test('a requested node port outside 30000-32767 is refused', async () => {
    const body = await refused('POST', SVC, service('np-far', { type: 'NodePort', ports: [{ port: 80, nodePort: 8080 }] }));
    assert.deepEqual(causes(body), ['spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767']);
  });

  test('a ClusterIP Service may not name a node port', async () => {
    const body = await refused('POST', SVC, service('np-clusterip', { ports: [{ port: 80, nodePort: 30080 }] }));
    assert.deepEqual(causes(body), ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]);
  });
});

describe('updates', () => {
  test('an update that leaves out the ClusterIP and node ports keeps them (patchAllocatedValues: resubmitting a manifest works)', async () => {
    const created = await create(service('upd-keep', { type: 'NodePort', ports: [{ name: 'http', port: 80 }] }));
    const replaced = await t.api.call('PUT', `${SVC}/upd-keep`, service('upd-keep', { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }));
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.equal(specOf(replaced.body).clusterIP, specOf(created).clusterIP);
    assert.deepEqual(portsOf(replaced.body), [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: portsOf(created)[0].nodePort }]);
    await remove('upd-keep');
  });

  test('a ClusterIP may not change once set', async () => {
    await create(service('upd-ip', { clusterIP: '10.96.0.30' }));
    const put = await refused('PUT', `${SVC}/upd-ip`, service('upd-ip', { clusterIP: '10.96.0.31' }));
    assert.deepEqual(causes(put), ['spec.clusterIPs[0]: Invalid value: ["10.96.0.31"]: may not change once set']);
    const headless = await refused('PATCH', `${SVC}/upd-ip`, { spec: { clusterIP: 'None', clusterIPs: ['None'] } });
    assert.deepEqual(causes(headless), ['spec.clusterIPs[0]: Invalid value: ["None"]: may not change once set']);
    assert.equal(specOf((await t.api.call('GET', `${SVC}/upd-ip`)).body).clusterIP, '10.96.0.30');
    await remove('upd-ip');
  });

  test('a new node port on update must be free; the ports a Service holds stay its own', async () => {
    await create(service('upd-holder', { type: 'NodePort', ports: [{ port: 80, nodePort: 30090 }] }));
    await create(service('upd-np', { type: 'NodePort', ports: [{ port: 80, nodePort: 30091 }] }));
    const taken = await refused('PATCH', `${SVC}/upd-np`, { spec: { ports: [{ port: 80, nodePort: 30090 }] } });
    assert.deepEqual(causes(taken), ['spec.ports[0].nodePort: Invalid value: 30090: provided port is already allocated']);
    const added = await t.api.call('PATCH', `${SVC}/upd-np`, { spec: { ports: [{ name: 'a', port: 80, nodePort: 30091 }, { name: 'b', port: 81 }] } }, 'application/merge-patch+json');
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.deepEqual(portsOf(added.body).map((p) => p.nodePort), [30091, 30086]);
    await remove('upd-holder');
    await remove('upd-np');
  });

  test('changing the type from NodePort to ClusterIP releases the node ports (dropTypeDependentFields), and the external traffic policy', async () => {
    await create(service('upd-type', { type: 'NodePort', ports: [{ port: 80, nodePort: 30092 }] }));
    const changed = await t.api.call('PATCH', `${SVC}/upd-type`, { spec: { type: 'ClusterIP' } }, 'application/merge-patch+json');
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.deepEqual(portsOf(changed.body), [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
    assert.equal(specOf(changed.body).externalTrafficPolicy, undefined);
    assert.equal(portsOf(await create(service('upd-type-2', { type: 'NodePort', ports: [{ port: 80, nodePort: 30092 }] })))[0].nodePort, 30092);
    await remove('upd-type');
    await remove('upd-type-2');
  });

  test('changing to ExternalName releases the ClusterIP; changing back allocates one', async () => {
    await create(service('upd-alias', { clusterIP: '10.96.0.40' }));
    const alias = await t.api.call('PATCH', `${SVC}/upd-alias`, { spec: { type: 'ExternalName', externalName: 'example.com' } }, 'application/merge-patch+json');
    assert.equal(alias.status, 200, JSON.stringify(alias.body));
    assert.deepEqual([specOf(alias.body).clusterIP, specOf(alias.body).clusterIPs, specOf(alias.body).ipFamilies], [undefined, undefined, undefined]);
    await create(service('upd-alias-ip', { clusterIP: '10.96.0.40' }));
    const back = await t.api.call('PATCH', `${SVC}/upd-alias`, { spec: { type: 'ClusterIP', externalName: null } }, 'application/merge-patch+json');
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(specOf(back.body).clusterIP, '10.96.1.1');
    await remove('upd-alias');
    await remove('upd-alias-ip');
  });

  test('a strategic merge patch merges spec.ports by port number', async () => {
    await create(service('upd-smp', { ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443 }] }));
    const r = await t.api.call('PATCH', `${SVC}/upd-smp`, { spec: { ports: [{ port: 443, targetPort: 8443 }] } }, 'application/strategic-merge-patch+json');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(portsOf(r.body).map((p) => `${p.name}:${p.port}->${p.targetPort}`), ['http:80->80', 'https:443->8443']);
    await remove('upd-smp');
  });
});

describe('lists, watches and namespaces', () => {
  test('field selectors: metadata.name, spec.clusterIP (kube-proxy\'s spec.clusterIP!=None) and spec.type', async () => {
    await create(service('sel-a', { type: 'NodePort' }));
    await create(service('sel-b', { clusterIP: 'None' }));
    const names = async (fieldSelector: string): Promise<string[]> => {
      const r = await t.api.call('GET', `${SVC}?fieldSelector=${encodeURIComponent(fieldSelector)}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body.items as Manifest[]).map((m) => String(meta(m).name)).filter((n) => n.startsWith('sel-'));
    };
    assert.deepEqual(await names('spec.clusterIP!=None'), ['sel-a']);
    assert.deepEqual(await names('spec.type=NodePort'), ['sel-a']);
    assert.deepEqual(await names('metadata.name=sel-b'), ['sel-b']);
    assert.equal((await t.api.call('GET', `${SVC}?fieldSelector=spec.selector=x`)).status, 400);
    await remove('sel-a');
    await remove('sel-b');
  });

  test('a watch on services sees their changes in order, with bookmarks', async () => {
    const list = await t.api.call('GET', '/api/v1/services');
    const from = String((list.body.metadata as Manifest).resourceVersion);
    const w = await t.watch(`/api/v1/services?watch=true&allowWatchBookmarks=true&resourceVersion=${from}`);
    await create(service('watched'));
    await remove('watched');
    await w.until((events) => events.some((e) => e.type === 'DELETED'), 'the DELETED event');
    const changes = w.events.filter((e) => e.type !== 'BOOKMARK');
    assert.deepEqual(changes.map((e) => `${e.type} ${String(meta(e.object).name)}`), ['ADDED watched', 'DELETED watched']);
    const last = rvOf(changes[changes.length - 1]);
    await w.until((events) => events.some((e) => e.type === 'BOOKMARK' && rvOf(e) >= last), 'a bookmark at the delete');
    w.close();
  });

  test('kubectl get svc asks for a Table and gets its columns', async () => {
    await create(service('table', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }, { name: 'https', port: 443, protocol: 'TCP' }] }));
    const r = await t.request('GET', `${SVC}/table`, { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
    const table = r.json();
    assert.deepEqual((table.columnDefinitions as { name: string }[]).map((c) => c.name), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']);
    const [cells] = (table.rows as { cells: unknown[] }[]).map((row) => row.cells);
    assert.deepEqual([cells[0], cells[1], cells[3], cells[4], cells[6]], ['table', 'NodePort', '<none>', `80:30080/TCP,443:${portsOf((await t.api.call('GET', `${SVC}/table`)).body)[1].nodePort}/TCP`, 'app=table']);
    await remove('table');
  });
});

describe('the service CIDR option', () => {
  test('ClusterIPs come from the serviceCIDR the server is given; a /28 has no static band, never hands out its tenth address unasked, and is full after 13', async () => {
    const small = await startTestServer({ serviceCIDR: '10.100.0.0/28' });
    try {
      const got: string[] = [];
      for (let i = 0; i < 13; i++) {
        const r = await small.api.call('POST', SVC, service(`s${i}`));
        assert.equal(r.status, 201, JSON.stringify(r.body));
        got.push(String(specOf(r.body).clusterIP));
      }
      assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14].map((n) => `10.100.0.${n}`));
      const full = await small.api.call('POST', SVC, service('s13'));
      assert.equal(full.status, 500);
      assert.equal(full.body.message, 'Internal error occurred: failed to allocate a serviceIP: range is full');
      const dns = await small.api.call('POST', SVC, service('dns', { clusterIP: '10.100.0.10' }));
      assert.equal(dns.status, 201, JSON.stringify(dns.body));
      const outside = await small.api.call('POST', SVC, service('outside', { clusterIP: '10.96.0.10' }));
      assert.match(causes(outside.body)[0], /The range of valid IPs is 10\.100\.0\.0\/28$/);
    } finally {
      await small.close();
    }
  });

  test('an invalid serviceCIDR is refused when the server is made', () => {
    assert.throws(() => new ServiceAllocator('10.96.0.0/33'), /service CIDR "10\.96\.0\.0\/33"/);
    assert.throws(() => new ServiceAllocator('10.96.0.1/16'), /must not have bits set beyond the prefix length/);
  });
});
