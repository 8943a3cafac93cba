// Pod addresses in the lab: requested ones (status.podIP(s) in a manifest) are honoured when
// private and free; the others come from the pod CIDR, lowest free first.
import { cidrContains, formatIP, parseCIDR, parseIP } from '../model/index.js';
import { MAX_SLOT } from './names.js';
import type { PodNetwork } from './store.js';

/** RFC 1918, shared address space and unique local IPv6: the ranges lab pods may use. */
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'].map((c) => parseCIDR(c).cidr!);

export function isPrivateAddress(ip: string): boolean {
  const parsed = parseIP(ip);
  return parsed !== undefined && PRIVATE_RANGES.some((r) => cidrContains(r, parsed));
}

export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

export interface AddressRequest {
  readonly namespace: string;
  readonly name: string;
  readonly requestedIPs: readonly string[];
}

/** Why a requested address cannot be used, or undefined. */
export function requestedAddressProblem(pod: AddressRequest): string | undefined {
  for (const ip of pod.requestedIPs) {
    if (!isPrivateAddress(ip)) {
      return `Pod ${pod.namespace}/${pod.name}: status.podIP ${ip}: lab pods may only use private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7)`;
    }
  }
  return undefined;
}

/** Slots and addresses for new pods, given the pods that already have theirs. */
export function allocateAddresses(
  podCIDR: string,
  reserved: readonly string[],
  existing: readonly PodNetwork[],
  pods: readonly AddressRequest[],
): Map<string, { slot: number; ips: string[] }> {
  const cidr = parseCIDR(podCIDR).cidr!;
  const used = new Set<string>(reserved);
  const usedSlots = new Set<number>();
  for (const net of existing) {
    net.ips.forEach((ip) => used.add(ip));
    usedSlots.add(net.slot);
  }
  for (const p of pods) {
    const problem = requestedAddressProblem(p);
    if (problem) throw new AddressError(problem);
    for (const ip of p.requestedIPs) {
      if (used.has(ip)) throw new AddressError(`Pod ${p.namespace}/${p.name}: status.podIP ${ip} is already in use in the lab`);
      used.add(ip);
    }
  }
  const out = new Map<string, { slot: number; ips: string[] }>();
  const hostBits = BigInt((cidr.family === 4 ? 32 : 128) - cidr.prefix);
  let next = cidr.network + 2n;
  const last = cidr.network + (1n << hostBits) - 2n;
  let slot = 1;
  for (const p of pods) {
    while (usedSlots.has(slot)) slot++;
    if (slot > MAX_SLOT) throw new AddressError(`the lab holds at most ${MAX_SLOT} pods`);
    usedSlots.add(slot);
    let ips = [...p.requestedIPs];
    if (ips.length === 0) {
      while (next <= last && used.has(formatIP({ family: cidr.family, value: next }))) next++;
      if (next > last) throw new AddressError(`the pod CIDR ${podCIDR} has no free address left`);
      ips = [formatIP({ family: cidr.family, value: next })];
      used.add(ips[0]);
    }
    out.set(`${p.namespace}/${p.name}`, { slot, ips });
  }
  return out;
}
