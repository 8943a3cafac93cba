// The UI's HTTP server: the JSON API, a server-sent event stream that says when the cluster (or
// a lab's counters) changed, and the built page. Listens on 127.0.0.1 unless told otherwise, and
// answers only requests addressed to the name it listens on (no DNS rebinding from web pages).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
}

export interface UiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body over 1 MiB'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(typeof body === 'string' && !contentType.startsWith('application/json') ? body : JSON.stringify(body));
}

function allowedHost(host: string | undefined, port: number, address: string): boolean {
  if (!host) return false;
  const names = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${address.includes(':') ? `[${address}]` : address}:${port}`]);
  return names.has(host.toLowerCase());
}

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
  const clientDir = options.clientDir ?? defaultClientDir();
  const ctx = { source: options.source, namespace: options.namespace ?? 'default' };
  let port = 0;
  const open = new Set<ServerResponse>();

  const server: Server = createServer((req, res) => {
    void (async () => {
      try {
        if (!allowedHost(req.headers.host, port, address)) return send(res, 421, { error: 'unexpected Host header' });
        const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
        if (url.pathname === '/api/events') {
          open.add(res);
          res.on('close', () => open.delete(res));
          return streamEvents(options.source, req, res);
        }
        if (url.pathname.startsWith('/api/')) {
          let body: unknown;
          if (req.method === 'POST') {
            try {
              body = JSON.parse(await readBody(req));
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
        if (!res.headersSent) send(res, 500, { error: (err as Error).message });
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
