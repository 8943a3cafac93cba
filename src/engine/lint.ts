// `lint`: findings in the policies of a compiled cluster, pure. Each rule lives in src/engine/lint/
// and judges with the engine's own matching and verdicts; findings come out sorted by object, then
// position, so the same input always gives the same list.
import type { CompiledCluster } from './compile.js';
import { lintAdminPolicies } from './lint/admin.js';
import { createContext } from './lint/context.js';
import { lintAdminDNS, lintDNSEgress } from './lint/dns.js';
import { lintIPBlocks } from './lint/ipblocks.js';
import { lintEndPort, lintNamedPorts, lintPolicyTypes } from './lint/ports.js';
import { lintRedundantRules } from './lint/redundant.js';
import { lintPeerSelectors, lintPolicySelectors } from './lint/selectors.js';
import { lintSummaries } from './lint/summary.js';
import { LINT_RULES, type LintFinding, type LintOptions } from './lint/types.js';

export * from './lint/types.js';

const ruleOrder = new Map(LINT_RULES.map((r, i) => [r.id, i]));

function compare(a: string | number | undefined, b: string | number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a < b ? -1 : 1;
}

function compareFindings(a: LintFinding, b: LintFinding): number {
  // Findings about the whole cluster come last.
  if (!a.object || !b.object) return compare(a.object ? 0 : 1, b.object ? 0 : 1) || ruleOrder.get(a.id)! - ruleOrder.get(b.id)!;
  return (
    compare(a.object.namespace ?? '', b.object.namespace ?? '') ||
    compare(a.object.name, b.object.name) ||
    compare(a.object.kind, b.object.kind) ||
    compare(a.location?.line, b.location?.line) ||
    compare(a.location?.column, b.location?.column) ||
    compare(a.path, b.path) ||
    ruleOrder.get(a.id)! - ruleOrder.get(b.id)! ||
    compare(a.message, b.message)
  );
}

export function lintCluster(compiled: CompiledCluster, options: LintOptions = {}): LintFinding[] {
  const ctx = createContext(compiled, options);
  for (const policy of compiled.policies) {
    lintPolicyTypes(ctx, policy);
    lintEndPort(ctx, policy);
    lintPolicySelectors(ctx, policy);
    lintPeerSelectors(ctx, policy);
    lintNamedPorts(ctx, policy);
    lintIPBlocks(ctx, policy);
  }
  lintAdminPolicies(ctx);
  lintDNSEgress(ctx);
  lintAdminDNS(ctx);
  lintRedundantRules(ctx);
  lintSummaries(ctx);
  return ctx.findings.sort(compareFindings);
}
