// The node lab's wiring, before any policy: in every topology, a pod reaches a pod on its own node
// and on another node, the host reaches every pod, and the addresses follow from the plan.
// Real namespaces and packets; needs root, iproute2 and python3 (skipped otherwise).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { labNames } from './names.js';
import { connectNodes, createNode, createNodePods, createUnderlay, deleteNode, nodeBlocksProblem, nodeNetns, planNode, planTopology, routeBlocksFromHost, TOPOLOGIES, type Topology } from './topology.js';
import { deleteLabObjects, findLabObjects } from './network.js';

const root = typeof process.getuid === 'function' && process.getuid() === 0;
const tools = ['ip', 'python3'].every((p) => !spawnSync(p, p === 'ip' ? ['-V'] : ['--version'], { stdio: 'ignore' }).error);
const skip = root && tools ? undefined : 'needs root, iproute2 and python3';

describe('node plan', () => {
  it('node i owns the i-th /24 of the pod CIDR, its gateway is .1, its underlay address .(1+i)', () => {
    assert.deepEqual(planNode('lab', '10.244.0.0/16', '198.19.7.0/24', 2), { name: 'lab-node2', index: 2, address: '198.19.7.3', podCIDR: '10.244.1.0/24', gateway: '10.244.1.1' });
    assert.equal(planTopology('t', 'vxlan', 3, '10.9.0.0/16', '198.19.0.0/24').underlay.host, '198.19.0.1');
  });
  it('a pod CIDR too small for the nodes is refused, saying what is needed', () => {
    assert.equal(nodeBlocksProblem('10.0.0.0/16', 16), undefined);
    assert.match(nodeBlocksProblem('10.0.0.0/23', 3) ?? '', /3 nodes need 3 blocks of \/24 \(a \/22 or larger\)/);
    assert.match(nodeBlocksProblem('10.0.0.0/25', 1) ?? '', /1 node needs a block of \/24/);
  });
});

/** Connects over TCP from one namespace to an address; true when the listener answered. */
async function tcp(from: string, to: string, listenerNetns: string, port: number): Promise<boolean> {
  const server = spawn('ip', ['netns', 'exec', listenerNetns, 'python3', '-c', `import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',${port}))\ns.listen()\nprint('ready',flush=True)\nc,_=s.accept()\nc.sendall(b'hi')\nc.close()`], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve) => server.stdout.once('data', () => resolve()));
  const r = spawnSync('ip', ['netns', 'exec', from, 'python3', '-c', `import socket\ns=socket.create_connection(('${to}',${port}),timeout=2)\nprint(s.recv(2).decode())`], { encoding: 'utf8' });
  server.kill();
  return r.status === 0 && r.stdout.trim() === 'hi';
}

describe('node lab wiring, with real packets', { skip }, () => {
  for (const kind of TOPOLOGIES) {
    describe(kind, () => {
      const names = labNames(`tp${kind[0]}`);
      const topology: Topology = planTopology(names.lab, kind, 2, '10.201.0.0/16', `198.19.${200 + TOPOLOGIES.indexOf(kind)}.0/24`);
      const [n1, n2] = topology.nodes;
      const pods = { a: { slot: 1, ips: ['10.201.0.2'] }, b: { slot: 2, ips: ['10.201.0.3'] }, c: { slot: 3, ips: ['10.201.1.2'] } };
      after(() => deleteLabObjects(names));

      it('pods reach pods on their node and across nodes, and the host reaches them', async () => {
        await deleteLabObjects(names);
        await createUnderlay(names, topology);
        for (const n of topology.nodes) await createNode(names, topology, n);
        await connectNodes(names, topology);
        await routeBlocksFromHost(names, topology);
        await createNodePods(names, topology, n1, [pods.a, pods.b]);
        await createNodePods(names, topology, n2, [pods.c]);
        assert.ok(await tcp(names.netns(1), '10.201.0.3', names.netns(2), 7001), 'same node');
        assert.ok(await tcp(names.netns(1), '10.201.1.2', names.netns(3), 7002), 'across nodes');
        assert.ok(await tcp(names.netns(3), '10.201.0.2', names.netns(1), 7003), 'back across nodes');
        assert.ok(await tcp(nodeNetns(names, n2), '10.201.0.2', names.netns(1), 7004), 'from the other node');
        // Across nodes: over the underlay as is, or into the VXLAN device (encapsulated).
        const across = spawnSync('ip', ['-n', nodeNetns(names, n1), 'route', 'get', '10.201.1.2'], { encoding: 'utf8' }).stdout;
        assert.match(across, kind === 'vxlan' ? /dev flannel\.1/ : /via 198\.19\.\d+\.3 dev eth0/);
        if (kind !== 'routed') {
          const bridged = spawnSync('ip', ['netns', 'exec', nodeNetns(names, n1), 'cat', '/proc/sys/net/bridge/bridge-nf-call-iptables'], { encoding: 'utf8' }).stdout;
          assert.equal(bridged.trim(), '1', 'bridged frames reach the forward hook');
        }
      });

      it('a deleted node takes its routes with it and leaves the other node working', async () => {
        await deleteNode(names, topology, n2);
        const routes = spawnSync('ip', ['-n', nodeNetns(names, n1), 'route', 'show'], { encoding: 'utf8' }).stdout;
        assert.doesNotMatch(routes, /10\.201\.1\.0\/24/);
        assert.ok(await tcp(names.netns(2), '10.201.0.2', names.netns(1), 7005));
      });

      it('clean-up finds and removes every namespace and link', async () => {
        await deleteLabObjects(names);
        const left = await findLabObjects(names);
        assert.deepEqual([...left.netns, ...left.links], []);
      });
    });
  }
});
