import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHex } from '../../daemon/codec/bytes.js';
import {
  decodeMask,
  decodeSockaddr,
  encodeInet6,
  encodeLink,
  encodeMask,
  packSockaddrs,
  roundup32,
  splitSockaddrs,
} from '../../daemon/codec/darwin/sockaddr.js';
import { formatIPv6, parseIp, prefixOf } from '../../daemon/model/ip.js';

const slot = (hex: string) => {
  const bytes = parseHex(hex);
  return { bytes, declared: bytes[0] ?? 0 };
};

test('ROUNDUP32: sa_len rounded up to 4, and 0 takes 4', () => {
  assert.deepEqual([0, 1, 2, 4, 7, 14, 16, 20, 28].map(roundup32), [4, 4, 4, 4, 8, 16, 16, 20, 28]);
});

test('kernel and route(8) netmasks decode by the destination family into prefix lengths', () => {
  const cases: Array<[string, 'inet' | 'inet6', number, string]> = [
    ['07 ff ff ff ff ff ff 00', 'inet', 24, '255.255.255.0'], // radix mask: family 0xff, port 0xffff
    ['07 ff ff ff ff ff ff', 'inet', 24, '255.255.255.0'], // same, trimmed and unpadded
    ['07 02 00 00 ff ff ff', 'inet', 24, '255.255.255.0'], // route(8) mask_addr
    ['05 02 00 00 ff', 'inet', 8, '255.0.0.0'],
    ['08 ff ff ff ff ff ff f0', 'inet', 28, '255.255.255.240'],
    ['02 02 00 00', 'inet', 0, '0.0.0.0'], // -net 0.0.0.0/0
    ['00 02 00 00', 'inet', 0, '0.0.0.0'], // "default": sa_len 0
    ['00 00 00 00', 'inet', 0, '0.0.0.0'], // kernel all-zero mask
    ['10 02 00 00 ff ff ff ff 00 00 00 00 00 00 00 00', 'inet', 32, '255.255.255.255'],
    ['10 ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff', 'inet6', 64, 'ffff:ffff:ffff:ffff::'],
    ['0f ff ff ff ff ff ff ff ff ff ff ff ff ff ff', 'inet6', 56, 'ffff:ffff:ffff:ff00::'],
    ['1c 1e 00 00 00 00 00 00 80' + ' 00'.repeat(19), 'inet6', 1, '8000::'],
  ];
  for (const [hex, family, prefix, address] of cases) {
    const mask = decodeMask(slot(hex), family);
    assert.equal(mask.family, family, hex);
    if (mask.family !== family) continue;
    assert.equal(mask.prefix, prefix, hex);
    assert.equal(mask.address, address, hex);
  }
});

test('a non-contiguous mask keeps its bytes and is flagged, not thrown', () => {
  const mask = decodeMask(slot('08 ff ff ff ff 00 ff 00'), 'inet');
  assert.equal(mask.family, 'inet');
  if (mask.family !== 'inet') return;
  assert.equal(mask.prefix, null);
  assert.equal(mask.address, '255.0.255.0');
  assert.deepEqual(mask.bytes, Uint8Array.of(255, 0, 255, 0));
});

test('without a destination family a mask uses its own family byte, else stays raw', () => {
  assert.equal(decodeMask(slot('07 02 00 00 ff ff ff'), null).family, 'inet');
  const raw = decodeMask(slot('07 ff ff ff ff ff ff'), null);
  assert.deepEqual(raw, { family: 'other', af: 255, length: 7, bytes: parseHex('07 ff ff ff ff ff ff') });
});

test('sockaddr_in6: KAME scope moves from address bytes 2–3 to scope; scope_id wins when set', () => {
  const embedded = decodeSockaddr(slot('1c 1e 00 35 00 00 00 00 fe 80 00 21 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00'));
  assert.deepEqual(embedded, { family: 'inet6', length: 28, address: 'fe80::1', port: 53, flowinfo: 0, scope: 33 });
  const both = decodeSockaddr(slot('1c 1e 00 00 00 00 00 00 fe 80 00 21 00 00 00 00 00 00 00 00 00 00 00 01 07 00 00 00'));
  assert.equal(both.family === 'inet6' && both.scope, 7);
  assert.equal(both.family === 'inet6' && both.address, 'fe80::1');
  const mcast = decodeSockaddr(slot('1c 1e 00 00 00 00 00 00 ff 02 00 05 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00'));
  assert.equal(mcast.family === 'inet6' && mcast.address, 'ff02::1');
  assert.equal(mcast.family === 'inet6' && mcast.scope, 5);
  // A global address is not KAME-scoped: bytes 2–3 are address.
  const global = decodeSockaddr(slot('1c 1e 00 00 00 00 00 00 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00'));
  assert.equal(global.family === 'inet6' && global.address, '2001:db8::1');
  assert.equal(global.family === 'inet6' && global.scope, 0);
});

test('tiny, empty, one-byte and unknown sockaddrs decode without throwing', () => {
  assert.deepEqual(decodeSockaddr(slot('08 02 00 00 0a 00 00 01')), { family: 'inet', length: 8, address: '10.0.0.1', port: 0 });
  assert.deepEqual(decodeSockaddr(slot('05 02 00 00 0a')), { family: 'inet', length: 5, address: '10.0.0.0', port: 0 });
  assert.deepEqual(decodeSockaddr({ bytes: parseHex('00 1e 00 00'), declared: 0 }), { family: 'empty', af: 30, length: 0 });
  assert.deepEqual(decodeSockaddr(slot('01')), { family: 'other', af: 0, length: 1, bytes: parseHex('01') });
  assert.deepEqual(decodeSockaddr(slot('08 11 01 02 03 04 05 06')), { family: 'other', af: 17, length: 8, bytes: parseHex('08 11 01 02 03 04 05 06') });
  // sdl_nlen claims more than sa_len holds: take what is there.
  assert.deepEqual(decodeSockaddr(slot('0a 12 03 00 01 09 00 00 65 6e')), { family: 'link', length: 10, index: 3, type: 1, name: 'en', lladdr: '' });
});

test('splitSockaddrs: bit order, padding, clamping, and fewer than 4 bytes left = empty', () => {
  // DST (16) GATEWAY (len 7 → 8 on the wire) NETMASK (len 0 → 4) IFP with only 2 bytes left.
  const msg = parseHex('10 02 00 00 0a 00 00 00 00 00 00 00 00 00 00 00 | 07 02 00 00 ff ff ff 00 | 00 02 00 00 | 14 12'.replace(/\|/g, ''));
  const slots = splitSockaddrs(msg, 0, 0x1 | 0x2 | 0x4 | 0x10, 1000);
  assert.equal(slots.dst?.offset, 1000);
  assert.equal(slots.gateway?.offset, 1016);
  assert.equal(slots.gateway?.bytes.length, 7);
  assert.equal(slots.netmask?.offset, 1024);
  assert.equal(slots.netmask?.declared, 0);
  assert.equal(slots.ifp?.declared, 0, 'two bytes left: empty');
  assert.equal(slots.genmask, undefined);
  // A sockaddr claiming more than is left is clamped to the end.
  const short = splitSockaddrs(parseHex('1c 1e 00 00 00 00 00 00'), 0, 0x1);
  assert.equal(short.dst?.bytes.length, 8);
});

test('encodeMask: trimmed like route(8), zero-length for default, full like configd', () => {
  assert.deepEqual(packSockaddrs([encodeMask('inet', 24)]), parseHex('07 02 00 00 ff ff ff 00'));
  assert.deepEqual(packSockaddrs([encodeMask('inet', 0)]), parseHex('02 02 00 00'));
  assert.deepEqual(packSockaddrs([encodeMask('inet', 0, 'zero-length')]), parseHex('00 02 00 00'));
  assert.deepEqual(encodeMask('inet', 1, 'full'), parseHex('10 02 00 00 80 00 00 00 00 00 00 00 00 00 00 00'));
  assert.deepEqual(encodeMask('inet6', 64), parseHex('10 1e 00 00 00 00 00 00 ff ff ff ff ff ff ff ff'));
  assert.equal(encodeMask('inet6', 0, 'full').length, 28);
  assert.throws(() => encodeMask('inet', 8, 'zero-length'), RangeError);
});

test('encodeLink: sdl_len = max(20, 8 + nlen + alen) rounded up to 4', () => {
  assert.deepEqual(encodeLink({ index: 21, name: 'utun5' }), parseHex('14 12 15 00 01 05 00 00 75 74 75 6e 35 00 00 00 00 00 00 00'));
  assert.equal(encodeLink({ index: 4, type: 6, name: 'en0', lladdr: new Uint8Array(6) }).length, 20);
  assert.equal(encodeLink({ index: 9, name: 'bridge100', lladdr: new Uint8Array(6) }).length, 24);
  assert.deepEqual(encodeLink({ index: 0 }), parseHex('14 12 00 00 01 00 00 00' + ' 00'.repeat(12)));
});

test('IPv6 text is canonical and round-trips through parseIp', () => {
  for (const text of ['::', '::1', 'fe80::1', '2001:db8::1:0:0:1', '2001:db8:0:1:1:1:1:1', 'ff02::fb', '::ffff:10.0.0.1', '8000::']) {
    assert.equal(formatIPv6(parseIp(text).bytes), text);
  }
  assert.equal(formatIPv6(parseIp('2001:DB8:0:0:1:0:0:1').bytes), '2001:db8::1:0:0:1');
});

test('prefixOf', () => {
  assert.equal(prefixOf(Uint8Array.of(255, 255, 128, 0)), 17);
  assert.equal(prefixOf(Uint8Array.of(0, 0, 0, 0)), 0);
  assert.equal(prefixOf(Uint8Array.of(255, 255, 255, 255)), 32);
  assert.equal(prefixOf(Uint8Array.of(255, 1, 0, 0)), null);
  assert.equal(prefixOf(Uint8Array.of(254, 0, 0, 1)), null);
});

test('a zoned IPv6 address is written the way XNU keeps it: the index embedded in bytes 2–3, sin6_scope_id 0 (fe80::/10, ff01::, ff02::); others keep sin6_scope_id', () => {
  const hex = (text: string, scope: number) => Buffer.from(encodeInet6(parseIp(text).bytes, scope)).toString('hex');
  assert.equal(hex('fe80::1', 4), '1c1e000000000000' + 'fe800004000000000000000000000001' + '00000000');
  assert.equal(hex('febf::1', 260), '1c1e000000000000' + 'febf0104000000000000000000000001' + '00000000');
  assert.equal(hex('ff02::1', 4), '1c1e000000000000' + 'ff020004000000000000000000000001' + '00000000');
  assert.equal(hex('2001:db8::1', 4), '1c1e000000000000' + '20010db8000000000000000000000001' + '04000000');
  assert.equal(hex('fe80::1', 0), '1c1e000000000000' + 'fe800000000000000000000000000001' + '00000000');
  assert.throws(() => encodeInet6(parseIp('fe80::1').bytes, 70000), RangeError);
});
