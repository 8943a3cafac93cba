// `podwall matrix`: who can reach whom, per port, as a grid, JSON or Markdown.
import { computeClasses, computeMatrix, declaredPorts, type Matrix, type PortProtocol } from '../engine/index.js';
import { loadInput, parseFormat, parsePort, parseProtocol, type InputOptions } from './input.js';
import { paint, type Output } from './output.js';

export interface MatrixOptions extends InputOptions {
  readonly port?: string;
  readonly protocol?: string;
  readonly output?: string;
}

/** The JSON shape is part of the CLI's contract: `allowed[i][j]` = can pods[i] connect to pods[j]. */
export function matrixToJSON(m: Matrix): { port: number; protocol: string; pods: string[]; allowed: boolean[][] } {
  const n = m.endpoints.length;
  const allowed: boolean[][] = [];
  for (let i = 0; i < n; i++) {
    const row: boolean[] = new Array(n);
    for (let j = 0; j < n; j++) row[j] = m.allowed(i, j);
    allowed.push(row);
  }
  return { port: m.port, protocol: m.protocol, pods: m.endpoints.map((e) => e.id), allowed };
}

export function renderMatrixText(m: Matrix, color: boolean): string {
  const p = paint(color);
  const n = m.endpoints.length;
  const width = String(n).length;
  const names = m.endpoints.map((e, i) => `${String(i + 1).padStart(width)} ${e.id}`);
  const nameWidth = Math.max(...names.map((s) => s.length), 4);
  const cell = (i: number, j: number): string => (m.allowed(i, j) ? p.ok('✓') : p.dim('·'));
  const lines = [p.bold(`${m.port}/${m.protocol}`) + '  rows: from, columns: to; ✓ allowed, · denied'];
  lines.push(`${'from \\ to'.padEnd(nameWidth)}  ${m.endpoints.map((_, j) => String(j + 1).padStart(width)).join(' ')}`);
  for (let i = 0; i < n; i++) {
    const cells = m.endpoints.map((_, j) => ' '.repeat(width - 1) + cell(i, j)).join(' ');
    lines.push(`${names[i].padEnd(nameWidth)}  ${cells}`);
  }
  return lines.join('\n');
}

export function renderMatrixMarkdown(m: Matrix): string {
  const ids = m.endpoints.map((e) => e.id);
  const lines = [
    `**${m.port}/${m.protocol}** (rows: from, columns: to)`,
    '',
    `| from \\ to | ${ids.join(' | ')} |`,
    `|---|${ids.map(() => ':-:').join('|')}|`,
  ];
  ids.forEach((id, i) => lines.push(`| ${id} | ${ids.map((_, j) => (m.allowed(i, j) ? '✓' : '✗')).join(' | ')} |`));
  return lines.join('\n');
}

export function runMatrix(options: MatrixOptions, io: Output): number {
  const format = parseFormat(options.output, ['text', 'json', 'md'] as const);
  const port = parsePort(options.port);
  const protocol = parseProtocol(options.protocol);
  const { cluster, compiled } = loadInput(options, io);

  let targets: PortProtocol[];
  if (port !== undefined) targets = [{ port, protocol: protocol ?? 'TCP' }];
  else targets = declaredPorts(cluster.endpoints).filter((t) => protocol === undefined || t.protocol === protocol);

  const classes = computeClasses(compiled);
  const matrices = targets.map((t) => computeMatrix(compiled, t, classes));
  if (format === 'json') {
    const json = port !== undefined ? matrixToJSON(matrices[0]) : matrices.map(matrixToJSON);
    io.out(JSON.stringify(json));
    return 0;
  }
  if (matrices.length === 0) {
    io.err('no endpoint declares a container port; choose one with --port');
    return 0;
  }
  const render = format === 'md' ? renderMatrixMarkdown : (m: Matrix) => renderMatrixText(m, io.color);
  io.out(matrices.map(render).join('\n\n'));
  return 0;
}
