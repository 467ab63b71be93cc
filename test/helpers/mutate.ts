/**
 * @module test/helpers/mutate
 * Seeded damage to well-formed messages, for tests that compare two decoders of the same
 * bytes: random and boundary bytes, small length fields, truncation, random tails, and
 * other messages of the corpus appended or spliced in (so a reused decoder meets a new
 * message right after an odd one).
 */
import { mulberry32 } from './prng.js';

export interface Mutator {
  int(n: number): number;
  /** A damaged copy of one corpus message (sometimes several messages). */
  mutate(): Uint8Array;
}

export function mutator(seed: number, corpus: readonly Uint8Array[]): Mutator {
  const next = mulberry32(seed);
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;
  const random = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));
  const join = (a: Uint8Array, b: Uint8Array): Uint8Array => {
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  function mutate(): Uint8Array {
    let b: Uint8Array = pick(corpus).slice();
    for (let round = 1 + int(4); round > 0; round--) {
      const at = b.length === 0 ? 0 : int(b.length);
      switch (int(7)) {
        case 0:
          if (b.length > 0) b[at] = int(256);
          break;
        case 1:
          if (b.length > 0) b[at] = pick([0, 1, 2, 3, 4, 5, 7, 8, 10, 16, 20, 24, 25, 28, 0x7f, 0x80, 0xff]);
          break;
        case 2:
          b = b.slice(0, int(b.length + 1));
          break;
        case 3:
          b = join(b, random(1 + int(24)));
          break;
        case 4: {
          // A plausible small length where a 16-bit length field might be.
          const aligned = at & ~3;
          if (aligned + 1 < b.length) {
            b[aligned] = int(48);
            b[aligned + 1] = 0;
          }
          break;
        }
        case 5:
          b = join(b, pick(corpus));
          break;
        default: {
          const other = pick(corpus);
          b = join(b.subarray(0, int(b.length + 1)), other.subarray(int(other.length + 1)));
        }
      }
    }
    return b;
  }
  return { int, mutate };
}
