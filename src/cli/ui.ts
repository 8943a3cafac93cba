// `podwall ui`: serves the page that draws the endpoints and the flows the policies allow, over
// manifests (`-f`) or a running lab (`--lab`), on 127.0.0.1 unless `--address` says otherwise.
import { DEFAULT_LAB, defaultStateRoot, Lab } from '../lab/index.js';
import { labSource, startUiServer, staticSource, type ClusterSource } from '../web/index.js';
import { parseIP } from '../model/index.js';
import { loadInput } from './input.js';
import { UsageError, type Output } from './output.js';

export interface UiOptions {
  readonly filename?: readonly string[];
  readonly namespace: string;
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

function openSource(options: UiOptions, io: Output): ClusterSource {
  const files = options.filename ?? [];
  if (options.lab && files.length > 0) throw new UsageError('give either -f PATH... or --lab, not both');
  if (options.lab) {
    const name = options.name ?? DEFAULT_LAB;
    return labSource(Lab.open(name, options.stateDir ?? defaultStateRoot()), `lab ${name}`);
  }
  if (files.length === 0) throw new UsageError('nothing to show: give -f PATH... (manifests) or --lab (a running lab)');
  const { cluster } = loadInput({ filename: files, namespace: options.namespace }, io);
  return staticSource(cluster, files.join(' '));
}

/** Serves until `signal` aborts (SIGINT/SIGTERM from the command line). */
export async function runUi(options: UiOptions, io: Output, signal?: AbortSignal): Promise<number> {
  const explicitPort = parseListenPort(options.port);
  const address = options.address ?? '127.0.0.1';
  const ip = parseIP(address);
  if (!ip) throw new UsageError(`--address: "${address}" is not an IP address (127.0.0.1 by default; 0.0.0.0 for every address)`);
  const source = openSource(options, io);
  const loopback = ip.family === 4 ? address.startsWith('127.') : address === '::1';
  if (!loopback) {
    io.err(
      `warning: listening on ${address}, not loopback: anyone who can reach this machine there can read every policy and pod shown, and with --lab run probes. The page has no login; use it only on a network you trust.`,
    );
  }
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
  io.out(`Podwall UI: ${server.url}`);
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
