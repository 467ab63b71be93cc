/**
 * @module engine/table-view
 * One reconcile run's view of the kernel table, indexed by the backend's kernel key (the
 * fields that make two routes the same kernel entry). Looking a planned route up, adding
 * the route just written and forgetting the route just deleted each cost O(1), so a run
 * is linear in the table instead of table × plan.
 */
import type { KernelRoute } from '../backends/backend.js';
import type { Route } from '../model/route.js';

export class TableView {
  /** Usually one route per key; the kernel can hold more (IPv6 multipath), first seen first. */
  private readonly byKey = new Map<string, KernelRoute[]>();
  private readonly keyOf: (route: Route | KernelRoute) => string;

  constructor(routes: Iterable<KernelRoute>, keyOf: (route: Route | KernelRoute) => string) {
    this.keyOf = keyOf;
    for (const route of routes) this.add(route);
  }

  /** The kernel route holding `route`'s key, if any. */
  get(route: Route | KernelRoute): KernelRoute | undefined {
    return this.byKey.get(this.keyOf(route))?.[0];
  }

  add(route: KernelRoute): void {
    const key = this.keyOf(route);
    const list = this.byKey.get(key);
    if (list) list.push(route);
    else this.byKey.set(key, [route]);
  }

  /** Forgets exactly this entry (by identity); its key's other entries stay. */
  forget(route: KernelRoute): void {
    const key = this.keyOf(route);
    const list = this.byKey.get(key);
    if (!list) return;
    const at = list.indexOf(route);
    if (at < 0) return;
    if (list.length === 1) this.byKey.delete(key);
    else list.splice(at, 1);
  }

  /** Every route, in no particular order. */
  *routes(): IterableIterator<KernelRoute> {
    for (const list of this.byKey.values()) yield* list;
  }
}
