/**
 * Calls that were not answered within a bound. Every request a fault run
 * makes (the workload's, the nemeses' swapoffs and writebacks) is tracked
 * from the moment it is sent; one still unanswered after its bound is a
 * hung request (counted once) and fails the run: no wait in the cluster may
 * be unbounded, and a client deadline must end every call.
 */

export interface HangRecord {
  what: string;
  startedAt: number;
  boundMs: number;
}

export class HangTracker {
  private nextId = 1;
  private readonly inFlight = new Map<number, HangRecord & { flagged: boolean }>();
  hung = 0;
  /** Up to 50 lines naming hung requests. */
  readonly problems: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly clock: () => number = Date.now) {}

  /** A request was sent; returns its id for end(). */
  begin(what: string, boundMs: number): number {
    const id = this.nextId++;
    this.inFlight.set(id, { what, startedAt: this.clock(), boundMs, flagged: false });
    return id;
  }

  /** The request was answered (or failed). */
  end(id: number): void {
    this.inFlight.delete(id);
  }

  /** Counts requests past their bound (each once); returns how many were newly found. */
  sweep(): number {
    const now = this.clock();
    let found = 0;
    for (const r of this.inFlight.values()) {
      if (r.flagged || now - r.startedAt <= r.boundMs) continue;
      r.flagged = true;
      found++;
      this.hung++;
      if (this.problems.length < 50)
        this.problems.push(
          `HUNG ${r.what}: no answer ${now - r.startedAt} ms after it was sent (bound ${r.boundMs} ms)`,
        );
    }
    return found;
  }

  /** Requests still unanswered. */
  get pending(): number {
    return this.inFlight.size;
  }

  /** Sweeps every `everyMs` in the background (unref'd) until stop(). */
  start(everyMs = 500): void {
    this.timer ??= setInterval(() => this.sweep(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sweep();
  }

  /** Runs `fn` as a tracked request. */
  async track<T>(what: string, boundMs: number, fn: () => Promise<T>): Promise<T> {
    const id = this.begin(what, boundMs);
    try {
      return await fn();
    } finally {
      this.end(id);
    }
  }
}
