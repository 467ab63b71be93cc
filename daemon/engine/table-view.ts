/**
 * @module engine/table-view
 * One reconcile run's view of the kernel table, indexed for the questions a run asks:
 * "which kernel route holds this route's key?" and "forget the route just deleted". Routes
 * are bucketed by destination (a string the decoder made anyway, so no key is built per
 * route); a bucket holds the few routes to one destination (other tables, metrics or
 * scopes) and the backend's sameKey picks the one. Each question is O(1), so a run is
 * linear in the table instead of table × plan.
 */
import type { KernelRoute } from '../backends/backend.js';
import type { Route } from '../model/route.js';

export class TableView {
  private readonly byDestination = new Map<string, KernelRoute[]>();
  private readonly sameKey: (kernel: KernelRoute, route: Route | KernelRoute) => boolean;

  constructor(routes: Iterable<KernelRoute>, sameKey: (kernel: KernelRoute, route: Route | KernelRoute) => boolean) {
    this.sameKey = sameKey;
    for (const route of routes) this.add(route);
  }

  /** The kernel route holding `route`'s key, if any (the first seen, when the kernel holds several: IPv6 multipath). */
  get(route: Route | KernelRoute): KernelRoute | undefined {
    const bucket = this.byDestination.get(route.destination);
    if (bucket === undefined) return undefined;
    for (const k of bucket) if (this.sameKey(k, route)) return k;
    return undefined;
  }

  add(route: KernelRoute): void {
    const bucket = this.byDestination.get(route.destination);
    if (bucket) bucket.push(route);
    else this.byDestination.set(route.destination, [route]);
  }

  /** Forgets exactly this entry (by identity); other entries with its key stay. */
  forget(route: KernelRoute): void {
    const bucket = this.byDestination.get(route.destination);
    if (!bucket) return;
    const at = bucket.indexOf(route);
    if (at < 0) return;
    if (bucket.length === 1) this.byDestination.delete(route.destination);
    else bucket.splice(at, 1);
  }

  /** Every route, in no particular order (an array, not a generator: a run walks it once per table). */
  routes(): KernelRoute[] {
    const out: KernelRoute[] = [];
    for (const bucket of this.byDestination.values()) for (const route of bucket) out.push(route);
    return out;
  }
}
