// The lab's Kubernetes API server: HTTPS on loopback, bearer-token authentication, discovery,
// OpenAPI, and the REST verbs (with watch) for Namespaces, Pods, Services, Nodes, NetworkPolicies
// and the admin policy kinds (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy,
// served as their CRDs are) over the lab store, so that plain kubectl and @kubernetes/client-node work.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Manifest } from '../../model/index.js';
import type { LabStore } from '../store.js';
import { bodyLimit, parseBody, readBody } from './body.js';
import type { Credentials } from './credentials.js';
import { openAPIv2, openAPIv3, openAPIv3Index, patchMediaTypes } from './openapi.js';
import { encodeOpenAPIv2, OPENAPI_V2_PROTOBUF } from './openapi-proto.js';
import { ListPager, parseLimit } from './paging.js';
import { ApiError, Registry, type FieldValidation, type PatchType, type Selectors } from './registry.js';
import { apiVersionOf, RESOURCES, tableCells, tableColumns, VERBS, type Resource } from './resources.js';
import { parseResourceVersion, RESOURCE_VERSION_WAIT_MS, serveWatch, tooLargeResourceVersion, waitForResourceVersion } from './watch.js';

export interface ApiServerOptions {
  readonly store: LabStore;
  readonly credentials: Credentials;
  readonly host?: string;
  readonly port?: number;
  /** How long a request naming a resourceVersion the store has not reached waits for it (ms). */
  readonly resourceVersionWaitMs?: number;
  /** The range Services' ClusterIPs are allocated from; default 10.96.0.0/16 (DEFAULT_SERVICE_CIDR). */
  readonly serviceCIDR?: string;
}

export const SERVER_VERSION = { major: '1', minor: '31', gitVersion: 'v1.31.0-podwall', gitCommit: 'podwall', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'n/a', compiler: 'podwall', platform: 'linux/amd64' };

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * The patch a Content-Type names. A custom resource takes no strategic merge patch: the
 * apiextensions apiserver answers 415 with the types it accepts (kubectl apply sends custom
 * resources a JSON merge patch, having found no strategic type among them in the OpenAPI).
 */
function patchType(contentType: string, r: Resource): PatchType {
  if (contentType.startsWith('application/merge-patch+json')) return 'merge';
  if (contentType.startsWith('application/json-patch+json')) return 'json';
  if (contentType.startsWith('application/strategic-merge-patch+json') && !r.custom) return 'strategic';
  throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${patchMediaTypes(r).join(', ')}`);
}

function fieldValidation(query: URLSearchParams): FieldValidation {
  const v = query.get('fieldValidation') ?? 'Warn';
  if (v !== 'Strict' && v !== 'Warn' && v !== 'Ignore') throw new ApiError(400, 'BadRequest', `fieldValidation must be one of Strict, Warn, Ignore, got "${v}"`);
  return v;
}

const wantsTable = (req: IncomingMessage): boolean => /as=Table/.test(req.headers.accept ?? '');

/**
 * Splits a request URI into its path and query. Percent-encoding that does not decode (a stray
 * `%`, bytes that are not UTF-8) is 400, as Go's server refuses such a URI, not a failure inside.
 */
function parseRequestURI(raw: string): { path: string; query: URLSearchParams } {
  const at = raw.indexOf('?');
  const path = at < 0 ? raw : raw.slice(0, at);
  const query = at < 0 ? '' : raw.slice(at + 1);
  try {
    decodeURIComponent(path);
    for (const part of query.split('&')) decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    throw new ApiError(400, 'BadRequest', 'the request URI holds malformed percent-encoding');
  }
  return { path: path.replace(/\/+$/, '') || '/', query: new URLSearchParams(query) };
}

interface Route {
  readonly resource: Resource;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

/** /api/v1/namespaces/x/pods/y/status -> pods in x, named y, subresource status. */
function route(path: string): Route | 'events' | undefined {
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  let rest: string[];
  let group: string;
  let version: string;
  if (parts[0] === 'api' && parts[1] === 'v1') {
    group = '';
    version = 'v1';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return undefined;
  const served = RESOURCES.filter((r) => r.group === group && r.version === version);
  let namespace: string | undefined;
  // namespaces/x/pods is a collection in x; namespaces/x/status is namespace x's subresource.
  if (rest[0] === 'namespaces' && rest.length >= 3 && served.some((r) => r.namespaced && r.plural === rest[2])) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (group === '' && rest[0] === 'events' && rest.length === 1) return 'events';
  const resource = served.find((r) => r.plural === rest[0]);
  if (!resource || rest.length > 3) return undefined;
  if (namespace !== undefined && !resource.namespaced) return undefined;
  return { resource, namespace, name: rest[1], subresource: rest[2] };
}

/** The versions of a group, most preferred first (Kubernetes' version priority: v1 before v1alpha2 before v1alpha1). */
function groupVersions(group: string): string[] {
  const rank = (v: string): number => (v === 'v1' ? 0 : v === 'v1alpha2' ? 1 : 2);
  return [...new Set(RESOURCES.filter((r) => r.group === group).map((r) => r.version))].sort((a, b) => rank(a) - rank(b));
}

/**
 * Discovery documents by path. The admin policy kinds are listed as the apiextensions apiserver
 * lists a CRD's resources: the resource with its short name and every verb, and its status subresource.
 */
function discovery(host: string): Record<string, unknown> {
  const resourceList = (gv: string): Manifest => ({
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv,
    resources: RESOURCES.filter((r) => apiVersionOf(r) === gv).flatMap((r) => [
      { name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: [...VERBS], shortNames: [...r.shortNames], ...(r.categories ? { categories: [...r.categories] } : {}) },
      ...(r.status ? [{ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] }] : []),
    ]),
  });
  const groups = [...new Set(RESOURCES.map((r) => r.group).filter((g) => g !== ''))].map((name) => {
    const versions = groupVersions(name).map((version) => ({ groupVersion: `${name}/${version}`, version }));
    return { name, versions, preferredVersion: versions[0] };
  });
  const documents: Record<string, unknown> = {
    '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }] },
    '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups },
    '/api/v1': resourceList('v1'),
    '/version': SERVER_VERSION,
  };
  for (const group of groups) {
    documents[`/apis/${group.name}`] = { kind: 'APIGroup', apiVersion: 'v1', ...group };
    for (const v of group.versions) documents[`/apis/${v.groupVersion}`] = resourceList(v.groupVersion);
  }
  return documents;
}

export class LabApiServer {
  readonly registry: Registry;
  private server?: Server;
  private readonly watches = new Set<ServerResponse>();
  private readonly pager = new ListPager();
  private readonly openapiHash: string;

  constructor(private readonly options: ApiServerOptions) {
    this.registry = new Registry(options.store, { serviceCIDR: options.serviceCIDR });
    this.openapiHash = createHash('sha256').update(JSON.stringify(openAPIv2())).digest('hex').slice(0, 16);
  }

  private get resourceVersionWaitMs(): number {
    return this.options.resourceVersionWaitMs ?? RESOURCE_VERSION_WAIT_MS;
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
    const { path, query } = parseRequestURI(req.url ?? '/');
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
    if (subresource !== undefined && (subresource !== 'status' || !r.status)) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const selectors: Selectors = { labelSelector: query.get('labelSelector') ?? undefined, fieldSelector: query.get('fieldSelector') ?? undefined };
    const method = req.method ?? 'GET';
    const contentType = req.headers['content-type'] ?? 'application/json';
    const body = async (): Promise<unknown> => parseBody(await readBody(req, bodyLimit(contentType)), contentType);
    const written = (code: number, w: { object: Manifest; warnings: readonly string[] }) =>
      send(res, code, w.object, w.warnings.length > 0 ? { Warning: w.warnings.map((m) => `299 - ${JSON.stringify(m)}`).join(', ') } : {});

    if (name === undefined) {
      switch (method) {
        case 'GET':
          if (query.get('watch') === 'true' || query.get('watch') === '1') return this.watch(req, res, r, target.namespace, selectors, query);
          return this.sendList(req, res, r, target.namespace, selectors, query);
        case 'POST':
          if (r.namespaced && target.namespace === undefined) throw new ApiError(405, 'MethodNotAllowed', 'create needs a namespace in the path');
          return written(201, this.registry.create(r, namespace, await body(), fieldValidation(query)));
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
        return written(200, this.registry.update(r, namespace, name, await body(), fieldValidation(query), status));
      case 'PATCH': {
        const type = patchType(contentType, r);
        return written(200, this.registry.patch(r, namespace, name, type, await body(), fieldValidation(query), status));
      }
      case 'DELETE':
        return send(res, 200, this.registry.delete(r, namespace, name));
      default:
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  }

  private table(r: Resource, items: readonly Manifest[], withColumns = true, listMeta: Manifest = {}): Manifest {
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: String(this.options.store.currentResourceVersion()), ...listMeta },
      columnDefinitions: withColumns ? tableColumns(r) : [],
      rows: items.map((m) => ({
        cells: tableCells(r, m),
        object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: m.metadata },
      })),
    };
  }

  /**
   * A list, in pages when the client gives `limit` (kubectl asks for 500 at a time): all pages
   * show the objects as of the first page's resourceVersion. A resourceVersion the store has not
   * reached is waited for a moment, then refused as the watch cache refuses it.
   */
  private async sendList(req: IncomingMessage, res: ServerResponse, r: Resource, namespace: string | undefined, selectors: Selectors, query: URLSearchParams): Promise<void> {
    const limit = parseLimit(query.get('limit'));
    const continueToken = query.get('continue') || undefined;
    const store = this.options.store;
    const asked = parseResourceVersion(query.get('resourceVersion'));
    if (continueToken !== undefined && asked !== undefined) throw new ApiError(400, 'BadRequest', 'specifying resource version is not allowed when using continue');
    if (asked !== undefined && !(await waitForResourceVersion(store, asked, this.resourceVersionWaitMs))) {
      throw tooLargeResourceVersion(asked, store.currentResourceVersion());
    }
    const scope = JSON.stringify([r.kind, namespace ?? '', selectors.labelSelector ?? '', selectors.fieldSelector ?? '']);
    const filtered = Boolean(selectors.labelSelector || selectors.fieldSelector);
    const page = this.pager.page(scope, { limit, continueToken }, filtered, () => this.registry.list(r, namespace, selectors));
    const listMeta: Manifest = {
      resourceVersion: String(page.resourceVersion),
      ...(page.continueToken !== undefined ? { continue: page.continueToken } : {}),
      ...(page.remainingItemCount !== undefined ? { remainingItemCount: page.remainingItemCount } : {}),
    };
    if (wantsTable(req)) return send(res, 200, this.table(r, page.items, true, listMeta));
    send(res, 200, { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: listMeta, items: page.items });
  }

  private async watch(req: IncomingMessage, res: ServerResponse, r: Resource, namespace: string | undefined, selectors: Selectors, query: URLSearchParams): Promise<void> {
    this.watches.add(res);
    res.on('close', () => this.watches.delete(res));
    await serveWatch(this.options.store, this.registry, res, {
      resource: r,
      namespace,
      selectors,
      query,
      table: wantsTable(req) ? (object, withColumns) => this.table(r, [object], withColumns) : undefined,
      resourceVersionWaitMs: this.resourceVersionWaitMs,
    });
  }
}
