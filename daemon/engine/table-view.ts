/**
 * @module engine/table-view
 * One reconcile run's view of the kernel table, indexed for the questions a run asks:
 * "which kernel route holds this route's key?", "forget the route just deleted", and
 * "which tagged routes did this run not find in place?". Routes are filed by destination (a
 * string the decoder made anyway, so no key is built per route); the few routes to one
 * destination (other tables, metrics or scopes) are told apart by the backend's sameKey.
 * Each question is O(1), so a run is linear in the table instead of table × plan.
 *
 * A run over 10,000 routes already in place must allocate little, or the scavenges it
 * causes (copying the live snapshot) land inside it and inside the repairs waiting on it.
 * So destinations are numbered once in a DestinationSlots that outlives the runs (a quiet
 * run adds no entry to it), a view is an array over those numbers with one route per slot
 * (an array only where a destination has several), and the routes a run keeps are marked
 * in a byte array rather than collected in a Set. A quiet 10,000-route run allocated
 * 3.3 MB here before (a Map entry and an array per destination, an iterator per lookup, a
 * Set of kept routes, an array of all routes for the stale check).
 */
import type { KernelRoute } from '../backends/backend.js';
import type { Route } from '../model/route.js';

/**
 * Numbers for destinations, shared by the views of successive runs. Bounded: when it holds
 * far more destinations than the table it indexes (foreign routes came and went), it starts over.
 */
export class DestinationSlots {
  private readonly numbers = new Map<string, number>();

  find(destination: string): number | undefined {
    return this.numbers.get(destination);
  }

  /** The destination's number, given one when it has none. */
  number(destination: string): number {
    let n = this.numbers.get(destination);
    if (n === undefined) {
      n = this.numbers.size;
      this.numbers.set(destination, n);
    }
    return n;
  }

  get size(): number {
    return this.numbers.size;
  }

  /** Called before a view of `tableSize` routes is built (no view of the old numbers is used after). */
  fit(tableSize: number): void {
    if (this.numbers.size > 2 * tableSize + 1024) this.numbers.clear();
  }
}

type Slot = KernelRoute | KernelRoute[] | undefined;

export class TableView {
  private readonly slots: DestinationSlots;
  private readonly byDestination: Slot[];
  /** Per slot: its single route was kept by this run. Routes sharing a slot are marked in `keptShared`. */
  private kept: Uint8Array;
  private readonly keptShared = new Set<KernelRoute>();
  private readonly sameKey: (kernel: KernelRoute, route: Route | KernelRoute) => boolean;
  private taggedCount = 0;
  private keptCount = 0;

  /** `slots`: the engine's, shared with the views of earlier runs; a view of its own by default. */
  constructor(routes: readonly KernelRoute[], sameKey: (kernel: KernelRoute, route: Route | KernelRoute) => boolean, slots = new DestinationSlots()) {
    this.sameKey = sameKey;
    this.slots = slots;
    slots.fit(routes.length);
    const size = Math.max(slots.size, routes.length);
    this.byDestination = new Array<Slot>(size);
    this.kept = new Uint8Array(size);
    for (let i = 0; i < routes.length; i++) this.add(routes[i] as KernelRoute);
  }

  /** The kernel route holding `route`'s key, if any (the first seen, when the kernel holds several: IPv6 multipath). */
  get(route: Route | KernelRoute): KernelRoute | undefined {
    const n = this.slots.find(route.destination);
    if (n === undefined) return undefined;
    const slot = this.byDestination[n];
    if (slot === undefined) return undefined;
    if (!Array.isArray(slot)) return this.sameKey(slot, route) ? slot : undefined;
    for (let i = 0; i < slot.length; i++) if (this.sameKey(slot[i] as KernelRoute, route)) return slot[i];
    return undefined;
  }

  add(route: KernelRoute): void {
    const n = this.slots.number(route.destination);
    const slot = this.byDestination[n];
    if (slot === undefined) this.byDestination[n] = route;
    else if (Array.isArray(slot)) slot.push(route);
    else {
      // A second route to this destination: a kept mark on the first moves to the shared set.
      if (this.flagged(n, slot)) {
        this.kept[n] = 0;
        this.keptShared.add(slot);
      }
      this.byDestination[n] = [slot, route];
    }
    if (route.tagged) this.taggedCount++;
  }

  /** Forgets exactly this entry (by identity); other entries with its key stay. */
  forget(route: KernelRoute): void {
    const n = this.slots.find(route.destination);
    if (n === undefined) return;
    const slot = this.byDestination[n];
    if (slot !== route && !(Array.isArray(slot) && slot.includes(route))) return;
    if (route.tagged) {
      this.taggedCount--;
      if (this.isKept(route)) this.keptCount--;
    }
    this.keptShared.delete(route);
    if (slot === route) {
      this.byDestination[n] = undefined;
      if (n < this.kept.length) this.kept[n] = 0;
    } else if (Array.isArray(slot)) {
      const at = slot.indexOf(route);
      // The one left keeps its mark in the shared set (isKept looks there too).
      if (slot.length === 2) this.byDestination[n] = slot[1 - at];
      else slot.splice(at, 1);
    }
  }

  /** Marks a route of this view as found in place by this run (its key is wanted and it satisfies it). */
  keep(route: KernelRoute): void {
    if (this.isKept(route)) return;
    const n = this.slots.find(route.destination);
    if (n === undefined) return;
    const slot = this.byDestination[n];
    if (slot === route && n < this.kept.length) this.kept[n] = 1;
    else if (slot === route || (Array.isArray(slot) && slot.includes(route))) this.keptShared.add(route);
    else return;
    if (route.tagged) this.keptCount++;
  }

  /**
   * `add` then `keep`, for a route this run just wrote: one slot lookup instead of four, and
   * a byte mark rather than a shared-set entry when its destination is new to the view (an
   * install's every route: the marks grow to fit).
   */
  addKept(route: KernelRoute): void {
    const n = this.slots.number(route.destination);
    if (this.byDestination[n] !== undefined) {
      this.add(route);
      this.keep(route);
      return;
    }
    if (n >= this.kept.length) {
      const grown = new Uint8Array(Math.max(n + 1, 2 * this.kept.length, 64));
      grown.set(this.kept);
      this.kept = grown;
    }
    this.byDestination[n] = route;
    this.kept[n] = 1;
    if (route.tagged) {
      this.taggedCount++;
      this.keptCount++;
    }
  }

  isKept(route: KernelRoute): boolean {
    const n = this.slots.find(route.destination);
    return (n !== undefined && this.flagged(n, route)) || this.keptShared.has(route);
  }

  /** The byte mark of a route alone in its slot. */
  private flagged(n: number, route: KernelRoute): boolean {
    return this.byDestination[n] === route && n < this.kept.length && this.kept[n] === 1;
  }

  /** True when every tagged route in the view was kept: nothing of ours can be stale (no walk over the table needed). */
  everyTaggedKept(): boolean {
    return this.keptCount === this.taggedCount;
  }

  /** Every route, in no particular order (an array, not a generator: a run walks it once per table). */
  routes(): KernelRoute[] {
    const out: KernelRoute[] = [];
    for (let n = 0; n < this.byDestination.length; n++) {
      const slot = this.byDestination[n];
      if (slot === undefined) continue;
      if (Array.isArray(slot)) out.push(...slot);
      else out.push(slot);
    }
    return out;
  }
}
