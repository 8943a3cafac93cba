// `podwall agent`: enforcement on a real cluster's node, as a DaemonSet pod (hostNetwork,
// NET_ADMIN) or by hand with a kubeconfig. Stops on SIGTERM and leaves the rules in place.
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent, agentMetrics, serveHealth } from '../agent/index.js';
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
  if (path) kc.loadFromFile(path);
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

export async function runAgent(options: AgentCommandOptions, io: Output): Promise<number> {
  const match = /^(.*):(\d+)$/.exec(options.healthAddress);
  if (!match) throw new UsageError(`--health-address: "${options.healthAddress}" is not host:port`);
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(options.table)) throw new UsageError(`--table: "${options.table}" is not an nftables table name`);
  const node = options.node ?? process.env.NODE_NAME ?? hostname();
  const kc = loadKubeConfig(options.kubeconfig);
  const controller = new AbortController();
  process.once('SIGTERM', () => controller.abort());
  process.once('SIGINT', () => controller.abort());
  const agent = new Agent({ node, kubeconfig: kc, table: options.table, log: options.log, nodeAddresses: options.nodeAddress, logger: (l) => io.err(l) });
  const registry = agentMetrics(agent);
  const health = await serveHealth(agent, registry, { host: match[1], port: Number(match[2]) });
  io.err(`podwall agent: node ${node}, table inet ${options.table}, health on http://${match[1]}:${health.port}`);
  await agent.run(controller.signal);
  health.server.close();
  io.err('podwall agent: stopped; the rules stay in force until the next agent takes over');
  return 0;
}
