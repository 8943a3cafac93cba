// The lab API server's credentials: a CA made for the lab, a serving certificate for 127.0.0.1,
// localhost and the lab's other addresses signed by it, the admin bearer token, one read-only
// token per node, and the kubeconfigs that tie them together.
// @peculiar/x509 needs the Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { stringify } from 'yaml';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type Key = webcrypto.CryptoKey;
type KeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface Credentials {
  readonly caPem: string;
  /** The CA's private key (PKCS#8), kept to re-issue the serving certificate for new addresses; absent in older files. */
  readonly caKeyPem?: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** The admin's bearer token. */
  readonly token: string;
  /** Each node's bearer token (user `system:node:<node>`, read-only), by node name. */
  readonly nodeTokens?: Record<string, string>;
}

export interface CredentialsOptions {
  /** IP addresses the serving certificate must name besides 127.0.0.1 (the lab's underlay host address). */
  readonly ips?: readonly string[];
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trim();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function unpem(text: string): Buffer {
  return Buffer.from(text.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

const token = (): string => randomBytes(24).toString('base64url');

/** The addresses the serving certificate names: loopback first, then the asked ones, each once. */
function servingIPs(ips: readonly string[]): string[] {
  for (const ip of ips) if (isIP(ip) === 0) throw new Error(`the serving certificate's addresses: "${ip}" is not an IP address`);
  return [...new Set(['127.0.0.1', ...ips])];
}

async function issueServing(ca: x509.X509Certificate, caKey: Key, ips: readonly string[]): Promise<Pick<Credentials, 'certPem' | 'keyPem'>> {
  const serverKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as KeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex'),
    subject: 'CN=podwall-lab-apiserver',
    issuer: ca.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: ca.notAfter,
    signingKey: caKey as never,
    publicKey: serverKeys.publicKey as never,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([...servingIPs(ips).map((value) => ({ type: 'ip' as const, value })), { type: 'dns', value: 'localhost' }]),
    ],
  });
  const key = await webcrypto.subtle.exportKey('pkcs8', serverKeys.privateKey);
  return { certPem: cert.toString('pem'), keyPem: pem('PRIVATE KEY', key) };
}

async function generate(ips: readonly string[]): Promise<Credentials> {
  const caKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as KeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: 'CN=podwall-lab-ca',
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000),
    keys: caKeys as never,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const caKey = await webcrypto.subtle.exportKey('pkcs8', caKeys.privateKey);
  const serving = await issueServing(ca, caKeys.privateKey, ips);
  return { caPem: ca.toString('pem'), caKeyPem: pem('PRIVATE KEY', caKey), ...serving, token: token() };
}

/** The IP addresses a serving certificate names. */
export function certificateIPs(certPem: string): string[] {
  const san = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  return (san?.names.items ?? []).filter((n) => n.type === 'ip').map((n) => n.value);
}

const credentialsFile = (dir: string): string => join(dir, 'credentials.json');

/** Writes the credentials whole (a reader never sees half a file), readable by root only. */
function persist(dir: string, credentials: Credentials): void {
  const file = credentialsFile(dir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(credentials), { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

/**
 * Reads the lab's credentials from its state directory, making them the first time. A serving
 * certificate that lacks one of `options.ips` is issued again by the same CA, so kubeconfigs
 * already handed out stay valid; a file from before the CA's key was kept is replaced whole.
 */
export async function labCredentials(dir: string, options: CredentialsOptions = {}): Promise<Credentials> {
  const ips = options.ips ?? [];
  servingIPs(ips);
  const file = credentialsFile(dir);
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Credentials;
    const named = new Set(certificateIPs(stored.certPem));
    if (ips.every((ip) => named.has(ip))) return stored;
    if (stored.caKeyPem !== undefined) {
      const caKey = await webcrypto.subtle.importKey('pkcs8', unpem(stored.caKeyPem), { name: ALGORITHM.name, namedCurve: ALGORITHM.namedCurve }, false, ['sign']);
      const reissued: Credentials = { ...stored, ...(await issueServing(new x509.X509Certificate(stored.caPem), caKey, ips)) };
      persist(dir, reissued);
      return reissued;
    }
  }
  const credentials = await generate(ips);
  persist(dir, credentials);
  return credentials;
}

/** A Node's name as the apiserver takes it (a DNS subdomain), which also makes it safe as a file name. */
function checkNodeName(node: string): void {
  if (node.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(node)) {
    throw new Error(`node name "${node}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`);
  }
}

/**
 * Gives each of `nodes` a bearer token (keeping the ones they have) and takes the tokens of every
 * other node away, so a deleted node's token stops working; persists and returns the credentials.
 */
export async function nodeCredentials(dir: string, nodes: readonly string[]): Promise<Credentials> {
  for (const node of nodes) checkNodeName(node);
  const stored = await labCredentials(dir);
  const before = stored.nodeTokens ?? {};
  const nodeTokens: Record<string, string> = {};
  for (const node of [...new Set(nodes)].sort()) nodeTokens[node] = before[node] ?? token();
  const changed = JSON.stringify(Object.entries(before).sort()) !== JSON.stringify(Object.entries(nodeTokens));
  const credentials: Credentials = { ...stored, nodeTokens };
  if (changed || stored.nodeTokens === undefined) persist(dir, credentials);
  return credentials;
}

export function kubeconfigPath(dir: string): string {
  return join(dir, 'kubeconfig');
}

/** Writes a kubeconfig for plain kubectl: `export KUBECONFIG=$(podwall lab kubeconfig)`. */
export function writeKubeconfig(dir: string, lab: string, server: string, credentials: Credentials): string {
  const name = `podwall-${lab}`;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': Buffer.from(credentials.caPem).toString('base64') } }],
    users: [{ name: `${name}-admin`, user: { token: credentials.token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin`, namespace: 'default' } }],
    'current-context': name,
    preferences: {},
  };
  const path = kubeconfigPath(dir);
  writeFileSync(path, stringify(config), { mode: 0o600 });
  return path;
}

/** Writes `<dir>/nodes/<node>.kubeconfig`: the node's agent talks to `server` as `system:node:<node>`. */
export function writeNodeKubeconfig(dir: string, node: string, server: string, credentials: Credentials): string {
  checkNodeName(node);
  const nodeToken = credentials.nodeTokens?.[node];
  if (nodeToken === undefined) throw new Error(`node "${node}" has no token in the lab's credentials (nodeCredentials makes them)`);
  const cluster = 'podwall-lab';
  const user = `system:node:${node}`;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server, 'certificate-authority-data': Buffer.from(credentials.caPem).toString('base64') } }],
    users: [{ name: user, user: { token: nodeToken } }],
    contexts: [{ name: node, context: { cluster, user } }],
    'current-context': node,
    preferences: {},
  };
  const nodesDir = join(dir, 'nodes');
  mkdirSync(nodesDir, { recursive: true, mode: 0o700 });
  const path = join(nodesDir, `${node}.kubeconfig`);
  writeFileSync(path, stringify(config), { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}
