// The lab's pod runner, its kubelet: it follows the Pods in the store, gives each new one a
// network namespace, a veth and addresses, writes its status (podIP(s), phase Running, nodeName),
// and starts its servers only once the policies are enforced for it (so a new pod is isolated
// before its first packet); a deleted pod's servers stop and its namespace goes.
import { addIPv6Gateway, createPods, deletePods } from './network.js';
import { allocateAddresses, AddressError } from './addresses.js';
import { applySysctls, LAB_SYSCTLS_IPV6 } from './host.js';
import type { LabNames } from './names.js';
import { PodServers, type ServedPod } from './servers.js';
import type { LabStore, StoredObject } from './store.js';
import { parseIP, type ContainerPort, type Protocol } from '../model/index.js';

export interface RunnerContext {
  readonly store: LabStore;
  readonly names: LabNames;
  readonly dir: string;
  readonly podCIDR: string;
  readonly gateways: { readonly 4: string; readonly 6: string };
  /** The node name pods are bound to (the lab's name). */
  readonly node: string;
  /** Resolves once the enforcement has caught up with the store up to that resourceVersion. */
  readonly enforced: (resourceVersion: number) => Promise<void>;
  readonly logger?: (line: string) => void;
  /** Records host settings the lab changes, so `lab down` can restore them. */
  readonly recordHostSettings?: (previous: Record<string, string>) => void;
}

type Manifest = Record<string, unknown>;
const key = (o: { namespace: string; name: string }): string => `${o.namespace}/${o.name}`;
const spec = (m: Manifest): Record<string, unknown> => (m.spec ?? {}) as Record<string, unknown>;
const status = (m: Manifest): Record<string, unknown> => (m.status ?? {}) as Record<string, unknown>;

function requestedIPs(m: Manifest): string[] {
  const s = status(m);
  const ips = Array.isArray(s.podIPs) ? (s.podIPs as { ip?: string }[]).map((p) => p.ip ?? '') : [];
  if (typeof s.podIP === 'string' && s.podIP && !ips.includes(s.podIP)) ips.unshift(s.podIP);
  return ips.filter((ip) => parseIP(ip) !== undefined);
}

function portsOf(m: Manifest): ContainerPort[] {
  const containers = (spec(m).containers ?? []) as { ports?: { name?: string; containerPort?: number; protocol?: string }[] }[];
  return containers.flatMap((c) =>
    (c.ports ?? []).flatMap((p) => (typeof p.containerPort === 'number' ? [{ name: p.name, containerPort: p.containerPort, protocol: (p.protocol ?? 'TCP') as Protocol }] : [])),
  );
}

export class PodRunner {
  private readonly servers: PodServers;
  private requested = false;
  private running = false;
  private served = '';

  constructor(private readonly ctx: RunnerContext) {
    this.servers = new PodServers(ctx.dir);
  }

  /** Follows the store until the signal aborts. */
  start(signal: AbortSignal): void {
    const unsubscribe = this.ctx.store.subscribe(() => this.request());
    signal.addEventListener('abort', unsubscribe);
    this.request();
  }

  private request(): void {
    this.requested = true;
    if (!this.running) void this.loop();
  }

  private async loop(): Promise<void> {
    this.running = true;
    while (this.requested) {
      this.requested = false;
      try {
        await this.reconcile();
        this.ctx.store.setMeta('runnerError', null);
      } catch (err) {
        // Recorded so a command waiting for the lab to catch up can say why it will not.
        this.ctx.store.setMeta('runnerError', (err as Error).message);
        this.ctx.logger?.(`pod runner: ${(err as Error).message}`);
      }
    }
    this.running = false;
  }

  private bindStatus(o: StoredObject, ips: readonly string[], phase: string, message?: string): void {
    const m = o.manifest;
    const next = {
      ...m,
      spec: { ...spec(m), nodeName: this.ctx.node },
      status: {
        ...status(m),
        phase,
        hostIP: this.ctx.gateways[4],
        ...(ips.length > 0 ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
        ...(message ? { message, reason: 'PodwallLab' } : {}),
        ...(phase === 'Running' ? { startTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } : {}),
      },
    };
    this.ctx.store.put('Pod', o.namespace, o.name, next);
  }

  private async reconcile(): Promise<void> {
    const { store, names, gateways } = this.ctx;
    const pods = store.list('Pod');
    const nets = new Map(store.podNetworks().map((n) => [key(n), n]));
    const byKey = new Map(pods.map((p) => [key(p), p]));
    const hostNetwork = (o: StoredObject): boolean => spec(o.manifest).hostNetwork === true;
    const unbound = (o: StoredObject): boolean => spec(o.manifest).nodeName !== this.ctx.node && status(o.manifest).phase !== 'Failed';

    // New pods: addresses, then their namespaces (empty: nothing can send yet), then status.
    const fresh = pods.filter((p) => !hostNetwork(p) && !nets.has(key(p)) && unbound(p));
    const assigned = new Map<string, { slot: number; ips: string[] }>();
    const taken = [...nets.values()];
    for (const p of fresh) {
      // One pod at a time, so a pod whose address cannot be had fails alone.
      try {
        const request = { namespace: p.namespace, name: p.name, requestedIPs: requestedIPs(p.manifest) };
        const link = allocateAddresses(this.ctx.podCIDR, [gateways[4], gateways[6]], taken, [request]).get(key(p))!;
        assigned.set(key(p), link);
        taken.push({ namespace: p.namespace, name: p.name, ...link });
      } catch (err) {
        if (!(err instanceof AddressError)) throw err;
        this.bindStatus(p, [], 'Failed', err.message);
      }
    }
    const links = [...assigned.values()];
    if (links.some((l) => l.ips.some((ip) => parseIP(ip)?.family === 6))) {
      this.ctx.recordHostSettings?.(applySysctls(LAB_SYSCTLS_IPV6));
      await addIPv6Gateway(names, gateways);
    }
    await createPods(names, gateways, links);
    store.transaction(() => {
      for (const [k, link] of assigned) {
        const [namespace, name] = k.split('/');
        store.setPodNetwork({ namespace, name, slot: link.slot, ips: link.ips });
        this.bindStatus(byKey.get(k)!, link.ips, 'Running');
      }
      for (const p of pods.filter((p) => hostNetwork(p) && unbound(p))) this.bindStatus(p, [gateways[4]], 'Running');
    });

    // Servers start only once the ruleset covers every pod made so far.
    const resourceVersion = store.currentResourceVersion();
    await this.ctx.enforced(resourceVersion);
    const current = new Map(store.podNetworks().map((n) => [key(n), n]));
    const gone = [...current.values()].filter((n) => !byKey.has(key(n)) && !store.get('Pod', n.namespace, n.name));
    const served: ServedPod[] = store
      .list('Pod')
      .flatMap((p) => {
        const net = current.get(key(p));
        return net && !hostNetwork(p) ? [{ netns: names.netns(net.slot), name: key(p), ips: [...net.ips], ports: portsOf(p.manifest) }] : [];
      });
    const servedKey = JSON.stringify(served);
    if (servedKey !== this.served || !this.servers.running(store.getMeta<number>('serverPid'))) {
      store.setMeta('serverPid', await this.servers.sync(served, store.getMeta<number>('serverPid')));
      this.served = servedKey;
    }
    if (gone.length > 0) {
      await deletePods(names, gone);
      store.transaction(() => gone.forEach((n) => store.removePodNetwork(n.namespace, n.name)));
    }
    store.setMeta('convergedResourceVersion', resourceVersion);
  }
}
