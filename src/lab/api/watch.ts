// Watches over the lab store, streamed as the apiserver streams them: every change after a
// resourceVersion, once, in order (410 Expired when the event log no longer reaches back, 504 with
// ResourceVersionTooLarge when the version is newer than the store's); with allowWatchBookmarks,
// BOOKMARK events that follow the store's version, so a client knows how far it has caught up.
import type { ServerResponse } from 'node:http';
import type { Manifest } from '../../model/index.js';
import type { LabStore, StoreEvent } from '../store.js';
import { ApiError, type Registry, type Selectors } from './registry.js';
import { apiVersionOf, type Resource } from './resources.js';

/** How long a request naming a future resourceVersion waits for the store to reach it (the watch cache's blockTimeout). */
export const RESOURCE_VERSION_WAIT_MS = 3000;

/** Bookmarks are coalesced: at most one per watch in this many milliseconds, always for the latest version heard. */
export const BOOKMARK_COALESCE_MS = 5;

/** A quiet watch with bookmarks still gets one this often (the apiserver sends them about every minute), so an idle stream is seen alive. */
export const BOOKMARK_HEARTBEAT_MS = 30_000;

/** A resourceVersion parameter: undefined for "any" ('' or '0'); the lab's versions are decimal integers. */
export function parseResourceVersion(text: string | null): number | undefined {
  if (text === null || text === '' || text === '0') return undefined;
  if (!/^[0-9]{1,15}$/.test(text)) throw new ApiError(400, 'BadRequest', `invalid resource version: "${text}"`);
  return Number(text);
}

/** storage.NewTooLargeResourceVersionError: a Timeout the client may retry after a second. */
export function tooLargeResourceVersion(asked: number, current: number): ApiError {
  return new ApiError(504, 'Timeout', `Timeout: Too large resource version: ${asked}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

/**
 * Resolves true once the store reaches `version`, false after `waitMs` or when `until` fires
 * first. The store's listeners hear every write of this process, which is every write to the lab.
 */
export function waitForResourceVersion(store: LabStore, version: number, waitMs: number, until?: AbortSignal): Promise<boolean> {
  if (store.currentResourceVersion() >= version) return Promise.resolve(true);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      until?.removeEventListener('abort', settle);
      resolve(store.currentResourceVersion() >= version);
    };
    const unsubscribe = store.subscribe((e) => {
      if (e.object.resourceVersion >= version) settle();
    });
    const timer = setTimeout(settle, waitMs);
    until?.addEventListener('abort', settle);
  });
}

export interface WatchRequest {
  readonly resource: Resource;
  /** undefined: every namespace. */
  readonly namespace?: string;
  readonly selectors: Selectors;
  readonly query: URLSearchParams;
  /** Render objects as Table rows (kubectl get -w); the first row carries the columns. */
  readonly table?: (object: Manifest, withColumns: boolean) => Manifest;
  readonly resourceVersionWaitMs: number;
}

/**
 * Streams one watch. From `resourceVersion`: every later change, once, in order; from nothing or
 * "0": the current objects as ADDED, then every change. An object that stops (or starts) matching
 * the selectors is seen as DELETED (or ADDED). Resolves once the stream is set up.
 */
export async function serveWatch(store: LabStore, registry: Registry, res: ServerResponse, w: WatchRequest): Promise<void> {
  const r = w.resource;
  const match = registry.matcher(r, w.selectors);
  const from = parseResourceVersion(w.query.get('resourceVersion'));
  const timeoutText = w.query.get('timeoutSeconds') ?? '';
  if (timeoutText !== '' && !/^\d+$/.test(timeoutText)) throw new ApiError(400, 'BadRequest', `timeoutSeconds must be a non-negative integer, got "${timeoutText}"`);
  const allowBookmarks = w.query.get('allowWatchBookmarks') === 'true';

  const gone = new AbortController();
  const onClose = (): void => gone.abort();
  res.on('close', onClose);
  if (from !== undefined && from > store.currentResourceVersion()) {
    // A version this store has not reached: the watch cache waits a moment for it, then refuses.
    const reached = await waitForResourceVersion(store, from, w.resourceVersionWaitMs, gone.signal);
    if (gone.signal.aborted) return;
    if (!reached) {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: tooLargeResourceVersion(from, store.currentResourceVersion()).status() })}\n`);
      return;
    }
  }

  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
  // The headers go out at once (at the end of this synchronous setup, so after the subscription
  // below): a client that has them knows the watch hears every later write.
  res.flushHeaders();
  let columnsSent = false;
  const write = (type: string, object: Manifest): void => {
    if (gone.signal.aborted) return;
    const body = w.table && type !== 'ERROR' && type !== 'BOOKMARK' ? w.table(object, !columnsSent) : object;
    if (w.table) columnsSent = true;
    res.write(`${JSON.stringify({ type, object: body })}\n`);
  };
  const inScope = (e: StoreEvent): boolean => e.object.kind === r.kind && (w.namespace === undefined || !r.namespaced || e.object.namespace === w.namespace);
  const visible = new Set<string>();
  const key = (e: StoreEvent): string => `${e.object.namespace}/${e.object.name}`;
  const deliver = (e: StoreEvent): void => {
    if (!inScope(e)) return;
    const object = registry.present(r, e.object);
    const matches = e.type !== 'DELETED' && match(object);
    const was = visible.has(key(e));
    if (e.type === 'DELETED') {
      if (was || match(object)) write('DELETED', object);
      visible.delete(key(e));
    } else if (matches) {
      write(was ? 'MODIFIED' : 'ADDED', object);
      visible.add(key(e));
    } else if (was) {
      write('DELETED', object);
      visible.delete(key(e));
    }
  };

  // Bookmarks: the highest version this watch has heard, sent once every event up to it has been
  // written (events are written as they are heard, the bookmark a moment later), so a client that
  // reads BOOKMARK N has seen every change to its resource up to N.
  let heard = 0;
  let bookmarked = 0;
  let pending: NodeJS.Timeout | undefined;
  const sendBookmark = (again = false): void => {
    pending = undefined;
    if (heard <= bookmarked && !again) return;
    bookmarked = heard;
    write('BOOKMARK', { kind: r.kind, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(heard) } });
  };
  const scheduleBookmark = (): void => {
    if (allowBookmarks && pending === undefined && heard > bookmarked && !gone.signal.aborted) pending = setTimeout(() => sendBookmark(), BOOKMARK_COALESCE_MS);
  };

  // Subscribe first so nothing committed between the replay and the live feed is lost.
  const buffered: StoreEvent[] = [];
  let live = false;
  const unsubscribe = store.subscribe((e) => {
    heard = Math.max(heard, e.object.resourceVersion);
    if (!live) buffered.push(e);
    else {
      deliver(e);
      scheduleBookmark();
    }
  });
  let last: number;
  if (from === undefined) {
    for (const o of store.list(r.kind, r.namespaced ? w.namespace : undefined)) deliver({ type: 'ADDED', object: o });
    last = store.currentResourceVersion();
  } else {
    const replay = store.eventsSince(from, r.kind);
    if (replay === undefined) {
      write('ERROR', new ApiError(410, 'Expired', `too old resource version: ${from} (${store.currentResourceVersion()})`).status());
      unsubscribe();
      res.off('close', onClose);
      res.end();
      return;
    }
    for (const o of store.list(r.kind, r.namespaced ? w.namespace : undefined)) {
      if (o.resourceVersion <= from && match(registry.present(r, o))) visible.add(`${o.namespace}/${o.name}`);
    }
    for (const e of replay) deliver(e);
    last = Math.max(from, replay.length > 0 ? replay[replay.length - 1].object.resourceVersion : from);
  }
  for (const e of buffered) if (e.object.resourceVersion > last) deliver(e);
  live = true;
  // Every change of this resource up to the store's version is written by now: if the store has
  // moved past the version the client named (writes of other kinds), the first bookmark says so.
  bookmarked = from ?? 0;
  heard = Math.max(heard, last, store.currentResourceVersion());
  scheduleBookmark();

  const heartbeat = allowBookmarks ? setInterval(() => sendBookmark(true), BOOKMARK_HEARTBEAT_MS) : undefined;
  const timeout = Number(timeoutText || '0');
  const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
  const stop = (): void => {
    unsubscribe();
    if (pending) clearTimeout(pending);
    if (heartbeat) clearInterval(heartbeat);
    if (timer) clearTimeout(timer);
  };
  if (gone.signal.aborted) stop();
  else gone.signal.addEventListener('abort', stop);
}
