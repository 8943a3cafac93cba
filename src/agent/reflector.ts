// A small list/watch reflector on @kubernetes/client-node's Watch: list (raw JSON, in pages), then
// watch from the list's resourceVersion; when the server closes a watch, watch again from the last
// seen version; on 410 Gone or a lost connection, list again (a full resync). A watchdog restarts
// a watch that went silent, because a stalled connection would otherwise look like a quiet
// cluster. The stream's resourceVersion (lists, events, bookmarks) is kept as the opaque string
// the server gave: only a caller that knows its server may interpret it. A resource that may not be
// served (a CRD's) reads as empty while the server answers 404, and is looked for again.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Manifest } from '../model/index.js';

export interface ReflectorEvents {
  /** The whole set after a (re)list. */
  replaced(items: Manifest[]): void;
  changed(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Manifest): void;
  /** The stream's version advanced without any object changing (a BOOKMARK). */
  bookmark?(): void;
  error?(err: unknown): void;
  restarted?(): void;
  /** An optional stream's resource is not served (404: its CRD is not installed); it reads as empty until it is. */
  notServed?(): void;
  /** An optional stream that was not served is served again (its CRD was installed). */
  served?(): void;
}

const keyOf = (o: Manifest): string => {
  const m = (o.metadata ?? {}) as { namespace?: string; name?: string };
  return `${m.namespace ?? ''}/${m.name ?? ''}`;
};

/** An HTTP error from the API server, with its status code (410 Gone: the version is too old). */
export class ApiStatusError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = 'ApiStatusError';
  }
}

/** GET one page of a list as raw JSON with the kubeconfig's TLS and credentials (client-node's typed lists turn timestamps into Dates). */
async function getJson(kc: KubeConfig, path: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  // The https options (CA, client certificate, token or exec credentials) the Watch itself uses.
  const init: { agent?: RequestOptions['agent']; headers?: Record<string, string>; auth?: string } = {};
  await kc.applyToHTTPSOptions(init as Parameters<KubeConfig['applyToHTTPSOptions']>[0]);
  const url = new URL(cluster.server + path);
  const body = await new Promise<string>((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', agent: init.agent, auth: init.auth, headers: { ...(init.headers ?? {}), Accept: 'application/json' }, timeout: 30_000, signal }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new ApiStatusError(`list ${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`, res.statusCode ?? 0))));
    });
    req.on('timeout', () => req.destroy(new Error(`list ${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
  return JSON.parse(body) as Record<string, unknown>;
}

/**
 * Lists a collection in pages of `limit` (following `continue`), as one consistent snapshot: the
 * server serves every page from the first page's resourceVersion. A continue token the server no
 * longer honours (410 Expired) starts the list over.
 */
export async function listRaw(kc: KubeConfig, path: string, options: { limit?: number; signal?: AbortSignal } = {}): Promise<{ items: Manifest[]; resourceVersion: string }> {
  const limit = options.limit ?? 500;
  for (let attempt = 0; ; attempt++) {
    const items: Manifest[] = [];
    let resourceVersion = '';
    let token: string | undefined;
    try {
      do {
        const query = new URLSearchParams({ limit: String(limit), ...(token ? { continue: token } : {}) });
        const list = (await getJson(kc, `${path}?${query.toString()}`, options.signal)) as { items?: Manifest[]; metadata?: { resourceVersion?: string; continue?: string }; kind?: string; apiVersion?: string };
        // List items come without kind and apiVersion; the list's kind names them.
        const kind = (list.kind ?? '').replace(/List$/, '');
        for (const i of list.items ?? []) items.push({ apiVersion: list.apiVersion, kind, ...i });
        if (!token) resourceVersion = list.metadata?.resourceVersion ?? '';
        token = list.metadata?.continue || undefined;
      } while (token);
      return { items, resourceVersion };
    } catch (err) {
      if (err instanceof ApiStatusError && err.statusCode === 410 && token && attempt < 5) continue;
      throw err;
    }
  }
}

export interface ReflectorOptions {
  /** Seconds the server keeps a watch open before closing it (we then watch again). */
  readonly watchTimeoutSeconds?: number;
  readonly retryMs?: number;
  /** Items per list page. */
  readonly pageSize?: number;
  /** A watch silent for longer than this (ms) is restarted; default: its timeout plus 30 s. */
  readonly maxSilenceMs?: number;
  /** How often the watchdog looks (ms). */
  readonly watchdogIntervalMs?: number;
  /**
   * The resource may not be served (a CRD's, not installed): a 404 on its list reads as an empty
   * collection, and the list is tried again every `notServedRetryMs`, so a later install is picked up.
   */
  readonly optional?: boolean;
  /** How often a resource that is not served is looked for again (ms). */
  readonly notServedRetryMs?: number;
}

/** What the agent reads of one stream: a Reflector, or a fake in tests. */
export interface Source {
  /** Listed at least once: its items are the whole collection. */
  readonly hasSynced: boolean;
  /** Milliseconds since the stream last showed signs of life. */
  readonly silentFor: number;
  /** The resourceVersion its items stand for (opaque). */
  readonly version: string;
  items(): Manifest[];
  run(signal: AbortSignal): Promise<void>;
}

export class Reflector implements Source {
  private readonly objects = new Map<string, Manifest>();
  private resourceVersion = '';
  private lastActivity = Date.now();
  private synced = false;
  private notServed = false;
  private current?: AbortController;

  constructor(
    private readonly kc: KubeConfig,
    /** e.g. `/api/v1/pods` */
    readonly path: string,
    private readonly events: ReflectorEvents,
    private readonly options: ReflectorOptions = {},
  ) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Milliseconds since the watch last showed signs of life (a resource that is not served has no watch to go silent). */
  get silentFor(): number {
    return this.notServed ? 0 : Date.now() - this.lastActivity;
  }

  /** Whether the server answered the last list of an optional resource with 404. */
  get served(): boolean {
    return !this.notServed;
  }

  items(): Manifest[] {
    return [...this.objects.values()];
  }

  /** The resourceVersion the stream has reached (opaque: compare it only if you know the server). */
  get version(): string {
    return this.resourceVersion;
  }

  /** Runs until the signal aborts; never throws (errors are reported and retried). */
  async run(signal: AbortSignal): Promise<void> {
    const timeout = this.options.watchTimeoutSeconds ?? 300;
    const retry = this.options.retryMs ?? 1000;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          const list = await this.list(signal);
          if (!list) {
            await sleep(this.options.notServedRetryMs ?? 60_000, signal);
            continue;
          }
          this.objects.clear();
          for (const o of list.items) this.objects.set(keyOf(o), o);
          this.resourceVersion = list.resourceVersion;
          this.synced = true;
          this.lastActivity = Date.now();
          this.events.replaced(this.items());
          needList = false;
        }
        const outcome = await this.watchOnce(timeout, signal);
        if (outcome === 'gone') needList = true;
        if (outcome === 'stalled' || outcome === 'gone') this.events.restarted?.();
      } catch (err) {
        if (signal.aborted) break;
        this.events.error?.(err);
        this.events.restarted?.();
        // After a lost connection, a full list: the one way to be sure nothing (a deletion) was missed.
        needList = true;
        await sleep(retry, signal);
      }
    }
  }

  /**
   * Lists the collection; undefined when an optional resource is not served, which then stands
   * for no objects (the first time, or when it stops being served, the set is replaced by none).
   */
  private async list(signal: AbortSignal): Promise<{ items: Manifest[]; resourceVersion: string } | undefined> {
    try {
      const list = await listRaw(this.kc, this.path, { limit: this.options.pageSize, signal });
      if (this.notServed) {
        this.notServed = false;
        this.events.served?.();
      }
      return list;
    } catch (err) {
      if (!(this.options.optional && err instanceof ApiStatusError && err.statusCode === 404)) throw err;
      const first = !this.notServed;
      this.notServed = true;
      this.lastActivity = Date.now();
      if (first) this.events.notServed?.();
      if (first || !this.synced || this.objects.size > 0) {
        this.objects.clear();
        this.resourceVersion = '';
        this.synced = true;
        this.events.replaced([]);
      }
      return undefined;
    }
  }

  /** One watch from the last resourceVersion; resolves when it ends. */
  private watchOnce(timeoutSeconds: number, signal: AbortSignal): Promise<'closed' | 'gone' | 'stalled'> {
    return new Promise((resolve, reject) => {
      let outcome: 'closed' | 'gone' | 'stalled' = 'closed';
      let finished = false;
      this.current = undefined;
      const maxSilence = this.options.maxSilenceMs ?? (timeoutSeconds + 30) * 1000;
      const watchdog = setInterval(() => {
        if (this.silentFor > maxSilence) {
          outcome = 'stalled';
          // A watch that never got its answer has no controller yet: give up on it all the same.
          if (this.current) this.current.abort();
          else finish();
        }
      }, this.options.watchdogIntervalMs ?? 5000);
      // Stopping does not wait for a watch still connecting: it is cut as soon as it connects.
      const onAbort = (): void => {
        this.current?.abort();
        finish();
      };
      signal.addEventListener('abort', onAbort);
      const finish = (err?: unknown): void => {
        if (finished) return;
        finished = true;
        clearInterval(watchdog);
        signal.removeEventListener('abort', onAbort);
        if (err && outcome === 'closed' && !signal.aborted) reject(err);
        else resolve(outcome);
      };
      this.lastActivity = Date.now();
      new Watch(this.kc)
        .watch(
          this.path,
          { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
          (type, object: Manifest) => {
            this.lastActivity = Date.now();
            if (type === 'ERROR') {
              const code = (object as { code?: number }).code;
              // 410: the version is too old; 504 (ResourceVersionTooLarge): the server has not
              // reached it (a restarted or lagging server). Either way, list again as client-go does.
              if (code === 410 || code === 504) outcome = 'gone';
              this.current?.abort();
              return;
            }
            const rv = ((object.metadata ?? {}) as { resourceVersion?: string }).resourceVersion;
            if (rv) this.resourceVersion = rv;
            if (type === 'BOOKMARK') {
              this.events.bookmark?.();
              return;
            }
            if (type === 'DELETED') this.objects.delete(keyOf(object));
            else this.objects.set(keyOf(object), object);
            this.events.changed(type as 'ADDED' | 'MODIFIED' | 'DELETED', object);
          },
          (err) => finish(err ?? undefined),
        )
        .then((controller) => {
          if (signal.aborted || finished) controller.abort();
          else this.current = controller;
        })
        .catch(finish);
    });
  }
}

/** Waits `ms`, or less if the signal aborts; leaves no listener behind (a long outage retries many times). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
