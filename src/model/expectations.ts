// Expectations files (`podwall test --expect`): flows that must be allowed or denied, and "only
// these sources reach X" statements, decoded strictly (unknown fields are errors, with a "did you
// mean") and reported at file:line:col with a field path. Pure: the caller reads the file.
import { fieldErrorBody, renderFieldPath, type Diagnostic, type FieldError, type FieldPath } from './diagnostics.js';
import { FieldDecoder, type Json } from './decode.js';
import { decodeLabelSelector } from './labels.js';
import { isDNS1123Label, isValidPortName, isValidPortNum } from './names.js';
import { parseManifests } from './parse.js';
import { PROTOCOLS, type LabelSelector, type Protocol } from './types.js';

export const EXPECTATIONS_API_VERSION = 'podwall.dev/v1alpha1';
export const EXPECTATIONS_KIND = 'Expectations';

/** The word that means every address outside the cluster. */
export const OUTSIDE_PEER = 'outside';

/** What a case says must hold. */
export type ExpectationVerb = 'allow' | 'deny' | 'only';
export const EXPECTATION_VERBS: readonly ExpectationVerb[] = ['allow', 'deny', 'only'];

/**
 * One end of a flow as written: a name (`ns/name`, `ns/kind/name`, `ns/service/name`, a bare name
 * in the default namespace, an IP address), `outside`, or a selector meaning every endpoint it selects.
 */
export type ExpectedPeer =
  | { readonly kind: 'name'; readonly name: string; readonly path: FieldPath }
  | { readonly kind: 'outside'; readonly path: FieldPath }
  | {
      readonly kind: 'selector';
      /** One namespace by name; exclusive with namespaceSelector. */
      readonly namespace?: string;
      readonly namespaceSelector?: LabelSelector;
      readonly podSelector?: LabelSelector;
      readonly path: FieldPath;
    };

export interface ExpectationCase {
  /** 0-based position in `cases`. */
  readonly index: number;
  readonly name?: string;
  readonly verb: ExpectationVerb;
  /** allow/deny: every source; only: the sources allowed (every other source must be denied). */
  readonly from: readonly ExpectedPeer[];
  readonly to: readonly ExpectedPeer[];
  /** A number, a port name resolved per destination, or absent: every port the destination declares. */
  readonly port?: number | string;
  readonly protocol: Protocol;
  /** `cases[i]`. */
  readonly path: FieldPath;
}

export interface Expectations {
  readonly file: string;
  /** metadata.name, or undefined. */
  readonly name?: string;
  /** Where bare names and selectors without a namespace look; undefined: the caller's default (-n). */
  readonly namespace?: string;
  readonly cases: readonly ExpectationCase[];
  /** 1-based line and column of a field (or its nearest present ancestor). */
  locate(path: FieldPath): { line: number; column: number };
}

export interface DecodedExpectations {
  /** Undefined when any diagnostic is an error. */
  readonly expectations?: Expectations;
  readonly diagnostics: readonly Diagnostic[];
}

const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'namespace', 'cases'] as const;
const METADATA_FIELDS = ['name'] as const;
const CASE_FIELDS = ['name', ...EXPECTATION_VERBS] as const;
const FLOW_FIELDS = ['from', 'to', 'port', 'protocol'] as const;
const SELECTOR_FIELDS = ['namespace', 'namespaceSelector', 'podSelector'] as const;

/** Edit distance counting a swap of two neighbours as one edit (optimal string alignment), for "did you mean". */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[x.length][y.length];
}

/** The known word closest to a typo, if one is close enough to be what was meant. */
export function closestWord(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(word, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

/** Strict decoding, as the apiserver's strict field validation reports a typo, with a suggestion. */
function knownFields(d: FieldDecoder, obj: Json, known: readonly string[], path: FieldPath): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const where = renderFieldPath([...path, key]);
    const guess = closestWord(key, known);
    d.errors.push({ type: 'Unknown', path: [...path, key], detail: `unknown field "${where}"${guess ? `; did you mean "${guess}"?` : ` (known fields: ${known.join(', ')})`}` });
  }
}

function decodePeer(d: FieldDecoder, raw: unknown, path: FieldPath): ExpectedPeer | undefined {
  if (typeof raw === 'string') {
    if (raw.trim() === '') {
      d.invalid(path, raw, 'must name an endpoint (ns/name, ns/kind/name, ns/service/name), an IP address, or "outside"');
      return undefined;
    }
    if (raw === OUTSIDE_PEER) return { kind: 'outside', path };
    const parts = raw.split('/');
    if (parts.length > 3 || parts.some((p) => p === '')) {
      d.invalid(path, raw, 'must be ns/name, ns/kind/name, ns/service/name, a name in the default namespace, an IP address, or "outside"');
      return undefined;
    }
    return { kind: 'name', name: raw, path };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    d.invalid(path, raw, 'must be a name (a string) or a selector (an object with namespace, namespaceSelector and/or podSelector)');
    return undefined;
  }
  const obj = raw as Json;
  knownFields(d, obj, SELECTOR_FIELDS, path);
  const namespace = d.string(obj.namespace, [...path, 'namespace']);
  if (namespace !== undefined) for (const msg of isDNS1123Label(namespace)) d.invalid([...path, 'namespace'], namespace, msg);
  const hasNamespaceSelector = obj.namespaceSelector !== undefined && obj.namespaceSelector !== null;
  const hasPodSelector = obj.podSelector !== undefined && obj.podSelector !== null;
  if (namespace !== undefined && hasNamespaceSelector) d.forbidden([...path, 'namespaceSelector'], 'may not be specified when `namespace` is: give one namespace by name or select namespaces by label');
  if (namespace === undefined && !hasNamespaceSelector && !hasPodSelector) {
    d.required(path, 'a selector needs at least one of namespace, namespaceSelector and podSelector');
  }
  return {
    kind: 'selector',
    namespace,
    namespaceSelector: hasNamespaceSelector ? decodeLabelSelector(d, obj.namespaceSelector, [...path, 'namespaceSelector']) : undefined,
    podSelector: hasPodSelector ? decodeLabelSelector(d, obj.podSelector, [...path, 'podSelector']) : undefined,
    path,
  };
}

/** One peer or a non-empty list of them. */
function decodePeers(d: FieldDecoder, raw: unknown, path: FieldPath, what: string): ExpectedPeer[] {
  if (raw === undefined || raw === null) {
    d.required(path, what);
    return [];
  }
  if (!Array.isArray(raw)) {
    const peer = decodePeer(d, raw, path);
    return peer ? [peer] : [];
  }
  if (raw.length === 0) d.required(path, `${what} (an empty list names nothing)`);
  return raw.flatMap((item, i) => {
    const peer = decodePeer(d, item, [...path, i]);
    return peer ? [peer] : [];
  });
}

function decodePort(d: FieldDecoder, raw: unknown, path: FieldPath): number | string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number') {
    for (const msg of isValidPortNum(raw)) d.invalid(path, raw, msg);
    return raw;
  }
  if (typeof raw === 'string') {
    // A quoted number is still a number, as intstr would not take it but a YAML author means it.
    if (/^[0-9]+$/.test(raw)) return decodePort(d, Number(raw), path);
    for (const msg of isValidPortName(raw)) d.invalid(path, raw, msg);
    return raw;
  }
  d.invalid(path, raw, 'must be a port number (1-65535) or a port name');
  return undefined;
}

function decodeProtocol(d: FieldDecoder, raw: unknown, path: FieldPath): Protocol {
  const text = d.string(raw, path);
  if (text === undefined) return 'TCP';
  if (!(PROTOCOLS as readonly string[]).includes(text)) {
    d.notSupported(path, text, PROTOCOLS);
    return 'TCP';
  }
  return text as Protocol;
}

function decodeCase(d: FieldDecoder, raw: unknown, index: number): ExpectationCase | undefined {
  const path: FieldPath = ['cases', index];
  const obj = d.object(raw, path);
  if (!obj) {
    if (raw === undefined || raw === null) d.required(path, 'a case needs one of allow, deny and only');
    return undefined;
  }
  knownFields(d, obj, CASE_FIELDS, path);
  const name = d.string(obj.name, [...path, 'name']);
  const verbs = EXPECTATION_VERBS.filter((v) => obj[v] !== undefined && obj[v] !== null);
  if (verbs.length === 0) {
    d.required(path, 'a case needs one of allow, deny and only');
    return undefined;
  }
  if (verbs.length > 1) {
    d.forbidden([...path, verbs[1]], `a case states one thing: give ${verbs.join(' and ')} as separate cases`);
    return undefined;
  }
  const verb = verbs[0];
  const flowPath: FieldPath = [...path, verb];
  const flow = d.object(obj[verb], flowPath);
  if (!flow) return undefined;
  knownFields(d, flow, FLOW_FIELDS, flowPath);
  const from = decodePeers(d, flow.from, [...flowPath, 'from'], verb === 'only' ? 'the sources allowed to reach `to` (every other source must be denied)' : 'the source(s) of the flow');
  const to = decodePeers(d, flow.to, [...flowPath, 'to'], 'the destination(s) of the flow');
  const port = decodePort(d, flow.port, [...flowPath, 'port']);
  const protocol = decodeProtocol(d, flow.protocol, [...flowPath, 'protocol']);
  return { index, name, verb, from, to, port, protocol, path };
}

/**
 * Decodes an expectations file's text. `file` names it in diagnostics. One document per file; a
 * file with errors yields no expectations, only the diagnostics (every one, not just the first).
 */
export function decodeExpectations(text: string, file: string): DecodedExpectations {
  const parsed = parseManifests(text, file);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  if (diagnostics.some((x) => x.severity === 'error')) return { diagnostics };
  if (parsed.objects.length !== 1 || parsed.objects[0].prefix.length > 0) {
    const where = parsed.objects[1]?.locate([]) ?? {};
    diagnostics.push({
      severity: 'error',
      file,
      ...where,
      message: parsed.objects.length === 0 ? `no expectations: the file must hold one ${EXPECTATIONS_KIND} document` : `one ${EXPECTATIONS_KIND} document per file (found ${parsed.objects.length})`,
    });
    return { diagnostics };
  }
  const doc = parsed.objects[0];
  const obj = doc.value;
  const d = new FieldDecoder();
  knownFields(d, obj, TOP_FIELDS, []);
  const apiVersion = d.string(obj.apiVersion, ['apiVersion']);
  if (apiVersion === undefined) d.required(['apiVersion'], EXPECTATIONS_API_VERSION);
  else if (apiVersion !== EXPECTATIONS_API_VERSION) d.notSupported(['apiVersion'], apiVersion, [EXPECTATIONS_API_VERSION]);
  const kind = d.string(obj.kind, ['kind']);
  if (kind === undefined) d.required(['kind'], EXPECTATIONS_KIND);
  else if (kind !== EXPECTATIONS_KIND) d.notSupported(['kind'], kind, [EXPECTATIONS_KIND]);
  const metadata = d.object(obj.metadata, ['metadata']);
  if (metadata) knownFields(d, metadata, METADATA_FIELDS, ['metadata']);
  const name = metadata ? d.string(metadata.name, ['metadata', 'name']) : undefined;
  const namespace = d.string(obj.namespace, ['namespace']);
  if (namespace !== undefined) for (const msg of isDNS1123Label(namespace)) d.invalid(['namespace'], namespace, msg);
  if (obj.cases === undefined || obj.cases === null) d.required(['cases'], 'the list of cases (allow, deny, only)');
  const cases = d.array(obj.cases, ['cases']).flatMap((raw, i) => {
    const c = decodeCase(d, raw, i);
    return c ? [c] : [];
  });
  if (Array.isArray(obj.cases) && obj.cases.length === 0) d.required(['cases'], 'at least one case: an empty file tests nothing');

  const object = `${EXPECTATIONS_KIND}${name ? ` ${name}` : ''}`;
  diagnostics.push(...d.errors.map((e) => toDiagnostic(file, object, doc.locate, e)));
  if (d.errors.length > 0) return { diagnostics };
  return { expectations: { file, name, namespace, cases, locate: doc.locate }, diagnostics };
}

function toDiagnostic(file: string, object: string, locate: (path: FieldPath) => { line: number; column: number }, e: FieldError): Diagnostic {
  return { severity: 'error', file, ...locate(e.path), object, field: renderFieldPath(e.path), message: fieldErrorBody(e) };
}

/** A diagnostic for a problem the engine found with a case (an endpoint that does not exist, a selector that selects nothing). */
export function expectationDiagnostic(expectations: Expectations, path: FieldPath, message: string): Diagnostic {
  return {
    severity: 'error',
    file: expectations.file,
    ...expectations.locate(path),
    object: `${EXPECTATIONS_KIND}${expectations.name ? ` ${expectations.name}` : ''}`,
    field: renderFieldPath(path),
    message,
  };
}
