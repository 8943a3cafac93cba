// The lab's Node, which its daemon registers as a kubelet registers its own (no root: a store in a
// temporary state directory): named after the lab, which is the nodeName its pods are bound to,
// labelled, Ready, at the address its pods reach it at; what the model loads it as, so that admin
// policies' `nodes` peers select it; registered again at every start without losing what others added.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { clusterFromObjects, type Manifest } from '../model/index.js';
import { labDaemonContext, type LabSettings } from './lab.js';
import { LabStore } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'podwall-node-'));
after(() => rmSync(root, { recursive: true, force: true }));

const settings: LabSettings = { name: 'nodelab', podCIDR: '10.99.0.0/16', gateways: { 4: '10.99.0.1', 6: 'fd70:77::1' }, log: false, apiPort: 0, createdAt: '2026-01-01T00:00:00Z' };

describe("the lab's Node", () => {
  test('registered by the daemon: named after the lab, kubelet labels, Ready, InternalIP the gateway; the model loads it with that address', async () => {
    const dir = join(root, 'labs', settings.name);
    mkdirSync(dir, { recursive: true });
    const seed = LabStore.open(join(dir, 'lab.db'));
    seed.setMeta('settings', settings);
    seed.close();
    const ctx = await labDaemonContext(settings.name, root);
    try {
      ctx.registerNode();
      const store = LabStore.open(join(dir, 'lab.db'));
      try {
        const node = store.get('Node', '', 'nodelab')!.manifest as Manifest & { metadata: { labels: Record<string, string> }; status: { addresses: Manifest[]; conditions: Manifest[] } };
        assert.equal(node.metadata.labels['kubernetes.io/hostname'], 'nodelab');
        assert.equal(node.metadata.labels['kubernetes.io/os'], 'linux');
        assert.deepEqual(node.status.addresses, [
          { type: 'InternalIP', address: '10.99.0.1' },
          { type: 'Hostname', address: 'nodelab' },
        ]);
        assert.equal(node.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
        const loaded = clusterFromObjects([node]).cluster!;
        assert.deepEqual(loaded.nodes?.map((n) => ({ name: n.name, addresses: n.addresses })), [{ name: 'nodelab', addresses: ['10.99.0.1'] }]);

        // `kubectl label node nodelab zone=a`, then a daemon restart: the label stays, the uid too.
        const uid = (node.metadata as { uid?: string }).uid;
        store.put('Node', '', 'nodelab', { ...node, metadata: { ...node.metadata, labels: { ...node.metadata.labels, zone: 'a' } } });
        ctx.registerNode();
        const again = store.get('Node', '', 'nodelab')!.manifest as { metadata: { labels: Record<string, string>; uid: string } };
        assert.equal(again.metadata.labels.zone, 'a');
        assert.equal(again.metadata.uid, uid);
      } finally {
        store.close();
      }
    } finally {
      ctx.close();
    }
  });
});
