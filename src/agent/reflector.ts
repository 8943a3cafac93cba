// A small list/watch reflector on @kubernetes/client-node's Watch: list (raw JSON), then watch
// from the list's resourceVersion; when the server closes a watch, watch again from the last seen
// version; on 410 Gone or a lost connection, list again (a full resync). A watchdog restarts a watch that went silent, because a
// stalled connection would otherwise look like a quiet cluster.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { Watch, type KubeConfig } from '@kubernetes/client-node';

type Manifest = Record<string, unknown>;

export interface ReflectorEvents {
  /** The whole set after a (re)list. */
  replaced(items: Manifest[]): void;
  changed(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Manifest): void;
  error?(err: unknown): void;
  restarted?(): void;
}

const keyOf = (o: Manifest): string => {
  const m = (o.metadata ?? {}) as { namespace?: string; name?: string };
  return `${m.namespace ?? ''}/${m.name ?? ''}`;
};

/** GET a list as raw JSON with the kubeconfig's TLS and credentials (client-node's typed lists turn timestamps into Dates). */
export async function listRaw(kc: KubeConfig, path: string): Promise<{ items: Manifest[]; resourceVersion: string }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  // The https options (CA, client certificate, token or exec credentials) the Watch itself uses.
  const init: { agent?: RequestOptions['agent']; headers?: Record<string, string>; auth?: string } = {};
  await kc.applyToHTTPSOptions(init as Parameters<KubeConfig['applyToHTTPSOptions']>[0]);
  const url = new URL(cluster.server + path);
  const body = await new Promise<string>((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'GET', agent: init.agent, auth: init.auth, headers: { ...(init.headers ?? {}), Accept: 'application/json' }, timeout: 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(Object.assign(new Error(`list ${path}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`), { statusCode: res.statusCode }))));
    });
    req.on('timeout', () => req.destroy(new Error(`list ${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
  const list = JSON.parse(body) as { items?: Manifest[]; metadata?: { resourceVersion?: string }; kind?: string; apiVersion?: string };
  // List items come without kind and apiVersion; the list's kind names them.
  const kind = (list.kind ?? '').replace(/List$/, '');
  const items = (list.items ?? []).map((i) => ({ apiVersion: list.apiVersion, kind, ...i }));
  return { items, resourceVersion: list.metadata?.resourceVersion ?? '' };
}

export interface ReflectorOptions {
  /** Seconds the server keeps a watch open before closing it (we then watch again). */
  readonly watchTimeoutSeconds?: number;
  readonly retryMs?: number;
}

export class Reflector {
  private readonly objects = new Map<string, Manifest>();
  private resourceVersion = '';
  private lastActivity = Date.now();
  private synced = false;
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

  /** Milliseconds since the watch last showed signs of life. */
  get silentFor(): number {
    return Date.now() - this.lastActivity;
  }

  items(): Manifest[] {
    return [...this.objects.values()];
  }

  /** Runs until the signal aborts; never throws (errors are reported and retried). */
  async run(signal: AbortSignal): Promise<void> {
    const timeout = this.options.watchTimeoutSeconds ?? 300;
    const retry = this.options.retryMs ?? 1000;
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          const list = await listRaw(this.kc, this.path);
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

  /** One watch from the last resourceVersion; resolves when it ends. */
  private watchOnce(timeoutSeconds: number, signal: AbortSignal): Promise<'closed' | 'gone' | 'stalled'> {
    return new Promise((resolve, reject) => {
      let outcome: 'closed' | 'gone' | 'stalled' = 'closed';
      let finished = false;
      const watchdog = setInterval(() => {
        if (this.silentFor > (timeoutSeconds + 30) * 1000) {
          outcome = 'stalled';
          this.current?.abort();
        }
      }, 5000);
      const onAbort = (): void => this.current?.abort();
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
              if (code === 410) outcome = 'gone';
              this.current?.abort();
              return;
            }
            const rv = ((object.metadata ?? {}) as { resourceVersion?: string }).resourceVersion;
            if (rv) this.resourceVersion = rv;
            if (type === 'BOOKMARK') return;
            if (type === 'DELETED') this.objects.delete(keyOf(object));
            else this.objects.set(keyOf(object), object);
            this.events.changed(type as 'ADDED' | 'MODIFIED' | 'DELETED', object);
          },
          (err) => finish(err ?? undefined),
        )
        .then((controller) => {
          this.current = controller;
          if (signal.aborted || finished) controller.abort();
        })
        .catch(finish);
    });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
