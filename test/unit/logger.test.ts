// The journal log format: each pino line behind the syslog priority journald reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, journalLine } from '../../daemon/logger.js';

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
