// The coalescing runner's guarantees (runner.ts's header), one test each, on mocked timers and
// clock: at most one run at a time; requests during a run or within the minimum interval merge
// into one later run; a run at least every maximum interval; failures retried with exponential
// backoff up to the maximum; nothing after the signal aborts.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { CoalescingRunner } from './runner.js';

const MIN = 20;
const MAX = 60_000;
const RETRY = 500;

/** Lets the promise callbacks that timers started run (setImmediate is not mocked). */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

async function tick(ms: number): Promise<void> {
  mock.timers.tick(ms);
  await settle();
}

interface Recorder {
  readonly starts: number[];
  running: number;
  maxRunning: number;
  /** When set, runs wait for release(); otherwise they finish at once. */
  hold?: Promise<void>;
  fail: boolean;
}

function recorder(): { rec: Recorder; run: () => Promise<void> } {
  const rec: Recorder = { starts: [], running: 0, maxRunning: 0, fail: false };
  const run = async (): Promise<void> => {
    rec.starts.push(Date.now());
    rec.running++;
    rec.maxRunning = Math.max(rec.maxRunning, rec.running);
    try {
      if (rec.hold) await rec.hold;
      if (rec.fail) throw new Error('sync failed');
    } finally {
      rec.running--;
    }
  };
  return { rec, run };
}

let controller: AbortController;

beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  controller = new AbortController();
});

afterEach(() => {
  controller.abort();
  mock.timers.reset();
});

describe('coalescing runner', () => {
  test('the first run happens at start', async () => {
    const { rec, run } = recorder();
    new CoalescingRunner(run, { minIntervalMs: MIN, maxIntervalMs: MAX, retryMs: RETRY }).start(controller.signal);
    await tick(0);
    assert.deepEqual(rec.starts, [1_000_000]);
  });

  test('requests that arrive during a run merge into one later run, and runs never overlap', async () => {
    const { rec, run } = recorder();
    let release!: () => void;
    rec.hold = new Promise((r) => (release = r));
    const runner = new CoalescingRunner(run, { minIntervalMs: MIN, maxIntervalMs: MAX, retryMs: RETRY });
    runner.start(controller.signal);
    await tick(0);
    for (let i = 0; i < 5; i++) runner.request();
    await tick(MIN * 3);
    assert.equal(rec.starts.length, 1, 'no second run while the first is under way');
    rec.hold = undefined;
    release();
    await settle();
    await tick(MIN);
    assert.equal(rec.starts.length, 2, 'five requests, one more run');
    await tick(MIN * 10);
    assert.equal(rec.starts.length, 2);
    assert.equal(rec.maxRunning, 1);
  });

  test('a request soon after a run waits for the minimum interval', async () => {
    const { rec, run } = recorder();
    const runner = new CoalescingRunner(run, { minIntervalMs: MIN, maxIntervalMs: MAX, retryMs: RETRY });
    runner.start(controller.signal);
    await tick(0);
    await tick(5);
    runner.request();
    runner.request();
    await tick(MIN - 6);
    assert.equal(rec.starts.length, 1, 'not before the minimum interval');
    await tick(1);
    assert.deepEqual(rec.starts, [1_000_000, 1_000_000 + MIN]);
  });

  test('without any request, a run happens every maximum interval (a full resync)', async () => {
    const { rec, run } = recorder();
    new CoalescingRunner(run, { minIntervalMs: MIN, maxIntervalMs: MAX, retryMs: RETRY }).start(controller.signal);
    await tick(0);
    await tick(MAX - 1);
    assert.equal(rec.starts.length, 1);
    await tick(1);
    await tick(MAX);
    assert.deepEqual(rec.starts, [1_000_000, 1_000_000 + MAX, 1_000_000 + 2 * MAX]);
  });

  test('a failed run is retried with exponential backoff, capped at the maximum interval, and reported', async () => {
    const { rec, run } = recorder();
    rec.fail = true;
    const errors: string[] = [];
    const max = 4 * RETRY;
    new CoalescingRunner(run, { minIntervalMs: MIN, maxIntervalMs: max, retryMs: RETRY, onError: (e) => errors.push((e as Error).message) }).start(controller.signal);
    await tick(0);
    for (const wait of [RETRY, 2 * RETRY, 4 * RETRY, 4 * RETRY]) await tick(wait);
    const gaps = rec.starts.slice(1).map((t, i) => t - rec.starts[i]);
    assert.deepEqual(gaps, [RETRY, 2 * RETRY, 4 * RETRY, 4 * RETRY]);
    assert.equal(errors.length, 5);
    rec.fail = false;
    await tick(4 * RETRY);
    await tick(MIN);
    assert.equal(rec.starts.length, 6, 'a success ends the backoff');
    await tick(MIN * 5);
    assert.equal(rec.starts.length, 6, 'and nothing more runs until asked or the resync is due');
  });

  test('a request during a backoff brings the retry forward, but never closer than the first retry interval to the failed run', async () => {
    const { rec, run } = recorder();
    rec.fail = true;
    const runner = new CoalescingRunner(run, { minIntervalMs: MIN, maxIntervalMs: MAX, retryMs: RETRY });
    runner.start(controller.signal);
    await tick(0);
    await tick(RETRY);
    assert.equal(rec.starts.length, 2, 'two failures: the next retry is due 2 x retry later');
    for (let i = 0; i < 10; i++) {
      runner.request();
      await tick(MIN * 2);
    }
    assert.equal(rec.starts.length, 2, 'a burst of requests does not make a failing sync run more often');
    await tick(RETRY - 20 * MIN);
    assert.deepEqual(rec.starts.slice(1), [1_000_000 + RETRY, 1_000_000 + 2 * RETRY], 'brought forward to one retry interval after the failed run');
    await tick(4 * RETRY - 1);
    assert.equal(rec.starts.length, 3, 'without requests, the backoff (4 x retry) holds');
    await tick(1);
    assert.deepEqual(rec.starts.slice(3), [1_000_000 + 6 * RETRY]);
  });

  test('a request does not postpone a run already due sooner', async () => {
    const { rec, run } = recorder();
    const runner = new CoalescingRunner(run, { minIntervalMs: MIN, maxIntervalMs: MAX, retryMs: RETRY });
    runner.start(controller.signal);
    await tick(0);
    runner.request();
    await tick(MIN / 2);
    runner.request();
    await tick(MIN / 2);
    assert.deepEqual(rec.starts, [1_000_000, 1_000_000 + MIN]);
  });

  test('after the signal aborts, nothing runs, whatever is requested', async () => {
    const { rec, run } = recorder();
    const runner = new CoalescingRunner(run, { minIntervalMs: MIN, maxIntervalMs: MAX, retryMs: RETRY });
    runner.start(controller.signal);
    await tick(0);
    controller.abort();
    runner.request();
    await tick(MAX * 3);
    assert.equal(rec.starts.length, 1);
  });
});
