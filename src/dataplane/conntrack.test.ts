// Existing connections: `conntrack -L -o extended` parsing, and which entries a cluster state
// revokes (no longer allowed, not yet marked) or restores (marked, allowed again).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileCluster, type CompiledCluster } from '../engine/index.js';
import { formatDiagnostic, loadTexts, type AdminPolicy, type AdminRule, type LabelSelector, type Manifest } from '../model/index.js';
import { connectionChanges, parseConntrack, REVOKED_MARK, type ConntrackEntry } from './conntrack.js';

// Lines as conntrack-tools 1.4 prints them with `-L -o extended`: the original tuple first, then
// the reply tuple; the mark in decimal.
const TCP_ESTABLISHED =
  'ipv4     2 tcp      6 431999 ESTABLISHED src=10.244.1.1 dst=10.244.2.2 sport=41234 dport=5432 src=10.244.2.2 dst=10.244.1.1 sport=5432 dport=41234 [ASSURED] mark=0 use=1';
const UDP_UNREPLIED =
  'ipv4     2 udp      17 29 src=10.244.1.1 dst=10.96.0.10 sport=50000 dport=53 [UNREPLIED] src=10.96.0.10 dst=10.244.1.1 sport=53 dport=50000 mark=0 use=1';
const TCP6_ESTABLISHED =
  'ipv6     10 tcp      6 431998 ESTABLISHED src=fd00::1:1 dst=fd00::2:2 sport=52000 dport=5432 src=fd00::2:2 dst=fd00::1:1 sport=5432 dport=52000 [ASSURED] mark=0 zone=0 use=1';
const SCTP_ESTABLISHED =
  'ipv4     2 sctp     132 431987 ESTABLISHED src=10.244.1.1 dst=10.244.2.2 sport=40000 dport=9000 src=10.244.2.2 dst=10.244.1.1 sport=9000 dport=40000 [ASSURED] mark=0 use=1';
const TCP_REVOKED = `ipv4     2 tcp      6 431999 ESTABLISHED src=10.244.3.3 dst=10.244.2.2 sport=41000 dport=5432 src=10.244.2.2 dst=10.244.3.3 sport=5432 dport=41000 [ASSURED] mark=${REVOKED_MARK} use=1`;
const TCP_OTHER_MARK_BITS = `ipv4     2 tcp      6 431999 ESTABLISHED src=10.244.3.3 dst=10.244.2.2 sport=41001 dport=5432 src=10.244.2.2 dst=10.244.3.3 sport=5432 dport=41001 [ASSURED] mark=${REVOKED_MARK | 0x4000 | 1} use=1`;
const TCP_MARK_WITHOUT_BIT =
  'ipv4     2 tcp      6 431999 ESTABLISHED src=10.244.3.3 dst=10.244.2.2 sport=41002 dport=5432 src=10.244.2.2 dst=10.244.3.3 sport=5432 dport=41002 [ASSURED] mark=16384 use=1';
const ICMP = 'ipv4     2 icmp     1 29 src=10.244.1.1 dst=10.244.2.2 type=8 code=0 id=4711 src=10.244.2.2 dst=10.244.1.1 type=0 code=0 id=4711 mark=0 use=1';
const ICMP6 = 'ipv6     10 icmpv6   58 29 src=fd00::1:1 dst=fd00::2:2 type=128 code=0 id=4712 src=fd00::2:2 dst=fd00::1:1 type=129 code=0 id=4712 mark=0 use=1';
const IGMP = 'ipv4     2 unknown  2 550 src=10.244.0.1 dst=224.0.0.22 [UNREPLIED] src=224.0.0.22 dst=10.244.0.1 mark=0 use=1';
const TIME_WAIT =
  'ipv4     2 tcp      6 33 TIME_WAIT src=10.244.1.1 dst=10.244.2.2 sport=34718 dport=5432 src=10.244.2.2 dst=10.244.1.1 sport=5432 dport=34718 [ASSURED] mark=0 use=1';
const CLOSE = 'ipv4     2 tcp      6 8 CLOSE src=10.244.1.1 dst=10.244.2.2 sport=34719 dport=5432 src=10.244.2.2 dst=10.244.1.1 sport=5432 dport=34719 [ASSURED] mark=0 use=1';
const SUMMARY = 'conntrack v1.4.7 (conntrack-tools): 11 flow entries have been shown.';

const entry = (
  protocol: ConntrackEntry['protocol'],
  source: string,
  sourcePort: number,
  destination: string,
  destinationPort: number,
  revoked = false,
  target = destination,
  targetPort = destinationPort,
): ConntrackEntry => ({ protocol, source, destination, sourcePort, destinationPort, target, targetPort, revoked });

describe('parseConntrack', () => {
  const cases: { name: string; lines: string[]; expect: ConntrackEntry[] }[] = [
    { name: 'tcp ESTABLISHED: the original tuple', lines: [TCP_ESTABLISHED], expect: [entry('TCP', '10.244.1.1', 41234, '10.244.2.2', 5432)] },
    { name: 'udp UNREPLIED (the flag sits between the tuples)', lines: [UDP_UNREPLIED], expect: [entry('UDP', '10.244.1.1', 50000, '10.96.0.10', 53)] },
    { name: 'ipv6 tcp, with a zone field', lines: [TCP6_ESTABLISHED], expect: [entry('TCP', 'fd00::1:1', 52000, 'fd00::2:2', 5432)] },
    { name: 'sctp', lines: [SCTP_ESTABLISHED], expect: [entry('SCTP', '10.244.1.1', 40000, '10.244.2.2', 9000)] },
    { name: 'icmp, icmpv6 and unknown protocols are ignored', lines: [ICMP, ICMP6, IGMP], expect: [] },
    { name: 'tcp connections that are over (TIME_WAIT, CLOSE) are ignored', lines: [TIME_WAIT, CLOSE], expect: [] },
    { name: 'the revoked bit of the mark, alone or with other bits, is read', lines: [TCP_REVOKED, TCP_OTHER_MARK_BITS], expect: [entry('TCP', '10.244.3.3', 41000, '10.244.2.2', 5432, true), entry('TCP', '10.244.3.3', 41001, '10.244.2.2', 5432, true)] },
    { name: 'a mark without the revoked bit is not revoked', lines: [TCP_MARK_WITHOUT_BIT], expect: [entry('TCP', '10.244.3.3', 41002, '10.244.2.2', 5432)] },
    { name: 'blank lines, the summary line and garbage are ignored', lines: ['', '   ', SUMMARY, 'ipv4 2 tcp 6 1 ESTABLISHED src=nonsense dst=10.0.0.1 sport=1 dport=2', 'ipv4 2 tcp 6 1 ESTABLISHED src=10.0.0.1 dst=10.0.0.2'], expect: [] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parseConntrack(c.lines.join('\n')), c.expect));

  test('a whole listing, in order, with a trailing newline', () => {
    const text = `${[TCP_ESTABLISHED, ICMP, UDP_UNREPLIED, TIME_WAIT, TCP6_ESTABLISHED, IGMP, SCTP_ESTABLISHED].join('\n')}\n`;
    assert.deepEqual(
      parseConntrack(text).map((e) => `${e.protocol} ${e.source}:${e.sourcePort} -> ${e.destination}:${e.destinationPort}`),
      ['TCP 10.244.1.1:41234 -> 10.244.2.2:5432', 'UDP 10.244.1.1:50000 -> 10.96.0.10:53', 'TCP fd00::1:1:52000 -> fd00::2:2:5432', 'SCTP 10.244.1.1:40000 -> 10.244.2.2:9000'],
    );
  });
});

// ---------------------------------------------------------------------------------------------
// connectionChanges

const pod = (name: string, ips: string[], labels: Record<string, string>, options: { hostNetwork?: boolean } = {}): Manifest => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels },
  spec: { hostNetwork: options.hostNetwork ?? false, containers: [{ name: 'main', image: 'i', ports: [{ name: 'sql', containerPort: 5432 }] }] },
  status: { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
});

const policy = (name: string, spec: Manifest): Manifest => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'default' }, spec });

function cluster(objects: readonly Manifest[]): CompiledCluster {
  const built = loadTexts([{ file: 'test.yaml', text: objects.map((o) => `---\n${JSON.stringify(o)}\n`).join('') }]);
  assert.ok(built.cluster, built.diagnostics.map(formatDiagnostic).join('\n'));
  return compileCluster(built.cluster);
}

const NODE = '10.244.0.1';

/** client -> db on 5432 only; other is not allowed in; client may send only to db; a hostNetwork pod on the node. */
const STATE = cluster([
  pod('client', ['10.244.1.1', 'fd00::1:1'], { app: 'client' }),
  pod('db', ['10.244.2.2', 'fd00::2:2'], { app: 'db' }),
  pod('other', ['10.244.3.3'], { app: 'other' }),
  pod('agent', ['192.168.0.10'], { app: 'agent' }, { hostNetwork: true }),
  policy('db', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: 'sql' }] }] }),
  policy('client', { podSelector: { matchLabels: { app: 'client' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'db' } } }] }] }),
]);

/** No policies, but an impostor claims the db's address (and a Failed pod the client's, which means nothing). */
const SHARED = cluster([
  pod('client', ['10.244.1.1'], { app: 'client' }),
  pod('db', ['10.244.2.2'], { app: 'db' }),
  pod('aaa-impostor', ['10.244.2.2'], { app: 'impostor' }),
  { ...pod('aaa-old', ['10.244.1.1'], { app: 'client' }), status: { phase: 'Failed', podIP: '10.244.1.1', podIPs: [{ ip: '10.244.1.1' }] } },
]);

/** No policies at all: everything is allowed. */
const OPEN = cluster([pod('client', ['10.244.1.1'], { app: 'client' }), pod('db', ['10.244.2.2'], { app: 'db' }), pod('other', ['10.244.3.3'], { app: 'other' })]);

describe('connectionChanges', () => {
  const cases: { name: string; state?: CompiledCluster; entry: ConntrackEntry; expect: 'revoke' | 'restore' | 'none' }[] = [
    { name: 'an entry the policies deny is revoked (other -> db)', entry: entry('TCP', '10.244.3.3', 41000, '10.244.2.2', 5432), expect: 'revoke' },
    { name: 'an allowed entry is left alone (client -> db:5432)', entry: entry('TCP', '10.244.1.1', 41000, '10.244.2.2', 5432), expect: 'none' },
    { name: 'an allowed source on a port the rule does not list is revoked (client -> db:5433)', entry: entry('TCP', '10.244.1.1', 41000, '10.244.2.2', 5433), expect: 'revoke' },
    { name: 'a protocol the rule does not list is revoked (client -> db:5432/UDP)', entry: entry('UDP', '10.244.1.1', 41000, '10.244.2.2', 5432), expect: 'revoke' },
    { name: "the source's egress counts too (client -> outside)", entry: entry('UDP', '10.244.1.1', 50000, '8.8.8.8', 53), expect: 'revoke' },
    { name: 'a pod that is not isolated may reach the outside (other -> outside)', entry: entry('TCP', '10.244.3.3', 50000, '93.184.216.34', 443), expect: 'none' },
    { name: 'the outside into an isolated pod is revoked', entry: entry('TCP', '192.0.2.1', 50000, '10.244.2.2', 5432), expect: 'revoke' },
    { name: 'IPv6 entries are judged like IPv4 ones (client -> db over IPv6)', entry: entry('TCP', 'fd00::1:1', 52000, 'fd00::2:2', 5432), expect: 'none' },
    { name: 'IPv6: a denied port is revoked', entry: entry('TCP', 'fd00::1:1', 52000, 'fd00::2:2', 22), expect: 'revoke' },
    { name: 'a revoked entry the policies allow again is restored', entry: entry('TCP', '10.244.1.1', 41000, '10.244.2.2', 5432, true), expect: 'restore' },
    { name: 'a revoked entry still denied is not revoked twice', entry: entry('TCP', '10.244.3.3', 41000, '10.244.2.2', 5432, true), expect: 'none' },
    { name: 'with no policies every revoked entry is restored', state: OPEN, entry: entry('TCP', '10.244.3.3', 41000, '10.244.2.2', 5432, true), expect: 'restore' },
    { name: 'with no policies nothing is revoked', state: OPEN, entry: entry('TCP', '10.244.3.3', 41000, '10.244.2.2', 5432), expect: 'none' },
    { name: 'a connection to an address two live pods claim is revoked, as the ruleset refuses it anew', state: SHARED, entry: entry('TCP', '10.244.1.1', 41000, '10.244.2.2', 5432), expect: 'revoke' },
    { name: 'a connection from an address two live pods claim is revoked', state: SHARED, entry: entry('UDP', '10.244.2.2', 41000, '10.244.1.1', 53), expect: 'revoke' },
    { name: 'a Failed pod claiming an address is no claimant: its connections are judged as the live pod\'s', state: SHARED, entry: entry('TCP', '10.244.1.1', 41000, '198.51.100.7', 80, true), expect: 'restore' },
    { name: 'entries from an ignored address (the node) are never judged', entry: entry('TCP', NODE, 41000, '10.244.2.2', 5432), expect: 'none' },
    { name: 'entries not involving pods are never judged', entry: entry('TCP', '192.0.2.1', 41000, '198.51.100.7', 80), expect: 'none' },
    { name: 'a hostNetwork pod is not a pod here: its traffic to the outside is not judged', entry: entry('TCP', '192.168.0.10', 41000, '198.51.100.7', 80), expect: 'none' },
    { name: 'a hostNetwork pod into an isolated pod is judged at the destination (pod selectors never match it)', entry: entry('TCP', '192.168.0.10', 41000, '10.244.2.2', 5432), expect: 'revoke' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { revoke, restore } = connectionChanges(c.state ?? STATE, [c.entry], new Set([NODE]));
      const got = revoke.length > 0 ? 'revoke' : restore.length > 0 ? 'restore' : 'none';
      assert.equal(got, c.expect);
      assert.ok(revoke.length + restore.length <= 1);
    });
  }

  test('a parsed listing splits into revoke and restore, keeping the entries as parsed', () => {
    const entries = parseConntrack([TCP_ESTABLISHED, TCP_REVOKED, ICMP, TCP6_ESTABLISHED, TIME_WAIT, `${TCP_ESTABLISHED.replace('sport=41234', 'sport=41299').replace(' mark=0 ', ` mark=${REVOKED_MARK} `)}`].join('\n'));
    const { revoke, restore } = connectionChanges(STATE, entries, new Set([NODE]));
    // client -> db (allowed, unmarked): nothing; other -> db (denied, already revoked): nothing;
    // client -> db over IPv6: nothing; the marked client -> db: restored.
    assert.deepEqual(revoke, []);
    assert.deepEqual(restore, [entry('TCP', '10.244.1.1', 41299, '10.244.2.2', 5432, true)]);
    // With the db policy made stricter (nobody may connect), the live ones are revoked.
    const strict = cluster([
      pod('client', ['10.244.1.1', 'fd00::1:1'], { app: 'client' }),
      pod('db', ['10.244.2.2', 'fd00::2:2'], { app: 'db' }),
      pod('other', ['10.244.3.3'], { app: 'other' }),
      policy('db', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] }),
    ]);
    const changed = connectionChanges(strict, entries, new Set([NODE]));
    assert.deepEqual(changed.revoke, [entry('TCP', '10.244.1.1', 41234, '10.244.2.2', 5432), entry('TCP', 'fd00::1:1', 52000, 'fd00::2:2', 5432)]);
    assert.deepEqual(changed.restore, []);
  });

  test('a pod address written non-canonically in the manifest still matches conntrack\'s canonical text', () => {
    const state = cluster([
      pod('db', ['FD00:0:0:0:0:0:0002:0002'], { app: 'db' }),
      policy('db', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'] }),
    ]);
    const { revoke } = connectionChanges(state, [entry('TCP', 'fd00::9', 41000, 'fd00::2:2', 5432)]);
    assert.equal(revoke.length, 1, 'the connection into the isolated db pod is revoked');
  });

  test('a connection through a Service (DNAT) is judged by the pod it reaches, as the ruleset sees it', () => {
    // client -> ClusterIP 10.96.0.20:5432, DNATed by kube-proxy to db 10.244.2.2:5432, which STATE allows.
    const line =
      'ipv4     2 tcp      6 431999 ESTABLISHED src=10.244.1.1 dst=10.96.0.20 sport=41500 dport=5432 src=10.244.2.2 dst=10.244.1.1 sport=5432 dport=41500 [ASSURED] mark=0 use=1';
    const { revoke } = connectionChanges(STATE, parseConntrack(line), new Set([NODE]));
    assert.deepEqual(revoke, [], 'the ruleset allowed it; revoking it would cut every Service connection of an egress-isolated pod');
  });
});

describe('connectionChanges covers every tier', () => {
  const sel = (matchLabels: Record<string, string> = {}): LabelSelector => ({ matchLabels, matchExpressions: [] });
  const objects = [
    pod('client', ['10.244.1.1'], { app: 'client' }),
    pod('db', ['10.244.2.2'], { app: 'db' }),
    pod('other', ['10.244.3.3'], { app: 'other' }),
    // NetworkPolicy: db takes 5432 from the client only.
    policy('db', { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ port: 5432 }] }] }),
  ];
  const admin = (name: string, priority: number, action: AdminRule['action'], from: Record<string, string>, to: Record<string, string>): AdminPolicy => ({
    kind: 'AdminNetworkPolicy',
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    name,
    tier: 'Admin',
    priority,
    subject: { pods: { namespaceSelector: sel(), podSelector: sel(to) } },
    ingress: [{ action, peers: [{ kind: 'pods', pods: { namespaceSelector: sel(), podSelector: sel(from) } }] }],
    egress: [],
  });
  const baselineDeny: AdminPolicy = {
    kind: 'BaselineAdminNetworkPolicy',
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    name: 'default',
    tier: 'Baseline',
    subject: { namespaces: sel() },
    ingress: [{ action: 'Deny', peers: [{ kind: 'namespaces', namespaces: sel() }] }],
    egress: [],
  };
  const withAdmin = (adminPolicies: readonly AdminPolicy[]): CompiledCluster => {
    const built = loadTexts([{ file: 'test.yaml', text: objects.map((o) => `---\n${JSON.stringify(o)}\n`).join('') }]);
    assert.ok(built.cluster, built.diagnostics.map(formatDiagnostic).join('\n'));
    return compileCluster({ ...built.cluster, adminPolicies });
  };
  const clientToDb = entry('TCP', '10.244.1.1', 41000, '10.244.2.2', 5432);
  const otherToDb = entry('TCP', '10.244.3.3', 41000, '10.244.2.2', 5432);
  const otherToClient = entry('TCP', '10.244.3.3', 41000, '10.244.1.1', 80);
  // The client (not isolated) reaching itself through its Service's ClusterIP: DNATed back to its own address.
  const clientToItself = entry('TCP', '10.244.1.1', 41000, '10.96.0.21', 80, false, '10.244.1.1', 8080);
  const cases: { name: string; state: AdminPolicy[]; entry: ConntrackEntry; expect: 'revoke' | 'restore' | 'none' }[] = [
    { name: 'an admin Deny added revokes a flow NetworkPolicy allows', state: [admin('deny', 1, 'Deny', { app: 'client' }, { app: 'db' })], entry: clientToDb, expect: 'revoke' },
    { name: 'the admin Deny removed restores it', state: [], entry: { ...clientToDb, revoked: true }, expect: 'restore' },
    { name: 'an admin Allow keeps open a flow NetworkPolicy denies', state: [admin('allow', 1, 'Allow', { app: 'other' }, { app: 'db' })], entry: otherToDb, expect: 'none' },
    { name: 'the admin Allow removed revokes it', state: [], entry: otherToDb, expect: 'revoke' },
    { name: 'an admin Pass hands the flow to NetworkPolicy, which denies it', state: [admin('pass', 1, 'Pass', { app: 'other' }, { app: 'db' }), admin('allow', 2, 'Allow', { app: 'other' }, { app: 'db' })], entry: otherToDb, expect: 'revoke' },
    { name: 'a baseline Deny revokes flows into pods NetworkPolicy does not isolate', state: [baselineDeny], entry: otherToClient, expect: 'revoke' },
    { name: 'a baseline Deny leaves alone flows into pods NetworkPolicy isolates and allows', state: [baselineDeny], entry: clientToDb, expect: 'none' },
    { name: 'a pod reaching itself through a Service is judged with the admin tiers (an admin Deny revokes it)', state: [admin('deny-self', 1, 'Deny', { app: 'client' }, { app: 'client' })], entry: clientToItself, expect: 'revoke' },
    { name: 'the same flow without the admin Deny is left alone', state: [], entry: clientToItself, expect: 'none' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { revoke, restore } = connectionChanges(withAdmin(c.state), [c.entry], new Set([NODE]));
      assert.equal(revoke.length > 0 ? 'revoke' : restore.length > 0 ? 'restore' : 'none', c.expect);
    });
  }
});
