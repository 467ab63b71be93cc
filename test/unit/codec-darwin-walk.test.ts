import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError } from '../../daemon/errors.js';
import { darwinCodec, decodeMessage } from '../../daemon/codec/darwin/index.js';
import * as V from '../fixtures/darwin/vectors.js';

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** A copy of `bytes` with `patch` applied at `at`. */
const patched = (bytes: Uint8Array, at: number, patch: number[]) => {
  const out = bytes.slice();
  out.set(patch, at);
  return out;
};

test('walks back-to-back messages by msglen, including odd lengths', () => {
  const buf = concat(V.DELETE_DEFAULT_REPLY, V.DELMADDR_UNPADDED, V.MULLVAD_RTM_ADD, V.IFINFO_DOWN);
  const r = darwinCodec.walk(buf);
  assert.deepEqual(r.errors, []);
  assert.equal(r.unknown, 0);
  assert.deepEqual(
    r.messages.map((m) => [m.offset, m.message.typeName]),
    [
      [0, 'RTM_DELETE'],
      [164, 'RTM_DELMADDR'],
      [214, 'RTM_ADD'],
      [349, 'RTM_IFINFO'],
    ],
  );
});

test('an unknown type is skipped and counted; the walk goes on', () => {
  const unknown = Uint8Array.of(8, 0, 5, 0x42, 0, 0, 0, 0);
  const r = darwinCodec.walk(concat(unknown, V.GET2_RECORD));
  assert.equal(r.unknown, 1);
  assert.deepEqual(r.errors, []);
  assert.equal(r.messages.length, 1);
  assert.equal(r.messages[0]?.offset, 8);
  assert.equal(decodeMessage(unknown), null);
});

test('a malformed message with a sane msglen is recorded at its absolute offset, and skipped', () => {
  const badVersion = patched(V.MULLVAD_RTM_ADD, 2, [4]);
  const tooShortForHeader = Uint8Array.of(20, 0, 5, 1, ...new Array<number>(16).fill(0)); // RTM_ADD in 20 bytes
  const r = darwinCodec.walk(concat(V.IFINFO_DOWN, badVersion, tooShortForHeader, V.GET2_RECORD));
  assert.equal(r.messages.length, 2);
  assert.deepEqual(
    r.errors.map((e) => [e instanceof DecodeError, e.offset]),
    [
      [true, 112 + 2],
      [true, 112 + 135],
    ],
  );
  assert.match(r.errors[0]!.message, /version 4, expected 5/);
  assert.match(r.errors[1]!.message, /shorter than rt_msghdr/);
});

test('an unfollowable msglen (under 4, or past the end) ends the walk with one error', () => {
  const zero = darwinCodec.walk(concat(V.IFINFO_DOWN, Uint8Array.of(0, 0, 5, 1), V.IFINFO_DOWN));
  assert.equal(zero.messages.length, 1);
  assert.equal(zero.errors.length, 1);
  assert.equal(zero.errors[0]!.offset, 112);
  const past = darwinCodec.walk(concat(V.IFINFO_DOWN, V.MULLVAD_RTM_ADD.subarray(0, 100)));
  assert.equal(past.messages.length, 1);
  assert.equal(past.errors[0]!.offset, 112);
  assert.match(past.errors[0]!.message, /msglen 135 runs past the 100 byte/);
  const tail = darwinCodec.walk(concat(V.IFINFO_DOWN, Uint8Array.of(1, 2)));
  assert.equal(tail.errors[0]!.offset, 112);
  assert.deepEqual(darwinCodec.walk(new Uint8Array(0)), { messages: [], errors: [], unknown: 0 });
});

test('decodeMessage at an offset reports absolute offsets', () => {
  const buf = concat(V.IFINFO_DOWN, patched(V.DELMADDR_UNPADDED, 2, [9]));
  assert.throws(
    () => decodeMessage(buf, 112),
    (e: unknown) => e instanceof DecodeError && e.offset === 114,
  );
  assert.equal(decodeMessage(buf, 0)?.kind, 'interface');
  assert.throws(() => decodeMessage(buf, buf.length - 2), DecodeError);
});

test('a sockaddr running past msglen is clamped, not read from the next message', () => {
  // Mullvad's netmask says 7 bytes; cut the message to 131 so only 3 remain.
  const cut = patched(V.MULLVAD_RTM_ADD.subarray(0, 131), 0, [131, 0]);
  const m = decodeMessage(concat(cut, Uint8Array.of(0xff, 0xff, 0xff, 0xff)));
  assert.ok(m !== null && m.kind === 'route');
  assert.equal(m.length, 131);
  assert.equal(m.addrs.netmask?.family === 'inet' && m.addrs.netmask.prefix, 0, 'fewer than 4 bytes left: empty');
});
