// The JSON the UI's API speaks: plain data the page draws, with every answer computed by the
// engine on the server. The page imports these types only (no code crosses to the client).

/** Spelled out here (same as the model's) so the page can import this file alone. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface PortView {
  readonly port: number;
  readonly protocol: Protocol;
}

export interface EndpointView {
  readonly id: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly (PortView & { readonly name?: string })[];
  readonly ips: readonly string[];
  readonly hostNetwork: boolean;
  /** Isolated for ingress / egress: some policy selects it and names the direction. */
  readonly isolation: { readonly ingress: boolean; readonly egress: boolean };
  /** Ids (`ns/name`) of the policies whose podSelector selects it. */
  readonly selectedBy: readonly string[];
  /** Subject to NetworkPolicy (not hostNetwork) yet selected by no policy: it accepts and opens any connection (lint's PW-UNSELECTED-PODS). */
  readonly unselected?: boolean;
  /** Its ingress admits addresses outside the cluster on some port (lint's PW-REACHABLE-FROM-OUTSIDE). */
  readonly openToOutside?: boolean;
}

export interface NamespaceView {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly declared: boolean;
}

export interface PolicyView {
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly policyTypes: readonly string[];
  /** The policy as a manifest in YAML (defaults written out). */
  readonly yaml: string;
  /** Endpoint ids it selects. */
  readonly selects: readonly string[];
}

/** The tiers a side of a connection goes through, in order (the engine's `Tier`). */
export type TierName = 'Admin' | 'NetworkPolicy' | 'Baseline' | 'Default';
export type AdminTierName = 'Admin' | 'Baseline';

/** One rule of an admin or baseline policy, named as every command names it. */
export interface AdminRuleView {
  /** `ClusterNetworkPolicy/web-never-reaches-db (Admin tier, priority 10) ingress[0] "deny-from-web": Deny` */
  readonly ref: string;
  /** The policy's id (`ClusterNetworkPolicy/web-never-reaches-db`). */
  readonly policy: string;
  readonly tier: AdminTierName;
  readonly direction: 'Ingress' | 'Egress';
  readonly index: number;
  readonly name?: string;
  /** As written: Allow (v1alpha1) and Accept (v1alpha2) mean the same. */
  readonly action: 'Allow' | 'Accept' | 'Deny' | 'Pass';
  readonly peers: string;
  readonly ports: string;
}

/** An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy: cluster-scoped, in a tier. */
export interface AdminPolicyView {
  /** `<kind>/<name>` */
  readonly id: string;
  readonly kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy' | 'ClusterNetworkPolicy';
  readonly name: string;
  readonly tier: AdminTierName;
  /** Absent for a BaselineAdminNetworkPolicy (evaluated after every Baseline ClusterNetworkPolicy). */
  readonly priority?: number;
  /** `ClusterNetworkPolicy/x (Admin tier, priority 10)` */
  readonly ref: string;
  /** Its place in its tier's evaluation order, 0 first. */
  readonly order: number;
  /** spec.subject in words. */
  readonly subject: string;
  /** Endpoint ids its subject selects (never a hostNetwork pod). */
  readonly selects: readonly string[];
  /** The policy as a manifest of its own API version. */
  readonly yaml: string;
  readonly ingress: readonly AdminRuleView[];
  readonly egress: readonly AdminRuleView[];
}

/** For a connection an admin or baseline rule decided: on which ports, by which tier and rules. */
export interface FlowTierView extends PortView {
  readonly tier: AdminTierName;
  /** The deciding rules (formatAdminRuleRef), the egress side's first. */
  readonly rules: readonly string[];
}

/** The pseudo-endpoint for addresses outside the cluster. */
export const OUTSIDE = 'outside';

/** A connection the picture draws: from and to are endpoint ids or OUTSIDE. */
export interface FlowView {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly allowed: boolean;
  /** Destination ports (declared by the destination); empty with `portsText` for egress to outside. */
  readonly ports: readonly PortView[];
  /** The label in words when ports cannot be listed (egress to outside: `TCP 443`, `all ports`). */
  readonly portsText?: string;
  /** For flows with the outside: the rules that admit it and who, in words. */
  readonly via?: readonly string[];
  /**
   * Only with admin policies: the Admin tier when an admin rule decided a side on some port (an
   * Accept that opened it, a Deny that blocked it), else Baseline likewise; absent when NetworkPolicy
   * or the default decided every port.
   */
  readonly tier?: AdminTierName;
  /** Per port an admin or baseline rule decided: that tier and rule. */
  readonly tiers?: readonly FlowTierView[];
}

export interface ModelView {
  readonly source: 'files' | 'lab';
  readonly title: string;
  /** Grows with every change of the underlying cluster. */
  readonly version: number;
  readonly namespaces: readonly NamespaceView[];
  readonly endpoints: readonly EndpointView[];
  readonly policies: readonly PolicyView[];
  /** Every port/protocol some endpoint declares: the ports flows and matrices are computed on. */
  readonly ports: readonly PortView[];
  /** Allowed connections between endpoints on the destination's declared ports, and with the outside. */
  readonly flows: readonly FlowView[];
  /** Connections on declared ports that the policies block (allowed without any policy). */
  readonly denied: readonly FlowView[];
  /** How many blocked connections were left out of `denied` to keep the picture drawable. */
  readonly deniedOmitted: number;
  /** Admin and baseline policies in evaluation order (the Admin tier, then Baseline); absent when there are none. */
  readonly adminPolicies?: readonly AdminPolicyView[];
}

export interface MatrixView extends PortView {
  readonly pods: readonly string[];
  readonly allowed: readonly (readonly boolean[])[];
}

export interface RuleView {
  /** `default/db-policy ingress[0]` */
  readonly ref: string;
  readonly policy: string;
  readonly direction: 'Ingress' | 'Egress';
  readonly index: number;
  readonly peers: string;
  readonly ports: string;
}

export interface SideView {
  readonly direction: 'Ingress' | 'Egress';
  readonly allowed: boolean;
  readonly isolated: boolean;
  readonly notSubject?: string;
  readonly isolatingPolicies: readonly string[];
  readonly allowedBy: readonly RuleView[];
  readonly notes: readonly string[];
  /** Only with admin policies: the tier whose decision stands for this side. */
  readonly tier?: TierName;
  /** The admin or baseline rule whose Accept/Allow or Deny decided (tier Admin or Baseline). */
  readonly decidedBy?: AdminRuleView;
  /** The Pass rules the side went through, in order. */
  readonly passedBy?: readonly AdminRuleView[];
  /** The side in the CLI's words (`podwall check`), tier by tier. */
  readonly words?: readonly string[];
}

export interface CheckView extends PortView {
  readonly from: string;
  readonly to: string;
  readonly allowed: boolean;
  readonly egress: SideView;
  readonly ingress: SideView;
}

export interface DirectionView {
  readonly direction: 'Ingress' | 'Egress';
  readonly isolated: boolean;
  readonly isolatingPolicies: readonly string[];
  readonly rules: readonly RuleView[];
  readonly reach: readonly { readonly endpoint: string; readonly ports: readonly PortView[] }[];
  /** Outside the cluster: open (not isolated), or the rules that admit outside addresses. */
  readonly outside: { readonly open: boolean; readonly rules: readonly RuleView[] };
  /** Only with admin policies: the Admin-tier rules of this direction from policies selecting it, in evaluation order (before NetworkPolicy). */
  readonly admin?: readonly AdminRuleView[];
  /** Likewise the Baseline tier (after NetworkPolicy, where no NetworkPolicy isolates it). */
  readonly baseline?: readonly AdminRuleView[];
}

export interface ExplainView {
  readonly endpoint: EndpointView;
  readonly hostNetwork: boolean;
  readonly selectedBy: readonly { readonly policy: string; readonly policyTypes: readonly string[] }[];
  /** Only with admin policies: the admin and baseline policies whose subject selects it, in evaluation order. */
  readonly adminSelectedBy?: readonly { readonly policy: string; readonly ref: string; readonly tier: AdminTierName }[];
  readonly ingress: DirectionView;
  readonly egress: DirectionView;
}

/** One `lint` finding, with the objects it involves as the page's ids so a click can focus them. */
export interface FindingView {
  /** The rule's stable id, `PW-POLICY-SELECTS-NOTHING`. */
  readonly id: string;
  readonly severity: 'error' | 'warning' | 'info';
  /** The rule's short summary. */
  readonly summary: string;
  /** `NetworkPolicy sock-shop/cart-access`; absent for findings about the whole cluster. */
  readonly object?: string;
  /** The field, as the apiserver names it: `spec.ingress[0].from[0].podSelector`. */
  readonly path?: string;
  /** Where the object starts: the manifest read, or `editor.yaml` for the editor's policies. */
  readonly file?: string;
  readonly line?: number;
  readonly message: string;
  /** Endpoint ids involved: the finding's object and its related objects that are endpoints. */
  readonly endpoints: readonly string[];
  /** Policy ids involved: `ns/name` for a NetworkPolicy, `<kind>/<name>` for an admin or baseline policy. */
  readonly policies: readonly string[];
}

export interface LintView {
  readonly findings: readonly FindingView[];
}

export interface DiagnosticView {
  readonly line?: number;
  readonly column?: number;
  readonly object?: string;
  /** The field path, e.g. `spec.ingress[0].ports[0].port`. */
  readonly field?: string;
  readonly message: string;
  /** The whole diagnostic in one line, as the CLI prints it. */
  readonly text: string;
}

export interface FlowKey extends PortView {
  readonly from: string;
  readonly to: string;
}

export type PreviewView =
  | { readonly ok: false; readonly diagnostics: readonly DiagnosticView[] }
  | {
      readonly ok: true;
      readonly model: ModelView;
      /** Policies of the edit that replace one of the same namespace/name, and new ones. */
      readonly replaced: readonly string[];
      readonly added: readonly string[];
      readonly opened: readonly FlowKey[];
      readonly closed: readonly FlowKey[];
    };

export interface CountersView {
  /** Denied packets per `in/<ns>/<pod>` and `eg/<ns>/<pod>`. */
  readonly counters: Readonly<Record<string, { readonly packets: number; readonly bytes: number }>>;
}

export interface ProbeView extends PortView {
  readonly pods: readonly string[];
  readonly allowed: readonly (readonly (boolean | null)[])[];
  readonly predicted: readonly (readonly boolean[])[];
  readonly differences: readonly { readonly from: string; readonly to: string }[];
  /** Cells no probe could decide (nothing listening, no answer after retries): not a verdict. */
  readonly inconclusive: readonly { readonly from: string; readonly to: string; readonly reason: string }[];
  readonly notProbed: readonly string[];
}
