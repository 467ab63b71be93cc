// The journal and the log under pressure, against the real Linux kernel: a journal folder
// that is full or read-only (tmpfs mounts made and removed here), a journal path changed by
// a reload, a log pipe that closes or a log disk that fills, and rules deleted in a loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { must, skipUnlessLinuxRoot, withNetns, type Netns } from '../helpers/netns.js';
import { CLI, DaemonProcess, writeProfile } from '../helpers/daemon-process.js';

function table(ns: Netns): string {
  return ns.tables({ details: true });
}

/** `replace`: the strategy that moves the physical default, so there is something to journal. */
const profile = (journal: string, extra = ''): string => `interface:
  name: tun0
address: 10.10.10.2
fullTunnel:
  strategy: replace
endpoints:
  - 192.168.60.1
daemon:
  journal: ${journal}
  reconcileInterval: 1s
${extra}`;

/** The reasons a `not everything could be installed` line gives. */
function failures(line: Record<string, unknown>): string[] {
  return Array.isArray(line.failures) ? line.failures.map(String) : [];
}

/** A small tmpfs at `dir/state`, unmounted afterwards whatever happens. */
async function withTmpfs(dir: string, size: string, fn: (state: string) => Promise<void>): Promise<void> {
  const state = join(dir, 'state');
  mkdirSync(state);
  must('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', state]);
  try {
    await fn(state);
  } finally {
    spawnSync('umount', ['-l', state]);
  }
}

/** Fills the filesystem of `folder` until ENOSPC. */
function fill(folder: string): void {
  spawnSync('dd', ['if=/dev/zero', `of=${join(folder, 'fill')}`, 'bs=4k'], { encoding: 'utf8' });
}

async function until(pred: () => boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a journal folder that fills up while running: the tunnel comes back degraded with nothing added or moved until the journal can be written; SIGTERM restores', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('full-disk', async (ns) => {
    ns.addMachine();
    const before = table(ns);
    const { dir } = writeProfile('');
    await withTmpfs(dir, '256k', async (state) => {
      const path = join(dir, 'p.yaml');
      writeFileSync(path, profile(join(state, 'p.journal.json')), { mode: 0o600 });
      const d = new DaemonProcess(ns, ['run', path]);
      await d.waitForState('installed');
      fill(state);
      let mark = d.lines.length;
      ns.ip('link', 'set', 'tun0', 'down');
      await d.waitForState('waiting', 5000, mark);
      assert.match(ns.ip('route', 'show'), /^default via 192\.168\.50\.1 dev veth0 *$/m, 'the moved default is back, from memory, although the journal cannot be updated');
      assert.doesNotMatch(ns.ip('route', 'show'), /proto 232/);
      mark = d.lines.length;
      ns.ip('link', 'set', 'tun0', 'up');
      await d.waitForState('degraded', 5000, mark);
      const degraded = await d.waitFor((l) => failures(l).some((f) => f.includes('cannot write the journal')), 5000, mark);
      // Which write fails first depends on what the full disk still has room for (removing the
      // old journal frees a page): the ledger (then nothing is added) or the moved route (then
      // the copy and endpoint are added, owned, but the physical default is not moved).
      assert.match(failures(degraded).join('\n'), /cannot write the journal .*ENOSPC; (nothing is added or moved|the physical route 0\.0\.0\.0\/0 stays where it is)/);
      await new Promise((r) => setTimeout(r, 1500));
      assert.match(ns.ip('route', 'show'), /^default via 192\.168\.50\.1 dev veth0 *$/m, 'the physical default is not moved: it could not be journaled');
      assert.doesNotMatch(ns.ip('route', 'show'), /^default dev tun0/m);
      mark = d.lines.length;
      rmSync(join(state, 'fill'));
      await d.waitForState('installed', 8000, mark);
      assert.match(ns.ip('route', 'show'), /^default dev tun0 proto 232/m);
      d.signal('SIGTERM');
      assert.equal(await d.exited, 0);
      assert.equal(table(ns), before);
    });
  });
});

test('a read-only journal folder: the daemon starts degraded and moves nothing; once writable it installs; SIGTERM restores', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('ro-disk', async (ns) => {
    ns.addMachine();
    const before = table(ns);
    const { dir } = writeProfile('');
    await withTmpfs(dir, '1m', async (state) => {
      const path = join(dir, 'p.yaml');
      writeFileSync(path, profile(join(state, 'p.journal.json')), { mode: 0o600 });
      closeSync(openSync(join(state, 'p.journal.json.lock'), 'w', 0o600));
      must('mount', ['-o', 'remount,ro', state]);
      const d = new DaemonProcess(ns, ['run', path]);
      await d.waitFor((l) => typeof l.msg === 'string' && l.msg.includes('other profiles cannot see what this one claims'));
      await d.waitForState('degraded');
      const degraded = await d.waitFor((l) => failures(l).some((f) => f.includes('cannot write the journal')));
      assert.match(failures(degraded).join('\n'), /EROFS; nothing is added or moved until it can be written/);
      assert.equal(table(ns), before, 'nothing added, nothing moved');
      const mark = d.lines.length;
      // `ip netns exec` gave the daemon its own copy of the mount, read-only flag included.
      must('mount', ['-o', 'remount,rw', state]);
      must('nsenter', ['-t', String(d.child.pid), '-m', '--', 'mount', '-o', 'remount,rw', state]);
      await d.waitForState('installed', 8000, mark);
      d.signal('SIGTERM');
      assert.equal(await d.exited, 0);
      assert.equal(table(ns), before);
    });
  });
});

test('a reload that moves daemon.journal takes the entries along: after SIGKILL, restore with the new profile puts the table back', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('move-journal', async (ns) => {
    ns.addMachine();
    const before = table(ns);
    const { dir, path } = writeProfile((d) => profile(join(d, 'a.journal.json')));
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('installed');
    assert.ok(existsSync(join(dir, 'a.journal.json')));
    const mark = d.lines.length;
    writeFileSync(path, profile(join(dir, 'b.journal.json')));
    await d.waitFor((l) => l.msg === 'the journal moved with the profile', 5000, mark);
    assert.ok(existsSync(join(dir, 'b.journal.json')));
    assert.equal(existsSync(join(dir, 'a.journal.json')), false, 'one journal, at the new path');
    d.signal('SIGKILL');
    await d.exited;
    const r = ns.exec('node', [CLI, 'restore', path]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /restored 1 moved route/);
    assert.equal(table(ns), before);
  });
});

test('a rule deleted in a loop is re-added a few times, then backed off with one warning', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('rule-flap', async (ns) => {
    ns.addMachine();
    const before = table(ns);
    const { dir, path } = writeProfile((d) => profile(join(d, 'j.json'), 'mode: split\nroutes:\n  - 10.20.0.0/16\n'));
    void dir;
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('installed');
    const mark = d.lines.length;
    for (let i = 0; i < 40; i++) {
      ns.tryIp('rule', 'del', 'priority', '10000');
      await new Promise((r) => setTimeout(r, 25));
    }
    await d.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('flapping: another agent keeps removing this rule'), 5000, mark);
    const readds = d.lines.slice(mark).filter((l) => l.action === 'restore-rule').length;
    assert.ok(readds >= 1 && readds <= 6, `re-added ${readds} times, at most maxRepairs (5) + 1 within the window`);
    assert.equal(d.lines.slice(mark).filter((l) => typeof l.msg === 'string' && l.msg.startsWith('flapping')).length, 1, 'one warning per episode');
    d.signal('SIGTERM');
    assert.equal(await d.exited, 0);
    assert.equal(table(ns), before);
  });
});

/** A daemon whose stdout goes to `stdout` (a pipe we close, or a file on a full disk). */
function spawnDaemon(ns: Netns, path: string, stdout: 'pipe' | number): ReturnType<typeof spawn> {
  return spawn('ip', ['netns', 'exec', ns.name, 'node', CLI, 'run', path, '--log-format', 'json'], { stdio: ['ignore', stdout, 'pipe'] });
}

test('EPIPE on stdout (the log reader went away) and ENOSPC (the log disk is full): the daemon keeps routing and repairing, and SIGTERM still restores and exits 0', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('log-fail', async (ns) => {
    ns.addMachine();
    const before = table(ns);
    const { dir, path } = writeProfile((d) => profile(join(d, 'j.json')));

    const piped = spawnDaemon(ns, path, 'pipe');
    let stderr = '';
    piped.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await until(() => /default dev tun0 proto 232/.test(ns.ip('route', 'show')));
    piped.stdout?.destroy();
    ns.ip('route', 'del', 'default', 'dev', 'tun0');
    await until(() => /default dev tun0 proto 232/.test(ns.ip('route', 'show')));
    ns.ip('route', 'del', 'default', 'dev', 'tun0');
    await until(() => /default dev tun0 proto 232/.test(ns.ip('route', 'show')));
    assert.equal(piped.exitCode, null, 'still running after EPIPE');
    const exited = new Promise<number | null>((r) => piped.once('exit', r));
    piped.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(stderr, /log output failed \(EPIPE\); routing continues/);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    assert.equal(table(ns), before);

    await withTmpfs(dir, '64k', async (state) => {
      const logFile = join(state, 'log');
      const fd = openSync(logFile, 'w');
      fill(state);
      const full = spawnDaemon(ns, path, fd);
      closeSync(fd);
      let err = '';
      full.stderr?.on('data', (c: Buffer) => (err += c.toString()));
      await until(() => /default dev tun0 proto 232/.test(ns.ip('route', 'show')));
      ns.ip('route', 'del', 'default', 'dev', 'tun0');
      await until(() => /default dev tun0 proto 232/.test(ns.ip('route', 'show')));
      assert.equal(full.exitCode, null, 'still running with a full log disk');
      const done = new Promise<number | null>((r) => full.once('exit', r));
      full.kill('SIGTERM');
      assert.equal(await done, 0);
      assert.match(err, /log output failed \(ENOSPC\)/);
      assert.equal(table(ns), before);
    });
  });
});
