/**
 * The Linux route view (codec/linux/route-view.ts) against an independent reading of the
 * same bytes: the general rtattr table of netlink.ts (readAttributes, attrAddress, attrU32),
 * which the link, address and rule decoders use. Both must agree on every field, or refuse
 * the message with the same error at the same offset, on every fixture and on fuzzed
 * input. Then the backend's notification path (notificationEvents) against the full walk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, parseHex, toHex, u16At, u32At } from '../../daemon/codec/bytes.js';
import { DecodeError } from '../../daemon/errors.js';
import { REQUEST_FLAGS, encodeDelRoute, encodeNewRoute, linuxCodec, type LinuxMessage } from '../../daemon/codec/linux/index.js';
import { RTA, RTAX, RTM } from '../../daemon/codec/linux/constants.js';
import { frameAt } from '../../daemon/codec/linux/decode.js';
import { attrAddress, attrU32, readAttributes, zeroAddress } from '../../daemon/codec/linux/netlink.js';
import { RouteView } from '../../daemon/codec/linux/route-view.js';
import { notificationEvents, toKernelRoute } from '../../daemon/backends/linux.js';
import type { KernelEvent } from '../../daemon/backends/backend.js';
import { CAPTURED } from '../fixtures/linux/captured.js';
import * as V from '../fixtures/linux/vectors.js';
import { mutator } from '../helpers/mutate.js';

const ROUTE_TYPES = new Set<number>([RTM.RTM_NEWROUTE.value, RTM.RTM_DELROUTE.value, RTM.RTM_GETROUTE.value]);

const CORPUS: Uint8Array[] = [
  ...Object.values(V).filter((v): v is Uint8Array => v instanceof Uint8Array),
  ...CAPTURED.flatMap((c) => c.received.map((h) => parseHex(h))),
  encodeNewRoute({ family: 'inet6', destination: '2001:db8::/32', gateway: 'fe80::1', oif: 3, mtu: 1280, table: 300, prefsrc: '2001:db8::2', priority: 7 }, 1, REQUEST_FLAGS.create),
  encodeNewRoute({ family: 'inet', destination: '10.0.0.0/8', gateway: '192.0.2.1', oif: 3, mtu: 1400, prefsrc: '192.0.2.9' }, 2, REQUEST_FLAGS.replace),
  encodeNewRoute({ family: 'inet', destination: '0.0.0.0/0', type: 6, scope: 0 }, 3, REQUEST_FLAGS.create),
  encodeDelRoute({ family: 'inet', destination: '10.1.0.0/16', oif: 4 }, 4, REQUEST_FLAGS.delete),
];

type Outcome = Record<string, unknown> | { error: string; offset: number };

/** The route message at `start` read through the general attribute table, field by field in the decoder's order. */
function throughTable(bytes: Uint8Array, start: number, length: number): Outcome {
  try {
    const r = new ByteReader(bytes, start, start, length);
    if (length < 28) throw new DecodeError(start + 16, 'short');
    const family = r.u8(16);
    const attrs = readAttributes(r, 28);
    const dst = attrAddress(attrs, RTA.RTA_DST.value, family, 'RTA_DST') ?? zeroAddress(family);
    const src = attrAddress(attrs, RTA.RTA_SRC.value, family, 'RTA_SRC');
    const metrics: Array<[number, number]> = [];
    const mx = attrs.get(RTA.RTA_METRICS.value);
    if (mx !== undefined) for (const [type, a] of readAttributes(mx, 0)) if (a.length === 4) metrics.push([type, a.u32(0)]);
    const table = attrU32(attrs, RTA.RTA_TABLE.value, 'RTA_TABLE') ?? r.u8(20);
    const multipath = attrs.get(RTA.RTA_MULTIPATH.value);
    return {
      family,
      dstLen: r.u8(17),
      srcLen: r.u8(18),
      tos: r.u8(19),
      table,
      protocol: r.u8(21),
      scope: r.u8(22),
      routeType: r.u8(23),
      flags: r.u32(24),
      destination: dst === null ? null : `${dst}/${r.u8(17)}`,
      source: src === null ? null : `${src}/${r.u8(18)}`,
      gateway: attrAddress(attrs, RTA.RTA_GATEWAY.value, family, 'RTA_GATEWAY'),
      oif: attrU32(attrs, RTA.RTA_OIF.value, 'RTA_OIF'),
      iif: attrU32(attrs, RTA.RTA_IIF.value, 'RTA_IIF'),
      priority: attrU32(attrs, RTA.RTA_PRIORITY.value, 'RTA_PRIORITY'),
      prefsrc: attrAddress(attrs, RTA.RTA_PREFSRC.value, family, 'RTA_PREFSRC'),
      mark: attrU32(attrs, RTA.RTA_MARK.value, 'RTA_MARK'),
      mtu: metrics.find(([type]) => type === RTAX.RTAX_MTU.value)?.[1] ?? null,
      metrics,
      multipath: multipath === undefined ? null : toHex(multipath.bytes),
    };
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return { error: e.message.replace(/^at byte \d+: /, ''), offset: e.offset };
  }
}

/** The same message through one reused view: the getters are read in an order unlike the table's. */
const VIEW = new RouteView();
function throughView(bytes: Uint8Array, start: number, length: number): Outcome {
  try {
    const v = VIEW.read(bytes, start, length, start);
    const multipath = v.multipath();
    return {
      gateway: v.gateway,
      destination: v.destination,
      mtu: v.mtu,
      family: v.family,
      dstLen: v.dstLen,
      srcLen: v.srcLen,
      tos: v.tos,
      table: v.table,
      protocol: v.protocol,
      scope: v.scope,
      routeType: v.routeType,
      flags: v.flags,
      source: v.source,
      oif: v.oif,
      iif: v.iif,
      priority: v.priority,
      prefsrc: v.prefsrc,
      mark: v.mark,
      metrics: [...v.metrics()],
      multipath: multipath === null ? null : toHex(multipath),
    };
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    if (length < 28) return { error: 'short', offset: e.offset };
    return { error: e.message.replace(/^at byte \d+: /, ''), offset: e.offset };
  }
}

/** Every framed route message in `bytes`, through both readers; returns how many were read without error. */
function compare(bytes: Uint8Array, label: string): { good: number; bad: number } {
  let good = 0;
  let bad = 0;
  for (let offset = 0; offset < bytes.length; ) {
    let length: number;
    try {
      length = frameAt(bytes, offset);
    } catch {
      break;
    }
    if (ROUTE_TYPES.has(u16At(bytes, offset + 4))) {
      const expected = throughTable(bytes, offset, length);
      assert.deepEqual(throughView(bytes, offset, length), expected, `${label}, message at ${offset}: ${toHex(bytes)}`);
      if ('error' in expected) bad++;
      else good++;
    }
    offset += (length + 3) & ~3;
  }
  return { good, bad };
}

test('the route view reads every fixture as the general attribute table does', () => {
  let good = 0;
  CORPUS.forEach((bytes, i) => (good += compare(bytes, `corpus ${i}`).good));
  assert.ok(good >= 20, `${good} route messages compared`);
});

test('the route view and the attribute table agree on 30,000 fuzzed inputs, errors and their offsets included', () => {
  const m = mutator(0x5eed1, CORPUS);
  let good = 0;
  let bad = 0;
  for (let i = 0; i < 30_000; i++) {
    const r = compare(m.mutate(), `case ${i}`);
    good += r.good;
    bad += r.bad;
  }
  // Both sides of the comparison must be exercised.
  assert.ok(good > 5000 && bad > 1000, `${good} read, ${bad} refused`);
});

const OWN_PORT = 0x4242;

/** What the daemon should get from `bytes`: the full walk's messages, turned into events as the engine expects. */
function expectedEvents(bytes: Uint8Array): { events: KernelEvent[]; malformed: string[] } {
  const result = linuxCodec.walk(bytes);
  const events: KernelEvent[] = [];
  for (const { message: m } of result.messages as Array<{ message: LinuxMessage }>) {
    if (m.header.portid === OWN_PORT) continue;
    const deleted = m.header.type === RTM.RTM_DELROUTE.value || m.header.type === RTM.RTM_DELLINK.value || m.header.type === RTM.RTM_DELADDR.value || m.header.type === RTM.RTM_DELRULE.value;
    if (m.kind === 'route') {
      const route = toKernelRoute(m);
      if (route) events.push({ kind: 'route', change: deleted ? 'deleted' : 'added', route, pid: m.header.portid });
    } else if (m.kind === 'link') events.push({ kind: 'link', index: m.index, up: deleted ? null : (m.flags & 1) !== 0 });
    else if (m.kind === 'address') {
      const address = m.local ?? m.address;
      events.push({ kind: 'address', change: deleted ? 'deleted' : 'added', index: m.index, ...(address ? { address: `${address}/${m.prefixlen}` } : {}) });
    }
    else if (m.kind === 'rule') events.push({ kind: 'rule', change: deleted ? 'deleted' : 'added' });
  }
  return { events, malformed: result.errors.map((e) => e.message) };
}

function actualEvents(bytes: Uint8Array): { events: KernelEvent[]; malformed: string[]; count: number } {
  const events: KernelEvent[] = [];
  const malformed: string[] = [];
  const count = notificationEvents(bytes, OWN_PORT, (e) => (e.kind === 'malformed' ? malformed.push(e.error) : events.push(e)));
  return { events, malformed, count };
}

test('notifications become the events the full walk gives, on every fixture and 20,000 fuzzed inputs', () => {
  const m = mutator(0x5eed2, CORPUS);
  let routes = 0;
  let malformed = 0;
  for (let i = 0; i < CORPUS.length + 20_000; i++) {
    const bytes = i < CORPUS.length ? (CORPUS[i] as Uint8Array) : m.mutate();
    const actual = actualEvents(bytes);
    const expected = expectedEvents(bytes);
    assert.deepEqual({ events: actual.events, malformed: actual.malformed }, expected, `input ${i}: ${toHex(bytes)}`);
    assert.equal(actual.count, actual.malformed.length);
    routes += actual.events.filter((e) => e.kind === 'route').length;
    malformed += actual.count;
  }
  assert.ok(routes > 3000 && malformed > 3000, `${routes} route events, ${malformed} malformed`);
});

/** `bytes` with nlmsg_pid set to `port`. */
function fromPort(bytes: Uint8Array, port: number): Uint8Array {
  const out = bytes.slice();
  out.set([port & 0xff, (port >> 8) & 0xff, (port >> 16) & 0xff, port >>> 24], 12);
  return out;
}

test('a notification our own request caused is skipped unread; another process\'s becomes a route event', () => {
  const add = encodeNewRoute({ family: 'inet', destination: '10.9.0.0/16', gateway: '192.0.2.1', oif: 3, priority: 50, protocol: 232 }, 9, REQUEST_FLAGS.create);
  // Our own, with a body that would be refused (RTA_OIF's length broken): never read.
  const ownBroken = fromPort(add, OWN_PORT);
  const oif = ownBroken.findIndex((_, i) => i >= 28 && i % 4 === 0 && u16At(ownBroken, i) === 8 && u16At(ownBroken, i + 2) === RTA.RTA_OIF.value);
  ownBroken[oif] = 7;
  const { events, malformed } = actualEvents(new Uint8Array([...ownBroken, ...fromPort(add, 777)]));
  assert.deepEqual(malformed, []);
  assert.deepEqual(events, [
    {
      kind: 'route',
      change: 'added',
      pid: 777,
      route: { family: 'inet', destination: '10.9.0.0/16', gateway: { address: '192.0.2.1' }, index: 3, scope: null, table: 254, metric: 50, flags: [], mtu: null, tagged: true },
    },
  ]);
  // The same broken body from another process is malformed, and counted.
  const counted = actualEvents(fromPort(ownBroken, 777));
  assert.equal(counted.count, 1);
  assert.match(counted.malformed[0] ?? '', /RTA_OIF: expected 4 byte\(s\), got 3/);
  assert.equal(u32At(ownBroken, 12), OWN_PORT);
});

test('one view read after another keeps nothing of the first', () => {
  const full = encodeNewRoute({ family: 'inet6', destination: '2001:db8::/32', gateway: 'fe80::1', oif: 3, mtu: 1280, table: 300, prefsrc: '2001:db8::2', priority: 7 }, 1, REQUEST_FLAGS.create);
  const bare = encodeDelRoute({ family: 'inet', destination: '0.0.0.0/0' }, 2, REQUEST_FLAGS.delete);
  const v = new RouteView();
  v.read(full, 0, full.length, 0);
  assert.equal(v.gateway, 'fe80::1');
  v.read(bare, 0, bare.length, 0);
  assert.deepEqual(
    { destination: v.destination, gateway: v.gateway, oif: v.oif, priority: v.priority, prefsrc: v.prefsrc, mtu: v.mtu, table: v.table, metrics: v.metrics().size, multipath: v.multipath() },
    { destination: '0.0.0.0/0', gateway: null, oif: null, priority: null, prefsrc: null, mtu: null, table: 254, metrics: 0, multipath: null },
  );
});
