// The picture: endpoints (or their groups) as nodes and one arrow per ordered pair labelled with its
// ports, laid out left to right from the entry points (graph-layout.ts); focus, and moving between nodes.
import cytoscape, { type Collection, type Core, type ElementDefinition, type NodeSingular } from 'cytoscape';
import svg from 'cytoscape-svg';
import { graphStyle } from './graph-style.js';
import { edgeLabelSize, layoutGraph, placeBands } from './graph-layout.js';
import { OUTSIDE_EGRESS, type GraphModel } from './graph-model.js';
import { nodeImage, roleOf } from './icons.js';

cytoscape.use(svg);

/** The Cytoscape elements for a graph model; label nodes (`l:<arrow id>`) carry the routed arrows' labels. */
export function elementsFor(gm: GraphModel): ElementDefinition[] {
  const nodes: ElementDefinition[] = gm.nodes.map((n) => {
    const e = n.endpoint;
    const classes = ['vertex', n.id === OUTSIDE_EGRESS ? 'outside exit' : n.kind === 'outside' ? 'endpoint outside entry' : n.kind === 'any' ? 'anypod entry' : n.kind === 'group' ? 'group' : 'endpoint'];
    if (e && (e.isolation.ingress || e.isolation.egress)) classes.push('isolated');
    if (e?.unselected) classes.push('unselected');
    if (e?.openToOutside) classes.push('open-outside');
    const role = n.kind === 'outside' || n.kind === 'any' ? 'outside' : e ? roleOf(e.labels, e.name) : 'pod';
    const inside = gm.inside.get(n.id);
    return {
      group: 'nodes',
      data: {
        id: n.id,
        label: n.kind === 'group' && inside ? `${n.label}, ${inside} flow${inside === 1 ? '' : 's'} inside` : n.label,
        image: nodeImage(n.kind === 'any' ? 'pod' : role, e?.isolation ?? { ingress: false, egress: false }),
        members: n.members,
      },
      classes: classes.join(' '),
    };
  });
  const edges: ElementDefinition[] = [];
  for (const a of gm.arrows) {
    const kind = [a.kind, ...(a.opened ? ['opened'] : []), ...(a.differs ? ['differs'] : []), ...(a.tier ? [`tier-${a.tier.toLowerCase()}`] : [])];
    const routed = a.kind !== 'denied';
    edges.push({ group: 'edges', data: { id: a.id, source: a.source, target: a.target, label: a.label, full: a.fullLabel }, classes: [...kind, routed ? 'routed' : 'loose'].join(' ') });
    if (routed) nodes.push({ group: 'nodes', data: { id: `l:${a.id}`, edge: a.id, label: a.label, w: edgeLabelSize(a.label).width, h: edgeLabelSize(a.label).height }, classes: ['elabel', ...kind].join(' '), selectable: false });
  }
  // Bands and their marks are placed by placeBands once the picture is laid out.
  for (const b of gm.bands) {
    const tier = `band-${b.policy.tier.toLowerCase()}`;
    nodes.push({
      group: 'nodes',
      data: { id: b.id, label: b.label, policy: b.policy.id, tier: b.policy.tier, order: b.policy.order, members: b.members, w: 100 },
      classes: ['band', tier, ...(b.members.length === 0 ? ['band-empty'] : [])].join(' '),
    });
    for (const m of b.members) nodes.push({ group: 'nodes', data: { id: `t:${b.id}|${m}`, band: b.id }, classes: `band-tick ${tier}`, selectable: false });
  }
  return [...nodes, ...edges];
}

export function createGraph(container: HTMLElement): Core {
  return cytoscape({ container, style: graphStyle, minZoom: 0.05, maxZoom: 4, boxSelectionEnabled: false, selectionType: 'single', autoungrabify: true });
}

const PADDING = 20;

/**
 * Fits everything above `reserved` px at the bottom (the legend and status line lie over the
 * picture there), centred, at most at zoom 1.5.
 */
export function fitGraph(cy: Core, reserved = 0): void {
  const bb = cy.elements().boundingBox({});
  if (bb.w === 0 || bb.h === 0) return;
  const width = cy.width() - 2 * PADDING;
  const height = Math.max(100, cy.height() - 2 * PADDING - reserved);
  const zoom = Math.max(cy.minZoom(), Math.min(1.5, width / bb.w, height / bb.h)); // Cytoscape ignores a zoom out of its bounds
  cy.viewport({ zoom, pan: { x: PADDING + (width - bb.w * zoom) / 2 - bb.x1 * zoom, y: PADDING + (height - bb.h * zoom) / 2 - bb.y1 * zoom } });
}

/** Replaces what is drawn and lays it out again (for the picture's aspect), then fits it in view. */
export async function drawGraph(cy: Core, elements: ElementDefinition[], reserved = 0): Promise<void> {
  cy.batch(() => {
    cy.elements().remove();
    cy.add(elements);
  });
  await layoutGraph(cy, Math.max(0.5, cy.width() / Math.max(1, cy.height() - reserved)));
  arcLooseEdges(cy);
  placeBands(cy);
  fitGraph(cy, reserved);
}

/** Arrows ELK does not route (blocked ones) arc in proportion to their length, so arcs from one node to nearer and farther nodes keep their labels apart. */
function arcLooseEdges(cy: Core): void {
  cy.batch(() =>
    cy.edges('.loose').forEach((e) => {
      const s = e.source().position();
      const t = e.target().position();
      e.style('control-point-distances', [Math.min(200, Math.max(60, 0.35 * Math.hypot(t.x - s.x, t.y - s.y)))]);
    }),
  );
}

/** The arrows drawn for a node: its own, and the label nodes that go with them. */
function withLabels(cy: Core, edges: Collection): Collection {
  const ids = new Set(edges.map((e) => e.id()));
  return edges.union(cy.nodes('.elabel').filter((l) => ids.has(l.data('edge') as string)));
}

/** Highlights the nodes given, the arrows into and out of them and the nodes at their other ends; dims the rest. */
export function focusNodes(cy: Core, ids: readonly string[]): void {
  let nodes = cy.collection();
  for (const id of ids) nodes = nodes.union(cy.getElementById(id));
  const edges = nodes.connectedEdges();
  const keep = withLabels(cy, edges as unknown as Collection).union(nodes).union(edges.connectedNodes());
  cy.batch(() => {
    cy.elements().removeClass('focused').addClass('faded');
    keep.removeClass('faded');
    nodes.addClass('focused');
  });
}

/** Highlights one arrow and its two ends; dims the rest. */
export function focusArrow(cy: Core, id: string): void {
  const edge = cy.getElementById(id);
  if (edge.empty()) return;
  cy.batch(() => {
    cy.elements().removeClass('focused').addClass('faded');
    withLabels(cy, edge as unknown as Collection).union(edge.connectedNodes()).removeClass('faded');
  });
}

export function clearFocus(cy: Core): void {
  cy.batch(() => cy.elements().removeClass('faded focused'));
}

export type Direction = 'left' | 'right' | 'up' | 'down';

/** The nearest node in a direction (within a 45° cone either side), for the arrow keys. */
export function nodeToward(cy: Core, from: NodeSingular, direction: Direction): NodeSingular | undefined {
  const p = from.position();
  let best: NodeSingular | undefined;
  let bestScore = Infinity;
  cy.nodes('.vertex').forEach((n) => {
    if (n.same(from)) return;
    const dx = n.position('x') - p.x;
    const dy = n.position('y') - p.y;
    const along = direction === 'right' ? dx : direction === 'left' ? -dx : direction === 'down' ? dy : -dy;
    const across = direction === 'right' || direction === 'left' ? Math.abs(dy) : Math.abs(dx);
    if (along <= 0 || across > along * 1.5) return;
    const score = along + across * 2;
    if (score < bestScore) {
      bestScore = score;
      best = n;
    }
  });
  return best;
}
