// `podwall explain`: per endpoint, the policies that select it, its isolation, and in plain
// words who may reach it and whom it may reach.
import {
  explainEndpoints,
  formatPolicyRef,
  formatRuleRef,
  resolvePeer,
  type DirectionExplanation,
  type EndpointExplanation,
  type Reach,
} from '../engine/index.js';
import type { Endpoint } from '../model/index.js';
import { loadInput, parseFormat, type InputOptions } from './input.js';
import { paint, UsageError, type Output, type Paint } from './output.js';

export interface ExplainOptions extends InputOptions {
  readonly output?: string;
}

function formatReach(reach: readonly Reach[]): string {
  return reach.map((r) => `${r.endpoint} (${r.ports.map((p) => `${p.port}/${p.protocol}`).join(', ')})`).join(', ');
}

function directionLines(d: DirectionExplanation, p: Paint): string[] {
  const ingress = d.direction === 'Ingress';
  const lines: string[] = [];
  if (!d.isolated) {
    lines.push(`${ingress ? 'ingress' : 'egress'}: not isolated: ${ingress ? 'any source may connect' : 'it may connect anywhere'}${ingress ? ', as far as the sources\' egress allows' : ', as far as the destinations\' ingress allows'}`);
  } else {
    lines.push(`${ingress ? 'ingress' : 'egress'}: ${p.bold('isolated')} by ${d.isolatingPolicies.map(formatPolicyRef).join(', ')}`);
    if (d.rules.length === 0) lines.push(`  no ${ingress ? 'ingress' : 'egress'} rules: ${ingress ? 'nothing may connect to it' : 'it may connect nowhere'}`);
    for (const r of d.rules) lines.push(`  ${formatRuleRef(r.rule)} allows ${ingress ? 'from' : 'to'} ${r.peers}, on ${r.ports}`);
  }
  const others = formatReach(d.reach);
  lines.push(`  ${ingress ? 'may be reached by' : 'may reach'}: ${others || p.dim('no endpoint on its declared ports')}`);
  const outside = { all: 'yes', some: 'on some ports or addresses (see the rules)', none: 'no' }[d.external];
  lines.push(`  ${ingress ? 'from' : 'to'} outside the cluster: ${outside}`);
  return lines;
}

function endpointTitle(e: Endpoint): string {
  const labels = Object.keys(e.labels)
    .sort()
    .map((k) => `${k}=${e.labels[k]}`)
    .join(',');
  const ports = e.ports.map((p) => `${p.containerPort}/${p.protocol}${p.name ? ` (${p.name})` : ''}`).join(', ');
  return `${e.id}  [${e.kind}]  labels: ${labels || '-'}  ports: ${ports || '-'}${e.ips.length ? `  ip: ${e.ips.join(', ')}` : ''}`;
}

export function renderExplanation(x: EndpointExplanation, color: boolean): string {
  const p = paint(color);
  const lines = [p.bold(endpointTitle(x.endpoint))];
  if (x.hostNetwork) {
    lines.push('  hostNetwork: uses the node\'s network, so NetworkPolicy does not apply to it; its traffic is the node\'s, which pod and namespace selectors never match');
  }
  const selected = x.selectedBy.map((s) => `${formatPolicyRef(s.policy)} [${s.policyTypes.join(', ')}]`).join(', ');
  lines.push(`  selected by: ${selected || 'no policy'}`);
  for (const d of [x.ingress, x.egress]) lines.push(...directionLines(d, p).map((l) => `  ${l}`));
  return lines.join('\n');
}

export function explanationToJSON(x: EndpointExplanation): object {
  const dir = (d: DirectionExplanation): object => ({
    isolated: d.isolated,
    isolatingPolicies: d.isolatingPolicies.map(formatPolicyRef),
    rules: d.rules.map((r) => ({ policy: formatPolicyRef(r.rule.policy), rule: r.rule.index, peers: r.peers, ports: r.ports })),
    reach: d.reach,
    external: d.external,
  });
  return {
    endpoint: x.endpoint.id,
    kind: x.endpoint.kind,
    hostNetwork: x.hostNetwork,
    selectedBy: x.selectedBy.map((s) => ({ policy: formatPolicyRef(s.policy), policyTypes: s.policyTypes })),
    ingress: dir(x.ingress),
    egress: dir(x.egress),
  };
}

export function runExplain(endpoint: string | undefined, options: ExplainOptions, io: Output): number {
  const format = parseFormat(options.output, ['text', 'json'] as const);
  const { compiled } = loadInput(options, io);
  let subjects: Endpoint[] | undefined;
  if (endpoint !== undefined) {
    const r = resolvePeer(compiled, endpoint, options.namespace);
    if ('error' in r) throw new UsageError(r.error);
    if (r.peer.kind !== 'endpoint') throw new UsageError(`${endpoint} is outside the cluster: explain takes an endpoint`);
    subjects = [r.peer.endpoint];
  }
  const explanations = explainEndpoints(compiled, subjects);
  if (format === 'json') io.out(JSON.stringify(explanations.map(explanationToJSON), null, 2));
  else io.out(explanations.map((x) => renderExplanation(x, io.color)).join('\n\n'));
  return 0;
}
