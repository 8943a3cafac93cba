// The node lab's agents: one `podwall agent` process per node, started inside the node's network
// namespace as a DaemonSet's pod would run there, talking to the lab API server over the underlay
// with the node's own identity. The daemon supervises them (one that dies is started again after a
// delay, as the kubelet backs off a crashed pod) and learns how far each got from its /status.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { RulesetStats } from '../dataplane/index.js';
import type { LabNames } from './names.js';
import { isRunning, podwallCommand, processRecord, stopProcess, type ProcessRecord } from './process.js';
import type { LabStore } from './store.js';
import { nodeNetns, type LabNode, type Topology } from './topology.js';

/** Where each node's agent serves /healthz, /readyz, /metrics and /status, on the node's address. */
export const AGENT_HEALTH_PORT = 9743;

/** What an agent's /status says (src/agent/health.ts). */
export interface NodeAgentStatus {
  readonly synced: boolean;
  readonly syncs: number;
  readonly errors: number;
  readonly versions: readonly string[] | null;
  readonly lastError: string | null;
  readonly applies?: number;
  readonly connectionsCut?: number;
  readonly stats?: RulesetStats;
  readonly memory?: { readonly rss: number; readonly heapUsed: number };
}

export interface NodeAgentsOptions {
  readonly dir: string;
  readonly store: LabStore;
  readonly names: LabNames;
  readonly topology: () => Topology | undefined;
  /** The node's kubeconfig (its identity, the API server's underlay address). */
  readonly kubeconfig: (node: LabNode) => string;
  readonly log: boolean;
  /** How long a dead agent stays dead before it is started again (ms). */
  readonly restartDelayMs?: number;
  readonly logger?: (line: string) => void;
  /** Called when an agent was started (pods held for its node may now be made). */
  readonly onStarted?: () => void;
}

const AGENTS_META = 'agents';

export const agentLogPath = (dir: string, node: string): string => join(dir, 'nodes', `${node}.log`);

/** The agent's command line on a node (its netns entered by `ip netns exec`, which execs the agent itself). */
export function agentCommand(names: LabNames, node: LabNode, kubeconfig: string, log: boolean): string[] {
  return [
    'ip',
    'netns',
    'exec',
    nodeNetns(names, node),
    ...podwallCommand([
      'agent',
      '--node',
      node.name,
      '--kubeconfig',
      kubeconfig,
      '--table',
      'podwall',
      '--health-address',
      `${node.address}:${AGENT_HEALTH_PORT}`,
      '--node-address',
      node.address,
      '--node-address',
      node.gateway,
      ...(log ? ['--log'] : []),
    ]),
  ];
}

/** GET /status of one node's agent, or undefined when it does not answer. */
export function agentStatus(node: LabNode, timeoutMs = 1000): Promise<NodeAgentStatus | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: node.address, port: AGENT_HEALTH_PORT, path: '/status', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(body) as NodeAgentStatus) : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

export class NodeAgents {
  private readonly diedAt = new Map<string, number>();

  constructor(private readonly options: NodeAgentsOptions) {}

  private records(): Record<string, ProcessRecord> {
    return this.options.store.getMeta<Record<string, ProcessRecord>>(AGENTS_META) ?? {};
  }

  private nodes(): readonly LabNode[] {
    return this.options.topology()?.nodes ?? [];
  }

  /** Whether the node's agent process runs. */
  running(node: string): boolean {
    return isRunning(this.records()[node]);
  }

  /** Starts what is missing (an agent that outlived a daemon restart is kept), then supervises. */
  start(signal: AbortSignal): void {
    // A daemon (re)starting starts what is missing at once (after a reboot, say): the delay is for
    // an agent that dies while the daemon runs.
    let first = true;
    const tick = (): void => {
      if (signal.aborted) return;
      for (const node of this.nodes()) {
        if (this.running(node.name)) {
          this.diedAt.delete(node.name);
          continue;
        }
        const known = !first && this.records()[node.name] !== undefined;
        const since = this.diedAt.get(node.name) ?? Date.now();
        this.diedAt.set(node.name, since);
        if (known && Date.now() - since < (this.options.restartDelayMs ?? 10_000)) continue;
        if (known) this.options.logger?.(`agent of ${node.name} is not running: starting it again`);
        this.launch(node);
        this.diedAt.delete(node.name);
        this.options.onStarted?.();
      }
      first = false;
    };
    tick();
    const timer = setInterval(tick, 250);
    timer.unref();
    signal.addEventListener('abort', () => clearInterval(timer));
  }

  private launch(node: LabNode): void {
    mkdirSync(join(this.options.dir, 'nodes'), { recursive: true });
    const log = openSync(agentLogPath(this.options.dir, node.name), 'a');
    const [command, ...args] = agentCommand(this.options.names, node, this.options.kubeconfig(node), this.options.log);
    const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    // Reaped here so a dead agent is gone, not a zombie the supervisor would take for alive.
    child.on('exit', () => undefined);
    const record = child.pid ? processRecord(child.pid) : undefined;
    if (record) this.options.store.setMeta(AGENTS_META, { ...this.records(), [node.name]: record });
  }

  /** Stops a node's agent (its rules stay in its namespace) and forgets it. */
  async stop(node: string): Promise<void> {
    const records = this.records();
    await stopProcess(records[node]);
    const { [node]: _gone, ...rest } = records;
    this.options.store.setMeta(AGENTS_META, rest);
  }

  /**
   * Resolves once every running agent has applied a snapshot at least as new as `resourceVersion`
   * (the lab API server numbers its versions). A node whose agent is down keeps the rules it has
   * and is not waited for: the scheduler places no new pods there meanwhile.
   */
  async waitForSync(resourceVersion: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const pending = [];
      for (const node of this.nodes()) {
        if (!this.running(node.name)) continue;
        const status = await agentStatus(node);
        if (!status?.synced || !status.versions || !status.versions.every((v) => Number(v) >= resourceVersion)) pending.push(node.name);
      }
      if (pending.length === 0) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Every node's agent status (undefined where it does not answer). */
  async statuses(): Promise<Map<string, NodeAgentStatus | undefined>> {
    const out = new Map<string, NodeAgentStatus | undefined>();
    for (const node of this.nodes()) out.set(node.name, this.running(node.name) ? await agentStatus(node) : undefined);
    return out;
  }
}
