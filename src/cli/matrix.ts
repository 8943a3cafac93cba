// `podwall matrix`: who can reach whom, per port, as a grid, JSON, Markdown or CSV. Rows are
// produced one at a time from the engine's class matrix and streamed, so memory stays linear in
// endpoints; counts for the summaries come from the classes, not the cells.
// With --services: rows are endpoints (and outside), columns are Service ports.
import {
  computeClasses,
  computeMatrix,
  computeServiceMatrix,
  declaredPorts,
  evaluateConnection,
  hasAdminPolicies,
  outsideAdmission,
  OUTSIDE_ROW,
  type CompiledCluster,
  type EndpointClasses,
  type PortProtocol,
  type ServiceMatrix,
  type Tier,
  type Verdict,
} from '../engine/index.js';
import type { Endpoint } from '../model/index.js';
import { loadAnalysisInput, parseFormat, parsePort, parseProtocol, type AnalysisInputOptions } from './input.js';
import { columnHeadings, csvRecord, headingLines, naturalCompare, naturalOrder } from './matrix-render.js';
import { paint, UsageError, writeChunks, type Output } from './output.js';

export interface MatrixOptions extends AnalysisInputOptions {
  readonly port?: string;
  readonly protocol?: string;
  readonly output?: string;
  readonly maxEndpoints?: string;
  readonly services?: boolean;
  readonly summary?: boolean;
}

/**
 * The most endpoints a matrix shows unless `--max-endpoints` says more: 100 million cells per
 * grid, about 600 MB of text. Past it a grid is no answer anyone reads; `check` and `explain` are.
 */
export const DEFAULT_MAX_ENDPOINTS = 10_000;

/** How many names `--summary` lists before saying how many more there are. */
const SUMMARY_NAMES = 10;

/** Whether outside addresses may connect to an endpoint: every one, some (ipBlock rules only), or none. */
export type OutsideAdmission = 'all' | 'some' | 'none';

export interface GridSummary {
  readonly endpoints: number;
  /** Endpoints some NetworkPolicy isolates, per direction (the same for every port). */
  readonly isolated: { readonly ingress: number; readonly egress: number };
  /** (from, to) pairs of endpoints, a pod with itself included: the cells of the grid. */
  readonly pairs: number;
  readonly allowed: number;
  /** Allowed pairs whose destination declares the port. */
  readonly allowedListening: number;
  /** Endpoints some outside address may connect to, and those of them that declare the port. */
  readonly outside: number;
  readonly outsideListening: number;
}

/** One grid as `matrix` shows it: endpoints in natural order, each cell with whether anything listens. */
export interface MatrixGrid extends PortProtocol {
  readonly endpoints: readonly Endpoint[];
  /** allowed(i, j): can endpoints[i] open a connection to endpoints[j] (the engine's verdict). */
  allowed(i: number, j: number): boolean;
  /** Whether endpoints[j] declares a container port of this number and protocol. */
  readonly listening: readonly boolean[];
  readonly outside: readonly OutsideAdmission[];
  /** How many endpoints may connect to endpoints[j]. */
  readonly sources: Int32Array;
  readonly summary: GridSummary;
  /** With admin or baseline policies only: the pairs per deciding tier, and which cells an Admin-tier rule denies. */
  readonly tiers?: GridTiers;
}

/** Pairs (a pod with itself included) per tier whose decision stands: that of the side that denied, else the ingress side's. */
export type TierCounts = Record<Tier, { allowed: number; denied: number }>;

export type GridTiers =
  | { readonly counted: true; readonly counts: TierCounts; adminDenied(i: number, j: number): boolean }
  | { readonly counted: false; readonly classes: number };

/**
 * Class pairs past which the deciding tier is not counted (each pair is one evaluation): well under
 * a second per grid; `--summary`, asked for the counts, allows ten times as many.
 */
const MAX_TIER_PAIRS = 10_000;
const MAX_TIER_PAIRS_SUMMARY = 100_000;

/**
 * The deciding tier of every cell, per pair of classes (one evaluation each; within one class, a
 * pod with itself is judged apart, as the hairpin rule exempts it from the admin tiers).
 */
function gridTiers(compiled: CompiledCluster, target: PortProtocol, classes: EndpointClasses, order: readonly number[], maxPairs: number): GridTiers | undefined {
  if (!hasAdminPolicies(compiled)) return undefined;
  const { classes: list, classOf } = classes;
  if (list.length * list.length > maxPairs) return { counted: false, classes: list.length };
  const all = compiled.cluster.endpoints;
  const counts: TierCounts = { Admin: { allowed: 0, denied: 0 }, NetworkPolicy: { allowed: 0, denied: 0 }, Baseline: { allowed: 0, denied: 0 }, Default: { allowed: 0, denied: 0 } };
  const n = list.length;
  const adminDenied = new Uint8Array(n * n);
  const selfAdminDenied = new Uint8Array(n);
  const judge = (a: number, b: number): Verdict =>
    evaluateConnection(compiled, { source: { kind: 'endpoint', endpoint: all[a] }, destination: { kind: 'endpoint', endpoint: all[b] }, ...target });
  const count = (v: Verdict, times: number): void => void (counts[v.tier][v.allowed ? 'allowed' : 'denied'] += times);
  for (const a of list) {
    for (const b of list) {
      const size = a.members.length * b.members.length;
      if (a === b) {
        // Each member with itself (hairpin), and with the others of its class.
        const self = judge(a.members[0], a.members[0]);
        count(self, a.members.length);
        if (!self.allowed && self.tier === 'Admin') selfAdminDenied[a.id] = 1;
        if (a.members.length > 1) {
          const other = judge(a.members[0], a.members[1]);
          count(other, size - a.members.length);
          if (!other.allowed && other.tier === 'Admin') adminDenied[a.id * n + a.id] = 1;
        }
        continue;
      }
      const v = judge(a.members[0], b.members[0]);
      count(v, size);
      if (!v.allowed && v.tier === 'Admin') adminDenied[a.id * n + b.id] = 1;
    }
  }
  return {
    counted: true,
    counts,
    adminDenied: (i, j) => {
      const a = classOf[order[i]];
      const b = classOf[order[j]];
      return order[i] === order[j] ? selfAdminDenied[a] === 1 : adminDenied[a * n + b] === 1;
    },
  };
}

function declares(e: Endpoint, target: PortProtocol): boolean {
  return e.ports.some((p) => p.containerPort === target.port && p.protocol === target.protocol);
}

/** The grid of one port: the engine's class matrix seen in natural order, counted per class. */
export function matrixGrid(compiled: CompiledCluster, target: PortProtocol, classes: EndpointClasses, order: readonly number[], summaryOnly = false): MatrixGrid {
  const m = computeMatrix(compiled, target, classes);
  const { classes: list, classOf } = classes;
  const all = compiled.cluster.endpoints;
  const endpoints = order.map((k) => all[k]);
  const n = endpoints.length;
  const representative = list.map((c) => c.members[0]);
  const classSources = new Int32Array(list.length);
  for (let b = 0; b < list.length; b++) {
    for (let a = 0; a < list.length; a++) if (m.allowedViaService(representative[a], representative[b])) classSources[b] += list[a].members.length;
  }
  const classOutside = list.map((c) => outsideAdmission(compiled, c.representative, target));
  const listening = endpoints.map((e) => declares(e, target));
  const outside = order.map((k) => classOutside[classOf[k]]);
  // The class cell counts each pod once as its own source; a pod reaching its own pod IP may be judged otherwise (the admin tiers' hairpin rule).
  const sources = Int32Array.from(order, (k) => classSources[classOf[k]] - (m.allowedViaService(k, k) ? 1 : 0) + (m.allowed(k, k) ? 1 : 0));
  let allowed = 0;
  let allowedListening = 0;
  let outsideCount = 0;
  let outsideListening = 0;
  for (let j = 0; j < n; j++) {
    allowed += sources[j];
    if (listening[j]) allowedListening += sources[j];
    if (outside[j] !== 'none') {
      outsideCount++;
      if (listening[j]) outsideListening++;
    }
  }
  const isolated = { ingress: 0, egress: 0 };
  for (const c of list) {
    if (c.ingressPolicies.length > 0) isolated.ingress += c.members.length;
    if (c.egressPolicies.length > 0) isolated.egress += c.members.length;
  }
  const tiers = gridTiers(compiled, target, classes, order, summaryOnly ? MAX_TIER_PAIRS_SUMMARY : MAX_TIER_PAIRS);
  return {
    port: target.port,
    protocol: target.protocol,
    endpoints,
    allowed: (i, j) => m.allowed(order[i], order[j]),
    listening,
    outside,
    sources,
    summary: { endpoints: n, isolated, pairs: n * n, allowed, allowedListening, outside: outsideCount, outsideListening },
    ...(tiers ? { tiers } : {}),
  };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** The grid's one-line summary: isolation, allowed pairs, and what outside addresses may reach. */
export function summaryLine(g: MatrixGrid): string {
  const s = g.summary;
  const count = (n: number): string => n.toLocaleString('en-US');
  const port = `${g.port}/${g.protocol}`;
  return (
    `${port}: ${plural(s.endpoints, 'endpoint')} (${count(s.isolated.ingress)} isolated for ingress, ${count(s.isolated.egress)} for egress); ` +
    `${count(s.allowed)} of ${plural(s.pairs, 'pair')} allowed, ${count(s.allowedListening)} to an endpoint declaring ${port}; ` +
    `outside may reach ${plural(s.outside, 'endpoint')}, ${count(s.outsideListening)} declaring it`
  );
}

const TIER_WORDS: Record<Tier, string> = { Admin: 'Admin tier', NetworkPolicy: 'NetworkPolicy', Baseline: 'Baseline tier', Default: 'no tier (default allow)' };

/** `decided by: Admin tier 2 (2 denied), NetworkPolicy 5 (1 allowed, 4 denied), ...`: the pairs per deciding tier. */
export function tierLine(g: MatrixGrid): string | undefined {
  const t = g.tiers;
  if (!t) return undefined;
  if (!t.counted) return `  decided by: not counted (${plural(t.classes, 'endpoint class', 'endpoint classes')}: one evaluation per pair of classes would be too slow; check names the deciding rule of a flow)`;
  const parts = (['Admin', 'NetworkPolicy', 'Baseline', 'Default'] as const).flatMap((tier) => {
    const c = t.counts[tier];
    if (c.allowed + c.denied === 0) return [];
    const how = [c.allowed > 0 ? `${c.allowed.toLocaleString('en-US')} allowed` : '', c.denied > 0 ? `${c.denied.toLocaleString('en-US')} denied` : ''].filter(Boolean).join(', ');
    return [`${TIER_WORDS[tier]} ${plural(c.allowed + c.denied, 'pair')} (${how})`];
  });
  return `  decided by: ${parts.join('; ')}`;
}

/** Endpoints that declare the port and that no endpoint nor outside address may reach: isolated on this port. */
function unreachable(g: MatrixGrid): number[] {
  return g.endpoints.flatMap((_, j) => (g.listening[j] && g.sources[j] === 0 && g.outside[j] === 'none' ? [j] : []));
}

/** The endpoints declaring the port that the most endpoints may reach (outside counting as one more), ties in natural order. */
function mostReachable(g: MatrixGrid, limit: number): number[] {
  const reach = (j: number): number => g.sources[j] + (g.outside[j] === 'none' ? 0 : 1);
  return g.endpoints
    .map((_, j) => j)
    .filter((j) => g.listening[j] && reach(j) > 0)
    .sort((a, b) => reach(b) - reach(a) || a - b)
    .slice(0, limit);
}

function someNames(g: MatrixGrid, indices: readonly number[], describe: (j: number) => string = (j) => g.endpoints[j].id): string {
  if (indices.length === 0) return 'none';
  const shown = indices.slice(0, SUMMARY_NAMES).map(describe).join(', ');
  return indices.length > SUMMARY_NAMES ? `${shown} and ${indices.length - SUMMARY_NAMES} more` : shown;
}

function reachText(g: MatrixGrid, j: number): string {
  const outside = g.outside[j] === 'all' ? ' and outside' : g.outside[j] === 'some' ? ' and some outside addresses' : '';
  return `${g.endpoints[j].id} (from ${plural(g.sources[j], 'endpoint')}${outside})`;
}

/** `--summary` text: the summary line, then who is unreachable on the port and who is reached the most. */
export function* summaryTextLines(g: MatrixGrid): Generator<string> {
  const none = unreachable(g);
  yield summaryLine(g);
  const tiers = tierLine(g);
  if (tiers) yield tiers;
  yield `  unreachable on ${g.port}/${g.protocol} (declared, but no endpoint nor outside may connect): ${none.length === 0 ? 'none' : `${none.length}: ${someNames(g, none)}`}`;
  yield `  most reachable: ${someNames(g, mostReachable(g, 5), (j) => reachText(g, j))}`;
}

export function* summaryMarkdownLines(g: MatrixGrid): Generator<string> {
  const none = unreachable(g);
  yield `- **${g.port}/${g.protocol}**: ${summaryLine(g).slice(`${g.port}/${g.protocol}: `.length)}`;
  const tiers = tierLine(g);
  if (tiers) yield `  - ${tiers.trim()}`;
  yield `  - unreachable (declared, but no endpoint nor outside may connect): ${none.length === 0 ? 'none' : someNames(g, none)}`;
  yield `  - most reachable: ${someNames(g, mostReachable(g, 5), (j) => reachText(g, j))}`;
}

function summaryJSON(g: MatrixGrid): object {
  return {
    port: g.port,
    protocol: g.protocol,
    summary: g.summary,
    ...(g.tiers ? { decidedBy: g.tiers.counted ? g.tiers.counts : null } : {}),
    unreachable: unreachable(g).map((j) => g.endpoints[j].id),
    mostReachable: mostReachable(g, 5).map((j) => ({ pod: g.endpoints[j].id, sources: g.sources[j], outside: g.outside[j] })),
  };
}

/**
 * The JSON shape is part of the CLI's contract: `allowed[i][j]` = can pods[i] connect to pods[j].
 * Added later, never renamed: `listening[j]` (pods[j] declares the port), `outside[j]` (`all`,
 * `some` or `none` of the outside addresses may connect to pods[j]) and `summary`; with admin or
 * baseline policies only, `decidedBy` (pairs per deciding tier, or null where not counted). Written row by
 * row; the text is exactly JSON.stringify of the object.
 */
export function* matrixJSONChunks(g: MatrixGrid): Generator<string> {
  const n = g.endpoints.length;
  yield `{"port":${g.port},"protocol":${JSON.stringify(g.protocol)},"pods":${JSON.stringify(g.endpoints.map((e) => e.id))},"allowed":[`;
  for (let i = 0; i < n; i++) {
    let row = i === 0 ? '[' : ',[';
    for (let j = 0; j < n; j++) row += (j === 0 ? '' : ',') + (g.allowed(i, j) ? 'true' : 'false');
    yield `${row}]`;
  }
  const tiers = g.tiers ? `,"decidedBy":${JSON.stringify(g.tiers.counted ? g.tiers.counts : null)}` : '';
  yield `],"listening":${JSON.stringify(g.listening)},"outside":${JSON.stringify(g.outside)},"summary":${JSON.stringify(g.summary)}${tiers}}`;
}

type Cell = 'allowed' | 'quiet' | 'some' | 'denied' | 'admin';

/** An endpoint's cell: allowed, allowed where nothing declares the port ("quiet"), denied, or denied by an Admin-tier rule. */
function cell(g: MatrixGrid, i: number, j: number): Cell {
  if (g.allowed(i, j)) return g.listening[j] ? 'allowed' : 'quiet';
  return g.tiers?.counted && g.tiers.adminDenied(i, j) ? 'admin' : 'denied';
}

function outsideCell(g: MatrixGrid, j: number): Cell {
  if (g.outside[j] === 'none') return 'denied';
  if (!g.listening[j]) return 'quiet';
  return g.outside[j] === 'all' ? 'allowed' : 'some';
}

function legend(g: MatrixGrid, marks: Record<Cell, string>): string {
  const partly = g.outside.some((o, j) => o === 'some' && g.listening[j]);
  const admin = g.tiers?.counted ? `, ${marks.admin} denied by an Admin-tier rule (before NetworkPolicy)` : '';
  return `${marks.allowed} allowed, ${marks.quiet} allowed but the destination declares no ${g.port}/${g.protocol}, ${marks.denied} denied${admin}${partly ? `, ${marks.some} only some outside addresses` : ''}`;
}

const PLAIN_MARKS: Record<Cell, string> = { allowed: '✓', quiet: '○', some: '~', denied: '·', admin: '⊘' };

/**
 * The grid, one line at a time (no trailing newlines): the names head the columns written
 * downwards (cut, with a legend, past `maxHeight` lines), rows are the endpoints then `outside`,
 * and the summary line closes it.
 */
export function* matrixTextLines(g: MatrixGrid, color: boolean, maxHeight?: number): Generator<string> {
  const p = paint(color);
  const marks: Record<Cell, string> = { allowed: p.ok('✓'), quiet: '○', some: '~', denied: p.dim('·'), admin: p.bad('⊘') };
  const n = g.endpoints.length;
  const headings = columnHeadings(g.endpoints, maxHeight);
  const corner = 'from \\ to';
  const width = g.endpoints.reduce((w, e) => Math.max(w, e.id.length), Math.max(corner.length, OUTSIDE_ROW.length));
  yield `${p.bold(`${g.port}/${g.protocol}`)}  rows: from, columns: to; ${legend(g, PLAIN_MARKS)}`;
  if (headings.droppedPrefix) yield `columns leave out "${headings.droppedPrefix}", which every name begins with`;
  if (headings.legend.length > 0) {
    yield `columns cut to ${headings.height} characters:`;
    for (const { label, id } of headings.legend) yield `  ${label} = ${id}`;
  }
  const lines = headingLines(headings.labels, headings.height);
  for (const [k, line] of lines.entries()) yield `${(k === 0 ? corner : '').padEnd(width)}  ${line}`.trimEnd();
  for (let i = 0; i < n; i++) {
    let cells = '';
    for (let j = 0; j < n; j++) cells += (j === 0 ? '' : ' ') + marks[cell(g, i, j)];
    yield `${g.endpoints[i].id.padEnd(width)}  ${cells}`;
  }
  let outside = '';
  for (let j = 0; j < n; j++) outside += (j === 0 ? '' : ' ') + marks[outsideCell(g, j)];
  yield `${OUTSIDE_ROW.padEnd(width)}  ${outside}`.trimEnd();
  yield summaryLine(g);
  const tiers = tierLine(g);
  if (tiers) yield tiers;
}

export function* matrixMarkdownLines(g: MatrixGrid): Generator<string> {
  const marks: Record<Cell, string> = { allowed: '✓', quiet: '○', some: '~', denied: '✗', admin: '⊘' };
  const ids = g.endpoints.map((e) => e.id);
  yield `**${g.port}/${g.protocol}** (rows: from, columns: to; ${legend(g, marks)})`;
  yield '';
  yield `| from \\ to | ${ids.join(' | ')} |`;
  yield `|---|${ids.map(() => ':-:').join('|')}|`;
  for (let i = 0; i < ids.length; i++) {
    let row = `| ${ids[i]} |`;
    for (let j = 0; j < ids.length; j++) row += ` ${marks[cell(g, i, j)]} |`;
    yield row;
  }
  yield `| ${OUTSIDE_ROW} |${ids.map((_, j) => ` ${marks[outsideCell(g, j)]} |`).join('')}`;
  yield '';
  yield summaryLine(g);
  const tiers = tierLine(g);
  if (tiers) yield tiers.trim();
}

export const CSV_HEADER = ['port', 'protocol', 'from', 'to', 'allowed', 'listening'] as const;

/**
 * One record per (from, to) pair and per destination from `outside`: `allowed` is true or false,
 * and for `outside` also `some` (only some outside addresses, by ipBlock rules).
 */
export function* matrixCSVRecords(g: MatrixGrid): Generator<string> {
  const n = g.endpoints.length;
  for (let i = 0; i < n; i++) {
    let rows = '';
    for (let j = 0; j < n; j++) rows += csvRecord([g.port, g.protocol, g.endpoints[i].id, g.endpoints[j].id, g.allowed(i, j), g.listening[j]]);
    yield rows;
  }
  for (let j = 0; j < n; j++) {
    const o = g.outside[j];
    yield csvRecord([g.port, g.protocol, OUTSIDE_ROW, g.endpoints[j].id, o === 'all' ? true : o === 'none' ? false : 'some', g.listening[j]]);
  }
}

/** A Service column in words: `ns/service/name 80/TCP (http) -> 8080 [node port 30080]`. */
function columnTitle(m: ServiceMatrix, j: number): string {
  const c = m.columns[j];
  const p = c.port;
  const node = p.nodePort ? ` [node port ${p.nodePort}]` : c.exposed ? ' [exposed outside]' : '';
  const none = c.routed === 0 ? ' (no backends)' : '';
  return `${c.service.id} ${p.port}/${p.protocol}${p.name ? ` (${p.name})` : ''} -> ${String(p.targetPort)}${node}${none}`;
}

/** The JSON of the Service view: `allowed[i][j]` = every backend of column j admits sources[i]; `admitted[i][j]` counts those that do. */
export function* serviceMatrixJSONChunks(m: ServiceMatrix): Generator<string> {
  const services = m.columns.map((c) => ({
    service: c.service.id,
    name: c.port.name ?? null,
    port: c.port.port,
    protocol: c.port.protocol,
    targetPort: c.port.targetPort,
    nodePort: c.port.nodePort ?? null,
    backends: c.routed,
    exposed: c.exposed,
  }));
  yield `{"services":${JSON.stringify(services)},"sources":${JSON.stringify(m.sources)},"allowed":[`;
  for (let i = 0; i < m.sources.length; i++) yield `${i === 0 ? '' : ','}${JSON.stringify(m.columns.map((_, j) => m.allowed(i, j)))}`;
  yield '],"admitted":[';
  for (let i = 0; i < m.sources.length; i++) yield `${i === 0 ? '' : ','}${JSON.stringify(m.columns.map((_, j) => m.admitted(i, j)))}`;
  yield ']}\n';
}

function serviceCell(m: ServiceMatrix, i: number, j: number): 'all' | 'some' | 'none' | 'n/a' {
  if (m.sources[i] === OUTSIDE_ROW && i === m.sources.length - 1 && !m.columns[j].exposed) return 'n/a';
  if (m.allowed(i, j)) return 'all';
  const outsidePartly = m.sources[i] === OUTSIDE_ROW && i === m.sources.length - 1 && m.partlyOutside(j);
  return m.admitted(i, j) > 0 || outsidePartly ? 'some' : 'none';
}

export function* serviceMatrixTextLines(m: ServiceMatrix, color: boolean): Generator<string> {
  const p = paint(color);
  const n = m.columns.length;
  const width = String(n).length;
  yield `${p.bold('Services')}  rows: from, columns: Service ports; ✓ every backend admits it, ~ only some backends (or some outside addresses), · none, - not exposed outside`;
  for (let j = 0; j < n; j++) yield `${String(j + 1).padStart(width)} ${columnTitle(m, j)}`;
  const nameWidth = m.sources.reduce((w, s) => Math.max(w, s.length), 9);
  const pad = ' '.repeat(width - 1);
  const marks = { all: pad + p.ok('✓'), some: pad + '~', none: pad + p.dim('·'), 'n/a': pad + p.dim('-') };
  let columns = '';
  for (let j = 0; j < n; j++) columns += (j === 0 ? '' : ' ') + String(j + 1).padStart(width);
  yield `${'from \\ to'.padEnd(nameWidth)}  ${columns}`;
  for (let i = 0; i < m.sources.length; i++) {
    let cells = '';
    for (let j = 0; j < n; j++) cells += (j === 0 ? '' : ' ') + marks[serviceCell(m, i, j)];
    yield `${m.sources[i].padEnd(nameWidth)}  ${cells}`;
  }
}

export function* serviceMatrixMarkdownLines(m: ServiceMatrix): Generator<string> {
  yield '**Services** (rows: from, columns: Service ports; ✓ every backend, ~ some, ✗ none, - not exposed)';
  yield '';
  yield `| from \\ to | ${m.columns.map((_, j) => columnTitle(m, j)).join(' | ')} |`;
  yield `|---|${m.columns.map(() => ':-:').join('|')}|`;
  const marks = { all: '✓', some: '~', none: '✗', 'n/a': '-' };
  for (let i = 0; i < m.sources.length; i++) yield `| ${m.sources[i]} |${m.columns.map((_, j) => ` ${marks[serviceCell(m, i, j)]} |`).join('')}`;
}

function parseMaxEndpoints(text: string | undefined): number {
  if (text === undefined) return DEFAULT_MAX_ENDPOINTS;
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) throw new UsageError(`--max-endpoints: "${text}" is not a positive whole number`);
  return Number(text);
}

export async function runMatrix(options: MatrixOptions, io: Output): Promise<number> {
  const format = parseFormat(options.output, ['text', 'json', 'md', 'csv'] as const);
  const port = parsePort(options.port);
  const protocol = parseProtocol(options.protocol);
  const maxEndpoints = parseMaxEndpoints(options.maxEndpoints);
  if (options.services && (format === 'csv' || options.summary)) throw new UsageError(`matrix --services has no ${format === 'csv' ? '-o csv' : '--summary'} form: drop --services, or use -o text, json or md`);
  if (options.summary && format === 'csv') throw new UsageError('matrix --summary has no -o csv form: -o csv lists every cell; use --summary with -o text, json or md');
  const { cluster, compiled } = await loadAnalysisInput(options, io);

  const n = cluster.endpoints.length;
  if (n > maxEndpoints) {
    throw new UsageError(
      `matrix: ${n} endpoints make ${n * n} cells per grid, more than --max-endpoints ${maxEndpoints} allows: narrow the input, ask about one connection with check or one endpoint with explain, or raise --max-endpoints`,
    );
  }

  if (options.services) {
    const services = (cluster.services ?? [])
      .filter((s) => s.type !== 'ExternalName' && s.ports.some((p) => (port === undefined || p.port === port) && (protocol === undefined || p.protocol === protocol)))
      .sort((a, b) => naturalCompare(a.namespace, b.namespace) || naturalCompare(a.name, b.name));
    if (services.length === 0 && format !== 'json') {
      io.err(port === undefined ? 'no Service with ports in the input' : `no Service has port ${port}/${protocol ?? 'TCP'}`);
      return 0;
    }
    const full = computeServiceMatrix(compiled, services);
    const keep = full.columns.flatMap((c, j) => ((port === undefined || c.port.port === port) && (protocol === undefined || c.port.protocol === protocol) ? [j] : []));
    // Rows in natural order, `outside` (after the endpoints) staying last.
    const rows = [...naturalOrder(cluster.endpoints), ...(full.sources.length > n ? [n] : [])];
    const m: ServiceMatrix = {
      sources: rows.map((i) => full.sources[i]),
      columns: keep.map((j) => full.columns[j]),
      admitted: (i, j) => full.admitted(rows[i], keep[j]),
      allowed: (i, j) => full.allowed(rows[i], keep[j]),
      partlyOutside: (j) => full.partlyOutside(keep[j]),
    };
    const lines = format === 'json' ? serviceMatrixJSONChunks(m) : format === 'md' ? serviceMatrixMarkdownLines(m) : serviceMatrixTextLines(m, io.color);
    await writeChunks(io, format === 'json' ? lines : (function* () {
      for (const line of lines) yield `${line}\n`;
    })());
    return 0;
  }

  let targets: PortProtocol[];
  if (port !== undefined) targets = [{ port, protocol: protocol ?? 'TCP' }];
  else targets = declaredPorts(cluster.endpoints).filter((t) => protocol === undefined || t.protocol === protocol);
  if (targets.length === 0 && format !== 'json') {
    io.err('no endpoint declares a container port; choose one with --port');
    return 0;
  }

  // One grid at a time: each is computed, written and dropped before the next.
  const classes = computeClasses(compiled);
  const order = naturalOrder(cluster.endpoints);
  const summary = options.summary === true;
  const grids = targets.map((t) => () => matrixGrid(compiled, t, classes, order, summary));
  function* chunks(): Generator<string> {
    if (format === 'json') {
      const single = port !== undefined;
      if (!single) yield '[';
      for (const [k, grid] of grids.entries()) {
        if (k > 0) yield ',';
        if (summary) yield JSON.stringify(summaryJSON(grid()));
        else yield* matrixJSONChunks(grid());
      }
      if (!single) yield ']';
      yield '\n';
      return;
    }
    if (format === 'csv') {
      yield csvRecord(CSV_HEADER);
      for (const grid of grids) yield* matrixCSVRecords(grid());
      return;
    }
    for (const [k, grid] of grids.entries()) {
      if (k > 0 && (!summary || format === 'md')) yield '\n';
      const g = grid();
      const lines = summary ? (format === 'md' ? summaryMarkdownLines(g) : summaryTextLines(g)) : format === 'md' ? matrixMarkdownLines(g) : matrixTextLines(g, io.color);
      for (const line of lines) yield `${line}\n`;
    }
  }
  await writeChunks(io, chunks());
  return 0;
}
