// Address ranges for nft interval sets: ipBlock `cidr` minus its `except` blocks, plus single pod
// addresses, merged into sorted disjoint ranges (nft refuses overlapping interval elements).
import { formatIP, type CIDR, type IPAddress, type IPFamily } from '../model/index.js';

export interface AddressRange {
  readonly first: bigint;
  readonly last: bigint;
}

const bitsOf = (family: IPFamily): number => (family === 4 ? 32 : 128);

export function cidrRange(cidr: CIDR): AddressRange {
  const host = (1n << BigInt(bitsOf(cidr.family) - cidr.prefix)) - 1n;
  return { first: cidr.network, last: cidr.network | host };
}

/** `range` with every `holes` range removed. */
export function subtractRanges(range: AddressRange, holes: readonly AddressRange[]): AddressRange[] {
  let pieces: AddressRange[] = [range];
  for (const hole of holes) {
    const next: AddressRange[] = [];
    for (const p of pieces) {
      if (hole.last < p.first || hole.first > p.last) {
        next.push(p);
        continue;
      }
      if (hole.first > p.first) next.push({ first: p.first, last: hole.first - 1n });
      if (hole.last < p.last) next.push({ first: hole.last + 1n, last: p.last });
    }
    pieces = next;
  }
  return pieces;
}

/** Sorted, disjoint, with touching ranges joined. */
export function mergeRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: AddressRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.first <= last.last + 1n) {
      if (r.last > last.last) out[out.length - 1] = { first: last.first, last: r.last };
    } else out.push(r);
  }
  return out;
}

// Addresses recur across the sets of one ruleset (every class's peers): each is formatted once.
// Bounded, so that an agent running for months over churning pod addresses keeps a small cache.
const formatted: Record<IPFamily, Map<bigint, string>> = { 4: new Map(), 6: new Map() };
const FORMATTED_MAX = 200_000;

function formatAddress(value: bigint, family: IPFamily): string {
  const cache = formatted[family];
  let text = cache.get(value);
  if (text === undefined) {
    if (cache.size >= FORMATTED_MAX) cache.clear();
    text = formatIP({ family, value } as IPAddress);
    cache.set(value, text);
  }
  return text;
}

/** Renders a range as nft writes interval elements: an address, a prefix, or `a-b`. */
export function formatRange(range: AddressRange, family: IPFamily): string {
  if (range.first === range.last) return formatAddress(range.first, family);
  const size = range.last - range.first + 1n;
  const isPowerOfTwo = (size & (size - 1n)) === 0n;
  if (isPowerOfTwo && (range.first & (size - 1n)) === 0n) {
    const hostBits = size.toString(2).length - 1;
    return `${formatAddress(range.first, family)}/${bitsOf(family) - hostBits}`;
  }
  return `${formatAddress(range.first, family)}-${formatAddress(range.last, family)}`;
}
