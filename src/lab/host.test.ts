// The host-wide lock that keeps lab commands from undoing each other's host changes: one holder
// at a time, a holder that died is taken over, a live one is waited for.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { withHostLock } from './host.js';
import { processRecord } from './process.js';

const dir = mkdtempSync(join(tmpdir(), 'podwall-host-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('host lock', () => {
  test('two holders never overlap', async () => {
    const log: string[] = [];
    const hold = (name: string) =>
      withHostLock(dir, async () => {
        log.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 30));
        log.push(`${name} out`);
      });
    await Promise.all([hold('a'), hold('b'), hold('c')]);
    for (let i = 0; i < log.length; i += 2) assert.equal(log[i].split(' ')[0], log[i + 1].split(' ')[0], `interleaved: ${log.join(', ')}`);
    assert.throws(() => readFileSync(join(dir, 'host.lock')), /ENOENT/, 'released');
  });

  test('a lock whose holder is gone is taken over', async () => {
    writeFileSync(join(dir, 'host.lock'), JSON.stringify({ pid: 999_999_999, start: '1' }));
    assert.equal(await withHostLock(dir, async () => 'got it', 1000), 'got it');
  });

  test('a lock held by a live process is waited for, and the wait ends with a message naming it', async () => {
    const init = processRecord(1);
    assert.ok(init, 'pid 1 is alive');
    writeFileSync(join(dir, 'host.lock'), JSON.stringify(init));
    await assert.rejects(withHostLock(dir, async () => 'never', 200), /another lab command \(pid 1\) holds/);
    rmSync(join(dir, 'host.lock'));
  });

  test('a failure inside releases the lock', async () => {
    await assert.rejects(withHostLock(dir, async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await withHostLock(dir, async () => 'free again', 200), 'free again');
  });
});
