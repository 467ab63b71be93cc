/**
 * @module test/unit/engine-table-view
 * The run's bookkeeping that keeps a quiet run from allocating per route: the table view's
 * kept marks (a byte per destination, a set where a destination has several routes), the
 * destination numbers shared by successive views, and the record of which planned routes
 * the installed map already holds (engine/installed-routes.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KernelRoute } from '../../daemon/backends/backend.js';
import type { Route } from '../../daemon/model/route.js';
import { DestinationSlots, TableView } from '../../daemon/engine/table-view.js';
import { InstalledRoutes, PlanRecord } from '../../daemon/engine/installed-routes.js';

function route(destination: string, metric: number, tagged = true): KernelRoute {
  return { family: 'inet', destination, gateway: null, index: 3, scope: null, table: 254, metric, flags: [], mtu: null, tagged };
}
const sameKey = (k: KernelRoute, r: Route | KernelRoute): boolean => k.destination === r.destination && k.metric === r.metric;

test('kept marks: every tagged route kept, or which one was not', () => {
  const a = route('10.0.0.0/8', 1);
  const b = route('10.1.0.0/16', 1);
  const physical = route('0.0.0.0/0', 0, false);
  const view = new TableView([a, b, physical], sameKey);
  assert.equal(view.everyTaggedKept(), false);
  view.keep(a);
  view.keep(a); // twice is once
  assert.equal(view.everyTaggedKept(), false);
  assert.deepEqual(view.routes().filter((k) => k.tagged && !view.isKept(k)), [b]);
  view.keep(physical); // an untagged route kept does not count for the tagged ones
  assert.equal(view.everyTaggedKept(), false);
  view.keep(b);
  assert.equal(view.everyTaggedKept(), true);
  // A route written during the run is tagged and not kept: the stale check has to look.
  const c = route('10.2.0.0/16', 1);
  view.add(c);
  assert.equal(view.everyTaggedKept(), false);
  view.forget(c);
  assert.equal(view.everyTaggedKept(), true);
  // Forgetting a kept route takes its mark with it.
  view.forget(a);
  assert.equal(view.isKept(a), false);
  assert.equal(view.everyTaggedKept(), true);
  view.add(a);
  assert.equal(view.isKept(a), false, 'back in the view, not kept');
});

test('kept marks survive a destination gaining and losing a second route', () => {
  const a = route('10.0.0.0/8', 1);
  const a2 = route('10.0.0.0/8', 2);
  const view = new TableView([a], sameKey);
  view.keep(a);
  view.add(a2);
  assert.equal(view.isKept(a), true, 'moved to the shared marks');
  assert.equal(view.isKept(a2), false);
  assert.equal(view.get(route('10.0.0.0/8', 2)), a2);
  view.forget(a2);
  assert.equal(view.isKept(a), true, 'alone again, still kept');
  assert.equal(view.everyTaggedKept(), true);
  view.keep(a2); // not in the view any more: no mark
  assert.equal(view.isKept(a2), false);
});

test('a written route added kept: new destinations past the view\'s marks, and beside a route already there', () => {
  const physical = route('0.0.0.0/0', 0, false);
  const view = new TableView([physical], sameKey);
  // An install's routes: destinations the view has never seen, many more than its marks.
  const written = Array.from({ length: 300 }, (_, i) => route(`10.${i >> 8}.${i & 255}.0/24`, 1));
  for (const w of written) view.addKept(w);
  assert.equal(view.everyTaggedKept(), true);
  assert.ok(written.every((w) => view.isKept(w) && view.get(w) === w));
  assert.equal(view.isKept(physical), false, 'the marks grew without marking the routes before them');
  // Beside another route to its destination: kept in the shared marks, the other one not.
  const other = route('10.0.5.0/24', 7);
  view.add(other);
  const beside = route('10.0.5.0/24', 9);
  view.addKept(beside);
  assert.equal(view.isKept(beside), true);
  assert.equal(view.isKept(other), false);
  assert.equal(view.everyTaggedKept(), false, 'the route added without keeping is not kept');
  // Forgotten, a written route takes its mark with it.
  view.forget(written[0] as KernelRoute);
  assert.equal(view.isKept(written[0] as KernelRoute), false);
  view.add(written[0] as KernelRoute);
  assert.equal(view.isKept(written[0] as KernelRoute), false, 'back in the view, not kept');
});

test('destination numbers are shared by successive views and start over when far larger than the table', () => {
  const slots = new DestinationSlots();
  const first = new TableView([route('10.0.0.0/8', 1), route('10.1.0.0/16', 1)], sameKey, slots);
  assert.equal(slots.size, 2);
  const second = new TableView([route('10.1.0.0/16', 1), route('10.0.0.0/8', 1)], sameKey, slots);
  assert.equal(slots.size, 2, 'a table with the same destinations adds none');
  assert.equal(second.get(route('10.0.0.0/8', 1))?.destination, '10.0.0.0/8');
  assert.equal(first.get(route('10.1.0.0/16', 1))?.destination, '10.1.0.0/16');
  const churn = Array.from({ length: 3000 }, (_, i) => route(`172.16.${i >> 8}.${i & 255}/32`, 1));
  new TableView(churn, sameKey, slots);
  assert.equal(slots.size, 3002);
  const small = new TableView([route('10.9.0.0/16', 1)], sameKey, slots);
  assert.equal(slots.size, 1, 'numbers for destinations long gone are dropped');
  assert.equal(small.get(route('10.9.0.0/16', 1))?.destination, '10.9.0.0/16');
});

test('a plan records its routes in the installed map once, and again after any other change to it', () => {
  const installed = new InstalledRoutes();
  const record = new PlanRecord(2);
  const r0 = { destination: '10.0.0.0/8' } as Route;
  const r1 = { destination: '10.1.0.0/16' } as Route;
  record.record(installed, 0, 'k0', r0);
  record.record(installed, 1, 'k1', r1);
  assert.deepEqual([...installed.keys()], ['k0', 'k1']);
  // Another run with the same plan: nothing changed, nothing written (a foreign write here is not undone).
  installed.recordUnversioned('k0', r1);
  record.record(installed, 0, 'k0', r0);
  assert.equal(installed.get('k0'), r1, 'skipped: recorded at this version');
  // Any other change (a deletion by a stale removal, a clear when the tunnel went) makes it write again.
  installed.delete('k1');
  record.record(installed, 0, 'k0', r0);
  record.record(installed, 1, 'k1', r1);
  assert.equal(installed.get('k0'), r0);
  assert.equal(installed.get('k1'), r1);
  installed.clear();
  record.record(installed, 1, 'k1', r1);
  assert.deepEqual([...installed.keys()], ['k1']);
  installed.set('k9', r0);
  record.record(installed, 0, 'k0', r0);
  assert.deepEqual([...installed.keys()].sort(), ['k0', 'k1', 'k9']);
});
