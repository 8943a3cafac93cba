// `lab up` says what the kernel does, whatever the load: every step of the upstream case table
// (test/cases/upstream.ts) is brought up cold with the real CLI (`podwall lab up -f DIR`, one
// process per step, `lab down` between), back to back, and must exit 0 with kernel = engine on
// every probed cell and no cell left undecided. Then again with the machine busy (busy processes,
// twice as many as cores), where probes used to run before servers listened or time out.
//
// Rounds and load are settings, kept small by default so the suite stays short (a step costs
// 3-4 s, 6-7 s under load): PODWALL_LAB_ROUNDS rounds (default 1) over every PODWALL_LAB_STRIDE-th
// step (default 3), then PODWALL_LAB_LOAD busy processes (default 4) over every
// PODWALL_LAB_LOAD_STRIDE-th step (default 6). The full check, every step three times and every
// step under load: `PODWALL_LAB_ROUNDS=3 PODWALL_LAB_STRIDE=1 PODWALL_LAB_LOAD_STRIDE=1`.
// Addresses move from 10.244.x to 10.248.x so this lab never meets the user's. Needs root.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SUPPLEMENTAL_CASES, UPSTREAM_CASES, caseName, stepTexts, PODS } from './cases/upstream.js';
import { labSkipReason, leftovers, probedAmong } from './lab-support.js';
import type { ProbeReport } from '../src/lab/index.js';

const LAB = 'cli';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const stateRoot = mkdtempSync(join(tmpdir(), 'podwall-lab-cli-'));
const scratch = mkdtempSync(join(tmpdir(), 'podwall-lab-cli-files-'));
const rounds = Number(process.env.PODWALL_LAB_ROUNDS ?? 1);
const busy = Number(process.env.PODWALL_LAB_LOAD ?? 4);
const roundStride = Number(process.env.PODWALL_LAB_STRIDE ?? 3);
const stride = Number(process.env.PODWALL_LAB_LOAD_STRIDE ?? 6);
const every = (n: number): string => (n === 1 ? 'every' : `every ${n === 2 ? '2nd' : n === 3 ? '3rd' : `${n}th`}`);

interface Step {
  readonly name: string;
  readonly dir: string;
}

const steps: Step[] = [...UPSTREAM_CASES, ...SUPPLEMENTAL_CASES].filter((c) => !c.skip).flatMap((c, ci) =>
  c.steps.map((_, s) => {
    const dir = join(scratch, `${String(ci).padStart(2, '0')}-${s + 1}`);
    mkdirSync(dir, { recursive: true });
    for (const [k, t] of stepTexts(c, s).entries()) writeFileSync(join(dir, `${k}.yaml`), t.text.replaceAll('10.244.', '10.248.'));
    return { name: `${caseName(c)} (step ${s + 1}/${c.steps.length})`, dir };
  }),
);

function podwall(args: readonly string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/entry.ts'), ...args], { encoding: 'utf8', cwd: ROOT, timeout: 180_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface ProbeJson {
  readonly pods: readonly string[];
  readonly port: number;
  readonly protocol: string;
  readonly allowed: (boolean | null)[][];
  readonly differences: unknown[];
  readonly inconclusive: unknown[];
}

/** Brings one step up, checks what `lab up` printed, and takes it down; returns the problem, if any. */
function upAndDown(step: Step): string | undefined {
  const up = podwall(['lab', 'up', '-f', step.dir, '--name', LAB, '--state-dir', stateRoot, '--pod-cidr', '10.247.0.0/16', '-o', 'json']);
  const down = podwall(['lab', 'down', '--name', LAB, '--state-dir', stateRoot]);
  if (down.code !== 0) return `lab down exited ${down.code}: ${down.err}`;
  if (up.code !== 0) return `lab up exited ${up.code}: ${up.err.trim()}\n${up.out.slice(0, 3000)}`;
  const reports = JSON.parse(up.out) as ProbeJson[];
  const problems: string[] = [];
  for (const r of reports) {
    const probed = probedAmong(r as unknown as Pick<ProbeReport, 'pods' | 'allowed'>, PODS);
    // Every pair of the upstream pods on their own ports (the cluster DNS's 53 is probed too, but only coredns listens there).
    if (r.protocol !== 'SCTP' && r.port !== 53 && probed !== PODS.length * (PODS.length - 1)) problems.push(`${r.port}/${r.protocol}: ${probed} cells probed`);
    if (r.differences.length > 0) problems.push(`${r.port}/${r.protocol}: differences ${JSON.stringify(r.differences)}`);
    if (r.inconclusive.length > 0) problems.push(`${r.port}/${r.protocol}: inconclusive ${JSON.stringify(r.inconclusive)}`);
  }
  return problems.length > 0 ? problems.join('\n') : undefined;
}

const skip = labSkipReason();

after(() => {
  podwall(['lab', 'down', '--name', LAB, '--state-dir', stateRoot]);
  rmSync(scratch, { recursive: true, force: true });
  rmSync(stateRoot, { recursive: true, force: true });
});

describe('lab up through the CLI: every upstream step, cold, back to back', { skip }, () => {
  for (let round = 1; round <= rounds; round++) {
    test(`round ${round}: ${every(roundStride)} step exits 0 with kernel = engine on every probed cell`, () => {
      // Rounds start at different steps, so three rounds of every 2nd step still cover them all.
      const failures = steps.filter((_, i) => (i + round - 1) % roundStride === 0).flatMap((s) => {
        const problem = upAndDown(s);
        return problem ? [`${s.name}: ${problem}`] : [];
      });
      assert.deepEqual(failures, []);
    });
  }

  test(`under load (${busy} busy processes on ${cpus().length} cores): ${every(stride)} step still exits 0 with kernel = engine`, async () => {
    const burners: ChildProcess[] = Array.from({ length: busy }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
    try {
      const failures = steps
        .filter((_, i) => i % stride === 0)
        .flatMap((s) => {
          const problem = upAndDown(s);
          return problem ? [`${s.name}: ${problem}`] : [];
        });
      assert.deepEqual(failures, []);
    } finally {
      for (const b of burners) b.kill('SIGKILL');
    }
  });

  test('nothing of the lab is left behind', () => {
    assert.deepEqual(leftovers(LAB, `podwall-${LAB}`, join(stateRoot, 'labs', LAB)), []);
  });
});
