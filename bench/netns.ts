// The kernel benchmarks run in a private network namespace of their own, so their tables and
// links never meet the host's or a lab's.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Runs the benchmark script at `scriptUrl` again under `unshare --net` with the same arguments, and
 * returns true (the caller then stops, the exit code set); false when already in its namespace.
 */
export function reexecInPrivateNetns(scriptUrl: string): boolean {
  if (process.env.PODWALL_BENCH_NETNS === '1') return false;
  const argv = [process.execPath, ...process.execArgv, fileURLToPath(scriptUrl), ...process.argv.slice(2)];
  const r = spawnSync('unshare', ['--net', '--', ...argv], { stdio: 'inherit', env: { ...process.env, PODWALL_BENCH_NETNS: '1' } });
  if (r.error) throw r.error;
  process.exitCode = r.status ?? 1;
  return true;
}
