// `podwall ui`: serves the page that draws the endpoints and the flows the policies allow, over
// manifests (`-f`) or a running lab (`--lab`), on 127.0.0.1 unless `--address` says otherwise
// (then with a warning: the page has no login).
import { isIP } from 'node:net';
import { DEFAULT_LAB, defaultStateRoot, Lab } from '../lab/index.js';
import { inputTitle, labSource, startUiServer, staticSource, type ClusterSource } from '../web/index.js';
import { loadAnalysisInput, wantsLiveCluster, type AnalysisInputOptions } from './input.js';
import { UsageError, type Output } from './output.js';

export interface UiOptions extends AnalysisInputOptions {
  readonly lab?: boolean;
  readonly name?: string;
  readonly stateDir?: string;
  readonly port?: string;
  readonly address?: string;
}

const DEFAULT_PORT = 7780;

function parseListenPort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n > 65535) throw new UsageError(`--port: "${text}" is not a port number (0-65535; 0 picks a free one)`);
  return n;
}

async function openSource(options: UiOptions, io: Output): Promise<ClusterSource> {
  const files = options.filename ?? [];
  if (options.lab && (files.length > 0 || wantsLiveCluster(options))) throw new UsageError('give one of -f PATH..., --lab, or --cluster/--kubeconfig/--context');
  if (options.lab) {
    const name = options.name ?? DEFAULT_LAB;
    return labSource(Lab.open(name, options.stateDir ?? defaultStateRoot()), `lab ${name}`);
  }
  if (files.length === 0 && !wantsLiveCluster(options)) throw new UsageError('nothing to show: give -f PATH... (manifests), --lab (a running lab) or --cluster (a running cluster)');
  const { cluster } = await loadAnalysisInput(options, io);
  return staticSource(cluster, inputTitle({ files, context: options.context }));
}

/** An IP address (IPv6 with or without brackets), or `localhost` for 127.0.0.1; names are not resolved. */
function parseListenAddress(text: string | undefined): string {
  if (text === undefined || text === 'localhost') return '127.0.0.1';
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIP(bare) === 0) throw new UsageError(`--address: "${text}" is not an IP address (127.0.0.1 by default; 0.0.0.0 or :: for every address of this machine)`);
  return bare;
}

/** Serves until `signal` aborts (SIGINT/SIGTERM from the command line). */
export async function runUi(options: UiOptions, io: Output, signal?: AbortSignal): Promise<number> {
  const explicitPort = parseListenPort(options.port);
  const address = parseListenAddress(options.address);
  const source = await openSource(options, io);
  let server;
  try {
    server = await startUiServer({ source, address, port: explicitPort ?? DEFAULT_PORT, namespace: options.namespace });
  } catch (err) {
    // The default port is taken: any free port will do. A port the user asked for is an error.
    if (explicitPort !== undefined || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      source.close();
      throw new UsageError(`cannot listen on ${address}:${explicitPort ?? DEFAULT_PORT}: ${(err as Error).message}`);
    }
    server = await startUiServer({ source, address, port: 0, namespace: options.namespace });
  }
  if (server.exposed) {
    io.err(
      `warning: listening on ${address}, not loopback: anyone who can reach port ${server.port} of this machine can read every policy and pod shown` +
        `${source.kind === 'lab' ? ' and make the lab run probes' : ''}. The page has no login; use it only on a network you trust.`,
    );
  }
  io.out(`Podwall UI: ${server.url}`);
  if (server.urls.length > 1) io.out(`also at: ${server.urls.slice(1).join(' ')} (by address, or by this machine's name; any other name is refused)`);
  io.out(source.kind === 'lab' ? `following ${source.title} live; Ctrl-C to stop` : 'Ctrl-C to stop');
  await new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  source.close();
  return 0;
}

/** The signal SIGINT and SIGTERM abort. */
export function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}
