// IP addresses and CIDR blocks: parsing with the apiserver's strict rules, and containment.
// Addresses are held as bigints so IPv4 and IPv6 share one code path.
import ipaddr from 'ipaddr.js';

export type IPFamily = 4 | 6;

export interface IPAddress {
  readonly family: IPFamily;
  readonly value: bigint;
}

export interface CIDR {
  readonly family: IPFamily;
  /** The network address, with the bits beyond the prefix cleared. */
  readonly network: bigint;
  readonly prefix: number;
}

const bitsOf = (family: IPFamily): number => (family === 4 ? 32 : 128);

function bytesToBigint(bytes: readonly number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

interface LooseIP {
  address: IPAddress;
  leadingZeros: boolean;
  ipv4Mapped: boolean;
}

/** Parses like Go's netutils.ParseIPSloppy: decimal IPv4 octets may carry leading zeros. */
function parseLoose(text: string): LooseIP | undefined {
  if (text.includes(':')) {
    if (!ipaddr.IPv6.isValid(text) || text.includes('%')) return undefined;
    const v6 = ipaddr.IPv6.parse(text);
    return {
      address: { family: 6, value: bytesToBigint(v6.toByteArray()) },
      leadingZeros: false,
      ipv4Mapped: v6.isIPv4MappedAddress(),
    };
  }
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let leadingZeros = false;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    if (part.length > 1 && part.startsWith('0')) leadingZeros = true;
    bytes.push(n);
  }
  return { address: { family: 4, value: bytesToBigint(bytes) }, leadingZeros, ipv4Mapped: false };
}

/** A strictly valid IP address (no leading zeros, no IPv4-mapped IPv6), or undefined. */
export function parseIP(text: string): IPAddress | undefined {
  const loose = parseLoose(text);
  if (!loose || loose.leadingZeros || loose.ipv4Mapped) return undefined;
  return loose.address;
}

export type CIDRParse = { cidr: CIDR; errors: string[] } | { cidr: undefined; errors: string[] };

/**
 * Parses a CIDR as the apiserver validates ipBlock.cidr and ipBlock.except
 * (IsValidCIDRForLegacyField with strict validation): errors use its messages.
 */
export function parseCIDR(text: string): CIDRParse {
  const invalid = { cidr: undefined, errors: ['must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'] };
  const slash = text.indexOf('/');
  if (slash < 0) return invalid;
  const ip = parseLoose(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^[0-9]{1,3}$/.test(prefixText)) return invalid;
  const prefix = Number(prefixText);
  const bits = bitsOf(ip.address.family);
  if (prefix > bits) return invalid;
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  const network = ip.address.value & ~hostMask;
  const cidr: CIDR = { family: ip.address.family, network, prefix };
  const errors: string[] = [];
  if (ip.leadingZeros || (prefixText.length > 1 && prefixText.startsWith('0'))) {
    errors.push('must not have leading 0s in IP or prefix length');
  } else if (ip.ipv4Mapped) {
    errors.push('must not have an IPv4-mapped IPv6 address');
  } else if (network !== ip.address.value) {
    errors.push('must not have bits set beyond the prefix length');
  }
  return { cidr, errors };
}

export function cidrContains(cidr: CIDR, ip: IPAddress): boolean {
  if (cidr.family !== ip.family) return false;
  const shift = BigInt(bitsOf(cidr.family) - cidr.prefix);
  return ip.value >> shift === cidr.network >> shift;
}

/** True when `inner` is a strict subset of `outer` (ValidateIPBlock's rule for `except`). */
export function cidrStrictlyContains(outer: CIDR, inner: CIDR): boolean {
  return (
    outer.family === inner.family &&
    inner.prefix > outer.prefix &&
    cidrContains(outer, { family: inner.family, value: inner.network })
  );
}

export function formatIP(ip: IPAddress): string {
  if (ip.family === 4) {
    const v = ip.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  }
  const bytes: number[] = [];
  for (let s = 120n; s >= 0n; s -= 8n) bytes.push(Number((ip.value >> s) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

export function formatCIDR(cidr: CIDR): string {
  return `${formatIP({ family: cidr.family, value: cidr.network })}/${cidr.prefix}`;
}
