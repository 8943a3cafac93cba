// Golden files: the complete nft script for examples/three-tier, and for it with examples/admin-tiers
// beside it (the admin and baseline tiers), byte for byte.
//
// The examples' pods have no addresses (they are plain manifests), so each Pod gets a fixed
// dual-stack status.podIPs here before loading (see GOLDEN_IPS); everything else is the examples
// as written. A change to the data plane's output shows up as a diff of test/golden/*.nft.
//
// To regenerate after an intended change, run:
//   UPDATE_GOLDEN=1 node scripts/run-tests.mjs golden
// then review the diff of test/golden/ before committing it.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { compileCluster } from '../engine/index.js';
import { formatDiagnostic, loadTexts, type Manifest } from '../model/index.js';
import { compileRuleset } from './compile.js';
import { renderReplaceScript } from './ruleset.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Each golden file and the example directories it renders, loaded together. */
const GOLDENS: readonly { readonly file: string; readonly examples: readonly string[]; readonly pods: number }[] = [
  { file: 'three-tier.nft', examples: ['three-tier'], pods: 3 },
  { file: 'admin-tiers.nft', examples: ['three-tier', 'admin-tiers'], pods: 4 },
];

/** Addresses given to the example's pods, by name: IPv4 first (the primary), then IPv6. */
const GOLDEN_IPS: Readonly<Record<string, readonly [string, string]>> = {
  web: ['10.244.0.10', 'fd00:10:244::a'],
  api: ['10.244.0.11', 'fd00:10:244::b'],
  db: ['10.244.0.12', 'fd00:10:244::c'],
  debug: ['10.244.0.13', 'fd00:10:244::d'],
};

/** An example's manifests, with status.podIP(s) added to each Pod. */
function exampleTexts(example: string): { file: string; text: string }[] {
  const exampleDir = join(root, 'examples', example);
  return readdirSync(exampleDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => {
      const docs = parseAllDocuments(readFileSync(join(exampleDir, f), 'utf8'));
      const objects = (Array.isArray(docs) ? docs : []).map((d) => d.toJS() as Manifest);
      const withIPs = objects.map((o) => {
        if (o.kind !== 'Pod') return o;
        const name = (o.metadata as { name: string }).name;
        const ips = GOLDEN_IPS[name];
        assert.ok(ips, `no golden address for pod ${name}`);
        return { ...o, status: { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } };
      });
      return { file: `examples/${example}/${f}`, text: withIPs.map((o) => `---\n${JSON.stringify(o, null, 2)}\n`).join('') };
    });
}

function render(golden: (typeof GOLDENS)[number]): string {
  const built = loadTexts(golden.examples.flatMap(exampleTexts));
  assert.ok(built.cluster, built.diagnostics.map(formatDiagnostic).join('\n'));
  assert.equal(built.cluster.endpoints.filter((e) => e.ips.length === 2).length, golden.pods, 'every pod has its two addresses');
  return renderReplaceScript(compileRuleset(compileCluster(built.cluster)));
}

for (const golden of GOLDENS) {
  const goldenFile = join(root, 'test', 'golden', golden.file);
  test(`examples/${golden.examples.join(' + examples/')} renders byte for byte as test/golden/${golden.file}`, () => {
    const script = render(golden);
    if (process.env.UPDATE_GOLDEN === '1') {
      mkdirSync(dirname(goldenFile), { recursive: true });
      writeFileSync(goldenFile, script);
      return;
    }
    let expected: string;
    try {
      expected = readFileSync(goldenFile, 'utf8');
    } catch {
      assert.fail(`${goldenFile} is missing: run UPDATE_GOLDEN=1 node scripts/run-tests.mjs golden`);
    }
    assert.equal(script, expected, 'the rendered script differs from the golden file (UPDATE_GOLDEN=1 regenerates it after an intended change)');
  });

  test(`rendering examples/${golden.examples.join(' + examples/')} twice gives the same bytes`, () => {
    assert.equal(render(golden), render(golden));
  });
}
