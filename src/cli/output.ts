// Terminal output helpers: colour only on a terminal and never with NO_COLOR set.
export interface Output {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly color: boolean;
}

export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

export function processOutput(): Output {
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    color: useColor(process.stdout),
  };
}

export interface Paint {
  ok(text: string): string;
  bad(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const ansi = (code: string) => (text: string) => `\u001b[${code}m${text}\u001b[0m`;

export function paint(color: boolean): Paint {
  if (!color) {
    const id = (t: string): string => t;
    return { ok: id, bad: id, dim: id, bold: id };
  }
  return { ok: ansi('32'), bad: ansi('31'), dim: ansi('2'), bold: ansi('1') };
}

/** Bad input or usage: exit 2, as `check` documents (0 allowed, 1 denied, 2 bad input). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
