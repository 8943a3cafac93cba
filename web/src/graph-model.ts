// What the picture draws, before any layout: endpoints (or groups of them) as nodes, and one arrow
// per ordered pair with all its ports in one label. Pure (no DOM), so it is tested without a browser.
import { OUTSIDE, type EndpointView, type FlowView, type ModelView, type PortView } from '../../src/web/types.js';

/** The pseudo-endpoint for "every pod in the cluster": one arrow instead of one from each pod. */
export const ANY_POD = 'any-pod';
/** Past this many ports an arrow's label says "N ports" (the full list on hover and click). */
export const PORTS_SHOWN = 3;
/** Denied arrows drawn without a focused node; past it only the focused node's are drawn. */
export const DENIED_UNFOCUSED = 40;

export type Grouping = 'none' | 'namespace' | 'app';
export type ArrowKind = 'allowed' | 'denied' | 'closed';

export interface GraphOptions {
  namespace: string;
  port: string;
  protocol: string;
  showDenied: boolean;
  grouping: Grouping;
  /** Group ids the reader expanded back into their endpoints. */
  expanded: ReadonlySet<string>;
  /** The focused node: with it, show denied draws only its denied arrows. */
  focus?: string;
  opened: readonly { from: string; to: string; port: number; protocol: string }[];
  closed: readonly { from: string; to: string; port: number; protocol: string }[];
  probeDiffers: ReadonlySet<string>;
}

export interface GraphNode {
  id: string;
  label: string;
  kind: 'endpoint' | 'outside' | 'any' | 'group';
  /** Endpoint ids it stands for (itself for an endpoint). */
  members: string[];
  endpoint?: EndpointView;
}

export interface GraphArrow {
  id: string;
  source: string;
  target: string;
  kind: ArrowKind;
  /** The label drawn: the ports, or "N ports". */
  label: string;
  /** Every port, for the tooltip and the details. */
  fullLabel: string;
  ports: PortView[];
  /** The flows it stands for (one, unless aggregated). */
  flows: FlowView[];
  opened: boolean;
  differs: boolean;
}

export interface GraphModel {
  nodes: GraphNode[];
  arrows: GraphArrow[];
  /** Flows inside a collapsed group (not drawn), per group id. */
  inside: Map<string, number>;
  /** Denied arrows left out because no node is focused. */
  deniedHidden: number;
}

const portKey = (p: PortView): string => `${p.port}/${p.protocol}`;
export const portLabel = (p: PortView): string => (p.protocol === 'TCP' ? String(p.port) : portKey(p));

export function portsLabel(ports: readonly PortView[], texts: readonly string[] = []): { short: string; full: string } {
  const words = [...ports.map(portLabel), ...texts];
  const full = words.join(', ');
  return { short: words.length > PORTS_SHOWN ? `${words.length} ports` : full, full };
}

/** The value endpoints are grouped by: their namespace, or the app their labels name. */
export function groupKey(e: EndpointView, grouping: Grouping): string | undefined {
  if (grouping === 'namespace') return `ns:${e.namespace}`;
  if (grouping === 'app') {
    const l = e.labels;
    const app = l['app.kubernetes.io/part-of'] ?? l['app.kubernetes.io/instance'] ?? l['app.kubernetes.io/name'] ?? l.app ?? l['k8s-app'] ?? l.name;
    return `app:${e.namespace}/${app ?? e.name}`;
  }
  return undefined;
}

/**
 * Folds "every other pod reaches D on p" into one arrow from ANY_POD (when there are at least three
 * other pods): a pod open to the whole cluster otherwise draws an arrow from every pod.
 */
export function foldAnyPod(model: ModelView): FlowView[] {
  const pods = model.endpoints.map((e) => e.id);
  if (pods.length < 4) return [...model.flows];
  const reach = new Map<string, Map<string, Set<string>>>(); // to -> port -> sources
  for (const f of model.flows) {
    if (f.from === OUTSIDE || f.to === OUTSIDE) continue;
    const byPort = reach.get(f.to) ?? new Map<string, Set<string>>();
    reach.set(f.to, byPort);
    for (const p of f.ports) byPort.set(portKey(p), (byPort.get(portKey(p)) ?? new Set()).add(f.from));
  }
  const everyone = new Map<string, PortView[]>();
  for (const [to, byPort] of reach) {
    const ports = [...byPort.entries()].filter(([, from]) => from.size === pods.length - 1).map(([k]) => k);
    if (ports.length > 0) everyone.set(to, ports.map((k) => ({ port: Number(k.split('/')[0]), protocol: k.split('/')[1] as PortView['protocol'] })));
  }
  const out: FlowView[] = [];
  for (const f of model.flows) {
    const folded = f.from !== OUTSIDE ? everyone.get(f.to) : undefined;
    if (!folded) {
      out.push(f);
      continue;
    }
    const rest = f.ports.filter((p) => !folded.some((q) => portKey(q) === portKey(p)));
    if (rest.length > 0) out.push({ ...f, ports: rest });
  }
  for (const [to, ports] of [...everyone.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out.push({ id: `a:${ANY_POD}->${to}`, from: ANY_POD, to, allowed: true, ports, via: ['every other pod in the cluster may connect'] });
  }
  return out;
}

function nodeLabel(e: EndpointView): string {
  return e.name;
}

export function graphModel(model: ModelView, o: GraphOptions): GraphModel {
  const inNamespace = (id: string): boolean => o.namespace === '' || id === OUTSIDE || id === ANY_POD || id.startsWith(`${o.namespace}/`);
  const visible = (ports: readonly PortView[]): PortView[] =>
    ports.filter((p) => (o.port === '' || portKey(p) === o.port) && (o.protocol === '' || p.protocol === o.protocol));

  // Which node stands for each endpoint: itself, or its group (a group of one is the endpoint).
  const members = new Map<string, EndpointView[]>();
  for (const e of model.endpoints) {
    const key = groupKey(e, o.grouping);
    if (key !== undefined && !o.expanded.has(`g:${key}`)) members.set(`g:${key}`, [...(members.get(`g:${key}`) ?? []), e]);
  }
  const shownAs = new Map<string, string>();
  for (const [g, es] of members) if (es.length > 1) for (const e of es) shownAs.set(e.id, g);
  const nodeOf = (id: string): string => shownAs.get(id) ?? id;

  const flows: { f: FlowView; kind: ArrowKind }[] = foldAnyPod(model).map((f) => ({ f, kind: 'allowed' }));
  let deniedHidden = 0;
  if (o.showDenied) {
    const touches = (f: FlowView): boolean => o.focus !== undefined && (nodeOf(f.from) === o.focus || nodeOf(f.to) === o.focus || f.from === o.focus || f.to === o.focus);
    const all = o.focus === undefined && model.denied.length <= DENIED_UNFOCUSED;
    for (const f of model.denied) {
      if (all || touches(f)) flows.push({ f, kind: 'denied' });
      else deniedHidden++;
    }
  }
  const closedByPair = new Map<string, PortView[]>();
  for (const k of o.closed) closedByPair.set(`${k.from}|${k.to}`, [...(closedByPair.get(`${k.from}|${k.to}`) ?? []), { port: k.port, protocol: k.protocol as PortView['protocol'] }]);
  for (const [pair, ports] of closedByPair) {
    const [from, to] = pair.split('|');
    flows.push({ f: { id: `c:${from}->${to}`, from, to, allowed: false, ports }, kind: 'closed' });
  }

  const opened = new Set(o.opened.map((k) => `${k.from}|${k.to}|${k.port}/${k.protocol}`));
  const arrows = new Map<string, GraphArrow & { texts: string[] }>();
  const inside = new Map<string, number>();
  for (const { f, kind } of flows) {
    if (!inNamespace(f.from) && !inNamespace(f.to)) continue;
    const ports = visible(f.ports);
    if (f.portsText !== undefined ? o.port !== '' || o.protocol !== '' : ports.length === 0) continue;
    const source = nodeOf(f.from);
    const target = nodeOf(f.to);
    if (source === target) {
      inside.set(source, (inside.get(source) ?? 0) + 1);
      continue;
    }
    const id = `${kind === 'allowed' ? 'a' : kind === 'denied' ? 'd' : 'c'}:${source}->${target}`;
    let a = arrows.get(id);
    if (!a) arrows.set(id, (a = { id, source, target, kind, label: '', fullLabel: '', ports: [], flows: [], opened: false, differs: false, texts: [] }));
    a.flows.push(f);
    for (const p of ports) if (!a.ports.some((q) => portKey(q) === portKey(p))) a.ports.push(p);
    if (f.portsText !== undefined && !a.texts.includes(f.portsText)) a.texts.push(f.portsText);
    a.opened ||= ports.some((p) => opened.has(`${f.from}|${f.to}|${portKey(p)}`)) || (f.from === ANY_POD && ports.some((p) => o.opened.some((k) => k.to === f.to && `${k.port}/${k.protocol}` === portKey(p))));
    a.differs ||= o.probeDiffers.has(`${f.from}|${f.to}`);
  }
  const used = new Set<string>();
  const out: GraphArrow[] = [];
  for (const a of [...arrows.values()].sort((x, y) => (x.id < y.id ? -1 : 1))) {
    a.ports.sort((x, y) => x.port - y.port || (x.protocol < y.protocol ? -1 : 1));
    const { short, full } = portsLabel(a.ports, a.texts);
    const { texts: _texts, ...arrow } = a;
    void _texts;
    out.push({ ...arrow, label: short, fullLabel: full });
    used.add(a.source).add(a.target);
  }

  const nodes: GraphNode[] = [];
  const groupsDrawn = new Set<string>();
  for (const e of model.endpoints) {
    const id = nodeOf(e.id);
    if (id !== e.id) {
      if (groupsDrawn.has(id)) continue;
      const es = members.get(id)!;
      if (!es.some((m) => inNamespace(m.id)) && !used.has(id)) continue;
      groupsDrawn.add(id);
      const name = id.replace(/^g:(ns|app):/, '');
      nodes.push({ id, label: `${name}\n${es.length} pods`, kind: 'group', members: es.map((m) => m.id) });
      continue;
    }
    if (!inNamespace(e.id) && !used.has(e.id)) continue;
    nodes.push({ id: e.id, label: nodeLabel(e), kind: 'endpoint', members: [e.id], endpoint: e });
  }
  if (used.has(ANY_POD)) nodes.unshift({ id: ANY_POD, label: 'any pod', kind: 'any', members: [] });
  if (used.has(OUTSIDE)) nodes.unshift({ id: OUTSIDE, label: 'outside the cluster', kind: 'outside', members: [] });
  return { nodes, arrows: out, inside, deniedHidden };
}
