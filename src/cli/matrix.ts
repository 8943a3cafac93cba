// `podwall matrix`: who can reach whom, per port, as a grid, JSON or Markdown. Rows are produced
// one at a time from the engine's class matrix and streamed, so memory stays linear in endpoints.
import { computeClasses, computeMatrix, declaredPorts, type Matrix, type PortProtocol } from '../engine/index.js';
import { loadInput, parseFormat, parsePort, parseProtocol, type InputOptions } from './input.js';
import { paint, UsageError, writeChunks, type Output } from './output.js';

export interface MatrixOptions extends InputOptions {
  readonly port?: string;
  readonly protocol?: string;
  readonly output?: string;
  readonly maxEndpoints?: string;
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
  const { cluster, compiled } = loadInput(options, io);

  const n = cluster.endpoints.length;
  if (n > maxEndpoints) {
    throw new UsageError(
      `matrix: ${n} endpoints make ${n * n} cells per grid, more than --max-endpoints ${maxEndpoints} allows: narrow the input, ask about one connection with check or one endpoint with explain, or raise --max-endpoints`,
    );
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
