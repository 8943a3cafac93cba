// Authoring benchmark (not a test): `diff` of two generated clusters that differ in one policy, and
// `lint` of the same cluster, each against `matrix` (classes + computeMatrix for every declared
// port) on the same compiled input in the same run, printed as ratios.
//
//   npm run bench -- --only authoring                    5,000 pods / 1,000 policies
//   npm run bench -- --only authoring --sizes 1000,5000:1000 --runs 5 --seed 42
import os from 'node:os';
import { loadTexts, type Cluster, type NetworkPolicy } from '../src/model/index.js';
import { compileCluster, computeClasses, computeMatrix, declaredPorts, diffClusters, lintCluster, policySelects, type CompiledCluster } from '../src/engine/index.js';
import { generateCluster } from './generate.js';
import { flag } from './flags.js';
import { timed } from './measure.js';

interface Size {
  readonly pods: number;
  readonly policies: number;
}

function parseArgs(argv: readonly string[]): { sizes: Size[]; runs: number; seed: number } {
  const sizes = (flag(argv, 'sizes') ?? '5000:1000').split(',').filter(Boolean).map((s): Size => {
    const [pods, policies] = s.split(/[:x]/).map((x) => Number(x.replace(/_/g, '')));
    if (!Number.isInteger(pods) || pods < 10) throw new Error(`bad size "${s}"`);
    return { pods, policies: Number.isInteger(policies) ? policies : Math.round(pods / 5) };
  });
  return { sizes, runs: Number(flag(argv, 'runs') ?? 3), seed: Number(flag(argv, 'seed') ?? 0x5eed) };
}

const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);



/** `matrix` as the command computes it: classes once, then one class matrix per declared port. */
function matrixAllPorts(compiled: CompiledCluster): number {
  const classes = computeClasses(compiled);
  let cells = 0;
  for (const target of declaredPorts(compiled.cluster.endpoints)) {
    const m = computeMatrix(compiled, target, classes);
    cells += m.allowed(0, 0) ? 1 : 0;
  }
  return cells;
}

/**
 * The same cluster with one policy edited as a reviewer would see it in a pull request: its first
 * ingress rule dropped. The policies that select the most endpoints are tried in turn (not timed)
 * until one whose edit changes some flow, so that the diff has something to find.
 */
function editOnePolicy(cluster: Cluster): { cluster: Cluster; edited: string } {
  const compiled = compileCluster(cluster);
  const candidates = compiled.policies
    .filter((p) => p.isolates.Ingress && p.policy.spec.ingress.length > 0)
    .map((p) => ({ policy: p.policy, selected: cluster.endpoints.filter((e) => policySelects(p, e)).length }))
    .sort((a, b) => b.selected - a.selected);
  for (const { policy: target } of candidates.slice(0, 20)) {
    const edited: NetworkPolicy = { ...target, spec: { ...target.spec, ingress: target.spec.ingress.slice(1) } };
    const after: Cluster = { ...cluster, policies: cluster.policies.map((p) => (p === target ? edited : p)) };
    if (diffClusters(compiled, compileCluster(after)).changed) return { cluster: after, edited: `${target.namespace}/${target.name} (ingress[0] removed)` };
  }
  throw new Error('no policy whose first ingress rule matters');
}

function benchSize(size: Size, runs: number, seed: number): { size: Size; matrixMs: number; diffMs: number; lintMs: number } {
  const gen = generateCluster({ pods: size.pods, policies: size.policies, seed });
  const loaded = loadTexts(gen.texts);
  if (!loaded.cluster) throw new Error('the generated cluster does not load');
  const before = loaded.cluster;
  const { cluster: after, edited } = editOnePolicy(before);
  const oldCompiled = compileCluster(before);
  const newCompiled = compileCluster(after);
  const ports = declaredPorts(before.endpoints).length;
  console.log(`\n== ${gen.pods} pods / ${gen.policies} policies, ${ports} declared ports; NEW differs in ${edited} (generation, load and compile not timed)`);

  const matrix = timed(runs, () => matrixAllPorts(oldCompiled));
  const diff = timed(runs, () => diffClusters(oldCompiled, newCompiled));
  const lint = timed(runs, () => lintCluster(oldCompiled));
  const d = diff.result;
  const flows = (gs: typeof d.opened): number => gs.reduce((n, g) => n + g.flows, 0);
  const all = (xs: number[]): string => `median of ${xs.length}: ${xs.map((x) => x.toFixed(0)).join(', ')}`;
  console.log(`matrix (classes + computeMatrix on ${ports} ports): ${fmt(matrix.ms)} (${all(matrix.all)})`);
  console.log(`diff (diffClusters, OLD and NEW): ${fmt(diff.ms)} (${all(diff.all)}); ${flows(d.opened)} flows opened in ${d.opened.length} groups, ${flows(d.closed)} closed in ${d.closed.length}`);
  console.log(`lint (lintCluster): ${fmt(lint.ms)} (${all(lint.all)}); ${lint.result.length} findings`);
  console.log(`ratios: diff / matrix = ${(diff.ms / matrix.ms).toFixed(2)}, lint / matrix = ${(lint.ms / matrix.ms).toFixed(2)}`);
  return { size, matrixMs: matrix.ms, diffMs: diff.ms, lintMs: lint.ms };
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const cpus = os.cpus();
  console.log(`Podwall authoring benchmark: node ${process.version}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, seed ${opts.seed}, ${opts.runs} timed runs after one warm-up`);
  const rows = opts.sizes.map((s) => benchSize(s, opts.runs, opts.seed));
  console.log('\nsize (pods/policies)  matrix      diff        lint        diff/matrix  lint/matrix');
  for (const r of rows) {
    console.log(
      `${`${r.size.pods}/${r.size.policies}`.padEnd(20)}  ${fmt(r.matrixMs).padEnd(10)}  ${fmt(r.diffMs).padEnd(10)}  ${fmt(r.lintMs).padEnd(10)}  ${(r.diffMs / r.matrixMs).toFixed(2).padStart(11)}  ${(r.lintMs / r.matrixMs).toFixed(2).padStart(11)}`,
    );
  }
  console.log('matrix = computeClasses + computeMatrix for every declared port of one version; diff = diffClusters of both versions (classes and matrices of each, compared class pair by class pair, with outside access and reasons); lint = lintCluster; all on the compiled input, medians');
}

main();
