// The page: wires the toolbar, the graph, the matrix, the side panels and the live stream to the
// state. Everything it shows comes from the server's API.
import type { EventObject, NodeSingular } from 'cytoscape';
import { OUTSIDE, type ModelView } from '../../src/web/types.js';
import { api } from './api.js';
import { renderAdminPolicy, renderCheck, renderExplain, renderFlow, type DetailsActions } from './details.js';
import { byId, h, portText } from './dom.js';
import { createEditor } from './editor.js';
import { exportPng, exportSvg, exportYaml } from './export.js';
import { createFindingsPanel } from './findings.js';
import { clearFocus, createGraph, drawGraph, elementsFor, fitGraph, focusArrow, focusNodes, nodeToward, type Direction } from './graph.js';
import { NODE } from './graph-layout.js';
import { ANY_POD, OUTSIDE_EGRESS, graphModel, groupKey, type GraphArrow, type GraphModel, type Grouping } from './graph-model.js';
import { createLabPanel } from './lab.js';
import { legendHtml } from './legend.js';
import { followEvents } from './live.js';
import { matrixPort, renderMatrix } from './matrix.js';
import { makeResizable } from './resize.js';
import { Store } from './state.js';
import './styles.css';

const store = new Store();
const cy = createGraph(byId('cy'));
const details = byId('details');
const status = byId('status');
const fNamespace = byId<HTMLSelectElement>('f-namespace');
const fPort = byId<HTMLSelectElement>('f-port');
const fProtocol = byId<HTMLSelectElement>('f-protocol');
const fDenied = byId<HTMLInputElement>('f-denied');
const fSearch = byId<HTMLInputElement>('f-search');
byId('legend').innerHTML = legendHtml(false);
byId('cy').tabIndex = 0;
byId('cy').setAttribute('aria-label', 'Graph: arrow keys move between nodes, Enter explains, Escape clears the focus');

// ---- the graph's own state: grouping (chosen, or automatic for big apps), expanded groups, the focused node
const fGroup = h(
  'select',
  { id: 'f-group', title: 'Draw endpoints one by one, or one node per namespace or per app (click a group to expand it)' },
  h('option', { value: 'auto' }, 'auto'),
  h('option', { value: 'none' }, 'none'),
  h('option', { value: 'namespace' }, 'namespace'),
  h('option', { value: 'app' }, 'app'),
);
byId('f-denied').closest('label')!.after(h('label', {}, 'Group ', fGroup));
const graphState: { grouping: Grouping; auto: boolean; expanded: Set<string>; focus?: string; drawn?: GraphModel } = { grouping: 'none', auto: true, expanded: new Set() };
fGroup.addEventListener('change', () => {
  graphState.auto = fGroup.value === 'auto';
  graphState.grouping = graphState.auto ? 'none' : (fGroup.value as Grouping);
  graphState.expanded.clear();
  graphState.focus = undefined;
  redraw();
});

// ---- side panel tabs
const tabs = { details: byId('t-details'), findings: byId('t-findings'), editor: byId('t-editor'), lab: byId('t-lab') };
const panels = { details, findings: byId('findings'), editor: byId('editor'), lab: byId('lab') };
makeResizable(byId('side'), byId('side-handle'), {
  view: byId('graph-view'),
  onResize: () => {
    cy.resize();
    fitGraph(cy, reserved());
  },
});
function showTab(name: keyof typeof tabs): void {
  for (const k of Object.keys(tabs) as (keyof typeof tabs)[]) {
    tabs[k].setAttribute('aria-selected', String(k === name));
    panels[k].hidden = k !== name;
  }
}
for (const k of Object.keys(tabs) as (keyof typeof tabs)[]) tabs[k].addEventListener('click', () => showTab(k));

// ---- details
let detailsToken = 0;
async function showDetails(render: () => Promise<HTMLElement> | HTMLElement): Promise<void> {
  const token = ++detailsToken;
  showTab('details');
  try {
    const el = await render();
    if (token === detailsToken) details.replaceChildren(el);
  } catch (err) {
    if (token === detailsToken) details.replaceChildren(h('p', { class: 'bad' }, (err as Error).message));
  }
}
const actions: DetailsActions = {
  editPolicy(id) {
    const model = store.state.model;
    const p = model?.policies.find((x) => x.id === id) ?? model?.adminPolicies?.find((x) => x.id === id);
    if (!p) return;
    const current = editor.text();
    const kind = 'kind' in p ? p.kind : 'NetworkPolicy';
    const loaded = current.split(/^---$/m).some((doc) => doc.includes(`kind: ${kind}\n`) && doc.includes(`name: ${p.name}\n`));
    if (!loaded) editor.setText(current.trim() === '' ? p.yaml : `${current.replace(/\s*$/, '')}\n---\n${p.yaml}`);
    showTab('editor');
  },
  showEndpoint: (id) => selectEndpoint(id),
  showAdminPolicy: (id) => selectBand(id),
};
/** An admin or baseline policy: its band selected, the endpoints it selects focused, and explained. */
function selectBand(policy: string): void {
  const view = store.state.model?.adminPolicies?.find((p) => p.id === policy);
  if (!view) return;
  const band = cy.getElementById(`b:${policy}`);
  cy.elements().unselect();
  graphState.focus = undefined;
  if (band.nonempty()) {
    band.select();
    focusNodes(cy, [band.id(), ...(band.data('members') as string[])]);
  }
  void showDetails(() => renderAdminPolicy(view, actions));
}
function selectEndpoint(id: string): void {
  const node = cy.getElementById(id);
  if (node.nonempty()) {
    cy.elements().unselect();
    node.select();
    setFocus(id);
  }
  void showDetails(async () => renderExplain(await api.explain(id, store.state.edit.text), actions));
}
function adminCount(model: ModelView): string {
  const tiers = (tier: string): number => (model.adminPolicies ?? []).filter((p) => p.tier === tier).length;
  if (!model.adminPolicies?.length) return '';
  return `, ${tiers('Admin')} admin and ${tiers('Baseline')} baseline polic${tiers('Baseline') === 1 ? 'y' : 'ies'}`;
}
function introText(model: ModelView): HTMLElement {
  return h(
    'div',
    {},
    h('h2', {}, model.title),
    h('p', {}, `${model.endpoints.length} endpoints in ${model.namespaces.length} namespace${model.namespaces.length === 1 ? '' : 's'}, ${model.policies.length} polic${model.policies.length === 1 ? 'y' : 'ies'}${adminCount(model)}.`),
    model.adminPolicies?.length
      ? h('p', { class: 'muted' }, 'Admin policies are the bands above the picture (evaluated before NetworkPolicy, top first), baseline policies the bands below it (after NetworkPolicy); click one to explain it. An arrow an admin or baseline rule decided names its tier.')
      : null,
    h('p', { class: 'muted' }, 'Click a pod to see the policies that select it, its isolation, who may reach it and whom it may reach. Click an arrow to see which policy and rule on each side allow it.'),
  );
}

// ---- editor
const editor = createEditor({ onChange: (text) => void preview(text) });
panels.editor.append(editor.root);
const findings = createFindingsPanel({ tab: tabs.findings, onFocus: (endpoints, policies) => focusFinding(endpoints, policies) });
panels.findings.append(findings.root);
/** A finding's objects: its endpoints and the pods its policies select, focused in the picture (Esc clears). */
function focusFinding(endpoints: readonly string[], policies: readonly string[]): void {
  const model = store.state.model;
  const selects = (p: string): readonly string[] => model?.policies.find((x) => x.id === p)?.selects ?? model?.adminPolicies?.find((x) => x.id === p)?.selects ?? [];
  const ids = [...new Set([...endpoints, ...policies.flatMap(selects)])];
  if (store.state.view !== 'graph') setView('graph');
  const shown = cy
    .nodes('.vertex')
    .filter((n) => ids.includes(n.id()) || ((n.data('members') as string[] | undefined) ?? []).some((m) => ids.includes(m)))
    .map((n) => n.id());
  graphState.focus = undefined;
  focusNodes(cy, shown);
  (window as unknown as { podwall: { lastFocus?: string[] } }).podwall.lastFocus = ids;
  status.textContent = ids.length ? `focused ${ids.length} endpoint${ids.length === 1 ? '' : 's'} of the finding` : 'this finding is about no endpoint in the picture';
}
let previewToken = 0;
async function preview(text: string): Promise<void> {
  const token = ++previewToken;
  const loaded = (): void => store.set({ model: store.state.base, edit: { text: '', opened: [], closed: [], replaced: [], added: [] } });
  if (text.trim() === '') {
    editor.showDiagnostics([]);
    editor.showDiff(undefined);
    store.set({ model: store.state.base, edit: { text: '', opened: [], closed: [], replaced: [], added: [] } });
    return;
  }
  let result;
  try {
    result = await api.preview(text);
  } catch (err) {
    // Refused by the server (too large, busy): said where the errors go, not swallowed.
    if (token === previewToken) {
      editor.showDiagnostics([{ message: (err as Error).message, text: (err as Error).message }]);
      loaded();
    }
    return;
  }
  if (token !== previewToken) return;
  if (!result.ok) {
    editor.showDiagnostics(result.diagnostics);
    // The last valid edit no longer describes the text: its opened/closed arrows go; questions are asked of the policies as loaded.
    loaded();
    return;
  }
  editor.showDiagnostics([]);
  editor.showDiff(result);
  store.set({ model: result.model, edit: { text, opened: result.opened, closed: result.closed, replaced: result.replaced, added: result.added } });
}

// ---- lab
const labPanel = createLabPanel(() => void probe());
panels.lab.append(labPanel.root);
let probing = false;
let probeAgain = false;
/** One probe at a time; one asked for meanwhile runs after it, since the running one may predate the change that asked. */
async function probe(): Promise<void> {
  if (probing) {
    probeAgain = true;
    return;
  }
  probing = true;
  labPanel.showProbe(store.state.probe, true);
  try {
    store.set({ probe: await api.probe() });
    labPanel.showProbeError(undefined);
  } catch (err) {
    labPanel.showProbeError(`probe failed: ${(err as Error).message}`);
  } finally {
    probing = false;
    labPanel.showProbe(store.state.probe, false);
  }
  if (probeAgain) {
    probeAgain = false;
    void probe();
  }
}

// ---- filters
function fillFilters(model: ModelView): void {
  const keep = (sel: HTMLSelectElement, options: [string, string][]): void => {
    const value = sel.value;
    sel.replaceChildren(...options.map(([v, t]) => h('option', { value: v }, t)));
    sel.value = options.some(([v]) => v === value) ? value : options[0][0];
  };
  keep(fNamespace, [['', 'all'], ...model.namespaces.map((n): [string, string] => [n.name, n.name])]);
  keep(fPort, [['', 'all'], ...model.ports.map((p): [string, string] => [`${p.port}/${p.protocol}`, `${p.port}/${p.protocol}`])]);
  const protocols = [...new Set(model.ports.map((p) => p.protocol))].sort();
  keep(fProtocol, [['', 'all'], ...protocols.map((p): [string, string] => [p, p])]);
  byId('pod-list').replaceChildren(...model.endpoints.map((e) => h('option', { value: e.id })));
}
const readFilters = (): void =>
  store.set({ filters: { namespace: fNamespace.value, port: fPort.value, protocol: fProtocol.value, showDenied: fDenied.checked } });
for (const el of [fNamespace, fPort, fProtocol, fDenied]) el.addEventListener('change', readFilters);

function findEndpoint(text: string): string | undefined {
  const model = store.state.model;
  if (!model || text.trim() === '') return undefined;
  const t = text.trim().toLowerCase();
  const exact = model.endpoints.find((e) => e.id.toLowerCase() === t) ?? model.endpoints.find((e) => e.name.toLowerCase() === t);
  return (exact ?? model.endpoints.find((e) => e.id.toLowerCase().includes(t)))?.id;
}
async function search(): Promise<void> {
  const id = findEndpoint(fSearch.value);
  cy.nodes().removeClass('found');
  if (!id) {
    status.textContent = `no pod matches "${fSearch.value}"`;
    return;
  }
  if (store.state.filters.namespace !== '' && !id.startsWith(`${store.state.filters.namespace}/`)) {
    fNamespace.value = '';
    readFilters();
    await redrawing;
  }
  if (store.state.view !== 'graph') setView('graph');
  const endpoint = store.state.model?.endpoints.find((e) => e.id === id);
  const group = endpoint && groupKey(endpoint, graphState.grouping);
  if (group !== undefined && cy.getElementById(id).empty() && cy.getElementById(`g:${group}`).nonempty()) {
    graphState.expanded.add(`g:${group}`);
    redraw();
    await redrawing;
  }
  const node = cy.getElementById(id);
  if (node.nonempty()) {
    node.addClass('found');
    cy.animate({ center: { eles: node }, zoom: Math.max(cy.zoom(), 1.2) }, { duration: 250 });
  }
  status.textContent = `found ${id}`;
  selectEndpoint(id);
}
fSearch.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') void search();
});
fSearch.addEventListener('change', () => void search());
document.addEventListener('keydown', (e) => {
  if (e.key === '/' && document.activeElement?.tagName !== 'TEXTAREA' && document.activeElement?.tagName !== 'INPUT') {
    e.preventDefault();
    fSearch.focus();
  }
});

// ---- views
function setView(view: 'graph' | 'matrix'): void {
  fPort.querySelector<HTMLOptionElement>('option[value=""]')!.disabled = view === 'matrix';
  byId('v-graph').setAttribute('aria-selected', String(view === 'graph'));
  byId('v-matrix').setAttribute('aria-selected', String(view === 'matrix'));
  byId('graph-view').hidden = view !== 'graph';
  byId('matrix-view').hidden = view !== 'matrix';
  store.set({ view });
}
byId('v-graph').addEventListener('click', () => setView('graph'));
byId('v-matrix').addEventListener('click', () => setView('matrix'));
byId('z-in').addEventListener('click', () => cy.zoom({ level: cy.zoom() * 1.25, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } }));
byId('z-out').addEventListener('click', () => cy.zoom({ level: cy.zoom() / 1.25, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } }));
byId('z-fit').addEventListener('click', () => fitGraph(cy, reserved()));
byId('x-svg').addEventListener('click', () => exportSvg(cy));
byId('x-png').addEventListener('click', () => exportPng(cy));
byId('x-yaml').addEventListener('click', () => void exportYaml(store.state.edit.text).catch((err: Error) => (status.textContent = err.message)));
for (const id of ['x-svg', 'x-png', 'x-yaml']) byId(id).addEventListener('click', () => byId(id).closest('details')?.removeAttribute('open'));

// ---- drawing
let redrawing: Promise<void> = Promise.resolve();
function probeDiffers(): Set<string> {
  return new Set((store.state.probe ?? []).flatMap((r) => r.differences.map((d) => `${d.from}|${d.to}`)));
}
/** The height at the bottom of the picture that the legend and the status line cover. */
function reserved(): number {
  const area = byId('cy').getBoundingClientRect();
  const legend = byId('legend').getBoundingClientRect();
  return legend.height > 0 ? Math.max(0, area.bottom - legend.top + 4) : 0;
}
/** Big apps are grouped by default: labels must stay readable (10 px and more) at the first fit. */
const MIN_LABEL_PX = 10;
let drawToken = 0;
function redraw(): void {
  const { model, filters, edit } = store.state;
  if (!model) return;
  showEmpty(model);
  const token = ++drawToken;
  const draw = async (): Promise<void> => {
    const options = () => ({ ...filters, grouping: graphState.grouping, expanded: graphState.expanded, ...(graphState.focus ? { focus: graphState.focus } : {}), opened: edit.opened, closed: edit.closed, probeDiffers: probeDiffers() });
    let gm = graphModel(model, options());
    await drawGraph(cy, elementsFor(gm), reserved());
    // Too small to read: group (by namespace when there are several, else by app), once, unless the reader chose.
    for (const next of (model.namespaces.length > 1 ? ['namespace', 'app'] : ['app']) as Grouping[]) {
      if (token !== drawToken || !graphState.auto || cy.zoom() * NODE.font >= MIN_LABEL_PX || graphState.expanded.size > 0) break;
      const grouped = graphModel(model, { ...options(), grouping: next });
      if (grouped.nodes.length >= gm.nodes.length) continue;
      graphState.grouping = next;
      gm = grouped;
      await drawGraph(cy, elementsFor(gm), reserved());
    }
    if (token !== drawToken) return;
    graphState.drawn = gm;
    const focused = graphState.focus !== undefined && cy.getElementById(graphState.focus).nonempty();
    if (focused) {
      focusNodes(cy, [graphState.focus!]);
      cy.getElementById(graphState.focus!).select();
    }
    else graphState.focus = undefined;
    markDrops();
    const shown = cy.edges('.allowed').length;
    const denied = cy.edges('.denied').length;
    const groups = cy.nodes('.group').length;
    status.textContent =
      `${cy.nodes('.endpoint, .group').length} nodes${groups ? ` (${groups} groups: click one to expand)` : ''}, ${shown} allowed arrow${shown === 1 ? '' : 's'}` +
      (filters.showDenied
        ? `, ${denied} denied${gm.deniedHidden ? ` (${gm.deniedHidden} more: click a pod to see its own)` : ''}${model.deniedOmitted ? ` (${model.deniedOmitted} more not computed: filter by namespace or port)` : ''}`
        : '') +
      (edit.text ? ` · edit: +${edit.opened.length} −${edit.closed.length}` : '');
    document.body.dataset.ready = String(model.version);
    document.body.dataset.drawnMs = String(Math.round(performance.now()));
  };
  redrawing = draw();
}
/** With no endpoint there is nothing to draw: say why, and what to do, instead of a blank page. */
function showEmpty(model: ModelView): void {
  const empty = byId('empty');
  empty.hidden = model.endpoints.length > 0;
  if (!empty.hidden) {
    const policies = `${model.policies.length} polic${model.policies.length === 1 ? 'y' : 'ies'}`;
    empty.textContent =
      model.source === 'lab'
        ? `The lab holds no pods yet (${policies}). Apply some with \`podwall lab apply -f\` or kubectl: they appear here as they start.`
        : `Nothing to draw: the input declares no pods or workloads, only ${policies}. Add the manifests of the pods and workloads the policies select (more -f paths).`;
  }
}
function markDrops(): void {
  const counters = store.state.counters ?? {};
  cy.nodes('.endpoint').removeClass('drops');
  for (const [key, v] of Object.entries(counters)) {
    if (v.packets > 0) cy.getElementById(key.slice(3)).addClass('drops');
  }
}
let matrixToken = 0;
async function redrawMatrix(): Promise<void> {
  const { model, filters, edit, probe: reports } = store.state;
  const root = byId('matrix-view');
  if (!model || store.state.view !== 'matrix') return;
  const ports = model.ports.filter((p) => filters.protocol === '' || p.protocol === filters.protocol);
  const chosen = matrixPort(model.ports, filters);
  if (chosen && filters.port !== `${chosen.port}/${chosen.protocol}`) {
    // A matrix is of one port: the toolbar says which (and keeps it when going back to the graph).
    fPort.value = `${chosen.port}/${chosen.protocol}`;
    readFilters();
    return;
  }
  if (!chosen) {
    root.replaceChildren(h('p', { class: 'muted' }, 'No endpoint declares a port.'));
    return;
  }
  const token = ++matrixToken;
  const m = await api.matrix(chosen.port, chosen.protocol, edit.text);
  if (token !== matrixToken) return;
  const declaring = new Set(model.endpoints.filter((e) => e.ports.some((p) => p.port === chosen.port && p.protocol === chosen.protocol)).map((e) => e.id));
  const probeView = reports?.find((r) => r.port === chosen.port && r.protocol === chosen.protocol);
  root.replaceChildren(
    h('h2', {}, `Matrix for ${portText(chosen)}${chosen.protocol === 'TCP' ? '/TCP' : ''}`),
    renderMatrix(m, ports, declaring, {
      namespace: filters.namespace,
      ...(probeView ? { probe: probeView } : {}),
      onCell: (from, to) => void showDetails(async () => renderCheck(await api.check(from, to, chosen.port, chosen.protocol, store.state.edit.text), actions)),
    }),
  );
}
store.subscribe((state, changed) => {
  if (changed.has('model') || changed.has('filters') || changed.has('edit') || changed.has('probe')) redraw();
  if (changed.has('counters')) markDrops();
  if (changed.has('model')) void findings.refresh(state.edit.text);
  if (changed.has('model') || changed.has('filters') || changed.has('view') || changed.has('probe')) void redrawMatrix();
  if (changed.has('model') && state.model) {
    const tiers = (state.model.adminPolicies?.length ?? 0) > 0;
    if (byId('legend').dataset.tiers !== String(tiers)) {
      byId('legend').innerHTML = legendHtml(tiers);
      byId('legend').dataset.tiers = String(tiers);
    }
  }
  if (changed.has('base') && state.base) {
    fillFilters(state.base);
    editor.setPolicies(state.base);
    byId('title').textContent = `${state.base.source === 'lab' ? 'live: ' : ''}${state.base.title}`;
    byId('title').title = state.base.title;
    document.title = `${state.base.title} · Podwall`;
  }
});

// ---- graph interaction
const tooltip = byId('tooltip');
/** Focuses a node: its arrows highlighted, the rest dimmed; with show denied, its denied arrows drawn. */
function setFocus(id: string | undefined): void {
  const before = graphState.focus;
  graphState.focus = id;
  if (id === undefined) clearFocus(cy);
  else focusNodes(cy, [id]);
  if (store.state.filters.showDenied && before !== id) redraw();
}
function clearSelection(): void {
  cy.elements().unselect();
  cy.nodes('.elabel').removeClass('selected');
  graphState.focus = undefined;
  clearFocus(cy);
  tooltip.hidden = true;
  if (store.state.filters.showDenied) redraw();
}
const arrowOf = (id: string): GraphArrow | undefined => graphState.drawn?.arrows.find((a) => a.id === id);
const nameOf = (id: string): string => (id === OUTSIDE || id === OUTSIDE_EGRESS ? 'outside the cluster' : id === ANY_POD ? 'any pod' : id.replace(/^g:(ns|app):/, ''));
function selectArrow(id: string): void {
  const edge = cy.getElementById(id);
  if (edge.empty()) return;
  cy.elements().unselect();
  cy.nodes('.elabel').removeClass('selected');
  edge.select();
  cy.getElementById(`l:${id}`).addClass('selected');
  graphState.focus = undefined;
  focusArrow(cy, id);
  const arrow = arrowOf(id);
  const closed = store.state.edit.closed.filter((k) => `c:${k.from}->${k.to}` === id);
  if (closed.length) {
    void showDetails(async () =>
      h('div', {}, h('h2', {}, 'Closed by your edit'), ...(await Promise.all(closed.map((k) => api.check(k.from, k.to, k.port, k.protocol, store.state.edit.text)))).map((c) => renderCheck(c, actions))),
    );
    return;
  }
  if (arrow?.flows.length === 1 && arrow.flows[0].from !== ANY_POD) {
    void showDetails(() => renderFlow(arrow.flows[0], store.state.edit.text, actions));
    return;
  }
  if (!arrow) return;
  // An arrow that stands for several flows (a group, or every pod): each flow, one click from its reasons.
  void showDetails(() =>
    h(
      'div',
      { class: 'flow' },
      h('h2', {}, `${nameOf(arrow.source)} → ${nameOf(arrow.target)}`),
      h('p', {}, `${arrow.kind} on ${arrow.fullLabel}`),
      arrow.tierRules.length ? h('ul', { class: 'rules tier-rules' }, arrow.tierRules.map((r) => h('li', {}, `decided by ${r}`))) : null,
      arrow.source === ANY_POD ? h('p', {}, `These pods may connect to ${nameOf(arrow.target)}:`) : null,
      h(
        'ul',
        { class: 'rules' },
        arrow.flows.map((f) =>
          h(
            'li',
            {},
            f.from === ANY_POD
              ? h('ul', {}, (f.via ?? []).map((v) => h('li', {}, v)))
              : h('button', { class: 'link', onclick: () => void showDetails(() => renderFlow(f, store.state.edit.text, actions)) }, `${f.from} → ${f.to} on ${f.portsText ?? f.ports.map(portText).join(', ')}`),
          ),
        ),
      ),
    ),
  );
}
cy.on('tap', 'node.vertex', (e: EventObject) => {
  const node = e.target as NodeSingular;
  const id = node.id();
  if (node.hasClass('group')) {
    cy.elements().unselect();
    node.select();
    setFocus(id);
    const members = node.data('members') as string[];
    void showDetails(() =>
      h(
        'div',
        {},
        h('h2', {}, `${nameOf(id)}: ${members.length} endpoints`),
        h('p', {}, h('button', { id: 'expand-group', onclick: () => expandGroup(id) }, 'Expand this group')),
        h('ul', {}, members.map((m) => h('li', {}, h('button', { class: 'link', onclick: () => actions.showEndpoint(m) }, m)))),
      ),
    );
    return;
  }
  if (id === OUTSIDE || id === OUTSIDE_EGRESS || id === ANY_POD) {
    cy.elements().unselect();
    node.select();
    setFocus(id);
    void showDetails(() =>
      id !== ANY_POD
        ? h('div', {}, h('h2', {}, 'outside the cluster'), h('p', {}, 'Addresses that are not pods: they reach pods not isolated for ingress, and pods whose rules admit them (ipBlock, or a rule with no `from`).'))
        : h('div', {}, h('h2', {}, 'any pod'), h('p', {}, 'Many pods at once: an arrow from here stands for the same ports from every other pod, or from every pod not isolated for egress (pods isolated for egress then keep their own arrows). Click an arrow for its list of pods.')),
    );
    return;
  }
  selectEndpoint(id);
});
function expandGroup(id: string): void {
  graphState.expanded.add(id);
  graphState.focus = undefined;
  redraw();
}
cy.on('dbltap', 'node.group', (e: EventObject) => expandGroup((e.target as NodeSingular).id()));
cy.on('tap', 'node.band', (e: EventObject) => selectBand((e.target as NodeSingular).data('policy') as string));
cy.on('mouseover', 'node.band', (e: EventObject) => {
  const view = store.state.model?.adminPolicies?.find((p) => p.id === ((e.target as NodeSingular).data('policy') as string));
  if (view) showTooltip(e.renderedPosition!.x, e.renderedPosition!.y, h('strong', {}, view.ref), `subject: ${view.subject}`, `${view.ingress.length} ingress, ${view.egress.length} egress rules; click to explain`);
});
cy.on('tap', 'node.elabel', (e: EventObject) => selectArrow((e.target as NodeSingular).data('edge') as string));
cy.on('tap', 'edge', (e: EventObject) => selectArrow(e.target.id() as string));
cy.on('tap', (e: EventObject) => {
  if (e.target === cy) clearSelection();
});
function showTooltip(x: number, y: number, ...lines: (HTMLElement | string)[]): void {
  tooltip.replaceChildren(...lines.map((l) => (typeof l === 'string' ? h('div', {}, l) : l)));
  tooltip.style.left = `${x + 20}px`;
  tooltip.style.top = `${y + 20}px`;
  tooltip.hidden = false;
}
cy.on('mouseover', 'node.vertex', (e: EventObject) => {
  const node = e.target as NodeSingular;
  const pos = node.renderedPosition();
  const arrows = graphState.drawn?.arrows ?? [];
  const out = arrows.filter((a) => a.source === node.id());
  const into = arrows.filter((a) => a.target === node.id());
  const list = (xs: GraphArrow[], arrow: string, end: (a: GraphArrow) => string): string[] =>
    xs.slice(0, 8).map((a) => `${arrow} ${nameOf(end(a))}: ${a.fullLabel}${a.kind === 'allowed' ? '' : ` (${a.kind})`}`).concat(xs.length > 8 ? [`… ${xs.length - 8} more`] : []);
  const endpoint = store.state.model?.endpoints.find((x) => x.id === node.id());
  const labels = endpoint ? Object.entries(endpoint.labels).map(([k, v]) => `${k}=${v}`) : [];
  showTooltip(
    pos.x,
    pos.y,
    h('strong', {}, endpoint?.id ?? nameOf(node.id())),
    ...(endpoint ? [labels.length ? labels.join(', ') : 'no labels', `isolated: ${[endpoint.isolation.ingress ? 'ingress' : '', endpoint.isolation.egress ? 'egress' : ''].filter(Boolean).join(' and ') || 'no'}`] : []),
    `${into.length} in, ${out.length} out`,
    ...list(into, '←', (a) => a.source),
    ...list(out, '→', (a) => a.target),
  );
});
const arrowTip = (id: string, x: number, y: number): void => {
  const a = arrowOf(id);
  if (a) showTooltip(x, y, h('strong', {}, `${nameOf(a.source)} → ${nameOf(a.target)}`), `${a.kind} on ${a.fullLabel}`, ...(a.flows.length > 1 ? [`${a.flows.length} flows`] : []), ...a.tierRules.map((r) => `${a.tier} tier: ${r}`));
};
cy.on('mouseover', 'node.elabel', (e: EventObject) => arrowTip((e.target as NodeSingular).data('edge') as string, e.renderedPosition!.x, e.renderedPosition!.y));
cy.on('mouseover', 'edge', (e: EventObject) => arrowTip(e.target.id() as string, e.renderedPosition!.x, e.renderedPosition!.y));
cy.on('mouseout', 'node, edge', () => (tooltip.hidden = true));

// Keyboard: Escape clears; arrow keys move to the nearest node that way; Enter explains the focused node.
const KEYS: Record<string, Direction> = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down' };
document.addEventListener('keydown', (e) => {
  const tag = (e.target as HTMLElement | null)?.tagName;
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || store.state.view !== 'graph') return;
  if ((e.target as HTMLElement | null)?.closest('.side')) return;
  if (e.key === 'Escape') {
    clearSelection();
    return;
  }
  const current = graphState.focus !== undefined ? cy.getElementById(graphState.focus) : cy.collection();
  if (KEYS[e.key]) {
    e.preventDefault();
    const from = current.nonempty() && current.isNode() ? current : undefined;
    const next = from ? nodeToward(cy, from, KEYS[e.key]) : (cy.nodes('.entry').first().nonempty() ? cy.nodes('.entry').first() : cy.nodes('.vertex').first());
    if (!next || next.empty()) return;
    cy.elements().unselect();
    next.select();
    setFocus(next.id());
    const ext = cy.extent();
    const p = next.position();
    if (p.x < ext.x1 || p.x > ext.x2 || p.y < ext.y1 || p.y > ext.y2) cy.center(next);
    status.textContent = `focused ${nameOf(next.id())} (Enter explains)`;
  } else if (e.key === 'Enter' && current.nonempty()) {
    e.preventDefault();
    current.emit('tap');
  }
});

// ---- start and follow
async function loadBase(): Promise<void> {
  const base = await api.model();
  store.set({ base });
  if (store.state.edit.text.trim() !== '') await preview(store.state.edit.text);
  else store.set({ model: base });
}
let probeTimer: ReturnType<typeof setTimeout> | undefined;
async function start(): Promise<void> {
  await loadBase();
  const model = store.state.base!;
  details.replaceChildren(introText(model));
  if (model.source === 'lab') {
    tabs.lab.hidden = false;
    followEvents({
      onModel: (version) => {
        if (version === store.state.base?.version) return;
        void loadBase();
        clearTimeout(probeTimer);
        // The server's probe waits until the lab has caught up; this only merges a burst of changes into one probe.
        probeTimer = setTimeout(() => void probe(), 300);
      },
      onCounters: () =>
        void api.counters().then((c) => {
          store.set({ counters: c.counters });
          labPanel.showCounters(c.counters);
        }),
    });
    void probe();
  }
}
void start().catch((err: Error) => (status.textContent = `cannot load: ${err.message}`));

// For the end-to-end tests and the curious: the graph and the state.
(window as unknown as { podwall: unknown }).podwall = { cy, store, graph: graphState };
