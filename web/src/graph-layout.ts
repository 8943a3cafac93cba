// Lays the picture out with ELK's layered algorithm (left to right) and draws every arrow along the
// route ELK computed: orthogonal segments that go around nodes, with the label where ELK made room for it.
import type { Core, EdgeSingular, NodeSingular } from 'cytoscape';
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';

export const NODE = { width: 64, height: 42, font: 15 };
export const EDGE_FONT = 12;
/** An admin or baseline policy's band: its height, label size, the marks at the nodes it selects, and the gaps around it. */
export const BAND = { height: 36, font: 15, tick: 8, gap: 8 };
const LABEL_FONT = 'system-ui, sans-serif';

let ctx: CanvasRenderingContext2D | null | undefined;
function textWidth(text: string, px: number, bold = false): number {
  ctx ??= document.createElement('canvas').getContext('2d');
  if (!ctx) return text.length * px * 0.6;
  ctx.font = `${bold ? 'bold ' : ''}${px}px ${LABEL_FONT}`;
  return Math.max(...text.split('\n').map((l) => ctx!.measureText(l).width));
}

/** The size a node's label takes under it (Cytoscape wraps only at spaces and newlines). */
export function nodeLabelSize(label: string): { width: number; height: number } {
  return { width: Math.ceil(textWidth(label, NODE.font)) + 8, height: label.split('\n').length * Math.ceil(NODE.font * 1.25) + 8 };
}

export function edgeLabelSize(label: string): { width: number; height: number } {
  return { width: Math.ceil(textWidth(label, EDGE_FONT, true)) + 10, height: EDGE_FONT + 8 };
}

const elk = new ELK();

/**
 * Positions the nodes `.vertex`, routes the arrows `.routed` and places their label nodes
 * (`l:<arrow id>`); entry nodes (`.entry`) go in the first layer.
 */
export async function layoutGraph(cy: Core, aspectRatio: number): Promise<void> {
  const vertices = cy.nodes('.vertex');
  const routed = cy.edges('.routed');
  const graph: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.aspectRatio': String(aspectRatio),
      'elk.layered.layering.strategy': 'LONGEST_PATH_SOURCE',
      'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
      'elk.layered.spacing.nodeNodeBetweenLayers': '32',
      'elk.layered.spacing.edgeNodeBetweenLayers': '16',
      'elk.layered.spacing.edgeEdgeBetweenLayers': '10',
      'elk.spacing.nodeNode': '26',
      'elk.spacing.edgeNode': '14',
      'elk.spacing.edgeEdge': '10',
      'elk.spacing.edgeLabel': '2',
      'elk.spacing.labelNode': '4',
      'elk.spacing.componentComponent': '40',
      'elk.padding': '[top=20,left=20,bottom=20,right=20]',
    },
    children: vertices.map((n: NodeSingular) => {
      const size = nodeLabelSize(n.data('label') as string);
      return {
        id: n.id(),
        width: NODE.width,
        height: NODE.height,
        labels: [{ text: n.data('label') as string, ...size }],
        layoutOptions: {
          'elk.nodeLabels.placement': 'OUTSIDE V_BOTTOM H_CENTER',
          ...(n.hasClass('entry') ? { 'elk.layered.layering.layerConstraint': 'FIRST' } : n.hasClass('exit') ? { 'elk.layered.layering.layerConstraint': 'LAST' } : {}),
        },
      };
    }),
    edges: routed.map(
      (e: EdgeSingular): ElkExtendedEdge => ({
        id: e.id(),
        sources: [e.data('source') as string],
        targets: [e.data('target') as string],
        labels: [{ id: `l:${e.id()}`, text: e.data('label') as string, ...edgeLabelSize(e.data('label') as string), layoutOptions: { 'elk.edgeLabels.placement': 'CENTER', 'elk.edgeLabels.inline': 'true' } }],
      }),
    ),
  };
  const laid = await elk.layout(graph);
  const centres = new Map<string, { x: number; y: number }>();
  for (const c of laid.children ?? []) centres.set(c.id, { x: c.x! + c.width! / 2, y: c.y! + c.height! / 2 });
  cy.batch(() => {
    vertices.forEach((n: NodeSingular) => {
      const p = centres.get(n.id());
      if (p) n.position(p);
    });
    for (const le of laid.edges ?? []) {
      const e = cy.getElementById(le.id);
      const section = le.sections?.[0];
      if (e.empty() || !section) continue;
      const s = centres.get(le.sources[0])!;
      const t = centres.get(le.targets[0])!;
      const vx = t.x - s.x;
      const vy = t.y - s.y;
      const l2 = vx * vx + vy * vy || 1;
      const l = Math.sqrt(l2);
      // Cytoscape places a segment point at weight w along source->target and distance d along its normal (-vy, vx)/l.
      const bends = section.bendPoints ?? [];
      const weights = bends.map((p) => ((p.x - s.x) * vx + (p.y - s.y) * vy) / l2);
      const distances = bends.map((p) => ((p.x - s.x) * -vy + (p.y - s.y) * vx) / l);
      e.style({
        'curve-style': bends.length > 0 ? 'segments' : 'straight',
        'edge-distances': 'node-position',
        'segment-weights': bends.length > 0 ? weights : [0.5],
        'segment-distances': bends.length > 0 ? distances : [0],
        'source-endpoint': `${section.startPoint.x - s.x}px ${section.startPoint.y - s.y}px`,
        'target-endpoint': `${section.endPoint.x - t.x}px ${section.endPoint.y - t.y}px`,
      });
      const label = le.labels?.[0];
      const ln = cy.getElementById(`l:${le.id}`);
      if (label && ln.nonempty()) ln.position({ x: label.x! + label.width! / 2, y: label.y! + label.height! / 2 });
    }
  });
}

/**
 * Places the bands of admin and baseline policies (`.band`, laid out after the picture): the Admin
 * tier's in rows above it, the first evaluated at the top, and the Baseline tier's in rows below it,
 * the first evaluated nearest; each spans the nodes it selects (the whole picture when it selects
 * none drawn) and marks each of them (`.band-tick` nodes, pointing toward the picture).
 */
export function placeBands(cy: Core): void {
  const bands = cy.nodes('.band');
  if (bands.empty()) return;
  const drawn = cy.elements().not('.band, .band-tick').boundingBox({});
  const byOrder = (tier: string): NodeSingular[] =>
    bands.filter((b) => b.data('tier') === tier).toArray().sort((a, b) => (a.data('order') as number) - (b.data('order') as number)) as NodeSingular[];
  const admin = byOrder('Admin');
  const baseline = byOrder('Baseline');
  const row = BAND.height + BAND.gap;
  cy.batch(() => {
    const place = (band: NodeSingular, y: number, ticksBelow: boolean): void => {
      const members = (band.data('members') as string[]).map((id) => cy.getElementById(id)).filter((n) => n.nonempty());
      const xs = members.map((n) => n.position('x'));
      const [x1, x2] = xs.length > 0 ? [Math.min(...xs) - NODE.width / 2 - 10, Math.max(...xs) + NODE.width / 2 + 10] : [drawn.x1, drawn.x2];
      const width = Math.max(x2 - x1, Math.ceil(textWidth(band.data('label') as string, BAND.font, true)) + 24);
      // A band wider than what it spans (its label) stays within the picture's width where it can, so it does not make the fit smaller.
      let left = (x1 + x2) / 2 - width / 2;
      if (width <= drawn.w) left = Math.min(Math.max(left, drawn.x1), drawn.x2 - width);
      band.data('w', width);
      band.position({ x: left + width / 2, y });
      for (const n of members) {
        cy.getElementById(`t:${band.id()}|${n.id()}`).position({ x: n.position('x'), y: ticksBelow ? y + BAND.height / 2 - BAND.tick / 2 - 2 : y - BAND.height / 2 + BAND.tick / 2 + 2 });
      }
    };
    admin.forEach((b, i) => place(b, drawn.y1 - BAND.gap - BAND.height / 2 - (admin.length - 1 - i) * row, true));
    baseline.forEach((b, i) => place(b, drawn.y2 + BAND.gap + BAND.height / 2 + i * row, false));
  });
}
