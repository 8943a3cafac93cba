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
  return parts.map((p) => p.trim()).filter((p) => p !== '');
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
  for (const part of splitRequirements(text)) {
    let m: RegExpExecArray | null;
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

/** A field selector (`metadata.name=web,spec.nodeName!=n1`), limited to `fields` the caller supports. */
export function parseFieldSelector(text: string, fields: readonly string[]): { requirements: FieldRequirement[] } | { error: string } {
  const requirements: FieldRequirement[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!m) return { error: `invalid selector: '${part}'` };
    if (!fields.includes(m[1])) return { error: `field label not supported: ${m[1]}` };
    requirements.push({ field: m[1], operator: m[2] === '!=' ? '!=' : '=', value: m[3] });
  }
  return { requirements };
}
