// Input problems as data: every diagnostic names the file, document, object and field path,
// worded the way the apiserver's field errors are (k8s.io/apimachinery/pkg/util/validation/field).

export type FieldErrorType = 'Invalid' | 'Required' | 'Forbidden' | 'NotSupported' | 'TypeInvalid' | 'TooLong' | 'TooMany' | 'Duplicate' | 'Unknown';

/** A path through an object, rendered like field.Path: `spec.ingress[0].ports[1].port`. */
export type FieldPath = readonly (string | number)[];

export function renderFieldPath(path: FieldPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

/** A field error before it is placed in a file: what validation functions return. */
export interface FieldError {
  readonly type: FieldErrorType;
  readonly path: FieldPath;
  readonly value?: unknown;
  readonly detail: string;
  readonly supported?: readonly string[];
}

export interface Diagnostic {
  readonly severity: 'error' | 'notice';
  readonly file: string;
  /** 1-based document index within the file, when the file holds several. */
  readonly document?: number;
  readonly line?: number;
  readonly column?: number;
  /** `NetworkPolicy default/db-policy` */
  readonly object?: string;
  readonly field?: string;
  readonly message: string;
}

/** Go's %v/%q rendering as field.Error prints values: strings quoted, numbers bare. */
function renderValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  return JSON.stringify(value);
}

/** The body of a field error as `field.Error.ErrorBody()` words it. */
export function fieldErrorBody(error: FieldError): string {
  switch (error.type) {
    case 'Invalid':
      return `Invalid value: ${renderValue(error.value)}: ${error.detail}`;
    case 'Required':
      return error.detail ? `Required value: ${error.detail}` : 'Required value';
    case 'Forbidden':
      return `Forbidden: ${error.detail}`;
    case 'NotSupported': {
      const supported = (error.supported ?? []).map((s) => JSON.stringify(s)).join(', ');
      return `Unsupported value: ${renderValue(error.value)}: supported values: ${supported}`;
    }
    case 'TypeInvalid':
      return `Invalid value: ${renderValue(error.value)}: ${error.detail}`;
    case 'TooLong':
      return `Too long: ${error.detail}`;
    case 'TooMany':
      return `Too many: ${renderValue(error.value)}: ${error.detail}`;
    case 'Duplicate':
      return `Duplicate value: ${renderValue(error.value)}`;
    case 'Unknown':
      return error.detail;
  }
}

export function formatDiagnostic(d: Diagnostic): string {
  let where = d.file;
  if (d.line !== undefined) where += `:${d.line}:${d.column ?? 1}`;
  const parts = [where];
  if (d.document !== undefined) parts[0] += ` (document ${d.document})`;
  if (d.object) parts.push(d.object);
  parts.push(d.field ? `${d.field}: ${d.message}` : d.message);
  return parts.join(': ');
}

/** Thrown only by callers that choose to turn diagnostics into a failure (the CLI maps it to exit 2). */
export class InvalidInputError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic).join('\n'));
    this.name = 'InvalidInputError';
  }
}
