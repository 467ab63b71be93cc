/**
 * @module engine/skipped-route-events
 * The route events the engine skipped while a run was under way. The filter checks an event
 * against the plans it knows (the one applied last, the one in hand); a run under way may
 * apply another (its first plan, a re-plan after a roam), and its snapshot may predate the
 * event. So the skipped ones are kept, one per kernel key, until that run has applied its
 * plan, and checked again against it: one that matters then means one more run. Without
 * this, the filter could only run while the plan is settled, and the kernel's own routes
 * for the tunnel's link at up (its peer route), which arrive during the install run, cost
 * a second full run after every install.
 */
import type { KernelRoute } from '../backends/backend.js';

/** Distinct keys kept for one run; past this (a storm during a long run) the run is simply repeated. */
const LIMIT = 65_536;

export class SkippedRouteEvents {
  private readonly routes = new Map<string, KernelRoute>();
  private overflowed = false;

  /** A skipped event; kept only when `duringRun` (no run under way: the next one's snapshot covers it). */
  note(route: KernelRoute, key: string, duringRun: boolean): void {
    if (!duringRun || this.overflowed) return;
    if (this.routes.size >= LIMIT && !this.routes.has(key)) {
      this.overflowed = true;
      this.routes.clear();
      return;
    }
    this.routes.set(key, route);
  }

  /** A run asked for its snapshot: what was skipped before is in it. */
  clear(): void {
    this.routes.clear();
    this.overflowed = false;
  }

  /** True when one of the skipped events matters after all (or too many were kept to tell); forgets them. */
  any(matters: (route: KernelRoute, key: string) => boolean): boolean {
    let found = this.overflowed;
    if (!found) for (const [key, route] of this.routes) if ((found = matters(route, key))) break;
    this.clear();
    return found;
  }
}
