/**
 * @module engine/write-window
 * Pipelines kernel writes: up to `limit` requests in flight, the next one starting as soon
 * as one is answered. The kernel applies a socket's requests in the order they were sent,
 * so pipelining keeps the planner's order; the bound keeps the acknowledgements of one
 * batch well inside the request socket's receive buffer (a flood of 50,000 unanswered
 * requests is what overflowed it), and makes a producer wait (back-pressure) instead of
 * queueing without limit.
 */
export class WriteWindow {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  /** drain() callers waiting for the window to empty. */
  private readonly idle: Array<() => void> = [];
  private failure: { error: unknown } | null = null;

  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
    if (!(limit >= 1)) throw new RangeError(`a write window needs room for at least one request, not ${limit}`);
  }

  /**
   * Starts `task` once a slot is free; resolves when it has started, not when it is done.
   * A task that throws fails the next `drain()`.
   */
  async start(task: () => Promise<void>): Promise<void> {
    while (this.inFlight >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
    void this.settle(task);
  }

  /** Runs one task to its end: one promise per task, however it ends. */
  private async settle(task: () => Promise<void>): Promise<void> {
    try {
      await task();
    } catch (error) {
      this.failure ??= { error };
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
      if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  /** Waits for every started task; rethrows the first failure since the last drain. */
  async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    const failure = this.failure;
    this.failure = null;
    if (failure) throw failure.error;
  }

  get pending(): number {
    return this.inFlight;
  }
}
