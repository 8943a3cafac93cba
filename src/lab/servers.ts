// The pods' servers: one helper process per lab (podnet.py) listens on every declared port of
// every pod, inside each pod's namespace, and answers with the pod's name. It is told about
// changes by rewriting its configuration and sending SIGHUP, and confirms, per socket, which ones
// listen, through a status file. The helper is supervised: its death is noticed at once.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContainerPort } from '../model/index.js';
import { isRunning, processRecord, type ProcessRecord } from './process.js';

/** The helper ships as source beside this module (src/lab) and is found from dist/lab too. */
export const PODNET_SCRIPT = fileURLToPath(new URL('../../src/lab/podnet.py', import.meta.url));

export interface ServedPod {
  readonly netns: string;
  /** What the server answers: the pod's `ns/name`. */
  readonly name: string;
  readonly ips: readonly string[];
  readonly ports: readonly ContainerPort[];
  /** The cluster DNS: its port 53 answers DNS from the records, not the pod's name. */
  readonly dns?: boolean;
}

interface Status {
  readonly generation: number;
  readonly errors: readonly string[];
  readonly pid: number;
  /** Per pod name, the sockets that listen: `80/TCP/4`. */
  readonly listening?: Readonly<Record<string, readonly string[]>>;
}

/** What a sync achieved: the helper serving, and per pod the sockets it should have and lacks. */
export interface ServeResult {
  readonly process: ProcessRecord;
  /** Pod name -> the sockets (`80/TCP/4`) that do not listen, with the helper's errors; absent when all do. */
  readonly missing: ReadonlyMap<string, { readonly sockets: readonly string[]; readonly errors: readonly string[] }>;
}

/** The sockets a pod must have open: every TCP and UDP port, once per address family it has. */
export function expectedSockets(pod: Pick<ServedPod, 'ips' | 'ports'>): string[] {
  const families = [...new Set(pod.ips.map((ip) => (ip.includes(':') ? 6 : 4)))].sort();
  const out = pod.ports.filter((p) => p.protocol === 'TCP' || p.protocol === 'UDP').flatMap((p) => (families.length > 0 ? families : [4]).map((f) => `${p.containerPort}/${p.protocol}/${f}`));
  return [...new Set(out)].sort();
}

export class PodServers {
  private readonly configPath: string;
  private readonly statusPath: string;
  private readonly logPath: string;
  private exitListener?: () => void;

  constructor(stateDir: string) {
    this.configPath = join(stateDir, 'servers.json');
    this.statusPath = join(stateDir, 'servers.status.json');
    this.logPath = join(stateDir, 'servers.log');
  }

  /** Called when a helper this process started exits (a helper found running after a restart is watched by polling `running`). */
  onExit(listener: () => void): void {
    this.exitListener = listener;
  }

  private readStatus(): Status | undefined {
    try {
      return JSON.parse(readFileSync(this.statusPath, 'utf8')) as Status;
    } catch {
      return undefined;
    }
  }

  private writeConfig(generation: number, pods: readonly ServedPod[], records: Readonly<Record<string, readonly string[]>>): void {
    const tmp = `${this.configPath}.tmp`;
    writeFileSync(tmp, JSON.stringify({ generation, pods, records }));
    renameSync(tmp, this.configPath);
  }

  /** Whether the recorded helper is alive and serving this lab. */
  running(process: ProcessRecord | undefined): process is ProcessRecord {
    return isRunning(process) && this.readStatus()?.pid === process.pid;
  }

  private start(): ProcessRecord {
    const log = openSync(this.logPath, 'a');
    const child = spawn('python3', [PODNET_SCRIPT, 'serve', this.configPath, this.statusPath], { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    child.on('exit', () => this.exitListener?.());
    const record = child.pid ? processRecord(child.pid) : undefined;
    if (!record) throw new Error(`the pod server helper did not start${this.lastLog()}`);
    return record;
  }

  private lastLog(): string {
    const log = existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
    return log ? `: ${log}` : '';
  }

  /**
   * Serves exactly `pods` (and the DNS `records` on the DNS pod): starts the helper if it is not
   * running, else reloads it; resolves once the helper has loaded this configuration, with the
   * sockets that failed to open per pod.
   */
  async sync(pods: readonly ServedPod[], current: ProcessRecord | undefined, records: Readonly<Record<string, readonly string[]>> = {}): Promise<ServeResult> {
    const generation = (this.readStatus()?.generation ?? 0) + 1;
    this.writeConfig(generation, pods, records);
    let helper: ProcessRecord;
    if (this.running(current) || isRunning(current)) {
      helper = current;
      process.kill(helper.pid, 'SIGHUP');
    } else {
      helper = this.start();
    }
    const deadline = Date.now() + 15_000;
    for (;;) {
      const status = this.readStatus();
      if (status && status.generation >= generation && status.pid === helper.pid) {
        const missing = new Map<string, { sockets: string[]; errors: string[] }>();
        for (const pod of pods) {
          const open = new Set(status.listening?.[pod.name] ?? []);
          const lacking = expectedSockets(pod).filter((s) => !open.has(s));
          if (lacking.length > 0) missing.set(pod.name, { sockets: lacking, errors: status.errors.filter((e) => e.startsWith(`${pod.netns} `) || e.startsWith(`${pod.netns}:`)) });
        }
        return { process: helper, missing };
      }
      if (!isRunning(helper)) throw new Error(`the pod server helper exited${this.lastLog()}`);
      if (Date.now() > deadline) throw new Error('the pod server helper did not confirm its sockets within 15 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
