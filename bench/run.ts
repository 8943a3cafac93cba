// Runs the benchmarks, each in its own process: the engine's, the data plane's, the control
// plane's (kubectl apply -> enforced), authoring's (diff and lint against matrix), then the admin
// tiers' (the matrix, then compile+apply, with admin and baseline policies against the same cluster without),
// then the node lab's (a change -> enforced on every node against one node; agent memory per cluster pod).
//
//   npm run bench                          all of them
//   npm run bench -- --only engine         one of them (engine | dataplane | controlplane | authoring | tiers | dataplane-tiers | nodes); other flags go to it
//   npm run bench -- --only dataplane --rounds 9 --trials 20
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHES = { engine: 'engine.bench.ts', dataplane: 'dataplane.bench.ts', controlplane: 'controlplane.bench.ts', authoring: 'authoring.bench.ts', tiers: 'tiers.bench.ts', 'dataplane-tiers': 'dataplane-tiers.bench.ts', nodes: 'nodes.bench.ts' } as const;
type Name = keyof typeof BENCHES;

const args = process.argv.slice(2);
let only: Name | undefined;
const rest: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = a === '--only' ? args[++i] : a.startsWith('--only=') ? a.slice('--only='.length) : undefined;
  if (value === undefined) {
    rest.push(a);
    continue;
  }
  if (!(value in BENCHES)) {
    console.error(`--only ${value}: expected one of ${Object.keys(BENCHES).join(', ')}`);
    process.exit(2);
  }
  only = value as Name;
}

let status = 0;
for (const name of Object.keys(BENCHES) as Name[]) {
  if (only && only !== name) continue;
  const file = fileURLToPath(new URL(`./${BENCHES[name]}`, import.meta.url));
  // Flags other than --only are for the benchmark asked for; with all, each ignores what it does not know.
  const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...rest], { stdio: 'inherit' });
  if (r.status !== 0) status = r.status ?? 1;
  if (!only) console.log('');
}
process.exit(status);
