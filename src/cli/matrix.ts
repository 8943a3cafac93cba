// `podwall matrix`: who can reach whom, per port, as a grid, JSON or Markdown. Rows are produced
// one at a time from the engine's class matrix and streamed, so memory stays linear in endpoints.
// With --services: rows are endpoints (and outside), columns are Service ports.
import { computeClasses, computeMatrix, computeServiceMatrix, declaredPorts, OUTSIDE_ROW, type Matrix, type PortProtocol, type ServiceMatrix } from '../engine/index.js';
import { loadAnalysisInput, parseFormat, parsePort, parseProtocol, type AnalysisInputOptions } from './input.js';
import { paint, UsageError, writeChunks, type Output } from './output.js';

export interface MatrixOptions extends AnalysisInputOptions {
  readonly port?: string;
  readonly protocol?: string;
  readonly output?: string;
  readonly maxEndpoints?: string;
  readonly services?: boolean;
}

/**
 * The most endpoints a matrix shows unless `--max-endpoints` says more: 100 million cells per
 * grid, about 600 MB of text. Past it a grid is no answer anyone reads; `check` and `explain` are.
 */
export const DEFAULT_MAX_ENDPOINTS = 10_000;

/**
 * The JSON shape is part of the CLI's contract: `allowed[i][j]` = can pods[i] connect to pods[j].
 * Written row by row; the text is exactly JSON.stringify of the object.
 */
export function* matrixJSONChunks(m: Matrix): Generator<string> {
  const n = m.endpoints.length;
  yield `{"port":${m.port},"protocol":${JSON.stringify(m.protocol)},"pods":${JSON.stringify(m.endpoints.map((e) => e.id))},"allowed":[`;
  for (let i = 0; i < n; i++) {
    let row = i === 0 ? '[' : ',[';
    for (let j = 0; j < n; j++) row += (j === 0 ? '' : ',') + (m.allowed(i, j) ? 'true' : 'false');
    yield `${row}]`;
  }
  yield ']}';
}

/** The grid, one line at a time (no trailing newlines). */
export function* matrixTextLines(m: Matrix, color: boolean): Generator<string> {
  const p = paint(color);
  const n = m.endpoints.length;
  const width = String(n).length;
  const names = m.endpoints.map((e, i) => `${String(i + 1).padStart(width)} ${e.id}`);
  const nameWidth = names.reduce((w, s) => Math.max(w, s.length), 4);
  const pad = ' '.repeat(width - 1);
  const yes = pad + p.ok('✓');
  const no = pad + p.dim('·');
  yield p.bold(`${m.port}/${m.protocol}`) + '  rows: from, columns: to; ✓ allowed, · denied';
  let columns = '';
  for (let j = 0; j < n; j++) columns += (j === 0 ? '' : ' ') + String(j + 1).padStart(width);
  yield `${'from \\ to'.padEnd(nameWidth)}  ${columns}`;
  for (let i = 0; i < n; i++) {
    let cells = '';
    for (let j = 0; j < n; j++) cells += (j === 0 ? '' : ' ') + (m.allowed(i, j) ? yes : no);
    yield `${names[i].padEnd(nameWidth)}  ${cells}`;
  }
}

export function* matrixMarkdownLines(m: Matrix): Generator<string> {
  const ids = m.endpoints.map((e) => e.id);
  yield `**${m.port}/${m.protocol}** (rows: from, columns: to)`;
  yield '';
  yield `| from \\ to | ${ids.join(' | ')} |`;
  yield `|---|${ids.map(() => ':-:').join('|')}|`;
  for (let i = 0; i < ids.length; i++) {
    let row = `| ${ids[i]} |`;
    for (let j = 0; j < ids.length; j++) row += m.allowed(i, j) ? ' ✓ |' : ' ✗ |';
    yield row;
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
  const format = parseFormat(options.output, ['text', 'json', 'md'] as const);
  const port = parsePort(options.port);
  const protocol = parseProtocol(options.protocol);
  const maxEndpoints = parseMaxEndpoints(options.maxEndpoints);
  const { cluster, compiled } = await loadAnalysisInput(options, io);

  const n = cluster.endpoints.length;
  if (n > maxEndpoints) {
    throw new UsageError(
      `matrix: ${n} endpoints make ${n * n} cells per grid, more than --max-endpoints ${maxEndpoints} allows: narrow the input, ask about one connection with check or one endpoint with explain, or raise --max-endpoints`,
    );
  }

  if (options.services) {
    const services = (cluster.services ?? []).filter((s) => s.type !== 'ExternalName' && s.ports.some((p) => (port === undefined || p.port === port) && (protocol === undefined || p.protocol === protocol)));
    if (services.length === 0 && format !== 'json') {
      io.err(port === undefined ? 'no Service with ports in the input' : `no Service has port ${port}/${protocol ?? 'TCP'}`);
      return 0;
    }
    const full = computeServiceMatrix(compiled, services);
    const keep = full.columns.flatMap((c, j) => ((port === undefined || c.port.port === port) && (protocol === undefined || c.port.protocol === protocol) ? [j] : []));
    const m: ServiceMatrix = {
      sources: full.sources,
      columns: keep.map((j) => full.columns[j]),
      admitted: (i, j) => full.admitted(i, keep[j]),
      allowed: (i, j) => full.allowed(i, keep[j]),
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
  const grids = targets.map((t) => () => computeMatrix(compiled, t, classes));
  function* chunks(): Generator<string> {
    if (format === 'json') {
      const single = port !== undefined;
      if (!single) yield '[';
      for (const [k, grid] of grids.entries()) {
        if (k > 0) yield ',';
        yield* matrixJSONChunks(grid());
      }
      if (!single) yield ']';
      yield '\n';
      return;
    }
    for (const [k, grid] of grids.entries()) {
      if (k > 0) yield '\n';
      const lines = format === 'md' ? matrixMarkdownLines(grid()) : matrixTextLines(grid(), io.color);
      for (const line of lines) yield `${line}\n`;
    }
  }
  await writeChunks(io, chunks());
  return 0;
}
