// A single-node cluster on this machine, built from parts: an API server over the lab's store, a
// pod runner that gives each pod a network namespace on the lab's bridge with a server on every
// declared port, and the agent enforcing the policies with nftables. They run in one daemon that
// `lab up` starts; `lab apply`, `lab delete` and `lab get` talk to its API like kubectl does. State
// lives in a directory per lab (SQLite); `lab down` (or a failed `lab up`) leaves nothing behind.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteTable, exec, readCounters, tableExists, type CounterValue, type RulesetStats } from '../dataplane/index.js';
import { compileCluster, declaredPorts, type PortProtocol } from '../engine/index.js';
import {
  cidrContains,
  clusterFromObjects,
  formatIP,
  namespaceManifest,
  networkPolicyManifest,
  parseCIDR,
  type CIDR,
  type Cluster,
} from '../model/index.js';
import { isPrivateAddress, requestedAddressProblem } from './addresses.js';
import { LabApiClient } from './api/client.js';
import { kubeconfigPath, labCredentials, writeKubeconfig, type Credentials } from './api/credentials.js';
import { LabApiServer } from './api/server.js';
import { applySysctls, checkPrerequisites, LAB_SYSCTLS, restoreSysctls } from './host.js';
import { checkLabName, DEFAULT_LAB, labNames, type LabNames } from './names.js';
import { createBridge, deleteLabObjects, findLabObjects } from './network.js';
import { OWNER_ANNOTATION, podManifest, podsForEndpoint } from './pods.js';
import { probeMatrix, type ProbeReport } from './probe.js';
import { inParallel } from './parallel.js';
import { PodRunner } from './runner.js';
import { isAlive, stopProcess, PODNET_SCRIPT } from './servers.js';
import { LabStore, type StoredKind } from './store.js';

export const DEFAULT_POD_CIDR = '10.244.0.0/16';
const IPV6_GATEWAY = 'fd70:77::1';
/** The default lab serves its API where kubectl expects one; other labs pick a free port. */
export const DEFAULT_API_PORT = 6443;

/** A problem with what the user asked of the lab (exit 2), as opposed to a failure of the host. */
export class LabInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabInputError';
  }
}

export interface LabSettings {
  readonly name: string;
  readonly podCIDR: string;
  readonly gateways: { readonly 4: string; readonly 6: string };
  readonly log: boolean;
  readonly apiPort: number;
  readonly createdAt: string;
}

export interface LabOptions {
  readonly name?: string;
  readonly stateRoot?: string;
  readonly podCIDR?: string;
  readonly log?: boolean;
  /** The API server's port; 0 picks a free one. */
  readonly apiPort?: number;
}

export interface ChangeReport {
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly deleted: readonly string[];
  readonly rulesetApplied: boolean;
  readonly stats: RulesetStats;
  readonly connectionsCut: number;
}

/** What the daemon records about itself. */
export interface LabDaemonState {
  readonly pid: number;
  readonly apiPort: number;
  readonly healthPort: number;
  readonly startedAt: string;
}

const COLLECTIONS = { Namespace: '/api/v1/namespaces', Pod: '/api/v1/pods', NetworkPolicy: '/apis/networking.k8s.io/v1/networkpolicies' } as const;

/** Running totals of the agent's syncs, so a command can tell what its change did. */
interface SyncTotals {
  readonly syncs: number;
  readonly applies: number;
  readonly revoked: number;
  readonly stats: RulesetStats;
}

const EMPTY_STATS: RulesetStats = { chains: 0, rules: 0, sets: 0, setElements: 0, counters: 0 };

export function defaultStateRoot(): string {
  return process.env.PODWALL_STATE_DIR ?? '/var/lib/podwall';
}

const labDir = (root: string, name: string): string => join(root, 'labs', name);
type Manifest = Record<string, unknown>;
const metaOf = (m: Manifest): Record<string, unknown> => (m.metadata ?? {}) as Record<string, unknown>;
/** The workload (`Deployment/web`) a lab pod was made from, if any. */
const ownerOf = (m: Manifest): string | undefined => ((metaOf(m).annotations as Record<string, string> | undefined) ?? {})[OWNER_ANNOTATION];

/** The daemon's entry: the CLI run as a process of its own (from src under tsx, from dist when built). */
function daemonCommand(name: string, root: string): string[] {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = fileURLToPath(new URL(`../cli/entry.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  return [process.execPath, ...(fromSource ? ['--import', 'tsx'] : []), entry, 'lab', 'daemon', '--name', name, '--state-dir', root];
}

export class Lab {
  private constructor(
    readonly names: LabNames,
    readonly dir: string,
    readonly store: LabStore,
    readonly settings: LabSettings,
    private readonly root: string,
  ) {}

  static list(stateRoot = defaultStateRoot()): string[] {
    const dir = join(stateRoot, 'labs');
    return existsSync(dir) ? readdirSync(dir).filter((n) => existsSync(join(dir, n, 'lab.db'))).sort() : [];
  }

  static open(name = DEFAULT_LAB, stateRoot = defaultStateRoot()): Lab {
    const dir = labDir(stateRoot, name);
    if (!existsSync(join(dir, 'lab.db'))) {
      throw new LabInputError(`no lab "${name}" is up (start one with: podwall lab up -f PATH${name === DEFAULT_LAB ? '' : ` --name ${name}`})`);
    }
    const store = LabStore.open(join(dir, 'lab.db'));
    const settings = store.getMeta<LabSettings>('settings')!;
    return new Lab(labNames(name), dir, store, settings, stateRoot);
  }

  /** Builds the lab and applies the cluster; on any failure, everything made so far is removed. */
  static async up(input: Cluster, options: LabOptions = {}): Promise<{ lab: Lab; report: ChangeReport }> {
    const name = options.name ?? DEFAULT_LAB;
    const root = options.stateRoot ?? defaultStateRoot();
    const nameProblem = checkLabName(name);
    if (nameProblem) throw new LabInputError(nameProblem);
    const podCIDR = options.podCIDR ?? defaultPodCIDR(root);
    const cidr = parseCIDR(podCIDR);
    if (!cidr.cidr || cidr.errors.length > 0 || cidr.cidr.family !== 4 || cidr.cidr.prefix > 28) {
      throw new LabInputError(`--pod-cidr ${podCIDR}: must be an IPv4 network of at least /28 (e.g. 10.244.0.0/16)`);
    }
    if (!isPrivateAddress(formatIP({ family: 4, value: cidr.cidr.network }))) throw new LabInputError(`--pod-cidr ${podCIDR}: must be a private range`);
    for (const e of input.endpoints) {
      const problem = requestedAddressProblem({ namespace: e.namespace, name: e.name, requestedIPs: e.ips });
      if (problem) throw new LabInputError(problem);
    }
    await checkPrerequisites();

    const names = labNames(name);
    const dir = labDir(root, name);
    if (existsSync(join(dir, 'lab.db'))) {
      throw new LabInputError(`lab "${name}" is already up: change it with \`podwall lab apply\`, or remove it with \`podwall lab down\``);
    }
    const leftovers = await findLabObjects(names);
    if (leftovers.netns.length + leftovers.links.length > 0 || (await tableExists(names.table))) {
      throw new LabInputError(`kernel objects of an earlier lab "${name}" remain: run \`podwall lab down${name === DEFAULT_LAB ? '' : ` --name ${name}`}\` to clean them`);
    }
    for (const other of Lab.list(root)) {
      const theirs = Lab.open(other, root);
      theirs.close();
      if (overlaps(parseCIDR(theirs.settings.podCIDR).cidr!, cidr.cidr)) {
        throw new LabInputError(`pod CIDR ${podCIDR} overlaps lab "${other}" (${theirs.settings.podCIDR}): choose another with --pod-cidr`);
      }
    }

    mkdirSync(dir, { recursive: true });
    const store = LabStore.open(join(dir, 'lab.db'));
    const gateway = formatIP({ family: 4, value: cidr.cidr.network + 1n });
    const settings: LabSettings = {
      name,
      podCIDR,
      gateways: { 4: gateway, 6: IPV6_GATEWAY },
      log: options.log ?? false,
      apiPort: options.apiPort ?? (name === DEFAULT_LAB ? DEFAULT_API_PORT : 0),
      createdAt: new Date().toISOString(),
    };
    store.setMeta('settings', settings);
    const lab = new Lab(names, dir, store, settings, root);
    try {
      recordHostSettings(applySysctls(LAB_SYSCTLS));
      await createBridge(names, settings.gateways, false);
      await lab.startDaemon();
      const report = await lab.apply(input);
      return { lab, report };
    } catch (err) {
      lab.close();
      await Lab.down(name, root);
      throw err;
    }
  }

  /** Removes every namespace, link, table and process of the lab; safe to repeat; cleans crashed labs. */
  static async down(name = DEFAULT_LAB, stateRoot = defaultStateRoot()): Promise<{ removed: boolean }> {
    const nameProblem = checkLabName(name);
    if (nameProblem) throw new LabInputError(nameProblem);
    const names = labNames(name);
    const dir = labDir(stateRoot, name);
    let removed = false;
    if (existsSync(join(dir, 'lab.db'))) {
      const store = LabStore.open(join(dir, 'lab.db'));
      await stopProcess(store.getMeta<LabDaemonState>('daemon')?.pid);
      await stopProcess(store.getMeta<number>('serverPid'));
      store.close();
      removed = true;
    }
    for (const pid of findLabProcesses(dir)) {
      await stopProcess(pid);
      removed = true;
    }
    if (await tableExists(names.table)) {
      await deleteTable(names.table);
      removed = true;
    }
    const leftovers = await findLabObjects(names);
    if (leftovers.netns.length + leftovers.links.length > 0) {
      await deleteLabObjects(names);
      removed = true;
    }
    if (existsSync(dir)) {
      rmSync(dir, { recursive: true, force: true });
      removed = true;
    }
    await restoreHostSettingsIfLast(stateRoot);
    return { removed };
  }

  close(): void {
    this.store.close();
  }

  get kubeconfig(): string {
    return kubeconfigPath(this.dir);
  }

  daemon(): LabDaemonState | undefined {
    const state = this.store.getMeta<LabDaemonState>('daemon');
    return state && isAlive(state.pid) ? state : undefined;
  }

  /** Starts the control-plane daemon and waits until its API answers. */
  private async startDaemon(): Promise<void> {
    const log = openSync(join(this.dir, 'daemon.log'), 'a');
    const [command, ...args] = daemonCommand(this.settings.name, this.root);
    const child = spawn(command, args, { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const state = this.store.getMeta<LabDaemonState>('daemon');
      if (state && state.pid === child.pid) break;
      if (!isAlive(child.pid) || Date.now() > deadline) {
        const said = readFileSync(join(this.dir, 'daemon.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
        throw new Error(`the lab daemon did not start${said ? `: ${said}` : ''}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async client(): Promise<LabApiClient> {
    const state = this.daemon();
    if (!state) throw new Error(`the daemon of lab "${this.settings.name}" is not running (see ${join(this.dir, 'daemon.log')}); \`podwall lab down\` cleans up`);
    return new LabApiClient(`https://127.0.0.1:${state.apiPort}`, await labCredentials(this.dir));
  }

  /** Waits until the pod runner and the agent have caught up with `resourceVersion`. */
  private async converge(resourceVersion: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    while ((this.store.getMeta<number>('convergedResourceVersion') ?? 0) < resourceVersion) {
      if (!this.daemon()) throw new Error(`the daemon of lab "${this.settings.name}" stopped (see ${join(this.dir, 'daemon.log')})`);
      const failure = this.store.getMeta<string | null>('runnerError');
      if (failure) throw new Error(`lab "${this.settings.name}" could not run its pods: ${failure}`);
      if (Date.now() > deadline) throw new Error(`lab "${this.settings.name}" did not catch up with the change within 60 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private syncTotals(): SyncTotals {
    return this.store.getMeta<SyncTotals>('syncTotals') ?? { syncs: 0, applies: 0, revoked: 0, stats: EMPTY_STATS };
  }

  /** The cluster as the lab holds it now. */
  cluster(): Cluster {
    return clusterFromObjects(this.store.list().map((o) => o.manifest)).cluster!;
  }

  /** Objects of one kind, read through the API as `kubectl get` would. */
  async list(kind: StoredKind): Promise<Manifest[]> {
    const path = COLLECTIONS[kind];
    const r = await (await this.client()).call('GET', path);
    if (r.status !== 200) throw new Error(`GET ${path}: ${String(r.body.message ?? r.status)}`);
    return (r.body.items as Manifest[]) ?? [];
  }

  /** `kubectl apply` for the lab, through its API: namespaces, pods (workloads become pods), policies. */
  async apply(input: Cluster): Promise<ChangeReport> {
    for (const e of input.endpoints) {
      const problem = requestedAddressProblem({ namespace: e.namespace, name: e.name, requestedIPs: e.ips });
      if (problem) throw new LabInputError(problem);
    }
    const api = await this.client();
    const before = this.syncTotals();
    const report = { created: [] as string[], updated: [] as string[], deleted: [] as string[] };
    let written = 0;
    // What the API holds now, one list per kind, so each object costs a request only if it changes.
    const current = new Map<string, Manifest>();
    for (const [kind, path] of Object.entries(COLLECTIONS)) {
      const r = await api.call('GET', path);
      if (r.status !== 200) throw new Error(`GET ${path}: ${String(r.body.message ?? r.status)}`);
      for (const m of (r.body.items as Manifest[]) ?? []) current.set(`${kind}/${String(metaOf(m).namespace ?? '')}/${String(metaOf(m).name)}`, m);
    }
    const fail = (what: string, r: { status: number; body: Manifest }): never => {
      const message = String(r.body.message ?? `HTTP ${r.status}`);
      throw r.status === 422 || r.status === 400 || r.status === 409 ? new LabInputError(`${what}: ${message}`) : new Error(`${what}: ${message}`);
    };
    type Write = { label: string; key: string; collection: string; name: string; manifest: Manifest; same: (current: Manifest) => boolean };
    const upsert = async ({ label, key, collection, name, manifest, same }: Write): Promise<void> => {
      const existing = current.get(key);
      let r;
      if (!existing) {
        r = await api.call('POST', `${collection}?fieldValidation=Strict`, manifest);
        if (r.status !== 201) fail(`create ${label}`, r);
        report.created.push(label);
      } else {
        if (same(existing)) return;
        const merged = { ...manifest, metadata: { ...metaOf(existing), ...metaOf(manifest), resourceVersion: metaOf(existing).resourceVersion } };
        r = await api.call('PUT', `${collection}/${name}?fieldValidation=Strict`, merged);
        if (r.status !== 200) fail(`update ${label}`, r);
        report.updated.push(label);
      }
      written = Math.max(written, Number(metaOf(r.body).resourceVersion ?? 0));
    };
    const labels = (m: Manifest): string => JSON.stringify(Object.entries((metaOf(m).labels as Record<string, string>) ?? {}).sort());

    // Namespaces first: pods and policies can only be created in one that exists.
    await inParallel(
      input.namespaces.map((ns): Write => {
        const m = namespaceManifest(ns);
        // A namespace the input only uses (not declares) is made if missing, never relabelled.
        return { label: `Namespace ${ns.name}`, key: `Namespace//${ns.name}`, collection: '/api/v1/namespaces', name: ns.name, manifest: m, same: (c) => !ns.declared || labels(c) === labels(m) };
      }),
      8,
      upsert,
    );
    const specs = input.endpoints.flatMap(podsForEndpoint);
    const podSpec = (x: Manifest) => JSON.stringify(((x.spec as Manifest)?.containers as Manifest[] | undefined)?.map((c) => c.ports) ?? []) + String((x.spec as Manifest)?.hostNetwork ?? false);
    const writes: Write[] = [
      ...specs.map((spec): Write => {
        const m = podManifest(spec, spec.requestedIPs);
        return {
          label: `Pod ${spec.namespace}/${spec.name}`,
          key: `Pod/${spec.namespace}/${spec.name}`,
          collection: `/api/v1/namespaces/${spec.namespace}/pods`,
          name: spec.name,
          manifest: m,
          same: (c) => labels(c) === labels(m) && podSpec(c) === podSpec(m),
        };
      }),
      ...input.policies.map((p): Write => {
        const m = networkPolicyManifest(p);
        return {
          label: `NetworkPolicy ${p.namespace}/${p.name}`,
          key: `NetworkPolicy/${p.namespace}/${p.name}`,
          collection: `/apis/networking.k8s.io/v1/namespaces/${p.namespace}/networkpolicies`,
          name: p.name,
          manifest: m,
          same: (c) => JSON.stringify(c.spec) === JSON.stringify(m.spec),
        };
      }),
    ];
    await inParallel(writes, 8, upsert);
    // Pods a workload made earlier but no longer makes (fewer replicas, a new template) go.
    const owners = new Set(input.endpoints.filter((e) => e.kind !== 'Pod').map((e) => `${e.namespace}/${e.kind}/${e.name}`));
    const wanted = new Set(specs.map((s) => `${s.namespace}/${s.name}`));
    for (const [key, m] of current) {
      if (!key.startsWith('Pod/')) continue;
      const [namespace, name] = [String(metaOf(m).namespace), String(metaOf(m).name)];
      const owner = ownerOf(m);
      if (owner && owners.has(`${namespace}/${owner}`) && !wanted.has(`${namespace}/${name}`)) {
        written = Math.max(written, await this.remove(api, `/api/v1/namespaces/${namespace}/pods/${name}`));
        report.deleted.push(`Pod ${namespace}/${name}`);
      }
    }
    // Reports list objects in input order, whatever order the requests finished in.
    const order = new Map([...input.namespaces.map((n) => `Namespace ${n.name}`), ...writes.map((w) => w.label)].map((l, i) => [l, i]));
    report.created.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    report.updated.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    return this.finish(report, before, written);
  }

  private async remove(api: LabApiClient, path: string): Promise<number> {
    const r = await api.call('DELETE', path);
    if (r.status !== 200 && r.status !== 404) throw new Error(`DELETE ${path}: ${String(r.body.message ?? r.status)}`);
    return Number(metaOf(r.body).resourceVersion ?? 0);
  }

  private async finish(report: { created: string[]; updated: string[]; deleted: string[] }, before: SyncTotals, written: number): Promise<ChangeReport> {
    if (written > 0) await this.converge(written);
    const after = this.syncTotals();
    return {
      ...report,
      rulesetApplied: after.applies > before.applies,
      stats: after.stats,
      connectionsCut: after.revoked - before.revoked,
    };
  }

  /** `kubectl delete -f` for the lab: the objects named in the input, and what they own. */
  async delete(input: Cluster, declaredNamespaces: ReadonlySet<string>): Promise<ChangeReport> {
    const api = await this.client();
    const before = this.syncTotals();
    const deleted: string[] = [];
    let written = 0;
    const owners = new Set(input.endpoints.filter((e) => e.kind !== 'Pod').map((e) => `${e.namespace}/${e.kind}/${e.name}`));
    const pods = new Set(input.endpoints.filter((e) => e.kind === 'Pod').map((e) => `${e.namespace}/${e.name}`));
    for (const o of this.store.list('Pod')) {
      const owner = ownerOf(o.manifest);
      if (pods.has(`${o.namespace}/${o.name}`) || (owner && owners.has(`${o.namespace}/${owner}`))) {
        written = Math.max(written, await this.remove(api, `/api/v1/namespaces/${o.namespace}/pods/${o.name}`));
        deleted.push(`Pod ${o.namespace}/${o.name}`);
      }
    }
    for (const p of input.policies) {
      if (!this.store.get('NetworkPolicy', p.namespace, p.name)) continue;
      written = Math.max(written, await this.remove(api, `/apis/networking.k8s.io/v1/namespaces/${p.namespace}/networkpolicies/${p.name}`));
      deleted.push(`NetworkPolicy ${p.namespace}/${p.name}`);
    }
    for (const ns of declaredNamespaces) {
      if (!this.store.get('Namespace', '', ns)) continue;
      written = Math.max(written, await this.remove(api, `/api/v1/namespaces/${ns}`));
      deleted.push(`Namespace ${ns}`);
    }
    return this.finish({ created: [], updated: [], deleted }, before, written);
  }

  /** Probes every pod to every pod on the given ports (default: every declared port). */
  async probe(ports?: readonly PortProtocol[], timeoutSeconds = 1): Promise<ProbeReport[]> {
    const compiled = compileCluster(this.cluster());
    const nets = new Map(this.store.podNetworks().map((n) => [`${n.namespace}/${n.name}`, n]));
    const targets = compiled.cluster.endpoints.map((endpoint) => {
      const net = nets.get(`${endpoint.namespace}/${endpoint.name}`);
      return { endpoint, netns: net && !endpoint.hostNetwork ? this.names.netns(net.slot) : undefined };
    });
    return probeMatrix(compiled, targets, ports ?? declaredPorts(compiled.cluster.endpoints), timeoutSeconds);
  }

  /** Denied connections per pod and direction, from the data plane's named counters. */
  async counters(): Promise<Map<string, CounterValue>> {
    return readCounters(this.names.table);
  }

  /** The network namespace of a pod (`ns/name` or a bare name in `default`). */
  netnsOf(pod: string): string {
    const [namespace, name] = pod.includes('/') ? pod.split('/', 2) : ['default', pod];
    const net = this.store.podNetwork(namespace, name);
    if (!net) {
      const known = this.store.podNetworks().map((n) => `${n.namespace}/${n.name}`);
      throw new LabInputError(`no pod "${namespace}/${name}" in lab "${this.settings.name}"${known.length ? ` (pods: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', ...' : ''})` : ''}`);
    }
    return this.names.netns(net.slot);
  }

  /** Runs a command inside a pod's network namespace, on this terminal; returns its exit code. */
  async execInPod(pod: string, argv: readonly string[]): Promise<number> {
    const r = await exec(['ip', 'netns', 'exec', this.netnsOf(pod), ...argv], { inherit: true, check: false });
    return r.code;
  }
}

/** What the daemon needs from the lab's state: the parts it wires together (see cli/lab-daemon.ts). */
export async function labDaemonContext(name: string, stateRoot = defaultStateRoot()) {
  const lab = Lab.open(name, stateRoot);
  const credentials: Credentials = await labCredentials(lab.dir);
  const { store, settings, names, dir } = lab;
  let server: LabApiServer | undefined;
  return {
    dir,
    node: name,
    table: names.table,
    log: settings.log,
    nodeAddresses: [settings.gateways[4], settings.gateways[6]],
    kubeconfig: kubeconfigPath(dir),
    async startApiServer(): Promise<{ port: number; close: () => Promise<void> }> {
      server = new LabApiServer({ store, credentials, port: settings.apiPort });
      const { port } = await server.listen();
      writeKubeconfig(dir, name, `https://127.0.0.1:${port}`, credentials);
      return { port, close: () => server!.close() };
    },
    podRunner(enforced: (rv: number) => Promise<void>, logger: (line: string) => void): PodRunner {
      return new PodRunner({
        store,
        names,
        dir,
        podCIDR: settings.podCIDR,
        gateways: settings.gateways,
        node: name,
        enforced,
        logger,
        recordHostSettings,
      });
    },
    recordSync(record: { applied: boolean; stats: RulesetStats; connectionsCut: number }): void {
      const totals = store.getMeta<SyncTotals>('syncTotals') ?? { syncs: 0, applies: 0, revoked: 0, stats: EMPTY_STATS };
      store.setMeta('syncTotals', {
        syncs: totals.syncs + 1,
        applies: totals.applies + (record.applied ? 1 : 0),
        revoked: totals.revoked + record.connectionsCut,
        stats: record.stats,
      });
    },
    markReady(state: LabDaemonState): void {
      store.setMeta('daemon', state);
    },
    close(): void {
      lab.close();
    },
  };
}

function overlaps(a: CIDR, b: CIDR): boolean {
  return cidrContains(a, { family: b.family, value: b.network }) || cidrContains(b, { family: a.family, value: a.network });
}

/** 10.244.0.0/16 for the first lab; later labs take the next free /16 up to 10.254.0.0/16. */
function defaultPodCIDR(root: string): string {
  const taken = Lab.list(root).map((name) => {
    const lab = Lab.open(name, root);
    lab.close();
    return parseCIDR(lab.settings.podCIDR).cidr!;
  });
  for (let octet = 244; octet <= 254; octet++) {
    const candidate = parseCIDR(`10.${octet}.0.0/16`).cidr!;
    if (!taken.some((t) => overlaps(t, candidate))) return `10.${octet}.0.0/16`;
  }
  return DEFAULT_POD_CIDR;
}

/** The lab's processes (daemon, pod servers), found by their command line even when their pids were lost. */
function findLabProcesses(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of existsSync('/proc') ? readdirSync('/proc') : []) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const helper = cmdline.includes(PODNET_SCRIPT) && cmdline.some((arg) => arg.startsWith(`${dir}/`));
      const daemon = cmdline.includes('daemon') && cmdline.includes('--state-dir') && cmdline.some((arg) => dir.startsWith(`${arg}/labs/`)) && cmdline.includes(dir.split('/').pop()!);
      if (helper || daemon) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/**
 * The host settings are shared by every lab on the machine, whatever its state root: the first lab
 * records them (in a host-wide file), and the last `lab down` restores them: the last lab of its
 * state root whose kernel sees no other lab's bridge. (A record per state root would let a lab
 * that goes down turn forwarding off under another lab that is still up.)
 */
function hostSettingsFile(): string {
  return join(process.env.PODWALL_RUN_DIR ?? '/run/podwall', 'host-sysctls.json');
}

function recordHostSettings(previous: Readonly<Record<string, string>>): void {
  const file = hostSettingsFile();
  const saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  for (const [k, v] of Object.entries(previous)) if (!(k in saved)) saved[k] = v;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(saved));
}

async function restoreHostSettingsIfLast(root: string): Promise<void> {
  const file = hostSettingsFile();
  if (Lab.list(root).length > 0 || !existsSync(file)) return;
  const links = await exec(['ip', '-o', 'link', 'show', 'type', 'bridge'], { check: false, timeoutMs: 10_000 });
  const otherLab = links.stdout.split('\n').some((l) => /^\d+: pw-[a-z0-9]+-br[:@]/.test(l));
  if (otherLab) return;
  restoreSysctls(JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>);
  rmSync(file, { force: true });
}
