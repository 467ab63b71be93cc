/**
 * @module test/unit/profile-load
 * Reading the profile file: missing, not a file, unreadable, and root's StrictModes-like
 * ownership rules; plus `tunroute check` end to end (exit status, output, no stack trace).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadProfile, PROFILE_MAX_BYTES } from '../../daemon/profile/load.js';
import { formatProblem } from '../../daemon/profile/problems.js';

const GOOD = 'interface: {name: utun7}\n';

function fakeFs(stat: { uid: number; mode: number; file?: boolean }, text = GOOD) {
  return {
    readFile: () => text,
    stat: () => ({ uid: stat.uid, mode: stat.mode, isFile: () => stat.file ?? true }),
  };
}

test('a missing file is one problem, not an exception', () => {
  const result = loadProfile('/nonexistent/tunroute/p.yaml', { platform: 'darwin', isRoot: false });
  assert.deepEqual(result.problems?.map(formatProblem), ['/nonexistent/tunroute/p.yaml:1:1 (file): does not exist, expected a readable YAML profile']);
});

test('size: a 50,000-route profile (a country list) loads; a file past the bound is refused unread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-size-'));
  try {
    const routes = Array.from({ length: 50_000 }, (_, i) => `  - 10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`).join('\n');
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `interface: {name: wg0}\nmode: split\nroutes:\n${routes}\n`);
    const loaded = loadProfile(big, { platform: 'linux', isRoot: false });
    assert.equal(loaded.problems, undefined, loaded.problems?.map(formatProblem).join('\n'));
    assert.equal(loaded.profile?.routes.length, 50_000);
    const huge = join(dir, 'huge.yaml');
    writeFileSync(huge, GOOD);
    truncateSync(huge, PROFILE_MAX_BYTES + 1);
    const refused = loadProfile(huge, { platform: 'linux', isRoot: false });
    assert.match(refused.problems?.map(formatProblem).join('\n') ?? '', /^.*huge\.yaml:1:1 \(file\): .*more than the \d+ expected/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory is refused', () => {
  const result = loadProfile(tmpdir(), { platform: 'darwin', isRoot: false });
  assert.equal(result.problems?.[0]?.message, 'is not a regular file, expected a YAML profile');
});

test('an unreadable file says why', () => {
  const fs = {
    readFile: (): string => {
      throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
    },
    stat: () => ({ uid: 0, mode: 0o100600, isFile: () => true }),
  };
  const result = loadProfile('/etc/p.yaml', { platform: 'darwin', isRoot: false, fs });
  assert.equal(result.problems?.[0]?.message, 'cannot be read (permission denied), expected a readable YAML profile');
});

test('as root: a profile owned by someone else or writable by group/others is refused', () => {
  const owned = loadProfile('/p.yaml', { platform: 'darwin', isRoot: true, fs: fakeFs({ uid: 501, mode: 0o100644 }) });
  assert.deepEqual(owned.problems?.map((p) => p.message), ['is owned by uid 501, expected root: whoever can edit the profile can reroute all traffic (chown root)']);
  const writable = loadProfile('/p.yaml', { platform: 'darwin', isRoot: true, fs: fakeFs({ uid: 0, mode: 0o100664 }) });
  assert.deepEqual(writable.problems?.map((p) => p.message), ['is writable by group or others (mode 0664), expected only root to write it (chmod go-w)']);
  const both = loadProfile('/p.yaml', { platform: 'darwin', isRoot: true, fs: fakeFs({ uid: 501, mode: 0o100666 }) });
  assert.equal(both.problems?.length, 2);
});

test('as root: root-owned 0644 passes; not as root, ownership is not checked', () => {
  assert.ok(loadProfile('/p.yaml', { platform: 'darwin', isRoot: true, fs: fakeFs({ uid: 0, mode: 0o100644 }) }).profile);
  assert.ok(loadProfile('/p.yaml', { platform: 'darwin', isRoot: false, fs: fakeFs({ uid: 501, mode: 0o100666 }) }).profile);
});

const CLI = fileURLToPath(new URL('../../daemon/cli.js', import.meta.url));

function check(...args: string[]) {
  return spawnSync(process.execPath, [CLI, 'check', ...args], { encoding: 'utf8' });
}

test('tunroute check: exit 0 and one summary line for a valid profile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-check-'));
  try {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, 'interface: {name: utun7}\naddress: 10.10.10.2\nendpoints: [203.0.113.7]\n', { mode: 0o600 });
    const run = check('--os', 'darwin', file);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, `${file}: ok, full tunnel (system) on utun7, 10.10.10.2, 0 routes, 0 excludes, 1 endpoint, IPv6 blocked while the tunnel is up, reconcile every 30s\n`);
    assert.equal(run.stderr, '');
    // The summary says what each IPv6 setting does; an explicit bypass also warns.
    writeFileSync(file, 'interface: {name: wg0}\naddress: [10.10.10.2, "fd00::2"]\nipv6: true\nendpoints: [203.0.113.7]\n', { mode: 0o600 });
    assert.match(check('--os', 'linux', file).stdout, /: ok, full tunnel \(policy\) on wg0, 10\.10\.10\.2, fd00::2, .*, IPv6 into the tunnel, /);
    writeFileSync(file, 'interface: {name: wg0}\nipv6: bypass\nendpoints: [203.0.113.7]\n', { mode: 0o600 });
    const bypass = check('--os', 'linux', file);
    assert.equal(bypass.status, 0);
    assert.match(bypass.stdout, /IPv6 NOT protected: it uses the physical network \(ipv6: bypass\)/);
    assert.match(bypass.stderr, /:2:7 ipv6: warning: bypass: IPv6 traffic uses the physical network while the tunnel is up/);
    writeFileSync(file, 'interface: {name: wg0}\nmode: split\nroutes: [10.20.0.0/16]\n', { mode: 0o600 });
    assert.match(check('--os', 'linux', file).stdout, /split tunnel on wg0, .*, no IPv6 routed, /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tunroute check: exit 1 and every problem, never a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-check-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'interface: {name: wg0}\nmode: splt\n', { mode: 0o600 });
    const run = check('--os', 'darwin', file);
    assert.equal(run.status, 1);
    assert.equal(run.stdout, '');
    assert.equal(
      run.stderr,
      `${file}:1:19 interface.name: "wg0" is not a utun interface, expected utunN on macOS (such as utun7)\n` +
        `${file}:2:7 mode: "splt" is not allowed (did you mean "split"?), expected one of: full, split\n`,
    );
    const missing = check('--os', 'darwin', join(dir, 'nope.yaml'));
    assert.equal(missing.status, 1);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);
    const binary = join(dir, 'binary.yaml');
    writeFileSync(binary, Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x3a, 0x09, 0x5b]));
    const garbage = check('--os', 'linux', binary);
    assert.equal(garbage.status, 1);
    assert.doesNotMatch(garbage.stderr, /\n\s+at /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tunroute check: usage errors exit 2', () => {
  assert.equal(check().status, 2);
  assert.equal(check('--bogus', 'x.yaml').status, 2);
});
