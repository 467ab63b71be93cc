// The `tunroute` command line as a user runs it: a child process, its output and exit status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLI = new URL('../../daemon/cli.js', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

function tunroute(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// §5.1 of the reference: `route add -net 0.0.0.0/0 -interface utun5`, 132 bytes.
const ROUTE_ADD_UTUN5 = [
  '84 00 05 01 00 00 00 00 01 08 00 00 07 00 00 00 00 00 00 00 01 00 00 00',
  '00 '.repeat(68),
  '10 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
  '14 12 15 00 01 05 00 00 75 74 75 6e 35 00 00 00 00 00 00 00',
  '02 02 00 00',
].join(' ');

test('--help and --version', () => {
  const help = tunroute(['--help']);
  assert.equal(help.status, 0);
  for (const c of ['run', 'check', 'plan', 'restore', 'decode', 'monitor']) assert.match(help.stdout, new RegExp(`tunroute ${c}\\b`));
  const version = tunroute(['--version']);
  assert.equal(version.status, 0);
  assert.equal(version.stdout.trim(), pkg.version);
});

test('an unknown command prints the usage and exits 2; no command exits 2 too', () => {
  const r = tunroute(['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  assert.match(r.stderr, /usage: tunroute/);
  assert.equal(tunroute([]).status, 2);
});

test('decode prints a route(8) request like route monitor, and as JSON', () => {
  const text = tunroute(['decode', '--os', 'darwin', ROUTE_ADD_UTUN5]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^RTM_ADD: Add Route: len 132, pid: 0, seq 1, errno 0, flags:<UP,STATIC>/);
  assert.match(text.stdout, /gateway link#21 utun5/);
  const json = tunroute(['decode', '--os', 'darwin', '--json'], ROUTE_ADD_UTUN5.replace(/ /g, '\n'));
  assert.equal(json.status, 0, json.stderr);
  const m = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.equal(m.type, 'RTM_ADD');
  assert.equal(m.destination, '0.0.0.0/0');
  assert.deepEqual(m.flags, ['UP', 'STATIC']);
  assert.deepEqual((m.addrs as Record<string, unknown>).gateway, { family: 'link', index: 21, name: 'utun5', type: 1 });
});

test('decode: a malformed message gives one error line with its offset and exit 1; the good ones still print', () => {
  const broken = '0x84,0x00,0x04,0x01';
  const r = tunroute(['decode', '--os', 'darwin', '--json', ROUTE_ADD_UTUN5, broken]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout.trim().split('\n').length, 1, 'the good message printed');
  assert.match(r.stderr, /error at byte 132/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('decode: bad hex and a bad --os are usage errors (exit 2)', () => {
  const hex = tunroute(['decode', '--os', 'linux', 'zz']);
  assert.equal(hex.status, 2);
  assert.match(hex.stderr, /not hex at byte 0/);
  assert.equal(tunroute(['decode', '--os', 'bsd', '00']).status, 2);
});

test('decode --os linux: an rtnetlink ack', () => {
  // nlmsghdr(len 36, NLMSG_ERROR, seq 1) + nlmsgerr(errno 0 + the request's header)
  const ack = '24000000 0200 0001 01000000 00000000 00000000 1c000000 1800 0506 01000000 00000000';
  const r = tunroute(['decode', '--os', 'linux', '--json', ack]);
  assert.equal(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(m.ack, true);
  assert.equal(m.requestSeq, 1);
});
