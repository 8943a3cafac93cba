// A single-node cluster on this machine, built from parts: an API server over the lab's store, a
// pod runner that gives each pod a network namespace on the lab's bridge with a server on every
// declared port, and the agent enforcing the policies with nftables. They run in one daemon that
// `lab up` starts; `lab apply`, `lab delete` and `lab get` talk to its API like kubectl does. State
// lives in a directory per lab (SQLite); `lab down` (or a failed `lab up`) leaves nothing behind.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { compileServices, deleteTable, exec, readCounters, RulesetApplier, tableExists, type CounterValue, type RulesetStats } from '../dataplane/index.js';
import { compileCluster, declaredPorts, type PortProtocol } from '../engine/index.js';
import {
  adminPolicyManifest,
  cidrContains,
  clusterFromObjects,
  formatIP,
  namespaceManifest,
  networkPolicyManifest,
  parseCIDR,
  type CIDR,
  type Cluster,
  type Endpoint,
  type Manifest,
} from '../model/index.js';
import { isPrivateAddress, requestedAddressProblem } from './addresses.js';
import { LabApiClient } from './api/client.js';
import { kubeconfigPath, labCredentials, nodeCredentials, writeKubeconfig, writeNodeKubeconfig, type Credentials } from './api/credentials.js';
import { LabApiServer, SERVER_VERSION } from './api/server.js';
import { applySysctls, bridgeSysctls, checkPrerequisites, LAB_SYSCTLS, overlappingRoutes, restoreSysctls, withHostLock } from './host.js';
import { checkLabName, DEFAULT_LAB, labNames, type LabNames } from './names.js';
import { addIPv6Gateway, createBridge, createOutside, createPods, deleteLabObjects, deletePods, findLabObjects, outsideNetns, resolvConf, routeServiceCIDR, writeResolvConfs, type OutsideHost } from './network.js';
import { dnsAddress, dnsManifests, dnsRecords, serviceFrontends, serviceManifest } from './services.js';
import { OWNER_ANNOTATION, podManifest, podsForEndpoint } from './pods.js';
import { probeMatrix, probeServices, type ProbeReport, type ServiceProbeReport } from './probe.js';
import { inParallel } from './parallel.js';
import { commandLine, flagValue, isRunning, podwallCommand, processRecord, stopProcess, type ProcessRecord } from './process.js';
import { PodRunner, type RunnerNode } from './runner.js';
import { NodeAgents, type NodeAgentStatus } from './agents.js';
import {
  connectNodes,
  createNode,
  createNodePods,
  createUnderlay,
  deleteNode,
  deleteNodePods,
  MAX_NODES,
  nodeBlocksProblem,
  nodeNetns,
  planTopology,
  routeBlocksFromHost,
  TOPOLOGIES,
  underlayBridge,
  type LabNode,
  type Topology,
  type TopologyKind,
} from './topology.js';
import { PodServers, PODNET_SCRIPT } from './servers.js';
import { LabStore, type StoredKind } from './store.js';

export const DEFAULT_POD_CIDR = '10.244.0.0/16';
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/16';
const IPV6_GATEWAY = 'fd70:77::1';
/** The default lab serves its API where kubectl expects one; other labs pick a free port. */
export const DEFAULT_API_PORT = 6443;
/** The most pods one lab holds (each is a network namespace with a veth): more is refused before anything is made. */
export const LAB_MAX_PODS = 2000;

/** A problem with what the user asked of the lab (exit 2), as opposed to a failure of the host. */
export class LabInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabInputError';
  }
}

/** A change that stopped part-way (a failed request, an interrupt): what was written before it stopped. */
export class LabChangeInterrupted extends Error {
  constructor(
    reason: unknown,
    readonly written: readonly string[],
  ) {
    const why = reason instanceof Error ? (reason.name === 'AbortError' ? 'interrupted' : reason.message) : String(reason);
    super(`${why}${written.length > 0 ? `\nwritten before it stopped: ${written.join(', ')}` : '\nnothing was written'}`, { cause: reason });
    this.name = reason instanceof Error && reason.name === 'LabInputError' ? 'LabInputError' : 'LabChangeInterrupted';
  }
}

/** Pods the lab could not serve (no address, a socket that does not open): named, never shown as a verdict. */
export class LabPodsNotReady extends Error {
  constructor(readonly pods: readonly { readonly pod: string; readonly reason: string }[]) {
    super(`${pods.length} pod${pods.length === 1 ? ' is' : 's are'} not running: ${pods.map((p) => `${p.pod} (${p.reason})`).join('; ')}`);
    this.name = 'LabPodsNotReady';
  }
}

export interface LabSettings {
  readonly name: string;
  readonly podCIDR: string;
  /** Where ClusterIPs come from (labs made before Services had none). */
  readonly serviceCIDR?: string;
  /** The host outside the cluster and the node's end of its link. */
  readonly outside?: OutsideHost;
  readonly gateways: { readonly 4: string; readonly 6: string };
  readonly log: boolean;
  readonly apiPort: number;
  readonly createdAt: string;
  /** The node lab's nodes and how they are wired; absent for the single-node lab. */
  readonly topology?: Topology;
}

export interface LabOptions {
  readonly name?: string;
  readonly stateRoot?: string;
  readonly podCIDR?: string;
  readonly serviceCIDR?: string;
  readonly log?: boolean;
  /** The API server's port; 0 picks a free one. */
  readonly apiPort?: number;
  /** Nodes (default 1); more than one, or a topology, makes the node lab. */
  readonly nodes?: number;
  readonly topology?: TopologyKind;
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
export interface LabDaemonState extends ProcessRecord {
  readonly apiPort: number;
  readonly healthPort: number;
  readonly startedAt: string;
}

/** What the pod runner claims after a pass: every pod in the store at `resourceVersion` was handled; those not running, and why. */
export interface Convergence {
  readonly resourceVersion: number;
  readonly notReady: readonly { readonly pod: string; readonly reason: string }[];
}

const COLLECTIONS: Readonly<Record<StoredKind, string>> = {
  Namespace: '/api/v1/namespaces',
  Pod: '/api/v1/pods',
  NetworkPolicy: '/apis/networking.k8s.io/v1/networkpolicies',
  Service: '/api/v1/services',
  Node: '/api/v1/nodes',
  AdminNetworkPolicy: '/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies',
  BaselineAdminNetworkPolicy: '/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies',
  ClusterNetworkPolicy: '/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies',
};
/** What `lab apply` reads before it writes (Nodes are the lab's own: the daemon registers its node). */
const APPLIED_KINDS: readonly StoredKind[] = ['Namespace', 'Pod', 'NetworkPolicy', 'Service', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'ClusterNetworkPolicy'];

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

/** Where host-wide lab records live (the settings the first lab changed, the lock). */
function runDir(): string {
  return process.env.PODWALL_RUN_DIR ?? '/run/podwall';
}

const labDir = (root: string, name: string): string => join(root, 'labs', name);
const metaOf = (m: Manifest): Manifest => (m.metadata ?? {}) as Manifest;
/** The workload (`Deployment/web`) a lab pod was made from, if any. */
const ownerOf = (m: Manifest): string | undefined => ((metaOf(m).annotations as Record<string, string> | undefined) ?? {})[OWNER_ANNOTATION];

/** The daemon's command line. */
function daemonCommand(name: string, root: string): string[] {
  return podwallCommand(['lab', 'daemon', '--name', name, '--state-dir', root]);
}

/** How many pods an input stands for, counted without making them (a workload may ask for millions). */
function podCount(e: Endpoint): number {
  if (e.kind === 'Pod' || e.kind === 'DaemonSet' || e.kind === 'CronJob') return 1;
  return Math.max(0, e.replicas ?? 1);
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
    const dir = join(resolve(stateRoot), 'labs');
    return existsSync(dir) ? readdirSync(dir).filter((n) => existsSync(join(dir, n, 'lab.db'))).sort() : [];
  }

  static open(name = DEFAULT_LAB, stateRoot = defaultStateRoot()): Lab {
    const root = resolve(stateRoot);
    const dir = labDir(root, name);
    if (!existsSync(join(dir, 'lab.db'))) {
      throw new LabInputError(`no lab "${name}" is up (start one with: podwall lab up -f PATH${name === DEFAULT_LAB ? '' : ` --name ${name}`})`);
    }
    const store = LabStore.open(join(dir, 'lab.db'));
    const settings = store.getMeta<LabSettings>('settings')!;
    return new Lab(labNames(name), dir, store, settings, root);
  }

  /**
   * Builds the lab and applies the cluster; on any failure, everything made so far is removed.
   * A lab whose daemon died (a crash, a reboot) is resumed from its store instead: same pods, same
   * addresses, the input applied on top.
   */
  static async up(input: Cluster, options: LabOptions = {}): Promise<{ lab: Lab; report: ChangeReport; resumed: boolean }> {
    const name = options.name ?? DEFAULT_LAB;
    const root = resolve(options.stateRoot ?? defaultStateRoot());
    const nameProblem = checkLabName(name);
    if (nameProblem) throw new LabInputError(nameProblem);
    checkInput(input);
    const dir = labDir(root, name);
    if (existsSync(join(dir, 'lab.db'))) {
      const lab = Lab.open(name, root);
      try {
        if (lab.daemon()) throw new LabInputError(`lab "${name}" is already up: change it with \`podwall lab apply\`, or remove it with \`podwall lab down\``);
        if (options.podCIDR !== undefined && options.podCIDR !== lab.settings.podCIDR) {
          throw new LabInputError(`lab "${name}" is resumed with its own pod CIDR ${lab.settings.podCIDR}, not ${options.podCIDR}: run \`podwall lab down\` first to change it`);
        }
        const nodes = lab.settings.topology?.nodes.length ?? 1;
        if ((options.nodes !== undefined && options.nodes !== nodes) || (options.topology !== undefined && options.topology !== lab.settings.topology?.kind)) {
          throw new LabInputError(`lab "${name}" is resumed with its own ${nodes} node${nodes === 1 ? '' : 's'}${lab.settings.topology ? ` (${lab.settings.topology.kind})` : ''}: run \`podwall lab down\` first to change them`);
        }
        if (options.serviceCIDR !== undefined && options.serviceCIDR !== lab.settings.serviceCIDR) {
          throw new LabInputError(`lab "${name}" is resumed with its own service CIDR ${lab.settings.serviceCIDR ?? '(none)'}, not ${options.serviceCIDR}: run \`podwall lab down\` first to change it`);
        }
        await checkPrerequisites();
        await lab.resume();
        return { lab, report: await lab.apply(input), resumed: true };
      } catch (err) {
        lab.close();
        throw err;
      }
    }
    const nodeCount = options.nodes ?? 1;
    if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > MAX_NODES) throw new LabInputError(`--nodes ${nodeCount}: must be a whole number from 1 to ${MAX_NODES}`);
    if (options.topology !== undefined && !TOPOLOGIES.includes(options.topology)) throw new LabInputError(`--topology ${String(options.topology)}: must be one of ${TOPOLOGIES.join(', ')}`);
    const nodeLab = nodeCount > 1 || options.topology !== undefined;
    const podCIDR = options.podCIDR ?? (await defaultPodCIDR(root));
    const cidr = parseCIDR(podCIDR);
    if (!cidr.cidr || cidr.errors.length > 0 || cidr.cidr.family !== 4 || cidr.cidr.prefix > 28) {
      throw new LabInputError(`--pod-cidr ${podCIDR}: must be an IPv4 network of at least /28 (e.g. 10.244.0.0/16)`);
    }
    if (!isPrivateAddress(formatIP({ family: 4, value: cidr.cidr.network }))) throw new LabInputError(`--pod-cidr ${podCIDR}: must be a private range`);
    const blocksProblem = nodeLab ? nodeBlocksProblem(podCIDR, nodeCount) : undefined;
    if (blocksProblem) throw new LabInputError(blocksProblem);
    const serviceCIDR = options.serviceCIDR ?? (await defaultServiceCIDR(root, cidr.cidr));
    const services = parseCIDR(serviceCIDR);
    if (!services.cidr || services.errors.length > 0 || services.cidr.family !== 4 || services.cidr.prefix > 24) {
      throw new LabInputError(`--service-cidr ${serviceCIDR}: must be an IPv4 network of at least /24 (e.g. 10.96.0.0/16)`);
    }
    if (!isPrivateAddress(formatIP({ family: 4, value: services.cidr.network }))) throw new LabInputError(`--service-cidr ${serviceCIDR}: must be a private range`);
    if (overlaps(services.cidr, cidr.cidr)) throw new LabInputError(`--service-cidr ${serviceCIDR} overlaps the pod CIDR ${podCIDR}`);
    await checkPrerequisites();

    const names = labNames(name);
    const topology = nodeLab ? planTopology(name, options.topology ?? 'routed', nodeCount, podCIDR, await freeUnderlay(root)) : undefined;
    // The node lab's first node's gateway stands for the lab's (it is the first block's .1).
    const gateway = formatIP({ family: 4, value: cidr.cidr.network + 1n });
    const settings: LabSettings = {
      ...(topology ? { topology } : {}),
      name,
      podCIDR,
      gateways: { 4: gateway, 6: IPV6_GATEWAY },
      serviceCIDR,
      outside: await freeOutsideLink(root),
      log: options.log ?? false,
      apiPort: options.apiPort ?? (name === DEFAULT_LAB ? DEFAULT_API_PORT : 0),
      createdAt: new Date().toISOString(),
    };
    // Checked and made under the host lock, so no other lab's up or down interleaves.
    const lab = await withHostLock(runDir(), async () => {
      const leftovers = await findLabObjects(names);
      if (leftovers.netns.length + leftovers.links.length > 0 || (await tableExists(names.table))) {
        throw new LabInputError(`kernel objects of an earlier lab "${name}" remain: run \`podwall lab down${name === DEFAULT_LAB ? '' : ` --name ${name}`}\` to clean them`);
      }
      for (const other of Lab.list(root)) {
        const theirs = Lab.open(other, root);
        theirs.close();
        for (const [what, mine, flag] of [['pod CIDR', podCIDR, '--pod-cidr'], ['service CIDR', serviceCIDR, '--service-cidr']] as const) {
          const hit = [theirs.settings.podCIDR, theirs.settings.serviceCIDR].find((c) => c !== undefined && overlaps(parseCIDR(c).cidr!, parseCIDR(mine).cidr!));
          if (hit) throw new LabInputError(`${what} ${mine} overlaps lab "${other}" (${hit}): choose another with ${flag}`);
        }
      }
      for (const [what, mine, flag] of [['pod CIDR', podCIDR, '--pod-cidr'], ['service CIDR', serviceCIDR, '--service-cidr']] as const) {
        const routes = await overlappingRoutes(parseCIDR(mine).cidr!);
        if (routes.length > 0) {
          throw new LabInputError(`${what} ${mine} overlaps routes on this host (${routes.slice(0, 3).join('; ')}${routes.length > 3 ? '; ...' : ''}): choose another with ${flag}`);
        }
      }
      mkdirSync(dir, { recursive: true });
      const store = LabStore.open(join(dir, 'lab.db'));
      store.setMeta('settings', settings);
      const made = new Lab(names, dir, store, settings, root);
      try {
        recordHostSettings(applySysctls(LAB_SYSCTLS));
        await made.makeNetwork();
      } catch (err) {
        made.close();
        throw err;
      }
      return made;
    });
    try {
      await lab.startDaemon();
      await lab.startClusterDNS();
      const report = await lab.apply(input);
      return { lab, report, resumed: false };
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
    const root = resolve(stateRoot);
    const names = labNames(name);
    const dir = labDir(root, name);
    let removed = false;
    let recorded: { daemon?: ProcessRecord; helper?: ProcessRecord; agents?: Record<string, ProcessRecord> } = {};
    if (existsSync(join(dir, 'lab.db'))) {
      const store = LabStore.open(join(dir, 'lab.db'));
      recorded = { daemon: store.getMeta<LabDaemonState>('daemon'), helper: store.getMeta<ProcessRecord>('serverProcess'), agents: store.getMeta<Record<string, ProcessRecord>>('agents') };
      store.close();
      removed = true;
    }
    // The daemon first: it supervises the pod-server helper and would start it again. Recorded
    // processes are signalled only if they are still the ones the lab started; the others are
    // found by their command line.
    await stopProcess(recorded.daemon);
    for (const pid of findLabProcesses(name, root).daemons) {
      await stopProcess(processRecord(pid));
      removed = true;
    }
    await stopProcess(recorded.helper);
    await inParallel(Object.values(recorded.agents ?? {}), 8, (agent) => stopProcess(agent));
    for (const pid of findLabProcesses(name, root).helpers) {
      await stopProcess(processRecord(pid));
      removed = true;
    }
    await withHostLock(runDir(), async () => {
      for (const table of [names.table, names.servicesTable]) {
        if (await tableExists(table)) {
          await deleteTable(table);
          removed = true;
        }
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
      await restoreHostSettingsIfLast(root);
    });
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
    return isRunning(state) ? state : undefined;
  }

  /** The cluster DNS every lab runs (kube-system/kube-dns and its pod), so pods resolve Service names. */
  private async startClusterDNS(): Promise<void> {
    if (!this.settings.serviceCIDR) return;
    const built = clusterFromObjects(dnsManifests(this.settings.serviceCIDR));
    await this.apply(built.cluster!);
  }

  /** The node's side of the lab: the bridge, the Service CIDR's route, the outside host; what exists is kept. */
  private async makeNetwork(): Promise<void> {
    const found = await findLabObjects(this.names);
    const topology = this.settings.topology;
    if (topology) {
      if (!found.links.includes(underlayBridge(this.names))) await createUnderlay(this.names, topology);
      for (const node of topology.nodes) if (!found.netns.includes(nodeNetns(this.names, node))) await createNode(this.names, topology, node);
      await connectNodes(this.names, topology);
      await routeBlocksFromHost(this.names, topology);
      // A ClusterIP no node DNATed (a port no Service has) goes nowhere, not out of the machine.
      if (this.settings.serviceCIDR) await exec(['ip', 'route', 'replace', this.settings.serviceCIDR, 'dev', underlayBridge(this.names)], { timeoutMs: 10_000 });
      if (this.settings.outside && !found.netns.includes(outsideNetns(this.names))) await createOutside(this.names, this.settings.outside);
      return;
    }
    if (!found.links.includes(this.names.bridge)) await createBridge(this.names, this.settings.gateways, false);
    applySysctls(bridgeSysctls(this.names.bridge));
    if (this.settings.serviceCIDR) await routeServiceCIDR(this.names, this.settings.serviceCIDR);
    if (this.settings.outside && !found.netns.includes(outsideNetns(this.names))) await createOutside(this.names, this.settings.outside);
  }

  /** After a crash or a reboot: the host settings and the network again where they are gone, then the daemon. */
  private async resume(): Promise<void> {
    await withHostLock(runDir(), async () => {
      recordHostSettings(applySysctls(LAB_SYSCTLS));
      await this.makeNetwork();
    });
    await this.startDaemon();
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
      if (state && state.pid === child.pid && isRunning(state)) break;
      if (!isRunning(child.pid ? processRecord(child.pid) : undefined) || Date.now() > deadline) {
        const said = readFileSync(join(this.dir, 'daemon.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
        throw new Error(`the lab daemon did not start${said ? `: ${said}` : ''}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async client(): Promise<LabApiClient> {
    const state = this.daemon();
    if (!state) {
      throw new Error(
        `the daemon of lab "${this.settings.name}" is not running (see ${join(this.dir, 'daemon.log')}): \`podwall lab up${this.settings.name === DEFAULT_LAB ? '' : ` --name ${this.settings.name}`} -f PATH\` resumes it, \`podwall lab down\` removes it`,
      );
    }
    return new LabApiClient(`https://127.0.0.1:${state.apiPort}`, await labCredentials(this.dir));
  }

  /**
   * Waits until the pod runner and the agent have caught up with `resourceVersion`, then insists
   * that every pod the lab should run is running, with every declared socket open.
   */
  private async converge(resourceVersion: number): Promise<void> {
    const deadline = Date.now() + 60_000;
    let claim = this.store.getMeta<Convergence>('converged');
    while ((claim?.resourceVersion ?? 0) < resourceVersion) {
      if (!this.daemon()) throw new Error(`the daemon of lab "${this.settings.name}" stopped (see ${join(this.dir, 'daemon.log')})`);
      const failure = this.store.getMeta<string | null>('runnerError');
      if (failure) throw new Error(`lab "${this.settings.name}" could not run its pods: ${failure}`);
      if (Date.now() > deadline) throw new Error(`lab "${this.settings.name}" did not catch up with the change within 60 s (see ${join(this.dir, 'daemon.log')})`);
      await new Promise((r) => setTimeout(r, 5));
      claim = this.store.getMeta<Convergence>('converged');
    }
    if (claim && claim.notReady.length > 0) throw new LabPodsNotReady(claim.notReady);
  }

  /** Waits until the lab has caught up with everything its store holds now (a change made by kubectl, say). */
  async settle(): Promise<void> {
    await this.converge(this.store.currentResourceVersion());
  }

  private syncTotals(): SyncTotals {
    return this.store.getMeta<SyncTotals>('syncTotals') ?? { syncs: 0, applies: 0, revoked: 0, stats: EMPTY_STATS };
  }

  /** The cluster as the lab holds it now. */
  cluster(): Cluster {
    return clusterFromObjects(this.store.list().map((o) => o.manifest)).cluster!;
  }

  /**
   * The cluster with every pod at the addresses the kernel gives it (its network), whatever its
   * status says; a pod without a network has no address: what probes are compared against.
   */
  kernelCluster(): Cluster {
    const nets = new Map(this.store.podNetworks().map((n) => [`${n.namespace}/${n.name}`, n.ips]));
    const objects = this.store.list().map((o) => {
      if (o.kind !== 'Pod' || (o.manifest.spec as Manifest | undefined)?.hostNetwork === true) return o.manifest;
      const ips = nets.get(`${o.namespace}/${o.name}`) ?? [];
      const { podIP: _podIP, podIPs: _podIPs, ...status } = (o.manifest.status ?? {}) as Manifest;
      return { ...o.manifest, status: { ...status, ...(ips.length > 0 ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}) } };
    });
    return clusterFromObjects(objects).cluster!;
  }

  /** Objects of one kind, read through the API as `kubectl get` would. */
  async list(kind: StoredKind): Promise<Manifest[]> {
    const path = COLLECTIONS[kind];
    const r = await (await this.client()).call('GET', path);
    if (r.status !== 200) throw new Error(`GET ${path}: ${String(r.body.message ?? r.status)}`);
    return (r.body.items as Manifest[]) ?? [];
  }

  /**
   * `kubectl apply` for the lab, through its API: namespaces, pods (workloads become pods),
   * policies. Everything that can be checked before writing is (pod count, addresses), so bad
   * input writes nothing; a change that stops part-way says what it wrote.
   */
  async apply(input: Cluster, signal?: AbortSignal): Promise<ChangeReport> {
    checkInput(input);
    const api = await this.client();
    const before = this.syncTotals();
    const report = { created: [] as string[], updated: [] as string[], deleted: [] as string[] };
    let written = 0;
    // What the API holds now, one list per kind, so each object costs a request only if it changes.
    const current = new Map<string, Manifest>();
    for (const kind of APPLIED_KINDS) {
      const path = COLLECTIONS[kind];
      const r = await api.call('GET', path);
      if (r.status !== 200) throw new Error(`GET ${path}: ${String(r.body.message ?? r.status)}`);
      for (const m of (r.body.items as Manifest[]) ?? []) current.set(`${kind}/${String(metaOf(m).namespace ?? '')}/${String(metaOf(m).name)}`, m);
    }
    this.checkCapacity(input, current);
    this.checkAddresses(input);
    const fail = (what: string, r: { status: number; body: Manifest }): never => {
      const message = String(r.body.message ?? `HTTP ${r.status}`);
      throw r.status === 422 || r.status === 400 || r.status === 409 ? new LabInputError(`${what}: ${message}`) : new Error(`${what}: ${message}`);
    };
    type Write = {
      label: string;
      key: string;
      collection: string;
      name: string;
      manifest: Manifest;
      same: (current: Manifest) => boolean;
    };
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
    // spec.nodeName binds a pod to a node of the node lab; the single-node lab runs every pod itself.
    const specs = input.endpoints.flatMap(podsForEndpoint).map(({ nodeName, ...spec }) => (nodeName && this.settings.topology ? { ...spec, nodeName } : spec));
    const podSpec = (x: Manifest) => JSON.stringify(((x.spec as Manifest)?.containers as Manifest[] | undefined)?.map((c) => c.ports) ?? []) + String((x.spec as Manifest)?.hostNetwork ?? false);
    /** A namespaced object to create or update through its collection. */
    const namespaced = (kind: 'Pod' | 'Service' | 'NetworkPolicy', namespace: string, name: string, manifest: Manifest, same: (current: Manifest) => boolean): Write => ({
      label: `${kind} ${namespace}/${name}`,
      key: `${kind}/${namespace}/${name}`,
      collection: `${kind === 'NetworkPolicy' ? '/apis/networking.k8s.io/v1' : '/api/v1'}/namespaces/${namespace}/${kind === 'Pod' ? 'pods' : kind === 'Service' ? 'services' : 'networkpolicies'}`,
      name,
      manifest,
      same,
    });
    const writes: Write[] = [
      ...specs.map((spec) => {
        const m = podManifest(spec);
        return namespaced('Pod', spec.namespace, spec.name, m, (c) => labels(c) === labels(m) && podSpec(c) === podSpec(m));
      }),
      // The server keeps the ClusterIP and node ports an update leaves out.
      ...(input.services ?? []).map((svc) => {
        const m = serviceManifest(svc);
        return namespaced('Service', svc.namespace, svc.name, m, (c) => sameService(c, m));
      }),
      ...input.policies.map((p) => {
        const m = networkPolicyManifest(p);
        return namespaced('NetworkPolicy', p.namespace, p.name, m, (c) => JSON.stringify(c.spec) === JSON.stringify(m.spec));
      }),
      // Cluster-scoped, in the API version each was written in.
      ...(input.adminPolicies ?? []).map((p): Write => {
        const m = adminPolicyManifest(p);
        return { label: `${p.kind} ${p.name}`, key: `${p.kind}//${p.name}`, collection: COLLECTIONS[p.kind], name: p.name, manifest: m, same: (c) => JSON.stringify(c.spec) === JSON.stringify(m.spec) };
      }),
    ];
    try {
      // Namespaces first: pods and policies can only be created in one that exists.
      await inParallel(
        input.namespaces.map((ns): Write => {
          const m = namespaceManifest(ns);
          // A namespace the input only uses (not declares) is made if missing, never relabelled.
          return { label: `Namespace ${ns.name}`, key: `Namespace//${ns.name}`, collection: '/api/v1/namespaces', name: ns.name, manifest: m, same: (c) => !ns.declared || labels(c) === labels(m) };
        }),
        8,
        upsert,
        signal,
      );
      await inParallel(writes, 8, upsert, signal);
      // Pods a workload made earlier but no longer makes (fewer replicas, a new template) go.
      const owners = new Set(input.endpoints.filter((e) => e.kind !== 'Pod').map((e) => `${e.namespace}/${e.kind}/${e.name}`));
      const wanted = new Set(specs.map((s) => `${s.namespace}/${s.name}`));
      for (const [key, m] of current) {
        signal?.throwIfAborted();
        if (!key.startsWith('Pod/')) continue;
        const [namespace, name] = [String(metaOf(m).namespace), String(metaOf(m).name)];
        const owner = ownerOf(m);
        if (owner && owners.has(`${namespace}/${owner}`) && !wanted.has(`${namespace}/${name}`)) {
          written = Math.max(written, await this.remove(api, `/api/v1/namespaces/${namespace}/pods/${name}`));
          report.deleted.push(`Pod ${namespace}/${name}`);
        }
      }
    } catch (err) {
      throw new LabChangeInterrupted(err, [...report.created.map((c) => `${c} created`), ...report.updated.map((c) => `${c} configured`), ...report.deleted.map((c) => `${c} deleted`)]);
    }
    // Reports list objects in input order, whatever order the requests finished in.
    const order = new Map([...input.namespaces.map((n) => `Namespace ${n.name}`), ...writes.map((w) => w.label)].map((l, i) => [l, i]));
    report.created.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    report.updated.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
    return this.finish(report, before, written);
  }

  /** Refuses an input that would take the lab past LAB_MAX_PODS, before a single pod is made. */
  private checkCapacity(input: Cluster, current: ReadonlyMap<string, Manifest>): void {
    const asked = input.endpoints.reduce((n, e) => n + podCount(e), 0);
    const owners = new Set(input.endpoints.filter((e) => e.kind !== 'Pod').map((e) => `${e.namespace}/${e.kind}/${e.name}`));
    const named = new Set(input.endpoints.filter((e) => e.kind === 'Pod').map((e) => `${e.namespace}/${e.name}`));
    let kept = 0;
    for (const [key, m] of current) {
      if (!key.startsWith('Pod/')) continue;
      const namespace = String(metaOf(m).namespace);
      const owner = ownerOf(m);
      if (!named.has(`${namespace}/${String(metaOf(m).name)}`) && !(owner && owners.has(`${namespace}/${owner}`))) kept++;
    }
    if (asked + kept <= LAB_MAX_PODS) return;
    const biggest = [...input.endpoints].sort((a, b) => podCount(b) - podCount(a))[0];
    const where = biggest && biggest.kind !== 'Pod' ? `${biggest.kind} ${biggest.namespace}/${biggest.name}: spec.replicas: ${podCount(biggest)}: ` : '';
    throw new LabInputError(`${where}a lab holds at most ${LAB_MAX_PODS} pods; this would make ${asked + kept}${kept > 0 ? ` (${kept} already in the lab)` : ''}: nothing was changed`);
  }

  /** Refuses addresses another pod holds (in the lab, or asked twice in the input), before anything is written. */
  private checkAddresses(input: Cluster): void {
    const holders = new Map<string, string>();
    for (const net of this.store.podNetworks()) for (const ip of net.ips) holders.set(ip, `${net.namespace}/${net.name}`);
    for (const gw of [this.settings.gateways[4], this.settings.gateways[6]]) holders.set(gw, 'the lab\'s gateway');
    for (const e of input.endpoints) {
      if (e.kind !== 'Pod' || e.hostNetwork) continue;
      const pod = `${e.namespace}/${e.name}`;
      for (const ip of e.ips) {
        const holder = holders.get(ip);
        if (holder !== undefined && holder !== pod) throw new LabInputError(`Pod ${pod}: status.podIP ${ip} is already used by ${holder.startsWith('the') ? holder : `Pod ${holder}`}: nothing was changed`);
        holders.set(ip, pod);
      }
    }
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
  async delete(input: Cluster, declaredNamespaces: ReadonlySet<string>, signal?: AbortSignal): Promise<ChangeReport> {
    const api = await this.client();
    const before = this.syncTotals();
    const deleted: string[] = [];
    let written = 0;
    const owners = new Set(input.endpoints.filter((e) => e.kind !== 'Pod').map((e) => `${e.namespace}/${e.kind}/${e.name}`));
    const pods = new Set(input.endpoints.filter((e) => e.kind === 'Pod').map((e) => `${e.namespace}/${e.name}`));
    try {
      for (const o of this.store.list('Pod')) {
        signal?.throwIfAborted();
        const owner = ownerOf(o.manifest);
        if (pods.has(`${o.namespace}/${o.name}`) || (owner && owners.has(`${o.namespace}/${owner}`))) {
          written = Math.max(written, await this.remove(api, `/api/v1/namespaces/${o.namespace}/pods/${o.name}`));
          deleted.push(`Pod ${o.namespace}/${o.name}`);
        }
      }
      for (const p of input.policies) {
        signal?.throwIfAborted();
        if (!this.store.get('NetworkPolicy', p.namespace, p.name)) continue;
        written = Math.max(written, await this.remove(api, `/apis/networking.k8s.io/v1/namespaces/${p.namespace}/networkpolicies/${p.name}`));
        deleted.push(`NetworkPolicy ${p.namespace}/${p.name}`);
      }
      for (const p of input.adminPolicies ?? []) {
        signal?.throwIfAborted();
        if (!this.store.get(p.kind, '', p.name)) continue;
        written = Math.max(written, await this.remove(api, `${COLLECTIONS[p.kind]}/${p.name}`));
        deleted.push(`${p.kind} ${p.name}`);
      }
      for (const ns of declaredNamespaces) {
        signal?.throwIfAborted();
        if (!this.store.get('Namespace', '', ns)) continue;
        written = Math.max(written, await this.remove(api, `/api/v1/namespaces/${ns}`));
        deleted.push(`Namespace ${ns}`);
      }
    } catch (err) {
      throw new LabChangeInterrupted(err, deleted.map((d) => `${d} deleted`));
    }
    return this.finish({ created: [], updated: [], deleted }, before, written);
  }

  /**
   * Probes every pod to every pod on the given ports (default: every declared port), once the lab
   * has caught up with its store; the prediction uses the addresses the kernel gives the pods.
   */
  async probe(ports?: readonly PortProtocol[], timeoutSeconds = 1): Promise<ProbeReport[]> {
    // With its daemon down, the lab still enforces the last rules: probed as they stand.
    if (this.daemon()) await this.settle();
    const compiled = compileCluster(this.kernelCluster());
    const nets = new Map(this.store.podNetworks().map((n) => [`${n.namespace}/${n.name}`, n]));
    const targets = compiled.cluster.endpoints.map((endpoint) => {
      const net = nets.get(`${endpoint.namespace}/${endpoint.name}`);
      const node = this.settings.topology?.nodes.find((n) => n.name === endpoint.nodeName);
      return { endpoint, netns: net && !endpoint.hostNetwork ? this.names.netns(net.slot) : undefined, ips: net?.ips, ...(node ? { node: nodeNetns(this.names, node) } : {}) };
    });
    const outside = this.settings.outside ? { netns: outsideNetns(this.names), ip: this.settings.outside.address } : undefined;
    return probeMatrix(compiled, targets, ports ?? declaredPorts(compiled.cluster.endpoints), { timeoutSeconds, outside });
  }

  /** Probes every Service port from every pod, and NodePorts from the outside host, beside the engine's Service verdicts. */
  async probeServices(timeoutSeconds = 1): Promise<ServiceProbeReport> {
    if (this.daemon()) await this.settle();
    const compiled = compileCluster(this.kernelCluster());
    const nets = new Map(this.store.podNetworks().map((n) => [`${n.namespace}/${n.name}`, n]));
    const targets = compiled.cluster.endpoints.map((endpoint) => {
      const net = nets.get(`${endpoint.namespace}/${endpoint.name}`);
      const node = this.settings.topology?.nodes.find((n) => n.name === endpoint.nodeName);
      return { endpoint, netns: net && !endpoint.hostNetwork ? this.names.netns(net.slot) : undefined, ips: net?.ips, ...(node ? { node: nodeNetns(this.names, node) } : {}) };
    });
    const outside = this.settings.outside ? { netns: outsideNetns(this.names), ip: this.settings.outside.address, node: this.settings.outside.node } : undefined;
    return probeServices(compiled, targets, { timeoutSeconds, outside });
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

  /** Whether the node's agent runs: the node lab's own process, or the single node's daemon. */
  agentRunning(node: string): boolean {
    if (!this.settings.topology) return node === this.settings.name && this.daemon() !== undefined;
    return isRunning((this.store.getMeta<Record<string, ProcessRecord>>('agents') ?? {})[node]);
  }

  /** A node lab node's network namespace (where its agent's table and its Services table live). */
  nodeNetns(node: string): string {
    const found = this.settings.topology?.nodes.find((n) => n.name === node);
    if (!found) throw new LabInputError(`no node "${node}" in lab "${this.settings.name}"${this.settings.topology ? ` (nodes: ${this.settings.topology.nodes.map((n) => n.name).join(', ')})` : ' (a single-node lab: its node is the host)'}`);
    return nodeNetns(this.names, found);
  }

  /**
   * Removes a node as draining and deleting it would: it leaves the topology first (no pod is
   * placed there, its agent is not restarted), its pods are deleted through the API and their
   * namespaces go, its agent stops, its namespace and every route to its block go, and the Node
   * object is deleted (its identity stops working).
   */
  async deleteNode(node: string): Promise<{ pods: string[] }> {
    const topology = this.settings.topology;
    const leaving = topology?.nodes.find((n) => n.name === node);
    if (!topology || !leaving) {
      throw new LabInputError(`no node "${node}" in lab "${this.settings.name}"${topology ? ` (nodes: ${topology.nodes.map((n) => n.name).join(', ')})` : ' (a single-node lab: its node is the host)'}`);
    }
    if (topology.nodes.length === 1) throw new LabInputError(`node ${node} is the last node of lab "${this.settings.name}": remove the lab with \`podwall lab down\``);
    const api = await this.client();
    const remaining: Topology = { ...topology, nodes: topology.nodes.filter((n) => n.name !== node) };
    const settings: LabSettings = { ...this.store.getMeta<LabSettings>('settings')!, topology: remaining };
    this.store.setMeta('settings', settings);
    const pods: string[] = [];
    let written = 0;
    for (const o of this.store.list('Pod')) {
      if ((o.manifest.spec as Manifest | undefined)?.nodeName !== node) continue;
      written = Math.max(written, await this.remove(api, `/api/v1/namespaces/${o.namespace}/pods/${o.name}`));
      pods.push(`${o.namespace}/${o.name}`);
    }
    if (written > 0) await this.converge(written);
    const agents = this.store.getMeta<Record<string, ProcessRecord>>('agents') ?? {};
    await stopProcess(agents[node]);
    const { [node]: _stopped, ...others } = this.store.getMeta<Record<string, ProcessRecord>>('agents') ?? {};
    this.store.setMeta('agents', others);
    await withHostLock(runDir(), () => deleteNode(this.names, topology, leaving));
    await this.remove(api, `/api/v1/nodes/${node}`);
    return { pods };
  }

  /** Runs a command inside a pod's network namespace, on this terminal; returns its exit code. */
  async execInPod(pod: string, argv: readonly string[]): Promise<number> {
    const r = await exec(['ip', 'netns', 'exec', this.netnsOf(pod), ...argv], { inherit: true, check: false });
    return r.code;
  }
}

const specOf = (m: Manifest): Manifest => (m.spec && typeof m.spec === 'object' ? (m.spec as Manifest) : {});
type PortSpec = { name?: string; protocol?: string; port?: number; targetPort?: unknown; nodePort?: number };
const portsOf = (m: Manifest): PortSpec[] => (Array.isArray(specOf(m).ports) ? (specOf(m).ports as PortSpec[]) : []);

/** Whether a stored Service already says what the manifest says (the server's defaults and allocations aside). */
function sameService(current: Manifest, wanted: Manifest): boolean {
  const c = specOf(current);
  const w = specOf(wanted);
  const portKey = (p: PortSpec, withNodePort: boolean): string => JSON.stringify([p.name ?? '', p.protocol ?? 'TCP', p.port, p.targetPort ?? p.port, withNodePort ? p.nodePort : undefined]);
  const wantedPorts = portsOf(wanted);
  return (
    (c.type ?? 'ClusterIP') === (w.type ?? 'ClusterIP') &&
    JSON.stringify(c.selector ?? {}) === JSON.stringify(w.selector ?? {}) &&
    JSON.stringify(portsOf(current).map((p, i) => portKey(p, wantedPorts[i]?.nodePort !== undefined))) === JSON.stringify(wantedPorts.map((p) => portKey(p, p.nodePort !== undefined))) &&
    (w.clusterIP === undefined || c.clusterIP === w.clusterIP) &&
    (c.externalTrafficPolicy ?? undefined) === (w.externalTrafficPolicy ?? (c.externalTrafficPolicy ? 'Cluster' : undefined))
  );
}

/** What can be refused in an input before the lab is touched at all. */
function checkInput(input: Cluster): void {
  for (const e of input.endpoints) {
    const problem = requestedAddressProblem({ namespace: e.namespace, name: e.name, requestedIPs: e.ips });
    if (problem) throw new LabInputError(problem);
  }
  const asked = input.endpoints.reduce((n, e) => n + podCount(e), 0);
  if (asked > LAB_MAX_PODS) {
    const biggest = [...input.endpoints].sort((a, b) => podCount(b) - podCount(a))[0];
    const where = biggest.kind !== 'Pod' ? `${biggest.kind} ${biggest.namespace}/${biggest.name}: spec.replicas: ${podCount(biggest)}: ` : '';
    throw new LabInputError(`${where}a lab holds at most ${LAB_MAX_PODS} pods; this input makes ${asked}: nothing was changed`);
  }
}

/** What the daemon needs from the lab's state: the parts it wires together (see cli/lab-daemon.ts). */
export async function labDaemonContext(name: string, stateRoot = defaultStateRoot()) {
  const lab = Lab.open(name, stateRoot);
  const { store, settings, names, dir } = lab;
  const initial = settings.topology;
  // The node lab's agents reach the API server on the underlay, each with its node's identity.
  let credentials: Credentials = await labCredentials(dir, initial ? { ips: [initial.underlay.host] } : undefined);
  /** The node lab's topology as it stands now (`lab node delete` takes nodes out of it). */
  const topology = (): Topology | undefined => store.getMeta<LabSettings>('settings')?.topology;
  if (initial) credentials = await nodeCredentials(dir, initial.nodes.map((n) => n.name));
  let server: LabApiServer | undefined;
  let agents: NodeAgents | undefined;
  // The Services table is the lab's kube-proxy's, applied whole like the policy table: in the
  // node lab, on every node (pods' Service traffic) and on the host (NodePorts from outside).
  const servicesApplier = new RulesetApplier();
  const nodeServiceAppliers = new Map<string, RulesetApplier>();
  const syncServices = async (): Promise<void> => {
    const ruleset = compileServices(serviceFrontends(store), { table: names.servicesTable });
    await servicesApplier.apply(ruleset);
    for (const node of topology()?.nodes ?? []) {
      if (!nodeServiceAppliers.has(node.name)) nodeServiceAppliers.set(node.name, new RulesetApplier(['ip', 'netns', 'exec', nodeNetns(names, node), 'nft']));
      await nodeServiceAppliers.get(node.name)!.apply(ruleset);
    }
  };
  const currentNodeTokens = (): Record<string, string> => {
    const members = new Set(topology()?.nodes.map((n) => n.name));
    return Object.fromEntries(Object.entries(credentials.nodeTokens ?? {}).filter(([node]) => members.has(node)));
  };
  const nodeOf = (nodeName: string): LabNode => {
    const node = topology()?.nodes.find((n) => n.name === nodeName);
    if (!node) throw new Error(`node ${nodeName} is not in lab "${name}"`);
    return node;
  };
  return {
    dir,
    node: name,
    table: names.table,
    log: settings.log,
    topology: initial,
    nodeAddresses: [settings.gateways[4], settings.gateways[6]],
    kubeconfig: kubeconfigPath(dir),
    async startApiServer(): Promise<{ port: number; close: () => Promise<void> }> {
      server = new LabApiServer({
        store,
        credentials,
        port: settings.apiPort,
        serviceCIDR: settings.serviceCIDR,
        // Only nodes still in the lab: a deleted node's identity stops working at once.
        ...(initial ? { hosts: ['127.0.0.1', initial.underlay.host], nodeTokens: () => currentNodeTokens() } : {}),
      });
      const { port } = await server.listen();
      // The node lab's agents hold kubeconfigs naming this port: a daemon started again takes it again.
      if (initial && settings.apiPort === 0) store.setMeta('settings', { ...store.getMeta<LabSettings>('settings')!, apiPort: port });
      writeKubeconfig(dir, name, `https://127.0.0.1:${port}`, credentials);
      for (const node of initial?.nodes ?? []) writeNodeKubeconfig(dir, node.name, `https://${initial!.underlay.host}:${port}`, credentials);
      return { port, close: () => server!.close() };
    },
    /** The node lab's agents, supervised by the daemon. */
    nodeAgents(logger: (line: string) => void, onStarted?: () => void): NodeAgents {
      const restart = Number(process.env.PODWALL_LAB_AGENT_RESTART_MS ?? '');
      agents = new NodeAgents({
        dir,
        store,
        names,
        topology,
        kubeconfig: (node) => join(dir, 'nodes', `${node.name}.kubeconfig`),
        log: settings.log,
        ...(Number.isFinite(restart) && restart > 0 ? { restartDelayMs: restart } : {}),
        logger,
        onStarted,
      });
      return agents;
    },
    podRunner(enforced: (rv: number) => Promise<void>, logger: (line: string) => void): PodRunner {
      const runnerNodes = initial
        ? (): RunnerNode[] => (topology()?.nodes ?? []).map((n) => ({ name: n.name, address: n.address, podCIDR: n.podCIDR, gateway: n.gateway, schedulable: agents?.running(n.name) ?? true }))
        : undefined;
      return new PodRunner({
        store,
        network: {
          createPods: (links, nodeName) => (initial ? createNodePods(names, topology()!, nodeOf(nodeName), links) : createPods(names, settings.gateways, links)),
          deletePods: (links) => (initial ? deleteNodePods(names, links) : deletePods(names, links)),
          enableIPv6: async () => {
            if (initial) throw new Error('the node lab runs IPv4 pods only');
            await addIPv6Gateway(names, settings.gateways);
          },
          listNamespaces: async () => (await findLabObjects(names)).netns.filter((n) => /^[0-9]+$/.test(n.slice(names.prefix.length))),
          deleteNamespaces: async (namespaces) => {
            await exec(['ip', '-force', '-batch', '-'], { input: `${namespaces.map((n) => `netns del ${n}`).join('\n')}\n`, check: false, timeoutMs: 60_000 });
          },
          netns: (slot) => names.netns(slot),
          configureDNS: settings.serviceCIDR
            ? (pods) => writeResolvConfs(pods.map((p) => ({ netns: names.netns(p.slot), text: resolvConf(dnsAddress(settings.serviceCIDR!), p.namespace) })))
            : undefined,
        },
        services: settings.serviceCIDR ? { records: () => dnsRecords(store), sync: syncServices } : undefined,
        servers: new PodServers(dir),
        podCIDR: settings.podCIDR,
        gateways: settings.gateways,
        node: name,
        ...(runnerNodes ? { nodes: runnerNodes } : {}),
        enforced,
        logger,
        recordHostSettings,
      });
    },
    /**
     * Registers the lab's Nodes as kubelets register their own: the single-node lab's named after
     * the lab at its pods' gateway, the node lab's at their underlay addresses with their pod CIDR
     * blocks; labelled as kubelets label theirs, Ready, so admin policies' `nodes` peers can select
     * them. Labels others added stay.
     */
    registerNode(): void {
      const nodes = topology()?.nodes.map((n) => ({ name: n.name, address: n.address, podCIDR: n.podCIDR })) ?? [{ name, address: settings.gateways[4], podCIDR: undefined }];
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      for (const node of nodes) {
        const existing = store.get('Node', '', node.name)?.manifest;
        const labels = { ...((metaOf(existing ?? {}).labels as Record<string, string> | undefined) ?? {}), ...nodeLabels(node.name) };
        const ready = { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'the lab daemon is running', lastHeartbeatTime: now, lastTransitionTime: now };
        store.put('Node', '', node.name, {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { ...metaOf(existing ?? {}), name: node.name, labels },
          spec: { ...((existing?.spec as Manifest | undefined) ?? {}), ...(node.podCIDR ? { podCIDR: node.podCIDR, podCIDRs: [node.podCIDR] } : {}) },
          status: {
            addresses: [
              { type: 'InternalIP', address: node.address },
              { type: 'Hostname', address: node.name },
            ],
            conditions: [ready],
            nodeInfo: { kubeletVersion: `v${SERVER_VERSION.major}.${SERVER_VERSION.minor}.0-podwall`, operatingSystem: 'linux', architecture: goArch() },
          },
        });
      }
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
    /** The node lab's totals: every node's agent's, summed (the stats are the largest node's ruleset). */
    recordNodeTotals(statuses: ReadonlyMap<string, NodeAgentStatus | undefined>): void {
      const known = [...statuses.values()].filter((s): s is NodeAgentStatus => s !== undefined);
      const biggest = known.map((s) => s.stats ?? EMPTY_STATS).sort((a, b) => b.rules - a.rules)[0] ?? EMPTY_STATS;
      store.setMeta('syncTotals', {
        syncs: known.reduce((n, s) => n + s.syncs, 0),
        applies: known.reduce((n, s) => n + (s.applies ?? 0), 0),
        revoked: known.reduce((n, s) => n + (s.connectionsCut ?? 0), 0),
        stats: biggest,
      });
    },
    markReady(state: Omit<LabDaemonState, 'start'>): void {
      store.setMeta('daemon', { ...state, start: processRecord(state.pid)?.start ?? '' });
    },
    close(): void {
      lab.close();
    },
  };
}

/** The labels a kubelet gives its Node (kubernetes.io/hostname, os, arch). */
function nodeLabels(name: string): Record<string, string> {
  return { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': goArch() };
}

/** GOARCH, as Kubernetes names architectures. */
function goArch(): string {
  return ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[process.arch] ?? process.arch;
}

function overlaps(a: CIDR, b: CIDR): boolean {
  return cidrContains(a, { family: b.family, value: b.network }) || cidrContains(b, { family: a.family, value: a.network });
}

/** 10.96.0.0/16 for the first lab's Services; later labs take the next /16 up to 10.111.0.0/16 that nothing else uses. */
async function defaultServiceCIDR(root: string, pods: CIDR): Promise<string> {
  const taken = [pods, ...Lab.list(root).flatMap((name) => {
    const lab = Lab.open(name, root);
    lab.close();
    return [lab.settings.podCIDR, lab.settings.serviceCIDR].flatMap((c) => (c ? [parseCIDR(c).cidr!] : []));
  })];
  for (let octet = 96; octet <= 111; octet++) {
    const candidate = parseCIDR(`10.${octet}.0.0/16`).cidr!;
    if (!taken.some((t) => overlaps(t, candidate)) && (await overlappingRoutes(candidate)).length === 0) return `10.${octet}.0.0/16`;
  }
  return DEFAULT_SERVICE_CIDR;
}

/** A /24 of 198.19.0.0/16 (network-test space, above the outside hosts' /30s) for a node lab's underlay that no lab and no host route uses. */
async function freeUnderlay(root: string): Promise<string> {
  const taken = Lab.list(root).flatMap((name) => {
    const lab = Lab.open(name, root);
    lab.close();
    return lab.settings.topology ? [lab.settings.topology.underlay.cidr] : [];
  });
  for (let octet = 0; octet < 256; octet++) {
    const candidate = `198.19.${octet}.0/24`;
    if (taken.includes(candidate)) continue;
    if ((await overlappingRoutes(parseCIDR(candidate).cidr!)).length > 0) continue;
    return candidate;
  }
  throw new LabInputError('no free /24 left in 198.19.0.0/16 for the node lab\'s underlay');
}

/** A /30 from 198.18.0.0/15 (set aside for network tests, never routed) that no lab and no host route uses. */
async function freeOutsideLink(root: string): Promise<OutsideHost> {
  const taken = Lab.list(root).flatMap((name) => {
    const lab = Lab.open(name, root);
    lab.close();
    return lab.settings.outside ? [lab.settings.outside.node] : [];
  });
  const base = parseCIDR('198.18.0.0/15').cidr!.network;
  for (let i = 0n; i < 256n; i++) {
    const network = base + i * 4n;
    const node = formatIP({ family: 4, value: network + 1n });
    if (taken.includes(node)) continue;
    if ((await overlappingRoutes({ family: 4, network, prefix: 30 })).length > 0) continue;
    return { node, address: formatIP({ family: 4, value: network + 2n }) };
  }
  throw new LabInputError('no free /30 left in 198.18.0.0/15 for the outside host');
}

/** 10.244.0.0/16 for the first lab; later labs take the next /16 up to 10.254.0.0/16 that no lab and no host route uses. */
async function defaultPodCIDR(root: string): Promise<string> {
  const taken = Lab.list(root).map((name) => {
    const lab = Lab.open(name, root);
    lab.close();
    return parseCIDR(lab.settings.podCIDR).cidr!;
  });
  for (let octet = 244; octet <= 254; octet++) {
    const candidate = parseCIDR(`10.${octet}.0.0/16`).cidr!;
    if (!taken.some((t) => overlaps(t, candidate)) && (await overlappingRoutes(candidate)).length === 0) return `10.${octet}.0.0/16`;
  }
  return DEFAULT_POD_CIDR;
}

/**
 * The lab's processes (daemon, pod servers), found by their command line even when their pids
 * were lost: the daemon by the exact values of its --name and --state-dir (the word `lab` is also
 * the subcommand, so it names nothing), the helper by its files in the lab's directory.
 */
function findLabProcesses(name: string, root: string): { daemons: number[]; helpers: number[] } {
  const dir = labDir(root, name);
  const found = { daemons: [] as number[], helpers: [] as number[] };
  for (const entry of existsSync('/proc') ? readdirSync('/proc') : []) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    const argv = commandLine(Number(entry));
    // The pod-server helper, and the node lab's agents (their kubeconfigs are the lab's).
    const helper = (argv.includes(PODNET_SCRIPT) || argv.includes('agent')) && argv.some((arg) => arg.startsWith(`${dir}/`));
    const daemonAt = argv.indexOf('daemon');
    const stateDir = flagValue(argv, '--state-dir');
    const daemon = daemonAt > 0 && argv[daemonAt - 1] === 'lab' && flagValue(argv, '--name') === name && stateDir !== undefined && resolve(stateDir) === root;
    if (daemon) found.daemons.push(Number(entry));
    else if (helper) found.helpers.push(Number(entry));
  }
  return found;
}

/**
 * The host settings are shared by every lab on the machine, whatever its state root: the first lab
 * records them (in a host-wide file), and the last `lab down` restores them: the last lab of its
 * state root whose kernel sees no other lab's bridge. (A record per state root would let a lab
 * that goes down turn forwarding off under another lab that is still up.)
 */
function hostSettingsFile(): string {
  return join(runDir(), 'host-sysctls.json');
}

function recordHostSettings(previous: Readonly<Record<string, string>>): void {
  const file = hostSettingsFile();
  const saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  for (const [k, v] of Object.entries(previous)) if (!(k in saved)) saved[k] = v;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(saved));
  renameSync(`${file}.tmp`, file);
}

async function restoreHostSettingsIfLast(root: string): Promise<void> {
  const file = hostSettingsFile();
  if (Lab.list(root).length > 0 || !existsSync(file)) return;
  const links = await exec(['ip', '-o', 'link', 'show', 'type', 'bridge'], { check: false, timeoutMs: 10_000 });
  const otherLab = links.stdout.split('\n').some((l) => /^\d+: pw-[a-z0-9]+-(br|ul)[:@]/.test(l));
  if (otherLab) return;
  restoreSysctls(JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>);
  rmSync(file, { force: true });
}

