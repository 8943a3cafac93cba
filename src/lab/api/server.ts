// The lab's Kubernetes API server: HTTPS on loopback, bearer-token authentication, discovery,
// OpenAPI, and the REST verbs (with watch) for Namespaces, Pods and NetworkPolicies over the lab
// store, so that plain kubectl and @kubernetes/client-node work against the lab.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { parse as parseYAML } from 'yaml';
import type { LabStore, StoreEvent } from '../store.js';
import type { Credentials } from './credentials.js';
import { openAPIv2, openAPIv3, openAPIv3Index } from './openapi.js';
import { encodeOpenAPIv2, OPENAPI_V2_PROTOBUF } from './openapi-proto.js';
import { ApiError, Registry, type FieldValidation, type PatchType } from './registry.js';
import { apiVersionOf, RESOURCES, tableCells, tableColumns, VERBS, type Resource } from './resources.js';

type Manifest = Record<string, unknown>;

export interface ApiServerOptions {
  readonly store: LabStore;
  readonly credentials: Credentials;
  readonly host?: string;
  readonly port?: number;
}

export const SERVER_VERSION = { major: '1', minor: '31', gitVersion: 'v1.31.0-podwall', gitCommit: 'podwall', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'n/a', compiler: 'podwall', platform: 'linux/amd64' };

const MAX_BODY = 4 * 1024 * 1024;

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(text: string, contentType: string): unknown {
  try {
    return contentType.includes('yaml') ? parseYAML(text) : JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `the request body is not valid ${contentType.includes('yaml') ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
}

function patchType(contentType: string): PatchType {
  if (contentType.startsWith('application/merge-patch+json')) return 'merge';
  if (contentType.startsWith('application/json-patch+json')) return 'json';
  if (contentType.startsWith('application/strategic-merge-patch+json')) return 'strategic';
  throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
}

function fieldValidation(query: URLSearchParams): FieldValidation {
  const v = query.get('fieldValidation') ?? 'Warn';
  if (v !== 'Strict' && v !== 'Warn' && v !== 'Ignore') throw new ApiError(400, 'BadRequest', `fieldValidation must be one of Strict, Warn, Ignore, got "${v}"`);
  return v;
}

const wantsTable = (req: IncomingMessage): boolean => /as=Table/.test(req.headers.accept ?? '');

interface Route {
  readonly resource: Resource;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

/** /api/v1/namespaces/x/pods/y/status -> pods in x, named y, subresource status. */
function route(path: string): Route | 'events' | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts[1] === 'v1') {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1];
    if (parts[2] !== 'v1') return undefined;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = decodeURIComponent(rest[1]);
    rest = rest.slice(2);
  }
  if (group === '' && rest[0] === 'events') return 'events';
  const resource = RESOURCES.find((r) => r.group === group && r.plural === rest[0]);
  if (!resource) return undefined;
  if (namespace !== undefined && !resource.namespaced) return undefined;
  return { resource, namespace, name: rest[1] !== undefined ? decodeURIComponent(rest[1]) : undefined, subresource: rest[2] };
}

function discovery(host: string): Record<string, unknown> {
  const resourceList = (gv: string): Manifest => ({
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv,
    resources: RESOURCES.filter((r) => apiVersionOf(r) === gv).flatMap((r) => [
      { name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: [...VERBS], shortNames: [...r.shortNames] },
      ...(r.kind === 'NetworkPolicy' ? [] : [{ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] }]),
    ]),
  });
  const group = { name: 'networking.k8s.io', versions: [{ groupVersion: 'networking.k8s.io/v1', version: 'v1' }], preferredVersion: { groupVersion: 'networking.k8s.io/v1', version: 'v1' } };
  return {
    '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }] },
    '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [group] },
    '/api/v1': resourceList('v1'),
    '/apis/networking.k8s.io': { kind: 'APIGroup', apiVersion: 'v1', ...group },
    '/apis/networking.k8s.io/v1': resourceList('networking.k8s.io/v1'),
    '/version': SERVER_VERSION,
  };
}

export class LabApiServer {
  readonly registry: Registry;
  private server?: Server;
  private readonly watches = new Set<ServerResponse>();
  private readonly openapiHash: string;

  constructor(private readonly options: ApiServerOptions) {
    this.registry = new Registry(options.store);
    this.openapiHash = createHash('sha256').update(JSON.stringify(openAPIv2())).digest('hex').slice(0, 16);
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  listen(): Promise<{ host: string; port: number }> {
    const host = this.options.host ?? '127.0.0.1';
    this.server = createServer({ cert: this.options.credentials.certPem, key: this.options.credentials.keyPem }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => this.fail(res, err));
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port ?? 6443, host, () => {
        const address = this.server!.address();
        resolve({ host, port: typeof address === 'object' && address ? address.port : (this.options.port ?? 6443) });
      });
    });
  }

  async close(): Promise<void> {
    for (const res of this.watches) res.end();
    this.watches.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  private fail(res: ServerResponse, err: unknown): void {
    const apiError = err instanceof ApiError ? err : new ApiError(500, 'InternalError', `an error on the server ("${(err as Error).message}") has prevented the request from succeeding`);
    if (res.headersSent) res.end();
    else send(res, apiError.code, apiError.status());
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    const expected = Buffer.from(`Bearer ${this.options.credentials.token}`);
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://lab');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (['/healthz', '/livez', '/readyz'].includes(path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (!this.authorized(req)) throw new ApiError(401, 'Unauthorized', 'Unauthorized');

    const host = req.headers.host ?? '127.0.0.1';
    const fixed = discovery(host)[path];
    if (fixed && req.method === 'GET') return send(res, 200, fixed);
    if (path === '/openapi/v2' && req.method === 'GET') {
      // kubectl 1.2x asks for (and needs) the protobuf form; newer clients take JSON.
      if ((req.headers.accept ?? '').includes('protobuf')) {
        const body = encodeOpenAPIv2(openAPIv2());
        res.writeHead(200, { 'Content-Type': OPENAPI_V2_PROTOBUF, 'Content-Length': body.length });
        res.end(body);
        return;
      }
      return send(res, 200, openAPIv2());
    }
    if (path === '/openapi/v3' && req.method === 'GET') return send(res, 200, openAPIv3Index(this.openapiHash));
    if (path.startsWith('/openapi/v3/') && req.method === 'GET') {
      const gv = path.slice('/openapi/v3/'.length).replace(/^apis?\//, '');
      const doc = openAPIv3(gv);
      if (doc) return send(res, 200, doc);
    }

    const target = route(path);
    if (target === 'events') return send(res, 200, { kind: 'EventList', apiVersion: 'v1', metadata: { resourceVersion: String(this.options.store.currentResourceVersion()) }, items: [] });
    if (!target) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const { resource: r, name, subresource } = target;
    const namespace = target.namespace ?? '';
    if (subresource !== undefined && (subresource !== 'status' || r.kind === 'NetworkPolicy')) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const query = url.searchParams;
    const selectors = { labelSelector: query.get('labelSelector') ?? undefined, fieldSelector: query.get('fieldSelector') ?? undefined };
    const method = req.method ?? 'GET';
    const contentType = req.headers['content-type'] ?? 'application/json';
    const written = (code: number, w: { object: Manifest; warnings: readonly string[] }) =>
      send(res, code, w.object, w.warnings.length > 0 ? { Warning: w.warnings.map((m) => `299 - ${JSON.stringify(m)}`).join(', ') } : {});

    if (name === undefined) {
      switch (method) {
        case 'GET':
          if (query.get('watch') === 'true' || query.get('watch') === '1') return this.watch(req, res, r, target.namespace, selectors, query);
          return this.sendList(req, res, r, target.namespace, selectors);
        case 'POST':
          if (r.namespaced && target.namespace === undefined) throw new ApiError(405, 'MethodNotAllowed', 'create needs a namespace in the path');
          return written(201, this.registry.create(r, namespace, parseBody(await readBody(req), contentType), fieldValidation(query)));
        case 'DELETE': {
          const deleted = this.registry.deleteCollection(r, target.namespace, selectors);
          return send(res, 200, { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(this.options.store.currentResourceVersion()) }, items: deleted });
        }
        default:
          throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
      }
    }
    const status = subresource === 'status' ? 'status' : undefined;
    switch (method) {
      case 'GET': {
        const object = this.registry.get(r, namespace, name);
        return send(res, 200, wantsTable(req) ? this.table(r, [object]) : object);
      }
      case 'PUT':
        return written(200, this.registry.update(r, namespace, name, parseBody(await readBody(req), contentType), fieldValidation(query), status));
      case 'PATCH': {
        const type = patchType(contentType);
        return written(200, this.registry.patch(r, namespace, name, type, parseBody(await readBody(req), 'application/json'), fieldValidation(query), status));
      }
      case 'DELETE':
        return send(res, 200, this.registry.delete(r, namespace, name));
      default:
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  }

  private table(r: Resource, items: readonly Manifest[], withColumns = true): Manifest {
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: String(this.options.store.currentResourceVersion()) },
      columnDefinitions: withColumns ? tableColumns(r) : [],
      rows: items.map((m) => ({
        cells: tableCells(r, m),
        object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: m.metadata },
      })),
    };
  }

  private sendList(req: IncomingMessage, res: ServerResponse, r: Resource, namespace: string | undefined, selectors: { labelSelector?: string; fieldSelector?: string }): void {
    const { items, resourceVersion } = this.registry.list(r, namespace, selectors);
    if (wantsTable(req)) return send(res, 200, this.table(r, items));
    send(res, 200, { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(resourceVersion) }, items });
  }

  /**
   * A watch: from `resourceVersion` (every later change, once, in order), or from now with the
   * current objects as ADDED when it is empty or "0"; 410 Gone when the log no longer reaches back.
   * An object that stops (or starts) matching the selectors is seen as DELETED (or ADDED).
   */
  private watch(req: IncomingMessage, res: ServerResponse, r: Resource, namespace: string | undefined, selectors: { labelSelector?: string; fieldSelector?: string }, query: URLSearchParams): void {
    const store = this.options.store;
    const match = this.registry.matcher(r, selectors);
    const inScope = (e: StoreEvent): boolean => e.object.kind === r.kind && (namespace === undefined || !r.namespaced || e.object.namespace === namespace);
    const table = wantsTable(req);
    const fromText = query.get('resourceVersion') ?? '';
    const from = fromText === '' || fromText === '0' ? undefined : Number(fromText);
    if (from !== undefined && !Number.isInteger(from)) throw new ApiError(400, 'BadRequest', `invalid resource version: ${fromText}`);

    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    // Headers go out at once, as the apiserver sends them: a client's watch is established (and
    // can be cancelled) before the first event.
    res.flushHeaders();
    this.watches.add(res);
    let columnsSent = false;
    const write = (type: string, object: Manifest): void => {
      const body = table && type !== 'ERROR' && type !== 'BOOKMARK' ? this.table(r, [object], !columnsSent) : object;
      if (table) columnsSent = true;
      res.write(`${JSON.stringify({ type, object: body })}\n`);
    };
    const visible = new Set<string>();
    const key = (e: StoreEvent): string => `${e.object.namespace}/${e.object.name}`;
    const deliver = (e: StoreEvent): void => {
      if (!inScope(e)) return;
      const object = this.registry.present(r, e.object);
      const matches = e.type !== 'DELETED' && match(object);
      const was = visible.has(key(e));
      if (e.type === 'DELETED') {
        if (was || match(object)) write('DELETED', object);
        visible.delete(key(e));
      } else if (matches) {
        write(was ? 'MODIFIED' : 'ADDED', object);
        visible.add(key(e));
      } else if (was) {
        write('DELETED', object);
        visible.delete(key(e));
      }
    };

    // Subscribe first so nothing committed between the replay and the live feed is lost.
    const buffered: StoreEvent[] = [];
    let live = false;
    // With bookmarks asked for, every advance of the store (of any kind) is followed by a BOOKMARK
    // at the store's version, once this stream holds every event up to it: a client then knows it
    // has seen everything up to that version on every stream, not just on the busiest one.
    const bookmarking = query.get('allowWatchBookmarks') === 'true';
    let bookmarkDue = false;
    const bookmark = (): void => {
      bookmarkDue = false;
      if (!res.writableEnded) write('BOOKMARK', { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(store.currentResourceVersion()) } });
    };
    const followStore = (): void => {
      if (!bookmarking || bookmarkDue) return;
      bookmarkDue = true;
      // Events are emitted as each write commits, so by the next turn every event up to the
      // store's version has been written to this stream.
      setImmediate(bookmark);
    };
    const unsubscribe = store.subscribe((e) => {
      if (!live) return void buffered.push(e);
      deliver(e);
      followStore();
    });
    let last: number;
    if (from === undefined) {
      for (const o of store.list(r.kind, r.namespaced ? namespace : undefined)) deliver({ type: 'ADDED', object: o });
      last = store.currentResourceVersion();
    } else {
      const replay = store.eventsSince(from, r.kind);
      if (replay === undefined) {
        write('ERROR', { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${store.currentResourceVersion()})`, reason: 'Expired', code: 410 });
        unsubscribe();
        this.watches.delete(res);
        res.end();
        return;
      }
      for (const o of store.list(r.kind, r.namespaced ? namespace : undefined)) {
        if (o.resourceVersion <= from && match(this.registry.present(r, o))) visible.add(`${o.namespace}/${o.name}`);
      }
      for (const e of replay) deliver(e);
      last = replay.length > 0 ? replay[replay.length - 1].object.resourceVersion : from;
    }
    for (const e of buffered) if (e.object.resourceVersion > last) deliver(e);
    live = true;

    if (buffered.length > 0) followStore();
    const bookmarks = bookmarking ? setInterval(bookmark, 30_000) : undefined;
    const timeout = Number(query.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    const stop = (): void => {
      unsubscribe();
      if (bookmarks) clearInterval(bookmarks);
      if (timer) clearTimeout(timer);
      this.watches.delete(res);
    };
    res.on('close', stop);
    req.on('close', stop);
  }
}
