// The pods' servers: one helper process per lab (podnet.py) listens on every declared port of
// every pod, inside each pod's namespace, and answers with the pod's name. It is told about
// changes by rewriting its configuration and sending SIGHUP, and confirms through a status file.
import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, renameSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContainerPort } from '../model/index.js';

/** The helper ships as source beside this module (src/lab) and is found from dist/lab too. */
export const PODNET_SCRIPT = fileURLToPath(new URL('../../src/lab/podnet.py', import.meta.url));

export interface ServedPod {
  readonly netns: string;
  /** What the server answers: the pod's `ns/name`. */
  readonly name: string;
  readonly ips: readonly string[];
  readonly ports: readonly ContainerPort[];
}

interface Status {
  readonly generation: number;
  readonly errors: readonly string[];
  readonly pid: number;
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export class PodServers {
  private readonly configPath: string;
  private readonly statusPath: string;
  private readonly logPath: string;

  constructor(stateDir: string) {
    this.configPath = join(stateDir, 'servers.json');
    this.statusPath = join(stateDir, 'servers.status.json');
    this.logPath = join(stateDir, 'servers.log');
  }

  private readStatus(): Status | undefined {
    try {
      return JSON.parse(readFileSync(this.statusPath, 'utf8')) as Status;
    } catch {
      return undefined;
    }
  }

  private writeConfig(generation: number, pods: readonly ServedPod[]): void {
    const tmp = `${this.configPath}.tmp`;
    writeFileSync(tmp, JSON.stringify({ generation, pods }));
    renameSync(tmp, this.configPath);
  }

  /** Whether the helper recorded as `pid` is alive and serving this lab. */
  running(pid: number | undefined): boolean {
    return isAlive(pid) && this.readStatus()?.pid === pid;
  }

  /**
   * Serves exactly `pods`: starts the helper if it is not running, else reloads it; resolves once
   * the helper has opened every socket. `pid` is the helper's pid as last recorded.
   */
  async sync(pods: readonly ServedPod[], pid: number | undefined): Promise<number> {
    const generation = (this.readStatus()?.generation ?? 0) + 1;
    this.writeConfig(generation, pods);
    let current = pid;
    if (isAlive(current)) {
      process.kill(current!, 'SIGHUP');
    } else {
      const log = openSync(this.logPath, 'a');
      const child = spawn('python3', [PODNET_SCRIPT, 'serve', this.configPath, this.statusPath], {
        detached: true,
        stdio: ['ignore', log, log],
      });
      closeSync(log);
      child.unref();
      current = child.pid;
    }
    const deadline = Date.now() + 15_000;
    for (;;) {
      const status = this.readStatus();
      if (status && status.generation >= generation && status.pid === current) {
        if (status.errors.length > 0) throw new Error(`pod servers: ${status.errors.slice(0, 5).join('; ')}`);
        return current!;
      }
      if (!isAlive(current)) {
        const log = existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
        throw new Error(`the pod server helper exited${log ? `: ${log}` : ''}`);
      }
      if (Date.now() > deadline) throw new Error('the pod server helper did not confirm its sockets within 15 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** Stops a helper: SIGTERM, then SIGKILL if it lingers. */
export async function stopProcess(pid: number | undefined): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid!, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 3000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (isAlive(pid)) {
    try {
      process.kill(pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
