// Test fixtures for the lab API server: a server over a fresh store in a temporary directory, raw
// HTTPS requests, and watch streams that tests wait on by condition, never by time.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import type { ClientRequest, IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Manifest } from '../../model/index.js';
import { LabStore } from '../store.js';
import { LabApiClient } from './client.js';
import { labCredentials, writeKubeconfig, type Credentials } from './credentials.js';
import { LabApiServer, type ApiServerOptions } from './server.js';

export const PODS = '/api/v1/namespaces/default/pods';
export const NETPOL = '/apis/networking.k8s.io/v1/namespaces/default/networkpolicies';

export const meta = (m: Manifest): Record<string, unknown> => (m.metadata ?? {}) as Record<string, unknown>;

export const policy = (name: string, port = 3306, extra: Manifest = {}): Manifest => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, labels: { app: 'shop' } },
  spec: { podSelector: { matchLabels: { role: 'db' } }, ingress: [{ ports: [{ port }] }], ...extra },
});

export const pod = (name: string, labels: Record<string, string> = {}, spec: Manifest = {}): Manifest => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }] }], ...spec },
});

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  json(): Manifest;
}

export interface WatchEvent {
  readonly type: string;
  readonly object: Manifest;
}

/** How long a test waits for a condition before it fails, saying what it saw. */
const CONDITION_TIMEOUT_MS = 5000;

/** A watch stream being read: its events so far, and a way to wait until they say something. */
export class WatchStream {
  readonly events: WatchEvent[] = [];
  private buffer = '';
  private ended = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly status: number,
    private readonly req: ClientRequest,
  ) {}

  /** Feeds bytes of the stream (newline-separated JSON events). */
  push(chunk: string): void {
    this.buffer += chunk;
    let at: number;
    while ((at = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, at);
      this.buffer = this.buffer.slice(at + 1);
      if (line.trim() !== '') this.events.push(JSON.parse(line) as WatchEvent);
    }
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Resolves once `condition` holds over the events (or the stream ended and it still does not: then it fails). */
  until(condition: (events: readonly WatchEvent[]) => boolean, what = 'the expected events', timeoutMs = CONDITION_TIMEOUT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (condition(this.events)) {
          finish();
          resolve();
        } else if (this.ended) {
          finish();
          reject(new Error(`the watch ended without ${what}; it sent:\n${describeEvents(this.events)}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no ${what} within ${timeoutMs} ms; the watch sent:\n${describeEvents(this.events)}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.req.destroy();
  }
}

export function describeEvents(events: readonly WatchEvent[]): string {
  return events.map((e) => `  ${e.type} ${String(meta(e.object).name ?? '')} rv=${String(meta(e.object).resourceVersion ?? '')}`).join('\n') || '  (nothing)';
}

/** The resourceVersion an event carries, as a number (the lab's versions are; clients must not assume it). */
export const rvOf = (e: WatchEvent): number => Number(meta(e.object).resourceVersion);

export interface TestServer {
  readonly store: LabStore;
  readonly server: LabApiServer;
  readonly api: LabApiClient;
  readonly credentials: Credentials;
  readonly base: string;
  readonly dir: string;
  /** A kubeconfig for this server (for a real kubectl). */
  kubeconfig(): string;
  /** A raw request: headers and body as given, the answer unparsed. */
  request(method: string, path: string, options?: { body?: string | Buffer; headers?: Record<string, string | number>; chunked?: boolean }): Promise<RawResponse>;
  /** Opens a watch; resolves once the server has answered with its headers (it then hears every later write). */
  watch(path: string, headers?: Record<string, string>): Promise<WatchStream>;
  close(): Promise<void>;
}

/** A server over a fresh store holding the namespace `default`. */
export async function startTestServer(options: Partial<ApiServerOptions> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'podwall-api-'));
  const store = LabStore.open(join(dir, 'lab.db'));
  const credentials = await labCredentials(dir);
  const server = new LabApiServer({ store, credentials, port: 0, ...options });
  const { port } = await server.listen();
  const base = `https://127.0.0.1:${port}`;
  const api = new LabApiClient(base, credentials);
  const streams = new Set<WatchStream>();
  const auth = { Authorization: `Bearer ${credentials.token}` };
  const requestOptions = (method: string, headers: Record<string, string | number>): RequestOptions => ({ method, ca: credentials.caPem, headers: { ...auth, ...headers } });

  const ns = await api.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  assert.equal(ns.status, 201);

  return {
    store,
    server,
    api,
    credentials,
    base,
    dir,
    kubeconfig: () => writeKubeconfig(dir, 'test', base, credentials),
    request(method, path, { body, headers = {}, chunked = false } = {}) {
      return new Promise((resolve, reject) => {
        const sized: Record<string, number> = body !== undefined && !chunked ? { 'Content-Length': Buffer.byteLength(body) } : {};
        const req = request(new URL(path, base), requestOptions(method, { ...sized, ...headers }), (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json: () => JSON.parse(text.toString('utf8')) as Manifest });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        if (body !== undefined) req.write(body);
        req.end();
      });
    },
    watch(path, headers = {}) {
      return new Promise((resolve, reject) => {
        let opened = false;
        const req = request(new URL(path, base), requestOptions('GET', headers), (res) => {
          opened = true;
          const stream = new WatchStream(res.statusCode ?? 0, req);
          streams.add(stream);
          res.setEncoding('utf8');
          res.on('data', (d: string) => stream.push(d));
          res.on('end', () => stream.end());
          res.on('close', () => stream.end());
          resolve(stream);
        });
        req.on('error', (err) => (opened ? undefined : reject(err)));
        req.end();
      });
    },
    async close() {
      for (const s of streams) s.close();
      await server.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The kubectl the tests drive: $PODWALL_KUBECTL, else `kubectl` on PATH. */
export const KUBECTL = process.env.PODWALL_KUBECTL ?? 'kubectl';

/** The client's minor version (1.N), or 0 when there is no kubectl to run. */
export function kubectlMinor(): number {
  const version = spawnSync(KUBECTL, ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (version.status !== 0) return 0;
  return Number((JSON.parse(version.stdout) as { clientVersion?: { minor?: string } }).clientVersion?.minor?.replace(/\D/g, '') ?? 0);
}

export interface KubectlResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** Runs kubectl against a test server without blocking: the server it talks to lives in this process. */
export function runKubectl(t: TestServer, kubeconfig: string, args: readonly string[]): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile(KUBECTL, ['--cache-dir', join(t.dir, 'kube-cache'), ...args], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: kubeconfig, HOME: t.dir }, timeout: 30_000 }, (err, out, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out, err: stderr });
    });
  });
}

/** kubectl that must succeed: its output, or a failure that shows what it said. */
export async function kubectlOk(t: TestServer, kubeconfig: string, args: readonly string[]): Promise<string> {
  const r = await runKubectl(t, kubeconfig, args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} exited ${r.code}:\n${r.err}${r.out}`);
  return r.out;
}
