/**
 * @module engine/flap
 * Flap damping. When another agent keeps deleting or replacing the same route, putting it
 * back at once every time becomes a fight that burns CPU and floods the log (prior art:
 * GlobalProtect vs VPN-Bypass churned every 3 s). Each route key gets a budget of repairs
 * per window; past it, repairs wait an exponentially growing, capped delay, and one
 * warning is logged per episode. An episode ends after a quiet window.
 */

export interface FlapLimits {
  /** Repairs allowed within `windowMs` before backing off. */
  maxRepairs: number;
  windowMs: number;
  /** First back-off delay, doubled on each further repair, capped at maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_FLAP_LIMITS: FlapLimits = { maxRepairs: 5, windowMs: 30_000, initialDelayMs: 1_000, maxDelayMs: 60_000 };

interface KeyState {
  repairs: number[];
  delayMs: number;
  notBefore: number;
  /** A back-off wait was handed out; the repair after it is allowed. */
  waiting: boolean;
  warned: boolean;
}

export interface RepairDecision {
  /** 0 = repair now; otherwise the number of ms to wait before the next repair is allowed. */
  waitMs: number;
  /** True exactly once per episode, when back-off starts: the caller logs a warning. */
  startsEpisode: boolean;
  repairsInWindow: number;
}

export class FlapDamper {
  private readonly keys = new Map<string, KeyState>();
  private readonly limits: FlapLimits;
  private readonly now: () => number;

  constructor(limits: FlapLimits = DEFAULT_FLAP_LIMITS, now: () => number = Date.now) {
    this.limits = limits;
    this.now = now;
  }

  /** Asks whether `key` may be repaired now, and records the repair if so. */
  request(key: string): RepairDecision {
    const now = this.now();
    const state = this.keys.get(key) ?? { repairs: [], delayMs: 0, notBefore: 0, waiting: false, warned: false };
    this.keys.set(key, state);
    state.repairs = state.repairs.filter((t) => now - t < this.limits.windowMs);
    if (state.repairs.length === 0 && now >= state.notBefore) {
      // Quiet for a whole window: the episode is over.
      state.delayMs = 0;
      state.warned = false;
    }
    if (now < state.notBefore) return { waitMs: state.notBefore - now, startsEpisode: false, repairsInWindow: state.repairs.length };
    if (state.repairs.length < this.limits.maxRepairs || state.waiting) {
      state.waiting = false;
      state.repairs.push(now);
      return { waitMs: 0, startsEpisode: false, repairsInWindow: state.repairs.length };
    }
    state.delayMs = state.delayMs === 0 ? this.limits.initialDelayMs : Math.min(state.delayMs * 2, this.limits.maxDelayMs);
    state.notBefore = now + state.delayMs;
    state.waiting = true;
    const startsEpisode = !state.warned;
    state.warned = true;
    return { waitMs: state.delayMs, startsEpisode, repairsInWindow: state.repairs.length };
  }

  /** True while `key` is backing off. */
  isDamped(key: string): boolean {
    const state = this.keys.get(key);
    return state !== undefined && this.now() < state.notBefore;
  }

  forget(key: string): void {
    this.keys.delete(key);
  }
}
