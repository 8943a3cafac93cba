// Findings about the cluster as a whole, one each: pods no policy selects, pods that admit
// connections from outside the cluster, and policies that nothing enforces.
import { policySelects } from '../compile.js';
import { formatRuleRef } from '../describe.js';
import { externalAccess } from '../external.js';
import { endpointObject, listNames, plural, type LintContext } from './context.js';

export function lintSummaries(ctx: LintContext): void {
  const { compiled } = ctx;
  const { endpoints } = compiled.cluster;
  if (endpoints.length === 0) {
    ctx.report({
      id: 'PW-NO-ENDPOINTS',
      message: 'the input holds no pods or workloads, so what the policies select could not be checked: lint the policies together with the workloads they govern',
    });
  }
  const subject = endpoints.filter((e) => !e.hostNetwork);
  const unselected = subject.filter((e) => !compiled.policies.some((p) => policySelects(p, e)));
  if (unselected.length > 0) {
    ctx.report({
      id: 'PW-UNSELECTED-PODS',
      message: `${plural(unselected.length, 'pod')} of ${subject.length} ${unselected.length === 1 ? 'is' : 'are'} selected by no policy, so ${unselected.length === 1 ? 'it accepts' : 'they accept'} and open${unselected.length === 1 ? 's' : ''} any connection: ${listNames(unselected.map((e) => e.id), 12)}`,
      related: unselected.map(endpointObject),
    });
  }
  const reachable: { id: string; how: string; endpoint: (typeof endpoints)[number] }[] = [];
  for (const e of subject) {
    const access = externalAccess(compiled, e, 'Ingress');
    if (access.open) reachable.push({ id: e.id, how: 'any port, not isolated for ingress', endpoint: e });
    else if (access.ports.length > 0) {
      const ports = access.ports.map((p) => `${p.port}/${p.protocol}`).join(', ');
      reachable.push({ id: e.id, how: `${ports} by ${[...new Set(access.ports.flatMap((p) => p.allowedBy.map(formatRuleRef)))].join(', ')}`, endpoint: e });
    } else if (access.rules.length > 0) {
      reachable.push({ id: e.id, how: `ports it does not declare, by ${access.rules.map((r) => formatRuleRef(r.rule)).join(', ')}`, endpoint: e });
    }
  }
  if (reachable.length > 0) {
    ctx.report({
      id: 'PW-REACHABLE-FROM-OUTSIDE',
      message: `${plural(reachable.length, 'pod')} of ${subject.length} admit${reachable.length === 1 ? 's' : ''} connections from outside the cluster (whether a route exists depends on Services and the network): ${listNames(reachable.map((r) => `${r.id} (${r.how})`), 12)}`,
      related: reachable.map((r) => endpointObject(r.endpoint)),
    });
  }
  const enforcement = ctx.options.enforcement;
  if (enforcement?.enforced === false && compiled.policies.length > 0) {
    ctx.report({
      id: 'PW-NOT-ENFORCED',
      message: `policies exist but nothing enforces them: ${enforcement.reason}`,
    });
  }
}
