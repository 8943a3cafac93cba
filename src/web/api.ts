// The UI's JSON API over a cluster source: one function from a request to a response, so the
// server stays a thin shell and tests can call it with plain values.
//
//   GET  /api/model                          endpoints, namespaces, policies, ports, flows
//   GET  /api/matrix?port=N&protocol=P       who may open a connection to whom on one port
//   GET  /api/explain/<ns>/<name>            per endpoint: policies, isolation, reach
//   GET  /api/check?from&to&port&protocol    one connection with the reasons on both sides
//   GET  /api/lint                           lint's findings, each with the endpoints and policies it involves
//   POST to matrix, explain, check, lint {text}  the same, with the editor's policies laid over
//   POST /api/preview        {text}          the editor's policies laid over the cluster: diagnostics, or model + diff
//   GET  /api/export/policies                every policy as multi-document YAML
//   POST /api/export/policies {text}         the same with the editor's policies laid over
//   POST /api/lab/probe  GET /api/lab/counters   (lab only) real connections; drop counters
//
// A known path asked with another method is 405. Whatever the model or engine makes of the
// editor's text, the answer is data: diagnostics (200 for a preview, 422 for the other questions),
// never a thrown error.
import { openToOutside, formatPolicyRef, lintCluster, LINT_RULES, resolvePeer, type CompiledCluster, type LintFinding, type LintObjectRef } from '../engine/index.js';
import { networkPolicyManifest, parsePortText, parseProtocolText, type Cluster, type Diagnostic, type Protocol } from '../model/index.js';
import { stringify } from 'yaml';
import { adminPolicyId, adminPolicyYaml } from './admin.js';
import { diagnosticView, EDITOR_FILE, overlayPolicies, previewDiff, type Overlay } from './preview.js';
import type { ClusterSource } from './source.js';
import type { CountersView, DiagnosticView, FindingView, LintView, ModelView, PreviewView, ProbeView } from './types.js';
import { checkView, explainView, matrixView, modelView } from './views.js';

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
  /** Set for non-JSON answers (YAML export). */
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const json = (body: unknown, status = 200): ApiResponse => ({ status, body });
const problem = (status: number, message: string): ApiResponse => ({ status, body: { error: message } });

/** Diagnostics sent at most: the editor lists them, and tens of thousands would freeze the page. */
export const MAX_DIAGNOSTICS = 100;

/** The methods each path answers; the server refuses the others with 405 before reading a body. */
export function allowedMethods(path: string): readonly string[] | undefined {
  if (path === '/api/model' || path === '/api/lab/counters' || path === '/api/events') return ['GET'];
  if (path === '/api/matrix' || path === '/api/check' || path === '/api/lint' || path.startsWith('/api/explain/') || path === '/api/export/policies') return ['GET', 'POST'];
  // Probing opens real connections in the lab: a POST, which a page of another origin cannot send with JSON.
  if (path === '/api/preview' || path === '/api/lab/probe') return ['POST'];
  return undefined;
}

/** The answer about an edit that could not be evaluated, in the shape the editor shows inline. */
export function editProblem(message: string): { ok: false; error: string; diagnostics: DiagnosticView[] } {
  return { ok: false, error: message, diagnostics: [{ message, text: message }] };
}

function diagnosticsView(list: readonly Diagnostic[]): DiagnosticView[] {
  const shown = list.slice(0, MAX_DIAGNOSTICS).map(diagnosticView);
  if (list.length > MAX_DIAGNOSTICS) {
    const message = `${list.length - MAX_DIAGNOSTICS} more errors not shown`;
    shown.push({ message, text: message });
  }
  return shown;
}

type OverlayFunction = (base: Cluster, text: string, namespace: string) => Overlay;

/** The editor's text over the cluster; a throw from loading or compiling is turned into a diagnostic. */
function safely(lay: OverlayFunction): OverlayFunction {
  return (base, text, namespace) => {
    try {
      return lay(base, text, namespace);
    } catch (err) {
      return { ok: false, diagnostics: [{ severity: 'error', file: EDITOR_FILE, message: `the edit could not be read: ${(err as Error).message}` }] };
    }
  };
}

function parseTarget(query: URLSearchParams): { port: number; protocol: Protocol } | string {
  const port = parsePortText(query.get('port') ?? '');
  if ('error' in port) return `port: ${port.error}`;
  const protocol = parseProtocolText(query.get('protocol') ?? 'TCP');
  if ('error' in protocol) return `protocol: ${protocol.error}`;
  return { port: port.port, protocol: protocol.protocol };
}

/**
 * The model view with each endpoint's marks: selected by no policy, and admitting connections from
 * outside the cluster; the same definitions as lint's PW-UNSELECTED-PODS and PW-REACHABLE-FROM-OUTSIDE.
 */
export function markedModelView(compiled: CompiledCluster, meta: Parameters<typeof modelView>[1]): ModelView {
  const view = modelView(compiled, meta);
  const byId = new Map(compiled.cluster.endpoints.map((e) => [e.id, e]));
  const endpoints = view.endpoints.map((v) => {
    const e = byId.get(v.id);
    if (!e || e.hostNetwork) return v;
    return { ...v, unselected: v.selectedBy.length === 0, openToOutside: openToOutside(compiled, e) };
  });
  return { ...view, endpoints };
}

const SUMMARIES = new Map(LINT_RULES.map((r) => [r.id, r.summary]));
const ADMIN_KINDS: ReadonlySet<string> = new Set(['AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'ClusterNetworkPolicy']);

/** Lint's findings over `compiled`, the objects each involves named by the page's ids. */
export function lintView(compiled: CompiledCluster, complete: boolean): LintView {
  const key = (o: LintObjectRef): string => `${o.kind}/${o.namespace ?? ''}/${o.name}`;
  const endpointIds = new Map(compiled.cluster.endpoints.map((e) => [key(e), e.id]));
  const finding = (f: LintFinding): FindingView => {
    const involved = [...(f.object ? [f.object] : []), ...f.related];
    const endpoints = [...new Set(involved.flatMap((o) => endpointIds.get(key(o)) ?? []))];
    const policies = [
      ...new Set(
        involved.flatMap((o) =>
          o.kind === 'NetworkPolicy' ? [formatPolicyRef({ namespace: o.namespace ?? '', name: o.name })] : ADMIN_KINDS.has(o.kind) ? [adminPolicyId(o)] : [],
        ),
      ),
    ];
    return {
      id: f.id,
      severity: f.severity,
      summary: SUMMARIES.get(f.id) ?? f.id,
      ...(f.object ? { object: `${f.object.kind} ${f.object.namespace ? `${f.object.namespace}/` : ''}${f.object.name}` } : {}),
      ...(f.path ? { path: f.path } : {}),
      ...(f.location ? { file: f.location.file, line: f.location.line } : {}),
      message: f.message,
      endpoints,
      policies,
    };
  };
  return { findings: lintCluster(compiled, { complete }).map(finding) };
}

function endpointOf(compiled: CompiledCluster, text: string): ReturnType<typeof resolvePeer> {
  return resolvePeer(compiled, text);
}

/** Every policy as YAML: the NetworkPolicies, then the admin and baseline policies (cluster-scoped) by kind and name. */
function policiesYaml(compiled: CompiledCluster): string {
  return [...compiled.policies.map((p) => stringify(networkPolicyManifest(p.policy))), ...(compiled.cluster.adminPolicies ?? []).map(adminPolicyYaml)].join('---\n');
}

export interface ApiContext {
  readonly source: ClusterSource;
  /** Where editor policies without metadata.namespace go (the `-n` of the command). */
  readonly namespace: string;
  /** How the editor's text is laid over the cluster: overlayPolicies, unless a test passes a fake. */
  readonly overlay?: OverlayFunction;
}

export async function handleApi(ctx: ApiContext, method: string, url: URL, body?: unknown): Promise<ApiResponse> {
  const overlay = safely(ctx.overlay ?? overlayPolicies);
  const current = ctx.source.current();
  const meta = { source: ctx.source.kind, title: ctx.source.title, version: current.version };
  const path = url.pathname;
  const query = url.searchParams;
  const methods = allowedMethods(path);
  if (methods && !methods.includes(method)) {
    return { status: 405, body: { error: `${method} ${path}: use ${methods.join(' or ')}` }, headers: { allow: methods.join(', ') } };
  }
  const text = (): string | undefined => (body && typeof body === 'object' && typeof (body as { text?: unknown }).text === 'string' ? (body as { text: string }).text : undefined);

  // POST to matrix, explain and check: the same question over the cluster with the editor's policies laid over.
  let compiled = current.compiled;
  const overlaid = method === 'POST' && (path === '/api/matrix' || path === '/api/check' || path === '/api/lint' || path.startsWith('/api/explain/'));
  if (overlaid && (text() ?? '').trim() !== '') {
    const edit = overlay(compiled.cluster, text()!, ctx.namespace);
    if (!edit.ok) return json({ ok: false, diagnostics: diagnosticsView(edit.diagnostics) }, 422);
    compiled = edit.compiled;
  }
  const reading = method === 'GET' || overlaid;

  if (method === 'GET' && path === '/api/model') return json(markedModelView(compiled, meta));

  // A lab is the whole cluster (every namespace and its labels known); manifests are usually a part of one.
  if (reading && path === '/api/lint') return json(lintView(compiled, ctx.source.kind === 'lab'));

  if (reading && path === '/api/matrix') {
    const target = parseTarget(query);
    return typeof target === 'string' ? problem(400, target) : json(matrixView(compiled, target));
  }

  if (reading && path.startsWith('/api/explain/')) {
    let id: string;
    try {
      id = decodeURIComponent(path.slice('/api/explain/'.length));
    } catch {
      return problem(400, 'the endpoint in the path is not valid percent-encoding');
    }
    const r = endpointOf(compiled, id);
    if ('error' in r) return problem(404, r.error);
    if (r.peer.kind !== 'endpoint') return problem(400, `"${id}" is an address outside the cluster, not an endpoint`);
    return json(explainView(compiled, r.peer.endpoint));
  }

  if (reading && path === '/api/check') {
    const target = parseTarget(query);
    if (typeof target === 'string') return problem(400, target);
    const from = endpointOf(compiled, query.get('from') ?? '');
    const to = endpointOf(compiled, query.get('to') ?? '');
    if ('error' in from) return problem(404, `from: ${from.error}`);
    if ('error' in to) return problem(404, `to: ${to.error}`);
    if (from.peer.kind !== 'endpoint' || to.peer.kind !== 'endpoint') return problem(400, 'from and to must be endpoints of the cluster');
    return json(checkView(compiled, from.peer.endpoint, to.peer.endpoint, target));
  }

  if (method === 'POST' && path === '/api/preview') {
    const edit = text();
    if (edit === undefined) return problem(400, 'expected a JSON body {"text": "<NetworkPolicy YAML>"}');
    const laid = overlay(compiled.cluster, edit, ctx.namespace);
    if (!laid.ok) return json({ ok: false, diagnostics: diagnosticsView(laid.diagnostics) } satisfies PreviewView);
    const diff = previewDiff(compiled, laid.compiled);
    const view: PreviewView = { ok: true, model: markedModelView(laid.compiled, meta), replaced: laid.replaced, added: laid.added, ...diff };
    return json(view);
  }

  if (path === '/api/export/policies' && (method === 'GET' || method === 'POST')) {
    let target = compiled;
    const edit = method === 'POST' ? text() : undefined;
    if (edit !== undefined && edit.trim() !== '') {
      const laid = overlay(compiled.cluster, edit, ctx.namespace);
      if (!laid.ok) return json({ ok: false, diagnostics: diagnosticsView(laid.diagnostics) }, 422);
      target = laid.compiled;
    }
    return { status: 200, body: policiesYaml(target), contentType: 'application/yaml; charset=utf-8' };
  }

  if (path.startsWith('/api/lab/')) {
    const lab = ctx.source.lab;
    if (!lab) return problem(404, 'not following a lab: start the UI with `podwall ui --lab`');
    if (method === 'GET' && path === '/api/lab/counters') return json({ counters: lab.counters() } satisfies CountersView);
    if (method === 'POST' && path === '/api/lab/probe') {
      let reports;
      try {
        reports = await lab.probe();
      } catch (err) {
        // The lab cannot be probed now (pods that cannot run, its daemon down): said, never a verdict.
        const notReady = (err as { pods?: unknown }).pods;
        return json({ error: (err as Error).message, ...(Array.isArray(notReady) ? { notReady } : {}) }, 503);
      }
      return json(
        reports.map(
          (r): ProbeView => ({
            port: r.port,
            protocol: r.protocol,
            pods: r.pods,
            allowed: r.allowed,
            predicted: r.predicted,
            differences: r.differences,
            inconclusive: r.inconclusive,
            notProbed: r.notProbed,
          }),
        ),
      );
    }
  }

  return problem(404, `no such API: ${method} ${path}`);
}
