// Conformance with kubernetes-sigs/network-policy-api's own suite (test/cases/admin-upstream.ts),
// both API versions: every step of every upstream sub-test is loaded from its manifests, every
// upstream probe is judged by evaluateConnection, and both matrix implementations (class-based
// and pairwise) must give the same answer on every probed cell and agree with each other on the
// whole grid of every probed port.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadTexts, type Cluster, type Endpoint } from '../src/model/index.js';
import {
  compileCluster,
  computeMatrix,
  computeMatrixPairwise,
  evaluateConnection,
  formatAdminRuleRef,
  type CompiledCluster,
  type DirectionVerdict,
  type Matrix,
} from '../src/engine/index.js';
import {
  ADMIN_UPSTREAM_CASES,
  API_VERSIONS,
  PODS,
  UPSTREAM_COUNTS,
  UPSTREAM_REVISION,
  housePod,
  renderPolicy,
  stepTexts,
  type AdminCase,
  type AdminProbe,
} from './cases/admin-upstream.js';

function loadStep(c: AdminCase, s: number): Cluster {
  const loaded = loadTexts(stepTexts(c, s));
  const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
  assert.ok(
    loaded.cluster && errors.length === 0,
    `step ${s + 1}: manifests did not load:\n${errors.map((d) => `  ${d.file}:${d.line ?? '?'} ${d.object ?? ''} ${d.field ?? ''}: ${d.message}`).join('\n')}`,
  );
  // A kind the loader skipped would leave every probe allowed: the policies must all be there, as written.
  const want = c.steps[s].policies.map((p) => `${renderPolicy(p, c.version).kind as string}/${p.name}`).sort();
  const got = (loaded.cluster.adminPolicies ?? []).map((p) => `${p.kind}/${p.name}`).sort();
  assert.deepEqual(got, want, `step ${s + 1}: the loaded admin policies are not the step's`);
  return loaded.cluster;
}

const sideText = (d: DirectionVerdict): string =>
  `${d.direction} ${d.allowed ? 'allowed' : 'denied'} by tier ${d.tier}${d.decidedBy ? ` (${formatAdminRuleRef(d.decidedBy)})` : ''}${
    d.passedBy.length > 0 ? `; passed by ${d.passedBy.map(formatAdminRuleRef).join(', ')}` : ''
  }${d.notes.length > 0 ? `; notes: ${d.notes.join('; ')}` : ''}`;

const probeText = (p: AdminProbe): string => `${p.client} -> ${p.server} ${p.port}/${p.protocol}: upstream expects ${p.allowed ? 'allowed' : 'denied'}`;

function endpointIndex(endpoints: readonly Endpoint[], id: string): number {
  const i = endpoints.findIndex((e) => e.id === id);
  assert.ok(i >= 0, `no endpoint ${id}`);
  return i;
}

/** What the engine got wrong in one state, or nothing. */
function judgeStep(c: AdminCase, s: number, compiled: CompiledCluster): string[] {
  const failures: string[] = [];
  const step = c.steps[s];
  const endpoints = compiled.cluster.endpoints;
  const matrices = new Map<string, { classes: Matrix; pairwise: Matrix }>();
  for (const probe of step.probes) {
    const source = endpoints[endpointIndex(endpoints, housePod(probe.client).id)];
    const destination = endpoints[endpointIndex(endpoints, housePod(probe.server).id)];
    const verdict = evaluateConnection(compiled, {
      source: { kind: 'endpoint', endpoint: source },
      destination: { kind: 'endpoint', endpoint: destination },
      port: probe.port,
      protocol: probe.protocol,
    });
    if (verdict.allowed !== probe.allowed) failures.push(`${probeText(probe)}, evaluateConnection says ${verdict.allowed ? 'allowed' : 'denied'}\n    ${sideText(verdict.egress)}\n    ${sideText(verdict.ingress)}`);
    const key = `${probe.port}/${probe.protocol}`;
    if (!matrices.has(key)) {
      const target = { port: probe.port, protocol: probe.protocol };
      matrices.set(key, { classes: computeMatrix(compiled, target), pairwise: computeMatrixPairwise(compiled, target) });
    }
    const { classes, pairwise } = matrices.get(key)!;
    for (const [label, m] of [['computeMatrix', classes], ['computeMatrixPairwise', pairwise]] as const) {
      const got = m.allowed(endpointIndex(m.endpoints, source.id), endpointIndex(m.endpoints, destination.id));
      if (got !== probe.allowed) failures.push(`${probeText(probe)}, ${label} says ${got ? 'allowed' : 'denied'}`);
    }
  }
  // The two implementations must agree on every cell of every probed port, not only the probed ones.
  for (const [key, { classes, pairwise }] of matrices) {
    const cells: string[] = [];
    classes.endpoints.forEach((from, i) =>
      classes.endpoints.forEach((to, j) => {
        if (classes.allowed(i, j) !== pairwise.allowed(i, j)) cells.push(`${from.id} -> ${to.id}: computeMatrix ${classes.allowed(i, j)}, pairwise ${pairwise.allowed(i, j)}`);
      }),
    );
    if (cells.length > 0) failures.push(`${key}: computeMatrix and computeMatrixPairwise disagree in ${cells.length} cells:\n    ${cells.slice(0, 10).join('\n    ')}`);
  }
  return failures;
}

function runCase(c: AdminCase): void {
  const failures: string[] = [];
  c.steps.forEach((step, s) => {
    const compiled = compileCluster(loadStep(c, s));
    const label = `step ${s + 1}/${c.steps.length}${step.by ? ` [${step.by}]` : ''}`;
    failures.push(...judgeStep(c, s, compiled).map((f) => `${label}: ${f}`));
  });
  if (failures.length > 0) assert.fail(`${c.name} (${c.version}, conformance/tests/${c.file})\n${failures.join('\n')}`);
}

describe('upstream conformance of policy.networking.k8s.io (kubernetes-sigs/network-policy-api conformance/tests)', () => {
  for (const version of API_VERSIONS) {
    describe(`${version} at ${UPSTREAM_REVISION[version]}`, () => {
      const cases = ADMIN_UPSTREAM_CASES.filter((c) => c.version === version);
      for (const test of [...new Set(cases.map((c) => c.test))]) {
        describe(test, () => {
          for (const c of cases.filter((x) => x.test === test)) it(c.subtest, () => runCase(c));
        });
      }
    });
  }
});

describe('the admin case table', () => {
  it('restates every upstream test and sub-test of both versions, each once', () => {
    for (const version of API_VERSIONS) {
      const cases = ADMIN_UPSTREAM_CASES.filter((c) => c.version === version);
      assert.equal(new Set(cases.map((c) => c.test)).size, UPSTREAM_COUNTS[version].tests, version);
      assert.equal(cases.length, UPSTREAM_COUNTS[version].subtests, version);
    }
    const names = ADMIN_UPSTREAM_CASES.map((c) => c.name);
    assert.equal(new Set(names).size, names.length, 'case names repeat');
  });

  it('renders each version in its own kinds and words (Allow and BANP in v1alpha1, Accept and tiers in v1alpha2)', () => {
    for (const c of ADMIN_UPSTREAM_CASES) {
      for (const step of c.steps) {
        for (const policy of step.policies) {
          const m = renderPolicy(policy, c.version);
          const text = JSON.stringify(m);
          if (c.version === 'v1alpha1') {
            assert.equal(m.apiVersion, 'policy.networking.k8s.io/v1alpha1');
            assert.equal(m.kind, policy.tier === 'Admin' ? 'AdminNetworkPolicy' : 'BaselineAdminNetworkPolicy');
            assert.ok(!text.includes('"Accept"') && !text.includes('"protocols"'), `${c.name}: v1alpha2 words in a v1alpha1 policy`);
          } else {
            assert.equal(m.apiVersion, 'policy.networking.k8s.io/v1alpha2');
            assert.equal(m.kind, 'ClusterNetworkPolicy');
            assert.equal((m.spec as { tier: string }).tier, policy.tier);
            assert.ok(!text.includes('"Allow"') && !text.includes('"ports"'), `${c.name}: v1alpha1 words in a v1alpha2 policy`);
          }
        }
      }
    }
  });

  it('probes only house pods, on ports the server declares', () => {
    // The houses' pods and ports are the same in every case of a version.
    const houses = new Map(API_VERSIONS.map((v) => [v, loadTexts(stepTexts(ADMIN_UPSTREAM_CASES.find((c) => c.version === v)!, 0)).cluster!]));
    for (const c of ADMIN_UPSTREAM_CASES) {
      const cluster = houses.get(c.version)!;
      for (const step of c.steps) {
        assert.ok(step.probes.length > 0, `${c.name}: a step without probes`);
        for (const probe of step.probes) {
          const server = cluster.endpoints.find((e) => e.id === housePod(probe.server).id);
          assert.ok(server && PODS.some((x) => x.name === probe.client), `${c.name}: ${probeText(probe)} names a pod the houses do not have`);
          assert.ok(
            server.ports.some((x) => x.containerPort === probe.port && x.protocol === probe.protocol),
            `${c.name}: ${probeText(probe)}: the server declares no such port`,
          );
        }
      }
    }
  });
});
