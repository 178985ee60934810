/**
 * A work queue keyed by resource, in the style of controller-runtime's: a key is handled by one worker at a
 * time; adding a key while it runs makes it run once more afterwards; each run says when it wants to run
 * again; a run that throws is retried with exponential backoff and jitter. Pepr's Reconcile has none of this.
 */
export interface QueueResult {
  /** Run again after this many milliseconds; absent: only when the key is added again. */
  requeueAfterMs?: number;
}

export interface QueueOptions {
  /** Keys run at once; 0 runs none (until configure() raises it), Infinity has no limit. */
  concurrency: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  backoffMultiplier: number;
  /** Called when a run throws, with the delay before its retry. */
  onError?: (key: string, error: unknown, retryInMs: number) => void;
  random?: () => number;
}

interface Entry {
  timer?: NodeJS.Timeout;
  due?: number;
  running: boolean;
  dirty: boolean;
  failures: number;
}

export class ReconcileQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly ready: string[] = [];
  private active = 0;
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly handler: (key: string) => Promise<QueueResult>,
    private opts: QueueOptions,
  ) {}

  /**
   * Changes options while the queue runs. A higher concurrency starts waiting keys at once; a lower one
   * lets running keys finish and starts others only below it. Backoff options apply to the next failure.
   */
  configure(changes: Partial<Omit<QueueOptions, "onError" | "random">>): void {
    this.opts = { ...this.opts, ...changes };
    this.pump();
  }

  get concurrency(): number {
    return this.opts.concurrency;
  }

  /** Schedules a key now, or after delayMs; an earlier schedule of the same key wins. */
  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    const entry = this.entry(key);
    if (entry.running) {
      if (delayMs === 0) entry.dirty = true;
      else this.schedule(key, entry, delayMs);
      return;
    }
    if (delayMs === 0) this.enqueue(key, entry);
    else this.schedule(key, entry, delayMs);
  }

  /** Forgets a key: pending timers are dropped (a running handler finishes). */
  forget(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    if (!entry.running) this.entries.delete(key);
  }

  /** Keys waiting to be retried after a failure run now: what failed them (the apiserver away) may be over. */
  retryFailedNow(): void {
    for (const [key, entry] of this.entries)
      if (entry.failures > 0 && entry.timer !== undefined && !entry.running)
        this.enqueue(key, entry);
  }

  /** Backoff before the next retry after `failures` consecutive failures, with up to 20% jitter. */
  backoffMs(failures: number): number {
    const base = Math.min(
      this.opts.maxBackoffMs,
      this.opts.initialBackoffMs * this.opts.backoffMultiplier ** Math.max(0, failures - 1),
    );
    return Math.round(base * (1 + 0.2 * (this.opts.random ?? Math.random)()));
  }

  /** Keys with a pending or running run. */
  get size(): number {
    return this.entries.size;
  }

  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.ready.length = 0;
  }

  /** Resolves when nothing is running or ready to run (timers may still be pending). */
  idle(): Promise<void> {
    if (this.active === 0 && this.ready.length === 0) return Promise.resolve();
    return new Promise(resolve => this.idleWaiters.push(resolve));
  }

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) {
      e = { running: false, dirty: false, failures: 0 };
      this.entries.set(key, e);
    }
    return e;
  }

  private schedule(key: string, entry: Entry, delayMs: number) {
    const due = Date.now() + delayMs;
    if (entry.due !== undefined && entry.due <= due) return;
    clearTimeout(entry.timer);
    entry.due = due;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      entry.due = undefined;
      if (entry.running) entry.dirty = true;
      else this.enqueue(key, entry);
    }, delayMs);
    entry.timer.unref?.();
  }

  private enqueue(key: string, entry: Entry) {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.due = undefined;
    if (!this.ready.includes(key)) this.ready.push(key);
    this.pump();
  }

  private pump() {
    while (!this.stopped && this.active < this.opts.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      void this.run(key);
    }
    if (this.active === 0 && this.ready.length === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async run(key: string) {
    const entry = this.entry(key);
    entry.running = true;
    entry.dirty = false;
    this.active++;
    let next: number | undefined;
    try {
      const result = await this.handler(key);
      entry.failures = 0;
      next = result.requeueAfterMs;
    } catch (e) {
      entry.failures++;
      next = this.backoffMs(entry.failures);
      this.opts.onError?.(key, e, next);
    } finally {
      entry.running = false;
      this.active--;
    }
    if (this.stopped) return;
    if (entry.dirty) this.enqueue(key, entry);
    else if (next !== undefined) this.schedule(key, entry, next);
    else if (entry.timer === undefined) this.entries.delete(key);
    this.pump();
  }
}

/**
 * When to try a failed clean-up again: after as long as the deletion has been going on (so retries back off
 * exponentially), at least `initialMs`, at most `maxMs`, and never later than the deadline, where the finalizer
 * is released.
 */
export function retryDelayMs(
  elapsedMs: number,
  remainingMs: number,
  initialMs: number,
  maxMs: number,
): number {
  return Math.max(0, Math.min(remainingMs, maxMs, Math.max(initialMs, elapsedMs)));
}
