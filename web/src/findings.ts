// The findings panel: `podwall lint` over what the page shows (the editor's policies laid over),
// grouped by severity, most severe first. Clicking a finding focuses the pods and policies it
// involves through the page's callback.
import type { FindingView, LintView } from '../../src/web/types.js';
import { api } from './api.js';
import { h } from './dom.js';
import { breakableId } from './text.js';

export interface FindingsCallbacks {
  /** Focus these endpoints (and the pods the policies select) in the picture. */
  onFocus(endpoints: readonly string[], policies: readonly string[]): void;
  /** The panel's tab: its label gets the count (`Findings 5`). */
  readonly tab?: HTMLElement;
}

export interface FindingsPanel {
  readonly root: HTMLElement;
  /** Lints again, with the editor's text laid over (an empty text: the policies as loaded). */
  refresh(edit: string): Promise<void>;
  /** Shows a lint answer (refresh calls it; tests may too). */
  show(view: LintView, note?: string): void;
}

const SEVERITIES = [
  { severity: 'error', title: 'Errors' },
  { severity: 'warning', title: 'Warnings' },
  { severity: 'info', title: 'Notes' },
] as const;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function findingItem(f: FindingView, index: number, select: (el: HTMLElement, f: FindingView) => void): HTMLElement {
  const involved = [f.endpoints.length ? plural(f.endpoints.length, 'pod') : '', f.policies.length ? plural(f.policies.length, 'policy').replace('policys', 'policies') : ''].filter(Boolean).join(', ');
  const button = h(
    'button',
    { class: 'finding-focus', 'data-finding': String(index), title: involved ? `Focus ${involved} in the picture` : 'Nothing in the picture to focus', 'aria-pressed': 'false' },
    h('span', { class: `sev sev-${f.severity}` }, f.severity),
    ' ',
    h('strong', {}, f.summary),
    f.object ? h('span', { class: 'finding-object' }, ' · ', breakableId(f.object)) : null,
  );
  button.addEventListener('click', () => select(button, f));
  return h(
    'li',
    { class: `finding ${f.severity}`, 'data-rule': f.id },
    button,
    f.path ? h('p', { class: 'finding-path' }, h('code', { class: 'field' }, breakableId(f.path))) : null,
    h('p', { class: 'finding-message' }, breakableId(f.message)),
    h('p', { class: 'muted finding-rule' }, f.id, involved ? ` · ${involved}` : '', f.file && f.line !== undefined ? h('span', { title: f.file }, ' · ', breakableId(`${f.file.split('/').pop() ?? f.file}:${f.line}`)) : null),
  );
}

export function createFindingsPanel(callbacks: FindingsCallbacks): FindingsPanel {
  const status = h('p', { id: 'f-status', class: 'muted', 'aria-live': 'polite' }, 'Linting…');
  const list = h('div', { id: 'f-list', class: 'findings' });
  const root = h('div', { class: 'findings-panel' }, status, list);
  let token = 0;
  let selected: HTMLElement | undefined;

  const select = (el: HTMLElement, f: FindingView): void => {
    selected?.setAttribute('aria-pressed', 'false');
    selected = el;
    el.setAttribute('aria-pressed', 'true');
    callbacks.onFocus(f.endpoints, f.policies);
  };

  const panel: FindingsPanel = {
    root,
    show(view, note) {
      selected = undefined;
      const counts = SEVERITIES.map((s) => ({ ...s, findings: view.findings.filter((f) => f.severity === s.severity) })).filter((s) => s.findings.length > 0);
      status.textContent =
        (view.findings.length === 0 ? 'No findings: lint has nothing to say about these policies.' : `${plural(view.findings.length, 'finding')}: click one to focus the pods and policies it is about.`) +
        (note ? ` ${note}` : '');
      let index = 0;
      list.replaceChildren(
        ...counts.map((s) =>
          h(
            'section',
            { class: `severity ${s.severity}`, 'aria-label': s.title },
            h('h3', {}, `${s.title} (${s.findings.length})`),
            h('ul', { class: 'finding-list' }, s.findings.map((f) => findingItem(f, index++, select))),
          ),
        ),
      );
      root.dataset.count = String(view.findings.length);
      if (callbacks.tab) {
        const worst = counts[0]?.severity;
        callbacks.tab.replaceChildren('Findings', view.findings.length > 0 ? h('span', { class: `count sev-${worst ?? 'info'}` }, String(view.findings.length)) : '');
        callbacks.tab.setAttribute('aria-label', `Findings: ${view.findings.length}`);
      }
    },
    async refresh(edit) {
      const mine = ++token;
      try {
        let view = await api.lint(edit);
        let note: string | undefined;
        if (!Array.isArray((view as Partial<LintView>).findings)) {
          // The edit has errors (422): lint the policies as loaded and say so.
          view = await api.lint('');
          note = 'Your edit has errors: these are the findings of the policies as loaded.';
        }
        if (mine === token) panel.show(view, note);
      } catch (err) {
        if (mine === token) {
          status.textContent = `cannot lint: ${(err as Error).message}`;
          list.replaceChildren();
        }
      }
    },
  };
  return panel;
}
