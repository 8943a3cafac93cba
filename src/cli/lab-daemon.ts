// `podwall lab daemon` (started by `lab up`, not by hand): the lab's control plane in one
// process, built from the same parts as a real cluster: the API server over the lab's store, the
// pod runner (its kubelet), and the agent enforcing policies through the API, as on any node.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, agentMetrics, serveHealth } from '../agent/index.js';
import { labDaemonContext } from '../lab/index.js';

export async function runLabDaemon(options: { name: string; stateDir?: string }): Promise<number> {
  const ctx = await labDaemonContext(options.name, options.stateDir);
  const logFile = join(ctx.dir, 'daemon.log');
  const log = (line: string): void => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const api = await ctx.startApiServer();
  ctx.registerNode();
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
