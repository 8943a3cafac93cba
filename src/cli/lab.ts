// `podwall lab ...`: bring up, change, inspect, probe and remove a lab on this machine.
import { dnsAddress, Lab, LabChangeInterrupted, TOPOLOGIES, type ChangeReport, type ProbeReport, type ServiceProbeReport, type StoredKind, type TopologyKind } from '../lab/index.js';
import { clusterFromObjects, formatLabelSelector } from '../model/index.js';
import { loadInput, parseFormat, parsePort, parseProtocol, type InputOptions } from './input.js';
import { paint, UsageError, type Output } from './output.js';

export interface LabCommonOptions {
  readonly name: string;
  readonly stateDir?: string;
}

export function renderProbeText(r: ProbeReport, color: boolean): string {
  const p = paint(color);
  const n = r.pods.length;
  const width = String(n).length;
  const names = r.pods.map((id, i) => `${String(i + 1).padStart(width)} ${id}`);
  const nameWidth = Math.max(...names.map((s) => s.length), 9);
  // Only destinations that were probed (that listen on the port) get a column, unless none was.
  const probedColumns = r.pods.map((_, j) => j).filter((j) => r.allowed.some((row) => row[j] !== null));
  const columns = probedColumns.length > 0 ? probedColumns : r.pods.map((_, j) => j);
  const unsure = new Set(r.inconclusive.map((c) => `${c.from} ${c.to}`));
  const cell = (i: number, j: number): string => {
    const got = r.allowed[i][j];
    if (got === null) return unsure.has(`${r.pods[i]} ${r.pods[j]}`) ? p.bad('~') : p.dim('-');
    if (got !== r.predicted[i][j]) return p.bad(got ? '!' : '?');
    return got ? p.ok('✓') : p.dim('·');
  };
  const lines = [
    `${p.bold(`${r.port}/${r.protocol}`)}  probed: ✓ connected, · refused, - not probed; ! connected but predicted denied, ? refused but predicted allowed${r.inconclusive.length > 0 ? ', ~ no answer either way (see below)' : ''}`,
    `${'from \\ to'.padEnd(nameWidth)}  ${columns.map((j) => String(j + 1).padStart(width)).join(' ')}`,
  ];
  for (let i = 0; i < n; i++) lines.push(`${names[i].padEnd(nameWidth)}  ${columns.map((j) => ' '.repeat(width - 1) + cell(i, j)).join(' ')}`);
  const probed = r.allowed.flat().filter((c) => c !== null).length;
  const verdict = r.differences.length === 0 ? p.ok(`kernel = engine on all ${probed} probed cells`) : p.bad(`${r.differences.length} of ${probed} probed cells differ from the engine`);
  lines.push(verdict);
  if (r.inconclusive.length > 0) {
    lines.push(p.bad(`${r.inconclusive.length} cell${r.inconclusive.length === 1 ? '' : 's'} could not be probed (not a verdict either way):`));
    for (const c of r.inconclusive.slice(0, 20)) lines.push(`  ${c.from} -> ${c.to}: ${c.reason}`);
    if (r.inconclusive.length > 20) lines.push(`  ... and ${r.inconclusive.length - 20} more`);
  }
  const at = (id: string): number => r.pods.indexOf(id);
  for (const d of r.differences) {
    lines.push(`  ${d.from} -> ${d.to}: kernel ${r.allowed[at(d.from)][at(d.to)] ? 'connected' : 'refused'}, engine predicted ${r.predicted[at(d.from)][at(d.to)] ? 'allowed' : 'denied'}`);
  }
  if (r.notProbed.length > 0) lines.push(p.dim(`  not probed: ${r.notProbed.join('; ')}`));
  return lines.join('\n');
}

function renderChange(r: ChangeReport): string {
  const parts: string[] = [];
  for (const c of r.created) parts.push(`${c} created`);
  for (const c of r.updated) parts.push(`${c} configured`);
  for (const c of r.deleted) parts.push(`${c} deleted`);
  if (parts.length === 0) parts.push('nothing changed');
  const s = r.stats;
  parts.push(
    `ruleset ${r.rulesetApplied ? 'applied' : 'unchanged'}: ${s.chains} chains, ${s.rules} rules, ${s.sets} sets with ${s.setElements} elements, ${s.counters} drop counters` +
      (r.connectionsCut > 0 ? `; ${r.connectionsCut} connection${r.connectionsCut === 1 ? '' : 's'} no longer allowed cut` : ''),
  );
  return parts.join('\n');
}

function probeOutput(reports: readonly ProbeReport[], format: 'text' | 'json', single: boolean, io: Output): number {
  if (format === 'json') {
    const json = reports.map((r) => ({ port: r.port, protocol: r.protocol, pods: r.pods, allowed: r.allowed, predicted: r.predicted, differences: r.differences, inconclusive: r.inconclusive }));
    io.out(JSON.stringify(single ? json[0] : json));
  } else if (reports.length === 0) {
    io.out('no pod declares a container port: nothing to probe (choose one with --port)');
  } else {
    io.out(reports.map((r) => renderProbeText(r, io.color)).join('\n\n'));
  }
  // A difference is a verdict (1); cells nothing could decide are a failure of the lab (3), never a verdict.
  if (reports.some((r) => r.differences.length > 0)) return 1;
  if (reports.some((r) => r.inconclusive.length > 0)) {
    io.err(`error: some cells could not be probed (nothing listening, or no answer after retries): the lab is not serving every pod; see ${'`podwall lab get pods`'}`);
    return 3;
  }
  return 0;
}

export async function runLabUp(
  options: InputOptions & LabCommonOptions & { podCidr?: string; serviceCidr?: string; log?: boolean; apiPort?: string; nodes?: string; topology?: string; output?: string },
  io: Output,
): Promise<number> {
  const format = parseFormat(options.output, ['text', 'json'] as const);
  const apiPort = options.apiPort === undefined ? undefined : Number(options.apiPort);
  if (apiPort !== undefined && !(Number.isInteger(apiPort) && apiPort >= 0 && apiPort <= 65535)) throw new UsageError(`--api-port: "${options.apiPort}" is not a port`);
  if (options.nodes !== undefined && !/^\d{1,3}$/.test(options.nodes)) throw new UsageError(`--nodes: "${options.nodes}" is not a number of nodes`);
  if (options.topology !== undefined && !(TOPOLOGIES as readonly string[]).includes(options.topology)) throw new UsageError(`--topology: "${options.topology}" is not one of ${TOPOLOGIES.join(', ')}`);
  const cluster = loadInput(options, io).cluster;
  const { lab, report, resumed } = await Lab.up(cluster, {
    ...(options.nodes !== undefined ? { nodes: Number(options.nodes) } : {}),
    ...(options.topology !== undefined ? { topology: options.topology as TopologyKind } : {}),
    name: options.name,
    stateRoot: options.stateDir,
    podCIDR: options.podCidr,
    serviceCIDR: options.serviceCidr,
    log: options.log,
    apiPort,
  });
  try {
    if (format === 'text') {
      const pods = lab.store.podNetworks();
      if (resumed) io.out(`lab "${lab.settings.name}" was not running: resumed from its store (its pods keep their addresses), then the input applied`);
      const topology = lab.settings.topology;
      if (topology) {
        io.out(`lab "${lab.settings.name}" is up: ${topology.nodes.length} node${topology.nodes.length === 1 ? '' : 's'} (${topology.kind}) on the underlay ${topology.underlay.cidr}, pod CIDR ${lab.settings.podCIDR}, state in ${lab.dir}`);
        for (const node of topology.nodes) io.out(`  node ${node.name}  ${node.address}  pods ${node.podCIDR}  netns ${lab.nodeNetns(node.name)}, its agent's table inet podwall`);
      } else {
        io.out(`lab "${lab.settings.name}" is up: bridge ${lab.names.bridge}, pod CIDR ${lab.settings.podCIDR}, table inet ${lab.names.table}, state in ${lab.dir}`);
      }
      if (lab.settings.serviceCIDR) {
        io.out(`Services from ${lab.settings.serviceCIDR} (table inet ${lab.names.servicesTable}), cluster DNS at ${dnsAddress(lab.settings.serviceCIDR)}${lab.settings.outside ? `, a host outside the cluster at ${lab.settings.outside.address} (NodePorts on ${lab.settings.outside.node})` : ''}`);
      }
      io.out(`API server https://127.0.0.1:${lab.daemon()?.apiPort}: export KUBECONFIG=${lab.kubeconfig}`);
      const placed = new Map(lab.store.list('Pod').map((o) => [`${o.namespace}/${o.name}`, String((o.manifest.spec as { nodeName?: string } | undefined)?.nodeName ?? '')]));
      for (const net of pods) io.out(`  pod ${net.namespace}/${net.name}  ${net.ips.join(', ')}  netns ${lab.names.netns(net.slot)}${topology ? `  on ${placed.get(`${net.namespace}/${net.name}`)}` : ''}`);
      io.out(renderChange(report));
      io.out('');
    }
    const code = probeOutput(await lab.probe(), format, false, io);
    // With Services, the seed's flow as users see it: through each Service, and from outside.
    if (format === 'text' && (lab.cluster().services ?? []).some((s) => s.type !== 'ExternalName' && !s.headless)) {
      const services = await lab.probeServices();
      io.out(`\n${renderServiceProbeText(services, io.color)}`);
      if (services.differences.length > 0) return 1;
      if (code === 0 && services.inconclusive.length > 0) return 3;
    }
    return code;
  } finally {
    lab.close();
  }
}

/**
 * Runs a change that Ctrl-C (or SIGTERM) may interrupt: no new request starts, those under way
 * finish, and what was written is said; exit 130 as a shell expects of an interrupted command.
 */
async function interruptible(io: Output, change: (signal: AbortSignal) => Promise<ChangeReport>): Promise<number> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    io.out(renderChange(await change(controller.signal)));
    return 0;
  } catch (err) {
    if (!(err instanceof LabChangeInterrupted) || !controller.signal.aborted) throw err;
    io.err(`error: ${err.message}`);
    return 130;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export async function runLabApply(options: InputOptions & LabCommonOptions, io: Output): Promise<number> {
  const cluster = loadInput(options, io).cluster;
  const lab = Lab.open(options.name, options.stateDir);
  try {
    return await interruptible(io, (signal) => lab.apply(cluster, signal));
  } finally {
    lab.close();
  }
}

export async function runLabDelete(options: InputOptions & LabCommonOptions, io: Output): Promise<number> {
  const cluster = loadInput(options, io).cluster;
  // Namespaces named in the files are deleted with what they hold; implicit ones are not.
  const declared = new Set(cluster.namespaces.filter((n) => n.declared).map((n) => n.name));
  const lab = Lab.open(options.name, options.stateDir);
  try {
    return await interruptible(io, (signal) => lab.delete(cluster, declared, signal));
  } finally {
    lab.close();
  }
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('   ')).join('\n');
}

/** What `lab get` takes: kubectl's names and short names, and `adminpolicies` for the three admin policy kinds together. */
const LAB_GET_KINDS: Record<string, readonly StoredKind[]> = {
  pods: ['Pod'],
  pod: ['Pod'],
  po: ['Pod'],
  policies: ['NetworkPolicy'],
  networkpolicies: ['NetworkPolicy'],
  netpol: ['NetworkPolicy'],
  namespaces: ['Namespace'],
  ns: ['Namespace'],
  adminpolicies: ['AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'ClusterNetworkPolicy'],
  adminnetworkpolicies: ['AdminNetworkPolicy'],
  anp: ['AdminNetworkPolicy'],
  baselineadminnetworkpolicies: ['BaselineAdminNetworkPolicy'],
  banp: ['BaselineAdminNetworkPolicy'],
  clusternetworkpolicies: ['ClusterNetworkPolicy'],
  cnp: ['ClusterNetworkPolicy'],
  nodes: ['Node'],
  node: ['Node'],
  no: ['Node'],
};

export async function runLabGet(what: string | undefined, options: LabCommonOptions & { output?: string }, io: Output): Promise<number> {
  const format = parseFormat(options.output, ['text', 'json'] as const);
  const kinds = Object.hasOwn(LAB_GET_KINDS, what ?? 'pods') ? LAB_GET_KINDS[what ?? 'pods'] : undefined;
  if (!kinds) throw new UsageError(`lab get: "${what}" is not pods, policies, namespaces, nodes or adminpolicies (anp, banp, cnp)`);
  const lab = Lab.open(options.name, options.stateDir);
  try {
    const items = (await Promise.all(kinds.map((k) => lab.list(k)))).flat();
    if (format === 'json') {
      io.out(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2));
      return 0;
    }
    const cluster = clusterFromObjects(items).cluster!;
    let rows: string[][];
    const manyNodes = lab.settings.topology !== undefined;
    if (kinds[0] === 'Pod') {
      rows = [['NAMESPACE', 'NAME', 'IP', ...(manyNodes ? ['NODE'] : []), 'PORTS', 'LABELS']];
      for (const e of cluster.endpoints) {
        const labels = Object.keys(e.labels).sort().map((k) => `${k}=${e.labels[k]}`).join(',');
        rows.push([e.namespace, e.name, e.ips.join(',') || '-', ...(manyNodes ? [e.nodeName ?? '-'] : []), e.ports.map((p) => `${p.containerPort}/${p.protocol}`).join(',') || '-', labels || '-']);
      }
    } else if (kinds[0] === 'Node') {
      rows = [['NAME', 'STATUS', 'INTERNAL-IP', 'POD-CIDR', 'PODS', 'AGENT']];
      const pods = lab.store.list('Pod').map((o) => (o.manifest.spec as { nodeName?: string } | undefined)?.nodeName);
      for (const n of items) {
        const name = String((n.metadata as { name?: string }).name);
        const status = (n.status ?? {}) as { addresses?: { type: string; address: string }[]; conditions?: { type: string; status: string }[] };
        const ready = status.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady';
        const cidr = String((n.spec as { podCIDR?: string } | undefined)?.podCIDR ?? lab.settings.podCIDR);
        rows.push([name, ready, status.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '-', cidr, String(pods.filter((p) => p === name).length), lab.agentRunning(name) ? 'running' : 'not running']);
      }
    } else if (kinds[0] === 'NetworkPolicy') {
      rows = [['NAMESPACE', 'NAME', 'POD-SELECTOR', 'POLICY-TYPES']];
      for (const p of cluster.policies) rows.push([p.namespace, p.name, formatLabelSelector(p.spec.podSelector) || '<all pods>', p.spec.policyTypes.join(',')]);
    } else if (kinds[0] === 'Namespace') {
      rows = [['NAME', 'LABELS']];
      for (const n of cluster.namespaces.filter((n) => n.declared)) rows.push([n.name, Object.keys(n.labels).sort().map((k) => `${k}=${n.labels[k]}`).join(',')]);
    } else {
      rows = [['KIND', 'NAME', 'TIER', 'PRIORITY', 'INGRESS', 'EGRESS']];
      for (const p of cluster.adminPolicies ?? []) rows.push([p.kind, p.name, p.tier, p.priority === undefined ? '-' : String(p.priority), String(p.ingress.length), String(p.egress.length)]);
    }
    io.out(rows.length === 1 ? `no ${what ?? 'pods'} in lab "${lab.settings.name}"` : table(rows));
    return 0;
  } finally {
    lab.close();
  }
}

export function runLabKubeconfig(options: LabCommonOptions, io: Output): number {
  const lab = Lab.open(options.name, options.stateDir);
  try {
    io.out(lab.kubeconfig);
    return 0;
  } finally {
    lab.close();
  }
}

/** Service ports as columns, sources as rows, with the same marks as the pod grids. */
export function renderServiceProbeText(r: ServiceProbeReport, color: boolean): string {
  const p = paint(color);
  const width = String(r.columns.length).length;
  const nameWidth = Math.max(9, ...r.sources.map((s) => s.length));
  const unsure = new Set(r.inconclusive.map((c) => `${c.from} ${c.to}`));
  const cell = (i: number, j: number): string => {
    const got = r.allowed[i][j];
    if (got === null) return unsure.has(`${r.sources[i]} ${r.columns[j].id}`) ? p.bad('~') : p.dim('-');
    if (got !== r.predicted[i][j]) return p.bad(got ? '!' : '?');
    return got ? p.ok('✓') : p.dim('·');
  };
  const lines = [
    `${p.bold('Services')}  probed through each Service's address (from outside: a node address and the node port): ✓ connected, · refused, - not probed; ! connected but predicted denied, ? refused but predicted allowed`,
    ...r.columns.map((c, j) => `  ${String(j + 1).padStart(width)} ${c.id}${c.nodePort !== undefined ? ` (node port ${c.nodePort})` : ''}`),
    `${'from \\ to'.padEnd(nameWidth)}  ${r.columns.map((_, j) => String(j + 1).padStart(width)).join(' ')}`,
    ...r.sources.map((s, i) => `${s.padEnd(nameWidth)}  ${r.columns.map((_, j) => ' '.repeat(width - 1) + cell(i, j)).join(' ')}`),
  ];
  const probed = r.allowed.flat().filter((c) => c !== null).length;
  lines.push(r.differences.length === 0 ? p.ok(`kernel = engine on all ${probed} probed cells`) : p.bad(`${r.differences.length} of ${probed} probed cells differ from the engine`));
  for (const d of r.differences) lines.push(`  ${d.from} -> ${d.to}`);
  if (r.inconclusive.length > 0) {
    lines.push(p.bad(`${r.inconclusive.length} cell${r.inconclusive.length === 1 ? '' : 's'} could not be probed (not a verdict either way):`));
    for (const c of r.inconclusive.slice(0, 20)) lines.push(`  ${c.from} -> ${c.to}: ${c.reason}`);
  }
  if (r.notProbed.length > 0) lines.push(p.dim(`  not probed: ${r.notProbed.join('; ')}`));
  return lines.join('\n');
}

export async function runLabProbe(
  options: LabCommonOptions & { port?: string; protocol?: string; output?: string; timeout?: string; services?: boolean },
  io: Output,
): Promise<number> {
  const format = parseFormat(options.output, ['text', 'json'] as const);
  const port = parsePort(options.port);
  const protocol = parseProtocol(options.protocol);
  const timeout = options.timeout === undefined ? 1 : Number(options.timeout);
  if (!(timeout > 0 && timeout <= 30)) throw new UsageError(`--timeout: "${options.timeout}" is not a number of seconds (0-30]`);
  if (options.services && (port !== undefined || protocol !== undefined)) throw new UsageError('--services probes every Service port: give no --port or --protocol with it');
  const lab = Lab.open(options.name, options.stateDir);
  try {
    if (options.services) {
      const r = await lab.probeServices(timeout);
      io.out(format === 'json' ? JSON.stringify(r) : r.columns.length === 0 ? 'no Service with a cluster address: nothing to probe' : renderServiceProbeText(r, io.color));
      if (r.differences.length > 0) return 1;
      if (r.inconclusive.length > 0) {
        io.err('error: some cells could not be probed (nothing listening, or no answer after retries): not a verdict either way');
        return 3;
      }
      return 0;
    }
    const ports = port !== undefined ? [{ port, protocol: protocol ?? 'TCP' }] : undefined;
    let reports = await lab.probe(ports, timeout);
    if (port === undefined && protocol) reports = reports.filter((r) => r.protocol === protocol);
    return probeOutput(reports, format, port !== undefined, io);
  } finally {
    lab.close();
  }
}

export async function runLabCounters(options: LabCommonOptions & { output?: string }, io: Output): Promise<number> {
  const format = parseFormat(options.output, ['text', 'json'] as const);
  const lab = Lab.open(options.name, options.stateDir);
  try {
    const counters = [...(await lab.counters()).entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    const rows = counters.map(([name, v]) => {
      const [dir, ...rest] = name.split('/');
      return { pod: rest.join('/'), direction: dir === 'in' ? 'ingress' : 'egress', packets: v.packets, bytes: v.bytes };
    });
    if (format === 'json') io.out(JSON.stringify(rows, null, 2));
    else if (rows.length === 0) io.out('no pod is isolated, so nothing can be denied');
    else io.out(table([['POD', 'DIRECTION', 'DENIED PACKETS', 'BYTES'], ...rows.map((r) => [r.pod, r.direction, String(r.packets), String(r.bytes)])]));
    return 0;
  } finally {
    lab.close();
  }
}

export async function runLabExec(pod: string, argv: readonly string[], options: LabCommonOptions): Promise<number> {
  if (argv.length === 0) throw new UsageError('lab exec POD -- COMMAND [ARGS...]: no command given');
  const lab = Lab.open(options.name, options.stateDir);
  try {
    return await lab.execInPod(pod, argv);
  } finally {
    lab.close();
  }
}

export async function runLabNodeDelete(node: string, options: LabCommonOptions, io: Output): Promise<number> {
  const lab = Lab.open(options.name, options.stateDir);
  try {
    const { pods } = await lab.deleteNode(node);
    io.out(`node ${node} deleted${pods.length > 0 ? `, and its pods with it: ${pods.join(', ')}` : ' (it had no pods)'}`);
    return 0;
  } finally {
    lab.close();
  }
}

export async function runLabDown(options: LabCommonOptions, io: Output): Promise<number> {
  const { removed } = await Lab.down(options.name, options.stateDir);
  io.out(removed ? `lab "${options.name}" is down: its namespaces, links, table and processes are gone` : `no lab "${options.name}" was up; nothing to remove`);
  return 0;
}
