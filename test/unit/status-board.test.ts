// The status board and its text form, with a hand-driven clock: repairs per route,
// flapping episodes that end, counters, rules and moved routes in the table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusBoard } from '../../daemon/status/board.js';
import { duration, formatStatus, STATUS_VERSION, statusWireGuard, type StatusDocument } from '../../daemon/status/document.js';
import type { Route } from '../../daemon/model/route.js';

const route = (destination: string, origin: Route['origin'], gateway: Route['gateway']): Route => ({
  family: 'inet', destination, gateway, interface: 'wg0', index: 7, scope: null, table: 51820, metric: null, flags: [], mtu: null, origin,
});

test('board: repairs are counted per route, back-off episodes expire, the view is a copy', () => {
  let now = Date.parse('2026-11-29T12:00:00Z');
  const board = new StatusBoard(() => now);
  const def = route('0.0.0.0/0', 'tunnel', { link: 7 });
  const installed = new Map([['a', def]]);
  board.setState('installed', null);
  const rule = { family: 'inet' as const, priority: 10000, from: '10.0.0.2', table: 51820 };
  board.converged({ tunnel: { name: 'wg0', index: 7, addresses: ['10.0.0.2/32'] }, physicalDefaults: [{ family: 'inet', gateway: '192.168.1.1', interface: 'eth0', index: 2 }], installed, actions: [{ kind: 'add-rule', rule, reverse: [] }], moved: [] });
  const other = route('10.9.0.0/16', 'tunnel', { link: 7 });
  installed.set('b', other);
  now += 1000;
  board.repaired(def);
  board.repaired(def);
  board.count('foreignChanges');
  board.backingOff('k', '0.0.0.0/0', 5000);

  const view = board.snapshot();
  assert.equal(view.routes.length, 2, 'the view reads the engine\'s map when asked: a repair between runs shows');
  installed.delete('b');
  assert.equal(view.routes[0]?.repairs, 2);
  assert.equal(view.routes[0]?.lastRepairedAt, '2026-11-29T12:00:01.000Z');
  assert.equal(view.routes[0]?.gateway, 'link#7');
  assert.deepEqual(view.counters, { reconciles: 1, repairs: 2, foreignChanges: 1, overflows: 0, malformed: 0 });
  assert.deepEqual(view.flapping, [{ key: 'k', destination: '0.0.0.0/0', backingOffUntil: '2026-11-29T12:00:06.000Z' }]);
  now += 5000;
  assert.deepEqual(board.snapshot().flapping, [], 'the episode is over');

  const doc: StatusDocument = { version: STATUS_VERSION, name: 'office', profile: '/etc/tunroute/office.yaml', pid: 1, mode: 'split', strategy: null, startedAt: new Date(now - 90_000).toISOString(), uptimeSeconds: 90, lastReload: { at: new Date(now - 60_000).toISOString(), reason: 'SIGHUP', result: 'rejected', problems: ['x'] }, wireguard: null, ...board.snapshot() };
  const text = formatStatus(doc, now);
  assert.match(text, /^ {2}mode: split$/m);
  assert.match(text, /^ {2}last reload: rejected 1m 0s ago \(SIGHUP\)$/m);
  assert.match(text, /^ {4}0\.0\.0\.0\/0 +link#7 +wg0 #7 +table 51820 +- +tunnel +2x, last 5s ago$/m);
  assert.match(text, /^ {2}rules \(1\):\n {4}priority +family +rule\n {4}10000 +inet +from 10\.0\.0\.2 lookup 51820$/m);
  assert.equal(duration(3 * 86400 + 5 * 3600 + 7), '3d 5h');
  assert.equal(duration(59), '59s');
});

test('status: peers as wg show names them (base64 keys, [v6]:port endpoints, ISO handshakes)', () => {
  const wg = statusWireGuard({
    source: '/var/run/wireguard/utun7.sock',
    error: null,
    peers: [{ publicKey: '5e928aed077cad0d7bd1aa3e369ea23ee953dc402aed8edda808ecae3580224a', endpoint: { address: '2001:db8::1', port: 51820 }, allowedIps: ['0.0.0.0/0'], lastHandshake: 1_764_417_600 }],
    hosts: [],
  });
  assert.deepEqual(wg?.peers[0], { publicKey: 'XpKK7Qd8rQ170ao+Np6iPulT3EAq7Y7dqAjsrjWAIko=', endpoint: '[2001:db8::1]:51820', allowedIps: ['0.0.0.0/0'], latestHandshake: '2025-11-29T12:00:00.000Z' });
  assert.equal(statusWireGuard(undefined), null);
});
