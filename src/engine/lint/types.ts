// What `lint` answers with: findings with a stable rule id, a severity, the object and the field
// path they are about, and the catalogue of rules (ids, severities, help) that output formats use.
import type { FieldPath } from '../../model/index.js';

export type LintSeverity = 'error' | 'warning' | 'info';

/** Most severe first: the order `--fail-on` compares in. */
export const LINT_SEVERITIES: readonly LintSeverity[] = ['error', 'warning', 'info'];

export type LintRuleId =
  | 'PW-INVALID'
  | 'PW-ENDPORT-NAMED-PORT'
  | 'PW-POLICYTYPES-IGNORES-RULES'
  | 'PW-POLICY-SELECTS-NOTHING'
  | 'PW-POLICY-NAMESPACE-EMPTY'
  | 'PW-PEER-SELECTS-NOTHING'
  | 'PW-NAMESPACE-SELECTS-NOTHING'
  | 'PW-PEERS-OR-MEANT-AND'
  | 'PW-PEER-AND-MEANT-OR'
  | 'PW-NO-DNS-EGRESS'
  | 'PW-NAMED-PORT-UNDECLARED'
  | 'PW-IPBLOCK-COVERS-PODS'
  | 'PW-IPBLOCK-COVERS-CLUSTERIP'
  | 'PW-RULE-DUPLICATE'
  | 'PW-RULE-SHADOWED'
  | 'PW-UNSELECTED-PODS'
  | 'PW-REACHABLE-FROM-OUTSIDE'
  | 'PW-NOT-ENFORCED'
  | 'PW-NO-ENDPOINTS'
  | 'PW-ADMIN-SAME-PRIORITY'
  | 'PW-ADMIN-SUBJECT-SELECTS-NOTHING'
  | 'PW-ADMIN-PEER-SELECTS-NOTHING'
  | 'PW-ADMIN-RULE-SHADOWED'
  | 'PW-BASELINE-RULES-OVERRIDDEN'
  | 'PW-ADMIN-DOMAIN-NAMES'
  | 'PW-ADMIN-BLOCKS-DNS';

/** A Kubernetes object a finding is about or points at. */
export interface LintObjectRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export interface LintLocation {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly column: number;
}

export interface LintRelated extends LintObjectRef {
  readonly location?: LintLocation;
}

export interface LintFinding {
  readonly id: LintRuleId;
  readonly severity: LintSeverity;
  /** Absent for findings about the whole cluster (summaries, enforcement). */
  readonly object?: LintObjectRef;
  /** The field, as the apiserver names fields: `spec.ingress[0].from[1].podSelector`. */
  readonly path?: string;
  /** Where the field (or, failing that, the object) is in its manifest, when it was read from one. */
  readonly location?: LintLocation;
  /** One line: what is wrong, why it matters and how to fix it. */
  readonly message: string;
  /** The other objects involved (the pods a summary lists, the rule that shadows, ...). */
  readonly related: readonly LintRelated[];
}

export interface LintRule {
  readonly id: LintRuleId;
  /** The severity the rule reports at; a few rules report lower when the input cannot tell for sure. */
  readonly severity: LintSeverity;
  /** A short name (SARIF `name`). */
  readonly name: string;
  readonly summary: string;
  /** Why it matters and what to do. */
  readonly help: string;
}

/** What the caller knows beyond the compiled cluster. */
export interface LintOptions {
  /** Where a field of an object is in its manifest; without it, findings point at the object's start. */
  readonly locate?: (object: LintObjectRef, path: FieldPath) => LintLocation | undefined;
  /**
   * The input is the whole cluster (read from its API), so a namespace without pods is empty and
   * namespaces' labels are all known. Manifests are usually a part of a cluster: then namespaces
   * the input does not declare (kube-system, say) may carry labels it cannot see.
   */
  readonly complete?: boolean;
  /** What the cluster's DaemonSets say about enforcement (live clusters only). */
  readonly enforcement?: { readonly enforced: boolean | undefined; readonly reason: string };
}

export const LINT_RULES: readonly LintRule[] = [
  {
    id: 'PW-INVALID',
    severity: 'error',
    name: 'InvalidObject',
    summary: 'the apiserver would refuse this object',
    help: 'The object fails the apiserver\'s validation (or the manifest cannot be read), so `kubectl apply` refuses it and nothing else is computed. Fix the field named.',
  },
  {
    id: 'PW-ENDPORT-NAMED-PORT',
    severity: 'error',
    name: 'EndPortOnNamedPort',
    summary: 'endPort with a named port',
    help: '"endPort ... must be greater than or equal to port"; the apiserver refuses `endPort` when `port` is a name ("may not be specified when `port` is non-numeric"). Use a numeric port with endPort, or the name alone.',
  },
  {
    id: 'PW-POLICYTYPES-IGNORES-RULES',
    severity: 'error',
    name: 'PolicyTypesIgnoresRules',
    summary: 'rules of a direction policyTypes does not list are ignored',
    help: 'A policy\'s rules take effect only for the directions in `policyTypes`. Rules of a direction it leaves out do nothing. Add the direction to policyTypes (it also isolates the pods for it), or remove the rules.',
  },
  {
    id: 'PW-POLICY-SELECTS-NOTHING',
    severity: 'warning',
    name: 'PolicySelectsNothing',
    summary: 'the podSelector selects no pod',
    help: 'No pod or workload in the policy\'s namespace has the labels its podSelector asks for, so the policy applies to nothing. Compare the selector with the pods\' labels (a typo, a renamed label).',
  },
  {
    id: 'PW-POLICY-NAMESPACE-EMPTY',
    severity: 'warning',
    name: 'PolicyNamespaceEmpty',
    summary: 'the policy is in a namespace with no pods',
    help: 'A policy applies only to pods of its own namespace. Its namespace has none, so it applies to nothing: check metadata.namespace (objects without one go where -n says, `default` by default).',
  },
  {
    id: 'PW-PEER-SELECTS-NOTHING',
    severity: 'warning',
    name: 'PeerSelectsNothing',
    summary: 'a peer selector matches no pod',
    help: 'The peer matches no pod or workload, so the rule admits nobody through it. Compare the selector with the pods\' labels; a podSelector without namespaceSelector looks only in the policy\'s namespace.',
  },
  {
    id: 'PW-NAMESPACE-SELECTS-NOTHING',
    severity: 'warning',
    name: 'NamespaceSelectorSelectsNothing',
    summary: 'a namespaceSelector matches no namespace',
    help: 'No namespace has the labels the namespaceSelector asks for, so the peer admits nobody. Every namespace carries `kubernetes.io/metadata.name: NAME`; other labels must be set on the Namespace. Reported as info when only a namespace whose labels are not in the input could match.',
  },
  {
    id: 'PW-PEERS-OR-MEANT-AND',
    severity: 'warning',
    name: 'PeersOrMeantAnd',
    summary: 'podSelector and namespaceSelector written as two peers',
    help: 'Two list items are two peers, ORed: pods with the labels in the policy\'s namespace, or every pod of the selected namespaces. One item with both selectors means pods with the labels in the selected namespaces. Reported when the two readings admit different pods (warning when the podSelector alone matches nothing, info otherwise).',
  },
  {
    id: 'PW-PEER-AND-MEANT-OR',
    severity: 'warning',
    name: 'PeerAndMeantOr',
    summary: 'podSelector and namespaceSelector in one peer match nothing together',
    help: 'One peer with both selectors means pods with the labels in the selected namespaces (AND). Here no pod is both, while each selector alone matches some: if either was meant, write two list items.',
  },
  {
    id: 'PW-NO-DNS-EGRESS',
    severity: 'warning',
    name: 'NoDNSEgress',
    summary: 'egress-isolated pods cannot reach the cluster DNS',
    help: 'Pods isolated for egress may connect only where a rule allows. Without UDP and TCP 53 to the cluster DNS (kube-system pods labelled k8s-app: kube-dns) name lookups fail; without TCP, large answers (truncated over UDP) fail. Add an egress rule to those pods on UDP and TCP 53.',
  },
  {
    id: 'PW-NAMED-PORT-UNDECLARED',
    severity: 'warning',
    name: 'NamedPortUndeclared',
    summary: 'a named port no destination pod declares',
    help: 'A named port resolves against the destination pod\'s container ports with the same name and protocol. No pod the rule applies to declares it, so the entry matches nothing. Fix the name or the protocol, or name the container port.',
  },
  {
    id: 'PW-IPBLOCK-COVERS-PODS',
    severity: 'warning',
    name: 'IPBlockCoversPods',
    summary: 'an ipBlock holds pod addresses',
    help: 'ipBlock ranges "should be cluster-external IPs, since Pod IPs are ephemeral and unpredictable". A pod-level rule (podSelector, namespaceSelector) keeps matching the pods when their addresses change.',
  },
  {
    id: 'PW-IPBLOCK-COVERS-CLUSTERIP',
    severity: 'warning',
    name: 'IPBlockCoversClusterIP',
    summary: 'an egress ipBlock holds a Service ClusterIP but not its backends',
    help: 'A connection to a Service is DNATed to a backend before NetworkPolicy applies, so an ipBlock holding the ClusterIP never matches it. Select the backends with podSelector/namespaceSelector instead.',
  },
  {
    id: 'PW-RULE-DUPLICATE',
    severity: 'info',
    name: 'DuplicateRule',
    summary: 'a rule repeats another rule',
    help: 'Another rule of a policy selecting the same pods allows exactly the same peers and ports. Rules are ORed, so one of them can go.',
  },
  {
    id: 'PW-RULE-SHADOWED',
    severity: 'warning',
    name: 'ShadowedRule',
    summary: 'a rule allows nothing another rule does not already allow',
    help: 'Every flow this rule allows is already allowed by a broader rule of a policy selecting the same pods. Rules are ORed, so the narrower rule restricts nothing: if it was meant to, narrow the broader rule.',
  },
  {
    id: 'PW-UNSELECTED-PODS',
    severity: 'info',
    name: 'UnselectedPods',
    summary: 'pods no policy selects',
    help: 'A pod no policy selects is not isolated: it accepts and opens any connection. Add a policy (a namespace-wide default deny) if that is not intended.',
  },
  {
    id: 'PW-REACHABLE-FROM-OUTSIDE',
    severity: 'info',
    name: 'ReachableFromOutside',
    summary: 'pods that admit connections from outside the cluster',
    help: 'These pods\' ingress admits outside addresses (not isolated for ingress, a rule without `from`, or an ipBlock). Whether a route exists depends on Services and the network; check that this is intended.',
  },
  {
    id: 'PW-NOT-ENFORCED',
    severity: 'warning',
    name: 'PoliciesNotEnforced',
    summary: 'policies exist but nothing enforces them',
    help: 'NetworkPolicy is enforced by the network plugin. The cluster runs one that does not (Flannel alone, the AWS VPC CNI with enforcement off): install or enable one that does.',
  },
  {
    id: 'PW-NO-ENDPOINTS',
    severity: 'info',
    name: 'NoEndpoints',
    summary: 'the input holds no pods or workloads',
    help: 'Without pods, the rules that compare selectors with pods (what a policy or peer selects, named ports, DNS, summaries) cannot run. Lint the policies together with the workloads they govern.',
  },
  {
    id: 'PW-ADMIN-SAME-PRIORITY',
    severity: 'warning',
    name: 'AdminSamePriority',
    summary: 'two admin policies of one tier with the same priority disagree on the same traffic',
    help: 'Within a tier, policies are evaluated by priority; for equal priorities the API leaves the order undefined, so implementations may decide differently. Reported when the policies select some pod in common and rules of both that do different things can match the same connection. Podwall evaluates them by kind, then name. Give them different priorities.',
  },
  {
    id: 'PW-ADMIN-SUBJECT-SELECTS-NOTHING',
    severity: 'warning',
    name: 'AdminSubjectSelectsNothing',
    summary: 'an admin or baseline policy\'s subject selects no pod',
    help: 'No pod of the input is in a namespace and has labels the subject asks for (host-network pods are never subjects), so the policy applies to nothing. Reported as info when namespaces the input does not show could match.',
  },
  {
    id: 'PW-ADMIN-PEER-SELECTS-NOTHING',
    severity: 'warning',
    name: 'AdminPeerSelectsNothing',
    summary: 'an admin or baseline rule\'s peer selects no pod (or node)',
    help: 'A namespaces or pods peer no pod of the input matches (host-network pods never match), or a nodes peer no node of the input matches: the rule matches nothing through it. Reported as info when namespaces the input does not show could match; nodes only when the input has nodes.',
  },
  {
    id: 'PW-ADMIN-RULE-SHADOWED',
    severity: 'warning',
    name: 'AdminRuleShadowed',
    summary: 'an admin or baseline rule an earlier rule always decides first',
    help: 'Admin and baseline rules are evaluated in order and the first that matches decides (or passes). An earlier rule of the same policy, or of a policy of the same tier evaluated earlier whose subject holds this one\'s, matches every connection this rule matches, so this rule never decides anything. Remove it, or put it first.',
  },
  {
    id: 'PW-BASELINE-RULES-OVERRIDDEN',
    severity: 'info',
    name: 'BaselineRulesOverridden',
    summary: 'baseline rules that NetworkPolicy always overrides',
    help: 'The Baseline tier decides only for pods no NetworkPolicy isolates in that direction. Every pod this baseline policy selects is isolated by NetworkPolicy, so its rules of this direction apply to none of them (they will, for pods that lose their NetworkPolicy or new pods).',
  },
  {
    id: 'PW-ADMIN-BLOCKS-DNS',
    severity: 'warning',
    name: 'AdminBlocksDNS',
    summary: 'an admin or baseline rule denies pods the cluster DNS',
    help: 'Pods whose egress to the cluster DNS (UDP and TCP 53 to the kube-dns pods) an admin or baseline rule denies cannot resolve names. An Admin-tier Deny decides before NetworkPolicy, so only the admin policy can let DNS through (an earlier Allow/Accept or Pass rule); a Baseline Deny yields to an egress NetworkPolicy that allows DNS.',
  },
  {
    id: 'PW-ADMIN-DOMAIN-NAMES',
    severity: 'info',
    name: 'AdminDomainNames',
    summary: 'domainNames peers are matched only at run time',
    help: 'domainNames (experimental) name destinations the implementation resolves while traffic flows. Podwall matches no address to them, so its answers treat them as matching nothing, and say so where that changes an answer.',
  },
];

const byId = new Map(LINT_RULES.map((r) => [r.id, r]));

export function lintRule(id: LintRuleId): LintRule {
  return byId.get(id)!;
}
