import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KernelRoute } from '../../daemon/backends/backend.js';
import { SkippedRouteEvents } from '../../daemon/engine/skipped-route-events.js';

const route = (destination: string): KernelRoute => ({ family: 'inet', destination, gateway: { link: 3 }, index: 3, scope: null, table: 254, metric: 0, flags: [], mtu: null, tagged: false });

test('skipped route events are kept only during a run, checked once against the plan it applied, then forgotten', () => {
  const skipped = new SkippedRouteEvents();
  skipped.note(route('10.1.0.0/16'), 'k1', false);
  assert.equal(skipped.any(() => true), false, 'an event skipped with no run under way is not kept (the next snapshot covers it)');
  skipped.note(route('10.1.0.0/16'), 'k1', true);
  skipped.note(route('10.2.0.0/16'), 'k2', true);
  const asked: string[] = [];
  assert.equal(skipped.any((r, key) => (asked.push(key), r.destination === '10.2.0.0/16')), true, 'one that matters to the applied plan');
  assert.deepEqual(asked, ['k1', 'k2']);
  assert.equal(skipped.any(() => true), false, 'checked once, then forgotten');
  skipped.note(route('10.3.0.0/16'), 'k3', true);
  skipped.clear();
  assert.equal(skipped.any(() => true), false, 'a new snapshot covers what was skipped before it');
});

test('past its limit of distinct keys the run is simply repeated', () => {
  const skipped = new SkippedRouteEvents();
  for (let i = 0; i <= 65_536; i++) skipped.note(route('10.1.0.0/16'), `k${i}`, true);
  assert.equal(skipped.any(() => false), true);
  assert.equal(skipped.any(() => false), false);
});
