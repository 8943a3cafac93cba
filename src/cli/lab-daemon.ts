// `podwall lab daemon` (started by `lab up`, not by hand): the lab's control plane in one
// process, built from the same parts as a real cluster: the API server over the lab's store, the
// pod runner (its kubelet), and the agent enforcing policies through the API, as on any node.
import { setMaxListeners } from 'node:events';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, agentMetrics, serveHealth } from '../agent/index.js';
import { labDaemonContext } from '../lab/index.js';

type LabDaemonContext = Awaited<ReturnType<typeof labDaemonContext>>;

export async function runLabDaemon(options: { name: string; stateDir?: string }): Promise<number> {
  const ctx = await labDaemonContext(options.name, options.stateDir);
  const logFile = join(ctx.dir, 'daemon.log');
  const log = (line: string): void => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
  const controller = new AbortController();
  // One listener per watched stream (seven) and a few more: legitimately over Node's default of 10.
  setMaxListeners(32, controller.signal);
  const stop = (): void => controller.abort();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const api = await ctx.startApiServer();
  ctx.registerNode();
  if (ctx.topology) return runNodeLab(ctx, api, controller.signal, log);
  const kc = new KubeConfig();
  kc.loadFromFile(ctx.kubeconfig);
  const agent = new Agent({
    node: ctx.node,
    kubeconfig: kc,
    table: ctx.table,
    log: ctx.log,
    nodeAddresses: ctx.nodeAddresses,
    logger: (l) => log(`agent: ${l}`),
  });
  const registry = agentMetrics(agent);
  const previous = agent.onSync;
  agent.onSync = (record) => {
    previous?.(record);
    ctx.recordSync(record);
  };
  const health = await serveHealth(agent, registry, { port: 0 });
  // The lab's API server numbers its versions, so here (and only here) they are compared as numbers.
  const runner = ctx.podRunner(
    (rv) => agent.waitForSync((versions) => versions.every((v) => Number(v) >= rv), controller.signal),
    (l) => log(l),
  );
  runner.start(controller.signal);
  const state = { pid: process.pid, apiPort: api.port, healthPort: health.port, startedAt: new Date().toISOString() };
  ctx.markReady(state);
  log(`up: API https://127.0.0.1:${api.port}, health http://127.0.0.1:${health.port}`);

  await agent.run(controller.signal);
  // Stopping leaves the rules in the kernel: enforcement fails closed.
  health.server.close();
  await api.close();
  ctx.close();
  log('stopped');
  return 0;
}

/**
 * The node lab: no agent in this process. Each node runs its own (supervised here); the pod
 * runner starts a pod's servers once every running agent has enforced the change that made it.
 * Stopping the daemon leaves the agents running and enforcing (`lab down` stops them).
 */
async function runNodeLab(ctx: LabDaemonContext, api: { port: number; close: () => Promise<void> }, signal: AbortSignal, log: (line: string) => void): Promise<number> {
  // An agent (re)started: pods held for its node may be made now (agents start only below, once the runner exists).
  const agents = ctx.nodeAgents((l) => log(l), () => runner.poke());
  const runner = ctx.podRunner(async (rv) => {
    await agents.waitForSync(rv, signal);
    ctx.recordNodeTotals(await agents.statuses());
  }, log);
  agents.start(signal);
  runner.start(signal);
  ctx.markReady({ pid: process.pid, apiPort: api.port, healthPort: 0, startedAt: new Date().toISOString() });
  log(`up: API https://127.0.0.1:${api.port} and https://${ctx.topology!.underlay.host}:${api.port}, ${ctx.topology!.nodes.length} nodes (${ctx.topology!.kind})`);
  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve())));
  await api.close();
  ctx.close();
  log('stopped');
  return 0;
}
