// The upstream Kubernetes e2e NetworkPolicy tests, as data.
//
// Source: kubernetes/kubernetes test/e2e/network/netpol/network_policy.go (with model.go for the
// cluster it builds and policies.go for how its policies are generated). Titles are the upstream
// ginkgo `It(...)` titles; the policies and the expected truth tables are written out here from
// reading those tests, not copied. Shared by the engine conformance suite (test/conformance.test.ts)
// and, later, the kernel (nftables lab) differential tests, so this module is pure data plus small
// pure builders: no imports, no I/O.
//
// THE CLUSTER (upstream's model, in full: every case uses all nine pods)
//   Namespaces x, y, z, labelled `ns: <name>`. `kubernetes.io/metadata.name` is deliberately NOT
//   written: the apiserver (and so the model layer) sets it, and several cases select on it.
//   Pods a, b, c in each namespace, labelled `pod: <name>`. Each pod has one container per
//   (port, protocol) in {80, 81} x {TCP, UDP, SCTP}, named `cont-<port>-<proto>`, serving a
//   container port named `serve-<port>-<proto>` (proto lower-cased), as upstream does.
//   Each pod has a fixed status.podIP (see podIP()) so ipBlock cases work; the lab must honour it.
//   Pod ids are `ns/name` ("x/a"); PODS lists them in the engine's endpoint order (ns, name).
//
// A CASE is { title, context, steps, skip?, note? }.
//   context  the upstream ginkgo Context the It() lives in (TCP, UDP and SCTP contexts reuse
//            titles, so `context + title` is the unique name; see caseName()).
//   steps    what the upstream test does, in order. Each step is a complete state, not a delta:
//              policies         every NetworkPolicy in effect (manifest objects), so a policy
//                               update or deletion is simply a step with a different list;
//              namespaceLabels  labels added to namespaces in this step (on top of `ns: <name>`);
//              podLabels        labels added to pods in this step (on top of `pod: <name>`);
//              probes           what is checked in this state.
//   skip     a declared reason when the upstream test cannot be expressed with manifests (none
//            of the network_policy.go tests need it today; the field is kept for the lab).
//   note     where this table deliberately differs from, or adds to, the upstream test.
//
// A PROBE is { port, protocol, expect, by? }: connect from every pod to every pod on port/protocol.
//   expect is upstream's Reachability builder written as data: every pair starts ALLOWED, then
//   each rule [from, to, allowed] is applied in order, later rules overriding earlier ones.
//   `from`/`to` are pod patterns: 'x/a' (one pod), 'x/*' (a namespace), '*/a' (a pod name in
//   every namespace), '*' (every pod). So upstream's ExpectPeer(&Peer{}, &Peer{Namespace: x},
//   false) is ['*', 'x/*', false], ExpectAllIngress(x/a, false) is ['*', 'x/a', false] and
//   ExpectAllEgress(x/a, false) is ['x/a', '*', false]. Use expectedAllowed()/expectedGrid().
//   by: present on probes this table adds beyond upstream (e.g. the other protocol of a rule).
//
// LOOPBACK: upstream ignores a pod's connection to itself (ignoreLoopback, issue #95879), since
// CNIs disagree on it. The diagonal of an expectation is therefore not asserted (IGNORE_LOOPBACK).

export type Ns = 'x' | 'y' | 'z';
export type PodName = 'a' | 'b' | 'c';
export type PodId = `${Ns}/${PodName}`;
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
// One pod 'x/a', a namespace 'x/' + '*', a pod name in every namespace '*' + '/a', or every pod '*'.
export type PodPattern = PodId | `${Ns}/*` | `*/${PodName}` | '*';
/** [from, to, allowed]: applied in order over an all-allowed start. */
export type ExpectRule = readonly [from: PodPattern, to: PodPattern, allowed: boolean];

/** A manifest object (Namespace, Pod, NetworkPolicy) as plain JSON-able data. */
export type Manifest = Readonly<Record<string, unknown>>;

export interface Probe {
  readonly port: number;
  readonly protocol: Protocol;
  readonly expect: readonly ExpectRule[];
  /** Set on probes added by this table; says what they check. */
  readonly by?: string;
}

export interface Step {
  /** The upstream ginkgo.By() text or a short description of what changed. */
  readonly by?: string;
  readonly policies: readonly Manifest[];
  readonly namespaceLabels?: Readonly<Partial<Record<Ns, Readonly<Record<string, string>>>>>;
  readonly podLabels?: Readonly<Partial<Record<PodId, Readonly<Record<string, string>>>>>;
  readonly probes: readonly Probe[];
}

export type Context = 'NetworkPolicy between server and client' | 'NetworkPolicy between server and client using UDP' | 'NetworkPolicy between server and client using SCTP';

export interface Case {
  readonly title: string;
  readonly context: Context;
  readonly steps: readonly Step[];
  readonly skip?: string;
  readonly note?: string;
}

export const NAMESPACES: readonly Ns[] = ['x', 'y', 'z'];
export const POD_NAMES: readonly PodName[] = ['a', 'b', 'c'];
export const PORTS: readonly number[] = [80, 81];
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];
export const PODS: readonly PodId[] = NAMESPACES.flatMap((ns) => POD_NAMES.map((p): PodId => `${ns}/${p}`));
export const IGNORE_LOOPBACK = true;
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** x/a 10.244.1.1, x/b 10.244.1.2, ..., z/c 10.244.3.3: all inside 10.244.0.0/16. */
export function podIP(pod: PodId): string {
  const [ns, name] = pod.split('/') as [Ns, PodName];
  return `10.244.${NAMESPACES.indexOf(ns) + 1}.${POD_NAMES.indexOf(name) + 1}`;
}

/** The container port name upstream gives (port, protocol): `serve-80-tcp`. */
export function portName(port: number, protocol: Protocol): string {
  return `serve-${port}-${protocol.toLowerCase()}`;
}

// ---------------------------------------------------------------------------------------------
// Manifest builders

export function namespaceManifest(ns: Ns, extraLabels: Readonly<Record<string, string>> = {}): Manifest {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { ns, ...extraLabels } } };
}

export function podManifest(pod: PodId, extraLabels: Readonly<Record<string, string>> = {}): Manifest {
  const [ns, name] = pod.split('/') as [Ns, PodName];
  const ip = podIP(pod);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { pod: name, ...extraLabels } },
    spec: {
      containers: PORTS.flatMap((port) =>
        PROTOCOLS.map((protocol) => ({
          name: `cont-${port}-${protocol.toLowerCase()}`,
          image: 'registry.k8s.io/e2e-test-images/agnhost:2.53',
          ports: [{ containerPort: port, name: portName(port, protocol), protocol }],
        })),
      ),
    },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

/** Namespaces and pods of the model in the state a step describes (labels added). */
export function clusterManifests(step?: Pick<Step, 'namespaceLabels' | 'podLabels'>): Manifest[] {
  return [
    ...NAMESPACES.map((ns) => namespaceManifest(ns, step?.namespaceLabels?.[ns])),
    ...PODS.map((pod) => podManifest(pod, step?.podLabels?.[pod])),
  ];
}

/** Everything a step needs, in apply order: namespaces, pods, then its policies. */
export function stepManifests(step: Step): Manifest[] {
  return [...clusterManifests(step), ...step.policies];
}

/** The step as one multi-document manifest text (JSON documents are YAML), for loadTexts. */
export function stepText(step: Step): string {
  return stepManifests(step)
    .map((m) => `---\n${JSON.stringify(m, null, 2)}\n`)
    .join('');
}

/** `[{ file, text }]` ready for `loadTexts`. */
export function stepTexts(c: Case, stepIndex: number): { file: string; text: string }[] {
  return [{ file: `upstream/${slug(c.title)}/step-${stepIndex + 1}.yaml`, text: stepText(c.steps[stepIndex]) }];
}

export function caseName(c: Case): string {
  return `${c.context}: ${c.title}`;
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 80);
}

// ---------------------------------------------------------------------------------------------
// Expectations

function patternMatches(pattern: PodPattern, pod: PodId): boolean {
  if (pattern === '*') return true;
  const [pns, pname] = pattern.split('/');
  const [ns, name] = pod.split('/');
  return (pns === '*' || pns === ns) && (pname === '*' || pname === name);
}

/** Whether `from` may connect to `to` according to the probe. */
export function expectedAllowed(probe: Pick<Probe, 'expect'>, from: PodId, to: PodId): boolean {
  let allowed = true;
  for (const [f, t, value] of probe.expect) if (patternMatches(f, from) && patternMatches(t, to)) allowed = value;
  return allowed;
}

/** grid[i][j]: PODS[i] -> PODS[j]. */
export function expectedGrid(probe: Pick<Probe, 'expect'>): boolean[][] {
  return PODS.map((from) => PODS.map((to) => expectedAllowed(probe, from, to)));
}

// ---------------------------------------------------------------------------------------------
// Policy builders (upstream's GenNetworkPolicy + SetSpecIngressRules/SetSpecEgressRules:
// passing `ingress` (even []) adds Ingress to policyTypes, passing `egress` adds Egress).

type Selector = Readonly<Record<string, unknown>>;
type Rule = Readonly<Record<string, unknown>>;

export function netpol(
  namespace: Ns,
  name: string,
  podSelector: Selector,
  rules: { ingress?: readonly Rule[]; egress?: readonly Rule[]; policyTypes?: readonly ('Ingress' | 'Egress')[] },
): Manifest {
  const policyTypes = rules.policyTypes ?? [...(rules.ingress ? ['Ingress'] : []), ...(rules.egress ? ['Egress'] : [])];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace },
    spec: {
      podSelector,
      ...(rules.ingress ? { ingress: rules.ingress } : {}),
      ...(rules.egress ? { egress: rules.egress } : {}),
      policyTypes,
    },
  };
}

const all: Selector = {};
const labels = (matchLabels: Record<string, string>): Selector => ({ matchLabels });
const podIs = (name: PodName): Selector => labels({ pod: name });
const nsIs = (ns: Ns): Selector => labels({ [NAMESPACE_NAME_LABEL]: ns });
const nsNotIn = (...values: Ns[]): Selector => ({ matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'NotIn', values }] });
const host = (pod: PodId): string => `${podIP(pod)}/32`;

const TCP_CONTEXT: Context = 'NetworkPolicy between server and client';
const UDP_CONTEXT: Context = 'NetworkPolicy between server and client using UDP';
const SCTP_CONTEXT: Context = 'NetworkPolicy between server and client using SCTP';

const tcp = (port: number, ...expect: ExpectRule[]): Probe => ({ port, protocol: 'TCP', expect });
const probe = (protocol: Protocol, port: number, ...expect: ExpectRule[]): Probe => ({ port, protocol, expect });
const oneStep = (policies: Manifest[], ...probes: Probe[]): Step[] => [{ policies, probes }];

// Reused expectations.
const denyIngressToX: ExpectRule = ['*', 'x/*', false];
const denyEgressFromX: ExpectRule = ['x/*', '*', false];
const denyIngressToXA: ExpectRule = ['*', 'x/a', false];

// Shared policies.
const denyIngressX = (name: string): Manifest => netpol('x', name, all, { ingress: [] });
const xaFromYPodA = (name: string): Manifest =>
  netpol('x', name, podIs('a'), { ingress: [{ from: [{ namespaceSelector: nsIs('y'), podSelector: podIs('a') }] }] });
const xaFromYOnPort = (name: string, port: number | string, protocol: Protocol): Manifest =>
  netpol('x', name, podIs('a'), { ingress: [{ from: [{ namespaceSelector: nsIs('y') }], ports: [{ port, protocol }] }] });
const exceptAroundXB = netpol('x', 'allow-client-a-via-cidr-egress-rule', podIs('a'), {
  // upstream's makeLargeCIDRForIP: the /4 holding x/b's address (10.244.1.2 -> 0.0.0.0/4), minus x/b itself.
  egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/4', except: [host('x/b')] } }] }],
});
const onlyYFromNsX: ExpectRule[] = [
  ['x/*', 'x/a', false],
  ['z/*', 'x/a', false],
];

// ---------------------------------------------------------------------------------------------
// The cases

export const UPSTREAM_CASES: readonly Case[] = [
  {
    title: "should support a 'default-deny-ingress' policy",
    context: TCP_CONTEXT,
    steps: oneStep([denyIngressX('deny-ingress')], tcp(80, denyIngressToX)),
  },
  {
    title: "should support a 'default-deny-all' policy",
    context: TCP_CONTEXT,
    steps: oneStep([netpol('x', 'deny-all', all, { ingress: [], egress: [] })], tcp(80, denyIngressToX, denyEgressFromX)),
  },
  {
    title: 'should enforce policy to allow traffic from pods within server namespace based on PodSelector',
    context: TCP_CONTEXT,
    steps: oneStep(
      [netpol('x', 'x-a-allows-x-b', podIs('a'), { ingress: [{ from: [{ podSelector: podIs('b') }] }] })],
      tcp(80, denyIngressToXA, ['x/b', 'x/a', true]),
    ),
  },
  {
    title: 'should enforce policy to allow ingress traffic for a target',
    context: TCP_CONTEXT,
    steps: oneStep(
      [
        denyIngressX('deny-all'),
        netpol('x', 'allow-all-to-a', podIs('a'), { ingress: [{ from: [{ podSelector: {}, namespaceSelector: {} }] }] }),
      ],
      tcp(80, denyIngressToX, ['*', 'x/a', true]),
    ),
  },
  {
    title: 'should enforce policy to allow ingress traffic from pods in all namespaces',
    context: TCP_CONTEXT,
    steps: oneStep(
      [netpol('x', 'allow-from-another-ns', podIs('a'), { ingress: [{ from: [{ namespaceSelector: { matchLabels: {} } }] }] })],
      tcp(80),
    ),
  },
  {
    title: 'should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector',
    context: TCP_CONTEXT,
    steps: oneStep(
      [netpol('x', 'allow-client-a-via-ns-selector', podIs('a'), { ingress: [{ from: [{ namespaceSelector: nsIs('y') }] }] })],
      tcp(80, ...onlyYFromNsX),
    ),
  },
  {
    title: 'should enforce policy based on PodSelector with MatchExpressions',
    context: TCP_CONTEXT,
    steps: oneStep(
      [
        netpol('x', 'x-a-allows-x-b', podIs('a'), {
          ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b'] }] } }] }],
        }),
      ],
      tcp(80, denyIngressToXA, ['x/b', 'x/a', true]),
    ),
  },
  {
    title: 'should enforce policy based on NamespaceSelector with MatchExpressions',
    context: TCP_CONTEXT,
    steps: oneStep(
      [
        netpol('x', 'allow-ns-y-match-selector', podIs('a'), {
          ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: ['y'] }] } }] }],
        }),
      ],
      tcp(80, ...onlyYFromNsX),
    ),
  },
  {
    title: 'should enforce policy based on PodSelector or NamespaceSelector',
    context: TCP_CONTEXT,
    steps: oneStep(
      [
        netpol('x', 'allow-ns-y-match-selector', podIs('a'), {
          ingress: [{ from: [{ namespaceSelector: nsNotIn('x') }, { podSelector: podIs('b') }] }],
        }),
      ],
      tcp(80, ['x/a', 'x/a', false], ['x/c', 'x/a', false]),
    ),
  },
  {
    title: 'should enforce policy based on PodSelector and NamespaceSelector',
    context: TCP_CONTEXT,
    steps: oneStep(
      [
        netpol('x', 'allow-ns-y-podselector-and-nsselector', podIs('a'), {
          ingress: [{ from: [{ namespaceSelector: nsNotIn('x'), podSelector: podIs('b') }] }],
        }),
      ],
      tcp(80, denyIngressToXA, ['y/b', 'x/a', true], ['z/b', 'x/a', true]),
    ),
  },
  {
    title: 'should enforce policy based on Multiple PodSelectors and NamespaceSelectors',
    context: TCP_CONTEXT,
    steps: oneStep(
      [
        netpol('x', 'allow-ns-y-z-pod-b-c', podIs('a'), {
          ingress: [
            {
              from: [
                {
                  namespaceSelector: nsNotIn('x'),
                  podSelector: { matchExpressions: [{ key: 'pod', operator: 'In', values: ['b', 'c'] }] },
                },
              ],
            },
          ],
        }),
      ],
      tcp(80, ['x/*', 'x/a', false], ['*/a', 'x/a', false]),
    ),
  },
  {
    title: 'should enforce policy based on any PodSelectors',
    context: TCP_CONTEXT,
    steps: oneStep(
      [netpol('x', 'allow-ns-x-pod-b-c', podIs('a'), { ingress: [{ from: [{ podSelector: podIs('b') }, { podSelector: podIs('c') }] }] })],
      tcp(80, denyIngressToXA, ['x/b', 'x/a', true], ['x/c', 'x/a', true]),
    ),
  },
  {
    title: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    context: TCP_CONTEXT,
    steps: oneStep([xaFromYPodA('allow-ns-y-pod-a-via-namespace-pod-selector')], tcp(80, denyIngressToXA, ['y/a', 'x/a', true])),
  },
  {
    title: 'should enforce policy based on Ports',
    context: TCP_CONTEXT,
    steps: oneStep(
      [xaFromYOnPort('allow-client-a-via-ns-selector', 81, 'TCP')],
      tcp(81, ...onlyYFromNsX),
      { ...tcp(80, denyIngressToXA), by: 'port 80 is not in the rule, so x/a is closed on it' },
    ),
  },
  {
    title: 'should enforce multiple, stacked policies with overlapping podSelectors',
    context: TCP_CONTEXT,
    steps: [
      {
        by: 'Creating a network allowPort81Policy which only allows allow listed namespaces (y) to connect on exactly one port (81)',
        policies: [xaFromYOnPort('allow-client-a-via-ns-selector', 81, 'TCP')],
        probes: [tcp(81, ...onlyYFromNsX), tcp(80, denyIngressToXA)],
      },
      {
        by: 'Verifying that we can add a policy to unblock port 80',
        policies: [xaFromYOnPort('allow-client-a-via-ns-selector', 81, 'TCP'), xaFromYOnPort('allow-client-a-via-ns-selector-80', 80, 'TCP')],
        probes: [tcp(80, ...onlyYFromNsX), { ...tcp(81, ...onlyYFromNsX), by: 'port 81 is unchanged' }],
      },
    ],
  },
  {
    title: 'should support allow-all policy',
    context: TCP_CONTEXT,
    steps: oneStep([netpol('x', 'allow-all', all, { ingress: [{}] })], tcp(80), tcp(81)),
  },
  {
    title: 'should allow ingress access on one named port',
    context: TCP_CONTEXT,
    steps: oneStep(
      [netpol('x', 'allow-all', all, { ingress: [{ ports: [{ port: 'serve-81-tcp' }] }] })],
      tcp(81),
      tcp(80, denyIngressToX),
      { ...probe('UDP', 81, denyIngressToX), by: 'the named port defaults to TCP: serve-81-tcp does not open 81/UDP' },
    ),
  },
  {
    title: 'should allow ingress access from namespace on one named port',
    context: TCP_CONTEXT,
    steps: oneStep([xaFromYOnPort('allow-client-a-via-ns-selector-80', 'serve-80-tcp', 'TCP')], tcp(80, ...onlyYFromNsX), tcp(81, denyIngressToXA)),
  },
  {
    title: 'should allow egress access on one named port',
    context: TCP_CONTEXT,
    steps: oneStep([netpol('x', 'allow-egress', all, { egress: [{ ports: [{ port: 'serve-80-tcp' }] }] })], tcp(80), tcp(81, denyEgressFromX)),
  },
  {
    title: 'should enforce updated policy',
    context: TCP_CONTEXT,
    steps: [
      {
        by: 'Using the simplest possible mutation: start with allow all, then switch to deny all',
        policies: [netpol('x', 'allow-all-mutate-to-deny-all', all, { ingress: [{}] })],
        probes: [tcp(81)],
      },
      {
        by: 'update the policy to deny all',
        policies: [netpol('x', 'allow-all-mutate-to-deny-all', all, { ingress: [] })],
        probes: [tcp(81, denyIngressToX)],
      },
    ],
  },
  {
    title: 'should allow ingress access from updated namespace',
    context: TCP_CONTEXT,
    steps: [
      {
        policies: [netpol('x', 'allow-client-a-via-ns-selector', podIs('a'), { ingress: [{ from: [{ namespaceSelector: labels({ ns2: 'updated' }) }] }] })],
        probes: [tcp(80, denyIngressToXA)],
      },
      {
        by: "add label ns2=updated to namespace y: anything from namespace 'y' should be able to get to x/a",
        policies: [netpol('x', 'allow-client-a-via-ns-selector', podIs('a'), { ingress: [{ from: [{ namespaceSelector: labels({ ns2: 'updated' }) }] }] })],
        namespaceLabels: { y: { ns2: 'updated' } },
        probes: [tcp(80, denyIngressToXA, ['y/*', '*', true])],
      },
    ],
  },
  {
    title: 'should allow ingress access from updated pod',
    context: TCP_CONTEXT,
    steps: [
      {
        policies: [
          netpol('x', 'allow-client-a-via-pod-selector', podIs('a'), { ingress: [{ from: [{ podSelector: labels({ pod: 'b', pod2: 'updated' }) }] }] }),
        ],
        probes: [tcp(80, denyIngressToXA)],
      },
      {
        by: 'x/b is able to reach x/a when label is updated',
        policies: [
          netpol('x', 'allow-client-a-via-pod-selector', podIs('a'), { ingress: [{ from: [{ podSelector: labels({ pod: 'b', pod2: 'updated' }) }] }] }),
        ],
        podLabels: { 'x/b': { pod2: 'updated' } },
        probes: [tcp(80, denyIngressToXA, ['x/b', 'x/a', true])],
      },
    ],
  },
  {
    title: 'should deny ingress from pods on other namespaces',
    context: TCP_CONTEXT,
    steps: oneStep(
      [netpol('x', 'deny-empty-policy', all, { ingress: [{ from: [{ podSelector: { matchLabels: {} } }] }] })],
      tcp(80, ['y/*', 'x/*', false], ['z/*', 'x/*', false]),
    ),
  },
  {
    title: 'should deny ingress access to updated pod',
    context: TCP_CONTEXT,
    steps: [
      {
        by: 'Verify that everything can reach x/a',
        policies: [netpol('x', 'deny-ingress-via-label-selector', labels({ target: 'isolated' }), { ingress: [] })],
        probes: [tcp(80)],
      },
      {
        by: 'add label target=isolated to x/a',
        policies: [netpol('x', 'deny-ingress-via-label-selector', labels({ target: 'isolated' }), { ingress: [] })],
        podLabels: { 'x/a': { target: 'isolated' } },
        probes: [tcp(80, denyIngressToXA)],
      },
    ],
  },
  {
    title: 'should deny egress from pods based on PodSelector',
    context: TCP_CONTEXT,
    steps: oneStep([netpol('x', 'deny-egress-pod-a', podIs('a'), { egress: [] })], tcp(80, ['x/a', '*', false])),
  },
  {
    title: 'should deny egress from all pods in a namespace',
    context: TCP_CONTEXT,
    steps: oneStep([netpol('x', 'deny-egress-ns-x', all, { egress: [] })], tcp(80, denyEgressFromX)),
  },
  {
    title: 'should work with Ingress, Egress specified together',
    context: TCP_CONTEXT,
    steps: oneStep(
      [
        netpol('x', 'allow-client-a-via-pod-selector', podIs('a'), {
          ingress: [{ from: [{ podSelector: podIs('b') }] }],
          egress: [{ ports: [{ port: 80 }] }],
          policyTypes: ['Egress', 'Ingress'],
        }),
      ],
      tcp(80, denyIngressToXA, ['x/b', 'x/a', true]),
      tcp(81, denyIngressToXA, ['x/a', '*', false], ['x/b', 'x/a', true]),
    ),
  },
  {
    title: 'should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)',
    context: TCP_CONTEXT,
    steps: oneStep(
      [
        netpol('x', 'allow-to-ns-y-pod-a', podIs('a'), { egress: [{ to: [{ namespaceSelector: nsIs('y'), podSelector: podIs('a') }] }] }),
        netpol('y', 'allow-from-xa-on-ya-match-selector', podIs('a'), {
          ingress: [{ from: [{ namespaceSelector: nsIs('x'), podSelector: podIs('a') }] }],
        }),
        netpol('y', 'allow-from-xa-on-yb-match-selector', podIs('b'), {
          ingress: [{ from: [{ namespaceSelector: nsIs('x'), podSelector: podIs('a') }] }],
        }),
      ],
      tcp(80, ['x/a', '*', false], ['*', 'y/a', false], ['x/a', 'y/a', true], ['*', 'y/b', false]),
    ),
  },
  {
    title: 'should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector',
    context: TCP_CONTEXT,
    steps: oneStep(
      [netpol('x', 'allow-to-ns-y-pod-a', podIs('a'), { egress: [{ to: [{ namespaceSelector: nsIs('y'), podSelector: podIs('a') }] }] })],
      tcp(80, ['x/a', '*', false], ['x/a', 'y/a', true]),
    ),
  },
  {
    title: 'should enforce ingress policy allowing any port traffic to a server on a specific protocol',
    context: TCP_CONTEXT,
    steps: oneStep(
      [netpol('x', 'allow-ingress-by-proto', podIs('a'), { ingress: [{ ports: [{ protocol: 'TCP' }] }] })],
      tcp(80),
      probe('UDP', 80, denyIngressToXA),
      { ...tcp(81), by: 'a rule with a protocol and no port admits every port of that protocol' },
      { ...probe('SCTP', 81, denyIngressToXA), by: 'and no other protocol' },
    ),
  },
  {
    title: 'should enforce multiple ingress policies with ingress allow-all policy taking precedence',
    context: TCP_CONTEXT,
    steps: [
      {
        by: "The policy targets port 80 -- so let's make sure traffic on port 81 is blocked",
        policies: [netpol('x', 'allow-ingress-port-80', all, { ingress: [{ ports: [{ port: 80 }] }] })],
        probes: [tcp(81, denyIngressToX), { ...tcp(80), by: 'port 80 is open' }],
      },
      {
        by: 'Allowing all ports',
        policies: [netpol('x', 'allow-ingress-port-80', all, { ingress: [{ ports: [{ port: 80 }] }] }), netpol('x', 'allow-ingress', all, { ingress: [{}] })],
        probes: [tcp(81)],
      },
    ],
  },
  {
    title: 'should enforce multiple egress policies with egress allow-all policy taking precedence',
    context: TCP_CONTEXT,
    steps: [
      {
        by: "Making sure ingress doesn't work other than port 80",
        policies: [netpol('x', 'allow-egress-port-80', all, { egress: [{ ports: [{ port: 80 }] }] })],
        probes: [tcp(81, denyEgressFromX), { ...tcp(80), by: 'port 80 is open' }],
      },
      {
        by: 'Allowing all ports',
        policies: [netpol('x', 'allow-egress-port-80', all, { egress: [{ ports: [{ port: 80 }] }] }), netpol('x', 'allow-egress', all, { egress: [{}] })],
        probes: [tcp(81)],
      },
    ],
  },
  {
    title: 'should stop enforcing policies after they are deleted',
    context: TCP_CONTEXT,
    steps: [
      {
        by: 'Creating a network policy for the server which denies all traffic.',
        policies: [netpol('x', 'deny-all', all, { ingress: [], egress: [] })],
        probes: [tcp(80, denyEgressFromX, denyIngressToX)],
      },
      { by: 'the policy is deleted: all connectivity works again', policies: [], probes: [tcp(80)] },
    ],
  },
  {
    title: 'should allow egress access to server in CIDR block',
    context: TCP_CONTEXT,
    steps: oneStep(
      [netpol('x', 'allow-client-a-via-cidr-egress-rule', podIs('a'), { egress: [{ to: [{ ipBlock: { cidr: host('y/b') } }] }] })],
      tcp(80, ['x/a', '*', false], ['x/a', 'y/b', true]),
    ),
  },
  {
    title: 'should enforce except clause while egress access to server in CIDR block',
    context: TCP_CONTEXT,
    steps: oneStep([exceptAroundXB], tcp(80, ['x/a', 'x/b', false])),
  },
  {
    title: 'should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed',
    context: TCP_CONTEXT,
    note:
      'Upstream updates the policy in place (same name), so its second state holds only the /32 rule. ' +
      'A third step, added here, keeps both rules as two policies: the union admits x/b again.',
    steps: [
      { policies: [exceptAroundXB], probes: [tcp(80, ['x/a', 'x/b', false])] },
      {
        by: 'update the policy to allow only x/b',
        policies: [netpol('x', 'allow-client-a-via-cidr-egress-rule', podIs('a'), { egress: [{ to: [{ ipBlock: { cidr: host('x/b') } }] }] })],
        probes: [tcp(80, ['x/a', '*', false], ['x/a', 'x/b', true])],
      },
      {
        by: 'podwall: both rules as separate policies; x/b, excepted by one, is allowed by the other',
        policies: [exceptAroundXB, netpol('x', 'allow-client-a-to-x-b', podIs('a'), { egress: [{ to: [{ ipBlock: { cidr: host('x/b') } }] }] })],
        probes: [tcp(80)],
      },
    ],
  },
  {
    title: 'should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector',
    context: TCP_CONTEXT,
    steps: [
      {
        by: 'Creating a network policy for pod-a which allows Egress traffic to pod-b.',
        policies: [netpol('x', 'allow-egress-for-target', podIs('a'), { egress: [{}] })],
        probes: [tcp(80)],
      },
      {
        by: 'Creating a network policy for pod-a that denies traffic from pod-b.',
        policies: [netpol('x', 'allow-egress-for-target', podIs('a'), { egress: [{}] }), netpol('x', 'deny-ingress-via-label-selector', podIs('a'), { ingress: [] })],
        probes: [tcp(80, denyIngressToXA)],
      },
    ],
  },
  {
    title: "should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP",
    context: TCP_CONTEXT,
    steps: oneStep(
      [denyIngressX('deny-ingress'), netpol('x', 'allow-only-sctp-ingress-on-port-81', podIs('a'), { ingress: [{ ports: [{ port: 81, protocol: 'SCTP' }] }] })],
      tcp(81, denyIngressToX),
      { ...probe('SCTP', 81, denyIngressToX, ['*', 'x/a', true]), by: 'SCTP 81 itself is open to x/a' },
    ),
  },
  {
    title: "should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP",
    context: TCP_CONTEXT,
    steps: oneStep(
      [netpol('x', 'allow-only-sctp-ingress-on-port-80', podIs('a'), { ingress: [{ ports: [{ port: 80, protocol: 'SCTP' }] }] })],
      tcp(81, denyIngressToXA),
      { ...probe('SCTP', 80), by: 'SCTP 80 itself is open' },
      { ...tcp(80, denyIngressToXA), by: 'TCP on the same port number is not' },
    ),
  },
  {
    title: 'should not allow access by TCP when a policy specifies only UDP',
    context: TCP_CONTEXT,
    steps: oneStep(
      [netpol('x', 'allow-only-udp-ingress-on-port-81', podIs('a'), { ingress: [{ ports: [{ port: 81, protocol: 'UDP' }] }] })],
      tcp(81, denyIngressToXA),
      { ...probe('UDP', 81), by: 'UDP 81 itself is open' },
    ),
  },
  {
    title: 'should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label',
    context: TCP_CONTEXT,
    steps: oneStep(
      [
        netpol('x', 'allow-client-a-via-ns-selector-for-immutable-ns-label', podIs('a'), {
          ingress: [{ from: [{ namespaceSelector: nsIs('y') }] }],
        }),
      ],
      tcp(80, ...onlyYFromNsX),
    ),
  },
  {
    title: 'should enforce policy based on NamespaceSelector with MatchExpressions using default ns label',
    context: TCP_CONTEXT,
    steps: oneStep(
      [netpol('x', 'allow-ns-y-match-selector-for-immutable-ns-label', podIs('a'), { egress: [{ to: [{ namespaceSelector: nsNotIn('y') }] }] })],
      tcp(80, ['x/a', 'y/*', false]),
    ),
  },

  // UDP
  {
    title: "should support a 'default-deny-ingress' policy",
    context: UDP_CONTEXT,
    steps: oneStep([denyIngressX('deny-all')], probe('UDP', 80, denyIngressToX)),
  },
  {
    title: 'should enforce policy based on Ports',
    context: UDP_CONTEXT,
    steps: oneStep(
      [xaFromYOnPort('allow-ingress-on-port-81-ns-x', 81, 'UDP')],
      probe('UDP', 81, ...onlyYFromNsX),
      { ...tcp(81, denyIngressToXA), by: 'the UDP rule does not open TCP 81' },
    ),
  },
  {
    title: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    context: UDP_CONTEXT,
    steps: oneStep([xaFromYPodA('allow-ns-y-pod-a-via-namespace-pod-selector')], probe('UDP', 80, denyIngressToXA, ['y/a', 'x/a', true])),
  },

  // SCTP
  {
    title: "should support a 'default-deny-ingress' policy",
    context: SCTP_CONTEXT,
    steps: oneStep([denyIngressX('deny-all')], probe('SCTP', 80, denyIngressToX)),
  },
  {
    title: 'should enforce policy based on Ports',
    context: SCTP_CONTEXT,
    steps: oneStep(
      [xaFromYOnPort('allow-ingress-on-port-81-ns-x', 81, 'SCTP')],
      probe('SCTP', 81, ...onlyYFromNsX),
      { ...tcp(81, denyIngressToXA), by: 'the SCTP rule does not open TCP 81' },
    ),
  },
  {
    title: 'should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector',
    context: SCTP_CONTEXT,
    steps: oneStep([xaFromYPodA('allow-ns-y-pod-a-via-namespace-pod-selector')], probe('SCTP', 80, denyIngressToXA, ['y/a', 'x/a', true])),
  },
];

/**
 * Cases in the same model that upstream's e2e suite does not have (it has no endPort test, and
 * none of named ports meeting the wrong protocol, or of ingress ipBlocks). Titles start with
 * "[podwall]" so they are never mistaken for upstream ones.
 */
export const SUPPLEMENTAL_CASES: readonly Case[] = [
  {
    title: '[podwall] endPort: an ingress port range admits every port in it, on its protocol only',
    context: TCP_CONTEXT,
    steps: oneStep(
      [netpol('x', 'allow-80-to-81', podIs('a'), { ingress: [{ ports: [{ port: 80, endPort: 81, protocol: 'TCP' }] }] })],
      tcp(80),
      tcp(81),
      probe('UDP', 80, denyIngressToXA),
    ),
  },
  {
    title: '[podwall] endPort: a range starting above a port leaves it closed',
    context: TCP_CONTEXT,
    steps: oneStep([netpol('x', 'allow-81-to-90', all, { ingress: [{ ports: [{ port: 81, endPort: 90 }] }] })], tcp(80, denyIngressToX), tcp(81)),
  },
  {
    title: '[podwall] endPort: an egress range ending at a port includes it',
    context: TCP_CONTEXT,
    steps: oneStep([netpol('x', 'egress-79-to-80', all, { egress: [{ ports: [{ port: 79, endPort: 80 }] }] })], tcp(80), tcp(81, denyEgressFromX)),
  },
  {
    title: '[podwall] a named port resolves by name and protocol together',
    context: TCP_CONTEXT,
    steps: [
      {
        by: 'serve-80-udp with the default protocol TCP names no TCP port: nothing opens',
        policies: [netpol('x', 'named-udp-port', all, { ingress: [{ ports: [{ port: 'serve-80-udp' }] }] })],
        probes: [tcp(80, denyIngressToX), probe('UDP', 80, denyIngressToX)],
      },
      {
        by: 'with protocol UDP it opens 80/UDP only',
        policies: [netpol('x', 'named-udp-port', all, { ingress: [{ ports: [{ port: 'serve-80-udp', protocol: 'UDP' }] }] })],
        probes: [tcp(80, denyIngressToX), probe('UDP', 80), probe('UDP', 81, denyIngressToX)],
      },
    ],
  },
  {
    title: '[podwall] an ingress ipBlock matches source pods by their IPs',
    context: TCP_CONTEXT,
    steps: oneStep(
      [
        netpol('x', 'from-y-by-cidr', podIs('a'), {
          ingress: [{ from: [{ ipBlock: { cidr: '10.244.2.0/24' } }, { ipBlock: { cidr: '10.244.3.0/24', except: [host('z/a'), host('z/b')] } }] }],
        }),
      ],
      tcp(80, denyIngressToXA, ['y/*', 'x/a', true], ['z/c', 'x/a', true]),
    ),
  },
];
