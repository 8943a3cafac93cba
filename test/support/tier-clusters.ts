// Random small clusters with admin tiers, for the data plane's differential and `nft -c` tests:
// two team namespaces, pods with named ports in three protocols, a host-network pod, a node and
// an outside address; Admin- and Baseline-tier policies of every kind (equal priorities included)
// with every peer and port form, and NetworkPolicies that isolate some pods.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileCluster, type CompiledCluster } from '../../src/engine/index.js';
import {
  formatDiagnostic,
  loadTexts,
  type AdminPeer,
  type AdminPolicy,
  type AdminPort,
  type AdminRule,
  type AdminSubject,
  type LabelSelector,
  type Manifest,
  type Node,
} from '../../src/model/index.js';

export interface TierPod {
  readonly id: string;
  readonly ip: string;
  readonly labels: Record<string, string>;
  readonly ports: readonly { name: string; containerPort: number; protocol: 'TCP' | 'UDP' | 'SCTP' }[];
  readonly hostNetwork?: boolean;
}

export const TIER_PODS: readonly TierPod[] = [
  { id: 'x/a', ip: '10.0.0.1', labels: { app: 'a' }, ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] },
  { id: 'x/b', ip: '10.0.0.2', labels: { app: 'b' }, ports: [{ name: 'http', containerPort: 81, protocol: 'TCP' }] },
  { id: 'y/a', ip: '10.0.1.1', labels: { app: 'a' }, ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }, { name: 'dns', containerPort: 53, protocol: 'TCP' }] },
  { id: 'y/c', ip: '10.0.1.2', labels: { app: 'c' }, ports: [{ name: 'http', containerPort: 82, protocol: 'SCTP' }] },
  { id: 'y/host', ip: '10.9.0.1', labels: { app: 'a' }, ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }], hostNetwork: true },
];
export const TIER_NODES: readonly Node[] = [{ name: 'node-1', labels: { role: 'worker' }, addresses: ['10.9.0.1'] }];
export const OUTSIDE = '192.0.2.1';
/** Ports worth probing: every container port, a neighbour, and one no rule names. */
export const TIER_PORTS: readonly number[] = [53, 80, 81, 82, 83, 1000];

const sel = (matchLabels: Record<string, string>): LabelSelector => ({ matchLabels, matchExpressions: [] });
const TEAM = fc.constantFrom<Record<string, string>>({}, { team: 'x' }, { team: 'y' });
const APP = fc.constantFrom<Record<string, string>>({}, { app: 'a' }, { app: 'b' }, { app: 'c' });
const PROTOCOL = fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const);

const subjectArb: fc.Arbitrary<AdminSubject> = fc.oneof(
  TEAM.map((t): AdminSubject => ({ namespaces: sel(t) })),
  fc.tuple(TEAM, APP).map(([t, a]): AdminSubject => ({ pods: { namespaceSelector: sel(t), podSelector: sel(a) } })),
);
const peerArb: fc.Arbitrary<AdminPeer> = fc.oneof(
  TEAM.map((t): AdminPeer => ({ kind: 'namespaces', namespaces: sel(t) })),
  fc.tuple(TEAM, APP).map(([t, a]): AdminPeer => ({ kind: 'pods', pods: { namespaceSelector: sel(t), podSelector: sel(a) } })),
  fc.constantFrom<AdminPeer>(
    { kind: 'networks', networks: ['10.0.0.0/31'] },
    { kind: 'networks', networks: ['10.0.1.2/32', '192.0.2.0/24'] },
    { kind: 'networks', networks: ['0.0.0.0/0'] },
    { kind: 'nodes', nodes: sel({ role: 'worker' }) },
    { kind: 'domainNames', domainNames: ['example.com'] },
  ),
);
const portArb: fc.Arbitrary<AdminPort> = fc.oneof(
  fc.record({ protocol: PROTOCOL, port: fc.constantFrom(53, 80, 81, 82) }).map((p): AdminPort => ({ kind: 'number', ...p })),
  fc.record({ protocol: PROTOCOL, start: fc.constantFrom(53, 80, 81), len: fc.integer({ min: 1, max: 30 }) }).map(({ protocol, start, len }): AdminPort => ({ kind: 'range', protocol, start, end: start + len })),
  fc.constantFrom<AdminPort>({ kind: 'named', name: 'http' }, { kind: 'named', name: 'dns' }),
);
const ruleArb = (actions: readonly AdminRule['action'][]): fc.Arbitrary<AdminRule> =>
  fc.record({
    action: fc.constantFrom(...actions),
    peers: fc.array(peerArb, { minLength: 1, maxLength: 2 }),
    ports: fc.option(fc.array(portArb, { minLength: 1, maxLength: 2 }), { nil: undefined, freq: 2 }),
  });

const adminArb: fc.Arbitrary<AdminPolicy> = fc
  .record({
    v2: fc.boolean(),
    priority: fc.constantFrom(1, 2, 2, 5),
    subject: subjectArb,
    ingress: fc.array(ruleArb(['Allow', 'Deny', 'Pass']), { maxLength: 3 }),
    egress: fc.array(ruleArb(['Allow', 'Deny', 'Pass']), { maxLength: 3 }),
  })
  .map(({ v2, priority, subject, ingress, egress }) => {
    const action = (r: AdminRule): AdminRule => ({ ...r, action: v2 && r.action === 'Allow' ? 'Accept' : r.action });
    return {
      kind: v2 ? 'ClusterNetworkPolicy' : 'AdminNetworkPolicy',
      apiVersion: v2 ? 'policy.networking.k8s.io/v1alpha2' : 'policy.networking.k8s.io/v1alpha1',
      name: 'admin',
      tier: 'Admin',
      priority,
      subject,
      ingress: ingress.map(action),
      egress: egress.map(action),
    } satisfies AdminPolicy;
  });
const baselineArb: fc.Arbitrary<AdminPolicy> = fc
  .record({
    banp: fc.boolean(),
    priority: fc.constantFrom(1, 3),
    subject: subjectArb,
    ingress: fc.array(ruleArb(['Allow', 'Deny', 'Pass']), { maxLength: 3 }),
    egress: fc.array(ruleArb(['Allow', 'Deny', 'Pass']), { maxLength: 3 }),
  })
  .map(({ banp, priority, subject, ingress, egress }) => {
    // A BaselineAdminNetworkPolicy has Allow and Deny only; a ClusterNetworkPolicy says Accept.
    const action = (r: AdminRule): AdminRule => ({ ...r, action: banp ? (r.action === 'Pass' ? 'Allow' : r.action) : r.action === 'Allow' ? 'Accept' : r.action });
    return {
      kind: banp ? 'BaselineAdminNetworkPolicy' : 'ClusterNetworkPolicy',
      apiVersion: banp ? 'policy.networking.k8s.io/v1alpha1' : 'policy.networking.k8s.io/v1alpha2',
      name: banp ? 'default' : 'baseline',
      tier: 'Baseline',
      priority: banp ? undefined : priority,
      subject,
      ingress: ingress.map(action),
      egress: egress.map(action),
    } satisfies AdminPolicy;
  });

/** A NetworkPolicy in x or y isolating some of its pods, with a rule or two. */
const networkPolicyArb: fc.Arbitrary<Manifest> = fc
  .record({
    namespace: fc.constantFrom('x', 'y'),
    podSelector: APP,
    types: fc.constantFrom(['Ingress'], ['Egress'], ['Ingress', 'Egress']),
    from: fc.option(fc.constantFrom<Manifest>({ podSelector: { matchLabels: { app: 'a' } } }, { namespaceSelector: { matchLabels: { team: 'y' } } }, { ipBlock: { cidr: '10.0.0.0/24' } }), { nil: undefined }),
    port: fc.option(fc.constantFrom<Manifest>({ port: 80 }, { port: 'dns', protocol: 'UDP' }, { protocol: 'SCTP' }), { nil: undefined }),
  })
  .map(({ namespace, podSelector, types, from, port }) => {
    const rule = { ...(from ? { peers: [from] } : {}), ...(port ? { ports: [port] } : {}) };
    return {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `np-${namespace}-${Object.values(podSelector).join('') || 'all'}-${types.join('').toLowerCase()}`, namespace },
      spec: {
        podSelector: { matchLabels: podSelector },
        policyTypes: types,
        ingress: [{ ...(rule.peers ? { from: rule.peers } : {}), ...(rule.ports ? { ports: rule.ports } : {}) }],
        egress: [{ ...(rule.peers ? { to: rule.peers } : {}), ...(rule.ports ? { ports: rule.ports } : {}) }],
      },
    };
  });

export interface TierInput {
  readonly admin: readonly AdminPolicy[];
  readonly policies: readonly Manifest[];
}

export const tierInputArb: fc.Arbitrary<TierInput> = fc.record({
  admin: fc
    .tuple(fc.array(adminArb, { maxLength: 3 }), fc.array(baselineArb, { maxLength: 2 }))
    .map(([admin, baseline]) => {
      // Names unique per kind (a BaselineAdminNetworkPolicy is always `default`: at most one).
      const named = [...admin, ...baseline].map((p, i) => (p.kind === 'BaselineAdminNetworkPolicy' ? p : { ...p, name: `${p.name}-${i}` }));
      return named.filter((p, i) => p.kind !== 'BaselineAdminNetworkPolicy' || named.findIndex((q) => q.kind === p.kind) === i);
    }),
  policies: fc.uniqueArray(networkPolicyArb, { maxLength: 2, selector: (p) => (p.metadata as { name: string }).name }),
});

export function tierManifests(input: TierInput): Manifest[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', labels: { team: 'x' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'y', labels: { team: 'y' } } },
    ...TIER_PODS.map((p) => {
      const [namespace, name] = p.id.split('/');
      return {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace, labels: p.labels },
        spec: { hostNetwork: p.hostNetwork ?? false, containers: [{ name: 'main', image: 'registry.example/app', ports: p.ports }] },
        status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }] },
      };
    }),
    ...input.policies,
  ];
}

export function tierCluster(input: TierInput): CompiledCluster {
  const text = tierManifests(input)
    .map((o) => `---\n${JSON.stringify(o)}\n`)
    .join('');
  const built = loadTexts([{ file: 'tiers.yaml', text }]);
  assert.ok(built.cluster, built.diagnostics.map(formatDiagnostic).join('\n'));
  return compileCluster({ ...built.cluster, adminPolicies: input.admin, nodes: TIER_NODES });
}
