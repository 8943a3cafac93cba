// Judges an expectations file against the engine: each case expands into flows (every source x every
// destination x every port), each decided by evaluateConnection / evaluateServiceConnection with its
// reasons; a case passes when every flow agrees with it. `outside` means every address outside the
// cluster: it is admitted when a rule admits any source (or none isolates), partly through ipBlocks.
import {
  closestWord,
  formatLabelSelector,
  isEmptySelector,
  selectorMatches,
  type Endpoint,
  type ExpectationCase,
  type ExpectedPeer,
  type Expectations,
  type FieldPath,
  type Protocol,
  type Service,
} from '../model/index.js';
import type { CompiledCluster } from './compile.js';
import { describePeer, describeVerdictSide, formatPolicyRef, formatRuleRef } from './describe.js';
import { cellsAdmission, describeAddresses, outsideCells, tiersMatchOutside, unionAddresses, NO_ADDRESSES, type AddressSet } from './external.js';
import { evaluateConnection, isolatingPolicies } from './evaluate.js';
import { portMatches } from './match.js';
import { resolveTarget } from './resolve.js';
import { destinationNotes, evaluateServiceConnection, exposedOutside, findServicePort, formatServicePort, serviceId, serviceSources } from './services.js';
import type { Direction, DirectionVerdict, RuleRef, TrafficPeer } from './types.js';

/** What the engine says of one flow: allowed, denied, or allowed only for some backends or outside addresses. */
export type FlowVerdict = 'allowed' | 'denied' | 'partly';

/** One end of a flow once names and selectors are resolved. */
export type FlowEnd =
  | { readonly kind: 'endpoint'; readonly endpoint: Endpoint }
  /** Every address outside the cluster. */
  | { readonly kind: 'outside' }
  /** One address outside the cluster. */
  | { readonly kind: 'address'; readonly ip: string }
  | { readonly kind: 'service'; readonly service: Service };

export interface FlowCheck {
  readonly source: FlowEnd;
  readonly destination: FlowEnd;
  /** Display names: an endpoint or Service id, an address, or `outside`. */
  readonly from: string;
  readonly to: string;
  /** The destination port: a pod's port, or for a Service its port (or node port). */
  readonly port: number;
  readonly protocol: Protocol;
  readonly expected: 'allowed' | 'denied';
  readonly engine: FlowVerdict;
  readonly passed: boolean;
  /** Why the engine decided so, one line each (sides, rules, backends, notes). */
  readonly reasons: readonly string[];
}

export interface CaseResult {
  readonly case: ExpectationCase;
  /** The case's name, or what it says in words. */
  readonly title: string;
  readonly passed: boolean;
  readonly checks: readonly FlowCheck[];
  /** Facts about how the case was read (sources left out of an `only`, say). */
  readonly notes: readonly string[];
}

/** A case that cannot be judged: it names what does not exist. Bad input, not a verdict. */
export interface ExpectationProblem {
  readonly path: FieldPath;
  readonly message: string;
}

export interface ExpectationsResult {
  readonly cases: readonly CaseResult[];
  readonly problems: readonly ExpectationProblem[];
}

/** An address no rule of a real cluster is likely to name (RFC 5737 TEST-NET-1): used only to route through a Service. */
const ROUTING_PROBE_ADDRESS = '192.0.2.1';

export function flowEndName(end: FlowEnd): string {
  switch (end.kind) {
    case 'endpoint':
      return end.endpoint.id;
    case 'outside':
      return 'outside';
    case 'address':
      return end.ip;
    case 'service':
      return serviceId(end.service);
  }
}

/** A peer as the file wrote it, for titles. */
export function describeExpectedPeer(peer: ExpectedPeer): string {
  if (peer.kind === 'name') return peer.name;
  if (peer.kind === 'outside') return 'outside';
  const parts: string[] = [];
  if (peer.namespace !== undefined) parts.push(`namespace ${peer.namespace}`);
  if (peer.namespaceSelector) parts.push(isEmptySelector(peer.namespaceSelector) ? 'all namespaces' : `namespaces with ${formatLabelSelector(peer.namespaceSelector)}`);
  if (peer.podSelector) parts.push(isEmptySelector(peer.podSelector) ? 'all pods' : `pods with ${formatLabelSelector(peer.podSelector)}`);
  return `{${parts.join(', ')}}`;
}

export function describeCase(c: ExpectationCase): string {
  const list = (peers: readonly ExpectedPeer[]): string => peers.map(describeExpectedPeer).join(', ');
  const on = c.port === undefined ? `every declared ${c.protocol} port` : typeof c.port === 'number' ? `${c.port}/${c.protocol}` : `port "${c.port}"/${c.protocol}`;
  if (c.verb === 'only') return `only ${list(c.from)} reach ${list(c.to)} on ${on}`;
  return `${c.verb} ${list(c.from)} -> ${list(c.to)} on ${on}`;
}

type Expanded = { readonly ends: FlowEnd[] } | { readonly error: string };

function known(compiled: CompiledCluster, namespace: string): string {
  const inNs = compiled.cluster.endpoints.filter((e) => e.namespace === namespace).map((e) => e.id);
  return inNs.length > 0 ? ` (endpoints in ${namespace}: ${inNs.slice(0, 8).join(', ')}${inNs.length > 8 ? ', ...' : ''})` : ` (namespace ${namespace} has no endpoints)`;
}

function expandSelector(compiled: CompiledCluster, peer: Extract<ExpectedPeer, { kind: 'selector' }>, defaultNamespace: string): Expanded {
  let namespaces: string[];
  if (peer.namespace !== undefined) namespaces = [peer.namespace];
  else if (peer.namespaceSelector) {
    const selector = peer.namespaceSelector;
    namespaces = compiled.cluster.namespaces.filter((n) => selectorMatches(selector, n.labels)).map((n) => n.name);
    if (namespaces.length === 0) return { error: `namespaceSelector ${formatLabelSelector(selector) || '{}'} selects no namespace` };
  } else namespaces = [defaultNamespace];
  const inNamespaces = new Set(namespaces);
  const selected = compiled.cluster.endpoints.filter((e) => inNamespaces.has(e.namespace) && (!peer.podSelector || selectorMatches(peer.podSelector, e.labels)));
  if (selected.length === 0) {
    const where = namespaces.length === 1 ? `namespace ${namespaces[0]}` : `namespaces ${namespaces.join(', ')}`;
    const what = peer.podSelector ? `no endpoint with ${formatLabelSelector(peer.podSelector) || 'any labels'} in ${where}` : `no endpoint in ${where}`;
    return { error: `the selector selects nothing: ${what}${namespaces.length === 1 ? known(compiled, namespaces[0]) : ''}` };
  }
  return { ends: selected.map((endpoint) => ({ kind: 'endpoint', endpoint })) };
}

function peerEnd(p: TrafficPeer): FlowEnd {
  return p.kind === 'endpoint' ? { kind: 'endpoint', endpoint: p.endpoint } : { kind: 'address', ip: p.ip };
}

/** The names of endpoints and Services written the way `name` is written (bare in its namespace, `ns/name`, or `ns/kind/name`). */
function namesLike(compiled: CompiledCluster, name: string, defaultNamespace: string): string[] {
  const ids = [...compiled.cluster.endpoints.map((e) => ({ ns: e.namespace, id: e.id, name: e.name })), ...(compiled.cluster.services ?? []).map((v) => ({ ns: v.namespace, id: serviceId(v), name: v.name }))];
  const parts = name.split('/').length;
  if (parts === 1) return ids.filter((x) => x.ns === defaultNamespace).map((x) => x.name);
  if (parts === 2) return ids.map((x) => `${x.ns}/${x.name}`);
  return ids.map((x) => x.id);
}

function expandPeer(compiled: CompiledCluster, peer: ExpectedPeer, role: 'from' | 'to', defaultNamespace: string): Expanded {
  if (peer.kind === 'outside') return { ends: [{ kind: 'outside' }] };
  if (peer.kind === 'selector') return expandSelector(compiled, peer, defaultNamespace);
  const r = resolveTarget(compiled, peer.name, defaultNamespace);
  if ('error' in r) {
    const guess = closestWord(peer.name, namesLike(compiled, peer.name, defaultNamespace));
    return { error: `${r.error}${guess ? `; did you mean "${guess}"?` : ''}` };
  }
  if ('peer' in r) return { ends: [peerEnd(r.peer)] };
  const id = serviceId(r.service);
  if (r.service.type === 'ExternalName') return { error: `${id} is an ExternalName Service, a DNS alias for ${r.service.externalName}: no traffic is proxied; name the address it resolves to` };
  if (role === 'to') return { ends: [{ kind: 'service', service: r.service }] };
  if (r.address) return { error: `${r.address} is an address of ${id}, and a Service's address opens no connection: to mean each backend, write ${id}` };
  const sources = serviceSources(compiled, r.service);
  if (sources.length === 0) return { error: `${id} has no backends, so nothing sends as it` };
  return { ends: sources.map(peerEnd) };
}

/** The destination ports a case means for one destination, or why there are none. */
function portsFor(c: ExpectationCase, destination: FlowEnd): { ports: number[] } | { error: string } {
  const { port, protocol } = c;
  switch (destination.kind) {
    case 'outside':
    case 'address':
      if (typeof port === 'number') return { ports: [port] };
      return { error: `${flowEndName(destination)} is outside the cluster and declares no ports: give a port number` };
    case 'service': {
      const service = destination.service;
      if (typeof port === 'number') {
        if (findServicePort(service, port, protocol)) return { ports: [port] };
        const byTarget = service.ports.find((p) => p.targetPort === port && p.protocol === protocol);
        const all = service.ports.map((p) => formatServicePort(p)).join(', ') || 'none';
        return { error: `${serviceId(service)} has no port ${port}/${protocol} (ports: ${all})${byTarget ? `; ${port} is the targetPort of port ${byTarget.port}: write the Service port` : ''}` };
      }
      const ports = service.ports.filter((p) => p.protocol === protocol && (port === undefined || p.name === port)).map((p) => p.port);
      if (ports.length > 0) return { ports };
      return { error: port === undefined ? `${serviceId(service)} has no ${protocol} port` : `${serviceId(service)} has no ${protocol} port named "${port}"` };
    }
    case 'endpoint': {
      const e = destination.endpoint;
      if (typeof port === 'number') return { ports: [port] };
      const ports = [...new Set(e.ports.filter((p) => p.protocol === protocol && (port === undefined || p.name === port)).map((p) => p.containerPort))].sort((a, b) => a - b);
      if (ports.length > 0) return { ports };
      return { error: port === undefined ? `${e.id} declares no ${protocol} port: give a port` : `${e.id} declares no ${protocol} port named "${port}"` };
    }
  }
}

const sideReason = (compiled: CompiledCluster, v: DirectionVerdict, who: string): string[] => describeVerdictSide(compiled, v, who, '  ');

interface Judgement {
  readonly verdict: FlowVerdict;
  readonly reasons: string[];
}

/**
 * Whether every, some or no address outside the cluster may pass `endpoint`'s side of a flow: a
 * rule without peers admits them all ("matches all sources"), an ipBlock only its addresses, and pod
 * or namespace selectors none.
 */
function outsideSide(compiled: CompiledCluster, endpoint: Endpoint, direction: Direction, port: number, protocol: Protocol): Judgement {
  const dir = direction === 'Egress' ? 'egress' : 'ingress';
  const head = `${dir} ${direction === 'Egress' ? 'from' : 'to'} ${endpoint.id}`;
  if (endpoint.hostNetwork) return { verdict: 'allowed', reasons: [`${head}: hostNetwork pod, not subject to NetworkPolicy (its traffic is the node's)`] };
  if (tiersMatchOutside(compiled, direction)) return outsideSideByTiers(compiled, endpoint, direction, port, protocol);
  const policies = isolatingPolicies(compiled, endpoint, direction);
  if (policies.length === 0) return { verdict: 'allowed', reasons: [`${head}: not isolated for ${dir} (no policy selects it for ${direction}), so allowed`] };
  const by = policies.map((p) => formatPolicyRef(p.ref)).join(', ');
  // A named port resolves against the destination pod; an outside destination has none.
  const destination = direction === 'Ingress' ? endpoint : undefined;
  const all: RuleRef[] = [];
  const some: string[] = [];
  for (const policy of policies) {
    for (const rule of policy.rules[direction]) {
      if (rule.ports !== undefined && !rule.ports.some((p) => portMatches(p, port, protocol, destination))) continue;
      const ref: RuleRef = { tier: 'NetworkPolicy', policy: rule.policy, direction, index: rule.index };
      if (rule.peers === undefined) all.push(ref);
      else {
        const blocks = rule.peers.filter((p) => p.kind === 'ipBlock');
        if (blocks.length > 0) some.push(`${formatRuleRef(ref)} allows only ${blocks.map(describePeer).join('; or ')}`);
      }
    }
  }
  if (all.length > 0) return { verdict: 'allowed', reasons: [`${head}: isolated by ${by}; every outside address allowed by ${all.map(formatRuleRef).join(', ')}`] };
  if (some.length > 0) return { verdict: 'partly', reasons: [`${head}: isolated by ${by}; only some outside addresses: ${some.join('; ')} (name an address to ask about one)`] };
  return { verdict: 'denied', reasons: [`${head}: isolated by ${by}; no ${dir} rule admits addresses outside the cluster`] };
}

/**
 * The same, tier by tier: admin and baseline rules match outside addresses by their networks and
 * nodes peers, so every address atom is judged (outsideCells) and the reasons are said per set of
 * addresses they hold for.
 */
function outsideSideByTiers(compiled: CompiledCluster, endpoint: Endpoint, direction: Direction, port: number, protocol: Protocol): Judgement {
  const cells = outsideCells(compiled, endpoint, direction, { port, protocol });
  const admission = cellsAdmission(cells);
  const byReason = new Map<string, AddressSet>();
  for (const c of cells) {
    const text = describeVerdictSide(compiled, c.verdict, endpoint.id, '  ').join('\n');
    byReason.set(text, unionAddresses(byReason.get(text) ?? NO_ADDRESSES, c.addresses));
  }
  const reasons = [...byReason].flatMap(([text, addresses]) => {
    const lines = text.split('\n');
    return byReason.size === 1 ? lines : [`for ${describeAddresses(addresses)}: ${lines[0]}`, ...lines.slice(1)];
  });
  return { verdict: admission === 'all' ? 'allowed' : admission === 'none' ? 'denied' : 'partly', reasons };
}

function combine(verdicts: readonly FlowVerdict[]): FlowVerdict {
  if (verdicts.length > 0 && verdicts.every((v) => v === 'allowed')) return 'allowed';
  if (verdicts.every((v) => v === 'denied')) return 'denied';
  return 'partly';
}

const word = (v: FlowVerdict | boolean): string => (v === true || v === 'allowed' ? 'ALLOWED' : v === false || v === 'denied' ? 'DENIED' : 'PARTLY');

function judgeService(compiled: CompiledCluster, source: FlowEnd, service: Service, port: number, protocol: Protocol): Judgement {
  const outside = source.kind === 'outside';
  const peer: TrafficPeer = source.kind === 'endpoint' ? { kind: 'endpoint', endpoint: source.endpoint } : { kind: 'external', ip: source.kind === 'address' ? source.ip : ROUTING_PROBE_ADDRESS };
  const v = evaluateServiceConnection(compiled, peer, service, port, protocol)!;
  const id = serviceId(service);
  const reasons: string[] = [];
  const routed = v.backends.filter((b) => b.routed);
  let verdict: FlowVerdict;
  if (!outside) {
    if (!v.reachable) verdict = 'denied';
    else if (v.routed === 0) verdict = 'denied';
    else verdict = v.admitted === v.routed ? 'allowed' : v.admitted === 0 ? 'denied' : 'partly';
    reasons.push(`${id} port ${formatServicePort(v.servicePort)}: ${v.reachable ? `${v.admitted} of ${v.routed} backend${v.routed === 1 ? '' : 's'} admit${v.admitted === 1 ? 's' : ''} it` : 'the source cannot reach the Service at all'}`);
    for (const b of routed) {
      reasons.push(`  ${b.backend.id} on ${b.port}/${protocol}: ${word(b.verdict!.allowed)}`);
      if (!b.verdict!.allowed) {
        const to = b.backend.endpoint ? b.backend.endpoint.id : b.backend.address!;
        reasons.push(...[...sideReason(compiled, b.verdict!.egress, flowEndName(source)), ...sideReason(compiled, b.verdict!.ingress, to)].map((l) => `    ${l}`));
      }
    }
    for (const n of v.notes) reasons.push(`  note [${n.code}]: ${n.message}`);
    return { verdict, reasons };
  }
  // Every address outside the cluster: exposed at all, then each routed backend's ingress.
  if (!exposedOutside(service)) {
    return { verdict: 'denied', reasons: [`${id} is of type ${service.type} without externalIPs: reachable only inside the cluster`] };
  }
  const perBackend = routed.map((b) => (b.backend.endpoint ? outsideSide(compiled, b.backend.endpoint, 'Ingress', b.port!, protocol) : { verdict: 'allowed' as const, reasons: [`${b.backend.id}: outside the cluster, not subject to NetworkPolicy`] }));
  verdict = routed.length === 0 ? 'denied' : combine(perBackend.map((j) => j.verdict));
  const ranges = service.type === 'LoadBalancer' ? service.loadBalancerSourceRanges : [];
  if (ranges.length > 0 && verdict === 'allowed') verdict = 'partly';
  const admitting = perBackend.filter((j) => j.verdict === 'allowed').length;
  reasons.push(`${id} port ${formatServicePort(v.servicePort)}${v.via === 'nodePort' ? ` (node port ${port})` : ''}: ${routed.length === 0 ? 'routed to no backend' : `${admitting} of ${routed.length} backend${routed.length === 1 ? '' : 's'} admit${admitting === 1 ? 's' : ''} every outside address`}`);
  if (ranges.length > 0) reasons.push(`  only sources in loadBalancerSourceRanges (${ranges.join(', ')}) reach the load balancer`);
  routed.forEach((b, k) => {
    reasons.push(`  ${b.backend.id} on ${b.port}/${protocol}: ${word(perBackend[k].verdict)}`);
    reasons.push(...perBackend[k].reasons.map((l) => `    ${l}`));
  });
  for (const n of v.notes.filter((x) => x.code !== 'not-exposed' && x.code !== 'source-ranges' && !x.message.includes(ROUTING_PROBE_ADDRESS))) reasons.push(`  note [${n.code}]: ${n.message}`);
  return { verdict, reasons };
}

function judgeFlow(compiled: CompiledCluster, source: FlowEnd, destination: FlowEnd, port: number, protocol: Protocol): Judgement | { error: string } {
  const inCluster = (e: FlowEnd): boolean => e.kind === 'endpoint' || e.kind === 'service';
  if (!inCluster(source) && !inCluster(destination)) {
    return { error: `neither end is in the cluster (${flowEndName(source)} -> ${flowEndName(destination)}): NetworkPolicy only governs traffic of pods` };
  }
  if (source.kind === 'service') return { error: 'a Service is never a source' };
  if (destination.kind === 'service') return judgeService(compiled, source, destination.service, port, protocol);
  const j = judgeEndpoints(compiled, source, destination, port, protocol);
  // A port the destination does not declare: the verdict stands, but nothing would answer there.
  if (destination.kind === 'endpoint') {
    for (const n of destinationNotes(compiled, destination.endpoint, port, protocol).filter((x) => x.code === 'port-undeclared')) j.reasons.push(`note [${n.code}]: ${n.message}`);
  }
  return j;
}

function judgeEndpoints(compiled: CompiledCluster, source: FlowEnd, destination: FlowEnd, port: number, protocol: Protocol): Judgement {
  if (source.kind === 'outside' && destination.kind === 'endpoint') {
    const side = outsideSide(compiled, destination.endpoint, 'Ingress', port, protocol);
    return { verdict: side.verdict, reasons: ['egress from outside: outside the cluster, not subject to NetworkPolicy', ...side.reasons] };
  }
  if (destination.kind === 'outside' && source.kind === 'endpoint') {
    const side = outsideSide(compiled, source.endpoint, 'Egress', port, protocol);
    return { verdict: side.verdict, reasons: [...side.reasons, 'ingress to outside: outside the cluster, not subject to NetworkPolicy'] };
  }
  const peer = (e: FlowEnd): TrafficPeer => (e.kind === 'endpoint' ? { kind: 'endpoint', endpoint: e.endpoint } : { kind: 'external', ip: (e as { ip: string }).ip });
  const v = evaluateConnection(compiled, { source: peer(source), destination: peer(destination), port, protocol });
  return {
    verdict: v.allowed ? 'allowed' : 'denied',
    reasons: [...sideReason(compiled, v.egress, flowEndName(source)), ...sideReason(compiled, v.ingress, flowEndName(destination))],
  };
}

const endKey = (e: FlowEnd): string => `${e.kind}:${flowEndName(e)}`;

function judgeCase(compiled: CompiledCluster, c: ExpectationCase, defaultNamespace: string, problems: ExpectationProblem[]): CaseResult | undefined {
  const verbPath: FieldPath = [...c.path, c.verb];
  const before = problems.length;
  const expand = (peers: readonly ExpectedPeer[], role: 'from' | 'to'): FlowEnd[] =>
    peers.flatMap((peer) => {
      const r = expandPeer(compiled, peer, role, defaultNamespace);
      if ('error' in r) {
        problems.push({ path: peer.path, message: r.error });
        return [];
      }
      return r.ends;
    });
  const from = expand(c.from, 'from');
  const to = expand(c.to, 'to');
  if (problems.length > before) return undefined;
  const notes: string[] = [];

  const wanted: { source: FlowEnd; destination: FlowEnd; expected: 'allowed' | 'denied' }[] = [];
  for (const destination of to) {
    if (c.verb !== 'only') {
      for (const source of from) wanted.push({ source, destination, expected: c.verb === 'allow' ? 'allowed' : 'denied' });
      continue;
    }
    const listed = new Set(from.map(endKey));
    for (const source of from) wanted.push({ source, destination, expected: 'allowed' });
    // Every other source: each endpoint but the destination itself (a pod's traffic to itself is no question), and outside.
    for (const endpoint of compiled.cluster.endpoints) {
      const source: FlowEnd = { kind: 'endpoint', endpoint };
      if (listed.has(endKey(source)) || (destination.kind === 'endpoint' && destination.endpoint === endpoint)) continue;
      wanted.push({ source, destination, expected: 'denied' });
    }
    const outsideListed = from.some((f) => f.kind === 'outside' || f.kind === 'address');
    if (destination.kind === 'outside' || destination.kind === 'address') continue;
    if (!outsideListed) wanted.push({ source: { kind: 'outside' }, destination, expected: 'denied' });
    else if (!from.some((f) => f.kind === 'outside')) notes.push('outside as a whole is not judged: the sources name an outside address');
  }

  const checks: FlowCheck[] = [];
  const seen = new Set<string>();
  for (const w of wanted) {
    const ports = portsFor(c, w.destination);
    if ('error' in ports) {
      problems.push({ path: c.port === undefined ? verbPath : [...verbPath, 'port'], message: ports.error });
      return undefined;
    }
    for (const port of ports.ports) {
      const key = `${endKey(w.source)} ${endKey(w.destination)} ${port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const j = judgeFlow(compiled, w.source, w.destination, port, c.protocol);
      if ('error' in j) {
        problems.push({ path: verbPath, message: j.error });
        return undefined;
      }
      checks.push({
        source: w.source,
        destination: w.destination,
        from: flowEndName(w.source),
        to: flowEndName(w.destination),
        port,
        protocol: c.protocol,
        expected: w.expected,
        engine: j.verdict,
        passed: j.verdict === w.expected,
        reasons: j.reasons,
      });
    }
  }
  return { case: c, title: c.name ?? describeCase(c), passed: checks.every((x) => x.passed), checks, notes };
}

/**
 * Judges every case. Names resolve as `check` resolves them, in the file's namespace or else
 * `defaultNamespace`; a case that names what does not exist is a problem (bad input), and the
 * result then holds every problem found, for the caller to refuse the whole file.
 */
export function judgeExpectations(compiled: CompiledCluster, expectations: Expectations, defaultNamespace = 'default'): ExpectationsResult {
  const namespace = expectations.namespace ?? defaultNamespace;
  const problems: ExpectationProblem[] = [];
  const cases: CaseResult[] = [];
  for (const c of expectations.cases) {
    const r = judgeCase(compiled, c, namespace, problems);
    if (r) cases.push(r);
  }
  return { cases, problems };
}

