// Manifest text (YAML, multi-document, or JSON) -> objects that remember where each field is,
// so a field error can be reported at its line and column. `kind: List` is flattened.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import type { Diagnostic, FieldPath } from './diagnostics.js';
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

function nodeAt(doc: Document, path: FieldPath): Node | undefined {
  // Walk down as far as the path exists, so a missing field points at its parent.
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (node && typeof node === 'object' && 'range' in node && (node as Node).range) return node as Node;
  }
  return undefined;
}

/** Parses one file's text. `file` is only used to name things in diagnostics. */
export function parseManifests(text: string, file: string): ParsedManifests {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const objects: ManifestObject[] = [];
  const diagnostics: Diagnostic[] = [];
  if (!Array.isArray(docs)) return { objects, diagnostics };
  const multi = docs.length > 1;

  docs.forEach((doc, i) => {
    const document = i + 1;
    const docLabel = multi ? document : undefined;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const pos = lineCounter.linePos(err.pos[0]);
        diagnostics.push({
          severity: 'error',
          file,
          document: docLabel,
          line: pos.line,
          column: pos.col,
          message: `YAML syntax error: ${err.message.split('\n')[0]}`,
        });
      }
      return;
    }
    // kubectl skips a document that is empty or decodes to null (cli-runtime StreamVisitor), as a
    // comment-only document between two `---` lines does: the yaml library gives it a null scalar.
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    const locate = (path: FieldPath): { line: number; column: number } => {
      const node = nodeAt(doc, path);
      const pos = lineCounter.linePos(node?.range?.[0] ?? 0);
      return { line: pos.line, column: pos.col };
    };
    const where = locate([]);
    if (!isMap(doc.contents)) {
      diagnostics.push({
        severity: 'error',
        file,
        document: docLabel,
        ...where,
        message: 'a manifest must be an object with apiVersion and kind',
      });
      return;
    }
    const value = doc.toJS({ maxAliasCount: 1000 }) as Json;
    const make = (v: Json, prefix: FieldPath): ManifestObject => ({
      value: v,
      file,
      document,
      multiDocument: multi,
      prefix,
      locate: (path) => locate([...prefix, ...path]),
    });
    const items = doc.getIn(['items'], true);
    if (typeof value.kind === 'string' && value.kind.endsWith('List') && (items === undefined || isSeq(items))) {
      const list = Array.isArray(value.items) ? value.items : [];
      list.forEach((item, j) => {
        if (item !== null && typeof item === 'object' && !Array.isArray(item)) objects.push(make(item as Json, ['items', j]));
        else {
          diagnostics.push({
            severity: 'error',
            file,
            document: docLabel,
            ...locate(['items', j]),
            field: `items[${j}]`,
            message: 'a List item must be an object with apiVersion and kind',
          });
        }
      });
      return;
    }
    objects.push(make(value, []));
  });
  return { objects, diagnostics };
}
