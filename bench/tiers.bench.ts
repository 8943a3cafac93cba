// Admin tiers benchmark (not a test): the class-based full matrix for one port on a generated
// cluster with admin and baseline policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy and
// ClusterNetworkPolicy of both tiers), against the same cluster without them, printed as a ratio.
//
//   npm run bench -- --only tiers                               5,000 pods / 1,000 NetworkPolicies / 100 admin policies
//   npm run bench -- --only tiers --sizes 1000,5000:1000 --admin 100 --runs 5 --port 8080/TCP --budget 2000 --seed 42
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { loadTexts, type AdminPeer, type AdminPolicy, type AdminPort, type AdminRule, type AdminSubject, type Cluster, type LabelSelector, type Node, type Protocol } from '../src/model/index.js';
import { compileCluster, computeClasses, computeMatrix, evaluateConnection, type CompiledCluster, type EndpointClasses, type Matrix, type PortProtocol } from '../src/engine/index.js';
import { generateCluster, Rng } from './generate.js';
import { flag } from './flags.js';
import { median, now, popcount, timed } from './measure.js';

interface Size {
  readonly pods: number;
  readonly policies: number;
}

function parseArgs(argv: readonly string[]): { sizes: Size[]; admin: number; runs: number; budgetMs: number; target: PortProtocol; seed: number } {
  const sizes = (flag(argv, 'sizes') ?? '5000:1000').split(',').filter(Boolean).map((s): Size => {
    const [pods, policies] = s.split(/[:x]/).map((x) => Number(x.replace(/_/g, '')));
    if (!Number.isInteger(pods) || pods < 10) throw new Error(`bad size "${s}"`);
    return { pods, policies: Number.isInteger(policies) ? policies : Math.round(pods / 5) };
  });
  const [port, protocol = 'TCP'] = (flag(argv, 'port') ?? '8080/TCP').split('/');
  return {
    sizes,
    admin: Number(flag(argv, 'admin') ?? 100),
    runs: Number(flag(argv, 'runs') ?? 5),
    budgetMs: Number(flag(argv, 'budget') ?? 2000),
    target: { port: Number(port), protocol: protocol.toUpperCase() as Protocol },
    seed: Number(flag(argv, 'seed') ?? 0x5eed),
  };
}

const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);



// ---------------------------------------------------------------------------------------------
// Admin policies an administrator would write for such a cluster, drawn from its own labels.

const sel = (matchLabels: Record<string, string> = {}): LabelSelector => ({ matchLabels, matchExpressions: [] });

/** `count` admin and baseline policies (ANP v1alpha1, CNP v1alpha2 of both tiers, the BANP), and the nodes their `nodes` peers select. */
export function generateAdminPolicies(cluster: Cluster, count: number, seed: number): { adminPolicies: AdminPolicy[]; nodes: Node[] } {
  const rng = new Rng(seed ^ 0xad317);
  const teams = [...new Set(cluster.namespaces.map((n) => n.labels.team).filter((t): t is string => t !== undefined))].sort();
  const envs = ['prod', 'staging', 'dev'];
  const tiers = ['frontend', 'backend', 'db', 'cache', 'worker', 'gateway'];
  const nodeNames = [...new Set(cluster.endpoints.map((e) => e.nodeName).filter((n): n is string => n !== undefined))].sort();
  const nodes: Node[] = nodeNames.map((name, k) => ({
    name,
    labels: { 'node-role.kubernetes.io/worker': '', ...(k % 10 === 0 ? { role: 'ingress' } : {}), zone: `zone-${k % 3}` },
    addresses: [`192.168.${k >> 8}.${k & 255}`],
  }));

  const subject = (): AdminSubject =>
    rng.weighted<() => AdminSubject>([
      [() => ({ namespaces: sel({ team: rng.pick(teams) }) }), 3],
      [() => ({ namespaces: sel({ env: rng.pick(envs) }) }), 2],
      [() => ({ pods: { namespaceSelector: sel({ env: rng.pick(envs) }), podSelector: sel({ tier: rng.pick(tiers) }) } }), 3],
      [() => ({ namespaces: sel() }), 1],
    ])();
  const ports = (): AdminPort[] | undefined =>
    rng.weighted<() => AdminPort[] | undefined>([
      [() => undefined, 3],
      [() => [{ kind: 'number', protocol: 'TCP', port: rng.pick([8080, 5432, 6379, 9090, 443]) }], 3],
      [() => [{ kind: 'range', protocol: 'TCP', start: 8000, end: rng.pick([8080, 8999]) }], 1],
      [() => [{ kind: 'named', name: rng.pick(['http', 'metrics', 'postgres']) }], 2],
    ])();
  const podPeer = (): AdminPeer =>
    rng.weighted<() => AdminPeer>([
      [() => ({ kind: 'namespaces', namespaces: sel({ team: rng.pick(teams) }) }), 3],
      [() => ({ kind: 'namespaces', namespaces: sel({ purpose: 'monitoring' }) }), 1],
      [() => ({ kind: 'pods', pods: { namespaceSelector: sel({ env: rng.pick(envs) }), podSelector: sel({ tier: rng.pick(tiers) }) } }), 3],
    ])();
  const addressPeer = (): AdminPeer =>
    rng.weighted<() => AdminPeer>([
      [() => ({ kind: 'networks', networks: [`10.${16 + rng.int(0, 1)}.${rng.int(0, 255)}.0/24`] }), 2],
      [() => ({ kind: 'networks', networks: ['0.0.0.0/0'] }), 1],
      [() => ({ kind: 'nodes', nodes: sel({ role: 'ingress' }) }), 1],
    ])();

  const rules = (direction: 'Ingress' | 'Egress', kind: AdminPolicy['kind']): AdminRule[] =>
    Array.from({ length: rng.int(1, 4) }, (): AdminRule => {
      const accept = kind === 'ClusterNetworkPolicy' ? 'Accept' : 'Allow';
      const actions: AdminRule['action'][] = kind === 'BaselineAdminNetworkPolicy' ? ['Allow', 'Deny'] : [accept, 'Deny', 'Pass'];
      const action = rng.pick(actions);
      const peers = direction === 'Egress' && rng.chance(0.3) ? [addressPeer()] : [podPeer(), ...(rng.chance(0.3) ? [podPeer()] : [])];
      // Named ports are refused beside networks and nodes peers (the CRDs' CEL rule).
      let p = ports();
      if (peers.some((x) => x.kind === 'networks' || x.kind === 'nodes') && p?.some((x) => x.kind === 'named')) p = undefined;
      return { name: `${direction.toLowerCase()}-${action.toLowerCase()}`, action, peers, ports: p };
    });

  const adminPolicies: AdminPolicy[] = [];
  for (let i = 0; i < count; i++) {
    const last = i === count - 1;
    // 2 in 5 AdminNetworkPolicy, 2 in 5 ClusterNetworkPolicy Admin or Baseline; the last is the BANP.
    const kind: AdminPolicy['kind'] = last ? 'BaselineAdminNetworkPolicy' : i % 5 < 2 ? 'AdminNetworkPolicy' : 'ClusterNetworkPolicy';
    const tier = kind === 'AdminNetworkPolicy' ? 'Admin' : kind === 'BaselineAdminNetworkPolicy' ? 'Baseline' : i % 5 === 3 || i % 5 === 4 ? 'Baseline' : 'Admin';
    adminPolicies.push({
      kind,
      apiVersion: kind === 'ClusterNetworkPolicy' ? 'policy.networking.k8s.io/v1alpha2' : 'policy.networking.k8s.io/v1alpha1',
      name: kind === 'BaselineAdminNetworkPolicy' ? 'default' : `${kind === 'AdminNetworkPolicy' ? 'anp' : 'cnp'}-${i}`,
      tier,
      priority: kind === 'BaselineAdminNetworkPolicy' ? undefined : rng.int(0, 1000),
      subject: kind === 'BaselineAdminNetworkPolicy' ? { namespaces: sel() } : subject(),
      ingress: rules('Ingress', kind),
      egress: rules('Egress', kind),
    });
  }
  return { adminPolicies, nodes };
}

// ---------------------------------------------------------------------------------------------

/** Every N x N cell: class rows expanded over the columns, then each endpoint's own cell (a pod to itself may differ from its class). */
function materialize(m: Matrix, classes: EndpointClasses): Uint32Array {
  const n = m.endpoints.length;
  const stride = (n + 31) >>> 5;
  const words = new Uint32Array(n * stride);
  const { classes: list, classOf } = classes;
  const reps = Int32Array.from(list, (c) => c.members[0]);
  const classRow = new Uint8Array(list.length);
  const row = new Uint32Array(stride);
  for (const c of list) {
    const s = c.members[0];
    for (let d = 0; d < list.length; d++) classRow[d] = m.allowedViaService(s, reps[d]) ? 1 : 0;
    row.fill(0);
    for (let j = 0; j < n; j++) if (classRow[classOf[j]] === 1) row[j >>> 5] |= 1 << (j & 31);
    for (const i of c.members) words.set(row, i * stride);
  }
  for (let i = 0; i < n; i++) {
    const bit = 1 << (i & 31);
    if (m.allowed(i, i)) words[i * stride + (i >>> 5)] |= bit;
    else words[i * stride + (i >>> 5)] &= ~bit;
  }
  return words;
}


interface Measured {
  readonly ms: number;
  readonly all: number[];
  /** Medians of the parts: classes, class matrix, materializing. */
  readonly parts: readonly [number, number, number];
  readonly classes: number;
  readonly allowed: number;
  readonly words: Uint32Array;
}

function measure(compiled: CompiledCluster, target: PortProtocol, runs: number): Measured {
  const parts: [number[], number[], number[]] = [[], [], []];
  const r = timed(runs, () => {
    const t0 = now();
    const classes = computeClasses(compiled);
    const t1 = now();
    const m = computeMatrix(compiled, target, classes);
    const t2 = now();
    const words = materialize(m, classes);
    parts[0].push(t1 - t0);
    parts[1].push(t2 - t1);
    parts[2].push(now() - t2);
    return { classes, words };
  });
  // The warm-up run's parts are left out.
  const part = (xs: number[]): number => median(xs.slice(1));
  return {
    ms: r.ms,
    all: r.all,
    parts: [part(parts[0]), part(parts[1]), part(parts[2])],
    classes: r.result.classes.classes.length,
    allowed: popcount(r.result.words),
    words: r.result.words,
  };
}

/** Sampled rows asked pair by pair with evaluateConnection, against the class-based cells. */
function check(compiled: CompiledCluster, words: Uint32Array, target: PortProtocol, budgetMs: number, seed: number): { rows: number; mismatches: number } {
  const endpoints = compiled.cluster.endpoints;
  const n = endpoints.length;
  const stride = (n + 31) >>> 5;
  const order = new Rng(seed ^ n).sample(Array.from({ length: n }, (_, i) => i), n);
  const t0 = now();
  let rows = 0;
  let mismatches = 0;
  for (const i of order) {
    for (let j = 0; j < n; j++) {
      const allowed = evaluateConnection(compiled, { source: { kind: 'endpoint', endpoint: endpoints[i] }, destination: { kind: 'endpoint', endpoint: endpoints[j] }, ...target }).allowed;
      if (allowed !== ((words[i * stride + (j >>> 5)] & (1 << (j & 31))) !== 0)) mismatches++;
    }
    rows++;
    if (now() - t0 >= budgetMs) break;
  }
  return { rows, mismatches };
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const cpus = os.cpus();
  console.log(`Podwall admin tiers benchmark: node ${process.version}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, port ${opts.target.port}/${opts.target.protocol}, seed ${opts.seed}`);
  let ok = true;
  for (const size of opts.sizes) {
    const gen = generateCluster({ pods: size.pods, policies: size.policies, seed: opts.seed });
    const loaded = loadTexts(gen.texts).cluster;
    if (!loaded) throw new Error('the generated cluster does not load');
    const { adminPolicies, nodes } = generateAdminPolicies(loaded, opts.admin, opts.seed);
    const kinds = (k: string, tier: string): number => adminPolicies.filter((p) => p.kind === k && p.tier === tier).length;
    console.log(
      `\n== ${gen.pods} pods / ${gen.policies} NetworkPolicies / ${adminPolicies.length} admin policies ` +
        `(${kinds('AdminNetworkPolicy', 'Admin')} AdminNetworkPolicy, ${kinds('ClusterNetworkPolicy', 'Admin')} ClusterNetworkPolicy Admin, ` +
        `${kinds('ClusterNetworkPolicy', 'Baseline')} ClusterNetworkPolicy Baseline, ${kinds('BaselineAdminNetworkPolicy', 'Baseline')} BaselineAdminNetworkPolicy; ` +
        `${adminPolicies.reduce((s, p) => s + p.ingress.length + p.egress.length, 0)} rules; ${nodes.length} nodes)`,
    );
    const plain = compileCluster(loaded);
    const tc = timed(opts.runs, () => compileCluster({ ...loaded, adminPolicies, nodes }));
    const tiered = tc.result;
    const without = measure(plain, opts.target, opts.runs);
    const withTiers = measure(tiered, opts.target, opts.runs);
    const n = loaded.endpoints.length;
    const pct = (x: number): string => `${((100 * x) / (n * n)).toFixed(1)}%`;
    const runs = (m: Measured): string =>
      `(median of ${m.all.length}: ${m.all.map((x) => x.toFixed(0)).join(', ')}) = classes ${fmt(m.parts[0])} + class matrix ${fmt(m.parts[1])} + materialize ${fmt(m.parts[2])}`;
    console.log(`compile with the admin policies ${fmt(tc.ms)}`);
    console.log(`matrix without admin policies: ${fmt(without.ms)} ${runs(without)}; ${without.classes} classes; ${pct(without.allowed)} of pairs allowed`);
    console.log(`matrix with admin policies:    ${fmt(withTiers.ms)} ${runs(withTiers)}; ${withTiers.classes} classes; ${pct(withTiers.allowed)} of pairs allowed`);
    console.log(`RATIO with/without: ${(withTiers.ms / without.ms).toFixed(2)}x`);
    const checked = check(tiered, withTiers.words, opts.target, opts.budgetMs, opts.seed);
    console.log(
      checked.mismatches === 0
        ? `check: class-based matrix with tiers == pairwise evaluateConnection on ${checked.rows} sampled rows x ${n} columns: OK`
        : `check: MISMATCH on ${checked.mismatches} cells of ${checked.rows} sampled rows`,
    );
    if (checked.mismatches > 0) ok = false;
  }
  console.log(
    '\nmatrix = computeClasses + computeMatrix + every N x N cell materialized (the diagonal read per endpoint: a pod to itself skips the tiers), median after one warm-up',
  );
  if (!ok) process.exitCode = 1;
}

// generateAdminPolicies is also for other benchmarks (the data plane's with tiers): run only when started itself.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
