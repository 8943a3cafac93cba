// Data plane benchmark (not a test): what enforcement costs and how fast a change takes effect.
//
//   npm run bench -- --only dataplane                 everything below (root; about 2-3 minutes)
//   node --import tsx bench/dataplane.bench.ts --parts apply,latency,rate --rounds 7 --seconds 2
//
// 1. apply:   compile + apply a full ruleset for 1,000 pods / 1,000 policies (scratch table; target < 1 s)
// 2. latency: `lab apply` of one policy -> the kernel enforcing it, probed, at 200 pods (target median < 200 ms)
// 3. rate:    TCP connection setups per second pod to pod through the lab's ruleset (200 pods, 1,000
//             policies) against a conntrack-only baseline table (target >= 0.95) and no table at all;
//             rounds interleaved, medians reported.
// 4. services: the same connections through a Service (ClusterIP DNAT by the lab's Services table,
//             100 Services) against the same pod dialled directly with no Services table; ratio.
//
// Everything runs in a private network namespace of its own (the process re-executes itself under
// `unshare --net`): the lab's bridge, its tables, the baseline table and every conntrack entry the
// load creates live there, so other labs on this machine neither disturb the figures nor see the
// load, and the namespace vanishes with the process. Pod namespaces are named `pw-bnch-N` and are
// removed by Lab.down in a finally block. `--host-netns` runs in the current namespace instead.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface, type Interface } from 'node:readline';
import { loadTexts, type Cluster } from '../src/model/index.js';
import { compileCluster, evaluateConnection, isolatingPolicies, type CompiledCluster } from '../src/engine/index.js';
import {
  compileRuleset,
  connectionChanges,
  exec,
  listConntrack,
  readTableCounters,
  renderReplaceScript,
  compileServices,
  rulesetStats,
  type Ruleset,
  type RulesetStats,
} from '../src/dataplane/index.js';
import { Lab } from '../src/lab/index.js';
import { serviceFrontends } from '../src/lab/services.js';
import { generateCluster, Rng, toYAML } from './generate.js';
import { flag } from './flags.js';
import { reexecInPrivateNetns } from './netns.js';

// ---------------------------------------------------------------------------------------------
// Options.

type Part = 'apply' | 'latency' | 'rate' | 'services';

interface Options {
  parts: Set<Part>;
  rounds: number;
  seconds: number;
  warmup: number;
  concurrency: number;
  trials: number;
  applyRuns: number;
  seed: number;
  hostNetns: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const get = (name: string): string | undefined => flag(argv, name);
  const parts = new Set((get('parts') ?? 'apply,latency,rate,services').split(',').filter(Boolean) as Part[]);
  for (const p of parts) if (!['apply', 'latency', 'rate', 'services'].includes(p)) throw new Error(`unknown part "${p}" (apply, latency, rate, services)`);
  return {
    parts,
    rounds: Number(get('rounds') ?? 7),
    seconds: Number(get('seconds') ?? 2),
    warmup: Number(get('warmup') ?? 0.3),
    concurrency: Number(get('concurrency') ?? 32),
    trials: Number(get('trials') ?? 20),
    applyRuns: Number(get('apply-runs') ?? 7),
    seed: Number(get('seed') ?? 0x5eed),
    hostNetns: argv.includes('--host-netns'),
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers.

const LAB = 'bnch';
const POD_CIDR = '10.252.0.0/16';
const SCRATCH_TABLE = 'podwall-bnapply';
const BASE_TABLE = 'pwbench-base';
const BENCH_PORT = 7000;
const CONNLOAD = fileURLToPath(new URL('./connload.py', import.meta.url));

const now = (): number => performance.now();
const hr = (): bigint => process.hrtime.bigint();
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 2 : ms < 100 ? 1 : 0)} ms`);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const pass = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
const statsText = (s: RulesetStats): string => `${s.chains} chains, ${s.rules} rules, ${s.sets} sets and maps, ${s.setElements} set elements, ${s.counters} counters`;

async function nft(script: string): Promise<void> {
  await exec(['nft', '-f', '-'], { input: script, timeoutMs: 30_000 });
}
const dropTable = (table: string): string => `table inet ${table} {}\ndelete table inet ${table}\n`;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A helper process speaking lines: send a command, await the next line of output. */
class LineProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly queue: string[] = [];
  private waiting?: { resolve: (line: string) => void; reject: (err: Error) => void };
  private stderr = '';
  private exited = false;

  constructor(argv: readonly string[]) {
    this.child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => {
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w.resolve(line);
      } else this.queue.push(line);
    });
    this.child.on('exit', (code) => {
      this.exited = true;
      this.waiting?.reject(new Error(`${argv.slice(0, 3).join(' ')} exited (${code}): ${this.stderr.trim().slice(-500)}`));
      this.waiting = undefined;
    });
  }

  next(): Promise<string> {
    const line = this.queue.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.exited) return Promise.reject(new Error(`helper exited: ${this.stderr.trim().slice(-500)}`));
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  async ask<T>(line: string): Promise<T> {
    this.send(line);
    return JSON.parse(await this.next()) as T;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const done = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await done;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The 200-pod lab cluster: 10 namespaces x 5 apps x 4 pods, 1,000 policies (100 per namespace).
//
// The measured path is shop-0/web-0 (client) -> shop-0/api-0 (server) on TCP 7000, a port no other
// policy names: the client is isolated for egress and the server for ingress by many policies whose
// rules are all evaluated first (other peers, other ports, named ports, ipBlocks); the two policies
// that allow the path sort last ("zz-"), so their rules are the last ones of their chains.

const APPS = ['web', 'api', 'db', 'cache', 'worker'] as const;
type App = (typeof APPS)[number];
const APP_PORTS: Record<App, { name?: string; containerPort: number }[]> = {
  web: [{ name: 'http', containerPort: 8080 }],
  api: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }],
  db: [{ name: 'postgres', containerPort: 5432 }, { name: 'http', containerPort: 8080 }],
  cache: [{ name: 'redis', containerPort: 6379 }, { name: 'http', containerPort: 8080 }],
  worker: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }],
};
const NAMESPACES = 10;
const REPLICAS = 4;
const POLICIES_PER_NAMESPACE = 100;
const nsName = (i: number): string => `shop-${i}`;
const CLIENT = { namespace: 'shop-0', name: 'web-0' };
const SERVER = { namespace: 'shop-0', name: 'api-0' };
// The flow the latency trials flip: shop-9's workers, which no other policy selects.
const FLIP_SRC = { namespace: 'shop-9', name: 'worker-0' };
const FLIP_DST = { namespace: 'shop-9', name: 'worker-1' };
const FLIP_PORT = 8080;

type Doc = Parameters<typeof toYAML>[0][number];

function namespaceDoc(i: number): Doc {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: nsName(i), labels: { team: `team-${i % 3}`, env: i % 2 === 0 ? 'prod' : 'staging' } } };
}

function flipPolicyDoc(allow: boolean): Doc {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'bench-flip', namespace: FLIP_DST.namespace },
    spec: {
      podSelector: { matchLabels: { pod: FLIP_DST.name } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { pod: FLIP_SRC.name } } }], ports: [{ protocol: 'TCP', port: allow ? FLIP_PORT : FLIP_PORT + 1 }] }],
    },
  };
}

function labClusterTexts(seed: number): { file: string; text: string }[] {
  const rng = new Rng(seed);
  const texts: { file: string; text: string }[] = [];
  for (let i = 0; i < NAMESPACES; i++) {
    const ns = nsName(i);
    const docs: Doc[] = [namespaceDoc(i)];
    for (const app of APPS) {
      for (let r = 0; r < REPLICAS; r++) {
        const name = `${app}-${r}`;
        docs.push({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace: ns, labels: { app, tier: app === 'web' ? 'frontend' : app === 'api' ? 'backend' : app, version: rng.pick(['v1', 'v2']), pod: name } },
          spec: { containers: [{ name: app, image: `example/${app}`, ports: APP_PORTS[app].map((p) => ({ ...p, protocol: 'TCP' })) }] },
        });
      }
    }
    const policies: Doc[] = [];
    const used = new Set<string>();
    const add = (base: string, spec: Doc): void => {
      let name = base;
      for (let k = 2; used.has(name); k++) name = `${base}-${k}`;
      used.add(name);
      policies.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec });
    };
    if (i <= 7) add('default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
    if (i <= 4) {
      add('default-deny-egress', {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '10.96.0.10/32' } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] }],
      });
    }
    if (i === 0) {
      add('zz-bench-api-from-web', {
        podSelector: { matchLabels: { app: 'api' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ protocol: 'TCP', port: BENCH_PORT }] }],
      });
      add('zz-bench-web-to-api', {
        podSelector: { matchLabels: { app: 'web' } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ protocol: 'TCP', port: BENCH_PORT }] }],
      });
    }
    // shop-9's workers stay unselected: the latency trials' flow.
    const targets = i === 9 ? APPS.filter((a) => a !== 'worker') : [...APPS];
    // Ports policies name; never 7000 (the measured path's port), never a range over it.
    const somePorts = (): Doc[] => {
      const k = rng.int(1, 2);
      return Array.from({ length: k }, () =>
        rng.weighted<Doc>([
          [{ protocol: 'TCP', port: 'http' }, 3],
          [{ protocol: 'TCP', port: 8080 }, 3],
          [{ protocol: 'TCP', port: 'metrics' }, 2],
          [{ protocol: 'TCP', port: rng.pick([5432, 6379, 9090, 8443, 3000]) }, 3],
          [{ protocol: 'TCP', port: 8000, endPort: 8100 }, 1],
          [{ protocol: 'UDP', port: 53 }, 1],
        ]),
      );
    };
    const appPeer = (): Doc => ({ podSelector: { matchLabels: { app: rng.pick(APPS) } } });
    while (policies.length < POLICIES_PER_NAMESPACE) {
      const target = rng.pick(targets);
      const other = rng.int(0, NAMESPACES - 1);
      const kind = rng.weighted<string>([
        ['from-apps', 30],
        ['from-namespace', 15],
        ['from-ipblock', 8],
        ['monitoring', 7],
        ['egress-to-apps', 20],
        ['egress-to-namespace', 10],
        ['egress-external', 5],
      ]);
      const podSelector = { matchLabels: { app: target } };
      switch (kind) {
        case 'from-apps':
          add(`${target}-from-apps`, {
            podSelector,
            policyTypes: ['Ingress'],
            ingress: [{ from: Array.from({ length: rng.int(1, 3) }, appPeer), ports: somePorts() }],
          });
          break;
        case 'from-namespace':
          add(`${target}-from-${nsName(other)}`, {
            podSelector,
            policyTypes: ['Ingress'],
            ingress: [
              {
                from: [
                  rng.chance(0.5)
                    ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': nsName(other) } }, podSelector: { matchLabels: { app: rng.pick(APPS) } } }
                    : { namespaceSelector: { matchLabels: { team: `team-${other % 3}` } }, podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend', 'backend'] }] } },
                ],
                ports: somePorts(),
              },
            ],
          });
          break;
        case 'from-ipblock':
          add(`${target}-from-lb`, {
            podSelector,
            policyTypes: ['Ingress'],
            ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.252.0.0/16', '10.253.0.0/16'] } }, { ipBlock: { cidr: `192.168.${rng.int(0, 255)}.0/24` } }], ports: somePorts() }],
          });
          break;
        case 'monitoring':
          add(`${target}-metrics`, {
            podSelector,
            policyTypes: ['Ingress'],
            ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'team-0' } }, podSelector: { matchLabels: { app: 'worker' } } }], ports: [{ protocol: 'TCP', port: 'metrics' }] }],
          });
          break;
        case 'egress-to-apps':
          add(`${target}-to-apps`, {
            podSelector,
            policyTypes: ['Egress'],
            egress: [{ to: Array.from({ length: rng.int(1, 2) }, appPeer), ports: somePorts() }],
          });
          break;
        case 'egress-to-namespace':
          add(`${target}-to-${nsName(other)}`, {
            podSelector,
            policyTypes: ['Egress'],
            egress: [{ to: [{ namespaceSelector: { matchLabels: { env: other % 2 === 0 ? 'prod' : 'staging' } } }], ports: somePorts() }],
          });
          break;
        default:
          add(`${target}-internet`, {
            podSelector,
            policyTypes: ['Egress'],
            egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } }], ports: [{ protocol: 'TCP', port: 443 }] }],
          });
      }
    }
    texts.push({ file: `${ns}.yaml`, text: toYAML([...docs, ...policies]) });
  }
  return texts;
}

function load(texts: { file: string; text: string }[]): Cluster {
  const built = loadTexts(texts);
  if (!built.cluster) throw new Error(`manifests do not load: ${built.diagnostics.slice(0, 5).map((d) => d.message).join('; ')}`);
  return built.cluster;
}

/** Where the measured path's allowing rule sits in the chain a pod dispatches to. */
function chainPosition(ruleset: Ruleset, mapName: string, ip: string, marker: string): string {
  const verdict = ruleset.maps.find((m) => m.name === mapName)?.elements.find(([k]) => k === ip)?.[1];
  const chainName = verdict?.split(' ')[1];
  const chain = ruleset.chains.find((c) => c.name === chainName);
  if (!chain) return `${mapName}: ${ip} not dispatched`;
  const at = chain.rules.findIndex((r) => r.includes(marker));
  return `chain ${chain.name}: allowing rule is #${at + 1} of ${chain.rules.length}`;
}

// ---------------------------------------------------------------------------------------------
// 1. compile + apply, 1,000 pods / 1,000 policies.

interface ApplyResult {
  compileMs: number;
  rulesetMs: number;
  renderMs: number;
  nftMs: number;
  firstNftMs: number;
  totalMs: number;
  loadMs: number;
  stats: RulesetStats;
  scriptKB: number;
}

async function benchApply(opts: Options): Promise<ApplyResult> {
  console.log('\n== 1. compile and apply a full ruleset: 1,000 pods / 1,000 policies (generated, status.podIP given), scratch table inet ' + SCRATCH_TABLE);
  const gen = generateCluster({ pods: 1000, policies: 1000, seed: opts.seed });
  const t0 = now();
  const cluster = load(gen.texts);
  const loadMs = now() - t0;
  const parts = { compile: [] as number[], ruleset: [] as number[], render: [] as number[], nft: [] as number[], total: [] as number[] };
  let stats!: RulesetStats;
  let scriptKB = 0;
  let firstNftMs = 0;
  try {
    await nft(dropTable(SCRATCH_TABLE));
    // One untimed warm-up (JIT) whose nft run creates the table; then every timed run replaces it.
    for (let run = -1; run < opts.applyRuns; run++) {
      const a = now();
      const compiled = compileCluster(cluster);
      const b = now();
      const ruleset = compileRuleset(compiled, { table: SCRATCH_TABLE });
      const c = now();
      const script = renderReplaceScript(ruleset);
      const d = now();
      await nft(script);
      const e = now();
      if (run < 0) {
        firstNftMs = e - d;
        stats = rulesetStats(ruleset);
        scriptKB = Buffer.byteLength(script) / 1024;
        continue;
      }
      parts.compile.push(b - a);
      parts.ruleset.push(c - b);
      parts.render.push(d - c);
      parts.nft.push(e - d);
      parts.total.push(e - a);
    }
  } finally {
    await nft(dropTable(SCRATCH_TABLE)).catch(() => undefined);
  }
  const r: ApplyResult = {
    compileMs: median(parts.compile),
    rulesetMs: median(parts.ruleset),
    renderMs: median(parts.render),
    nftMs: median(parts.nft),
    totalMs: median(parts.total),
    firstNftMs,
    loadMs,
    stats,
    scriptKB,
  };
  console.log(`generated ${gen.pods} pods, ${gen.policies} policies, ${gen.namespaces} namespaces; load (parse+validate, not part of the target) ${fmt(loadMs)}`);
  console.log(`ruleset: ${statsText(stats)}; script ${scriptKB.toFixed(0)} KB; first nft -f (table created) ${fmt(firstNftMs)}`);
  console.log(`runs (total ms): ${parts.total.map((x) => x.toFixed(0)).join(', ')}`);
  console.log(
    table(
      ['phase (median of ' + opts.applyRuns + ')', 'time'],
      [
        ['compileCluster (engine)', fmt(r.compileMs)],
        ['compileRuleset (dataplane)', fmt(r.rulesetMs)],
        ['renderReplaceScript', fmt(r.renderMs)],
        ['nft -f - (replace table)', fmt(r.nftMs)],
        ['total', fmt(r.totalMs)],
      ],
    ),
  );
  return r;
}

// ---------------------------------------------------------------------------------------------
// 2. lab apply -> enforced, at 200 pods.

interface LatencyResult {
  upMs: number;
  trials: { ms: number; applyMs: number; probes: number; to: 'allowed' | 'denied' }[];
  phases: [string, number][];
}

async function benchLatency(lab: Lab, opts: Options, upMs: number): Promise<LatencyResult> {
  console.log(`\n== 2. lab apply of one policy -> the kernel enforcing it, at 200 pods (${FLIP_SRC.namespace}/${FLIP_SRC.name} -> ${FLIP_DST.namespace}/${FLIP_DST.name}:${FLIP_PORT})`);
  const nets = new Map(lab.store.podNetworks().map((n) => [`${n.namespace}/${n.name}`, n]));
  const dstIP = nets.get(`${FLIP_DST.namespace}/${FLIP_DST.name}`)!.ips[0];
  const flipInput = (allow: boolean): Cluster => load([{ file: 'flip.yaml', text: toYAML([namespaceDoc(9), flipPolicyDoc(allow)]) }]);
  // The engine must agree that the policy flips the flow.
  for (const allow of [true, false]) {
    const texts = [...labClusterTexts(opts.seed), { file: 'flip.yaml', text: toYAML([flipPolicyDoc(allow)]) }];
    const compiled = compileCluster(load(texts));
    const ep = (p: { namespace: string; name: string }) => compiled.cluster.endpoints.find((e) => e.namespace === p.namespace && e.name === p.name)!;
    const v = evaluateConnection(compiled, { source: { kind: 'endpoint', endpoint: ep(FLIP_SRC) }, destination: { kind: 'endpoint', endpoint: ep(FLIP_DST) }, port: FLIP_PORT, protocol: 'TCP' });
    if (v.allowed !== allow) throw new Error(`bench bug: the flip policy (allow=${allow}) does not ${allow ? 'allow' : 'deny'} the flow`);
  }

  const prober = new LineProcess(['python3', CONNLOAD, 'flip', lab.netnsOf(`${FLIP_SRC.namespace}/${FLIP_SRC.name}`), dstIP, String(FLIP_PORT), `${FLIP_DST.namespace}/${FLIP_DST.name}`]);
  const trials: LatencyResult['trials'] = [];
  try {
    const hello = JSON.parse(await prober.next()) as { now_ns: number };
    const skewMs = Math.abs(Number(hr() - BigInt(hello.now_ns))) / 1e6;
    if (skewMs > 1000) throw new Error(`the prober's clock is not node's monotonic clock (${skewMs} ms apart)`);
    // Start from "allowed" (the policy present, allowing).
    await lab.apply(flipInput(true));
    const initial = await prober.ask<{ state: string }>('check');
    if (initial.state !== 'allowed') throw new Error(`the flow is ${initial.state} before the trials; expected allowed`);
    for (let t = 0; t < opts.trials; t++) {
      const allow = t % 2 === 1;
      const want = allow ? 'allowed' : 'denied';
      const input = flipInput(allow); // parsed before the clock starts: `lab apply -f` has its input already
      prober.send(`wait ${want} 10`);
      await new Promise((r) => setTimeout(r, 20)); // the prober is probing the old state
      const t0 = hr();
      const report = await lab.apply(input);
      const applyMs = Number(hr() - t0) / 1e6;
      const seen = JSON.parse(await prober.next()) as { t_ns?: number; timeout?: boolean; probes: number };
      if (!report.rulesetApplied) throw new Error(`trial ${t}: lab apply did not change the ruleset`);
      if (seen.timeout || seen.t_ns === undefined) throw new Error(`trial ${t}: the kernel did not become ${want} within 10 s`);
      trials.push({ ms: Number(BigInt(seen.t_ns) - t0) / 1e6, applyMs, probes: seen.probes, to: want });
    }
  } finally {
    await prober.stop();
  }

  // Where the time of one `lab apply` goes: its phases, run one by one the way Lab.sync runs them.
  const phases: [string, number][] = [];
  const time = async <T>(label: string, fn: () => T | Promise<T>): Promise<T> => {
    const a = now();
    const r = await fn();
    phases.push([label, now() - a]);
    return r;
  };
  const cluster = await time('load the store (lab.cluster())', () => lab.cluster());
  const compiled = await time('compileCluster', () => compileCluster(cluster));
  const counters = await time('readTableCounters (counters + does the table exist)', async () => (await readTableCounters(lab.names.table)) ?? new Map());
  const ruleset = await time('compileRuleset', () => compileRuleset(compiled, { table: lab.names.table, log: lab.settings.log, counterValues: counters }));
  const script = await time('renderReplaceScript (x2: script + digest)', () => {
    renderReplaceScript(ruleset);
    return renderReplaceScript(ruleset);
  });
  await time('nft -f - (replace table)', () => nft(script));
  const entries = await time('conntrack -L + parse', () => listConntrack());
  await time('connectionChanges', () => connectionChanges(compiled, entries));

  console.log(`Lab.up of 200 pods with 1,000 policies: ${fmt(upMs)}`);
  console.log(
    table(
      ['trial', 'to', 'apply -> enforced', 'lab.apply returned', 'probes'],
      trials.map((t, i) => [String(i + 1), t.to, fmt(t.ms), fmt(t.applyMs), String(t.probes)]),
    ),
  );
  console.log(`\none lab apply, phase by phase (run separately after the trials; servers.sync not included):`);
  console.log(table(['phase', 'time'], phases.map(([l, v]) => [l, fmt(v)])));
  console.log(`conntrack entries listed: ${entries.length} (open ones; TIME_WAIT/CLOSE are skipped when parsing)`);
  return { upMs, trials, phases };
}

// ---------------------------------------------------------------------------------------------
// 3. connection setup rate.

type Variant = 'podwall' | 'baseline' | 'none';

interface RateResult {
  rounds: Record<Variant, number[]>;
  errors: number;
  errorKinds: Record<string, number>;
  stats: RulesetStats;
  statsAt1000: RulesetStats | undefined;
  positions: string[];
}

async function benchRate(lab: Lab, opts: Options, statsAt1000: RulesetStats | undefined): Promise<RateResult> {
  console.log(`\n== 3. TCP connection setup rate, ${CLIENT.namespace}/${CLIENT.name} -> ${SERVER.namespace}/${SERVER.name}:${BENCH_PORT}, 200 pods / 1,000 policies`);
  const compiled: CompiledCluster = compileCluster(lab.cluster());
  const ruleset = compileRuleset(compiled, { table: lab.names.table, log: lab.settings.log });
  const stats = rulesetStats(ruleset);
  const nets = new Map(lab.store.podNetworks().map((n) => [`${n.namespace}/${n.name}`, n]));
  const clientIP = nets.get(`${CLIENT.namespace}/${CLIENT.name}`)!.ips[0];
  const serverIP = nets.get(`${SERVER.namespace}/${SERVER.name}`)!.ips[0];
  const ep = (p: { namespace: string; name: string }) => compiled.cluster.endpoints.find((e) => e.namespace === p.namespace && e.name === p.name)!;
  const verdict = evaluateConnection(compiled, { source: { kind: 'endpoint', endpoint: ep(CLIENT) }, destination: { kind: 'endpoint', endpoint: ep(SERVER) }, port: BENCH_PORT, protocol: 'TCP' });
  if (!verdict.allowed) throw new Error('bench bug: the measured path is not allowed');
  const positions = [
    `client egress: isolated by ${isolatingPolicies(compiled, ep(CLIENT), 'Egress').length} policies; ${chainPosition(ruleset, 'egress4', clientIP, 'zz-bench-web-to-api')}`,
    `server ingress: isolated by ${isolatingPolicies(compiled, ep(SERVER), 'Ingress').length} policies; ${chainPosition(ruleset, 'ingress4', serverIP, 'zz-bench-api-from-web')}`,
  ];
  console.log(`ruleset (200 pods, ${compiled.cluster.policies.length} policies): ${statsText(stats)}`);
  for (const p of positions) console.log(p);

  const podwallScript = renderReplaceScript(ruleset);
  const baselineScript =
    `table inet ${BASE_TABLE} {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n` +
    `\t\tct state established,related accept\n\t\taccept\n\t}\n}\n`;
  const setVariant = async (v: Variant): Promise<void> => {
    if (v === 'podwall') await nft(dropTable(BASE_TABLE) + podwallScript);
    else if (v === 'baseline') await nft(dropTable(lab.names.table) + dropTable(BASE_TABLE) + baselineScript);
    else await nft(dropTable(lab.names.table) + dropTable(BASE_TABLE));
  };

  const server = new LineProcess(['python3', CONNLOAD, 'server', lab.netnsOf(`${SERVER.namespace}/${SERVER.name}`), String(BENCH_PORT)]);
  const client = new LineProcess(['python3', CONNLOAD, 'client', lab.netnsOf(`${CLIENT.namespace}/${CLIENT.name}`), serverIP, String(BENCH_PORT), String(opts.concurrency)]);
  const rounds: Record<Variant, number[]> = { podwall: [], baseline: [], none: [] };
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  const variants: Variant[] = ['podwall', 'baseline', 'none'];
  try {
    await server.next();
    await client.next();
    // One untimed pass over the variants, then the rounds; each round starts with the next variant
    // (A B C, B C A, C A B, ...) so no variant always follows the same one.
    for (let round = -1; round < opts.rounds; round++) {
      const order = variants.map((_, k) => variants[(k + Math.max(round, 0)) % variants.length]);
      for (const v of order) {
        await setVariant(v);
        const r = await client.ask<{ ok: number; errors: number; errorKinds: Record<string, number>; seconds: number }>(`run ${round < 0 ? 0.5 : opts.seconds} ${opts.warmup}`);
        if (round < 0) continue;
        rounds[v].push(r.ok / r.seconds);
        errors += r.errors;
        for (const [k, n] of Object.entries(r.errorKinds)) errorKinds[k] = (errorKinds[k] ?? 0) + n;
      }
      if (round >= 0) {
        console.log(`round ${round + 1}: ${order.map((v) => `${v} ${int(rounds[v][round])}/s`).join(', ')}`);
      }
    }
  } finally {
    await client.stop();
    await server.stop();
    // Leave the lab as it was: its own table, no baseline table.
    await setVariant('podwall');
  }
  return { rounds, errors, errorKinds, stats, statsAt1000, positions };
}

interface ServicesResult {
  rounds: { services: number[]; direct: number[] };
  services: number;
  frontends: number;
  errors: number;
}

/**
 * Connections through a Service: 100 Services are added to the lab (one in front of the server pod,
 * the rest in front of other pods), then the client dials the Service's ClusterIP (DNAT by the
 * lab's Services table, then the policies) or, with the Services table removed, the pod itself.
 */
async function benchServices(lab: Lab, opts: Options): Promise<ServicesResult> {
  console.log(`\n== 4. TCP connection setup rate through a Service (ClusterIP DNAT), ${CLIENT.namespace}/${CLIENT.name} -> ${SERVER.namespace}/${SERVER.name}:${BENCH_PORT}, 100 Services`);
  const pods = lab.store.list('Pod').filter((p) => !p.namespace.startsWith('kube-'));
  const docs: Doc[] = [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bench-target', namespace: SERVER.namespace }, spec: { selector: { pod: SERVER.name }, ports: [{ port: 80, targetPort: BENCH_PORT }] } },
  ];
  for (let i = 1; i < 100; i++) {
    const p = pods[(i * 7) % pods.length];
    docs.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `bench-${i}`, namespace: p.namespace }, spec: { selector: { pod: p.name }, ports: [{ name: 'a', port: 80, targetPort: BENCH_PORT }, { name: 'b', port: 81 + (i % 5), targetPort: 8080 }] } });
  }
  await lab.apply(load([{ file: 'services.yaml', text: docs.map((d) => `---\n${JSON.stringify(d)}\n`).join('') }]));
  const target = lab.store.get('Service', SERVER.namespace, 'bench-target')!.manifest.spec as { clusterIP: string };
  const frontends = serviceFrontends(lab.store);
  const servicesScript = renderReplaceScript(compileServices(frontends, { table: lab.names.servicesTable }));
  const serverIP = lab.store.podNetwork(SERVER.namespace, SERVER.name)!.ips[0];
  console.log(`${docs.length} Services, ${frontends.length} Service ports; bench-target at ${target.clusterIP}:80 -> ${serverIP}:${BENCH_PORT}`);
  const server = new LineProcess(['python3', CONNLOAD, 'server', lab.netnsOf(`${SERVER.namespace}/${SERVER.name}`), String(BENCH_PORT)]);
  const clientNetns = lab.netnsOf(`${CLIENT.namespace}/${CLIENT.name}`);
  const viaService = new LineProcess(['python3', CONNLOAD, 'client', clientNetns, target.clusterIP, '80', String(opts.concurrency)]);
  const direct = new LineProcess(['python3', CONNLOAD, 'client', clientNetns, serverIP, String(BENCH_PORT), String(opts.concurrency)]);
  const rounds = { services: [] as number[], direct: [] as number[] };
  let errors = 0;
  try {
    await server.next();
    await viaService.next();
    await direct.next();
    for (let round = -1; round < opts.rounds; round++) {
      const order: ('services' | 'direct')[] = round % 2 === 0 ? ['services', 'direct'] : ['direct', 'services'];
      for (const v of order) {
        if (v === 'services') await nft(servicesScript);
        else await nft(dropTable(lab.names.servicesTable));
        // The other variant's closed connections (CLOSE entries, 10 s) hold the same reply tuples, so
        // a reused source port would clash with them: each variant starts from an empty table.
        await exec(['conntrack', '-F'], { check: false });
        const r = await (v === 'services' ? viaService : direct).ask<{ ok: number; errors: number; seconds: number }>(`run ${round < 0 ? 0.5 : opts.seconds} ${opts.warmup}`);
        if (round < 0) continue;
        rounds[v].push(r.ok / r.seconds);
        errors += r.errors;
      }
      if (round >= 0) console.log(`round ${round + 1}: through the Service ${int(rounds.services[round])}/s, direct with no Services table ${int(rounds.direct[round])}/s`);
    }
  } finally {
    await viaService.stop();
    await direct.stop();
    await server.stop();
    // Leave the lab as its kube-proxy made it.
    await nft(servicesScript);
  }
  return { rounds, services: docs.length, frontends: frontends.length, errors };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    console.log('dataplane benchmark: needs root (network namespaces, nftables); skipped');
    return;
  }
  if (!opts.hostNetns && reexecInPrivateNetns(import.meta.url)) return;
  const inPrivate = process.env.PODWALL_BENCH_NETNS === '1';
  if (inPrivate) await exec(['ip', 'link', 'set', 'lo', 'up']);
  const cpus = os.cpus();
  const others = (await exec(['nft', 'list', 'tables'])).stdout.trim().split('\n').filter(Boolean);
  console.log(
    `Podwall data plane benchmark: node ${process.version}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, kernel ${os.release()}, ` +
      `${inPrivate ? 'in a private network namespace' : 'in the current network namespace'}` +
      `${others.length ? ` (other tables here: ${others.join(', ')})` : ' (no other nft tables in it)'}`,
  );

  let apply: ApplyResult | undefined;
  let latency: LatencyResult | undefined;
  let rate: RateResult | undefined;
  let services: ServicesResult | undefined;
  if (opts.parts.has('apply')) apply = await benchApply(opts);

  if (opts.parts.has('latency') || opts.parts.has('rate') || opts.parts.has('services')) {
    const stateRoot = mkdtempSync(join(os.tmpdir(), 'podwall-bench-'));
    try {
      const cluster = load(labClusterTexts(opts.seed));
      console.log(`\nLab "${LAB}" (${POD_CIDR}): ${cluster.endpoints.length} pods, ${cluster.policies.length} policies, ${cluster.namespaces.length} namespaces ...`);
      const t0 = now();
      const { lab } = await Lab.up(cluster, { name: LAB, stateRoot, podCIDR: POD_CIDR });
      const upMs = now() - t0;
      console.log(`Lab.up: ${fmt(upMs)}`);
      try {
        if (opts.parts.has('latency')) latency = await benchLatency(lab, opts, upMs);
        if (opts.parts.has('rate')) {
          rate = await benchRate(lab, opts, apply?.stats);
        }
        if (opts.parts.has('services')) services = await benchServices(lab, opts);
      } finally {
        lab.close();
      }
    } finally {
      await Lab.down(LAB, stateRoot);
      rmSync(stateRoot, { recursive: true, force: true });
    }
  }

  // ------------------------------------------------------------------------------------------
  console.log('\n== Summary');
  const lines: string[] = [];
  if (rate) {
    const m = { podwall: median(rate.rounds.podwall), baseline: median(rate.rounds.baseline), none: median(rate.rounds.none) };
    const paired = (a: Variant, b: Variant): number => median(rate.rounds[a].map((x, i) => x / rate.rounds[b][i]));
    console.log(
      table(
        ['connection setups / s', 'median', 'min', 'max', 'vs baseline', 'vs no table'],
        (['none', 'baseline', 'podwall'] as const).map((v) => [
          v === 'none' ? 'no table' : v === 'baseline' ? 'baseline (conntrack + accept)' : 'podwall (1,000 policies)',
          int(m[v]),
          int(Math.min(...rate!.rounds[v])),
          int(Math.max(...rate!.rounds[v])),
          (m[v] / m.baseline).toFixed(3),
          (m[v] / m.none).toFixed(3),
        ]),
      ),
    );
    console.log(
      `paired (same round) medians: podwall/baseline ${paired('podwall', 'baseline').toFixed(3)}, podwall/no table ${paired('podwall', 'none').toFixed(3)}, ` +
        `baseline/no table ${paired('baseline', 'none').toFixed(3)}; ${opts.rounds} rounds x ${opts.seconds} s per variant, ${opts.concurrency} connects in flight, ` +
        `${rate.errors} failed connects${rate.errors ? ` ${JSON.stringify(rate.errorKinds)}` : ''}`,
    );
    console.log(`ruleset at 200 pods / 1,000 policies: ${statsText(rate.stats)}`);
    if (rate.statsAt1000) console.log(`ruleset at 1,000 pods / 1,000 policies: ${statsText(rate.statsAt1000)} (pods squared would be 1,000,000)`);
    lines.push(`TARGET connection setup rate podwall/baseline >= 0.95: ${(m.podwall / m.baseline).toFixed(3)} -> ${pass(m.podwall / m.baseline >= 0.95)}`);
  }
  if (services) {
    const paired = median(services.rounds.services.map((x, i) => x / services!.rounds.direct[i]));
    console.log(
      `through a Service: median ${int(median(services.rounds.services))}/s; direct, no Services table: median ${int(median(services.rounds.direct))}/s; ` +
        `paired ratio ${paired.toFixed(3)} (${services.services} Services, ${services.frontends} Service ports, ${services.errors} failed connects)`,
    );
    lines.push(`FIGURE connection setup rate through a Service (DNAT + policy) / direct without the Services table: ${paired.toFixed(3)}`);
  }
  if (apply) {
    lines.push(
      `TARGET compile + apply, 1,000 pods / 1,000 policies < 1 s: ${fmt(apply.totalMs)} (compile ${fmt(apply.compileMs + apply.rulesetMs + apply.renderMs)} + nft ${fmt(apply.nftMs)}) -> ${pass(apply.totalMs < 1000)}`,
    );
  }
  if (latency) {
    const ms = latency.trials.map((t) => t.ms);
    lines.push(
      `TARGET lab apply -> enforced, 200 pods, median < 200 ms: median ${fmt(median(ms))}, worst ${fmt(Math.max(...ms))} of ${ms.length} ` +
        `(lab.apply itself: median ${fmt(median(latency.trials.map((t) => t.applyMs)))}) -> ${pass(median(ms) < 200)}`,
    );
    lines.push(`(Lab.up of 200 pods with 1,000 policies took ${fmt(latency.upMs)})`);
  }
  for (const l of lines) console.log(l);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
