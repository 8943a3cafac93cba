// Differential, across nodes: every case of the upstream conformance suite (test/cases/upstream.ts)
// in a 3-node lab of each topology (routed, bridge, vxlan), each node enforcing its own pods with
// its own `podwall agent` process in its own namespace. Every probed cell must equal the engine's
// prediction and, where upstream states one, upstream's expectation.
//
// Placement: a pod's requested address places it on the node whose block holds it, so the cases'
// addresses are moved into node blocks. The first half of the cases runs with the pods in a Latin
// square (x/a, y/c, z/b on node 1; ...), the second half with the pods by name (every a on node 1,
// b on 2, c on 3): a pair on one node in the first is on two nodes in the second, so every upstream
// pair crosses nodes at least once in each topology. Each step is probed on the ports and protocols
// its upstream probes name (SCTP is judged by the engine only: no SCTP sockets here).
// Needs root, iproute2, nftables, conntrack and python3; skipped otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, type TopologyKind } from '../src/lab/index.js';
import { loadTexts, type Cluster, type Protocol } from '../src/model/index.js';
import { PODS, SUPPLEMENTAL_CASES, UPSTREAM_CASES, caseName, podIP, stepTexts, type Case, type Manifest, type PodId } from './cases/upstream.js';
import { describeDifferences, labSkipReason, leftovers, policyKey, probedAmong, upstreamMismatches } from './lab-support.js';

const CASES: readonly Case[] = [...UPSTREAM_CASES, ...SUPPLEMENTAL_CASES];
const SWITCH_AT = Math.ceil(CASES.length / 2);
const PROBE_TIMEOUT_SECONDS = 1;

/** Per topology: its lab's name and ranges (apart from every other lab test's). */
const ALL_LABS: readonly { topology: TopologyKind; name: string; podOctet: number; serviceCIDR: string }[] = [
  { topology: 'routed', name: 'ncr', podOctet: 233, serviceCIDR: '10.220.0.0/16' },
  { topology: 'bridge', name: 'ncb', podOctet: 234, serviceCIDR: '10.221.0.0/16' },
  { topology: 'vxlan', name: 'ncv', podOctet: 235, serviceCIDR: '10.222.0.0/16' },
];
/** PODWALL_NODE_TOPOLOGIES=bridge,vxlan runs only those (all three by default). */
const only = process.env.PODWALL_NODE_TOPOLOGIES?.split(',');
const LABS = ALL_LABS.filter((l) => !only || only.includes(l.topology));

type Placement = (pod: PodId) => number;
const nsIndex = (pod: PodId): number => ['x', 'y', 'z'].indexOf(pod.split('/')[0]);
const nameIndex = (pod: PodId): number => ['a', 'b', 'c'].indexOf(pod.split('/')[1]);
/** Node (0-based) per pod: a Latin square, then by name. */
const LATIN: Placement = (pod) => (nsIndex(pod) + nameIndex(pod)) % 3;
const BY_NAME: Placement = (pod) => nameIndex(pod);

/** The pod's address in its node's block (node k holds 10.<octet>.k.0/24). */
const address = (octet: number, placement: Placement, pod: PodId): string => `10.${octet}.${placement(pod)}.${10 + nsIndex(pod) * 3 + nameIndex(pod)}`;

/** Every pod address of the cases' texts moved to where the placement puts the pod. */
function relocate(text: string, octet: number, placement: Placement): string {
  const moved = new Map(PODS.map((p) => [podIP(p), address(octet, placement, p)]));
  // A namespace's block (10.244.N.0/24) no longer holds that namespace's pods alone: it becomes the
  // whole pod CIDR (upstream's table is then not compared, see namesPodRange; kernel = engine is).
  return text
    .replace(/10\.244\.\d+\.0\/24/g, `10.${octet}.0.0/16`)
    .replace(/10\.244\.\d+\.\d+(?![\d.])/g, (ip) => moved.get(ip) ?? ip.replace('10.244.', `10.${octet}.`));
}

/** A case whose policies name a range of pod addresses (not one pod's): moving the pods changes what it selects, so upstream's table no longer applies. */
const namesPodRange = (c: Case): boolean => c.steps.some((s) => /10\.244\.\d+\.\d+\/(?!32\b)\d+/.test(JSON.stringify(s.policies)));


function load(texts: readonly { file: string; text: string }[], octet: number, placement: Placement, what: string): Cluster {
  const loaded = loadTexts(texts.map((t) => ({ file: t.file, text: relocate(t.text, octet, placement) })));
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  assert.ok(loaded.cluster, `${what}: manifests did not load:\n${errors.map((d) => `  ${d.file}:${d.line ?? '?'} ${d.message}`).join('\n')}`);
  return loaded.cluster;
}


/** The ports and protocols a step's upstream probes name (TCP 80 when they name only SCTP). */
function stepPorts(c: Case, stepIndex: number): { port: number; protocol: Protocol }[] {
  const seen = new Map<string, { port: number; protocol: Protocol }>();
  for (const p of c.steps[stepIndex].probes) if (p.protocol !== 'SCTP') seen.set(`${p.port}/${p.protocol}`, { port: p.port, protocol: p.protocol });
  return seen.size > 0 ? [...seen.values()] : [{ port: 80, protocol: 'TCP' }];
}

const skip = labSkipReason();

describe('node lab: 3 nodes, each with its own agent, enforce the upstream conformance cases as the engine predicts', { skip }, () => {
  for (const spec of LABS) {
    describe(`${spec.topology} topology`, () => {
      let root = '';
      let lab: Lab | undefined;
      let dir = '';
      let previous: readonly Manifest[] = [];
      let placement: Placement = LATIN;
      const crossed = new Set<string>();
      let started = 0;

      before(async () => {
        started = Date.now();
        root = mkdtempSync(join(tmpdir(), `podwall-${spec.name}-`));
        const first = load(stepTexts(CASES[0], 0), spec.podOctet, placement, 'lab up');
        lab = (await Lab.up(first, { name: spec.name, stateRoot: root, podCIDR: `10.${spec.podOctet}.0.0/16`, serviceCIDR: spec.serviceCIDR, apiPort: 0, nodes: 3, topology: spec.topology })).lab;
        dir = lab.dir;
        previous = CASES[0].steps[0].policies;
      });

      after(async () => {
        lab?.close();
        lab = undefined;
        await Lab.down(spec.name, root);
        rmSync(root, { recursive: true, force: true });
        process.stderr.write(`# lab-nodes-conformance (${spec.topology}): ${CASES.length} cases in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      });

      it('the lab has three Ready nodes, and the pods sit where the placement puts them', async () => {
        assert.ok(lab);
        const nodes = await lab.list('Node');
        assert.deepEqual(
          nodes.map((n) => [(n.metadata as Manifest).name, ((n.status as Manifest).conditions as Manifest[]).find((c) => c.type === 'Ready')?.status]),
          [1, 2, 3].map((i) => [`${spec.name}-node${i}`, 'True']),
        );
      });

      CASES.forEach((c, index) => {
        it(caseName(c), { skip: c.skip }, async () => {
          assert.ok(lab, 'the lab is not up');
          const live: Lab = lab;
          if (index === SWITCH_AT) {
            // Pods cannot move (spec.nodeName is immutable): the pods go, and come back placed by name.
            const pods = load(stepTexts(c, 0), spec.podOctet, placement, 'pods (deleting)');
            await live.delete({ ...pods, policies: [] }, new Set());
            placement = BY_NAME;
          }
          const failures: string[] = [];
          for (let s = 0; s < c.steps.length; s++) {
            const step = c.steps[s];
            const label = `step ${s + 1}/${c.steps.length}${step.by ? ` [${step.by}]` : ''}`;
            await live.apply(load(stepTexts(c, s), spec.podOctet, placement, label));
            const keep = new Set(step.policies.map(policyKey));
            const gone = previous.filter((m) => !keep.has(policyKey(m)));
            if (gone.length > 0) await live.delete(load([{ file: 'previous-policies.yaml', text: gone.map((m) => `---\n${JSON.stringify(m)}\n`).join('') }], spec.podOctet, placement, `${label} (deleting)`), new Set());
            previous = step.policies;
            const held = live.cluster();
            assert.deepEqual(held.policies.map((p) => `${p.namespace}/${p.name}`).sort(), [...keep].sort(), `${label}: the lab does not hold exactly the step's policies`);
            const nodeOf = new Map(held.endpoints.map((e) => [e.id, e.nodeName]));
            for (const p of PODS) assert.equal(nodeOf.get(p), `${spec.name}-node${placement(p) + 1}`, `${label}: ${p} is not on its node`);
            for (const a of PODS) for (const b of PODS) if (a !== b && nodeOf.get(a) !== nodeOf.get(b)) crossed.add([a, b].sort().join(' '));

            const reports = await live.probe(stepPorts(c, s), PROBE_TIMEOUT_SECONDS);
            for (const r of reports) {
              const probed = probedAmong(r, PODS);
              assert.equal(probed, PODS.length * (PODS.length - 1), `${label}: ${r.port}/${r.protocol}: expected every pair but loopback probed, got ${probed} cells (${r.notProbed.join('; ')})`);
            }
            const differences = describeDifferences(reports, held, 'podwall');
            if (differences) failures.push(`${label}: ${differences}`);
            if (!namesPodRange(c)) failures.push(...upstreamMismatches(c, s, reports).map((m) => `${label}: ${m}`));
          }
          assert.equal(failures.length, 0, `\n${failures.join('\n\n')}`);
        });
      });

      it('every pair of pods crossed nodes in at least one case', () => {
        assert.equal(crossed.size, (PODS.length * (PODS.length - 1)) / 2, `pairs that never crossed: ${PODS.flatMap((a) => PODS.filter((b) => a < b && !crossed.has(`${a} ${b}`)).map((b) => `${a} ${b}`)).join(', ')}`);
      });

      it('lab down leaves no namespace, link, table or process behind', async () => {
        assert.ok(lab, 'the lab is not up');
        lab.close();
        lab = undefined;
        await Lab.down(spec.name, root);
        assert.deepEqual(leftovers(spec.name, `podwall-${spec.name}`, dir), []);
      });
    });
  }
});
