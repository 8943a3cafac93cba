// `podwall check`: one connection, with the reasons on both sides. Exit 0 allowed, 1 denied,
// 2 bad input (a connection with neither end in the cluster is no question NetworkPolicy answers).
import {
  describeRule,
  evaluateConnection,
  formatPolicyRef,
  formatRuleRef,
  resolvePeer,
  type CompiledCluster,
  type DirectionVerdict,
  type TrafficPeer,
  type Verdict,
} from '../engine/index.js';
import { loadInput, parseFormat, parsePort, parseProtocol, type InputOptions } from './input.js';
import { paint, UsageError, type Output } from './output.js';

export interface CheckOptions extends InputOptions {
  readonly from?: string;
  readonly to?: string;
  readonly port?: string;
  readonly protocol?: string;
  readonly output?: string;
}

function peerName(peer: TrafficPeer): string {
  return peer.kind === 'external' ? `${peer.ip} (outside the cluster)` : peer.endpoint.id;
}

function sideLines(compiled: CompiledCluster, v: DirectionVerdict, who: string): string[] {
  const dir = v.direction === 'Egress' ? 'egress' : 'ingress';
  const head = `${dir} ${v.direction === 'Egress' ? 'from' : 'to'} ${who}`;
  if (v.notSubject === 'external') return [`${head}: outside the cluster, not subject to NetworkPolicy`];
  if (v.notSubject === 'hostNetwork') {
    return [`${head}: hostNetwork pod, not subject to NetworkPolicy (its traffic is the node's)`];
  }
  if (!v.isolated) return [`${head}: not isolated for ${dir} (no policy selects it for ${v.direction}), so allowed`];
  const by = v.isolatingPolicies.map(formatPolicyRef).join(', ');
  const lines: string[] = [];
  if (v.allowed) {
    lines.push(`${head}: isolated by ${by}; allowed by ${v.allowedBy.map(formatRuleRef).join(', ')}`);
  } else {
    lines.push(`${head}: isolated by ${by}; no ${dir} rule allows it`);
    const rules = compiled.policies
      .filter((p) => v.isolatingPolicies.some((r) => r.namespace === p.namespace && r.name === p.ref.name))
      .flatMap((p) => p.rules[v.direction]);
    if (rules.length === 0) lines.push(`    (the isolating policies have no ${dir} rules: they allow nothing)`);
    for (const rule of rules) {
      const words = describeRule(rule);
      lines.push(`    ${formatRuleRef({ tier: 'NetworkPolicy', policy: rule.policy, direction: rule.direction, index: rule.index })} allows ${v.direction === 'Egress' ? 'to' : 'from'} ${words.peers}, on ${words.ports}`);
    }
  }
  for (const note of v.notes) lines.push(`    note: ${note}`);
  return lines;
}

function sideJSON(v: DirectionVerdict): object {
  return {
    allowed: v.allowed,
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
    sourceIP: v.sourceIP ?? null,
    destinationIP: v.destinationIP ?? null,
    egress: sideJSON(v.egress),
    ingress: sideJSON(v.ingress),
  };
}

export function runCheck(options: CheckOptions, io: Output): number {
  const format = parseFormat(options.output, ['text', 'json'] as const);
  if (!options.from || !options.to) throw new UsageError('check needs --from and --to (ns/name, ns/kind/name or an IP address)');
  const port = parsePort(options.port);
  if (port === undefined) throw new UsageError('check needs --port');
  const protocol = parseProtocol(options.protocol) ?? 'TCP';
  const { compiled } = loadInput(options, io);

  const resolve = (flag: string, text: string): TrafficPeer => {
    const r = resolvePeer(compiled, text, options.namespace);
    if ('error' in r) throw new UsageError(`${flag}: ${r.error}`);
    return r.peer;
  };
  const source = resolve('--from', options.from);
  const destination = resolve('--to', options.to);
  if (source.kind === 'external' && destination.kind === 'external') {
    throw new UsageError(`neither end is in the cluster: --from ${source.ip} and --to ${destination.ip} are outside it, and NetworkPolicy only governs traffic of pods (name a pod or workload, or a pod's IP, on one side)`);
  }
  const verdict = evaluateConnection(compiled, { source, destination, port, protocol });

  if (format === 'json') {
    io.out(JSON.stringify(verdictToJSON(source, destination, port, protocol, verdict), null, 2));
  } else {
    const p = paint(io.color);
    const word = verdict.allowed ? p.ok('ALLOWED') : p.bad('DENIED');
    const addresses = verdict.sourceIP || verdict.destinationIP ? p.dim(` (${verdict.sourceIP ?? '?'} -> ${verdict.destinationIP ?? '?'})`) : '';
    io.out(
      [
        `${peerName(source)} -> ${peerName(destination)} on ${port}/${protocol}: ${word}${addresses}`,
        ...sideLines(compiled, verdict.egress, peerName(source)).map((l) => `  ${l}`),
        ...sideLines(compiled, verdict.ingress, peerName(destination)).map((l) => `  ${l}`),
      ].join('\n'),
    );
  }
  return verdict.allowed ? 0 : 1;
}
