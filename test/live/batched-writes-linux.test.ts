// The Linux backend's pipelined writes against the real kernel, inside namespaces made here:
// the writes of one turn go out as one datagram and each still gets its own outcome, and an
// overflow of the request socket in the middle of such a batch is recovered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLines, probePath, skipUnlessLinuxRoot, withNetns } from '../helpers/netns.js';

interface Observation {
  event: string;
  outcomes?: string[][];
  sends?: Array<{ bytes: number; messages: number }>;
  heardOurs?: number;
  heardAll?: number;
  events?: string[];
  tagged?: number;
  untagged?: number;
}

for (const scenario of ['outcomes', 'prepared']) {
  test(`writes of one turn go out in one datagram, each with its own outcome (EEXIST and ESRCH among them)${scenario === 'prepared' ? ', the adds encoded ahead' : ''}`, async (t) => {
    if (skipUnlessLinuxRoot(t)) return;
    await withNetns('batch', (ns) => {
      ns.addVeth('veth0', 'veth1', '10.59.0.1/24');
      // Someone else's route at one of the keys: that add alone is refused.
      ns.ip('route', 'add', '10.60.0.5/32', 'dev', 'veth0');
      const r = ns.exec('node', [probePath('batched-writes'), scenario, 'veth0']);
      assert.equal(r.status, 0, r.stderr);
      const seen = jsonLines<Observation>(r.stdout);
      const add = seen.find((o) => o.event === 'add');
      const del = seen.find((o) => o.event === 'delete');
      assert.ok(add && del, r.stdout);
      assert.deepEqual(add.outcomes, [['ok'], ['ok'], ['ok'], ['ok'], ['EEXIST'], ['ok'], ['ok'], ['ok']]);
      assert.deepEqual(add.sends, [{ bytes: add.sends![0]!.bytes, messages: 8 }], 'the eight adds went out as one datagram');
      // The deletes: the foreign route's delete matches it too (same key and device), the ninth is absent.
      assert.deepEqual(del.outcomes, [['ok'], ['ok'], ['ok'], ['ok'], ['ok'], ['ok'], ['ok'], ['ok'], ['ESRCH']]);
      assert.equal(del.sends?.length, 1, JSON.stringify(del.sends));
      assert.equal(ns.ip('route', 'show', '10.60.0.0/24', 'root', '10.60.0.0/24').trim(), '');
    });
  });
}

test('a request-socket overflow in the middle of a batch: every write gets exactly one outcome, lost answers are ENOBUFS, and the socket goes on', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('bover', (ns) => {
    ns.addVeth('veth0', 'veth1', '10.59.0.1/24');
    const n = 500;
    const r = ns.exec('node', [probePath('batched-writes'), 'overflow', 'veth0', String(n)]);
    assert.equal(r.status, 0, r.stderr);
    const seen = jsonLines<Observation>(r.stdout);
    const overflowed = seen.find((o) => o.event === 'overflowed');
    assert.ok(overflowed?.outcomes, r.stdout);
    assert.equal(overflowed.sends?.length, 1, 'one datagram carried the whole batch');
    assert.ok(overflowed.outcomes.every((o) => o.length === 1), 'no write answered twice or never');
    const flat = overflowed.outcomes.map((o) => o[0]);
    const lost = flat.filter((o) => o === 'ENOBUFS').length;
    assert.ok(lost > 0, 'the answers overflowed the small socket');
    // What is known is right: EEXIST only where the route was there already, ok only where it was not.
    flat.forEach((o, i) => assert.ok(o === 'ENOBUFS' || o === (i % 2 === 0 ? 'EEXIST' : 'ok'), `route ${i}: ${o}`));
    // Outcome unknown, not failed: the kernel ran every one of them (half added, half refused).
    const tables = seen.filter((o) => o.event === 'table').map((o) => [o.tagged, o.untagged]);
    assert.deepEqual(tables, [[n / 2, n / 2], [n / 2 + 4, n / 2]]);
    assert.deepEqual(seen.find((o) => o.event === 'after')?.outcomes, [['ok'], ['ok'], ['ok'], ['ok']]);
  });
});

test('the kernel keeps the echoes of our own writes from the listening socket; other changes still reach it', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('echo', (ns) => {
    ns.addVeth('veth0', 'veth1', '10.59.0.1/24');
    const r = ns.exec('node', [probePath('batched-writes'), 'echo', 'veth0']);
    assert.equal(r.status, 0, r.stderr);
    const echo = jsonLines<Observation>(r.stdout).find((o) => o.event === 'echo');
    assert.ok(echo?.outcomes, r.stdout);
    assert.equal(echo.outcomes.flat().filter((o) => o === 'ok').length, 20, 'our 20 routes were added');
    // Without the filter, each of our adds is one datagram on the listening socket.
    assert.equal(echo.heardOurs, 0, 'none of the 20 notifications of our own adds was delivered');
    assert.ok((echo.heardAll ?? 0) >= 1, 'the foreign add was delivered');
    assert.deepEqual(echo.events, ['added 10.63.1.1/32']);
  });
});

test('a request-socket overflow in the middle of a dump: the snapshot reads the table again once the kernel has ended the lost dump', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('dover', (ns) => {
    ns.addVeth('veth0', 'veth1', '10.59.0.1/24');
    const n = 2000;
    const r = ns.exec('node', [probePath('batched-writes'), 'dump-overflow', 'veth0', String(n)]);
    assert.equal(r.status, 0, r.stderr);
    const o = jsonLines<{ event: string; routes?: number; error?: string; lost?: number; ms?: number }>(r.stdout).find((x) => x.event === 'dump-overflow');
    assert.ok(o, r.stdout);
    assert.ok((o.lost ?? 0) > 0, `the writes' answers overflowed the socket: ${JSON.stringify(o)}`);
    // A second dump while the kernel still runs the first is refused (EBUSY, netlink_dump_start).
    assert.equal(o.error, undefined, `the snapshot failed: ${JSON.stringify(o)}`);
    assert.equal(o.routes, n, 'the snapshot holds every route');
  });
});
