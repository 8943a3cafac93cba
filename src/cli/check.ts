// `podwall check`: one connection, with the reasons on both sides; to a Service, one verdict per
// backend at its target port (as the kernel sees it after DNAT). Exit 0 allowed (by every backend),
// 1 denied, 2 bad input (a connection with neither end in the cluster is no question NetworkPolicy answers).
import {
  describeVerdictSide,
  destinationNotes,
  evaluateConnection,
  evaluateServiceConnection,
  formatAdminRuleRef,
  formatPolicyRef,
  formatRuleRef,
  formatServicePort,
  resolveService,
  resolveTarget,
  serviceId,
  serviceSources,
  type AdminRuleRef,
  type BackendVerdict,
  type CompiledCluster,
  type DirectionVerdict,
  type ServiceConnectionVerdict,
  type ServiceNote,
  type TrafficPeer,
  type Verdict,
} from '../engine/index.js';
import type { Protocol, Service } from '../model/index.js';
import { loadAnalysisInput, parseFormat, parsePort, parseProtocol, type AnalysisInputOptions } from './input.js';
import { paint, UsageError, type Output } from './output.js';

export interface CheckOptions extends AnalysisInputOptions {
  readonly from?: string;
  readonly to?: string;
  readonly port?: string;
  readonly protocol?: string;
  readonly output?: string;
}

function peerName(peer: TrafficPeer): string {
  return peer.kind === 'external' ? `${peer.ip} (outside the cluster)` : peer.endpoint.id;
}

const sideLines = (compiled: CompiledCluster, v: DirectionVerdict, who: string): string[] => describeVerdictSide(compiled, v, who);

/** An admin or baseline rule as data: the policy (kind, name, tier, priority), the rule's index, name and action, and the reason text. */
export function adminRuleJSON(r: AdminRuleRef): object {
  return {
    kind: r.policy.kind,
    policy: r.policy.name,
    tier: r.policy.tier,
    priority: r.policy.priority ?? null,
    direction: r.direction,
    rule: r.index,
    name: r.name ?? null,
    action: r.action,
    text: formatAdminRuleRef(r),
  };
}

function sideJSON(v: DirectionVerdict): object {
  return {
    allowed: v.allowed,
    tier: v.tier,
    decidedBy: v.decidedBy ? adminRuleJSON(v.decidedBy) : null,
    passedBy: v.passedBy.map(adminRuleJSON),
    subjectToPolicy: v.notSubject === undefined,
    ...(v.notSubject ? { notSubjectReason: v.notSubject } : {}),
    isolated: v.isolated,
    isolatingPolicies: v.isolatingPolicies.map(formatPolicyRef),
    allowedBy: v.allowedBy.map((r) => ({ policy: formatPolicyRef(r.policy), direction: r.direction, rule: r.index, tier: r.tier })),
    notes: v.notes,
  };
}

export function verdictToJSON(from: TrafficPeer, to: TrafficPeer, port: number, protocol: string, v: Verdict): object {
  const id = (p: TrafficPeer): string => (p.kind === 'external' ? p.ip : p.endpoint.id);
  return {
    from: id(from),
    to: id(to),
    port,
    protocol,
    allowed: v.allowed,
    tier: v.tier,
    sourceIP: v.sourceIP ?? null,
    destinationIP: v.destinationIP ?? null,
    egress: sideJSON(v.egress),
    ingress: sideJSON(v.ingress),
  };
}

/** A note as data: its code, words, and the backend and rules it is about. */
function noteJSON(n: ServiceNote): object {
  return { code: n.code, message: n.message, ...(n.backend ? { backend: n.backend } : {}), ...(n.rules ? { rules: n.rules.map(formatRuleRef) } : {}) };
}

function noteLines(notes: readonly ServiceNote[]): string[] {
  return notes.map((n) => `note [${n.code}]: ${n.message}`);
}

function backendJSON(b: BackendVerdict): object {
  return {
    backend: b.backend.id,
    endpoint: b.backend.endpoint?.id ?? null,
    address: b.backend.address ?? null,
    routed: b.routed,
    port: b.port ?? null,
    allowed: b.verdict ? b.verdict.allowed : null,
    sourceIP: b.verdict?.sourceIP ?? null,
    destinationIP: b.verdict?.destinationIP ?? null,
    egress: b.verdict ? sideJSON(b.verdict.egress) : null,
    ingress: b.verdict ? sideJSON(b.verdict.ingress) : null,
  };
}

export function serviceVerdictToJSON(v: ServiceConnectionVerdict, port: number): object {
  const p = v.servicePort;
  return {
    from: v.source.kind === 'external' ? v.source.ip : v.source.endpoint.id,
    to: v.service.id,
    port,
    protocol: v.protocol,
    allowed: v.allowed,
    reachable: v.reachable,
    service: {
      type: v.service.service.type,
      port: { name: p.name ?? null, port: p.port, protocol: p.protocol, targetPort: p.targetPort, nodePort: p.nodePort ?? null },
      via: v.via,
      externalTrafficPolicy: v.service.service.externalTrafficPolicy ?? null,
    },
    routed: v.routed,
    admitted: v.admitted,
    backends: v.backends.map(backendJSON),
    notes: v.notes.map(noteJSON),
  };
}

function serviceVerdictLines(compiled: CompiledCluster, v: ServiceConnectionVerdict, port: number, color: boolean): string[] {
  const p = paint(color);
  const sp = v.servicePort;
  const target = typeof sp.targetPort === 'number' ? `${sp.targetPort}` : `"${sp.targetPort}"`;
  const how = v.via === 'nodePort' ? `node port ${port} (port ${formatServicePort(sp)})` : `port ${formatServicePort(sp)}`;
  let summary: string;
  if (!v.reachable) summary = `${p.bad('DENIED')}: the source cannot reach the Service at all`;
  else if (v.routed === 0) summary = `${p.bad('DENIED')}: no backend serves this port`;
  else summary = `${v.allowed ? p.ok('ALLOWED') : p.bad('DENIED')}: ${v.admitted} of ${v.routed} backend${v.routed === 1 ? '' : 's'} admit${v.admitted === 1 ? 's' : ''} it`;
  const lines = [`${peerName(v.source)} -> ${v.service.id} ${how} -> targetPort ${target}: ${summary}`];
  for (const b of v.backends) {
    if (!b.routed || !b.verdict) {
      const why = !b.backend.ready ? 'not ready: it gets no traffic' : `it declares no ${sp.protocol} port named "${String(sp.targetPort)}": it gets none of this port's traffic`;
      lines.push(`  ${b.backend.id}: ${p.dim(why)}`);
      continue;
    }
    const word = b.verdict.allowed ? p.ok('ALLOWED') : p.bad('DENIED');
    const addresses = b.verdict.sourceIP || b.verdict.destinationIP ? p.dim(` (${b.verdict.sourceIP ?? '?'} -> ${b.verdict.destinationIP ?? '?'})`) : '';
    const to: TrafficPeer = b.backend.endpoint ? { kind: 'endpoint', endpoint: b.backend.endpoint } : { kind: 'external', ip: b.backend.address! };
    lines.push(`  ${b.backend.id} on ${b.port}/${v.protocol}: ${word}${addresses}`);
    lines.push(...sideLines(compiled, b.verdict.egress, peerName(v.source)).map((l) => `    ${l}`));
    lines.push(...sideLines(compiled, b.verdict.ingress, peerName(to)).map((l) => `    ${l}`));
  }
  lines.push(...noteLines(v.notes).map((l) => `  ${l}`));
  return lines;
}

function portsOf(service: Service): string {
  return service.ports.map((p) => `${formatServicePort(p)} -> ${String(p.targetPort)}${p.nodePort ? ` (node port ${p.nodePort})` : ''}`).join(', ') || 'none';
}

/** The Service a --to names, checked for being a question check can answer. */
function serviceDestination(service: Service, port: number, protocol: Protocol): void {
  const id = serviceId(service);
  if (service.type === 'ExternalName') {
    throw new UsageError(`--to: ${id} is an ExternalName Service, a DNS alias (CNAME) for ${service.externalName} outside the cluster: no traffic is proxied, and NetworkPolicy judges the connection to that name's addresses: ask with --to ADDRESS`);
  }
  if (!service.ports.some((p) => p.port === port && p.protocol === protocol) && !service.ports.some((p) => p.nodePort === port && p.protocol === protocol)) {
    const byTarget = service.ports.find((p) => p.targetPort === port && p.protocol === protocol);
    const hint = byTarget ? `; ${port} is the targetPort of port ${byTarget.port}: ask for the Service port, --port ${byTarget.port}` : '';
    throw new UsageError(`--port: ${id} has no port ${port}/${protocol} (ports: ${portsOf(service)})${hint}`);
  }
}

export async function runCheck(options: CheckOptions, io: Output): Promise<number> {
  const format = parseFormat(options.output, ['text', 'json'] as const);
  if (!options.from || !options.to) throw new UsageError('check needs --from and --to (ns/name, ns/kind/name, ns/service/name or an IP address)');
  const port = parsePort(options.port);
  if (port === undefined) throw new UsageError('check needs --port');
  const protocol = parseProtocol(options.protocol) ?? 'TCP';
  const { compiled } = await loadAnalysisInput(options, io);

  const from = resolveTarget(compiled, options.from, options.namespace);
  if ('error' in from) throw new UsageError(`--from: ${from.error}`);
  const to = resolveTarget(compiled, options.to, options.namespace);
  if ('error' in to) throw new UsageError(`--to: ${to.error}`);

  // A Service as the source means each of its backends; its own address never opens a connection.
  let sources: TrafficPeer[];
  let sourceService: Service | undefined;
  if ('service' in from) {
    const id = serviceId(from.service);
    if (from.address) throw new UsageError(`--from: ${from.address} is an address of ${id}, and a Service's address opens no connection (only its backends do): to mean each backend, say --from ${id}`);
    if (from.service.type === 'ExternalName') throw new UsageError(`--from: ${id} is an ExternalName Service: it has no backends that could send`);
    sourceService = from.service;
    sources = serviceSources(compiled, from.service);
    if (sources.length === 0) {
      const why = resolveService(compiled, from.service).notes.find((n) => n.code === 'no-backends' || n.code === 'no-selector');
      throw new UsageError(`--from: ${id} has no backends, so nothing sends as it${why ? ` (${why.message})` : ''}`);
    }
  } else sources = [from.peer];

  const verdicts: { json: object; lines: string[]; allowed: boolean }[] = [];
  if ('service' in to) {
    serviceDestination(to.service, port, protocol);
    for (const source of sources) {
      const v = evaluateServiceConnection(compiled, source, to.service, port, protocol)!;
      verdicts.push({ json: serviceVerdictToJSON(v, port), lines: serviceVerdictLines(compiled, v, port, io.color), allowed: v.allowed });
    }
  } else {
    const destination = to.peer;
    if (destination.kind === 'external' && sources.every((s) => s.kind === 'external')) {
      if (sourceService) throw new UsageError(`neither end is in the cluster: the backends of ${serviceId(sourceService)} and --to ${destination.ip} are outside it`);
      const ip = sources[0].kind === 'external' ? sources[0].ip : '';
      throw new UsageError(`neither end is in the cluster: --from ${ip} and --to ${destination.ip} are outside it, and NetworkPolicy only governs traffic of pods (name a pod or workload, or a pod's IP, on one side)`);
    }
    const notes = destination.kind === 'endpoint' ? destinationNotes(compiled, destination.endpoint, port, protocol, to.sameNameService) : [];
    for (const source of sources) {
      const verdict = evaluateConnection(compiled, { source, destination, port, protocol });
      const p = paint(io.color);
      const word = verdict.allowed ? p.ok('ALLOWED') : p.bad('DENIED');
      const addresses = verdict.sourceIP || verdict.destinationIP ? p.dim(` (${verdict.sourceIP ?? '?'} -> ${verdict.destinationIP ?? '?'})`) : '';
      verdicts.push({
        json: { ...verdictToJSON(source, destination, port, protocol, verdict), notes: notes.map(noteJSON) },
        lines: [
          `${peerName(source)} -> ${peerName(destination)} on ${port}/${protocol}: ${word}${addresses}`,
          ...sideLines(compiled, verdict.egress, peerName(source)).map((l) => `  ${l}`),
          ...sideLines(compiled, verdict.ingress, peerName(destination)).map((l) => `  ${l}`),
          ...noteLines(notes).map((l) => `  ${l}`),
        ],
        allowed: verdict.allowed,
      });
    }
  }

  const allowed = verdicts.every((v) => v.allowed);
  if (format === 'json') {
    const body = sourceService
      ? { from: serviceId(sourceService), to: 'service' in to ? serviceId(to.service) : peerId(to.peer), port, protocol, allowed, sources: verdicts.map((v) => v.json) }
      : verdicts[0].json;
    io.out(JSON.stringify(body, null, 2));
  } else {
    const head = sourceService
      ? [`${serviceId(sourceService)} (each of its ${sources.length} backend${sources.length === 1 ? '' : 's'}) -> ${'service' in to ? serviceId(to.service) : peerName(to.peer)} on ${port}/${protocol}: ${allowed ? paint(io.color).ok('ALLOWED') : paint(io.color).bad('DENIED')} for ${verdicts.filter((v) => v.allowed).length} of ${verdicts.length}`, '']
      : [];
    io.out([...head, verdicts.map((v) => v.lines.join('\n')).join('\n\n')].join('\n'));
  }
  return allowed ? 0 : 1;
}

function peerId(p: TrafficPeer): string {
  return p.kind === 'external' ? p.ip : p.endpoint.id;
}
