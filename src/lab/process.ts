// The lab's own processes (its daemon, its pod-server helper), known by pid AND start time: a
// pid alone may have been reused by an unrelated process since the lab recorded it, and `lab down`
// must never signal a stranger.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface ProcessRecord {
  readonly pid: number;
  /** The process's start time in clock ticks since boot (/proc/PID/stat, field 22). */
  readonly start: string;
}

/** The start time of a live process, or undefined when there is no such process. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie has ended; only its parent's wait is missing.
    return rest[0] === 'Z' ? undefined : rest[19];
  } catch {
    return undefined;
  }
}

export function processRecord(pid: number): ProcessRecord | undefined {
  const start = processStartTime(pid);
  return start === undefined ? undefined : { pid, start };
}

/** Whether the recorded process is still the one that runs under its pid. */
export function isRunning(record: ProcessRecord | undefined): record is ProcessRecord {
  return record !== undefined && record.pid > 0 && processStartTime(record.pid) === record.start;
}

/** The command line of a live process, split into its arguments ([] when it is gone). */
export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  } catch {
    return [];
  }
}

/** The value following `flag` in a command line (`--name lab` -> `lab`). */
export function flagValue(argv: readonly string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

const signal = (pid: number, sig: NodeJS.Signals): boolean => {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
};

/** Stops a recorded process (SIGTERM, then SIGKILL if it lingers); a pid now used by another process is left alone. */
export async function stopProcess(record: ProcessRecord | undefined, graceMs = 3000): Promise<void> {
  if (!isRunning(record)) return;
  if (!signal(record.pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (isRunning(record) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (isRunning(record)) signal(record.pid, 'SIGKILL');
  const gone = Date.now() + 2000;
  while (isRunning(record) && Date.now() < gone) await new Promise((r) => setTimeout(r, 10));
}

/** A podwall command as a process of its own: the CLI entry (from src under tsx, from dist when built). */
export function podwallCommand(args: readonly string[]): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(`../cli/entry.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  // tsx resolved from this file, not from the working directory the process happens to start in.
  return [process.execPath, ...(fromSource ? ['--import', typeof import.meta.resolve === 'function' ? import.meta.resolve('tsx') : 'tsx'] : []), entry, ...args];
}
