// `podwall test --expect FILE`: flows that must be allowed or denied, judged by the engine and, with
// --lab, by real packets in a running lab. Exit 0 every case passes, 1 some case fails, 2 bad input,
// 3 some probe could not be decided (and nothing failed).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { stringify } from 'yaml';
import { compileCluster, flowEndName, judgeExpectations, type CaseResult, type CompiledCluster, type FlowCheck, type FlowVerdict } from '../engine/index.js';
import { defaultStateRoot, Lab, OUTSIDE, OWNER_ANNOTATION, type ProbeReport, type ServiceProbeReport } from '../lab/index.js';
import { decodeExpectations, expectationDiagnostic, formatDiagnostic, InvalidInputError, type Diagnostic, type Endpoint, type Expectations, type Manifest, type Protocol } from '../model/index.js';
import { checkNamespaceFlag, loadAnalysisInput, parseFormat, wantsLiveCluster, type AnalysisInputOptions } from './input.js';
import { paint, UsageError, type Output } from './output.js';

export interface TestOptions extends AnalysisInputOptions {
  readonly expect: string;
  readonly lab?: boolean;
  readonly name?: string;
  readonly stateDir?: string;
  readonly output?: string;
}

/** What the kernel did with one flow in the lab; undefined `verdict` when it was not probed. */
export interface KernelVerdict {
  readonly verdict?: FlowVerdict;
  /** Why there is no verdict: not probed (and why), or inconclusive. */
  readonly note?: string;
  readonly inconclusive?: boolean;
}

export interface JudgedCheck extends FlowCheck {
  readonly kernel?: KernelVerdict;
  /** The engine and (when probed) the kernel agree with the expectation. */
  readonly ok: boolean;
}

export type CaseStatus = 'passed' | 'failed' | 'inconclusive';

export interface JudgedCase {
  readonly result: CaseResult;
  readonly checks: readonly JudgedCheck[];
  readonly status: CaseStatus;
}

function readExpectations(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String((err as Error).message ?? err);
    throw new UsageError(`--expect: cannot read "${path}": ${why}`);
  }
}

function refuse(diagnostics: readonly Diagnostic[], io: Output, what: string): never {
  for (const d of diagnostics) io.err(`${d.severity}: ${formatDiagnostic(d)}`);
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  io.err(`${errors} error${errors === 1 ? '' : 's'} in ${what}: nothing was judged`);
  throw new InvalidInputError(diagnostics);
}

// ---------------------------------------------------------------------------------------------
// The kernel's verdicts, from the lab's probes.

const labPodId = (m: { namespace: string; name: string }): string => `${m.namespace}/${m.name}`;

/** The lab pods an endpoint of the judged model stands for: the pod of that name, or the pods a workload made. */
function labPodsOf(endpoint: Endpoint, pods: readonly { namespace: string; name: string; manifest: Manifest }[]): string[] {
  if (endpoint.kind === 'Pod') return pods.some((p) => labPodId(p) === endpoint.id) ? [endpoint.id] : [];
  const owner = `${endpoint.kind}/${endpoint.name}`;
  return pods
    .filter((p) => p.namespace === endpoint.namespace && ((p.manifest.metadata as Manifest | undefined)?.annotations as Record<string, string> | undefined)?.[OWNER_ANNOTATION] === owner)
    .map(labPodId);
}

export type Cell = boolean | 'inconclusive' | 'not probed';

/**
 * One flow's verdict over the pod pairs it stands for (a workload is several pods). Pairs the probe
 * left undecided make it inconclusive, but the decided ones still count: one allowed pair already
 * contradicts a deny.
 */
export function combineCells(cells: readonly { cell: Cell; reason?: string }[], notProbedWhy: string): KernelVerdict {
  const decided = cells.filter((c) => typeof c.cell === 'boolean').map((c) => c.cell as boolean);
  const verdict: FlowVerdict | undefined = decided.length === 0 ? undefined : decided.every(Boolean) ? 'allowed' : decided.some(Boolean) ? 'partly' : 'denied';
  const inconclusive = cells.find((c) => c.cell === 'inconclusive');
  if (inconclusive) return { ...(verdict ? { verdict } : {}), inconclusive: true, note: `inconclusive: ${inconclusive.reason ?? 'no answer'}` };
  return verdict ? { verdict } : { note: `not probed: ${notProbedWhy}` };
}

function podCell(reports: readonly ProbeReport[], port: number, protocol: Protocol, from: string, to: string): { cell: Cell; reason?: string } {
  const r = reports.find((x) => x.port === port && x.protocol === protocol);
  if (!r) return { cell: 'not probed' };
  const i = r.pods.indexOf(from);
  const j = r.pods.indexOf(to);
  if (i < 0 || j < 0) return { cell: 'not probed' };
  const v = r.allowed[i][j];
  if (v !== null) return { cell: v };
  const inc = r.inconclusive.find((x) => x.from === from && x.to === to);
  return inc ? { cell: 'inconclusive', reason: inc.reason } : { cell: 'not probed', reason: r.notProbed.join('; ') };
}

function serviceCell(r: ServiceProbeReport, service: string, port: number, protocol: Protocol, from: string): { cell: Cell; reason?: string } {
  const fromOutside = from === OUTSIDE;
  const j = r.columns.findIndex((c) => c.service === service && c.protocol === protocol && (c.port === port || (fromOutside && c.nodePort === port)));
  const i = r.sources.indexOf(from);
  if (i < 0 || j < 0) return { cell: 'not probed' };
  const v = r.allowed[i][j];
  if (v !== null) return { cell: v };
  const inc = r.inconclusive.find((x) => x.from === from && x.to === r.columns[j].id);
  return inc ? { cell: 'inconclusive', reason: inc.reason } : { cell: 'not probed', reason: r.notProbed.join('; ') };
}

/**
 * Sends real packets for every flow a lab can carry (pods to pods, the outside host to pods, pods
 * and the outside host to Services) and reads each flow's verdict off the probe reports.
 */
async function kernelVerdicts(lab: Lab, checks: readonly FlowCheck[]): Promise<Map<FlowCheck, KernelVerdict>> {
  const pods = lab.store.list('Pod');
  const outsideAddress = lab.settings.outside?.address;
  const sourcesOf = (check: FlowCheck): string[] | string => {
    const s = check.source;
    if (s.kind === 'endpoint') {
      const made = labPodsOf(s.endpoint, pods);
      return made.length > 0 ? made : `${s.endpoint.id} is not in lab "${lab.settings.name}"`;
    }
    if (s.kind === 'outside' || (s.kind === 'address' && s.ip === outsideAddress)) return outsideAddress ? [OUTSIDE] : `lab "${lab.settings.name}" has no host outside the cluster`;
    return `the lab sends from outside only from its outside host${outsideAddress ? ` (${outsideAddress})` : ''}`;
  };
  const out = new Map<FlowCheck, KernelVerdict>();
  const podPorts = new Map<string, { port: number; protocol: Protocol }>();
  let wantServices = false;
  const plans: { check: FlowCheck; sources: string[]; destinations?: string[]; service?: string }[] = [];
  for (const check of checks) {
    const sources = sourcesOf(check);
    if (typeof sources === 'string') {
      out.set(check, { note: `not probed: ${sources}` });
      continue;
    }
    const d = check.destination;
    if (d.kind === 'endpoint') {
      const destinations = labPodsOf(d.endpoint, pods);
      if (destinations.length === 0) {
        out.set(check, { note: `not probed: ${d.endpoint.id} is not in lab "${lab.settings.name}"` });
        continue;
      }
      podPorts.set(`${check.port}/${check.protocol}`, { port: check.port, protocol: check.protocol });
      plans.push({ check, sources, destinations });
    } else if (d.kind === 'service') {
      wantServices = true;
      plans.push({ check, sources, service: flowEndName(d) });
    } else out.set(check, { note: 'not probed: the lab has no destination outside the cluster' });
  }
  const reports = podPorts.size > 0 ? await lab.probe([...podPorts.values()]) : [];
  const services = wantServices ? await lab.probeServices() : undefined;
  for (const plan of plans) {
    const { check } = plan;
    const cells = plan.service
      ? plan.sources.map((from) => serviceCell(services!, plan.service!, check.port, check.protocol, from))
      : plan.sources.flatMap((from) => plan.destinations!.filter((to) => to !== from).map((to) => podCell(reports, check.port, check.protocol, from, to)));
    const why = cells.find((c) => c.reason)?.reason || 'the lab did not probe this cell';
    out.set(check, combineCells(cells, why));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Judging and output.

/** Each case with the kernel's verdicts beside the engine's: failed, undecided by the kernel, or passed. */
export function judge(results: readonly CaseResult[], kernel?: ReadonlyMap<FlowCheck, KernelVerdict>): JudgedCase[] {
  return results.map((result) => {
    const checks = result.checks.map((c): JudgedCheck => {
      const k = kernel?.get(c);
      const kernelOk = k?.verdict === undefined || k.verdict === c.expected;
      return { ...c, ...(k ? { kernel: k } : {}), ok: c.passed && kernelOk };
    });
    const status: CaseStatus = checks.some((c) => !c.ok) ? 'failed' : checks.some((c) => c.kernel?.inconclusive) ? 'inconclusive' : 'passed';
    return { result, checks, status };
  });
}

const WORD: Record<FlowVerdict, string> = { allowed: 'ALLOWED', denied: 'DENIED', partly: 'ALLOWED ONLY IN PART' };

function flowLine(c: JudgedCheck): string {
  let kernel = '';
  if (c.kernel?.verdict) kernel = `, kernel ${WORD[c.kernel.verdict]}${c.kernel.inconclusive ? ` where decided (${c.kernel.note})` : ''}`;
  else if (c.kernel?.note) kernel = ` (kernel: ${c.kernel.note})`;
  return `${c.from} -> ${c.to} ${c.port}/${c.protocol}: expected ${WORD[c.expected]}, engine ${WORD[c.engine]}${kernel}`;
}

/** The flows that make a case fail (or stay undecided), and what each side said. */
function failureLines(j: JudgedCase, max = 20, inputIsLab = true): string[] {
  const bad = j.checks.filter((c) => !c.ok || c.kernel?.inconclusive);
  const lines: string[] = [];
  for (const c of bad.slice(0, max)) {
    lines.push(flowLine(c));
    if (!c.passed || (c.kernel?.verdict !== undefined && c.kernel.verdict !== c.engine)) lines.push(...c.reasons.map((r) => `  ${r}`));
    if (c.passed && c.kernel?.verdict !== undefined && c.kernel.verdict !== c.expected) {
      lines.push(`  the engine agrees with the expectation; the kernel does not${inputIsLab ? '' : ' (the lab enforces the objects it holds, not this input: see podwall lab get)'}`);
    }
  }
  if (bad.length > max) lines.push(`... and ${bad.length - max} more flow${bad.length - max === 1 ? '' : 's'}`);
  return lines;
}

function summaryCounts(judged: readonly JudgedCase[]): { cases: number; passed: number; failed: number; inconclusive: number } {
  return {
    cases: judged.length,
    passed: judged.filter((j) => j.status === 'passed').length,
    failed: judged.filter((j) => j.status === 'failed').length,
    inconclusive: judged.filter((j) => j.status === 'inconclusive').length,
  };
}

function renderText(judged: readonly JudgedCase[], suite: string, lab: string | undefined, inputIsLab: boolean, color: boolean): string {
  const p = paint(color);
  const lines: string[] = [];
  for (const j of judged) {
    const mark = j.status === 'passed' ? p.ok('✓') : j.status === 'failed' ? p.bad('✗') : '?';
    const count = j.checks.length === 1 ? [] : [`${j.checks.length} flows`];
    const probed = j.checks.filter((c) => c.kernel?.verdict !== undefined).length;
    if (lab) count.push(`${probed === 0 ? 'none' : probed === j.checks.length ? 'all' : probed} probed in the lab`);
    lines.push(`${mark} ${j.result.title}${count.length > 0 ? p.dim(` (${count.join(', ')})`) : ''}`);
    if (j.status !== 'passed') lines.push(...failureLines(j, 20, inputIsLab).map((l) => `    ${l}`));
    for (const note of j.result.notes) lines.push(`    note: ${note}`);
  }
  const s = summaryCounts(judged);
  const kernel = lab ? `, engine and kernel (lab ${lab})` : '';
  lines.push(`${suite}: ${s.passed} of ${s.cases} case${s.cases === 1 ? '' : 's'} passed${s.failed ? `, ${s.failed} failed` : ''}${s.inconclusive ? `, ${s.inconclusive} undecided by the kernel` : ''}${kernel}`);
  return lines.join('\n');
}

function checkJSON(c: JudgedCheck): object {
  return {
    from: c.from,
    to: c.to,
    port: c.port,
    protocol: c.protocol,
    expected: c.expected,
    engine: c.engine,
    kernel: c.kernel?.verdict ?? null,
    ...(c.kernel?.note ? { kernelNote: c.kernel.note } : {}),
    passed: c.ok,
    reasons: c.reasons,
  };
}

function renderJSON(judged: readonly JudgedCase[], exp: Expectations, suite: string, lab: string | undefined): string {
  return JSON.stringify(
    {
      file: exp.file,
      name: suite,
      lab: lab ?? null,
      passed: judged.every((j) => j.status === 'passed'),
      summary: summaryCounts(judged),
      cases: judged.map((j) => ({
        index: j.result.case.index,
        name: j.result.case.name ?? null,
        title: j.result.title,
        verb: j.result.case.verb,
        status: j.status,
        passed: j.status === 'passed',
        notes: j.result.notes,
        checks: j.checks.map(checkJSON),
      })),
    },
    null,
    2,
  );
}

/** Text fit for XML: the five special characters escaped, characters XML 1.0 cannot hold dropped. */
function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function firstProblem(j: JudgedCase): string {
  const bad = j.checks.filter((c) => !c.ok || c.kernel?.inconclusive);
  return `${bad.length} of ${j.checks.length} flow${j.checks.length === 1 ? '' : 's'} ${j.status === 'failed' ? `disagree${bad.length === 1 ? 's' : ''}` : 'undecided'}: ${bad[0] ? flowLine(bad[0]) : ''}`;
}

/** JUnit XML as Jenkins, GitLab and GitHub read it: one testsuite per expectations file, one testcase per case. */
export function renderJUnit(judged: readonly JudgedCase[], exp: Expectations, suite: string, inputIsLab = true): string {
  const s = summaryCounts(judged);
  const classname = `podwall.${suite.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="podwall test" tests="${s.cases}" failures="${s.failed}" errors="${s.inconclusive}">`,
    `  <testsuite name="${xml(suite)}" tests="${s.cases}" failures="${s.failed}" errors="${s.inconclusive}" skipped="0" file="${xml(exp.file)}">`,
  ];
  for (const j of judged) {
    const pos = exp.locate(j.result.case.path);
    const open = `    <testcase name="${xml(j.result.title)}" classname="${classname}" file="${xml(exp.file)}" line="${pos.line}"`;
    if (j.status === 'passed') {
      lines.push(`${open}/>`);
      continue;
    }
    const tag = j.status === 'failed' ? 'failure' : 'error';
    const type = j.status === 'failed' ? 'ExpectationFailed' : 'ProbeInconclusive';
    lines.push(`${open}>`);
    lines.push(`      <${tag} message="${xml(firstProblem(j))}" type="${type}">${xml(failureLines(j, 100, inputIsLab).join('\n'))}</${tag}>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>');
  return lines.join('\n');
}

/** TAP version 13: a plan, one test line per case, YAML diagnostics under a failing one. */
export function renderTAP(judged: readonly JudgedCase[], exp: Expectations): string {
  const lines = ['TAP version 13', `1..${judged.length}`];
  judged.forEach((j, k) => {
    // A description may not hold "#" unescaped (it would start a directive), nor a line break.
    const title = j.result.title.replace(/\\/g, '\\\\').replace(/#/g, '\\#').replace(/[\r\n]+/g, ' ');
    lines.push(`${j.status === 'passed' ? 'ok' : 'not ok'} ${k + 1} - ${title}`);
    if (j.status === 'passed') return;
    const pos = exp.locate(j.result.case.path);
    const bad = j.checks.filter((c) => !c.ok || c.kernel?.inconclusive);
    const diagnostics = {
      message: firstProblem(j),
      severity: j.status === 'failed' ? 'fail' : 'inconclusive',
      at: { file: exp.file, line: pos.line, column: pos.column },
      flows: bad.slice(0, 100).map(checkJSON),
    };
    lines.push('  ---', ...stringify(diagnostics, { lineWidth: 0 }).trimEnd().split('\n').map((l) => `  ${l}`), '  ...');
  });
  return lines.join('\n');
}

/** 1 when a case fails; else 3 when the kernel left some flow undecided (as lab probe does); else 0. */
export function exitCode(judged: readonly JudgedCase[], io: Output): number {
  const s = summaryCounts(judged);
  if (s.failed > 0) return 1;
  if (s.inconclusive > 0) {
    io.err('error: some flows could not be probed (nothing listening, or no answer after retries): not a verdict either way');
    return 3;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------

export async function runTest(options: TestOptions, io: Output): Promise<number> {
  const format = parseFormat(options.output, ['text', 'json', 'junit', 'tap'] as const);
  if (!options.expect) throw new UsageError('test needs --expect FILE');
  const files = options.filename ?? [];
  const fromLab = Boolean(options.lab) && files.length === 0 && !wantsLiveCluster(options);
  if (!options.lab && options.name !== undefined && options.name !== 'lab') throw new UsageError('--name names a lab: give it with --lab');

  const decoded = decodeExpectations(readExpectations(options.expect), options.expect);
  if (!decoded.expectations) refuse(decoded.diagnostics, io, options.expect);
  const exp = decoded.expectations;

  let lab: Lab | undefined;
  try {
    let compiled: CompiledCluster;
    if (options.lab) lab = Lab.open(options.name, options.stateDir ?? defaultStateRoot());
    if (fromLab) {
      checkNamespaceFlag(options.namespace);
      // The lab as the kernel sees it: caught up with its store, pods at the addresses their network has.
      if (lab!.daemon()) await lab!.settle();
      compiled = compileCluster(lab!.kernelCluster());
    } else compiled = (await loadAnalysisInput(options, io)).compiled;

    const result = judgeExpectations(compiled, exp, options.namespace);
    if (result.problems.length > 0) refuse(result.problems.map((p) => expectationDiagnostic(exp, p.path, p.message)), io, options.expect);

    const kernel = lab ? await kernelVerdicts(lab, result.cases.flatMap((c) => c.checks)) : undefined;
    const judged = judge(result.cases, kernel);
    const suite = exp.name ?? basename(options.expect).replace(/\.ya?ml$/i, '');
    const labName = lab ? lab.settings.name : undefined;
    if (format === 'json') io.out(renderJSON(judged, exp, suite, labName));
    else if (format === 'junit') io.out(renderJUnit(judged, exp, suite, fromLab || !lab));
    else if (format === 'tap') io.out(renderTAP(judged, exp));
    else io.out(renderText(judged, suite, labName, fromLab, io.color));

    return exitCode(judged, io);
  } finally {
    lab?.close();
  }
}
