import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, JournalError } from '../../daemon/engine/journal.js';
import type { Route } from '../../daemon/model/route.js';

const physicalDefault: Route = {
  family: 'inet', destination: '0.0.0.0/0', gateway: { address: '192.168.1.1' }, interface: 'en0', index: 4,
  scope: null, table: null, metric: null, flags: ['UP', 'GATEWAY', 'STATIC'], mtu: null, origin: 'demoted',
};

test('a recorded move is on disk before recordMoved returns, and survives a reload', () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  const path = join(dir, 'sub', 'journal.json');
  const j = Journal.load(path, 'p.yaml');
  assert.equal(j.moved.length, 0);
  j.recordMoved(physicalDefault);
  assert.ok(existsSync(path));
  const again = Journal.load(path, 'p.yaml');
  assert.deepEqual(again.moved, [physicalDefault]);
  assert.equal(again.profile, 'p.yaml');
});

test('recording the same route twice keeps one entry; forgetting the last removes the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  const path = join(dir, 'journal.json');
  const j = Journal.load(path, 'p.yaml');
  j.recordMoved(physicalDefault);
  j.recordMoved({ ...physicalDefault, gateway: { address: '10.0.0.1' } });
  assert.equal(Journal.load(path, 'p.yaml').moved.length, 1);
  j.forgetMoved(physicalDefault);
  assert.equal(existsSync(path), false);
});

test('a damaged journal is refused with a clear error, never silently dropped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'));
  const path = join(dir, 'journal.json');
  writeFileSync(path, '{"version": 1, "moved": [');
  assert.throws(() => Journal.load(path, 'p.yaml'), (e: unknown) => e instanceof JournalError && /damaged/.test(e.message));
  assert.equal(readFileSync(path, 'utf8'), '{"version": 1, "moved": [', 'the file is left for a person to inspect');
});
