// `fix`: the smallest policy change that allows one denied connection and nothing else that was
// denied before: one rule appended to an isolating policy (or a new policy) on each side that
// blocks it, with peers as narrow as the labels allow, verified by diffing the patched cluster.
import {
  compareStrings,
  decodeNetworkPolicy,
  NAMESPACE_NAME_LABEL,
  networkPolicyManifest,
  parseIP,
  selectorMatches,
  type Cluster,
  type Endpoint,
  type Labels,
  type Manifest,
  type NetworkPolicy,
  type Protocol,
  type Service,
} from '../model/index.js';
import { computeClasses } from './classes.js';
import { compileCluster, type CompiledCluster } from './compile.js';
import { describeRule, formatAdminRuleRef, formatRuleRef } from './describe.js';
import { diffClusters, endpointOwner, type FlowDiff, type FlowGroup } from './diff.js';
import { evaluateConnection, isolatingPolicies } from './evaluate.js';
import { computeMatrix, type Matrix, type PortProtocol } from './matrix.js';
import { resolveTarget } from './resolve.js';
import { destinationNotes, evaluateServiceConnection, findServicePort, formatServicePort, serviceId, serviceSources, type ServiceNote } from './services.js';
import type { Direction, PolicyRef, RuleRef, TrafficPeer, Verdict } from './types.js';

export interface FixQuestion {
  /** What the user typed, resolved as `check` resolves it (an endpoint, an address, a Service). */
  readonly from: string;
  readonly to: string;
  /** The destination port; for a Service, its port (or, from outside, its node port). */
  readonly port: number;
  readonly protocol: Protocol;
  /** Where names without a namespace are looked up. */
  readonly namespace?: string;
}

/** One connection the question stands for: to a Service, one per backend at its target port. */
export interface AskedFlow {
  readonly source: TrafficPeer;
  readonly destination: TrafficPeer;
  readonly port: number;
  readonly protocol: Protocol;
  /** The named targetPort the Service reaches this backend by, when it names one. */
  readonly portName?: string;
  /** The verdict before the fix. */
  readonly before: Verdict;
}

/** An RFC 6902 operation; a fix only ever adds. */
export interface JSONPatchOperation {
  readonly op: 'add';
  readonly path: string;
  readonly value: unknown;
}

/** A rule the fix adds, at its place in the policy after the fix. */
export interface AddedRule {
  readonly rule: RuleRef;
  /** The rule as written in a manifest (`from`/`to` and `ports`). */
  readonly manifest: Manifest;
  /** `default/db-policy ingress[1] allows from pods with name=web-pod in namespace default, on TCP 3306`. */
  readonly text: string;
}

/** What the fix does to one policy: rules appended to an existing one, or a new one. */
export interface PolicyChange {
  readonly policy: PolicyRef;
  readonly created: boolean;
  readonly rules: readonly AddedRule[];
  /** The whole policy after the fix, canonical (defaults written out). */
  readonly manifest: Manifest;
  /** For an existing policy: the operations that turn it (as served, or as written) into the fixed one. */
  readonly patch: readonly JSONPatchOperation[];
}

/**
 * - `allowed`: every connection asked is allowed already; nothing to change.
 * - `fixed`: the changes allow it, and applying them opens exactly the asked flows (verified by diff).
 * - `inexact`: no change by labels allows only the asked flows; `changes` is the narrowest one
 *   found, and `extra` lists what else it opens.
 * - `impossible`: no NetworkPolicy change can allow it (`reasons` say why).
 */
export type FixStatus = 'allowed' | 'fixed' | 'inexact' | 'impossible';

export interface FixAnswer {
  readonly status: FixStatus;
  /** `ns/name`, `ns/kind/name`, `ns/service/name` or an address, as resolved. */
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly flows: readonly AskedFlow[];
  readonly changes: readonly PolicyChange[];
  /** Original -> fixed: what applying the changes opens and closes. */
  readonly diff?: FlowDiff;
  /** Opened groups that are the asked flows (their endpoints' classes, the asked port). */
  readonly opened: readonly FlowGroup[];
  /** Opened groups beyond the asked flows (only when inexact). */
  readonly extra: readonly FlowGroup[];
  /** Why the answer is what it is: impossible, inexact, or notes about the question. */
  readonly reasons: readonly string[];
  readonly notes: readonly ServiceNote[];
}

/** Labels a controller sets per rollout or per pod: selecting by them would break on the next one. */
const VOLATILE_LABELS: ReadonlySet<string> = new Set([
  'pod-template-hash',
  'controller-revision-hash',
  'pod-template-generation',
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
]);

/** Keys that name an application, in the order a reader looks for them. */
const IDENTITY_KEYS: readonly string[] = ['app.kubernetes.io/name', 'app', 'k8s-app', 'name'];

/** Combinations of labels tried per endpoint; beyond this many keys only small subsets are tried. */
const MAX_KEYS_FOR_ALL_SUBSETS = 10;

/** Candidate changes (egress option x ingress option) evaluated per flow before settling on the best. */
const MAX_CANDIDATES = 300;

const byNamespaceAndName = (a: NetworkPolicy, b: NetworkPolicy): number => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
const policyKey = (ref: PolicyRef): string => `${ref.namespace}/${ref.name}`;

function ipKey(text: string): string | undefined {
  const ip = parseIP(text);
  return ip ? `ip:${ip.family}/${ip.value}` : undefined;
}

/** ip/32 or ip/128: exactly one address. */
function hostCIDR(text: string): string | undefined {
  const ip = parseIP(text);
  return ip ? `${text}/${ip.family === 4 ? 32 : 128}` : undefined;
}

function declares(e: Endpoint, port: number, protocol: Protocol): boolean {
  return e.ports.some((p) => p.containerPort === port && p.protocol === protocol);
}

function peerName(p: TrafficPeer): string {
  return p.kind === 'external' ? p.ip : p.endpoint.id;
}

// ---------------------------------------------------------------------------------------------
// Selectors: the label sets that select an endpoint, narrowest first.

interface SelectorChoice {
  readonly labels: Labels;
  /** Endpoints of the namespace the labels select. */
  readonly matched: readonly Endpoint[];
}

/**
 * Every distinct set of endpoints that some subset of `endpoint`'s stable labels selects in its
 * namespace, each with the label subset a reader would pick for it (an application's name first,
 * then fewer labels, then labels the policies already use); narrowest first.
 */
function selectorChoices(compiled: CompiledCluster, endpoint: Endpoint, usage: ReadonlyMap<string, number>): SelectorChoice[] {
  const keys = Object.keys(endpoint.labels)
    .filter((k) => !VOLATILE_LABELS.has(k))
    .sort(compareStrings);
  const pool = compiled.cluster.endpoints.filter((e) => e.namespace === endpoint.namespace && !e.hostNetwork);
  const subsets: string[][] = [];
  if (keys.length <= MAX_KEYS_FOR_ALL_SUBSETS) {
    for (let mask = 0; mask < 1 << keys.length; mask++) subsets.push(keys.filter((_, i) => (mask & (1 << i)) !== 0));
  } else {
    subsets.push([], keys);
    keys.forEach((a, i) => {
      subsets.push([a]);
      for (const b of keys.slice(i + 1)) subsets.push([a, b]);
    });
  }
  const identity = (ks: readonly string[]): number => Math.min(...ks.map((k) => (IDENTITY_KEYS.includes(k) ? IDENTITY_KEYS.indexOf(k) : IDENTITY_KEYS.length)), IDENTITY_KEYS.length);
  const used = (ks: readonly string[]): number => ks.reduce((n, k) => n + (usage.get(k) ?? 0), 0);
  const better = (a: readonly string[], b: readonly string[]): boolean =>
    (identity(a) - identity(b) || a.length - b.length || used(b) - used(a) || compareStrings(a.join(','), b.join(','))) < 0;
  const best = new Map<string, { keys: string[]; matched: Endpoint[] }>();
  for (const subset of subsets) {
    const labels = Object.fromEntries(subset.map((k) => [k, endpoint.labels[k]]));
    const selector = { matchLabels: labels, matchExpressions: [] };
    const matched = pool.filter((e) => selectorMatches(selector, e.labels));
    const key = matched.map((e) => e.id).join('\u0000');
    const found = best.get(key);
    if (!found || better(subset, found.keys)) best.set(key, { keys: subset, matched });
  }
  return [...best.values()]
    .sort((a, b) => a.matched.length - b.matched.length || a.keys.length - b.keys.length || compareStrings(a.keys.join(','), b.keys.join(',')))
    .map((c) => ({ labels: Object.fromEntries(c.keys.map((k) => [k, endpoint.labels[k]])), matched: c.matched }));
}

/** How often each label key appears in the policies' selectors: the house style. */
function labelUsage(cluster: Cluster): Map<string, number> {
  const usage = new Map<string, number>();
  const count = (labels: Labels | undefined): void => {
    for (const k of Object.keys(labels ?? {})) usage.set(k, (usage.get(k) ?? 0) + 1);
  };
  for (const p of cluster.policies) {
    count(p.spec.podSelector.matchLabels);
    for (const rule of [...p.spec.ingress, ...p.spec.egress]) for (const peer of rule.peers ?? []) count(peer.podSelector?.matchLabels);
  }
  return usage;
}

// ---------------------------------------------------------------------------------------------
// Options: one rule on one side, in an existing policy or a new one.

interface SideOption {
  readonly direction: Direction;
  /** The policy the rule goes into: an existing (or earlier created) one, or a new one selecting these labels. */
  readonly target: { readonly kind: 'existing'; readonly policy: PolicyRef } | { readonly kind: 'new'; readonly namespace: string; readonly podSelector: Labels; readonly name: string };
  /** The rule as a manifest writes it. */
  readonly rule: Manifest;
}

function selectorManifest(labels: Labels): Manifest {
  return Object.keys(labels).length > 0 ? { matchLabels: { ...labels } } : {};
}

/** The peer that means `end` to a policy in `namespace`: its labels (and namespace when another), or its address. */
function peerManifests(compiled: CompiledCluster, end: TrafficPeer, namespace: string, family: 4 | 6 | undefined, usage: ReadonlyMap<string, number>): Manifest[] {
  const address = (text: string | undefined): Manifest[] => {
    const cidr = text !== undefined ? hostCIDR(text) : undefined;
    return cidr ? [{ ipBlock: { cidr } }] : [];
  };
  if (end.kind === 'external') return address(end.ip);
  const e = end.endpoint;
  // Pod and namespace selectors never match a hostNetwork pod: its traffic is the node's address.
  if (e.hostNetwork) return address(end.ip ?? e.ips.find((ip) => family === undefined || parseIP(ip)?.family === family) ?? e.ips[0]);
  return selectorChoices(compiled, e, usage).map((c) =>
    e.namespace === namespace
      ? { podSelector: selectorManifest(c.labels) }
      : {
          namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: e.namespace } },
          ...(Object.keys(c.labels).length > 0 ? { podSelector: selectorManifest(c.labels) } : {}),
        },
  );
}

function dnsName(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
}

function shortName(p: TrafficPeer): string {
  if (p.kind === 'external') return dnsName(p.ip);
  const owner = endpointOwner(p.endpoint).split('/');
  return dnsName(owner[owner.length - 1]);
}

/**
 * The options for one blocked side of a flow: the rule appended to each policy isolating the
 * subject (narrowest first), then a new policy selecting the subject by its narrowest labels among
 * pods already isolated this way (so that nothing new is isolated and nothing closes).
 */
function sideOptions(compiled: CompiledCluster, flow: AskedFlow, direction: Direction, usage: ReadonlyMap<string, number>, newName: string, baseline = false): SideOption[] {
  const subject = direction === 'Egress' ? flow.source : flow.destination;
  const other = direction === 'Egress' ? flow.destination : flow.source;
  if (subject.kind !== 'endpoint') return [];
  const e = subject.endpoint;
  const family = (() => {
    const ip = direction === 'Ingress' ? e.ips[0] : other.kind === 'external' ? other.ip : other.endpoint.ips[0];
    return ip !== undefined ? parseIP(ip)?.family : undefined;
  })();
  const peers = peerManifests(compiled, other, e.namespace, family, usage);
  // A named port resolves against the destination pod; towards an address outside the cluster it never matches.
  const port = flow.portName !== undefined && flow.destination.kind === 'endpoint' ? flow.portName : flow.port;
  const ports = [{ protocol: flow.protocol, port }];
  const rules = peers.map((peer): Manifest => (direction === 'Ingress' ? { from: [peer], ports } : { to: [peer], ports }));

  const selectedCount = (ref: PolicyRef): number => {
    const p = compiled.policies.find((x) => x.ref.namespace === ref.namespace && x.ref.name === ref.name)!;
    return compiled.cluster.endpoints.filter((x) => x.namespace === p.namespace && !x.hostNetwork && selectorMatches(p.podSelector, x.labels)).length;
  };
  const existing = isolatingPolicies(compiled, e, direction)
    .map((p) => ({ ref: p.ref, count: selectedCount(p.ref) }))
    .sort((a, b) => a.count - b.count || compareStrings(a.ref.name, b.ref.name))
    .map((p): SideOption['target'] => ({ kind: 'existing', policy: p.ref }));
  // Where the Baseline tier denied (the subject is not isolated), the new policy must isolate it: then
  // NetworkPolicy decides instead of the baseline, which may close flows the baseline let through.
  const created = selectorChoices(compiled, e, usage)
    .filter((c) => baseline || c.matched.every((x) => isolatingPolicies(compiled, x, direction).length > 0))
    .map((c): SideOption['target'] => ({ kind: 'new', namespace: e.namespace, podSelector: c.labels, name: newName }));
  const targets = [...existing, ...created];

  // The narrowest peer first; for each, the policies that isolate the subject, then a new one.
  return rules.flatMap((rule) => targets.map((target): SideOption => ({ direction, target, rule })));
}

// ---------------------------------------------------------------------------------------------
// Applying options to the policies, as manifests.

/** The policies as manifests while a fix is built: the ones changed or created so far. */
interface Draft {
  /** Changed or created policies by `ns/name`, canonical manifests. */
  readonly manifests: ReadonlyMap<string, Manifest>;
  readonly created: ReadonlySet<string>;
}

function specRules(manifest: Manifest, direction: Direction): Manifest[] {
  const spec = manifest.spec as Manifest;
  return (spec[direction === 'Ingress' ? 'ingress' : 'egress'] as Manifest[] | undefined) ?? [];
}

function applyOptions(cluster: Cluster, draft: Draft, options: readonly SideOption[]): Draft {
  const manifests = new Map(draft.manifests);
  const created = new Set(draft.created);
  for (const o of options) {
    const field = o.direction === 'Ingress' ? 'ingress' : 'egress';
    if (o.target.kind === 'new') {
      const key = `${o.target.namespace}/${o.target.name}`;
      manifests.set(key, {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: o.target.name, namespace: o.target.namespace },
        spec: { podSelector: selectorManifest(o.target.podSelector), policyTypes: [o.direction], [field]: [o.rule] },
      });
      created.add(key);
      continue;
    }
    const key = policyKey(o.target.policy);
    const base = manifests.get(key) ?? networkPolicyManifest(cluster.policies.find((p) => policyKey(p) === key)!);
    const spec = base.spec as Manifest;
    manifests.set(key, { ...base, spec: { ...spec, [field]: [...specRules(base, o.direction), o.rule] } });
  }
  return { manifests, created };
}

/** The cluster with the draft's policies in place of (or beside) the originals. */
function clusterWith(cluster: Cluster, draft: Draft): Cluster {
  const policies = cluster.policies.filter((p) => !draft.manifests.has(policyKey(p)));
  for (const [key, manifest] of draft.manifests) {
    const decoded = decodeNetworkPolicy(manifest, 'default');
    // A fix is built from valid parts; an invalid one is a bug here, never the user's input.
    if (!decoded.policy) throw new Error(`fix built an invalid NetworkPolicy ${key}: ${JSON.stringify(decoded.errors)}`);
    policies.push(decoded.policy);
  }
  return { ...cluster, policies: policies.sort(byNamespaceAndName) };
}

function uniqueName(cluster: Cluster, draft: Draft, namespace: string, base: string): string {
  const taken = (name: string): boolean => draft.manifests.has(`${namespace}/${name}`) || cluster.policies.some((p) => p.namespace === namespace && p.name === name);
  const stem = base.slice(0, 240).replace(/-$/, '');
  if (!taken(stem)) return stem;
  for (let i = 2; ; i++) if (!taken(`${stem}-${i}`)) return `${stem}-${i}`;
}

// ---------------------------------------------------------------------------------------------
// Judging a candidate: which flows it opens beyond the asked ones.

/**
 * The asked flows, as the ends a label selector cannot be asked to tell apart: an endpoint stands
 * for its workload (the replicas of one Deployment open together), an outside end for its address.
 */
interface Acceptance {
  /** `src|dst|port/protocol` keys of the asked flows, by owner (`o:ns/deployment/web`) or address (`ip:4/...`). */
  readonly keys: ReadonlySet<string>;
  /** Outside addresses among the asked sources and destinations. */
  readonly outsideSources: readonly string[];
  readonly outsideDestinations: readonly string[];
}

function endKeys(end: TrafficPeer): string[] {
  if (end.kind === 'external') return [ipKey(end.ip)!];
  const keys = [`o:${endpointOwner(end.endpoint)}`];
  // A hostNetwork pod is matched by its (the node's) address.
  if (end.endpoint.hostNetwork) for (const ip of end.ip !== undefined ? [end.ip] : end.endpoint.ips) keys.push(ipKey(ip)!);
  return keys;
}

function buildAcceptance(flows: readonly AskedFlow[]): Acceptance {
  const keys = new Set<string>();
  for (const f of flows) for (const s of endKeys(f.source)) for (const d of endKeys(f.destination)) keys.add(`${s}|${d}|${f.port}/${f.protocol}`);
  return {
    keys,
    outsideSources: [...new Set(flows.flatMap((f) => (f.source.kind === 'external' ? [f.source.ip] : [])))],
    outsideDestinations: [...new Set(flows.flatMap((f) => (f.destination.kind === 'external' ? [f.destination.ip] : [])))],
  };
}

/** The ports a rule written with `port` can admit: the number, or every number the name stands for on some endpoint. */
function portsOfRule(cluster: Cluster, port: number | string, protocol: Protocol): PortProtocol[] {
  if (typeof port === 'number') return [{ port, protocol }];
  const numbers = new Set<number>();
  for (const e of cluster.endpoints) for (const p of e.ports) if (p.name === port && p.protocol === protocol) numbers.add(p.containerPort);
  return [...numbers].sort((a, b) => a - b).map((n) => ({ port: n, protocol }));
}

/**
 * How many connections the candidate allows that `base` did not, beyond the asked ones. Rules are
 * only ever added over pods already isolated, so nothing closes and only the rules' ports can open;
 * endpoint pairs are compared per class of the candidate (finer than the base's).
 */
function countExtras(base: CompiledCluster, baseMatrices: Map<string, Matrix>, candidate: CompiledCluster, ports: readonly PortProtocol[], acceptance: Acceptance): number {
  const endpoints = candidate.cluster.endpoints;
  const classes = computeClasses(candidate);
  let extras = 0;
  const accepted = (s: readonly string[], d: readonly string[], target: PortProtocol): boolean =>
    s.some((a) => d.some((b) => acceptance.keys.has(`${a}|${b}|${target.port}/${target.protocol}`)));
  const asEnd = (e: Endpoint): TrafficPeer => ({ kind: 'endpoint', endpoint: e });
  const keysOf: string[][] = [];
  const keysAt = (k: number): string[] => (keysOf[k] ??= endKeys(asEnd(endpoints[k])));
  for (const target of ports) {
    const key = `${target.port}/${target.protocol}`;
    let before = baseMatrices.get(key);
    if (!before) baseMatrices.set(key, (before = computeMatrix(base, target)));
    const after = computeMatrix(candidate, target, classes);
    const rep = classes.classes.map((c) => c.members[0]);
    for (const s of classes.classes) {
      for (const d of classes.classes) {
        const i = rep[s.id];
        const j = rep[d.id];
        if (!after.allowedViaService(i, j) || before.allowedViaService(i, j)) continue;
        for (const a of s.members) {
          for (const b of d.members) {
            if (a === b || !declares(endpoints[b], target.port, target.protocol)) continue;
            if (!accepted(keysAt(a), keysAt(b), target)) extras++;
          }
        }
      }
    }
    // Addresses outside the cluster are only ever added as single addresses: judge those alone.
    for (const ip of acceptance.outsideSources) {
      for (const d of classes.classes) {
        const connection = { source: { kind: 'external', ip } as const, destination: asEnd(endpoints[rep[d.id]]), ...target };
        if (!evaluateConnection(candidate, connection).allowed || evaluateConnection(base, connection).allowed) continue;
        for (const b of d.members) if (declares(endpoints[b], target.port, target.protocol) && !accepted([ipKey(ip)!], keysAt(b), target)) extras++;
      }
    }
    for (const ip of acceptance.outsideDestinations) {
      for (const s of classes.classes) {
        const connection = { source: asEnd(endpoints[rep[s.id]]), destination: { kind: 'external', ip } as const, ...target };
        if (!evaluateConnection(candidate, connection).allowed || evaluateConnection(base, connection).allowed) continue;
        for (const a of s.members) if (!accepted(keysAt(a), [ipKey(ip)!], target)) extras++;
      }
    }
  }
  return extras;
}

// ---------------------------------------------------------------------------------------------
// The question: which flows it stands for.

type Asked = { readonly flows: AskedFlow[]; readonly from: string; readonly to: string; readonly notes: ServiceNote[]; readonly impossible: string[] } | { readonly error: string };

function askedFlows(compiled: CompiledCluster, q: FixQuestion): Asked {
  const ns = q.namespace ?? 'default';
  const from = resolveTarget(compiled, q.from, ns);
  if ('error' in from) return { error: `--from: ${from.error}` };
  const to = resolveTarget(compiled, q.to, ns);
  if ('error' in to) return { error: `--to: ${to.error}` };

  let sources: TrafficPeer[];
  let fromName: string;
  if ('service' in from) {
    const id = serviceId(from.service);
    if (from.address) return { error: `--from: ${from.address} is an address of ${id}, and a Service's address opens no connection (only its backends do): to mean each backend, say --from ${id}` };
    if (from.service.type === 'ExternalName') return { error: `--from: ${id} is an ExternalName Service: it has no backends that could send` };
    sources = serviceSources(compiled, from.service);
    if (sources.length === 0) return { error: `--from: ${id} has no backends, so nothing sends as it` };
    fromName = id;
  } else {
    sources = [from.peer];
    fromName = peerName(from.peer);
  }

  const flows: AskedFlow[] = [];
  const notes: ServiceNote[] = [];
  const impossible: string[] = [];
  const verdictOf = (source: TrafficPeer, destination: TrafficPeer, port: number): Verdict => evaluateConnection(compiled, { source, destination, port, protocol: q.protocol });
  if ('service' in to) {
    const service: Service = to.service;
    const id = serviceId(service);
    if (service.type === 'ExternalName') return { error: `--to: ${id} is an ExternalName Service, a DNS alias for ${service.externalName} outside the cluster: ask with --to ADDRESS` };
    const found = findServicePort(service, q.port, q.protocol);
    if (!found) {
      const ports = service.ports.map((p) => `${formatServicePort(p)} -> ${String(p.targetPort)}`).join(', ') || 'none';
      const byTarget = service.ports.find((p) => p.targetPort === q.port && p.protocol === q.protocol);
      return { error: `--port: ${id} has no port ${q.port}/${q.protocol} (ports: ${ports})${byTarget ? `; ${q.port} is the targetPort of port ${byTarget.port}: ask for the Service port, --port ${byTarget.port}` : ''}` };
    }
    const targetPort = service.ports[found.index].targetPort;
    for (const source of sources) {
      const v = evaluateServiceConnection(compiled, source, service, q.port, q.protocol)!;
      for (const n of v.notes) if (!notes.some((x) => x.message === n.message)) notes.push(n);
      if (!v.reachable) {
        impossible.push(`${peerName(source)} cannot reach ${id} at all, before any NetworkPolicy: ${v.notes.filter((n) => n.code === 'not-exposed' || n.code === 'source-ranges').map((n) => n.message).join('; ')}`);
        continue;
      }
      if (v.routed === 0) {
        impossible.push(`port ${formatServicePort(v.servicePort)} of ${id} is routed to no backend: no NetworkPolicy makes something serve it`);
        continue;
      }
      for (const b of v.backends) {
        if (!b.routed || b.port === undefined || !b.verdict) continue;
        const destination: TrafficPeer = b.backend.endpoint ? { kind: 'endpoint', endpoint: b.backend.endpoint, ip: b.backend.address } : { kind: 'external', ip: b.backend.address! };
        flows.push({ source, destination, port: b.port, protocol: q.protocol, ...(typeof targetPort === 'string' ? { portName: targetPort } : {}), before: b.verdict });
      }
    }
    return { flows, from: fromName, to: id, notes, impossible };
  }
  const destination = to.peer;
  if (destination.kind === 'external' && sources.every((s) => s.kind === 'external')) {
    return { error: `neither end is in the cluster: ${fromName} and ${destination.ip} are outside it, and NetworkPolicy only governs traffic of pods` };
  }
  for (const source of sources) flows.push({ source, destination, port: q.port, protocol: q.protocol, before: verdictOf(source, destination, q.port) });
  if (destination.kind === 'endpoint') notes.push(...destinationNotes(compiled, destination.endpoint, q.port, q.protocol, to.sameNameService));
  return { flows, from: fromName, to: peerName(destination), notes, impossible };
}

// ---------------------------------------------------------------------------------------------
// The fix.

/** The changes a draft makes to the original policies, rule by rule. */
function changesOf(original: Cluster, fixed: CompiledCluster, draft: Draft): PolicyChange[] {
  const out: PolicyChange[] = [];
  for (const [key, manifest] of [...draft.manifests].sort(([a], [b]) => compareStrings(a, b))) {
    const meta = manifest.metadata as { name: string; namespace: string };
    const ref: PolicyRef = { namespace: meta.namespace, name: meta.name };
    const before = draft.created.has(key) ? undefined : original.policies.find((p) => policyKey(p) === key);
    const compiled = fixed.policies.find((p) => policyKey(p.ref) === key)!;
    const rules: AddedRule[] = [];
    const patch: JSONPatchOperation[] = [];
    for (const direction of ['Ingress', 'Egress'] as const) {
      const field = direction === 'Ingress' ? 'ingress' : 'egress';
      const written = specRules(manifest, direction);
      const had = before ? (direction === 'Ingress' ? before.spec.ingress : before.spec.egress).length : 0;
      for (let index = had; index < written.length; index++) {
        const rule: RuleRef = { tier: 'NetworkPolicy', policy: ref, direction, index };
        const words = describeRule(compiled.rules[direction][index]);
        rules.push({ rule, manifest: written[index], text: `${formatRuleRef(rule)} allows ${direction === 'Ingress' ? 'from' : 'to'} ${words.peers}, on ${words.ports}` });
      }
      if (!before || written.length === had) continue;
      // An empty rule list is omitted from the served object (and may be absent from the file): add the list whole.
      if (had === 0) patch.push({ op: 'add', path: `/spec/${field}`, value: written.slice(had) });
      else for (const r of written.slice(had)) patch.push({ op: 'add', path: `/spec/${field}/-`, value: r });
    }
    out.push({ policy: ref, created: before === undefined, rules, manifest, patch });
  }
  return out;
}

/** Whether an opened group lies within the asked flows (by the ends' workloads or addresses, and the asked ports). */
function withinAsked(g: FlowGroup, acceptance: Acceptance, owners: ReadonlyMap<string, string>): boolean {
  const target = `${g.port}/${g.protocol}`;
  const keysOf = (p: FlowGroup['from']): string[][] | undefined => {
    if (p.kind === 'endpoints') return p.endpoints.map((id) => [`o:${owners.get(id)}`]);
    // Only single addresses: each a /32 or /128.
    const keys = p.addresses.map((a) => {
      const [ip, bits] = a.split('/');
      const parsed = parseIP(ip);
      return parsed && Number(bits) === (parsed.family === 4 ? 32 : 128) ? ipKey(ip) : undefined;
    });
    return keys.every((k) => k !== undefined) ? keys.map((k) => [k!]) : undefined;
  };
  if (g.endPort !== undefined && g.endPort !== g.port) return false;
  const from = keysOf(g.from);
  const to = keysOf(g.to);
  if (!from || !to) return false;
  return from.every((s) => to.every((d) => s.some((a) => d.some((b) => acceptance.keys.has(`${a}|${b}|${target}`)))));
}

/** Which end of an extra flow the labels could not tell apart from the asked one, in words. */
function whyExtra(g: FlowGroup, flows: readonly AskedFlow[]): string {
  const owners = (ends: readonly TrafficPeer[]): Set<string> => new Set(ends.flatMap((e) => (e.kind === 'endpoint' ? [endpointOwner(e.endpoint)] : [])));
  const sources = owners(flows.map((f) => f.source));
  const destinations = owners(flows.map((f) => f.destination));
  const within = (p: FlowGroup['from'], set: ReadonlySet<string>): boolean => p.kind === 'endpoints' && p.endpoints.every((id) => set.has(id) || set.has(p.group));
  const name = (p: FlowGroup['from']): string => (p.kind === 'endpoints' ? p.group : p.text);
  const list = (set: ReadonlySet<string>): string => [...set].join(', ');
  if (within(g.to, destinations) && !within(g.from, sources)) return `every label set that selects ${list(sources)} also selects ${name(g.from)}, whose connections to ${name(g.to)} on ${g.port}/${g.protocol} were denied too`;
  if (within(g.from, sources) && !within(g.to, destinations)) return `every label set that selects ${list(destinations)} also selects ${name(g.to)}, to which connections from ${name(g.from)} on ${g.port}/${g.protocol} were denied too`;
  return `the change also opens ${name(g.from)} -> ${name(g.to)} on ${g.port}/${g.protocol}`;
}

/** Finds the smallest change that allows the question's connection(s) and nothing else, and verifies it. Pure. */
export function fixConnection(compiled: CompiledCluster, question: FixQuestion): FixAnswer | { readonly error: string } {
  const asked = askedFlows(compiled, question);
  if ('error' in asked) return asked;
  const base = { from: asked.from, to: asked.to, port: question.port, protocol: question.protocol, flows: asked.flows, notes: asked.notes };
  const none = { changes: [], opened: [], extra: [] };
  if (asked.impossible.length > 0) return { ...base, ...none, status: 'impossible', reasons: asked.impossible };
  const denied = asked.flows.filter((f) => !f.before.allowed);
  if (denied.length === 0) {
    return { ...base, ...none, status: 'allowed', reasons: [`${asked.from} -> ${asked.to} on ${question.port}/${question.protocol} is allowed already: nothing to change`] };
  }

  const cluster = compiled.cluster;
  const usage = labelUsage(cluster);
  const acceptance = buildAcceptance(asked.flows);
  let draft: Draft = { manifests: new Map(), created: new Set() };
  let current = compiled;
  const reasons: string[] = [];
  let exact = true;

  // The Admin tier decides before NetworkPolicy: no NetworkPolicy change can undo its Deny.
  for (const flow of denied) {
    const blocked = [flow.before.egress, flow.before.ingress].find((v) => !v.allowed && v.tier === 'Admin' && v.decidedBy);
    if (!blocked) continue;
    const side = blocked.direction === 'Egress' ? `the egress of ${peerName(flow.source)}` : `the ingress of ${peerName(flow.destination)}`;
    const kind = blocked.decidedBy!.policy.kind;
    return {
      ...base,
      ...none,
      status: 'impossible',
      reasons: [
        `${peerName(flow.source)} -> ${peerName(flow.destination)} on ${flow.port}/${flow.protocol}: ${side} is denied by ${formatAdminRuleRef(blocked.decidedBy!)}. The Admin tier decides before NetworkPolicy, so no NetworkPolicy change can allow it: only a cluster administrator can change the ${kind} (or give the connection an earlier Allow/Accept or Pass rule)`,
      ],
    };
  }

  let isolatedByFix = false;
  for (const flow of denied) {
    const verdict = evaluateConnection(current, { source: flow.source, destination: flow.destination, port: flow.port, protocol: flow.protocol });
    if (verdict.allowed) continue;
    const baselineSides = [verdict.egress, verdict.ingress].filter((v) => !v.allowed && v.tier === 'Baseline' && v.decidedBy);
    for (const v of baselineSides) {
      const who = v.direction === 'Egress' ? `the egress of ${peerName(flow.source)}` : `the ingress of ${peerName(flow.destination)}`;
      reasons.push(
        `${who} is denied by ${formatAdminRuleRef(v.decidedBy!)}; the Baseline tier applies only where no NetworkPolicy isolates the pod, so a NetworkPolicy that selects it and allows the connection makes NetworkPolicy decide instead`,
      );
    }
    const baselineEgress = !verdict.egress.allowed && verdict.egress.tier === 'Baseline';
    const baselineIngress = !verdict.ingress.allowed && verdict.ingress.tier === 'Baseline';
    const name = `allow-${shortName(flow.source)}-to-${shortName(flow.destination)}-${flow.portName ?? flow.port}`;
    const ingressName = uniqueName(cluster, draft, flow.destination.kind === 'endpoint' ? flow.destination.endpoint.namespace : '', name);
    const egressNamespace = flow.source.kind === 'endpoint' ? flow.source.endpoint.namespace : '';
    const sameNamespace = flow.destination.kind === 'endpoint' && flow.destination.endpoint.namespace === egressNamespace;
    const egressName = uniqueName(cluster, draft, egressNamespace, sameNamespace && !verdict.ingress.allowed ? `${name}-egress` : name);
    const egress: (SideOption | undefined)[] = verdict.egress.allowed ? [undefined] : sideOptions(current, flow, 'Egress', usage, egressName, baselineEgress);
    const ingress: (SideOption | undefined)[] = verdict.ingress.allowed ? [undefined] : sideOptions(current, flow, 'Ingress', usage, ingressName, baselineIngress);
    if (egress.length === 0 || ingress.length === 0) {
      const [side, end] = egress.length === 0 ? [`the egress of ${peerName(flow.source)}`, peerName(flow.destination)] : [`the ingress of ${peerName(flow.destination)}`, peerName(flow.source)];
      return { ...base, ...none, status: 'impossible', reasons: [`no rule in ${side} can match ${end}: a hostNetwork pod without an address is matched by neither labels nor an ipBlock`] };
    }
    const combos: { options: SideOption[]; rank: number }[] = [];
    egress.forEach((e, i) => ingress.forEach((n, j) => combos.push({ options: [e, n].filter((o): o is SideOption => o !== undefined), rank: i + j })));
    combos.sort((a, b) => a.rank - b.rank);

    const ports = portsOfRule(cluster, flow.portName !== undefined && flow.destination.kind === 'endpoint' ? flow.portName : flow.port, flow.protocol);
    const baseMatrices = new Map<string, Matrix>();
    let best: { draft: Draft; compiled: CompiledCluster; extras: number; closes: number } | undefined;
    for (const combo of combos.slice(0, MAX_CANDIDATES)) {
      const candidateDraft = applyOptions(cluster, draft, combo.options);
      const candidate = compileCluster(clusterWith(cluster, candidateDraft));
      if (!evaluateConnection(candidate, { source: flow.source, destination: flow.destination, port: flow.port, protocol: flow.protocol }).allowed) continue;
      const extras = countExtras(current, baseMatrices, candidate, ports, acceptance);
      // Isolating a pod the baseline judged can close what the baseline (or no tier) allowed: fewest closures first.
      const closes = baselineEgress || baselineIngress ? diffClusters(current, candidate).closed.reduce((n, g) => n + g.flows, 0) : 0;
      if (!best || closes < best.closes || (closes === best.closes && extras < best.extras)) best = { draft: candidateDraft, compiled: candidate, extras, closes };
      if (extras === 0 && closes === 0) break;
    }
    if (!best) return { ...base, ...none, status: 'impossible', reasons: [`no rule found that allows ${peerName(flow.source)} -> ${peerName(flow.destination)} on ${flow.port}/${flow.protocol}`] };
    if (best.extras > 0) {
      exact = false;
      reasons.push(`no label set selects the ends of ${peerName(flow.source)} -> ${peerName(flow.destination)} on ${flow.port}/${flow.protocol} without also allowing other connections that were denied; the narrowest change (below) also opens ${best.extras} other connection${best.extras === 1 ? '' : 's'}`);
    }
    if (best.closes > 0) isolatedByFix = true;
    draft = best.draft;
    current = best.compiled;
  }

  // Verify: the fixed cluster allows every asked connection, closes nothing, and opens only the asked flows.
  const diff = diffClusters(compiled, current);
  const stillDenied = asked.flows.filter((f) => !evaluateConnection(current, { source: f.source, destination: f.destination, port: f.port, protocol: f.protocol }).allowed);
  if (stillDenied.length > 0 || (diff.closed.length > 0 && !isolatedByFix) || diff.added.length + diff.removed.length > 0) {
    throw new Error(`fix verification failed for ${asked.from} -> ${asked.to}: ${stillDenied.length} asked connection(s) still denied, ${diff.closed.length} flow group(s) closed`);
  }
  const owners = new Map(cluster.endpoints.map((e) => [e.id, endpointOwner(e)]));
  const opened = diff.opened.filter((g) => withinAsked(g, acceptance, owners));
  const extra = diff.opened.filter((g) => !withinAsked(g, acceptance, owners));
  if (diff.closed.length > 0) {
    exact = false;
    const flows = diff.closed.reduce((n, g) => n + g.flows, 0);
    reasons.push(`the new policy isolates pods the Baseline tier judged, so NetworkPolicy decides for them now: it also closes ${flows} flow${flows === 1 ? '' : 's'} the baseline did not deny (listed below); allow them in the new policy if they are needed`);
  }
  if (exact && extra.length > 0) throw new Error(`fix verification failed for ${asked.from} -> ${asked.to}: the change opens ${extra.length} flow group(s) beyond the asked ones`);
  // The diff is the judge: extra connections the search counted but the diff does not show (none listen) open nothing.
  return {
    ...base,
    status: extra.length > 0 || diff.closed.length > 0 ? 'inexact' : 'fixed',
    changes: changesOf(cluster, current, draft),
    diff,
    opened,
    extra,
    reasons: extra.length > 0 || diff.closed.length > 0 ? [...reasons, ...extra.map((g) => whyExtra(g, asked.flows))] : reasons.filter((r) => r.includes('the Baseline tier applies only')),
  };
}
