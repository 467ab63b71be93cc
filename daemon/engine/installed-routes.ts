/**
 * @module engine/installed-routes
 * The routes the engine installed and saw in place, by routeKey: a later absence is a
 * deletion by someone else. A quiet run finds every planned route in place, and it used to
 * write each one into this map again: at 10,000 routes a quarter of the run's own time (a
 * hash-map write per route, touching every key string). Now the map counts its changes, and
 * a plan remembers which of its routes it recorded at which count, so a run writes only what
 * changed since that plan's last run.
 */
import type { Route } from '../model/route.js';

export class InstalledRoutes extends Map<string, Route> {
  /** Bumped by every change except PlanRecord's: a set from elsewhere, a deletion, a clear. */
  version = 0;

  override set(key: string, route: Route): this {
    this.version++;
    return super.set(key, route);
  }

  override delete(key: string): boolean {
    this.version++;
    return super.delete(key);
  }

  override clear(): void {
    this.version++;
    super.clear();
  }

  /** A write that leaves the version alone: PlanRecord's, which tracks its own. */
  recordUnversioned(key: string, route: Route): void {
    super.set(key, route);
  }
}

/** Which of one plan's routes an InstalledRoutes holds; true while the map's version is the one it saw. */
export class PlanRecord {
  private readonly marks: Uint8Array;
  private version = -1;

  constructor(actions: number) {
    this.marks = new Uint8Array(actions);
  }

  /** installed[key] = route (the plan's action `i`), unless it was recorded so and the map did not change since. */
  record(installed: InstalledRoutes, i: number, key: string, route: Route): void {
    if (this.version !== installed.version) {
      this.marks.fill(0);
      this.version = installed.version;
    }
    if (this.marks[i] === 1) return;
    installed.recordUnversioned(key, route);
    this.marks[i] = 1;
  }
}
