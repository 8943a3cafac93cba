// The UI's HTTP server: the JSON API, a server-sent event stream that says when the cluster (or
// a lab's counters) changed, and the built page. Listens on 127.0.0.1 unless told otherwise, and
// answers only requests addressed to a name it listens on (no DNS rebinding from web pages); a
// request from another origin gets nothing that costs or changes anything, and JSON bodies must
// say they are JSON, so no page elsewhere can post to it with a "simple" cross-origin request.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { handleApi } from './api.js';
import type { ClusterSource, SourceEvent } from './source.js';
import { defaultClientDir, serveStatic } from './static.js';

export interface UiServerOptions {
  readonly source: ClusterSource;
  /** 127.0.0.1 unless given. */
  readonly address?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly namespace?: string;
  /** The built page; found next to the server by default. */
  readonly clientDir?: string;
  /** The largest request body accepted (bytes). */
  readonly maxBodyBytes?: number;
}

export interface UiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Request bodies are policy texts from the editor: 128 KiB is hundreds of policies, and the
 * worst case (500 policies to parse, compile and diff) costs about 0.25 s here, so one request cannot
 * stall the page for others.
 */
export const MAX_BODY_BYTES = 128 * 1024;
/** Past the limit, at most this much more is read (and dropped) so the client sees its 413. */
const DRAIN_BYTES = 16 * 1024 * 1024;

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limit) return reject(new BodyTooLarge());
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        // Keep reading (and dropping) so the answer is a 413, not a reset connection.
        chunks.length = 0;
        if (size > limit + DRAIN_BYTES) req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => (size > limit ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json; charset=utf-8', close = false): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', ...(close ? { connection: 'close' } : {}) });
  res.end(typeof body === 'string' && !contentType.startsWith('application/json') ? body : JSON.stringify(body));
}

const bracket = (a: string): string => (a.includes(':') ? `[${a}]` : a);
const loopbackNames = ['127.0.0.1', 'localhost', '[::1]'];

/** Every address of this machine, for a server listening on all of them (refreshed now and then). */
let localCache: { at: number; names: string[] } | undefined;
function localAddresses(): string[] {
  if (!localCache || Date.now() - localCache.at > 5000) {
    const names = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => bracket(i.address.split('%')[0].toLowerCase())));
    localCache = { at: Date.now(), names };
  }
  return localCache.names;
}

/** The host names a request may use: loopback, the bound address, and with a wildcard bind every local address. */
function allowedHost(host: string | undefined, port: number, address: string): boolean {
  if (!host) return false;
  const wildcard = address === '0.0.0.0' || address === '::';
  const names = new Set([...loopbackNames, bracket(address.toLowerCase()), ...(wildcard ? localAddresses() : [])]);
  return [...names].some((n) => host.toLowerCase() === `${n}:${port}`);
}

/**
 * Whether a request comes from this page (or from no page at all, like curl): a browser sends
 * `Origin` on every cross-origin request that can change something, and `Sec-Fetch-Site` on all of
 * them. Anything from another site is refused, whatever its method or content type.
 */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) return false;
  const site = req.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin' || site === 'none';
}

const isJson = (req: IncomingMessage): boolean => /^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '');

function streamEvents(source: ClusterSource, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  const write = (event: SourceEvent | 'hello'): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify({ version: source.current().version })}\n\n`);
  };
  write('hello');
  const stop = source.subscribe(write);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  req.on('close', () => {
    stop();
    clearInterval(heartbeat);
  });
}

export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const address = options.address ?? '127.0.0.1';
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const clientDir = options.clientDir ?? defaultClientDir();
  const ctx = { source: options.source, namespace: options.namespace ?? 'default' };
  let port = 0;
  const open = new Set<ServerResponse>();

  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        if (!allowedHost(req.headers.host, port, address)) return send(res, 421, { error: 'unexpected Host header' });
        const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
        if (url.pathname.startsWith('/api/') && !sameOrigin(req)) return send(res, 403, { error: 'cross-origin requests are refused' });
        if (url.pathname === '/api/events') {
          open.add(res);
          res.on('close', () => open.delete(res));
          return streamEvents(options.source, req, res);
        }
        if (url.pathname.startsWith('/api/')) {
          let body: unknown;
          if (req.method === 'POST') {
            if (!isJson(req)) return send(res, 415, { error: 'POST bodies must be application/json' }, undefined, true);
            let text: string;
            try {
              text = await readBody(req, maxBody);
            } catch (err) {
              if (err instanceof BodyTooLarge) return send(res, 413, { error: `the body is over ${maxBody} bytes` }, undefined, true);
              throw err;
            }
            try {
              body = JSON.parse(text);
            } catch (err) {
              return send(res, 400, { error: `the body is not JSON: ${(err as Error).message}` });
            }
          }
          const r = await handleApi(ctx, req.method ?? 'GET', url, body);
          return send(res, r.status, r.body, r.contentType);
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
        serveStatic(clientDir, url.pathname, res);
      } catch (err) {
        // Whatever failed is said in one line, never a stack.
        if (!res.headersSent) send(res, 500, { error: (err as Error).message.split('\n')[0] });
        else res.end();
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
