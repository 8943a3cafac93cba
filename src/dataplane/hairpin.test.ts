// A pod reaching itself, in the kernel: through its own address the packet never leaves the pod
// (no tier applies), through its Service's address it is DNATed back by the node and crosses the
// forward hook with its own address as source and destination, so the policy table judges it
// with the admin tiers (the engine's `viaService`), and the Services table masquerades it so the
// reply returns. A node and a pod as two private network namespaces on a bridge, as the lab builds
// them; root, nft, ip and python3 are needed, else skipped.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compileCluster, evaluateConnection } from '../engine/index.js';
import { loadTexts, type AdminPolicy } from '../model/index.js';
import { compileRuleset } from './compile.js';
import { exec, MissingProgramError } from './exec.js';
import { renderReplaceScript } from './ruleset.js';
import { compileServices } from './services.js';

async function skipReason(): Promise<string | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (network namespaces, nftables)';
  try {
    for (const program of [['nft', '--version'], ['ip', '-V'], ['python3', '--version']]) await exec(program, { timeoutMs: 10_000 });
  } catch (err) {
    if (err instanceof MissingProgramError) return `${err.message}`;
    throw err;
  }
  return undefined;
}
const skip = await skipReason();

const NODE = `pwhp${process.pid}n`;
const POD = `pwhp${process.pid}p`;
const POD_IP = '10.244.0.2';
const CLUSTER_IP = '10.96.0.5';

const inNode = (argv: readonly string[], input?: string) => exec(['ip', 'netns', 'exec', NODE, ...argv], { input, timeoutMs: 20_000 });

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
  spec: { containers: [{ name: 'web', image: 'registry.example/web', ports: [{ name: 'http', containerPort: 8080 }] }] },
  status: { phase: 'Running', podIP: POD_IP, podIPs: [{ ip: POD_IP }] },
};
const everything = { matchLabels: {}, matchExpressions: [] };
/** Admin tier: no pod takes connections from pods of any namespace, itself included. */
const denyPods: AdminPolicy = {
  kind: 'AdminNetworkPolicy',
  apiVersion: 'policy.networking.k8s.io/v1alpha1',
  name: 'deny-pods',
  tier: 'Admin',
  priority: 1,
  subject: { namespaces: everything },
  ingress: [{ action: 'Deny', peers: [{ kind: 'namespaces', namespaces: everything }] }],
  egress: [],
};

/** The pod listens on 8080, then connects to its Service and to its own address: what became of each. */
const CLIENT = `
import json, socket
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); server.bind(('0.0.0.0', 8080)); server.listen(8)
def attempt(address):
    c = socket.socket(); c.settimeout(3)
    try:
        c.connect(address); return 'connected'
    except ConnectionRefusedError: return 'refused'
    except OSError as e: return type(e).__name__
    finally: c.close()
print(json.dumps({'service': attempt(('${CLUSTER_IP}', 80)), 'own': attempt(('${POD_IP}', 8080))}))
`;

describe('a pod reaching itself in the kernel', { skip }, () => {
  before(async () => {
    await exec(['ip', 'netns', 'add', NODE], { timeoutMs: 10_000 });
    await exec(['ip', 'netns', 'add', POD], { timeoutMs: 10_000 });
    await inNode(['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward; echo 0 > /proc/sys/net/ipv4/conf/all/send_redirects']);
    // Where br_netfilter is loaded, bridged frames must not take the IP hooks (the lab sets the same).
    await inNode(['sh', '-c', 'for f in /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables; do [ -e $f ] && echo 0 > $f; done; true']);
    const node = [
      'link set lo up',
      'link add br0 type bridge',
      'link set br0 up',
      'addr add 10.244.0.1/32 dev br0',
      `link add veth0 type veth peer name eth0 netns ${POD}`,
      'link set veth0 master br0',
      'link set veth0 type bridge_slave isolated on',
      'link set veth0 up',
      `route add ${POD_IP}/32 dev br0`,
      'route add 10.96.0.0/16 dev br0',
    ];
    await exec(['ip', '-n', NODE, '-batch', '-'], { input: `${node.join('\n')}\n`, timeoutMs: 10_000 });
    const inPod = ['link set lo up', 'link set eth0 up', `addr add ${POD_IP}/32 dev eth0`, 'route add 10.244.0.1 dev eth0 scope link', 'route add default via 10.244.0.1 dev eth0'];
    await exec(['ip', '-n', POD, '-batch', '-'], { input: `${inPod.join('\n')}\n`, timeoutMs: 10_000 });
    const services = compileServices([{ id: 'default/web:80', protocol: 'TCP', addresses: [CLUSTER_IP], port: 80, backends: [{ ip: POD_IP, port: 8080 }] }]);
    await inNode(['nft', '-f', '-'], renderReplaceScript(services));
  });
  after(async () => {
    await exec(['ip', 'netns', 'del', POD], { check: false, timeoutMs: 10_000 });
    await exec(['ip', 'netns', 'del', NODE], { check: false, timeoutMs: 10_000 });
  });

  const cases: { name: string; admin: AdminPolicy[]; expect: { service: string; own: string } }[] = [
    { name: 'no admin policy: connected through the Service (masqueraded back) and to its own address', admin: [], expect: { service: 'connected', own: 'connected' } },
    {
      name: 'an admin Deny matching the pod itself: refused through the Service (counted), connected to its own address',
      admin: [denyPods],
      expect: { service: 'refused', own: 'connected' },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const built = loadTexts([{ file: 'web.yaml', text: `---\n${JSON.stringify(pod)}\n` }]);
      assert.ok(built.cluster);
      const compiled = compileCluster({ ...built.cluster, adminPolicies: c.admin });
      await inNode(['nft', '-f', '-'], renderReplaceScript(compileRuleset(compiled)));
      await inNode(['conntrack', '-F']).catch(() => undefined);
      const r = await exec(['ip', 'netns', 'exec', POD, 'python3', '-c', CLIENT], { timeoutMs: 20_000 });
      assert.deepEqual(JSON.parse(r.stdout), c.expect);
      // The engine says the same: through a Service the tiers apply, to its own address they do not.
      const self = { kind: 'endpoint' as const, endpoint: compiled.cluster.endpoints[0] };
      const engine = (viaService: boolean): string => (evaluateConnection(compiled, { source: self, destination: self, port: 8080, protocol: 'TCP', viaService }).allowed ? 'connected' : 'refused');
      assert.deepEqual({ service: engine(true), own: engine(false) }, c.expect);
      const counter = await inNode(['nft', 'list', 'counter', 'inet', 'podwall', 'in/default/web']).catch(() => undefined);
      if (c.expect.service === 'refused') assert.match(counter?.stdout ?? '', /packets [1-9]/, 'the refusal is counted in the pod\'s counter');
    });
  }
});
