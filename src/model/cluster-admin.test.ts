// Admin policies and Nodes in a Cluster: loaded from manifests with errors at the field's line, cluster
// scope (metadata.namespace ignored, as kubectl ignores it for cluster-scoped kinds), duplicates,
// unserved versions, and the lenient build from objects an apiserver holds (clusterFromObjects).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeNode } from './node.js';
import { clusterFromObjects, formatDiagnostic, loadTexts, type BuildResult } from './index.js';

const load = (files: { file: string; text: string }[]): BuildResult => loadTexts(files);
const errorsOf = (files: { file: string; text: string }[]): string[] => load(files).diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);

/** `line:col` (1-based) of the nth occurrence of `marker` in `text`, from the text alone. */
function pos(text: string, marker: string, nth = 1): string {
  let at = -1;
  for (let i = 0; i < nth; i++) {
    at = text.indexOf(marker, at + 1);
    assert.ok(at >= 0, `marker ${JSON.stringify(marker)} #${nth} not in text`);
  }
  const before = text.slice(0, at).split('\n');
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

const ANP = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: deny-ravenclaw
  namespace: gryffindor
spec:
  priority: 3
  subject:
    namespaces:
      matchLabels:
        kubernetes.io/metadata.name: gryffindor
  egress:
  - name: deny-to-ravenclaw
    action: Deny
    to:
    - namespaces:
        matchLabels:
          kubernetes.io/metadata.name: ravenclaw
`;

const BANP = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata:
  name: default
spec:
  subject:
    namespaces: {}
  ingress:
  - action: Deny
    from:
    - namespaces: {}
`;

const CNP = (name: string, tier = 'Baseline'): string => `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: ${name}
spec:
  tier: ${tier}
  priority: 5
  subject:
    pods:
      podSelector: {}
  egress:
  - action: Accept
    to:
    - networks: ["10.0.0.0/8"]
    protocols:
    - udp:
        destinationPort:
          number: 53
`;

const NODE = (name: string, ip: string): string => `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels:
    kubernetes.io/hostname: ${name}
status:
  addresses:
  - type: InternalIP
    address: ${ip}
  - type: Hostname
    address: ${name}
`;

describe('buildCluster loads admin policies and Nodes', () => {
  test('the three kinds and Nodes load from mixed files, sorted by kind then name, and are not skipped', () => {
    const built = load([
      { file: 'tiers.yaml', text: [CNP('zeta'), ANP, CNP('alpha', 'Admin'), BANP].join('---\n') },
      { file: 'nodes.yaml', text: [NODE('node-b', '192.0.2.2'), NODE('node-a', '192.0.2.1')].join('---\n') },
    ]);
    assert.deepEqual(built.diagnostics, []);
    assert.deepEqual([...built.skipped], []);
    const cluster = built.cluster!;
    assert.deepEqual(
      cluster.adminPolicies!.map((p) => `${p.kind}/${p.name} ${p.tier} ${p.priority ?? '-'}`),
      ['AdminNetworkPolicy/deny-ravenclaw Admin 3', 'BaselineAdminNetworkPolicy/default Baseline -', 'ClusterNetworkPolicy/alpha Admin 5', 'ClusterNetworkPolicy/zeta Baseline 5'],
    );
    assert.deepEqual(cluster.adminPolicies![0].source, { file: 'tiers.yaml', document: 2, line: CNP('zeta').split('\n').length + 1, column: 1 });
    assert.deepEqual(
      cluster.nodes!.map((n) => [n.name, n.addresses, n.labels['kubernetes.io/hostname']]),
      [
        ['node-a', ['192.0.2.1'], 'node-a'],
        ['node-b', ['192.0.2.2'], 'node-b'],
      ],
    );
    assert.equal(cluster.namespaces.some((n) => n.name === 'gryffindor'), false, 'a cluster-scoped object places nothing in a namespace');
  });

  test('metadata.namespace of a cluster-scoped kind is ignored, even an invalid one, as kubectl ignores it', () => {
    const text = ANP.replace('namespace: gryffindor', 'namespace: Not_Valid');
    const built = load([{ file: 'a.yaml', text }]);
    assert.deepEqual(built.diagnostics, []);
    assert.equal(built.cluster!.adminPolicies![0].name, 'deny-ravenclaw');
  });

  test('a field error points at the line of the field, with its path and the object', () => {
    const text = ANP.replace('priority: 3', 'priority: 1001').replace('action: Deny', 'action: Denied');
    assert.deepEqual(errorsOf([{ file: 'a.yaml', text }]), [
      `a.yaml:${pos(text, '1001')}: AdminNetworkPolicy deny-ravenclaw: spec.priority: Invalid value: 1001: spec.priority in body should be less than or equal to 1000`,
      `a.yaml:${pos(text, 'Denied')}: AdminNetworkPolicy deny-ravenclaw: spec.egress[0].action: Unsupported value: "Denied": supported values: "Allow", "Deny", "Pass"`,
    ]);
  });

  test('the BaselineAdminNetworkPolicy name rule is reported on the object (its rule sits at the root)', () => {
    const text = BANP.replace('name: default', 'name: baseline');
    assert.deepEqual(errorsOf([{ file: 'b.yaml', text }]), [
      'b.yaml:1:1: BaselineAdminNetworkPolicy baseline: Invalid value: "object": Only one baseline admin network policy with metadata.name="default" can be created in the cluster',
    ]);
  });

  test('the root rule of a List item names the item, not a dangling path', () => {
    const text = `apiVersion: v1\nkind: List\nitems:\n- ${BANP.replace('name: default', 'name: baseline').trimEnd().split('\n').join('\n  ')}\n`;
    const errors = load([{ file: 'l.yaml', text }]).diagnostics;
    assert.deepEqual(
      errors.map((d) => d.field),
      ['items[0]'],
    );
    assert.equal(load([{ file: 'b.yaml', text: BANP.replace('name: default', 'name: baseline') }]).diagnostics[0].field, undefined);
  });

  test('an error inside a List item names the item path', () => {
    const text = `apiVersion: v1
kind: List
items:
- apiVersion: policy.networking.k8s.io/v1alpha2
  kind: ClusterNetworkPolicy
  metadata:
    name: c
  spec:
    tier: Admin
    priority: 1
    subject: {}
`;
    assert.deepEqual(errorsOf([{ file: 'l.yaml', text }]), [
      `l.yaml:${pos(text, '{}')}: ClusterNetworkPolicy c: items[0].spec.subject: Invalid value: 0: spec.subject in body should have at least 1 properties`,
    ]);
  });

  test('the same admin policy twice is AlreadyExists (keyed by kind and name); the same name in another kind is not', () => {
    const text = [CNP('same'), CNP('same'), ANP.replace('deny-ravenclaw', 'same')].join('---\n');
    assert.deepEqual(errorsOf([{ file: 'd.yaml', text }]), [`d.yaml:${pos(text, 'apiVersion', 2)} (document 2): ClusterNetworkPolicy same: AlreadyExists: also defined at d.yaml:1`]);
  });

  test('the same Node twice is AlreadyExists', () => {
    const text = [NODE('n1', '192.0.2.1'), NODE('n1', '192.0.2.9')].join('---\n');
    assert.deepEqual(errorsOf([{ file: 'n.yaml', text }]), [`n.yaml:${pos(text, 'apiVersion', 2)} (document 2): Node n1: AlreadyExists: also defined at n.yaml:1`]);
  });

  const unserved: { name: string; text: string; error: string }[] = [
    {
      name: 'an AdminNetworkPolicy in v1alpha2 is not served',
      text: ANP.replace('v1alpha1', 'v1alpha2'),
      error: 'AdminNetworkPolicy deny-ravenclaw: apiVersion: no matches for kind "AdminNetworkPolicy" in version "policy.networking.k8s.io/v1alpha2" (use policy.networking.k8s.io/v1alpha1)',
    },
    {
      name: 'a ClusterNetworkPolicy in v1alpha1 is not served',
      text: CNP('c').replace('v1alpha2', 'v1alpha1'),
      error: 'ClusterNetworkPolicy c: apiVersion: no matches for kind "ClusterNetworkPolicy" in version "policy.networking.k8s.io/v1alpha1" (use policy.networking.k8s.io/v1alpha2)',
    },
    {
      name: 'a Node outside core/v1 is not served',
      text: NODE('n', '192.0.2.1').replace('apiVersion: v1', 'apiVersion: apps/v1'),
      error: 'Node n: apiVersion: no matches for kind "Node" in version "apps/v1" (use v1)',
    },
  ];
  for (const c of unserved) {
    test(`${c.name}: "no matches for kind", as for other kinds`, () => {
      assert.deepEqual(errorsOf([{ file: 'u.yaml', text: c.text }]), [`u.yaml:1:13: ${c.error}`]);
    });
  }

  test('a Node is validated as the apiserver does: its name a DNS subdomain, unknown fields refused', () => {
    const text = NODE('Node_1', '192.0.2.1').replace('status:', 'spec:\n  podCidr: 10.0.0.0/24\nstatus:');
    assert.deepEqual(errorsOf([{ file: 'n.yaml', text }]), [
      `n.yaml:${pos(text, 'Node_1')}: Node Node_1: metadata.name: Invalid value: "Node_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      `n.yaml:${pos(text, '10.0.0.0/24')}: Node Node_1: spec.podCidr: unknown field "spec.podCidr"`,
    ]);
  });
});

describe('decodeNode', () => {
  const cases: { name: string; addresses: { type: string; address: string }[]; expect: string[] }[] = [
    { name: 'InternalIP and ExternalIP addresses are kept in order (NodeAddress types that carry an IP)', addresses: [{ type: 'ExternalIP', address: '203.0.113.1' }, { type: 'InternalIP', address: 'fd00::1' }], expect: ['203.0.113.1', 'fd00::1'] },
    { name: 'Hostname and DNS addresses are names, left out', addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalDNS', address: 'n1.local' }], expect: [] },
    { name: 'an address that is not an IP is left out (the apiserver does not validate NodeAddress)', addresses: [{ type: 'InternalIP', address: 'n1' }], expect: [] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const decoded = decodeNode({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: { addresses: c.addresses } });
      assert.deepEqual(decoded.errors, []);
      assert.deepEqual(decoded.node!.addresses, c.expect);
    });
  }
});

describe('clusterFromObjects keeps valid admin policies and Nodes', () => {
  test('a rule that fails closed is kept and reported as a notice naming the peer', () => {
    const built = clusterFromObjects([
      { apiVersion: 'policy.networking.k8s.io/v1alpha1', kind: 'AdminNetworkPolicy', metadata: { name: 'a' }, spec: { priority: 1, subject: { namespaces: {} }, egress: [{ action: 'Deny', to: [{ serviceAccounts: {} }] }] } },
    ]);
    assert.equal(built.cluster!.adminPolicies![0].egress[0].action, 'Deny');
    assert.deepEqual(
      built.diagnostics.map((d) => [d.severity, d.object, d.field, d.message]),
      [['notice', 'AdminNetworkPolicy a', 'spec.egress[0].to[0]', 'sets no field Podwall knows (a newer CRD?): fails closed, the rule denies all traffic']],
    );
  });

  test('a valid admin policy and Node survive beside an invalid one, which is reported; unknown fields are pruned', () => {
    const built = clusterFromObjects([
      { apiVersion: 'policy.networking.k8s.io/v1alpha2', kind: 'ClusterNetworkPolicy', metadata: { name: 'ok' }, spec: { tier: 'Admin', priority: 1, subject: { namespaces: {} }, futureField: true } },
      { apiVersion: 'policy.networking.k8s.io/v1alpha2', kind: 'ClusterNetworkPolicy', metadata: { name: 'bad' }, spec: { tier: 'Admin', priority: 5000, subject: { namespaces: {} } } },
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { role: 'worker' } }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.1' }], nodeInfo: { kubeletVersion: 'v1.33.0' } } },
    ]);
    assert.deepEqual(built.cluster!.adminPolicies!.map((p) => p.name), ['ok']);
    assert.deepEqual(built.cluster!.nodes!.map((n) => n.name), ['n1']);
    assert.deepEqual(built.diagnostics.map((d) => `${d.object}: ${d.field}`), ['ClusterNetworkPolicy bad: spec.priority']);
  });
});
