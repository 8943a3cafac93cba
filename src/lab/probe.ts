// Real connections from every pod to every pod on a port (TCP connect and read, UDP request and
// answer), set beside the engine's prediction for the same cells.
import { exec } from '../dataplane/index.js';
import { computeClasses, computeMatrix, type CompiledCluster, type PortProtocol } from '../engine/index.js';
import type { Endpoint } from '../model/index.js';
import { PODNET_SCRIPT } from './servers.js';

export interface ProbeReport extends PortProtocol {
  readonly pods: readonly string[];
  /** What the kernel did; null where nothing was probed (see `notProbed`). */
  readonly allowed: readonly (readonly (boolean | null)[])[];
  /** The engine's prediction for every cell. */
  readonly predicted: readonly (readonly boolean[])[];
  readonly differences: readonly { readonly from: string; readonly to: string }[];
  /** Why some cells hold null. */
  readonly notProbed: readonly string[];
}

export interface ProbeTarget {
  readonly endpoint: Endpoint;
  /** The pod's network namespace; undefined for hostNetwork pods. */
  readonly netns?: string;
}

interface ProbeResult {
  readonly ok: boolean;
  readonly answer: string | null;
  readonly error: string | null;
}

/** Runs probes through the helper; one process for all of them. */
export async function runProbes(
  probes: readonly { netns: string; ip: string; port: number; protocol: string; expect: string }[],
  timeoutSeconds = 1,
): Promise<ProbeResult[]> {
  if (probes.length === 0) return [];
  const r = await exec(['python3', PODNET_SCRIPT, 'probe'], {
    input: JSON.stringify({ timeout: timeoutSeconds, probes }),
    timeoutMs: 60_000 + probes.length * 10,
  });
  return JSON.parse(r.stdout) as ProbeResult[];
}

export async function probeMatrix(
  compiled: CompiledCluster,
  targets: readonly ProbeTarget[],
  ports: readonly PortProtocol[],
  timeoutSeconds = 1,
): Promise<ProbeReport[]> {
  const endpoints = compiled.cluster.endpoints;
  const netnsOf = new Map(targets.map((t) => [t.endpoint.id, t.netns]));
  const classes = computeClasses(compiled);
  const plans = ports.map((target) => {
    const n = endpoints.length;
    const allowed: (boolean | null)[][] = endpoints.map(() => new Array<boolean | null>(n).fill(null));
    const notProbed = new Set<string>();
    const cells: { i: number; j: number }[] = [];
    const probes: { netns: string; ip: string; port: number; protocol: string; expect: string }[] = [];
    const skipReason = (i: number, j: number): string | undefined => {
      const dst = endpoints[j];
      if (target.protocol === 'SCTP') return 'SCTP sockets are not available on this machine';
      if (i === j) return 'a pod to itself (loopback never leaves the pod)';
      if (!netnsOf.get(endpoints[i].id) || dst.hostNetwork) return 'hostNetwork pods (the node itself)';
      if (!dst.ports.some((p) => p.containerPort === target.port && p.protocol === target.protocol)) {
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
        cells.push({ i, j });
        probes.push({ netns: netnsOf.get(src.id)!, ip: dst.ips[0], port: target.port, protocol: target.protocol, expect: dst.id });
      });
    });
    return { target, allowed, notProbed, cells, probes };
  });

  const all = plans.flatMap((p) => p.probes);
  const results = await runProbes(all, timeoutSeconds);
  let k = 0;
  return plans.map((plan) => {
    for (const cell of plan.cells) plan.allowed[cell.i][cell.j] = results[k++].ok;
    const matrix = computeMatrix(compiled, plan.target, classes);
    const predicted = endpoints.map((_, i) => endpoints.map((__, j) => matrix.allowed(i, j)));
    const differences: { from: string; to: string }[] = [];
    endpoints.forEach((src, i) =>
      endpoints.forEach((dst, j) => {
        const got = plan.allowed[i][j];
        if (got !== null && got !== predicted[i][j]) differences.push({ from: src.id, to: dst.id });
      }),
    );
    return {
      port: plan.target.port,
      protocol: plan.target.protocol,
      pods: endpoints.map((e) => e.id),
      allowed: plan.allowed,
      predicted,
      differences,
      notProbed: [...plan.notProbed].sort(),
    };
  });
}
