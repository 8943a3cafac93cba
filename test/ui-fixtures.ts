// Generated manifests for the UI: a 200-pod cluster (10 namespaces x 20 pods in three tiers, each
// namespace with tier-to-tier policies) to check the page stays usable at that size; the admin tiers
// over the three-tier example; and helpers the UI's tests share (raw HTTP requests, captured output).
import { request, type IncomingHttpHeaders } from 'node:http';
import type { Output } from '../src/cli/output.js';

export function twoHundredPods(): string {
  const docs: string[] = [];
  for (let n = 0; n < 10; n++) {
    const ns = `team-${String(n).padStart(2, '0')}`;
    docs.push(`apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n  labels:\n    team: t${n}`);
    for (let i = 0; i < 20; i++) {
      const role = i < 8 ? 'web' : i < 15 ? 'api' : 'db';
      const port = role === 'web' ? 80 : role === 'api' ? 5000 : 3306;
      docs.push(
        `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${role}-${i}\n  namespace: ${ns}\n  labels:\n    role: ${role}\nspec:\n  containers:\n  - name: c\n    image: x\n    ports:\n    - containerPort: ${port}`,
      );
    }
    const policy = (name: string, role: string, from: string, port: number, egressTo?: [string, number]): string =>
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  podSelector:\n    matchLabels:\n      role: ${role}\n` +
      `  policyTypes: [Ingress${egressTo ? ', Egress' : ''}]\n  ingress:\n  - from:\n${from}    ports:\n    - port: ${port}\n` +
      (egressTo ? `  egress:\n  - to:\n    - podSelector:\n        matchLabels:\n          role: ${egressTo[0]}\n    ports:\n    - port: ${egressTo[1]}\n` : '');
    docs.push(policy('web', 'web', `    - ipBlock:\n        cidr: 0.0.0.0/0\n`, 80, ['api', 5000]));
    docs.push(policy('api', 'api', `    - podSelector:\n        matchLabels:\n          role: web\n`, 5000, ['db', 3306]));
    docs.push(policy('db', 'db', `    - podSelector:\n        matchLabels:\n          role: api\n`, 3306));
  }
  return docs.join('\n---\n') + '\n';
}

/**
 * The administrator's rules over the three-tier example: an AdminNetworkPolicy (v1alpha1) that keeps
 * every web pod from every db pod whatever the teams write (Admin tier, before NetworkPolicy), and the
 * BaselineAdminNetworkPolicy `default` denying egress to pods wherever no NetworkPolicy isolates a pod
 * for egress (the db's, so db -> web:80 closes).
 */
export const ADMIN_DENY_WEB_DB = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: web-never-reaches-db
spec:
  priority: 10
  subject:
    pods:
      namespaceSelector: {}
      podSelector:
        matchLabels:
          role: db
  ingress:
  - name: deny-from-web
    action: Deny
    from:
    - pods:
        namespaceSelector: {}
        podSelector:
          matchLabels:
            role: web
`;

export const BASELINE_DEFAULT_DENY = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata:
  name: default
spec:
  subject:
    namespaces: {}
  egress:
  - name: default-deny-to-pods
    action: Deny
    to:
    - namespaces: {}
`;

/** A ClusterNetworkPolicy (v1alpha2) of the Admin tier that opens web -> db:3306 on both sides, which the three-tier policies block. */
export const CNP_ACCEPT_WEB_DB = `apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata:
  name: web-to-db-for-migrations
spec:
  tier: Admin
  priority: 5
  subject:
    namespaces:
      matchLabels:
        kubernetes.io/metadata.name: default
  ingress:
  - name: db-from-web
    action: Accept
    from:
    - pods:
        namespaceSelector: {}
        podSelector:
          matchLabels:
            role: web
    protocols:
    - tcp:
        destinationPort:
          number: 3306
  egress:
  - name: web-to-db
    action: Accept
    to:
    - pods:
        namespaceSelector: {}
        podSelector:
          matchLabels:
            role: db
    protocols:
    - tcp:
        destinationPort:
          number: 3306
`;

/** A raw HTTP request with exactly the headers given (fetch adds some and refuses others, Host and Origin among them). */
export function raw(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; address?: string; setHost?: boolean },
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: options.address ?? '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers, setHost: options.setHost ?? true, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** An Output that keeps what is written and says when a line matching a pattern has come (no polling). */
export function capturingOutput(): { io: Output; lines: string[]; line(pattern: RegExp): Promise<string> } {
  const lines: string[] = [];
  const waiting: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const take = (text: string): void => {
    for (const l of text.split('\n')) {
      lines.push(l);
      for (const w of waiting.filter((x) => x.pattern.test(l))) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(l);
      }
    }
  };
  return {
    io: { out: take, err: take, color: false },
    lines,
    line: (pattern) => {
      const seen = lines.find((l) => pattern.test(l));
      return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiting.push({ pattern, resolve }));
    },
  };
}
