import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError } from '../../daemon/errors.js';
import { decodeMessage, encodeRequest, toJson, toText, walk, LAYOUTS, type DarwinMessage } from '../../daemon/codec/darwin/index.js';
import { splitSockaddrs } from '../../daemon/codec/darwin/sockaddr.js';
import * as V from '../fixtures/darwin/vectors.js';
import { mulberry32 } from '../helpers/prng.js';

/** Seeded draws; a failure prints the seed and case number to replay. */
function prng(seed: number) {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(list: readonly T[]): T => list[int(list.length)]! };
}

const SEED = 0x7e57da2;
const CASES = 100_000;

const SEEDS: Uint8Array[] = [
  ...Object.values(V).filter((v): v is Uint8Array => v instanceof Uint8Array),
  encodeRequest({ type: 'add', destination: '8000::/1', gateway: { link: { index: 21, name: 'utun5' } }, metrics: { mtu: 1380 } }),
  encodeRequest({ type: 'get', destination: '0.0.0.0/0', netmask: 'zero-length', ifp: { index: 0 }, ifa: '10.0.0.2', genmask: 24 }),
  encodeRequest({ type: 'delete', destination: 'fe80::/64', gateway: { address: 'fe80::1', scope: 4 }, scope: 4 }),
];

/** Where each seed's sockaddr length bytes are, so mutations can target them. */
const SA_OFFSETS = SEEDS.map((s) => {
  const layout = LAYOUTS.get(s[3] ?? 0);
  if (layout === undefined) return [];
  const addrs = new DataView(s.buffer, s.byteOffset).getUint32(layout.addrsAt, true);
  return Object.values(splitSockaddrs(s, layout.size, addrs)).map((slot) => slot!.offset);
});

function mutate(r: ReturnType<typeof prng>): Uint8Array {
  const which = r.int(SEEDS.length);
  const seed = SEEDS[which]!;
  let b = seed.slice();
  const u16 = (at: number, v: number) => {
    if (at + 1 < b.length) {
      b[at] = v & 0xff;
      b[at + 1] = (v >> 8) & 0xff;
    }
  };
  const rounds = 1 + r.int(3);
  for (let i = 0; i < rounds; i++) {
    switch (r.int(8)) {
      case 0: // bit flips
        for (let k = 1 + r.int(8); k > 0; k--) {
          const at = r.int(b.length);
          b[at]! ^= 1 << r.int(8);
        }
        break;
      case 1: // truncation, msglen left as it was
        b = b.slice(0, r.int(b.length + 1));
        break;
      case 2: // truncation with msglen following
        b = b.slice(0, r.int(b.length + 1));
        u16(0, b.length);
        break;
      case 3: // msglen edits: random, off by a little, or absurd
        u16(0, r.pick([r.int(0x10000), b.length + r.int(9) - 4, 0, 1, 3, 4, 0xffff]));
        break;
      case 4: {
        // sockaddr length edits
        const offs = SA_OFFSETS[which]!;
        if (offs.length > 0) {
          const at = r.pick(offs);
          if (at < b.length) b[at] = r.pick([0, 1, 2, 3, 4, 7, 8, 15, 16, 20, 27, 28, 127, 128, 200, 255, r.int(256)]);
        }
        break;
      }
      case 5: // addrs / type / version / index fields
        if (b.length > 16) {
          const field = r.int(4);
          if (field === 0) b[3] = r.int(24);
          else if (field === 1) b[2] = r.pick([5, 5, 5, r.int(256)]);
          else b[r.pick([4, 12, 16])] = r.int(256);
        }
        break;
      case 6: {
        // concatenation with other seeds or random tails
        const parts = [b, r.pick(SEEDS)];
        if (r.int(2) === 0) parts.push(randomBytes(r, r.int(40)));
        const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          out.set(p, at);
          at += p.length;
        }
        b = out;
        break;
      }
      default: // random byte overwrite past the common header
        if (b.length > 4) for (let k = 1 + r.int(4); k > 0; k--) b[4 + r.int(b.length - 4)] = r.int(256);
    }
  }
  return b;
}

function randomBytes(r: ReturnType<typeof prng>, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  return b;
}

/** Random bytes that pass the first checks often: a plausible msglen, version 5, a known type. */
function plausible(r: ReturnType<typeof prng>): Uint8Array {
  const b = randomBytes(r, r.int(260));
  if (b.length >= 4) {
    b[0] = b.length & 0xff;
    b[1] = b.length >> 8;
    b[2] = 5;
    b[3] = 1 + r.int(21);
  }
  return b;
}

function checkPrinters(m: DarwinMessage, label: string): void {
  const json = toJson(m);
  assert.equal(typeof JSON.stringify(json), 'string', label);
  assert.equal(typeof toText(m), 'string', label);
}

test(`fuzz: ${CASES} seeded inputs; decodeMessage throws only DecodeError, walk never throws`, () => {
  const r = prng(SEED);
  let decoded = 0;
  let guardChecks = 0;
  for (let i = 0; i < CASES; i++) {
    const kind = i % 10;
    const input = kind < 6 ? mutate(r) : kind < 8 ? plausible(r) : randomBytes(r, r.int(300));
    const label = `seed ${SEED} case ${i}`;

    let single: DarwinMessage | null = null;
    try {
      single = decodeMessage(input);
    } catch (e) {
      assert.ok(e instanceof DecodeError, `${label}: threw ${String(e)}`);
      assert.ok(e.offset >= 0 && e.offset <= input.length, `${label}: error offset ${e.offset} outside ${input.length}`);
    }
    if (single !== null) {
      decoded++;
      assert.ok(single.length <= input.length, label);
      checkPrinters(single, label);
    }

    const result = walk(input);
    let end = 0;
    for (const { offset, message } of result.messages) {
      assert.ok(offset >= end && offset + message.length <= input.length, `${label}: message at ${offset} len ${message.length}`);
      end = offset + message.length;
      checkPrinters(message, label);
    }
    for (const e of result.errors) {
      assert.ok(e instanceof DecodeError, label);
      assert.ok(e.offset >= 0 && e.offset <= input.length, `${label}: walk error offset ${e.offset} outside ${input.length}`);
    }

    // No read past the view: the same bytes inside a bigger buffer of guard bytes decode the same.
    if (i % 16 === 0 && single !== null) {
      const big = new Uint8Array(input.length + 64).fill(0xa5);
      big.set(input, 32);
      const view = big.subarray(32, 32 + input.length);
      assert.deepEqual(JSON.stringify(toJson(decodeMessage(view)!)), JSON.stringify(toJson(single)), `${label}: guard bytes leaked in`);
      guardChecks++;
    }
  }
  // The mutations must reach past the header checks, or the test proves little.
  assert.ok(decoded > CASES * 0.2, `only ${decoded} of ${CASES} inputs decoded`);
  assert.ok(guardChecks > 1000);
});
