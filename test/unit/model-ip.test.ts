/**
 * @module test/unit/model-ip
 * model/ip's hand-written IPv4 parser accepts exactly what node:net's isIPv4 accepts, and
 * yields the bytes written; checked on fixed edge cases and generated near-misses. The
 * in-place host-bits check agrees with masking a copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4 } from 'node:net';
import { applyPrefix, hasHostBits, tryParseIp } from '../../daemon/model/ip.js';
import { mulberry32 } from '../helpers/prng.js';

test('tryParseIp takes exactly isIPv4 text as IPv4', () => {
  const r = mulberry32(7);
  const part = (): string => [String(Math.floor(r() * 300)), `0${Math.floor(r() * 9)}`, 'x', '', '-1', ' 1'][Math.floor(r() * 6)] as string;
  const cases = ['1.2.3.4', '0.0.0.0', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1..2.3', '', '.1.2.3', '1.2.3.4.', '1.2.3.04', '0.0.0.0/8', '1.2.3.4 '];
  for (let i = 0; i < 5000; i++) cases.push(Array.from({ length: 2 + Math.floor(r() * 4) }, part).join('.'));
  for (const text of cases) {
    const parsed = tryParseIp(text);
    if (isIPv4(text)) {
      assert.equal(parsed?.family, 'inet', text);
      assert.equal(parsed?.bytes.join('.'), text);
    } else {
      assert.notEqual(parsed?.family, 'inet', text);
    }
  }
});

test('hasHostBits is true exactly when masking changes the bytes', () => {
  const r = mulberry32(11);
  for (let k = 0; k < 5000; k++) {
    const size = r() < 0.5 ? 4 : 16;
    const bytes = Uint8Array.from({ length: size }, () => (r() < 0.6 ? 0 : Math.floor(r() * 256)));
    const prefix = Math.floor(r() * (size * 8 + 1));
    const masked = applyPrefix(bytes, prefix);
    assert.equal(hasHostBits(bytes, prefix), !masked.every((b, i) => b === bytes[i]), `${bytes.join('.')}/${prefix}`);
  }
});
