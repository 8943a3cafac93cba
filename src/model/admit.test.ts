// Admission as the lab's API server stores objects: a Service's ValidateService errors, unknown fields
// reported for strict decoding, SetDefaults_Service written out; admin policies with their CRD defaults, Nodes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BASELINE_NAME_MESSAGE } from './adminpolicy.js';
import { admitObject, defaultAdminPolicy, defaultService } from './admit.js';
import type { Json } from './decode.js';

const service = (spec: Json, extra: Json = {}): Json => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec, ...extra });

describe('SetDefaults_Service', () => {
  const cases: { name: string; spec: Json; status?: Json; expect: Json; expectStatus?: Json }[] = [
    {
      name: 'an empty type is ClusterIP; protocol TCP; targetPort = port; sessionAffinity None; internalTrafficPolicy Cluster',
      spec: { ports: [{ port: 80 }] },
      expect: { ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }], type: 'ClusterIP', sessionAffinity: 'None', internalTrafficPolicy: 'Cluster' },
    },
    {
      name: 'targetPort "" or 0 becomes the port; a named one stays',
      spec: { ports: [{ name: 'a', port: 80, targetPort: '' }, { name: 'b', port: 81, targetPort: 0 }, { name: 'c', port: 82, targetPort: 'http', protocol: 'UDP' }] },
      expect: {
        ports: [
          { name: 'a', port: 80, targetPort: 80, protocol: 'TCP' },
          { name: 'b', port: 81, targetPort: 81, protocol: 'TCP' },
          { name: 'c', port: 82, targetPort: 'http', protocol: 'UDP' },
        ],
      },
    },
    { name: 'NodePort: externalTrafficPolicy Cluster', spec: { type: 'NodePort', ports: [{ port: 80 }] }, expect: { externalTrafficPolicy: 'Cluster' } },
    { name: 'a given externalTrafficPolicy stays', spec: { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] }, expect: { externalTrafficPolicy: 'Local' } },
    { name: 'ClusterIP without externalIPs gets no externalTrafficPolicy', spec: { ports: [{ port: 80 }] }, expect: { externalTrafficPolicy: undefined } },
    {
      name: 'LoadBalancer: allocateLoadBalancerNodePorts true, and an ingress IP without a mode is a VIP',
      spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }, { hostname: 'lb.example.com' }, { ip: '192.0.2.2', ipMode: 'Proxy' }] } },
      expect: { allocateLoadBalancerNodePorts: true, externalTrafficPolicy: 'Cluster' },
      expectStatus: { loadBalancer: { ingress: [{ ip: '192.0.2.1', ipMode: 'VIP' }, { hostname: 'lb.example.com' }, { ip: '192.0.2.2', ipMode: 'Proxy' }] } },
    },
    { name: 'ExternalName: no internalTrafficPolicy', spec: { type: 'ExternalName', externalName: 'example.com' }, expect: { internalTrafficPolicy: undefined, sessionAffinity: 'None' } },
    { name: 'ClientIP affinity gets timeoutSeconds 10800', spec: { sessionAffinity: 'ClientIP', ports: [{ port: 80 }] }, expect: { sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } } },
    { name: 'a given ClientIP timeout stays', spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [{ port: 80 }] }, expect: { sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const input = service(c.spec, c.status ? { status: c.status } : {});
      const admitted = admitObject('Service', input, 'default');
      assert.deepEqual(admitted.errors, []);
      const spec = admitted.object!.spec as Json;
      for (const [field, value] of Object.entries(c.expect)) assert.deepEqual(spec[field], value, field);
      if (c.expectStatus) assert.deepEqual(admitted.object!.status, c.expectStatus);
      assert.deepEqual(defaultService(admitted.object!), admitted.object, 'defaulting twice changes nothing');
      assert.deepEqual(input.spec, c.spec, 'the input is not changed');
    });
  }
});

describe('Service admission errors', () => {
  test('ValidateService errors come back with their paths, and nothing to store', () => {
    const admitted = admitObject('Service', service({ ports: [{ port: 70000 }] }), 'default');
    assert.equal(admitted.object, undefined);
    assert.deepEqual(
      admitted.errors.map((e) => [e.type, e.path.join('.')]),
      [['Invalid', 'spec.ports.0.port']],
    );
  });

  test('unknown fields are reported as Unknown, for strict decoding to refuse', () => {
    const admitted = admitObject('Service', service({ ports: [{ port: 80 }], clusterIp: '10.96.0.1' }), 'default');
    assert.deepEqual(admitted.errors.map((e) => [e.type, e.detail]), [['Unknown', 'unknown field "spec.clusterIp"']]);
  });
});

describe('admission of admin policies and Nodes', () => {
  const anp = (ports: Json[]): Json => ({
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    kind: 'AdminNetworkPolicy',
    metadata: { name: 'a', namespace: 'ignored' },
    spec: { priority: 1, subject: { namespaces: {} }, ingress: [{ action: 'Allow', from: [{ namespaces: {} }], ports }] },
  });

  test('v1alpha1 ports are stored with protocol TCP written out (Port/PortRange.Protocol +kubebuilder:default=TCP); a given protocol stays', () => {
    const input = anp([{ portNumber: { port: 80 } }, { portRange: { start: 1, end: 9 } }, { portNumber: { protocol: 'UDP', port: 53 } }, { namedPort: 'http' }]);
    const admitted = admitObject('AdminNetworkPolicy', input, 'default');
    assert.deepEqual(admitted.errors, []);
    const ports = ((admitted.object!.spec as Json).ingress as Json[])[0].ports;
    assert.deepEqual(ports, [{ portNumber: { port: 80, protocol: 'TCP' } }, { portRange: { start: 1, end: 9, protocol: 'TCP' } }, { portNumber: { protocol: 'UDP', port: 53 } }, { namedPort: 'http' }]);
    assert.deepEqual(defaultAdminPolicy(admitted.object!), admitted.object, 'defaulting twice changes nothing');
    assert.deepEqual(((input.spec as Json).ingress as Json[])[0].ports, [{ portNumber: { port: 80 } }, { portRange: { start: 1, end: 9 } }, { portNumber: { protocol: 'UDP', port: 53 } }, { namedPort: 'http' }], 'the input is not changed');
  });

  test('a cluster-scoped object is stored without metadata.namespace (the apiserver clears it)', () => {
    assert.deepEqual(admitObject('AdminNetworkPolicy', anp([{ portNumber: { port: 80 } }]), 'default').object!.metadata, { name: 'a' });
    const node = admitObject('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', namespace: 'default' } }, 'default');
    assert.deepEqual(node, { errors: [], object: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } } });
  });

  test('a ClusterNetworkPolicy is stored as given: v1alpha2 has no defaults', () => {
    const cnp: Json = {
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      kind: 'ClusterNetworkPolicy',
      metadata: { name: 'c' },
      spec: { tier: 'Admin', priority: 0, subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ networks: ['0.0.0.0/0'] }], protocols: [{ tcp: { destinationPort: { number: 25 } } }] }] },
    };
    assert.deepEqual(admitObject('ClusterNetworkPolicy', cnp, 'default'), { errors: [], object: cnp });
  });

  test('an invalid admin policy or Node comes back with its errors and nothing to store', () => {
    const banp: Json = { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'BaselineAdminNetworkPolicy', metadata: { name: 'other' }, spec: { subject: { namespaces: {} } } };
    const admitted = admitObject('BaselineAdminNetworkPolicy', banp, 'default');
    assert.equal(admitted.object, undefined);
    assert.deepEqual(admitted.errors.map((e) => [e.type, e.path.join('.'), e.detail]), [['Invalid', '', BASELINE_NAME_MESSAGE]]);
    const node = admitObject('Node', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'N1' } }, 'default');
    assert.deepEqual(node.errors.map((e) => [e.type, e.path.join('.')]), [['Invalid', 'metadata.name']]);
  });
});
