// The lab's pod runner, its kubelet: it follows the Pods in the store, gives each new one a
// network namespace, a veth and addresses (it alone assigns them), writes its status, and starts
// its servers only once the policies are enforced for it (so a new pod is isolated before its
// first packet); a pod is Running and Ready only when every declared socket listens. A deleted
// pod's servers stop and its namespace goes. What a pass claims to have caught up with is the
// store's version at the moment it listed the pods, never a version read after an await.
import { allocateAddresses, AddressError } from './addresses.js';
import { applySysctls, LAB_SYSCTLS_IPV6 } from './host.js';
import { REQUESTED_IPS_ANNOTATION } from './pods.js';
import { isDnsPod } from './services.js';
import type { PodLink } from './network.js';
import type { ProcessRecord } from './process.js';
import type { ServedPod, ServeResult } from './servers.js';
import type { LabStore, StoredObject } from './store.js';
import { cidrContains, decodePod, parseCIDR, parseIP, type Manifest } from '../model/index.js';

function ipInCIDR(ip: string, cidr: string): boolean {
  const address = parseIP(ip);
  const network = parseCIDR(cidr).cidr;
  return address !== undefined && network !== undefined && cidrContains(network, address);
}

/** The kernel side of pods, behind an interface so the runner's ordering can be tested without root. */
export interface PodNetworkOps {
  /** Pods on one node (the node lab's: its namespace; the single-node lab has one). */
  createPods(links: readonly PodLink[], node: string): Promise<void>;
  deletePods(links: readonly PodLink[]): Promise<void>;
  /** Makes the host route IPv6 to pods (once the first IPv6 pod appears). */
  enableIPv6(): Promise<void>;
  /** The lab's pod network namespaces the kernel holds now. */
  listNamespaces(): Promise<string[]>;
  deleteNamespaces(names: readonly string[]): Promise<void>;
  netns(slot: number): string;
  /** Gives new pods their resolv.conf (the lab's DNS, the pod's namespace first in the search path). */
  configureDNS?(pods: readonly { slot: number; namespace: string }[]): void;
}

/** The pods' servers (src/lab/servers.ts), behind an interface for the same reason. */
export interface PodServing {
  sync(pods: readonly ServedPod[], current: ProcessRecord | undefined, records?: Readonly<Record<string, readonly string[]>>): Promise<ServeResult>;
  running(process: ProcessRecord | undefined): boolean;
  onExit(listener: () => void): void;
}

export interface RunnerContext {
  readonly store: LabStore;
  readonly network: PodNetworkOps;
  readonly servers: PodServing;
  readonly podCIDR: string;
  readonly gateways: { readonly 4: string; readonly 6: string };
  /** The node name pods are bound to (the lab's name). */
  readonly node: string;
  /**
   * The node lab's nodes, read on every pass (a node can be deleted); without it the lab is one
   * node named `node`, at the gateway, holding the whole pod CIDR.
   */
  readonly nodes?: () => readonly RunnerNode[];
  /** Resolves once the enforcement has caught up with the store up to that resourceVersion. */
  readonly enforced: (resourceVersion: number) => Promise<void>;
  readonly logger?: (line: string) => void;
  /** Records host settings the lab changes, so `lab down` can restore them. */
  readonly recordHostSettings?: (previous: Record<string, string>) => void;
  /** How often a helper that died behind the runner's back is looked for (ms). */
  readonly superviseIntervalMs?: number;
  /** The lab's Services (its kube-proxy and DNS): brought up to date at the end of every pass. */
  readonly services?: {
    /** The records the DNS pod serves. */
    records(): Record<string, string[]>;
    /** Applies the Services table for what the store holds now. */
    sync(): Promise<void>;
  };
}


/** A node pods are placed on, as the runner sees it. */
export interface RunnerNode {
  readonly name: string;
  /** Its address: the hostIP of its pods, the podIP of its hostNetwork pods. */
  readonly address: string;
  /** Its block of the pod CIDR, which its pods' addresses come from. */
  readonly podCIDR: string;
  readonly gateway: string;
  /** Whether new pods may be placed here (its agent runs): the scheduler skips a node that is not. */
  readonly schedulable: boolean;
}

/** Why a pod has no network yet, in the words kubectl shows (the kubelet's sandbox failure). */
export const SANDBOX_FAILED = 'FailedCreatePodSandBox';

const key = (o: { namespace: string; name: string }): string => `${o.namespace}/${o.name}`;
const spec = (m: Manifest): Manifest => (m.spec && typeof m.spec === 'object' ? (m.spec as Manifest) : {});
const status = (m: Manifest): Manifest => (m.status && typeof m.status === 'object' ? (m.status as Manifest) : {});
const annotations = (m: Manifest): Record<string, unknown> => ((m.metadata as Manifest | undefined)?.annotations ?? {}) as Record<string, unknown>;

/** The addresses the pod has in its status (written by this runner), as strings. */
export function statusIPs(m: Manifest): string[] {
  const s = status(m);
  const ips = Array.isArray(s.podIPs) ? (s.podIPs as { ip?: unknown }[]).map((p) => (typeof p?.ip === 'string' ? p.ip : '')) : [];
  if (typeof s.podIP === 'string' && s.podIP && !ips.includes(s.podIP)) ips.unshift(s.podIP);
  return ips.filter((ip) => parseIP(ip) !== undefined);
}

function requestedIPs(m: Manifest): string[] {
  const asked = annotations(m)[REQUESTED_IPS_ANNOTATION];
  // A pod that had addresses before (a restart of the lab) keeps them.
  if (typeof asked !== 'string' || asked.trim() === '') return statusIPs(m);
  return asked.split(',').map((ip) => ip.trim());
}

const terminated = (m: Manifest): boolean => status(m).phase === 'Succeeded' || status(m).phase === 'Failed';
const hostNetwork = (o: StoredObject): boolean => spec(o.manifest).hostNetwork === true;

/** The pod's container ports, decoded by the model as everywhere else (restartable init containers included). */
function portsOf(m: Manifest): ServedPod['ports'] {
  return decodePod(m, { ignoreUnknownFields: true }).ports;
}

interface PodCondition {
  readonly phase: 'Pending' | 'Running';
  readonly ready: boolean;
  readonly reason?: string;
  readonly message?: string;
}

export class PodRunner {
  private requested = false;
  private running = false;
  private verified = false;
  private served = '';
  private signal?: AbortSignal;

  constructor(private readonly ctx: RunnerContext) {}

  /** Follows the store until the signal aborts; a pod-server helper that dies is restarted at once. */
  start(signal: AbortSignal): void {
    this.signal = signal;
    const unsubscribe = this.ctx.store.subscribe(() => this.request());
    this.ctx.servers.onExit(() => this.request());
    // A helper this daemon did not start (it outlived a restart) is watched by polling.
    const supervise = setInterval(() => {
      if (this.served !== '' && !this.ctx.servers.running(this.helper())) this.request();
    }, this.ctx.superviseIntervalMs ?? 1000);
    supervise.unref();
    signal.addEventListener('abort', () => {
      unsubscribe();
      clearInterval(supervise);
    });
    this.request();
  }

  private helper(): ProcessRecord | undefined {
    return this.ctx.store.getMeta<ProcessRecord>('serverProcess');
  }

  /** Asks for a pass (something outside the store changed: a node's agent started, say). */
  poke(): void {
    this.request();
  }

  private request(): void {
    this.requested = true;
    if (!this.running) void this.loop();
  }

  private async loop(): Promise<void> {
    this.running = true;
    while (this.requested && !this.signal?.aborted) {
      this.requested = false;
      try {
        await this.reconcile();
        this.ctx.store.setMeta('runnerError', null);
      } catch (err) {
        // A stopped runner (its store may be closed) records nothing.
        if (this.signal?.aborted) break;
        // Recorded so a command waiting for the lab to catch up can say why it will not.
        this.ctx.store.setMeta('runnerError', (err as Error).message);
        this.ctx.logger?.(`pod runner: ${(err as Error).message}`);
      }
    }
    this.running = false;
  }

  /** Writes the pod's status (and binds it to this node) when it differs from what the store holds. */
  private bindStatus(o: StoredObject, node: RunnerNode, ips: readonly string[], condition: PodCondition): void {
    const m = o.manifest;
    const old = status(m);
    const ready = condition.ready ? 'True' : 'False';
    const startedAt = typeof old.startTime === 'string' ? old.startTime : new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const containers = ((spec(m).containers ?? []) as { name?: string; image?: string }[]).map((c) => ({
      name: c.name ?? '',
      image: c.image ?? '',
      imageID: '',
      ready: condition.ready,
      started: condition.phase === 'Running',
      restartCount: 0,
      state: condition.phase === 'Running' ? { running: { startedAt } } : { waiting: { reason: condition.reason ?? 'ContainerCreating' } },
    }));
    const next: Manifest = {
      phase: condition.phase,
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Initialized', status: 'True' },
        { type: 'ContainersReady', status: ready },
        { type: 'Ready', status: ready, ...(condition.reason && !condition.ready ? { reason: condition.reason } : {}) },
      ],
      hostIP: node.address,
      hostIPs: [{ ip: node.address }],
      ...(ips.length > 0 ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
      ...(condition.phase === 'Running' ? { startTime: startedAt } : {}),
      ...(condition.message ? { message: condition.message } : {}),
      ...(condition.reason ? { reason: condition.reason } : {}),
      containerStatuses: containers,
    };
    const bound = spec(m).nodeName === node.name;
    if (bound && JSON.stringify(next) === JSON.stringify(old)) return;
    this.ctx.store.put('Pod', o.namespace, o.name, { ...m, spec: { ...spec(m), nodeName: node.name }, status: next });
  }

  /** Once per daemon: what the kernel holds and the store does not (a crash mid-pass), and the reverse. */
  private async verifyKernel(): Promise<void> {
    const { store, network } = this.ctx;
    const present = new Set(await network.listNamespaces());
    const nets = store.podNetworks();
    const known = new Set(nets.map((n) => network.netns(n.slot)));
    // A pod whose namespace is gone (the machine restarted) gets a new one, with the same addresses.
    store.transaction(() => nets.filter((n) => !present.has(network.netns(n.slot))).forEach((n) => store.removePodNetwork(n.namespace, n.name)));
    const orphans = [...present].filter((n) => !known.has(n));
    if (orphans.length > 0) await network.deleteNamespaces(orphans);
  }

  /** The nodes pods may run on: the node lab's, or the single node holding the whole pod CIDR. */
  private nodes(): readonly RunnerNode[] {
    return this.ctx.nodes?.() ?? [{ name: this.ctx.node, address: this.ctx.gateways[4], podCIDR: this.ctx.podCIDR, gateway: this.ctx.gateways[4], schedulable: true }];
  }

  private async reconcile(): Promise<void> {
    const { store, network, gateways } = this.ctx;
    if (!this.verified) {
      await this.verifyKernel();
      this.verified = true;
    }
    // The version this pass may claim, read in the same synchronous step as the listing: pods the
    // API server stores while this pass awaits are not in `pods`, so the claim must not cover them.
    const snapshot = store.currentResourceVersion();
    const pods = store.list('Pod');
    const nets = new Map(store.podNetworks().map((n) => [key(n), n]));
    const nodes = this.nodes();
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const multiNode = this.ctx.nodes !== undefined;
    const runsHere = (o: StoredObject): boolean => {
      const node = spec(o.manifest).nodeName;
      return (node === undefined || node === '' || byName.has(String(node))) && !terminated(o.manifest);
    };

    // Placement: spec.nodeName when given; else the node whose block holds a requested address;
    // else the schedulable node with the fewest pods (the first of them on a tie).
    const load = new Map(nodes.map((n) => [n.name, 0]));
    for (const p of pods) {
      const bound = spec(p.manifest).nodeName;
      if (typeof bound === 'string' && load.has(bound) && !terminated(p.manifest)) load.set(bound, load.get(bound)! + 1);
    }
    const placement = new Map<string, RunnerNode>();
    for (const p of pods) {
      if (!runsHere(p)) continue;
      const bound = spec(p.manifest).nodeName;
      if (typeof bound === 'string' && bound !== '') {
        placement.set(key(p), byName.get(bound)!);
        continue;
      }
      const asked = requestedIPs(p.manifest);
      const holding = nodes.find((n) => asked.some((ip) => ipInCIDR(ip, n.podCIDR)));
      const candidates = nodes.filter((n) => n.schedulable);
      const chosen = holding ?? [...(candidates.length > 0 ? candidates : nodes)].sort((a, b) => load.get(a.name)! - load.get(b.name)!)[0];
      if (!chosen) continue;
      placement.set(key(p), chosen);
      load.set(chosen.name, load.get(chosen.name)! + 1);
    }

    // New pods: addresses, then their namespaces (empty: nothing can send yet), then status. A pod
    // bound to a node whose agent is down waits: nothing there would enforce its policies yet.
    const waitingForNode = new Set(pods.filter((p) => !hostNetwork(p) && !nets.has(key(p)) && placement.get(key(p))?.schedulable === false).map(key));
    const fresh = pods.filter((p) => !hostNetwork(p) && !nets.has(key(p)) && placement.has(key(p)) && !waitingForNode.has(key(p)));
    const assigned = new Map<string, PodLink>();
    const failed = new Map<string, string>();
    const taken = [...nets.values()];
    // Addresses live pods without a network here claim in their status (a pod bound to another
    // node, given one through pods/status) are not handed to anyone else either.
    const claimedElsewhere = pods.filter((p) => !hostNetwork(p) && !nets.has(key(p)) && !terminated(p.manifest)).map((p) => ({ pod: key(p), ips: statusIPs(p.manifest) }));
    const gatewaysOf = nodes.map((n) => n.gateway);
    for (const p of fresh) {
      const node = placement.get(key(p))!;
      // One pod at a time, so a pod whose address cannot be had fails alone (and is retried later).
      try {
        const request = { namespace: p.namespace, name: p.name, requestedIPs: requestedIPs(p.manifest) };
        // A node's pods live in its block (the node lab routes blocks between nodes).
        const outside = multiNode ? request.requestedIPs.find((ip) => !ipInCIDR(ip, node.podCIDR)) : undefined;
        if (outside) throw new AddressError(`Pod ${key(p)}: status.podIP ${outside} is outside node ${node.name}'s pod CIDR ${node.podCIDR}`);
        const reserved = [gateways[4], gateways[6], ...gatewaysOf, ...claimedElsewhere.filter((c) => c.pod !== key(p)).flatMap((c) => c.ips)];
        const link = allocateAddresses(node.podCIDR, reserved, taken, [request]).get(key(p))!;
        assigned.set(key(p), link);
        taken.push({ namespace: p.namespace, name: p.name, ...link });
      } catch (err) {
        if (!(err instanceof AddressError)) throw err;
        failed.set(key(p), err.message);
      }
    }
    const links = [...assigned.values()];
    if (links.some((l) => l.ips.some((ip) => parseIP(ip)?.family === 6))) {
      this.ctx.recordHostSettings?.(applySysctls(LAB_SYSCTLS_IPV6));
      await network.enableIPv6();
    }
    for (const node of nodes) {
      const here = [...assigned.entries()].filter(([k]) => placement.get(k) === node).map(([, link]) => link);
      if (here.length > 0) await network.createPods(here, node.name);
    }
    network.configureDNS?.([...assigned.entries()].map(([k, link]) => ({ slot: link.slot, namespace: k.split('/')[0] })));
    store.transaction(() => {
      for (const p of pods) {
        const current = store.get('Pod', p.namespace, p.name);
        // Deleted, or replaced, while this pass waited: its namespace goes with the next pass.
        if (!current || current.manifest.metadata === undefined || (current.manifest.metadata as Manifest).uid !== (p.manifest.metadata as Manifest).uid) continue;
        const node = placement.get(key(p));
        if (!node) continue;
        const link = assigned.get(key(p));
        if (link) {
          store.setPodNetwork({ namespace: p.namespace, name: p.name, slot: link.slot, ips: link.ips });
          this.bindStatus(current, node, link.ips, { phase: 'Pending', ready: false, reason: 'ContainerCreating' });
        } else if (failed.has(key(p))) {
          this.bindStatus(current, node, [], { phase: 'Pending', ready: false, reason: SANDBOX_FAILED, message: failed.get(key(p)) });
        } else if (waitingForNode.has(key(p))) {
          this.bindStatus(current, node, [], { phase: 'Pending', ready: false, reason: 'NetworkNotReady', message: `node ${node.name}: its podwall agent is not running` });
        } else if (hostNetwork(p)) {
          this.bindStatus(current, node, [node.address], { phase: 'Running', ready: true });
        } else {
          // Only this runner assigns addresses: a status that claims others is put right.
          const net = nets.get(key(p));
          if (net && statusIPs(current.manifest).join(',') !== net.ips.join(',')) {
            const s = status(current.manifest);
            this.bindStatus(current, node, net.ips, { phase: s.phase === 'Running' ? 'Running' : 'Pending', ready: s.phase === 'Running' });
          }
        }
      }
    });

    // Servers start only once the ruleset covers every pod made so far (read now, synchronously
    // after the writes above, so it covers them).
    await this.ctx.enforced(store.currentResourceVersion());
    const current = new Map(store.podNetworks().map((n) => [key(n), n]));
    const live = store.list('Pod');
    const liveKeys = new Set(live.map(key));
    const gone = [...current.values()].filter((n) => !liveKeys.has(key(n)));
    const served: ServedPod[] = live.flatMap((p) => {
      const net = current.get(key(p));
      return net && !hostNetwork(p) ? [{ netns: network.netns(net.slot), name: key(p), ips: [...net.ips], ports: portsOf(p.manifest), ...(isDnsPod(p.manifest) ? { dns: true } : {}) }] : [];
    });
    const records = this.ctx.services?.records() ?? {};
    const servedKey = JSON.stringify([served, records]);
    // A pod still waiting for a socket is tried again on every pass.
    const waiting = live.some((p) => current.has(key(p)) && !hostNetwork(p) && status(p.manifest).phase !== 'Running');
    if (servedKey !== this.served || waiting || !this.ctx.servers.running(this.helper())) {
      const result = await this.ctx.servers.sync(served, this.helper(), records);
      store.setMeta('serverProcess', result.process);
      this.served = servedKey;
      store.transaction(() => {
        for (const pod of served) {
          const [namespace, name] = pod.name.split('/');
          const o = store.get('Pod', namespace, name);
          const node = o && byName.get(String(spec(o.manifest).nodeName));
          if (!o || !node || !current.has(key(o))) continue;
          const lacking = result.missing.get(pod.name);
          if (lacking) {
            const why = lacking.errors.length > 0 ? lacking.errors.join('; ') : 'not listening';
            this.bindStatus(o, node, pod.ips, { phase: 'Pending', ready: false, reason: 'ContainersNotReady', message: `sockets ${lacking.sockets.join(', ')}: ${why}` });
          } else {
            this.bindStatus(o, node, pod.ips, { phase: 'Running', ready: true });
          }
        }
      });
    }
    // Services follow the pods' readiness (a backend only once Running): after the statuses above.
    await this.ctx.services?.sync();
    if (gone.length > 0) {
      await network.deletePods(gone);
      store.transaction(() => gone.forEach((n) => store.removePodNetwork(n.namespace, n.name)));
      // Their addresses are free only now: a pod that waited for one gets another pass.
      if (failed.size > 0) this.requested = true;
    }
    // The claim: every pod of the snapshot was handled; those that do not run (no address to be
    // had, a socket that did not open) are named, so a command waiting on the claim can say so.
    const notReady = pods
      .filter((p) => runsHere(p) && !hostNetwork(p))
      .flatMap((p) => {
        const now = store.get('Pod', p.namespace, p.name);
        if (!now || (now.manifest.metadata as Manifest).uid !== (p.manifest.metadata as Manifest).uid) return [];
        const s = status(now.manifest);
        return s.phase === 'Running' ? [] : [{ pod: key(p), reason: typeof s.message === 'string' ? s.message : String(s.reason ?? s.phase ?? 'Pending') }];
      });
    store.setMeta('converged', { resourceVersion: snapshot, notReady });
  }
}
