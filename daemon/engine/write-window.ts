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
  private readonly running = new Set<Promise<void>>();
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
    const run = task()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.inFlight--;
        this.running.delete(run);
        this.waiting.shift()?.();
      });
    this.running.add(run);
  }

  /** Waits for every started task; rethrows the first failure since the last drain. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
    const failure = this.failure;
    this.failure = null;
    if (failure) throw failure.error;
  }

  get pending(): number {
    return this.inFlight;
  }
}
