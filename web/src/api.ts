// The page's only way to know anything: the server's JSON API. With an edit in progress, the
// questions are asked by POST with the editor's text so the answers include the edit.
import type { CheckView, CountersView, ExplainView, LintView, MatrixView, ModelView, PreviewView, ProbeView } from '../../src/web/types.js';

async function request<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok && res.status !== 422) {
    const problem = (await res.json().catch(() => ({ error: res.statusText }))) as { error?: string };
    throw new Error(problem.error ?? `${res.status}`);
  }
  return (await res.json()) as T;
}

const withEdit = (edit: string): { text: string } | undefined => (edit.trim() === '' ? undefined : { text: edit });

export const api = {
  model: () => request<ModelView>('/api/model'),
  preview: (text: string) => request<PreviewView>('/api/preview', { text }),
  matrix: (port: number, protocol: string, edit: string) =>
    request<MatrixView>(`/api/matrix?port=${port}&protocol=${protocol}`, withEdit(edit)),
  explain: (id: string, edit: string) => request<ExplainView>(`/api/explain/${encodeURIComponent(id)}`, withEdit(edit)),
  check: (from: string, to: string, port: number, protocol: string, edit: string) =>
    request<CheckView>(`/api/check?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&port=${port}&protocol=${protocol}`, withEdit(edit)),
  lint: (edit: string) => request<LintView>('/api/lint', withEdit(edit)),
  async exportPolicies(edit: string): Promise<string> {
    const res = await fetch('/api/export/policies', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: edit }) });
    if (!res.ok) throw new Error('the edit has errors: fix them before exporting');
    return res.text();
  },
  probe: () => request<ProbeView[]>('/api/lab/probe', {}),
  counters: () => request<CountersView>('/api/lab/counters'),
};
