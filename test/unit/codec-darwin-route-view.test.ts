/**
 * The macOS route view (codec/darwin/route-view.ts) against the full decode of the same
 * bytes, whose sockaddrs are decoded into objects on their own (sockaddr.ts): every field
 * the backend reads must agree on every fixture and on fuzzed input, and the destination
 * must be what the decoded DST and NETMASK say. Then the backend's notification path
 * (notificationEvents) against the events the full walk implies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../daemon/codec/bytes.js';
import { encodeRequest, headerLayout, RMX, RouteView, routeFlagNames, SA_ABSENT, SA_EMPTY, SA_SHORT, walk } from '../../daemon/codec/darwin/index.js';
import type { Addrs, RouteMessage, Sockaddr } from '../../daemon/codec/darwin/index.js';
import { AF, IFF, RTF, RTM, TUNROUTE_TAG_FLAG } from '../../daemon/codec/darwin/constants.js';
import { applyPrefix, formatIp, parseIp } from '../../daemon/model/ip.js';
import { notificationEvents } from '../../daemon/backends/darwin.js';
import type { KernelEvent, KernelRoute } from '../../daemon/backends/backend.js';
import type { Gateway } from '../../daemon/model/route.js';
import * as V from '../fixtures/darwin/vectors.js';
import { mutator } from '../helpers/mutate.js';

const CORPUS: Uint8Array[] = [
  ...Object.values(V).filter((v): v is Uint8Array => v instanceof Uint8Array),
  encodeRequest({ type: 'add', destination: '8000::/1', gateway: { link: { index: 21, name: 'utun5' } }, metrics: { mtu: 1380 } }),
  encodeRequest({ type: 'delete', destination: 'fe80::/64', gateway: { address: 'fe80::1', scope: 4 }, scope: 4 }),
  encodeRequest({ type: 'add', destination: '2001:db8::/48', gateway: { address: 'fe80::1', scope: 4 }, netmask: 'full' }),
  encodeRequest({ type: 'add', destination: '10.1.2.0/24', gateway: { address: '192.168.1.1' }, metrics: { mtu: 1400, hopcount: 3 }, pid: 77 }),
  encodeRequest({ type: 'change', destination: '0.0.0.0/0', netmask: 'zero-length', gateway: { address: '10.0.0.1' }, scope: 4 }),
  encodeRequest({ type: 'add', destination: '192.0.2.7/32', gateway: { address: '10.0.0.1' }, netmask: 'none' }),
];

/** A decoded sockaddr's family as the view names it. */
function familyNumber(sa: Sockaddr | undefined): number {
  if (sa === undefined) return SA_ABSENT;
  switch (sa.family) {
    case 'inet':
      return AF.AF_INET.value;
    case 'inet6':
      return AF.AF_INET6.value;
    case 'link':
      return AF.AF_LINK.value;
    case 'empty':
      return SA_EMPTY;
    case 'other':
      return sa.length === 1 ? SA_SHORT : sa.af;
  }
}

/** The destination the decoded DST and NETMASK objects describe (route(8)'s rules: §3.3). */
function destinationOf(addrs: Addrs, flags: number): string | null {
  const dst = addrs.dst;
  if (dst === undefined) return null;
  if (dst.family !== 'inet' && dst.family !== 'inet6' && dst.family !== 'empty') return null;
  const family = dst.family === 'inet6' ? 'inet6' : 'inet';
  let prefix = family === 'inet' ? 32 : 128;
  const mask = addrs.netmask;
  if ((flags & RTF.RTF_HOST.value) === 0 && mask !== undefined) {
    if (mask.family !== family || mask.prefix === null) return null;
    prefix = mask.prefix;
  }
  const bytes = dst.family === 'empty' ? new Uint8Array(4) : parseIp(dst.address).bytes;
  return `${formatIp(family, applyPrefix(bytes, prefix))}/${prefix}`;
}

const VIEW = new RouteView();

/** Every field of the view next to the same field of the full decode. */
function pairs(m: RouteMessage, v: RouteView): Array<[string, unknown, unknown]> {
  const gw = m.addrs.gateway;
  const out: Array<[string, unknown, unknown]> = [
    ['type', v.type, m.type],
    ['length', v.length, m.length],
    ['index', v.index, m.index],
    ['flags', v.flags, m.flags],
    ['addrBits', v.addrBits, m.addrBits],
    ['pid', v.pid, m.pid ?? 0],
    ['seq', v.seq, m.seq ?? 0],
    ['errno', v.errno, m.errno ?? 0],
    ['use', v.use, m.use],
    ['inits', v.inits, m.inits],
    ['metrics', Array.from({ length: 14 }, (_, i) => v.metric(i)), [...(['locks', 'mtu', 'hopcount', 'expire', 'recvpipe', 'sendpipe', 'ssthresh', 'rtt', 'rttvar', 'pksent'] as const).map((k) => m.metrics[k]), ...m.metrics.filler]],
    ['settableMetrics', v.settableMetrics(), { mtu: m.metrics.mtu, hopcount: m.metrics.hopcount, expire: m.metrics.expire, recvpipe: m.metrics.recvpipe, sendpipe: m.metrics.sendpipe, ssthresh: m.metrics.ssthresh, rtt: m.metrics.rtt, rttvar: m.metrics.rttvar }],
    ['scope', v.scope, m.scope],
    ['dstFamily', v.dstFamily, familyNumber(m.addrs.dst)],
    ['destination', v.destination, destinationOf(m.addrs, m.flags)],
    ['destination (full decode)', m.destination, destinationOf(m.addrs, m.flags)],
    ['gatewayFamily', v.gatewayFamily, familyNumber(gw)],
  ];
  if (gw?.family === 'inet') out.push(['gatewayInet', v.gatewayInet, gw.address]);
  if (gw?.family === 'inet6') out.push(['gatewayInet6', v.gatewayInet6(), { address: gw.address, scope: gw.scope }]);
  if (gw?.family === 'link') out.push(['gatewayLink', [v.gatewayLinkIndex, v.gatewayLinkType], [gw.index, gw.type]]);
  return out;
}

/** Compares every route message of `bytes`; returns how many. */
function compare(bytes: Uint8Array, label: string): number {
  let routes = 0;
  for (const { offset, message } of walk(bytes).messages) {
    if (message.kind !== 'route') continue;
    const layout = headerLayout(bytes, offset);
    assert.ok(layout !== null, label);
    VIEW.read(bytes, offset, layout);
    for (const [field, view, full] of pairs(message, VIEW)) assert.deepEqual(view, full, `${label}, message at ${offset}, ${field}: ${toHex(bytes)}`);
    routes++;
  }
  return routes;
}

test('the route view agrees with the full decode on every fixture', () => {
  const routes = CORPUS.reduce((n, bytes, i) => n + compare(bytes, `corpus ${i}`), 0);
  assert.ok(routes >= 14, `${routes} route messages compared`);
});

test('the route view agrees with the full decode on 30,000 fuzzed inputs', () => {
  const m = mutator(0xda4e1, CORPUS);
  let routes = 0;
  for (let i = 0; i < 30_000; i++) routes += compare(m.mutate(), `case ${i}`);
  assert.ok(routes > 10_000, `${routes} route messages compared`);
});

const OWN_PID = 4242;
const TABLE_CHANGES = new Map<number, 'added' | 'deleted' | 'changed'>([
  [RTM.RTM_ADD.value, 'added'],
  [RTM.RTM_DELETE.value, 'deleted'],
  [RTM.RTM_CHANGE.value, 'changed'],
]);
const CHURN = RTF.RTF_WASCLONED.value | RTF.RTF_LLINFO.value;

function gatewayOf(sa: Sockaddr | undefined): Gateway | null {
  if (sa?.family === 'link') return { link: sa.index };
  if (sa?.family === 'inet') return { address: sa.address };
  if (sa?.family === 'inet6') return sa.scope !== 0 ? { address: sa.address, scope: sa.scope } : { address: sa.address };
  return null;
}

/** The KernelRoute a fully decoded route message stands for. */
function kernelRoute(m: RouteMessage): KernelRoute | null {
  const dst = m.addrs.dst;
  const gw = m.addrs.gateway;
  if (m.destination === null || (dst?.family !== 'inet' && dst?.family !== 'inet6')) return null;
  const { mtu, hopcount, expire, recvpipe, sendpipe, ssthresh, rtt, rttvar } = m.metrics;
  return {
    family: dst.family,
    destination: m.destination,
    gateway: gatewayOf(gw),
    index: m.index,
    scope: m.scope,
    table: null,
    metric: null,
    flags: routeFlagNames(m.flags).filter((f) => !f.startsWith('0x')),
    mtu: mtu === 0 ? null : mtu,
    tagged: (m.flags & TUNROUTE_TAG_FLAG) !== 0,
    record: {
      os: 'darwin',
      flags: m.flags,
      locks: m.metrics.locks,
      inits: m.inits,
      metrics: { mtu, hopcount, expire, recvpipe, sendpipe, ssthresh, rtt, rttvar },
      gatewayScope: gw?.family === 'inet6' ? gw.scope : 0,
      ...(gw?.family === 'link' ? { gatewayLinkType: gw.type } : {}),
    },
  };
}

/** What the daemon should get from `bytes`, from the full walk. */
function expectedEvents(bytes: Uint8Array): { events: KernelEvent[]; malformed: string[] } {
  const result = walk(bytes);
  const events: KernelEvent[] = [];
  for (const { message: m } of result.messages) {
    if (m.kind === 'route') {
      const change = TABLE_CHANGES.get(m.type);
      if (change === undefined || (m.errno ?? 0) !== 0 || m.flags & CHURN || m.pid === OWN_PID) continue;
      const route = kernelRoute(m);
      if (route) events.push({ kind: 'route', change, route, pid: m.pid ?? 0 });
    } else if (m.kind === 'interface') events.push({ kind: 'link', index: m.index, up: (m.flags & IFF.IFF_UP.value) !== 0 });
    else if (m.kind === 'address') events.push({ kind: 'address', change: m.type === RTM.RTM_NEWADDR.value ? 'added' : 'deleted', index: m.index, ...(m.address === null ? {} : { address: m.address }) });
  }
  return { events, malformed: result.errors.map((e) => e.message) };
}

test('route messages become the events the full walk implies, on every fixture and 20,000 fuzzed inputs', () => {
  const m = mutator(0xda4e2, CORPUS);
  let routes = 0;
  for (let i = 0; i < CORPUS.length + 20_000; i++) {
    const bytes = i < CORPUS.length ? (CORPUS[i] as Uint8Array) : m.mutate();
    const events: KernelEvent[] = [];
    const malformed: string[] = [];
    const count = notificationEvents(bytes, OWN_PID, (e) => (e.kind === 'malformed' ? malformed.push(e.error) : events.push(e)));
    assert.deepEqual({ events, malformed }, expectedEvents(bytes), `input ${i}: ${toHex(bytes)}`);
    assert.equal(count, malformed.length);
    routes += events.filter((e) => e.kind === 'route').length;
  }
  assert.ok(routes > 5000, `${routes} route events`);
});

test('echoes of our own writes, failed requests, GET replies and ARP churn give no event', () => {
  const add = { type: 'add' as const, destination: '10.1.2.0/24', gateway: { address: '192.168.1.1' } };
  const events = (bytes: Uint8Array): KernelEvent[] => {
    const out: KernelEvent[] = [];
    notificationEvents(bytes, OWN_PID, (e) => out.push(e));
    return out;
  };
  assert.equal(events(encodeRequest({ ...add, pid: 77 })).length, 1);
  assert.deepEqual(events(encodeRequest({ ...add, pid: OWN_PID })), []);
  assert.deepEqual(events(encodeRequest({ ...add, type: 'get', pid: 77 })), []);
  const failed = encodeRequest({ ...add, pid: 77 });
  failed[24] = 17; // rtm_errno EEXIST
  assert.deepEqual(events(failed), []);
  assert.deepEqual(events(encodeRequest({ ...add, pid: 77, flags: RTF.RTF_UP.value | RTF.RTF_LLINFO.value })), []);
});
