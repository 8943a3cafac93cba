// A single-node cluster on this machine: pods are network namespaces on a bridge, each serving
// its declared ports, and the data plane enforces the policies. State lives in a directory per
// lab (SQLite); every change is applied as: pods' namespaces first, then the ruleset (one nft
// transaction), then stale connections cut, then servers started. So a new pod is isolated
// before its first packet, and `lab down` (or a failed `lab up`) leaves nothing behind.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  compileRuleset,
  connectionChanges,
  deleteTable,
  exec,
  listConntrack,
  markConntrack,
  readCounters,
  RulesetApplier,
  rulesetStats,
  tableExists,
  type CounterValue,
  type RulesetStats,
} from '../dataplane/index.js';
import { compileCluster, declaredPorts, type CompiledCluster, type PortProtocol } from '../engine/index.js';
import {
  cidrContains,
  formatIP,
  loadTexts,
  namespaceManifest,
  networkPolicyManifest,
  parseCIDR,
  parseIP,
  type CIDR,
  type Cluster,
  type Endpoint,
} from '../model/index.js';
import { applySysctls, checkPrerequisites, LAB_SYSCTLS, LAB_SYSCTLS_IPV6, restoreSysctls } from './host.js';
import { checkLabName, DEFAULT_LAB, labNames, MAX_SLOT, type LabNames } from './names.js';
import { addIPv6Gateway, createBridge, createPods, deleteLabObjects, deletePods, findLabObjects, type Gateways } from './network.js';
import { OWNER_ANNOTATION, podManifest, podsForEndpoint, type LabPodSpec } from './pods.js';
import { probeMatrix, type ProbeReport } from './probe.js';
import { isAlive, PodServers, stopProcess, PODNET_SCRIPT } from './servers.js';
import { LabStore, type StoredObject } from './store.js';

export const DEFAULT_POD_CIDR = '10.244.0.0/16';
const IPV6_GATEWAY = 'fd70:77::1';

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
  readonly gateways: Gateways;
  readonly log: boolean;
  readonly createdAt: string;
}

export interface LabOptions {
  readonly name?: string;
  readonly stateRoot?: string;
  readonly podCIDR?: string;
  readonly log?: boolean;
}

export interface ChangeReport {
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly deleted: readonly string[];
  readonly rulesetApplied: boolean;
  readonly stats: RulesetStats;
  readonly connectionsCut: number;
}

export function defaultStateRoot(): string {
  return process.env.PODWALL_STATE_DIR ?? '/var/lib/podwall';
}

const labDir = (root: string, name: string): string => join(root, 'labs', name);

/** RFC 1918, shared address space and unique local IPv6: the ranges lab pods may use. */
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'].map((c) => parseCIDR(c).cidr!);
const isPrivate = (ip: string): boolean => {
  const parsed = parseIP(ip);
  return parsed !== undefined && PRIVATE_RANGES.some((r) => cidrContains(r, parsed));
};

const objectKey = (o: { kind: string; namespace: string; name: string }): string => `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

export class Lab {
  private readonly servers: PodServers;
  private readonly applier = new RulesetApplier();

  private constructor(
    readonly names: LabNames,
    readonly dir: string,
    readonly store: LabStore,
    readonly settings: LabSettings,
    private readonly root: string,
  ) {
    this.servers = new PodServers(dir);
  }

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

  /** Builds the lab from a validated cluster; on any failure, everything made so far is removed. */
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
    if (!isPrivate(formatIP({ family: 4, value: cidr.cidr.network }))) throw new LabInputError(`--pod-cidr ${podCIDR}: must be a private range`);
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
      const otherLab = Lab.open(other, root);
      const theirs = parseCIDR(otherLab.settings.podCIDR).cidr!;
      otherLab.close();
      if (overlaps(theirs, cidr.cidr)) {
        throw new LabInputError(`pod CIDR ${podCIDR} overlaps lab "${other}" (${otherLab.settings.podCIDR}): choose another with --pod-cidr`);
      }
    }

    mkdirSync(dir, { recursive: true });
    const store = LabStore.open(join(dir, 'lab.db'));
    const gateway = formatIP({ family: 4, value: cidr.cidr.network + 1n });
    const settings: LabSettings = { name, podCIDR, gateways: { 4: gateway, 6: IPV6_GATEWAY }, log: options.log ?? false, createdAt: new Date().toISOString() };
    store.setMeta('settings', settings);
    const lab = new Lab(names, dir, store, settings, root);
    try {
      lab.saveHostSettings(LAB_SYSCTLS);
      await createBridge(names, settings.gateways, false);
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
      await stopProcess(store.getMeta<number>('serverPid'));
      store.close();
      removed = true;
    }
    for (const pid of findHelperProcesses(dir)) {
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
    restoreHostSettingsIfLast(stateRoot);
    return { removed };
  }

  close(): void {
    this.store.close();
  }

  /** The host settings are shared by all labs: the first lab records them, the last restores them. */
  private saveHostSettings(settings: readonly (readonly [string, string])[]): void {
    const file = join(this.root, 'host-sysctls.json');
    const saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
    const previous = applySysctls(settings);
    for (const [k, v] of Object.entries(previous)) if (!(k in saved)) saved[k] = v;
    mkdirSync(this.root, { recursive: true });
    writeFileSync(file, JSON.stringify(saved));
  }

  /** The cluster as the lab holds it now. */
  cluster(): Cluster {
    const texts = this.store.list().map((o) => ({ file: `${o.kind}/${o.namespace}/${o.name}`, text: JSON.stringify(o.manifest) }));
    const built = loadTexts(texts);
    if (!built.cluster) throw new Error(`the lab's store holds invalid objects: ${built.diagnostics.map((d) => d.message).join('; ')}`);
    return built.cluster;
  }

  /** `kubectl apply` for the lab: creates or updates namespaces, pods (workloads become pods) and policies. */
  async apply(input: Cluster): Promise<ChangeReport> {
    const created: string[] = [];
    const updated: string[] = [];
    const deleted: string[] = [];
    const put = (o: { kind: 'Namespace' | 'Pod' | 'NetworkPolicy'; namespace: string; name: string }, manifest: Record<string, unknown>): void => {
      const existed = this.store.get(o.kind, o.namespace, o.name) !== undefined;
      if (this.store.put(o.kind, o.namespace, o.name, manifest)) (existed ? updated : created).push(objectKey(o));
    };

    const specs = input.endpoints.flatMap(podsForEndpoint);
    const byKey = new Map(specs.map((s) => [`${s.namespace}/${s.name}`, s]));
    // Pods a workload made earlier but no longer makes (fewer replicas, new template) go.
    const owners = new Set(input.endpoints.filter((e) => e.kind !== 'Pod').map((e) => `${e.namespace}/${e.kind}/${e.name}`));
    const replaced = this.store.list('Pod').filter((o) => {
      const owner = ownerOf(o);
      return owner !== undefined && owners.has(`${o.namespace}/${owner}`) && !byKey.has(`${o.namespace}/${o.name}`);
    });

    const newPods: LabPodSpec[] = [];
    const movedPods: LabPodSpec[] = [];
    for (const spec of specs) {
      const net = this.store.podNetwork(spec.namespace, spec.name);
      if (!net && !spec.hostNetwork) newPods.push(spec);
      else if (net && spec.requestedIPs.length > 0 && spec.requestedIPs.join() !== net.ips.join()) movedPods.push(spec);
    }
    const addresses = this.allocate([...newPods, ...movedPods]);

    // Kernel first for new pods: their namespaces exist, with no process in them yet.
    await deletePods(this.names, movedPods.map((s) => this.store.podNetwork(s.namespace, s.name)!).map((n) => ({ slot: n.slot, ips: n.ips })));
    const links = [...newPods, ...movedPods].map((s) => addresses.get(`${s.namespace}/${s.name}`)!);
    if (links.some((l) => l.ips.some((ip) => parseIP(ip)?.family === 6))) {
      this.saveHostSettings(LAB_SYSCTLS_IPV6);
      await addIPv6Gateway(this.names, this.settings.gateways);
    }
    await createPods(this.names, this.settings.gateways, links);

    this.store.transaction(() => {
      for (const [key, link] of addresses) {
        const [namespace, name] = key.split('/');
        this.store.setPodNetwork({ namespace, name, slot: link.slot, ips: link.ips });
      }
      for (const ns of input.namespaces) put({ kind: 'Namespace', namespace: '', name: ns.name }, namespaceManifest(ns));
      for (const spec of specs) {
        const ips = spec.hostNetwork ? [this.settings.gateways[4]] : this.store.podNetwork(spec.namespace, spec.name)!.ips;
        put({ kind: 'Pod', namespace: spec.namespace, name: spec.name }, podManifest(spec, ips));
      }
      for (const p of input.policies) put({ kind: 'NetworkPolicy', namespace: p.namespace, name: p.name }, networkPolicyManifest(p));
      for (const o of replaced) {
        this.store.remove('Pod', o.namespace, o.name);
        deleted.push(objectKey(o));
      }
    });
    const gone = replaced.map((o) => this.store.podNetwork(o.namespace, o.name)).filter((n) => n !== undefined);
    const result = await this.sync();
    await this.releasePods(gone);
    return { created, updated, deleted, ...result };
  }

  /** `kubectl delete -f` for the lab: the objects named in the input, and what they own. */
  async delete(input: Cluster, declaredNamespaces: ReadonlySet<string>): Promise<ChangeReport> {
    const deleted: string[] = [];
    const podsGone: StoredObject[] = [];
    const workloadOwners = new Set(input.endpoints.filter((e) => e.kind !== 'Pod').map((e) => `${e.namespace}/${e.kind}/${e.name}`));
    const podNames = new Set(input.endpoints.filter((e) => e.kind === 'Pod').map((e) => `${e.namespace}/${e.name}`));
    this.store.transaction(() => {
      for (const o of this.store.list()) {
        const owner = o.kind === 'Pod' ? ownerOf(o) : undefined;
        const inDeletedNamespace = o.kind !== 'Namespace' && declaredNamespaces.has(o.namespace);
        const named =
          (o.kind === 'Namespace' && declaredNamespaces.has(o.name)) ||
          (o.kind === 'Pod' && (podNames.has(`${o.namespace}/${o.name}`) || (owner !== undefined && workloadOwners.has(`${o.namespace}/${owner}`)))) ||
          (o.kind === 'NetworkPolicy' && input.policies.some((p) => p.namespace === o.namespace && p.name === o.name));
        if (named || inDeletedNamespace) {
          this.store.remove(o.kind, o.namespace, o.name);
          deleted.push(objectKey(o));
          if (o.kind === 'Pod') podsGone.push(o);
        }
      }
    });
    const gone = podsGone.map((o) => this.store.podNetwork(o.namespace, o.name)).filter((n) => n !== undefined);
    const result = await this.sync();
    await this.releasePods(gone);
    return { created: [], updated: [], deleted, ...result };
  }

  private async releasePods(nets: readonly { namespace: string; name: string; slot: number; ips: readonly string[] }[]): Promise<void> {
    await deletePods(this.names, nets);
    this.store.transaction(() => nets.forEach((n) => this.store.removePodNetwork(n.namespace, n.name)));
  }

  /** Addresses and slots for pods about to be created: requested private IPs, else the pod CIDR's next free ones. */
  private allocate(specs: readonly LabPodSpec[]): Map<string, { slot: number; ips: string[] }> {
    const cidr = parseCIDR(this.settings.podCIDR).cidr!;
    const used = new Set<string>([this.settings.gateways[4], this.settings.gateways[6]]);
    const moving = new Set(specs.map((s) => `${s.namespace}/${s.name}`));
    const usedSlots = new Set<number>();
    for (const net of this.store.podNetworks()) {
      if (moving.has(`${net.namespace}/${net.name}`)) continue;
      net.ips.forEach((ip) => used.add(ip));
      usedSlots.add(net.slot);
    }
    for (const s of specs) {
      for (const ip of s.requestedIPs) {
        if (!isPrivate(ip)) throw new LabInputError(`Pod ${s.namespace}/${s.name}: status.podIP ${ip}: lab pods may only use private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7)`);
        if (used.has(ip)) throw new LabInputError(`Pod ${s.namespace}/${s.name}: status.podIP ${ip} is already in use in the lab`);
        used.add(ip);
      }
    }
    const out = new Map<string, { slot: number; ips: string[] }>();
    const hostBits = 32n - BigInt(cidr.prefix);
    let next = cidr.network + 2n;
    const last = cidr.network + (1n << hostBits) - 2n;
    let slot = 1;
    for (const s of specs) {
      while (usedSlots.has(slot)) slot++;
      if (slot > MAX_SLOT) throw new LabInputError(`the lab holds at most ${MAX_SLOT} pods`);
      usedSlots.add(slot);
      let ips = [...s.requestedIPs];
      if (ips.length === 0) {
        while (next <= last && used.has(formatIP({ family: 4, value: next }))) next++;
        if (next > last) throw new LabInputError(`the pod CIDR ${this.settings.podCIDR} has no free address left`);
        ips = [formatIP({ family: 4, value: next })];
        used.add(ips[0]);
      }
      out.set(`${s.namespace}/${s.name}`, { slot, ips });
    }
    return out;
  }

  /** Makes the kernel and the servers match the store. */
  private async sync(): Promise<{ rulesetApplied: boolean; stats: RulesetStats; connectionsCut: number }> {
    const compiled = compileCluster(this.cluster());
    const counters = await readCounters(this.names.table);
    const ruleset = compileRuleset(compiled, { table: this.names.table, log: this.settings.log, counterValues: counters });
    const digest = this.store.getMeta<string>('rulesetDigest');
    // A table removed behind the lab's back is put back even if nothing changed.
    const force = !(await tableExists(this.names.table));
    const applied = await this.applier.apply(ruleset, { previousDigest: digest, force });
    if (applied) this.store.setMeta('rulesetDigest', this.applier.digest);
    const gateways = new Set([this.settings.gateways[4], this.settings.gateways[6]]);
    const { revoke, restore } = connectionChanges(compiled, await listConntrack(), gateways);
    await markConntrack(revoke, true);
    await markConntrack(restore, false);
    const pid = await this.servers.sync(this.servedPods(compiled), this.store.getMeta<number>('serverPid'));
    this.store.setMeta('serverPid', pid);
    return { rulesetApplied: applied, stats: rulesetStats(ruleset), connectionsCut: revoke.length };
  }

  private servedPods(compiled: CompiledCluster): { netns: string; name: string; ips: string[]; ports: Endpoint['ports'] }[] {
    const nets = new Map(this.store.podNetworks().map((n) => [`${n.namespace}/${n.name}`, n]));
    return compiled.cluster.endpoints.flatMap((e) => {
      const net = nets.get(`${e.namespace}/${e.name}`);
      return net && !e.hostNetwork ? [{ netns: this.names.netns(net.slot), name: e.id, ips: [...net.ips], ports: e.ports }] : [];
    });
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

  helperAlive(): boolean {
    return isAlive(this.store.getMeta<number>('serverPid'));
  }
}

function ownerOf(o: StoredObject): string | undefined {
  const annotations = (o.manifest.metadata as { annotations?: Record<string, string> } | undefined)?.annotations;
  return annotations?.[OWNER_ANNOTATION];
}

function overlaps(a: CIDR, b: CIDR): boolean {
  return cidrContains(a, { family: b.family, value: b.network }) || cidrContains(b, { family: a.family, value: a.network });
}

/** 10.244.0.0/16 for the first lab; later labs take the next free /16 up to 10.254.0.0/16. */
function defaultPodCIDR(root: string): string {
  const taken = Lab.list(root).map((name) => {
    const lab = Lab.open(name, root);
    const cidr = lab.settings.podCIDR;
    lab.close();
    return parseCIDR(cidr).cidr!;
  });
  for (let octet = 244; octet <= 254; octet++) {
    const candidate = parseCIDR(`10.${octet}.0.0/16`).cidr!;
    if (!taken.some((t) => overlaps(t, candidate))) return `10.${octet}.0.0/16`;
  }
  return DEFAULT_POD_CIDR;
}

/** Helper processes serving this lab's state directory, found even when their pid was lost. */
function findHelperProcesses(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of existsSync('/proc') ? readdirSync('/proc') : []) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmdline.includes(PODNET_SCRIPT) && cmdline.some((arg) => arg.startsWith(`${dir}/`))) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

function restoreHostSettingsIfLast(root: string): void {
  const file = join(root, 'host-sysctls.json');
  if (Lab.list(root).length > 0 || !existsSync(file)) return;
  restoreSysctls(JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>);
  rmSync(file, { force: true });
}
