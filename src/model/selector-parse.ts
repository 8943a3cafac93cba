// Label selectors in their string form (`app=web,tier in (a,b),!legacy`), as kubectl's `-l` and
// the API's `labelSelector` parameter write them (k8s.io/apimachinery/pkg/labels.Parse).
import { isQualifiedName, isValidLabelValue } from './names.js';
import type { LabelSelector, LabelSelectorRequirement } from './types.js';

export type SelectorParse = { readonly selector: LabelSelector } | { readonly error: string };

/** Splits on commas that are not inside parentheses. */
function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

export function parseLabelSelector(text: string): SelectorParse {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: LabelSelectorRequirement[] = [];
  const checkKey = (key: string): string | undefined => {
    const errs = isQualifiedName(key);
    return errs.length > 0 ? `invalid label key "${key}": ${errs[0]}` : undefined;
  };
  const checkValue = (value: string): string | undefined => {
    const errs = isValidLabelValue(value);
    return errs.length > 0 ? `invalid label value "${value}": ${errs[0]}` : undefined;
  };
  // labels.Parse: an empty text selects everything; an empty requirement between commas is an error.
  const parts = text.trim() === '' ? [] : splitRequirements(text);
  for (const part of parts) {
    let m: RegExpExecArray | null;
    if (part === '') return { error: "found ',', expected: identifier after ','" };
    if ((m = /^!\s*([^\s=!(),]+)$/.exec(part))) {
      const e = checkKey(m[1]);
      if (e) return { error: e };
      matchExpressions.push({ key: m[1], operator: 'DoesNotExist', values: [] });
    } else if ((m = /^([^\s=!(),]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part))) {
      const values = m[3].split(',').map((v) => v.trim());
      const e = checkKey(m[1]) ?? values.map(checkValue).find((x) => x !== undefined);
      if (e) return { error: e };
      matchExpressions.push({ key: m[1], operator: m[2] === 'in' ? 'In' : 'NotIn', values });
    } else if ((m = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(part))) {
      const e = checkKey(m[1]) ?? checkValue(m[3]);
      if (e) return { error: e };
      if (m[2] === '!=') matchExpressions.push({ key: m[1], operator: 'NotIn', values: [m[3]] });
      else if (m[1] in matchLabels && matchLabels[m[1]] !== m[3]) matchExpressions.push({ key: m[1], operator: 'In', values: [m[3]] });
      else matchLabels[m[1]] = m[3];
    } else if ((m = /^([^\s=!(),<>]+)\s*(<|>)\s*([^\s=!(),<>]*)$/.exec(part))) {
      // Gt and Lt: exactly one value, an integer (labels.NewRequirement).
      const e = checkKey(m[1]) ?? (/^-?[0-9]+$/.test(m[3]) ? undefined : `for 'Gt', 'Lt' operators, the value must be an integer: "${m[3]}"`);
      if (e) return { error: e };
      matchExpressions.push({ key: m[1], operator: m[2] === '>' ? 'Gt' : 'Lt', values: [m[3]] });
    } else if ((m = /^([^\s=!(),<>]+)$/.exec(part))) {
      const e = checkKey(m[1]);
      if (e) return { error: e };
      matchExpressions.push({ key: m[1], operator: 'Exists', values: [] });
    } else {
      return { error: `unable to parse requirement: "${part}"` };
    }
  }
  return { selector: { matchLabels, matchExpressions } };
}

export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}

/** Splits on commas a backslash does not escape (fields.splitTerms); escapes are kept for unescapeValue. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && i + 1 < text.length) {
      current += text[i] + text[i + 1];
      i++;
    } else if (text[i] === ',') {
      terms.push(current);
      current = '';
    } else current += text[i];
  }
  terms.push(current);
  return terms;
}

/** fields.UnescapeValue: `\\`, `\,` and `\=` stand for themselves; any other escape, or a bare `,` or `=`, is an error. */
function unescapeValue(text: string): string | { error: string } {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      const next = text[i + 1];
      if (next !== '\\' && next !== ',' && next !== '=') return { error: `invalid field selector: invalid escape sequence: ${next === undefined ? '\\' : `\\${next}`}` };
      out += next;
      i++;
    } else if (c === ',' || c === '=') {
      return { error: `invalid field selector: unescaped ${c} in value: ${text}` };
    } else out += c;
  }
  return out;
}

/**
 * A field selector (`metadata.name=web,spec.nodeName!=n1`), limited to `fields` the caller
 * supports, read as fields.ParseSelector reads it: terms split on unescaped commas (empty ones
 * skipped), each at its first `!=`, `==` or `=`, the value unescaped, nothing trimmed.
 */
export function parseFieldSelector(text: string, fields: readonly string[]): { requirements: FieldRequirement[] } | { error: string } {
  const requirements: FieldRequirement[] = [];
  for (const term of splitTerms(text)) {
    if (term === '') continue;
    const at = [...term].findIndex((_, i) => term.startsWith('!=', i) || term.startsWith('==', i) || term.startsWith('=', i));
    if (at < 0) return { error: `invalid selector: '${term}'; can't understand '${term}'` };
    const operator = term.startsWith('!=', at) ? '!=' : term.startsWith('==', at) ? '==' : '=';
    const field = term.slice(0, at);
    const value = unescapeValue(term.slice(at + operator.length));
    if (typeof value !== 'string') return value;
    if (!fields.includes(field)) return { error: `field label not supported: ${field}` };
    requirements.push({ field, operator: operator === '!=' ? '!=' : '=', value });
  }
  return { requirements };
}
