// Control plane benchmark (not a test): `kubectl apply -f` of one policy -> the kernel enforcing it.
//
//   npm run bench -- --only controlplane                  (root; about 20 s)
//   node --import tsx bench/controlplane.bench.ts --trials 20 --policies 1000 --kubectl /path/to/kubectl
//
// A lab of 200 pods (10 namespaces x 5 apps x 4 pods) and --policies policies (default 1,000, the
// data plane benchmark's size) is brought up; then each trial runs a real kubectl (`--kubectl`,
// else $PODWALL_KUBECTL, else `kubectl` on PATH) with the lab's kubeconfig to apply one policy
// that flips one flow (shop-9/worker-0 -> shop-9/worker-1 on 8080), alternately denying and
// allowing it. A prober in the source pod (connload.py flip) connects again and again; a trial's
// latency runs from just before kubectl is spawned to the end of the first probe that sees the
// new verdict: kubectl's own start-up, discovery (cached), its GET and PATCH, the API server, the
// agent's watch, the ruleset's compile and the nft transaction. kubectl's own wall and CPU time
// are shown beside it.
//
// As the data plane benchmark does, everything runs in a private network namespace (the process
// re-executes itself under `unshare --net`), with its own run directory for the lab's host
// settings; pod namespaces are named `pw-bkcp-N` and Lab.down removes them in a finally block.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../src/dataplane/index.js';
import { compileCluster, evaluateConnection } from '../src/engine/index.js';
import { Lab } from '../src/lab/index.js';
import { loadTexts, type Cluster } from '../src/model/index.js';
import { Rng, toYAML } from './generate.js';
import { flag } from './flags.js';
import { Prober } from './prober.js';
import { reexecInPrivateNetns } from './netns.js';

const LAB = 'bkcp';
const POD_CIDR = '10.247.0.0/16';
const CONNLOAD = fileURLToPath(new URL('./connload.py', import.meta.url));
const FLIP_SRC = { namespace: 'shop-9', name: 'worker-0' };
const FLIP_DST = { namespace: 'shop-9', name: 'worker-1' };
const FLIP_PORT = 8080;

interface Options {
  trials: number;
  policies: number;
  seed: number;
  kubectl: string;
  hostNetns: boolean;
}

/** Flags this benchmark knows; others (meant for the other benchmarks) are ignored. */
function parseArgs(argv: readonly string[]): Options {
  const get = (name: string): string | undefined => flag(argv, name);
  return {
    trials: Number(get('trials') ?? 20),
    policies: Number(get('policies') ?? 1000),
    seed: Number(get('seed') ?? 0x5eed),
    kubectl: get('kubectl') ?? process.env.PODWALL_KUBECTL ?? 'kubectl',
    hostNetns: argv.includes('--host-netns'),
  };
}

const hr = (): bigint => process.hrtime.bigint();
const now = (): number => performance.now();
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 2 : ms < 100 ? 1 : 0)} ms`);

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** CPU time (user + system, ms) of this process's waited-for children, from /proc/self/stat. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of stat(5) (cutime, cstime), counted from the state field (3).
  const ticks = Number(fields[16 - 3]) + Number(fields[17 - 3]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

type Doc = Parameters<typeof toYAML>[0][number];
const APPS = ['web', 'api', 'db', 'cache', 'worker'] as const;
const NAMESPACES = 10;
const REPLICAS = 4;
const nsName = (i: number): string => `shop-${i}`;

/** 200 pods, every one serving 8080 (and 9090), and `policies` policies that leave shop-9's workers alone. */
function clusterTexts(policies: number, seed: number): { file: string; text: string }[] {
  const rng = new Rng(seed);
  const texts: { file: string; text: string }[] = [];
  const perNamespace = Math.ceil(policies / NAMESPACES);
  let made = 0;
  for (let i = 0; i < NAMESPACES; i++) {
    const ns = nsName(i);
    const docs: Doc[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { team: `team-${i % 3}` } } }];
    for (const app of APPS) {
      for (let r = 0; r < REPLICAS; r++) {
        docs.push({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `${app}-${r}`, namespace: ns, labels: { app, pod: `${app}-${r}` } },
          spec: { containers: [{ name: app, image: `example/${app}`, ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9090 }] }] },
        });
      }
    }
    const targets = i === 9 ? APPS.filter((a) => a !== 'worker') : [...APPS];
    for (let k = 0; k < perNamespace && made < policies; k++, made++) {
      const target = rng.pick(targets);
      const ingress = rng.chance(0.7);
      const peer: Doc = rng.chance(0.5)
        ? { podSelector: { matchLabels: { app: rng.pick(APPS) } } }
        : { namespaceSelector: { matchLabels: { team: `team-${rng.int(0, 2)}` } }, podSelector: { matchLabels: { app: rng.pick(APPS) } } };
      const ports: Doc[] = [{ protocol: 'TCP', port: rng.pick<number | string>([8080, 9090, 'http', 'metrics']) }];
      docs.push({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: `${target}-${ingress ? 'in' : 'out'}-${k}`, namespace: ns },
        spec: {
          podSelector: { matchLabels: { app: target } },
          policyTypes: [ingress ? 'Ingress' : 'Egress'],
          ...(ingress ? { ingress: [{ from: [peer], ports }] } : { egress: [{ to: [peer], ports }] }),
        },
      });
    }
    texts.push({ file: `${ns}.yaml`, text: toYAML(docs) });
  }
  return texts;
}

function flipPolicy(allow: boolean): string {
  return toYAML([
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'bench-flip', namespace: FLIP_DST.namespace },
      spec: {
        podSelector: { matchLabels: { pod: FLIP_DST.name } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { pod: FLIP_SRC.name } } }], ports: [{ protocol: 'TCP', port: allow ? FLIP_PORT : FLIP_PORT + 1 }] }],
      },
    },
  ]);
}

function load(texts: { file: string; text: string }[]): Cluster {
  const built = loadTexts(texts);
  if (!built.cluster) throw new Error(`manifests do not load: ${built.diagnostics.slice(0, 5).map((d) => d.message).join('; ')}`);
  return built.cluster;
}

interface Trial {
  to: 'allowed' | 'denied';
  ms: number;
  kubectlMs: number;
  kubectlCpuMs: number;
  probes: number;
}

async function runKubectl(kubectl: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; exitedAt: bigint }> {
  const child = spawn(kubectl, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out, exitedAt: hr() }));
  });
}

async function trials(lab: Lab, opts: Options, scratch: string): Promise<Trial[]> {
  const files = { allowed: join(scratch, 'flip-allow.yaml'), denied: join(scratch, 'flip-deny.yaml') };
  writeFileSync(files.allowed, flipPolicy(true));
  writeFileSync(files.denied, flipPolicy(false));
  // The engine must agree that the policy flips the flow.
  for (const allow of [true, false]) {
    const compiled = compileCluster(load([...clusterTexts(opts.policies, opts.seed), { file: 'flip.yaml', text: flipPolicy(allow) }]));
    const ep = (p: { namespace: string; name: string }) => compiled.cluster.endpoints.find((e) => e.namespace === p.namespace && e.name === p.name)!;
    const v = evaluateConnection(compiled, { source: { kind: 'endpoint', endpoint: ep(FLIP_SRC) }, destination: { kind: 'endpoint', endpoint: ep(FLIP_DST) }, port: FLIP_PORT, protocol: 'TCP' });
    if (v.allowed !== allow) throw new Error(`bench bug: the flip policy (allow=${allow}) does not ${allow ? 'allow' : 'deny'} the flow`);
  }
  const env = { ...process.env, KUBECONFIG: lab.kubeconfig, HOME: scratch };
  const kubectlArgs = (file: string): string[] => ['--cache-dir', join(scratch, 'kube-cache'), 'apply', '-f', file];

  // The starting point: the policy present and allowing; kubectl's discovery cache warm.
  const first = await runKubectl(opts.kubectl, kubectlArgs(files.allowed), env);
  if (first.code !== 0) throw new Error(`kubectl apply failed (${first.code}): ${first.out.trim()}`);
  const dstIP = lab.store.podNetwork(FLIP_DST.namespace, FLIP_DST.name)!.ips[0];
  const prober = new Prober(['python3', CONNLOAD, 'flip', lab.netnsOf(`${FLIP_SRC.namespace}/${FLIP_SRC.name}`), dstIP, String(FLIP_PORT), `${FLIP_DST.namespace}/${FLIP_DST.name}`]);
  const results: Trial[] = [];
  try {
    const hello = JSON.parse(await prober.next()) as { now_ns: number };
    if (Math.abs(Number(hr() - BigInt(hello.now_ns))) / 1e6 > 1000) throw new Error("the prober's clock is not node's monotonic clock");
    prober.send('wait allowed 10');
    const start = JSON.parse(await prober.next()) as { timeout?: boolean };
    if (start.timeout) throw new Error('the flow is not allowed before the trials');
    for (let t = 0; t < opts.trials; t++) {
      const to = t % 2 === 0 ? 'denied' : 'allowed';
      prober.send(`wait ${to} 10`);
      await new Promise((r) => setTimeout(r, 20)); // the prober is probing the old state
      const cpuBefore = childrenCpuMs();
      const t0 = hr();
      const [run, line] = await Promise.all([runKubectl(opts.kubectl, kubectlArgs(files[to]), env), prober.next()]);
      const seen = JSON.parse(line) as { t_ns?: number; timeout?: boolean; probes: number };
      if (run.code !== 0) throw new Error(`trial ${t + 1}: kubectl apply failed (${run.code}): ${run.out.trim()}`);
      if (!/configured/.test(run.out)) throw new Error(`trial ${t + 1}: kubectl did not change the policy: ${run.out.trim()}`);
      if (seen.timeout || seen.t_ns === undefined) throw new Error(`trial ${t + 1}: the kernel did not become ${to} within 10 s`);
      results.push({ to, ms: Number(BigInt(seen.t_ns) - t0) / 1e6, kubectlMs: Number(run.exitedAt - t0) / 1e6, kubectlCpuMs: childrenCpuMs() - cpuBefore, probes: seen.probes });
    }
  } finally {
    await prober.stop();
  }
  return results;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    console.log('control plane benchmark: needs root (network namespaces, nftables); skipped');
    return;
  }
  const version = spawnSync(opts.kubectl, ['version', '--client'], { encoding: 'utf8' });
  if (version.status !== 0) {
    console.log(`control plane benchmark: no kubectl (${opts.kubectl}; set --kubectl or PODWALL_KUBECTL); skipped`);
    return;
  }
  if (!opts.hostNetns && reexecInPrivateNetns(import.meta.url, { ownRunDir: true })) return;
  const inPrivate = process.env.PODWALL_BENCH_NETNS === '1';
  if (inPrivate) await exec(['ip', 'link', 'set', 'lo', 'up']);
  const kubectlVersion = /GitVersion:"([^"]+)"|Client Version: (\S+)/.exec(version.stdout)?.slice(1).find(Boolean) ?? '?';
  const cpus = os.cpus();
  console.log(
    `Podwall control plane benchmark: node ${process.version}, kubectl ${kubectlVersion} (${opts.kubectl}), ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ` +
      `kernel ${os.release()}, ${inPrivate ? 'in a private network namespace' : 'in the current network namespace'}`,
  );

  const stateRoot = mkdtempSync(join(os.tmpdir(), 'podwall-bench-cp-'));
  let results: Trial[];
  let upMs: number;
  let pods: number;
  try {
    const cluster = load(clusterTexts(opts.policies, opts.seed));
    pods = cluster.endpoints.length;
    console.log(`\nLab "${LAB}" (${POD_CIDR}): ${pods} pods, ${cluster.policies.length} policies, ${cluster.namespaces.length} namespaces ...`);
    await Lab.down(LAB, stateRoot);
    const t0 = now();
    const { lab } = await Lab.up(cluster, { name: LAB, stateRoot, podCIDR: POD_CIDR });
    upMs = now() - t0;
    console.log(`Lab.up: ${fmt(upMs)}`);
    try {
      console.log(`\n== kubectl apply -f of one policy -> the kernel enforcing it (${FLIP_SRC.namespace}/${FLIP_SRC.name} -> ${FLIP_DST.namespace}/${FLIP_DST.name}:${FLIP_PORT}), ${opts.trials} trials`);
      results = await trials(lab, opts, stateRoot);
    } finally {
      lab.close();
    }
  } finally {
    await Lab.down(LAB, stateRoot);
    rmSync(stateRoot, { recursive: true, force: true });
  }

  console.log(
    table(
      ['trial', 'to', 'kubectl apply -> enforced', 'kubectl wall', 'kubectl cpu', 'enforced - kubectl exit', 'probes'],
      results.map((r, i) => [String(i + 1), r.to, fmt(r.ms), fmt(r.kubectlMs), fmt(r.kubectlCpuMs), fmt(r.ms - r.kubectlMs), String(r.probes)]),
    ),
  );
  const ms = results.map((r) => r.ms);
  const kms = results.map((r) => r.kubectlMs);
  console.log('\n== Summary');
  console.log(
    `kubectl apply -> enforced, ${pods} pods, ${opts.policies} policies: median ${fmt(median(ms))}, worst ${fmt(Math.max(...ms))} of ${ms.length} ` +
      `(kubectl's own process: wall median ${fmt(median(kms))}, worst ${fmt(Math.max(...kms))}; cpu median ${fmt(median(results.map((r) => r.kubectlCpuMs)))})`,
  );
  console.log(`(Lab.up of ${pods} pods with ${opts.policies} policies took ${fmt(upMs)})`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
