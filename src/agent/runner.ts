// A coalescing runner for syncs. Guarantees: at most one run at a time; requests that arrive
// while a run is going, or within `minIntervalMs` of the last run, are merged into one later run;
// a run happens at least every `maxIntervalMs` (a full resync even without events); a failed run
// is retried with exponential backoff up to `maxIntervalMs`, and requests during the backoff wait
// for it. Stops when the signal aborts.

export interface RunnerOptions {
  readonly minIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly retryMs: number;
  readonly onError?: (err: unknown) => void;
}

export class CoalescingRunner {
  private pending = false;
  private running = false;
  private timer?: NodeJS.Timeout;
  private lastRun = 0;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly options: RunnerOptions,
  ) {}

  start(signal: AbortSignal): void {
    signal.addEventListener('abort', () => {
      this.stopped = true;
      if (this.timer) clearTimeout(this.timer);
    });
    this.request();
  }

  /** Asks for a run soon; many requests become one run. */
  request(): void {
    if (this.stopped) return;
    this.pending = true;
    // A run under way, or a retry waiting out its backoff, takes this request with it.
    if (this.running || this.failures > 0) return;
    const wait = Math.max(0, this.lastRun + this.options.minIntervalMs - Date.now());
    this.schedule(wait);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    this.pending = false;
    this.lastRun = Date.now();
    try {
      await this.run();
      this.failures = 0;
    } catch (err) {
      this.failures++;
      this.pending = true;
      this.options.onError?.(err);
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (this.pending) {
      const backoff = this.failures > 0 ? Math.min(this.options.maxIntervalMs, this.options.retryMs * 2 ** (this.failures - 1)) : this.options.minIntervalMs;
      this.schedule(backoff);
    } else {
      this.schedule(this.options.maxIntervalMs);
      this.pending = true;
    }
  }
}
