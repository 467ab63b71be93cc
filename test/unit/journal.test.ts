import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, JournalError, movedIdentity } from '../../daemon/engine/journal.js';
import type { Route } from '../../daemon/model/route.js';

const physicalDefault: Route = {
  family: 'inet', destination: '0.0.0.0/0', gateway: { address: '192.168.1.1' }, interface: 'en0', index: 4,
  scope: null, table: null, metric: null, flags: ['UP', 'GATEWAY', 'STATIC'], mtu: null, origin: 'demoted',
};

test('a recorded move is on disk before recordMoved returns, and survives a reload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  const path = join(dir, 'sub', 'journal.json');
  const j = Journal.load(path, 'p.yaml', { name: 'p', os: 'darwin' });
  assert.equal(j.moved.length, 0);
  j.recordMoved(physicalDefault);
  assert.ok(existsSync(path));
  const again = Journal.load(path, 'p.yaml', { name: 'p', os: 'darwin' });
  assert.deepEqual(again.moved, [physicalDefault]);
  assert.equal(again.profile, 'p.yaml');
});

test('recording the same route twice keeps one entry; a second route at the key stays only when it was beside the first (two defaults at one metric), not after a roam', () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  const path = join(dir, 'journal.json');
  const j = Journal.load(path, 'p.yaml', { name: 'p', os: 'darwin' });
  const second = { ...physicalDefault, gateway: { address: '10.0.0.1' } };
  j.recordMoved(physicalDefault, null, [movedIdentity(second)]);
  j.recordMoved(physicalDefault, null, [movedIdentity(second)]);
  assert.equal(Journal.load(path, 'p.yaml', { name: 'p', os: 'darwin' }).moved.length, 1);
  // The sibling it was moved beside: both must come back.
  j.recordMoved(second);
  assert.deepEqual(Journal.load(path, 'p.yaml', { name: 'p', os: 'darwin' }).moved, [physicalDefault, second]);
  // A route that appeared at the key later (a roam to a new gateway) replaces what was there.
  const roamed = { ...physicalDefault, gateway: { address: '10.0.0.254' } };
  j.recordMoved(roamed);
  assert.deepEqual(Journal.load(path, 'p.yaml', { name: 'p', os: 'darwin' }).moved, [roamed]);
  j.forgetMoved(roamed);
  assert.equal(existsSync(path), false);
});

test('a damaged journal is refused with a clear error, never silently dropped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  const path = join(dir, 'journal.json');
  writeFileSync(path, '{"version": 1, "moved": [');
  assert.throws(() => Journal.load(path, 'p.yaml', { name: 'p', os: 'darwin' }), (e: unknown) => e instanceof JournalError && /damaged/.test(e.message));
  assert.equal(readFileSync(path, 'utf8'), '{"version": 1, "moved": [', 'the file is left for a person to inspect');
});
