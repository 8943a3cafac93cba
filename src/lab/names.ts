// Names of everything a lab makes: kernel objects all carry the `pw-` prefix and the lab's name,
// so `lab down` can find them again even when the lab's state is lost. Interface names must fit
// the kernel's 15 characters, hence the short lab names.

export const DEFAULT_LAB = 'lab';
const LAB_NAME = /^[a-z][a-z0-9]{0,5}$/;

export function checkLabName(name: string): string | undefined {
  return LAB_NAME.test(name) ? undefined : `lab name "${name}" must be 1-6 lower-case letters or digits, starting with a letter`;
}

export interface LabNames {
  readonly lab: string;
  readonly table: string;
  /** The lab's Services table (its kube-proxy's), beside the policy table. */
  readonly servicesTable: string;
  readonly bridge: string;
  /** Prefix of the lab's network namespaces and host-side veths. */
  readonly prefix: string;
  netns(slot: number): string;
  veth(slot: number): string;
}

export function labNames(lab: string): LabNames {
  const prefix = `pw-${lab}-`;
  return {
    lab,
    // The default lab owns the data plane's own table name; named labs get their own table.
    table: lab === DEFAULT_LAB ? 'podwall' : `podwall-${lab}`,
    servicesTable: lab === DEFAULT_LAB ? 'podwall-services' : `podwall-svc-${lab}`,
    bridge: `${prefix}br`,
    prefix,
    netns: (slot) => `${prefix}${slot}`,
    veth: (slot) => `${prefix}${slot}`,
  };
}

/** Up to 99,999 pods per lab: the slot is the only variable part of an interface name. */
export const MAX_SLOT = 99_999;

const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A short deterministic string in the alphabet Kubernetes uses for generated names. */
export function nameHash(seed: string, length: number): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < seed.length; i++) {
    const c = seed.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 16777619) >>> 0;
    h2 = Math.imul(h2 + c, 2246822519) >>> 0;
  }
  let out = '';
  let x = h1;
  for (let i = 0; i < length; i++) {
    if (i === 5) x = h2;
    out += ALPHABET[x % ALPHABET.length];
    x = Math.floor(x / ALPHABET.length) + ((i + 1) * 2654435761 >>> 0) % 7919;
  }
  return out;
}
