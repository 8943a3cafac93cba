// Findings about the cluster as a whole, one each: pods no policy selects, pods that admit
// connections from outside the cluster, and policies that nothing enforces.
import { policySelects } from '../compile.js';
import { formatAdminRuleRef, formatRuleRef, hasAdminPolicies } from '../describe.js';
import { adminPoliciesSelecting } from '../evaluate.js';
import { externalAccess, outsideCells, tiersMatchOutside } from '../external.js';
import type { DirectionVerdict } from '../types.js';
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
  const tiers = hasAdminPolicies(compiled);
  const outsideByTiers = tiersMatchOutside(compiled, 'Ingress');
  const adminSelected = (e: (typeof endpoints)[number]): boolean => adminPoliciesSelecting(compiled, e, 'Admin').length + adminPoliciesSelecting(compiled, e, 'Baseline').length > 0;
  const unselected = subject.filter((e) => !compiled.policies.some((p) => policySelects(p, e)) && !(tiers && adminSelected(e)));
  if (unselected.length > 0) {
    ctx.report({
      id: 'PW-UNSELECTED-PODS',
      message: `${plural(unselected.length, 'pod')} of ${subject.length} ${unselected.length === 1 ? 'is' : 'are'} selected by no policy, so ${unselected.length === 1 ? 'it accepts' : 'they accept'} and open${unselected.length === 1 ? 's' : ''} any connection: ${listNames(unselected.map((e) => e.id), 12)}`,
      related: unselected.map(endpointObject),
    });
  }
  const reachable: { id: string; how: string; endpoint: (typeof endpoints)[number] }[] = [];
  const reasonOf = (v: DirectionVerdict): string[] =>
    v.decidedBy ? [formatAdminRuleRef(v.decidedBy)] : v.tier === 'NetworkPolicy' ? v.allowedBy.map(formatRuleRef) : ['not isolated for ingress, no tier deciding'];
  for (const e of subject) {
    if (outsideByTiers) {
      // Tier by tier: every outside address and port judged, the declared ports named.
      const cells = outsideCells(compiled, e, 'Ingress');
      const open = cells.filter((c) => c.verdict.allowed);
      if (open.length === 0) continue;
      const by = [...new Set(open.flatMap((c) => reasonOf(c.verdict)))].join(', ');
      if (open.length === cells.length) {
        reachable.push({ id: e.id, how: `any port, ${by}`, endpoint: e });
        continue;
      }
      const ports = [...new Map(e.ports.map((p) => [`${p.containerPort}/${p.protocol}`, p])).entries()].flatMap(([key, p]) => {
        const at = cells.filter((c) => c.protocol === p.protocol && c.lo <= p.containerPort && p.containerPort <= c.hi);
        const allowed = at.filter((c) => c.verdict.allowed).length;
        return allowed === 0 ? [] : [allowed === at.length ? key : `${key} (some addresses)`];
      });
      reachable.push({ id: e.id, how: `${ports.length > 0 ? ports.join(', ') : 'ports it does not declare'} by ${by}`, endpoint: e });
      continue;
    }
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
