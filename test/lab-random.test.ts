// Differential, at random: fast-check writes sets of NetworkPolicies over a small cluster
// (selectors with matchLabels and matchExpressions, namespaceSelectors, ipBlocks with excepts over
// the pods' own addresses, named ports that resolve differently per pod, endPort ranges, ingress
// and egress mixes, policyTypes written or defaulted); each set is applied to one live lab (the
// previous set's leftover policies deleted) and every declared port is probed: the kernel must
// give exactly the engine's matrix. A failure prints the policies as YAML.
// Needs root, iproute2, nftables, conntrack and python3; skipped otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import YAML from 'yaml';
import { Lab, type ProbeReport } from '../src/lab/index.js';
import { loadTexts, type Cluster } from '../src/model/index.js';
import { describeDifferences, labSkipReason, leftovers, probedAmong } from './lab-support.js';

const LAB = 'rand';
const TABLE = `podwall-${LAB}`;
const POD_CIDR = '10.252.0.0/16';
const RUNS = 30;
const SEED = 20240611;

type Manifest = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// The cluster: two namespaces, three pods each. Every pod serves 80/TCP, 81/UDP and 8080/TCP, but
// the port names differ per pod, so a named port opens different numbers on different pods.

const NAMESPACES = [
  { name: 'blue', labels: { team: 'blue', env: 'prod' } },
  { name: 'red', labels: { team: 'red', env: 'dev' } },
] as const;

interface PodDef {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly ports: readonly { containerPort: number; protocol: 'TCP' | 'UDP'; name?: string }[];
}

const PODS: readonly PodDef[] = [
  {
    name: 'web',
    labels: { app: 'web', tier: 'front' },
    ports: [
      { containerPort: 80, protocol: 'TCP', name: 'http' },
      { containerPort: 81, protocol: 'UDP', name: 'dns-ish' },
      { containerPort: 8080, protocol: 'TCP', name: 'admin' },
    ],
  },
  {
    name: 'api',
    labels: { app: 'api', tier: 'back' },
    ports: [
      { containerPort: 80, protocol: 'TCP', name: 'web' },
      { containerPort: 81, protocol: 'UDP', name: 'dns-ish' },
      { containerPort: 8080, protocol: 'TCP', name: 'http' },
    ],
  },
  {
    name: 'db',
    labels: { app: 'db' },
    ports: [
      { containerPort: 80, protocol: 'TCP', name: 'http' },
      { containerPort: 81, protocol: 'UDP', name: 'admin' },
      { containerPort: 8080, protocol: 'TCP' },
    ],
  },
];

const podIP = (nsIndex: number, podIndex: number): string => `10.252.${nsIndex + 1}.${podIndex + 1}`;

function clusterManifests(): Manifest[] {
  return [
    ...NAMESPACES.map((ns) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, labels: { ...ns.labels } } })),
    ...NAMESPACES.flatMap((ns, n) =>
      PODS.map((pod, p) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: pod.name, namespace: ns.name, labels: { ...pod.labels } },
        spec: { containers: [{ name: 'server', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53', ports: pod.ports.map((x) => ({ ...x })) }] },
        status: { phase: 'Running', podIP: podIP(n, p), podIPs: [{ ip: podIP(n, p) }] },
      })),
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// Policies

const POD_LABELS: Record<string, readonly string[]> = { app: ['web', 'api', 'db', 'cache'], tier: ['front', 'back'] };
const NS_LABELS: Record<string, readonly string[]> = {
  team: ['blue', 'red', 'green'],
  env: ['prod', 'dev'],
  'kubernetes.io/metadata.name': ['blue', 'red', 'other'],
};

function selectorArb(labels: Record<string, readonly string[]>): fc.Arbitrary<Manifest> {
  const keys = Object.keys(labels);
  const key = fc.constantFrom(...keys, 'missing');
  const valueOf = (k: string): fc.Arbitrary<string> => fc.constantFrom(...(labels[k] ?? ['x']));
  const matchLabels = key.chain((k) => valueOf(k).map((v) => ({ [k]: v })));
  const expression = key.chain((k) =>
    fc.oneof(
      fc.record({ key: fc.constant(k), operator: fc.constantFrom('In', 'NotIn'), values: fc.uniqueArray(valueOf(k), { minLength: 1, maxLength: 2 }) }),
      fc.record({ key: fc.constant(k), operator: fc.constantFrom('Exists', 'DoesNotExist') }),
    ),
  );
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant({}) },
    { weight: 3, arbitrary: matchLabels.map((m) => ({ matchLabels: m })) },
    { weight: 3, arbitrary: fc.array(expression, { minLength: 1, maxLength: 2 }).map((e) => ({ matchExpressions: e })) },
    { weight: 1, arbitrary: fc.tuple(matchLabels, expression).map(([m, e]) => ({ matchLabels: m, matchExpressions: [e] })) },
  );
}

/** CIDRs over the pods' addresses (10.252.1.1-3, 10.252.2.1-3), and candidate holes in them. */
const CIDRS = ['0.0.0.0/0', '10.252.0.0/16', '10.252.1.0/24', '10.252.2.0/24', '10.252.1.0/30', '10.252.2.2/31', '10.252.1.2/32', '192.168.0.0/16'];
const HOLES = ['10.252.1.0/24', '10.252.2.0/24', '10.252.1.2/31', '10.252.2.0/30', '10.252.1.1/32', '10.252.1.3/32', '10.252.2.2/32', '10.252.2.3/32'];

function parseV4(cidr: string): { first: number; last: number; prefix: number } {
  const [ip, prefix] = cidr.split('/');
  const value = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(prefix));
  return { first: value, last: value + size - 1, prefix: Number(prefix) };
}
const strictlyInside = (hole: string, cidr: string): boolean => {
  const h = parseV4(hole);
  const c = parseV4(cidr);
  return h.first >= c.first && h.last <= c.last && h.prefix > c.prefix;
};

const ipBlockArb: fc.Arbitrary<Manifest> = fc.constantFrom(...CIDRS).chain((cidr) => {
  const holes = HOLES.filter((h) => strictlyInside(h, cidr));
  const except = holes.length === 0 ? fc.constant([] as string[]) : fc.uniqueArray(fc.constantFrom(...holes), { maxLength: 2 });
  return except.map((e) => ({ ipBlock: e.length > 0 ? { cidr, except: e } : { cidr } }));
});

const peerArb: fc.Arbitrary<Manifest> = fc.oneof(
  selectorArb(POD_LABELS).map((s) => ({ podSelector: s })),
  selectorArb(NS_LABELS).map((s) => ({ namespaceSelector: s })),
  fc.tuple(selectorArb(NS_LABELS), selectorArb(POD_LABELS)).map(([n, p]) => ({ namespaceSelector: n, podSelector: p })),
  ipBlockArb,
);

const protocolArb = fc.constantFrom<('TCP' | 'UDP' | 'SCTP' | undefined)[]>(undefined, 'TCP', 'UDP', 'SCTP');
const withProtocol = (p: Manifest, protocol: string | undefined): Manifest => (protocol ? { protocol, ...p } : p);
const portArb: fc.Arbitrary<Manifest> = fc.oneof(
  fc.tuple(protocolArb, fc.constantFrom(79, 80, 81, 443, 8080)).map(([protocol, port]) => withProtocol({ port }, protocol)),
  fc.tuple(protocolArb, fc.constantFrom(79, 80, 81, 8080), fc.constantFrom(0, 1, 2, 8000)).map(([protocol, port, span]) => withProtocol({ port, endPort: port + span }, protocol)),
  fc.tuple(protocolArb, fc.constantFrom('http', 'dns-ish', 'admin', 'web', 'nothing')).map(([protocol, port]) => withProtocol({ port }, protocol)),
  protocolArb.filter((p) => p !== undefined).map((protocol) => ({ protocol })),
);

const ruleArb = (peerField: 'from' | 'to'): fc.Arbitrary<Manifest> =>
  fc
    .record(
      {
        peers: fc.array(peerArb, { maxLength: 2 }),
        ports: fc.array(portArb, { minLength: 1, maxLength: 2 }),
      },
      { requiredKeys: [] },
    )
    .map((r) => ({ ...(r.peers !== undefined ? { [peerField]: r.peers } : {}), ...(r.ports !== undefined ? { ports: r.ports } : {}) }));

const rulesArb = (peerField: 'from' | 'to'): fc.Arbitrary<Manifest[] | undefined> =>
  fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 5, arbitrary: fc.array(ruleArb(peerField), { maxLength: 2 }) });

const policyTypesArb = fc.constantFrom<(string[] | undefined)[]>(undefined, undefined, ['Ingress'], ['Egress'], ['Ingress', 'Egress']);

const policyArb: fc.Arbitrary<Omit<Manifest, 'name'> & { namespace: string; spec: Manifest }> = fc
  .record({
    namespace: fc.constantFrom(...NAMESPACES.map((n) => n.name)),
    podSelector: selectorArb(POD_LABELS),
    ingress: rulesArb('from'),
    egress: rulesArb('to'),
    policyTypes: policyTypesArb,
  })
  .map(({ namespace, podSelector, ingress, egress, policyTypes }) => ({
    namespace,
    spec: {
      podSelector,
      ...(ingress !== undefined ? { ingress } : {}),
      ...(egress !== undefined ? { egress } : {}),
      ...(policyTypes !== undefined ? { policyTypes } : {}),
    },
  }));

/** A policy set, named p0, p1, ... per namespace; printed as YAML by fast-check. */
const policySetArb: fc.Arbitrary<Manifest[]> = fc.array(policyArb, { minLength: 1, maxLength: 4 }).map((drafts) => {
  const counts = new Map<string, number>();
  const policies = drafts.map((d) => {
    const n = counts.get(d.namespace) ?? 0;
    counts.set(d.namespace, n + 1);
    return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `p${n}`, namespace: d.namespace }, spec: d.spec };
  });
  Object.defineProperty(policies, fc.toStringMethod, { value: () => asYAML(policies) });
  return policies;
});

// ---------------------------------------------------------------------------------------------

/** Manifests as one multi-document YAML text, the way a user would write them. */
function asYAML(manifests: readonly Manifest[]): string {
  return `\n${manifests.map((m) => `---\n${YAML.stringify(m)}`).join('')}`;
}

const toText = (manifests: readonly Manifest[]): string => manifests.map((m) => `---\n${JSON.stringify(m)}\n`).join('');
const keyOf = (m: Manifest): string => {
  const meta = m.metadata as { namespace: string; name: string };
  return `${meta.namespace}/${meta.name}`;
};

function load(manifests: readonly Manifest[], file: string): Cluster {
  const loaded = loadTexts([{ file, text: toText(manifests) }]);
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  assert.ok(loaded.cluster, `${file}: generated manifests are invalid:\n${errors.map((d) => `  ${d.message}`).join('\n')}${asYAML(manifests)}`);
  return loaded.cluster;
}

const skip = labSkipReason();

describe('lab: random policy sets, the kernel against the engine', { skip }, () => {
  let root = '';
  let lab: Lab | undefined;
  let helperDir = '';

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'podwall-lab-rand-'));
    lab = (await Lab.up(load(clusterManifests(), 'cluster.yaml'), { name: LAB, stateRoot: root, podCIDR: POD_CIDR })).lab;
    helperDir = lab.dir;
  });

  after(async () => {
    lab?.close();
    lab = undefined;
    await Lab.down(LAB, root);
    rmSync(root, { recursive: true, force: true });
  });

  it(`${RUNS} generated policy sets: every declared port, every pair, kernel = engine`, async () => {
    assert.ok(lab, 'the lab is not up');
    const live: Lab = lab;
    let previous: readonly Manifest[] = [];
    let sets = 0;
    await fc.assert(
      fc.asyncProperty(policySetArb, async (policies) => {
        sets++;
        const cluster = load([...clusterManifests(), ...policies], `set-${sets}.yaml`);
        await live.apply(cluster);
        const keep = new Set(policies.map(keyOf));
        const gone = previous.filter((m) => !keep.has(keyOf(m)));
        if (gone.length > 0) await live.delete(load(gone, `set-${sets}-delete.yaml`), new Set());
        previous = policies;
        const held = live.cluster();
        assert.deepEqual(held.policies.map((p) => `${p.namespace}/${p.name}`).sort(), [...keep].sort(), 'the lab does not hold exactly the generated policies');
        const reports: ProbeReport[] = await live.probe(undefined, 1);
        // The generated pods' ports, and the cluster DNS's (every lab runs it): the random policies judge those too.
        assert.deepEqual(
          reports.map((r) => `${r.port}/${r.protocol}`),
          ['53/TCP', '53/UDP', '80/TCP', '81/UDP', '8080/TCP'],
        );
        for (const r of reports.filter((x) => x.port !== 53)) {
          assert.equal(probedAmong(r, r.pods.filter((p) => !p.startsWith('kube-system/') && p !== 'outside')), 30, `${r.port}/${r.protocol}: every pair but loopback is probed`);
        }
        const problem = describeDifferences(reports, held, TABLE);
        if (problem) throw new Error(`${problem}\npolicies:${asYAML(policies)}`);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false, interruptAfterTimeLimit: 600_000, markInterruptAsFailure: true },
    );
  });

  it('lab down leaves no namespace, link, table or helper process behind', async () => {
    assert.ok(lab, 'the lab is not up');
    lab.close();
    lab = undefined;
    await Lab.down(LAB, root);
    assert.deepEqual(leftovers(LAB, TABLE, helperDir), []);
  });
});
