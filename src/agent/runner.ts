// A coalescing runner for syncs. Guarantees: at most one run at a time; requests that arrive
// while a run is going, or within `minIntervalMs` of the last run, are merged into one later run;
// a run happens at least every `maxIntervalMs` (a full resync even without events); a failed run
// is retried with exponential backoff up to `maxIntervalMs`; a request during the backoff (a change
// that may cure the failure) brings the retry forward, but never closer than `retryMs` to the
// failed run, so a failing sync runs at most once per `retryMs` however many changes arrive.
// Stops when the signal aborts.

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
  /** When the scheduled run is due (while `timer` is set). */
  private due = 0;
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
    // A run under way takes this request with it.
    if (this.running) return;
    const gap = this.failures > 0 ? Math.max(this.options.minIntervalMs, this.options.retryMs) : this.options.minIntervalMs;
    const wait = Math.max(0, this.lastRun + gap - Date.now());
    // A run already due sooner takes it too.
    if (this.timer && this.due <= Date.now() + wait) return;
    this.schedule(wait);
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.due = Date.now() + ms;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
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
