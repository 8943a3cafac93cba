// The seed's whole flow across nodes, in every topology: the three-tier example (web, api, db on
// three nodes, their Services, the cluster DNS, a NodePort reached from outside the cluster) in a
// 3-node lab; every pod-to-pod probe and every probe through a Service (ClusterIP from every pod,
// NodePort from outside) equals the engine's prediction. Needs root; skipped otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Lab, TOPOLOGIES } from '../src/lab/index.js';
import { loadManifests } from '../src/model/index.js';
import { labSkipReason, leftovers } from './lab-support.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const skip = labSkipReason();

describe('node lab: the three-tier example with Services, DNS and the outside host, in every topology', { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'podwall-nodes-services-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  TOPOLOGIES.forEach((topology, i) => {
    test(`${topology}: web, api and db on three nodes; kernel = engine pod to pod, through every Service and from outside`, async () => {
      const name = `ns${topology[0]}`;
      const cluster = loadManifests([join(ROOT, 'examples/three-tier')]).cluster!;
      const lab = (await Lab.up(cluster, { name, stateRoot: root, podCIDR: `10.21${i}.0.0/16`, serviceCIDR: `10.20${7 + i}.0.0/16`, apiPort: 0, nodes: 3, topology })).lab;
      const dir = lab.dir;
      try {
        const nodeOf = new Map(lab.cluster().endpoints.map((e) => [e.name, e.nodeName]));
        assert.equal(new Set(['web', 'api', 'db'].map((p) => nodeOf.get(p))).size, 3, `the seed's three pods on three nodes: ${JSON.stringify([...nodeOf])}`);
        const pods = await lab.probe();
        assert.deepEqual(pods.flatMap((r) => r.differences), [], 'pod to pod: kernel = engine');
        assert.deepEqual(pods.flatMap((r) => r.inconclusive), []);
        const services = await lab.probeServices();
        assert.deepEqual(services.differences, [], 'through Services: kernel = engine');
        assert.deepEqual(services.inconclusive, []);
        const probed = services.allowed.flat().filter((c) => c !== null).length;
        assert.ok(probed >= 12, `Service cells probed: ${probed}`);
        assert.ok(services.sources.includes('outside') && services.allowed[services.sources.indexOf('outside')].some((c) => c === true), 'the NodePort answers from outside');
        // kubectl sees the nodes as a cluster's: Ready, at their underlay addresses; pods on them.
        const kubectl = process.env.PODWALL_KUBECTL ?? 'kubectl';
        if (spawnSync(kubectl, ['version', '--client'], { stdio: 'ignore' }).status === 0) {
          const env = { ...process.env, KUBECONFIG: lab.kubeconfig };
          const nodes = spawnSync(kubectl, ['get', 'nodes', '-o', 'wide'], { encoding: 'utf8', env });
          for (const n of lab.settings.topology!.nodes) assert.match(nodes.stdout, new RegExp(`^${n.name} +Ready .* ${n.address.replaceAll('.', '\\.')} `, 'm'), nodes.stdout + nodes.stderr);
          const web = spawnSync(kubectl, ['get', 'pod', 'web', '-o', 'jsonpath={.spec.nodeName} {.status.hostIP}'], { encoding: 'utf8', env });
          const node = lab.settings.topology!.nodes.find((n) => n.name === nodeOf.get('web'))!;
          assert.equal(web.stdout, `${node.name} ${node.address}`, web.stderr);
        }
        // Name resolution through the cluster DNS, from a pod on another node than the DNS pod.
        const resolved = spawnSync('ip', ['netns', 'exec', lab.netnsOf('default/api'), 'python3', '-c', "import socket;print(socket.gethostbyname('db.default.svc.cluster.local'))"], { encoding: 'utf8' });
        assert.equal(resolved.stdout.trim(), lab.cluster().services?.find((s) => s.name === 'db')?.clusterIPs?.[0], resolved.stderr);
      } finally {
        lab.close();
        await Lab.down(name, root);
      }
      assert.deepEqual(leftovers(name, `podwall-${name}`, dir), []);
    });
  });
});
