// The `podwall` command line: flags in kubectl's conventions (-f, -n, -o); commands are loaded
// lazily so `--help` stays fast. Exit codes: 0 ok/allowed, 1 denied or differences, 2 bad input.
import { Command, CommanderError, Option } from 'commander';
import { InvalidInputError } from '../model/index.js';
import { processOutput, UsageError, type Output } from './output.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function inputOptions(cmd: Command): Command {
  return cmd
    .requiredOption('-f, --filename <path>', 'manifest file or directory (repeatable; - for stdin)', collect)
    .option('-n, --namespace <ns>', 'namespace for objects that name none', 'default');
}

export function buildProgram(io: Output, setExit: (code: number) => void): Command {
  const program = new Command('podwall')
    .description('Kubernetes NetworkPolicy: exact semantics, enforcement and tools to see and test them')
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  inputOptions(program.command('matrix').description('who can reach whom, per port (rows: from, columns: to)'))
    .option('--port <n>', 'one port (default: every port some endpoint declares)')
    .addOption(new Option('--protocol <p>', 'TCP, UDP or SCTP (default TCP with --port)'))
    .option('-o, --output <format>', 'text, json or md', 'text')
    .action(async (opts) => {
      const { runMatrix } = await import('./matrix.js');
      setExit(runMatrix(opts, io));
    });

  inputOptions(program.command('check').description('can one connection be made, and why (exit 0 allowed, 1 denied, 2 bad input)'))
    .option('--from <src>', 'source: ns/name, ns/kind/name or an IP address')
    .option('--to <dst>', 'destination: ns/name, ns/kind/name or an IP address')
    .option('--port <n>', 'destination port')
    .option('--protocol <p>', 'TCP, UDP or SCTP', 'TCP')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts) => {
      const { runCheck } = await import('./check.js');
      setExit(runCheck(opts, io));
    });

  inputOptions(program.command('explain').argument('[endpoint]', 'ns/name or ns/kind/name (default: every endpoint)'))
    .description('per endpoint: the policies that select it, its isolation, who may reach it and whom it may reach')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (endpoint: string | undefined, opts) => {
      const { runExplain } = await import('./explain.js');
      setExit(runExplain(endpoint, opts, io));
    });

  return program;
}

export async function main(argv: readonly string[], io: Output = processOutput()): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = c));
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    }
    if (err instanceof InvalidInputError) return 2;
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
