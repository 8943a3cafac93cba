// Pieces of `podwall matrix`'s text that do not depend on the engine: natural order, the column
// headings (names written downwards, cut past a height, with a legend), and RFC 4180 CSV fields.
import type { Endpoint } from '../model/index.js';

/** The tallest a column heading may be before names are cut and explained in a legend. */
export const MAX_HEADING_HEIGHT = 14;

const RUNS = /\d+|\D+/g;

/**
 * Natural order: runs of digits compare as numbers (`api-8` before `api-10`), everything else by
 * code unit, so the order is the same on every machine (no locale). Equal numbers with more
 * leading zeros come after (`a-01` after `a-1`), which keeps the order total.
 */
export function naturalCompare(a: string, b: string): number {
  if (a === b) return 0;
  const x = a.match(RUNS) ?? [];
  const y = b.match(RUNS) ?? [];
  let zeros = 0;
  for (let k = 0; k < Math.min(x.length, y.length); k++) {
    const p = x[k];
    const q = y[k];
    if (p === q) continue;
    const digits = /^\d/.test(p) && /^\d/.test(q);
    if (!digits) return p < q ? -1 : 1;
    const pv = p.replace(/^0+(?=\d)/, '');
    const qv = q.replace(/^0+(?=\d)/, '');
    if (pv.length !== qv.length) return pv.length - qv.length;
    if (pv !== qv) return pv < qv ? -1 : 1;
    zeros ||= p.length - q.length;
  }
  if (x.length !== y.length) return x.length - y.length;
  return zeros !== 0 ? zeros : a < b ? -1 : 1;
}

/** Endpoints in natural order of namespace, then name, then id (a Pod and a workload of one name). */
export function naturalOrder(endpoints: readonly Endpoint[]): number[] {
  return endpoints
    .map((_, i) => i)
    .sort((i, j) => {
      const a = endpoints[i];
      const b = endpoints[j];
      return naturalCompare(a.namespace, b.namespace) || naturalCompare(a.name, b.name) || naturalCompare(a.id, b.id);
    });
}

/**
 * The shortest name that tells each endpoint apart among those given: its name, else
 * `namespace/name`, else its id (`ns/kind/name`: a Pod and a workload of one name).
 */
export function shortNames(endpoints: readonly Endpoint[]): string[] {
  const count = (keys: readonly string[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
    return m;
  };
  const names = count(endpoints.map((e) => e.name));
  const qualified = count(endpoints.map((e) => `${e.namespace}/${e.name}`));
  return endpoints.map((e) => {
    if (names.get(e.name) === 1) return e.name;
    const q = `${e.namespace}/${e.name}`;
    return qualified.get(q) === 1 ? q : e.id;
  });
}

export interface ColumnHeadings {
  /** The text above each column, top to bottom, one character per line. */
  readonly labels: readonly string[];
  /** A prefix every name shared and that the labels leave out (`argocd-`), when that was needed. */
  readonly droppedPrefix?: string;
  /** The labels that were cut, each with the endpoint it stands for. */
  readonly legend: readonly { readonly label: string; readonly id: string }[];
  readonly height: number;
}

/** The longest prefix every label shares that ends a word (at `-`, `.`, `_` or `/`), leaving something of each. */
function sharedWordPrefix(labels: readonly string[]): string {
  if (labels.length < 2) return '';
  let prefix = labels[0];
  for (const l of labels) {
    let k = 0;
    while (k < prefix.length && k < l.length && prefix[k] === l[k]) k++;
    prefix = prefix.slice(0, k);
  }
  const end = Math.max(prefix.lastIndexOf('-'), prefix.lastIndexOf('.'), prefix.lastIndexOf('_'), prefix.lastIndexOf('/'));
  prefix = prefix.slice(0, end + 1);
  return labels.every((l) => l.length > prefix.length) ? prefix : '';
}

/** How many characters of a name's end a cut heading keeps when the starts alone do not tell names apart (`-create`, `-patch`). */
const KEPT_END = 6;

/** A name cut to `height` characters: its start and `…`, or with `end` its start, `…` and its last `end` characters (`ingress…create`); `n` numbers it. */
function cutName(name: string, height: number, end: number, n?: number): string {
  const tail = end === 0 ? '' : name.slice(name.length - Math.min(end, Math.floor((height - 1) / 2)));
  const mark = n === undefined ? '' : String(n);
  return `${name.slice(0, height - 1 - tail.length - mark.length)}${mark}…${tail}`;
}

/**
 * Column headings that fit `maxHeight` lines: every short name whole when they all fit; else,
 * without a word prefix all of them share, each name still too long cut to `maxHeight`
 * characters (its start; its start and end when starts collide; a number when both do),
 * explained in the legend.
 */
export function columnHeadings(endpoints: readonly Endpoint[], maxHeight = MAX_HEADING_HEIGHT): ColumnHeadings {
  const names = shortNames(endpoints);
  const tallest = (ls: readonly string[]): number => ls.reduce((h, l) => Math.max(h, l.length), 0);
  if (tallest(names) <= maxHeight) return { labels: names, legend: [], height: tallest(names) };
  const prefix = sharedWordPrefix(names);
  const stripped = names.map((l) => l.slice(prefix.length));
  const cutAll = (end: number): string[] => stripped.map((l) => (l.length <= maxHeight ? l : cutName(l, maxHeight, end)));
  const distinct = (ls: readonly string[]): boolean => new Set(ls).size === ls.length;
  const starts = cutAll(0);
  const labels = distinct(starts) ? starts : cutAll(KEPT_END);
  // Cut names that still collide, with each other or with a whole name, get a number, in column order.
  const uses = new Map<string, number>();
  for (const l of labels) uses.set(l, (uses.get(l) ?? 0) + 1);
  const taken = new Set(labels);
  const counters = new Map<string, number>();
  const unique = labels.map((l, j) => {
    if (uses.get(l) === 1 || l === stripped[j]) return l;
    for (let n = (counters.get(l) ?? 0) + 1; ; n++) {
      const candidate = cutName(stripped[j], maxHeight, KEPT_END, n);
      if (!taken.has(candidate)) {
        counters.set(l, n);
        taken.add(candidate);
        return candidate;
      }
    }
  });
  const legend = unique.flatMap((label, j) => (label !== stripped[j] ? [{ label, id: endpoints[j].id }] : []));
  return { labels: unique, legend, height: tallest(unique), ...(prefix ? { droppedPrefix: prefix } : {}) };
}

/** The heading lines: line k holds the k-th character of every label, columns `gap` apart, top-aligned. */
export function headingLines(labels: readonly string[], height: number): string[] {
  const lines: string[] = [];
  for (let k = 0; k < height; k++) lines.push(labels.map((l) => [...l][k] ?? ' ').join(' ').trimEnd());
  return lines;
}

/** One CSV field as RFC 4180 writes it: quoted when it holds a comma, a quote or a line break, quotes doubled. */
export function csvField(value: string | number | boolean): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV record, ended by CRLF as RFC 4180 asks. */
export function csvRecord(fields: readonly (string | number | boolean)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}
