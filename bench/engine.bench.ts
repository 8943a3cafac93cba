// Engine benchmark (not a test): load+compile, the class-based full matrix for one port, and the
// pair-by-pair baseline, on generated clusters of 1,000 / 5,000 / 20,000 pods.
//
//   npm run bench                                  all sizes
//   npm run bench -- --sizes 1000,5000             pick sizes (pods; policies = pods/5, or 5000:1000)
//   npm run bench -- --budget 3000                 ms of pair-by-pair evaluation per size ("inf": all rows)
//   npm run bench -- --runs 5 --port 8080/TCP --seed 42
//
// The target: "5,000 pods and 1,000 policies, full matrix for one port, under 2 s on this 2-core
// machine". The matrix figure = computeClasses + computeMatrix + materializing every N x N cell
// into a dense bitset; load+compile+matrix is printed as well.
import os from 'node:os';
import { loadTexts, type Protocol } from '../src/model/index.js';
import {
  compileCluster,
  computeClasses,
  computeMatrix,
  evaluateConnection,
  type CompiledCluster,
  type EndpointClasses,
  type Matrix,
  type PortProtocol,
} from '../src/engine/index.js';
import { generateCluster, Rng } from './generate.js';
import { flag } from './flags.js';
import { gc, median, now, popcount, timed } from './measure.js';

// ---------------------------------------------------------------------------------------------
// Options.

interface Size {
  readonly pods: number;
  readonly policies: number;
}

function parseArgs(argv: readonly string[]): { sizes: Size[]; budgetMs: number; runs?: number; target: PortProtocol; seed: number } {
  const get = (name: string): string | undefined => flag(argv, name);
  const sizes = (get('sizes') ?? '1000,5000,20000').split(',').filter(Boolean).map((s): Size => {
    const [pods, policies] = s.split(/[:x]/).map((x) => Number(x.replace(/_/g, '')));
    if (!Number.isInteger(pods) || pods < 10) throw new Error(`bad size "${s}"`);
    return { pods, policies: Number.isInteger(policies) ? policies : Math.round(pods / 5) };
  });
  const budget = get('budget');
  const runs = get('runs');
  const [port, protocol = 'TCP'] = (get('port') ?? '8080/TCP').split('/');
  return {
    sizes,
    budgetMs: budget === undefined ? 3000 : budget === 'inf' ? Infinity : Number(budget),
    runs: runs === undefined ? undefined : Number(runs),
    target: { port: Number(port), protocol: protocol.toUpperCase() as Protocol },
    seed: Number(get('seed') ?? 0x5eed),
  };
}

// ---------------------------------------------------------------------------------------------
// Measurement helpers.

const MB = (bytes: number): number => bytes / (1024 * 1024);

const fmt = (ms: number): string => (ms >= 100_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);
const runsText = (all: readonly number[]): string => (all.length > 1 ? ` (median of ${all.length}: ${all.map((x) => x.toFixed(0)).join(', ')})` : '');

// ---------------------------------------------------------------------------------------------
// The full matrix, materialized: row i is words [i * stride, (i + 1) * stride) of one Uint32Array.

interface Dense {
  readonly n: number;
  readonly stride: number;
  readonly words: Uint32Array;
}

const denseHas = (d: Dense, i: number, j: number): boolean => (d.words[i * d.stride + (j >>> 5)] & (1 << (j & 31))) !== 0;

/**
 * Every cell of the N x N matrix through Matrix.allowed: one class row (allowed between class
 * representatives), expanded over the N columns, copied to each member of the source class.
 */
function materialize(m: Matrix, classes: EndpointClasses): Dense {
  const n = m.endpoints.length;
  const stride = (n + 31) >>> 5;
  const words = new Uint32Array(n * stride);
  const { classes: list, classOf } = classes;
  const k = list.length;
  const reps = Int32Array.from(list, (c) => c.members[0]);
  const classRow = new Uint8Array(k);
  const row = new Uint32Array(stride);
  for (const c of list) {
    const s = c.members[0];
    for (let d = 0; d < k; d++) classRow[d] = m.allowed(s, reps[d]) ? 1 : 0;
    row.fill(0);
    for (let j = 0; j < n; j++) if (classRow[classOf[j]] === 1) row[j >>> 5] |= 1 << (j & 31);
    for (const i of c.members) words.set(row, i * stride);
  }
  return { n, stride, words };
}


// ---------------------------------------------------------------------------------------------
// The baseline: evaluateConnection for every pair of the sampled rows.

function pairwiseRow(compiled: CompiledCluster, i: number, target: PortProtocol, out: Uint8Array): void {
  const endpoints = compiled.cluster.endpoints;
  const source = { kind: 'endpoint', endpoint: endpoints[i] } as const;
  for (let j = 0; j < endpoints.length; j++) {
    const verdict = evaluateConnection(compiled, {
      source,
      destination: { kind: 'endpoint', endpoint: endpoints[j] },
      port: target.port,
      protocol: target.protocol,
    });
    out[j] = verdict.allowed ? 1 : 0;
  }
}

interface PairwiseResult {
  readonly rows: number;
  readonly ms: number;
  /** Milliseconds for all N rows: measured when rows = N, extrapolated otherwise. */
  readonly fullMs: number;
  readonly extrapolated: boolean;
  readonly mismatches: { i: number; j: number; classBased: boolean; pairwise: boolean }[];
  readonly mismatchCount: number;
}

function pairwise(compiled: CompiledCluster, dense: Dense, target: PortProtocol, budgetMs: number, seed: number): PairwiseResult {
  const n = compiled.cluster.endpoints.length;
  // A deterministic sample of rows: a seeded permutation, taken in order until the budget is spent.
  const order = new Rng(seed ^ n).sample(Array.from({ length: n }, (_, i) => i), n);
  const scratch = new Uint8Array(n);
  pairwiseRow(compiled, order[n - 1], target, scratch); // warm-up (not timed, not counted)
  const results: { i: number; cells: Uint8Array }[] = [];
  let ms = 0;
  for (const i of order) {
    const cells = new Uint8Array(n);
    const t0 = now();
    pairwiseRow(compiled, i, target, cells);
    ms += now() - t0;
    results.push({ i, cells });
    if (ms >= budgetMs) break;
  }
  const mismatches: PairwiseResult['mismatches'] = [];
  let mismatchCount = 0;
  for (const { i, cells } of results) {
    for (let j = 0; j < n; j++) {
      const classBased = denseHas(dense, i, j);
      if (classBased !== (cells[j] === 1)) {
        mismatchCount++;
        if (mismatches.length < 5) mismatches.push({ i, j, classBased, pairwise: cells[j] === 1 });
      }
    }
  }
  const rows = results.length;
  return { rows, ms, fullMs: (ms / rows) * n, extrapolated: rows < n, mismatches, mismatchCount };
}

// ---------------------------------------------------------------------------------------------

interface Row {
  size: Size;
  endpoints: number;
  classes: number;
  loadMs: number;
  compileMs: number;
  classesMs: number;
  computeMs: number;
  materializeMs: number;
  matrixMs: number;
  pairwise: PairwiseResult;
  heapModelMB: number;
  heapMatrixMB: number;
  buffersMB: number;
  rssMB: number;
  denseMB: number;
  peakRssMB: number;
  density: number;
}

function benchSize(size: Size, opts: ReturnType<typeof parseArgs>): Row {
  const heavy = size.pods > 10_000;
  const runs = opts.runs ?? (heavy ? 1 : size.pods > 2_000 ? 3 : 5);
  const mRuns = opts.runs ?? (heavy ? 3 : 5);

  const t0 = now();
  const gen = generateCluster({ pods: size.pods, policies: size.policies, seed: opts.seed });
  console.log(
    `\n== ${size.pods} pods / ${size.policies} policies: generated ${gen.pods} pods, ${gen.policies} policies, ${gen.namespaces} namespaces, ` +
      `${gen.apps} apps; ${gen.texts.length} files, ${MB(gen.bytes).toFixed(1)} MB of YAML (${fmt(now() - t0)}, not timed)`,
  );

  // (a) load (parse + validate) and compile.
  gc();
  const base = process.memoryUsage();
  const load = timed(runs, () => loadTexts(gen.texts), heavy ? 0 : 1);
  const cluster = load.result.cluster;
  if (!cluster) {
    for (const d of load.result.diagnostics.slice(0, 10)) console.error(d);
    throw new Error('the generated cluster does not load');
  }
  const compile = timed(runs, () => compileCluster(cluster), heavy ? 1 : 2);
  const compiled = compile.result;
  gc();
  const afterModel = process.memoryUsage();
  console.log(`load (parse+validate) ${fmt(load.ms)}${runsText(load.all)}; compile ${fmt(compile.ms)}${runsText(compile.all)}`);

  // (b) the class-based full matrix: classes + class matrix + every N x N cell.
  const parts = { classes: [] as number[], compute: [] as number[], materialize: [] as number[] };
  const matrix = timed(mRuns, () => {
    const t1 = now();
    const classes = computeClasses(compiled);
    const t2 = now();
    const m = computeMatrix(compiled, opts.target, classes);
    const t3 = now();
    const dense = materialize(m, classes);
    const t4 = now();
    parts.classes.push(t2 - t1);
    parts.compute.push(t3 - t2);
    parts.materialize.push(t4 - t3);
    return { classes, m, dense };
  });
  const skip = parts.classes.length - mRuns; // the warm-up run's parts
  const part = (xs: number[]): number => median(xs.slice(skip));
  const { classes, dense } = matrix.result;
  gc();
  const afterMatrix = process.memoryUsage();
  const allowed = popcount(dense.words);
  const n = cluster.endpoints.length;
  console.log(
    `matrix ${opts.target.port}/${opts.target.protocol}: ${fmt(matrix.ms)}${runsText(matrix.all)} = classes ${fmt(part(parts.classes))} + ` +
      `class matrix ${fmt(part(parts.compute))} + materialize ${n}x${n} ${fmt(part(parts.materialize))}; ` +
      `${classes.classes.length} classes; ${allowed} of ${n * n} pairs allowed (${((100 * allowed) / (n * n)).toFixed(1)}%)`,
  );

  // (c) the baseline, pair by pair, on sampled rows; and the check that both agree there.
  const pw = pairwise(compiled, dense, opts.target, opts.budgetMs, opts.seed);
  console.log(
    `pairwise evaluateConnection: ${pw.rows} of ${n} rows (${pw.rows * n} pairs) in ${fmt(pw.ms)}` +
      (pw.extrapolated ? ` -> full matrix ESTIMATED ${fmt(pw.fullMs)} (extrapolated from the sampled rows)` : ' -> full matrix MEASURED'),
  );
  console.log(
    pw.mismatchCount === 0
      ? `check: class-based matrix == pairwise on ${pw.rows} rows x ${n} columns: OK`
      : `check: MISMATCH on ${pw.mismatchCount} cells, e.g. ${pw.mismatches
          .map((x) => `${cluster.endpoints[x.i].id} -> ${cluster.endpoints[x.j].id}: class-based ${x.classBased}, pairwise ${x.pairwise}`)
          .join('; ')}`,
  );

  const row: Row = {
    size,
    endpoints: n,
    classes: classes.classes.length,
    loadMs: load.ms,
    compileMs: compile.ms,
    classesMs: part(parts.classes),
    computeMs: part(parts.compute),
    materializeMs: part(parts.materialize),
    matrixMs: matrix.ms,
    pairwise: pw,
    heapModelMB: MB(afterModel.heapUsed - base.heapUsed),
    heapMatrixMB: MB(afterMatrix.heapUsed - afterModel.heapUsed),
    buffersMB: MB(afterMatrix.arrayBuffers - afterModel.arrayBuffers),
    rssMB: MB(afterMatrix.rss - base.rss),
    denseMB: MB(dense.words.byteLength),
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    density: allowed / (n * n),
  };
  console.log(
    `memory (retained, after GC): model+compiled ${row.heapModelMB.toFixed(1)} MB heap; classes+matrix ${row.heapMatrixMB.toFixed(1)} MB heap ` +
      `+ ${row.buffersMB.toFixed(1)} MB typed arrays (of which the dense N x N bitset ${row.denseMB.toFixed(1)} MB); ` +
      `RSS ${row.rssMB >= 0 ? '+' : ''}${row.rssMB.toFixed(0)} MB over this size; peak RSS of the process so far ${row.peakRssMB.toFixed(0)} MB`,
  );
  return row;
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const cpus = os.cpus();
  console.log(
    `Podwall engine benchmark: node ${process.version}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ` +
      `port ${opts.target.port}/${opts.target.protocol}, seed ${opts.seed}, pairwise budget ${opts.budgetMs} ms per size`,
  );
  const rows: Row[] = [];
  for (const size of opts.sizes) rows.push(benchSize(size, opts));

  const header = ['size (pods/policies)', 'load+compile', 'matrix', 'pairwise', 'speed-up', 'classes', 'heap MB', 'buffers MB', 'peak RSS'];
  const widths = [20, 12, 10, 16, 9, 8, 8, 10, 9];
  console.log('\n' + pad(header, widths));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) {
    console.log(
      pad(
        [
          `${r.size.pods}/${r.size.policies}`,
          fmt(r.loadMs + r.compileMs),
          fmt(r.matrixMs),
          `${r.pairwise.extrapolated ? '~' : ''}${fmt(r.pairwise.fullMs)}${r.pairwise.extrapolated ? ' (est)' : ''}`,
          `${(r.pairwise.fullMs / r.matrixMs).toFixed(0)}x`,
          String(r.classes),
          (r.heapModelMB + r.heapMatrixMB).toFixed(0),
          r.buffersMB.toFixed(0),
          `${r.peakRssMB.toFixed(0)} MB`,
        ],
        widths,
      ),
    );
  }
  console.log(
    'matrix = computeClasses + computeMatrix + materializing all N x N cells (dense bitset), median; ' +
      'pairwise = evaluateConnection per pair, "~ (est)" = extrapolated from sampled rows; ' +
      'heap MB = JS heap retained after GC by model+compiled+classes+matrix; buffers MB = typed arrays (class cells, dense N x N bitset); ' +
      'peak RSS = process maximum so far (includes YAML parsing)',
  );

  const target = rows.find((r) => r.size.pods === 5000 && r.size.policies === 1000);
  if (target) {
    const total = target.loadMs + target.compileMs + target.matrixMs;
    const pass = target.matrixMs < 2000;
    console.log(
      `\nTARGET "5,000 pods and 1,000 policies, full matrix for one port, under 2 s on this ${cpus.length}-core machine": ` +
        `matrix ${fmt(target.matrixMs)} -> ${pass ? 'PASS' : 'FAIL'}` +
        ` (the target applies to the matrix; with load+compile the whole run from YAML text is ${fmt(total)}: ${total < 2000 ? 'also under' : 'over'} 2 s)`,
    );
  } else {
    console.log('\nTARGET (5,000 pods / 1,000 policies) not measured in this run (add --sizes 5000)');
  }
  const allOk = rows.every((r) => r.pairwise.mismatchCount === 0);
  console.log(`check: ${allOk ? 'OK, the class-based matrix equals pairwise evaluation on every sampled row' : 'MISMATCH (see above)'}`);
  if (!allOk) process.exitCode = 1;
}

main();
