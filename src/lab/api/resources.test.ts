// The server-side Table cells `kubectl get` prints: READY from the containers' statuses (as
// kubectl's pod printer counts them, not from the phase), and POD-SELECTOR formatted by the model,
// so `kubectl get netpol` shows what `podwall` shows.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeNetworkPolicy, formatLabelSelector, type Manifest } from '../../model/index.js';
import { RESOURCES, tableCells, type Resource } from './resources.js';

const resource = (kind: Resource['kind']): Resource => RESOURCES.find((r) => r.kind === kind)!;

const podWith = (containers: string[], status: Manifest, initContainers: Manifest[] = []): Manifest => ({
  metadata: { name: 'web', creationTimestamp: new Date().toISOString() },
  spec: { containers: containers.map((name) => ({ name, image: 'x' })), initContainers },
  status,
});
const ready = (name: string, isReady: boolean, restartCount = 0): Manifest => ({ name, ready: isReady, restartCount });

describe('the Pod table', () => {
  const cases: { name: string; pod: Manifest; ready: string; status: string; restarts: number }[] = [
    { name: 'a pod without status: 0 ready, Pending', pod: podWith(['a'], {}), ready: '0/1', status: 'Pending', restarts: 0 },
    {
      name: 'Running with one of two containers ready counts one, whatever the phase says',
      pod: podWith(['a', 'b'], { phase: 'Running', containerStatuses: [ready('a', true), ready('b', false)] }),
      ready: '1/2',
      status: 'Running',
      restarts: 0,
    },
    {
      name: 'Pending with ready statuses counts what the statuses say',
      pod: podWith(['a'], { phase: 'Pending', containerStatuses: [ready('a', true, 2)] }),
      ready: '1/1',
      status: 'Pending',
      restarts: 2,
    },
    {
      name: 'a sidecar (restartable init container) counts among the containers; other init containers do not',
      pod: podWith(['a'], { phase: 'Running', containerStatuses: [ready('a', true)], initContainerStatuses: [ready('proxy', true, 1), ready('setup', false, 5)] }, [
        { name: 'proxy', restartPolicy: 'Always' },
        { name: 'setup' },
      ]),
      ready: '2/2',
      status: 'Running',
      restarts: 1,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const [name, readyCell, status, restarts] = tableCells(resource('Pod'), c.pod);
      assert.deepEqual([name, readyCell, status, restarts], ['web', c.ready, c.status, c.restarts]);
    });
  }
});

describe('the NetworkPolicy table', () => {
  const policyWith = (podSelector: Manifest): Manifest => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'p', namespace: 'default', creationTimestamp: new Date().toISOString() },
    spec: { podSelector, policyTypes: ['Ingress'] },
  });
  const cases: { name: string; selector: Manifest; shown: string }[] = [
    { name: 'an empty selector is <none>, as metav1.FormatLabelSelector prints it', selector: {}, shown: '<none>' },
    { name: 'matchLabels sorted by key', selector: { matchLabels: { tier: 'db', app: 'shop' } }, shown: 'app=shop,tier=db' },
    {
      name: 'expressions in kubectl\'s words, values sorted',
      selector: { matchLabels: { app: 'shop' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'db'] }, { key: 'legacy', operator: 'DoesNotExist' }, { key: 'env', operator: 'NotIn', values: ['dev'] }, { key: 'team', operator: 'Exists' }] },
      shown: 'app=shop,tier in (db,web),!legacy,env notin (dev),team',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const m = policyWith(c.selector);
      assert.equal(tableCells(resource('NetworkPolicy'), m)[1], c.shown);
      // The same words as the model's formatter (what `podwall lab get policies` prints).
      const decoded = decodeNetworkPolicy(m, 'default').policy!;
      assert.equal(formatLabelSelector(decoded.spec.podSelector) || '<none>', c.shown);
    });
  }
});

describe('the Service table', () => {
  const svc = (spec: Manifest, status: Manifest = {}): Manifest => ({ metadata: { name: 'web', creationTimestamp: new Date().toISOString() }, spec, status });
  const tcp80 = [{ port: 80, protocol: 'TCP', targetPort: 80 }];
  // printService and getServiceExternalIP in pkg/printers/internalversion, rendered wide as the apiserver renders.
  const cases: { name: string; service: Manifest; cells: unknown[] }[] = [
    {
      name: 'ClusterIP: its first ClusterIP, no external address, ports as port/protocol',
      service: svc({ type: 'ClusterIP', clusterIPs: ['10.96.1.1'], ports: tcp80, selector: { app: 'web', tier: 'front' } }),
      cells: ['ClusterIP', '10.96.1.1', '<none>', '80/TCP', 'app=web,tier=front'],
    },
    {
      name: 'NodePort: port:nodePort/protocol, externalIPs shown',
      service: svc({ type: 'NodePort', clusterIPs: ['10.96.1.2'], externalIPs: ['192.0.2.9'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, nodePort: 30053, protocol: 'UDP' }] }),
      cells: ['NodePort', '10.96.1.2', '192.0.2.9', '80:30080/TCP,53:30053/UDP', '<none>'],
    },
    {
      name: 'LoadBalancer without an ingress address is <pending>',
      service: svc({ type: 'LoadBalancer', clusterIPs: ['10.96.1.3'], ports: [{ port: 443, nodePort: 30443, protocol: 'TCP' }] }, { loadBalancer: {} }),
      cells: ['LoadBalancer', '10.96.1.3', '<pending>', '443:30443/TCP', '<none>'],
    },
    {
      name: 'LoadBalancer: ingress IPs and hostnames sorted, then externalIPs',
      service: svc({ type: 'LoadBalancer', clusterIPs: ['10.96.1.4'], externalIPs: ['192.0.2.1'], ports: tcp80 }, { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }] } }),
      cells: ['LoadBalancer', '10.96.1.4', '203.0.113.9,lb.example.com,192.0.2.1', '80/TCP', '<none>'],
    },
    {
      name: 'ExternalName: no ClusterIP, the external name, no ports',
      service: svc({ type: 'ExternalName', externalName: 'db.example.com' }),
      cells: ['ExternalName', '<none>', 'db.example.com', '<none>', '<none>'],
    },
    { name: 'headless: CLUSTER-IP None', service: svc({ type: 'ClusterIP', clusterIPs: ['None'], ports: tcp80, selector: { app: 'db' } }), cells: ['ClusterIP', 'None', '<none>', '80/TCP', 'app=db'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const [name, type, clusterIP, externalIP, ports, ageCell, selector] = tableCells(resource('Service'), c.service);
      assert.equal(name, 'web');
      assert.match(String(ageCell), /^\d+s$/);
      assert.deepEqual([type, clusterIP, externalIP, ports, selector], c.cells);
    });
  }
});
