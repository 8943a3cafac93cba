// `podwall lint`: findings in the policies, each with a stable id, a severity, the object, the field
// path and its place in the manifest; as text (grouped by object, file:line:col first), JSON, or
// SARIF 2.1.0 for code hosts. Exit 0 without findings at or above --fail-on, 1 with, 2 bad input.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { lintCluster, LINT_RULES, LINT_SEVERITIES, type LintFinding, type LintLocation, type LintObjectRef, type LintOptions as EngineLintOptions, type LintRuleId, type LintSeverity } from '../engine/index.js';
import { InvalidInputError, parseManifests, STDIN, type Cluster, type Diagnostic, type ManifestObject } from '../model/index.js';
import { loadAnalysisInput, parseFormat, wantsLiveCluster, type AnalysisInputOptions } from './input.js';
import { paint, UsageError, type Output } from './output.js';

export interface LintOptions extends AnalysisInputOptions {
  readonly output?: string;
  readonly failOn?: string;
}

type FailOn = LintSeverity | 'none';
const FAIL_ON: readonly FailOn[] = [...LINT_SEVERITIES, 'none'];
const VERSION = '0.1.0';

function parseFailOn(text: string | undefined): FailOn {
  const value = (text ?? 'error') as FailOn;
  if (!FAIL_ON.includes(value)) throw new UsageError(`--fail-on: "${text}" is not one of ${FAIL_ON.join(', ')}`);
  return value;
}

/** Whether a finding counts against --fail-on: its severity is at or above the threshold. */
function failsOn(severity: LintSeverity, failOn: FailOn): boolean {
  return failOn !== 'none' && LINT_SEVERITIES.indexOf(severity) <= LINT_SEVERITIES.indexOf(failOn);
}

/** Kinds without a namespace: their findings name them by kind and name alone. */
const CLUSTER_SCOPED: ReadonlySet<string> = new Set(['Namespace', 'Node', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'ClusterNetworkPolicy']);

/**
 * Where a field of an object is: the manifests are parsed again (positions are not kept in the
 * Cluster), each file once, the first time one of its objects is asked about. Standard input cannot
 * be read twice: its findings point at the objects' starts.
 */
function manifestLocator(cluster: Cluster, namespace: string): EngineLintOptions['locate'] {
  const fileOf = new Map<string, string>();
  const key = (o: LintObjectRef): string => `${o.kind}/${o.namespace ?? ''}/${o.name}`;
  for (const p of cluster.policies) if (p.source) fileOf.set(key({ kind: 'NetworkPolicy', namespace: p.namespace, name: p.name }), p.source.file);
  for (const e of cluster.endpoints) if (e.source) fileOf.set(key(e), e.source.file);
  for (const n of cluster.namespaces) if (n.source) fileOf.set(key({ kind: 'Namespace', name: n.name }), n.source.file);
  for (const s of cluster.services ?? []) if (s.source) fileOf.set(key({ kind: 'Service', namespace: s.namespace, name: s.name }), s.source.file);
  for (const a of cluster.adminPolicies ?? []) if (a.source) fileOf.set(key({ kind: a.kind, name: a.name }), a.source.file);
  const parsed = new Map<string, Map<string, ManifestObject>>();
  const objectsIn = (file: string): Map<string, ManifestObject> => {
    let index = parsed.get(file);
    if (!index) {
      index = new Map();
      parsed.set(file, index);
      let text: string | undefined;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        // Gone since it was loaded: the objects' starts will do.
      }
      for (const o of text === undefined ? [] : parseManifests(text, file).objects) {
        const kind = typeof o.value.kind === 'string' ? o.value.kind : '';
        const meta = (o.value.metadata ?? {}) as Record<string, unknown>;
        const name = typeof meta.name === 'string' ? meta.name : '';
        const ns = CLUSTER_SCOPED.has(kind) ? undefined : typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : namespace;
        const k = key({ kind, namespace: ns, name });
        if (!index.has(k)) index.set(k, o);
      }
    }
    return index;
  };
  return (object, path) => {
    const file = fileOf.get(key(object));
    if (file === undefined || file === STDIN) return undefined;
    const o = objectsIn(file).get(key(object));
    return o ? { file, ...o.locate(path) } : undefined;
  };
}

/** `NetworkPolicy ns/name` from a diagnostic's object, as the model words it. */
function objectOf(text: string | undefined): LintObjectRef | undefined {
  const m = text ? /^(\S+) (?:([^/\s]+)\/)?(\S+)$/.exec(text) : null;
  if (!m) return undefined;
  return { kind: m[1], ...(m[2] ? { namespace: m[2] } : {}), name: m[3] };
}

/** Input the model refuses, as findings: the endPort rule keeps its own id, the rest are PW-INVALID. */
export function diagnosticFindings(diagnostics: readonly Diagnostic[]): LintFinding[] {
  return diagnostics
    .filter((d) => d.severity === 'error')
    .map((d): LintFinding => {
      const object = objectOf(d.object);
      const id: LintRuleId = d.field?.endsWith('endPort') && d.message.includes('non-numeric') ? 'PW-ENDPORT-NAMED-PORT' : 'PW-INVALID';
      return {
        id,
        severity: 'error',
        ...(object ? { object } : {}),
        ...(d.field ? { path: d.field } : {}),
        location: { file: d.file, line: d.line ?? 1, column: d.column ?? 1 },
        message: d.message,
        related: [],
      };
    });
}

function counts(findings: readonly LintFinding[]): Record<LintSeverity, number> {
  const out: Record<LintSeverity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) out[f.severity]++;
  return out;
}

function summaryLine(findings: readonly LintFinding[]): string {
  const c = counts(findings);
  if (findings.length === 0) return 'no findings';
  const parts = [];
  if (c.error > 0) parts.push(`${c.error} error${c.error === 1 ? '' : 's'}`);
  if (c.warning > 0) parts.push(`${c.warning} warning${c.warning === 1 ? '' : 's'}`);
  if (c.info > 0) parts.push(`${c.info} info`);
  return parts.join(', ');
}

const objectText = (o: LintObjectRef): string => `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
const where = (l: LintLocation): string => `${l.file}:${l.line}:${l.column}`;

function formatText(findings: readonly LintFinding[], color: boolean): string {
  const p = paint(color);
  const severity = (s: LintSeverity): string => (s === 'error' ? p.bold(p.bad(s)) : s === 'warning' ? p.warn(s) : p.dim(s));
  const groups = new Map<string, LintFinding[]>();
  for (const f of findings) {
    const k = f.object ? objectText(f.object) : 'cluster';
    groups.set(k, [...(groups.get(k) ?? []), f]);
  }
  const lines: string[] = [];
  for (const [header, group] of groups) {
    lines.push(p.bold(header));
    for (const f of group) {
      const at = f.location ? `${where(f.location)}: ` : '';
      lines.push(`${at}${severity(f.severity)}: ${f.path ? `${f.path}: ` : ''}${f.message} ${p.dim(`[${f.id}]`)}`);
    }
    lines.push('');
  }
  lines.push(summaryLine(findings));
  return lines.join('\n');
}

/** The JSON shape (documented in the README): stable keys, findings in lint's order. */
function formatJSON(findings: readonly LintFinding[]): string {
  return JSON.stringify({ findings, summary: counts(findings) }, null, 2);
}

/** GitHub keeps at most 100 locations of a result (and refuses a result with more than 1,000). */
const MAX_RELATED_LOCATIONS = 100;

const SARIF_LEVEL: Record<LintSeverity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

/** A file's URI relative to the working directory, with `/` separators and each segment encoded. */
function relativeUri(file: string, cwd: string): string {
  return relative(cwd, resolve(cwd, file)).split(sep).map(encodeURIComponent).join('/');
}

function physical(location: LintLocation, cwd: string): Record<string, unknown> {
  return {
    artifactLocation: { uri: relativeUri(location.file, cwd), uriBaseId: '%SRCROOT%' },
    region: { startLine: location.line, startColumn: location.column },
  };
}

/** SARIF 2.1.0: one run, every rule in tool.driver.rules, results in lint's order. */
function formatSARIF(findings: readonly LintFinding[], cwd: string): string {
  const ruleIndex = new Map(LINT_RULES.map((r, i) => [r.id, i]));
  const results = findings.map((f) => {
    const logical = f.object
      ? [{ name: f.path ?? f.object.name, fullyQualifiedName: `${objectText(f.object)}${f.path ? ` ${f.path}` : ''}`, kind: 'object' }]
      : [];
    // A summary has no field of its own: it is shown at the first object it lists.
    const primary = f.location ?? f.related.find((r) => r.location)?.location;
    const location: Record<string, unknown> = {};
    if (primary) location.physicalLocation = physical(primary, cwd);
    if (logical.length > 0) location.logicalLocations = logical;
    const related = f.related
      .filter((r) => r.location)
      .slice(0, MAX_RELATED_LOCATIONS)
      .map((r, i) => ({ id: i + 1, physicalLocation: physical(r.location!, cwd), message: { text: objectText(r) } }));
    const fingerprint = createHash('sha256')
      .update([f.id, f.object ? objectText(f.object) : '', f.path ?? ''].join('|'))
      .digest('hex');
    return {
      ruleId: f.id,
      ruleIndex: ruleIndex.get(f.id),
      level: SARIF_LEVEL[f.severity],
      message: { text: f.message },
      ...(Object.keys(location).length > 0 ? { locations: [location] } : {}),
      ...(related.length > 0 ? { relatedLocations: related } : {}),
      partialFingerprints: { 'podwallFinding/v1': fingerprint },
    };
  });
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'podwall',
            version: VERSION,
            rules: LINT_RULES.map((r) => ({
              id: r.id,
              name: r.name,
              shortDescription: { text: r.summary },
              fullDescription: { text: r.help },
              help: { text: r.help, markdown: `**${r.summary}**\n\n${r.help}` },
              defaultConfiguration: { level: SARIF_LEVEL[r.severity] },
            })),
          },
        },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(cwd.endsWith(sep) ? cwd : `${cwd}${sep}`).href } },
        results,
      },
    ],
  };
  return JSON.stringify(log, null, 2);
}

function render(findings: readonly LintFinding[], format: 'text' | 'json' | 'sarif', io: Output): void {
  if (format === 'json') io.out(formatJSON(findings));
  else if (format === 'sarif') io.out(formatSARIF(findings, process.cwd()));
  else io.out(formatText(findings, io.color));
}

function withoutPositions(f: LintFinding): LintFinding {
  const { location: _location, ...rest } = f;
  return { ...rest, related: f.related.map(({ location: _l, ...r }) => r) };
}

export async function runLint(options: LintOptions, io: Output): Promise<number> {
  const format = parseFormat(options.output, ['text', 'json', 'sarif'] as const);
  const failOn = parseFailOn(options.failOn);
  let loaded;
  try {
    loaded = await loadAnalysisInput(options, io);
  } catch (err) {
    // Refused input is bad input (exit 2) whatever --fail-on says, but JSON and SARIF still carry
    // each error at its field, so a code host shows it on its line (the text is on stderr already).
    if (err instanceof InvalidInputError && format !== 'text') render(diagnosticFindings(err.diagnostics), format, io);
    throw err;
  }
  const live = wantsLiveCluster(options);
  const lintOptions: EngineLintOptions = live
    ? { complete: true, enforcement: await (await import('./live.js')).detectPolicyEnforcement(options) }
    : { locate: manifestLocator(loaded.cluster, options.namespace) };
  // Objects read from an API server have no file to point at (the model names them as if they had).
  const findings = lintCluster(loaded.compiled, lintOptions).map((f) => (live ? withoutPositions(f) : f));
  render(findings, format, io);
  return findings.some((f) => failsOn(f.severity, failOn)) ? 1 : 0;
}

