// One test per rule of the admin tiers (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
// ClusterNetworkPolicy), each quoting the type documentation of kubernetes-sigs/network-policy-api
// it restates (v1alpha1 at v0.1.7, v1alpha2 at HEAD, and site-src/api-overview.md), checked through
// evaluateConnection's verdicts and reasons and the class matrix. Clusters are built as objects.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  AdminPeer,
  AdminPolicy,
  AdminPort,
  AdminRule,
  AdminRuleAction,
  AdminSubject,
  Cluster,
  Endpoint,
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyRule,
  Node,
  Protocol,
  Service,
} from '../model/index.js';
import {
  compileCluster,
  computeMatrix,
  computeClasses,
  computeMatrixPairwise,
  computeServiceMatrix,
  evaluateConnection,
  evaluateServiceConnection,
  formatAdminRuleRef,
  type CompiledCluster,
  type TrafficPeer,
  type Verdict,
} from './index.js';

// ---------------------------------------------------------------------------------------------
// Builders.

const sel = (matchLabels: Record<string, string> = {}): LabelSelector => ({ matchLabels, matchExpressions: [] });

/** `80`, `80/UDP`, `http:8080`, `dns:53/UDP`. */
function containerPort(spec: string): Endpoint['ports'][number] {
  const m = /^(?:([a-z0-9-]+):)?([0-9]+)(?:\/(TCP|UDP|SCTP))?$/.exec(spec)!;
  return { ...(m[1] ? { name: m[1] } : {}), containerPort: Number(m[2]), protocol: (m[3] ?? 'TCP') as Protocol };
}

interface PodOptions {
  readonly ip?: string;
  readonly ports?: readonly string[];
  readonly hostNetwork?: boolean;
  readonly kind?: Endpoint['kind'];
  readonly replicas?: number;
}

function pod(id: string, labels: Record<string, string> = {}, o: PodOptions = {}): Endpoint {
  const [namespace, name] = id.split('/');
  const kind = o.kind ?? 'Pod';
  return {
    id: kind === 'Pod' ? id : `${namespace}/${kind.toLowerCase()}/${name}`,
    kind,
    namespace,
    name,
    labels,
    ports: (o.ports ?? []).map(containerPort),
    ips: o.ip ? [o.ip] : [],
    hostNetwork: o.hostNetwork ?? false,
    replicas: o.replicas ?? 1,
  };
}

/** A NetworkPolicy; policyTypes as written (Ingress when none are given). */
function np(id: string, podSelector: LabelSelector, spec: { policyTypes?: ('Ingress' | 'Egress')[]; ingress?: NetworkPolicyRule[]; egress?: NetworkPolicyRule[] }): NetworkPolicy {
  const [namespace, name] = id.split('/');
  return {
    namespace,
    name,
    spec: { podSelector, policyTypes: spec.policyTypes ?? ['Ingress'], ingress: spec.ingress ?? [], egress: spec.egress ?? [] },
  };
}

const rule = (action: AdminRuleAction, peers: AdminPeer[], ports?: AdminPort[], name?: string): AdminRule => ({ action, peers, ports, ...(name ? { name } : {}) });
const allNamespaces = (): AdminSubject => ({ namespaces: sel() });
const namespaces = (labels: Record<string, string> = {}): AdminPeer => ({ kind: 'namespaces', namespaces: sel(labels) });
const pods = (ns: Record<string, string>, p: Record<string, string>): AdminPeer => ({ kind: 'pods', pods: { namespaceSelector: sel(ns), podSelector: sel(p) } });
const networks = (...cidrs: string[]): AdminPeer => ({ kind: 'networks', networks: cidrs });
const nodes = (labels: Record<string, string>): AdminPeer => ({ kind: 'nodes', nodes: sel(labels) });
const tcp = (port: number): AdminPort => ({ kind: 'number', protocol: 'TCP', port });
const udp = (port: number): AdminPort => ({ kind: 'number', protocol: 'UDP', port });
const named = (name: string): AdminPort => ({ kind: 'named', name });
const range = (protocol: Protocol, start: number, end: number): AdminPort => ({ kind: 'range', protocol, start, end });
const podSubject = (ns: Record<string, string>, p: Record<string, string>): AdminSubject => ({ pods: { namespaceSelector: sel(ns), podSelector: sel(p) } });

interface Rules {
  readonly ingress?: AdminRule[];
  readonly egress?: AdminRule[];
}

function anp(name: string, priority: number, subject: AdminSubject, rules: Rules): AdminPolicy {
  return { kind: 'AdminNetworkPolicy', apiVersion: 'policy.networking.k8s.io/v1alpha1', name, tier: 'Admin', priority, subject, ingress: rules.ingress ?? [], egress: rules.egress ?? [] };
}
function banp(subject: AdminSubject, rules: Rules): AdminPolicy {
  return { kind: 'BaselineAdminNetworkPolicy', apiVersion: 'policy.networking.k8s.io/v1alpha1', name: 'default', tier: 'Baseline', subject, ingress: rules.ingress ?? [], egress: rules.egress ?? [] };
}
function cnp(name: string, tier: 'Admin' | 'Baseline', priority: number, subject: AdminSubject, rules: Rules): AdminPolicy {
  return { kind: 'ClusterNetworkPolicy', apiVersion: 'policy.networking.k8s.io/v1alpha2', name, tier, priority, subject, ingress: rules.ingress ?? [], egress: rules.egress ?? [] };
}

/** Namespaces x, y, z (labelled team=x|y|z) with pods a and b each, at 10.0.<ns>.<pod>; more as given. */
function cluster(extra: { endpoints?: Endpoint[]; policies?: NetworkPolicy[]; admin?: AdminPolicy[]; nodes?: Node[]; services?: Service[] } = {}): CompiledCluster {
  const names = ['x', 'y', 'z'];
  const endpoints = [
    ...names.flatMap((ns, i) => [
      pod(`${ns}/a`, { app: 'a' }, { ip: `10.0.${i}.1`, ports: ['http:80', 'dns:53/UDP', '8080'] }),
      pod(`${ns}/b`, { app: 'b' }, { ip: `10.0.${i}.2`, ports: ['web:80', '81', '53/UDP'] }),
    ]),
    ...(extra.endpoints ?? []),
  ];
  const all = [...new Set([...names, ...endpoints.map((e) => e.namespace)])];
  const c: Cluster = {
    namespaces: all.map((name) => ({ name, labels: { 'kubernetes.io/metadata.name': name, team: name }, declared: true })),
    endpoints,
    policies: extra.policies ?? [],
    adminPolicies: extra.admin ?? [],
    nodes: extra.nodes ?? [],
    services: extra.services ?? [],
  };
  return compileCluster(c);
}

function peerOf(c: CompiledCluster, text: string): TrafficPeer {
  const endpoint = c.endpointsById.get(text);
  return endpoint ? { kind: 'endpoint', endpoint } : { kind: 'external', ip: text };
}

function check(c: CompiledCluster, from: string, to: string, port = 80, protocol: Protocol = 'TCP', viaService = false): Verdict {
  return evaluateConnection(c, { source: peerOf(c, from), destination: peerOf(c, to), port, protocol, viaService });
}

/** The class matrix agrees with pairwise evaluation on every cell, and with the Service reading of the diagonal. */
function assertMatrixAgrees(c: CompiledCluster, port = 80, protocol: Protocol = 'TCP'): void {
  const byClass = computeMatrix(c, { port, protocol });
  const byPair = computeMatrixPairwise(c, { port, protocol });
  const ids = c.cluster.endpoints.map((e) => e.id);
  ids.forEach((from, i) =>
    ids.forEach((to, j) => {
      assert.equal(byClass.allowed(i, j), byPair.allowed(i, j), `${from} -> ${to} on ${port}/${protocol}`);
      assert.equal(byClass.allowedViaService(i, j), byPair.allowedViaService(i, j), `${from} -> ${to} through a Service on ${port}/${protocol}`);
    }),
  );
}

const denyIngressAll = (ns: string): NetworkPolicy => np(`${ns}/deny-all`, sel(), { policyTypes: ['Ingress'] });
const denyEgressAll = (ns: string): NetworkPolicy => np(`${ns}/deny-egress`, sel(), { policyTypes: ['Egress'] });
const allowIngressAll = (ns: string): NetworkPolicy => np(`${ns}/allow-all`, sel(), { ingress: [{}] });

// ---------------------------------------------------------------------------------------------

describe('admin tiers: actions', () => {
  test('Accept/Allow ends evaluation for its side: the NetworkPolicy isolating the pod is not consulted', () => {
    // v1alpha2: "Accept: Accepts the selected traffic ... No further ingress ClusterNetworkPolicy or NetworkPolicy rules will be processed."
    // v1alpha1: "Allow: allows the selected traffic (even if it would otherwise have been denied by NetworkPolicy)".
    for (const action of ['Allow', 'Accept'] as const) {
      const policy = action === 'Allow' ? anp('open-x', 5, allNamespaces(), { ingress: [rule(action, [namespaces({ team: 'y' })])] }) : cnp('open-x', 'Admin', 5, allNamespaces(), { ingress: [rule(action, [namespaces({ team: 'y' })])] });
      const c = cluster({ policies: [denyIngressAll('x')], admin: [policy] });
      const v = check(c, 'y/a', 'x/a');
      assert.equal(v.allowed, true, action);
      assert.equal(v.ingress.tier, 'Admin');
      assert.equal(v.ingress.isolated, true, 'the NetworkPolicy still isolates the pod; it is just not consulted');
      assert.equal(v.ingress.decidedBy?.action, action);
      assert.equal(check(c, 'z/a', 'x/a').allowed, false, 'traffic the Accept rule does not match goes on to NetworkPolicy');
      assertMatrixAgrees(c);
    }
  });

  test('an egress Accept does not open the destination\'s ingress: the other side\'s rules still apply', () => {
    // "Accept: ... No further egress ClusterNetworkPolicy or NetworkPolicy rules will be processed but any ingress rules at the destination do apply."
    const c = cluster({
      policies: [denyEgressAll('y'), denyIngressAll('x')],
      admin: [cnp('egress-open', 'Admin', 1, podSubject({ team: 'y' }, {}), { egress: [rule('Accept', [namespaces()])] })],
    });
    const v = check(c, 'y/a', 'x/a');
    assert.equal(v.egress.allowed, true);
    assert.equal(v.egress.tier, 'Admin');
    assert.equal(v.ingress.allowed, false);
    assert.equal(v.ingress.tier, 'NetworkPolicy');
    assert.equal(v.allowed, false);
    assert.equal(v.tier, 'NetworkPolicy', 'the side that denied decides');
    assert.equal(check(c, 'y/a', 'z/a').allowed, true, 'the egress NetworkPolicy of y is not consulted');
    assertMatrixAgrees(c);
  });

  test('Deny wins over any NetworkPolicy allow', () => {
    // v1alpha1: "Deny: denies the selected traffic ... Pods will never receive traffic which has been matched by a "Deny" rule in an AdminNetworkPolicy."
    // v1alpha2: "Deny: Drops the selected traffic. No further ClusterNetworkPolicy or NetworkPolicy rules will be processed."
    const c = cluster({
      policies: [allowIngressAll('x'), np('y/allow-egress', sel(), { policyTypes: ['Egress'], egress: [{}] })],
      admin: [anp('deny-y-to-x', 3, { namespaces: sel({ team: 'x' }) }, { ingress: [rule('Deny', [namespaces({ team: 'y' })], undefined, 'no-y')] })],
    });
    const v = check(c, 'y/a', 'x/a');
    assert.equal(v.allowed, false);
    assert.equal(v.tier, 'Admin');
    assert.equal(v.ingress.tier, 'Admin');
    assert.deepEqual(v.ingress.allowedBy, [], 'NetworkPolicy rules are not consulted once the Admin tier decided');
    assert.equal(v.egress.tier, 'NetworkPolicy');
    assertMatrixAgrees(c);
  });

  test('Pass goes to NetworkPolicy when it isolates the pod, skipping the rest of the Admin tier', () => {
    // v1alpha1: "Pass: instructs the selected traffic to skip any remaining ANP rules, and then pass execution to any NetworkPolicies that select the pod."
    const c = cluster({
      policies: [np('x/allow-y', sel(), { ingress: [{ peers: [{ namespaceSelector: sel({ team: 'y' }) }] }] })],
      admin: [
        anp('pass-y', 1, allNamespaces(), { ingress: [rule('Pass', [namespaces({ team: 'y' })])] }),
        anp('deny-all', 2, allNamespaces(), { ingress: [rule('Deny', [namespaces()])] }),
      ],
    });
    const v = check(c, 'y/a', 'x/a');
    assert.equal(v.allowed, true);
    assert.equal(v.ingress.tier, 'NetworkPolicy');
    assert.deepEqual(v.ingress.passedBy.map((r) => `${r.policy.name} ${r.action}`), ['pass-y Pass']);
    assert.equal(v.ingress.allowedBy.length, 1);
    assert.equal(check(c, 'z/a', 'x/a').ingress.tier, 'Admin', 'traffic not passed meets the later Deny');
    assertMatrixAgrees(c);
  });

  test('Pass, for a pod no NetworkPolicy isolates, goes to the Baseline tier', () => {
    // v1alpha1: "If the pod is not selected by any NetworkPolicies then execution is passed to any BaselineAdminNetworkPolicies that select the pod."
    const c = cluster({
      admin: [
        anp('pass-y', 1, allNamespaces(), { ingress: [rule('Pass', [namespaces({ team: 'y' })])] }),
        anp('allow-y', 2, allNamespaces(), { ingress: [rule('Allow', [namespaces({ team: 'y' })])] }),
        banp(allNamespaces(), { ingress: [rule('Deny', [namespaces()])] }),
      ],
    });
    const v = check(c, 'y/a', 'x/a');
    assert.equal(v.allowed, false);
    assert.equal(v.ingress.tier, 'Baseline');
    assert.equal(v.ingress.decidedBy?.policy.kind, 'BaselineAdminNetworkPolicy');
    assert.deepEqual(v.ingress.passedBy.map((r) => r.policy.name), ['pass-y']);
    assertMatrixAgrees(c);
  });

  test('a Baseline Pass goes on to the default: allowed', () => {
    // v1alpha2: "Pass: Skips all further ClusterNetworkPolicy rules in the current tier for the selected traffic, and passes evaluation to the next tier."
    // "If a given connection wasn't allowed or denied by any of the tiers, the default kubernetes policy is applied, which says that all pods can communicate with each other."
    const c = cluster({
      admin: [
        cnp('base-pass', 'Baseline', 1, allNamespaces(), { egress: [rule('Pass', [namespaces({ team: 'x' })])] }),
        cnp('base-deny', 'Baseline', 2, allNamespaces(), { egress: [rule('Deny', [namespaces()])] }),
      ],
    });
    const v = check(c, 'y/a', 'x/a');
    assert.equal(v.allowed, true);
    assert.equal(v.egress.tier, 'Default');
    assert.deepEqual(v.egress.passedBy.map((r) => `${r.policy.tier} ${r.policy.name}`), ['Baseline base-pass']);
    assert.equal(check(c, 'y/a', 'z/a').egress.tier, 'Baseline');
    assertMatrixAgrees(c);
  });
});

describe('admin tiers: order', () => {
  test('the Baseline tier applies only where NetworkPolicy does not isolate the pod in that direction', () => {
    // v1alpha2: "v1.NetworkPolicy always makes a final decision for selected pods. Further evaluation only happens for Pods not selected by a v1.NetworkPolicy."
    const c = cluster({
      policies: [allowIngressAll('x')],
      admin: [banp(allNamespaces(), { ingress: [rule('Deny', [namespaces()])], egress: [rule('Deny', [namespaces({ team: 'z' })])] })],
    });
    const toX = check(c, 'y/a', 'x/a');
    assert.equal(toX.ingress.allowed, true, 'x is isolated for ingress: its NetworkPolicy decides');
    assert.equal(toX.ingress.tier, 'NetworkPolicy');
    const toY = check(c, 'x/a', 'y/a');
    assert.equal(toY.ingress.allowed, false, 'y is not isolated: the baseline decides');
    assert.equal(toY.ingress.tier, 'Baseline');
    const xToZ = check(c, 'x/a', 'z/b');
    assert.equal(xToZ.egress.tier, 'Baseline', 'x is not isolated for egress: the baseline egress rule applies');
    assert.equal(xToZ.egress.allowed, false);
    assertMatrixAgrees(c);
  });

  test('a lower priority number is evaluated first, whatever the input order', () => {
    // v1alpha1: "Policies with lower priority values have higher precedence, and are checked before policies with higher priority values."
    const deny = anp('b-deny', 5, allNamespaces(), { ingress: [rule('Deny', [namespaces({ team: 'y' })])] });
    const allow = anp('a-allow', 10, allNamespaces(), { ingress: [rule('Allow', [namespaces({ team: 'y' })])] });
    for (const admin of [[deny, allow], [allow, deny]]) {
      const c = cluster({ admin });
      const v = check(c, 'y/a', 'x/a');
      assert.equal(v.allowed, false);
      assert.equal(v.ingress.decidedBy?.policy.name, 'b-deny');
    }
    const c = cluster({ admin: [deny, { ...allow, priority: 4 }] });
    assert.equal(check(c, 'y/a', 'x/a').allowed, true);
    assertMatrixAgrees(c);
  });

  test('rules within a policy apply in written order: the first matching rule decides', () => {
    // v1alpha2: "The relative precedence of ingress rules within a single CNP object ... will be determined by the order in which the rule is written. Thus, a rule that appears at the top of the ingress rules would take the highest precedence."
    const c = cluster({
      admin: [
        cnp('ordered', 'Admin', 1, allNamespaces(), {
          ingress: [rule('Accept', [pods({ team: 'y' }, { app: 'a' })], undefined, 'y-a-first'), rule('Deny', [namespaces({ team: 'y' })], undefined, 'then-all-y')],
        }),
      ],
    });
    assert.equal(check(c, 'y/a', 'x/a').allowed, true);
    assert.equal(check(c, 'y/a', 'x/a').ingress.decidedBy?.name, 'y-a-first');
    assert.equal(check(c, 'y/b', 'x/a').allowed, false);
    assert.equal(check(c, 'y/b', 'x/a').ingress.decidedBy?.index, 1);
    assertMatrixAgrees(c);
  });

  test('a BaselineAdminNetworkPolicy is evaluated after every Baseline ClusterNetworkPolicy', () => {
    // v1alpha1 BANP: "Ingress is the list of Ingress rules to be applied to the selected pods if they are not matched by any
    // AdminNetworkPolicy or NetworkPolicy rules"; it has no priority, so in Podwall's one model of both API versions it comes
    // last in the Baseline tier, after every Baseline ClusterNetworkPolicy.
    const c = cluster({
      admin: [
        banp(allNamespaces(), { ingress: [rule('Deny', [namespaces()])] }),
        cnp('base-allow-y', 'Baseline', 1000, allNamespaces(), { ingress: [rule('Accept', [namespaces({ team: 'y' })])] }),
      ],
    });
    assert.deepEqual(c.adminPolicies.Baseline.map((p) => p.ref.kind), ['ClusterNetworkPolicy', 'BaselineAdminNetworkPolicy']);
    assert.equal(check(c, 'y/a', 'x/a').allowed, true);
    assert.equal(check(c, 'z/a', 'x/a').ingress.decidedBy?.policy.kind, 'BaselineAdminNetworkPolicy');
    assertMatrixAgrees(c);
  });

  test('admin policies do not isolate a pod: traffic no rule matches is allowed by default', () => {
    // v1alpha1: "ANPs with no ingress rules do not affect ingress traffic"; only matched traffic is acted on ("If any element matches the source of incoming traffic then the specified action is applied").
    const c = cluster({ admin: [anp('deny-y', 1, allNamespaces(), { ingress: [rule('Deny', [namespaces({ team: 'y' })])] })] });
    const v = check(c, 'z/a', 'x/a');
    assert.equal(v.allowed, true);
    assert.equal(v.ingress.isolated, false);
    assert.equal(v.ingress.tier, 'Default');
    assert.equal(v.tier, 'Default');
    assertMatrixAgrees(c);
  });
});

describe('admin tiers: peers', () => {
  test('networks match pod IPs too, not only addresses outside the cluster', () => {
    // "note that cluster-internal traffic will be checked against the rule as well. So if you Accept or Deny traffic to "0.0.0.0/0", that will allow or deny all IPv4 pod-to-pod traffic as well."
    const c = cluster({ admin: [cnp('no-10', 'Admin', 1, allNamespaces(), { egress: [rule('Deny', [networks('10.0.0.0/16')])] })] });
    assert.equal(check(c, 'x/a', 'y/a').allowed, false);
    assert.equal(check(c, 'x/a', '10.0.200.7').allowed, false);
    assert.equal(check(c, 'x/a', '8.8.8.8').allowed, true);
    assertMatrixAgrees(c);
  });

  test('nodes match the addresses in the nodes\' status, where hostNetwork pods live too', () => {
    // "It selects the nodeIPs as the peer type by matching on the IPs present in the node.Status.Addresses field of the node."
    const c = cluster({
      endpoints: [pod('kube-system/agent', { app: 'agent' }, { ip: '192.168.1.10', hostNetwork: true, ports: ['80'] })],
      nodes: [
        { name: 'cp', labels: { role: 'control-plane' }, addresses: ['192.168.1.10'] },
        { name: 'worker', labels: { role: 'worker' }, addresses: ['192.168.1.11'] },
      ],
      admin: [cnp('no-control-plane', 'Admin', 1, allNamespaces(), { egress: [rule('Deny', [nodes({ role: 'control-plane' })])] })],
    });
    assert.equal(check(c, 'x/a', 'kube-system/agent').allowed, false, 'a hostNetwork pod is reached at its node address');
    assert.equal(check(c, 'x/a', '192.168.1.10').allowed, false);
    assert.equal(check(c, 'x/a', '192.168.1.11').allowed, true, 'another node');
    assert.equal(check(c, 'x/a', 'y/a').allowed, true);
    assertMatrixAgrees(c);
  });

  test('hostNetwork pods are neither subjects nor matched by namespaces or pods peers, only by address', () => {
    // "Note that host-networked pods are not included in subject selection." / "Note that host-networked pods are not included in this type of peer."
    const c = cluster({
      endpoints: [pod('x/host', { app: 'a' }, { ip: '192.168.1.10', hostNetwork: true, ports: ['80'] })],
      admin: [
        anp('deny-pods', 1, allNamespaces(), { egress: [rule('Deny', [namespaces({ team: 'x' })])], ingress: [rule('Deny', [namespaces({ team: 'x' })])] }),
        anp('deny-node-range', 2, allNamespaces(), { egress: [rule('Deny', [networks('192.168.1.0/24')])] }),
      ],
    });
    const out = check(c, 'x/host', 'y/a');
    assert.equal(out.egress.notSubject, 'hostNetwork', 'not a subject');
    assert.equal(out.ingress.allowed, true, 'not matched by the namespaces peer of the destination\'s ingress rule');
    const toHost = check(c, 'z/a', 'x/host');
    assert.equal(toHost.egress.decidedBy?.policy.name, 'deny-node-range', 'matched by address only');
    assert.equal(toHost.ingress.notSubject, 'hostNetwork');
    assertMatrixAgrees(c);
  });

  test('domainNames match no address statically, and a verdict they could change says so', () => {
    // "DomainNames is only supported for Accept rules. In order to control access, DomainNames Accept rules should be used with a lower precedence egress deny".
    const c = cluster({
      admin: [
        cnp('allow-domains', 'Admin', 1, allNamespaces(), { egress: [rule('Accept', [{ kind: 'domainNames', domainNames: ['*.example.com'] }])] }),
        cnp('deny-outside', 'Admin', 2, allNamespaces(), { egress: [rule('Deny', [networks('0.0.0.0/0')])] }),
      ],
    });
    const v = check(c, 'x/a', '93.184.216.34');
    assert.equal(v.allowed, false);
    assert.equal(v.egress.notes.length, 1);
    assert.match(v.egress.notes[0], /\*\.example\.com.*93\.184\.216\.34/);
    assert.deepEqual(check(c, 'x/a', 'y/a', 80).egress.notes, [], 'no note where a domain name cannot be the destination (a pod)');
  });
});

describe('admin tiers: ports', () => {
  test('a named port matches the destination pod\'s container port of that name, with that port\'s protocol', () => {
    // v1alpha1: "NamedPort selects a port on a pod(s) based on name." v1alpha2: "DestinationNamedPort selects a destination port on a pod based on the ContainerPort name."
    const c = cluster({ admin: [anp('deny-dns', 1, allNamespaces(), { ingress: [rule('Deny', [namespaces()], [named('dns')])] })] });
    assert.equal(check(c, 'y/a', 'x/a', 53, 'UDP').allowed, false, 'x/a names dns:53/UDP');
    assert.equal(check(c, 'y/a', 'x/a', 53, 'TCP').allowed, true, 'the name is on UDP only');
    assert.equal(check(c, 'y/a', 'x/b', 53, 'UDP').allowed, true, 'x/b does not name the port');
    assertMatrixAgrees(c, 53, 'UDP');
    const egress = cluster({ admin: [anp('deny-http', 1, allNamespaces(), { egress: [rule('Deny', [namespaces()], [named('http')])] })] });
    assert.equal(check(egress, 'y/b', 'x/a', 80).allowed, false, 'egress: resolved on the destination');
    assert.equal(check(egress, 'y/a', 'x/b', 80).allowed, true, 'x/b calls its port 80 "web"');
    assertMatrixAgrees(egress, 80);
  });

  test('a port range matches its start and end, inclusive', () => {
    // "PortRange defines an inclusive range of ports from the assigned Start value to End value."
    const c = cluster({ admin: [cnp('deny-range', 'Admin', 1, allNamespaces(), { ingress: [rule('Deny', [namespaces()], [range('TCP', 8000, 8080)])] })] });
    assert.equal(check(c, 'y/a', 'x/a', 8000).allowed, false);
    assert.equal(check(c, 'y/a', 'x/a', 8080).allowed, false);
    assert.equal(check(c, 'y/a', 'x/a', 8081).allowed, true);
    assert.equal(check(c, 'y/a', 'x/a', 7999).allowed, true);
    assertMatrixAgrees(c, 8080);
  });

  test('a port matches only its protocol, and a rule without ports matches every port and protocol', () => {
    // "If Ports is not set then the rule does not filter traffic via port." v1alpha2 protocols: "If unspecified, protocol-specific attributes will not be used to match traffic."
    const c = cluster({
      admin: [
        cnp('deny-tcp-80', 'Admin', 1, allNamespaces(), { ingress: [rule('Deny', [namespaces({ team: 'y' })], [tcp(80)])] }),
        cnp('deny-z-any', 'Admin', 2, allNamespaces(), { ingress: [rule('Deny', [namespaces({ team: 'z' })])] }),
        cnp('deny-udp-81', 'Admin', 3, allNamespaces(), { ingress: [rule('Deny', [namespaces({ team: 'y' })], [udp(81)])] }),
      ],
    });
    assert.equal(check(c, 'y/a', 'x/a', 80, 'TCP').allowed, false);
    assert.equal(check(c, 'y/a', 'x/a', 80, 'UDP').allowed, true);
    assert.equal(check(c, 'y/a', 'x/a', 81, 'TCP').allowed, true);
    assert.equal(check(c, 'y/a', 'x/a', 81, 'UDP').allowed, false);
    for (const protocol of ['TCP', 'UDP', 'SCTP'] as const) assert.equal(check(c, 'z/a', 'x/a', 9, protocol).allowed, false, protocol);
    for (const [port, protocol] of [[80, 'TCP'], [80, 'UDP'], [81, 'UDP']] as const) assertMatrixAgrees(c, port, protocol);
  });
});

describe('admin tiers: hairpin', () => {
  test('a pod connecting to its own pod IP is not subject to admin and baseline policies; through a Service it is', () => {
    // api-overview: "A Pod connecting to its own Pod IP is not subject to CNP. A Pod connecting to a Service IP that the service proxy load-balances back to the same Pod is subject to ClusterNetworkPolicy."
    const service: Service = {
      namespace: 'x',
      name: 'a',
      type: 'ClusterIP',
      selector: { app: 'a' },
      ports: [{ protocol: 'TCP', port: 80, targetPort: 80 }],
      clusterIPs: ['10.96.0.10'],
      headless: false,
      externalIPs: [],
      loadBalancerIPs: [],
      loadBalancerSourceRanges: [],
      publishNotReadyAddresses: false,
    };
    const c = cluster({
      services: [service],
      endpoints: [pod('w/web', { app: 'web' }, { kind: 'Deployment', replicas: 3, ports: ['80'] })],
      admin: [
        anp('deny-all-in', 1, allNamespaces(), { ingress: [rule('Deny', [namespaces()])] }),
        banp(allNamespaces(), { egress: [rule('Deny', [namespaces()])] }),
      ],
    });
    const self = check(c, 'x/a', 'x/a');
    assert.equal(self.allowed, true);
    assert.equal(self.ingress.tier, 'Default');
    assert.match(self.ingress.notes.join('\n'), /own pod IP/);
    const viaService = check(c, 'x/a', 'x/a', 80, 'TCP', true);
    assert.equal(viaService.allowed, false);
    assert.equal(viaService.ingress.tier, 'Admin');
    assert.equal(check(c, 'w/deployment/web', 'w/deployment/web').allowed, false, 'replicas of a workload reach one another, not themselves');
    const through = evaluateServiceConnection(c, peerOf(c, 'x/a'), service, 80, 'TCP')!;
    assert.equal(through.allowed, false, 'evaluateServiceConnection goes through the Service address');
    const m = computeServiceMatrix(c, [service]);
    const row = m.sources.indexOf('x/a');
    assert.equal(m.allowed(row, 0), false, 'the Service matrix reads the diagonal through the Service');
    const headless: Service = { ...service, name: 'a-headless', clusterIPs: ['None'], headless: true };
    const direct = cluster({ services: [headless], admin: [anp('deny-all-in', 1, allNamespaces(), { ingress: [rule('Deny', [namespaces()])] })] });
    assert.equal(evaluateServiceConnection(direct, peerOf(direct, 'x/a'), headless, 80, 'TCP')!.allowed, true, 'a headless Service has no address of its own: the pod reaches its own pod IP');
    assertMatrixAgrees(c);
  });

  test('NetworkPolicy still applies to a pod reaching its own pod IP', () => {
    // NetworkPolicy has no hairpin exception: a pod isolated for ingress with no rule admitting itself is denied.
    const c = cluster({ policies: [denyIngressAll('x')], admin: [anp('allow-all', 1, allNamespaces(), { ingress: [rule('Allow', [namespaces()])] })] });
    assert.equal(check(c, 'x/a', 'x/a').allowed, false);
    assert.equal(check(c, 'x/a', 'x/a', 80, 'TCP', true).allowed, true);
    assertMatrixAgrees(c);
  });
});

describe('admin tiers: reasons', () => {
  test('a decided side names the tier, the policy, its priority, the rule index and name, and the action', () => {
    const c = cluster({ admin: [anp('deny-ravenclaw', 3, allNamespaces(), { egress: [rule('Pass', [namespaces({ team: 'z' })]), rule('Deny', [namespaces({ team: 'y' })], undefined, 'deny-to-y')] })] });
    const v = check(c, 'x/a', 'y/a');
    assert.deepEqual(v.egress.decidedBy, {
      policy: { kind: 'AdminNetworkPolicy', name: 'deny-ravenclaw', tier: 'Admin', priority: 3 },
      direction: 'Egress',
      index: 1,
      name: 'deny-to-y',
      action: 'Deny',
    });
    assert.equal(formatAdminRuleRef(v.egress.decidedBy!), 'AdminNetworkPolicy/deny-ravenclaw (Admin tier, priority 3) egress[1] "deny-to-y": Deny');
    const banpOnly = cluster({ admin: [banp(allNamespaces(), { ingress: [rule('Allow', [namespaces()])] })] });
    assert.equal(formatAdminRuleRef(check(banpOnly, 'x/a', 'y/a').ingress.decidedBy!), 'BaselineAdminNetworkPolicy/default (Baseline tier) ingress[0]: Allow');
  });

  test('the verdict\'s tier is that of the side that denied, egress first, else the ingress side\'s (the egress side\'s towards an outside address)', () => {
    const c = cluster({
      policies: [denyIngressAll('x')],
      admin: [cnp('out', 'Admin', 2, allNamespaces(), { egress: [rule('Accept', [networks('0.0.0.0/0')])] }), cnp('deny-z', 'Admin', 1, allNamespaces(), { egress: [rule('Deny', [namespaces({ team: 'z' })])] })],
    });
    assert.equal(check(c, 'y/a', '1.2.3.4').tier, 'Admin');
    assert.equal(check(c, 'y/a', 'x/a').tier, 'NetworkPolicy');
    assert.equal(check(c, 'x/a', 'y/a').tier, 'Default', 'both sides allow: the ingress side, which no tier decided');
    assert.equal(check(c, 'x/a', 'z/a').tier, 'Admin', 'the egress side denied');
  });
});

describe('admin tiers: classes', () => {
  test('endpoint classes tell apart what only admin policies distinguish: their subjects, their peers by label and by address, their named ports', () => {
    // Pods q/p1..p5 alike for every NetworkPolicy; each admin policy singles one out.
    const alike = (name: string, labels: Record<string, string>, ip: string, ports = ['80']): Endpoint => pod(`q/${name}`, { app: 'q', ...labels }, { ip, ports });
    const endpoints = [
      alike('p1', {}, '10.1.0.1'),
      alike('p2', { subject: 'yes' }, '10.1.0.2'),
      alike('p3', { peer: 'yes' }, '10.1.0.3'),
      alike('p4', {}, '10.1.9.4'),
      alike('p5', {}, '10.1.0.5', ['admin-port:80']),
      alike('p6', {}, '10.1.0.6'),
    ];
    const base = { endpoints, policies: [np('q/all', sel({ app: 'q' }), { ingress: [{}] })] };
    assert.equal(computeClasses(cluster(base)).classes.filter((k) => k.representative.namespace === 'q').length, 1, 'NetworkPolicy alone does not tell them apart');
    const c = cluster({
      ...base,
      nodes: [{ name: 'n', labels: { role: 'special' }, addresses: ['10.1.0.6'] }],
      admin: [
        anp('subject', 1, podSubject({ team: 'q' }, { subject: 'yes' }), { ingress: [rule('Deny', [namespaces({ team: 'x' })])] }),
        cnp('pods-peer', 'Admin', 2, allNamespaces(), { egress: [rule('Deny', [pods({ team: 'q' }, { peer: 'yes' })])] }),
        cnp('networks-peer', 'Baseline', 3, allNamespaces(), { egress: [rule('Deny', [networks('10.1.9.0/24')])] }),
        anp('named-port', 4, allNamespaces(), { ingress: [rule('Deny', [namespaces({ team: 'y' })], [named('admin-port')])] }),
        anp('nodes-peer', 5, allNamespaces(), { egress: [rule('Deny', [nodes({ role: 'special' })])] }),
      ],
    });
    const classes = computeClasses(c);
    const ofQ = new Set(endpoints.map((e) => classes.classOf[c.cluster.endpoints.findIndex((x) => x.id === e.id)]));
    assert.equal(ofQ.size, 6, 'every pod of q is a class of its own');
    assertMatrixAgrees(c);
  });
});

