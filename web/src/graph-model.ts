// What the picture draws, before any layout: endpoints (or groups of them) as nodes, and one arrow
// per ordered pair with all its ports in one label. Pure (no DOM), so it is tested without a browser.
import { OUTSIDE, type AdminPolicyView, type AdminTierName, type EndpointView, type FlowView, type ModelView, type PortView } from '../../src/web/types.js';

/** The pseudo-endpoint for "every pod not isolated for egress": one arrow instead of one from each such pod. */
export const ANY_POD = 'any-pod';
/** Outside the cluster as a destination: drawn at the right, so egress reads left to right too. */
export const OUTSIDE_EGRESS = 'outside-egress';
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
  /** Set when an admin or baseline rule decided some of its drawn ports (Admin over Baseline). */
  tier?: AdminTierName;
  /** Those rules, in the CLI's words, each once. */
  tierRules: string[];
}

/**
 * An admin or baseline policy drawn as a band across the nodes its subject selects: the Admin tier's
 * above the picture, the Baseline tier's below it, each tier in evaluation order.
 */
export interface GraphBand {
  /** `b:<policy id>` */
  id: string;
  policy: AdminPolicyView;
  label: string;
  /** The drawn nodes (endpoints or their groups) standing for the endpoints it selects. */
  members: string[];
}

export interface GraphModel {
  nodes: GraphNode[];
  arrows: GraphArrow[];
  bands: GraphBand[];
  /** Flows inside a collapsed group (not drawn), per group id. */
  inside: Map<string, number>;
  /** Denied arrows left out because no node is focused. */
  deniedHidden: number;
}

const portKey = (p: PortView): string => `${p.port}/${p.protocol}`;
export const portLabel = (p: PortView): string => (p.protocol === 'TCP' ? String(p.port) : portKey(p));

/** The tier an arrow's label names after its ports: `3306 · Admin`. */
export const tierLabel = (label: string, tier: AdminTierName | undefined): string => (tier ? `${label} · ${tier}` : label);

/** A band's label: the policy, its tier and priority (a BaselineAdminNetworkPolicy has none), and how many endpoints it selects. */
export function bandLabel(p: AdminPolicyView): string {
  const priority = p.priority === undefined ? '' : `, priority ${p.priority}`;
  const selects = p.selects.length === 0 ? 'selects no pod' : `${p.selects.length} pod${p.selects.length === 1 ? '' : 's'}`;
  return `${p.kind}/${p.name} · ${p.tier}${priority} · ${selects}`;
}

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
 * Folds "many pods reach D on p" into one arrow from ANY_POD: when every other pod does, all of them;
 * else when every pod not isolated for egress does (three or more), those, and pods isolated for egress
 * keep their own arrows (theirs are the interesting ones). Egress to outside the cluster that every
 * pod has alike is folded the same way. The arrow's flows keep the list.
 */
export function foldAnyPod(model: ModelView): FlowView[] {
  const pods = model.endpoints.map((e) => e.id);
  const open = new Set(model.endpoints.filter((e) => !e.isolation.egress).map((e) => e.id));
  if (pods.length < 4) return [...model.flows];
  const reach = new Map<string, Map<string, Set<string>>>(); // to -> port -> sources
  for (const f of model.flows) {
    if (f.from === OUTSIDE || f.to === OUTSIDE) continue;
    const byPort = reach.get(f.to) ?? new Map<string, Set<string>>();
    reach.set(f.to, byPort);
    for (const p of f.ports) byPort.set(portKey(p), (byPort.get(portKey(p)) ?? new Set()).add(f.from));
  }
  const mode = new Map<string, 'all' | 'open'>(); // `to|port`
  for (const [to, byPort] of reach) {
    const openOthers = [...open].filter((id) => id !== to);
    for (const [k, from] of byPort) {
      if (from.size === pods.length - 1) mode.set(`${to}|${k}`, 'all');
      else if (openOthers.length >= 3 && openOthers.every((id) => from.has(id))) mode.set(`${to}|${k}`, 'open');
    }
  }
  const folds = (f: FlowView, p: PortView): boolean => {
    const m = f.from === OUTSIDE ? undefined : mode.get(`${f.to}|${portKey(p)}`);
    return m === 'all' || (m === 'open' && open.has(f.from));
  };
  const egress = model.flows.filter((f) => f.to === OUTSIDE);
  const sameEgress = egress.length === pods.length && egress.length >= 4 && egress.every((f) => f.portsText === egress[0].portsText);
  const out: FlowView[] = [];
  const anyTo = new Map<string, FlowView[]>();
  for (const f of model.flows) {
    if (sameEgress && f.to === OUTSIDE) {
      anyTo.set(OUTSIDE, [...(anyTo.get(OUTSIDE) ?? []), f]);
      continue;
    }
    const rest = f.ports.filter((p) => !folds(f, p));
    // Each part keeps the tiers of its own ports.
    const only = (ports: readonly PortView[]): Partial<FlowView> => {
      if (!f.tiers) return {};
      const tiers = f.tiers.filter((t) => ports.some((p) => portKey(p) === portKey(t)));
      return tiers.length ? { tier: tiers.some((t) => t.tier === 'Admin') ? 'Admin' : 'Baseline', tiers } : { tier: undefined, tiers: undefined };
    };
    const folded = f.ports.filter((p) => folds(f, p));
    if (rest.length < f.ports.length) anyTo.set(f.to, [...(anyTo.get(f.to) ?? []), { ...f, ports: folded, ...only(folded) }]);
    if (rest.length > 0 || f.ports.length === 0) out.push(rest.length === f.ports.length ? f : { ...f, ports: rest, ...only(rest) });
  }
  for (const [to, flows] of [...anyTo.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const ports = new Map<string, PortView>();
    for (const f of flows) for (const p of f.ports) ports.set(portKey(p), p);
    const portsText = to === OUTSIDE ? flows[0].portsText : undefined;
    const tiers = flows.flatMap((f) => f.tiers ?? []);
    out.push({
      id: `a:${ANY_POD}->${to}`,
      from: ANY_POD,
      to,
      allowed: true,
      ports: [...ports.values()],
      ...(portsText !== undefined ? { portsText } : {}),
      ...(tiers.length > 0 ? { tier: tiers.some((t) => t.tier === 'Admin') ? 'Admin' : 'Baseline', tiers } : {}),
      via: flows.map((f) => `${f.from} on ${f.portsText ?? f.ports.map(portLabel).join(', ')}`),
    });
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
  const targetOf = (id: string): string => (id === OUTSIDE ? OUTSIDE_EGRESS : nodeOf(id));

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
    const target = targetOf(f.to);
    if (source === target) {
      inside.set(source, (inside.get(source) ?? 0) + 1);
      continue;
    }
    const id = `${kind === 'allowed' ? 'a' : kind === 'denied' ? 'd' : 'c'}:${source}->${target}`;
    let a = arrows.get(id);
    if (!a) arrows.set(id, (a = { id, source, target, kind, label: '', fullLabel: '', ports: [], flows: [], opened: false, differs: false, texts: [], tierRules: [] }));
    a.flows.push(f);
    for (const t of f.tiers ?? []) {
      if (!ports.some((p) => portKey(p) === portKey(t))) continue;
      if (a.tier !== 'Admin') a.tier = t.tier;
      for (const r of t.rules) if (!a.tierRules.includes(r)) a.tierRules.push(r);
    }
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
    out.push({ ...arrow, label: tierLabel(short, a.tier), fullLabel: full });
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
  if (used.has(OUTSIDE_EGRESS)) nodes.push({ id: OUTSIDE_EGRESS, label: 'outside the cluster', kind: 'outside', members: [] });
  if (used.has(OUTSIDE)) nodes.unshift({ id: OUTSIDE, label: 'outside the cluster', kind: 'outside', members: [] });
  const drawn = new Set(nodes.map((n) => n.id));
  const bands = (model.adminPolicies ?? []).map((p) => ({
    id: `b:${p.id}`,
    policy: p,
    label: bandLabel(p),
    members: [...new Set(p.selects.map(nodeOf))].filter((id) => drawn.has(id)),
  }));
  return { nodes, arrows: out, bands, inside, deniedHidden };
}
