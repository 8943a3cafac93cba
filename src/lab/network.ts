// The lab's kernel topology: one bridge, and per pod a network namespace with a veth into the
// bridge. Pods hold /32 (/128) addresses and route everything via the bridge's gateway address,
// so all pod traffic is routed by the host and passes its forward hook, whatever the subnets.
// Beside the pods: a host outside the cluster (a namespace of its own on a point-to-point link to
// the node), the Service CIDR routed onto the bridge, and each pod's resolv.conf for the lab's DNS.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '../dataplane/index.js';
import { parseIP } from '../model/index.js';
import type { LabNames } from './names.js';
import { inParallel } from './parallel.js';

/** The host's side of the pod network: addresses on the bridge that pods use as their gateway. */
export interface Gateways {
  readonly 4: string;
  readonly 6: string;
}

export interface PodLink {
  readonly slot: number;
  readonly ips: readonly string[];
}

const hostPrefix = (ip: string): string => (parseIP(ip)?.family === 6 ? `${ip}/128` : `${ip}/32`);

async function ipBatch(args: readonly string[], lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  await exec(['ip', ...args, '-batch', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: 60_000 });
}

/**
 * The bridge's own (the pods' gateway's) MAC address, fixed: a bridge left to itself takes the
 * lowest MAC of its ports, so removing the pod whose veth held it would change the gateway's MAC
 * under every other pod's ARP cache and cut their traffic until it expires (seconds to a minute).
 * Locally administered, derived from the bridge's name.
 */
export function bridgeMAC(names: LabNames): string {
  const bytes = [0x02, ...createHash('sha256').update(names.bridge).digest().subarray(0, 5)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export async function createBridge(names: LabNames, gateways: Gateways, ipv6: boolean): Promise<void> {
  const lines = [`link add ${names.bridge} address ${bridgeMAC(names)} type bridge`, `link set ${names.bridge} up`, `addr add ${gateways[4]}/32 dev ${names.bridge}`];
  if (ipv6) lines.push(`addr add ${gateways[6]}/128 dev ${names.bridge} nodad`);
  await ipBatch([], lines);
}

export async function addIPv6Gateway(names: LabNames, gateways: Gateways): Promise<void> {
  await exec(['ip', '-6', 'addr', 'replace', `${gateways[6]}/128`, 'dev', names.bridge, 'nodad'], { timeoutMs: 10_000 });
}

export async function createPods(names: LabNames, gateways: Gateways, pods: readonly PodLink[]): Promise<void> {
  if (pods.length === 0) return;
  await ipBatch([], pods.map((p) => `netns add ${names.netns(p.slot)}`));
  await ipBatch(
    [],
    pods.flatMap((p) => [
      `link add ${names.veth(p.slot)} type veth peer name eth0 netns ${names.netns(p.slot)}`,
      `link set ${names.veth(p.slot)} master ${names.bridge}`,
      // Isolated ports reach only the bridge (the host), never each other: no path around the rules.
      `link set ${names.veth(p.slot)} type bridge_slave isolated on`,
      `link set ${names.veth(p.slot)} up`,
      ...p.ips.map((ip) => `route replace ${hostPrefix(ip)} dev ${names.bridge}`),
    ]),
  );
  await inParallel(pods, 8, async (p) => {
    const lines = ['link set lo up', 'link set eth0 up'];
    for (const ip of p.ips) {
      const v6 = parseIP(ip)?.family === 6;
      const gw = v6 ? gateways[6] : gateways[4];
      // Batch lines take no global options (no -6): the family follows from the addresses.
      lines.push(
        `addr add ${hostPrefix(ip)} dev eth0${v6 ? ' nodad' : ''}`,
        `route add ${gw} dev eth0 scope link`,
        `route add ${v6 ? '::/0' : '0.0.0.0/0'} via ${gw} dev eth0`,
      );
    }
    await ipBatch(['-n', names.netns(p.slot)], lines);
  });
}

export async function deletePods(names: LabNames, pods: readonly PodLink[]): Promise<void> {
  if (pods.length === 0) return;
  removeResolvConfs(pods.map((p) => names.netns(p.slot)));
  await exec(['ip', '-force', '-batch', '-'], {
    input: `${pods.flatMap((p) => [...p.ips.map((ip) => `route del ${hostPrefix(ip)} dev ${names.bridge}`), `netns del ${names.netns(p.slot)}`]).join('\n')}\n`,
    timeoutMs: 60_000,
    check: false,
  });
}

/** Every network namespace and link carrying the lab's prefix, found in the kernel itself. */
export async function findLabObjects(names: LabNames): Promise<{ netns: string[]; links: string[] }> {
  const ns = await exec(['ip', 'netns', 'list'], { check: false, timeoutMs: 10_000 });
  const links = await exec(['ip', '-o', 'link', 'show'], { check: false, timeoutMs: 10_000 });
  return {
    netns: ns.stdout
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((n) => n.startsWith(names.prefix)),
    links: links.stdout
      .split('\n')
      .map((l) => l.split(': ')[1]?.split('@')[0] ?? '')
      .filter((n) => n.startsWith(names.prefix)),
  };
}

/** Removes whatever the kernel still holds of the lab, known to the state or not. */
export async function deleteLabObjects(names: LabNames): Promise<void> {
  const found = await findLabObjects(names);
  const lines = [...found.netns.map((n) => `netns del ${n}`), ...found.links.map((l) => `link del ${l}`)];
  if (lines.length > 0) await exec(['ip', '-force', '-batch', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: 60_000, check: false });
  removeResolvConfs(labNetnsEtc(names));
}

/** Where `ip netns exec` finds a namespace's own /etc files (resolv.conf). */
const NETNS_ETC = process.env.PODWALL_NETNS_ETC ?? '/etc/netns';

/** The DNS configuration a pod gets, as the kubelet writes it for dnsPolicy ClusterFirst. */
export function resolvConf(nameserver: string, namespace: string, domain = 'cluster.local'): string {
  return `nameserver ${nameserver}\nsearch ${namespace}.svc.${domain} svc.${domain} ${domain}\noptions ndots:5\n`;
}

/** Writes each pod namespace's resolv.conf (read by `ip netns exec`, so `lab exec` resolves Service names). */
export function writeResolvConfs(entries: readonly { netns: string; text: string }[]): void {
  for (const e of entries) {
    const dir = join(NETNS_ETC, e.netns);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'resolv.conf'), e.text);
  }
}

export function removeResolvConfs(netns: readonly string[]): void {
  for (const n of netns) rmSync(join(NETNS_ETC, n), { recursive: true, force: true });
}

/** Every /etc/netns directory of the lab (found by prefix, for clean-up). */
export function labNetnsEtc(names: LabNames): string[] {
  try {
    return readdirSync(NETNS_ETC).filter((n) => n.startsWith(names.prefix));
  } catch {
    return [];
  }
}

/** The host outside the cluster: a namespace on a /30 link to the node, routed through it. */
export interface OutsideHost {
  /** The node's end of the link (a node address: NodePorts answer there). */
  readonly node: string;
  /** The outside host's own address. */
  readonly address: string;
}

export const outsideNetns = (names: LabNames): string => `${names.prefix}out`;
const outsideLink = (names: LabNames): string => `${names.prefix}ox`;

export async function createOutside(names: LabNames, outside: OutsideHost): Promise<void> {
  const ns = outsideNetns(names);
  await ipBatch([], [`netns add ${ns}`, `link add ${outsideLink(names)} type veth peer name eth0 netns ${ns}`, `addr add ${outside.node}/30 dev ${outsideLink(names)}`, `link set ${outsideLink(names)} up`]);
  await ipBatch(['-n', ns], ['link set lo up', 'link set eth0 up', `addr add ${outside.address}/30 dev eth0`, `route add default via ${outside.node} dev eth0`]);
}

/**
 * The Service CIDR is routed onto the lab's bridge: a Service address is DNATed before routing,
 * and anything left (a port no Service has, a Service without backends, refused by the Services
 * table) goes nowhere instead of out of the machine's default route.
 */
export async function routeServiceCIDR(names: LabNames, cidr: string): Promise<void> {
  await exec(['ip', 'route', 'replace', cidr, 'dev', names.bridge], { timeoutMs: 10_000 });
}
