// Labels and label selectors: decoded and validated as the apiserver does
// (apimachinery meta/v1/validation ValidateLabels, ValidateLabelSelector).
import type { FieldPath } from './diagnostics.js';
import type { FieldDecoder } from './decode.js';
import { isQualifiedName, isValidLabelValue } from './names.js';
import type { LabelSelector, LabelSelectorOperator, LabelSelectorRequirement, Labels } from './types.js';

export function validateLabelName(d: FieldDecoder, key: string, path: FieldPath): void {
  for (const msg of isQualifiedName(key)) d.invalid(path, key, msg);
}

/** Decodes a labels map; ValidateLabels reports every problem at the map's own path. */
export function decodeLabels(d: FieldDecoder, value: unknown, path: FieldPath): Labels {
  const labels = d.stringMap(value, path);
  for (const [k, v] of Object.entries(labels)) {
    validateLabelName(d, k, path);
    for (const msg of isValidLabelValue(v)) d.invalid(path, v, msg);
  }
  return labels;
}

const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export function decodeLabelSelector(d: FieldDecoder, value: unknown, path: FieldPath): LabelSelector {
  const obj = d.object(value, path);
  if (!obj) return { matchLabels: {}, matchExpressions: [] };
  d.knownFields(obj, ['matchLabels', 'matchExpressions'], path);
  const matchLabels = decodeLabels(d, obj.matchLabels, [...path, 'matchLabels']);
  const matchExpressions: LabelSelectorRequirement[] = [];
  d.array(obj.matchExpressions, [...path, 'matchExpressions']).forEach((raw, i) => {
    const exprPath = [...path, 'matchExpressions', i];
    const expr = d.object(raw, exprPath);
    if (!expr) return;
    d.knownFields(expr, ['key', 'operator', 'values'], exprPath);
    const key = d.string(expr.key, [...exprPath, 'key']) ?? '';
    const operator = d.string(expr.operator, [...exprPath, 'operator']) ?? '';
    const values: string[] = [];
    d.array(expr.values, [...exprPath, 'values']).forEach((v, j) => {
      const s = d.string(v, [...exprPath, 'values', j]);
      if (s !== undefined) values.push(s);
    });
    switch (operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          d.required([...exprPath, 'values'], "must be specified when `operator` is 'In' or 'NotIn'");
        }
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          d.forbidden([...exprPath, 'values'], "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
        }
        break;
      default:
        d.invalid([...exprPath, 'operator'], operator, 'not a valid selector operator');
    }
    validateLabelName(d, key, [...exprPath, 'key']);
    values.forEach((v, j) => {
      for (const msg of isValidLabelValue(v)) d.invalid([...exprPath, 'values', j], v, msg);
    });
    if (OPERATORS.includes(operator)) {
      matchExpressions.push({ key, operator: operator as LabelSelectorOperator, values });
    }
  });
  return { matchLabels, matchExpressions };
}

/** Renders a selector the way kubectl prints one: `role=db,tier in (a,b),!legacy`. */
export function formatLabelSelector(selector: LabelSelector): string {
  const parts = Object.keys(selector.matchLabels)
    .sort()
    .map((k) => `${k}=${selector.matchLabels[k]}`);
  for (const e of selector.matchExpressions) {
    switch (e.operator) {
      case 'In':
        parts.push(`${e.key} in (${[...e.values].sort().join(',')})`);
        break;
      case 'NotIn':
        parts.push(`${e.key} notin (${[...e.values].sort().join(',')})`);
        break;
      case 'Exists':
        parts.push(e.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${e.key}`);
        break;
      case 'Gt':
        parts.push(`${e.key}>${e.values[0]}`);
        break;
      case 'Lt':
        parts.push(`${e.key}<${e.values[0]}`);
        break;
    }
  }
  return parts.join(',');
}

export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels).length === 0 && selector.matchExpressions.length === 0;
}
