// What the lab needs from the host, checked before anything is made, and the few host settings
// it changes (forwarding, redirects), recorded so `lab down` can put them back.
import { readFileSync, writeFileSync } from 'node:fs';
import { exec, MissingProgramError } from '../dataplane/index.js';

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
