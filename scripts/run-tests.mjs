#!/usr/bin/env node
// Runs every compiled *.test.js under dist/test with node's test runner.
// Node 20's `node --test DIR` would also run helpers (it treats every file under a
// `test/` folder as a test), so the list is built here. Extra arguments filter by path
// substring: `npm test -- codec` runs only the files whose path contains "codec".
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('../dist/test/', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const files = walk(root)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files matched under ${root}`);
  process.exit(1);
}
// A test that hangs (a daemon that never exits, a namespace command that never returns) must
// fail the run, not hold CI until its limit: each test gets 5 minutes, the whole run 40.
const PER_TEST_MS = 5 * 60_000;
const WHOLE_RUN_MS = 40 * 60_000;
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', `--test-timeout=${PER_TEST_MS}`, ...files], { stdio: 'inherit', timeout: WHOLE_RUN_MS, killSignal: 'SIGKILL' });
if (result.error?.code === 'ETIMEDOUT') console.error(`run-tests: the suite did not finish within ${WHOLE_RUN_MS / 60_000} minutes and was killed`);
process.exit(result.status ?? 1);
