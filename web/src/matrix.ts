// The matrix view: rows are sources, columns destinations, for one port; a cell says whether the
// connection is allowed (✓, solid) or denied (·). With a lab, the probed result stands beside the
// prediction and a difference is marked. Clicking a cell (or Enter on it) explains it. The grid is
// one tab stop (a roving tabindex): the arrow keys, Home/End and PageUp/PageDown move within it.
import type { MatrixView, PortView, ProbeView } from '../../src/web/types.js';
import { h } from './dom.js';

/** The port the matrix shows for the toolbar's choice: the chosen port, else the first of the protocol's. */
export function matrixPort(ports: readonly PortView[], filters: { readonly port: string; readonly protocol: string }): PortView | undefined {
  const shown = ports.filter((p) => filters.protocol === '' || p.protocol === filters.protocol);
  return shown.find((p) => `${p.port}/${p.protocol}` === filters.port) ?? shown[0];
}

/** Rows moved by PageUp/PageDown. */
const PAGE = 10;

/** Keyboard moves within the grid: one cell is tabbable, the arrows move it and focus follows. */
function roveWithKeys(table: HTMLTableElement, cells: readonly (readonly HTMLButtonElement[])[]): void {
  let current = cells[0]?.[0];
  const moveTo = (cell: HTMLButtonElement | undefined): void => {
    if (!cell || cell === current) return;
    if (current) current.tabIndex = -1;
    cell.tabIndex = 0;
    current = cell;
    cell.focus();
  };
  table.addEventListener('focusin', (e) => {
    const cell = (e.target as HTMLElement).closest<HTMLButtonElement>('button.cell');
    if (cell && cell !== current) {
      if (current) current.tabIndex = -1;
      cell.tabIndex = 0;
      current = cell;
    }
  });
  table.addEventListener('keydown', (e) => {
    const cell = (e.target as HTMLElement).closest<HTMLButtonElement>('button.cell');
    if (!cell) return;
    const r = Number(cell.dataset.row);
    const c = Number(cell.dataset.col);
    const last = cells.length - 1;
    const at = (row: number, col: number): HTMLButtonElement | undefined => cells[Math.max(0, Math.min(last, row))]?.[Math.max(0, Math.min(last, col))];
    const moves: Record<string, () => HTMLButtonElement | undefined> = {
      ArrowRight: () => at(r, c + 1),
      ArrowLeft: () => at(r, c - 1),
      ArrowDown: () => at(r + 1, c),
      ArrowUp: () => at(r - 1, c),
      Home: () => (e.ctrlKey ? at(0, 0) : at(r, 0)),
      End: () => (e.ctrlKey ? at(last, last) : at(r, last)),
      PageDown: () => at(r + PAGE, c),
      PageUp: () => at(r - PAGE, c),
    };
    const move = moves[e.key];
    if (!move) return;
    e.preventDefault();
    moveTo(move());
  });
}

export interface MatrixOptions {
  readonly namespace: string;
  readonly probe?: ProbeView;
  readonly onCell: (from: string, to: string) => void;
}

function short(id: string, namespace: string): string {
  return namespace !== '' && id.startsWith(`${namespace}/`) ? id.slice(namespace.length + 1) : id;
}

export function renderMatrix(m: MatrixView, ports: readonly PortView[], declaring: ReadonlySet<string>, options: MatrixOptions): HTMLElement {
  const keep = m.pods.map((id, i) => ({ id, i })).filter((p) => options.namespace === '' || p.id.startsWith(`${options.namespace}/`));
  const probeIndex = options.probe ? new Map(options.probe.pods.map((id, i) => [id, i])) : undefined;
  const unsure = new Map((options.probe?.inconclusive ?? []).map((c) => [`${c.from}|${c.to}`, c.reason]));
  // A difference is what the probe reports (the kernel against the engine, for the lab as probed), never this grid (which may hold an edit) against the kernel.
  const differences = new Set((options.probe?.differences ?? []).map((d) => `${d.from}|${d.to}`));
  const head = h('tr', {}, h('th', { class: 'corner', scope: 'col' }, 'from \\ to'), keep.map((p) => h('th', { scope: 'col', class: 'col' }, h('span', {}, short(p.id, options.namespace)))));
  const rows = keep.map((src, r) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, short(src.id, options.namespace)),
      keep.map((dst, c) => {
        const allowed = m.allowed[src.i][dst.i];
        const listens = declaring.has(dst.id);
        let probed: boolean | null | undefined;
        if (probeIndex && options.probe) {
          const pi = probeIndex.get(src.id);
          const pj = probeIndex.get(dst.id);
          probed = pi !== undefined && pj !== undefined ? options.probe.allowed[pi][pj] : null;
        }
        const why = unsure.get(`${src.id}|${dst.id}`);
        const differs = why === undefined && differences.has(`${src.id}|${dst.id}`);
        const glyph = allowed ? '✓' : '·';
        const probeGlyph = probed === undefined ? '' : why !== undefined ? ' ?' : probed === null ? ' –' : probed ? ' ✓' : ' ✗';
        const probedText = why !== undefined ? `, could not be probed (${why})` : probed === null ? ', not probed' : `, probed ${probed ? 'open' : 'blocked'}`;
        const label = `${src.id} to ${dst.id}: ${allowed ? 'allowed' : 'denied'}${probed === undefined ? '' : probedText}`;
        return h(
          'td',
          {},
          h(
            'button',
            {
              class: `cell ${allowed ? 'allowed' : 'denied'}${listens ? '' : ' silent'}${differs ? ' differs' : ''}${why !== undefined ? ' inconclusive' : ''}`,
              title: label,
              'aria-label': label,
              'data-from': src.id,
              'data-to': dst.id,
              'data-row': r,
              'data-col': c,
              tabindex: r === 0 && c === 0 ? 0 : -1,
              onclick: () => options.onCell(src.id, dst.id),
            },
            glyph + probeGlyph,
          ),
        );
      }),
    ),
  );
  const table = h('table', { class: 'grid', 'aria-label': `Who may connect to whom on ${m.port}/${m.protocol}: arrow keys move, Enter explains` }, h('thead', {}, head), h('tbody', {}, rows));
  roveWithKeys(table, [...table.tBodies[0].rows].map((tr) => [...tr.querySelectorAll<HTMLButtonElement>('button.cell')]));
  return h(
    'div',
    { class: 'matrix' },
    h('p', { class: 'muted' }, `${m.port}/${m.protocol}: rows are sources, columns destinations. ✓ allowed · denied; faint cells: the destination declares no such port${options.probe ? '; second mark: probed in the lab (✓ open, ✗ blocked, – not probed, ? could not be probed), a difference is outlined' : ''}.${ports.length > 1 ? ' Choose another port in the toolbar.' : ''}`),
    table,
  );
}
