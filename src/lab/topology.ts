// The node lab's kernel topology: an underlay bridge in the host's namespace, and per node a
// network namespace on it that routes for its own pods, as a CNI plugin would wire a real node:
// `routed` (Calico-like: a /32 route per pod to its veth, routes per node block across the
// underlay), `bridge` (Flannel host-gw-like: pods on a cni0 bridge in the node's /24, switched at
// layer 2 with br_netfilter on, routes per node block across the underlay) and `vxlan` (Flannel
// vxlan-like: cni0 on the node, other nodes' blocks reached through a VXLAN device, encapsulated).
import { createHash } from 'node:crypto';
import { exec } from '../dataplane/index.js';
import { formatIP, parseCIDR } from '../model/index.js';
import type { LabNames } from './names.js';
import type { PodLink } from './network.js';
import { removeResolvConfs } from './network.js';
import { inParallel } from './parallel.js';

export const TOPOLOGIES = ['routed', 'bridge', 'vxlan'] as const;
export type TopologyKind = (typeof TOPOLOGIES)[number];

/** The most nodes one lab holds. */
export const MAX_NODES = 16;

/** One node of the lab. */
export interface LabNode {
  /** Its Kubernetes name (`<lab>-node<i>`). */
  readonly name: string;
  /** 1-based: its namespace, links and addresses follow from it. */
  readonly index: number;
  /** Its address on the underlay (the Node's InternalIP, its pods' hostIP). */
  readonly address: string;
  /** Its block of the lab's pod CIDR (a /24, the Node's spec.podCIDR). */
  readonly podCIDR: string;
  /** The first address of its block: the pods' gateway (cni0's address, or the routed node's). */
  readonly gateway: string;
}

export interface Topology {
  readonly kind: TopologyKind;
  /** The underlay network and the host's address on it (the lab API server answers there too). */
  readonly underlay: { readonly cidr: string; readonly host: string };
  readonly nodes: readonly LabNode[];
}

export const underlayBridge = (names: LabNames): string => `${names.prefix}ul`;
export const nodeNetns = (names: LabNames, node: Pick<LabNode, 'index'>): string => `${names.prefix}n${node.index}`;
const underlayVeth = (names: LabNames, node: Pick<LabNode, 'index'>): string => `${names.prefix}u${node.index}`;
/** Inside a node's namespace the names are the node's own, as on a real node. */
const CNI_BRIDGE = 'cni0';
const VXLAN_DEVICE = 'flannel.1';
const VXLAN_MTU = 1450;

export const nodeName = (lab: string, index: number): string => `${lab}-node${index}`;

/** Why the pod CIDR cannot hold `count` node blocks (a /24 each), or undefined. */
export function nodeBlocksProblem(podCIDR: string, count: number): string | undefined {
  const cidr = parseCIDR(podCIDR).cidr;
  if (!cidr || cidr.family !== 4) return `--pod-cidr ${podCIDR}: must be an IPv4 network`;
  if (cidr.prefix > 24 || 2 ** (24 - cidr.prefix) < count) {
    const need = count === 1 ? '1 node needs a block of /24 (a /24 or larger)' : `${count} nodes need ${count} blocks of /24 (a /${24 - Math.ceil(Math.log2(count))} or larger)`;
    return `--pod-cidr ${podCIDR}: ${need}`;
  }
  return undefined;
}

/** Node i owns the i-th /24 of the pod CIDR and the underlay address `.(1+i)`. */
export function planNode(lab: string, podCIDR: string, underlayCIDR: string, index: number): LabNode {
  const pods = parseCIDR(podCIDR).cidr!;
  const underlay = parseCIDR(underlayCIDR).cidr!;
  const block = pods.network + BigInt(index - 1) * 256n;
  return {
    name: nodeName(lab, index),
    index,
    address: formatIP({ family: 4, value: underlay.network + 1n + BigInt(index) }),
    podCIDR: `${formatIP({ family: 4, value: block })}/24`,
    gateway: formatIP({ family: 4, value: block + 1n }),
  };
}

export function planTopology(lab: string, kind: TopologyKind, count: number, podCIDR: string, underlayCIDR: string): Topology {
  const underlay = parseCIDR(underlayCIDR).cidr!;
  return {
    kind,
    underlay: { cidr: underlayCIDR, host: formatIP({ family: 4, value: underlay.network + 1n }) },
    nodes: Array.from({ length: count }, (_, i) => planNode(lab, podCIDR, underlayCIDR, i + 1)),
  };
}

/** A locally administered MAC derived from a name: a bridge or VTEP whose MAC never changes. */
function stableMAC(seed: string): string {
  return [0x02, ...createHash('sha256').update(seed).digest().subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

const blockNetwork = (node: LabNode): string => node.podCIDR.split('/')[0];
const vtepMAC = (names: LabNames, node: LabNode): string => stableMAC(`${names.prefix}vtep${node.index}`);

async function ipBatch(args: readonly string[], lines: readonly string[], check = true): Promise<void> {
  if (lines.length === 0) return;
  await exec(['ip', ...args, '-batch', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: 60_000, check });
}

/** Writes /proc/sys entries given as argv (`key=value`), in whatever namespace it runs in. */
const WRITE_SYSCTLS = "import sys\nfor kv in sys.argv[1:]:\n    k, v = kv.split('=', 1)\n    open('/proc/sys/' + k.replace('.', '/'), 'w').write(v + '\\n')";

/** Sets sysctls inside a namespace: /proc/sys/net belongs to the namespace of whoever opens it. */
async function netnsSysctls(netns: string, settings: readonly (readonly [string, string])[]): Promise<void> {
  await exec(['ip', 'netns', 'exec', netns, 'python3', '-c', WRITE_SYSCTLS, ...settings.map(([k, v]) => `${k}=${v}`)], { timeoutMs: 10_000 });
}

export async function createUnderlay(names: LabNames, topology: Topology): Promise<void> {
  const prefix = topology.underlay.cidr.split('/')[1];
  await ipBatch([], [`link add ${underlayBridge(names)} address ${stableMAC(underlayBridge(names))} type bridge`, `link set ${underlayBridge(names)} up`, `addr add ${topology.underlay.host}/${prefix} dev ${underlayBridge(names)}`]);
}

/** The host routes each node's block to the node: the outside host and NodePorts reach pods through it. */
export async function routeBlocksFromHost(names: LabNames, topology: Topology): Promise<void> {
  await ipBatch([], topology.nodes.map((n) => `route replace ${n.podCIDR} via ${n.address} dev ${underlayBridge(names)}`));
}

/** A node: its namespace on the underlay, forwarding, and its pods' side (cni0, a VXLAN device). */
export async function createNode(names: LabNames, topology: Topology, node: LabNode): Promise<void> {
  const ns = nodeNetns(names, node);
  const prefix = topology.underlay.cidr.split('/')[1];
  await ipBatch([], [`netns add ${ns}`, `link add ${underlayVeth(names, node)} type veth peer name eth0 netns ${ns}`, `link set ${underlayVeth(names, node)} master ${underlayBridge(names)}`, `link set ${underlayVeth(names, node)} up`]);
  const lines = ['link set lo up', 'link set eth0 up', `addr add ${node.address}/${prefix} dev eth0`, `route add default via ${topology.underlay.host} dev eth0`];
  if (topology.kind === 'routed') {
    // The gateway is a local address only: each pod's veth answers ARP for it (arp_ignore 0).
    lines.push(`addr add ${node.gateway}/32 dev lo`, `route add unreachable ${node.podCIDR}`);
  } else {
    lines.push(`link add ${CNI_BRIDGE} address ${stableMAC(`${ns}${CNI_BRIDGE}`)} type bridge`, `addr add ${node.gateway}/24 dev ${CNI_BRIDGE}`, `link set ${CNI_BRIDGE} up`);
  }
  if (topology.kind === 'vxlan') {
    lines.push(
      `link add ${VXLAN_DEVICE} address ${vtepMAC(names, node)} type vxlan id 1 local ${node.address} dev eth0 dstport 4789 nolearning`,
      `link set ${VXLAN_DEVICE} mtu ${VXLAN_MTU}`,
      `addr add ${blockNetwork(node)}/32 dev ${VXLAN_DEVICE}`,
      `link set ${VXLAN_DEVICE} up`,
      `link set ${CNI_BRIDGE} mtu ${VXLAN_MTU}`,
    );
  }
  await ipBatch(['-n', ns], lines);
  await netnsSysctls(ns, [
    ['net.ipv4.ip_forward', '1'],
    // Routed pods must not learn from redirects to talk around the node's rules.
    ['net.ipv4.conf.all.send_redirects', '0'],
    ['net.ipv4.conf.default.send_redirects', '0'],
    ['net.ipv4.conf.all.rp_filter', '0'],
    ['net.ipv4.conf.default.rp_filter', '0'],
    // Bridged pod-to-pod frames on one node must pass the inet forward hook (per namespace).
    ...(topology.kind === 'routed' ? [] : ([['net.bridge.bridge-nf-call-iptables', '1'], ['net.bridge.bridge-nf-call-ip6tables', '1']] as const)),
  ]);
}

/** Each node's routes to every other node's block, by the topology's way across. */
export async function connectNodes(names: LabNames, topology: Topology): Promise<void> {
  await inParallel(topology.nodes, 4, async (node) => {
    const others = topology.nodes.filter((n) => n.index !== node.index);
    const ns = nodeNetns(names, node);
    if (topology.kind !== 'vxlan') {
      await ipBatch(['-n', ns], others.map((o) => `route replace ${o.podCIDR} via ${o.address} dev eth0`));
      return;
    }
    await ipBatch(
      ['-n', ns],
      others.flatMap((o) => [`neigh replace ${blockNetwork(o)} lladdr ${vtepMAC(names, o)} dev ${VXLAN_DEVICE} nud permanent`, `route replace ${o.podCIDR} via ${blockNetwork(o)} dev ${VXLAN_DEVICE} onlink`]),
    );
    if (others.length === 0) return;
    await exec(['ip', 'netns', 'exec', ns, 'bridge', '-batch', '-'], {
      input: `${others.map((o) => `fdb replace ${vtepMAC(names, o)} dev ${VXLAN_DEVICE} dst ${o.address} self permanent`).join('\n')}\n`,
      timeoutMs: 30_000,
    });
  });
}

/** Removes a node: its namespace (and with it its links and rules), and every route to its block. */
export async function deleteNode(names: LabNames, topology: Topology, node: LabNode): Promise<void> {
  await exec(['ip', 'netns', 'del', nodeNetns(names, node)], { check: false, timeoutMs: 30_000 });
  await exec(['ip', 'link', 'del', underlayVeth(names, node)], { check: false, timeoutMs: 10_000 });
  await exec(['ip', 'route', 'del', node.podCIDR], { check: false, timeoutMs: 10_000 });
  for (const other of topology.nodes.filter((n) => n.index !== node.index)) {
    const ns = nodeNetns(names, other);
    const lines = [`route del ${node.podCIDR}`];
    if (topology.kind === 'vxlan') lines.push(`neigh del ${blockNetwork(node)} dev ${VXLAN_DEVICE}`);
    await ipBatch(['-n', ns], lines, false);
    if (topology.kind === 'vxlan') await exec(['ip', 'netns', 'exec', ns, 'bridge', 'fdb', 'del', vtepMAC(names, node), 'dev', VXLAN_DEVICE, 'self'], { check: false, timeoutMs: 10_000 });
  }
}

/** Pods on a node: a namespace each, with a veth whose node end is routed to (routed) or on cni0. */
export async function createNodePods(names: LabNames, topology: Topology, node: LabNode, pods: readonly PodLink[]): Promise<void> {
  if (pods.length === 0) return;
  const ns = nodeNetns(names, node);
  await ipBatch([], pods.map((p) => `netns add ${names.netns(p.slot)}`));
  const mtu = topology.kind === 'vxlan' ? [`link set ${'%'} mtu ${VXLAN_MTU}`] : [];
  await ipBatch(
    ['-n', ns],
    pods.flatMap((p) => {
      const veth = names.veth(p.slot);
      const attach =
        topology.kind === 'routed'
          ? [`link set ${veth} up`, ...p.ips.map((ip) => `route replace ${ip}/32 dev ${veth}`)]
          : // Hairpin: a pod reaching itself through a Service comes back out of its own port.
            [`link set ${veth} master ${CNI_BRIDGE}`, `link set ${veth} type bridge_slave hairpin on`, `link set ${veth} up`];
      return [`link add ${veth} type veth peer name eth0 netns ${names.netns(p.slot)}`, ...mtu.map((l) => l.replace('%', veth)), ...attach];
    }),
  );
  await inParallel(pods, 8, async (p) => {
    const lines = ['link set lo up', ...mtu.map((l) => l.replace('%', 'eth0')), 'link set eth0 up'];
    for (const ip of p.ips) {
      if (topology.kind === 'routed') lines.push(`addr add ${ip}/32 dev eth0`, `route add ${node.gateway} dev eth0 scope link`, `route add default via ${node.gateway} dev eth0`);
      else lines.push(`addr add ${ip}/24 dev eth0`, `route add default via ${node.gateway} dev eth0`);
    }
    await ipBatch(['-n', names.netns(p.slot)], lines);
  });
}

/** A pod's namespace goes, and its veth (both ends) and routes with it. */
export async function deleteNodePods(names: LabNames, pods: readonly PodLink[]): Promise<void> {
  if (pods.length === 0) return;
  removeResolvConfs(pods.map((p) => names.netns(p.slot)));
  await ipBatch(['-force'], pods.map((p) => `netns del ${names.netns(p.slot)}`), false);
}
