// The matrix view: rows are sources, columns destinations, for one port; a cell says whether the
// connection is allowed (✓, solid) or denied (·). With a lab, the probed result stands beside the
// prediction and a difference is marked. Clicking a cell explains it.
import type { MatrixView, PortView, ProbeView } from '../../src/web/types.js';
import { h } from './dom.js';

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
  const rows = keep.map((src) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, short(src.id, options.namespace)),
      keep.map((dst) => {
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
              onclick: () => options.onCell(src.id, dst.id),
            },
            glyph + probeGlyph,
          ),
        );
      }),
    ),
  );
  return h(
    'div',
    { class: 'matrix' },
    h('p', { class: 'muted' }, `${m.port}/${m.protocol}: rows are sources, columns destinations. ✓ allowed · denied; faint cells: the destination declares no such port${options.probe ? '; second mark: probed in the lab (✓ open, ✗ blocked, – not probed, ? could not be probed), a difference is outlined' : ''}.${ports.length > 1 ? ' Choose another port in the toolbar.' : ''}`),
    h('table', { class: 'grid' }, h('thead', {}, head), h('tbody', {}, rows)),
  );
}
