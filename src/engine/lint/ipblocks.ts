// ipBlocks that hold addresses of the cluster itself: pod addresses (a pod-level rule was likely
// meant: "These should be cluster-external IPs, since Pod IPs are ephemeral and unpredictable") and
// Service ClusterIPs, which an egress rule never sees: the connection is DNATed to a backend first.
import { parseIP, type Endpoint, type IPAddress, type Service } from '../../model/index.js';
import type { CompiledCluster, CompiledPeer, CompiledPolicy } from '../compile.js';
import { ipBlockContains } from '../match.js';
import { resolveService, serviceId } from '../services.js';
import { endpointObject, listNames, plural, policyObject, type LintContext } from './context.js';

type IPBlockPeer = Extract<CompiledPeer, { kind: 'ipBlock' }>;

const FIELD = { Ingress: ['ingress', 'from'], Egress: ['egress', 'to'] } as const;

function forEachIPBlock(policy: CompiledPolicy, visit: (peer: IPBlockPeer, path: (string | number)[], direction: 'Ingress' | 'Egress') => void): void {
  for (const direction of ['Ingress', 'Egress'] as const) {
    for (const rule of policy.rules[direction]) {
      rule.peers?.forEach((peer, j) => {
        if (peer.kind === 'ipBlock') visit(peer, ['spec', FIELD[direction][0], rule.index, FIELD[direction][1], j, 'ipBlock'], direction);
      });
    }
  }
}

const addresses = (texts: readonly string[]): IPAddress[] => texts.map((t) => parseIP(t)).filter((a): a is IPAddress => a !== undefined);

interface Addresses {
  /** Pod addresses per family, sorted, so a block finds the pods it holds by binary search. */
  readonly endpoints: { readonly 4: readonly Held[]; readonly 6: readonly Held[] };
  /** The pods each ipBlock peer holds, by peer id, in the cluster's order. */
  readonly held: Map<number, readonly Endpoint[]>;
  readonly position: ReadonlyMap<Endpoint, number>;
  readonly services: readonly { readonly service: Service; readonly clusterIPs: readonly IPAddress[] }[];
}

/** Every address parsed once per cluster, not once per ipBlock. */
const parsed = new WeakMap<CompiledCluster, Addresses>();

function addressesOf(compiled: CompiledCluster): Addresses {
  let out = parsed.get(compiled);
  if (!out) {
    const byFamily: { 4: Held[]; 6: Held[] } = { 4: [], 6: [] };
    for (const endpoint of compiled.cluster.endpoints) {
      if (endpoint.hostNetwork) continue;
      for (const ip of addresses(endpoint.ips)) byFamily[ip.family].push({ ip, endpoint });
    }
    for (const list of [byFamily[4], byFamily[6]]) list.sort((a, b) => (a.ip.value < b.ip.value ? -1 : a.ip.value > b.ip.value ? 1 : 0));
    out = {
      endpoints: byFamily,
      held: new Map(),
      position: new Map(compiled.cluster.endpoints.map((e, i) => [e, i])),
      services: (compiled.cluster.services ?? [])
        .filter((s) => !s.headless && s.type !== 'ExternalName')
        .map((service) => ({ service, clusterIPs: addresses(service.clusterIPs) }))
        .filter((s) => s.clusterIPs.length > 0),
    };
    parsed.set(compiled, out);
  }
  return out;
}

interface Held {
  readonly ip: IPAddress;
  readonly endpoint: Endpoint;
}

/** The pods whose addresses a block holds (within cidr, outside every except). */
function podsHeld(all: Addresses, peer: IPBlockPeer): readonly Endpoint[] {
  let out = all.held.get(peer.id);
  if (!out) {
    const list = all.endpoints[peer.cidr.family];
    const bits = peer.cidr.family === 4 ? 32n : 128n;
    const last = peer.cidr.network + (1n << (bits - BigInt(peer.cidr.prefix))) - 1n;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid].ip.value < peer.cidr.network) lo = mid + 1;
      else hi = mid;
    }
    const found = new Set<Endpoint>();
    for (let i = lo; i < list.length && list[i].ip.value <= last; i++) if (ipBlockContains(peer, list[i].ip)) found.add(list[i].endpoint);
    out = [...found].sort((a, b) => all.position.get(a)! - all.position.get(b)!);
    all.held.set(peer.id, out);
  }
  return out;
}

export function lintIPBlocks(ctx: LintContext, policy: CompiledPolicy): void {
  forEachIPBlock(policy, (peer, path, direction) => {
    const all = addressesOf(ctx.compiled);
    const { services } = all;
    // A block of every address means "anywhere", not these pods.
    if (peer.cidr.prefix > 0) {
      const held = podsHeld(all, peer);
      if (held.length > 0) {
        ctx.report({
          id: 'PW-IPBLOCK-COVERS-PODS',
          object: policyObject(policy),
          path,
          message: `${peer.text.cidr} holds the addresses of ${plural(held.length, 'pod')} (${listNames(held.map((e) => `${e.id} ${e.ips[0]}`), 4)}): pod addresses change when pods are recreated, and ipBlocks are meant for addresses outside the cluster. Select the pods with podSelector/namespaceSelector instead`,
          related: held.map(endpointObject),
        });
      }
    }
    if (direction !== 'Egress') return;
    for (const { service, clusterIPs } of services) {
      const held = clusterIPs.find((ip) => ipBlockContains(peer, ip));
      if (!held) continue;
      const resolved = resolveService(ctx.compiled, service);
      const backendIPs = addresses(resolved.backends.flatMap((b) => (b.endpoint ? b.endpoint.ips : b.address ? [b.address] : [])));
      // Without backend addresses only a block of the ClusterIP alone surely misses them.
      const single = peer.cidr.prefix === (peer.cidr.family === 4 ? 32 : 128);
      if (backendIPs.length === 0 ? !single : backendIPs.some((ip) => ipBlockContains(peer, ip))) continue;
      const text = service.clusterIPs.find((a) => parseIP(a)?.value === held.value && parseIP(a)?.family === held.family) ?? '';
      ctx.report({
        id: 'PW-IPBLOCK-COVERS-CLUSTERIP',
        object: policyObject(policy),
        path,
        message: `${peer.text.cidr} holds ${text}, the ClusterIP of ${serviceId(service)}, but none of its backends' addresses: a connection to the Service is DNATed to a backend before NetworkPolicy applies, so this block never matches it. Select the backends with podSelector/namespaceSelector instead`,
        related: [{ kind: 'Service', namespace: service.namespace, name: service.name }, ...resolved.backends.flatMap((b) => (b.endpoint ? [endpointObject(b.endpoint)] : []))],
      });
    }
  });
}
