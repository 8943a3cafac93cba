// The editor: NetworkPolicies (and AdminNetworkPolicy, BaselineAdminNetworkPolicy,
// ClusterNetworkPolicy) in YAML, previewed by the server as you type (debounced). Errors
// are shown inline, beside the line they point at, with their field path; the flows the edit
// opens and closes are listed.
import type { DiagnosticView, FlowKey, ModelView } from '../../src/web/types.js';
import { h, portText } from './dom.js';
import { breakableId } from './text.js';

export interface EditorCallbacks {
  /** Called with the text after the user stops typing. */
  onChange(text: string): void;
}

export interface Editor {
  readonly root: HTMLElement;
  setText(text: string): void;
  text(): string;
  showDiagnostics(diagnostics: readonly DiagnosticView[]): void;
  showDiff(result: { opened: readonly FlowKey[]; closed: readonly FlowKey[]; replaced: readonly string[]; added: readonly string[] } | undefined): void;
  setPolicies(model: ModelView): void;
}

const PLACEHOLDER = `# Paste or edit NetworkPolicies here (YAML, several separated by ---), or the
# cluster-scoped AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy.
# A policy with the name (and kind) of an existing one replaces it; others are added.`;

export function createEditor(callbacks: EditorCallbacks, delayMs = 300): Editor {
  const picker = h('select', { id: 'e-policy', 'aria-label': 'Load a policy into the editor' });
  const area = h('textarea', { id: 'e-text', spellcheck: 'false', 'aria-label': 'Policy YAML', 'aria-describedby': 'e-errors', placeholder: PLACEHOLDER, rows: 18 });
  const gutter = h('pre', { class: 'gutter', 'aria-hidden': 'true' });
  const errors = h('ul', { id: 'e-errors', class: 'errors', 'aria-live': 'polite' });
  const diff = h('div', { id: 'e-diff', class: 'diff', 'aria-live': 'polite' });
  const status = h('p', { id: 'e-status', class: 'muted' }, 'No edit: the picture shows the policies as loaded.');
  let yamlById = new Map<string, string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let errorLines = new Map<number, string>();

  const renderGutter = (): void => {
    const n = area.value.split('\n').length;
    gutter.textContent = Array.from({ length: n }, (_, i) => (errorLines.has(i + 1) ? `▶${i + 1}` : String(i + 1))).join('\n');
    gutter.scrollTop = area.scrollTop;
  };
  const changed = (): void => {
    renderGutter();
    clearTimeout(timer);
    timer = setTimeout(() => callbacks.onChange(area.value), delayMs);
  };
  area.addEventListener('input', changed);
  area.addEventListener('scroll', () => (gutter.scrollTop = area.scrollTop));
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey) {
      // Two spaces, as YAML wants; Escape then Tab leaves the editor.
      if ((area as HTMLTextAreaElement & { escaped?: boolean }).escaped) return;
      e.preventDefault();
      area.setRangeText('  ', area.selectionStart, area.selectionEnd, 'end');
      changed();
    }
  });
  area.addEventListener('keydown', (e) => {
    (area as HTMLTextAreaElement & { escaped?: boolean }).escaped = e.key === 'Escape';
  });

  const goToLine = (line: number): void => {
    const lines = area.value.split('\n');
    const offset = lines.slice(0, line - 1).reduce((a, l) => a + l.length + 1, 0);
    area.focus();
    area.setSelectionRange(offset, offset + (lines[line - 1]?.length ?? 0));
  };

  picker.addEventListener('change', () => {
    const id = picker.value;
    picker.value = '';
    const yaml = yamlById.get(id);
    if (yaml === undefined) return;
    area.value = area.value.trim() === '' ? yaml : `${area.value.replace(/\s*$/, '')}\n---\n${yaml}`;
    changed();
  });

  const reset = h('button', { id: 'e-reset', onclick: () => { area.value = ''; changed(); } }, 'Discard edit');
  const root = h(
    'div',
    { class: 'editor' },
    h('div', { class: 'row' }, h('label', { for: 'e-policy' }, 'Load '), picker, reset),
    h('div', { class: 'code' }, gutter, area),
    status,
    errors,
    diff,
  );
  renderGutter();

  return {
    root,
    text: () => area.value,
    setText(text) {
      area.value = text;
      changed();
    },
    showDiagnostics(diagnostics) {
      errorLines = new Map(diagnostics.filter((d) => d.line !== undefined).map((d) => [d.line!, d.message]));
      errors.replaceChildren(
        ...diagnostics.map((d) =>
          h(
            'li',
            { class: 'error' },
            h('button', { class: 'link', onclick: () => d.line !== undefined && goToLine(d.line), disabled: d.line === undefined }, d.line !== undefined ? `line ${d.line}:${d.column}` : 'error'),
            ' ',
            d.field ? h('code', { class: 'field' }, breakableId(d.field)) : null,
            d.field ? ': ' : '',
            breakableId(d.message),
          ),
        ),
      );
      area.setAttribute('aria-invalid', diagnostics.length > 0 ? 'true' : 'false');
      if (diagnostics.length > 0) {
        // The last valid edit's diff no longer describes the text: it goes, as the picture's overlay does.
        diff.replaceChildren();
        status.textContent = `${diagnostics.length} error${diagnostics.length === 1 ? '' : 's'}: the picture shows the policies as loaded until the edit is valid.`;
      }
      renderGutter();
    },
    showDiff(result) {
      if (!result) {
        diff.replaceChildren();
        status.textContent = 'No edit: the picture shows the policies as loaded.';
        return;
      }
      const what = [...result.replaced.map((p) => `replaces ${p}`), ...result.added.map((p) => `adds ${p}`)].join(', ') || 'changes nothing';
      status.textContent = `Previewing your edit: it ${what}.`;
      const item = (k: FlowKey, sign: string): HTMLElement => h('li', {}, breakableId(`${sign} ${k.from} → ${k.to} on ${portText(k)}`));
      diff.replaceChildren(
        h('h4', {}, `Opens ${result.opened.length} flow${result.opened.length === 1 ? '' : 's'}`),
        h('ul', { class: 'opened' }, result.opened.map((k) => item(k, '+'))),
        h('h4', {}, `Closes ${result.closed.length} flow${result.closed.length === 1 ? '' : 's'}`),
        h('ul', { class: 'closed' }, result.closed.map((k) => item(k, '−'))),
      );
    },
    setPolicies(model) {
      const admin = model.adminPolicies ?? [];
      yamlById = new Map([...model.policies, ...admin].map((p) => [p.id, p.yaml]));
      const options = (list: readonly { id: string }[]): HTMLElement[] => list.map((p) => h('option', { value: p.id }, p.id));
      picker.replaceChildren(
        h('option', { value: '' }, 'a policy…'),
        ...(admin.length === 0
          ? options(model.policies)
          : [h('optgroup', { label: 'NetworkPolicy' }, ...options(model.policies)), h('optgroup', { label: 'Admin and baseline (cluster-scoped)' }, ...options(admin))]),
      );
    },
  };
}
