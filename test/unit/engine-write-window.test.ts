/**
 * @module test/unit/engine-write-window
 * The engine's pipelining parts: WriteWindow never has more than `limit` writes in flight,
 * makes the producer wait until half the window is free, and reports a failure at drain();
 * TableView finds, adds and forgets entries by kernel key (the backend's sameKey), and
 * forgets by identity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteWindow } from '../../daemon/engine/write-window.js';
import { TableView } from '../../daemon/engine/table-view.js';
import type { KernelRoute } from '../../daemon/backends/backend.js';

test('WriteWindow keeps at most limit writes in flight, waits until it is half empty, and drains', async () => {
  const window = new WriteWindow(4);
  let peak = 0;
  const started: number[] = [];
  const wokenAt: number[] = [];
  for (let i = 0; i < 20; i++) {
    const wait = window.room();
    if (wait) {
      await wait;
      wokenAt.push(window.pending);
    }
    assert.equal(window.room(), null, 'room() is null once there is room');
    window.begin();
    started.push(i);
    peak = Math.max(peak, window.pending);
    // Each write is answered a little later, as the kernel's acks are.
    setTimeout(() => window.end(), 1 + (i % 3));
  }
  await window.drain();
  assert.equal(peak, 4);
  assert.equal(window.pending, 0);
  assert.deepEqual(started, Array.from({ length: 20 }, (_, i) => i));
  // The producer is woken when half the window is free, not at every answer.
  assert.ok(wokenAt.length > 0 && wokenAt.every((n) => n <= 2), JSON.stringify(wokenAt));
});

test('WriteWindow.drain rethrows the first failure once', async () => {
  const window = new WriteWindow(2);
  window.begin();
  window.begin();
  setTimeout(() => window.end(new Error('first')), 1);
  setTimeout(() => window.end(new Error('second')), 2);
  await assert.rejects(window.drain(), /first/);
  await window.drain();
  assert.throws(() => new WriteWindow(0), RangeError);
});

function route(destination: string, metric: number): KernelRoute {
  return { family: 'inet', destination, gateway: null, index: 3, scope: null, table: 254, metric, flags: [], mtu: null, tagged: true };
}

test('TableView looks routes up by key and forgets exactly the entry given', () => {
  const a = route('10.0.0.0/8', 1);
  const a2 = route('10.0.0.0/8', 1);
  const b = route('10.0.0.0/8', 2);
  const view = new TableView([a, a2, b], (k, r) => k.destination === r.destination && k.metric === r.metric);
  assert.equal(view.get(route('10.0.0.0/8', 1)), a);
  view.forget(route('10.0.0.0/8', 1)); // same key, another object: not in the view
  assert.equal(view.get(a), a);
  view.forget(a);
  assert.equal(view.get(a), a2);
  view.forget(a2);
  assert.equal(view.get(a), undefined);
  assert.equal(view.get(b), b);
  const c = route('192.0.2.0/24', 1);
  view.add(c);
  assert.deepEqual(view.routes().sort((x, y) => x.destination.localeCompare(y.destination)), [b, c]);
});
