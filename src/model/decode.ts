// Type-checked reading of untyped manifest data: each accessor records a field error with the
// path of the offending field instead of throwing, so every problem in a file is reported at once.
import type { FieldError, FieldPath } from './diagnostics.js';

export type Json = Record<string, unknown>;

export interface DecodeOptions {
  /**
   * Ignore fields Podwall does not know. For objects an apiserver already accepted (the agent's
   * input), a field added by a newer Kubernetes must not make a policy vanish.
   */
  readonly ignoreUnknownFields?: boolean;
}

export class FieldDecoder {
  readonly errors: FieldError[] = [];

  constructor(private readonly options: DecodeOptions = {}) {}

  invalid(path: FieldPath, value: unknown, detail: string): void {
    this.errors.push({ type: 'Invalid', path, value, detail });
  }

  required(path: FieldPath, detail = ''): void {
    this.errors.push({ type: 'Required', path, detail });
  }

  forbidden(path: FieldPath, detail: string): void {
    this.errors.push({ type: 'Forbidden', path, detail });
  }

  notSupported(path: FieldPath, value: unknown, supported: readonly string[]): void {
    this.errors.push({ type: 'NotSupported', path, value, detail: '', supported });
  }

  /** field.TooLong: the value is left out of the message, as the apiserver leaves it out. */
  tooLong(path: FieldPath, maxBytes: number): void {
    this.errors.push({ type: 'TooLong', path, detail: `may not be more than ${maxBytes} ${maxBytes === 1 ? 'byte' : 'bytes'}` });
  }

  private wrongType(path: FieldPath, value: unknown, expected: string): void {
    this.errors.push({ type: 'TypeInvalid', path, value, detail: `must be ${expected}` });
  }

  /** An object, or undefined when absent/null; a non-object is an error. */
  object(value: unknown, path: FieldPath): Json | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.wrongType(path, value, 'an object');
      return undefined;
    }
    return value as Json;
  }

  /** A list, or [] when absent/null. */
  array(value: unknown, path: FieldPath): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.wrongType(path, value, 'a list');
      return [];
    }
    return value;
  }

  string(value: unknown, path: FieldPath): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      this.wrongType(path, value, 'a string');
      return undefined;
    }
    return value;
  }

  integer(value: unknown, path: FieldPath): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.wrongType(path, value, 'an integer');
      return undefined;
    }
    return value;
  }

  boolean(value: unknown, path: FieldPath): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') {
      this.wrongType(path, value, 'a boolean');
      return undefined;
    }
    return value;
  }

  /** A map of string to string, as labels are. A `__proto__` key stays a key (and is refused by the key checks). */
  stringMap(value: unknown, path: FieldPath): Record<string, string> {
    const obj = this.object(value, path);
    const out: Record<string, string> = {};
    if (!obj) return out;
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === 'string') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else this.wrongType([...path, k], v, 'a string');
    }
    return out;
  }

  /** Checks the fields of each object in a list (strict mode only); non-objects are type errors. */
  knownFieldsOfEach(value: unknown, known: readonly string[], path: FieldPath): Json[] {
    const out: Json[] = [];
    this.array(value, path).forEach((raw, i) => {
      const obj = this.object(raw, [...path, i]);
      if (!obj) return;
      this.knownFields(obj, known, [...path, i]);
      out.push(obj);
    });
    return out;
  }

  /** Strict field validation, as `kubectl apply` (fieldValidation=Strict) reports typos. */
  knownFields(obj: Json, known: readonly string[], path: FieldPath): void {
    if (this.options.ignoreUnknownFields) return;
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) {
        const where = [...path, key];
        this.errors.push({ type: 'Unknown', path: where, detail: `unknown field "${renderDotted(where)}"` });
      }
    }
  }
}

function renderDotted(path: FieldPath): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[');
}
