// The UI's JSON API over a cluster source: one function from a request to a response, so the
// server stays a thin shell and tests can call it with plain values.
//
//   GET  /api/model                          endpoints, namespaces, policies, ports, flows
//   GET  /api/matrix?port=N&protocol=P       who may open a connection to whom on one port
//   GET  /api/explain/<ns>/<name>            per endpoint: policies, isolation, reach
//   GET  /api/check?from&to&port&protocol    one connection with the reasons on both sides
//   POST to matrix, explain, check {text}    the same, with the editor's policies laid over
//   POST /api/preview        {text}          the editor's policies laid over the cluster: diagnostics, or model + diff
//   GET  /api/export/policies                every policy as multi-document YAML
//   POST /api/export/policies {text}         the same with the editor's policies laid over
//   POST /api/lab/probe  GET /api/lab/counters   (lab only) real connections; drop counters
import { resolvePeer, type CompiledCluster } from '../engine/index.js';
import { networkPolicyManifest, parsePortText, parseProtocolText, type Protocol } from '../model/index.js';
import { stringify } from 'yaml';
import { diagnosticView, overlayPolicies } from './preview.js';
import type { ClusterSource } from './source.js';
import type { CountersView, PreviewView, ProbeView } from './types.js';
import { checkView, diffFlows, explainView, matrixView, modelView } from './views.js';

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
  /** Set for non-JSON answers (YAML export). */
  readonly contentType?: string;
}

const json = (body: unknown, status = 200): ApiResponse => ({ status, body });
const problem = (status: number, message: string): ApiResponse => ({ status, body: { error: message } });

function parseTarget(query: URLSearchParams): { port: number; protocol: Protocol } | string {
  const port = parsePortText(query.get('port') ?? '');
  if ('error' in port) return `port: ${port.error}`;
  const protocol = parseProtocolText(query.get('protocol') ?? 'TCP');
  if ('error' in protocol) return `protocol: ${protocol.error}`;
  return { port: port.port, protocol: protocol.protocol };
}

function endpointOf(compiled: CompiledCluster, text: string): ReturnType<typeof resolvePeer> {
  return resolvePeer(compiled, text);
}

function policiesYaml(compiled: CompiledCluster): string {
  return compiled.policies.map((p) => stringify(networkPolicyManifest(p.policy))).join('---\n');
}

export interface ApiContext {
  readonly source: ClusterSource;
  /** Where editor policies without metadata.namespace go (the `-n` of the command). */
  readonly namespace: string;
}

export async function handleApi(ctx: ApiContext, method: string, url: URL, body?: unknown): Promise<ApiResponse> {
  const current = ctx.source.current();
  const meta = { source: ctx.source.kind, title: ctx.source.title, version: current.version };
  const path = url.pathname;
  const query = url.searchParams;
  const text = (): string | undefined => (body && typeof body === 'object' && typeof (body as { text?: unknown }).text === 'string' ? (body as { text: string }).text : undefined);

  // POST to matrix, explain and check: the same question over the cluster with the editor's policies laid over.
  let compiled = current.compiled;
  const overlaid = method === 'POST' && (path === '/api/matrix' || path === '/api/check' || path.startsWith('/api/explain/'));
  if (overlaid && (text() ?? '').trim() !== '') {
    const overlay = overlayPolicies(compiled.cluster, text()!, ctx.namespace);
    if (!overlay.ok) return json({ ok: false, diagnostics: overlay.diagnostics.map(diagnosticView) }, 422);
    compiled = overlay.compiled;
  }
  const reading = method === 'GET' || overlaid;

  if (method === 'GET' && path === '/api/model') return json(modelView(compiled, meta));

  if (reading && path === '/api/matrix') {
    const target = parseTarget(query);
    return typeof target === 'string' ? problem(400, target) : json(matrixView(compiled, target));
  }

  if (reading && path.startsWith('/api/explain/')) {
    const id = decodeURIComponent(path.slice('/api/explain/'.length));
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
    const overlay = overlayPolicies(compiled.cluster, edit, ctx.namespace);
    if (!overlay.ok) return json({ ok: false, diagnostics: overlay.diagnostics.map(diagnosticView) } satisfies PreviewView);
    const diff = diffFlows(compiled, overlay.compiled);
    const view: PreviewView = { ok: true, model: modelView(overlay.compiled, meta), replaced: overlay.replaced, added: overlay.added, ...diff };
    return json(view);
  }

  if (path === '/api/export/policies' && (method === 'GET' || method === 'POST')) {
    let target = compiled;
    const edit = method === 'POST' ? text() : undefined;
    if (edit !== undefined && edit.trim() !== '') {
      const overlay = overlayPolicies(compiled.cluster, edit, ctx.namespace);
      if (!overlay.ok) return json({ ok: false, diagnostics: overlay.diagnostics.map(diagnosticView) }, 422);
      target = overlay.compiled;
    }
    return { status: 200, body: policiesYaml(target), contentType: 'application/yaml; charset=utf-8' };
  }

  if (path.startsWith('/api/lab/')) {
    const lab = ctx.source.lab;
    if (!lab) return problem(404, 'not following a lab: start the UI with `podwall ui --lab`');
    if (method === 'GET' && path === '/api/lab/counters') return json({ counters: lab.counters() } satisfies CountersView);
    // Probing opens thousands of real connections: a POST, so no cross-origin page can start it.
    if (method === 'POST' && path === '/api/lab/probe') {
      const reports = await lab.probe();
      return json(reports.map((r) => ({ ...r }) satisfies ProbeView));
    }
  }

  return problem(404, `no such API: ${method} ${path}`);
}
