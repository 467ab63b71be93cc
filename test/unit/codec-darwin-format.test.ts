import { test } from 'node:test';
import assert from 'node:assert/strict';
import { darwinCodec, decodeMessage, encodeRequest, toJson, toText, type DarwinMessage } from '../../daemon/codec/darwin/index.js';
import { netstatLetters } from '../../daemon/codec/darwin/constants.js';
import * as V from '../fixtures/darwin/vectors.js';

const decode = (bytes: Uint8Array): DarwinMessage => {
  const m = decodeMessage(bytes);
  assert.ok(m !== null);
  return m;
};

test('toText of a route(8) request reads like route -n monitor', () => {
  assert.equal(
    toText(decode(V.ROUTE_ADD_INTERFACE_DEFAULT)),
    [
      'RTM_ADD: Add Route: len 132, pid: 0, seq 1, errno 0, flags:<UP,STATIC>',
      'locks:  inits: ',
      'sockaddrs: <DST,GATEWAY,NETMASK>',
      ' dst 0.0.0.0',
      ' gateway link#21 utun5',
      ' netmask 0.0.0.0 (/0)',
      'destination: 0.0.0.0/0',
    ].join('\n'),
  );
});

test('toText shows ifscope, metrics set, and scoped IPv6 addresses', () => {
  const scoped = toText(decode(V.ROUTE_ADD_SCOPED_DEFAULT));
  assert.match(scoped, /^RTM_ADD: Add Route: len 128, pid: 0, seq 1, errno 0, ifscope 4, flags:<UP,GATEWAY,STATIC,IFSCOPE>$/m);
  const mtu = toText(decode(encodeRequest({ type: 'add', destination: '0.0.0.0/1', gateway: { link: { index: 21, name: 'utun5' } }, metrics: { mtu: 1380 }, locks: ['MTU'] })));
  assert.match(mtu, /^locks: <mtu> inits: <mtu> mtu 1380$/m);
  assert.match(toText(decode(V.ND_DEFAULT_ROUTER)), /^ gateway fe80::1%4$/m);
  assert.match(toText(decode(V.DELETE_DEFAULT_REPLY)), /^ ifp link#4 en0 a4:83:e7:01:02:03$/m);
});

test('toText of interface, address, multicast and GET2 messages', () => {
  assert.equal(toText(decode(V.IFINFO_DOWN)), 'RTM_IFINFO: iface status change: len 112, if# 21, flags:<POINTOPOINT,RUNNING,MULTICAST>, mtu 1380');
  assert.equal(
    toText(decode(V.NEWADDR_UTUN)),
    [
      'RTM_NEWADDR: address being added to iface: len 80, if# 21, metric 0, flags:<ROUTE>',
      'sockaddrs: <NETMASK,IFP,IFA,BRD>',
      ' netmask 255.255.255.0 (/24)',
      ' ifp link#21 utun5',
      ' ifa 10.8.0.2',
      ' brd 10.8.0.1',
    ].join('\n'),
  );
  assert.match(toText(decode(V.DELMADDR_UNPADDED)), /^RTM_DELMADDR: multicast group membership removed from iface: len 50, if# 5\n/);
  assert.match(toText(decode(V.GET2_RECORD)), /^RTM_GET2: len 136, refcnt 2, parentflags:<UP,CLONING>, flags:<UP,GATEWAY,CLONING,STATIC,PRCLONING>$/m);
});

test('toJson: unknown families are raw hex, non-contiguous masks are flagged, unknown flag bits are hex', () => {
  const bytes = encodeRequest({ type: 'add', destination: '10.0.0.0/8', gateway: { address: '10.0.0.1' }, flags: 0x80000001 });
  // Turn the gateway into an AF_ROUTE (17) sockaddr and the mask into 255.0.255.0.
  bytes[109] = 17;
  bytes.set([8, 2, 0, 0, 255, 0, 255, 0], 124);
  const json = toJson(decode(bytes));
  assert.deepEqual(json.flags, ['UP', '0x80000000']);
  assert.deepEqual(json.addrs, {
    dst: { family: 'inet', address: '10.0.0.0' },
    gateway: { family: 17, length: 16, hex: '101100000a0000010000000000000000' },
    netmask: { family: 'inet', address: '255.0.255.0', contiguous: false },
  });
  assert.equal(json.destination, null);
});

test('toJson of a multicast message has the group and no flags', () => {
  const json = toJson(decode(V.DELMADDR_UNPADDED));
  assert.deepEqual(Object.keys(json), ['type', 'version', 'index', 'addrs', 'group', 'length']);
  assert.equal(json.group, null);
});

test('the codec object wires walk and both printers', () => {
  assert.equal(darwinCodec.os, 'darwin');
  const r = darwinCodec.walk(V.MULLVAD_RTM_ADD);
  assert.equal(r.messages.length, 1);
  assert.equal(darwinCodec.toJson(r.messages[0]!.message).destination, '192.168.88.0/24');
  assert.match(darwinCodec.toText(r.messages[0]!.message), /^RTM_ADD: Add Route: len 135, /);
});

test('netstat letters in netstat order', () => {
  assert.equal(netstatLetters(0x801), 'US');
  assert.equal(netstatLetters(0x1 | 0x800 | 0x100), 'UCS');
  assert.equal(netstatLetters(0x1 | 0x800 | 0x100 | 0x1000000), 'UCSI');
  assert.equal(netstatLetters(0x01000803 | 0x10000 | 0x40000000), 'UGScIg');
  assert.equal(netstatLetters(0x40 | 0x80 | 0x2000), 'd', 'DELCLONE and NOIFREF have no letter');
});
