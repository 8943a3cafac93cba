// The UI page as `npm run build` makes it (dist/web-client), built once per content of its sources
// and reused by every Chromium test after: each used to build its own (16 s each on two cores).
// The sources are everything the bundle can import (web/, src/, the lock file), hashed.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const WEB_CLIENT = join(ROOT, 'dist/web-client');
const STAMP = '.podwall-source-hash';

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

function sourceHash(): string {
  const hash = createHash('sha256');
  for (const file of [...files(join(ROOT, 'web')), ...files(join(ROOT, 'src')), join(ROOT, 'package-lock.json')].sort()) {
    hash.update(file.slice(ROOT.length)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

/** Builds the page unless dist/web-client was built from these very sources; copies it to `into` if given. Throws with vite's words on failure. */
export function buildWebClient(into?: string): void {
  const hash = sourceHash();
  const stamp = join(WEB_CLIENT, STAMP);
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== hash) {
    const built = spawnSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(ROOT, 'web/vite.config.ts')], { encoding: 'utf8', cwd: ROOT });
    if (built.status !== 0) throw new Error(`vite build failed:\n${built.stderr}${built.stdout}`);
    writeFileSync(stamp, hash);
  }
  if (into) cpSync(WEB_CLIENT, into, { recursive: true });
}
