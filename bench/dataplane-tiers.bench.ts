// Data plane benchmark for the admin tiers (not a test): compile + apply a full ruleset with 100
// admin and baseline policies against the same cluster without them, the ratio, and the shape of
// the tables (chains, rules, set elements, the longest class chain).
//
//   npm run bench -- --only dataplane-tiers                        1,000 and 5,000 pods, 1,000 NetworkPolicies (root)
//   node --import tsx bench/dataplane-tiers.bench.ts --tier-pods 1000 --apply-runs 5 --admin 100
//
// Runs in a private network namespace (re-executed under `unshare --net`), like the data plane
// benchmark, so the scratch table touches nothing else; without root only the pure parts
// (compileCluster, compileRuleset, render) are measured.
import os from 'node:os';
import { compileCluster } from '../src/engine/index.js';
import { compileRuleset, exec, renderReplaceScript, rulesetStats, type Ruleset, type RulesetStats } from '../src/dataplane/index.js';
import { loadTexts, type AdminPeer, type AdminPolicy, type AdminPort, type AdminRule, type Cluster, type LabelSelector } from '../src/model/index.js';
import { flag } from './flags.js';
import { reexecInPrivateNetns } from './netns.js';
import { generateCluster, Rng } from './generate.js';

interface Options {
  readonly pods: readonly number[];
  readonly policies: number;
  readonly admin: number;
  readonly applyRuns: number;
  readonly seed: number;
}

function parseArgs(argv: readonly string[]): Options {
  const pods = (flag(argv, 'tier-pods') ?? '1000,5000').split(',').map(Number);
  const options = {
    pods,
    policies: Number(flag(argv, 'tier-policies') ?? 1000),
    admin: Number(flag(argv, 'admin') ?? 100),
    applyRuns: Number(flag(argv, 'apply-runs') ?? 5),
    seed: Number(flag(argv, 'seed') ?? 0x5eed),
  };
  for (const [name, value] of Object.entries(options)) {
    const values = Array.isArray(value) ? value : [value];
    if (values.some((v) => !Number.isInteger(v) || v < 0)) throw new Error(`--${name}: expected non-negative integers, got ${String(value)}`);
  }
  return options;
}

const SCRATCH_TABLE = 'podwall-bntiers';
const now = (): number => performance.now();
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const fmt = (ms: number): string => (Number.isNaN(ms) ? '-' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 2 : ms < 100 ? 1 : 0)} ms`);
const statsText = (s: RulesetStats): string => `${s.chains} chains, ${s.rules} rules, ${s.sets} sets and maps, ${s.setElements} set elements, ${s.counters} counters`;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function nft(script: string): Promise<void> {
  await exec(['nft', '-f', '-'], { input: script, timeoutMs: 60_000 });
}
const dropTable = `table inet ${SCRATCH_TABLE} {}\ndelete table inet ${SCRATCH_TABLE}\n`;

// ---------------------------------------------------------------------------------------------
// Admin policies over the generated cluster: what platform teams write. Subjects by team and tier
// labels, peers by namespace labels (env, purpose), pod labels, CIDRs; ports by number, range and
// name; Deny, Allow/Accept and Pass; priorities with ties; Baseline ClusterNetworkPolicies and the
// BaselineAdminNetworkPolicy `default` last.

const sel = (matchLabels: Record<string, string> = {}): LabelSelector => ({ matchLabels, matchExpressions: [] });

function adminPolicies(cluster: Cluster, count: number, seed: number): AdminPolicy[] {
  const rng = new Rng(seed ^ 0xad31);
  const teams = [...new Set(cluster.namespaces.map((n) => n.labels.team).filter((t): t is string => t !== undefined))].sort();
  const tiers = ['backend', 'frontend', 'db', 'cache', 'worker', 'gateway'];
  const namedPorts = [...new Set(cluster.endpoints.flatMap((e) => e.ports.map((p) => p.name)).filter((n): n is string => n !== undefined))].sort();
  const team = (): string => rng.pick(teams);
  const peer = (): AdminPeer =>
    rng.weighted<() => AdminPeer>([
      [() => ({ kind: 'namespaces', namespaces: sel({ env: rng.pick(['dev', 'staging', 'prod']) }) }), 3],
      [() => ({ kind: 'namespaces', namespaces: sel({ team: team() }) }), 3],
      [() => ({ kind: 'pods', pods: { namespaceSelector: sel({ team: team() }), podSelector: sel({ tier: rng.pick(tiers) }) } }), 3],
      [() => ({ kind: 'pods', pods: { namespaceSelector: sel({ purpose: 'monitoring' }), podSelector: sel() } }), 1],
      [() => ({ kind: 'networks', networks: [`10.${16 + rng.int(0, 20)}.${rng.int(0, 255)}.0/24`, '169.254.169.254/32'] }), 2],
    ])();
  const port = (): AdminPort =>
    rng.weighted<() => AdminPort>([
      [() => ({ kind: 'number', protocol: rng.pick(['TCP', 'TCP', 'UDP', 'SCTP'] as const), port: rng.pick([22, 53, 80, 443, 5432, 6379, 8080, 9090]) }), 4],
      [() => ({ kind: 'range', protocol: 'TCP', start: 9000, end: 9000 + rng.int(1, 200) }), 2],
      [() => ({ kind: 'named', name: rng.pick(namedPorts.length > 0 ? namedPorts : ['http']) }), 2],
    ])();
  const rule = (actions: readonly AdminRule['action'][]): AdminRule => ({
    action: rng.pick(actions),
    peers: Array.from({ length: rng.int(1, 2) }, peer),
    ports: rng.chance(0.7) ? Array.from({ length: rng.int(1, 3) }, port) : undefined,
  });
  const subject = (): AdminPolicy['subject'] =>
    rng.chance(0.5) ? { namespaces: sel({ team: team() }) } : { pods: { namespaceSelector: sel({ team: team() }), podSelector: sel({ tier: rng.pick(tiers) }) } };
  const out: AdminPolicy[] = [];
  const baselines = Math.max(1, Math.round(count / 5));
  for (let i = 0; i < count - baselines; i++) {
    const v2 = i % 2 === 1;
    const accept = v2 ? 'Accept' : 'Allow';
    out.push({
      kind: v2 ? 'ClusterNetworkPolicy' : 'AdminNetworkPolicy',
      apiVersion: v2 ? 'policy.networking.k8s.io/v1alpha2' : 'policy.networking.k8s.io/v1alpha1',
      name: `admin-${i}`,
      tier: 'Admin',
      priority: rng.int(0, Math.max(1, count)),
      subject: subject(),
      ingress: Array.from({ length: rng.int(1, 4) }, () => rule(['Deny', accept, 'Pass'])),
      egress: Array.from({ length: rng.int(0, 3) }, () => rule(['Deny', accept, 'Pass'])),
    });
  }
  for (let i = 0; i < baselines - 1; i++) {
    out.push({
      kind: 'ClusterNetworkPolicy',
      apiVersion: 'policy.networking.k8s.io/v1alpha2',
      name: `baseline-${i}`,
      tier: 'Baseline',
      priority: rng.int(0, 100),
      subject: subject(),
      ingress: Array.from({ length: rng.int(1, 3) }, () => rule(['Deny', 'Accept', 'Pass'])),
      egress: Array.from({ length: rng.int(0, 2) }, () => rule(['Deny', 'Accept'])),
    });
  }
  // The cluster's default: no traffic in from other namespaces' pods unless a team says otherwise.
  out.push({
    kind: 'BaselineAdminNetworkPolicy',
    apiVersion: 'policy.networking.k8s.io/v1alpha1',
    name: 'default',
    tier: 'Baseline',
    subject: { namespaces: { matchLabels: {}, matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }] } },
    ingress: [
      { action: 'Allow', peers: [{ kind: 'namespaces', namespaces: sel({ purpose: 'monitoring' }) }] },
      { action: 'Deny', peers: [{ kind: 'namespaces', namespaces: sel() }] },
    ],
    egress: [],
  });
  return out;
}

// ---------------------------------------------------------------------------------------------

interface Measured {
  readonly compileMs: number;
  readonly rulesetMs: number;
  readonly renderMs: number;
  readonly nftMs: number;
  readonly totalMs: number;
  readonly stats: RulesetStats;
  readonly longestChain: number;
  readonly scriptKB: number;
}

/** Compile + render + apply, `runs` times after one untimed warm-up, medians; both variants interleaved so drift hits both. */
async function measure(variants: readonly Cluster[], runs: number, kernel: boolean): Promise<Measured[]> {
  const parts = variants.map(() => ({ compile: [] as number[], ruleset: [] as number[], render: [] as number[], nft: [] as number[], total: [] as number[] }));
  const shape: { stats: RulesetStats; longestChain: number; scriptKB: number }[] = [];
  for (let run = -1; run < runs; run++) {
    for (const [v, cluster] of variants.entries()) {
      const a = now();
      const compiled = compileCluster(cluster);
      const b = now();
      const ruleset: Ruleset = compileRuleset(compiled, { table: SCRATCH_TABLE });
      const c = now();
      const script = renderReplaceScript(ruleset);
      const d = now();
      if (kernel) await nft(script);
      const e = now();
      if (run < 0) {
        const longestChain = Math.max(...ruleset.chains.filter((ch) => !ch.base).map((ch) => ch.rules.length), 0);
        shape[v] = { stats: rulesetStats(ruleset), longestChain, scriptKB: Buffer.byteLength(script) / 1024 };
        continue;
      }
      parts[v].compile.push(b - a);
      parts[v].ruleset.push(c - b);
      parts[v].render.push(d - c);
      if (kernel) parts[v].nft.push(e - d);
      parts[v].total.push(e - a);
    }
  }
  return parts.map((p, v) => ({
    compileMs: median(p.compile),
    rulesetMs: median(p.ruleset),
    renderMs: median(p.render),
    nftMs: median(p.nft),
    totalMs: median(p.total),
    ...shape[v],
  }));
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && reexecInPrivateNetns(import.meta.url)) return;
  const cpus = os.cpus();
  console.log(
    `Podwall data plane benchmark, admin tiers: node ${process.version}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, kernel ${os.release()}` +
      `${root ? ', in a private network namespace' : ' (not root: nft not run, pure parts only)'}`,
  );
  const summary: string[][] = [];
  try {
    if (root) await nft(dropTable);
    for (const pods of opts.pods) {
      const gen = generateCluster({ pods, policies: opts.policies, seed: opts.seed });
      const built = loadTexts(gen.texts);
      if (!built.cluster) throw new Error(`manifests do not load: ${built.diagnostics.slice(0, 5).map((d) => d.message).join('; ')}`);
      const without = built.cluster;
      const admin = adminPolicies(without, opts.admin, opts.seed);
      const withTiers: Cluster = { ...without, adminPolicies: admin };
      console.log(
        `\n== compile + apply, ${gen.pods} pods / ${gen.policies} NetworkPolicies / ${gen.namespaces} namespaces, without and with ${admin.length} admin and baseline policies ` +
          `(${admin.filter((p) => p.tier === 'Admin').length} Admin tier, ${admin.filter((p) => p.tier === 'Baseline').length} Baseline tier; scratch table inet ${SCRATCH_TABLE}; median of ${opts.applyRuns})`,
      );
      const [a, b] = await measure([without, withTiers], opts.applyRuns, root);
      const ratio = (x: number, y: number): string => (Number.isNaN(x) || Number.isNaN(y) ? '-' : `${(y / x).toFixed(2)}x`);
      console.log(`without: ${statsText(a.stats)}; longest chain ${a.longestChain} rules; script ${a.scriptKB.toFixed(0)} KB`);
      console.log(`with:    ${statsText(b.stats)}; longest chain ${b.longestChain} rules; script ${b.scriptKB.toFixed(0)} KB`);
      console.log(
        table(
          ['phase', 'without', 'with tiers', 'ratio'],
          [
            ['compileCluster (engine)', fmt(a.compileMs), fmt(b.compileMs), ratio(a.compileMs, b.compileMs)],
            ['compileRuleset (dataplane)', fmt(a.rulesetMs), fmt(b.rulesetMs), ratio(a.rulesetMs, b.rulesetMs)],
            ['renderReplaceScript', fmt(a.renderMs), fmt(b.renderMs), ratio(a.renderMs, b.renderMs)],
            ['nft -f - (replace table)', fmt(a.nftMs), fmt(b.nftMs), ratio(a.nftMs, b.nftMs)],
            ['total', fmt(a.totalMs), fmt(b.totalMs), ratio(a.totalMs, b.totalMs)],
          ],
        ),
      );
      summary.push([`${gen.pods} pods`, fmt(a.totalMs), fmt(b.totalMs), ratio(a.totalMs, b.totalMs), `${a.stats.rules} -> ${b.stats.rules}`, `${a.longestChain} -> ${b.longestChain}`]);
    }
  } finally {
    if (root) await nft(dropTable).catch(() => undefined);
  }
  console.log(`\n${table(['cluster', 'compile+apply without', 'with tiers', 'ratio', 'rules', 'longest chain'], summary)}`);
}

await main();
