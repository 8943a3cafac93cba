#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (built by `npm ci` through `prepare`). A failure that
// escapes main(), even an unhandled rejection, exits 3 in one line: never 1, which reads as a verdict.
const args = process.argv.slice(2);
const debug = args.slice(0, args.includes('--') ? args.indexOf('--') : undefined).includes('--debug') || Boolean(process.env.PODWALL_DEBUG);
const crash = (err) => {
  const error = err instanceof Error ? err : new Error(String(err));
  const line = error.code === 'EPIPE' ? 'standard output was closed before everything was written (EPIPE)' : `internal error (${error.name}): ${error.message.split('\n').filter((l) => l.trim() !== '').join('; ')}`;
  process.stderr.write(`error: ${line}\n`);
  if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exit(3);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(args);
