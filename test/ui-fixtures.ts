// Generated manifests for the UI: a 200-pod cluster (10 namespaces x 20 pods in three tiers, each
// namespace with tier-to-tier policies) to check the page stays usable at that size; and helpers
// the UI's tests share (raw HTTP requests, captured command output).
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
