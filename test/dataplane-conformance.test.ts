// The compiled ruleset, judged without the kernel, over every step of the upstream case table
// (test/cases/upstream.ts, restating kubernetes test/e2e/network/netpol): for every pair of pods
// on ports 80 and 81 over TCP, UDP and SCTP, the packet judge (test/support/nft-judge.ts) reading
// the ruleset must agree with the engine (the direct evaluator and the class matrix), and all with
// upstream's expectation wherever the step states one. The same for the admin tiers, over every
// step of kubernetes-sigs/network-policy-api's suite in both API versions (test/cases/admin-upstream.ts):
// every pair of house pods on every probed port and protocol, and every upstream probe. Runs
// without root, so a wrong ruleset fails CI even where the lab cannot run.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileRuleset } from '../src/dataplane/index.js';
import { compileCluster, computeMatrix, evaluateConnection, resolvePeer } from '../src/engine/index.js';
import { formatDiagnostic, loadTexts } from '../src/model/index.js';
import { ADMIN_UPSTREAM_CASES, PODS as HOUSE_PODS, housePod, stepTexts as adminStepTexts } from './cases/admin-upstream.js';
import { PODS, PORTS, PROTOCOLS, SUPPLEMENTAL_CASES, UPSTREAM_CASES, caseName, expectedAllowed, podIP, stepTexts, type PodId } from './cases/upstream.js';
import { checkInvariants, judgeConnection } from './support/nft-judge.js';

describe('the ruleset decides every upstream conformance step as the engine and upstream do (packet judge, no kernel)', () => {
  const cells = { allowed: 0, denied: 0 };
  for (const c of [...UPSTREAM_CASES, ...SUPPLEMENTAL_CASES]) {
    test(caseName(c), { skip: c.skip }, () => {
      const failures: string[] = [];
      c.steps.forEach((step, s) => {
        const built = loadTexts(stepTexts(c, s));
        assert.ok(built.cluster, built.diagnostics.map(formatDiagnostic).join('\n'));
        const compiled = compileCluster(built.cluster);
        // Every other step logged, so both forms of the deny tail are judged.
        const ruleset = compileRuleset(compiled, { log: s % 2 === 1 });
        checkInvariants(ruleset);
        const peer = (id: PodId) => {
          const r = resolvePeer(compiled, id);
          assert.ok(!('error' in r), `${id}: ${'error' in r ? r.error : ''}`);
          return r.peer;
        };
        const indexOf = new Map(compiled.cluster.endpoints.map((e, i) => [e.id, i]));
        for (const port of PORTS) {
          for (const protocol of PROTOCOLS) {
            const probe = step.probes.find((p) => p.port === port && p.protocol === protocol);
            const matrix = computeMatrix(compiled, { port, protocol });
            for (const from of PODS) {
              for (const to of PODS) {
                if (from === to) continue; // loopback never leaves the pod (upstream ignores it too)
                const judged = judgeConnection(ruleset, { src: podIP(from), dst: podIP(to), proto: protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp', port }) === 'allowed';
                const engine = evaluateConnection(compiled, { source: peer(from), destination: peer(to), port, protocol }).allowed;
                const classes = matrix.allowed(indexOf.get(from)!, indexOf.get(to)!);
                const where = `step ${s + 1}: ${from} -> ${to} ${port}/${protocol}`;
                const says = (allowed: boolean): string => (allowed ? 'allows' : 'denies');
                if (judged !== engine) failures.push(`${where}: ruleset ${says(judged)}, engine ${says(engine)}`);
                if (classes !== engine) failures.push(`${where}: class matrix ${says(classes)}, engine ${says(engine)}`);
                if (probe && expectedAllowed(probe, from, to) !== engine) failures.push(`${where}: upstream expects ${engine ? 'denied' : 'allowed'}`);
                cells[judged ? 'allowed' : 'denied']++;
              }
            }
          }
        }
      });
      assert.deepEqual(failures, []);
    });
  }

  test('the table is not vacuous: the judge saw both verdicts, thousands of times', () => {
    assert.ok(cells.allowed > 1000 && cells.denied > 1000, `${cells.allowed} allowed, ${cells.denied} denied`);
  });
});

describe('the ruleset decides every step of the network-policy-api conformance suite as the engine and upstream do (both API versions, packet judge)', () => {
  const cells = { allowed: 0, denied: 0, probes: 0 };
  for (const c of ADMIN_UPSTREAM_CASES) {
    test(`${c.version} ${c.name}`, () => {
      const failures: string[] = [];
      c.steps.forEach((step, s) => {
        const built = loadTexts(adminStepTexts(c, s));
        assert.ok(built.cluster, built.diagnostics.map(formatDiagnostic).join('\n'));
        const compiled = compileCluster(built.cluster);
        const ruleset = compileRuleset(compiled, { log: s % 2 === 1 });
        checkInvariants(ruleset);
        const endpoint = new Map(compiled.cluster.endpoints.map((e) => [e.id, e]));
        const targets = [...new Set(step.probes.map((p) => `${p.port}/${p.protocol}`))].map((t) => {
          const [port, protocol] = t.split('/');
          return { port: Number(port), protocol: protocol as 'TCP' | 'UDP' | 'SCTP' };
        });
        const says = (allowed: boolean): string => (allowed ? 'allows' : 'denies');
        for (const { port, protocol } of targets) {
          for (const from of HOUSE_PODS) {
            for (const to of HOUSE_PODS) {
              if (from.id === to.id) continue; // a pod's own address never leaves it
              const judged = judgeConnection(ruleset, { src: from.ip, dst: to.ip, proto: protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp', port }) === 'allowed';
              const engine = evaluateConnection(compiled, {
                source: { kind: 'endpoint', endpoint: endpoint.get(from.id)! },
                destination: { kind: 'endpoint', endpoint: endpoint.get(to.id)! },
                port,
                protocol,
              }).allowed;
              if (judged !== engine) failures.push(`step ${s + 1}: ${from.id} -> ${to.id} ${port}/${protocol}: ruleset ${says(judged)}, engine ${says(engine)}`);
              cells[judged ? 'allowed' : 'denied']++;
            }
          }
        }
        for (const probe of step.probes) {
          const [client, server] = [housePod(probe.client), housePod(probe.server)];
          if (client.id === server.id) continue;
          const judged = judgeConnection(ruleset, { src: client.ip, dst: server.ip, proto: probe.protocol.toLowerCase() as 'tcp' | 'udp' | 'sctp', port: probe.port }) === 'allowed';
          if (judged !== probe.allowed) failures.push(`step ${s + 1}: ${probe.client} -> ${probe.server} ${probe.port}/${probe.protocol}: ruleset ${says(judged)}, upstream expects ${probe.allowed ? 'allowed' : 'denied'}`);
          cells.probes++;
        }
      });
      assert.deepEqual(failures, []);
    });
  }

  test('the suite is not vacuous: both verdicts judged thousands of times, hundreds of upstream probes', () => {
    assert.ok(cells.allowed > 1000 && cells.denied > 1000 && cells.probes > 500, JSON.stringify(cells));
  });
});
