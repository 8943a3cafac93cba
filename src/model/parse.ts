// Manifest text (YAML, multi-document, or JSON) -> objects that remember where each field is,
// so a field error can be reported at its line and column. Lists (`kind: List`, `PodList`, ...)
// are flattened as kubectl's decoder flattens them. Hostile text costs linear time and ends in
// diagnostics, never in an exception.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { fieldErrorBody, renderFieldPath, type Diagnostic, type FieldPath } from './diagnostics.js';
import type { Json } from './decode.js';

export interface ManifestObject {
  readonly value: Json;
  readonly file: string;
  /** 1-based index of the YAML document in the file. */
  readonly document: number;
  /** Whether the file holds several documents (then diagnostics name the document). */
  readonly multiDocument: boolean;
  /** Where this object sits in its document: [] or ['items', i] for a List member. */
  readonly prefix: FieldPath;
  /** 1-based line/column of a field of this object, or of its nearest present ancestor. */
  locate(path: FieldPath): { line: number; column: number };
}

export interface ParsedManifests {
  readonly objects: ManifestObject[];
  readonly diagnostics: Diagnostic[];
}

/** Alias expansions a document may make: enough for any real manifest, far from a "billion laughs". */
export const MAX_ALIAS_COUNT = 1000;

/**
 * Collections nested deeper than this are refused before they are converted (which recurses). No
 * Kubernetes object comes near it; the yaml library itself runs out of stack at about 800 levels.
 */
export const MAX_NESTING_DEPTH = 500;

/** What a document holds that cannot be read safely, by offset in the text. */
interface Shape {
  readonly duplicateKeys: number[];
  /** Where the nesting first passes MAX_NESTING_DEPTH. */
  readonly tooDeep?: number;
  readonly firstAlias?: number;
}

/**
 * Walks the document once without recursion. Duplicate keys are found with one Set per map (the
 * yaml library's own check compares each key with every earlier one: quadratic in keys per map);
 * keys are equal as the library compares them, scalar values with ===.
 */
function inspect(doc: Document): Shape {
  const duplicateKeys: number[] = [];
  let firstAlias: number | undefined;
  let tooDeep: number | undefined;
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth: d } = stack.pop()!;
    if (isAlias(node)) {
      const at = node.range?.[0];
      if (at !== undefined && (firstAlias === undefined || at < firstAlias)) firstAlias = at;
      continue;
    }
    if (!isMap(node) && !isSeq(node)) continue;
    if (d > MAX_NESTING_DEPTH && (tooDeep === undefined || (node.range?.[0] ?? 0) < tooDeep)) tooDeep = node.range?.[0] ?? 0;
    if (isSeq(node)) {
      for (const item of node.items) stack.push({ node: item, depth: d + 1 });
      continue;
    }
    const seen = new Set<string>();
    for (const pair of (node as YAMLMap<unknown, unknown>).items) {
      const key = pair.key;
      if (isScalar(key)) {
        const id = `${typeof key.value}:${String(key.value)}`;
        if (seen.has(id)) duplicateKeys.push(key.range?.[0] ?? 0);
        else seen.add(id);
      }
      stack.push({ node: pair.key, depth: d + 1 }, { node: pair.value, depth: d + 1 });
    }
  }
  return { duplicateKeys, tooDeep, firstAlias };
}

/**
 * Finds the node at a path, or its nearest present ancestor, through one key index per map so
 * that locating many fields of a large map stays linear.
 */
function makeLocator(doc: Document): (path: FieldPath) => Node | undefined {
  const indexes = new WeakMap<object, Map<string, Pair<unknown, unknown>>>();
  const child = (node: unknown, part: string | number): unknown => {
    if (isSeq(node)) return typeof part === 'number' ? node.items[part] : undefined;
    if (!isMap(node)) return undefined;
    let index = indexes.get(node);
    if (!index) {
      index = new Map();
      for (const pair of (node as YAMLMap<unknown, unknown>).items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key !== undefined && !index.has(key)) index.set(key, pair);
      }
      indexes.set(node, index);
    }
    return index.get(String(part))?.value;
  };
  return (path) => {
    let best: Node | undefined;
    let node: unknown = doc.contents;
    for (let i = 0; ; i++) {
      if (node && typeof node === 'object' && 'range' in node && (node as Node).range) best = node as Node;
      if (i === path.length || node === undefined || node === null) break;
      node = child(node, path[i]);
    }
    return best;
  };
}

const present = (v: unknown): boolean => typeof v === 'string' && v !== '';

/** Parses one file's text. `file` is only used to name things in diagnostics. */
export function parseManifests(text: string, file: string): ParsedManifests {
  const lineCounter = new LineCounter();
  const objects: ManifestObject[] = [];
  const diagnostics: Diagnostic[] = [];
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    // uniqueKeys is checked below in linear time; logLevel keeps the library's warnings off stderr.
    docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: false, logLevel: 'error' });
  } catch (err) {
    diagnostics.push({ severity: 'error', file, message: `YAML: cannot be read: ${unreadable(err)}` });
    return { objects, diagnostics };
  }
  if (!Array.isArray(docs)) return { objects, diagnostics };
  const multi = docs.length > 1;
  const at = (offset: number): { line: number; column: number } => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };

  docs.forEach((doc, i) => {
    const document = i + 1;
    const docLabel = multi ? document : undefined;
    const fail = (offset: number, message: string): void => {
      diagnostics.push({ severity: 'error', file, document: docLabel, ...at(offset), message });
    };
    const start = doc.contents?.range?.[0] ?? doc.range?.[0] ?? 0;
    // The library catches a stack overflow per node it composes; one diagnostic says it all.
    const overflow = doc.errors.find((e) => e.message.includes('Maximum call stack size exceeded'));
    if (overflow) {
      fail(overflow.pos[0], `YAML: nested more than ${MAX_NESTING_DEPTH} levels deep`);
      return;
    }
    const shape = inspect(doc);
    if (doc.errors.length > 0 || shape.duplicateKeys.length > 0) {
      for (const err of doc.errors) fail(err.pos[0], `YAML syntax error: ${err.message.split('\n')[0]}`);
      for (const offset of shape.duplicateKeys) fail(offset, 'YAML syntax error: Map keys must be unique');
      return;
    }
    // kubectl skips a document that is empty or decodes to null (cli-runtime StreamVisitor), as a
    // comment-only document between two `---` lines does: the yaml library gives it a null scalar.
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    if (shape.tooDeep !== undefined) {
      fail(shape.tooDeep, `YAML: nested more than ${MAX_NESTING_DEPTH} levels deep`);
      return;
    }
    const nodeAt = makeLocator(doc);
    const locate = (path: FieldPath): { line: number; column: number } => at(nodeAt(path)?.range?.[0] ?? 0);
    if (!isMap(doc.contents)) {
      diagnostics.push({ severity: 'error', file, document: docLabel, ...locate([]), message: 'a manifest must be an object with apiVersion and kind' });
      return;
    }
    let value: Json;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as Json;
    } catch (err) {
      // A "billion laughs": a few aliases that would expand into millions of nodes (goyaml's words).
      const aliasBomb = err instanceof ReferenceError && /alias/i.test(err.message);
      fail(
        aliasBomb ? (shape.firstAlias ?? start) : start,
        aliasBomb ? `YAML: document contains excessive aliasing (more than ${MAX_ALIAS_COUNT} alias expansions)` : `YAML: cannot be read: ${unreadable(err)}`,
      );
      return;
    }
    const make = (v: Json, prefix: FieldPath): ManifestObject => ({
      value: v,
      file,
      document,
      multiDocument: multi,
      prefix,
      locate: (path) => locate([...prefix, ...path]),
    });
    if (typeof value.kind === 'string' && value.kind.endsWith('List')) {
      const fields = (path: FieldPath, message: string): void => {
        diagnostics.push({ severity: 'error', file, document: docLabel, ...locate(path), field: renderFieldPath(path), message });
      };
      for (const item of listItems(value, make, fields)) objects.push(item);
      return;
    }
    objects.push(make(value, []));
  });
  return { objects, diagnostics };
}

/**
 * The members of a List, as apimachinery's unstructured decoder reads them (decodeToList): `items`
 * must be a list; in a typed list (`PodList`, as the API returns them) an item that names neither
 * kind nor apiVersion takes the list's kind without `List` and the list's apiVersion.
 */
function listItems(
  list: Json,
  make: (v: Json, prefix: FieldPath) => ManifestObject,
  fail: (path: FieldPath, message: string) => void,
): ManifestObject[] {
  const items = list.items;
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) {
    fail(['items'], fieldErrorBody({ type: 'TypeInvalid', path: ['items'], value: items, detail: 'must be a list' }));
    return [];
  }
  const itemKind = (list.kind as string).slice(0, -'List'.length);
  const listAPIVersion = typeof list.apiVersion === 'string' ? list.apiVersion : '';
  const out: ManifestObject[] = [];
  items.forEach((item: unknown, j) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      fail(['items', j], 'a List item must be an object with apiVersion and kind');
      return;
    }
    const obj = item as Json;
    const typed = !present(obj.kind) && !present(obj.apiVersion) ? { ...obj, kind: itemKind, apiVersion: listAPIVersion } : obj;
    out.push(make(typed, ['items', j]));
  });
  return out;
}

function unreadable(err: unknown): string {
  if (err instanceof RangeError && /call stack/i.test(err.message)) return `nested more than ${MAX_NESTING_DEPTH} levels deep`;
  return err instanceof Error ? err.message.split('\n')[0] : String(err);
}
