// Shared by the kernel proof tests (test/lab-*.test.ts): whether this machine can run a lab, what
// a lab left behind in the kernel, and readable renderings of probe reports and rulesets.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { compileCluster, evaluateConnection, formatPolicyRef, formatRuleRef, resolvePeer, type DirectionVerdict } from '../src/engine/index.js';
import type { ProbeReport } from '../src/lab/index.js';
import type { Cluster, Protocol } from '../src/model/index.js';
import { PODS, expectedAllowed, type Case, type Manifest, type PodId } from './cases/upstream.js';

/** Why the lab tests cannot run here (not root, a missing program), or undefined when they can. */
export function labSkipReason(): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'the lab needs root';
  for (const argv of [['ip', '-V'], ['nft', '--version'], ['conntrack', '--version'], ['python3', '--version']]) {
    const r = spawnSync(argv[0], argv.slice(1), { stdio: 'ignore' });
    if (r.error || r.status !== 0) return `${argv[0]} is not available`;
  }
  return undefined;
}

function run(argv: readonly string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

/** The lab's whole table as nft prints it (empty if there is none). */
export function listTable(table: string): string {
  return run(['nft', 'list', 'table', 'inet', table]);
}

/**
 * Everything of lab `name` (state in `stateDir`, i.e. ROOT/labs/NAME) still in the kernel or the
 * process table: should be empty after `Lab.down`.
 */
export function leftovers(name: string, table: string, stateDir: string): string[] {
  const stateRoot = dirname(dirname(stateDir));
  const prefix = `pw-${name}-`;
  const out: string[] = [];
  for (const line of run(['ip', 'netns', 'list']).split('\n')) {
    const ns = line.split(' ')[0];
    if (ns.startsWith(prefix)) out.push(`netns ${ns}`);
  }
  for (const line of run(['ip', '-o', 'link', 'show']).split('\n')) {
    const link = line.split(': ')[1]?.split('@')[0] ?? '';
    if (link.startsWith(prefix)) out.push(`link ${link}`);
  }
  const tables = run(['nft', 'list', 'tables']).split('\n').map((l) => l.trim());
  const servicesTable = name === 'lab' ? 'podwall-services' : `podwall-svc-${name}`;
  for (const t of [table, servicesTable]) if (tables.includes(`table inet ${t}`)) out.push(`nft table inet ${t}`);
  for (const dir of existsSync('/etc/netns') ? readdirSync('/etc/netns') : []) if (dir.startsWith(prefix)) out.push(`/etc/netns/${dir}`);
  for (const entry of existsSync('/proc') ? readdirSync('/proc') : []) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      // The pod server helper (podnet.py with the lab's files) and the lab daemon (its exact --name
      // and --state-dir: other labs may share the state root).
      const flag = (f: string): string | undefined => cmdline[cmdline.indexOf(f) + 1];
      const daemon = cmdline.includes('daemon') && flag('--name') === name && flag('--state-dir') === stateRoot;
      const ours = daemon || cmdline.some((a) => a.startsWith(`${stateDir}/`));
      if (ours && Number(entry) !== process.pid) out.push(`process ${entry}: ${cmdline.join(' ').trim()}`);
    } catch {
      // the process ended while we looked
    }
  }
  if (existsSync(stateDir)) out.push(`state directory ${stateDir}`);
  return out;
}

const cellMark = (v: boolean | null): string => (v === null ? '-' : v ? '.' : 'X');

/**
 * Kernel and engine side by side ('.' allowed, 'X' denied, '-' not probed), then the comparison
 * ('!' where they differ).
 */
export function renderReport(r: ProbeReport): string {
  const width = Math.max(4, ...r.pods.map((p) => p.length + 1));
  const pad = (s: string): string => s.padEnd(width);
  const grid = (cell: (i: number, j: number) => string): string[] => [
    pad('-') + r.pods.map(pad).join(''),
    ...r.pods.map((from, i) => pad(from) + r.pods.map((_, j) => pad(cell(i, j))).join('')),
  ];
  const kernel = (i: number, j: number): string => cellMark(r.allowed[i][j]);
  const engine = (i: number, j: number): string => cellMark(r.predicted[i][j]);
  const compare = (i: number, j: number): string => (r.allowed[i][j] === null ? '-' : r.allowed[i][j] === r.predicted[i][j] ? '.' : '!');
  return [
    `${r.port}/${r.protocol}:`,
    'kernel (probed):',
    ...grid(kernel),
    'engine (predicted):',
    ...grid(engine),
    "comparison ('!' differs):",
    ...grid(compare),
  ].join('\n');
}

/** The first `max` lines of a text, with a note of how many were cut. */
export function head(text: string, max: number): string {
  const lines = text.split('\n');
  return lines.length <= max ? text : [...lines.slice(0, max), `... (${lines.length - max} more lines)`].join('\n');
}

/** The engine's verdict for one cell, with its reasons, as one line per side. */
export function engineVerdict(cluster: Cluster, from: string, to: string, port: number, protocol: Protocol): string {
  const compiled = compileCluster(cluster);
  const source = resolvePeer(compiled, from);
  const destination = resolvePeer(compiled, to);
  if ('error' in source || 'error' in destination) return `engine: cannot resolve ${from} -> ${to}`;
  const v = evaluateConnection(compiled, { source: source.peer, destination: destination.peer, port, protocol });
  const side = (d: DirectionVerdict): string =>
    `${d.direction}: ${d.allowed ? 'allowed' : 'denied'}${d.isolated ? ` (isolated by ${d.isolatingPolicies.map(formatPolicyRef).join(', ')}` : ' (not isolated'}${
      d.allowedBy.length > 0 ? `; allowed by ${d.allowedBy.map(formatRuleRef).join(', ')}` : ''
    })`;
  return `engine: ${from} -> ${to} ${port}/${protocol} ${v.allowed ? 'ALLOWED' : 'DENIED'}; ${side(v.egress)}; ${side(v.ingress)}`;
}

/**
 * A readable account of every report with differences: both matrices, the engine's verdict with
 * reasons for each differing cell (at most `maxCells`), and the lab's ruleset.
 */
export function describeDifferences(reports: readonly ProbeReport[], cluster: Cluster, table: string, maxCells = 12): string | undefined {
  const bad = reports.filter((r) => r.differences.length > 0);
  if (bad.length === 0) return undefined;
  const cells = bad.flatMap((r) => r.differences.map((d) => ({ ...d, port: r.port, protocol: r.protocol })));
  const lines = [
    `the kernel differs from the engine in ${cells.length} cell(s):`,
    ...cells.slice(0, maxCells).map((c) => {
      const r = bad.find((x) => x.port === c.port && x.protocol === c.protocol)!;
      const i = r.pods.indexOf(c.from);
      const j = r.pods.indexOf(c.to);
      return `  ${c.from} -> ${c.to} ${c.port}/${c.protocol}: kernel ${r.allowed[i][j] ? 'allowed' : 'denied'}, engine ${r.predicted[i][j] ? 'allowed' : 'denied'}\n    ${engineVerdict(cluster, c.from, c.to, c.port, c.protocol)}`;
    }),
    ...(cells.length > maxCells ? [`  ... and ${cells.length - maxCells} more`] : []),
    ...bad.map(renderReport),
    `nft list table inet ${table}:`,
    head(listTable(table), 250),
  ];
  return lines.join('\n');
}

/**
 * Probed cells between the given pods only: every lab also runs the cluster DNS
 * (kube-system/coredns) and probes from the host outside the cluster, which add rows of their own.
 */
export function probedAmong(r: Pick<ProbeReport, 'pods' | 'allowed'>, ids: readonly string[]): number {
  const keep = new Set(ids);
  let n = 0;
  r.pods.forEach((from, i) => r.pods.forEach((to, j) => (keep.has(from) && keep.has(to) && r.allowed[i][j] !== null ? n++ : undefined)));
  return n;
}

/** `namespace/name` of a policy manifest. */
export const policyKey = (m: Manifest): string => {
  const meta = m.metadata as { namespace?: string; name: string };
  return `${meta.namespace ?? 'default'}/${meta.name}`;
};

/** Cells the kernel answered that upstream's truth table contradicts (the diagonal is never asserted). */
export function upstreamMismatches(c: Case, stepIndex: number, reports: readonly ProbeReport[]): string[] {
  const out: string[] = [];
  for (const probe of c.steps[stepIndex].probes) {
    if (probe.protocol === 'SCTP') continue;
    const r = reports.find((x) => x.port === probe.port && x.protocol === probe.protocol);
    if (!r) throw new Error(`no probe report for ${probe.port}/${probe.protocol}`);
    const cells: string[] = [];
    r.pods.forEach((from, i) =>
      r.pods.forEach((to, j) => {
        const got = r.allowed[i][j];
        if (i === j || got === null || !PODS.includes(from as PodId) || !PODS.includes(to as PodId)) return;
        const want = expectedAllowed(probe, from as PodId, to as PodId);
        if (got !== want) cells.push(`  ${from} -> ${to}: upstream ${want ? 'allowed' : 'denied'}, kernel ${got ? 'allowed' : 'denied'}`);
      }),
    );
    if (cells.length > 0) out.push(`${probe.port}/${probe.protocol}${probe.by ? ` (${probe.by})` : ''} against upstream:\n${cells.join('\n')}\n${renderReport(r)}`);
  }
  return out;
}

/** Polls `check` every 10 ms for up to `ms`; whether it came true. */
export async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}
