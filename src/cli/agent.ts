// `podwall agent`: enforcement on a real cluster's node, as a DaemonSet pod (hostNetwork,
// NET_ADMIN) or by hand with a kubeconfig. Stops within moments of SIGTERM and leaves the rules
// in place. Bad flags or an unusable kubeconfig are input problems (exit 2), said in one line.
import { setMaxListeners } from 'node:events';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
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
  /** Items per list page (`limit`), as given on the command line. */
  readonly pageSize?: string;
  readonly log?: boolean;
}

/**
 * The kubeconfig as kubectl would find it (--kubeconfig, the in-cluster service account, then
 * $KUBECONFIG, then ~/.kube/config), refused in one line when it is missing or unusable: never
 * client-node's silent fallback to http://localhost:8080.
 */
export function loadKubeConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  const fallback = join(env.HOME || homedir(), '.kube', 'config');
  const where = path ? `--kubeconfig ${path}` : env.KUBERNETES_SERVICE_HOST ? 'the in-cluster configuration' : env.KUBECONFIG ? `KUBECONFIG=${env.KUBECONFIG}` : fallback;
  if (!path && !env.KUBERNETES_SERVICE_HOST && !env.KUBECONFIG && !existsSync(fallback)) {
    throw new UsageError(`no kubeconfig: ${fallback} does not exist (give --kubeconfig or KUBECONFIG, or run the agent in a pod)`);
  }
  try {
    if (path) kc.loadFromFile(path);
    else if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
    else if (env.KUBECONFIG) kc.loadFromDefault();
    else kc.loadFromFile(fallback);
  } catch (err) {
    throw new UsageError(`${where}: ${(err as Error).message.split('\n')[0]}`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new UsageError(`${where}: no current cluster (set --kubeconfig, or run the agent in a pod)`);
  let server: URL;
  try {
    server = new URL(cluster.server);
  } catch {
    throw new UsageError(`${where}: cluster "${cluster.name}" has no valid server address ("${cluster.server}")`);
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') throw new UsageError(`${where}: cluster "${cluster.name}": server ${cluster.server} is neither https nor http`);
  // client-node refuses plain HTTP unless TLS verification is off: the agent would never connect.
  if (server.protocol === 'http:' && !cluster.skipTLSVerify) throw new UsageError(`${where}: cluster "${cluster.name}": server ${cluster.server} is plain HTTP, which needs insecure-skip-tls-verify: true`);
  // Files the kubeconfig names are read at every request: one that cannot be read is bad input now,
  // not a watch failing forever.
  const user = kc.getCurrentUser();
  const files: [string, string | undefined][] = [
    ['certificate-authority', cluster.caFile],
    ['client-certificate', user?.certFile],
    ['client-key', user?.keyFile],
    ['token file', (user?.authProvider as { config?: { tokenFile?: string } } | undefined)?.config?.tokenFile],
  ];
  for (const [what, file] of files) {
    if (!file) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
      throw new UsageError(`${where}: ${what} ${file} ${reason}`);
    }
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

function parsePageSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,7}$/.test(text) || Number(text) < 1) throw new UsageError(`--page-size: "${text}" is not a number of items from 1 to 9999999`);
  return Number(text);
}

/**
 * The processes this one started that still run: after the agent stopped, only an nft or
 * conntrack that a sync under way left behind (the agent's process runs nothing else).
 */
function childProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export async function runAgent(options: AgentCommandOptions, io: Output): Promise<number> {
  const { host, port } = parseHealthAddress(options.healthAddress);
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(options.table)) throw new UsageError(`--table: "${options.table}" is not an nftables table name`);
  for (const a of options.nodeAddress ?? []) if (parseIP(a) === undefined) throw new UsageError(`--node-address: "${a}" is not an IP address`);
  const pageSize = parsePageSize(options.pageSize);
  const node = options.node ?? process.env.NODE_NAME ?? hostname();
  const kc = loadKubeConfig(options.kubeconfig);
  const controller = new AbortController();
  // One listener per watched stream (seven) and a few more: legitimately over Node's default of 10.
  setMaxListeners(32, controller.signal);
  const stop = (): void => controller.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    const agent = new Agent({ node, kubeconfig: kc, table: options.table, log: options.log, nodeAddresses: options.nodeAddress, pageSize, logger: (l) => io.err(l) });
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
    // A sync cut short may have left an nft or conntrack running: end it rather than wait for it.
    // An nft transaction is atomic (it happened or it did not), and the next agent redoes the rest.
    for (const pid of childProcesses()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    io.err('podwall agent: stopped; the rules stay in force until the next agent takes over');
    return 0;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}
