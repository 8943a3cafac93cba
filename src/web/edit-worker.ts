// The worker thread that evaluates the editor's text (YAML parsing, validation, compiling, views):
// the costly part of the UI's API, kept off the server's event loop so one edit cannot stall
// other requests. Answers one job at a time with the serialised response.
import { parentPort } from 'node:worker_threads';
import { compileCluster, type CompiledCluster } from '../engine/index.js';
import type { Cluster } from '../model/index.js';
import { editProblem, handleApi } from './api.js';
import type { ClusterSource } from './source.js';
import type { EditAnswer, EditJob } from './edits.js';

let held: { id: number; compiled: CompiledCluster } | undefined;

const JSON_TYPE = 'application/json; charset=utf-8';

async function answer(job: EditJob): Promise<EditAnswer> {
  try {
    if (job.cluster) held = { id: job.clusterId, compiled: compileCluster(job.cluster as Cluster) };
    if (!held || held.id !== job.clusterId) return { id: job.id, status: 500, contentType: JSON_TYPE, text: JSON.stringify({ error: 'the edit worker does not hold the cluster asked about' }) };
  } catch (err) {
    return { id: job.id, status: 500, contentType: JSON_TYPE, text: JSON.stringify({ error: `the cluster could not be compiled: ${(err as Error).message}` }) };
  }
  const compiled = held.compiled;
  const source: ClusterSource = {
    kind: job.kind,
    title: job.title,
    current: () => ({ compiled, version: job.version }),
    subscribe: () => () => undefined,
    close: () => undefined,
  };
  try {
    const r = await handleApi({ source, namespace: job.namespace }, 'POST', new URL(job.path, 'http://ui.invalid'), job.body);
    const text = r.contentType && !r.contentType.startsWith('application/json') && typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    return { id: job.id, status: r.status, contentType: r.contentType ?? JSON_TYPE, text };
  } catch (err) {
    // Whatever the engine throws while answering about this text is about the text: the client's to fix.
    return { id: job.id, status: 422, contentType: JSON_TYPE, text: JSON.stringify(editProblem(`the edit could not be evaluated: ${(err as Error).message}`)) };
  }
}

parentPort!.on('message', (job: EditJob) => {
  void answer(job).then((a) => parentPort!.postMessage(a));
});
// Loaded: jobs may come (their time limit starts now, not while the worker loads).
parentPort!.postMessage('ready');
