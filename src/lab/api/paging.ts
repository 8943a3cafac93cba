// Lists in pages, as the apiserver serves them (`limit` and `continue`): every page of a list shows
// the objects as they were at the first page's resourceVersion. The store keeps no old versions, so
// the first page keeps the whole result in memory for the pages after it; a token whose result is
// gone (too old, evicted, or the daemon restarted) is 410 Expired, as a compacted one is upstream.
import { randomBytes } from 'node:crypto';
import type { Manifest } from '../../model/index.js';
import { ApiError } from './registry.js';

/** How long a paged result stays (etcd's default compaction interval, after which upstream tokens expire). */
export const CONTINUE_TTL_MS = 5 * 60 * 1000;
/** Paged results kept at once; the oldest goes first. */
export const MAX_PAGED_RESULTS = 32;
/**
 * The JSON size of all kept results together (the oldest goes first, the newest always stays):
 * each is a whole list, so abandoned `--chunk-size=1` lists of large policies would otherwise hold
 * 32 copies of the store in the daemon's memory.
 */
export const MAX_PAGED_BYTES = 64 * 1024 * 1024;

export interface PageRequest {
  /** 0: everything that is left. */
  readonly limit: number;
  readonly continueToken?: string;
}

export interface Page {
  readonly items: readonly Manifest[];
  readonly resourceVersion: number;
  readonly continueToken?: string;
  readonly remainingItemCount?: number;
}

interface PagedResult {
  readonly id: string;
  readonly scope: string;
  readonly items: readonly Manifest[];
  readonly resourceVersion: number;
  readonly filtered: boolean;
  readonly expires: number;
  /** The items' JSON size, counted against MAX_PAGED_BYTES. */
  readonly bytes: number;
}

/** The token's content, base64url-encoded; clients must treat it as opaque. */
interface Token {
  readonly v: 'meta.k8s.io/v1';
  readonly rv: number;
  /** The paged result it continues. */
  readonly id: string;
  /** Index of the first item of the next page. */
  readonly start: number;
}

function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** `limit` as the apiserver reads it: a non-negative integer; absent or 0 means no limit. */
export function parseLimit(text: string | null): number {
  if (text === null || text === '') return 0;
  if (!/^\d+$/.test(text)) throw badRequest(`limit must be a non-negative integer, got "${text}"`);
  return Number(text);
}

function decodeToken(text: string): Token {
  let token: Partial<Token>;
  try {
    token = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<Token>;
  } catch {
    throw badRequest('continue key is not valid: the token could not be decoded');
  }
  if (token?.v !== 'meta.k8s.io/v1') throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  if (!Number.isInteger(token.rv) || typeof token.id !== 'string' || !Number.isInteger(token.start) || token.start! < 0) {
    throw badRequest('continue key is not valid: malformed token');
  }
  return token as Token;
}

const encodeToken = (t: Token): string => Buffer.from(JSON.stringify(t)).toString('base64url');

export class ListPager {
  private readonly results = new Map<string, PagedResult>();
  private bytes = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxBytes = MAX_PAGED_BYTES,
  ) {}

  /**
   * One page. `scope` names the list (resource, namespace, selectors): a token only continues the
   * list it came from. `list` is called only for a first page.
   */
  page(scope: string, request: PageRequest, filtered: boolean, list: () => { items: Manifest[]; resourceVersion: number }): Page {
    this.expire();
    let result: PagedResult;
    let start = 0;
    if (request.continueToken) {
      const token = decodeToken(request.continueToken);
      const kept = this.results.get(token.id);
      if (kept && kept.scope !== scope) throw badRequest('continue key is not valid: it continues another list');
      if (!kept || kept.resourceVersion !== token.rv) {
        throw new ApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      result = kept;
      start = Math.min(token.start, kept.items.length);
    } else {
      const { items, resourceVersion } = list();
      result = { id: randomBytes(12).toString('base64url'), scope, items, resourceVersion, filtered, expires: this.now() + CONTINUE_TTL_MS, bytes: 0 };
    }
    const end = request.limit > 0 ? Math.min(result.items.length, start + request.limit) : result.items.length;
    const items = result.items.slice(start, end);
    if (end >= result.items.length) return { items, resourceVersion: result.resourceVersion };

    if (!this.results.has(result.id)) this.keep({ ...result, bytes: Buffer.byteLength(JSON.stringify(result.items)) });
    return {
      items,
      resourceVersion: result.resourceVersion,
      continueToken: encodeToken({ v: 'meta.k8s.io/v1', rv: result.resourceVersion, id: result.id, start: end }),
      // Upstream counts what is left only for lists without selectors.
      ...(result.filtered ? {} : { remainingItemCount: result.items.length - end }),
    };
  }

  /** Keeps a result for the pages after the first, dropping the oldest while over either bound. */
  private keep(result: PagedResult): void {
    this.results.set(result.id, result);
    this.bytes += result.bytes;
    for (const [id, kept] of this.results) {
      if (id === result.id || (this.results.size <= MAX_PAGED_RESULTS && this.bytes <= this.maxBytes)) break;
      this.drop(id, kept);
    }
  }

  private drop(id: string, kept: PagedResult): void {
    this.results.delete(id);
    this.bytes -= kept.bytes;
  }

  private expire(): void {
    const now = this.now();
    for (const [id, kept] of this.results) if (kept.expires <= now) this.drop(id, kept);
  }
}
