// Terminal output helpers: colour only on a terminal and never with NO_COLOR set; long output
// streamed with backpressure.
export interface Output {
  /** One or more whole lines (a newline is added). */
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly color: boolean;
  /**
   * Writes text as it is and resolves once the stream can take more, so output larger than memory
   * (a matrix of many endpoints) streams. Without it, `writeChunks` gathers the text for `out`.
   */
  readonly write?: (chunk: string) => Promise<void>;
}

/** Streamed output is handed to the stream in pieces of about this size. */
const WRITE_SIZE = 64 * 1024;

/** Writes chunks that together end in a newline: streamed when the Output can stream, else as one `out`. */
export async function writeChunks(io: Output, chunks: Iterable<string>): Promise<void> {
  let pending = '';
  for (const chunk of chunks) {
    pending += chunk;
    if (io.write && pending.length >= WRITE_SIZE) {
      await io.write(pending);
      pending = '';
    }
  }
  if (io.write) {
    if (pending !== '') await io.write(pending);
    return;
  }
  io.out(pending.endsWith('\n') ? pending.slice(0, -1) : pending);
}

/** Resolves once `stream` has taken `chunk` (or at once if it has room); rejects if the stream fails or closes. */
function writeWithBackpressure(stream: NodeJS.WriteStream, chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.write(chunk)) return resolve();
    const done = (err?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(new Error('standard output was closed'));
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

export function processOutput(): Output {
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    color: useColor(process.stdout),
    write: (chunk) => writeWithBackpressure(process.stdout, chunk),
  };
}

export interface Paint {
  ok(text: string): string;
  bad(text: string): string;
  warn(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const ansi = (code: string) => (text: string) => `\u001b[${code}m${text}\u001b[0m`;

export function paint(color: boolean): Paint {
  if (!color) {
    const id = (t: string): string => t;
    return { ok: id, bad: id, warn: id, dim: id, bold: id };
  }
  return { ok: ansi('32'), bad: ansi('31'), warn: ansi('33'), dim: ansi('2'), bold: ansi('1') };
}

/** Bad input or usage: exit 2, as `check` documents (0 allowed, 1 denied, 2 bad input). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
