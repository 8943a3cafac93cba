// Golden file: the complete nft script for examples/three-tier, byte for byte.
//
// The example's pods have no addresses (they are plain manifests), so each Pod gets a fixed
// dual-stack status.podIPs here before loading (see GOLDEN_IPS); everything else is the example
// as written. A change to the data plane's output shows up as a diff of test/golden/three-tier.nft.
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
const exampleDir = join(root, 'examples', 'three-tier');
const goldenFile = join(root, 'test', 'golden', 'three-tier.nft');

/** Addresses given to the example's pods, by name: IPv4 first (the primary), then IPv6. */
const GOLDEN_IPS: Readonly<Record<string, readonly [string, string]>> = {
  web: ['10.244.0.10', 'fd00:10:244::a'],
  api: ['10.244.0.11', 'fd00:10:244::b'],
  db: ['10.244.0.12', 'fd00:10:244::c'],
};

/** The example's manifests, with status.podIP(s) added to each Pod. */
function exampleTexts(): { file: string; text: string }[] {
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
      return { file: `examples/three-tier/${f}`, text: withIPs.map((o) => `---\n${JSON.stringify(o, null, 2)}\n`).join('') };
    });
}

function render(): string {
  const built = loadTexts(exampleTexts());
  assert.ok(built.cluster, built.diagnostics.map(formatDiagnostic).join('\n'));
  assert.equal(built.cluster.endpoints.filter((e) => e.ips.length === 2).length, 3, 'every pod has its two addresses');
  return renderReplaceScript(compileRuleset(compileCluster(built.cluster)));
}

test('examples/three-tier renders byte for byte as test/golden/three-tier.nft', () => {
  const script = render();
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(goldenFile), { recursive: true });
    writeFileSync(goldenFile, script);
    return;
  }
  let golden: string;
  try {
    golden = readFileSync(goldenFile, 'utf8');
  } catch {
    assert.fail(`${goldenFile} is missing: run UPDATE_GOLDEN=1 node scripts/run-tests.mjs golden`);
  }
  assert.equal(script, golden, 'the rendered script differs from the golden file (UPDATE_GOLDEN=1 regenerates it after an intended change)');
});

test('rendering the example twice gives the same bytes', () => {
  assert.equal(render(), render());
});
