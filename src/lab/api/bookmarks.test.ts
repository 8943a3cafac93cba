// Watch bookmarks that follow the store (issue 15): with allowWatchBookmarks, a write of any kind
// brings every such watch a BOOKMARK at the store's new version once the events up to it are on
// the stream; bursts are coalesced; without allowWatchBookmarks there are none.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Manifest } from '../../model/index.js';
import { meta, NETPOL, pod, PODS, policy, rvOf, startTestServer, type TestServer, type WatchEvent } from './testing.js';

let t: TestServer;

before(async () => {
  t = await startTestServer();
});

after(() => t.close());

const currentVersion = async (path: string): Promise<string> => String(((await t.api.call('GET', path)).body.metadata as Manifest).resourceVersion);
const bookmarks = (events: readonly WatchEvent[]): number[] => events.filter((e) => e.type === 'BOOKMARK').map(rvOf);

describe('bookmarks', () => {
  test('a policy written while pods are watched brings the pods watch a BOOKMARK at the policy\'s version', async () => {
    const rv = await currentVersion(PODS);
    const pods = await t.watch(`${PODS}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    const policies = await t.watch(`${NETPOL}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    const created = await t.api.call('POST', NETPOL, policy('db'));
    const version = Number(meta(created.body).resourceVersion);
    await pods.until((events) => bookmarks(events).includes(version), `a BOOKMARK at ${version}`);
    await policies.until((events) => bookmarks(events).includes(version), `a BOOKMARK at ${version}`);
    pods.close();
    policies.close();
    const bookmark = pods.events.find((e) => e.type === 'BOOKMARK')!;
    assert.deepEqual(bookmark.object, { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(version) } });
    assert.deepEqual(pods.events.map((e) => e.type), ['BOOKMARK'], 'the pods watch saw no pod event');
    // On the policies' own stream the ADDED comes first, then the bookmark.
    assert.deepEqual(policies.events.map((e) => `${e.type} ${rvOf(e)}`), [`ADDED ${version}`, `BOOKMARK ${version}`]);
    assert.equal(policies.events[1].object.kind, 'NetworkPolicy');
    assert.equal(policies.events[1].object.apiVersion, 'networking.k8s.io/v1');
  });

  test('no event with a resourceVersion <= N arrives after BOOKMARK N, and the last version is always bookmarked', async () => {
    const rv = await currentVersion(PODS);
    const stream = await t.watch(`${PODS}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    let last = 0;
    for (let i = 0; i < 30; i++) {
      const r = i % 3 === 0 ? await t.api.call('POST', NETPOL, policy(`burst-${i}`)) : await t.api.call('POST', PODS, pod(`burst-${i}`));
      assert.equal(r.status, 201);
      last = Number(meta(r.body).resourceVersion);
    }
    // Writes straight to the store (as the pod runner makes them) count as well.
    t.store.transaction(() => {
      for (let i = 0; i < 20; i++) last = t.store.put('Pod', 'default', `burst-${i % 3 === 0 ? 1 : i}`, { ...pod(`burst-${i % 3 === 0 ? 1 : i}`), metadata: { name: `burst-${i % 3 === 0 ? 1 : i}`, namespace: 'default', labels: { round: String(i) } } })?.resourceVersion ?? last;
    });
    await stream.until((events) => bookmarks(events).includes(last), `a BOOKMARK at ${last}`);
    stream.close();
    stream.events.forEach((e, i) => {
      if (e.type !== 'BOOKMARK') return;
      const late = stream.events.slice(i + 1).find((later) => later.type !== 'BOOKMARK' && rvOf(later) <= rvOf(e));
      assert.equal(late, undefined, `${late?.type} ${String(meta(late?.object ?? {}).name)} at ${late ? rvOf(late) : ''} came after BOOKMARK ${rvOf(e)}`);
    });
    const marks = bookmarks(stream.events);
    assert.deepEqual(marks, [...marks].sort((a, b) => a - b), 'bookmarks only move forward');
    // The 20 writes of one transaction reach the watch in one turn: one bookmark covers them.
    assert.ok(marks.length <= 31, `${marks.length} bookmarks for 50 writes`);
    assert.equal(marks.filter((m) => m > last - 20).length, 1, 'one bookmark for the transaction');
  });

  test('a watch that starts behind the store gets a BOOKMARK for the store\'s version once its replay is written', async () => {
    const rv = Number(await currentVersion(PODS));
    const created = await t.api.call('POST', NETPOL, policy('meanwhile'));
    const version = Number(meta(created.body).resourceVersion);
    assert.ok(version > rv);
    const stream = await t.watch(`${PODS}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    await stream.until((events) => bookmarks(events).includes(version), `a BOOKMARK at ${version}`);
    stream.close();
  });

  test('without allowWatchBookmarks a watch gets no BOOKMARK (kubectl get -w prints none)', async () => {
    const rv = await currentVersion(PODS);
    const plain = await t.watch(`${PODS}?watch=true&resourceVersion=${rv}`);
    const table = await t.watch(`${PODS}?watch=true&resourceVersion=${rv}`, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    const marked = await t.watch(`${PODS}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
    const version = Number(meta((await t.api.call('POST', NETPOL, policy('quiet'))).body).resourceVersion);
    await marked.until((events) => bookmarks(events).includes(version), `a BOOKMARK at ${version}`);
    // A bookmark would have been written with the one above; a pod written now arrives after it.
    const sentinel = await t.api.call('POST', PODS, pod('sentinel'));
    const sentinelRV = Number(meta(sentinel.body).resourceVersion);
    for (const stream of [plain, table]) {
      await stream.until((events) => events.some((e) => e.type === 'ADDED'), 'the sentinel pod');
      stream.close();
      assert.deepEqual(stream.events.map((e) => e.type), ['ADDED']);
    }
    await marked.until((events) => bookmarks(events).includes(sentinelRV), `a BOOKMARK at ${sentinelRV}`);
    marked.close();
  });
});
