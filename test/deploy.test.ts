// The manifests and image for running `podwall agent` on a real cluster (deploy/, Dockerfile):
// no cluster and no container engine here, so their essentials are checked as data. RBAC grants
// exactly what the agent's streams read (derived from its STREAMS, admin policy kinds included); the DaemonSet runs the agent on every node in the host's
// network namespace with NET_ADMIN, its node name from the downward API, and probes on its
// loopback health address; the Dockerfile ships nft and conntrack and runs `agent`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { STREAMS } from '../src/agent/index.js';
import { loadManifests } from '../src/model/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const deployDir = join(root, 'deploy');

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const files = readdirSync(deployDir).filter((f) => /\.ya?ml$/.test(f)).sort();
const docs: { file: string; obj: Obj }[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(deployDir, file), 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], `${file}: YAML errors`);
    return { file, obj: d.toJS() as Obj };
  }),
);
const find = (kind: string): Obj => {
  const found = docs.filter((d) => d.obj?.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind} in deploy/`);
  return found[0].obj;
};

describe('deploy/ manifests', () => {
  test('every document is a Kubernetes object with apiVersion, kind and a name', () => {
    assert.deepEqual(files, ['daemonset.yaml', 'rbac.yaml']);
    for (const { file, obj } of docs) {
      assert.equal(typeof obj.apiVersion, 'string', file);
      assert.equal(typeof obj.kind, 'string', file);
      assert.match(obj.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${file}: ${obj.kind} name`);
    }
    assert.deepEqual(docs.map((d) => d.obj.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'DaemonSet', 'ServiceAccount']);
  });

  test('Podwall itself loads the directory: the DaemonSet is a hostNetwork workload in kube-system, RBAC is ignored', () => {
    const built = loadManifests([deployDir]);
    assert.deepEqual(built.diagnostics, []);
    assert.deepEqual(
      built.cluster?.endpoints.map((e) => ({ id: e.id, hostNetwork: e.hostNetwork })),
      [{ id: 'kube-system/daemonset/podwall-agent', hostNetwork: true }],
    );
    assert.equal(built.cluster?.policies.length, 0);
  });

  test('RBAC: the service account podwall-agent in kube-system may get, list and watch every resource the agent streams (pods, namespaces, nodes, networkpolicies, the admin policy kinds), nothing more', () => {
    const sa = find('ServiceAccount');
    assert.equal(sa.apiVersion, 'v1');
    assert.equal(sa.metadata.name, 'podwall-agent');
    assert.equal(sa.metadata.namespace, 'kube-system');

    const role = find('ClusterRole');
    assert.equal(role.apiVersion, 'rbac.authorization.k8s.io/v1');
    const granted = new Set<string>();
    for (const rule of role.rules as Obj[]) {
      assert.equal(rule.resourceNames, undefined);
      assert.equal(rule.nonResourceURLs, undefined);
      for (const group of rule.apiGroups as string[]) for (const resource of rule.resources as string[]) for (const verb of rule.verbs as string[]) granted.add(`${group}/${resource}:${verb}`);
    }
    // group/resource of each stream the agent lists and watches: /api/v1/pods, /apis/GROUP/VERSION/RESOURCE.
    const streamed = STREAMS.map((path) => {
      const parts = path.split('/').filter((p) => p !== '');
      return parts[0] === 'api' ? `/${parts[2]}` : `${parts[1]}/${parts[3]}`;
    });
    assert.deepEqual(
      [...streamed].sort(),
      ['/namespaces', '/nodes', '/pods', 'networking.k8s.io/networkpolicies', 'policy.networking.k8s.io/adminnetworkpolicies', 'policy.networking.k8s.io/baselineadminnetworkpolicies', 'policy.networking.k8s.io/clusternetworkpolicies'],
    );
    const wanted = streamed.flatMap((r) => ['get', 'list', 'watch'].map((v) => `${r}:${v}`));
    assert.deepEqual([...granted].sort(), wanted.sort());

    const binding = find('ClusterRoleBinding');
    assert.equal(binding.apiVersion, 'rbac.authorization.k8s.io/v1');
    assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
    assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
  });

  test('DaemonSet: every node, host network, NET_ADMIN, node name from the downward API, the agent command, probes on 127.0.0.1:9743', () => {
    const ds = find('DaemonSet');
    assert.equal(ds.apiVersion, 'apps/v1');
    assert.equal(ds.metadata.namespace, 'kube-system');
    assert.deepEqual(ds.spec.selector.matchLabels, Object.fromEntries(Object.entries(ds.spec.template.metadata.labels as Record<string, string>).filter(([k]) => k in ds.spec.selector.matchLabels)));
    for (const [k, v] of Object.entries(ds.spec.selector.matchLabels as Record<string, string>)) assert.equal(ds.spec.template.metadata.labels[k], v, 'the template matches the selector');

    const pod = ds.spec.template.spec as Obj;
    assert.equal(pod.serviceAccountName, find('ServiceAccount').metadata.name);
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet');
    assert.equal(pod.priorityClassName, 'system-node-critical');
    assert.ok((pod.tolerations as Obj[]).some((t) => t.operator === 'Exists' && t.key === undefined && t.effect === undefined), 'tolerates every taint');

    assert.equal(pod.containers.length, 1);
    const c = pod.containers[0] as Obj;
    assert.equal(c.image, 'podwall:0.1.0');
    // The image's ENTRYPOINT is `node bin/podwall.js` (see the Dockerfile test); args is the podwall command line.
    assert.equal(c.command, undefined);
    assert.deepEqual(c.args.slice(0, 3), ['agent', '--health-address', '127.0.0.1:9743']);

    const env = new Map((c.env as Obj[]).map((e) => [e.name, e]));
    assert.deepEqual(env.get('NODE_NAME')?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
    // Every $(VAR) the arguments use is defined.
    for (const arg of c.args as string[]) for (const [, name] of arg.matchAll(/\$\(([A-Z_]+)\)/g)) assert.ok(env.has(name), `${name} is defined`);

    assert.ok(c.securityContext.capabilities.add.includes('NET_ADMIN'));
    assert.notEqual(c.securityContext.privileged, true, 'NET_ADMIN is enough: nft and conntrack speak netlink');
    for (const [probe, path] of [
      ['livenessProbe', '/healthz'],
      ['readinessProbe', '/readyz'],
    ] as const) {
      assert.deepEqual(c[probe].httpGet, { host: '127.0.0.1', port: 9743, path }, probe);
    }
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory, 'resource requests');
  });

  test('the agent CLI takes the flags the DaemonSet passes, and reads NODE_NAME', () => {
    const main = readFileSync(join(root, 'src/cli/main.ts'), 'utf8');
    const agent = readFileSync(join(root, 'src/cli/agent.ts'), 'utf8');
    const args = (find('DaemonSet').spec.template.spec.containers[0].args as string[]).filter((a) => a.startsWith('--'));
    for (const flag of args) assert.ok(main.includes(`.option('${flag} `), `podwall agent has ${flag}`);
    assert.match(agent, /process\.env\.NODE_NAME/);
    assert.match(main, /'--health-address <host:port>'.*'127\.0\.0\.1:9743'/);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = lines.filter((l) => /^FROM /i.test(l));

  test('two stages: build on node:20-bookworm (npm ci, npm run build), run on node:20-bookworm-slim', () => {
    assert.equal(stages.length, 2);
    assert.match(stages[0], /^FROM node:20-bookworm AS build$/);
    assert.match(stages[1], /^FROM node:20-bookworm-slim$/);
    const build = lines.slice(lines.indexOf(stages[0]), lines.indexOf(stages[1])).join('\n');
    assert.match(build, /npm ci\b/);
    assert.match(build, /npm run build\b/);
    assert.match(build, /npm prune --omit=dev/);
  });

  test('the runtime installs nftables, conntrack and iproute2 and holds dist, bin and the production node_modules', () => {
    const runtime = lines.slice(lines.indexOf(stages[1])).join('\n');
    const install = runtime.split('\n').find((l) => /apt-get install/.test(l)) ?? '';
    for (const pkg of ['nftables', 'conntrack', 'iproute2']) assert.match(install, new RegExp(`\\b${pkg}\\b`), pkg);
    for (const dir of ['dist', 'bin', 'node_modules', 'package.json']) assert.match(runtime, new RegExp(`COPY --from=build /app/${dir} `), dir);
  });

  test('ENTRYPOINT node bin/podwall.js, CMD agent', () => {
    assert.ok(lines.includes('ENTRYPOINT ["node", "bin/podwall.js"]'));
    assert.ok(lines.includes('CMD ["agent"]'));
    assert.match(readFileSync(join(root, 'bin/podwall.js'), 'utf8'), /dist\/cli\/main\.js/);
  });
});
