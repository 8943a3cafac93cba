// Differential: every case of the engine's upstream conformance suite (test/cases/upstream.ts) is
// brought up in the lab and probed over TCP and UDP; the kernel's matrix must equal the engine's,
// cell by cell, and, where upstream states an expectation, upstream's too.
//
// One lab for the whole file: the x/y/z cluster comes up once, then every step of every case is
// applied as a complete state (namespace and pod labels, its policies) and the previous step's
// policies that it no longer has are deleted, exactly as a user would change a live lab. SCTP
// cannot be probed here (no SCTP sockets), so SCTP cases are checked over TCP and UDP only: the
// kernel must then agree that their SCTP rules open nothing else.
//
// The cases give the pods fixed addresses in 10.244.1-3.x, inside the default lab's pod CIDR; so
// that this lab never meets another lab on this machine, they are moved to 10.251.1-3.x (every
// address and CIDR in the texts moves with them) and the lab's own pool is 10.250.0.0/16.
// Needs root, iproute2, nftables, conntrack and python3; skipped otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, type ProbeReport } from '../src/lab/index.js';
import { loadTexts, type Cluster } from '../src/model/index.js';
import { PODS, SUPPLEMENTAL_CASES, UPSTREAM_CASES, caseName, stepTexts, type Case, type Manifest } from './cases/upstream.js';
import { describeDifferences, labSkipReason, leftovers, policyKey, probedAmong, upstreamMismatches } from './lab-support.js';

const LAB = 'conf';
const TABLE = `podwall-${LAB}`;
const POD_CIDR = '10.250.0.0/16';
const PROBE_PORTS = [80, 81].flatMap((port) => (['TCP', 'UDP'] as const).map((protocol) => ({ port, protocol })));
const PROBE_TIMEOUT_SECONDS = 1;
const CASES: readonly Case[] = [...UPSTREAM_CASES, ...SUPPLEMENTAL_CASES];

/** 10.244.a.b -> 10.251.a.b in every address and CIDR of a text. */
const relocate = (text: string): string => text.replaceAll('10.244.', '10.251.');

function load(texts: readonly { file: string; text: string }[], what: string): Cluster {
  const loaded = loadTexts(texts.map((t) => ({ file: t.file, text: relocate(t.text) })));
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  assert.ok(loaded.cluster, `${what}: manifests did not load:\n${errors.map((d) => `  ${d.file}:${d.line ?? '?'} ${d.message}`).join('\n')}`);
  return loaded.cluster;
}


const skip = labSkipReason();

describe('lab: the kernel enforces the upstream conformance cases exactly as the engine predicts', { skip }, () => {
  let root = '';
  let lab: Lab | undefined;
  let previous: readonly Manifest[] = [];
  let helperDir = '';
  const started = Date.now();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'podwall-lab-conf-'));
    const first = load(stepTexts(CASES[0], 0), 'lab up');
    lab = (await Lab.up(first, { name: LAB, stateRoot: root, podCIDR: POD_CIDR })).lab;
    helperDir = lab.dir;
    previous = CASES[0].steps[0].policies;
    assert.deepEqual(
      lab.cluster().endpoints.map((e) => e.id).filter((id) => !id.startsWith('kube-system/')),
      [...PODS],
    );
  });

  after(async () => {
    lab?.close();
    lab = undefined;
    await Lab.down(LAB, root);
    rmSync(root, { recursive: true, force: true });
    process.stderr.write(`# lab-conformance: ${CASES.length} cases in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });

  for (const c of CASES) {
    it(caseName(c), { skip: c.skip }, async () => {
      assert.ok(lab, 'the lab is not up');
      const live: Lab = lab;
      const failures: string[] = [];
      for (let s = 0; s < c.steps.length; s++) {
        const step = c.steps[s];
        const label = `step ${s + 1}/${c.steps.length}${step.by ? ` [${step.by}]` : ''}`;
        const state = load(stepTexts(c, s), label);
        await live.apply(state);
        const keep = new Set(step.policies.map(policyKey));
        const gone = previous.filter((m) => !keep.has(policyKey(m)));
        if (gone.length > 0) {
          await live.delete(load([{ file: 'previous-policies.yaml', text: gone.map((m) => `---\n${JSON.stringify(m)}\n`).join('') }], `${label} (deleting)`), new Set());
        }
        previous = step.policies;
        const held: Cluster = live.cluster();
        assert.deepEqual(
          held.policies.map((p) => `${p.namespace}/${p.name}`).sort(),
          [...keep].sort(),
          `${label}: the lab does not hold exactly the step's policies`,
        );

        const reports: ProbeReport[] = await live.probe(PROBE_PORTS, PROBE_TIMEOUT_SECONDS);
        for (const r of reports) {
          const probed = probedAmong(r, PODS);
          assert.equal(probed, PODS.length * (PODS.length - 1), `${label}: ${r.port}/${r.protocol}: expected every pair but loopback probed, got ${probed} cells (${r.notProbed.join('; ')})`);
        }
        const differences = describeDifferences(reports, held, TABLE);
        if (differences) failures.push(`${label}: ${differences}`);
        failures.push(...upstreamMismatches(c, s, reports).map((m) => `${label}: ${m}`));
      }
      assert.equal(failures.length, 0, `\n${failures.join('\n\n')}`);
    });
  }

  it('lab down leaves no namespace, link, table or helper process behind', async () => {
    assert.ok(lab, 'the lab is not up');
    lab.close();
    lab = undefined;
    await Lab.down(LAB, root);
    assert.deepEqual(leftovers(LAB, TABLE, helperDir), []);
  });
});
