// Conformance with the upstream Kubernetes e2e NetworkPolicy tests (test/cases/upstream.ts):
// every step of every case is loaded from manifests, and for every probe both matrix
// implementations (class-based and pairwise) must give exactly the upstream truth table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadTexts } from '../src/model/index.js';
import { compileCluster, computeMatrix, computeMatrixPairwise, type Matrix } from '../src/engine/index.js';
import {
  IGNORE_LOOPBACK,
  PODS,
  SUPPLEMENTAL_CASES,
  UPSTREAM_CASES,
  caseName,
  expectedGrid,
  stepTexts,
  type Case,
  type Probe,
} from './cases/upstream.js';

type Grid = boolean[][];

function gridOf(m: Matrix): Grid {
  return PODS.map((_, i) => PODS.map((_, j) => m.allowed(i, j)));
}

/** Upstream's truth-table layout: rows are sources, columns destinations; '.' allowed, 'X' denied. */
function render(grid: Grid, cell: (allowed: boolean, i: number, j: number) => string = (a) => (a ? '.' : 'X')): string {
  const header = ['-', ...PODS].map((s) => s.padEnd(4)).join('');
  const rows = PODS.map((from, i) => [from, ...PODS.map((_, j) => cell(grid[i][j], i, j))].map((s) => s.padEnd(4)).join(''));
  return [header, ...rows].join('\n');
}

function mismatches(expected: Grid, got: Grid, ignoreDiagonal: boolean): string[] {
  const out: string[] = [];
  PODS.forEach((from, i) =>
    PODS.forEach((to, j) => {
      if (ignoreDiagonal && i === j) return;
      if (expected[i][j] !== got[i][j]) out.push(`${from} -> ${to}: expected ${expected[i][j] ? 'allowed' : 'denied'}, got ${got[i][j] ? 'allowed' : 'denied'}`);
    }),
  );
  return out;
}

function report(label: string, probe: Probe, expected: Grid, got: Grid, problems: string[]): string {
  const diff = render(got, (a, i, j) => (IGNORE_LOOPBACK && i === j ? '~' : a === expected[i][j] ? '.' : '!'));
  return [
    `${label} on ${probe.port}/${probe.protocol}${probe.by ? ` (${probe.by})` : ''}:`,
    ...problems.map((p) => `  ${p}`),
    'expected:',
    render(expected),
    'got:',
    render(got),
    "comparison ('!' differs, '~' loopback, not compared):",
    diff,
  ].join('\n');
}

function runCase(c: Case): void {
  const failures: string[] = [];
  c.steps.forEach((step, s) => {
    const stepLabel = `step ${s + 1}/${c.steps.length}${step.by ? ` [${step.by}]` : ''}`;
    const loaded = loadTexts(stepTexts(c, s));
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    assert.ok(loaded.cluster, `${stepLabel}: manifests did not load:\n${errors.map((d) => `  ${d.file}:${d.line ?? '?'} ${d.object ?? ''} ${d.field ?? ''}: ${d.message}`).join('\n')}`);
    const compiled = compileCluster(loaded.cluster);
    for (const probe of step.probes) {
      const classes = computeMatrix(compiled, probe);
      const pairwise = computeMatrixPairwise(compiled, probe);
      assert.deepEqual(
        classes.endpoints.map((e) => e.id),
        [...PODS],
        `${stepLabel}: the matrix does not list exactly the model's pods in (namespace, name) order`,
      );
      assert.deepEqual(pairwise.endpoints.map((e) => e.id), [...PODS]);
      const expected = expectedGrid(probe);
      const gotClasses = gridOf(classes);
      const gotPairwise = gridOf(pairwise);
      const classProblems = mismatches(expected, gotClasses, IGNORE_LOOPBACK);
      if (classProblems.length > 0) failures.push(report(`${stepLabel}: computeMatrix`, probe, expected, gotClasses, classProblems));
      const pairProblems = mismatches(expected, gotPairwise, IGNORE_LOOPBACK);
      if (pairProblems.length > 0) failures.push(report(`${stepLabel}: computeMatrixPairwise`, probe, expected, gotPairwise, pairProblems));
      // The two implementations must agree everywhere, loopback included.
      const disagreement = mismatches(gotPairwise, gotClasses, false);
      if (disagreement.length > 0) {
        failures.push(report(`${stepLabel}: computeMatrix vs computeMatrixPairwise (expected = pairwise)`, probe, gotPairwise, gotClasses, disagreement));
      }
    }
  });
  if (failures.length > 0) assert.fail(`${caseName(c)}\n\n${failures.join('\n\n')}`);
}

function suite(cases: readonly Case[]): void {
  const contexts = [...new Set(cases.map((c) => c.context))];
  for (const context of contexts) {
    describe(context, () => {
      for (const c of cases.filter((x) => x.context === context)) {
        it(c.title, c.skip ? { skip: c.skip } : {}, () => runCase(c));
      }
    });
  }
}

describe('upstream e2e NetworkPolicy conformance (kubernetes test/e2e/network/netpol)', () => {
  suite(UPSTREAM_CASES);
});

describe('supplemental conformance cases (not in upstream e2e)', () => {
  suite(SUPPLEMENTAL_CASES);
});

describe('the case table', () => {
  it('has unique names and well-formed steps', () => {
    const names = new Set<string>();
    for (const c of [...UPSTREAM_CASES, ...SUPPLEMENTAL_CASES]) {
      const name = caseName(c);
      assert.ok(!names.has(name), `duplicate case ${name}`);
      names.add(name);
      assert.ok(c.steps.length > 0, `${name}: no steps`);
      for (const step of c.steps) {
        assert.ok(step.probes.length > 0, `${name}: a step without probes`);
        for (const p of step.probes) assert.ok([80, 81].includes(p.port), `${name}: probe on a port the model does not serve`);
      }
    }
  });

  it('covers the 48 upstream It() blocks of network_policy.go', () => {
    assert.equal(UPSTREAM_CASES.length, 48);
  });
});
