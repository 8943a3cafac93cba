// Address ranges for nft interval sets: cidr -> range, subtraction (ipBlock except), merging into
// sorted disjoint ranges, and rendering as nft writes interval elements.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCIDR, parseIP, type IPFamily } from '../model/index.js';
import { cidrRange, formatRange, mergeRanges, subtractRanges, type AddressRange } from './ranges.js';

const cidr = (text: string): AddressRange => {
  const parsed = parseCIDR(text).cidr;
  assert.ok(parsed, `bad cidr ${text}`);
  return cidrRange(parsed);
};
const ip = (text: string): bigint => {
  const parsed = parseIP(text);
  assert.ok(parsed, `bad ip ${text}`);
  return parsed.value;
};
const range = (first: string, last: string): AddressRange => ({ first: ip(first), last: ip(last) });
const show = (ranges: readonly AddressRange[], family: IPFamily): string[] => ranges.map((r) => formatRange(r, family));

describe('cidrRange', () => {
  const cases: [string, string, string][] = [
    ['10.0.0.0/8', '10.0.0.0', '10.255.255.255'],
    ['10.1.2.3/32', '10.1.2.3', '10.1.2.3'],
    ['0.0.0.0/0', '0.0.0.0', '255.255.255.255'],
    ['192.168.1.0/23', '192.168.0.0', '192.168.1.255'],
    ['2001:db8::/32', '2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['::/0', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['fd00::1/128', 'fd00::1', 'fd00::1'],
  ];
  for (const [c, first, last] of cases) {
    test(`${c} spans ${first} .. ${last}`, () => assert.deepEqual(cidr(c), range(first, last)));
  }
});

describe('subtractRanges', () => {
  const cases: { name: string; family: IPFamily; from: string; holes: string[]; expect: string[] }[] = [
    { name: 'no holes leave the range whole', family: 4, from: '10.0.0.0/8', holes: [], expect: ['10.0.0.0/8'] },
    { name: 'a hole in the middle splits it in two', family: 4, from: '10.0.0.0/24', holes: ['10.0.0.8/29'], expect: ['10.0.0.0/29', '10.0.0.16-10.0.0.255'] },
    { name: 'a hole at the start', family: 4, from: '10.0.0.0/24', holes: ['10.0.0.0/25'], expect: ['10.0.0.128/25'] },
    { name: 'a hole at the end', family: 4, from: '10.0.0.0/24', holes: ['10.0.0.128/25'], expect: ['10.0.0.0/25'] },
    { name: 'a hole covering everything leaves nothing', family: 4, from: '10.0.0.0/24', holes: ['10.0.0.0/16'], expect: [] },
    { name: 'a hole outside changes nothing', family: 4, from: '10.0.0.0/24', holes: ['10.0.1.0/24'], expect: ['10.0.0.0/24'] },
    { name: 'a single address out of a /32 leaves nothing', family: 4, from: '10.0.0.1/32', holes: ['10.0.0.1/32'], expect: [] },
    {
      name: 'several holes, overlapping and unsorted',
      family: 4,
      from: '10.0.0.0/24',
      holes: ['10.0.0.200/32', '10.0.0.0/30', '10.0.0.2/31', '10.0.0.128/26'],
      expect: ['10.0.0.4-10.0.0.127', '10.0.0.192/29', '10.0.0.201-10.0.0.255'],
    },
    { name: 'everything but one address (IPv4 /0)', family: 4, from: '0.0.0.0/0', holes: ['10.0.0.1/32'], expect: ['0.0.0.0-10.0.0.0', '10.0.0.2-255.255.255.255'] },
    { name: 'the lowest and highest addresses of /0 removed', family: 4, from: '0.0.0.0/0', holes: ['0.0.0.0/32', '255.255.255.255/32'], expect: ['0.0.0.1-255.255.255.254'] },
    { name: 'IPv6: half of a /64', family: 6, from: 'fd00::/64', holes: ['fd00::/65'], expect: ['fd00::8000:0:0:0/65'] },
    { name: 'IPv6 /0 minus a /8', family: 6, from: '::/0', holes: ['fd00::/8'], expect: ['::-fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fe00::/7'] },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(show(subtractRanges(cidr(c.from), c.holes.map(cidr)), c.family), c.expect));
  }
});

describe('mergeRanges', () => {
  const cases: { name: string; family: IPFamily; ranges: AddressRange[]; expect: string[] }[] = [
    { name: 'nothing stays nothing', family: 4, ranges: [], expect: [] },
    { name: 'unsorted disjoint ranges are sorted', family: 4, ranges: [cidr('10.0.2.0/24'), cidr('10.0.0.0/24')], expect: ['10.0.0.0/24', '10.0.2.0/24'] },
    { name: 'touching ranges are joined', family: 4, ranges: [cidr('10.0.1.0/24'), cidr('10.0.0.0/24')], expect: ['10.0.0.0/23'] },
    { name: 'overlapping ranges are joined', family: 4, ranges: [range('10.0.0.0', '10.0.0.10'), range('10.0.0.5', '10.0.0.20')], expect: ['10.0.0.0-10.0.0.20'] },
    { name: 'a contained range disappears', family: 4, ranges: [cidr('10.0.0.0/8'), cidr('10.1.0.0/16'), range('10.0.0.1', '10.0.0.1')], expect: ['10.0.0.0/8'] },
    { name: 'duplicate addresses are one', family: 4, ranges: [range('10.0.0.1', '10.0.0.1'), range('10.0.0.1', '10.0.0.1')], expect: ['10.0.0.1'] },
    {
      name: 'adjacent single addresses become a range',
      family: 4,
      ranges: [range('10.0.0.3', '10.0.0.3'), range('10.0.0.1', '10.0.0.1'), range('10.0.0.2', '10.0.0.2'), range('10.0.0.9', '10.0.0.9')],
      expect: ['10.0.0.1-10.0.0.3', '10.0.0.9'],
    },
    { name: 'a range and /0 are /0', family: 4, ranges: [cidr('10.0.0.0/8'), cidr('0.0.0.0/0')], expect: ['0.0.0.0/0'] },
    { name: 'IPv6 single addresses and a prefix', family: 6, ranges: [range('fd00::1', 'fd00::1'), cidr('fd00::/127'), range('fd00::5', 'fd00::5')], expect: ['fd00::/127', 'fd00::5'] },
    { name: 'IPv6 /0 swallows everything', family: 6, ranges: [range('fd00::1', 'fd00::1'), cidr('::/0')], expect: ['::/0'] },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(show(mergeRanges(c.ranges), c.family), c.expect));
  }

  test('the result is sorted and disjoint, never touching', () => {
    const input = Array.from({ length: 200 }, (_, i) => ({ first: BigInt((i * 7919) % 1000), last: BigInt(((i * 7919) % 1000) + (i % 5)) }));
    const merged = mergeRanges(input);
    for (let i = 1; i < merged.length; i++) assert.ok(merged[i].first > merged[i - 1].last + 1n);
    // Same coverage as the input.
    const covered = (rs: readonly AddressRange[], v: bigint): boolean => rs.some((r) => r.first <= v && v <= r.last);
    for (let v = 0n; v < 1010n; v++) assert.equal(covered(merged, v), covered(input, v), `address ${v}`);
  });
});

describe('formatRange', () => {
  const cases: [string, IPFamily, AddressRange, string][] = [
    ['a single IPv4 address', 4, range('10.0.0.1', '10.0.0.1'), '10.0.0.1'],
    ['an aligned power of two is a prefix', 4, range('10.0.0.0', '10.0.0.255'), '10.0.0.0/24'],
    ['two aligned addresses are a /31', 4, range('10.0.0.2', '10.0.0.3'), '10.0.0.2/31'],
    ['an unaligned power of two is a range', 4, range('10.0.0.1', '10.0.0.2'), '10.0.0.1-10.0.0.2'],
    ['a size that is not a power of two is a range', 4, range('10.0.0.0', '10.0.0.2'), '10.0.0.0-10.0.0.2'],
    ['IPv4 /0', 4, range('0.0.0.0', '255.255.255.255'), '0.0.0.0/0'],
    ['IPv4 /1 upper half', 4, range('128.0.0.0', '255.255.255.255'), '128.0.0.0/1'],
    ['a single IPv6 address, compressed', 6, range('fd00:0:0:0:0:0:0:1', 'fd00::1'), 'fd00::1'],
    ['IPv6 prefix', 6, range('2001:db8::', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'), '2001:db8::/32'],
    ['IPv6 /0', 6, range('::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), '::/0'],
    ['IPv6 range', 6, range('fd00::1', 'fd00::3'), 'fd00::1-fd00::3'],
    ['IPv6 ::', 6, range('::', '::'), '::'],
  ];
  for (const [name, family, r, expect] of cases) test(`${name}: ${expect}`, () => assert.equal(formatRange(r, family), expect));
});
