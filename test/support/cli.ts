// The CLI run in this process, its output gathered: what a user would see, without a child process.
import { main } from '../../src/cli/main.js';
import type { Output } from '../../src/cli/output.js';

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export async function runCli(args: string[], color = false): Promise<CliRun> {
  let out = '';
  let err = '';
  const io: Output = { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), color };
  const code = await main(args, io);
  return { code, out, err };
}
