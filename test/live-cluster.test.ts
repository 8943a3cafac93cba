// A running cluster answers as the manifests it was built from: a lab (three-tier and the
// calico-stars wild app) read through its API server with --kubeconfig gives the same matrix,
// check, explain and UI model as -f on those manifests. The lab adds its cluster DNS, and its
// pods carry the addresses it gave them, so the manifests side gets both too (the three-tier pods
// and Services ask for their addresses, which the lab honours); a workload's pod is named as its
// controller names it, so its name is read back as the workload's (`stars/replicationcontroller/
// backend`) before comparing. Needs root (the lab); lab name "live", pods 10.239/16, Services 10.229/16.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { CLUSTER_COLLECTIONS, connect, listCollection, loadLiveTarget } from '../src/cli/live.js';
import { main } from '../src/cli/main.js';
import type { Output } from '../src/cli/output.js';
import { Lab } from '../src/lab/index.js';
import { dnsManifests } from '../src/lab/services.js';
import { loadManifests, type Manifest } from '../src/model/index.js';
import { labSkipReason, leftovers } from './lab-support.js';

const LAB = 'live';
const POD_CIDR = '10.239.0.0/16';
const SERVICE_CIDR = '10.229.0.0/16';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STARS = '/work/shared/wild/calico-stars';
const stateRoot = mkdtempSync(join(tmpdir(), 'podwall-live-'));
const files = mkdtempSync(join(tmpdir(), 'podwall-live-files-'));
const skip = labSkipReason();

/** The seed's addresses for the three-tier example, asked for in its manifests. */
const POD_IPS: Readonly<Record<string, string>> = { web: '10.239.1.10', api: '10.239.1.11', db: '10.239.1.12' };
const CLUSTER_IPS: Readonly<Record<string, string>> = { web: '10.229.1.10', api: '10.229.1.11', db: '10.229.1.12' };

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** The CLI in this process, its output captured. */
async function podwall(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Output = { out: (t) => out.push(t), err: (t) => err.push(t), color: false };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const code = await main(args, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** The three-tier example with the addresses the lab is to give its pods and Services. */
function threeTierWithAddresses(): string {
  const dir = join(ROOT, 'examples/three-tier');
  const docs: Manifest[] = [];
  for (const f of readdirSync(dir).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const o = doc.toJS() as Manifest | null;
      if (!o) continue;
      const name = String((o.metadata as { name: string }).name);
      if (o.kind === 'Pod') docs.push({ ...o, status: { podIP: POD_IPS[name], podIPs: [{ ip: POD_IPS[name] }] } });
      else if (o.kind === 'Service') docs.push({ ...o, spec: { ...(o.spec as Manifest), clusterIP: CLUSTER_IPS[name] } });
      else docs.push(o);
    }
  }
  const path = join(files, 'three-tier.yaml');
  writeFileSync(path, docs.map((d) => stringify(d)).join('---\n'));
  return path;
}

describe('a running cluster answers as the manifests it was built from (the lab through its API server)', { skip }, () => {
  let lab: Lab;
  let kubeconfig: string;
  /** -f arguments: the manifests, and what the lab added (its DNS, at the address it got). */
  let manifests: string[];
  /** A lab pod's id -> the id of the endpoint the manifests name (a workload's pods -> the workload). */
  let rename: (text: string) => string;

  before(async () => {
    await Lab.down(LAB, stateRoot);
    const threeTier = threeTierWithAddresses();
    const built = loadManifests([threeTier, STARS]);
    assert.ok(built.cluster, built.diagnostics.map((d) => d.message).join('\n'));
    lab = (await Lab.up(built.cluster, { name: LAB, stateRoot, podCIDR: POD_CIDR, serviceCIDR: SERVICE_CIDR, apiPort: 0 })).lab;
    kubeconfig = lab.kubeconfig;
    const pods = lab.store.list().filter((o) => o.kind === 'Pod');
    const dns = dnsManifests(SERVICE_CIDR).map((m) => {
      if (m.kind !== 'Pod') return m;
      const stored = pods.find((p) => p.namespace === 'kube-system')!.manifest;
      return { ...m, status: { podIP: (stored.status as { podIP: string }).podIP } };
    });
    writeFileSync(join(files, 'lab-dns.yaml'), dns.map((d) => stringify(d)).join('---\n'));
    manifests = ['-f', threeTier, '-f', STARS, '-f', join(files, 'lab-dns.yaml')];
    const names = new Map<string, string>();
    for (const p of pods) {
      const owner = ((p.manifest.metadata as { annotations?: Record<string, string> }).annotations ?? {})['podwall.dev/owner'];
      if (owner) {
        const [kind, name] = owner.split('/');
        names.set(`${p.namespace}/${p.name}`, `${p.namespace}/${kind.toLowerCase()}/${name}`);
      }
    }
    assert.equal(names.size, 4, 'the four calico-stars workloads have one pod each');
    rename = (text) => [...names].reduce((t, [pod, workload]) => t.split(pod).join(workload), text);
  });

  after(async () => {
    lab?.close();
    await Lab.down(LAB, stateRoot);
    assert.deepEqual(leftovers(LAB, `podwall-${LAB}`, join(stateRoot, 'labs', LAB)), []);
    rmSync(stateRoot, { recursive: true, force: true });
    rmSync(files, { recursive: true, force: true });
  });

  /** The same command on the manifests and on the running cluster: same exit code, same output once named alike. */
  async function same(args: readonly string[], compare: (text: string) => unknown = (t) => t, env: Record<string, string> = {}): Promise<Run> {
    const fromFiles = await podwall([...args, ...manifests]);
    const fromCluster = await podwall([...args, '--kubeconfig', kubeconfig], env);
    assert.equal(fromCluster.code, fromFiles.code, `${args.join(' ')}: exit ${fromCluster.code} on the cluster, ${fromFiles.code} on the manifests\n${fromCluster.err}\n${fromFiles.err}`);
    assert.ok(fromFiles.out.length > 0, `${args.join(' ')} printed nothing: ${fromFiles.err}`);
    assert.deepEqual(compare(rename(fromCluster.out)), compare(fromFiles.out), args.join(' '));
    assert.doesNotMatch(fromCluster.err, /^(warning|error):/m, fromCluster.err);
    return fromCluster;
  }

  /**
   * A text matrix without its column headings (written down the page, they cannot be renamed):
   * the grid titles, the rows and the summaries, spaces collapsed.
   */
  const gridRows = (text: string): string[] =>
    text
      .split('\n')
      .map((l) => l.replace(/ +/g, ' ').trim())
      .filter((l) => /^\d+\/(TCP|UDP|SCTP)/.test(l) || /^\S+( [^\sA-Za-z0-9]){2,}$/.test(l));
  /**
   * fix prints YAML: the same documents (keys in any order) under the same comments. A policy as
   * the API server stores it has its policyTypes defaulted (Ingress, and Egress with egress
   * rules: SetDefaults_NetworkPolicy), so the manifests' are defaulted alike before comparing.
   */
  const yamlDocuments = (text: string): unknown => ({
    comments: text.split('\n').filter((l) => l.startsWith('#')),
    documents: parseAllDocuments(text).map((d) => {
      const o = d.toJS() as Manifest | null;
      const spec = o?.spec as Manifest | undefined;
      if (o?.kind !== 'NetworkPolicy' || !spec || spec.policyTypes) return o;
      return { ...o, spec: { ...spec, policyTypes: ['Ingress', ...(spec.egress ? ['Egress'] : [])] } };
    }),
  });

  test('matrix: every grid, every cell (text and JSON)', async () => {
    await same(['matrix', '-o', 'json'], (t) => JSON.parse(t));
    for (const args of [['matrix'], ['matrix', '--port', '80'], ['matrix', '--services'], ['matrix', '--summary']]) {
      const r = await same(args, gridRows);
      assert.ok(gridRows(r.out).length > 3, `${args.join(' ')}: ${r.out}`);
    }
  });

  test('matrix through pages of one item (PODWALL_PAGE_SIZE=1): the lab server honours limit and continue', async () => {
    const r = await same(['matrix', '-o', 'json'], (t) => JSON.parse(t), { PODWALL_PAGE_SIZE: '1' });
    assert.match(r.err, /notice: read context "podwall-live" \(https:\/\/127\.0\.0\.1:\d+\): 5 namespaces, 8 pods, 9 NetworkPolicies, 8 Services/);
    const conn = await connect(loadLiveTarget({ kubeconfig }, {}));
    try {
      for (const c of CLUSTER_COLLECTIONS.filter((x) => x.kind !== 'EndpointSlice')) {
        const { items, pages } = await listCollection(conn, c, { limit: 1 });
        assert.equal(pages, items.length, `${c.resource}: ${items.length} items in ${pages} pages`);
      }
    } finally {
      conn.close();
    }
  });

  const questions: readonly (readonly string[])[] = [
    ['--from', 'default/web', '--to', 'default/api', '--port', '5000'],
    ['--from', 'default/web', '--to', 'default/db', '--port', '3306'],
    ['--from', 'default/api', '--to', 'default/db', '--port', '3306'],
    ['--from', '203.0.113.7', '--to', 'default/web', '--port', '80'],
    ['--from', 'default/web', '--to', 'default/service/api', '--port', '5000'],
    ['--from', '203.0.113.7', '--to', 'default/service/web', '--port', '30080'],
    ['--from', 'default/api', '--to', 'kube-system/service/kube-dns', '--port', '53', '--protocol', 'UDP'],
    ['--from', 'default/web', '--to', CLUSTER_IPS.api, '--port', '5000'],
  ];
  test('check: the same verdicts and reasons, exit codes included', async () => {
    for (const q of questions) {
      await same(['check', ...q]);
      await same(['check', ...q, '-o', 'json'], (t) => JSON.parse(t));
    }
  });

  test('check between a workload\'s pods (the calico-stars app) answers as between the workloads', async () => {
    const stars = await podwall(['matrix', '-o', 'json', '--kubeconfig', kubeconfig]);
    const pods = (JSON.parse(stars.out) as { pods: string[] }[])[0].pods.filter((p) => /^(client|management-ui|stars)\//.test(p));
    assert.equal(pods.length, 4);
    for (const from of pods) {
      for (const to of pods) {
        if (from === to) continue;
        for (const port of ['80', '6379', '9000', '9001']) {
          const fromCluster = await podwall(['check', '--from', from, '--to', to, '--port', port, '--kubeconfig', kubeconfig]);
          const fromFiles = await podwall(['check', '--from', rename(from), '--to', rename(to), '--port', port, ...manifests]);
          assert.equal(fromCluster.code, fromFiles.code, `${from} -> ${to}:${port}\n${fromCluster.out}\n${fromFiles.out}`);
        }
      }
    }
  });

  test('explain: every endpoint of the three-tier example, and the Services', async () => {
    for (const e of ['default/web', 'default/api', 'default/db', 'kube-system/coredns']) await same(['explain', e]);
    for (const s of ['default/service/web', 'default/service/api', 'kube-system/service/kube-dns']) await same(['explain', s]);
    // The calico-stars Services ask for no ClusterIP: the lab allocated theirs, the manifests have none.
    await same(['explain', '--services'], (t) => t.replace(/clusterIP: \S+/g, 'clusterIP: _'));
    await same(['explain', 'default/web', '-o', 'json'], (t) => JSON.parse(t));
  });

  test('test --expect: the three-tier promises judged alike (text and JSON, exit codes included)', async () => {
    const expectations = join(ROOT, 'examples/expectations/three-tier.yaml');
    await same(['test', '--expect', expectations]);
    await same(['test', '--expect', expectations, '-o', 'json'], (t) => JSON.parse(t));
  });

  test('diff cluster MANIFESTS: no flow and no policy changes; only a workload is named by its pod on one side', async () => {
    const dir = mkdtempSync(join(files, 'all-'));
    for (const [i, f] of manifests.filter((_, k) => k % 2 === 1).entries()) {
      if (f === STARS) for (const name of readdirSync(STARS)) writeFileSync(join(dir, `${i}-${name}`), readFileSync(join(STARS, name)));
      else writeFileSync(join(dir, `${i}.yaml`), readFileSync(f));
    }
    const r = await podwall(['diff', 'cluster', dir, '--kubeconfig', kubeconfig]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /^cluster -> \S+: adds 4 endpoints, removes 4 endpoints$/m, r.out);
    const block = (title: string): string[] => {
      const lines = rename(r.out).split('\n');
      const start = lines.findIndex((l) => l.startsWith(title));
      const end = lines.findIndex((l, i) => i > start && l.trim() === '');
      return lines.slice(start + 1, end < 0 ? undefined : end);
    };
    assert.deepEqual(block('Endpoints removed'), block('Endpoints added'));
    assert.equal(block('Endpoints added').length, 4);
  });

  test('lint: the same findings, messages and severities (objects read from a server have no file position)', async () => {
    const findings = (t: string) => (JSON.parse(t) as { findings: { id: string; severity: string; message: string }[] }).findings.map((f) => [f.id, f.severity, f.message]);
    const fromFiles = await podwall(['lint', '-o', 'json', ...manifests]);
    const fromCluster = await podwall(['lint', '-o', 'json', '--kubeconfig', kubeconfig]);
    assert.equal(fromCluster.code, fromFiles.code, fromCluster.err);
    assert.deepEqual(findings(rename(fromCluster.out)), findings(fromFiles.out));
  });

  test('fix: the same change allows a denied flow, between pods and between a workload\'s pods', async () => {
    await same(['fix', '--from', 'default/web', '--to', 'default/db', '--port', '3306'], yamlDocuments);
    await same(['fix', '--from', 'default/web', '--to', 'default/service/db', '--port', '3306', '-o', 'patch']);
    const pods = (JSON.parse((await podwall(['matrix', '-o', 'json', '--kubeconfig', kubeconfig])).out) as { pods: string[] }[])[0].pods;
    const client = pods.find((p) => p.startsWith('client/'))!;
    const backend = pods.find((p) => p.startsWith('stars/backend'))!;
    const fromCluster = await podwall(['fix', '--from', client, '--to', backend, '--port', '6379', '--kubeconfig', kubeconfig]);
    const fromFiles = await podwall(['fix', '--from', rename(client), '--to', rename(backend), '--port', '6379', ...manifests]);
    assert.equal(fromCluster.code, fromFiles.code, fromCluster.err);
    assert.deepEqual(yamlDocuments(rename(fromCluster.out)), yamlDocuments(fromFiles.out));
  });

  test("ui: the page's model (policies, what they select, flows) is the same", async () => {
    const model = async (args: readonly string[]): Promise<Record<string, unknown>> => {
      const { runUi } = await import('../src/cli/ui.js');
      const controller = new AbortController();
      let resolveUrl: (url: string) => void = () => undefined;
      const url = new Promise<string>((resolve) => (resolveUrl = resolve));
      const io: Output = {
        out: (t) => {
          const m = /^Podwall UI: (\S+)/.exec(t);
          if (m) resolveUrl(m[1]);
        },
        err: () => undefined,
        color: false,
      };
      const opts = args[0] === '--kubeconfig' ? { namespace: 'default', kubeconfig: args[1], port: '0' } : { namespace: 'default', filename: args.filter((_, i) => i % 2 === 1), port: '0' };
      const running = runUi(opts, io, controller.signal);
      try {
        const base = await Promise.race([url, running.then(() => assert.fail('the UI stopped before serving'))]);
        const r = await fetch(new URL('/api/model', base));
        assert.equal(r.status, 200);
        return JSON.parse(rename(await r.text())) as Record<string, unknown>;
      } finally {
        controller.abort();
        await running;
      }
    };
    const fromCluster = await model(['--kubeconfig', kubeconfig]);
    const fromFiles = await model(manifests);
    for (const part of ['policies', 'flows', 'denied', 'ports']) assert.deepEqual(fromCluster[part], fromFiles[part], part);
    const ids = (m: Record<string, unknown>): string[] => (m.endpoints as { id: string }[]).map((e) => e.id);
    assert.deepEqual(ids(fromCluster), ids(fromFiles));
  });
});
