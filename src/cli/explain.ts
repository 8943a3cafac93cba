// `podwall explain`: per endpoint, the policies that select it, its isolation, and in plain
// words who may reach it and whom it may reach; per Service (--services, or a Service named), its
// backends per port, who may reach each port, and the traps that apply.
import {
  explainEndpoints,
  explainServices,
  formatAdminPolicyRef,
  formatAdminRuleRef,
  formatPolicyRef,
  formatRuleRef,
  formatServicePort,
  resolveTarget,
  type AdminPolicyExplanation,
  type DirectionExplanation,
  type EndpointExplanation,
  type Reach,
  type ServiceExplanation,
} from '../engine/index.js';
import type { Endpoint, Service } from '../model/index.js';
import { loadAnalysisInput, parseFormat, type AnalysisInputOptions } from './input.js';
import { paint, UsageError, type Output, type Paint } from './output.js';

export interface ExplainOptions extends AnalysisInputOptions {
  readonly output?: string;
  readonly services?: boolean;
}

function formatReach(reach: readonly Reach[]): string {
  return reach.map((r) => `${r.endpoint} (${r.ports.map((p) => `${p.port}/${p.protocol}`).join(', ')})`).join(', ');
}

function adminLines(policies: readonly AdminPolicyExplanation[], ingress: boolean): string[] {
  return policies.flatMap((x) => x.rules.map((r) => `    ${formatAdminRuleRef(r.rule)} ${ingress ? 'from' : 'to'} ${r.peers}, on ${r.ports}`));
}

function directionLines(d: DirectionExplanation, p: Paint): string[] {
  const ingress = d.direction === 'Ingress';
  const lines: string[] = [];
  const admin = (): void => {
    if (d.admin.length === 0) return;
    lines.push(`  Admin tier, first (the first matching rule decides; Pass goes on to NetworkPolicy):`);
    lines.push(...adminLines(d.admin, ingress));
  };
  if (!d.isolated) {
    const tiers = d.admin.length + d.baseline.length > 0;
    const open = tiers ? 'as far as its admin and baseline policies below and ' : 'as far as ';
    lines.push(`${ingress ? 'ingress' : 'egress'}: not isolated: ${ingress ? 'any source may connect' : 'it may connect anywhere'}${ingress ? `, ${open}the sources' egress allow${tiers ? '' : 's'}` : `, ${open}the destinations' ingress allow${tiers ? '' : 's'}`}`);
    admin();
  } else {
    lines.push(`${ingress ? 'ingress' : 'egress'}: ${p.bold('isolated')} by ${d.isolatingPolicies.map(formatPolicyRef).join(', ')}`);
    admin();
    if (d.rules.length === 0) lines.push(`  no ${ingress ? 'ingress' : 'egress'} rules: ${ingress ? 'nothing may connect to it' : 'it may connect nowhere'}`);
    for (const r of d.rules) lines.push(`  ${formatRuleRef(r.rule)} allows ${ingress ? 'from' : 'to'} ${r.peers}, on ${r.ports}`);
  }
  if (d.baseline.length > 0) {
    lines.push(
      d.isolated
        ? `  Baseline tier, last: not consulted for ${ingress ? 'ingress' : 'egress'}, since NetworkPolicy isolates it:`
        : `  Baseline tier, last (decides what the Admin tier passed or left; Pass means allowed):`,
    );
    lines.push(...adminLines(d.baseline, ingress));
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
  const tiers = [...new Map([...x.ingress.admin, ...x.egress.admin, ...x.ingress.baseline, ...x.egress.baseline].map((a) => [formatAdminPolicyRef(a.policy), a])).keys()];
  if (tiers.length > 0) lines.push(`  admin and baseline policies selecting it: ${tiers.join(', ')}`);
  for (const d of [x.ingress, x.egress]) lines.push(...directionLines(d, p).map((l) => `  ${l}`));
  return lines.join('\n');
}

export function explanationToJSON(x: EndpointExplanation): object {
  const admin = (policies: readonly AdminPolicyExplanation[]): object[] =>
    policies.map((x) => ({
      kind: x.policy.kind,
      policy: x.policy.name,
      tier: x.policy.tier,
      priority: x.policy.priority ?? null,
      subject: x.subject,
      rules: x.rules.map((r) => ({ rule: r.rule.index, name: r.rule.name ?? null, action: r.rule.action, peers: r.peers, ports: r.ports, text: formatAdminRuleRef(r.rule) })),
    }));
  const tiers = (d: DirectionExplanation): object => (d.admin.length + d.baseline.length > 0 ? { admin: admin(d.admin), baseline: admin(d.baseline) } : {});
  const dir = (d: DirectionExplanation): object => ({
    ...tiers(d),
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

const OUTSIDE_WORDS = { all: 'yes', some: 'from some addresses (ipBlock rules)', none: 'no', 'not-exposed': 'no: the Service is not exposed outside the cluster' } as const;

export function renderServiceExplanation(x: ServiceExplanation, color: boolean): string {
  const p = paint(color);
  const s = x.service.service;
  const selector = s.selector
    ? Object.keys(s.selector)
        .sort()
        .map((k) => `${k}=${s.selector![k]}`)
        .join(',')
    : '-';
  const addresses = s.type === 'ExternalName' ? `externalName: ${s.externalName}` : `clusterIP: ${s.headless ? 'None (headless)' : s.clusterIPs.join(', ') || '(allocated)'}`;
  const etp = s.externalTrafficPolicy ? `  externalTrafficPolicy: ${s.externalTrafficPolicy}` : '';
  const lines = [p.bold(`${x.service.id}  [${s.type}]  selector: ${selector}  ${addresses}${etp}`)];
  const backends = x.service.backends.map((b) => `${b.id}${b.ready ? '' : ' (not ready)'}`).join(', ');
  lines.push(`  backends: ${backends || p.dim('none')}`);
  for (const port of x.ports) {
    const node = port.port.nodePort ? `, node port ${port.port.nodePort}` : '';
    const targets = port.targets.map((t) => `${t.backend}:${t.port}`).join(', ');
    lines.push(`  port ${formatServicePort(port.port)} -> ${String(port.port.targetPort)}${node}: ${targets || p.dim('routed to no backend')}`);
    const partly = port.partly.map((r) => `${r.endpoint} (${r.admitted} of ${port.targets.length})`).join(', ');
    lines.push(`    may be reached by: ${port.reachedBy.join(', ') || p.dim('no endpoint')}${partly ? `; by some backends only: ${partly}` : ''}`);
    lines.push(`    from outside the cluster: ${OUTSIDE_WORDS[port.outside]}`);
  }
  for (const n of x.notes) lines.push(`  note [${n.code}]: ${n.message}`);
  return lines.join('\n');
}

export function serviceExplanationToJSON(x: ServiceExplanation): object {
  const s = x.service.service;
  return {
    service: x.service.id,
    type: s.type,
    selector: s.selector ?? null,
    clusterIPs: s.clusterIPs,
    headless: s.headless,
    externalName: s.externalName ?? null,
    externalTrafficPolicy: s.externalTrafficPolicy ?? null,
    origin: x.service.origin,
    backends: x.service.backends.map((b) => ({ backend: b.id, endpoint: b.endpoint?.id ?? null, address: b.address ?? null, ready: b.ready, targetPorts: b.targetPorts.map((t) => t ?? null) })),
    ports: x.ports.map((p) => ({
      name: p.port.name ?? null,
      port: p.port.port,
      protocol: p.port.protocol,
      targetPort: p.port.targetPort,
      nodePort: p.port.nodePort ?? null,
      targets: p.targets,
      reachedBy: p.reachedBy,
      partly: p.partly,
      outside: p.outside,
    })),
    notes: x.notes.map((n) => ({ code: n.code, message: n.message, ...(n.backend ? { backend: n.backend } : {}), ...(n.rules ? { rules: n.rules.map(formatRuleRef) } : {}) })),
  };
}

export async function runExplain(endpoint: string | undefined, options: ExplainOptions, io: Output): Promise<number> {
  const format = parseFormat(options.output, ['text', 'json'] as const);
  const { compiled } = await loadAnalysisInput(options, io);
  let subjects: Endpoint[] | undefined;
  let services: Service[] | undefined;
  if (endpoint !== undefined) {
    const r = resolveTarget(compiled, endpoint, options.namespace);
    if ('error' in r) throw new UsageError(r.error);
    if ('service' in r) services = [r.service];
    else if (options.services) {
      // With --services a name means the Service of that name, even where an endpoint shares it.
      if (!r.sameNameService) throw new UsageError(`${endpoint} is no Service: explain --services takes ns/service/name or a Service's name`);
      services = [r.sameNameService];
    } else if (r.peer.kind !== 'endpoint') throw new UsageError(`${endpoint} is outside the cluster: explain takes an endpoint or a Service`);
    else subjects = [r.peer.endpoint];
  }
  if (services !== undefined || options.services) {
    const explained = explainServices(compiled, services);
    if (format === 'json') io.out(JSON.stringify(explained.map(serviceExplanationToJSON), null, 2));
    else io.out(explained.length > 0 ? explained.map((x) => renderServiceExplanation(x, io.color)).join('\n\n') : 'no Service in the input');
    return 0;
  }
  const explanations = explainEndpoints(compiled, subjects);
  if (format === 'json') io.out(JSON.stringify(explanations.map(explanationToJSON), null, 2));
  else io.out(explanations.map((x) => renderExplanation(x, io.color)).join('\n\n'));
  return 0;
}
