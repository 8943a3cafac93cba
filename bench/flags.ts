// Command-line flags of the benchmarks: `--name value` or `--name=value`; flags a benchmark does
// not know are left for the others (bench/run.ts passes the same flags to each).

export function flag(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  return undefined;
}
