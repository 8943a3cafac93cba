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

  program
    .command('ui')
    .description('serve a page on 127.0.0.1 that draws the endpoints and the flows the policies allow, with explanations and an editor')
    .option('-f, --filename <path>', 'manifest file or directory (repeatable; - for stdin)', collect)
    .option('-n, --namespace <ns>', 'namespace for objects that name none', 'default')
    .option('--lab', 'follow a running lab live instead of reading manifests')
    .option('--name <lab>', 'which lab, with --lab', 'lab')
    .option('--state-dir <dir>', 'where labs keep their state, with --lab (default $PODWALL_STATE_DIR or /var/lib/podwall)')
    .option('--port <n>', 'the port to listen on (default 7780, or a free one when that is taken)')
    .option('--address <ip>', 'the address to listen on (default 127.0.0.1; anything else exposes the page)')
    .action(async (opts) => {
      const { runUi, interruptSignal } = await import('./ui.js');
      setExit(await runUi(opts, io, interruptSignal()));
    });

  const lab = program.command('lab').description('a single-node cluster on this machine: pods as network namespaces, policies enforced by nftables (needs root)');
  const labOptions = (cmd: Command): Command =>
    cmd.option('--name <lab>', 'which lab (1-6 letters/digits)', 'lab').option('--state-dir <dir>', 'where labs keep their state (default $PODWALL_STATE_DIR or /var/lib/podwall)');
  const labCommands = () => import('./lab.js');

  labOptions(inputOptions(lab.command('up').description('build the lab from manifests, enforce the policies, and print the probed matrix')))
    .option('--pod-cidr <cidr>', 'addresses for pods without status.podIP (default 10.244.0.0/16)')
    .option('--log', 'log denied packets (rate-limited, prefix names the pod)')
    .option('--api-port <n>', "the lab API server's port on 127.0.0.1 (default 6443 for the default lab, else a free one)")
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts) => setExit(await (await labCommands()).runLabUp(opts, io)));
  labOptions(inputOptions(lab.command('apply').description('create or update namespaces, pods, workloads and policies in the lab'))).action(async (opts) =>
    setExit(await (await labCommands()).runLabApply(opts, io)),
  );
  labOptions(inputOptions(lab.command('delete').description('delete the objects named in the manifests (and what they own)'))).action(async (opts) =>
    setExit(await (await labCommands()).runLabDelete(opts, io)),
  );
  labOptions(lab.command('get').argument('[what]', 'pods, policies or namespaces', 'pods').description('list what the lab holds'))
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (what: string, opts) => setExit(await (await labCommands()).runLabGet(what, opts, io)));
  labOptions(lab.command('probe').description('real connections from every pod to every pod, beside the engine\'s prediction (exit 1 on a difference)'))
    .option('--port <n>', 'one port (default: every declared port)')
    .option('--protocol <p>', 'TCP or UDP')
    .option('--timeout <seconds>', 'how long a probe waits', '1')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts) => setExit(await (await labCommands()).runLabProbe(opts, io)));
  labOptions(lab.command('counters').description('denied connections per pod and direction'))
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts) => setExit(await (await labCommands()).runLabCounters(opts, io)));
  labOptions(lab.command('exec').argument('<pod>', 'ns/name').argument('[command...]', 'the command, after --').description('run a command inside a pod\'s network namespace'))
    .action(async (pod: string, command: string[], opts) => setExit(await (await labCommands()).runLabExec(pod, command, opts)));
  labOptions(lab.command('down').description('remove every namespace, link, table and process of the lab (also after a crash)')).action(async (opts) =>
    setExit(await (await labCommands()).runLabDown(opts, io)),
  );
  labOptions(lab.command('kubeconfig').description("print the path of the lab's kubeconfig: export KUBECONFIG=$(podwall lab kubeconfig)")).action(async (opts) =>
    setExit((await labCommands()).runLabKubeconfig(opts, io)),
  );
  // Started by `lab up`; not for use by hand.
  labOptions(lab.command('daemon', { hidden: true })).action(async (opts) => {
    const { runLabDaemon } = await import('./lab-daemon.js');
    setExit(await runLabDaemon(opts));
  });

  program
    .command('agent')
    .description("enforce NetworkPolicies for this node's pods, watching the Kubernetes API (run as a DaemonSet)")
    .option('--node <name>', "this node's name (default $NODE_NAME, else the host name)")
    .option('--kubeconfig <path>', 'kubeconfig to use (default: in-cluster configuration, else $KUBECONFIG or ~/.kube/config)')
    .option('--table <name>', 'the nftables table the agent owns (inet family)', 'podwall')
    .option('--health-address <host:port>', 'where /healthz, /readyz and /metrics listen', '127.0.0.1:9743')
    .option('--node-address <ip...>', 'addresses of this node, whose connections to pods are never judged')
    .option('--log', 'log denied packets (rate-limited, prefix names the pod)')
    .action(async (opts) => {
      const { runAgent } = await import('./agent.js');
      setExit(await runAgent(opts, io));
    });

  return program;
}

/** Errors of the lab and agent layers that mean bad input or a missing prerequisite (exit 2). */
function isInputError(err: unknown): err is Error {
  return err instanceof Error && (err.name === 'LabInputError' || err.name === 'LabPrerequisiteError');
}

export async function main(argv: readonly string[], io: Output = processOutput()): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = c));
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
    }
    if (err instanceof InvalidInputError) return 2;
    if (err instanceof UsageError || isInputError(err)) {
      io.err(`error: ${err.message}`);
      return 2;
    }
    // Anything else is a failure of the host or a bug: say it in one line, keep the stack for debugging.
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.PODWALL_DEBUG && err instanceof Error && err.stack) io.err(err.stack);
    return 1;
  }
}
