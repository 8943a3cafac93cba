// Existing connections: the ruleset judges a connection when it starts, so after a change the
// conntrack entries of connections the new state no longer allows are marked revoked (one bit of
// the ct mark); the ruleset rejects every packet of a revoked connection, in both directions, so
// it ends at once, whichever tier (admin, NetworkPolicy, baseline) now denies it. (Deleting the
// entry instead would let the first packet of either direction start a new entry, and a
// reply-direction packet could reopen it.) A revoked flow that a later
// change allows again is unmarked. Anchors disagree here (Calico keeps such connections open,
// Cilium cuts them); Podwall cuts them as soon as the change is applied.
import { evaluateConnection, resolvePeer, type CompiledCluster } from '../engine/index.js';
import { formatIP, parseIP, type Protocol } from '../model/index.js';
import { exec } from './exec.js';

export interface ConntrackEntry {
  readonly protocol: Protocol;
  readonly source: string;
  readonly destination: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
  /**
   * Where the connection really goes: the reply tuple's source. It differs from `destination`
   * when the connection was DNATed (a Service's ClusterIP), and it is what the ruleset saw.
   */
  readonly target: string;
  readonly targetPort: number;
  readonly revoked: boolean;
}

/** The ct mark bit that says "this connection is no longer allowed"; the rest of the mark is left alone. */
export const REVOKED_MARK = 0x00800000;

const PROTOCOLS: Record<string, Protocol> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

/** Parses `conntrack -L -o extended` lines; the first tuple is the original direction. */
export function parseConntrack(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const protocol = PROTOCOLS[fields[2]];
    if (!protocol) continue;
    // Connections that are over (TIME_WAIT, CLOSE) carry no traffic to cut.
    if (protocol === 'TCP' && ['TIME_WAIT', 'CLOSE'].includes(fields[5])) continue;
    const all = (key: string): string[] => fields.filter((f) => f.startsWith(`${key}=`)).map((f) => f.slice(key.length + 1));
    // Addresses are normalised, so they compare with the cluster's whatever way each side wrote them.
    const address = (text: string | undefined): string | undefined => {
      const ip = text === undefined ? undefined : parseIP(text);
      return ip ? formatIP(ip) : undefined;
    };
    const [source, replySource] = all('src').map(address);
    const destination = address(all('dst')[0]);
    const sourcePort = Number(all('sport')[0]);
    const destinationPort = Number(all('dport')[0]);
    const replySourcePort = Number(all('sport')[1] ?? destinationPort);
    if (!source || !destination || !Number.isInteger(sourcePort) || !Number.isInteger(destinationPort)) continue;
    const mark = Number(all('mark')[0] ?? '0');
    out.push({
      protocol,
      source,
      destination,
      sourcePort,
      destinationPort,
      target: replySource ?? destination,
      targetPort: Number.isInteger(replySourcePort) ? replySourcePort : destinationPort,
      revoked: (mark & REVOKED_MARK) !== 0,
    });
  }
  return out;
}

/**
 * Entries between pods (or a pod and the outside) whose standing changed: `revoke` holds those
 * the cluster state no longer allows, `restore` the revoked ones it allows again. `ignore` holds
 * addresses whose traffic the ruleset never judges (the node's own).
 */
export function connectionChanges(
  compiled: CompiledCluster,
  entries: readonly ConntrackEntry[],
  ignore: ReadonlySet<string> = new Set(),
): { revoke: ConntrackEntry[]; restore: ConntrackEntry[] } {
  const normal = (text: string): string => {
    const ip = parseIP(text);
    return ip ? formatIP(ip) : text;
  };
  const podIPs = new Set<string>();
  // An address two live pods claim: the ruleset refuses every new connection from or to it (see
  // compile.ts), so one already open is cut too, not judged as whichever claimant comes first.
  const shared = new Set<string>();
  for (const e of compiled.cluster.endpoints) {
    if (e.hostNetwork) continue;
    for (const ip of new Set(e.ips.map(normal))) {
      if (podIPs.has(ip)) shared.add(ip);
      podIPs.add(ip);
    }
  }
  const ignored = new Set([...ignore].map(normal));
  const revoke: ConntrackEntry[] = [];
  const restore: ConntrackEntry[] = [];
  for (const e of entries) {
    if (ignored.has(e.source)) continue;
    // Judged as the ruleset saw it: to the real destination after any DNAT.
    if (!podIPs.has(e.source) && !podIPs.has(e.target)) continue;
    const source = resolvePeer(compiled, e.source);
    const destination = resolvePeer(compiled, e.target);
    if ('error' in source || 'error' in destination) continue;
    const allowed =
      !shared.has(e.source) &&
      !shared.has(e.target) &&
      // Every tier, as the ruleset judged it; DNATed (through a Service), a pod reaching itself is subject to the admin tiers.
      evaluateConnection(compiled, { source: source.peer, destination: destination.peer, port: e.targetPort, protocol: e.protocol, viaService: e.target !== e.destination }).allowed;
    if (!allowed && !e.revoked) revoke.push(e);
    else if (allowed && e.revoked) restore.push(e);
  }
  return { revoke, restore };
}

export async function listConntrack(): Promise<ConntrackEntry[]> {
  const r = await exec(['conntrack', '-L', '-o', 'extended'], { check: false, timeoutMs: 10_000 });
  return parseConntrack(r.stdout);
}

/**
 * Sets (revoked = true) or clears the revoked bit of each entry's ct mark. Every `conntrack -U`
 * walks the whole table, so entries are updated per flow (protocol, addresses, destination port
 * and the DNAT target: everything a verdict depends on, so one verdict holds for the whole group,
 * whatever the source ports), and all groups go to one `conntrack -R -` process.
 */
export async function markConntrack(entries: readonly ConntrackEntry[], revoked: boolean): Promise<void> {
  if (entries.length === 0) return;
  const mark = `${revoked ? REVOKED_MARK : 0}/${REVOKED_MARK}`;
  const lines = new Set<string>();
  for (const e of entries) {
    const family = parseIP(e.source)?.family === 6 ? ['-f', 'ipv6'] : [];
    lines.add(
      [
        '-U',
        ...family,
        '-p',
        e.protocol.toLowerCase(),
        '--orig-src',
        e.source,
        '--orig-dst',
        e.destination,
        '--dport',
        String(e.destinationPort),
        '--reply-src',
        e.target,
        '--reply-port-src',
        String(e.targetPort),
        '--mark',
        mark,
      ].join(' '),
    );
  }
  const batch = await exec(['conntrack', '-R', '-'], { input: `${[...lines].join('\n')}\n`, check: false, timeoutMs: 60_000 });
  if (batch.code === 0) return;
  // conntrack-tools before 1.4.6 has no -R: one process per flow.
  for (const line of lines) await exec(['conntrack', ...line.split(' ')], { check: false, timeoutMs: 10_000 });
}
