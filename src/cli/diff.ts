// `podwall diff OLD NEW`: the flows a change opens and closes, with the rules responsible before
// and after. OLD and NEW are files, directories, `git:REF:PATH` (read through `git show`) or the
// running cluster; the engine compares them (diffClusters), this file reads and formats.
import { compileCluster, diffClusters, type CompiledCluster, type FlowDiff, type FlowGroup, type FlowPeer, type SideReason, type VersionVerdict } from '../engine/index.js';
import { exec, MissingProgramError } from '../dataplane/index.js';
import { formatDiagnostic, InvalidInputError, loadTexts } from '../model/index.js';
import { existsSync } from 'node:fs';
import { checkNamespaceFlag, loadAnalysisInput, loadInput, parseFormat } from './input.js';
import type { Output } from './output.js';
import { paint, UsageError, writeChunks } from './output.js';

export interface DiffOptions {
  readonly namespace: string;
  readonly output?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly cluster?: boolean;
}

type Side = 'OLD' | 'NEW';

/** The files git reads as manifests in a directory, as `-f DIR` reads them. */
const MANIFEST_NAME = /\.(ya?ml|json)$/i;

/** A file at a ref larger than this is refused: no manifest is that big, and the whole input is held in memory. */
const GIT_MAX_BYTES = 256 * 1024 * 1024;

/** REF and PATH go to git as arguments: never as options, never with control characters. */
function parseGitSpec(side: Side, spec: string): { ref: string; path: string } {
  const rest = spec.slice('git:'.length);
  const colon = rest.indexOf(':');
  if (colon < 0) throw new UsageError(`${side} "${spec}": expected git:REF:PATH (e.g. git:main:k8s/)`);
  const ref = rest.slice(0, colon);
  const path = rest.slice(colon + 1);
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f]/;
  if (ref === '') throw new UsageError(`${side} "${spec}": the git revision is empty`);
  if (ref.startsWith('-')) throw new UsageError(`${side} "${spec}": a git revision may not start with "-"`);
  if (control.test(ref) || /\s/.test(ref)) throw new UsageError(`${side} "${spec}": the git revision holds whitespace or control characters`);
  if (path.startsWith('-')) throw new UsageError(`${side} "${spec}": a path may not start with "-" (write ./${path})`);
  if (control.test(path)) throw new UsageError(`${side} "${spec}": the path holds control characters`);
  return { ref, path: path.replace(/\/+$/, '') };
}

async function git(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return await exec(['git', ...args], { check: false, timeoutMs: 60_000 });
  } catch (err) {
    if (err instanceof MissingProgramError) throw new UsageError('git is not installed: it is needed to read git:REF:PATH');
    throw err;
  }
}

/** The manifests at `git:REF:PATH`: one file, or every *.yaml|*.yml|*.json under a directory. */
async function readGit(side: Side, spec: string): Promise<{ file: string; text: string }[]> {
  const { ref, path } = parseGitSpec(side, spec);
  const inRepo = await git(['rev-parse', '--git-dir']);
  if (inRepo.code !== 0) throw new UsageError(`${side} "${spec}": not inside a git repository (${inRepo.stderr.trim()})`);
  const commit = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
  if (commit.code !== 0) throw new UsageError(`${side} "${spec}": unknown git revision "${ref}"`);
  const object = `${ref}:${path}`;
  const type = await git(['cat-file', '-t', '--end-of-options', object]);
  if (type.code !== 0) throw new UsageError(`${side} "${spec}": no path "${path}" at ${ref}`);
  const show = async (name: string): Promise<string> => {
    const r = await git(['show', '--no-textconv', '--end-of-options', `${ref}:${name}`]);
    if (r.code !== 0) throw new UsageError(`${side} "${spec}": git show ${ref}:${name} failed: ${r.stderr.trim()}`);
    if (r.stdout.length > GIT_MAX_BYTES) throw new UsageError(`${side} "${spec}": ${name} is larger than ${GIT_MAX_BYTES} bytes`);
    return r.stdout;
  };
  if (type.stdout.trim() === 'blob') return [{ file: `${ref}:${path}`, text: await show(path) }];
  if (type.stdout.trim() !== 'tree') throw new UsageError(`${side} "${spec}": ${path} at ${ref} is a ${type.stdout.trim()}, not a file or directory`);
  const list = await git(['ls-tree', '-r', '-z', '--end-of-options', object]);
  if (list.code !== 0) throw new UsageError(`${side} "${spec}": git ls-tree failed: ${list.stderr.trim()}`);
  const names = list.stdout
    .split('\0')
    .filter((line) => line !== '')
    .flatMap((line) => {
      // `<mode> <type> <object>\t<name>`: blobs only (not symlinks, not submodules).
      const tab = line.indexOf('\t');
      const [mode, kind] = line.slice(0, tab).split(' ');
      const name = line.slice(tab + 1);
      return kind === 'blob' && mode !== '120000' && MANIFEST_NAME.test(name) ? [name] : [];
    })
    .sort();
  const texts: { file: string; text: string }[] = [];
  for (const name of names) {
    const full = path === '' ? name : `${path}/${name}`;
    texts.push({ file: `${ref}:${full}`, text: await show(full) });
  }
  return texts;
}

/** Loads texts as `loadInput` loads files: every diagnostic printed, nothing computed from errors or from nothing. */
function compileTexts(side: Side, spec: string, texts: { file: string; text: string }[], namespace: string, io: Output): CompiledCluster {
  const result = loadTexts(texts, namespace);
  for (const d of result.diagnostics) io.err(`${d.severity}: ${formatDiagnostic(d)}`);
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0 || !result.cluster) {
    io.err(`${errors.length} error${errors.length === 1 ? '' : 's'} in ${side} (${spec}): nothing was computed`);
    throw new InvalidInputError(result.diagnostics);
  }
  const c = result.cluster;
  if (c.endpoints.length + c.policies.length + (c.services?.length ?? 0) + c.namespaces.filter((n) => n.declared).length + result.skipped.size === 0) {
    throw new UsageError(`${side} "${spec}": no objects${texts.length === 0 ? ' (no *.yaml, *.yml or *.json files there)' : ''}`);
  }
  return compileCluster(c);
}

async function readSide(side: Side, spec: string, options: DiffOptions, io: Output): Promise<CompiledCluster> {
  if (spec === 'cluster') {
    const { compiled } = await loadAnalysisInput({ namespace: options.namespace, cluster: true, kubeconfig: options.kubeconfig, context: options.context }, io);
    return compiled;
  }
  if (spec.startsWith('git:')) return compileTexts(side, spec, await readGit(side, spec), options.namespace, io);
  if (spec === '') throw new UsageError(`${side}: empty; give a file, a directory, git:REF:PATH or "cluster"`);
  if (spec !== '-' && !existsSync(spec)) throw new UsageError(`${side} "${spec}": no such file or directory`);
  try {
    return loadInput({ filename: [spec], namespace: options.namespace }, io).compiled;
  } catch (err) {
    if (err instanceof InvalidInputError) io.err(`(in ${side}: ${spec})`);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Words.

export function peerText(p: FlowPeer): string {
  if (p.kind === 'outside') return `outside (${p.text})`;
  return p.endpoints.length === 1 ? p.endpoints[0] : `${p.group} (${p.endpoints.length} pods)`;
}

export function portText(g: FlowGroup): string {
  if (g.endPort !== undefined) return g.port === 1 && g.endPort === 65535 ? `all ${g.protocol} ports` : `${g.port}-${g.endPort}/${g.protocol}`;
  return `${g.port}/${g.protocol}${g.portName ? ` (${g.portName})` : ''}`;
}

function sideText(s: SideReason): string | undefined {
  const name = s.direction === 'Egress' ? 'egress' : 'ingress';
  if (s.notSubject === 'external') return undefined;
  if (s.notSubject === 'hostNetwork') return `${name}: hostNetwork, not subject to NetworkPolicy`;
  // With admin or baseline policies: the rule that decided, and the Pass rules on the way.
  const passed = s.passedBy && s.passedBy.length > 0 ? ` (after ${s.passedBy.join(', ')})` : '';
  if (s.decidedBy) return `${name} by ${s.decidedBy}${passed}`;
  if (s.tier === 'Default') return `${name} not isolated, no admin or baseline rule decides${passed}`;
  if (!s.isolated) return `${name} not isolated`;
  if (s.allowed) return `${name} by ${s.allowedBy.join(', ')}${passed}`;
  return `${name} isolated by ${s.isolatingPolicies.join(', ')}: no rule allows it${passed}`;
}

/** A version's verdict in one line: allowed by which rules, or denied by which isolation. */
export function verdictText(v: VersionVerdict, g: FlowGroup): string {
  const sides = [v.egress, v.ingress];
  if (!v.declared) return `no flow: the destination declares no port ${g.port}/${g.protocol} (nothing listens)`;
  if (v.allowed) return `allowed: ${sides.map(sideText).filter((x) => x !== undefined).join('; ')}`;
  return `denied: ${sides.filter((s) => !s.allowed).map(sideText).join('; ')}`;
}

function flowsText(n: number): string {
  return `${n} flow${n === 1 ? '' : 's'}`;
}

function countFlows(groups: readonly FlowGroup[]): number {
  return groups.reduce((n, g) => n + g.flows, 0);
}

function summaryText(d: FlowDiff): string {
  const parts: string[] = [];
  if (d.opened.length > 0) parts.push(`opens ${flowsText(countFlows(d.opened))}`);
  if (d.closed.length > 0) parts.push(`closes ${flowsText(countFlows(d.closed))}`);
  const endpoints = (gs: FlowDiff['added']): number => gs.reduce((n, g) => n + g.endpoints.length, 0);
  if (d.added.length > 0) parts.push(`adds ${endpoints(d.added)} endpoint${endpoints(d.added) === 1 ? '' : 's'}`);
  if (d.removed.length > 0) parts.push(`removes ${endpoints(d.removed)} endpoint${endpoints(d.removed) === 1 ? '' : 's'}`);
  const policies: string[] = [];
  for (const k of ['added', 'removed', 'changed'] as const) if (d.policies[k].length > 0) policies.push(`${d.policies[k].length} ${k}`);
  const policyText = policies.length > 0 ? `; policies: ${policies.join(', ')}` : '';
  if (parts.length === 0) return `no flow changes on ${d.ports.length} declared port${d.ports.length === 1 ? '' : 's'}${policyText}`;
  return `${parts.join(', ')}${policyText}`;
}

function isolationText(g: FlowDiff['added'][number]): string {
  const one = (d: string, by: readonly string[]): string => (by.length > 0 ? `${d} isolated by ${by.join(', ')}` : `${d} not isolated`);
  return `${one('ingress', g.ingressIsolatedBy)}; ${one('egress', g.egressIsolatedBy)}`;
}

/**
 * What a reader sees as one change: groups alike in all but one end (the same destination, port
 * and reasons from several sources, or the reverse) read as one line with a count; `-o json`
 * keeps every group.
 */
export interface ChangeRow {
  readonly from: readonly string[];
  readonly to: readonly string[];
  readonly port: string;
  readonly flows: number;
  readonly before: string;
  readonly after: string;
}

export function collapse(groups: readonly FlowGroup[]): ChangeRow[] {
  const rows = groups.map((g) => ({ from: [peerText(g.from)], to: [peerText(g.to)], port: portText(g), flows: g.flows, before: verdictText(g.before, g), after: verdictText(g.after, g) }));
  const merge = (list: ChangeRow[], end: 'from' | 'to'): ChangeRow[] => {
    const other = end === 'from' ? 'to' : 'from';
    const byKey = new Map<string, { from: string[]; to: string[]; port: string; flows: number; before: string; after: string }>();
    for (const r of list) {
      const key = JSON.stringify([r[other], r.port, r.before, r.after]);
      const found = byKey.get(key);
      if (found) {
        found[end].push(...r[end]);
        found.flows += r.flows;
      } else byKey.set(key, { ...r, from: [...r.from], to: [...r.to] });
    }
    return [...byKey.values()];
  };
  const bySource = merge(rows, 'from');
  const single = bySource.filter((r) => r.from.length === 1);
  return [...bySource.filter((r) => r.from.length > 1), ...merge(single, 'to')].sort(
    (a, b) => compareText(a.from[0], b.from[0]) || compareText(a.to[0], b.to[0]) || compareText(a.port, b.port),
  );
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Names shown on a line before "and N more". */
const NAMES_SHOWN = 6;

function endText(names: readonly string[], what: string): string {
  return names.length === 1 ? names[0] : `${names.length} ${what}`;
}

function namesText(names: readonly string[]): string {
  return names.length > NAMES_SHOWN ? `${names.slice(0, NAMES_SHOWN).join(', ')} and ${names.length - NAMES_SHOWN} more` : names.join(', ');
}

function* textLines(d: FlowDiff, labels: { old: string; new: string }, color: boolean): Generator<string> {
  const p = paint(color);
  yield p.bold(`${labels.old} -> ${labels.new}: ${summaryText(d)}`);
  for (const k of ['added', 'removed', 'changed'] as const) if (d.policies[k].length > 0) yield `  policies ${k}: ${d.policies[k].join(', ')}`;
  for (const [title, list, mark] of [['opened', d.opened, p.ok('+')], ['closed', d.closed, p.bad('-')]] as const) {
    if (list.length === 0) continue;
    yield '';
    yield p.bold(`${title[0].toUpperCase()}${title.slice(1)}:`);
    for (const r of collapse(list)) {
      yield `${mark} ${endText(r.from, 'sources')} -> ${endText(r.to, 'destinations')} ${r.port}${r.flows > 1 ? `: ${flowsText(r.flows)}` : ''}`;
      if (r.from.length > 1) yield p.dim(`    from:   ${namesText(r.from)}`);
      if (r.to.length > 1) yield p.dim(`    to:     ${namesText(r.to)}`);
      yield p.dim(`    before: ${r.before}`);
      yield p.dim(`    after:  ${r.after}`);
    }
  }
  for (const [title, list] of [['Endpoints added (their flows are not listed)', d.added], ['Endpoints removed (their flows are not listed)', d.removed]] as const) {
    if (list.length === 0) continue;
    yield '';
    yield p.bold(`${title}:`);
    for (const g of list) yield `  ${g.endpoints.length === 1 ? g.endpoints[0] : `${g.group} (${g.endpoints.length} pods)`}: ${isolationText(g)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Markdown, for a pull-request comment.

/** Rows shown in a table before the rest is folded into a <details> block. */
export const MD_VISIBLE_ROWS = 10;

const mdCell = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;')).replace(/\n/g, ' ');

function* mdTable(list: readonly FlowGroup[]): Generator<string> {
  const header = ['| from | to | port | flows | before | after |', '|---|---|---|--:|---|---|'];
  // Several names fold into the cell (GitHub renders HTML in table cells).
  const cell = (names: readonly string[], what: string): string =>
    names.length === 1 ? mdCell(names[0]) : `<details><summary>${names.length} ${what}</summary>${names.map(mdCell).join('<br>')}</details>`;
  const row = (r: ChangeRow): string => `| ${cell(r.from, 'sources')} | ${cell(r.to, 'destinations')} | ${mdCell(r.port)} | ${r.flows} | ${mdCell(r.before)} | ${mdCell(r.after)} |`;
  const rows = collapse(list);
  yield* header;
  for (const r of rows.slice(0, MD_VISIBLE_ROWS)) yield row(r);
  if (rows.length > MD_VISIBLE_ROWS) {
    const rest = rows.slice(MD_VISIBLE_ROWS);
    yield '';
    yield `<details><summary>${rest.length} more (${flowsText(rest.reduce((n, r) => n + r.flows, 0))})</summary>`;
    yield '';
    yield* header;
    for (const r of rest) yield row(r);
    yield '';
    yield '</details>';
  }
}

function* markdownLines(d: FlowDiff, labels: { old: string; new: string }): Generator<string> {
  yield `### podwall diff: ${mdCell(summaryText(d))}`;
  yield '';
  yield `\`${mdCell(labels.old)}\` → \`${mdCell(labels.new)}\`${d.changed ? '' : ': nothing opens or closes'}`;
  const policyParts = (['added', 'removed', 'changed'] as const).filter((k) => d.policies[k].length > 0).map((k) => `${k} ${d.policies[k].map((x) => `\`${x}\``).join(', ')}`);
  if (policyParts.length > 0) {
    yield '';
    yield `Policies ${policyParts.join('; ')}.`;
  }
  for (const [title, list] of [['Opened', d.opened], ['Closed', d.closed]] as const) {
    if (list.length === 0) continue;
    yield '';
    yield `#### ${title} (${flowsText(countFlows(list))})`;
    yield '';
    yield* mdTable(list);
  }
  for (const [title, list] of [['Endpoints added', d.added], ['Endpoints removed', d.removed]] as const) {
    if (list.length === 0) continue;
    yield '';
    yield `#### ${title}`;
    yield '';
    const items = list.map((g) => `- ${g.endpoints.length === 1 ? `\`${g.endpoints[0]}\`` : `\`${g.group}\` (${g.endpoints.length} pods)`}: ${mdCell(isolationText(g))}`);
    yield* items.slice(0, MD_VISIBLE_ROWS);
    if (items.length > MD_VISIBLE_ROWS) {
      yield '';
      yield `<details><summary>${items.length - MD_VISIBLE_ROWS} more</summary>`;
      yield '';
      yield* items.slice(MD_VISIBLE_ROWS);
      yield '';
      yield '</details>';
    }
  }
}

/**
 * The JSON contract: `{"old", "new", "changed", "summary": {opened, closed (flows), openedGroups,
 * closedGroups, added, removed (endpoints)}, "ports", "opened", "closed", "added", "removed",
 * "policies"}`; each group's flows are every `from.endpoints` x `to.endpoints` pair (an endpoint
 * to itself excluded), or each endpoint with the `outside` addresses listed.
 */
export function diffJSON(d: FlowDiff, labels: { old: string; new: string }): unknown {
  const endpoints = (gs: FlowDiff['added']): number => gs.reduce((n, g) => n + g.endpoints.length, 0);
  return {
    old: labels.old,
    new: labels.new,
    changed: d.changed,
    summary: {
      opened: countFlows(d.opened),
      closed: countFlows(d.closed),
      openedGroups: d.opened.length,
      closedGroups: d.closed.length,
      added: endpoints(d.added),
      removed: endpoints(d.removed),
    },
    ports: d.ports,
    opened: d.opened,
    closed: d.closed,
    added: d.added,
    removed: d.removed,
    policies: d.policies,
  };
}

export async function runDiff(oldSpec: string, newSpec: string, options: DiffOptions, io: Output): Promise<number> {
  const format = parseFormat(options.output, ['text', 'json', 'md'] as const);
  checkNamespaceFlag(options.namespace);
  if ((options.cluster || options.kubeconfig !== undefined || options.context !== undefined) && oldSpec !== 'cluster' && newSpec !== 'cluster') {
    throw new UsageError('--cluster, --kubeconfig and --context choose the running cluster that OLD or NEW names with the word "cluster"; neither does');
  }
  if (oldSpec === '-' && newSpec === '-') throw new UsageError('OLD and NEW cannot both be read from stdin');
  const before = await readSide('OLD', oldSpec, options, io);
  const after = await readSide('NEW', newSpec, options, io);
  const d = diffClusters(before, after);
  const labels = { old: oldSpec, new: newSpec };
  if (format === 'json') io.out(JSON.stringify(diffJSON(d, labels), null, 2));
  else {
    const lines = format === 'md' ? markdownLines(d, labels) : textLines(d, labels, io.color);
    await writeChunks(io, (function* () {
      for (const line of lines) yield `${line}\n`;
    })());
  }
  return d.changed ? 1 : 0;
}
