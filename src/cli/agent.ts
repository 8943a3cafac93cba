// `podwall agent`: enforcement on a real cluster's node, as a DaemonSet pod (hostNetwork,
// NET_ADMIN) or by hand with a kubeconfig. Stops within moments of SIGTERM and leaves the rules
// in place. Bad flags or an unusable kubeconfig are input problems (exit 2), said in one line.
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, agentMetrics, serveHealth } from '../agent/index.js';
import { parseIP } from '../model/index.js';
import { UsageError, type Output } from './output.js';

export interface AgentCommandOptions {
  readonly node?: string;
  readonly kubeconfig?: string;
  readonly table: string;
  readonly healthAddress: string;
  readonly nodeAddress?: string[];
  readonly log?: boolean;
}

function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  const where = path ? `--kubeconfig ${path}` : process.env.KUBERNETES_SERVICE_HOST ? 'the in-cluster configuration' : process.env.KUBECONFIG ? `KUBECONFIG=${process.env.KUBECONFIG}` : '~/.kube/config';
  try {
    if (path) kc.loadFromFile(path);
    else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    throw new UsageError(`${where}: ${(err as Error).message.split('\n')[0]}`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new UsageError(`${where}: no current cluster (set --kubeconfig, or run the agent in a pod)`);
  try {
    new URL(cluster.server);
  } catch {
    throw new UsageError(`${where}: cluster "${cluster.name}" has no valid server address ("${cluster.server}")`);
  }
  return kc;
}

/** `host:port`, `[v6]:port`; the host an IP address or `localhost`, the port 0-65535. */
export function parseHealthAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || !host || !(port >= 0 && port <= 65535) || (host !== 'localhost' && parseIP(host) === undefined)) {
    throw new UsageError(`--health-address: "${text}" is not ADDRESS:PORT (e.g. 127.0.0.1:9743, [::1]:9743)`);
  }
  return { host, port };
}

export async function runAgent(options: AgentCommandOptions, io: Output): Promise<number> {
  const { host, port } = parseHealthAddress(options.healthAddress);
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(options.table)) throw new UsageError(`--table: "${options.table}" is not an nftables table name`);
  for (const a of options.nodeAddress ?? []) if (parseIP(a) === undefined) throw new UsageError(`--node-address: "${a}" is not an IP address`);
  const node = options.node ?? process.env.NODE_NAME ?? hostname();
  const kc = loadKubeConfig(options.kubeconfig);
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const agent = new Agent({ node, kubeconfig: kc, table: options.table, log: options.log, nodeAddresses: options.nodeAddress, logger: (l) => io.err(l) });
  const registry = agentMetrics(agent);
  let health;
  try {
    health = await serveHealth(agent, registry, { host, port });
  } catch (err) {
    throw new UsageError(`--health-address ${options.healthAddress}: ${(err as Error).message}`);
  }
  io.err(`podwall agent: node ${node}, table inet ${options.table}, health on http://${host.includes(':') ? `[${host}]` : host}:${health.port}`);
  await agent.run(controller.signal);
  health.server.close();
  health.server.closeAllConnections();
  io.err('podwall agent: stopped; the rules stay in force until the next agent takes over');
  return 0;
}
