// Lists in pages, as the apiserver serves them (issue 13, item 10, the server side), checked with
// raw HTTP: `limit` and `continue` on every list, an opaque token, every page as of the first
// page's resourceVersion, 410 Expired for a token whose result is gone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Manifest } from '../../model/index.js';
import { CONTINUE_TTL_MS, ListPager, MAX_PAGED_BYTES, MAX_PAGED_RESULTS } from './paging.js';
import { meta, NETPOL, PODS, policy, startTestServer, type TestServer } from './testing.js';

let t: TestServer;

before(async () => {
  t = await startTestServer();
  for (let i = 0; i < 5; i++) assert.equal((await t.api.call('POST', NETPOL, policy(`p${i}`, 3306, { podSelector: { matchLabels: { n: String(i % 2) } } }))).status, 201);
});

after(() => t.close());

interface ListBody {
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: Manifest[];
}
const get = async (path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: ListBody & Manifest }> => {
  const r = await t.request('GET', path, { headers });
  return { status: r.status, body: r.json() as unknown as ListBody & Manifest };
};
const names = (items: readonly Manifest[]): string[] => items.map((m) => String(meta(m).name));

describe('limit and continue', () => {
  test('pages of `limit` items, a continue token on each but the last, all at the first page\'s resourceVersion', async () => {
    const first = await get(`${NETPOL}?limit=2`);
    assert.equal(first.status, 200);
    assert.deepEqual(names(first.body.items), ['p0', 'p1']);
    assert.ok(first.body.metadata.continue, 'a continue token');
    assert.equal(first.body.metadata.remainingItemCount, 3);
    const rv = first.body.metadata.resourceVersion;

    // Changes between pages are not seen: the list is the one of the first page.
    assert.equal((await t.api.call('POST', NETPOL, policy('p5'))).status, 201);
    assert.equal((await t.api.call('DELETE', `${NETPOL}/p3`)).status, 200);
    assert.equal((await t.api.call('PATCH', `${NETPOL}/p2`, { metadata: { labels: { changed: 'yes' } } }, 'application/merge-patch+json')).status, 200);

    const second = await get(`${NETPOL}?limit=2&continue=${encodeURIComponent(first.body.metadata.continue!)}`);
    assert.equal(second.status, 200);
    assert.deepEqual(names(second.body.items), ['p2', 'p3']);
    assert.equal((meta(second.body.items[0]).labels as Record<string, string>).changed, undefined, 'p2 as it was');
    assert.equal(second.body.metadata.resourceVersion, rv);
    assert.equal(second.body.metadata.remainingItemCount, 1);

    const last = await get(`${NETPOL}?limit=2&continue=${encodeURIComponent(second.body.metadata.continue!)}`);
    assert.deepEqual(names(last.body.items), ['p4']);
    assert.equal(last.body.metadata.continue, undefined, 'the last page has no token');
    assert.equal(last.body.metadata.remainingItemCount, undefined);
    assert.equal(last.body.metadata.resourceVersion, rv);

    // A new list sees the changes.
    assert.deepEqual(names((await get(NETPOL)).body.items), ['p0', 'p1', 'p2', 'p4', 'p5']);
  });

  test('no limit, or limit=0, lists everything in one answer without a token', async () => {
    for (const path of [NETPOL, `${NETPOL}?limit=0`, `${NETPOL}?limit=50`]) {
      const r = await get(path);
      assert.equal(r.body.items.length, 5, path);
      assert.equal(r.body.metadata.continue, undefined, path);
    }
  });

  test('with selectors, pages hold the matching objects and no remainingItemCount (upstream counts only unfiltered lists)', async () => {
    const first = await get(`${NETPOL}?limit=1&labelSelector=app%3Dshop&fieldSelector=metadata.name!%3Dp0`);
    assert.deepEqual(names(first.body.items), ['p1']);
    assert.equal(first.body.metadata.remainingItemCount, undefined);
    const rest = await get(`${NETPOL}?labelSelector=app%3Dshop&fieldSelector=metadata.name!%3Dp0&continue=${encodeURIComponent(first.body.metadata.continue!)}`);
    assert.deepEqual(names(rest.body.items), ['p2', 'p4', 'p5']);
  });

  test('every list pages: across namespaces, cluster-scoped, and as a Table (kubectl get asks for 500 at a time)', async () => {
    const all = await get('/apis/networking.k8s.io/v1/networkpolicies?limit=4');
    assert.equal(all.body.items.length, 4);
    assert.ok(all.body.metadata.continue);
    assert.equal((await t.api.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } })).status, 201);
    const namespaces = await get('/api/v1/namespaces?limit=1');
    assert.equal(namespaces.body.items.length, 1);
    assert.ok(namespaces.body.metadata.continue);
    const table = await get(`${NETPOL}?limit=2`, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    assert.equal(table.body.kind, 'Table');
    assert.equal((table.body.rows as unknown[]).length, 2);
    const next = await get(`${NETPOL}?limit=10&continue=${encodeURIComponent(table.body.metadata.continue!)}`, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
    assert.equal((next.body.rows as unknown[]).length, 3);
    assert.equal(next.body.metadata.continue, undefined);
  });

  test('a token whose result is gone (too old, evicted, a restarted daemon) is 410 Expired', async () => {
    const foreign = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 1, id: 'gone', start: 2 })).toString('base64url');
    const r = await get(`${NETPOL}?limit=2&continue=${foreign}`);
    assert.equal(r.status, 410);
    assert.equal(r.body.reason, 'Expired');
    assert.match(String(r.body.message), /^The provided continue parameter is too old to display a consistent list result/);
  });

  test('a malformed token, a token for another list, a bad limit, or continue with a resourceVersion is 400', async () => {
    const token = (await get(`${NETPOL}?limit=1`)).body.metadata.continue!;
    for (const path of [
      `${NETPOL}?limit=1&continue=not-a-token`,
      `${NETPOL}?limit=1&continue=${Buffer.from('{"v":"other"}').toString('base64url')}`,
      `${PODS}?limit=1&continue=${encodeURIComponent(token)}`,
      `${NETPOL}?limit=1&labelSelector=app%3Dx&continue=${encodeURIComponent(token)}`,
      `${NETPOL}?limit=-1`,
      `${NETPOL}?limit=two`,
      `${NETPOL}?limit=1&resourceVersion=1&continue=${encodeURIComponent(token)}`,
    ]) {
      const r = await get(path);
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.reason, 'BadRequest');
    }
  });
});

describe('the pager', () => {
  const list = (n: number, rv: number) => () => ({ items: Array.from({ length: n }, (_, i) => ({ metadata: { name: `o${i}` } })), resourceVersion: rv });

  test(`a paged result expires after ${CONTINUE_TTL_MS / 60000} minutes`, () => {
    let now = 0;
    const pager = new ListPager(() => now);
    const first = pager.page('s', { limit: 1 }, false, list(3, 7));
    now = CONTINUE_TTL_MS - 1;
    const second = pager.page('s', { limit: 1, continueToken: first.continueToken }, false, list(0, 0));
    assert.deepEqual(second.items, [{ metadata: { name: 'o1' } }]);
    now = CONTINUE_TTL_MS;
    assert.throws(() => pager.page('s', { limit: 1, continueToken: second.continueToken }, false, list(0, 0)), { code: 410 });
  });

  test(`at most ${MAX_PAGED_RESULTS} paged results are kept; the oldest goes first`, () => {
    const pager = new ListPager(() => 0);
    const tokens = Array.from({ length: MAX_PAGED_RESULTS + 1 }, (_, i) => pager.page('s', { limit: 1 }, false, list(2, i + 1)).continueToken!);
    assert.throws(() => pager.page('s', { limit: 1, continueToken: tokens[0] }, false, list(0, 0)), { code: 410 });
    assert.equal(pager.page('s', { limit: 1, continueToken: tokens[1] }, false, list(0, 0)).items.length, 1);
  });

  test(`paged results are kept up to ${MAX_PAGED_BYTES / 1024 / 1024} MiB in all; the oldest goes first, the newest always stays`, () => {
    // Each result is a whole list: abandoned `--chunk-size=1` lists of large policies must not pile up.
    const big = (rv: number) => () => ({ items: Array.from({ length: 2 }, (_, i) => ({ metadata: { name: `o${i}` }, data: 'x'.repeat(400) })), resourceVersion: rv });
    const pager = new ListPager(() => 0, 2000);
    const a = pager.page('s', { limit: 1 }, false, big(1)).continueToken!;
    const b = pager.page('s', { limit: 1 }, false, big(2)).continueToken!;
    assert.equal(pager.page('s', { limit: 1, continueToken: a }, false, list(0, 0)).items.length, 1, 'two results fit');
    const c = pager.page('s', { limit: 1 }, false, big(3)).continueToken!;
    assert.throws(() => pager.page('s', { limit: 1, continueToken: a }, false, list(0, 0)), { code: 410 });
    assert.equal(pager.page('s', { limit: 1, continueToken: b }, false, list(0, 0)).items.length, 1);
    assert.equal(pager.page('s', { limit: 1, continueToken: c }, false, list(0, 0)).items.length, 1);

    const tiny = new ListPager(() => 0, 10);
    const alone = tiny.page('s', { limit: 1 }, false, big(4)).continueToken!;
    assert.equal(tiny.page('s', { limit: 1, continueToken: alone }, false, list(0, 0)).items.length, 1, 'a result over the budget still pages');
  });

  test('a list that fits in one page keeps nothing', () => {
    const pager = new ListPager(() => 0);
    const page = pager.page('s', { limit: 5 }, false, list(5, 1));
    assert.equal(page.continueToken, undefined);
    assert.equal(page.items.length, 5);
  });
});
