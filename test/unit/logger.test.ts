// The journal log format: each pino line behind the syslog priority journald reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, journalLine } from '../../daemon/logger.js';

const CLI = new URL('../../daemon/cli.js', import.meta.url).pathname;

test('journal format: trace/debug 7, info 6, warn 4, error 3, fatal 2, the JSON line unchanged behind the prefix', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'trace', format: 'journal', write: (l) => lines.push(l) });
  log.trace('t');
  log.debug('d');
  log.info({ destination: '0.0.0.0/0' }, 'i');
  log.warn('w');
  log.error('e');
  log.fatal('f');
  assert.deepEqual(lines.map((l) => /^<(\d)>/.exec(l)?.[1]), ['7', '7', '6', '4', '3', '2']);
  const info = JSON.parse(lines[2]!.slice(3)) as Record<string, unknown>;
  assert.equal(info.msg, 'i');
  assert.equal(info.destination, '0.0.0.0/0');
  assert.equal(journalLine('{"level":40,"msg":"x"}\n'), '<4>{"level":40,"msg":"x"}\n');
});

test('journal format: the startup errors of a bad profile reach the journal as errors (<3>), exit 78', (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root (tunroute run refuses to start otherwise)');
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-journal-'));
  const profile = join(dir, 'bad.yaml');
  writeFileSync(profile, 'interface: {name: utun7}\nmode: nonsense\n', { mode: 0o600 });
  const r = spawnSync(process.execPath, [CLI, 'run', profile, '--log-format', 'journal', '--run-dir', dir], { encoding: 'utf8' });
  assert.equal(r.status, 78, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.ok(lines.length >= 2);
  for (const line of lines) assert.match(line, /^<3>tunroute run: /);
});
