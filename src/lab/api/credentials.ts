// The lab API server's credentials: a CA made for the lab, a serving certificate for 127.0.0.1
// and localhost signed by it, a bearer token, and the kubeconfig that ties them together.
// @peculiar/x509 needs the Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { stringify } from 'yaml';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type Key = webcrypto.CryptoKey;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface Credentials {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly token: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trim();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

async function generate(): Promise<Credentials> {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000);
  const caKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: 'CN=podwall-lab-ca',
    notBefore,
    notAfter,
    keys: caKeys as webcrypto.CryptoKeyPair as never,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const serverKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex'),
    subject: 'CN=podwall-lab-apiserver',
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: (caKeys as webcrypto.CryptoKeyPair).privateKey as never,
    publicKey: (serverKeys as webcrypto.CryptoKeyPair).publicKey as never,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
    ],
  });
  const key = await webcrypto.subtle.exportKey('pkcs8', (serverKeys as webcrypto.CryptoKeyPair).privateKey as Key);
  return { caPem: ca.toString('pem'), certPem: cert.toString('pem'), keyPem: pem('PRIVATE KEY', key), token: randomBytes(24).toString('base64url') };
}

/** Reads the lab's credentials from its state directory, making them the first time. */
export async function labCredentials(dir: string): Promise<Credentials> {
  const file = join(dir, 'credentials.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Credentials;
  const credentials = await generate();
  writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
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
