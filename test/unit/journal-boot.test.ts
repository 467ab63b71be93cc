// Journal entries carry the boot they were made in (kern.boottime); an earlier boot's are
// dropped, not restored against this boot's interface indexes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uptime } from 'node:os';
import { Journal, logStaleEntries } from '../../daemon/engine/journal.js';
import { BOOT_TIME_TOLERANCE_S, currentBootTime, sameBoot } from '../../daemon/engine/boot-time.js';
import type { Route } from '../../daemon/model/route.js';

const route: Route = {
  family: 'inet', destination: '0.0.0.0/0', gateway: { address: '192.168.1.1' }, interface: 'en0', index: 4,
  scope: null, table: null, metric: null, flags: ['UP', 'GATEWAY', 'STATIC'], mtu: null, origin: 'demoted',
};
const multicast: Route = { ...route, destination: '224.0.0.0/4', gateway: { link: 4 }, flags: ['UP', 'CLONING', 'STATIC'] };
const BOOT = 1_790_000_000;

test('this boot\'s time is stable, in the past, and matches uptime', () => {
  const a = currentBootTime();
  const b = currentBootTime();
  assert.ok(sameBoot(a, b) && Math.abs(a - b) <= 1);
  const now = Date.now() / 1000;
  assert.ok(a < now && Math.abs(now - uptime() - a) < 5, `boot ${a}, now ${now}, uptime ${uptime()}`);
});

test('every written entry carries the boot time; a loaded entry keeps its own when the file is rewritten', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'journal-boot-')), 'journal.json');
  Journal.load(path, 'p.yaml', { bootTime: BOOT, os: 'darwin' }).recordMoved(route);
  const onDisk = JSON.parse(readFileSync(path, 'utf8')) as { moved: Array<{ route: Route; bootTime: number }> };
  assert.equal(onDisk.moved[0]!.bootTime, BOOT);
  // Same boot, read a little later (clock drift within the tolerance): kept, in memory without the field.
  const later = Journal.load(path, 'p.yaml', { bootTime: BOOT + 30, os: 'darwin' });
  assert.deepEqual(later.moved, [route]);
  assert.deepEqual(later.stale, []);
  later.recordMoved(multicast);
  const rewritten = JSON.parse(readFileSync(path, 'utf8')) as { moved: Array<{ route: Route; bootTime: number }> };
  assert.deepEqual(rewritten.moved.map((m) => [m.route.destination, m.bootTime]), [['0.0.0.0/0', BOOT], ['224.0.0.0/4', BOOT + 30]]);
});

test('entries from an earlier boot are dropped and reported, never handed to a restore; legacy entries without a boot are kept', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'journal-boot-')), 'journal.json');
  writeFileSync(path, JSON.stringify({ version: 1, profile: 'p.yaml', moved: [{ ...route, bootTime: BOOT }, { ...multicast }] }));
  const after = Journal.load(path, 'p.yaml', { bootTime: BOOT + BOOT_TIME_TOLERANCE_S + 3600, os: 'darwin' });
  assert.deepEqual(after.moved, [multicast]);
  assert.deepEqual(after.stale, [{ route, bootTime: BOOT }]);
  const warnings: Array<[Record<string, unknown>, string]> = [];
  logStaleEntries(after, { warn: ((o: Record<string, unknown>, m: string) => warnings.push([o, m])) as never });
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]![0].destination, '0.0.0.0/0');
  assert.match(warnings[0]![1], /earlier boot: not restored/);
  // The next write leaves the stale entry out for good.
  after.forgetMoved(multicast);
  assert.deepEqual(Journal.load(path, 'p.yaml', { bootTime: BOOT, os: 'darwin' }).moved, []);
});
