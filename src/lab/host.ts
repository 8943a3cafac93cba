// What the lab needs from the host, checked before anything is made, and the few host settings
// it changes (forwarding, redirects), recorded so `lab down` can put them back; the host-wide lock
// that keeps concurrent lab commands from undoing each other; the host's routes a pod CIDR must avoid.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, MissingProgramError } from '../dataplane/index.js';
import { cidrContains, parseCIDR, type CIDR } from '../model/index.js';
import { isRunning, processRecord, type ProcessRecord } from './process.js';

/** A missing prerequisite: one line saying what to install; the CLI exits 2. */
export class LabPrerequisiteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabPrerequisiteError';
  }
}

const PROGRAMS: readonly { argv: string[]; name: string; install: string }[] = [
  { argv: ['ip', '-V'], name: 'ip', install: "install Debian's iproute2 package (apt-get install iproute2)" },
  { argv: ['nft', '--version'], name: 'nft', install: "install Debian's nftables package (apt-get install nftables)" },
  { argv: ['conntrack', '--version'], name: 'conntrack', install: "install Debian's conntrack package (apt-get install conntrack)" },
  { argv: ['python3', '--version'], name: 'python3', install: "install Debian's python3 package (apt-get install python3)" },
];

export async function checkPrerequisites(): Promise<void> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabPrerequisiteError('the lab needs root (it creates network namespaces, links and nftables tables): run it as root');
  }
  for (const p of PROGRAMS) {
    try {
      await exec(p.argv, { timeoutMs: 10_000, check: false });
    } catch (err) {
      if (err instanceof MissingProgramError) throw new LabPrerequisiteError(`${p.name} not found: ${p.install}`);
      throw err;
    }
  }
}

const sysctlPath = (key: string): string => `/proc/sys/${key.replace(/\./g, '/')}`;

export function readSysctl(key: string): string | undefined {
  try {
    return readFileSync(sysctlPath(key), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function writeSysctl(key: string, value: string): void {
  writeFileSync(sysctlPath(key), `${value}\n`);
}

/**
 * Pod traffic is routed through the host, so it must forward; and it must not send ICMP
 * redirects, or pods would learn to talk to each other directly, around the host's rules.
 */
export const LAB_SYSCTLS: readonly (readonly [string, string])[] = [
  ['net.ipv4.ip_forward', '1'],
  ['net.ipv4.conf.all.send_redirects', '0'],
  // With br_netfilter on, a Service connection DNATed to a pod on the same bridge is switched at
  // layer 2 instead of routed (bridged DNAT), and the bridge's isolated ports drop it. The lab routes
  // every packet, so bridged frames need no trip through the IP hooks (set only where the module is loaded).
  ['net.bridge.bridge-nf-call-iptables', '0'],
  ['net.bridge.bridge-nf-call-ip6tables', '0'],
];

export const LAB_SYSCTLS_IPV6: readonly (readonly [string, string])[] = [['net.ipv6.conf.all.forwarding', '1']];

/** Sets the values and returns what they were, for restoreSysctls. */
export function applySysctls(settings: readonly (readonly [string, string])[]): Record<string, string> {
  const previous: Record<string, string> = {};
  for (const [key, value] of settings) {
    const old = readSysctl(key);
    if (old === undefined) continue;
    previous[key] = old;
    if (old !== value) writeSysctl(key, value);
  }
  return previous;
}

export function restoreSysctls(previous: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(previous)) {
    try {
      writeSysctl(key, value);
    } catch {
      // A setting that cannot be restored is not worth failing a clean-up for.
    }
  }
}

/** Per bridge: no ICMP redirects from the pods' gateway either (`all` alone does not cover an interface made later). */
export function bridgeSysctls(bridge: string): readonly (readonly [string, string])[] {
  return [[`net.ipv4.conf.${bridge}.send_redirects`, '0']];
}

/**
 * One lab command at a time may change what every lab shares (host settings, the set of lab
 * bridges): `lab up` records settings and makes its bridge, `lab down` removes its bridge and,
 * when it is the last, restores the settings; without the lock, one could undo the other.
 * The lock is a file holding its owner's pid and start time; one whose owner is gone is taken over.
 */
export async function withHostLock<T>(runDir: string, fn: () => Promise<T>, waitMs = 60_000): Promise<T> {
  const file = join(runDir, 'host.lock');
  mkdirSync(runDir, { recursive: true });
  const me = processRecord(process.pid)!;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner: ProcessRecord | undefined;
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
      owner = JSON.parse(text) as ProcessRecord;
    } catch {
      // Being written or removed right now: look again.
    }
    if (owner && !isRunning(owner) && readFileSync(file, 'utf8') === text) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another lab command (pid ${owner?.pid ?? '?'}) holds ${file}; try again when it is done`);
    await new Promise((r) => setTimeout(r, 20));
  }
  try {
    return await fn();
  } finally {
    try {
      if (readFileSync(file, 'utf8') === JSON.stringify(me)) rmSync(file, { force: true });
    } catch {
      // already gone
    }
  }
}

/** Host routes (any table) that overlap `cidr`, described for an error message; the default route is not one. */
export async function overlappingRoutes(cidr: CIDR): Promise<string[]> {
  const out: string[] = [];
  for (const family of ['-4', '-6'] as const) {
    if ((family === '-4') !== (cidr.family === 4)) continue;
    const r = await exec(['ip', '-j', family, 'route', 'show', 'table', 'all'], { check: false, timeoutMs: 10_000 });
    let routes: { dst?: string; dev?: string; table?: string; type?: string }[] = [];
    try {
      routes = JSON.parse(r.stdout || '[]') as typeof routes;
    } catch {
      continue;
    }
    for (const route of routes) {
      if (!route.dst || route.dst === 'default' || route.type === 'multicast') continue;
      const parsed = parseCIDR(route.dst.includes('/') ? route.dst : `${route.dst}/${cidr.family === 4 ? 32 : 128}`).cidr;
      if (!parsed || parsed.family !== cidr.family) continue;
      const overlaps = cidrContains(parsed, { family: cidr.family, value: cidr.network }) || cidrContains(cidr, { family: parsed.family, value: parsed.network });
      if (overlaps) out.push(`${route.type && route.type !== 'unicast' ? `${route.type} ` : ''}${route.dst}${route.dev ? ` dev ${route.dev}` : ''}${route.table && route.table !== 'main' ? ` table ${route.table}` : ''}`);
    }
  }
  return [...new Set(out)];
}
