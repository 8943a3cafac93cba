// The kernel benchmarks run in a private network namespace of their own, so their tables and
// links never meet the host's or a lab's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs the benchmark script at `scriptUrl` again under `unshare --net` with the same arguments, and
 * returns true (the caller then stops, the exit code set); false when already in its namespace.
 * `ownRunDir`: a benchmark that makes labs gets a run directory of its own, since the labs' record
 * of host settings is per network namespace here and must stay apart from the host's labs.
 */
export function reexecInPrivateNetns(scriptUrl: string, options: { ownRunDir?: boolean } = {}): boolean {
  if (process.env.PODWALL_BENCH_NETNS === '1') return false;
  const argv = [process.execPath, ...process.execArgv, fileURLToPath(scriptUrl), ...process.argv.slice(2)];
  const runDir = options.ownRunDir ? mkdtempSync(join(tmpdir(), 'podwall-bench-run-')) : undefined;
  try {
    const r = spawnSync('unshare', ['--net', '--', ...argv], { stdio: 'inherit', env: { ...process.env, PODWALL_BENCH_NETNS: '1', ...(runDir ? { PODWALL_RUN_DIR: runDir } : {}) } });
    if (r.error) throw r.error;
    process.exitCode = r.status ?? 1;
  } finally {
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  }
  return true;
}
