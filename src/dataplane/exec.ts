// The one way Podwall runs a program: an argv array (never a shell), optional stdin, a timeout,
// and stderr captured so a failure can say what the program said.
import { spawn } from 'node:child_process';

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
  /** Throw ExecError on a non-zero exit (default true). */
  readonly check?: boolean;
  /** Share this process's terminal instead of capturing (for interactive commands). */
  readonly inherit?: boolean;
}

export class ExecError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: ExecResult,
  ) {
    const said = result.stderr.trim() || result.stdout.trim();
    super(`${argv[0]} exited with ${result.code}${said ? `: ${said.split('\n').slice(0, 12).join('\n')}` : ''}`);
    this.name = 'ExecError';
  }
}

/** Thrown when the program is not installed (ENOENT). */
export class MissingProgramError extends Error {
  constructor(readonly program: string) {
    super(`${program} not found`);
    this.name = 'MissingProgramError';
  }
}

export function exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: options.inherit ? 'inherit' : ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    if (options.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new MissingProgramError(argv[0]) : err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const result = { code: code ?? (signal ? 128 : 1), stdout, stderr: signal ? `${stderr}killed by ${signal}` : stderr };
      if (result.code !== 0 && options.check !== false) reject(new ExecError(argv, result));
      else resolve(result);
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}
