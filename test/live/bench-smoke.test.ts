// The benchmark suite's quick mode as a smoke test: every benchmark runs to the end and
// reports a number. No figure is judged here (timed assertions are flaky on shared
// machines); `npm run bench` on a quiet machine is where figures come from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessLinuxRoot } from '../helpers/netns.js';

const BENCH = new URL('../../scripts/bench.js', import.meta.url).pathname;

test('npm run bench -- --quick: every benchmark runs and reports a figure', (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-bench-smoke-'));
  try {
    const json = join(dir, 'bench.json');
    const r = spawnSync(process.execPath, [BENCH, '--quick', '--json', json], { encoding: 'utf8', timeout: 240_000 });
    assert.equal(r.status, 0, `bench --quick failed:\n${r.stderr}`);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { quick: boolean; rows: Array<{ group: string; figure: string; value: number }> };
    assert.equal(report.quick, true);
    const groups = new Set(report.rows.map((row) => row.group.replace(/ \d+$/, '')));
    assert.deepEqual([...groups].sort(), ['check', 'codecs', 'footprint', 'install', 'macOS model', 'reconcile', 'remove', 'repair', 'storm']);
    for (const row of report.rows) assert.ok(Number.isFinite(row.value), `${row.group}: ${row.figure} has no figure`);
    // The storm generator (scripts/route-storm.ts) ran and the kernel took its requests.
    const offered = report.rows.find((row) => row.group === 'storm' && row.figure.startsWith('events/s offered'));
    assert.ok(offered !== undefined && offered.value > 0, 'the storm generator offered events');
    assert.match(r.stdout, /^\| measure \| tunroute \| peer \| ratio \| target \| met \|$/m, 'the table is printed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
