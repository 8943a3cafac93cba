// Pure: admin and baseline policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
// ClusterNetworkPolicy) as the page shows them: each policy with its tier, priority, subject and rules
// in the engine's words, and as a manifest of its own API version for the editor and the export.
import {
  adminPolicySelects,
  describeAdminRule,
  describeAdminSubject,
  formatAdminPolicyRef,
  formatAdminRuleRef,
  type AdminRuleRef,
  type CompiledAdminPolicy,
  type CompiledCluster,
} from '../engine/index.js';
import { adminPolicyManifest, type AdminPolicy } from '../model/index.js';
import { stringify } from 'yaml';
import type { AdminPolicyView, AdminRuleView } from './types.js';

/** `ClusterNetworkPolicy/web-never-reaches-db`: cluster-scoped, so kind and name. */
export const adminPolicyId = (p: { kind: string; name: string }): string => `${p.kind}/${p.name}`;

export function adminPolicyYaml(p: AdminPolicy): string {
  return stringify(adminPolicyManifest(p));
}

/** A rule reference in the CLI's words, with the rule's peers and ports described. */
export function adminRuleView(compiled: CompiledCluster, ref: AdminRuleRef): AdminRuleView {
  const policy = compiled.adminPolicies[ref.policy.tier].find((p) => p.ref.kind === ref.policy.kind && p.ref.name === ref.policy.name);
  const rule = policy?.rules[ref.direction][ref.index];
  const words = rule ? describeAdminRule(rule) : { peers: '?', ports: '?' };
  return {
    ref: formatAdminRuleRef(ref),
    policy: adminPolicyId(ref.policy),
    tier: ref.policy.tier,
    direction: ref.direction,
    index: ref.index,
    ...(ref.name !== undefined ? { name: ref.name } : {}),
    action: ref.action,
    ...words,
  };
}

function policyView(compiled: CompiledCluster, p: CompiledAdminPolicy, order: number): AdminPolicyView {
  return {
    id: adminPolicyId(p.ref),
    kind: p.ref.kind,
    name: p.ref.name,
    tier: p.ref.tier,
    ...(p.ref.priority !== undefined ? { priority: p.ref.priority } : {}),
    ref: formatAdminPolicyRef(p.ref),
    order,
    subject: describeAdminSubject(p.policy.subject),
    selects: compiled.cluster.endpoints.filter((e) => adminPolicySelects(compiled, p, e)).map((e) => e.id),
    yaml: adminPolicyYaml(p.policy),
    ingress: p.rules.Ingress.map((r) => adminRuleView(compiled, r.ref)),
    egress: p.rules.Egress.map((r) => adminRuleView(compiled, r.ref)),
  };
}

/** Every admin and baseline policy in evaluation order: the Admin tier, then the Baseline tier. */
export function adminPolicyViews(compiled: CompiledCluster): AdminPolicyView[] {
  return [...compiled.adminPolicies.Admin.map((p, i) => policyView(compiled, p, i)), ...compiled.adminPolicies.Baseline.map((p, i) => policyView(compiled, p, i))];
}
