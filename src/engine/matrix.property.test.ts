// Property tests over random small clusters and random valid policies: the class-based matrix
// equals pairwise evaluation, pairwise evaluation equals a naive model written straight from the
// API field docs (k8s.io/api/networking/v1/types.go), and adding policies behaves as the
// documented union semantics require. With random admin and baseline tiers (AdminNetworkPolicy,
// BaselineAdminNetworkPolicy, ClusterNetworkPolicy, as the network-policy-api type docs describe
// them) the same three agree, and without them verdicts are what NetworkPolicy alone gives.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { formatDiagnostic, loadTexts, type AdminPeer, type AdminPolicy, type AdminPort, type AdminRuleAction, type Cluster, type LabelSelector, type Node, type Protocol } from '../model/index.js';
import { compileCluster, computeMatrix, computeMatrixPairwise, evaluateConnection, type CompiledCluster, type PortProtocol } from './index.js';

// ---------------------------------------------------------------------------------------------
// The generated world, kept as plain data so the reference model can read it directly.

type Labels = Record<string, string>;
interface Expr {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}
interface Selector {
  matchLabels?: Labels;
  matchExpressions?: Expr[];
}
interface GenPort {
  protocol?: Protocol;
  port?: number | string;
  endPort?: number;
}
interface GenPeer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface GenRule {
  peers?: GenPeer[];
  ports?: GenPort[];
}
interface GenPolicy {
  namespace: string;
  name: string;
  podSelector: Selector;
  policyTypes?: ('Ingress' | 'Egress')[];
  ingress?: GenRule[];
  egress?: GenRule[];
}
interface GenNamespace {
  name: string;
  labels: Labels;
  declared: boolean;
}
interface GenPod {
  namespace: string;
  name: string;
  labels: Labels;
  ports: { name?: string; containerPort: number; protocol: Protocol }[];
  ips: string[];
  hostNetwork: boolean;
  /** Written as a Deployment (a template: no IPs) instead of a Pod. */
  deployment: boolean;
}
interface World {
  namespaces: GenNamespace[];
  pods: GenPod[];
  policies: GenPolicy[];
}

const NAMESPACES = ['ns-a', 'ns-b', 'ns-c', 'ns-d'];
const POD_KEYS = ['app', 'tier', 'env'];
const POD_VALUES = ['a', 'b', 'c'];
const NS_KEYS = ['team', 'env', 'kubernetes.io/metadata.name'];
const NS_VALUES = ['x', 'y', 'ns-a', 'ns-b'];
const PORT_NAMES = ['http', 'dns', 'metrics'];
const PORT_NUMBERS = [53, 80, 81, 8080];
const IP_BLOCKS: { cidr: string; except?: string[] }[] = [
  { cidr: '10.0.0.0/8' },
  { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] },
  { cidr: '0.0.0.0/0', except: ['10.0.2.0/24', '192.168.0.0/16'] },
  { cidr: '10.0.1.5/32' },
  { cidr: '192.168.0.0/24' },
  { cidr: 'fd00::/64' },
  { cidr: 'fd00::/64', except: ['fd00::4/126'] },
];
const TARGETS: PortProtocol[] = [
  { port: 80, protocol: 'TCP' },
  { port: 81, protocol: 'TCP' },
  { port: 53, protocol: 'UDP' },
  { port: 8080, protocol: 'TCP' },
  { port: 80, protocol: 'UDP' },
];

const opt = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

/** Drops undefined fields, so the manifest says only what was generated. */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const labelsArb = (keys: string[], values: string[], maxKeys: number): fc.Arbitrary<Labels> =>
  fc
    .uniqueArray(fc.tuple(fc.constantFrom(...keys), fc.constantFrom(...values)), { maxLength: maxKeys, selector: ([k]) => k })
    .map((pairs) => Object.fromEntries(pairs));

const selectorArb = (keys: string[], values: string[]): fc.Arbitrary<Selector> => {
  const expr: fc.Arbitrary<Expr> = fc.oneof(
    fc.record({
      key: fc.constantFrom(...keys),
      operator: fc.constantFrom<'In' | 'NotIn'>('In', 'NotIn'),
      values: fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 2 }),
    }),
    fc.record({ key: fc.constantFrom(...keys), operator: fc.constantFrom<'Exists' | 'DoesNotExist'>('Exists', 'DoesNotExist') }),
  );
  return fc
    .record({ matchLabels: opt(labelsArb(keys, values, 2)), matchExpressions: opt(fc.array(expr, { maxLength: 2 })) })
    .map(clean);
};

const portArb: fc.Arbitrary<GenPort> = fc.oneof(
  fc
    .record({
      protocol: opt(fc.constantFrom<Protocol>('TCP', 'UDP')),
      port: fc.constantFrom(...PORT_NUMBERS),
      endPort: opt(fc.constantFrom(0, 1, 30, 8000)),
    })
    .map((p) => clean({ ...p, endPort: p.endPort === undefined ? undefined : p.port + p.endPort })),
  fc.record({ protocol: opt(fc.constantFrom<Protocol>('TCP', 'UDP')), port: fc.constantFrom(...PORT_NAMES) }).map(clean),
  fc.record({ protocol: fc.constantFrom<Protocol>('TCP', 'UDP') }),
);

const peerArb: fc.Arbitrary<GenPeer> = fc.oneof(
  fc.record({ podSelector: selectorArb(POD_KEYS, POD_VALUES) }),
  fc.record({ namespaceSelector: selectorArb(NS_KEYS, NS_VALUES) }),
  fc.record({ podSelector: selectorArb(POD_KEYS, POD_VALUES), namespaceSelector: selectorArb(NS_KEYS, NS_VALUES) }),
  fc.record({ ipBlock: fc.constantFrom(...IP_BLOCKS) }),
);

const ruleArb: fc.Arbitrary<GenRule> = fc
  .record({ peers: opt(fc.array(peerArb, { maxLength: 3 })), ports: opt(fc.array(portArb, { maxLength: 3 })) })
  .map(clean);

const policyArb = (index: number): fc.Arbitrary<(nsCount: number) => GenPolicy> =>
  fc
    .record({
      ns: fc.nat(3),
      podSelector: selectorArb(POD_KEYS, POD_VALUES),
      policyTypes: fc.constantFrom<GenPolicy['policyTypes']>(undefined, undefined, [], ['Ingress'], ['Egress'], ['Ingress', 'Egress']),
      ingress: opt(fc.array(ruleArb, { maxLength: 3 })),
      egress: opt(fc.array(ruleArb, { maxLength: 3 })),
    })
    .map(({ ns, ...rest }) => (nsCount: number) => clean({ namespace: NAMESPACES[ns % nsCount], name: `np-${index}`, ...rest }));

const podArb = fc.record({
  ns: fc.nat(3),
  labels: labelsArb(POD_KEYS, POD_VALUES, 3),
  ports: fc.uniqueArray(
    fc.record({
      name: opt(fc.constantFrom(...PORT_NAMES)),
      containerPort: fc.constantFrom(...PORT_NUMBERS),
      protocol: fc.constantFrom<Protocol>('TCP', 'UDP'),
    }),
    { maxLength: 3, selector: (p) => `${p.containerPort}/${p.protocol}` },
  ),
  ipv4: fc.integer({ min: 0, max: 3 }).map((n) => n > 0),
  ipv6: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  v6first: fc.boolean(),
  hostNetwork: fc.integer({ min: 0, max: 11 }).map((n) => n === 0),
  deployment: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
});

const worldArb: fc.Arbitrary<World> = fc
  .record({
    nsCount: fc.integer({ min: 2, max: 4 }),
    nsLabels: fc.array(labelsArb(['team', 'env'], ['x', 'y'], 2), { minLength: 4, maxLength: 4 }),
    nsDeclared: fc.array(fc.integer({ min: 0, max: 4 }).map((n) => n > 0), { minLength: 4, maxLength: 4 }),
    pods: fc.array(podArb, { minLength: 2, maxLength: 12 }),
    policies: fc.tuple(...[0, 1, 2, 3].map(policyArb)).chain((all) => fc.nat(4).map((n) => all.slice(0, n))),
  })
  .map(({ nsCount, nsLabels, nsDeclared, pods, policies }) => ({
    namespaces: NAMESPACES.slice(0, nsCount).map((name, i) => ({
      name,
      labels: nsDeclared[i] ? nsLabels[i] : {},
      declared: nsDeclared[i],
    })),
    pods: pods.map((p, i): GenPod => {
      const seen = new Set<string>();
      const ports = p.ports.map((port) => {
        // Port names are unique within a pod.
        const name = port.name !== undefined && !seen.has(port.name) ? port.name : undefined;
        if (name) seen.add(name);
        return clean({ ...port, name });
      });
      let ips: string[];
      if (p.hostNetwork) ips = [`192.168.0.${i + 1}`];
      else {
        const v4 = p.ipv4 ? [`10.0.${i % 3}.${i + 1}`] : [];
        const v6 = p.ipv6 ? [`fd00::${i + 1}`] : [];
        ips = p.v6first ? [...v6, ...v4] : [...v4, ...v6];
      }
      // apps/v1 needs a non-empty selector matching the template, so only labelled ones qualify.
      const deployment = p.deployment && Object.keys(p.labels).length > 0;
      return {
        namespace: NAMESPACES[p.ns % nsCount],
        name: `p${i}`,
        labels: p.labels,
        ports,
        ips: deployment ? [] : ips,
        hostNetwork: p.hostNetwork,
        deployment,
      };
    }),
    policies: policies.map((make) => make(nsCount)),
  }));

// ---------------------------------------------------------------------------------------------
// World -> manifests (JSON documents, which are YAML) -> loaded, compiled cluster.

function policyManifest(p: GenPolicy): object {
  const rules = (rs: GenRule[] | undefined, field: 'from' | 'to'): object[] | undefined =>
    rs?.map((r) => clean({ [field]: r.peers, ports: r.ports }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: p.name, namespace: p.namespace },
    spec: clean({ podSelector: p.podSelector, policyTypes: p.policyTypes, ingress: rules(p.ingress, 'from'), egress: rules(p.egress, 'to') }),
  };
}

function manifests(world: World, extra: GenPolicy[] = []): string {
  const docs: object[] = [];
  for (const ns of world.namespaces) {
    if (ns.declared) docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, labels: ns.labels } });
  }
  for (const pod of world.pods) {
    if (pod.deployment) {
      docs.push({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: pod.name, namespace: pod.namespace },
        spec: {
          replicas: 2,
          selector: { matchLabels: pod.labels },
          template: {
            metadata: { labels: pod.labels },
            spec: { hostNetwork: pod.hostNetwork, containers: [{ name: 'main', image: 'app', ports: pod.ports }] },
          },
        },
      });
      continue;
    }
    docs.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod.name, namespace: pod.namespace, labels: pod.labels },
      spec: { hostNetwork: pod.hostNetwork, containers: [{ name: 'main', image: 'app', ports: pod.ports }] },
      ...(pod.ips.length > 0 ? { status: { podIP: pod.ips[0], podIPs: pod.ips.map((ip) => ({ ip })) } } : {}),
    });
  }
  for (const p of [...world.policies, ...extra]) docs.push(policyManifest(p));
  return docs.map((d) => JSON.stringify(d, null, 1)).join('\n---\n');
}

function compile(world: World, extra: GenPolicy[] = []): CompiledCluster {
  const text = manifests(world, extra);
  const result = loadTexts([{ file: 'gen.yaml', text }]);
  const errors = result.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  assert.deepEqual(errors, [], 'generated manifests must be valid');
  assert.ok(result.cluster);
  return compileCluster(result.cluster);
}

/** allowed[i][j] for the cluster's endpoints (sorted), by pairwise evaluation. */
function pairwise(c: CompiledCluster, target: PortProtocol): boolean[][] {
  const m = computeMatrixPairwise(c, target);
  return c.cluster.endpoints.map((_, i) => c.cluster.endpoints.map((__, j) => m.allowed(i, j)));
}

function genPodOf(world: World, c: CompiledCluster): GenPod[] {
  const byName = new Map(world.pods.map((p) => [`${p.namespace}/${p.name}`, p]));
  return c.cluster.endpoints.map((e) => byName.get(`${e.namespace}/${e.name}`)!);
}

// ---------------------------------------------------------------------------------------------
// A reference model written from the API field docs, independent of the engine's code.

function selects(sel: Selector, labels: Labels): boolean {
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(labels, k);
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v || !has(k)) return false;
  for (const e of sel.matchExpressions ?? []) {
    const ok =
      e.operator === 'In'
        ? has(e.key) && e.values!.includes(labels[e.key])
        : e.operator === 'NotIn'
          ? !has(e.key) || !e.values!.includes(labels[e.key])
          : e.operator === 'Exists'
            ? has(e.key)
            : !has(e.key);
    if (!ok) return false;
  }
  return true;
}

function policyTypesOf(p: GenPolicy): string[] {
  // SetDefaults_NetworkPolicy: Ingress, plus Egress when len(egress) != 0.
  if (p.policyTypes && p.policyTypes.length > 0) return p.policyTypes;
  return p.egress && p.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

function inCidr(ip: string, cidr: string): boolean {
  const addr = ipaddr.parse(ip);
  const range = ipaddr.parseCIDR(cidr);
  return addr.kind() === range[0].kind() && addr.match(range);
}

/** Both sides by NetworkPolicy alone, or only one of them (`only`). */
function referenceAllowed(world: World, s: GenPod, d: GenPod, target: PortProtocol, only?: 'egress' | 'ingress'): boolean {
  const nsLabels = (name: string): Labels => {
    const ns = world.namespaces.find((n) => n.name === name)!;
    return { ...ns.labels, 'kubernetes.io/metadata.name': name };
  };
  // The connection goes to d's first address, from s's address of the same family.
  const dstIP: string | undefined = d.ips[0];
  const srcIP: string | undefined = dstIP === undefined ? s.ips[0] : s.ips.find((ip) => ipaddr.parse(ip).kind() === ipaddr.parse(dstIP).kind());

  const side = (direction: 'Ingress' | 'Egress', subject: GenPod, other: GenPod, otherIP: string | undefined): boolean => {
    if (subject.hostNetwork) return true;
    const policies = world.policies.filter(
      (p) => p.namespace === subject.namespace && selects(p.podSelector, subject.labels) && policyTypesOf(p).includes(direction),
    );
    if (policies.length === 0) return true;
    const destination = direction === 'Ingress' ? subject : other;
    return policies.some((p) =>
      ((direction === 'Ingress' ? p.ingress : p.egress) ?? []).some((rule) => {
        const portOk =
          !rule.ports ||
          rule.ports.length === 0 ||
          rule.ports.some((pp) => {
            if ((pp.protocol ?? 'TCP') !== target.protocol) return false;
            if (pp.port === undefined) return true;
            if (typeof pp.port === 'number') return target.port >= pp.port && target.port <= (pp.endPort ?? pp.port);
            return destination.ports.some((cp) => cp.name === pp.port && cp.protocol === target.protocol && cp.containerPort === target.port);
          });
        const peerOk =
          !rule.peers ||
          rule.peers.length === 0 ||
          rule.peers.some((peer) => {
            if (peer.ipBlock) {
              return (
                otherIP !== undefined &&
                inCidr(otherIP, peer.ipBlock.cidr) &&
                !(peer.ipBlock.except ?? []).some((e) => inCidr(otherIP, e))
              );
            }
            if (other.hostNetwork) return false;
            if (peer.namespaceSelector ? !selects(peer.namespaceSelector, nsLabels(other.namespace)) : other.namespace !== p.namespace) {
              return false;
            }
            return !peer.podSelector || selects(peer.podSelector, other.labels);
          });
        return portOk && peerOk;
      }),
    );
  };
  if (only === 'egress') return side('Egress', s, d, dstIP);
  if (only === 'ingress') return side('Ingress', d, s, srcIP);
  return side('Egress', s, d, dstIP) && side('Ingress', d, s, srcIP);
}

// ---------------------------------------------------------------------------------------------
// Admin and baseline tiers: generated as plain data, turned into the model's AdminPolicy, and
// judged by a second reference written from the network-policy-api type docs.

type AdminKind = AdminPolicy['kind'];
interface GenNamespacedPod {
  namespaceSelector: Selector;
  podSelector: Selector;
}
interface GenAdminPeer {
  namespaces?: Selector;
  pods?: GenNamespacedPod;
  networks?: string[];
  nodes?: Selector;
  domainNames?: string[];
}
type GenAdminPort = { number: { protocol: Protocol; port: number } } | { range: { protocol: Protocol; start: number; end: number } } | { named: string };
interface GenAdminRule {
  action: AdminRuleAction;
  peers: GenAdminPeer[];
  ports?: GenAdminPort[];
}
interface GenAdmin {
  kind: AdminKind;
  tier: 'Admin' | 'Baseline';
  name: string;
  priority?: number;
  subject: { namespaces?: Selector; pods?: GenNamespacedPod };
  ingress: GenAdminRule[];
  egress: GenAdminRule[];
}

const NODE_KEYS = ['role', 'zone'];
const NODE_VALUES = ['cp', 'worker', 'b'];
/** Nodes at some of the addresses hostNetwork pods (192.168.0.<i+1>) and pods (fd00::<i+1>) have. */
const NODES: Node[] = [
  { name: 'n1', labels: { role: 'cp' }, addresses: ['192.168.0.1'] },
  { name: 'n2', labels: { role: 'worker' }, addresses: ['192.168.0.2', 'fd00::2'] },
  { name: 'n3', labels: { role: 'worker', zone: 'b' }, addresses: ['192.168.0.5'] },
];
const ADMIN_NETWORKS = ['10.0.0.0/8', '10.0.1.0/24', '10.0.0.1/32', '192.168.0.0/24', '0.0.0.0/0', 'fd00::/64', '::/0'];

const namespacedPodArb: fc.Arbitrary<GenNamespacedPod> = fc.record({ namespaceSelector: selectorArb(NS_KEYS, NS_VALUES), podSelector: selectorArb(POD_KEYS, POD_VALUES) });

const adminPeerArb = (direction: 'Ingress' | 'Egress'): fc.Arbitrary<GenAdminPeer> =>
  fc.oneof(
    fc.record({ namespaces: selectorArb(NS_KEYS, NS_VALUES) }),
    fc.record({ pods: namespacedPodArb }),
    // networks, nodes and domainNames are egress peers only.
    ...(direction === 'Egress'
      ? [
          fc.record({ networks: fc.uniqueArray(fc.constantFrom(...ADMIN_NETWORKS), { minLength: 1, maxLength: 2 }) }),
          fc.record({ nodes: selectorArb(NODE_KEYS, NODE_VALUES) }),
          fc.record({ domainNames: fc.constant<string[]>(['*.example.com']) }),
        ]
      : []),
  );

const adminPortArb: fc.Arbitrary<GenAdminPort> = fc.oneof(
  fc.record({ number: fc.record({ protocol: fc.constantFrom<Protocol>('TCP', 'UDP'), port: fc.constantFrom(...PORT_NUMBERS) }) }),
  fc
    .record({ protocol: fc.constantFrom<Protocol>('TCP', 'UDP'), start: fc.constantFrom(...PORT_NUMBERS), width: fc.constantFrom(1, 30, 8000) })
    .map(({ protocol, start, width }) => ({ range: { protocol, start, end: start + width } })),
  fc.record({ named: fc.constantFrom(...PORT_NAMES) }),
);

const ACTIONS: Record<AdminKind, AdminRuleAction[]> = {
  AdminNetworkPolicy: ['Allow', 'Deny', 'Pass'],
  BaselineAdminNetworkPolicy: ['Allow', 'Deny'],
  ClusterNetworkPolicy: ['Accept', 'Deny', 'Pass'],
};

const adminRuleArb = (direction: 'Ingress' | 'Egress'): fc.Arbitrary<(kind: AdminKind) => GenAdminRule> =>
  fc
    .record({ action: fc.nat(2), peers: fc.array(adminPeerArb(direction), { minLength: 1, maxLength: 2 }), ports: opt(fc.array(adminPortArb, { minLength: 1, maxLength: 2 })) })
    .map(({ action: a, peers: raw, ports: rawPorts }) => (kind: AdminKind): GenAdminRule => {
      const action = ACTIONS[kind][a % ACTIONS[kind].length];
      // domainNames only in Accept/Allow rules; named ports never beside networks, nodes or domainNames (the CRDs' rules).
      let peers = action === 'Allow' || action === 'Accept' ? raw : raw.filter((p) => !p.domainNames);
      if (peers.length === 0) peers = [{ namespaces: {} }];
      const addresses = peers.some((p) => p.networks || p.nodes || p.domainNames);
      const ports = addresses ? rawPorts?.filter((p) => !('named' in p)) : rawPorts;
      return clean({ action, peers, ports: ports && ports.length > 0 ? ports : undefined });
    });

const adminArb: fc.Arbitrary<(index: number, banpTaken: boolean) => GenAdmin> = fc
  .record({
    kind: fc.constantFrom<AdminKind>('AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'ClusterNetworkPolicy', 'ClusterNetworkPolicy'),
    cnpTier: fc.constantFrom<'Admin' | 'Baseline'>('Admin', 'Baseline'),
    priority: fc.integer({ min: 0, max: 3 }),
    subject: fc.oneof(fc.record({ namespaces: selectorArb(NS_KEYS, NS_VALUES) }), fc.record({ pods: namespacedPodArb })),
    ingress: fc.array(adminRuleArb('Ingress'), { maxLength: 3 }),
    egress: fc.array(adminRuleArb('Egress'), { maxLength: 3 }),
  })
  .map((g) => (index: number, banpTaken: boolean): GenAdmin => {
    // One BaselineAdminNetworkPolicy at most (the singleton `default`); others become Baseline ClusterNetworkPolicies.
    const kind: AdminKind = g.kind === 'BaselineAdminNetworkPolicy' && banpTaken ? 'ClusterNetworkPolicy' : g.kind;
    const tier = kind === 'AdminNetworkPolicy' ? 'Admin' : kind === 'BaselineAdminNetworkPolicy' ? 'Baseline' : g.kind === 'BaselineAdminNetworkPolicy' ? 'Baseline' : g.cnpTier;
    return {
      kind,
      tier,
      name: kind === 'BaselineAdminNetworkPolicy' ? 'default' : `${kind === 'AdminNetworkPolicy' ? 'anp' : 'cnp'}-${index}`,
      priority: kind === 'BaselineAdminNetworkPolicy' ? undefined : g.priority,
      subject: g.subject,
      ingress: g.ingress.map((make) => make(kind)),
      egress: g.egress.map((make) => make(kind)),
    };
  });

const adminsArb: fc.Arbitrary<GenAdmin[]> = fc.array(adminArb, { minLength: 1, maxLength: 4 }).map((makes) => {
  const out: GenAdmin[] = [];
  for (const make of makes) out.push(make(out.length, out.some((a) => a.kind === 'BaselineAdminNetworkPolicy')));
  return out;
});

function toLabelSelector(s: Selector): LabelSelector {
  return { matchLabels: s.matchLabels ?? {}, matchExpressions: (s.matchExpressions ?? []).map((e) => ({ key: e.key, operator: e.operator, values: e.values ?? [] })) };
}

function toAdminPolicy(a: GenAdmin): AdminPolicy {
  const peer = (p: GenAdminPeer): AdminPeer => {
    if (p.namespaces) return { kind: 'namespaces', namespaces: toLabelSelector(p.namespaces) };
    if (p.pods) return { kind: 'pods', pods: { namespaceSelector: toLabelSelector(p.pods.namespaceSelector), podSelector: toLabelSelector(p.pods.podSelector) } };
    if (p.networks) return { kind: 'networks', networks: p.networks };
    if (p.nodes) return { kind: 'nodes', nodes: toLabelSelector(p.nodes) };
    return { kind: 'domainNames', domainNames: p.domainNames! };
  };
  const port = (p: GenAdminPort): AdminPort => {
    if ('number' in p) return { kind: 'number', ...p.number };
    if ('range' in p) return { kind: 'range', ...p.range };
    return { kind: 'named', name: p.named };
  };
  const rules = (rs: GenAdminRule[]): AdminPolicy['ingress'] => rs.map((r) => ({ action: r.action, peers: r.peers.map(peer), ports: r.ports?.map(port) }));
  const subject: AdminPolicy['subject'] = a.subject.namespaces
    ? { namespaces: toLabelSelector(a.subject.namespaces) }
    : { pods: { namespaceSelector: toLabelSelector(a.subject.pods!.namespaceSelector), podSelector: toLabelSelector(a.subject.pods!.podSelector) } };
  return {
    kind: a.kind,
    apiVersion: a.kind === 'ClusterNetworkPolicy' ? 'policy.networking.k8s.io/v1alpha2' : 'policy.networking.k8s.io/v1alpha1',
    name: a.name,
    tier: a.tier,
    priority: a.priority,
    subject,
    ingress: rules(a.ingress),
    egress: rules(a.egress),
  };
}

/** The world's cluster with admin and baseline policies and the nodes added (the model's decoder is not needed for the engine's semantics). */
function compileAdmin(world: World, admins: readonly GenAdmin[], extra: GenPolicy[] = []): CompiledCluster {
  const base = compile(world, extra).cluster;
  const cluster: Cluster = { ...base, adminPolicies: admins.map(toAdminPolicy), nodes: NODES };
  return compileCluster(cluster);
}

/** A pod of a Deployment (two replicas) reaching the Deployment reaches another replica: only a Pod reaches itself. */
const isSelf = (s: GenPod, d: GenPod, viaService: boolean): boolean => s === d && !s.deployment && !viaService;

/**
 * The reference with tiers, per side: the Admin tier's policies selecting the pod by priority (then
 * kind, then name), rules in written order, the first match deciding (Accept/Allow, Deny) or passing
 * (Pass); then NetworkPolicy if it isolates the pod; then the Baseline tier (the BANP last); then allowed.
 */
function referenceTiers(world: World, admins: readonly GenAdmin[], s: GenPod, d: GenPod, target: PortProtocol, viaService = false): boolean {
  const nsLabels = (name: string): Labels => ({ ...world.namespaces.find((n) => n.name === name)!.labels, 'kubernetes.io/metadata.name': name });
  const dstIP: string | undefined = d.ips[0];
  const srcIP: string | undefined = dstIP === undefined ? s.ips[0] : s.ips.find((ip) => ipaddr.parse(ip).kind() === ipaddr.parse(dstIP).kind());
  const hairpin = isSelf(s, d, viaService);
  const order = (a: GenAdmin, b: GenAdmin): number =>
    (a.priority ?? Infinity) - (b.priority ?? Infinity) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const podOf = (sel: GenNamespacedPod, pod: GenPod): boolean => !pod.hostNetwork && selects(sel.namespaceSelector, nsLabels(pod.namespace)) && selects(sel.podSelector, pod.labels);

  const side = (direction: 'Ingress' | 'Egress', subject: GenPod, other: GenPod, otherIP: string | undefined): boolean => {
    if (subject.hostNetwork) return true;
    const destination = direction === 'Ingress' ? subject : other;
    const selecting = (tier: 'Admin' | 'Baseline'): GenAdmin[] =>
      admins
        .filter((a) => a.tier === tier && (a.subject.namespaces ? podOf({ namespaceSelector: a.subject.namespaces, podSelector: {} }, subject) : podOf(a.subject.pods!, subject)))
        .sort(order);
    const portOk = (p: GenAdminPort): boolean => {
      if ('number' in p) return p.number.protocol === target.protocol && p.number.port === target.port;
      if ('range' in p) return p.range.protocol === target.protocol && target.port >= p.range.start && target.port <= p.range.end;
      return destination.ports.some((cp) => cp.name === p.named && cp.protocol === target.protocol && cp.containerPort === target.port);
    };
    const peerOk = (p: GenAdminPeer): boolean => {
      if (p.namespaces) return podOf({ namespaceSelector: p.namespaces, podSelector: {} }, other);
      if (p.pods) return podOf(p.pods, other);
      if (p.networks) return otherIP !== undefined && p.networks.some((cidr) => inCidr(otherIP, cidr));
      if (p.nodes) return otherIP !== undefined && NODES.some((n) => selects(p.nodes!, n.labels) && n.addresses.includes(otherIP));
      return false;
    };
    /** 'allow' | 'deny' | 'pass' | undefined (no rule matched). */
    const tierDecision = (tier: 'Admin' | 'Baseline'): string | undefined => {
      for (const a of selecting(tier)) {
        for (const r of direction === 'Ingress' ? a.ingress : a.egress) {
          if ((r.ports === undefined || r.ports.some(portOk)) && r.peers.some(peerOk)) return r.action === 'Deny' ? 'deny' : r.action === 'Pass' ? 'pass' : 'allow';
        }
      }
      return undefined;
    };
    if (!hairpin) {
      const admin = tierDecision('Admin');
      if (admin === 'allow') return true;
      if (admin === 'deny') return false;
    }
    const isolating = world.policies.some((p) => p.namespace === subject.namespace && selects(p.podSelector, subject.labels) && policyTypesOf(p).includes(direction));
    if (isolating) return direction === 'Ingress' ? referenceAllowed(world, other, subject, target, 'ingress') : referenceAllowed(world, subject, other, target, 'egress');
    if (!hairpin) return tierDecision('Baseline') !== 'deny';
    return true;
  };
  return side('Egress', s, d, dstIP) && side('Ingress', d, s, srcIP);
}

// ---------------------------------------------------------------------------------------------

function describeCell(c: CompiledCluster, i: number, j: number, t: PortProtocol): string {
  return `${c.cluster.endpoints[i].id} -> ${c.cluster.endpoints[j].id} on ${t.port}/${t.protocol}`;
}

const allowAll = (namespace: string): GenPolicy => ({
  namespace,
  name: 'zz-allow-all',
  podSelector: {},
  policyTypes: ['Ingress', 'Egress'],
  ingress: [{}],
  egress: [{}],
});

describe('matrix properties over random clusters', () => {
  test('the class-based matrix equals pairwise evaluation cell by cell', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const c = compile(world);
        const n = c.cluster.endpoints.length;
        for (const target of TARGETS) {
          const byClass = computeMatrix(c, target);
          const byPair = computeMatrixPairwise(c, target);
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < n; j++) {
              assert.equal(byClass.allowed(i, j), byPair.allowed(i, j), describeCell(c, i, j, target));
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  test('pairwise evaluation equals a reference model written from the API docs', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const c = compile(world);
        const pods = genPodOf(world, c);
        for (const target of TARGETS) {
          const m = pairwise(c, target);
          pods.forEach((s, i) =>
            pods.forEach((d, j) => assert.equal(m[i][j], referenceAllowed(world, s, d, target), describeCell(c, i, j, target))),
          );
        }
      }),
      { numRuns: 150 },
    );
  });

  test('a verdict is allowed exactly when both sides are, and an isolated side names a rule exactly when it allows', () => {
    fc.assert(
      fc.property(worldArb, fc.constantFrom(...TARGETS), (world, target) => {
        const c = compile(world);
        for (const s of c.cluster.endpoints) {
          for (const d of c.cluster.endpoints) {
            const v = evaluateConnection(c, {
              source: { kind: 'endpoint', endpoint: s },
              destination: { kind: 'endpoint', endpoint: d },
              ...target,
            });
            assert.equal(v.allowed, v.egress.allowed && v.ingress.allowed);
            for (const side of [v.egress, v.ingress]) {
              if (side.isolated) assert.equal(side.allowed, side.allowedBy.length > 0);
              else assert.equal(side.allowed, true);
              assert.equal(side.isolated, side.isolatingPolicies.length > 0);
              // Without admin policies only NetworkPolicy decides: its tier where it isolates, else the default.
              assert.equal(side.tier, side.isolated ? 'NetworkPolicy' : 'Default');
              assert.equal(side.decidedBy, undefined);
              assert.deepEqual(side.passedBy, []);
            }
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  test('with no policies every connection is allowed', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const c = compile({ ...world, policies: [] });
        for (const target of TARGETS) {
          const m = computeMatrix(c, target);
          c.cluster.endpoints.forEach((_, i) => c.cluster.endpoints.forEach((__, j) => assert.ok(m.allowed(i, j), describeCell(c, i, j, target))));
        }
      }),
      { numRuns: 50 },
    );
  });

  test('an allow-all ingress and egress policy in every namespace opens everything', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const c = compile(world, world.namespaces.map((ns) => allowAll(ns.name)));
        for (const target of TARGETS) {
          const m = computeMatrix(c, target);
          c.cluster.endpoints.forEach((_, i) => c.cluster.endpoints.forEach((__, j) => assert.ok(m.allowed(i, j), describeCell(c, i, j, target))));
        }
      }),
      { numRuns: 50 },
    );
  });

  test('a default-deny ingress policy denies all ingress to its namespace pods, except hostNetwork ones', () => {
    fc.assert(
      fc.property(worldArb, fc.nat(3), (world, k) => {
        const ns = world.namespaces[k % world.namespaces.length].name;
        // Other policies may allow some ingress; the rule holds for a namespace where the only
        // ingress policy is the deny-all one.
        const others = world.policies.filter((p) => !(p.namespace === ns && policyTypesOf(p).includes('Ingress')));
        const c = compile({ ...world, policies: others }, [{ namespace: ns, name: 'zz-deny', podSelector: {} }]);
        for (const target of TARGETS) {
          const m = computeMatrix(c, target);
          c.cluster.endpoints.forEach((d, j) => {
            if (d.namespace !== ns) return;
            c.cluster.endpoints.forEach((s, i) => {
              // A hostNetwork pod is not isolated: only the source's egress can deny it.
              const verdict = evaluateConnection(c, { source: { kind: 'endpoint', endpoint: s }, destination: { kind: 'endpoint', endpoint: d }, ...target });
              assert.equal(verdict.ingress.allowed, d.hostNetwork, describeCell(c, i, j, target));
              if (!d.hostNetwork) assert.equal(m.allowed(i, j), false, describeCell(c, i, j, target));
            });
          });
        }
      }),
      { numRuns: 80 },
    );
  });

  test('adding a policy never removes a connection unless it newly isolates one of its ends', () => {
    // Policies are additive: a pod already isolated for a direction only gains allowed traffic.
    fc.assert(
      fc.property(worldArb, policyArb(9), (world, makeExtra) => {
        const extra = makeExtra(world.namespaces.length);
        const before = compile(world);
        const after = compile(world, [extra]);
        const pods = genPodOf(world, before);
        const selectedFor = (pod: GenPod, direction: string, policies: GenPolicy[]): boolean =>
          !pod.hostNetwork &&
          policies.some((p) => p.namespace === pod.namespace && selects(p.podSelector, pod.labels) && policyTypesOf(p).includes(direction));
        for (const target of TARGETS) {
          const m0 = pairwise(before, target);
          const m1 = pairwise(after, target);
          pods.forEach((s, i) =>
            pods.forEach((d, j) => {
              const newlyIsolated =
                (selectedFor(s, 'Egress', [extra]) && !selectedFor(s, 'Egress', world.policies)) ||
                (selectedFor(d, 'Ingress', [extra]) && !selectedFor(d, 'Ingress', world.policies));
              if (m0[i][j] && !newlyIsolated) assert.ok(m1[i][j], `lost ${describeCell(before, i, j, target)}`);
            }),
          );
        }
      }),
      { numRuns: 100 },
    );
  });

  test('adding a policy never changes traffic between pods it does not select', () => {
    fc.assert(
      fc.property(worldArb, policyArb(9), (world, makeExtra) => {
        const extra = makeExtra(world.namespaces.length);
        const before = compile(world);
        const after = compile(world, [extra]);
        const pods = genPodOf(world, before);
        const touches = (pod: GenPod): boolean => !pod.hostNetwork && pod.namespace === extra.namespace && selects(extra.podSelector, pod.labels);
        for (const target of TARGETS) {
          const m0 = pairwise(before, target);
          const m1 = pairwise(after, target);
          pods.forEach((s, i) =>
            pods.forEach((d, j) => {
              if (!touches(s) && !touches(d)) assert.equal(m1[i][j], m0[i][j], describeCell(before, i, j, target));
            }),
          );
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('matrix properties with admin and baseline tiers', () => {
  const eachCell = (c: CompiledCluster, world: World, fn: (s: GenPod, d: GenPod, i: number, j: number) => void): void => {
    const pods = genPodOf(world, c);
    pods.forEach((s, i) => pods.forEach((d, j) => fn(s, d, i, j)));
  };

  test('random admin and baseline tiers: the class matrix equals pairwise evaluation, which equals the reference with tiers', () => {
    fc.assert(
      fc.property(worldArb, adminsArb, (world, admins) => {
        const c = compileAdmin(world, admins);
        for (const target of TARGETS) {
          const byClass = computeMatrix(c, target);
          const byPair = computeMatrixPairwise(c, target);
          eachCell(c, world, (s, d, i, j) => {
            const cell = describeCell(c, i, j, target);
            assert.equal(byPair.allowed(i, j), referenceTiers(world, admins, s, d, target), cell);
            assert.equal(byClass.allowed(i, j), byPair.allowed(i, j), cell);
            if (i === j) {
              assert.equal(byPair.allowedViaService(i, i), referenceTiers(world, admins, s, d, target, true), `${cell} through a Service`);
              assert.equal(byClass.allowedViaService(i, i), byPair.allowedViaService(i, i), `${cell} through a Service`);
            }
          });
        }
      }),
      { numRuns: 200 },
    );
  });

  test('a decided side names the rule that decided, in the tier it says, and Pass rules never decide', () => {
    fc.assert(
      fc.property(worldArb, adminsArb, fc.constantFrom(...TARGETS), (world, admins, target) => {
        const c = compileAdmin(world, admins);
        for (const s of c.cluster.endpoints) {
          for (const d of c.cluster.endpoints) {
            const v = evaluateConnection(c, { source: { kind: 'endpoint', endpoint: s }, destination: { kind: 'endpoint', endpoint: d }, ...target });
            assert.equal(v.allowed, v.egress.allowed && v.ingress.allowed);
            for (const side of [v.egress, v.ingress]) {
              if (side.tier === 'Admin' || side.tier === 'Baseline') {
                assert.equal(side.decidedBy?.policy.tier, side.tier);
                assert.notEqual(side.decidedBy?.action, 'Pass');
                assert.equal(side.allowed, side.decidedBy?.action !== 'Deny');
              } else assert.equal(side.decidedBy, undefined);
              if (side.tier === 'NetworkPolicy') assert.equal(side.allowed, side.allowedBy.length > 0);
              if (side.tier === 'Default') assert.equal(side.allowed, true);
              assert.ok(side.passedBy.every((r) => r.action === 'Pass'));
              assert.ok(side.passedBy.length <= 2);
            }
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  test('an Admin Pass-all policy first changes nothing: the Baseline tier and NetworkPolicy decide as without the Admin tier', () => {
    // "Pass: instructs the selected traffic to skip any remaining ANP rules".
    const everyone: GenAdminPeer[] = [{ namespaces: {} }, { networks: ['0.0.0.0/0', '::/0'] }];
    const passAll = (kind: 'AdminNetworkPolicy' | 'ClusterNetworkPolicy'): GenAdmin => ({
      kind,
      tier: 'Admin',
      name: 'aaa-pass-all',
      priority: 0,
      subject: { namespaces: {} },
      ingress: [{ action: 'Pass', peers: [{ namespaces: {} }] }],
      egress: [{ action: 'Pass', peers: everyone }],
    });
    fc.assert(
      fc.property(worldArb, adminsArb, fc.constantFrom<'AdminNetworkPolicy' | 'ClusterNetworkPolicy'>('AdminNetworkPolicy', 'ClusterNetworkPolicy'), (world, admins, kind) => {
        // The Pass matches every pod, and every address: what it does not match (a hostNetwork source, a hostNetwork template) no admin rule can.
        const reachable = world;
        const baseline = admins.filter((a) => a.tier === 'Baseline');
        const without = compileAdmin(reachable, baseline);
        const withPass = compileAdmin(reachable, [passAll(kind), ...admins.map((a) => (a.tier === 'Admin' ? { ...a, priority: (a.priority ?? 0) + 1 } : a))]);
        const plain = compile(reachable);
        for (const target of TARGETS) {
          const m0 = computeMatrix(without, target);
          const m1 = computeMatrix(withPass, target);
          const m2 = computeMatrix(plain, target);
          const m3 = computeMatrix(compileAdmin(reachable, [passAll(kind)]), target);
          const n = without.cluster.endpoints.length;
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < n; j++) {
              const cell = describeCell(without, i, j, target);
              assert.equal(m1.allowed(i, j), m0.allowed(i, j), cell);
              assert.equal(m1.allowedViaService(i, j), m0.allowedViaService(i, j), `${cell} through a Service`);
              assert.equal(m3.allowed(i, j), m2.allowed(i, j), `${cell}: Pass-all alone is no admin policy`);
            }
          }
        }
      }),
      { numRuns: 80 },
    );
  });

  test('with no admin policies, verdicts equal NetworkPolicy alone, cell by cell and reason by reason', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const plain = compile(world);
        const empty = compileAdmin(world, []);
        for (const target of TARGETS) {
          const m0 = computeMatrix(plain, target);
          const m1 = computeMatrix(empty, target);
          eachCell(plain, world, (s, d, i, j) => {
            assert.equal(m1.allowed(i, j), referenceAllowed(world, s, d, target), describeCell(plain, i, j, target));
            assert.equal(m1.allowed(i, j), m0.allowed(i, j));
            assert.equal(m1.allowedViaService(i, j), m0.allowed(i, j), 'without admin policies a Service changes nothing');
          });
        }
      }),
      { numRuns: 60 },
    );
  });
});
