/**
 * @module test/unit/xnu-model-configd
 * The model SCDynamicStore (test/xnu/dynamic-store.ts) against configd-ipmonitor.md §5:
 * session keys, write rules, atomic SetMultiple, notifications (every write, NotifyValue),
 * write access, configd restart; and the binding's openDynamicStore / exit().
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIGD_PID, DynamicStore, SC_STATUS, createMacScenario, createXnuBinding, type PlistValue } from '../xnu/index.js';

const KEY = 'State:/Network/Service/org.tunroute.test/IPv4';
const DICT = { InterfaceName: 'utun7', Addresses: ['10.10.10.2'], Router: '10.10.10.2' };

function store(): DynamicStore {
  const s = new DynamicStore({ pid: CONFIGD_PID });
  s.start();
  return s;
}

/** A watcher of every State: key that records each batch it gets. */
function watcher(s: DynamicStore): string[][] {
  const batches: string[][] = [];
  s.openSession({ name: 'watcher', pid: 77, onChange: (keys) => batches.push([...keys].sort()) })
    .setNotificationKeys([], ['State:/.*']);
  return batches;
}

test('session keys: created by a session-keys session, owned by it, removed with it, watchers told', async () => {
  const s = store();
  const batches = watcher(s);
  const vpn = s.openSession({ name: 'tunroute', pid: 4242, useSessionKeys: true });
  vpn.setMultiple({ [KEY]: DICT }, [], []);
  assert.deepEqual(vpn.copyValue(KEY), DICT);
  assert.equal(s.ownerOf(KEY), vpn);
  await s.settle();
  assert.deepEqual(batches, [[KEY]]);
  vpn.close();
  vpn.close();
  assert.equal(s.get(KEY), null, 'the key went with the session');
  await s.settle();
  assert.deepEqual(batches, [[KEY], [KEY]]);
  assert.throws(() => vpn.copyValue(KEY), { code: 'kSCStatusNoStoreSession', errno: SC_STATUS.kSCStatusNoStoreSession, syscall: 'SCDynamicStoreCopyValue' });
});

test('write rules: a session-keys session cannot take a plain key or another session\'s key; SetMultiple drops that silently', () => {
  const s = store();
  const plain = s.openSession({ name: 'scutil', pid: 300 });
  const a = s.openSession({ name: 'a', pid: 301, useSessionKeys: true });
  const b = s.openSession({ name: 'b', pid: 302, useSessionKeys: true });
  plain.setMultiple({ 'State:/plain': 'p' }, [], []);
  a.setMultiple({ 'State:/a': 'a' }, [], []);
  b.setMultiple({ 'State:/plain': 'b', 'State:/a': 'b', 'State:/b': 'b' }, [], []);
  assert.equal(s.get('State:/plain'), 'p');
  assert.equal(s.get('State:/a'), 'a');
  assert.equal(s.get('State:/b'), 'b', 'the rest of the batch is written');
  assert.throws(() => b.setValue('State:/a', 'b'), { code: 'kSCStatusKeyExists', errno: 1005, syscall: 'SCDynamicStoreSetValue' });
  // Its own key stays updatable and stays a session key.
  a.setMultiple({ 'State:/a': 'a2' }, [], []);
  assert.equal(s.ownerOf('State:/a'), a);
});

test('a normal session\'s write to someone\'s session key strips the tag: the key survives its creator', () => {
  const s = store();
  const vpn = s.openSession({ name: 'vpn', pid: 301, useSessionKeys: true });
  const plain = s.openSession({ name: 'scutil', pid: 300 });
  vpn.setMultiple({ [KEY]: DICT }, [], []);
  plain.setMultiple({ [KEY]: { ...DICT, Router: '10.10.10.1' } }, [], []);
  assert.equal(s.ownerOf(KEY), null);
  vpn.close();
  assert.deepEqual(s.get(KEY), { ...DICT, Router: '10.10.10.1' });
});

test('SetMultiple is atomic: sets, removes and notifies arrive as one batch; every write is a change, even unchanged', async () => {
  const s = store();
  const batches = watcher(s);
  const c = s.openSession({ name: 'c', pid: 5 });
  c.setMultiple({ 'State:/x': 1, 'State:/y': 2 }, [], []);
  await s.settle();
  c.setMultiple({ 'State:/x': 1 }, ['State:/y', 'State:/absent'], ['State:/z']);
  await s.settle();
  assert.deepEqual(batches, [['State:/x', 'State:/y'], ['State:/x', 'State:/y', 'State:/z']]);
  assert.equal(s.get('State:/z'), null, 'notifying an absent key does not create it');
  assert.throws(() => c.removeValue('State:/absent'), { code: 'kSCStatusNoKey' });
  c.setValue('State:/x', 1);
  await s.settle();
  assert.deepEqual(batches.at(-1), ['State:/x'], 'the same value written again is a change');
});

test('NotifyValue: a session-keys session pokes its own key; another session\'s key is refused silently (configd sets the value again)', async () => {
  const s = store();
  const batches = watcher(s);
  const mine = s.openSession({ name: 'mine', pid: 6, useSessionKeys: true });
  const theirs = s.openSession({ name: 'theirs', pid: 7, useSessionKeys: true });
  mine.setMultiple({ 'State:/mine': DICT }, [], []);
  theirs.setMultiple({ 'State:/theirs': 't' }, [], []);
  await s.settle();
  batches.length = 0;
  mine.notifyValue('State:/mine');
  mine.notifyValue('State:/theirs');
  await s.settle();
  assert.deepEqual(batches, [['State:/mine']]);
  assert.deepEqual(s.get('State:/mine'), DICT, 'content unchanged');
  assert.equal(s.ownerOf('State:/mine'), mine);
});

test('notifications are asynchronous and coalesced per session; deliverNow() runs them synchronously', async () => {
  const s = store();
  const batches = watcher(s);
  const c = s.openSession({ name: 'c', pid: 5 });
  c.setMultiple({ 'State:/a': 1 }, [], []);
  c.setMultiple({ 'State:/b': 1 }, [], []);
  c.setMultiple({ 'Setup:/not-watched': 1 }, [], []);
  assert.deepEqual(batches, [], 'nothing is delivered inside the write');
  await new Promise<void>((r) => setImmediate(r));
  assert.deepEqual(batches, [['State:/a', 'State:/b']]);
  c.setMultiple({ 'State:/c': 1 }, [], []);
  s.deliverNow();
  assert.deepEqual(batches.at(-1), ['State:/c']);
});

test('write access: non-root is refused with kSCStatusAccessError; a non-configd Setup: writer is logged, not refused', () => {
  const s = store();
  const user = s.openSession({ name: 'user', pid: 501, root: false });
  assert.throws(() => user.setMultiple({ [KEY]: DICT }, [], []), { code: 'kSCStatusAccessError', errno: 1003 });
  const root = s.openSession({ name: 'root', pid: 502 });
  root.setMultiple({ 'Setup:/Network/Service/x/IPv4': DICT }, [], []);
  assert.deepEqual(s.log.map((l) => [l.pid, l.key]), [[502, 'Setup:/Network/Service/x/IPv4']]);
  assert.match(s.log[0]!.message, /Non-configd pid 502 modifying/);
  const bad = { f: () => 1 } as unknown as PlistValue;
  assert.throws(() => root.setMultiple({ k: bad }, [], []), { code: 'kSCStatusInvalidArgument' });
});

test('copyKeyList: the pattern is matched against the whole key', () => {
  const s = store();
  const c = s.openSession({ name: 'c', pid: 5 });
  c.setMultiple({ [KEY]: DICT, 'State:/Network/Service/org.tunroute.test': { PrimaryRank: 'Never' }, [`${KEY}/x`]: 1 }, [], []);
  assert.deepEqual(c.copyKeyList('State:/Network/Service/[^/]+/IPv4'), [KEY]);
  assert.deepEqual(c.copyKeyList('State:/Network/Service/org\\.tunroute\\.test(/.*)?').length, 3);
  assert.throws(() => c.copyKeyList('('), { code: 'kSCStatusInvalidArgument' });
});

test('configd restart: the store is empty, clients get [] and keep a usable session, plugins start again', async () => {
  const s = store();
  const starts: number[] = [];
  s.addPlugin({ start: () => starts.push(s.generation) });
  assert.deepEqual(starts, [1], 'a plugin added to a running configd starts now');
  const got: string[][] = [];
  const vpn = s.openSession({ name: 'vpn', pid: 8, useSessionKeys: true, onChange: (k) => got.push(k) });
  vpn.setNotificationKeys([KEY], []);
  vpn.setMultiple({ [KEY]: DICT }, [], []);
  await s.settle();
  s.restart();
  assert.equal(s.get(KEY), null);
  assert.deepEqual(starts, [1, 2]);
  await s.settle();
  assert.deepEqual(got, [[KEY], []], 'the empty list says: republish');
  vpn.setMultiple({ [KEY]: DICT }, [], []);
  assert.equal(s.ownerOf(KEY), vpn, 'republished as a session key of the same session');
});

test('binding: openDynamicStore exists only with a configd; exit() closes sockets and sessions, session keys vanish', async () => {
  const mac = createMacScenario();
  assert.equal(createXnuBinding(mac.kernel, { pid: 9 }).openDynamicStore, undefined);
  const b = createXnuBinding(mac.kernel, { pid: 4242, configd: mac.configd });
  const changes: string[][] = [];
  const session = b.openDynamicStore!('tunroute', { useSessionKeys: true }, (k) => changes.push(k));
  session.setNotificationKeys([KEY], []);
  session.setMultiple({ [KEY]: DICT }, [], []);
  const socket = new b.RouteSocket(() => {}, () => {}, () => {});
  assert.equal(b.storeSessions()[0]!.pid, 4242);
  b.exit();
  assert.equal(mac.configd.get(KEY), null);
  assert.throws(() => socket.send(new Uint8Array(92)), { code: 'EBADF' });
  assert.throws(() => session.notifyValue(KEY), { code: 'kSCStatusNoStoreSession' });
  await mac.configd.settle();
  assert.deepEqual(changes, [], 'a dead process hears nothing');
});
