// Reads a running cluster through its API for every analysis command (`--cluster`, `--kubeconfig`,
// `--context`): the kubeconfig found as kubectl finds it, paginated lists of what the model reads,
// and what the cluster's DaemonSets say about whether anything enforces NetworkPolicy.
import { existsSync } from 'node:fs';
import { request as httpRequest, type Agent, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { clusterFromObjects, type Cluster, type Manifest } from '../model/index.js';
import { wantsLiveCluster, type AnalysisInputOptions } from './input.js';
import { UsageError, type Output } from './output.js';

/** What the cluster's DaemonSets say about whether anything enforces NetworkPolicy. */
export interface PolicyEnforcement {
  /** true: a known enforcing CNI runs; false: only a known non-enforcing one; undefined: cannot tell. */
  readonly enforced: boolean | undefined;
  /** One line: what was found (DaemonSet and image) and what it means. */
  readonly reason: string;
}

/**
 * The API server failed us: unreachable, TLS refused, credentials refused, a list forbidden or
 * answered with an error. Exit 3, not 2: the contract keeps 2 for input that is wrong before any
 * request is sent (a kubeconfig that cannot be read, an unknown context), and a server that is down
 * or says no is no verdict on the input. main.ts maps every error not named an input error to 3.
 */
export class LiveClusterError extends Error {
  constructor(
    message: string,
    /** The HTTP status the server answered, if it answered. */
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'LiveClusterError';
  }
}

/** A kubeconfig context, resolved to what a request needs. */
export interface LiveTarget {
  readonly kc: KubeConfig;
  /** The context's name (`in-cluster` for a pod's service account). */
  readonly context: string;
  readonly server: string;
  /** Where the kubeconfig came from, for messages: `--kubeconfig PATH`, `KUBECONFIG=...`, a path. */
  readonly where: string;
}

/** Items per list page: kubectl's default chunk size; PODWALL_PAGE_SIZE (tests) sets another. */
const DEFAULT_PAGE_SIZE = 500;
const REQUEST_TIMEOUT_MS = 30_000;
/** A list whose continue token expires this many times is read in one request, as client-go's pager falls back. */
const PAGED_ATTEMPTS = 3;
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function pageSizeFrom(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.PODWALL_PAGE_SIZE;
  if (text === undefined || text === '') return DEFAULT_PAGE_SIZE;
  if (!/^[0-9]{1,7}$/.test(text) || Number(text) < 1) throw new UsageError(`PODWALL_PAGE_SIZE: "${text}" is not a number of items from 1 to 9999999`);
  return Number(text);
}

const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/**
 * The kubeconfig as kubectl finds it (--kubeconfig, else $KUBECONFIG's files merged, else
 * ~/.kube/config, else a pod's service account), with `--context` selected. Everything wrong with
 * it is bad input (exit 2), said in one line before any request: never client-node's silent
 * fallback to http://localhost:8080.
 */
export function loadLiveTarget(options: Pick<AnalysisInputOptions, 'kubeconfig' | 'context'>, env: NodeJS.ProcessEnv = process.env): LiveTarget {
  const kc = new KubeConfig();
  const fallback = join(env.HOME || homedir(), '.kube', 'config');
  let where: string;
  let load: () => void;
  if (options.kubeconfig !== undefined) {
    const path = options.kubeconfig;
    where = `--kubeconfig ${path}`;
    load = () => {
      if (!existsSync(path)) throw new UsageError(`${where}: the file does not exist`);
      kc.loadFromFile(path);
    };
  } else if (env.KUBECONFIG) {
    where = `KUBECONFIG=${env.KUBECONFIG}`;
    // As kubectl merges the list: files that do not exist are skipped; the first to set a value wins.
    const files = env.KUBECONFIG.split(delimiter).filter((f) => f !== '' && existsSync(f));
    load = () => {
      if (files.length === 0) throw new UsageError(`${where}: none of its files exists`);
      kc.loadFromFile(files[0]);
      for (const file of files.slice(1)) mergeInto(kc, file);
    };
  } else if (existsSync(fallback)) {
    where = fallback;
    load = () => kc.loadFromFile(fallback);
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    where = 'the in-cluster configuration';
    load = () => kc.loadFromCluster();
  } else {
    throw new UsageError(`no kubeconfig: ${fallback} does not exist (give --kubeconfig PATH, or set KUBECONFIG)`);
  }
  try {
    load();
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${where}: ${firstLine(err)}`);
  }
  const names = kc.getContexts().map((c) => c.name);
  const known = names.length > 0 ? `its contexts: ${names.join(', ')}` : 'it has no contexts';
  if (options.context !== undefined) {
    if (!names.includes(options.context)) throw new UsageError(`--context: no context "${options.context}" in ${where} (${known})`);
    kc.setCurrentContext(options.context);
  }
  const current = kc.getCurrentContext();
  if (!current) throw new UsageError(`${where} has no current context: give --context NAME (${known})`);
  const context = kc.getContextObject(current);
  if (!context) throw new UsageError(`${where}: its current context "${current}" is not among its contexts (${known})`);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new UsageError(`${where}: context "${context.name}" names cluster "${context.cluster}", which it does not define`);
  let server: URL;
  try {
    server = new URL(cluster.server);
  } catch {
    throw new UsageError(`${where}: cluster "${cluster.name}" has no valid server address ("${cluster.server}")`);
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') throw new UsageError(`${where}: cluster "${cluster.name}": server ${cluster.server} is neither https nor http`);
  return { kc, context: context.name, server: cluster.server.replace(/\/+$/, ''), where };
}

/** Adds a further KUBECONFIG file's entries: what the files before it named already stays. */
function mergeInto(kc: KubeConfig, file: string): void {
  const more = new KubeConfig();
  more.loadFromFile(file);
  if (!kc.getCurrentContext() && more.getCurrentContext()) kc.setCurrentContext(more.getCurrentContext());
  const has = (list: readonly { name: string }[], name: string): boolean => list.some((x) => x.name === name);
  for (const c of more.getClusters()) if (!has(kc.getClusters(), c.name)) kc.addCluster(c);
  for (const u of more.getUsers()) if (!has(kc.getUsers(), u.name)) kc.addUser(u);
  for (const c of more.getContexts()) if (!has(kc.getContexts(), c.name)) kc.addContext(c);
}

/** One answer of the API server. */
interface Answer {
  readonly status: number;
  readonly body: string;
}

/** Requests to one API server with the context's TLS settings and credentials. */
export interface Connection {
  readonly target: LiveTarget;
  get(path: string, signal?: AbortSignal): Promise<Answer>;
  /** Removes credentials from text a server sent (a proxy may echo a request's headers). */
  scrub(text: string): string;
  close(): void;
}

export async function connect(target: LiveTarget): Promise<Connection> {
  const init: { agent?: Agent; headers?: Record<string, string>; auth?: string } = {};
  try {
    // CA, client certificate, token or exec plugin credentials: what kubectl would send.
    await target.kc.applyToHTTPSOptions(init as Parameters<KubeConfig['applyToHTTPSOptions']>[0]);
  } catch (err) {
    const message = firstLine(err);
    if (/HTTP protocol is not allowed/.test(message)) {
      throw new UsageError(`${target.where}: context "${target.context}": server ${target.server} is plain HTTP, which needs insecure-skip-tls-verify: true`);
    }
    throw new UsageError(`${target.where}: context "${target.context}": its credentials or certificates cannot be used: ${message}`);
  }
  const secrets = [init.auth, init.headers?.Authorization, init.headers?.Authorization?.replace(/^\S+\s+/, '')].filter((s): s is string => typeof s === 'string' && s.length >= 4);
  const scrub = (text: string): string => secrets.reduce((t, s) => t.split(s).join('<redacted>'), text);
  const base = new URL(target.server);
  return {
    target,
    scrub,
    get(path, signal) {
      const url = new URL(base.pathname.replace(/\/$/, '') + path, base);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      return new Promise<Answer>((resolve, reject) => {
        const req = send(
          url,
          { method: 'GET', agent: init.agent, auth: init.auth, headers: { ...(init.headers ?? {}), Accept: 'application/json', 'User-Agent': 'podwall' }, signal },
          (res: IncomingMessage) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          },
        );
        req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
        req.on('error', reject);
        req.end();
      });
    },
    close() {
      init.agent?.destroy();
    },
  };
}

/** Node's TLS verification codes, in the words of what is wrong. */
const TLS_REASONS: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed and not the certificate-authority the kubeconfig gives',
  SELF_SIGNED_CERT_IN_CHAIN: 'its certificate is not signed by the certificate-authority the kubeconfig gives',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its certificate is not signed by the certificate-authority the kubeconfig gives',
  UNABLE_TO_GET_ISSUER_CERT: 'its certificate is not signed by the certificate-authority the kubeconfig gives',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its certificate is not signed by the certificate-authority the kubeconfig gives',
  CERT_SIGNATURE_FAILURE: 'its certificate is not signed by the certificate-authority the kubeconfig gives',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is not made out to that address',
  EPROTO: 'it does not speak TLS on that port (a plain-HTTP server?)',
  ERR_SSL_WRONG_VERSION_NUMBER: 'it does not speak TLS on that port (a plain-HTTP server?)',
};

/** A request that got no answer, in one line naming the server and the context. */
function connectionFailure(conn: Connection, err: unknown): LiveClusterError {
  const { server, context } = conn.target;
  const code = String((err as NodeJS.ErrnoException).code ?? '');
  const tls = TLS_REASONS[code] ?? (/^(ERR_SSL_|ERR_TLS_|CERT_)/.test(code) ? code : undefined);
  if (tls) return new LiveClusterError(`TLS with the API server at ${server} (context "${context}") failed: ${tls} (${code})`);
  const reason =
    code === 'ECONNREFUSED' ? 'connection refused'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? `the host ${new URL(server).hostname} is not found`
    : code === 'ECONNRESET' ? 'the connection was reset'
    : code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'no route to it'
    : conn.scrub(firstLine(err));
  return new LiveClusterError(`cannot reach the API server at ${server} (context "${context}"): ${reason}`);
}

/** The `message` of a Status the server answered with, or the start of whatever else it sent. */
function statusMessage(conn: Connection, body: string): string {
  let message: string | undefined;
  try {
    const parsed = JSON.parse(body) as { kind?: string; message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not JSON
  }
  return conn.scrub(oneLine(message ?? body).slice(0, 300));
}

const oneLine = (text: string): string => text.split('\n').map((l) => l.trim()).filter((l) => l !== '').join('; ');

/** A collection Podwall lists, cluster-wide unless `namespace` is given. */
export interface Collection {
  readonly kind: string;
  /** `pods`, `networkpolicies.networking.k8s.io`: as RBAC and Status messages name the resource. */
  readonly resource: string;
  readonly apiVersion: string;
  readonly plural: string;
  readonly namespace?: string;
}

const pathOf = (c: Collection): string =>
  `${c.apiVersion.includes('/') ? `/apis/${c.apiVersion}` : `/api/${c.apiVersion}`}${c.namespace ? `/namespaces/${c.namespace}` : ''}/${c.plural}`;

/** What the model is built from. Workloads are not listed: a running cluster's pods are the endpoints. */
export const CLUSTER_COLLECTIONS: readonly Collection[] = [
  { kind: 'Namespace', resource: 'namespaces', apiVersion: 'v1', plural: 'namespaces' },
  { kind: 'Pod', resource: 'pods', apiVersion: 'v1', plural: 'pods' },
  { kind: 'Service', resource: 'services', apiVersion: 'v1', plural: 'services' },
  { kind: 'NetworkPolicy', resource: 'networkpolicies.networking.k8s.io', apiVersion: 'networking.k8s.io/v1', plural: 'networkpolicies' },
  { kind: 'EndpointSlice', resource: 'endpointslices.discovery.k8s.io', apiVersion: 'discovery.k8s.io/v1', plural: 'endpointslices' },
];

/** The admin tiers (kubernetes-sigs/network-policy-api CRDs, cluster-scoped), and the Nodes their `nodes` peers select: read where served and allowed. */
export const ADMIN_COLLECTIONS: readonly Collection[] = [
  { kind: 'AdminNetworkPolicy', resource: 'adminnetworkpolicies.policy.networking.k8s.io', apiVersion: 'policy.networking.k8s.io/v1alpha1', plural: 'adminnetworkpolicies' },
  { kind: 'BaselineAdminNetworkPolicy', resource: 'baselineadminnetworkpolicies.policy.networking.k8s.io', apiVersion: 'policy.networking.k8s.io/v1alpha1', plural: 'baselineadminnetworkpolicies' },
  { kind: 'ClusterNetworkPolicy', resource: 'clusternetworkpolicies.policy.networking.k8s.io', apiVersion: 'policy.networking.k8s.io/v1alpha2', plural: 'clusternetworkpolicies' },
  { kind: 'Node', resource: 'nodes', apiVersion: 'v1', plural: 'nodes' },
];

/** Collections a cluster may not serve (CRDs not installed) or a reader may not be allowed to list: read without them. */
const OPTIONAL_KINDS: ReadonlySet<string> = new Set(['EndpointSlice', 'AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'ClusterNetworkPolicy', 'Node']);
const ADMIN_KINDS: readonly string[] = ['AdminNetworkPolicy', 'BaselineAdminNetworkPolicy', 'ClusterNetworkPolicy'];

/** The RBAC rules a reader needs, for the 403 message (the README has the ClusterRole). */
const PERMISSION_NEEDED = 'Podwall needs list permission on namespaces, pods, services, networkpolicies.networking.k8s.io and endpointslices.discovery.k8s.io in every namespace';

/** The API server does not serve the collection (404): a cluster without EndpointSlices, a lab without DaemonSets. */
export class NotServedError extends LiveClusterError {}

/**
 * Every item of a collection, read in pages of `limit` following `continue`: every page is served
 * from the first page's snapshot. A continue token the server no longer honours (410 Expired)
 * starts the list over; after PAGED_ATTEMPTS expiries the list is read in one request.
 */
export async function listCollection(conn: Connection, c: Collection, options: { limit?: number; signal?: AbortSignal } = {}): Promise<{ items: Manifest[]; pages: number }> {
  const limit = options.limit ?? DEFAULT_PAGE_SIZE;
  const where = c.namespace ? `in namespace ${c.namespace}` : 'at the cluster scope';
  let pages = 0;
  for (let attempt = 0; ; attempt++) {
    const paged = attempt < PAGED_ATTEMPTS;
    const items: Manifest[] = [];
    let token: string | undefined;
    let expired = false;
    do {
      const query = new URLSearchParams(paged ? { limit: String(limit), ...(token ? { continue: token } : {}) } : {});
      const path = `${pathOf(c)}${query.size > 0 ? `?${query.toString()}` : ''}`;
      let answer: Answer;
      try {
        answer = await conn.get(path, options.signal);
      } catch (err) {
        throw connectionFailure(conn, err);
      }
      pages++;
      if (answer.status === 410 && token) {
        expired = true;
        break;
      }
      if (answer.status !== 200) throw listFailure(conn, c, where, answer);
      let list: { items?: unknown; metadata?: { continue?: unknown } };
      try {
        list = JSON.parse(answer.body) as typeof list;
      } catch {
        throw new LiveClusterError(`the server at ${conn.target.server} did not answer GET ${pathOf(c)} as a Kubernetes API server does (no JSON list)`);
      }
      if (!Array.isArray(list.items)) throw new LiveClusterError(`the server at ${conn.target.server} did not answer GET ${pathOf(c)} as a Kubernetes API server does (no items)`);
      // List items carry no kind or apiVersion: the collection asked for names them.
      for (const item of list.items as Manifest[]) items.push({ ...item, apiVersion: c.apiVersion, kind: c.kind });
      token = typeof list.metadata?.continue === 'string' && list.metadata.continue !== '' ? list.metadata.continue : undefined;
    } while (token && paged);
    if (!expired) return { items, pages };
  }
}

function listFailure(conn: Connection, c: Collection, where: string, answer: Answer): LiveClusterError {
  const { server, context } = conn.target;
  const message = statusMessage(conn, answer.body);
  switch (answer.status) {
    case 401:
      return new LiveClusterError(`the API server at ${server} did not accept the credentials of context "${context}" (401 Unauthorized: ${message}); they may have expired`, 401);
    case 403:
      return new LiveClusterError(`the API server at ${server} forbids listing ${c.resource} ${where} to context "${context}" (403 Forbidden: ${message}); ${PERMISSION_NEEDED}`, 403);
    case 404:
      return new NotServedError(`the API server at ${server} does not serve ${c.resource} (${c.apiVersion}): 404 on GET ${pathOf(c)}`, 404);
    default:
      return new LiveClusterError(`the API server at ${server} answered ${answer.status} to listing ${c.resource} ${where}: ${message}`, answer.status);
  }
}

/** Lists the collections at once; the first failure stops the others. */
async function listAll(conn: Connection, collections: readonly Collection[], limit: number): Promise<Map<string, Manifest[] | LiveClusterError>> {
  const controller = new AbortController();
  const results = await Promise.all(
    collections.map(async (c) => {
      try {
        return [c.kind, (await listCollection(conn, c, { limit, signal: controller.signal })).items] as const;
      } catch (err) {
        // EndpointSlices only give backends to Services without a selector: a server that does not
        // serve them, or a reader not allowed to list them, is read without them (and told when it matters).
        // The same for the admin tiers' CRDs (not installed: there are none) and Nodes (only `nodes` peers need them).
        if (OPTIONAL_KINDS.has(c.kind) && err instanceof LiveClusterError && (err.statusCode === 404 || err.statusCode === 403)) return [c.kind, err] as const;
        controller.abort();
        throw err;
      }
    }),
  );
  return new Map<string, Manifest[] | LiveClusterError>(results);
}

const phaseOf = (pod: Manifest): unknown => ((pod.status ?? {}) as { phase?: unknown }).phase;
const metaOf = (o: Manifest): { namespace?: string; name?: string } => (o.metadata ?? {}) as { namespace?: string; name?: string };
const plural = (n: number, word: string, words = `${word}s`): string => `${n} ${n === 1 ? word : words}`;

/**
 * The running cluster the options name, as a Cluster: its Namespaces, Pods (those that finished,
 * Succeeded or Failed, hold no address any more and are left out, as kube-proxy and CNIs leave
 * them out), Services, NetworkPolicies and EndpointSlices. An object the model cannot take is left
 * out with a warning: one odd object never hides the rest.
 */
export async function readLiveCluster(options: AnalysisInputOptions, io: Output): Promise<Cluster> {
  const target = loadLiveTarget(options);
  const limit = pageSizeFrom();
  const conn = await connect(target);
  let lists: Map<string, Manifest[] | LiveClusterError>;
  try {
    lists = await listAll(conn, [...CLUSTER_COLLECTIONS, ...ADMIN_COLLECTIONS], limit);
  } finally {
    conn.close();
  }
  const items = (kind: string): Manifest[] => {
    const l = lists.get(kind);
    return Array.isArray(l) ? l : [];
  };
  const pods = items('Pod');
  const running = pods.filter((p) => phaseOf(p) !== 'Succeeded' && phaseOf(p) !== 'Failed');
  const admin = ADMIN_KINDS.flatMap(items);
  const objects = [...items('Namespace'), ...running, ...items('Service'), ...items('NetworkPolicy'), ...items('EndpointSlice'), ...admin, ...items('Node')];
  const built = clusterFromObjects(objects, options.namespace);
  for (const d of built.diagnostics) {
    const what = `${d.object ?? d.file}: ${d.field ? `${d.field}: ` : ''}${d.message}`;
    io.err(d.severity === 'error' ? `warning: left out ${what}` : `notice: ${what}`);
  }
  const slices = lists.get('EndpointSlice');
  if (slices instanceof LiveClusterError) {
    const selectorless = items('Service').filter((s) => {
      const spec = (s.spec ?? {}) as { selector?: Record<string, unknown>; type?: string };
      return spec.type !== 'ExternalName' && Object.keys(spec.selector ?? {}).length === 0;
    });
    if (selectorless.length > 0) {
      const names = selectorless.map((s) => `${metaOf(s).namespace}/${metaOf(s).name}`).join(', ');
      const why = slices instanceof NotServedError ? 'the API server does not serve discovery.k8s.io/v1 EndpointSlices' : 'listing endpointslices.discovery.k8s.io is forbidden';
      io.err(`${slices instanceof NotServedError ? 'notice' : 'warning'}: ${why}: Services without a selector are read without backends (${names})`);
    }
  }
  // A CRD that is not installed means no such policies; one the reader may not list could hide some.
  for (const kind of ADMIN_KINDS) {
    const l = lists.get(kind);
    if (l instanceof LiveClusterError && !(l instanceof NotServedError)) {
      io.err(`warning: listing ${ADMIN_COLLECTIONS.find((c) => c.kind === kind)!.resource} is forbidden: the cluster is read without its ${kind.replace(/y$/, 'ie')}s, which decide before (or after) NetworkPolicy where they apply`);
    }
  }
  const nodes = lists.get('Node');
  const nodesPeers = admin.some((o) => JSON.stringify(o.spec ?? {}).includes('"nodes"'));
  if (nodes instanceof LiveClusterError && nodesPeers) io.err(`warning: listing nodes is forbidden: the nodes peers of the admin policies match no address`);
  const finished = pods.length - running.length;
  io.err(
    `notice: read context "${target.context}" (${target.server}): ${plural(items('Namespace').length, 'namespace')}, ${plural(running.length, 'pod')}` +
      `${finished > 0 ? ` (and ${finished} finished, left out)` : ''}, ${plural(items('NetworkPolicy').length, 'NetworkPolicy', 'NetworkPolicies')}, ${plural(items('Service').length, 'Service')}` +
      `${admin.length > 0 ? `, ${plural(admin.length, 'admin or baseline policy', 'admin and baseline policies')}` : ''}`,
  );
  return built.cluster!;
}

const DAEMONSETS_EVERYWHERE: Collection = { kind: 'DaemonSet', resource: 'daemonsets.apps', apiVersion: 'apps/v1', plural: 'daemonsets' };
const DAEMONSETS_KUBE_SYSTEM: Collection = { ...DAEMONSETS_EVERYWHERE, namespace: 'kube-system' };

/**
 * Whether something in the cluster enforces NetworkPolicy, from its DaemonSets (every namespace;
 * kube-system alone when listing them everywhere is forbidden). Never throws for what the server
 * answers: a server that cannot tell gives `undefined` and says why.
 */
export async function detectPolicyEnforcement(options: AnalysisInputOptions): Promise<PolicyEnforcement> {
  if (!wantsLiveCluster(options)) return { enforced: undefined, reason: 'manifests, not a running cluster: nothing shows what would enforce them' };
  const conn = await connect(loadLiveTarget(options));
  try {
    const limit = pageSizeFrom();
    let listed: Manifest[];
    let scope = 'every namespace';
    try {
      listed = (await listCollection(conn, DAEMONSETS_EVERYWHERE, { limit })).items;
    } catch (err) {
      if (!(err instanceof LiveClusterError) || err.statusCode !== 403) return cannotTell(err);
      try {
        listed = (await listCollection(conn, DAEMONSETS_KUBE_SYSTEM, { limit })).items;
        scope = 'kube-system (listing DaemonSets in every namespace is forbidden)';
      } catch (again) {
        return cannotTell(again);
      }
    }
    return judgeEnforcement(listed, scope);
  } finally {
    conn.close();
  }
}

function cannotTell(err: unknown): PolicyEnforcement {
  if (err instanceof NotServedError) return { enforced: undefined, reason: 'the API server does not serve apps/v1 DaemonSets: cannot tell whether anything enforces NetworkPolicy' };
  return { enforced: undefined, reason: `cannot list DaemonSets, so cannot tell whether anything enforces NetworkPolicy: ${firstLine(err)}` };
}

interface ContainerView {
  readonly name: string;
  readonly image: string;
  /** The image without registry tag or digest: `docker.io/calico/node`. */
  readonly repository: string;
  readonly tag: string;
  readonly args: readonly string[];
}

interface DaemonSetView {
  readonly id: string;
  readonly containers: readonly ContainerView[];
  /** Pods ready, of those wanted (from status), when the status says. */
  readonly ready?: { readonly ready: number; readonly desired: number };
}

/** What one DaemonSet says: the CNI it is, and whether that CNI enforces NetworkPolicy as configured. */
interface Finding {
  readonly enforced: boolean | undefined;
  readonly daemonSet: string;
  readonly image: string;
  readonly says: string;
}

function viewOf(ds: Manifest): DaemonSetView {
  const m = metaOf(ds);
  const spec = ((((ds.spec ?? {}) as Manifest).template ?? {}) as Manifest).spec as { containers?: unknown } | undefined;
  const containers = (Array.isArray(spec?.containers) ? spec.containers : []).map((raw): ContainerView => {
    const c = (raw ?? {}) as { name?: unknown; image?: unknown; args?: unknown; command?: unknown };
    const image = typeof c.image === 'string' ? c.image : '';
    const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
    const [withoutDigest] = image.split('@');
    const lastSlash = withoutDigest.lastIndexOf('/');
    const colon = withoutDigest.lastIndexOf(':');
    const hasTag = colon > lastSlash;
    return {
      name: typeof c.name === 'string' ? c.name : '',
      image,
      repository: hasTag ? withoutDigest.slice(0, colon) : withoutDigest,
      tag: hasTag ? withoutDigest.slice(colon + 1) : '',
      args: [...strings(c.command), ...strings(c.args)],
    };
  });
  const status = (ds.status ?? {}) as { numberReady?: unknown; desiredNumberScheduled?: unknown };
  const ready = typeof status.numberReady === 'number' && typeof status.desiredNumberScheduled === 'number' ? { ready: status.numberReady, desired: status.desiredNumberScheduled } : undefined;
  return { id: `${m.namespace ?? ''}/${m.name ?? ''}`, containers, ready };
}

/** The last path segments of an image's repository are its name, whatever registry serves it. */
const imageIs = (c: ContainerView, name: RegExp): boolean => name.test(c.repository);
/** `--flag=value`, or `--flag value`. */
function flagValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith(`${flag}=`)) return args[i].slice(flag.length + 1);
    if (args[i] === flag) return args[i + 1] !== undefined && !args[i + 1].startsWith('-') ? args[i + 1] : 'true';
  }
  return undefined;
}

/**
 * One DaemonSet against the CNIs Podwall knows (README: the CNI table). Undefined when it is none
 * of them.
 */
function classify(ds: DaemonSetView): Finding | undefined {
  const find = (name: RegExp): ContainerView | undefined => ds.containers.find((c) => imageIs(c, name));
  const finding = (c: ContainerView, enforced: boolean | undefined, says: string): Finding => ({ enforced, daemonSet: ds.id, image: c.image, says });

  const podwall = ds.containers.find((c) => /(^|\/)podwall$/.test(c.repository) && c.args.includes('agent'));
  if (podwall) return finding(podwall, true, "Podwall's agent enforces NetworkPolicy");
  const calico = find(/(^|\/)(calico\/node|tigera\/cnx-node)$/);
  if (calico) return finding(calico, true, find(/(^|\/|-)flannel$/) ? 'Canal: Calico enforces NetworkPolicy (Flannel routes)' : 'Calico enforces NetworkPolicy');
  const cilium = find(/(^|\/)cilium\/cilium$/);
  if (cilium) return finding(cilium, true, 'Cilium enforces NetworkPolicy (unless its policy-enforcement-mode is never)');
  const antrea = find(/(^|\/)antrea\/antrea-(agent-)?(ubuntu|photon)$/);
  if (antrea) return finding(antrea, true, 'Antrea enforces NetworkPolicy');
  const knp = find(/(^|\/)kube-network-policies$/);
  if (knp) return finding(knp, true, 'kube-network-policies enforces NetworkPolicy');
  const npm = find(/(^|\/)azure-npm$/);
  if (npm) return finding(npm, true, 'Azure Network Policy Manager enforces NetworkPolicy');
  const weaveNpc = find(/(^|\/)weave-npc$/);
  if (weaveNpc) return finding(weaveNpc, true, "Weave Net's weave-npc enforces NetworkPolicy");
  const weave = find(/(^|\/)weave-kube$/);
  if (weave) return finding(weave, false, 'Weave Net without its weave-npc container does not enforce NetworkPolicy');
  const kubeRouter = find(/(^|\/)cloudnativelabs\/kube-router$/);
  if (kubeRouter) {
    const firewall = flagValue(kubeRouter.args, '--run-firewall');
    return firewall === 'false' ? finding(kubeRouter, false, 'kube-router runs with --run-firewall=false: it does not enforce NetworkPolicy') : finding(kubeRouter, true, 'kube-router enforces NetworkPolicy (--run-firewall)');
  }
  const aws = find(/(^|\/)amazon-k8s-cni$/);
  if (aws) {
    const agent = find(/(^|\/)aws-network-policy-agent$/);
    if (!agent) return finding(aws, false, 'the AWS VPC CNI without its network policy agent (aws-eks-nodeagent, VPC CNI 1.14 and later) does not enforce NetworkPolicy');
    const enabled = flagValue(agent.args, '--enable-network-policy');
    return enabled === 'true'
      ? finding(agent, true, "the AWS VPC CNI's network policy agent enforces NetworkPolicy (--enable-network-policy=true)")
      : finding(agent, false, `the AWS VPC CNI's network policy agent runs with --enable-network-policy=${enabled ?? 'false (its default)'}: NetworkPolicy is not enforced`);
  }
  const kindnet = find(/(^|\/)kindest\/kindnetd$/);
  if (kindnet) {
    // kind's kindnetd is tagged vYYYYMMDD-<commit>; network policies (kube-network-policies) came
    // with commit e7903573, first in v20240719-e7903573, released with kind v0.24.0.
    const date = /^v(\d{8})-/.exec(kindnet.tag)?.[1];
    if (!date) return finding(kindnet, undefined, 'kindnetd of an unknown version: kind v0.24.0 and later enforce NetworkPolicy, earlier ones do not');
    return date >= '20240719'
      ? finding(kindnet, true, "kind's kindnetd (kind v0.24.0 and later) enforces NetworkPolicy")
      : finding(kindnet, false, "kind's kindnetd before kind v0.24.0 does not enforce NetworkPolicy");
  }
  const kindnetd = find(/(^|\/)aojea\/kindnetd$/);
  if (kindnetd) {
    if (flagValue(kindnetd.args, '--network-policy') === 'false') return finding(kindnetd, false, 'kindnetd runs with --network-policy=false: it does not enforce NetworkPolicy');
    return /^v[1-9]/.test(kindnetd.tag) ? finding(kindnetd, true, 'kindnetd 1.x enforces NetworkPolicy (--network-policy defaults to true)') : finding(kindnetd, undefined, 'kindnetd of an unknown version: cannot tell whether it enforces NetworkPolicy');
  }
  const flannel = find(/(^|\/|-)flannel$/);
  if (flannel) return finding(flannel, false, 'Flannel does not enforce NetworkPolicy');
  return undefined;
}

/**
 * The verdict over every DaemonSet: a CNI that enforces wins (Flannel beside Calico is Canal), one
 * that does not is said only when nothing else enforces, and anything else cannot be told.
 */
export function judgeEnforcement(daemonSets: readonly Manifest[], scope = 'every namespace'): PolicyEnforcement {
  const findings: Finding[] = [];
  for (const raw of daemonSets) {
    const ds = viewOf(raw);
    const f = classify(ds);
    if (!f) continue;
    // An enforcer none of whose pods is ready enforces nothing yet.
    if (f.enforced === true && ds.ready && ds.ready.desired > 0 && ds.ready.ready === 0) {
      findings.push({ ...f, enforced: undefined, says: `${f.says}, but none of its ${ds.ready.desired} pods is ready` });
    } else findings.push(f);
  }
  findings.sort((a, b) => (a.daemonSet < b.daemonSet ? -1 : a.daemonSet > b.daemonSet ? 1 : 0));
  const line = (f: Finding): string => `DaemonSet ${f.daemonSet} (${f.image}): ${f.says}`;
  const enforcing = findings.filter((f) => f.enforced === true);
  if (enforcing.length > 0) return { enforced: true, reason: enforcing.map(line).join('; ') };
  const unsure = findings.filter((f) => f.enforced === undefined);
  if (unsure.length > 0) return { enforced: undefined, reason: unsure.map(line).join('; ') };
  const not = findings.filter((f) => f.enforced === false);
  if (not.length > 0) return { enforced: false, reason: `${not.map(line).join('; ')}, and no DaemonSet in ${scope} runs a CNI that does` };
  return {
    enforced: undefined,
    reason: `no DaemonSet in ${scope} runs a CNI Podwall knows: cannot tell whether anything enforces NetworkPolicy (a CNI built into the node, as k3s's is, has no DaemonSet)`,
  };
}
