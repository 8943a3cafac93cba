// Real connections from every pod to every pod on a port (TCP connect and read, UDP request and
// answer), set beside the engine's prediction for the same cells. A probe that fails is only
// called "refused" when the kernel says the ruleset refused it; "nothing listens there" and
// "timed out under load" are retried, and reported as such if they persist, never as a verdict:
// - before probing, every destination socket is checked from inside its own pod (loopback never
//   crosses the host's rules), so a server that is not up yet is waited for, not probed;
// - a TCP reset counts as the ruleset's only if the destination listened before and after;
// - an ICMP administratively-prohibited (EHOSTUNREACH/EACCES) is the ruleset's reject;
// - a UDP probe without an answer was refused when the host's conntrack holds no entry of it (a
//   forwarded packet always leaves one, a rejected one never), else it got lost and is retried;
//   in the node lab the conntrack asked is that of the destination's node (the last to forward
//   it), a TCP probe through a Service that timed out is judged the same way (a reject of a
//   connection DNATed on a bridge goes back to the pod without the reverse NAT, so the pod never
//   sees the reset), and such a refusal counts only when two tries agree (more hops can lose a packet).
import { exec, parseConntrack } from '../dataplane/index.js';
import { computeClasses, computeMatrix, evaluateConnection, evaluateServiceConnection, serviceId, type CompiledCluster, type PortProtocol, type TrafficPeer } from '../engine/index.js';
import type { Endpoint, Protocol, Service } from '../model/index.js';
import { PODNET_SCRIPT } from './servers.js';

export interface ProbeReport extends PortProtocol {
  readonly pods: readonly string[];
  /** What the kernel did; null where nothing was probed (see `notProbed`) or the probe was inconclusive. */
  readonly allowed: readonly (readonly (boolean | null)[])[];
  /** The engine's prediction for every cell. */
  readonly predicted: readonly (readonly boolean[])[];
  readonly differences: readonly { readonly from: string; readonly to: string }[];
  /** Cells no probe could decide, after retries, and why (nothing listening, timed out, a wrong answer). */
  readonly inconclusive: readonly { readonly from: string; readonly to: string; readonly reason: string }[];
  /** Why some cells hold null. */
  readonly notProbed: readonly string[];
}

export interface ProbeTarget {
  readonly endpoint: Endpoint;
  /** The pod's network namespace; undefined for hostNetwork pods and pods without a network. */
  readonly netns?: string;
  /** The addresses the kernel gives the pod (its network's, not what its status claims). */
  readonly ips?: readonly string[];
  /** The node lab: the network namespace of the pod's node, whose conntrack says whether it forwarded a probe. */
  readonly node?: string;
}

/** The host outside the cluster, probed from as a row of its own (`outside`). */
export interface OutsideProbe {
  readonly netns: string;
  readonly ip: string;
}

/** The row name of the host outside the cluster in probe reports. */
export const OUTSIDE = 'outside';

export interface ProbeOptions {
  /** Also probe from the host outside the cluster (the last row, `outside`; it serves nothing, so its column is empty). */
  readonly outside?: OutsideProbe;
  /** Seconds the first attempt waits for an answer; each retry doubles it. */
  readonly timeoutSeconds?: number;
  /** Attempts for a cell whose probe was inconclusive (first included). */
  readonly attempts?: number;
  /** How long to wait for a destination's socket to listen before giving up on it (ms). */
  readonly readyWaitMs?: number;
}

interface RawProbe {
  readonly netns: string;
  readonly ip: string;
  readonly port: number;
  readonly protocol: string;
  readonly expect: string;
}

interface ProbeResult {
  readonly ok: boolean;
  readonly answer: string | null;
  readonly error: string | null;
  /** The probe's own source port, to find its flow in conntrack. */
  readonly sport: number | null;
}

/** Runs probes through the helper; one process for all of them. */
export async function runProbes(probes: readonly RawProbe[], timeoutSeconds = 1): Promise<ProbeResult[]> {
  if (probes.length === 0) return [];
  const r = await exec(['python3', PODNET_SCRIPT, 'probe'], {
    input: JSON.stringify({ timeout: timeoutSeconds, probes }),
    timeoutMs: 60_000 + probes.length * 10 + timeoutSeconds * 1000,
  });
  return JSON.parse(r.stdout) as ProbeResult[];
}

const loopback = (ip: string): string => (ip.includes(':') ? '::1' : '127.0.0.1');

interface Socket {
  readonly netns: string;
  readonly ip: string;
  readonly port: number;
  readonly protocol: string;
  readonly expect: string;
}
const socketKey = (s: Socket): string => `${s.netns} ${loopback(s.ip)} ${s.port}/${s.protocol}`;

/** Which of these sockets answer from inside their own pod. */
async function listening(sockets: readonly Socket[], timeoutSeconds: number): Promise<Set<string>> {
  const unique = [...new Map(sockets.map((s) => [socketKey(s), s])).values()];
  const results = await runProbes(
    unique.map((s) => ({ netns: s.netns, ip: loopback(s.ip), port: s.port, protocol: s.protocol, expect: s.expect })),
    timeoutSeconds,
  );
  return new Set(unique.filter((_, i) => results[i].ok).map(socketKey));
}

/** Waits until the sockets listen, or the time is up; returns those that do. */
async function awaitListening(sockets: readonly Socket[], waitMs: number): Promise<Set<string>> {
  const deadline = Date.now() + waitMs;
  let ok = await listening(sockets, 1);
  while (sockets.some((s) => !ok.has(socketKey(s))) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    ok = await listening(sockets, 1);
  }
  return ok;
}

/**
 * The flows a forwarder (the host, or a node's namespace) holds in conntrack: keyed by protocol,
 * source and source port, and, on the host, also by destination (a node sees a Service's flow
 * already DNATed by the source's node, so there the source port alone names the probe).
 */
async function forwardedFlows(families: ReadonlySet<4 | 6>, netns?: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const family of families) {
    const argv = ['conntrack', '-L', '-f', family === 6 ? 'ipv6' : 'ipv4', '-o', 'extended'];
    const r = await exec(netns ? ['ip', 'netns', 'exec', netns, ...argv] : argv, { check: false, timeoutMs: 30_000 });
    for (const e of parseConntrack(r.stdout)) out.add(netns ? `${e.protocol} ${e.source} ${e.sourcePort}` : `${e.protocol} ${e.source} ${e.sourcePort} ${e.destination} ${e.destinationPort}`);
  }
  return out;
}

type Outcome = { readonly kind: 'connected' } | { readonly kind: 'refused'; readonly inferred?: boolean } | { readonly kind: 'inconclusive'; readonly reason: string };

/** One connection to try: where from, where to, and the sockets that must listen for its answer to mean anything. */
interface Attempt {
  readonly probe: RawProbe;
  /** The source's address in the destination's family (for the conntrack lookup). */
  readonly sourceIP: string;
  /** The destination's sockets, each checked from inside its own pod (a Service: every backend's). */
  readonly sockets: readonly Socket[];
  /** The answers that mean "connected to the right place" (a pod's name; any backend's for a Service). */
  readonly answers: ReadonlySet<string>;
  /** The node lab: the namespaces of the destination's nodes (every backend's), the last to forward a probe; undefined: the host. */
  readonly forwarders?: readonly string[];
  /** Through a Service's address (DNATed on the way). */
  readonly viaService?: boolean;
}

interface Cell extends Attempt {
  readonly plan: number;
  /** Source and destination rows; the probe runs in the source's namespace. */
  readonly i: number;
  readonly j: number;
}

/** Whether a timed-out probe is judged by conntrack: UDP always, TCP through a Service in the node lab. */
const judgedByConntrack = (cell: Attempt, r: ProbeResult): boolean => r.error === 'timeout' && (cell.probe.protocol !== 'TCP' || (cell.forwarders !== undefined && cell.viaService === true));

function classify(cell: Attempt, r: ProbeResult, before: Set<string>, after: Set<string> | undefined, flows: ReadonlyMap<string, Set<string>> | undefined): Outcome {
  const targets = cell.sockets.map(socketKey);
  if (r.answer !== null && r.error === null && cell.answers.has(r.answer)) return { kind: 'connected' };
  if (r.answer) return { kind: 'inconclusive', reason: `answered as "${r.answer}" instead of ${[...cell.answers].join(' or ')}` };
  const error = r.error ?? 'unknown error';
  // ICMP administratively prohibited: the reject the ruleset sends.
  if (error === 'EHOSTUNREACH' || error === 'EACCES') return { kind: 'refused' };
  if (cell.probe.protocol === 'TCP') {
    if (error === 'ECONNREFUSED' || error === 'ECONNRESET') {
      // A reset from the ruleset and one from a closed port look alike: the socket decides.
      return targets.every((t) => before.has(t) && after?.has(t)) ? { kind: 'refused' } : { kind: 'inconclusive', reason: 'nothing listening' };
    }
    if (!judgedByConntrack(cell, r)) return { kind: 'inconclusive', reason: error === 'timeout' ? 'timed out' : error };
  }
  if (error === 'ECONNREFUSED') return { kind: 'inconclusive', reason: 'nothing listening (port unreachable)' };
  if (judgedByConntrack(cell, r) && flows && r.sport !== null) {
    const forwarded = cell.forwarders
      ? cell.forwarders.some((ns) => flows.get(ns)?.has(`${cell.probe.protocol} ${cell.sourceIP} ${r.sport}`))
      : flows.get('')?.has(`${cell.probe.protocol} ${cell.sourceIP} ${r.sport} ${cell.probe.ip} ${cell.probe.port}`);
    return forwarded ? { kind: 'inconclusive', reason: `no answer (${cell.forwarders ? "the destination's node" : 'the host'} forwarded it)` } : { kind: 'refused', inferred: true };
  }
  return { kind: 'inconclusive', reason: error === 'timeout' ? 'timed out' : error };
}

/**
 * Tries every attempt until it is decided, or gives up after `attempts` tries: only destinations
 * that listen are probed (the others are waited for, then named); what no try could decide stays
 * inconclusive, with the reason.
 */
async function decide<T extends Attempt>(cells: readonly T[], options: ProbeOptions): Promise<Map<T, Outcome>> {
  const timeoutSeconds = options.timeoutSeconds ?? 1;
  const attempts = options.attempts ?? 3;
  const outcomes = new Map<T, Outcome>();
  const unanswered = new Set<T>();
  let pending = [...cells];
  for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
    const before = await awaitListening(pending.flatMap((c) => c.sockets), attempt === 0 ? (options.readyWaitMs ?? 10_000) : 2000);
    const listens = (c: T): boolean => c.sockets.every((sk) => before.has(socketKey(sk)));
    const ready = pending.filter(listens);
    const retry: T[] = [];
    for (const c of pending) {
      if (listens(c)) continue;
      outcomes.set(c, { kind: 'inconclusive', reason: 'nothing listening (the pod is not served)' });
      retry.push(c);
    }
    const results = await runProbes(
      ready.map((c) => c.probe),
      timeoutSeconds * 2 ** attempt,
    );
    const resets = ready.filter((c, k) => c.probe.protocol === 'TCP' && results[k].error !== null && (results[k].error === 'ECONNREFUSED' || results[k].error === 'ECONNRESET'));
    const after = resets.length > 0 ? await listening(resets.flatMap((c) => c.sockets), 1) : undefined;
    const lost = ready.filter((c, k) => judgedByConntrack(c, results[k]));
    let flows: Map<string, Set<string>> | undefined;
    if (lost.length > 0) {
      const families = new Set(lost.map((c) => (c.probe.ip.includes(':') ? 6 : 4) as 4 | 6));
      flows = new Map();
      for (const ns of new Set(lost.flatMap((c) => c.forwarders ?? ['']))) flows.set(ns, await forwardedFlows(families, ns || undefined));
    }
    ready.forEach((c, k) => {
      let outcome = classify(c, results[k], before, after, flows);
      // Across nodes a packet has more hops to be lost on: a refusal read from a missing trace is
      // believed when a second try agrees.
      if (outcome.kind === 'refused' && outcome.inferred && c.forwarders && !unanswered.has(c)) {
        unanswered.add(c);
        outcome = { kind: 'inconclusive', reason: "no answer, and no trace on the destination's node in one try only" };
      }
      outcomes.set(c, outcome);
      if (outcome.kind === 'inconclusive') retry.push(c);
    });
    pending = retry;
  }
  return outcomes;
}

export async function probeMatrix(
  compiled: CompiledCluster,
  targets: readonly ProbeTarget[],
  ports: readonly PortProtocol[],
  options: ProbeOptions = {},
): Promise<ProbeReport[]> {
  const pods = compiled.cluster.endpoints;
  const outside = options.outside;
  // The outside host is a row (and an empty column) after the pods: an address outside the cluster.
  const outsideEndpoint: Endpoint | undefined = outside
    ? { id: OUTSIDE, kind: 'Pod', namespace: '', name: OUTSIDE, labels: {}, ports: [], ips: [outside.ip], hostNetwork: false, replicas: 1 }
    : undefined;
  const endpoints: readonly Endpoint[] = outsideEndpoint ? [...pods, outsideEndpoint] : pods;
  const targetOf = new Map(targets.map((t) => [t.endpoint.id, t]));
  if (outside && outsideEndpoint) targetOf.set(OUTSIDE, { endpoint: outsideEndpoint, netns: outside.netns, ips: [outside.ip] });
  const ipsOf = (e: Endpoint): readonly string[] => targetOf.get(e.id)?.ips ?? e.ips;
  const classes = computeClasses(compiled);
  const cells: Cell[] = [];
  const plans = ports.map((target, plan) => {
    const n = endpoints.length;
    const allowed: (boolean | null)[][] = endpoints.map(() => new Array<boolean | null>(n).fill(null));
    const notProbed = new Set<string>();
    const skipReason = (i: number, j: number): string | undefined => {
      const src = targetOf.get(endpoints[i].id);
      const dst = targetOf.get(endpoints[j].id);
      if (target.protocol === 'SCTP') return 'SCTP sockets are not available on this machine';
      if (i === j) return 'a pod to itself (loopback never leaves the pod)';
      if (endpoints[j] === outsideEndpoint) return 'the outside host (it serves nothing)';
      if (endpoints[i].hostNetwork || endpoints[j].hostNetwork) return 'hostNetwork pods (the node itself)';
      if (!src?.netns || !dst?.netns || ipsOf(endpoints[j]).length === 0) return 'pods that have no network (not running)';
      if (!endpoints[j].ports.some((p) => p.containerPort === target.port && p.protocol === target.protocol)) {
        return `pods that declare no ${target.port}/${target.protocol} port (nothing listens)`;
      }
      return undefined;
    };
    endpoints.forEach((src, i) => {
      endpoints.forEach((dst, j) => {
        const reason = skipReason(i, j);
        if (reason) {
          notProbed.add(reason);
          return;
        }
        const ip = ipsOf(dst)[0];
        const v6 = ip.includes(':');
        const sourceIP = ipsOf(src).find((a) => a.includes(':') === v6) ?? ipsOf(src)[0];
        const probe = { netns: targetOf.get(src.id)!.netns!, ip, port: target.port, protocol: target.protocol, expect: dst.id };
        const node = targetOf.get(dst.id)!.node;
        cells.push({ plan, i, j, sourceIP, probe, sockets: [{ ...probe, netns: targetOf.get(dst.id)!.netns! }], answers: new Set([dst.id]), ...(node ? { forwarders: [node] } : {}) });
      });
    });
    return { target, allowed, notProbed, inconclusive: new Map<string, string>() };
  });

  const outcomes = await decide(cells, options);
  for (const c of cells) {
    const o = outcomes.get(c)!;
    if (o.kind === 'inconclusive') plans[c.plan].inconclusive.set(`${c.i} ${c.j}`, o.reason);
    else plans[c.plan].allowed[c.i][c.j] = o.kind === 'connected';
  }

  return plans.map((plan) => {
    const matrix = computeMatrix(compiled, plan.target, classes);
    const predicted = endpoints.map((src, i) =>
      endpoints.map((dst, j) => {
        if (dst === outsideEndpoint) return false;
        if (src !== outsideEndpoint) return matrix.allowed(i, j);
        // From outside: the engine's verdict for an address outside the cluster.
        return evaluateConnection(compiled, { source: { kind: 'external', ip: outside!.ip }, destination: { kind: 'endpoint', endpoint: dst }, port: plan.target.port, protocol: plan.target.protocol }).allowed;
      }),
    );
    const differences: { from: string; to: string }[] = [];
    endpoints.forEach((src, i) =>
      endpoints.forEach((dst, j) => {
        const got = plan.allowed[i][j];
        if (got !== null && got !== predicted[i][j]) differences.push({ from: src.id, to: dst.id });
      }),
    );
    const inconclusive = [...plan.inconclusive.entries()].map(([at, reason]) => {
      const [i, j] = at.split(' ').map(Number);
      return { from: endpoints[i].id, to: endpoints[j].id, reason };
    });
    return {
      port: plan.target.port,
      protocol: plan.target.protocol,
      pods: endpoints.map((e) => e.id),
      allowed: plan.allowed,
      predicted,
      differences,
      inconclusive,
      notProbed: [...plan.notProbed].sort(),
    };
  });
}

/** One column of a Service probe: a port of a Service, reached at its ClusterIP (and node port from outside). */
export interface ServiceColumn {
  /** `ns/service/name port/PROTOCOL`. */
  readonly id: string;
  readonly service: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly nodePort?: number;
}

export interface ServiceProbeReport {
  /** Rows: the pods, then `outside` when there is an outside host. */
  readonly sources: readonly string[];
  readonly columns: readonly ServiceColumn[];
  /** What the kernel did (through the Services table's DNAT); null where not probed or undecided. */
  readonly allowed: readonly (readonly (boolean | null)[])[];
  /** The engine: true when every backend admits it, false when none does (or nothing is routed). */
  readonly predicted: readonly (readonly boolean[])[];
  readonly differences: readonly { readonly from: string; readonly to: string }[];
  readonly inconclusive: readonly { readonly from: string; readonly to: string; readonly reason: string }[];
  readonly notProbed: readonly string[];
}

/**
 * Every Service port from every pod (at its ClusterIP) and, for NodePort and LoadBalancer Services,
 * from the outside host (at the node's address and the node port), beside the engine's
 * Service-level prediction. A connection lands on one backend at random, so a cell is probed only
 * where the backends agree.
 */
export async function probeServices(
  compiled: CompiledCluster,
  targets: readonly ProbeTarget[],
  options: ProbeOptions & { readonly outside?: OutsideProbe & { readonly node: string } } = {},
): Promise<ServiceProbeReport> {
  const pods = compiled.cluster.endpoints;
  const targetOf = new Map(targets.map((t) => [t.endpoint.id, t]));
  const ipsOf = (e: Endpoint): readonly string[] => targetOf.get(e.id)?.ips ?? e.ips;
  const outside = options.outside;
  const sources: (TrafficPeer & { id: string; netns?: string; ips: readonly string[] })[] = [
    ...pods.map((e) => ({ kind: 'endpoint' as const, endpoint: e, id: e.id, netns: e.hostNetwork ? undefined : targetOf.get(e.id)?.netns, ips: ipsOf(e) })),
    ...(outside ? [{ kind: 'external' as const, ip: outside.ip, id: OUTSIDE, netns: outside.netns, ips: [outside.ip] }] : []),
  ];
  const columns: (ServiceColumn & { svc: Service; address?: string })[] = [];
  for (const svc of compiled.cluster.services ?? []) {
    if (svc.type === 'ExternalName' || svc.headless) continue;
    const address = svc.clusterIPs.find((ip) => ip !== 'None' && !ip.includes(':'));
    for (const p of svc.ports) columns.push({ id: `${serviceId(svc)} ${p.port}/${p.protocol}`, service: serviceId(svc), port: p.port, protocol: p.protocol, nodePort: p.nodePort, svc, address });
  }
  const allowed = sources.map(() => new Array<boolean | null>(columns.length).fill(null));
  const predicted = sources.map(() => new Array<boolean>(columns.length).fill(false));
  const notProbed = new Set<string>();
  const cells: (Attempt & { i: number; j: number })[] = [];
  sources.forEach((src, i) => {
    columns.forEach((col, j) => {
      const fromOutside = src.kind === 'external';
      const asked = fromOutside ? col.nodePort : col.port;
      const verdict = asked === undefined ? undefined : evaluateServiceConnection(compiled, src, col.svc, asked, col.protocol);
      predicted[i][j] = verdict?.allowed ?? false;
      const skip = ((): string | undefined => {
        if (col.protocol === 'SCTP') return 'SCTP sockets are not available on this machine';
        if (!src.netns) return 'hostNetwork pods and pods without a network';
        if (fromOutside && col.nodePort === undefined) return 'ClusterIP Services from outside (reachable only inside the cluster)';
        if (!fromOutside && !col.address) return 'Services without an IPv4 ClusterIP';
        if (!verdict) return 'ports the Service does not have';
        const routed = verdict.backends.filter((b) => b.routed);
        if (src.kind === 'endpoint' && routed.some((b) => b.backend.endpoint?.id === src.id)) return 'a backend to its own Service (hairpin: CNIs differ)';
        if (verdict.admitted > 0 && verdict.admitted < verdict.routed) return 'Service ports whose backends disagree (a connection lands on one at random)';
        if (routed.some((b) => !b.backend.endpoint || !targetOf.get(b.backend.endpoint.id)?.netns)) return 'Services with backends outside the lab';
        return undefined;
      })();
      if (skip) {
        notProbed.add(skip);
        return;
      }
      const routed = verdict!.backends.filter((b) => b.routed && b.backend.endpoint);
      const ip = fromOutside ? outside!.node : col.address!;
      const sourceIP = src.ips.find((a) => !a.includes(':')) ?? src.ips[0];
      cells.push({
        i,
        j,
        sourceIP,
        probe: { netns: src.netns!, ip, port: fromOutside ? col.nodePort! : col.port, protocol: col.protocol, expect: routed[0]?.backend.id ?? '' },
        sockets: routed.map((b) => ({ netns: targetOf.get(b.backend.endpoint!.id)!.netns!, ip: ipsOf(b.backend.endpoint!)[0], port: b.port!, protocol: col.protocol, expect: b.backend.id })),
        answers: new Set(routed.map((b) => b.backend.id)),
        viaService: true,
        ...(targetOf.get(routed[0]?.backend.endpoint?.id ?? '')?.node ? { forwarders: [...new Set(routed.map((b) => targetOf.get(b.backend.endpoint!.id)!.node!))] } : {}),
      });
    });
  });
  const outcomes = await decide(cells, options);
  const inconclusive: { from: string; to: string; reason: string }[] = [];
  for (const c of cells) {
    const o = outcomes.get(c)!;
    if (o.kind === 'inconclusive') inconclusive.push({ from: sources[c.i].id, to: columns[c.j].id, reason: o.reason });
    else allowed[c.i][c.j] = o.kind === 'connected';
  }
  const differences: { from: string; to: string }[] = [];
  sources.forEach((src, i) =>
    columns.forEach((col, j) => {
      if (allowed[i][j] !== null && allowed[i][j] !== predicted[i][j]) differences.push({ from: src.id, to: col.id });
    }),
  );
  return {
    sources: sources.map((s) => s.id),
    columns: columns.map(({ svc: _svc, address: _address, ...c }) => c),
    allowed,
    predicted,
    differences,
    inconclusive,
    notProbed: [...notProbed].sort(),
  };
}
