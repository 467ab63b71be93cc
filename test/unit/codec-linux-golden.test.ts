import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError } from '../../daemon/errors.js';
import {
  REQUEST_FLAGS,
  decodeMessage,
  encodeNewRoute,
  encodeNewRule,
  linuxCodec,
  toJson,
  toText,
  type LinuxMessage,
} from '../../daemon/codec/linux/index.js';
import * as V from '../fixtures/linux/vectors.js';

function only(bytes: Uint8Array): LinuxMessage {
  const result = linuxCodec.walk(bytes);
  assert.deepEqual(result.errors, []);
  assert.equal(result.unknown, 0);
  assert.equal(result.messages.length, 1);
  const first = result.messages[0];
  assert.ok(first !== undefined);
  assert.equal(first.offset, 0);
  return first.message;
}

test('RTM_NEWROUTE: every attribute, nested RTAX_MTU', () => {
  const m = only(V.NEWROUTE);
  assert.equal(m.kind, 'route');
  if (m.kind !== 'route') return;
  assert.deepEqual(m.header, { length: 88, type: 24, flags: 0, seq: 0, portid: 0 });
  assert.equal(m.destination, '10.0.0.0/8');
  assert.equal(m.gateway, '192.0.2.1');
  assert.equal(m.oif, 3);
  assert.equal(m.priority, 100);
  assert.equal(m.prefsrc, '10.0.0.2');
  assert.equal(m.mtu, 1400);
  assert.equal(m.table, 254);
  assert.deepEqual(toJson(m), {
    type: 'RTM_NEWROUTE',
    family: 'inet',
    table: 254,
    protocol: 'boot',
    scope: 'universe',
    destination: '10.0.0.0/8',
    gateway: '192.0.2.1',
    oif: 3,
    priority: 100,
    prefsrc: '10.0.0.2',
    mtu: 1400,
    routeType: 'unicast',
    seq: 0,
    portid: 0,
  });
  assert.equal(toText(m), '10.0.0.0/8 via 192.0.2.1 dev #3 table main proto boot src 10.0.0.2 metric 100 mtu 1400');
});

test('RTM_DELROUTE IPv6: RTA_TABLE overrides rtm_table 252, no RTA_DST is ::/0, padded u8 attribute skipped', () => {
  const m = only(V.DELROUTE_V6);
  assert.equal(m.kind, 'route');
  if (m.kind !== 'route') return;
  assert.equal(m.typeName, 'RTM_DELROUTE');
  assert.equal(m.table, 51820);
  assert.equal(m.destination, '::/0');
  assert.equal(m.gateway, 'fe80::1');
  assert.deepEqual(toJson(m), {
    type: 'RTM_DELROUTE',
    family: 'inet6',
    table: 51820,
    protocol: 'static',
    scope: 'universe',
    destination: '::/0',
    gateway: 'fe80::1',
    oif: 2,
    priority: 1024,
    routeType: 'unicast',
    seq: 7,
    portid: 0,
  });
  assert.equal(toText(m), 'Deleted default via fe80::1 dev #2 table 51820 proto static metric 1024');
});

test('RTM_NEWLINK: name, mtu, operstate, IFF flags, nested IFLA_INFO_KIND', () => {
  const m = only(V.NEWLINK);
  assert.equal(m.kind, 'link');
  if (m.kind !== 'link') return;
  assert.equal(m.linkType, 0xfffe);
  assert.equal(m.linkKind, 'tun');
  assert.deepEqual(toJson(m), {
    type: 'RTM_NEWLINK',
    index: 3,
    name: 'tun0',
    flags: ['UP', 'POINTOPOINT', 'RUNNING', 'NOARP', 'MULTICAST', 'LOWER_UP'],
    mtu: 1420,
    operstate: 'up',
    linkType: 'none',
    kind: 'tun',
    seq: 0,
    portid: 0,
  });
  assert.equal(toText(m), '3: tun0: <UP,POINTOPOINT,RUNNING,NOARP,MULTICAST,LOWER_UP> mtu 1420 state UP kind tun\n    link/none');
});

test('RTM_NEWADDR: IFA_FLAGS overrides ifa_flags, peer address, label', () => {
  const m = only(V.NEWADDR);
  assert.equal(m.kind, 'address');
  if (m.kind !== 'address') return;
  assert.equal(m.flags, 0x280);
  assert.deepEqual(toJson(m), {
    type: 'RTM_NEWADDR',
    family: 'inet',
    index: 3,
    prefixlen: 32,
    flags: ['PERMANENT', 'NOPREFIXROUTE'],
    scope: 'universe',
    address: '10.0.0.1',
    local: '10.0.0.2',
    label: 'tun0',
    seq: 0,
    portid: 0,
  });
  assert.equal(toText(m), '3: inet 10.0.0.2 peer 10.0.0.1/32 scope universe permanent noprefixroute tun0');
});

test('RTM_NEWRULE: FRA_TABLE overrides the header table, unset suppress_prefixlength is left out', () => {
  const m = only(V.NEWRULE);
  assert.equal(m.kind, 'rule');
  if (m.kind !== 'rule') return;
  assert.equal(m.table, 51820);
  assert.equal(m.suppressPrefixlen, 0xffffffff);
  assert.deepEqual(toJson(m), {
    type: 'RTM_NEWRULE',
    family: 'inet',
    priority: 100,
    src: '10.0.0.2/32',
    fwmark: 0xca6c,
    table: 51820,
    action: 'to_tbl',
    protocol: 'tunroute',
    seq: 0,
    portid: 0,
  });
  assert.equal(toText(m), '100:\tfrom 10.0.0.2 fwmark 0xca6c lookup 51820 proto tunroute');
});

test('NLMSG_ERROR EEXIST, uncapped: positive errno, code, the request it answers', () => {
  const m = only(V.ERROR_EEXIST);
  assert.equal(m.kind, 'error');
  if (m.kind !== 'error') return;
  assert.equal(m.errno, 17);
  assert.equal(m.code, 'EEXIST');
  assert.equal(m.ack, false);
  assert.equal(m.request.type, 24);
  assert.deepEqual(toJson(m), {
    type: 'NLMSG_ERROR',
    ack: false,
    errno: 17,
    code: 'EEXIST',
    requestType: 'RTM_NEWROUTE',
    requestSeq: 2,
    seq: 2,
    portid: V.PORT,
  });
  assert.equal(toText(m), 'error EEXIST (17) for RTM_NEWROUTE seq 2 portid 12345');
});

test('NLMSG_ERROR with errno 0 is an ack', () => {
  const m = only(V.ACK);
  assert.equal(m.kind, 'error');
  if (m.kind !== 'error') return;
  assert.equal(m.ack, true);
  assert.equal(m.errno, 0);
  assert.equal(m.code, null);
  assert.deepEqual(toJson(m), { type: 'NLMSG_ERROR', ack: true, errno: 0, requestType: 'RTM_NEWROUTE', requestSeq: 1, seq: 1, portid: V.PORT });
  assert.equal(toText(m), 'ack for RTM_NEWROUTE seq 1 portid 12345');
});

test('NLMSG_ERROR with extended ack: the kernel\'s message and the offending offset', () => {
  const m = only(V.ERROR_EXTACK);
  assert.equal(m.kind, 'error');
  if (m.kind !== 'error') return;
  assert.equal(m.code, 'ENETUNREACH');
  assert.equal(m.extMessage, 'Nexthop has invalid gateway');
  assert.equal(m.extOffset, 36);
  assert.equal(toText(m), 'error ENETUNREACH (101) for RTM_NEWROUTE seq 5 portid 12345: Nexthop has invalid gateway');
  assert.equal(toJson(m).message, 'Nexthop has invalid gateway');
});

test('multipart dump: two NLM_F_MULTI routes then NLMSG_DONE, at their offsets', () => {
  const result = linuxCodec.walk(V.DUMP);
  assert.deepEqual(result.errors, []);
  assert.deepEqual(
    result.messages.map(({ offset, message }) => [offset, message.kind, message.header.flags, message.header.seq]),
    [
      [0, 'route', 2, 9],
      [52, 'route', 2, 9],
      [112, 'done', 2, 9],
    ],
  );
  assert.deepEqual(
    result.messages.map(({ message }) => toText(message)),
    [
      '10.77.0.0/16 dev #2 table main proto kernel scope link',
      'default via 192.0.2.1 dev #2 table main proto dhcp metric 100',
      'done seq 9 portid 12345',
    ],
  );
  const done = result.messages[2]?.message;
  assert.deepEqual(done && toJson(done), { type: 'NLMSG_DONE', errno: 0, seq: 9, portid: V.PORT });
});

test('unknown types are skipped and counted; the messages around them still decode', () => {
  const bytes = new Uint8Array([...V.ACK, ...V.NOOP, ...V.NEWLINK]);
  const result = linuxCodec.walk(bytes);
  assert.equal(result.unknown, 1);
  assert.deepEqual(result.errors, []);
  assert.deepEqual(result.messages.map((m) => [m.offset, m.message.kind]), [
    [0, 'error'],
    [52, 'link'],
  ]);
});

test('a malformed attribute is an error at its absolute offset; the next message still decodes', () => {
  const bad = V.NEWROUTE.slice();
  bad[28] = 0x40; // RTA_TABLE's rta_len 64: past the end of the message
  const result = linuxCodec.walk(new Uint8Array([...bad, ...V.ACK]));
  assert.equal(result.errors.length, 1);
  assert.ok(result.errors[0] instanceof DecodeError);
  assert.equal(result.errors[0]?.offset, 28);
  assert.deepEqual(result.messages.map((m) => [m.offset, m.message.kind]), [[88, 'error']]);
});

test('a wrong-size fixed attribute is refused with the attribute\'s offset', () => {
  const bad = V.NEWLINK.slice();
  bad[44] = 0x07; // IFLA_MTU rta_len 7: three payload bytes for a u32
  assert.throws(() => decodeMessage(bad), (e: unknown) => e instanceof DecodeError && e.offset === 48 && /IFLA_MTU/.test(e.message));
});

test('a bad nlmsg_len stops the walk at that offset; earlier messages are kept', () => {
  const tooShort = new Uint8Array([...V.ACK, 0x08, 0, 0, 0, ...V.NOOP.subarray(4)]);
  const r1 = linuxCodec.walk(tooShort);
  assert.equal(r1.messages.length, 1);
  assert.deepEqual(r1.errors.map((e) => e.offset), [36]);

  const pastEnd = V.NEWROUTE.slice(0, 60);
  const r2 = linuxCodec.walk(pastEnd);
  assert.deepEqual(r2.messages, []);
  assert.deepEqual(r2.errors.map((e) => e.offset), [0]);

  const trailing = new Uint8Array([...V.ACK, 1, 2, 3]);
  const r3 = linuxCodec.walk(trailing);
  assert.equal(r3.messages.length, 1);
  assert.deepEqual(r3.errors.map((e) => e.offset), [36]);
});

test('a payload shorter than the object header is refused before any field is read', () => {
  const short = V.NEWADDR.slice(0, 20);
  short[0] = 20; // nlmsg_len 20: 4 bytes where ifaddrmsg needs 8
  assert.throws(() => decodeMessage(short), (e: unknown) => e instanceof DecodeError && e.offset === 16 && /ifaddrmsg needs 8/.test(e.message));
});

test('encoder: RTM_NEWROUTE with RTA_TABLE and RTA_METRICS matches the hand-assembled request byte for byte', () => {
  const bytes = encodeNewRoute(
    { family: 'inet', destination: '10.10.0.0/16', gateway: '192.0.2.1', oif: 3, priority: 100, mtu: 1380, table: 51820, scope: 0, protocol: 232 },
    3,
    REQUEST_FLAGS.create,
  );
  assert.deepEqual(bytes, V.REQUEST_NEWROUTE);
});

test('encoder: RTM_NEWRULE matches the hand-assembled request byte for byte', () => {
  const bytes = encodeNewRule({ family: 'inet', priority: 100, src: '10.0.0.2/32', table: 51820 }, 4, REQUEST_FLAGS.create);
  assert.deepEqual(bytes, V.REQUEST_NEWRULE);
});
