// Per endpoint: which policies select it, for which directions it is isolated, the rules that
// admit traffic, and the concrete endpoints it may reach and be reached from on declared ports.
import type { Endpoint, PolicyType } from '../model/index.js';
import { computeClasses } from './classes.js';
import { policySelects, type CompiledAdminPolicy, type CompiledCluster } from './compile.js';
import { describeAdminRule, describeAdminSubject, describeRule } from './describe.js';
import { adminPoliciesSelecting, isolatingPolicies } from './evaluate.js';
import { cellsAdmission, externalAccess, outsideCells, tiersMatchOutside } from './external.js';
import { computeMatrix, declaredPorts, type Matrix, type PortProtocol } from './matrix.js';
import type { AdminPolicyRef, AdminRuleRef, Direction, PolicyRef, RuleRef } from './types.js';

export interface RuleExplanation {
  readonly rule: RuleRef;
  /** Who the rule admits, in words. */
  readonly peers: string;
  readonly ports: string;
}

/** An admin or baseline rule in words. */
export interface AdminRuleExplanation {
  readonly rule: AdminRuleRef;
  readonly peers: string;
  readonly ports: string;
}

/** An admin or baseline policy selecting the endpoint, with its rules of one direction in written order. */
export interface AdminPolicyExplanation {
  readonly policy: AdminPolicyRef;
  /** spec.subject in words. */
  readonly subject: string;
  readonly rules: readonly AdminRuleExplanation[];
}

export interface Reach {
  /** The other endpoint's id. */
  readonly endpoint: string;
  readonly ports: readonly PortProtocol[];
}

export interface DirectionExplanation {
  readonly direction: Direction;
  readonly isolated: boolean;
  readonly isolatingPolicies: readonly PolicyRef[];
  /** The rules that admit traffic in this direction (empty while isolated: nothing is allowed). */
  readonly rules: readonly RuleExplanation[];
  /** Ingress: endpoints that may connect to this one; Egress: endpoints this one may connect to. */
  readonly reach: readonly Reach[];
  /** Whether traffic from/to outside the cluster may pass on at least some port. */
  readonly external: 'all' | 'some' | 'none';
  /** Admin-tier policies selecting the endpoint with rules of this direction, in evaluation order (before NetworkPolicy). */
  readonly admin: readonly AdminPolicyExplanation[];
  /** Baseline-tier policies likewise (after NetworkPolicy, for a direction no NetworkPolicy isolates). */
  readonly baseline: readonly AdminPolicyExplanation[];
}

export interface EndpointExplanation {
  readonly endpoint: Endpoint;
  readonly hostNetwork: boolean;
  readonly selectedBy: readonly { readonly policy: PolicyRef; readonly policyTypes: readonly PolicyType[] }[];
  readonly ingress: DirectionExplanation;
  readonly egress: DirectionExplanation;
}

/** Outside the cluster in one word: everything, some addresses or ports, or nothing. */
function outsideSummary(compiled: CompiledCluster, endpoint: Endpoint, direction: Direction): 'all' | 'some' | 'none' {
  if (tiersMatchOutside(compiled, direction)) return cellsAdmission(outsideCells(compiled, endpoint, direction));
  const access = externalAccess(compiled, endpoint, direction);
  if (access.open) return 'all';
  if (access.rules.some((r) => r.peers === 'anywhere' && r.ports === 'all ports')) return 'all';
  return access.rules.length > 0 ? 'some' : 'none';
}

/** Explains the given endpoints (all of them by default) against the whole cluster. */
export function explainEndpoints(compiled: CompiledCluster, subjects?: readonly Endpoint[]): EndpointExplanation[] {
  const endpoints = compiled.cluster.endpoints;
  const index = new Map(endpoints.map((e, i) => [e, i]));
  const classes = computeClasses(compiled);
  const matrices = new Map<string, Matrix>();
  for (const target of declaredPorts(endpoints)) matrices.set(`${target.port}/${target.protocol}`, computeMatrix(compiled, target, classes));
  const matrixFor = (p: { containerPort: number; protocol: string }): Matrix => matrices.get(`${p.containerPort}/${p.protocol}`)!;

  const reachFrom = (i: number, direction: Direction): Reach[] => {
    const out: Reach[] = [];
    endpoints.forEach((other, j) => {
      // Ingress: other -> subject on the subject's ports; Egress: subject -> other on other's ports.
      const target = direction === 'Ingress' ? endpoints[i] : other;
      const ports: PortProtocol[] = [];
      const seen = new Set<string>();
      for (const p of target.ports) {
        const key = `${p.containerPort}/${p.protocol}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const m = matrixFor(p);
        if (direction === 'Ingress' ? m.allowed(j, i) : m.allowed(i, j)) ports.push({ port: p.containerPort, protocol: p.protocol });
      }
      if (ports.length > 0) out.push({ endpoint: other.id, ports });
    });
    return out;
  };

  const explainAdmin = (policies: readonly CompiledAdminPolicy[], direction: Direction): AdminPolicyExplanation[] =>
    policies
      .filter((p) => p.rules[direction].length > 0)
      .map((p) => ({ policy: p.ref, subject: describeAdminSubject(p.policy.subject), rules: p.rules[direction].map((r) => ({ rule: r.ref, ...describeAdminRule(r) })) }));

  const explainDirection = (endpoint: Endpoint, direction: Direction): DirectionExplanation => {
    const policies = endpoint.hostNetwork ? [] : isolatingPolicies(compiled, endpoint, direction);
    const rules = policies.flatMap((p) => p.rules[direction]);
    return {
      admin: explainAdmin(adminPoliciesSelecting(compiled, endpoint, 'Admin'), direction),
      baseline: explainAdmin(adminPoliciesSelecting(compiled, endpoint, 'Baseline'), direction),
      direction,
      isolated: policies.length > 0,
      isolatingPolicies: policies.map((p) => p.ref),
      rules: rules.map((r) => ({ rule: { tier: 'NetworkPolicy', policy: r.policy, direction, index: r.index }, ...describeRule(r) })),
      reach: reachFrom(index.get(endpoint)!, direction),
      external: outsideSummary(compiled, endpoint, direction),
    };
  };

  return (subjects ?? endpoints).map((endpoint) => ({
    endpoint,
    hostNetwork: endpoint.hostNetwork,
    selectedBy: compiled.policies
      .filter((p) => policySelects(p, endpoint))
      .map((p) => ({ policy: p.ref, policyTypes: p.policy.spec.policyTypes })),
    ingress: explainDirection(endpoint, 'Ingress'),
    egress: explainDirection(endpoint, 'Egress'),
  }));
}
