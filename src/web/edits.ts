// Evaluates the editor's text in one worker thread, one job at a time, each within a time limit:
// the server's event loop only reads bodies and writes answers, so a costly edit (the largest
// body, the worst YAML) delays other edits, never the model, the page or the event stream.
import { Worker } from 'node:worker_threads';
import type { CompiledCluster } from '../engine/index.js';
import { editProblem } from './api.js';

/** One request for the worker: the question, and the cluster snapshot it is asked against. */
export interface EditJob {
  readonly id: number;
  /** Identifies the cluster snapshot; `cluster` comes along only when the worker does not hold it yet. */
  readonly clusterId: number;
  readonly cluster?: unknown;
  readonly version: number;
  readonly kind: 'files' | 'lab';
  readonly title: string;
  readonly namespace: string;
  /** Path and query of the request. */
  readonly path: string;
  readonly body: unknown;
}

export interface EditAnswer {
  readonly id: number;
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

export interface Snapshot {
  readonly compiled: CompiledCluster;
  readonly version: number;
  readonly kind: 'files' | 'lab';
  readonly title: string;
}

export interface EditEvaluatorOptions {
  /**
   * How long one edit may take in the worker. The body cap keeps the worst edit near half a
   * second; an edit that takes this long means something in parsing or compiling went wrong,
   * and the worker is stopped and replaced.
   */
  readonly timeoutMs?: number;
  /** Edits waiting beyond this many are refused with 503 (the page asks again on its next change). */
  readonly maxQueued?: number;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Loading the worker (the model, the engine, the YAML parser) takes a fraction of a second; this long means it never will. */
const START_TIMEOUT_MS = 30_000;

interface Pending {
  readonly job: Omit<EditJob, 'cluster'>;
  readonly compiled: CompiledCluster;
  readonly resolve: (a: EditAnswer) => void;
}

/** The worker's entry: the compiled file beside this one, or, when running from source under tsx, the TypeScript file with tsx registered in the worker first. */
function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const tsx = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./edit-worker.ts', here).href;
    return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
  }
  return new Worker(new URL('./edit-worker.js', here));
}

export class EditEvaluator {
  private readonly timeoutMs: number;
  private readonly maxQueued: number;
  private worker: Worker | undefined;
  /** The worker has loaded and takes jobs. */
  private ready = false;
  private startTimer: NodeJS.Timeout | undefined;
  /** The cluster snapshot the current worker holds. */
  private held: CompiledCluster | undefined;
  private readonly ids = new WeakMap<CompiledCluster, number>();
  private nextClusterId = 1;
  private nextJobId = 1;
  private readonly queue: Pending[] = [];
  private running: { pending: Pending; timer: NodeJS.Timeout } | undefined;
  private closed = false;

  constructor(options: EditEvaluatorOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxQueued = options.maxQueued ?? 16;
  }

  /** Answers `path` (a POST with `body`) over `snapshot`, read by the caller in one step with its version. */
  evaluate(snapshot: Snapshot, namespace: string, path: string, body: unknown): Promise<EditAnswer> {
    const id = this.nextJobId++;
    if (this.closed) return Promise.resolve(answer(id, 503, { error: 'the server is stopping' }));
    if (this.queue.length >= this.maxQueued) {
      return Promise.resolve(answer(id, 503, { error: `${this.queue.length} edits are already waiting to be evaluated: try again` }));
    }
    let clusterId = this.ids.get(snapshot.compiled);
    if (clusterId === undefined) this.ids.set(snapshot.compiled, (clusterId = this.nextClusterId++));
    const job = { id, clusterId, version: snapshot.version, kind: snapshot.kind, title: snapshot.title, namespace, path, body };
    return new Promise((resolve) => {
      this.queue.push({ job, compiled: snapshot.compiled, resolve });
      this.next();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.resolve(answer(p.job.id, 503, { error: 'the server is stopping' }));
    if (this.running) this.finish(answer(this.running.pending.job.id, 503, { error: 'the server is stopping' }));
    const worker = this.worker;
    clearTimeout(this.startTimer);
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private next(): void {
    if (this.running || this.closed || this.queue.length === 0) return;
    const worker = this.ensureWorker();
    if (!this.ready) return;
    const pending = this.queue.shift()!;
    const job: EditJob = this.held === pending.compiled ? pending.job : { ...pending.job, cluster: pending.compiled.cluster };
    this.held = pending.compiled;
    const timer = setTimeout(() => {
      this.restart();
      this.finish(answer(pending.job.id, 422, editProblem(`evaluating the edit took longer than ${this.timeoutMs / 1000} s: nothing was computed`)));
    }, this.timeoutMs);
    this.running = { pending, timer };
    worker.postMessage(job);
  }

  private finish(a: EditAnswer): void {
    const running = this.running;
    if (!running || running.pending.job.id !== a.id) return;
    clearTimeout(running.timer);
    this.running = undefined;
    running.pending.resolve(a);
    this.next();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker();
    worker.on('message', (m: EditAnswer | 'ready') => {
      if (this.worker !== worker) return;
      if (m !== 'ready') return this.finish(m);
      clearTimeout(this.startTimer);
      this.ready = true;
      this.next();
    });
    // A worker that dies (out of memory, say) fails the job it held; the next job gets a new one.
    worker.on('error', (err) => this.lost(worker, `the edit worker failed: ${err.message}`));
    worker.on('exit', () => this.lost(worker, 'the edit worker stopped'));
    this.startTimer = setTimeout(() => this.lost(worker, `the edit worker did not start within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    this.worker = worker;
    this.ready = false;
    this.held = undefined;
    return worker;
  }

  /** The worker is gone: the job it held fails; if it never started, so do the waiting ones (a new worker would fail alike). */
  private lost(worker: Worker, message: string): void {
    if (this.worker !== worker) return;
    const started = this.ready;
    const running = this.running;
    this.restart();
    if (!started) for (const p of this.queue.splice(0)) p.resolve(answer(p.job.id, 500, { error: message }));
    if (running) this.finish(answer(running.pending.job.id, 500, { error: message }));
  }

  private restart(): void {
    const worker = this.worker;
    clearTimeout(this.startTimer);
    this.worker = undefined;
    this.ready = false;
    this.held = undefined;
    if (worker) void worker.terminate();
  }
}

function answer(id: number, status: number, body: unknown): EditAnswer {
  return { id, status, contentType: JSON_TYPE, text: JSON.stringify(body) };
}
