// The lab's Kubernetes API server: HTTPS on loopback (and the lab's underlay address), bearer-token
// authentication (the admin, and read-only nodes), discovery, OpenAPI, and the REST verbs (with watch) for Namespaces, Pods, Services, Nodes, NetworkPolicies
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
  /** Addresses to listen on, all on the same port; default [host ?? '127.0.0.1']. */
  readonly hosts?: readonly string[];
  readonly port?: number;
  /** Each node's bearer token by node name, read on every request (a token taken away stops working at once). */
  readonly nodeTokens?: () => Readonly<Record<string, string>>;
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

/** Who a request comes from: the lab's admin (everything), or a node's agent (read-only). */
type User = { readonly kind: 'admin' } | { readonly kind: 'node'; readonly name: string };

/** What the authorizer judges, as k8s.io/apiserver's RequestInfoFactory reads it off the request. */
interface RequestAttributes {
  readonly verb: string;
  readonly path: string;
  readonly resource?: { readonly group: string; readonly namespace: string; readonly resource: string; readonly name: string; readonly subresource: string };
}

/** Kubernetes namespace subresources: /namespaces/x/status is namespace x's, not a resource in x. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * The request's attributes as RequestInfoFactory derives them: /api/v1/... and /apis/g/v/... are
 * resource requests (verbs create, get, list, watch, update, patch, delete, deletecollection),
 * anything else a non-resource request whose verb is the lowercase method.
 */
function requestAttributes(method: string, path: string, query: URLSearchParams): RequestAttributes {
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  const grouped = parts[0] === 'apis';
  if (!(parts[0] === 'api' || grouped) || parts.length < (grouped ? 4 : 3)) return { verb: method.toLowerCase(), path };
  const group = grouped ? parts[1] : '';
  let rest = parts.slice(grouped ? 3 : 2);
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2])) rest = rest.slice(2);
  }
  const [resource = '', name = '', subresource = ''] = rest;
  const verbs: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  let verb = verbs[method] ?? '';
  if (name === '' && verb === 'get') verb = ['true', '1', 't', 'T', 'TRUE', 'True'].includes(query.get('watch') ?? '') ? 'watch' : 'list';
  if (name === '' && verb === 'delete') verb = 'deletecollection';
  return { verb, path, resource: { group, namespace, resource, name, subresource } };
}

/** What a node may do: read resources, and read discovery, OpenAPI and the version. */
const NODE_VERBS = new Set(['get', 'list', 'watch']);

/**
 * 403 in the words of the apiserver's authorizer (k8s.io/apiserver responsewriters.forbiddenMessage,
 * wrapped by apimachinery's NewForbidden): `pods "web" is forbidden: User "system:node:n1" cannot
 * delete resource "pods" in API group "" in the namespace "default"`.
 */
function forbidden(username: string, a: RequestAttributes): ApiError {
  const r = a.resource;
  if (!r) return new ApiError(403, 'Forbidden', `forbidden: User ${JSON.stringify(username)} cannot ${a.verb} path ${JSON.stringify(a.path)}`, {});
  const resource = r.subresource === '' ? r.resource : `${r.resource}/${r.subresource}`;
  const scope = r.namespace === '' ? 'at the cluster scope' : `in the namespace ${JSON.stringify(r.namespace)}`;
  const why = `User ${JSON.stringify(username)} cannot ${a.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(r.group)} ${scope}`;
  const groupResource = r.group === '' ? r.resource : `${r.resource}.${r.group}`;
  const what = r.name === '' ? groupResource : `${groupResource} ${JSON.stringify(r.name)}`;
  return new ApiError(403, 'Forbidden', `${what} is forbidden: ${why}`, {
    ...(r.name !== '' ? { name: r.name } : {}),
    ...(r.group !== '' ? { group: r.group } : {}),
    ...(r.resource !== '' ? { kind: r.resource } : {}),
  });
}

/** Whether an Authorization header carries exactly `token` (compared in constant time). */
function bears(header: string, token: string): boolean {
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
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
  private servers: Server[] = [];
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

  /**
   * Starts listening on every address, all on one port (port 0: the first address picks a free
   * one, the others take it); resolves with the first address and the port. If one address
   * cannot be bound, none stays bound.
   */
  async listen(): Promise<{ host: string; port: number }> {
    const hosts = this.options.hosts ?? [this.options.host ?? '127.0.0.1'];
    if (hosts.length === 0) throw new Error('the API server needs at least one address to listen on');
    let port = this.options.port ?? 6443;
    try {
      for (const host of hosts) {
        const server = createServer({ cert: this.options.credentials.certPem, key: this.options.credentials.keyPem }, (req, res) => {
          this.handle(req, res).catch((err: unknown) => this.fail(res, err));
        });
        this.servers.push(server);
        port = await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, host, () => {
            server.off('error', reject);
            const address = server.address();
            resolve(typeof address === 'object' && address ? address.port : port);
          });
        });
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    return { host: hosts[0], port };
  }

  async close(): Promise<void> {
    for (const res of this.watches) res.end();
    this.watches.clear();
    const servers = this.servers;
    this.servers = [];
    await Promise.all(
      servers.map(async (server) => {
        if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
      }),
    );
  }

  private fail(res: ServerResponse, err: unknown): void {
    const apiError = err instanceof ApiError ? err : new ApiError(500, 'InternalError', `an error on the server ("${(err as Error).message}") has prevented the request from succeeding`);
    if (res.headersSent) res.end();
    else send(res, apiError.code, apiError.status());
  }

  /** The user a request's bearer token names, if any. Every node token is compared, so timing does not tell which matched. */
  private authenticate(req: IncomingMessage): User | undefined {
    const header = req.headers.authorization ?? '';
    let user: User | undefined = bears(header, this.options.credentials.token) ? { kind: 'admin' } : undefined;
    for (const [name, token] of Object.entries(this.options.nodeTokens?.() ?? {})) {
      if (bears(header, token) && user === undefined) user = { kind: 'node', name };
    }
    return user;
  }

  /** The admin may do anything; a node may only read (RBAC's words when it may not). */
  private authorize(user: User, method: string, path: string, query: URLSearchParams): void {
    if (user.kind === 'admin') return;
    const attributes = requestAttributes(method, path, query);
    if (NODE_VERBS.has(attributes.verb)) return;
    throw forbidden(`system:node:${user.name}`, attributes);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path, query } = parseRequestURI(req.url ?? '/');
    if (['/healthz', '/livez', '/readyz'].includes(path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    const user = this.authenticate(req);
    if (!user) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    this.authorize(user, req.method ?? 'GET', path, query);

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
