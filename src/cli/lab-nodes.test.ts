// `lab up --nodes/--topology` refuses what it cannot build before anything is made: exit 2 with the
// flag and the reason, no lab left behind. No root needed: these are refused before the host is touched.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from './main.js';
import type { Output } from './output.js';

const example = fileURLToPath(new URL('../../examples/three-tier', import.meta.url));
const stateDir = mkdtempSync(join(tmpdir(), 'podwall-lab-nodes-cli-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const io: Output = { out: () => undefined, err: (s) => (err += `${s}\n`), color: false };
  return { code: await main(args, io), err };
}

describe('lab up --nodes/--topology: bad input', () => {
  const cases: { name: string; args: string[]; error: RegExp }[] = [
    { name: 'a number of nodes that is not a number', args: ['--nodes', 'three'], error: /--nodes: "three" is not a number of nodes/ },
    { name: 'no nodes', args: ['--nodes', '0'], error: /--nodes 0: must be a whole number from 1 to 16/ },
    { name: 'more nodes than a lab holds', args: ['--nodes', '17'], error: /--nodes 17: must be a whole number from 1 to 16/ },
    { name: 'an unknown topology', args: ['--nodes', '2', '--topology', 'mesh'], error: /--topology: "mesh" is not one of routed, bridge, vxlan/ },
    { name: 'a pod CIDR without a /24 per node', args: ['--nodes', '3', '--pod-cidr', '10.77.0.0/23'], error: /--pod-cidr 10\.77\.0\.0\/23: 3 nodes need 3 blocks of \/24 \(a \/22 or larger\)/ },
    { name: 'a one-node node lab whose pod CIDR is smaller than a block', args: ['--topology', 'bridge', '--pod-cidr', '10.77.0.0/25'], error: /--pod-cidr 10\.77\.0\.0\/25: 1 node needs a block of \/24 \(a \/24 or larger\)/ },
  ];
  for (const c of cases) {
    test(`${c.name} is refused with exit 2, and nothing is made`, async () => {
      const r = await cli(['lab', 'up', '-f', example, '--name', 'nodes', '--state-dir', stateDir, ...c.args]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, c.error);
      assert.equal(existsSync(join(stateDir, 'labs', 'nodes')), false);
    });
  }
});
