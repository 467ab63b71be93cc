/**
 * @module test/unit/profile-prefix-index
 * PrefixIndex answers exactly what the pairwise scans it replaced answered: for random
 * lists of IPv4 and IPv6 prefixes (many nested, many repeated), positionOf is the first
 * listing of an equal prefix and firstInside the lowest position of a covered prefix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { covers, formatPrefix, maskOf, samePrefix, type Prefix } from '../../daemon/profile/prefix.js';
import { PrefixIndex } from '../../daemon/profile/prefix-index.js';
import { mulberry32 } from '../helpers/prng.js';

function randomPrefix(r: () => number): Prefix {
  const family = r() < 0.7 ? 'inet' : 'inet6';
  const bits = family === 'inet' ? 32 : 128;
  // A small address space, so nesting and repeats are common.
  const length = Math.floor(r() * 9) + (family === 'inet' ? 20 : 116);
  let value = BigInt(Math.floor(r() * 4096)) << BigInt(bits - 12);
  value |= BigInt(Math.floor(r() * 4096)) << BigInt(bits - 24);
  return { family, length, value: value & maskOf(family, Math.min(length, bits)) };
}

test('PrefixIndex agrees with the pairwise scan on 200 random lists', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const r = mulberry32(seed);
    const listed = Array.from({ length: Math.floor(r() * 60) }, () => randomPrefix(r));
    const index = new PrefixIndex(listed.map((prefix, position) => ({ prefix, position })));
    // Listed prefixes, fresh ones, and fresh ones widened so that they cover long runs.
    const widened = Array.from({ length: 20 }, () => {
      const p = randomPrefix(r);
      const length = Math.floor(r() * (p.length + 1));
      return { family: p.family, length, value: p.value & maskOf(p.family, length) };
    });
    const queries = [...listed, ...Array.from({ length: 40 }, () => randomPrefix(r)), ...widened];
    for (const q of queries) {
      const where = `seed ${seed} query ${formatPrefix(q)}`;
      assert.equal(index.positionOf(q), listed.findIndex((p) => samePrefix(p, q)), where);
      assert.equal(index.firstInside(q), listed.findIndex((p) => covers(q, p)), where);
    }
  }
});

test('PrefixIndex on an empty list finds nothing', () => {
  const index = new PrefixIndex([]);
  const q: Prefix = { family: 'inet', value: 0n, length: 0 };
  assert.equal(index.positionOf(q), -1);
  assert.equal(index.firstInside(q), -1);
});
