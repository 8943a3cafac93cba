// What the engine answers with: verdicts that carry their reasons, decided tier by tier: the Admin
// tier (AdminNetworkPolicy, ClusterNetworkPolicy tier Admin), NetworkPolicy, the Baseline tier
// (BaselineAdminNetworkPolicy, ClusterNetworkPolicy tier Baseline), then the default: allow.
import type { AdminPolicyKind, AdminRuleAction, AdminTier, Endpoint, PolicyType, Protocol } from '../model/index.js';

export type Direction = PolicyType;

/** The tiers a side of a connection passes through, in order; Default is "no tier decided: allowed". */
export type Tier = 'Admin' | 'NetworkPolicy' | 'Baseline' | 'Default';

/** A cluster-scoped policy: its kind and name, and where it sits. */
export interface AdminPolicyRef {
  readonly kind: AdminPolicyKind;
  readonly name: string;
  readonly tier: AdminTier;
  /** undefined for a BaselineAdminNetworkPolicy (it has no priority). */
  readonly priority?: number;
}

/** One rule of one admin or baseline policy: `ingress[index]` or `egress[index]`, with its name and action as written. */
export interface AdminRuleRef {
  readonly policy: AdminPolicyRef;
  readonly direction: Direction;
  readonly index: number;
  readonly name?: string;
  readonly action: AdminRuleAction;
}

export interface PolicyRef {
  readonly namespace: string;
  readonly name: string;
}

/** One rule of one NetworkPolicy: `ingress[index]` or `egress[index]` of `policy`. */
export interface RuleRef {
  readonly tier: 'NetworkPolicy';
  readonly policy: PolicyRef;
  readonly direction: Direction;
  readonly index: number;
}

/** One end of a connection: an endpoint of the cluster (maybe at a given IP), or an outside IP. */
export type TrafficPeer =
  | { readonly kind: 'endpoint'; readonly endpoint: Endpoint; readonly ip?: string }
  | { readonly kind: 'external'; readonly ip: string };

export interface Connection {
  readonly source: TrafficPeer;
  readonly destination: TrafficPeer;
  readonly port: number;
  readonly protocol: Protocol;
  /**
   * Set when the connection reaches the destination through a Service's virtual address: a pod
   * reaching itself that way is subject to the admin and baseline tiers, while a pod reaching its
   * own pod IP is not (policy.networking.k8s.io: cluster policies are enforced outside the pod).
   */
  readonly viaService?: boolean;
}

/** Why a side of a connection is not subject to NetworkPolicy at all. */
export type NotSubjectReason = 'external' | 'hostNetwork';

/** The verdict of one side: the source's egress, or the destination's ingress. */
export interface DirectionVerdict {
  readonly direction: Direction;
  readonly allowed: boolean;
  /** Set when policies cannot apply to this side (an outside address, a hostNetwork pod). */
  readonly notSubject?: NotSubjectReason;
  /** "isolated for ingress/egress": some policy selects the pod and names this direction. */
  readonly isolated: boolean;
  readonly isolatingPolicies: readonly PolicyRef[];
  /** Every NetworkPolicy rule that allows the connection (any one suffices); consulted only when `tier` is NetworkPolicy. */
  readonly allowedBy: readonly RuleRef[];
  /**
   * The tier whose decision stands for this side: Admin or Baseline when a rule there said
   * Accept/Allow or Deny; NetworkPolicy when the pod is isolated in this direction and no admin rule
   * decided; Default (allowed) otherwise.
   */
  readonly tier: Tier;
  /** The admin or baseline rule whose Accept/Allow or Deny decided, when `tier` is Admin or Baseline. */
  readonly decidedBy?: AdminRuleRef;
  /** The Pass rules the side went through, in order (at most one per tier). */
  readonly passedBy: readonly AdminRuleRef[];
  /** Facts that change the answer and would surprise a reader, e.g. an ipBlock that could not match. */
  readonly notes: readonly string[];
}

export interface Verdict {
  readonly allowed: boolean;
  /** The tier that decided: that of the side that denied (egress first), else that of the ingress side (the egress side's when the destination is outside, whose ingress nothing judges). */
  readonly tier: Tier;
  readonly egress: DirectionVerdict;
  readonly ingress: DirectionVerdict;
  /** The addresses the connection was evaluated with, when known. */
  readonly sourceIP?: string;
  readonly destinationIP?: string;
}
