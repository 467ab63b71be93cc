// The daemon's V8 flags (service/node-flags) reach node however users start it: the bin
// (its shebang, executed by the kernel and env), the systemd unit's ExecStart and the
// launchd plist's ProgramArguments, as install-service renders them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DAEMON_NODE_FLAGS } from '../../daemon/service/node-flags.js';
import { renderPlist, renderUnit } from '../../daemon/service/service.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = new URL('../../daemon/cli.js', import.meta.url).pathname;

test('the bin runs node with the flags: its shebang, executed as users run it', () => {
  const shebang = `#!/usr/bin/env -S node ${DAEMON_NODE_FLAGS.join(' ')}`;
  assert.equal(readFileSync(join(ROOT, 'daemon/cli.ts'), 'utf8').split('\n')[0], shebang);
  assert.equal(readFileSync(BIN, 'utf8').split('\n')[0], shebang, 'tsc keeps it in dist');
  // Executed directly (the kernel reads the shebang, env -S splits it); a preload reports
  // the flags node was started with. node must be first on PATH, as for any user of the bin.
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-flags-'));
  const preload = join(dir, 'report.mjs');
  writeFileSync(preload, "process.stderr.write(`execArgv=${JSON.stringify(process.execArgv)}\\n`);\n");
  const r = spawnSync(BIN, ['--help'], { encoding: 'utf8', env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH ?? ''}`, NODE_OPTIONS: `--import=${preload}` } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: tunroute/);
  assert.deepEqual(JSON.parse(/^execArgv=(.*)$/m.exec(r.stderr)?.[1] ?? 'null'), [...DAEMON_NODE_FLAGS]);
});

test('the systemd unit starts node with the flags', () => {
  const unit = renderUnit(readFileSync(join(ROOT, 'systemd/tunroute@.service'), 'utf8'), '/usr/bin/node', '/usr/local/lib/tunroute/0.1.0');
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.split(' ');
  assert.deepEqual(exec?.slice(0, DAEMON_NODE_FLAGS.length + 3), ['/usr/bin/node', ...DAEMON_NODE_FLAGS, '/usr/local/lib/tunroute/0.1.0/dist/daemon/cli.js', 'run']);
});

test('the launchd plist starts node with the flags', () => {
  const xml = renderPlist(readFileSync(join(ROOT, 'launchd/org.tunroute.plist'), 'utf8'), { label: 'org.tunroute.office', node: '/usr/local/bin/node', cli: '/usr/local/lib/tunroute/0.1.0/dist/daemon/cli.js', profile: '/usr/local/etc/tunroute/office.yaml', log: '/var/log/tunroute/office.log', stderrLog: '/var/log/tunroute/office.stderr.log' });
  const args = /<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(xml.replace(/<!--[\s\S]*?-->/g, ''))?.[1] ?? '';
  const strings = [...args.matchAll(/<string>([^<]*)<\/string>/g)].map((m) => m[1]);
  assert.deepEqual(strings.slice(0, DAEMON_NODE_FLAGS.length + 3), ['/usr/local/bin/node', ...DAEMON_NODE_FLAGS, '/usr/local/lib/tunroute/0.1.0/dist/daemon/cli.js', 'run']);
});
