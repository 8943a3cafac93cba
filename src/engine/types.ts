// What the engine answers with: verdicts that carry their reasons, decided tier by tier so that
// AdminNetworkPolicy tiers can be added before and after NetworkPolicy later.
import type { Endpoint, PolicyType, Protocol } from '../model/index.js';

export type Direction = PolicyType;

/** The policy tiers a verdict passes through; only NetworkPolicy exists today. */
export type Tier = 'NetworkPolicy';

export interface PolicyRef {
  readonly namespace: string;
  readonly name: string;
}

/** One rule of one policy: `ingress[index]` or `egress[index]` of `policy`. */
export interface RuleRef {
  readonly tier: Tier;
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
  /** Every rule that allows the connection (any one suffices). */
  readonly allowedBy: readonly RuleRef[];
  /** Facts that change the answer and would surprise a reader, e.g. an ipBlock that could not match. */
  readonly notes: readonly string[];
}

export interface Verdict {
  readonly allowed: boolean;
  readonly tier: Tier;
  readonly egress: DirectionVerdict;
  readonly ingress: DirectionVerdict;
  /** The addresses the connection was evaluated with, when known. */
  readonly sourceIP?: string;
  readonly destinationIP?: string;
}
