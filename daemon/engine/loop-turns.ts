/**
 * @module daemon/engine/loop-turns
 * Turns given to the event loop during a long synchronous stretch (a reconcile run over
 * thousands of routes), by elapsed time rather than by a count of items: at 10,000 routes
 * a count of 2,048 actions held the loop for 5–12 ms between turns (more with the view
 * build and the ownership pass), and a kernel event (a deleted route to repair) waited
 * that long to be read.
 */

/** Longest stretch a run keeps the event loop before it gives a turn. */
export const TURN_BUDGET_MS = 4;
/** Items between looks at the clock: a look costs ~30 ns, an item a few hundred. */
const CHECK_EVERY = 32;

export class LoopTurns {
  private since = performance.now();
  private count = 0;
  private readonly budgetMs: number;

  constructor(budgetMs = TURN_BUDGET_MS) {
    this.budgetMs = budgetMs;
  }

  /**
   * Called once per item: a promise to await when the budget is spent, else undefined. Not
   * async on purpose: an await per item would itself cost a promise per route, which is
   * what a run over routes already in place must not pay (`const t = turns.tick(); if (t) await t;`).
   */
  tick(): Promise<void> | undefined {
    if (++this.count % CHECK_EVERY !== 0) return undefined;
    if (performance.now() - this.since < this.budgetMs) return undefined;
    return this.turn();
  }

  /** One turn now (between phases of a run): timers, I/O and kernel events run first. */
  async turn(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.since = performance.now();
  }
}
