// Interface name <-> index lookups through the native addon, on this machine's own table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { loadNative } from '../../native/index.js';

test('known interface names map to their index and back', (t) => {
  if (process.platform !== 'linux') return t.skip('reads /sys/class/net to know the truth (Linux)');
  const native = loadNative();
  const names = readdirSync('/sys/class/net');
  assert.ok(names.length > 0);
  for (const name of names) {
    const expected = Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8'));
    assert.equal(native.nameToIndex(name), expected, name);
    assert.equal(native.indexToName(expected), name);
  }
});

test('unknown names give 0 and unknown indexes give undefined', () => {
  const native = loadNative();
  assert.equal(native.nameToIndex('tr-no-such-if0'), 0);
  assert.equal(native.indexToName(0x7ffffff0), undefined);
});

test('argument errors are TypeErrors, not crashes', () => {
  const native = loadNative();
  assert.throws(() => (native.nameToIndex as unknown as (x: number) => number)(42), TypeError);
  assert.throws(() => new native.RouteSocket(undefined as never, undefined as never, undefined as never), TypeError);
});
