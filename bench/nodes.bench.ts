// Node lab benchmark (not a test): a policy change -> enforced on every node, probed, against the
// single-node lab in the same run; and each node agent's memory per cluster pod.
//
//   npm run bench -- --only nodes                          (root; about 2 minutes)
//   node --import tsx bench/nodes.bench.ts --rounds 20 --pods 1000 --topologies routed,vxlan
//
// 1. Change -> enforced. A lab with 8 pods serving port 80 (namespaces `client` and `target`, one
//    pod of each per node, pinned with spec.nodeName), once as the single-node lab (the baseline)
//    and once per --topologies (default routed,vxlan) as a 4-node lab. Every client pod probes the
//    target pod of the NEXT node (connload.py flip, a TCP connect + read with a 0.3 s timeout, again and
//    again), so each measured pair crosses nodes. A round writes, through the lab API server with
//    the lab's own client, a NetworkPolicy denying all ingress to namespace `target`, then deletes
//    it; a change's latency runs from the moment the API server's answer to the write arrives to the
//    end of the first probe that sees the new verdict, on the LAST of the pairs to see it.
// 2. Memory. A 4-node lab with no pods but the cluster DNS, then --pods pods (default 1,000, placed
//    by the lab's spreading): each agent's /status memory (rss, heapUsed; each reading after a full
//    collection in the agent, through its inspector; median of --readings) before and after, the
//    growth divided by the cluster's pods, since each agent watches and holds every pod of the
//    cluster while enforcing only its own (goal: under 5 KiB per cluster pod).
//
// Everything runs in a private network namespace (the process re-executes itself under
// `unshare --net`, as the control plane benchmark does; --host-netns to skip); Lab.down in finally.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../src/dataplane/index.js';
import { LabApiClient } from '../src/lab/api/client.js';
import { Lab, agentStatus, labCredentials, TOPOLOGIES, type TopologyKind } from '../src/lab/index.js';
import { loadTexts, type Cluster } from '../src/model/index.js';
import { toYAML } from './generate.js';
import { flag } from './flags.js';
import { median, now } from './measure.js';
import { Prober } from './prober.js';
import { reexecInPrivateNetns } from './netns.js';

const CONNLOAD = fileURLToPath(new URL('./connload.py', import.meta.url));
const NODES = 4;
/** Measured pairs: one client per node. */
const PAIRS = NODES;
const PORT = 80;
const KiB = 1024;
const MEMORY_GOAL_KIB = 5;
/** Lab names, pod and service CIDRs: the baseline's, the node labs', the memory lab's. */
const BASELINE = { name: 'bn1', podCIDR: '10.218.0.0/16', serviceCIDR: '10.216.0.0/16' };
const NODE_LAB = { name: 'bn4', podCIDR: '10.219.0.0/16', serviceCIDR: '10.217.0.0/16' };
const MEMORY_LAB = { name: 'bnm', podCIDR: '10.219.0.0/16', serviceCIDR: '10.217.0.0/16' };
const POLICY_PATH = '/apis/networking.k8s.io/v1/namespaces/target/networkpolicies';

interface Options {
  rounds: number;
  pods: number;
  readings: number;
  topologies: TopologyKind[];
  skipMemory: boolean;
  skipLatency: boolean;
  hostNetns: boolean;
}

/** Flags this benchmark knows; others (meant for the other benchmarks) are ignored. */
function parseArgs(argv: readonly string[]): Options {
  const get = (name: string): string | undefined => flag(argv, name);
  const topologies = (get('topologies') ?? 'routed,vxlan').split(',').filter(Boolean) as TopologyKind[];
  for (const t of topologies) if (!TOPOLOGIES.includes(t)) throw new Error(`--topologies ${t}: expected some of ${TOPOLOGIES.join(', ')}`);
  return {
    rounds: Number(get('rounds') ?? 20),
    pods: Number(get('pods') ?? 1000),
    readings: Number(get('readings') ?? 3),
    topologies,
    skipMemory: argv.includes('--no-memory'),
    skipLatency: argv.includes('--no-latency'),
    hostNetns: argv.includes('--host-netns'),
  };
}

const hr = (): bigint => process.hrtime.bigint();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 2 : ms < 100 ? 1 : 0)} ms`);
const kib = (bytes: number): string => `${(bytes / KiB).toFixed(2)} KiB`;
const mib = (bytes: number): string => `${(bytes / KiB / KiB).toFixed(1)} MiB`;

/** The p-th percentile (nearest rank). */
function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

type Doc = Parameters<typeof toYAML>[0][number];

function load(texts: { file: string; text: string }[]): Cluster {
  const built = loadTexts(texts);
  if (!built.cluster) throw new Error(`manifests do not load: ${built.diagnostics.slice(0, 5).map((d) => d.message).join('; ')}`);
  return built.cluster;
}

const pod = (namespace: string, name: string, nodeName?: string): Doc => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels: { app: namespace } },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'web', image: 'example/web', ports: [{ containerPort: PORT }] }] },
});

/** client-i and target-i on node i (the single-node lab ignores spec.nodeName); client-i probes target-(i+1). */
function latencyCluster(lab: string): { cluster: Cluster; pairs: { src: string; dst: string }[] } {
  const docs: Doc[] = ['client', 'target'].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  const pairs: { src: string; dst: string }[] = [];
  for (let i = 1; i <= NODES; i++) {
    docs.push(pod('client', `client-${i}`, `${lab}-node${i}`), pod('target', `target-${i}`, `${lab}-node${i}`));
    pairs.push({ src: `client/client-${i}`, dst: `target/target-${(i % NODES) + 1}` });
  }
  return { cluster: load([{ file: 'latency.yaml', text: toYAML(docs) }]), pairs };
}

const DENY_ALL = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'bench-deny-all', namespace: 'target' },
  spec: { podSelector: {}, policyTypes: ['Ingress'] },
};

interface Change {
  to: 'denied' | 'allowed';
  /** API answer -> the last pair seeing the new verdict. */
  ms: number;
  /** API answer -> the first pair seeing it. */
  firstMs: number;
  writeMs: number;
  probes: number;
}

async function apiClient(lab: Lab): Promise<LabApiClient> {
  const daemon = lab.daemon();
  if (!daemon) throw new Error(`lab ${lab.settings.name}: its daemon is not running`);
  return new LabApiClient(`https://127.0.0.1:${daemon.apiPort}`, await labCredentials(lab.dir));
}

async function changes(lab: Lab, pairs: readonly { src: string; dst: string }[], rounds: number): Promise<Change[]> {
  const api = await apiClient(lab);
  const probers = pairs.map(({ src, dst }) => {
    const [namespace, name] = dst.split('/');
    const ip = lab.store.podNetwork(namespace, name)!.ips[0];
    return new Prober(['python3', CONNLOAD, 'flip', lab.netnsOf(src), ip, String(PORT), dst]);
  });
  const results: Change[] = [];
  try {
    for (const p of probers) {
      const hello = JSON.parse(await p.next()) as { now_ns: number };
      if (Math.abs(Number(hr() - BigInt(hello.now_ns))) / 1e6 > 1000) throw new Error("the prober's clock is not node's monotonic clock");
    }
    const waitAll = async (to: Change['to'], seconds: number): Promise<{ t_ns?: number; timeout?: boolean; probes: number }[]> => {
      for (const p of probers) p.send(`wait ${to} ${seconds}`);
      return Promise.all(probers.map(async (p) => JSON.parse(await p.next()) as { t_ns?: number; timeout?: boolean; probes: number }));
    };
    if ((await waitAll('allowed', 10)).some((s) => s.timeout)) throw new Error('not every pair is allowed before the rounds');
    for (let r = 0; r < rounds * 2; r++) {
      const to: Change['to'] = r % 2 === 0 ? 'denied' : 'allowed';
      for (const p of probers) p.send(`wait ${to} 10`);
      await sleep(20); // the probers are probing the old state
      const sent = hr();
      const res = to === 'denied' ? await api.call('POST', POLICY_PATH, DENY_ALL) : await api.call('DELETE', `${POLICY_PATH}/${DENY_ALL.metadata.name}`);
      const t0 = hr();
      if (res.status !== (to === 'denied' ? 201 : 200)) throw new Error(`change ${r + 1}: the API server answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
      const seen = await Promise.all(probers.map(async (p) => JSON.parse(await p.next()) as { t_ns?: number; timeout?: boolean; probes: number }));
      const late = seen.findIndex((s) => s.timeout || s.t_ns === undefined);
      if (late >= 0) throw new Error(`change ${r + 1}: ${pairs[late].src} -> ${pairs[late].dst} did not become ${to} within 10 s`);
      const ts = seen.map((s) => Number(BigInt(s.t_ns!) - t0) / 1e6);
      results.push({ to, ms: Math.max(...ts), firstMs: Math.min(...ts), writeMs: Number(t0 - sent) / 1e6, probes: seen.reduce((n, s) => n + s.probes, 0) });
    }
  } finally {
    await Promise.all(probers.map((p) => p.stop()));
  }
  return results;
}

interface LatencyRun {
  label: string;
  upMs: number;
  results: Change[];
}

async function latencyRun(label: string, labName: typeof BASELINE, topology: TopologyKind | undefined, rounds: number, stateRoot: string): Promise<LatencyRun> {
  const { cluster, pairs } = latencyCluster(labName.name);
  await Lab.down(labName.name, stateRoot);
  const t0 = now();
  try {
    const { lab } = await Lab.up(cluster, { name: labName.name, stateRoot, podCIDR: labName.podCIDR, serviceCIDR: labName.serviceCIDR, apiPort: 0, ...(topology ? { nodes: NODES, topology } : {}) });
    const upMs = now() - t0;
    try {
      if (topology) {
        // The pairs must cross nodes: each destination placed on another node than its source.
        const byPod = new Map<string, string | undefined>();
        for (const p of await lab.list('Pod')) {
          const meta = p.metadata as { namespace?: string; name?: string };
          byPod.set(`${meta.namespace}/${meta.name}`, (p.spec as { nodeName?: string } | undefined)?.nodeName);
        }
        for (const { src, dst } of pairs) if (!byPod.get(src) || byPod.get(src) === byPod.get(dst)) throw new Error(`bench bug: ${src} and ${dst} are not on two nodes`);
      }
      console.log(`${label}: Lab.up ${fmt(upMs)}; ${rounds} rounds of deny + allow, ${pairs.length} pairs (${pairs.map((p) => `${p.src}->${p.dst}`).join(', ')})`);
      return { label, upMs, results: await changes(lab, pairs, rounds) };
    } finally {
      lab.close();
    }
  } finally {
    await Lab.down(labName.name, stateRoot);
  }
}

interface Memory {
  rss: number;
  heapUsed: number;
}

/**
 * A full collection in a node's agent, so heapUsed is its live heap: SIGUSR1 opens the agent's
 * inspector (on 127.0.0.1:9229 of the node's network namespace, a bench-only lab), and a client
 * run inside that namespace asks it for HeapProfiler.collectGarbage.
 */
const COLLECT = `
const list = await (await fetch('http://127.0.0.1:9229/json/list')).json();
const ws = new WebSocket(list[0].webSocketDebuggerUrl);
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
await new Promise((resolve) => { ws.onmessage = (m) => { if (JSON.parse(m.data).id === 1) resolve(); }; });
ws.close();
`;

async function collectGarbage(lab: Lab, node: string): Promise<void> {
  const record = lab.store.getMeta<Record<string, { pid: number }>>('agents')?.[node];
  if (!record) throw new Error(`node ${node}: no agent process on record`);
  process.kill(record.pid, 'SIGUSR1');
  let lastError = '';
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = spawnSync('ip', ['netns', 'exec', lab.nodeNetns(node), process.execPath, '--experimental-websocket', '--no-warnings', '--input-type=module', '-e', COLLECT], { encoding: 'utf8', timeout: 15_000 });
    if (r.status === 0) return;
    lastError = (r.stderr || String(r.error)).trim().split('\n').slice(-3).join(' ');
    await sleep(250); // the inspector is still opening
  }
  throw new Error(`node ${node}: could not collect garbage in its agent: ${lastError}`);
}

/** Each node's agent memory after a full collection in it: the median of `readings` readings. */
async function agentMemory(lab: Lab, readings: number): Promise<Map<string, Memory>> {
  const nodes = lab.settings.topology!.nodes;
  const seen = new Map<string, Memory[]>(nodes.map((n) => [n.name, []]));
  for (let r = 0; r < readings; r++) {
    for (const node of nodes) {
      await collectGarbage(lab, node.name);
      const status = await agentStatus(node, 5000);
      if (!status?.memory) throw new Error(`node ${node.name}: its agent's /status did not answer with memory`);
      seen.get(node.name)!.push(status.memory);
    }
  }
  return new Map([...seen].map(([node, ms]) => [node, { rss: median(ms.map((m) => m.rss)), heapUsed: median(ms.map((m) => m.heapUsed)) }]));
}

async function memoryRun(opts: Options, stateRoot: string): Promise<void> {
  const docs: Doc[] = [];
  const NAMESPACES = 10;
  for (let n = 0; n < NAMESPACES; n++) docs.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `mem-${n}` } });
  for (let i = 0; i < opts.pods; i++) docs.push(pod(`mem-${i % NAMESPACES}`, `pod-${i}`));
  const full = load([{ file: 'memory.yaml', text: toYAML(docs) }]);
  const empty = load([{ file: 'empty.yaml', text: toYAML(docs.slice(0, NAMESPACES)) }]);
  const lab = MEMORY_LAB;
  console.log(`\n== Agent memory per cluster pod: ${NODES} nodes (routed), 0 -> ${opts.pods} pods spread by the lab; median of ${opts.readings} readings of each agent's /status, each after a full collection in the agent`);
  await Lab.down(lab.name, stateRoot);
  try {
    let t0 = now();
    const { lab: up } = await Lab.up(empty, { name: lab.name, stateRoot, podCIDR: lab.podCIDR, serviceCIDR: lab.serviceCIDR, apiPort: 0, nodes: NODES, topology: 'routed' });
    console.log(`Lab.up with no pods but the cluster DNS: ${fmt(now() - t0)}`);
    try {
      await up.settle();
      await sleep(3000); // the agents' start-up garbage is left behind
      const before = await agentMemory(up, opts.readings);
      t0 = now();
      await up.apply(full);
      const createMs = now() - t0;
      await up.settle();
      const placed = new Map<string, number>();
      for (const p of await up.list('Pod')) {
        const node = ((p.spec ?? {}) as { nodeName?: string }).nodeName ?? '(none)';
        placed.set(node, (placed.get(node) ?? 0) + 1);
      }
      console.log(`${opts.pods} pods created and enforced (lab.apply, which waits for every agent): ${fmt(createMs)}; pods per node: ${[...placed].sort().map(([n, c]) => `${n} ${c}`).join(', ')}`);
      await sleep(3000);
      const after = await agentMemory(up, opts.readings);
      const rows = [...before].map(([node, b]) => {
        const a = after.get(node)!;
        return [node, mib(b.heapUsed), mib(a.heapUsed), kib((a.heapUsed - b.heapUsed) / opts.pods), mib(b.rss), mib(a.rss), kib((a.rss - b.rss) / opts.pods)];
      });
      console.log(table(['node', 'heapUsed before', 'after', 'per cluster pod', 'rss before', 'after', 'per cluster pod'], rows));
      const heapPer = [...before].map(([node, b]) => (after.get(node)!.heapUsed - b.heapUsed) / opts.pods / KiB);
      const rssPer = [...before].map(([node, b]) => (after.get(node)!.rss - b.rss) / opts.pods / KiB);
      const verdict = (xs: number[]): string => (Math.max(...xs) < MEMORY_GOAL_KIB ? 'under' : 'OVER');
      console.log(
        `\nAgent memory growth per cluster pod (${opts.pods} pods, ${NODES} nodes): heapUsed median ${median(heapPer).toFixed(2)} KiB, worst ${Math.max(...heapPer).toFixed(2)} KiB ` +
          `(${verdict(heapPer)} the ${MEMORY_GOAL_KIB} KiB goal); rss median ${median(rssPer).toFixed(2)} KiB, worst ${Math.max(...rssPer).toFixed(2)} KiB (${verdict(rssPer)} the goal)`,
      );
    } finally {
      up.close();
    }
  } finally {
    await Lab.down(lab.name, stateRoot);
  }
}

function summary(runs: readonly LatencyRun[]): void {
  const base = runs[0];
  const p = (r: LatencyRun, q: number, to?: Change['to']): number => percentile(r.results.filter((c) => !to || c.to === to).map((c) => c.ms), q);
  console.log('\n== Change -> enforced on every node (API answer -> the last cross-node pair probed with the new verdict)');
  console.log(
    table(
      ['lab', 'changes', 'p50', 'p99', 'deny p50', 'allow p50', 'first pair p50', 'API write p50', 'probes/pair p50', 'p50 / 1 node', 'p99 / 1 node'],
      runs.map((r) => [
        r.label,
        String(r.results.length),
        fmt(p(r, 50)),
        fmt(p(r, 99)),
        fmt(p(r, 50, 'denied')),
        fmt(p(r, 50, 'allowed')),
        fmt(percentile(r.results.map((c) => c.firstMs), 50)),
        fmt(percentile(r.results.map((c) => c.writeMs), 50)),
        (percentile(r.results.map((c) => c.probes), 50) / PAIRS).toFixed(1),
        r === base ? '1' : `${(p(r, 50) / p(base, 50)).toFixed(2)}x`,
        r === base ? '1' : `${(p(r, 99) / p(base, 99)).toFixed(2)}x`,
      ]),
    ),
  );
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    console.log('node lab benchmark: needs root (network namespaces, nftables); skipped');
    return;
  }
  if (!opts.hostNetns && reexecInPrivateNetns(import.meta.url, { ownRunDir: true })) return;
  const inPrivate = process.env.PODWALL_BENCH_NETNS === '1';
  if (inPrivate) await exec(['ip', 'link', 'set', 'lo', 'up']);
  const cpus = os.cpus();
  console.log(
    `Podwall node lab benchmark: node ${process.version}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, kernel ${os.release()}, load average ${os.loadavg()[0].toFixed(1)}, ` +
      `${inPrivate ? 'in a private network namespace' : 'in the current network namespace'}`,
  );
  const stateRoot = mkdtempSync(join(os.tmpdir(), 'podwall-bench-nodes-'));
  try {
    if (!opts.skipLatency) {
      console.log(`\n== Change -> enforced: a NetworkPolicy denying all ingress to namespace target, written then deleted through the lab API server`);
      const runs: LatencyRun[] = [await latencyRun('1 node (baseline)', BASELINE, undefined, opts.rounds, stateRoot)];
      for (const topology of opts.topologies) runs.push(await latencyRun(`${NODES} nodes, ${topology}`, NODE_LAB, topology, opts.rounds, stateRoot));
      summary(runs);
    }
    if (!opts.skipMemory) await memoryRun(opts, stateRoot);
  } finally {
    rmSync(stateRoot, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
