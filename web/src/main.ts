// The page: wires the toolbar, the graph, the matrix, the side panels and the live stream to the
// state. Everything it shows comes from the server's API.
import type { EventObject } from 'cytoscape';
import { OUTSIDE, type FlowView, type ModelView } from '../../src/web/types.js';
import { api } from './api.js';
import { renderCheck, renderExplain, renderFlow, type DetailsActions } from './details.js';
import { byId, h, portText } from './dom.js';
import { createEditor } from './editor.js';
import { exportPng, exportSvg, exportYaml } from './export.js';
import { createGraph, drawGraph, elementsFor } from './graph.js';
import { createLabPanel } from './lab.js';
import { legendHtml } from './legend.js';
import { followEvents } from './live.js';
import { renderMatrix } from './matrix.js';
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
byId('legend').innerHTML = legendHtml();

// ---- side panel tabs
const tabs = { details: byId('t-details'), editor: byId('t-editor'), lab: byId('t-lab') };
const panels = { details, editor: byId('editor'), lab: byId('lab') };
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
    const p = store.state.model?.policies.find((x) => x.id === id);
    if (!p) return;
    const current = editor.text();
    if (!current.includes(`name: ${p.name}\n`)) editor.setText(current.trim() === '' ? p.yaml : `${current.replace(/\s*$/, '')}\n---\n${p.yaml}`);
    showTab('editor');
  },
  showEndpoint: (id) => selectEndpoint(id),
};
function selectEndpoint(id: string): void {
  const node = cy.getElementById(id);
  if (node.nonempty()) {
    cy.elements().unselect();
    node.select();
  }
  void showDetails(async () => renderExplain(await api.explain(id, store.state.edit.text), actions));
}
function introText(model: ModelView): HTMLElement {
  return h(
    'div',
    {},
    h('h2', {}, model.title),
    h('p', {}, `${model.endpoints.length} endpoints in ${model.namespaces.length} namespace${model.namespaces.length === 1 ? '' : 's'}, ${model.policies.length} polic${model.policies.length === 1 ? 'y' : 'ies'}.`),
    h('p', { class: 'muted' }, 'Click a pod to see the policies that select it, its isolation, who may reach it and whom it may reach. Click an arrow to see which policy and rule on each side allow it.'),
  );
}

// ---- editor
const editor = createEditor({ onChange: (text) => void preview(text) });
panels.editor.append(editor.root);
let previewToken = 0;
async function preview(text: string): Promise<void> {
  const token = ++previewToken;
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
    if (token === previewToken) editor.showDiagnostics([{ message: (err as Error).message, text: (err as Error).message }]);
    return;
  }
  if (token !== previewToken) return;
  if (!result.ok) {
    editor.showDiagnostics(result.diagnostics);
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
byId('z-fit').addEventListener('click', () => cy.fit(undefined, 30));
byId('x-svg').addEventListener('click', () => exportSvg(cy));
byId('x-png').addEventListener('click', () => exportPng(cy));
byId('x-yaml').addEventListener('click', () => void exportYaml(store.state.edit.text).catch((err: Error) => (status.textContent = err.message)));

// ---- drawing
let redrawing: Promise<void> = Promise.resolve();
function probeDiffers(): Set<string> {
  return new Set((store.state.probe ?? []).flatMap((r) => r.differences.map((d) => `${d.from}|${d.to}`)));
}
function redraw(): void {
  const { model, filters, edit } = store.state;
  if (!model) return;
  showEmpty(model);
  redrawing = drawGraph(cy, elementsFor(model, filters, edit, probeDiffers())).then(() => {
    markDrops();
    const shown = cy.edges('.allowed').length;
    const denied = cy.edges('.denied').length;
    status.textContent =
      `${cy.nodes('.endpoint').length} nodes, ${shown} allowed flow${shown === 1 ? '' : 's'}` +
      (filters.showDenied ? `, ${denied} denied${model.deniedOmitted ? ` (${model.deniedOmitted} more not drawn: filter by namespace or port)` : ''}` : '') +
      (edit.text ? ` · edit: +${edit.opened.length} −${edit.closed.length}` : '');
    document.body.dataset.ready = String(model.version);
  });
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
  const chosen = ports.find((p) => `${p.port}/${p.protocol}` === filters.port) ?? ports[0];
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
  if (changed.has('model') || changed.has('filters') || changed.has('view') || changed.has('probe')) void redrawMatrix();
  if (changed.has('base') && state.base) {
    fillFilters(state.base);
    editor.setPolicies(state.base);
    byId('title').textContent = `${state.base.source === 'lab' ? 'live: ' : ''}${state.base.title}`;
  }
});

// ---- graph interaction
const tooltip = byId('tooltip');
cy.on('tap', 'node.endpoint', (e: EventObject) => {
  const id = e.target.id() as string;
  if (id === OUTSIDE) {
    void showDetails(() => h('div', {}, h('h2', {}, 'outside the cluster'), h('p', {}, 'Addresses that are not pods: they reach pods not isolated for ingress, and pods whose rules admit them (ipBlock, or a rule with no `from`).')));
    return;
  }
  selectEndpoint(id);
});
cy.on('tap', 'edge', (e: EventObject) => {
  const id = e.target.id() as string;
  const model = store.state.model;
  const flow: FlowView | undefined = model?.flows.find((f) => f.id === id) ?? model?.denied.find((f) => f.id === id);
  const closed = store.state.edit.closed.filter((k) => `c:${k.from}->${k.to}` === id);
  if (flow) void showDetails(() => renderFlow(flow, store.state.edit.text, actions));
  else if (closed.length) {
    void showDetails(async () =>
      h('div', {}, h('h2', {}, 'Closed by your edit'), ...(await Promise.all(closed.map((k) => api.check(k.from, k.to, k.port, k.protocol, store.state.edit.text)))).map((c) => renderCheck(c, actions))),
    );
  }
});
cy.on('mouseover', 'node.endpoint', (e: EventObject) => {
  const endpoint = store.state.model?.endpoints.find((x) => x.id === e.target.id());
  if (!endpoint) return;
  const pos = e.target.renderedPosition() as { x: number; y: number };
  const labels = Object.entries(endpoint.labels).map(([k, v]) => `${k}=${v}`);
  tooltip.replaceChildren(
    h('strong', {}, endpoint.id),
    h('div', {}, labels.length ? labels.join(', ') : 'no labels'),
    h('div', {}, `ports: ${endpoint.ports.map(portText).join(', ') || 'none'}`),
    h('div', {}, `isolated: ${[endpoint.isolation.ingress ? 'ingress' : '', endpoint.isolation.egress ? 'egress' : ''].filter(Boolean).join(' and ') || 'no'}`),
  );
  tooltip.style.left = `${pos.x + 20}px`;
  tooltip.style.top = `${pos.y + 20}px`;
  tooltip.hidden = false;
});
cy.on('mouseout', 'node', () => (tooltip.hidden = true));

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
(window as unknown as { podwall: unknown }).podwall = { cy, store };
