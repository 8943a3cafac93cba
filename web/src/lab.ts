// The lab panel: probe the lab (real connections) and set the result beside the prediction;
// drops from the data plane's counters, per pod and direction.
import type { CountersView, ProbeView } from '../../src/web/types.js';
import { h } from './dom.js';
import { breakableId } from './text.js';

export interface LabPanel {
  readonly root: HTMLElement;
  showProbe(reports: readonly ProbeView[] | undefined, running: boolean): void;
  showCounters(counters: CountersView['counters'] | undefined): void;
  /** Why the last probe has no answer (the lab's pods cannot run, its daemon is down), or undefined. */
  showProbeError(message: string | undefined): void;
}

export function createLabPanel(onProbe: () => void): LabPanel {
  const probeButton = h('button', { id: 'l-probe', onclick: onProbe }, 'Probe now');
  const probeOut = h('div', { class: 'probe' }, h('p', { class: 'muted' }, 'Not probed yet.'));
  const probeError = h('p', { class: 'bad', id: 'l-error', role: 'alert', hidden: true });
  const countersOut = h('div', { class: 'counters' });
  const root = h(
    'div',
    { class: 'lab' },
    h('p', {}, 'The page follows the lab: pods and policies appear as they are applied. A probe opens real connections from every pod to every pod on every declared port and sets them beside the engine\'s prediction.'),
    probeButton,
    probeError,
    probeOut,
    h('h3', {}, 'Drops (denied packets)'),
    countersOut,
  );
  return {
    root,
    showProbe(reports, running) {
      probeButton.toggleAttribute('disabled', running);
      probeButton.textContent = running ? 'Probing…' : 'Probe now';
      if (!reports) return;
      const diffs = reports.flatMap((r) => r.differences.map((d) => `${d.from} → ${d.to} on ${r.port}/${r.protocol}`));
      const unsure = reports.flatMap((r) => (r.inconclusive ?? []).map((d) => `${d.from} → ${d.to} on ${r.port}/${r.protocol}: ${d.reason}`));
      probeOut.replaceChildren(
        h('p', { class: diffs.length ? 'bad' : 'ok' }, diffs.length ? `${diffs.length} difference${diffs.length === 1 ? '' : 's'} between the kernel and the engine:` : `The kernel did exactly what the engine predicts on every cell ${unsure.length ? 'a probe could decide' : 'probed'} (${reports.length} port${reports.length === 1 ? '' : 's'}).`),
        h('ul', {}, diffs.map((d) => h('li', {}, breakableId(d)))),
        ...(unsure.length > 0
          ? [h('p', { class: 'warn', id: 'l-unsure' }, `${unsure.length} cell${unsure.length === 1 ? '' : 's'} could not be probed (not a verdict either way):`), h('ul', {}, unsure.map((d) => h('li', {}, breakableId(d))))]
          : []),
      );
    },
    showProbeError(message) {
      probeError.hidden = message === undefined;
      probeError.textContent = message ?? '';
    },
    showCounters(counters) {
      const rows = Object.entries(counters ?? {}).filter(([, v]) => v.packets > 0);
      countersOut.replaceChildren(
        rows.length === 0
          ? h('p', { class: 'muted' }, 'No drops.')
          : h('ul', {}, rows.map(([k, v]) => h('li', {}, breakableId(`${k.startsWith('in/') ? 'into' : 'out of'} ${k.slice(3)}: ${v.packets} packet${v.packets === 1 ? '' : 's'}`)))),
      );
    },
  };
}
