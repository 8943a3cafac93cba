// Pure: a compiled cluster -> the JSON views the page draws. Every answer is the engine's
// (matrices over classes, verdicts, explanations); this file only reshapes them.
import {
  adminPoliciesSelecting,
  computeClasses,
  computeMatrix,
  declaredPorts,
  describeRule,
  evaluateConnection,
  explainEndpoints,
  externalAccess,
  formatPolicyRef,
  formatAdminPolicyRef,
  formatAdminRuleRef,
  formatRuleRef,
  hasAdminPolicies,
  describeVerdictSide,
  isolatingPolicies,
  policySelects,
  type AdminRuleRef,
  type CompiledCluster,
  type DirectionExplanation,
  type DirectionVerdict,
  type EndpointClasses,
  type RuleRef,
} from '../engine/index.js';
import { networkPolicyManifest, type Endpoint, type Protocol } from '../model/index.js';
import { stringify } from 'yaml';
import { adminPolicyId, adminPolicyViews, adminRuleView } from './admin.js';
import {
  OUTSIDE,
  type AdminTierName,
  type CheckView,
  type DirectionView,
  type EndpointView,
  type ExplainView,
  type FlowKey,
  type FlowTierView,
  type FlowView,
  type MatrixView,
  type ModelView,
  type PortView,
  type RuleView,
  type SideView,
} from './types.js';

/** Blocked connections drawn at most; more would make the picture unreadable and slow. */
export const DENIED_LIMIT = 2000;

export function policyYaml(compiled: CompiledCluster, id: string): string | undefined {
  const p = compiled.policies.find((x) => formatPolicyRef(x.ref) === id);
  return p ? stringify(networkPolicyManifest(p.policy)) : undefined;
}

export function endpointView(compiled: CompiledCluster, e: Endpoint): EndpointView {
  const isolated = (d: 'Ingress' | 'Egress'): boolean => !e.hostNetwork && isolatingPolicies(compiled, e, d).length > 0;
  return {
    id: e.id,
    kind: e.kind,
    namespace: e.namespace,
    name: e.name,
    labels: e.labels,
    ports: e.ports.map((p) => ({ port: p.containerPort, protocol: p.protocol, ...(p.name ? { name: p.name } : {}) })),
    ips: e.ips,
    hostNetwork: e.hostNetwork,
    isolation: { ingress: isolated('Ingress'), egress: isolated('Egress') },
    selectedBy: compiled.policies.filter((p) => policySelects(p, e)).map((p) => formatPolicyRef(p.ref)),
  };
}

function ruleView(compiled: CompiledCluster, ref: RuleRef): RuleView {
  const policy = compiled.policies.find((p) => p.ref.namespace === ref.policy.namespace && p.ref.name === ref.policy.name);
  const rule = policy?.rules[ref.direction].find((r) => r.index === ref.index);
  const words = rule ? describeRule(rule) : { peers: '?', ports: '?' };
  return { ref: formatRuleRef(ref), policy: formatPolicyRef(ref.policy), direction: ref.direction, index: ref.index, ...words };
}

const flowKey = (from: string, to: string, p: PortView): string => `${from}|${to}|${p.port}/${p.protocol}`;

/** Every allowed (or blocked) connection between endpoints on the destination's declared ports. */
export function endpointFlows(compiled: CompiledCluster, classes: EndpointClasses = computeClasses(compiled)): { allowed: FlowKey[]; denied: FlowKey[] } {
  const endpoints = compiled.cluster.endpoints;
  const allowed: FlowKey[] = [];
  const denied: FlowKey[] = [];
  for (const target of declaredPorts(endpoints)) {
    const m = computeMatrix(compiled, target, classes);
    endpoints.forEach((dst, j) => {
      if (!dst.ports.some((p) => p.containerPort === target.port && p.protocol === target.protocol)) return;
      endpoints.forEach((src, i) => {
        if (i === j) return; // a pod to itself never leaves the pod
        (m.allowed(i, j) ? allowed : denied).push({ from: src.id, to: dst.id, port: target.port, protocol: target.protocol });
      });
    });
  }
  return { allowed, denied };
}

/** The tier and rules that decided one connection, when an admin or baseline rule did (`undefined`: NetworkPolicy or the default). */
type TierOf = (key: FlowKey) => { tier: AdminTierName; rules: string[] } | undefined;

/**
 * Which admin or baseline rule decided each connection: for an allowed one, the sides an Accept/Allow
 * let through; for a blocked one, the sides that denied it. Verdicts are asked once per pair of
 * endpoint classes and port, as the matrix does (members of a class answer every rule alike).
 */
function connectionTiers(compiled: CompiledCluster, classes: EndpointClasses): TierOf {
  const index = new Map(compiled.cluster.endpoints.map((e, i) => [e.id, i]));
  const seen = new Map<string, ReturnType<TierOf>>();
  return (k) => {
    const i = index.get(k.from)!;
    const j = index.get(k.to)!;
    const key = `${classes.classOf[i]}|${classes.classOf[j]}|${k.port}/${k.protocol}`;
    if (seen.has(key)) return seen.get(key);
    const v = evaluateConnection(compiled, {
      source: { kind: 'endpoint', endpoint: compiled.cluster.endpoints[i] },
      destination: { kind: 'endpoint', endpoint: compiled.cluster.endpoints[j] },
      port: k.port,
      protocol: k.protocol,
    });
    const sides = [v.egress, v.ingress].filter((s) => (v.allowed || !s.allowed) && (s.tier === 'Admin' || s.tier === 'Baseline') && s.decidedBy);
    const answer = sides.length === 0 ? undefined : { tier: sides.some((s) => s.tier === 'Admin') ? ('Admin' as const) : ('Baseline' as const), rules: sides.map((s) => formatAdminRuleRef(s.decidedBy!)) };
    seen.set(key, answer);
    return answer;
  };
}

function groupFlows(keys: readonly FlowKey[], allowed: boolean, tierOf?: TierOf): FlowView[] {
  const byPair = new Map<string, { from: string; to: string; ports: PortView[]; tiers: FlowTierView[] }>();
  for (const k of keys) {
    const pair = `${k.from}|${k.to}`;
    let f = byPair.get(pair);
    if (!f) byPair.set(pair, (f = { from: k.from, to: k.to, ports: [], tiers: [] }));
    f.ports.push({ port: k.port, protocol: k.protocol });
    const decided = tierOf?.(k);
    if (decided) f.tiers.push({ port: k.port, protocol: k.protocol, ...decided });
  }
  return [...byPair.values()]
    .map((f): FlowView => ({
      id: `${allowed ? 'a' : 'd'}:${f.from}->${f.to}`,
      from: f.from,
      to: f.to,
      allowed,
      ports: f.ports.sort(comparePorts),
      ...(f.tiers.length > 0 ? { tier: f.tiers.some((t) => t.tier === 'Admin') ? 'Admin' : 'Baseline', tiers: f.tiers.sort(comparePorts) } : {}),
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function comparePorts(a: PortView, b: PortView): number {
  return a.port - b.port || (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0);
}

/** Flows with addresses outside the cluster: into endpoints (un-isolated or admitted by a rule), and out by explicit rules. */
function outsideFlows(compiled: CompiledCluster): FlowView[] {
  const out: FlowView[] = [];
  for (const e of compiled.cluster.endpoints) {
    const ingress = externalAccess(compiled, e, 'Ingress');
    if (ingress.ports.length > 0) {
      const via = ingress.open
        ? [e.hostNetwork ? 'hostNetwork: not subject to NetworkPolicy' : 'not isolated for ingress: any source may connect']
        : [...new Set(ingress.ports.flatMap((p) => p.allowedBy.map((r) => `${formatRuleRef(r)} allows from ${p.peers.join('; or ')}`)))];
      out.push({ id: `a:${OUTSIDE}->${e.id}`, from: OUTSIDE, to: e.id, allowed: true, ports: ingress.ports.map((p) => ({ port: p.port, protocol: p.protocol })), via });
    }
    const egress = externalAccess(compiled, e, 'Egress');
    if (!egress.open && egress.rules.length > 0) {
      out.push({
        id: `a:${e.id}->${OUTSIDE}`,
        from: e.id,
        to: OUTSIDE,
        allowed: true,
        ports: [],
        portsText: [...new Set(egress.rules.map((r) => r.ports))].join('; '),
        via: egress.rules.map((r) => `${formatRuleRef(r.rule)} allows to ${r.peers}, on ${r.ports}`),
      });
    }
  }
  return out;
}

export function modelView(compiled: CompiledCluster, meta: { source: 'files' | 'lab'; title: string; version: number }): ModelView {
  const { cluster } = compiled;
  const classes = computeClasses(compiled);
  const flows = endpointFlows(compiled, classes);
  const admin = hasAdminPolicies(compiled);
  const tierOf = admin ? connectionTiers(compiled, classes) : undefined;
  const denied = groupFlows(flows.denied, false, tierOf);
  return {
    ...meta,
    namespaces: cluster.namespaces.map((n) => ({ name: n.name, labels: n.labels, declared: n.declared })),
    endpoints: cluster.endpoints.map((e) => endpointView(compiled, e)),
    policies: compiled.policies.map((p) => ({
      id: formatPolicyRef(p.ref),
      namespace: p.ref.namespace,
      name: p.ref.name,
      policyTypes: p.policy.spec.policyTypes,
      yaml: stringify(networkPolicyManifest(p.policy)),
      selects: cluster.endpoints.filter((e) => policySelects(p, e)).map((e) => e.id),
    })),
    ports: declaredPorts(cluster.endpoints),
    flows: [...groupFlows(flows.allowed, true, tierOf), ...outsideFlows(compiled)],
    denied: denied.slice(0, DENIED_LIMIT),
    deniedOmitted: Math.max(0, denied.length - DENIED_LIMIT),
    ...(admin ? { adminPolicies: adminPolicyViews(compiled) } : {}),
  };
}

export function matrixView(compiled: CompiledCluster, target: { port: number; protocol: Protocol }): MatrixView {
  const endpoints = compiled.cluster.endpoints;
  const m = computeMatrix(compiled, target);
  return {
    port: target.port,
    protocol: target.protocol,
    pods: endpoints.map((e) => e.id),
    allowed: endpoints.map((_, i) => endpoints.map((__, j) => m.allowed(i, j))),
  };
}

function sideView(compiled: CompiledCluster, v: DirectionVerdict, who: string): SideView {
  const side: SideView = {
    direction: v.direction,
    allowed: v.allowed,
    isolated: v.isolated,
    ...(v.notSubject ? { notSubject: v.notSubject } : {}),
    isolatingPolicies: v.isolatingPolicies.map(formatPolicyRef),
    allowedBy: v.allowedBy.map((r) => ruleView(compiled, r)),
    notes: v.notes,
  };
  if (!hasAdminPolicies(compiled)) return side;
  const rule = (r: AdminRuleRef) => adminRuleView(compiled, r);
  return {
    ...side,
    tier: v.tier,
    ...(v.decidedBy ? { decidedBy: rule(v.decidedBy) } : {}),
    passedBy: v.passedBy.map(rule),
    words: describeVerdictSide(compiled, v, who, ''),
  };
}

export function checkView(compiled: CompiledCluster, from: Endpoint, to: Endpoint, target: { port: number; protocol: Protocol }): CheckView {
  const verdict = evaluateConnection(compiled, {
    source: { kind: 'endpoint', endpoint: from },
    destination: { kind: 'endpoint', endpoint: to },
    port: target.port,
    protocol: target.protocol,
  });
  return {
    from: from.id,
    to: to.id,
    port: target.port,
    protocol: target.protocol,
    allowed: verdict.allowed,
    egress: sideView(compiled, verdict.egress, from.id),
    ingress: sideView(compiled, verdict.ingress, to.id),
  };
}

function directionView(compiled: CompiledCluster, e: Endpoint, d: DirectionExplanation): DirectionView {
  const outside = externalAccess(compiled, e, d.direction);
  const tiers = hasAdminPolicies(compiled)
    ? {
        admin: d.admin.flatMap((p) => p.rules.map((r) => adminRuleView(compiled, r.rule))),
        baseline: d.baseline.flatMap((p) => p.rules.map((r) => adminRuleView(compiled, r.rule))),
      }
    : {};
  return {
    direction: d.direction,
    isolated: d.isolated,
    isolatingPolicies: d.isolatingPolicies.map(formatPolicyRef),
    rules: d.rules.map((r) => ({ ref: formatRuleRef(r.rule), policy: formatPolicyRef(r.rule.policy), direction: r.rule.direction, index: r.rule.index, peers: r.peers, ports: r.ports })),
    reach: d.reach.map((r) => ({ endpoint: r.endpoint, ports: r.ports.map((p) => ({ port: p.port, protocol: p.protocol })) })),
    outside: { open: outside.open, rules: outside.rules.map((r) => ({ ...ruleView(compiled, r.rule), peers: r.peers, ports: r.ports })) },
    ...tiers,
  };
}

export function explainView(compiled: CompiledCluster, e: Endpoint): ExplainView {
  const [x] = explainEndpoints(compiled, [e]);
  const admin = [...adminPoliciesSelecting(compiled, e, 'Admin'), ...adminPoliciesSelecting(compiled, e, 'Baseline')];
  return {
    endpoint: endpointView(compiled, e),
    hostNetwork: x.hostNetwork,
    selectedBy: x.selectedBy.map((s) => ({ policy: formatPolicyRef(s.policy), policyTypes: s.policyTypes })),
    ...(hasAdminPolicies(compiled)
      ? { adminSelectedBy: admin.map((p) => ({ policy: adminPolicyId(p.ref), ref: formatAdminPolicyRef(p.ref), tier: p.ref.tier })) }
      : {}),
    ingress: directionView(compiled, e, x.ingress),
    egress: directionView(compiled, e, x.egress),
  };
}

/** The flows one model allows and the other does not, both ways (endpoint flows and outside flows). */
export function diffFlows(before: CompiledCluster, after: CompiledCluster): { opened: FlowKey[]; closed: FlowKey[] } {
  const keys = (c: CompiledCluster): Map<string, FlowKey> => {
    const map = new Map<string, FlowKey>();
    for (const k of endpointFlows(c).allowed) map.set(flowKey(k.from, k.to, k), k);
    for (const f of outsideFlows(c)) for (const p of f.ports) map.set(flowKey(f.from, f.to, p), { from: f.from, to: f.to, ...p });
    return map;
  };
  const a = keys(before);
  const b = keys(after);
  const only = (x: Map<string, FlowKey>, y: Map<string, FlowKey>): FlowKey[] =>
    [...x.entries()].filter(([k]) => !y.has(k)).sort(([k1], [k2]) => (k1 < k2 ? -1 : 1)).map(([, v]) => v);
  return { opened: only(b, a), closed: only(a, b) };
}
