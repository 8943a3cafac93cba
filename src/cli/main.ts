// The `podwall` command line: flags in kubectl's conventions (-f, -n, -o); commands are loaded
// lazily so `--help` stays fast. Exit codes: 0 ok/allowed, 1 a verdict (denied, differences),
// 2 bad input, 3 an internal failure, so that a crash never reads as a verdict.
import { Command, CommanderError, Option } from 'commander';
import { processOutput, type Output } from './output.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function inputOptions(cmd: Command): Command {
  return cmd
    .requiredOption('-f, --filename <path>', 'manifest file or directory (repeatable; - for stdin)', collect)
    .option('-n, --namespace <ns>', 'namespace for objects that name none', 'default');
}

/** Where an analysis command reads its cluster: manifests, or a running cluster through its API. */
function clusterOptions(cmd: Command): Command {
  return cmd
    .option('--kubeconfig <path>', 'read a running cluster through this kubeconfig instead of manifests')
    .option('--context <name>', 'the kubeconfig context to read (default: its current context)')
    .option('--cluster', 'read the running cluster of the current context ($KUBECONFIG or ~/.kube/config)');
}

function analysisInputOptions(cmd: Command): Command {
  return clusterOptions(
    cmd
      .option('-f, --filename <path>', 'manifest file or directory (repeatable; - for stdin)', collect)
      .option('-n, --namespace <ns>', 'namespace for objects that name none (and for names given without one)', 'default'),
  );
}

export function buildProgram(io: Output, setExit: (code: number) => void): Command {
  const program = new Command('podwall')
    .description('Kubernetes NetworkPolicy: exact semantics, enforcement and tools to see and test them')
    .version('0.1.0')
    .showHelpAfterError()
    .option('--debug', 'on an internal failure (exit 3), print its stack too (also PODWALL_DEBUG=1)')
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  analysisInputOptions(program.command('matrix').description('who can reach whom, per port (rows: from, columns: to)'))
    .option('--port <n>', 'one port (default: every port some endpoint declares)')
    .addOption(new Option('--protocol <p>', 'TCP, UDP or SCTP (default TCP with --port)'))
    .option('-o, --output <format>', 'text, json, md or csv', 'text')
    .option('--summary', 'per grid one line and the isolated endpoints, not the cells (for big clusters)')
    .option('--max-endpoints <n>', 'refuse (exit 2) a matrix of more endpoints than this (default 10000)')
    .option('--services', 'the Service view: rows are endpoints (and outside), columns are Service ports; a cell is allowed when every backend admits it')
    .action(async (opts) => {
      const { runMatrix } = await import('./matrix.js');
      setExit(await runMatrix(opts, io));
    });

  analysisInputOptions(program.command('check').description('can one connection be made, and why (exit 0 allowed, 1 denied, 2 bad input, 3 an internal failure)'))
    .option('--from <src>', 'source: ns/name, ns/kind/name, an IP address, or ns/service/name (each of its backends)')
    .option('--to <dst>', 'destination: ns/name, ns/kind/name, an IP address, or a Service (ns/service/name, its ClusterIP or LoadBalancer address): judged per backend')
    .option('--port <n>', 'destination port (for a Service: the Service port, or its node port from outside)')
    .option('--protocol <p>', 'TCP, UDP or SCTP', 'TCP')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts) => {
      const { runCheck } = await import('./check.js');
      setExit(await runCheck(opts, io));
    });

  analysisInputOptions(program.command('explain').argument('[endpoint]', 'ns/name, ns/kind/name or ns/service/name (default: every endpoint)'))
    .description('per endpoint: the policies that select it, its isolation, who may reach it and whom it may reach; per Service with --services')
    .option('-o, --output <format>', 'text or json', 'text')
    .option('--services', 'explain Services instead: backends per port, who may reach each port, and the traps')
    .action(async (endpoint: string | undefined, opts) => {
      const { runExplain } = await import('./explain.js');
      setExit(await runExplain(endpoint, opts, io));
    });

  analysisInputOptions(program.command('lint').description('findings in the policies: rules that do nothing, selectors that match nothing, traps (exit 0 clean, 1 findings at or above --fail-on)'))
    .option('-o, --output <format>', 'text, json or sarif', 'text')
    .option('--fail-on <severity>', 'the lowest severity that makes the exit code 1: error, warning, info or none', 'error')
    .action(async (opts) => {
      const { runLint } = await import('./lint.js');
      setExit(await runLint(opts, io));
    });

  clusterOptions(
    program
      .command('diff')
      .argument('<old>', 'a file, a directory, git:REF:PATH, or "cluster" (the running cluster)')
      .argument('<new>', 'a file, a directory, git:REF:PATH, or "cluster" (the running cluster)')
      .description('the flows a change opens and closes, with the rule responsible on each side (exit 0 no change, 1 changes)'),
  )
    .option('-n, --namespace <ns>', 'namespace for objects that name none', 'default')
    .option('-o, --output <format>', 'text, json or md', 'text')
    .action(async (oldInput: string, newInput: string, opts) => {
      const { runDiff } = await import('./diff.js');
      setExit(await runDiff(oldInput, newInput, opts, io));
    });

  analysisInputOptions(program.command('test').description('judge an expectations file: flows that must be allowed or denied (exit 0 all pass, 1 some fail, 2 bad input, 3 a lab probe undecided)'))
    .requiredOption('--expect <file>', 'the expectations (YAML)')
    .option('--lab', 'also send real packets in a running lab and fail where the kernel disagrees')
    .option('--name <lab>', 'which lab, with --lab', 'lab')
    .option('--state-dir <dir>', 'where labs keep their state, with --lab (default $PODWALL_STATE_DIR or /var/lib/podwall)')
    .option('-o, --output <format>', 'text, json, junit or tap', 'text')
    .action(async (opts) => {
      const { runTest } = await import('./expect.js');
      setExit(await runTest(opts, io));
    });

  analysisInputOptions(program.command('fix').description('the smallest policy change that allows a denied connection and nothing else'))
    .option('--from <src>', 'source: ns/name, ns/kind/name, an IP address, or ns/service/name (each of its backends)')
    .option('--to <dst>', 'destination: ns/name, ns/kind/name, an IP address, or ns/service/name (fixed per backend at its targetPort)')
    .option('--port <n>', 'destination port')
    .option('--protocol <p>', 'TCP, UDP or SCTP', 'TCP')
    .option('-o, --output <format>', 'yaml, patch (JSON patches) or json', 'yaml')
    .action(async (opts) => {
      const { runFix } = await import('./fix.js');
      setExit(await runFix(opts, io));
    });

  clusterOptions(program
    .command('ui')
    .description('serve a page on 127.0.0.1 that draws the endpoints and the flows the policies allow, with explanations and an editor')
    .option('-f, --filename <path>', 'manifest file or directory (repeatable; - for stdin)', collect)
    .option('-n, --namespace <ns>', 'namespace for objects that name none', 'default'))
    .option('--lab', 'follow a running lab live instead of reading manifests')
    .option('--name <lab>', 'which lab, with --lab', 'lab')
    .option('--state-dir <dir>', 'where labs keep their state, with --lab (default $PODWALL_STATE_DIR or /var/lib/podwall)')
    .option('--port <n>', 'the port to listen on (default 7780, or a free one when that is taken)')
    .option('--address <ip>', 'the address to listen on (default 127.0.0.1; anything else exposes the page)')
    .action(async (opts) => {
      const { runUi, interruptSignal } = await import('./ui.js');
      setExit(await runUi(opts, io, interruptSignal()));
    });

  const lab = program.command('lab').description('a cluster on this machine: pods as network namespaces on one node or several, policies enforced by nftables (needs root)');
  const labOptions = (cmd: Command): Command =>
    cmd.option('--name <lab>', 'which lab (1-6 letters/digits)', 'lab').option('--state-dir <dir>', 'where labs keep their state (default $PODWALL_STATE_DIR or /var/lib/podwall)');
  const labCommands = () => import('./lab.js');

  labOptions(inputOptions(lab.command('up').description('build the lab from manifests, enforce the policies, and print the probed matrix')))
    .option('--pod-cidr <cidr>', 'addresses for pods without status.podIP (default 10.244.0.0/16)')
    .option('--service-cidr <cidr>', 'where ClusterIPs come from (default 10.96.0.0/16; the cluster DNS takes its tenth address)')
    .option('--log', 'log denied packets (rate-limited, prefix names the pod)')
    .option('--api-port <n>', "the lab API server's port on 127.0.0.1 (default 6443 for the default lab, else a free one)")
    .option('--nodes <n>', 'nodes, each a network namespace with its own pods and its own podwall agent (default 1)')
    .option('--topology <kind>', 'how the nodes wire their pods: routed (Calico-like), bridge (Flannel host-gw-like), vxlan (Flannel vxlan-like); default routed')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts) => setExit(await (await labCommands()).runLabUp(opts, io)));
  const labNode = lab.command('node').description("the node lab's nodes");
  labOptions(labNode.command('delete').argument('<node>', 'the node name (see kubectl get nodes)').description('remove a node: its pods are deleted, its agent stopped, its namespace and routes removed'))
    .action(async (node: string, opts) => setExit(await (await labCommands()).runLabNodeDelete(node, opts, io)));
  labOptions(inputOptions(lab.command('apply').description('create or update namespaces, pods, workloads and policies in the lab'))).action(async (opts) =>
    setExit(await (await labCommands()).runLabApply(opts, io)),
  );
  labOptions(inputOptions(lab.command('delete').description('delete the objects named in the manifests (and what they own)'))).action(async (opts) =>
    setExit(await (await labCommands()).runLabDelete(opts, io)),
  );
  labOptions(lab.command('get').argument('[what]', 'pods, policies, namespaces or adminpolicies (anp, banp, cnp)', 'pods').description('list what the lab holds'))
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (what: string, opts) => setExit(await (await labCommands()).runLabGet(what, opts, io)));
  labOptions(lab.command('probe').description('real connections from every pod to every pod, beside the engine\'s prediction (exit 1 on a difference)'))
    .option('--port <n>', 'one port (default: every declared port)')
    .option('--protocol <p>', 'TCP or UDP')
    .option('--timeout <seconds>', 'how long a probe waits', '1')
    .option('--services', 'probe every Service port (at its ClusterIP; NodePorts from the outside host) instead of every pod port')
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
    .option('--page-size <n>', 'items per list page (limit); continue tokens fetch the rest', '500')
    .option('--log', 'log denied packets (rate-limited, prefix names the pod)')
    .action(async (opts) => {
      const { runAgent } = await import('./agent.js');
      setExit(await runAgent(opts, io));
    });

  return program;
}

/**
 * Errors that mean bad input, bad usage or a missing prerequisite (exit 2), by name: the lab's
 * classes must not be imported to be recognised. Every other error is an internal failure (exit 3),
 * among them the lab's LabChangeInterrupted and LabPodsNotReady.
 */
const INPUT_ERRORS: ReadonlySet<string> = new Set(['UsageError', 'InvalidInputError', 'LabInputError', 'LabPrerequisiteError']);

/** Failures the lab names for what they are; anything else unexpected is called an internal error. */
const NAMED_FAILURES: ReadonlySet<string> = new Set(['LabChangeInterrupted', 'LabPodsNotReady', 'LiveClusterError']);

/** `--debug` anywhere before a `--` (after it, the words belong to another command), or PODWALL_DEBUG. */
export function debugRequested(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--debug') || Boolean(env.PODWALL_DEBUG);
}

/** A message on one line: its lines joined with "; ". */
export function oneLine(message: string): string {
  return message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join('; ');
}

/** Says what failed in one line, and its stack only when asked; the exit code is 3. */
export function reportFailure(err: unknown, io: Output, debug: boolean): number {
  const error = err instanceof Error ? err : new Error(String(err));
  let line: string;
  if ((error as NodeJS.ErrnoException).code === 'EPIPE') line = 'standard output was closed before everything was written (EPIPE)';
  else line = `${NAMED_FAILURES.has(error.name) ? '' : `internal error (${error.name}): `}${oneLine(error.message) || '(no message)'}`;
  try {
    io.err(`error: ${line}`);
    if (debug && error.stack) io.err(error.stack);
  } catch {
    // Nowhere left to say it: the exit code still does.
  }
  return 3;
}

/** The exit code for an error that ended a command, after saying what it was. */
export function exitCodeFor(err: unknown, io: Output, debug: boolean): number {
  if (err instanceof CommanderError) {
    // Commander has printed its message already.
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
  }
  if (err instanceof Error && INPUT_ERRORS.has(err.name)) {
    // InvalidInputError's diagnostics were printed as they were found.
    if (err.name !== 'InvalidInputError') io.err(`error: ${err.message}`);
    return 2;
  }
  return reportFailure(err, io, debug);
}

export async function main(argv: readonly string[], io: Output = processOutput()): Promise<number> {
  let code = 0;
  try {
    const program = buildProgram(io, (c) => (code = c));
    const override = (cmd: Command): void => {
      cmd.exitOverride();
      cmd.commands.forEach(override);
    };
    override(program);
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    return exitCodeFor(err, io, debugRequested(argv));
  }
}
