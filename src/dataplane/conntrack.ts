// Existing connections: the ruleset only judges new connections, so after a change the
// conntrack entries of connections the new state no longer allows are deleted. Their next packet
// is then judged as new, and rejected. Anchors disagree here (Calico keeps such connections open,
// Cilium cuts them); Podwall cuts them as soon as the change is applied.
import { evaluateConnection, resolvePeer, type CompiledCluster } from '../engine/index.js';
import { parseIP, type Protocol } from '../model/index.js';
import { exec } from './exec.js';

export interface ConntrackEntry {
  readonly protocol: Protocol;
  readonly source: string;
  readonly destination: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
}

const PROTOCOLS: Record<string, Protocol> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

/** Parses `conntrack -L -o extended` lines; the first tuple is the original direction. */
export function parseConntrack(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const protocol = PROTOCOLS[fields[2]];
    if (!protocol) continue;
    const first = (key: string): string | undefined => fields.find((f) => f.startsWith(`${key}=`))?.slice(key.length + 1);
    const source = first('src');
    const destination = first('dst');
    const sourcePort = Number(first('sport'));
    const destinationPort = Number(first('dport'));
    if (!source || !destination || !Number.isInteger(sourcePort) || !Number.isInteger(destinationPort)) continue;
    if (!parseIP(source) || !parseIP(destination)) continue;
    out.push({ protocol, source, destination, sourcePort, destinationPort });
  }
  return out;
}

/**
 * The entries between pods (or a pod and the outside) that the cluster state no longer allows.
 * `ignore` holds addresses whose traffic the ruleset never judges (the node's own).
 */
export function staleConnections(compiled: CompiledCluster, entries: readonly ConntrackEntry[], ignore: ReadonlySet<string> = new Set()): ConntrackEntry[] {
  const podIPs = new Set(compiled.cluster.endpoints.filter((e) => !e.hostNetwork).flatMap((e) => e.ips));
  return entries.filter((e) => {
    if (ignore.has(e.source)) return false;
    if (!podIPs.has(e.source) && !podIPs.has(e.destination)) return false;
    const source = resolvePeer(compiled, e.source);
    const destination = resolvePeer(compiled, e.destination);
    if ('error' in source || 'error' in destination) return false;
    return !evaluateConnection(compiled, { source: source.peer, destination: destination.peer, port: e.destinationPort, protocol: e.protocol }).allowed;
  });
}

export async function listConntrack(): Promise<ConntrackEntry[]> {
  const r = await exec(['conntrack', '-L', '-o', 'extended'], { check: false, timeoutMs: 10_000 });
  return parseConntrack(r.stdout);
}

export async function deleteConntrack(entries: readonly ConntrackEntry[]): Promise<void> {
  for (const e of entries) {
    const family = parseIP(e.source)?.family === 6 ? '-f' : undefined;
    await exec(
      [
        'conntrack',
        '-D',
        ...(family ? [family, 'ipv6'] : []),
        '-p',
        e.protocol.toLowerCase(),
        '--orig-src',
        e.source,
        '--orig-dst',
        e.destination,
        '--sport',
        String(e.sourcePort),
        '--dport',
        String(e.destinationPort),
      ],
      { check: false, timeoutMs: 10_000 },
    );
  }
}
