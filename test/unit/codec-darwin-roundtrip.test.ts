import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeRequest, type RouteMessage, type RouteRequest } from '../../daemon/codec/darwin/index.js';
import { RTF, RTV, TUNROUTE_TAG_FLAG } from '../../daemon/codec/darwin/constants.js';

function roundTrip(req: RouteRequest): RouteMessage {
  const bytes = encodeRequest(req);
  assert.equal(bytes.length % 4, 0, 'requests are padded to 4');
  assert.equal(bytes[0]! | (bytes[1]! << 8), bytes.length, 'msglen is the total length');
  const m = decodeMessage(bytes);
  assert.ok(m !== null && m.kind === 'route');
  return m;
}

const utun5 = { index: 21, type: 1, name: 'utun5' };

test('add / delete / change / get keep their type, destination, gateway and seq', () => {
  const types = { add: 'RTM_ADD', delete: 'RTM_DELETE', change: 'RTM_CHANGE', get: 'RTM_GET' } as const;
  for (const [type, name] of Object.entries(types) as Array<[keyof typeof types, string]>) {
    const m = roundTrip({ type, destination: '10.8.0.0/16', gateway: { address: '10.8.0.1' }, seq: 42 });
    assert.equal(m.typeName, name);
    assert.equal(m.destination, '10.8.0.0/16');
    assert.equal(m.seq, 42);
    assert.equal(m.pid, 0);
    assert.deepEqual(m.addrs.gateway, { family: 'inet', length: 16, address: '10.8.0.1', port: 0 });
    assert.equal(m.flags, RTF.RTF_UP.value | RTF.RTF_STATIC.value | RTF.RTF_GATEWAY.value);
  }
});

test('inet6 destination with a link gateway (the tunnel) and a trimmed mask', () => {
  const m = roundTrip({ type: 'add', destination: '8000::/1', gateway: { link: utun5 } });
  assert.equal(m.destination, '8000::/1');
  assert.deepEqual(m.addrs.gateway, { family: 'link', length: 20, index: 21, type: 1, name: 'utun5', lladdr: '' });
  assert.equal(m.addrs.netmask?.length, 9);
  assert.equal(m.flags & RTF.RTF_GATEWAY.value, 0, 'a link gateway is -interface: no RTF_GATEWAY');
});

test('inet6 gateway with a scope (link-local next hop)', () => {
  const m = roundTrip({ type: 'add', destination: '::/0', netmask: 'full', gateway: { address: 'fe80::1', scope: 4 }, scope: 4 });
  assert.deepEqual(m.addrs.gateway, { family: 'inet6', length: 28, address: 'fe80::1', port: 0, flowinfo: 0, scope: 4 });
  assert.equal(m.destination, '::/0');
  assert.equal(m.addrs.netmask?.length, 28);
});

test('scoped: RTF_IFSCOPE and rtm_index come back as scope', () => {
  const m = roundTrip({ type: 'delete', destination: '0.0.0.0/0', netmask: 'zero-length', scope: 4 });
  assert.equal(m.scope, 4);
  assert.equal(m.index, 4);
  assert.ok((m.flags & RTF.RTF_IFSCOPE.value) !== 0);
  assert.equal(m.addrs.gateway, undefined);
  assert.equal(m.destination, '0.0.0.0/0');
  const unscoped = roundTrip({ type: 'add', destination: '0.0.0.0/1', gateway: { link: utun5 }, index: 21 });
  assert.equal(unscoped.scope, null);
  assert.equal(unscoped.index, 21);
});

test('mtu: rmx_mtu at absolute offset 40 and RTV_MTU in rtm_inits', () => {
  const bytes = encodeRequest({ type: 'add', destination: '0.0.0.0/1', gateway: { link: utun5 }, metrics: { mtu: 1380 } });
  assert.equal(new DataView(bytes.buffer).getUint32(40, true), 1380);
  assert.equal(new DataView(bytes.buffer).getUint32(32, true), RTV.RTV_MTU.value);
  const m = decodeMessage(bytes);
  assert.ok(m !== null && m.kind === 'route');
  assert.equal(m.metrics.mtu, 1380);
  assert.equal(m.inits, RTV.RTV_MTU.value);
  const all = roundTrip({
    type: 'change',
    destination: '10.0.0.0/8',
    gateway: { address: '10.0.0.1' },
    metrics: { mtu: 1, hopcount: 2, expire: -3, recvpipe: 4, sendpipe: 5, ssthresh: 6, rtt: 7, rttvar: 8 },
    locks: ['MTU'],
  });
  assert.equal(all.inits, 0xff);
  assert.equal(all.metrics.locks, RTV.RTV_MTU.value);
  assert.deepEqual(
    [all.metrics.mtu, all.metrics.hopcount, all.metrics.expire, all.metrics.recvpipe, all.metrics.sendpipe, all.metrics.ssthresh, all.metrics.rtt, all.metrics.rttvar],
    [1, 2, -3, 4, 5, 6, 7, 8],
  );
});

test('host routes: RTF_HOST and no netmask; explicit flags by name, tag flag kept', () => {
  const host = roundTrip({ type: 'add', destination: '203.0.113.7', gateway: { address: '192.168.1.1' } });
  assert.equal(host.destination, '203.0.113.7/32');
  assert.equal(host.addrs.netmask, undefined);
  assert.ok((host.flags & RTF.RTF_HOST.value) !== 0);
  const tagged = roundTrip({
    type: 'add',
    destination: '224.0.0.0/4',
    gateway: { link: utun5 },
    flags: ['UP', 'STATIC', 'CLONING', 'RTF_PROTO1'],
  });
  assert.equal(tagged.flags, 0x1 | 0x800 | 0x100 | TUNROUTE_TAG_FLAG);
  const numeric = roundTrip({ type: 'add', destination: '10.0.0.0/8', gateway: { address: '10.0.0.1' }, flags: 0x803, scope: 7 });
  assert.equal(numeric.flags, 0x803 | RTF.RTF_IFSCOPE.value);
});

test('genmask, IFP and IFA follow in RTA order; route(8) get with an empty IFP', () => {
  const m = roundTrip({ type: 'get', destination: '0.0.0.0/0', netmask: 'zero-length', ifp: { index: 0 }, ifa: '192.168.1.23', genmask: 32 });
  assert.equal(m.addrBits, 0x1 | 0x4 | 0x8 | 0x10 | 0x20);
  assert.deepEqual(m.addrs.ifp, { family: 'link', length: 20, index: 0, type: 1, name: '', lladdr: '' });
  assert.deepEqual(m.addrs.ifa, { family: 'inet', length: 16, address: '192.168.1.23', port: 0 });
  assert.equal(m.addrs.genmask?.family === 'inet' && m.addrs.genmask.prefix, 32);
});

test('requests the kernel could never accept are refused', () => {
  assert.throws(() => encodeRequest({ type: 'add', destination: '10.0.0.0/8' }), RangeError);
  assert.throws(() => encodeRequest({ type: 'add', destination: '10.0.0.0/8', netmask: 'none', gateway: { address: '10.0.0.1' } }), RangeError);
  assert.throws(() => encodeRequest({ type: 'add', destination: '10.0.0.0/33', gateway: { address: '10.0.0.1' } }), RangeError);
  assert.throws(() => encodeRequest({ type: 'add', destination: 'nope', gateway: { address: '10.0.0.1' } }), RangeError);
  assert.throws(() => encodeRequest({ type: 'add', destination: '10.0.0.0/8', gateway: { address: '10.0.0.1' }, flags: ['BOGUS'] }), RangeError);
  assert.throws(() => encodeRequest({ type: 'add', destination: '10.0.0.0/8', gateway: { address: '10.0.0.1' }, scope: 70000 }), RangeError);
});
