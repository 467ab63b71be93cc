import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeRequest, toJson, type DarwinMessage } from '../../daemon/codec/darwin/index.js';
import * as V from '../fixtures/darwin/vectors.js';

function decode(bytes: Uint8Array): DarwinMessage {
  const m = decodeMessage(bytes);
  assert.ok(m !== null, 'a known message type');
  return m;
}

function route(bytes: Uint8Array) {
  const m = decode(bytes);
  assert.equal(m.kind, 'route');
  return m;
}

test('§5.1 route add -net 0.0.0.0/0 -interface utun5 encodes byte for byte (132 bytes)', () => {
  const bytes = encodeRequest({
    type: 'add',
    destination: '0.0.0.0/0',
    gateway: { link: { index: 21, type: 1, name: 'utun5' } },
    seq: 1,
  });
  assert.equal(bytes.length, 132);
  assert.deepEqual(bytes, V.ROUTE_ADD_INTERFACE_DEFAULT);
});

test('§5.2 route add -ifscope en0 default 192.168.1.1 encodes byte for byte (128 bytes)', () => {
  const bytes = encodeRequest({
    type: 'add',
    destination: '0.0.0.0/0',
    netmask: 'zero-length',
    gateway: { address: '192.168.1.1' },
    scope: 4,
    seq: 1,
  });
  assert.equal(bytes.length, 128);
  assert.deepEqual(bytes, V.ROUTE_ADD_SCOPED_DEFAULT);
});

test('Mullvad 135-byte RTM_ADD: trimmed 0xff-family mask is /24, unpadded tail', () => {
  const m = route(V.MULLVAD_RTM_ADD);
  assert.equal(m.kind, 'route');
  if (m.kind !== 'route') return;
  assert.equal(m.typeName, 'RTM_ADD');
  assert.equal(m.length, 135);
  assert.equal(m.index, 11);
  assert.equal(m.flags, 0x101);
  assert.equal(m.addrBits, 0x7);
  assert.deepEqual(m.addrs.dst, { family: 'inet', length: 16, address: '192.168.88.0', port: 0 });
  assert.deepEqual(m.addrs.gateway, { family: 'link', length: 20, index: 11, type: 6, name: '', lladdr: '' });
  assert.equal(m.addrs.netmask?.family, 'inet');
  assert.equal(m.addrs.netmask?.length, 7);
  assert.equal(m.destination, '192.168.88.0/24');
  assert.equal(m.scope, null);
  assert.deepEqual(toJson(m), {
    type: 'RTM_ADD',
    version: 5,
    index: 11,
    flags: ['UP', 'CLONING'],
    addrs: {
      dst: { family: 'inet', address: '192.168.88.0' },
      gateway: { family: 'link', index: 11, name: '', type: 6 },
      netmask: { family: 'inet', address: '255.255.255.0' },
    },
    destination: '192.168.88.0/24',
    pid: 0,
    seq: 0,
    errno: 0,
    length: 135,
  });
  // Key order is part of the stable shape.
  assert.deepEqual(Object.keys(toJson(m)), ['type', 'version', 'index', 'flags', 'addrs', 'destination', 'pid', 'seq', 'errno', 'length']);
});

test('§3.4 164-byte RTM_DELETE reply of a default route: zero-length mask, IFP and IFA after it', () => {
  const m = route(V.DELETE_DEFAULT_REPLY);
  if (m.kind !== 'route') return;
  assert.equal(m.length, 164);
  assert.equal(m.typeName, 'RTM_DELETE');
  assert.equal(m.flags, 0x02010842);
  assert.equal(m.pid, 12345);
  assert.equal(m.seq, 7);
  assert.equal(m.errno, 0);
  assert.equal(m.use, 5);
  assert.equal(m.metrics.mtu, 1500);
  assert.equal(m.destination, '0.0.0.0/0');
  assert.deepEqual(m.addrs.netmask, { family: 'inet', length: 0, address: '0.0.0.0', prefix: 0, bytes: new Uint8Array(4) });
  // sin_zero holds the kernel's gateway scope; it is not part of the address.
  assert.deepEqual(m.addrs.gateway, { family: 'inet', length: 16, address: '192.168.1.1', port: 0 });
  assert.deepEqual(m.addrs.ifp, { family: 'link', length: 20, index: 4, type: 6, name: 'en0', lladdr: 'a4:83:e7:01:02:03' });
  assert.deepEqual(m.addrs.ifa, { family: 'inet', length: 16, address: '192.168.1.23', port: 0 });
  assert.deepEqual(toJson(m).flags, ['GATEWAY', 'DONE', 'STATIC', 'PRCLONING', 'CONDEMNED']);
});

test('§3.2 50-byte RTM_DELMADDR: the last sockaddr_dl is 14 bytes and unpadded', () => {
  const m = decode(V.DELMADDR_UNPADDED);
  assert.equal(m.kind, 'multicast');
  if (m.kind !== 'multicast') return;
  assert.equal(m.length, 50);
  assert.equal(m.index, 5);
  assert.equal(m.header, 'ifma_msghdr');
  assert.deepEqual(m.addrs.ifp, { family: 'link', length: 20, index: 5, type: 6, name: 'en1', lladdr: '00:11:22:33:44:55' });
  assert.deepEqual(m.addrs.ifa, { family: 'link', length: 14, index: 0, type: 6, name: '', lladdr: '01:00:5e:00:00:fb' });
  assert.equal(m.group, null);
});

test('§7 RTM_IFINFO with no sockaddrs (112 bytes, ifm_addrs 0) is a normal message', () => {
  const m = decode(V.IFINFO_DOWN);
  assert.equal(m.kind, 'interface');
  if (m.kind !== 'interface') return;
  assert.equal(m.index, 21);
  assert.equal(m.flags, 0x8050);
  assert.equal(m.addrBits, 0);
  assert.deepEqual(m.addrs, {});
  assert.equal(m.data.type, 1);
  assert.equal(m.data.mtu, 1380);
  assert.equal(m.data.ipackets, 10);
  assert.equal(m.data.obytes, 1024);
  assert.deepEqual(m.data.lastchange, { sec: 1700000000, usec: 500000 });
  assert.deepEqual(toJson(m), {
    type: 'RTM_IFINFO',
    version: 5,
    index: 21,
    flags: ['POINTOPOINT', 'RUNNING', 'MULTICAST'],
    addrs: {},
    mtu: 1380,
    length: 112,
  });
});

test('§1.2 RTM_GET2 record: refcnt and parentflags, no pid/seq/errno', () => {
  const m = route(V.GET2_RECORD);
  if (m.kind !== 'route') return;
  assert.equal(m.header, 'rt_msghdr2');
  assert.equal(m.refcnt, 2);
  assert.equal(m.parentFlags, 0x101);
  assert.equal(m.pid, undefined);
  assert.equal(m.seq, undefined);
  assert.equal(m.errno, undefined);
  assert.equal(m.use, 42);
  assert.equal(m.destination, '10.8.0.0/24');
  const json = toJson(m);
  assert.equal('pid' in json, false);
  assert.equal(json.refcnt, 2);
  assert.deepEqual(json.parentFlags, ['UP', 'CLONING']);
});

test('IPv6 route with the KAME scope embedded in the destination', () => {
  const m = route(V.GET_IPV6_SCOPED);
  if (m.kind !== 'route') return;
  assert.deepEqual(m.addrs.dst, { family: 'inet6', length: 28, address: 'fe80::', port: 0, flowinfo: 0, scope: 5 });
  assert.equal(m.addrs.netmask?.family, 'inet6');
  assert.equal(m.addrs.netmask?.family === 'inet6' ? m.addrs.netmask.prefix : -1, 64);
  assert.equal(m.destination, 'fe80::/64');
  assert.equal(m.scope, 21);
  assert.equal(m.pid, 1234);
  assert.deepEqual(toJson(m).addrs, {
    dst: { family: 'inet6', address: 'fe80::', scope: 5 },
    gateway: { family: 'link', index: 21, name: 'utun5', type: 1 },
    netmask: { family: 'inet6', address: 'ffff:ffff:ffff:ffff::' },
  });
});

test('IPv6 router-discovery RTM_ADD: embedded-scope gateway, 28-byte 0xff-family mask is /0', () => {
  const m = route(V.ND_DEFAULT_ROUTER);
  if (m.kind !== 'route') return;
  assert.equal(m.index, 0);
  assert.deepEqual(m.addrs.gateway, { family: 'inet6', length: 28, address: 'fe80::1', port: 0, flowinfo: 0, scope: 4 });
  assert.equal(m.destination, '::/0');
  assert.deepEqual(toJson(m).addrs, {
    dst: { family: 'inet6', address: '::' },
    gateway: { family: 'inet6', address: 'fe80::1', scope: 4 },
    netmask: { family: 'inet6', address: '::' },
    ifp: { family: 'link', index: 4, name: 'en0', type: 6, address: 'a4:83:e7:01:02:03' },
    ifa: { family: 'inet', address: '0.0.0.0' },
  });
});

test('zero-length DST and NETMASK read as the kernel does: 0.0.0.0/0', () => {
  const m = route(V.ZERO_LENGTH_DST);
  if (m.kind !== 'route') return;
  assert.deepEqual(m.addrs.dst, { family: 'empty', af: 2, length: 0 });
  assert.deepEqual(m.addrs.gateway, { family: 'inet', length: 16, address: '10.0.0.1', port: 0 });
  assert.equal(m.destination, '0.0.0.0/0');
  assert.deepEqual(toJson(m).addrs, {
    dst: { family: 2, length: 0, hex: '' },
    gateway: { family: 'inet', address: '10.0.0.1' },
    netmask: { family: 'inet', address: '0.0.0.0' },
  });
});

test('RTM_NEWADDR: netmask by the IFA family, CIDR of the interface address, peer in BRD', () => {
  const m = decode(V.NEWADDR_UTUN);
  assert.equal(m.kind, 'address');
  if (m.kind !== 'address') return;
  assert.equal(m.index, 21);
  assert.equal(m.address, '10.8.0.2/24');
  assert.deepEqual(toJson(m), {
    type: 'RTM_NEWADDR',
    version: 5,
    index: 21,
    flags: ['ROUTE'],
    addrs: {
      netmask: { family: 'inet', address: '255.255.255.0' },
      ifp: { family: 'link', index: 21, name: 'utun5', type: 1 },
      ifa: { family: 'inet', address: '10.8.0.2' },
      brd: { family: 'inet', address: '10.8.0.1' },
    },
    address: '10.8.0.2/24',
    metric: 0,
    length: 80,
  });
});

test('§5.1 / §5.2 vectors also decode to what route(8) meant', () => {
  const a = route(V.ROUTE_ADD_INTERFACE_DEFAULT);
  const b = route(V.ROUTE_ADD_SCOPED_DEFAULT);
  if (a.kind !== 'route' || b.kind !== 'route') return;
  assert.equal(a.destination, '0.0.0.0/0');
  assert.equal(a.seq, 1);
  assert.deepEqual(a.addrs.gateway, { family: 'link', length: 20, index: 21, type: 1, name: 'utun5', lladdr: '' });
  assert.equal(b.destination, '0.0.0.0/0');
  assert.equal(b.scope, 4);
  assert.deepEqual(b.addrs.netmask, { family: 'inet', length: 0, address: '0.0.0.0', prefix: 0, bytes: new Uint8Array(4) });
});

test('§1.7 RTM_IFINFO2: if_msghdr2 send-queue fields and 64-bit if_data64 counters', () => {
  const m = decode(V.IFINFO2_EN0);
  assert.equal(m.kind, 'interface');
  if (m.kind !== 'interface') return;
  assert.equal(m.header, 'if_msghdr2');
  assert.equal(m.length, 180);
  assert.equal(m.index, 4);
  assert.deepEqual(m.send, { len: 0, maxlen: 50, drops: 7, timer: 0 });
  assert.equal(m.data.type, 6);
  assert.equal(m.data.addrlen, 6);
  assert.equal(m.data.hdrlen, 14);
  assert.equal(m.data.mtu, 1500);
  assert.equal(m.data.baudrate, 1_000_000_000);
  assert.equal(m.data.ipackets, 4294967297);
  assert.deepEqual(m.data.lastchange, { sec: 1700000000, usec: 0 });
  assert.equal(m.addrs.ifp?.family === 'link' && m.addrs.ifp.name, 'en0');
  assert.deepEqual(toJson(m).flags, ['UP', 'BROADCAST', 'RUNNING', 'SIMPLEX', 'MULTICAST']);
});

test('§1.9 RTM_NEWMADDR2: refcount at 16, sockaddrs at 20, group from the IFA', () => {
  const m = decode(V.NEWMADDR2_ALLHOSTS);
  assert.equal(m.kind, 'multicast');
  if (m.kind !== 'multicast') return;
  assert.equal(m.header, 'ifma_msghdr2');
  assert.equal(m.refcount, 3);
  assert.equal(m.group, '224.0.0.1');
  assert.equal(m.addrs.gateway?.family === 'link' && m.addrs.gateway.lladdr, '01:00:5e:00:00:01');
  assert.deepEqual(toJson(m), {
    type: 'RTM_NEWMADDR2',
    version: 5,
    index: 4,
    addrs: {
      gateway: { family: 'link', index: 0, name: '', type: 6, address: '01:00:5e:00:00:01' },
      ifp: { family: 'link', index: 4, name: 'en0', type: 6, address: 'a4:83:e7:01:02:03' },
      ifa: { family: 'inet', address: '224.0.0.1' },
    },
    group: '224.0.0.1',
    refcount: 3,
    length: 72,
  });
});

test('§1.4 RTM_GET_EXT: u32 index, addrs at 16, metrics at 40, reach info, sockaddrs at 136', () => {
  const m = route(V.GET_EXT_RECORD);
  if (m.kind !== 'route') return;
  assert.equal(m.header, 'rt_msghdr_ext');
  assert.equal(m.index, 21);
  assert.equal(m.flags, 0x10903);
  assert.equal(m.addrBits, 7);
  assert.equal(m.use, 9);
  assert.equal(m.metrics.mtu, 1380);
  assert.deepEqual(m.reach, { refcnt: 1, probes: 2, sndExpire: 3n, rcvExpire: 4n, rssi: -50, lqm: 100, npm: 0 });
  assert.equal(m.destination, '10.8.0.0/24');
  assert.equal(m.errno, 0);
});
