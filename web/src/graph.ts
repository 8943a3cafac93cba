// The picture: namespaces as groups, endpoints as nodes, flows as arrows labelled with their ports,
// laid out in layers (ELK, left to right) so that traffic reads like the seed's diagrams.
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape';
import elk from 'cytoscape-elk';
import svg from 'cytoscape-svg';
import { OUTSIDE, type FlowView, type ModelView, type PortView } from '../../src/web/types.js';
import { portText } from './dom.js';
import { graphStyle } from './graph-style.js';
import { nodeImage, roleOf } from './icons.js';
import type { EditState, Filters } from './state.js';

cytoscape.use(elk);
cytoscape.use(svg);

const portKey = (p: PortView): string => `${p.port}/${p.protocol}`;

function visiblePorts(f: FlowView, filters: Filters): PortView[] {
  return f.ports.filter((p) => (filters.port === '' || portKey(p) === filters.port) && (filters.protocol === '' || p.protocol === filters.protocol));
}

/** The elements to draw for the model under the filters; the edit's closed flows are drawn as ghosts. */
export function elementsFor(model: ModelView, filters: Filters, edit: EditState, probeDiffers: ReadonlySet<string>): ElementDefinition[] {
  const inNamespace = (id: string): boolean => filters.namespace === '' || id === OUTSIDE || id.startsWith(`${filters.namespace}/`);
  const opened = new Set(edit.opened.map((k) => `${k.from}|${k.to}|${portKey(k)}`));
  const edges: ElementDefinition[] = [];
  const used = new Set<string>();

  const addFlow = (f: FlowView, classes: string[]): void => {
    if (!inNamespace(f.from) && !inNamespace(f.to)) return;
    const ports = f.portsText !== undefined ? [] : visiblePorts(f, filters);
    if (f.portsText === undefined && ports.length === 0) return;
    if (f.portsText !== undefined && (filters.port !== '' || filters.protocol !== '')) return;
    const isOpened = ports.some((p) => opened.has(`${f.from}|${f.to}|${portKey(p)}`));
    const differs = probeDiffers.has(`${f.from}|${f.to}`);
    edges.push({
      group: 'edges',
      data: { id: f.id, source: f.from, target: f.to, label: f.portsText ?? ports.map(portText).join(', ') },
      classes: [...classes, ...(isOpened ? ['opened'] : []), ...(differs ? ['differs'] : [])].join(' '),
    });
    used.add(f.from).add(f.to);
  };
  for (const f of model.flows) addFlow(f, ['allowed']);
  if (filters.showDenied) for (const f of model.denied) addFlow(f, ['denied']);
  // Flows the edit closes: drawn dotted so the reader sees what disappears.
  const closedByPair = new Map<string, PortView[]>();
  for (const k of edit.closed) {
    const pair = `${k.from}|${k.to}`;
    closedByPair.set(pair, [...(closedByPair.get(pair) ?? []), { port: k.port, protocol: k.protocol }]);
  }
  for (const [pair, ports] of closedByPair) {
    const [from, to] = pair.split('|');
    addFlow({ id: `c:${from}->${to}`, from, to, allowed: false, ports }, ['closed']);
  }

  const nodes: ElementDefinition[] = [];
  const namespaces = new Set<string>();
  for (const e of model.endpoints) {
    if (!inNamespace(e.id) && !used.has(e.id)) continue;
    namespaces.add(e.namespace);
    const isolated = e.isolation.ingress || e.isolation.egress;
    nodes.push({
      group: 'nodes',
      data: {
        id: e.id,
        parent: `ns:${e.namespace}`,
        label: e.kind === 'Pod' ? e.name : `${e.name}\n(${e.kind})`,
        image: nodeImage(roleOf(e.labels, e.name), e.isolation),
      },
      classes: ['endpoint', ...(isolated ? ['isolated'] : [])].join(' '),
    });
  }
  if (used.has(OUTSIDE)) {
    nodes.push({ group: 'nodes', data: { id: OUTSIDE, label: 'outside the cluster', image: nodeImage('outside', { ingress: false, egress: false }) }, classes: 'endpoint outside' });
  }
  // Model order for the layout: nodes reached from the outside first, then along the flows
  // (breadth first), so the layers read like the seed: user -> web -> api -> db.
  const depth = new Map<string, number>([[OUTSIDE, 0]]);
  const queue = [OUTSIDE];
  while (queue.length > 0) {
    const at = queue.shift()!;
    for (const e of edges) {
      if (e.data.source === at && !depth.has(e.data.target as string) && !(e.classes as string).includes('denied')) {
        depth.set(e.data.target as string, depth.get(at)! + 1);
        queue.push(e.data.target as string);
      }
    }
  }
  const order = (id: string): number => depth.get(id) ?? Number.MAX_SAFE_INTEGER;
  nodes.sort((a, b) => order(a.data.id as string) - order(b.data.id as string));
  for (const ns of [...namespaces].sort()) nodes.push({ group: 'nodes', data: { id: `ns:${ns}`, label: `namespace ${ns}` }, classes: 'namespace' });
  return [...nodes, ...edges];
}

export function createGraph(container: HTMLElement): Core {
  return cytoscape({
    container,
    style: graphStyle,
    minZoom: 0.05,
    maxZoom: 4,
    boxSelectionEnabled: false,
    selectionType: 'single',
  });
}

/** Replaces what is drawn and lays it out again; keeps the viewport when only arrows changed. */
export function drawGraph(cy: Core, elements: ElementDefinition[]): Promise<void> {
  const before = new Set(cy.nodes().map((n) => n.id()));
  const after = new Set(elements.filter((e) => e.group === 'nodes').map((e) => e.data.id as string));
  const sameNodes = before.size === after.size && [...after].every((id) => before.has(id));
  if (sameNodes && before.size > 0) {
    cy.batch(() => {
      cy.edges().remove();
      cy.add(elements.filter((e) => e.group === 'edges'));
      cy.edges().forEach((e) => {
        e.toggleClass('back', e.target().position('x') < e.source().position('x') - 1);
      });
      for (const el of elements.filter((e) => e.group === 'nodes')) {
        const n = cy.getElementById(el.data.id as string);
        n.data(el.data);
        n.classes(el.classes as string);
      }
    });
    return Promise.resolve();
  }
  cy.elements().remove();
  cy.add(elements);
  const big = cy.nodes('.endpoint').length > 60;
  // ELK reads spacing per graph: the root's options are given to every namespace group too.
  const spacing = {
    'elk.layered.spacing.nodeNodeBetweenLayers': big ? 70 : 150,
    'elk.spacing.nodeNode': big ? 25 : 50,
    'elk.padding': '[top=30,left=20,bottom=20,right=20]',
  };
  const layout = cy.layout({
    name: 'elk',
    fit: true,
    padding: 30,
    nodeDimensionsIncludeLabels: true,
    nodeLayoutOptions: (node: cytoscape.NodeSingular) => (node.isParent() ? spacing : {}),
    elk: {
      algorithm: 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      ...spacing,
    },
  } as cytoscape.LayoutOptions);
  const done = new Promise<void>((resolve) =>
    layout.one('layoutstop', () => {
      // Arrows against the flow (right to left) arc below the others instead of hiding behind them.
      cy.edges().forEach((e) => {
        e.toggleClass('back', e.target().position('x') < e.source().position('x') - 1);
      });
      resolve();
    }),
  );
  layout.run();
  return done;
}
