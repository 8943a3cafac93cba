// Limits on the shape of what the API takes and stores: size, nesting depth, and keys that would
// reach an object's prototype; applied to request bodies and to what updates and patches leave
// (which a body cap alone does not bound). Depth is checked iteratively, so any value is safe to check.

/** Deeper than any Kubernetes object needs; keeps the recursive code after parsing (patches, admission, JSON.stringify) off the stack's edge. */
export const MAX_OBJECT_DEPTH = 100;

/**
 * The largest object an update may leave (etcd refuses requests over 1.5 MiB upstream): twice the
 * JSON body cap, so an object and kubectl's last-applied copy of it fit, while patch after patch
 * cannot grow one without end.
 */
export const MAX_OBJECT_BYTES = 1024 * 1024;

interface Frame {
  readonly value: object;
  readonly depth: number;
  readonly parent?: Frame;
  readonly key?: string | number;
}

function pathOf(frame: Frame): string {
  const keys: (string | number)[] = [];
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent) keys.unshift(f.key!);
  const path = keys.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('').replace(/^\./, '');
  return path || 'the top';
}

/** What is wrong with a value's shape, as the end of a sentence ("is nested more than ..."), or undefined. */
export function shapeProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const stack: Frame[] = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > MAX_OBJECT_DEPTH) return `is nested more than ${MAX_OBJECT_DEPTH} levels deep (at ${pathOf(frame)})`;
    const v = frame.value;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (item !== null && typeof item === 'object') stack.push({ value: item, depth: frame.depth + 1, parent: frame, key: i });
      }
      continue;
    }
    for (const key of Object.keys(v)) {
      if (key === '__proto__') return `may not hold the key "__proto__" (at ${pathOf(frame)})`;
      const item = (v as Record<string, unknown>)[key];
      if (item !== null && typeof item === 'object') stack.push({ value: item, depth: frame.depth + 1, parent: frame, key });
    }
  }
  return undefined;
}
