// The flip prober (bench/connload.py flip) driven from a benchmark: one request line in, one JSON
// line out, so a benchmark can ask "does this connection get through now?" as fast as it likes.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The flip prober (connload.py flip): one line in, one JSON line out. */
export class Prober {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly queue: string[] = [];
  private waiting?: (line: string) => void;
  private stderr = '';

  constructor(argv: readonly string[]) {
    this.child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w(line);
      else this.queue.push(line);
    });
  }

  next(): Promise<string> {
    const line = this.queue.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.child.exitCode !== null) return Promise.reject(new Error(`the prober exited: ${this.stderr.trim().slice(-300)}`));
    return new Promise((resolve) => (this.waiting = resolve));
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const done = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await done;
    clearTimeout(timer);
  }
}
