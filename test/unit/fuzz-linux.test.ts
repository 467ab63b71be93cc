import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHex } from '../../daemon/codec/bytes.js';
import { DecodeError } from '../../daemon/errors.js';
import {
  REQUEST_FLAGS,
  decodeMessage,
  encodeDelRoute,
  encodeDump,
  encodeNewRoute,
  encodeNewRule,
  linuxCodec,
  toJson,
  toText,
} from '../../daemon/codec/linux/index.js';
import { CAPTURED } from '../fixtures/linux/captured.js';
import * as V from '../fixtures/linux/vectors.js';
import { mulberry32 } from '../helpers/prng.js';
import { mutator } from '../helpers/mutate.js';

const INPUTS = 100_000;
const SEED = 0x7e11a;

const prng = mulberry32;

const corpus: Uint8Array[] = [
  V.NEWROUTE,
  V.DELROUTE_V6,
  V.NEWLINK,
  V.NEWADDR,
  V.NEWRULE,
  V.ERROR_EEXIST,
  V.ACK,
  V.ERROR_EXTACK,
  V.DUMP,
  V.NOOP,
  V.REQUEST_NEWROUTE,
  V.REQUEST_NEWRULE,
  encodeNewRoute({ family: 'inet6', destination: '2001:db8::/32', gateway: 'fe80::1', oif: 3, mtu: 1280, table: 300 }, 1, REQUEST_FLAGS.create),
  encodeDelRoute({ family: 'inet', destination: '10.0.0.0/8' }, 2, REQUEST_FLAGS.delete),
  encodeNewRule({ family: 'inet', src: '10.0.0.2', table: 51820, iifname: 'lo', fwmark: 1 }, 3, REQUEST_FLAGS.create),
  encodeDump('link', 'unspec', 4, REQUEST_FLAGS.dump),
  ...CAPTURED.flatMap((c) => c.received.map((h) => parseHex(h))),
];

const KNOWN_TYPES = [1, 2, 3, 4, 16, 17, 18, 19, 20, 21, 22, 24, 25, 26, 32, 33, 34, 99];

/** Checks one input; returns how many messages the walk decoded. */
function check(bytes: Uint8Array): number {
  try {
    const m = decodeMessage(bytes);
    JSON.stringify(toJson(m));
    toText(m);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    assert.ok(e.offset >= 0 && e.offset <= bytes.length, `decode error offset ${e.offset} within ${bytes.length} bytes`);
  }
  const result = linuxCodec.walk(bytes);
  for (const e of result.errors) {
    assert.ok(e instanceof DecodeError);
    assert.ok(e.offset >= 0 && e.offset <= bytes.length, `walk error offset ${e.offset} within ${bytes.length} bytes`);
  }
  let last = -1;
  for (const { offset, message } of result.messages) {
    assert.ok(offset > last && offset < bytes.length, `message offset ${offset} in order and within the buffer`);
    last = offset;
    JSON.stringify(toJson(message));
    toText(message);
  }
  return result.messages.length;
}

test(`fuzz: ${INPUTS} seeded inputs; only DecodeError escapes decode, walk never throws, printers never throw`, () => {
  const rand = prng(SEED);
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;
  const randomBytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));

  // Damaged corpus messages (their own seeded stream).
  const damaged = mutator(SEED + 1, corpus);

  /** A well-framed message of a known type with random attributes: reaches the body decoders. */
  function plausible(): Uint8Array {
    const bodyLen = pick([0, 4, 8, 12, 16, 20]);
    const attrs: number[] = [];
    const count = int(6);
    for (let i = 0; i < count; i++) {
      const payload = pick([0, 1, 2, 4, 4, 4, 16, int(24)]);
      const len = 4 + payload;
      const type = int(4) === 0 ? int(0x10000) : int(24) | (int(3) === 0 ? 0x8000 : 0);
      attrs.push(len & 0xff, len >> 8, type & 0xff, type >> 8, ...randomBytes(payload), ...new Array<number>((4 - (len % 4)) % 4).fill(0));
    }
    const length = 16 + bodyLen + attrs.length;
    const header = [length & 0xff, (length >> 8) & 0xff, 0, 0, pick(KNOWN_TYPES), 0, int(256), int(8), ...randomBytes(8)];
    return new Uint8Array([...header, ...randomBytes(bodyLen), ...attrs]);
  }

  const started = Date.now();
  let decoded = 0;
  for (let i = 0; i < INPUTS; i++) {
    const kind = i % 10;
    const input = kind < 5 ? damaged.mutate() : kind < 8 ? plausible() : randomBytes(int(128));
    try {
      const count = check(input);
      // Guard bytes around the same input in a bigger buffer must change nothing: no read leaves the view.
      if (i % 8 === 0) {
        const outer = randomBytes(input.length + 64);
        outer.set(input, 32);
        const view = outer.subarray(32, 32 + input.length);
        assert.deepEqual(
          linuxCodec.walk(view).messages.map((m) => toJson(m.message)),
          linuxCodec.walk(input).messages.map((m) => toJson(m.message)),
        );
      }
      if (count > 0) decoded++;
    } catch (e) {
      assert.fail(`input ${i} (seed ${SEED}) ${Buffer.from(input).toString('hex')}: ${e instanceof Error ? e.stack : String(e)}`);
    }
  }
  // Not only errors: a good share of inputs must reach the body decoders and printers.
  assert.ok(decoded > INPUTS / 10, `${decoded} inputs decoded to at least one message`);
  assert.ok(Date.now() - started < 60_000, 'finished in reasonable time');
});
