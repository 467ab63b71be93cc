/**
 * @module engine/publisher
 * For strategies where the platform's own agent builds the table (macOS: configd's
 * IPMonitor, from a network service tunroute publishes) instead of tunroute writing
 * routes. The engine stays the one reconcile loop: each run hands the publisher what the
 * policy wants published and the fresh snapshot; the publisher writes only what differs
 * and checks the table against what the agent should have built from it.
 * The implementation is daemon/strategies/system.ts.
 */
import type { KernelSnapshot } from '../backends/backend.js';
import type { Route } from '../model/route.js';

/** What one run wants the agent to hold, and what the agent should build from it. */
export interface Publication {
  /** The service these keys belong to (macOS: org.tunroute.<profile name>). */
  service: string;
  /** Every key and its value, exactly as published. */
  values: Record<string, unknown>;
  /** The routes the agent is expected to build; missing ones are reported, and the agent is asked to re-apply. */
  expected: Route[];
}

export interface PublishResult {
  /** Writes and re-apply requests made. */
  changes: number;
  /** Where the table differs from what the agent should have built (empty: as expected). */
  problems: string[];
  /** Routes are still missing, but the agent may be applying the last write: not installed yet. */
  settling: boolean;
}

export interface Publisher {
  /** Opens the session; `trigger` asks the engine for a run (the agent's store changed or restarted). */
  open(trigger: (reason: string) => void): Promise<void>;
  /**
   * One engine run: makes the store hold `desired` (null: nothing) without rewriting
   * unchanged content, then compares `snapshot` with `desired.expected`. A route that is
   * missing gets the agent to re-apply, when `allowRepair` (the engine's flap damping) agrees.
   */
  reconcile(desired: Publication | null, snapshot: KernelSnapshot, allowRepair: (key: string, why: string) => boolean): Promise<PublishResult>;
  /**
   * Removes everything published (stale keys of the service included) and waits until the
   * agent has taken the service's routes out; resolves with the number of keys removed,
   * rejects when the routes are still there after a while.
   */
  withdraw(): Promise<number>;
  /** Closes the session (the agent drops its keys as if the process had died). */
  close(): void;
}
