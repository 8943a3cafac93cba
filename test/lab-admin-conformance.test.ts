// Differential, with real packets: every case of kubernetes-sigs/network-policy-api's suite
// (test/cases/admin-upstream.ts, both API versions) is applied to a lab of the houses and probed
// over TCP and UDP; the kernel must answer every probed cell as the engine predicts, and every
// upstream probe as upstream expects.
//
// One lab per API version, the two running side by side: `anp` (v1alpha1 AdminNetworkPolicy and
// BaselineAdminNetworkPolicy; houses at the cases' 10.231.x.y, pool 10.230.0.0/16, Services
// 10.245.0.0/16) and `cnp` (v1alpha2 ClusterNetworkPolicy; every address and CIDR of the texts moved
// to 10.242.x.y, pool 10.241.0.0/16, Services 10.253.0.0/16): ranges no other lab test uses. In each, the houses come up once, then every step
// of every case is applied as a complete state (namespace labels, NetworkPolicies, admin policies)
// and what the previous state had and this one has not is deleted, as a user would change a live
// lab. Consecutive steps with the same state (upstream's sub-tests that patch nothing) are applied
// and probed once, on every TCP/UDP port any of them probes. Not probed here, with the reason:
// - SCTP (no SCTP sockets on this machine): a state with SCTP rules must be taken by the kernel
//   (the lab applies its table with nft -f, which compiles it) with SCTP matches in it; a state
//   whose upstream probes are all SCTP is not probed (the other protocols' answers in states with
//   SCTP rules are probed wherever a TCP or UDP probe shares the state: the gress and CIDR tests);
// - the hostNetwork centaur pods (the node itself: no pod network namespace to probe from or into):
//   the node-peer probes are the engine's alone (test/admin-conformance.test.ts).
// Needs root, iproute2, nftables, conntrack and python3; skipped otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, type ProbeReport } from '../src/lab/index.js';
import { loadTexts, type Cluster, type Manifest } from '../src/model/index.js';
import type { PortProtocol } from '../src/engine/index.js';
import { ADMIN_UPSTREAM_CASES, API_VERSIONS, PODS, housePod, stepManifests, stepTexts, type AdminCase, type AdminProbe, type ApiVersion } from './cases/admin-upstream.js';
import { describeDifferences, labSkipReason, leftovers, listTable, probedAmong, renderReport } from './lab-support.js';

interface LabPlan {
  readonly name: string;
  readonly podCIDR: string;
  readonly serviceCIDR: string;
  /** Moves the cases' addresses (10.231.x.y) where this lab keeps its houses. */
  readonly relocate: (text: string) => string;
}
const LABS: Readonly<Record<ApiVersion, LabPlan>> = {
  v1alpha1: { name: 'anp', podCIDR: '10.230.0.0/16', serviceCIDR: '10.245.0.0/16', relocate: (text) => text },
  v1alpha2: { name: 'cnp', podCIDR: '10.241.0.0/16', serviceCIDR: '10.253.0.0/16', relocate: (text) => text.replaceAll('10.231.', '10.242.') },
};
const PROBE_TIMEOUT_SECONDS = 1;
/** The pods a lab can probe between: every house pod but the hostNetwork centaurs. */
const PROBED_PODS = PODS.filter((p) => !p.hostNetwork).map((p) => p.id);
const POLICY_KINDS = new Set(['NetworkPolicy', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'ClusterNetworkPolicy']);

const probedInLab = (p: AdminProbe): boolean => p.protocol !== 'SCTP' && !housePod(p.server).hostNetwork && !housePod(p.client).hostNetwork;
const stepKey = (c: AdminCase, s: number): string => `${c.name}#${s}`;

/** One applied state: its text, the ports probed in it (those of every step sharing it), whether it has SCTP rules. */
interface StateGroup {
  readonly key: string;
  readonly ports: readonly PortProtocol[];
  readonly sctpRules: boolean;
}

/** Every (case, step) of one version in order, grouped where the state does not change. */
function stateGroups(cases: readonly AdminCase[]): Map<string, StateGroup> {
  const byStep = new Map<string, StateGroup>();
  let run: { key: string; steps: string[]; probes: AdminProbe[]; sctpRules: boolean } | undefined;
  const close = (): void => {
    if (!run) return;
    const ports = [...new Map(run.probes.filter(probedInLab).map((p) => [`${p.port}/${p.protocol}`, { port: p.port, protocol: p.protocol }])).values()];
    const group = { key: run.key, ports, sctpRules: run.sctpRules };
    for (const s of run.steps) byStep.set(s, group);
  };
  for (const c of cases) {
    c.steps.forEach((step, s) => {
      const key = stepTexts(c, s)[0].text;
      if (run?.key !== key) {
        close();
        run = { key, steps: [], probes: [], sctpRules: step.policies.some((p) => JSON.stringify(p).includes('"SCTP"')) };
      }
      run.steps.push(stepKey(c, s));
      run.probes.push(...step.probes);
    });
  }
  close();
  return byStep;
}

const policyKey = (m: Manifest): string => {
  const meta = m.metadata as { namespace?: string; name: string };
  return `${m.kind as string}/${meta.namespace ?? ''}/${meta.name}`;
};
const heldPolicies = (cluster: Cluster): string[] =>
  [...cluster.policies.map((p) => `NetworkPolicy/${p.namespace}/${p.name}`), ...(cluster.adminPolicies ?? []).map((p) => `${p.kind}//${p.name}`)].sort();

/** Upstream probes the kernel answered otherwise (SCTP and hostNetwork probes are not run here). */
function upstreamMismatches(probes: readonly AdminProbe[], reports: readonly ProbeReport[]): string[] {
  const out: string[] = [];
  for (const probe of probes.filter(probedInLab)) {
    const r = reports.find((x) => x.port === probe.port && x.protocol === probe.protocol);
    assert.ok(r, `no probe report for ${probe.port}/${probe.protocol}`);
    const [from, to] = [housePod(probe.client).id, housePod(probe.server).id];
    const got = r.allowed[r.pods.indexOf(from)]?.[r.pods.indexOf(to)];
    const cell = `${probe.client} -> ${probe.server} ${probe.port}/${probe.protocol}`;
    if (got === null || got === undefined) out.push(`${cell}: not decided by the kernel (${[...r.notProbed, ...r.inconclusive.map((x) => x.reason)].join('; ')})`);
    else if (got !== probe.allowed) out.push(`${cell}: upstream ${probe.allowed ? 'allowed' : 'denied'}, kernel ${got ? 'allowed' : 'denied'}\n${renderReport(r)}`);
  }
  return out;
}

/** One version's cases, run in order in that version's lab. */
class VersionRun {
  readonly cases: readonly AdminCase[];
  private readonly groups: Map<string, StateGroup>;
  private readonly table: string;
  private root = '';
  private dir = '';
  private lab: Lab | undefined;
  /** The state the lab holds: its key ('' while it is being changed), its policies, what probing it found. */
  private current: { key: string; policies: readonly Manifest[]; reports?: ProbeReport[]; differences?: string } = { key: '', policies: [] };
  private applied = 0;
  private readonly started = Date.now();

  constructor(
    readonly version: ApiVersion,
    private readonly plan: LabPlan,
  ) {
    this.cases = ADMIN_UPSTREAM_CASES.filter((c) => c.version === version);
    this.groups = stateGroups(this.cases);
    this.table = `podwall-${plan.name}`;
  }

  private load(texts: readonly { file: string; text: string }[], what: string): Cluster {
    const loaded = loadTexts(texts.map((t) => ({ file: t.file, text: this.plan.relocate(t.text) })));
    const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
    assert.ok(loaded.cluster && errors.length === 0, `${what}: manifests did not load:\n${errors.map((d) => `  ${d.file}:${d.line ?? '?'} ${d.message}`).join('\n')}`);
    return loaded.cluster;
  }

  async up(): Promise<void> {
    this.root = mkdtempSync(join(tmpdir(), `podwall-lab-${this.plan.name}-`));
    const first = this.cases[0];
    this.lab = (await Lab.up(this.load(stepTexts(first, 0), 'lab up'), { name: this.plan.name, stateRoot: this.root, podCIDR: this.plan.podCIDR, serviceCIDR: this.plan.serviceCIDR, apiPort: 0 })).lab;
    this.dir = this.lab.dir;
    this.current = { key: '', policies: stepManifests(first, 0).filter((m) => POLICY_KINDS.has(m.kind as string)) };
  }

  async down(): Promise<string[]> {
    this.lab?.close();
    this.lab = undefined;
    if (this.root) await Lab.down(this.plan.name, this.root);
    const left = this.dir ? leftovers(this.plan.name, this.table, this.dir) : [];
    if (this.root) rmSync(this.root, { recursive: true, force: true });
    this.root = '';
    process.stderr.write(`# lab-admin-conformance ${this.version}: ${this.cases.length} cases, ${this.applied} states applied, in ${((Date.now() - this.started) / 1000).toFixed(1)} s\n`);
    return left;
  }

  /** Brings the lab to the step's state (unless it holds it already) and probes it once. */
  private async reach(c: AdminCase, s: number, label: string): Promise<{ reports: ProbeReport[]; differences?: string }> {
    assert.ok(this.lab, 'the lab is not up');
    const live: Lab = this.lab;
    const group = this.groups.get(stepKey(c, s))!;
    if (this.current.key === group.key && this.current.reports) return { reports: this.current.reports, differences: this.current.differences };
    const policies = stepManifests(c, s).filter((m) => POLICY_KINDS.has(m.kind as string));
    const previous = this.current.policies;
    this.current = { key: '', policies: [...previous, ...policies] };
    await live.apply(this.load(stepTexts(c, s), label));
    const keep = new Set(policies.map(policyKey));
    const gone = previous.filter((m) => !keep.has(policyKey(m)));
    if (gone.length > 0) {
      await live.delete(this.load([{ file: 'previous-policies.yaml', text: gone.map((m) => `---\n${JSON.stringify(m)}\n`).join('') }], `${label} (deleting)`), new Set());
    }
    this.current = { key: '', policies };
    const held = live.cluster();
    assert.deepEqual(heldPolicies(held), [...keep].sort(), `${label}: the lab does not hold exactly the step's policies`);
    // The kernel took the table (the lab applies it with nft -f, which compiles it): its SCTP rules must be in it.
    if (group.sctpRules) assert.match(listTable(this.table), /\bsctp\b/, `${label}: the state has SCTP rules, but the kernel's table matches no SCTP`);
    const reports = group.ports.length > 0 ? await live.probe(group.ports, PROBE_TIMEOUT_SECONDS) : [];
    for (const r of reports) {
      const probed = probedAmong(r, PROBED_PODS);
      const expected = PROBED_PODS.length * (PROBED_PODS.length - 1);
      assert.equal(probed, expected, `${label}: ${r.port}/${r.protocol}: ${probed} of the ${expected} cells between house pods probed (${[...r.notProbed, ...r.inconclusive.map((x) => `${x.from} -> ${x.to}: ${x.reason}`)].join('; ')})`);
    }
    this.applied++;
    const found = { reports, differences: describeDifferences(reports, held, this.table) };
    this.current = { key: group.key, policies, ...found };
    return found;
  }

  async check(c: AdminCase): Promise<void> {
    const failures: string[] = [];
    for (let s = 0; s < c.steps.length; s++) {
      const step = c.steps[s];
      const label = `step ${s + 1}/${c.steps.length}${step.by ? ` [${step.by}]` : ''}`;
      const { reports, differences } = await this.reach(c, s, label);
      if (differences) failures.push(`${label}: ${differences}`);
      failures.push(...upstreamMismatches(step.probes, reports).map((m) => `${label}: ${m}`));
    }
    assert.equal(failures.length, 0, `\n${failures.join('\n\n')}`);
  }
}

const skip = labSkipReason();

describe("lab: the kernel enforces network-policy-api's conformance cases as the engine predicts", { skip, concurrency: true }, () => {
  for (const version of API_VERSIONS) {
    const run = new VersionRun(version, LABS[version]);
    // The two labs run side by side; each one's cases in order (a case's state follows its test's earlier sub-tests).
    describe(`${version} in lab ${LABS[version].name}`, { concurrency: 1 }, () => {
      let left: string[] | undefined;
      before(() => run.up());
      after(async () => {
        if (left === undefined) await run.down();
      });
      for (const c of run.cases) it(c.name, () => run.check(c));
      it('lab down leaves no namespace, link, table or helper process behind', async () => {
        left = await run.down();
        assert.deepEqual(left, []);
      });
    });
  }
});
