// `podwall fix`: the smallest policy change that allows one denied connection and nothing else, as
// YAML ready for `kubectl apply -f -`, RFC 6902 JSON patches, or JSON. Exit 0 when a fix exists (or
// nothing needs one), 1 when no change allows only that connection (the narrowest is printed), 2 bad input.
import { readFileSync } from 'node:fs';
import jsonpatch from 'fast-json-patch';
import { stringify } from 'yaml';
import { fixConnection, formatAdminRuleRef, formatRuleRef, type AskedFlow, type DirectionVerdict, type FixAnswer, type FlowGroup, type PolicyChange } from '../engine/index.js';
import { parseManifests, STDIN, type Cluster, type Manifest } from '../model/index.js';
import { loadAnalysisInput, parseFormat, parsePort, parseProtocol, wantsLiveCluster, type AnalysisInputOptions } from './input.js';
import { UsageError, type Output } from './output.js';

export interface FixOptions extends AnalysisInputOptions {
  readonly from?: string;
  readonly to?: string;
  readonly port?: string;
  readonly protocol?: string;
  readonly output?: string;
}

/** Fields the apiserver sets: an object carrying them is refused or conflicts when applied. */
const SERVER_METADATA: readonly string[] = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink'];

/**
 * The whole policy after the fix, as its author wrote it where the file can be read again (labels,
 * annotations and field order kept), with the fix's patch applied; else (stdin, a running cluster)
 * the canonical form.
 */
function wholeObjects(cluster: Cluster, changes: readonly PolicyChange[], defaultNamespace: string, fromFiles: boolean): Map<PolicyChange, Manifest> {
  const files = new Map<string, Manifest[]>();
  const objectsIn = (file: string): Manifest[] => {
    let list = files.get(file);
    if (!list) {
      list = [];
      try {
        list = parseManifests(readFileSync(file, 'utf8'), file).objects.map((o) => o.value);
      } catch {
        // Gone or unreadable since it was loaded: the canonical form will do.
      }
      files.set(file, list);
    }
    return list;
  };
  const out = new Map<PolicyChange, Manifest>();
  for (const change of changes) {
    out.set(change, change.manifest);
    if (change.created || !fromFiles) continue;
    const file = cluster.policies.find((p) => p.namespace === change.policy.namespace && p.name === change.policy.name)?.source?.file;
    if (!file || file === STDIN) continue;
    const raw = objectsIn(file).find((o) => {
      const meta = (o.metadata ?? {}) as Manifest;
      const ns = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : defaultNamespace;
      return o.kind === 'NetworkPolicy' && meta.name === change.policy.name && ns === change.policy.namespace;
    });
    if (!raw) continue;
    try {
      const patched = jsonpatch.applyPatch(structuredClone(raw), jsonpatch.deepClone(change.patch) as jsonpatch.Operation[], true, false).newDocument as Manifest;
      const metadata: Manifest = { ...((patched.metadata ?? {}) as Manifest), namespace: change.policy.namespace };
      for (const field of SERVER_METADATA) delete metadata[field];
      const { status: _status, ...rest } = patched;
      out.set(change, { ...rest, metadata });
    } catch {
      // The file's shape does not take the patch (edited since?): the canonical form is still right.
    }
  }
  return out;
}

function groupPeer(p: FlowGroup['from']): string {
  if (p.kind === 'outside') return p.text;
  return p.endpoints.length === 1 && p.endpoints[0] === p.group ? p.group : `${p.group} (${p.endpoints.join(', ')})`;
}

function groupLine(g: FlowGroup): string {
  const port = `${g.port}${g.endPort !== undefined && g.endPort !== g.port ? `-${g.endPort}` : ''}/${g.protocol}${g.portName ? ` (${g.portName})` : ''}`;
  return `${groupPeer(g.from)} -> ${groupPeer(g.to)} ${port}`;
}

function groupJSON(g: FlowGroup): object {
  const peer = (p: FlowGroup['from']): object => (p.kind === 'outside' ? { outside: p.addresses } : { group: p.group, endpoints: p.endpoints });
  return { from: peer(g.from), to: peer(g.to), port: g.port, ...(g.endPort !== undefined ? { endPort: g.endPort } : {}), protocol: g.protocol, ...(g.portName ? { portName: g.portName } : {}), flows: g.flows };
}

function endName(p: AskedFlow['source']): string {
  return p.kind === 'external' ? `${p.ip} (outside the cluster)` : p.endpoint.id;
}

function sideLine(v: DirectionVerdict, who: string): string {
  const dir = v.direction === 'Egress' ? 'egress' : 'ingress';
  const head = `${dir} ${v.direction === 'Egress' ? 'from' : 'to'} ${who}`;
  if (v.notSubject) return `${head}: not subject to NetworkPolicy`;
  const passed = v.passedBy.length > 0 ? `passed on by ${v.passedBy.map(formatAdminRuleRef).join(', then ')}; ` : '';
  if (v.decidedBy) return `${head}: ${passed}${formatAdminRuleRef(v.decidedBy)}, ${v.allowed ? 'allowed' : 'denied'}`;
  if (!v.isolated) return `${head}: ${passed}not isolated, allowed`;
  const by = v.isolatingPolicies.map((r) => `${r.namespace}/${r.name}`).join(', ');
  return v.allowed ? `${head}: ${passed}allowed by ${v.allowedBy.map(formatRuleRef).join(', ')}` : `${head}: ${passed}isolated by ${by}; no ${dir} rule allows it`;
}

function flowLines(f: AskedFlow): string[] {
  const head = `${endName(f.source)} -> ${endName(f.destination)} on ${f.port}/${f.protocol}${f.portName ? ` (targetPort "${f.portName}")` : ''}: ${f.before.allowed ? 'ALLOWED' : 'DENIED'}`;
  if (f.before.allowed) return [head];
  return [head, ...[sideLine(f.before.egress, endName(f.source)), sideLine(f.before.ingress, endName(f.destination))].map((l) => `  ${l}`)];
}

/** The answer in words: what was denied and why, the changes, and what the diff of the change shows. */
function explanation(a: FixAnswer): string[] {
  const lines = [`podwall fix: ${a.from} -> ${a.to} on ${a.port}/${a.protocol}`];
  if (a.status === 'allowed' || a.status === 'impossible') {
    lines.push(...a.reasons);
    if (a.status === 'impossible') lines.push('no NetworkPolicy change can allow it');
    return lines;
  }
  lines.push('before:', ...a.flows.flatMap(flowLines).map((l) => `  ${l}`));
  lines.push('changes:');
  for (const c of a.changes) {
    lines.push(`  ${c.created ? 'new policy' : 'append to'} ${c.policy.namespace}/${c.policy.name}:`);
    for (const r of c.rules) lines.push(`    ${r.text}`);
  }
  if (a.status === 'fixed') {
    lines.push(...a.reasons);
    if (a.opened.length > 0) lines.push('verified: applying this allows the connection, closes nothing, and opens exactly:', ...a.opened.map((g) => `  ${groupLine(g)}`));
    else lines.push('verified: applying this allows the connection, closes nothing, and opens no flow to a declared port (the destination declares none for it: nothing would listen there)');
  } else {
    lines.push(...a.reasons.map((r) => `NOT EXACT: ${r}`));
    lines.push('this change opens the asked flow:', ...a.opened.map((g) => `  ${groupLine(g)}`));
    if (a.extra.length > 0) lines.push('and also:', ...a.extra.map((g) => `  ${groupLine(g)}`));
    const closed = a.diff?.closed ?? [];
    if (closed.length > 0) lines.push('and closes:', ...closed.map((g) => `  ${groupLine(g)}`));
  }
  for (const n of a.notes) lines.push(`note [${n.code}]: ${n.message}`);
  return lines;
}

function answerJSON(a: FixAnswer, objects: ReadonlyMap<PolicyChange, Manifest>): object {
  return {
    from: a.from,
    to: a.to,
    port: a.port,
    protocol: a.protocol,
    status: a.status,
    exact: a.status === 'fixed' || a.status === 'allowed',
    connections: a.flows.map((f) => ({
      from: f.source.kind === 'external' ? f.source.ip : f.source.endpoint.id,
      to: f.destination.kind === 'external' ? f.destination.ip : f.destination.endpoint.id,
      port: f.port,
      protocol: f.protocol,
      ...(f.portName ? { portName: f.portName } : {}),
      allowedBefore: f.before.allowed,
      blocked: [...(f.before.egress.allowed ? [] : ['egress']), ...(f.before.ingress.allowed ? [] : ['ingress'])],
      deniedBy: [f.before.egress, f.before.ingress].filter((v) => !v.allowed).map((v) => ({ direction: v.direction, tier: v.tier, rule: v.decidedBy ? formatAdminRuleRef(v.decidedBy) : null })),
    })),
    changes: a.changes.map((c) => ({
      policy: `${c.policy.namespace}/${c.policy.name}`,
      created: c.created,
      rules: c.rules.map((r) => ({ direction: r.rule.direction, index: r.rule.index, rule: r.manifest, text: r.text })),
      patch: c.patch,
      object: objects.get(c),
    })),
    opened: a.opened.map(groupJSON),
    extra: a.extra.map(groupJSON),
    closed: (a.diff?.closed ?? []).map(groupJSON),
    reasons: a.reasons,
    notes: a.notes.map((n) => ({ code: n.code, message: n.message })),
  };
}

function patchJSON(a: FixAnswer, objects: ReadonlyMap<PolicyChange, Manifest>): object {
  return {
    exact: a.status === 'fixed' || a.status === 'allowed',
    patches: a.changes
      .filter((c) => !c.created)
      .map((c) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: c.policy.namespace, name: c.policy.name, patch: c.patch })),
    create: a.changes.filter((c) => c.created).map((c) => objects.get(c)),
  };
}

export async function runFix(options: FixOptions, io: Output): Promise<number> {
  const format = parseFormat(options.output, ['yaml', 'patch', 'json'] as const);
  if (!options.from || !options.to) throw new UsageError('fix needs --from and --to (ns/name, ns/kind/name, ns/service/name or an IP address)');
  const port = parsePort(options.port);
  if (port === undefined) throw new UsageError('fix needs --port');
  const protocol = parseProtocol(options.protocol) ?? 'TCP';
  const { cluster, compiled } = await loadAnalysisInput(options, io);

  const answer = fixConnection(compiled, { from: options.from, to: options.to, port, protocol, namespace: options.namespace });
  if ('error' in answer) throw new UsageError(answer.error);
  const objects = wholeObjects(cluster, answer.changes, options.namespace, !wantsLiveCluster(options));
  const code = answer.status === 'fixed' || answer.status === 'allowed' ? 0 : 1;

  if (format === 'json') io.out(JSON.stringify(answerJSON(answer, objects), null, 2));
  else if (format === 'patch') {
    io.out(JSON.stringify(patchJSON(answer, objects), null, 2));
    if (code !== 0) io.err(explanation(answer).join('\n'));
  } else {
    // Comments first (kubectl ignores them), then the whole objects, one document each.
    const comments = explanation(answer).map((l) => `# ${l}`);
    if (answer.changes.length > 0) comments.push('# apply with: kubectl apply -f -');
    const documents = answer.changes.map((c) => stringify(objects.get(c), { lineWidth: 0 }).trimEnd());
    io.out([...comments, ...documents.flatMap((d) => ['---', d])].join('\n'));
  }
  return code;
}
