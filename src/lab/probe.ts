// Real connections from every pod to every pod on a port (TCP connect and read, UDP request and
// answer), set beside the engine's prediction for the same cells. A probe that fails is only
// called "refused" when the kernel says the ruleset refused it; "nothing listens there" and
// "timed out under load" are retried, and reported as such if they persist, never as a verdict:
// - before probing, every destination socket is checked from inside its own pod (loopback never
//   crosses the host's rules), so a server that is not up yet is waited for, not probed;
// - a TCP reset counts as the ruleset's only if the destination listened before and after;
// - an ICMP administratively-prohibited (EHOSTUNREACH/EACCES) is the ruleset's reject;
// - a UDP probe without an answer was refused when the host's conntrack holds no entry of it (a
//   forwarded packet always leaves one, a rejected one never), else it got lost and is retried.
import { exec, parseConntrack } from '../dataplane/index.js';
import { computeClasses, computeMatrix, type CompiledCluster, type PortProtocol } from '../engine/index.js';
import type { Endpoint } from '../model/index.js';
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
}

export interface ProbeOptions {
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

/** The flows the host forwarded (their conntrack entries), keyed like `flowKey`. */
async function forwardedFlows(families: ReadonlySet<4 | 6>): Promise<Set<string>> {
  const out = new Set<string>();
  for (const family of families) {
    const r = await exec(['conntrack', '-L', '-f', family === 6 ? 'ipv6' : 'ipv4', '-o', 'extended'], { check: false, timeoutMs: 30_000 });
    for (const e of parseConntrack(r.stdout)) out.add(`${e.protocol} ${e.source} ${e.sourcePort} ${e.destination} ${e.destinationPort}`);
  }
  return out;
}

type Outcome = { readonly kind: 'connected' } | { readonly kind: 'refused' } | { readonly kind: 'inconclusive'; readonly reason: string };

interface Cell {
  readonly plan: number;
  /** Source and destination rows; the probe runs in the source's namespace. */
  readonly i: number;
  readonly j: number;
  readonly probe: RawProbe;
  /** The source's address in the destination's family (for the conntrack lookup). */
  readonly sourceIP: string;
}

function classify(cell: Cell, target: string, r: ProbeResult, before: Set<string>, after: Set<string> | undefined, flows: Set<string> | undefined): Outcome {
  if (r.ok) return { kind: 'connected' };
  if (r.answer) return { kind: 'inconclusive', reason: `answered as "${r.answer}" instead of ${cell.probe.expect}` };
  const error = r.error ?? 'unknown error';
  // ICMP administratively prohibited: the reject the ruleset sends.
  if (error === 'EHOSTUNREACH' || error === 'EACCES') return { kind: 'refused' };
  if (cell.probe.protocol === 'TCP') {
    if (error === 'ECONNREFUSED' || error === 'ECONNRESET') {
      // A reset from the ruleset and one from a closed port look alike: the socket decides.
      return before.has(target) && after?.has(target) ? { kind: 'refused' } : { kind: 'inconclusive', reason: 'nothing listening' };
    }
    return { kind: 'inconclusive', reason: error === 'timeout' ? 'timed out' : error };
  }
  if (error === 'ECONNREFUSED') return { kind: 'inconclusive', reason: 'nothing listening (port unreachable)' };
  if (error === 'timeout' && flows && r.sport !== null) {
    const flow = `${cell.probe.protocol} ${cell.sourceIP} ${r.sport} ${cell.probe.ip} ${cell.probe.port}`;
    return flows.has(flow) ? { kind: 'inconclusive', reason: 'no answer (the host forwarded it)' } : { kind: 'refused' };
  }
  return { kind: 'inconclusive', reason: error === 'timeout' ? 'timed out' : error };
}

export async function probeMatrix(
  compiled: CompiledCluster,
  targets: readonly ProbeTarget[],
  ports: readonly PortProtocol[],
  options: ProbeOptions = {},
): Promise<ProbeReport[]> {
  const timeoutSeconds = options.timeoutSeconds ?? 1;
  const attempts = options.attempts ?? 3;
  const endpoints = compiled.cluster.endpoints;
  const targetOf = new Map(targets.map((t) => [t.endpoint.id, t]));
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
        cells.push({ plan, i, j, sourceIP, probe: { netns: targetOf.get(src.id)!.netns!, ip, port: target.port, protocol: target.protocol, expect: dst.id } });
      });
    });
    return { target, allowed, notProbed, inconclusive: new Map<string, string>() };
  });

  const destination = (c: Cell): Socket => ({ ...c.probe, netns: targetOf.get(endpoints[c.j].id)!.netns! });
  let pending = cells;
  const reasons = new Map<Cell, string>();
  for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
    // Only destinations that listen are probed; the others wait, then are named.
    const before = await awaitListening(pending.map(destination), attempt === 0 ? (options.readyWaitMs ?? 10_000) : 2000);
    const ready = pending.filter((c) => before.has(socketKey(destination(c))));
    for (const c of pending) if (!before.has(socketKey(destination(c)))) reasons.set(c, 'nothing listening (the pod is not served)');
    const results = await runProbes(
      ready.map((c) => c.probe),
      timeoutSeconds * 2 ** attempt,
    );
    const resets = ready.filter((c, k) => c.probe.protocol === 'TCP' && !results[k].ok && (results[k].error === 'ECONNREFUSED' || results[k].error === 'ECONNRESET'));
    const after = resets.length > 0 ? await listening(resets.map(destination), 1) : undefined;
    const lost = ready.filter((c, k) => c.probe.protocol !== 'TCP' && results[k].error === 'timeout');
    const flows = lost.length > 0 ? await forwardedFlows(new Set(lost.map((c) => (c.probe.ip.includes(':') ? 6 : 4) as 4 | 6))) : undefined;
    const retry: Cell[] = pending.filter((c) => !before.has(socketKey(destination(c))));
    ready.forEach((c, k) => {
      const outcome = classify(c, socketKey(destination(c)), results[k], before, after, flows);
      if (outcome.kind === 'inconclusive') {
        reasons.set(c, outcome.reason);
        retry.push(c);
        return;
      }
      reasons.delete(c);
      plans[c.plan].allowed[c.i][c.j] = outcome.kind === 'connected';
    });
    pending = retry;
  }
  for (const c of pending) plans[c.plan].inconclusive.set(`${c.i} ${c.j}`, reasons.get(c) ?? 'inconclusive');

  return plans.map((plan) => {
    const matrix = computeMatrix(compiled, plan.target, classes);
    const predicted = endpoints.map((_, i) => endpoints.map((__, j) => matrix.allowed(i, j)));
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
