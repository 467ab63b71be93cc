/**
 * @module test/unit/engine-interface-addresses
 * Which address events start a reconcile (engine/interface-addresses.ts): a repeat of an
 * address the last snapshot listed does not; a new address, a deletion, an event naming no
 * address, or any event on an interface the snapshot did not list does. A snapshot read while
 * address events arrived is not trusted (it may predate a deletion read meanwhile), so a
 * repeat then still starts a run. The live check against the kernel is in
 * test/live/engine-address-events-linux.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KernelInterface } from '../../daemon/backends/backend.js';
import { InterfaceAddresses } from '../../daemon/engine/interface-addresses.js';

const eth0 = (...addresses: string[]): KernelInterface => ({ name: 'eth0', index: 2, up: true, addresses, mtu: 1500, pointToPoint: false });

test('a repeated address starts no run; a new one, a deletion or an unnamed one does', () => {
  const book = new InterfaceAddresses();
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 2, address: '192.168.1.5/24' }), true, 'nothing known before the first snapshot');
  book.snapshotAsked();
  book.snapshotRead([eth0('192.168.1.5/24', 'fe80::1/64')]);
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 2, address: 'fe80::1/64' }), false, 'DAD completing: a repeat');
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 2, address: '192.168.1.5/24' }), false);
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 2, address: '192.168.1.5/16' }), true, 'another prefix length is another address');
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 2, address: '192.168.1.5/16' }), false, 'and known once seen');
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 3, address: '10.0.0.1/8' }), true, 'an interface the snapshot did not list');
  assert.equal(book.changes({ kind: 'address', change: 'deleted', index: 2, address: 'fe80::1/64' }), true, 'a deletion always runs');
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 2, address: 'fe80::1/64' }), true, 'and the address is new again after it');
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 2 }), true, 'an event naming no address');
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 2, address: '192.168.1.5/24' }), true, 'after which nothing on that interface is known');
});

test('a snapshot read while address events arrived is not trusted for repeats', () => {
  const book = new InterfaceAddresses();
  book.snapshotAsked();
  book.snapshotRead([eth0('192.168.1.5/24')]);
  // The snapshot of the next run is asked for; meanwhile 192.168.1.5 is deleted (read before
  // the snapshot arrives) and the snapshot, dumped before the deletion, still lists it.
  book.snapshotAsked();
  assert.equal(book.changes({ kind: 'address', change: 'deleted', index: 2, address: '192.168.1.5/24' }), true);
  book.snapshotRead([eth0('192.168.1.5/24')]);
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 2, address: '192.168.1.5/24' }), true, 'its return is not taken for a repeat');
  // The next quiet snapshot is trusted again.
  book.snapshotAsked();
  book.snapshotRead([eth0('192.168.1.5/24')]);
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 2, address: '192.168.1.5/24' }), false);
});

test('after lost or unreadable messages no address is known until the next snapshot', () => {
  const book = new InterfaceAddresses();
  book.snapshotAsked();
  book.snapshotRead([eth0('192.168.1.5/24')]);
  // The deletion of 192.168.1.5 was lost in an overflow; its return must not pass for a repeat,
  // even when read while the next run's snapshot (maybe dumped before the return) is being read.
  book.snapshotAsked();
  book.forget();
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 2, address: '192.168.1.5/24' }), true);
  book.snapshotRead([eth0('192.168.1.5/24')]);
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 2, address: '192.168.1.5/24' }), true, 'that snapshot is not trusted either');
  book.snapshotAsked();
  book.snapshotRead([eth0('192.168.1.5/24')]);
  assert.equal(book.changes({ kind: 'address', change: 'added', index: 2, address: '192.168.1.5/24' }), false);
});
