// The UI's HTTP server: the JSON API, a server-sent event stream that says when the cluster (or
// a lab's counters) changed, and the built page. Listens on 127.0.0.1 unless told otherwise,
// answers only the Host names it is reached at (no DNS rebinding), takes API requests only from
// its own page (Origin, Sec-Fetch-Site, JSON bodies), and evaluates edits off its event loop.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { allowedMethods, handleApi } from './api.js';
import { EditEvaluator } from './edits.js';
import { allowedFetchSite, allowedHost, allowedOrigin, isJsonContentType, isLoopbackHost, urlHost, type Listening } from './guard.js';
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
  /** The largest request body accepted (bytes); MAX_BODY_BYTES by default. */
  readonly maxBodyBytes?: number;
  /** How long one edit may be evaluated (ms); 10 s by default. */
  readonly editTimeoutMs?: number;
}

export interface UiServer {
  /** Where to open the page: the address listened on, or loopback when listening on every address. */
  readonly url: string;
  /** Every address the page is reached at (for 0.0.0.0 or ::, loopback and each interface's address). */
  readonly urls: readonly string[];
  readonly port: number;
  /** Listening on an address other machines can reach. */
  readonly exposed: boolean;
  close(): Promise<void>;
}

/**
 * The largest request body, in bytes. The editor's text is NetworkPolicy YAML (a policy is 0.5-2
 * KB, so this is hundreds of them); the worst YAML at this size (flow sequences, thousands of
 * documents or rules) takes about a quarter of a second to parse, validate, compile and diff on
 * the development machine, and that happens in the edit worker, never on the event loop.
 */
export const MAX_BODY_BYTES = 128 * 1024;

/** How much of a refused body is read and dropped (so the client reads the answer) before the connection is cut. */
export const MAX_DISCARDED_BYTES = 16 * 1024 * 1024;

class BodyTooLarge extends Error {}

const tooLarge = (limit: number): string => `the request body is over ${limit} bytes, the most the UI takes`;

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Reads and drops what is left of a request body after it was answered, so the client, still
 * sending, gets the answer rather than a reset; past MAX_DISCARDED_BYTES the connection is cut.
 */
function discardRest(req: IncomingMessage): void {
  if (req.complete) return;
  let dropped = 0;
  req.removeAllListeners('data');
  req.on('data', (c: Buffer) => {
    dropped += c.length;
    if (dropped > MAX_DISCARDED_BYTES) req.socket.destroy();
  });
  req.resume();
}

/** The body, at most `limit` bytes: a larger declared Content-Length is refused before a byte is read, a longer body as soon as it passes the limit. */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        chunks.length = 0;
        req.pause();
        reject(new BodyTooLarge());
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendText(res: ServerResponse, status: number, text: string, contentType: string, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(text);
}

function send(res: ServerResponse, status: number, body: unknown, contentType = JSON_TYPE, headers: Readonly<Record<string, string>> = {}): void {
  sendText(res, status, typeof body === 'string' && !contentType.startsWith('application/json') ? body : JSON.stringify(body), contentType, headers);
}

/** Answers a request whose body will not be read, then drops that body. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers: Readonly<Record<string, string>> = {}): void {
  send(res, status, { error: message }, JSON_TYPE, headers);
  discardRest(req);
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

const isWildcard = (address: string): boolean => address === '0.0.0.0' || address === '::';

/** The URLs the page is reached at when listening on `address`. */
function reachableUrls(address: string, port: number): string[] {
  const url = (a: string): string => `http://${urlHost(a)}:${port}/`;
  if (!isWildcard(address)) return [url(address)];
  const others = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && !i.internal && (i.family === 'IPv4' || (address === '::' && !i.address.startsWith('fe80:'))))
    .map((i) => url(i!.address));
  return [url(address === '::' ? '::1' : '127.0.0.1'), ...new Set(others)];
}

export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const address = options.address ?? '127.0.0.1';
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const clientDir = options.clientDir ?? defaultClientDir();
  const ctx = { source: options.source, namespace: options.namespace ?? 'default' };
  const exposed = !isLoopbackHost(urlHost(address));
  let listening: Listening = { port: 0, exposed, hostName: hostname().toLowerCase() };
  const open = new Set<ServerResponse>();
  const edits = new EditEvaluator(options.editTimeoutMs !== undefined ? { timeoutMs: options.editTimeoutMs } : {});

  const serveApi = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const method = req.method ?? 'GET';
    if (!allowedOrigin(req.headers.origin, req.headers.host) || !allowedFetchSite(req.headers['sec-fetch-site'] as string | undefined)) {
      return refuse(req, res, 403, 'the API answers only its own page: requests from other origins are refused');
    }
    const methods = allowedMethods(url.pathname);
    if (!methods) return refuse(req, res, 404, `no such API: ${method} ${url.pathname}`);
    if (!methods.includes(method)) {
      return refuse(req, res, 405, `${method} ${url.pathname}: use ${methods.join(' or ')}`, { allow: methods.join(', ') });
    }
    if (url.pathname === '/api/events') {
      open.add(res);
      res.on('close', () => open.delete(res));
      return streamEvents(options.source, req, res);
    }
    let body: unknown;
    if (method === 'POST') {
      if (!isJsonContentType(req.headers['content-type'])) return refuse(req, res, 415, 'the body must be JSON, sent as Content-Type: application/json');
      let text: string;
      try {
        text = await readBody(req, maxBody);
      } catch (err) {
        if (err instanceof BodyTooLarge) return refuse(req, res, 413, tooLarge(maxBody));
        throw err;
      }
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text);
        } catch (err) {
          return send(res, 400, { error: `the body is not JSON: ${(err as Error).message}` });
        }
        if (body === null || typeof body !== 'object' || Array.isArray(body)) return send(res, 400, { error: 'the body must be a JSON object, such as {"text": "<NetworkPolicy YAML>"}' });
      }
      if (!url.pathname.startsWith('/api/lab/')) {
        // The model and its version in one step: the answer describes exactly the cluster it names.
        const { compiled, version } = options.source.current();
        const snapshot = { compiled, version, kind: options.source.kind, title: options.source.title };
        const a = await edits.evaluate(snapshot, ctx.namespace, url.pathname + url.search, body);
        return sendText(res, a.status, a.text, a.contentType);
      }
    }
    const r = await handleApi(ctx, method, url, body);
    return send(res, r.status, r.body, r.contentType, r.headers);
  };

  const server: Server = createServer({ requestTimeout: 60_000, headersTimeout: 20_000 }, (req, res) => {
    void (async () => {
      try {
        if (!allowedHost(req.headers.host, req.socket.localAddress, listening)) return refuse(req, res, 421, 'unexpected Host header: open the page at the address the UI printed');
        const url = new URL(req.url ?? '/', 'http://ui.invalid');
        if (url.pathname.startsWith('/api/')) return await serveApi(req, res, url);
        if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(req, res, 405, 'method not allowed', { allow: 'GET, HEAD' });
        serveStatic(clientDir, url.pathname, res);
      } catch (err) {
        // A bug, not the client's doing: said in one line, never with a stack.
        if (!res.headersSent) refuse(req, res, 500, `internal error: ${(err as Error).message}`);
        else res.end();
      }
    })();
  });

  // `Expect: 100-continue` (curl's large uploads): a body declared too large is refused before it is sent.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > maxBody) return send(res, 413, { error: tooLarge(maxBody) }, JSON_TYPE, { connection: 'close' });
    res.writeContinue();
    server.emit('request', req, res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  listening = { ...listening, port };
  const urls = reachableUrls(address, port);
  return {
    url: urls[0],
    urls,
    port,
    exposed,
    close: async () => {
      await edits.close();
      await new Promise<void>((resolve) => {
        for (const res of open) res.end();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
