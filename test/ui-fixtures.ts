// Generated manifests for the UI: a 200-pod cluster (10 namespaces x 20 pods in three tiers, each
// namespace with tier-to-tier policies) to check the page stays usable at that size.
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
