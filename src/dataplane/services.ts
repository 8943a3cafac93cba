// Services as kube-proxy's nftables mode gives them: a table of its own that DNATs a Service's
// address and port (ClusterIP, or any node address for a NodePort) to one of its ready backends,
// chosen at random per connection. Pure: frontends in, one Ruleset out. The policy table judges
// every connection after this DNAT (prerouting runs before forward), by the pod it really reaches;
// a pod reaching itself this way passes the forward hook (its own address as source and
// destination) and is judged with the admin tiers, then masqueraded so its reply returns.
import { parseIP, type Protocol } from '../model/index.js';
import { formatRange } from './ranges.js';
import { quote, type NftChain, type NftVerdictMap, type Ruleset } from './ruleset.js';

export interface ServiceBackend {
  readonly ip: string;
  readonly port: number;
}

/** One Service port as the proxy serves it. */
export interface ServiceFrontend {
  /** `ns/name:port` (the Service port's name or number): chains are commented with it. */
  readonly id: string;
  readonly protocol: Protocol;
  /** The Service's cluster IPs (and any load balancer IPs), each with `port`. */
  readonly addresses: readonly string[];
  readonly port: number;
  /** Reached on every address of the node, when set. */
  readonly nodePort?: number;
  /** Ready backends; none means the connection is refused. */
  readonly backends: readonly ServiceBackend[];
}

export const DEFAULT_SERVICES_TABLE = 'podwall-services';

const canonical = (ip: string): { family: 4 | 6; text: string } | undefined => {
  const parsed = parseIP(ip);
  return parsed ? { family: parsed.family, text: formatRange({ first: parsed.value, last: parsed.value }, parsed.family) } : undefined;
};

/**
 * The Services table. A Service port with no ready backend is answered at once (a TCP reset, an
 * ICMP port unreachable), as kube-proxy does: it is marked in prerouting and refused in the filter
 * hooks (the host must route the Service CIDR somewhere harmless, so the packet gets that far).
 */
export function compileServices(frontends: readonly ServiceFrontend[], options: { table?: string } = {}): Ruleset {
  const table = options.table ?? DEFAULT_SERVICES_TABLE;
  const maps: Record<string, [string, string][]> = { svc4: [], svc6: [], nodeports: [] };
  const chains: NftChain[] = [];
  const sorted = [...frontends].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.protocol < b.protocol ? -1 : 1));
  sorted.forEach((f, n) => {
    const proto = f.protocol.toLowerCase();
    const chain = `svc-${n}`;
    const comment = ` comment ${quote(`${f.id}/${f.protocol}`)}`;
    const byFamily = { 4: [] as { text: string; port: number }[], 6: [] as { text: string; port: number }[] };
    for (const b of f.backends) {
      const ip = canonical(b.ip);
      if (ip) byFamily[ip.family].push({ text: ip.text, port: b.port });
    }
    // One chain per address family: a connection is only ever sent to a backend of its own family.
    const dispatch: string[] = [];
    for (const family of [4, 6] as const) {
      const backends = byFamily[family];
      const sub = `${chain}-v${family}`;
      const rules: string[] = [];
      if (backends.length === 0) {
        // Marked, then refused by the filter chains below (reject is not allowed in a nat chain).
        rules.push(`meta mark set meta mark | ${NO_ENDPOINTS_MARK}${comment}`);
      } else {
        backends.forEach((b, i) => {
          const to = family === 6 ? `[${b.text}]:${b.port}` : `${b.text}:${b.port}`;
          const ip = family === 6 ? 'ip6' : 'ip';
          chains.push({
            name: `${sub}-ep-${i}`,
            // A backend reaching itself through its Service: masqueraded (as kube-proxy does), so its reply goes back through the node.
            rules: [`${ip} saddr ${b.text} meta mark set meta mark | ${HAIRPIN_MARK}`, `meta l4proto ${proto} dnat ${ip} to ${to}`],
          });
        });
        if (backends.length === 1) rules.push(`goto ${sub}-ep-0${comment}`);
        else rules.push(`numgen random mod ${backends.length} vmap { ${backends.map((_, i) => `${i} : goto ${sub}-ep-${i}`).join(', ')} }${comment}`);
      }
      chains.push({ name: sub, rules });
      dispatch.push(`meta nfproto ipv${family} goto ${sub}`);
    }
    chains.push({ name: chain, rules: dispatch });
    for (const address of f.addresses) {
      const ip = canonical(address);
      if (ip) maps[`svc${ip.family}`].push([`${ip.text} . ${proto} . ${f.port}`, `goto ${chain}-v${ip.family}`]);
    }
    if (f.nodePort !== undefined) maps.nodeports.push([`${proto} . ${f.nodePort}`, `goto ${chain}`]);
  });
  const lookups = [
    'ip daddr . meta l4proto . th dport vmap @svc4',
    'ip6 daddr . meta l4proto . th dport vmap @svc6',
    // NodePorts answer on every address of the node, as kube-proxy's do by default.
    'fib daddr type local meta l4proto . th dport vmap @nodeports',
  ];
  const refuse = [`meta mark & ${NO_ENDPOINTS_MARK} == ${NO_ENDPOINTS_MARK} meta l4proto tcp reject with tcp reset`, `meta mark & ${NO_ENDPOINTS_MARK} == ${NO_ENDPOINTS_MARK} reject`];
  const verdictMaps: NftVerdictMap[] = [
    { name: 'svc4', type: 'ipv4_addr . inet_proto . inet_service', elements: maps.svc4 },
    { name: 'svc6', type: 'ipv6_addr . inet_proto . inet_service', elements: maps.svc6 },
    { name: 'nodeports', type: 'inet_proto . inet_service', elements: maps.nodeports },
  ];
  return {
    family: 'inet',
    table,
    counters: [],
    sets: [],
    maps: verdictMaps,
    chains: [
      { name: 'prerouting', base: { hook: 'prerouting', priority: 'dstnat', type: 'nat' }, rules: lookups },
      { name: 'output', base: { hook: 'output', priority: '-100', type: 'nat' }, rules: lookups },
      // After the filter hooks: the policy table has judged the pod reaching itself by its own address.
      { name: 'postrouting', base: { hook: 'postrouting', priority: 'srcnat', type: 'nat' }, rules: [`meta mark & ${HAIRPIN_MARK} == ${HAIRPIN_MARK} masquerade`] },
      // Before the policy table's filter chains, so a Service without backends is refused first.
      { name: 'forward', base: { hook: 'forward', priority: 'filter - 10' }, rules: refuse },
      { name: 'input', base: { hook: 'input', priority: 'filter - 10' }, rules: refuse },
      { name: 'local', base: { hook: 'output', priority: 'filter - 10' }, rules: refuse },
      ...chains,
    ],
  };
}

/** The packet mark bit that says "this Service has no ready backend" (prerouting to the filter hooks). */
export const NO_ENDPOINTS_MARK = '0x00400000';

/**
 * The packet mark bit that says "a backend reaching itself through its Service" (prerouting to
 * postrouting): without the masquerade its reply would stay inside the pod, never un-DNATed, and
 * the connection would hang.
 */
export const HAIRPIN_MARK = '0x00200000';
