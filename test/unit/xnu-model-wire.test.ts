/**
 * @module test/unit/xnu-model-wire
 * The model's kernel-side byte handling (test/xnu/wire.ts) against the reference:
 * rt_xaddrs (§3.3), rt_msg1/rt_msg2 padding (§3.1–3.2), mask forms (§3.4, §5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHex, toHex } from '../../daemon/codec/bytes.js';
import {
  AF, RTA, RTAX, RTM, emptyInfo, kernelIfaMask, kernelRouteMask, prefixMask, roundup32, route8Mask, rtMsg1, rtMsg2,
  rtXaddrs, sockaddrDl, sockaddrIn,
} from '../xnu/index.js';

function sockaddrs(...parts: string[]): Uint8Array {
  return parseHex(parts.join(''));
}

test('ROUNDUP32: sa_len rounded to 4, zero takes 4', () => {
  assert.deepEqual([0, 1, 2, 4, 7, 16, 20, 28].map(roundup32), [4, 4, 4, 4, 8, 16, 20, 28]);
});

test('rt_xaddrs: a zero-length sockaddr becomes sa_zero and stops the walk', () => {
  // DST, NETMASK (len 0), IFP: the IFP is never parsed.
  const buf = sockaddrs('10020000 00000000 0000000000000000', '00020000', '14120400 06030000 656e3000 00000000 00000000');
  const r = rtXaddrs(buf, 0, RTA.DST | RTA.NETMASK | RTA.IFP);
  assert.equal(r.error, undefined);
  assert.equal(r.stopped, true);
  assert.equal(r.info[RTAX.NETMASK]![0], 16);
  assert.equal(r.info[RTAX.NETMASK]![1], AF.INET);
  assert.ok(r.info[RTAX.NETMASK]!.subarray(2).every((b) => b === 0));
  assert.equal(r.info[RTAX.IFP], undefined);
});

test('rt_xaddrs: sa_len 1, > 128 and truncated are EINVAL', () => {
  assert.equal(rtXaddrs(sockaddrs('01020000'), 0, RTA.DST).error, 'EINVAL');
  const big = new Uint8Array(200);
  big[0] = 129;
  assert.equal(rtXaddrs(big, 0, RTA.DST).error, 'EINVAL');
  assert.equal(rtXaddrs(sockaddrs('10020000 0a000001'), 0, RTA.DST).error, 'EINVAL');
});

test('rt_xaddrs: tiny sockaddrs are copied into zeroed 16-byte storage keeping sa_len', () => {
  const r = rtXaddrs(sockaddrs('10020000 0a000000 0000000000000000', '07020000 ffffff00'), 0, RTA.DST | RTA.NETMASK);
  const mask = r.info[RTAX.NETMASK]!;
  assert.equal(mask.length, 16);
  assert.equal(mask[0], 7);
  assert.equal(toHex(mask.subarray(4, 8)), 'ffffff00');
  assert.ok(mask.subarray(7).every((b) => b === 0), 'bytes past sa_len read as zero, not the pad byte');
});

test('rt_xaddrs: a sockaddr whose padding runs past the end ends the walk quietly', () => {
  const r = rtXaddrs(sockaddrs('10020000 0a000000 0000000000000000', '07020000 ffffff'), 0, RTA.DST | RTA.NETMASK | RTA.IFA);
  assert.equal(r.error, undefined);
  assert.equal(r.info[RTAX.NETMASK]![0], 7);
  assert.equal(r.info[RTAX.IFA], undefined);
});

test('rt_msg1 leaves the last sockaddr unpadded; rt_msg2 pads every one', () => {
  const info = emptyInfo();
  info[RTAX.IFP] = sockaddrDl({ index: 4, type: 6, name: 'en0', lladdr: Uint8Array.of(1, 2, 3, 4, 5, 6) });
  info[RTAX.IFA] = sockaddrDl({ index: 4, type: 6, lladdr: Uint8Array.of(1, 0, 0x5e, 0, 0, 1), len: 14 });
  const m1 = rtMsg1(RTM.DELMADDR, info);
  assert.equal(m1.bytes.length, 50, '§3.2: 16 + 20 + 14 = 50');
  assert.equal(m1.bytes[0], 50);
  assert.equal(m1.addrs, RTA.IFP | RTA.IFA);
  const m2 = rtMsg2(RTM.DELMADDR, info);
  assert.equal(m2.bytes.length, 52);
  assert.equal(m2.bytes[0], 52);
});

test('kernel route masks: 0xff family/port bytes, trimmed; zero mask is 4 zero bytes; IPv6 forced to 28 outside GET', () => {
  assert.equal(toHex(kernelRouteMask(AF.INET, prefixMask(24, 4), RTM.GET)), '07ffffffffffff');
  assert.equal(toHex(kernelRouteMask(AF.INET, prefixMask(4, 4), RTM.DELETE)), '05fffffff0');
  assert.equal(toHex(kernelRouteMask(AF.INET, prefixMask(0, 4), RTM.DELETE)), '00000000');
  assert.equal(toHex(kernelRouteMask(AF.INET, prefixMask(32, 4), RTM.GET)), '08ffffffffffffff');
  assert.equal(kernelRouteMask(AF.INET6, prefixMask(64, 16), RTM.GET)[0], 16);
  assert.equal(kernelRouteMask(AF.INET6, prefixMask(64, 16), RTM.DELETE)[0], 28);
});

test('interface masks keep the real family byte', () => {
  assert.equal(toHex(kernelIfaMask(AF.INET, prefixMask(32, 4), RTM.NEWADDR)), '08020000ffffffff');
  assert.equal(toHex(kernelIfaMask(AF.INET, prefixMask(24, 4), RTM.NEWADDR)), '07020000ffffff');
});

test('route(8) mask_addr forms (§3.4)', () => {
  assert.equal(toHex(route8Mask(0)), '0202');
  assert.equal(toHex(route8Mask(24)), '07020000ffffff');
  assert.equal(toHex(sockaddrIn('192.168.1.1')), '10020000c0a801010000000000000000');
});
