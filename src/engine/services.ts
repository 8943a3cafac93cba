// Services as the kernel sees them: a connection to a Service's address and port is DNATed to one
// backend at its target port before any NetworkPolicy is applied, so it is judged per backend at
// that port. Backends are the endpoints the selector matches in the Service's namespace (or, for a
// Service without selector, the addresses of its EndpointSlices); traps are explained as data.
import {
  cidrContains,
  parseCIDR,
  parseIP,
  selectorMatches,
  type Endpoint,
  type IPAddress,
  type Protocol,
  type Service,
  type ServicePort,
} from '../model/index.js';
import { computeClasses } from './classes.js';
import type { CompiledCluster, CompiledRule } from './compile.js';
import { formatRuleRef } from './describe.js';
import { evaluateConnection, isolatingPolicies } from './evaluate.js';
import { ipBlockContains, peerMatches, portMatches } from './match.js';
import { computeMatrix, type Matrix } from './matrix.js';
import type { RuleRef, TrafficPeer, Verdict } from './types.js';

/**
 * Stable codes of the facts about Services that change an answer or would surprise a reader:
 * - `no-backends`: nothing serves the Service (port), so nothing can be reached through it.
 * - `target-port-undeclared`: a named targetPort a backend does not declare (that backend gets none
 *   of the port's traffic), or a numeric one it declares no container port for (nothing would listen).
 * - `service-port-in-policy`: a rule admits the Service port, but after DNAT the backend is reached
 *   on the targetPort, which the rule does not admit.
 * - `ipblock-covers-clusterip`: an ipBlock holds the Service's address, but after DNAT the
 *   destination is the backend's own address, which it does not hold.
 * - `nodeport-snat`: outside traffic through a node (externalTrafficPolicy: Cluster) may reach the
 *   pod from a node's address, not the client's, so ipBlock rules judge the node's address.
 * - `not-exposed`: a ClusterIP Service is reachable only inside the cluster.
 * - `source-ranges`: loadBalancerSourceRanges drop the source before any NetworkPolicy.
 * - `headless`: no virtual address and no DNAT: clients reach the backends' addresses directly.
 * - `no-selector`: the backends come from EndpointSlices (or there are none).
 * - `not-ready`: a backend that gets no traffic (not ready, or a workload with no replicas).
 * - `external-backend`: an EndpointSlice address outside the pods: only the source's egress applies.
 * - `host-network-backend`: a hostNetwork backend is not subject to NetworkPolicy.
 * - `external-name`: a DNS alias for a name outside the cluster: no backend here.
 * - `port-undeclared`: the destination endpoint declares container ports, but not this one.
 * - `same-name-service`: an endpoint was named, and a Service of the same name maps the port asked.
 */
export type ServiceNoteCode =
  | 'no-backends'
  | 'target-port-undeclared'
  | 'service-port-in-policy'
  | 'ipblock-covers-clusterip'
  | 'nodeport-snat'
  | 'not-exposed'
  | 'source-ranges'
  | 'headless'
  | 'no-selector'
  | 'not-ready'
  | 'external-backend'
  | 'host-network-backend'
  | 'external-name'
  | 'port-undeclared'
  | 'same-name-service';

export interface ServiceNote {
  readonly code: ServiceNoteCode;
  readonly message: string;
  /** The backend the note is about (an endpoint id or an address), when it is about one. */
  readonly backend?: string;
  /** The rules the note is about. */
  readonly rules?: readonly RuleRef[];
}

/** One backend of a Service: an endpoint of the cluster, or an address of an EndpointSlice no pod holds. */
export interface ServiceBackend {
  /** The endpoint's id, or the address. */
  readonly id: string;
  readonly endpoint?: Endpoint;
  /** The address the backend is reached at, when an EndpointSlice names it. */
  readonly address?: string;
  /** Whether kube-proxy sends it traffic (ready, and a workload with replicas). */
  readonly ready: boolean;
  /** Per Service port (the Service's order): the port traffic reaches this backend on; undefined: none (not routed). */
  readonly targetPorts: readonly (number | undefined)[];
}

export interface ResolvedService {
  readonly service: Service;
  /** `ns/service/name`. */
  readonly id: string;
  /** Where the backends come from. */
  readonly origin: 'selector' | 'endpointSlices' | 'externalName';
  /** Sorted as endpoints are, then addresses. */
  readonly backends: readonly ServiceBackend[];
  /** Facts about the Service itself (no-backends, no-selector, headless, target-port-undeclared, ...). */
  readonly notes: readonly ServiceNote[];
}

export function serviceId(service: Pick<Service, 'namespace' | 'name'>): string {
  return `${service.namespace}/service/${service.name}`;
}

export function formatServicePort(p: ServicePort): string {
  return `${p.port}/${p.protocol}${p.name ? ` (${p.name})` : ''}`;
}

function servicesOf(compiled: CompiledCluster): readonly Service[] {
  return compiled.cluster.services ?? [];
}

/** The Service a name (`ns/name`) denotes, if any. */
export function findService(compiled: CompiledCluster, namespace: string, name: string): Service | undefined {
  return servicesOf(compiled).find((s) => s.namespace === namespace && s.name === name);
}

/** Every address a Service answers on: its ClusterIPs, LoadBalancer addresses and externalIPs. */
export function serviceAddresses(service: Service): string[] {
  return [...service.clusterIPs.filter((ip) => ip !== 'None'), ...service.loadBalancerIPs, ...service.externalIPs];
}

/** The Service holding an address (a ClusterIP, a LoadBalancer address, an externalIP), if any. */
export function serviceAt(compiled: CompiledCluster, ip: IPAddress): Service | undefined {
  return servicesOf(compiled).find((s) => serviceAddresses(s).some((a) => sameIP(parseIP(a), ip)));
}

function sameIP(a: IPAddress | undefined, b: IPAddress | undefined): boolean {
  return a !== undefined && b !== undefined && a.family === b.family && a.value === b.value;
}

/**
 * The port a Service port reaches on a pod (podutil.FindPort): a number as it is; a name looked up
 * among the pod's container ports with that name and the Service port's protocol, per pod.
 */
export function resolveTargetPort(port: ServicePort, endpoint: Endpoint): number | undefined {
  if (typeof port.targetPort === 'number') return port.targetPort;
  return endpoint.ports.find((p) => p.name === port.targetPort && p.protocol === port.protocol)?.containerPort;
}

function declares(endpoint: Endpoint, port: number, protocol: Protocol): boolean {
  return endpoint.ports.some((p) => p.containerPort === port && p.protocol === protocol);
}

interface EndpointIndex {
  /** Endpoints by address (`family/value`); the first holder wins, as the kernel cannot tell holders apart either. */
  readonly byAddress: ReadonlyMap<string, Endpoint>;
  /** Each endpoint's position in the cluster's order. */
  readonly position: ReadonlyMap<Endpoint, number>;
}

const indexCache = new WeakMap<CompiledCluster, EndpointIndex>();

function endpointIndex(compiled: CompiledCluster): EndpointIndex {
  let index = indexCache.get(compiled);
  if (!index) {
    const byAddress = new Map<string, Endpoint>();
    compiled.cluster.endpoints.forEach((e) => {
      for (const text of e.ips) {
        const ip = parseIP(text);
        const key = ip ? `${ip.family}/${ip.value}` : undefined;
        if (key && !byAddress.has(key)) byAddress.set(key, e);
      }
    });
    index = { byAddress, position: new Map(compiled.cluster.endpoints.map((e, i) => [e, i])) };
    indexCache.set(compiled, index);
  }
  return index;
}

/** The endpoint that holds an address, if any. */
function endpointAt(compiled: CompiledCluster, ip: IPAddress): Endpoint | undefined {
  return endpointIndex(compiled).byAddress.get(`${ip.family}/${ip.value}`);
}

const resolvedCache = new WeakMap<CompiledCluster, Map<Service, ResolvedService>>();

/** A Service's backends and what is notable about them; computed once per compiled cluster. */
export function resolveService(compiled: CompiledCluster, service: Service): ResolvedService {
  let cache = resolvedCache.get(compiled);
  if (!cache) resolvedCache.set(compiled, (cache = new Map()));
  let resolved = cache.get(service);
  if (!resolved) cache.set(service, (resolved = computeResolution(compiled, service)));
  return resolved;
}

function computeResolution(compiled: CompiledCluster, service: Service): ResolvedService {
  const id = serviceId(service);
  const notes: ServiceNote[] = [];
  if (service.type === 'ExternalName') {
    notes.push({
      code: 'external-name',
      message: `${id} is an ExternalName Service: DNS answers with a CNAME for ${service.externalName}, outside the cluster, and no traffic is proxied; NetworkPolicy judges the connection to that name's addresses`,
    });
    return { service, id, origin: 'externalName', backends: [], notes };
  }

  const backends: ServiceBackend[] = [];
  let origin: ResolvedService['origin'];
  if (service.selector) {
    origin = 'selector';
    const selector = { matchLabels: service.selector, matchExpressions: [] };
    for (const e of compiled.cluster.endpoints) {
      if (e.namespace !== service.namespace || !selectorMatches(selector, e.labels)) continue;
      backends.push({ id: e.id, endpoint: e, ready: e.replicas !== 0, targetPorts: service.ports.map((p) => resolveTargetPort(p, e)) });
    }
  } else {
    origin = 'endpointSlices';
    const slices = (compiled.cluster.endpointSlices ?? []).filter((s) => s.namespace === service.namespace && s.serviceName === service.name);
    notes.push({
      code: 'no-selector',
      message:
        slices.length > 0
          ? `${id} has no selector: its backends are the addresses of its EndpointSlices (${slices.map((s) => s.name).join(', ')})`
          : `${id} has no selector and no EndpointSlice names it (label kubernetes.io/service-name=${service.name}): it has no backends here`,
    });
    const byId = new Map<string, ServiceBackend>();
    for (const slice of slices) {
      // kube-proxy routes only IP slices; an FQDN slice names no address a packet can go to.
      if (slice.addressType === 'FQDN') continue;
      // A selector-less Service's port is matched to the slice's port by name and protocol.
      const targets = service.ports.map((p) => slice.ports.find((sp) => sp.name === (p.name ?? '') && sp.protocol === p.protocol)?.port);
      for (const e of slice.endpoints) {
        const address = e.addresses[0];
        const ip = parseIP(address);
        const endpoint = ip ? endpointAt(compiled, ip) : undefined;
        const key = endpoint ? endpoint.id : address;
        const earlier = byId.get(key);
        byId.set(key, {
          id: key,
          endpoint,
          address,
          ready: e.ready || (earlier?.ready ?? false),
          targetPorts: targets.map((t, i) => earlier?.targetPorts[i] ?? t),
        });
      }
    }
    backends.push(...byId.values());
  }
  // Endpoints in the cluster's order, then addresses.
  const { position } = endpointIndex(compiled);
  backends.sort((a, b) => {
    const x = a.endpoint ? position.get(a.endpoint) : undefined;
    const y = b.endpoint ? position.get(b.endpoint) : undefined;
    if (x !== undefined && y !== undefined) return x - y;
    if (x !== undefined || y !== undefined) return x !== undefined ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });

  if (service.headless) {
    notes.push({
      code: 'headless',
      message: `${id} is headless (clusterIP: None): no virtual address and no DNAT; DNS answers with the backends' own addresses, and clients connect to them on the port they choose (the targetPort is what the EndpointSlices publish)`,
    });
  }
  for (const b of backends) {
    if (!b.ready) {
      notes.push({
        code: 'not-ready',
        backend: b.id,
        message: b.endpoint?.replicas === 0 ? `${b.id} has replicas: 0: no pod of it serves ${id}` : `${b.id} is not ready: kube-proxy sends it no traffic`,
      });
    } else if (b.endpoint?.hostNetwork) {
      notes.push({ code: 'host-network-backend', backend: b.id, message: `${b.id} uses the node's network: NetworkPolicy does not apply to it, so every connection reaching it is allowed` });
    } else if (!b.endpoint) {
      notes.push({ code: 'external-backend', backend: b.id, message: `${b.id} is no pod in the input: the connection leaves to that address, and only the source's egress applies to it` });
    }
  }
  const ready = backends.filter((b) => b.ready);
  if (ready.length === 0) {
    const why =
      origin === 'selector'
        ? backends.length === 0
          ? `its selector (${formatSelector(service.selector!)}) matches no pod or workload in namespace ${service.namespace}`
          : 'none of the endpoints its selector matches serves'
        : 'it has no selector and its EndpointSlices hold no ready address';
    notes.push({ code: 'no-backends', message: `${id} has no backends: ${why}; nothing can be reached through it` });
  } else {
    service.ports.forEach((p, i) => {
      const missing = ready.filter((b) => b.targetPorts[i] === undefined);
      if (typeof p.targetPort === 'string' && missing.length > 0) {
        const none = missing.length === ready.length;
        notes.push({
          code: 'target-port-undeclared',
          message: `port ${formatServicePort(p)} targets the named port "${p.targetPort}", which ${none ? 'no backend' : missing.map((b) => b.id).join(', ')} declare${none || missing.length > 1 ? '' : 's'} for ${p.protocol}: ${none ? `nothing serves this port (${id} has no backends for it)` : 'those get none of its traffic'}`,
        });
      } else if (typeof p.targetPort === 'number') {
        // Container ports are informational; only an endpoint that declares some, but not this one, is a sign nothing listens.
        // (A selector-less Service's backends are reached on the port their slices publish.)
        const silent = ready.filter((b) => b.endpoint && b.endpoint.ports.length > 0 && b.targetPorts[i] !== undefined && !declares(b.endpoint, b.targetPorts[i]!, p.protocol));
        if (silent.length > 0) {
          const target = origin === 'selector' ? `${p.targetPort}/${p.protocol}` : `the port its EndpointSlices publish`;
          notes.push({
            code: 'target-port-undeclared',
            message: `port ${formatServicePort(p)} targets ${target}, which ${silent.map((b) => b.id).join(', ')} declare${silent.length > 1 ? '' : 's'} no container port for: nothing would listen there`,
          });
        } else if (origin === 'endpointSlices' && missing.length > 0) {
          notes.push({
            code: 'target-port-undeclared',
            message: `port ${formatServicePort(p)}: the EndpointSlices of ${missing.map((b) => b.id).join(', ')} publish no port named "${p.name ?? ''}" for ${p.protocol}: those get none of its traffic`,
          });
        }
      }
    });
  }
  return { service, id, origin, backends, notes };
}

function formatSelector(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

/** Whether a source outside the cluster can reach the Service at all (NodePort, LoadBalancer, externalIPs). */
export function exposedOutside(service: Service): boolean {
  return service.type === 'NodePort' || service.type === 'LoadBalancer' || (service.type !== 'ExternalName' && service.externalIPs.length > 0);
}

/** The Service port a connection on `port` means: the Service port, or (from outside) a nodePort. */
export function findServicePort(service: Service, port: number, protocol: Protocol): { index: number; via: 'port' | 'nodePort' } | undefined {
  const index = service.ports.findIndex((p) => p.port === port && p.protocol === protocol);
  if (index >= 0) return { index, via: 'port' };
  const node = service.type === 'NodePort' || service.type === 'LoadBalancer' ? service.ports.findIndex((p) => p.nodePort === port && p.protocol === protocol) : -1;
  return node >= 0 ? { index: node, via: 'nodePort' } : undefined;
}

export interface BackendVerdict {
  readonly backend: ServiceBackend;
  /** The port the backend is reached on; undefined when this Service port routes nothing to it. */
  readonly port?: number;
  /** Whether kube-proxy sends this Service port's traffic to the backend. */
  readonly routed: boolean;
  /** The NetworkPolicy verdict at the backend's port, as the kernel sees the connection after DNAT. */
  readonly verdict?: Verdict;
  readonly notes: readonly ServiceNote[];
}

export interface ServiceConnectionVerdict {
  readonly service: ResolvedService;
  readonly servicePort: ServicePort;
  /** How the port asked was matched: the Service port, or a nodePort from outside. */
  readonly via: 'port' | 'nodePort';
  readonly source: TrafficPeer;
  readonly protocol: Protocol;
  /** False when the source cannot reach the Service at all (outside -> ClusterIP, loadBalancerSourceRanges). */
  readonly reachable: boolean;
  readonly backends: readonly BackendVerdict[];
  /** Backends this port routes to, and how many of them admit the connection. */
  readonly routed: number;
  readonly admitted: number;
  /** Reachable, routed to at least one backend, and every routed backend admits it. */
  readonly allowed: boolean;
  /** The Service's notes and every backend's. */
  readonly notes: readonly ServiceNote[];
}

/** The rules (of a side's isolating policies) that admit the connection at another port. */
function sideAllowedAt(compiled: CompiledCluster, source: TrafficPeer, destination: TrafficPeer, port: number, protocol: Protocol, viaService: boolean): Verdict {
  return evaluateConnection(compiled, { source, destination, port, protocol, viaService });
}

function ipBlockTrap(compiled: CompiledCluster, resolved: ResolvedService, source: TrafficPeer, destination: TrafficPeer, verdict: Verdict): ServiceNote | undefined {
  if (verdict.egress.allowed || source.kind !== 'endpoint') return undefined;
  const addresses = serviceAddresses(resolved.service)
    .map((a) => ({ text: a, ip: parseIP(a)! }))
    .filter((a) => a.ip);
  if (addresses.length === 0) return undefined;
  // Without the backend's address (a workload template) nothing tells whether the block holds it.
  const backendIP = verdict.destinationIP !== undefined ? parseIP(verdict.destinationIP) : undefined;
  if (!backendIP) return undefined;
  const traps: { rule: CompiledRule; address: string; cidr: string }[] = [];
  for (const policy of isolatingPolicies(compiled, source.endpoint, 'Egress')) {
    for (const rule of policy.rules.Egress) {
      for (const peer of rule.peers ?? []) {
        if (peer.kind !== 'ipBlock') continue;
        const held = addresses.find((a) => ipBlockContains(peer, a.ip));
        if (held && !ipBlockContains(peer, backendIP)) traps.push({ rule, address: held.text, cidr: peer.text.cidr });
      }
    }
  }
  if (traps.length === 0) return undefined;
  const rules = traps.map((t) => ({ tier: 'NetworkPolicy' as const, policy: t.rule.policy, direction: t.rule.direction, index: t.rule.index }));
  return {
    code: 'ipblock-covers-clusterip',
    backend: destination.kind === 'endpoint' ? destination.endpoint.id : destination.ip,
    rules,
    message: `${traps.map((t) => `${formatRuleRef(rules[traps.indexOf(t)])} allows ${t.cidr}, which holds ${t.address} of ${resolved.id}`).join('; ')}: after DNAT the destination is the backend's address ${verdict.destinationIP}, which it does not hold, so that ipBlock never matches this connection`,
  };
}

/**
 * A connection from `source` to a Service port, judged per backend at its target port. `port` is
 * the Service port (or, from outside, a nodePort); undefined is returned when the Service has no such port.
 */
export function evaluateServiceConnection(
  compiled: CompiledCluster,
  source: TrafficPeer,
  service: Service,
  port: number,
  protocol: Protocol,
): ServiceConnectionVerdict | undefined {
  const found = findServicePort(service, port, protocol);
  if (!found) return undefined;
  const resolved = resolveService(compiled, service);
  const servicePort = service.ports[found.index];
  const notes: ServiceNote[] = [...resolved.notes];
  let reachable = true;
  const outside = source.kind === 'external';
  if (outside && !exposedOutside(service)) {
    reachable = false;
    notes.push({ code: 'not-exposed', message: `${resolved.id} is of type ${service.type} without externalIPs: its address is reachable only inside the cluster, so ${source.ip} cannot connect to it (a NodePort or LoadBalancer Service, or an Ingress, would expose it)` });
  } else if (outside && service.type === 'LoadBalancer' && service.loadBalancerSourceRanges.length > 0) {
    const ip = parseIP(source.ip);
    const inRange = service.loadBalancerSourceRanges.some((r) => {
      const cidr = parseCIDR(r).cidr;
      return cidr !== undefined && ip !== undefined && cidrContains(cidr, ip);
    });
    if (!inRange) {
      reachable = false;
      notes.push({ code: 'source-ranges', message: `${source.ip} is in none of ${resolved.id}'s loadBalancerSourceRanges (${service.loadBalancerSourceRanges.join(', ')}): the load balancer drops it before any NetworkPolicy` });
    }
  }

  const backends: BackendVerdict[] = resolved.backends.map((backend) => {
    const target = backend.targetPorts[found.index];
    const backendNotes: ServiceNote[] = [];
    if (!backend.ready || target === undefined) return { backend, port: target, routed: false, notes: backendNotes };
    const destination: TrafficPeer = backend.endpoint ? { kind: 'endpoint', endpoint: backend.endpoint, ip: backend.address } : { kind: 'external', ip: backend.address! };
    // Through the Service's virtual address (not a headless one, which DNS answers with the backends' own addresses).
    const viaService = !service.headless;
    const verdict = evaluateConnection(compiled, { source, destination, port: target, protocol, viaService });

    if (backend.endpoint && !backend.endpoint.hostNetwork && backend.endpoint.ports.length > 0 && !declares(backend.endpoint, target, protocol)) {
      backendNotes.push({ code: 'target-port-undeclared', backend: backend.id, message: `${backend.id} declares no container port ${target}/${protocol}: nothing would listen there` });
    }
    // A rule written with the Service port instead of the targetPort: the kernel sees the targetPort after DNAT.
    const servicePortNumber = found.via === 'nodePort' ? servicePort.port : port;
    if (!verdict.allowed && servicePortNumber !== target) {
      const at = sideAllowedAt(compiled, source, destination, servicePortNumber, protocol, viaService);
      const rules = [...(!verdict.egress.allowed && at.egress.allowed ? at.egress.allowedBy : []), ...(!verdict.ingress.allowed && at.ingress.allowed ? at.ingress.allowedBy : [])];
      if (rules.length > 0) {
        backendNotes.push({
          code: 'service-port-in-policy',
          backend: backend.id,
          rules,
          message: `${rules.map(formatRuleRef).join(', ')} allow${rules.length > 1 ? '' : 's'} ${servicePortNumber}/${protocol}, the Service port; after DNAT ${backend.id} is reached on ${target}/${protocol}${typeof servicePort.targetPort === 'string' ? ` (the targetPort "${servicePort.targetPort}")` : ''}, which ${rules.length > 1 ? 'they do' : 'it does'} not allow: write the targetPort in the policy`,
        });
      }
    }
    const trap = ipBlockTrap(compiled, resolved, source, destination, verdict);
    if (trap) backendNotes.push(trap);
    // Only a verdict that depends on the source's address can change when a node's address replaces it.
    const anySource = verdict.ingress.allowedBy.some((r) => ruleAdmitsAnySource(compiled, r));
    if (outside && reachable && service.externalTrafficPolicy === 'Cluster' && verdict.ingress.isolated && !anySource) {
      const viaIPBlock = verdict.ingress.allowedBy.length > 0;
      backendNotes.push({
        code: 'nodeport-snat',
        backend: backend.id,
        message: `${resolved.id} has externalTrafficPolicy: Cluster: outside traffic through a node may be SNATed to that node's address, so ${backend.id} may see the node, not ${source.ip}; ${viaIPBlock ? 'this verdict rests on ipBlock rules, which then judge the node\'s address' : 'ipBlock rules then judge the node\'s address'} (externalTrafficPolicy: Local keeps the client's address)`,
      });
    }
    return { backend, port: target, routed: true, verdict, notes: backendNotes };
  });

  const routed = backends.filter((b) => b.routed).length;
  const admitted = backends.filter((b) => b.routed && b.verdict?.allowed).length;
  if (routed === 0 && !notes.some((n) => n.code === 'no-backends')) {
    notes.push({ code: 'no-backends', message: `port ${formatServicePort(servicePort)} of ${resolved.id} is routed to no backend: nothing can be reached through it` });
  }
  for (const b of backends) for (const n of b.notes) notes.push(n);
  return {
    service: resolved,
    servicePort,
    via: found.via,
    source,
    protocol,
    reachable,
    backends,
    routed,
    admitted,
    allowed: reachable && routed > 0 && admitted === routed,
    notes,
  };
}

/** A rule without peers: "matches all sources", whatever their address. */
function ruleAdmitsAnySource(compiled: CompiledCluster, ref: RuleRef): boolean {
  const policy = compiled.policies.find((p) => p.ref.namespace === ref.policy.namespace && p.ref.name === ref.policy.name);
  return policy !== undefined && policy.rules[ref.direction][ref.index]?.peers === undefined;
}

/** What a Service means as a source: each backend that serves, as a traffic peer. */
export function serviceSources(compiled: CompiledCluster, service: Service): TrafficPeer[] {
  return resolveService(compiled, service)
    .backends.filter((b) => b.ready)
    .map((b): TrafficPeer => (b.endpoint ? { kind: 'endpoint', endpoint: b.endpoint, ip: b.address } : { kind: 'external', ip: b.address! }));
}

// ---------------------------------------------------------------------------------------------
// The Service view: who can reach each Service port.

export interface ServicePortColumn {
  readonly service: ResolvedService;
  readonly index: number;
  readonly port: ServicePort;
  /** Backends this port routes to. */
  readonly routed: number;
  /** Whether outside addresses can reach the Service (NodePort, LoadBalancer, externalIPs). */
  readonly exposed: boolean;
}

/** The label of the row for traffic from outside the cluster. */
export const OUTSIDE_ROW = 'outside';

export interface ServiceMatrix {
  /** Endpoint ids, then `outside` when some Service is exposed outside. */
  readonly sources: readonly string[];
  readonly columns: readonly ServicePortColumn[];
  /** How many routed backends of column j admit source i (for `outside`: admit every outside address). */
  admitted(i: number, j: number): number;
  /** Every routed backend admits it (and there is one; for `outside`, the Service is exposed). */
  allowed(i: number, j: number): boolean;
  /** `outside` only: some backend admits only some outside addresses (ipBlock rules). */
  partlyOutside(j: number): boolean;
}

type OutsideAdmission = 'all' | 'some' | 'none';

/** Whether a backend's ingress admits outside addresses on a port: all of them, some (ipBlock), or none. */
function outsideAdmission(compiled: CompiledCluster, endpoint: Endpoint, port: number, protocol: Protocol): OutsideAdmission {
  if (endpoint.hostNetwork) return 'all';
  const policies = isolatingPolicies(compiled, endpoint, 'Ingress');
  if (policies.length === 0) return 'all';
  let some = false;
  for (const p of policies) {
    for (const rule of p.rules.Ingress) {
      if (rule.ports !== undefined && !rule.ports.some((x) => portMatches(x, port, protocol, endpoint))) continue;
      if (rule.peers === undefined) return 'all';
      if (rule.peers.some((peer) => peer.kind === 'ipBlock')) some = true;
    }
  }
  return some ? 'some' : 'none';
}

/**
 * Rows: every endpoint (and `outside`); columns: every port of the given Services (all by default).
 * Built on the class matrix of each distinct target port, so the cost is one class matrix per
 * target port plus one lookup per backend per row, never a pairwise evaluation over pods.
 */
export function computeServiceMatrix(compiled: CompiledCluster, services?: readonly Service[]): ServiceMatrix {
  const endpoints = compiled.cluster.endpoints;
  const index = new Map(endpoints.map((e, i) => [e, i]));
  const chosen = (services ?? servicesOf(compiled)).filter((s) => s.type !== 'ExternalName');
  const columns: ServicePortColumn[] = [];
  for (const service of chosen) {
    const resolved = resolveService(compiled, service);
    service.ports.forEach((port, i) => {
      const routed = resolved.backends.filter((b) => b.ready && b.targetPorts[i] !== undefined).length;
      columns.push({ service: resolved, index: i, port, routed, exposed: exposedOutside(service) });
    });
  }
  const classes = computeClasses(compiled);
  const matrices = new Map<string, Matrix>();
  const matrixFor = (port: number, protocol: Protocol): Matrix => {
    const key = `${port}/${protocol}`;
    let m = matrices.get(key);
    if (!m) matrices.set(key, (m = computeMatrix(compiled, { port, protocol }, classes)));
    return m;
  };
  // Per column: a cell function over source rows.
  const n = endpoints.length;
  const withOutside = columns.some((c) => c.exposed);
  const rows = n + (withOutside ? 1 : 0);
  const admitted = new Int32Array(rows * columns.length);
  const partly = new Uint8Array(columns.length);
  columns.forEach((col, j) => {
    for (const b of col.service.backends) {
      const target = b.targetPorts[col.index];
      if (!b.ready || target === undefined) continue;
      if (b.endpoint) {
        const m = matrixFor(target, col.port.protocol);
        const d = index.get(b.endpoint)!;
        // A pod reaching itself through the Service's address is subject to the admin tiers; headless: its own address.
        const viaService = !col.service.service.headless;
        for (let i = 0; i < n; i++) if (viaService ? m.allowedViaService(i, d) : m.allowed(i, d)) admitted[i * columns.length + j]++;
        if (withOutside && col.exposed) {
          const o = outsideAdmission(compiled, b.endpoint, target, col.port.protocol);
          if (o === 'all') admitted[n * columns.length + j]++;
          else if (o === 'some') partly[j] = 1;
        }
      } else {
        // An address outside the pods: only each source's egress decides; sources of a class decide alike.
        const byClass = new Map<number, boolean>();
        for (let i = 0; i < n; i++) {
          const cls = classes.classOf[i];
          let ok = byClass.get(cls);
          if (ok === undefined) {
            ok = evaluateConnection(compiled, { source: { kind: 'endpoint', endpoint: endpoints[i] }, destination: { kind: 'external', ip: b.address! }, port: target, protocol: col.port.protocol, viaService: true }).allowed;
            byClass.set(cls, ok);
          }
          if (ok) admitted[i * columns.length + j]++;
        }
        if (withOutside && col.exposed) admitted[n * columns.length + j]++;
      }
    }
  });
  return {
    sources: [...endpoints.map((e) => e.id), ...(withOutside ? [OUTSIDE_ROW] : [])],
    columns,
    admitted: (i, j) => admitted[i * columns.length + j],
    allowed: (i, j) => {
      const col = columns[j];
      if (i === n && !col.exposed) return false;
      return col.routed > 0 && admitted[i * columns.length + j] === col.routed;
    },
    partlyOutside: (j) => partly[j] === 1,
  };
}

// ---------------------------------------------------------------------------------------------
// Explaining Services: backends, ports, who may reach them, and the traps.

export interface ServicePortExplanation {
  readonly port: ServicePort;
  /** Per routed backend, the port it is reached on. */
  readonly targets: readonly { readonly backend: string; readonly port: number }[];
  /** Endpoints every routed backend admits. */
  readonly reachedBy: readonly string[];
  /** Endpoints only some routed backends admit, with how many. */
  readonly partly: readonly { readonly endpoint: string; readonly admitted: number }[];
  /** From outside the cluster: every address, some (ipBlock), none, or not exposed at all. */
  readonly outside: 'all' | 'some' | 'none' | 'not-exposed';
}

export interface ServiceExplanation {
  readonly service: ResolvedService;
  readonly ports: readonly ServicePortExplanation[];
  /** The Service's notes and the policy traps found for it. */
  readonly notes: readonly ServiceNote[];
}

/** Rules of policies over a backend (ingress) or over pods that may send to it (egress) written with the Service port. */
function servicePortRuleTraps(compiled: CompiledCluster, resolved: ResolvedService): ServiceNote[] {
  const notes: ServiceNote[] = [];
  const seen = new Set<string>();
  resolved.service.ports.forEach((p, i) => {
    for (const b of resolved.backends) {
      const target = b.targetPorts[i];
      if (!b.endpoint || !b.ready || target === undefined || target === p.port || b.endpoint.hostNetwork) continue;
      const writtenWithServicePort = (rule: CompiledRule, destination: Endpoint): boolean =>
        rule.ports !== undefined &&
        rule.ports.some((x) => portMatches(x, p.port, p.protocol, destination)) &&
        !rule.ports.some((x) => portMatches(x, target, p.protocol, destination));
      const ingress = isolatingPolicies(compiled, b.endpoint, 'Ingress').flatMap((pol) => pol.rules.Ingress.filter((r) => writtenWithServicePort(r, b.endpoint!)));
      const egress = compiled.policies.flatMap((pol) =>
        pol.rules.Egress.filter((r) => writtenWithServicePort(r, b.endpoint!) && r.peers !== undefined && r.peers.some((peer) => peerMatches(compiled, peer, b.endpoint, undefined))),
      );
      const rules = [...ingress, ...egress].map((r): RuleRef => ({ tier: 'NetworkPolicy', policy: r.policy, direction: r.direction, index: r.index }));
      const fresh = rules.filter((r) => !seen.has(`${formatRuleRef(r)}|${i}|${target}`));
      if (fresh.length === 0) continue;
      for (const r of fresh) seen.add(`${formatRuleRef(r)}|${i}|${target}`);
      notes.push({
        code: 'service-port-in-policy',
        backend: b.id,
        rules: fresh,
        message: `${fresh.map(formatRuleRef).join(', ')} admit${fresh.length > 1 ? '' : 's'} ${p.port}/${p.protocol}, the port of ${resolved.id}, but not ${target}/${p.protocol}, where ${b.id} is reached after DNAT: ${fresh.length > 1 ? 'these rules do' : 'this rule does'} not admit the Service's traffic`,
      });
    }
  });
  return notes;
}

/** ipBlocks anywhere in the policies that hold the Service's address but none of its backends. */
function clusterIPBlockTraps(compiled: CompiledCluster, resolved: ResolvedService): ServiceNote[] {
  const addresses = serviceAddresses(resolved.service).filter((a) => parseIP(a));
  if (addresses.length === 0) return [];
  const backendIPs = resolved.backends.flatMap((b) => (b.endpoint ? b.endpoint.ips : b.address ? [b.address] : [])).map((a) => parseIP(a)).filter((a): a is IPAddress => a !== undefined);
  // Without any backend address (workload templates) nothing tells whether a block holds them too.
  if (backendIPs.length === 0) return [];
  const notes: ServiceNote[] = [];
  for (const policy of compiled.policies) {
    for (const rule of policy.rules.Egress) {
      for (const peer of rule.peers ?? []) {
        if (peer.kind !== 'ipBlock') continue;
        const held = addresses.find((a) => ipBlockContains(peer, parseIP(a)!));
        if (!held || backendIPs.some((ip) => ipBlockContains(peer, ip))) continue;
        const ref: RuleRef = { tier: 'NetworkPolicy', policy: rule.policy, direction: 'Egress', index: rule.index };
        notes.push({
          code: 'ipblock-covers-clusterip',
          rules: [ref],
          message: `${formatRuleRef(ref)} allows ${peer.text.cidr}, which holds ${held} of ${resolved.id}; after DNAT the destination is a backend's own address, which it does not hold, so it never admits traffic to this Service`,
        });
      }
    }
  }
  return notes;
}

function snatTraps(compiled: CompiledCluster, resolved: ResolvedService): ServiceNote[] {
  const service = resolved.service;
  if (!exposedOutside(service) || service.externalTrafficPolicy !== 'Cluster') return [];
  const notes: ServiceNote[] = [];
  for (const b of resolved.backends) {
    if (!b.endpoint || !b.ready || b.endpoint.hostNetwork) continue;
    const rules = isolatingPolicies(compiled, b.endpoint, 'Ingress')
      .flatMap((p) => p.rules.Ingress)
      .filter((r) => r.peers?.some((peer) => peer.kind === 'ipBlock'))
      .map((r): RuleRef => ({ tier: 'NetworkPolicy', policy: r.policy, direction: 'Ingress', index: r.index }));
    if (rules.length === 0) continue;
    notes.push({
      code: 'nodeport-snat',
      backend: b.id,
      rules,
      message: `${resolved.id} has externalTrafficPolicy: Cluster, so outside traffic may reach ${b.id} SNATed to a node's address: ${rules.map(formatRuleRef).join(', ')} then judge${rules.length > 1 ? '' : 's'} the node's address, not the client's (externalTrafficPolicy: Local keeps it)`,
    });
  }
  return notes;
}

/** Explains the given Services (all by default): backends per port, who may reach them, and the traps. */
export function explainServices(compiled: CompiledCluster, subjects?: readonly Service[]): ServiceExplanation[] {
  const services = subjects ?? servicesOf(compiled);
  const matrix = computeServiceMatrix(compiled, services);
  const n = compiled.cluster.endpoints.length;
  return services.map((service) => {
    const resolved = resolveService(compiled, service);
    const ports = service.ports.map((port, i): ServicePortExplanation => {
      const j = matrix.columns.findIndex((c) => c.service.service === service && c.index === i);
      const targets = resolved.backends.flatMap((b) => (b.ready && b.targetPorts[i] !== undefined ? [{ backend: b.id, port: b.targetPorts[i]! }] : []));
      if (j < 0) return { port, targets, reachedBy: [], partly: [], outside: 'not-exposed' };
      const col = matrix.columns[j];
      const reachedBy: string[] = [];
      const partly: { endpoint: string; admitted: number }[] = [];
      for (let r = 0; r < n; r++) {
        if (matrix.allowed(r, j)) reachedBy.push(matrix.sources[r]);
        else if (matrix.admitted(r, j) > 0) partly.push({ endpoint: matrix.sources[r], admitted: matrix.admitted(r, j) });
      }
      let outside: ServicePortExplanation['outside'] = 'not-exposed';
      if (col.exposed) outside = matrix.allowed(n, j) ? 'all' : matrix.admitted(n, j) > 0 || matrix.partlyOutside(j) ? 'some' : 'none';
      return { port, targets, reachedBy, partly, outside };
    });
    const notes = [...resolved.notes, ...servicePortRuleTraps(compiled, resolved), ...clusterIPBlockTraps(compiled, resolved), ...snatTraps(compiled, resolved)];
    return { service: resolved, ports, notes };
  });
}

/**
 * Notes on a connection to an endpoint: a port it declares no container port for (nothing would
 * listen there), and a Service of the same name the user may have meant, when asking it would give
 * another answer (its port maps to another port, or it has other backends).
 */
export function destinationNotes(compiled: CompiledCluster, endpoint: Endpoint, port: number, protocol: Protocol, sameNameService?: Service): ServiceNote[] {
  const notes: ServiceNote[] = [];
  if (!endpoint.hostNetwork && endpoint.ports.length > 0 && !declares(endpoint, port, protocol)) {
    const ports = endpoint.ports.map((p) => `${p.containerPort}/${p.protocol}`).join(', ');
    notes.push({ code: 'port-undeclared', backend: endpoint.id, message: `${endpoint.id} declares no container port ${port}/${protocol} (it declares ${ports}): nothing would listen there` });
  }
  const sp = sameNameService ? findServicePort(sameNameService, port, protocol) : undefined;
  if (sameNameService && sp) {
    const p = sameNameService.ports[sp.index];
    const target = resolveTargetPort(p, endpoint);
    const id = serviceId(sameNameService);
    const routed = resolveService(compiled, sameNameService).backends.filter((b) => b.ready && b.targetPorts[sp.index] !== undefined);
    const sameAnswer = target === port && routed.length === 1 && routed[0].endpoint === endpoint;
    if (sameAnswer) return notes;
    notes.push({
      code: 'same-name-service',
      message: `${id} has the same name and ${sp.via === 'nodePort' ? `node port ${port}` : `port ${port}/${protocol}`}, which reaches its backends on ${target !== undefined ? `${target}/${protocol}` : `the named port "${String(p.targetPort)}"`}: to ask about the Service, use --to ${id}`,
    });
  }
  return notes;
}
