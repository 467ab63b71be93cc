/**
 * @module engine/write-window
 * Pipelines kernel writes: up to `limit` requests in flight. The kernel applies a socket's
 * requests in the order they were sent, so pipelining keeps the planner's order; the bound
 * keeps the acknowledgements of one batch well inside the request socket's receive buffer
 * (a flood of 50,000 unanswered requests is what overflowed it), and makes a producer wait
 * (back-pressure) instead of queueing without limit.
 *
 * A write is counted, not wrapped: the producer calls `begin()` as it sends one and the
 * write's completion calls `end()`, so a write costs no promise here. A full window makes
 * the producer wait until it is half empty, then it fills the free half in one go: one
 * promise per half window, not one per write.
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
   * Null when a write may start now; otherwise a promise that resolves when the window has
   * room again. Use as `for (let w = window.room(); w; w = window.room()) await w;`.
   */
  room(): Promise<void> | null {
    if (this.inFlight < this.limit) return null;
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** A write was sent: it holds a slot until `end()`. */
  begin(): void {
    this.inFlight++;
  }

  /** A write's outcome is known. `failure` (an unexpected error) fails the next `drain()`. */
  end(failure?: unknown): void {
    if (failure !== undefined) this.failure ??= { error: failure };
    this.inFlight--;
    if (this.waiting.length > 0 && this.inFlight <= this.limit >> 1) for (const resolve of this.waiting.splice(0)) resolve();
    if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  /** Waits for every write begun; rethrows the first failure since the last drain. */
  async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    const failure = this.failure;
    this.failure = null;
    if (failure) throw failure.error;
  }

  get full(): boolean {
    return this.inFlight >= this.limit;
  }

  get pending(): number {
    return this.inFlight;
  }
}
