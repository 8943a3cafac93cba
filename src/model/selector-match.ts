// meta/v1 LabelSelector semantics: "The requirements are ANDed"; an empty selector matches all.
import type { LabelSelector, LabelSelectorRequirement, Labels } from './types.js';

function requirementMatches(req: LabelSelectorRequirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  switch (req.operator) {
    case 'In':
      return has && req.values.includes(labels[req.key]);
    case 'NotIn':
      // A missing key satisfies NotIn, as in k8s.io/apimachinery/pkg/labels.
      return !has || !req.values.includes(labels[req.key]);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      // labels.Requirement.Matches: both sides as integers; a label that is not one never matches.
      if (!has || !/^-?[0-9]+$/.test(labels[req.key])) return false;
      const value = BigInt(labels[req.key]);
      const bound = BigInt(req.values[0]);
      return req.operator === 'Gt' ? value > bound : value < bound;
    }
  }
}

export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const key in selector.matchLabels) {
    if (!Object.prototype.hasOwnProperty.call(labels, key) || labels[key] !== selector.matchLabels[key]) return false;
  }
  for (const req of selector.matchExpressions) if (!requirementMatches(req, labels)) return false;
  return true;
}
