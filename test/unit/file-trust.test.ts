// Files root does not own are never believed: the attacker's moves are made as an
// unprivileged user (`runuser -u nobody`), the checks run as root, as the daemon does.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, chownSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Journal, JournalError, JournalWriteError } from '../../daemon/engine/journal.js';
import { loadProfile } from '../../daemon/profile/load.js';
import { resolveNameFile } from '../../daemon/profile/name-file.js';
import { ensureRunDir } from '../../daemon/status/socket.js';
import type { Route } from '../../daemon/model/route.js';

const CLI = fileURLToPath(new URL('../../daemon/cli.js', import.meta.url));
const NOBODY = 65534;
const PAYLOAD = 'EVIL-PAYLOAD-7f3a';

function skipUnlessRoot(t: TestContext): boolean {
  if (process.getuid?.() !== 0) {
    t.skip('needs root (files are made as nobody and checked as root)');
    return true;
  }
  if (spawnSync('runuser', ['--version']).status !== 0) {
    t.skip('needs runuser');
    return true;
  }
  return false;
}

/** Runs a shell command as nobody; throws when it fails. */
function asNobody(script: string): void {
  const r = spawnSync('runuser', ['-u', 'nobody', '--', 'sh', '-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`as nobody: ${script}: ${r.stderr}`);
}

/** A root-owned 0755 folder that nobody can traverse, removed afterwards. */
function withRootDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-trust-'));
  chmodSync(dir, 0o755);
  return Promise.resolve(fn(dir)).finally(() => rmSync(dir, { recursive: true, force: true }));
}

const moved: Route = {
  family: 'inet', destination: '0.0.0.0/0', gateway: { address: '192.168.1.1' }, interface: 'eth0', index: 2,
  scope: null, table: 254, metric: null, flags: [], mtu: null, origin: 'demoted',
};

function plausibleJournal(): string {
  return JSON.stringify({ version: 2, os: 'linux', profile: '/etc/tunroute/wg0.yaml', name: 'wg0', pid: 1, owned: { routes: [], rules: [] }, moved: [{ route: { ...moved, destination: '10.66.0.0/16', table: 100 }, record: null }] });
}

test('a journal another user planted (in a sticky, world-writable folder) is refused; so is the folder for writing', async (t) => {
  if (skipUnlessRoot(t)) return;
  await withRootDir((dir) => {
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const path = join(shared, 'wg0.journal.json');
    writeFileSync(join(dir, 'planted'), plausibleJournal());
    chmodSync(join(dir, 'planted'), 0o644);
    asNobody(`cat ${join(dir, 'planted')} > ${path}`);
    assert.throws(() => Journal.load(path, 'p', { name: 'wg0', os: 'linux' }), (e: unknown) => e instanceof JournalError && /owned by uid 65534, expected root/.test(e.message) && /nothing was restored/.test(e.message));
    const fresh = new Journal(join(shared, 'other.journal.json'), 'p', { name: 'wg0', os: 'linux' });
    assert.throws(() => fresh.own({ routes: ['inet|254|0.0.0.0/1|0'] }), (e: unknown) => e instanceof JournalWriteError && /writable by group or others \(mode 1777\)/.test(e.message));
  });
});

test('the temporary file is never opened through a link another user planted: the write is refused and the target untouched', async (t) => {
  if (skipUnlessRoot(t)) return;
  await withRootDir((dir) => {
    const userDir = join(dir, 'user');
    mkdirSync(userDir);
    chownSync(userDir, NOBODY, NOBODY);
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const path = join(userDir, 'j.json');
    // Every name the journal could pick for its temporary file would do; plant a few.
    asNobody(`for i in 1 2 3; do ln -s ${victim} ${path}.$i.tmp; done; ln -s ${victim} ${path}`);
    const j = new Journal(path, 'p', { name: 'wg0', os: 'linux' });
    assert.throws(() => j.recordMoved(moved), (e: unknown) => e instanceof JournalWriteError && /owned by uid 65534/.test(e.message));
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  });
});

test('FIFO, /dev/zero (direct or through a link), oversized and wrong-typed journals are refused at once, quoting nothing from the file', async (t) => {
  if (skipUnlessRoot(t)) return;
  await withRootDir((dir) => {
    const fifo = join(dir, 'fifo.json');
    assert.equal(spawnSync('mkfifo', ['-m', '600', fifo]).status, 0);
    const started = Date.now();
    assert.throws(() => Journal.load(fifo, 'p'), /is not a regular file \(a FIFO\)/);
    assert.ok(Date.now() - started < 1000, 'no blocking open');
    assert.throws(() => Journal.load('/dev/zero', 'p'), /is not a regular file \(a character device\)/);
    symlinkSync('/dev/zero', join(dir, 'zero.json'));
    assert.throws(() => Journal.load(join(dir, 'zero.json'), 'p'), /is a symbolic link/);
    const big = join(dir, 'big.json');
    writeFileSync(big, Buffer.alloc(65 << 20, 0x20));
    chmodSync(big, 0o600);
    assert.throws(() => Journal.load(big, 'p'), /more than the \d+ expected/);
    const typed = join(dir, 'typed.json');
    writeFileSync(typed, JSON.stringify({ version: 2, os: 'linux', profile: 'p', name: 'p', owned: { routes: [], rules: [] }, moved: [{ route: { ...moved, family: PAYLOAD }, record: null }] }));
    chmodSync(typed, 0o600);
    assert.throws(() => Journal.load(typed, 'p', { name: 'p', os: 'linux' }), (e: unknown) => e instanceof JournalError && /moved\[0\]\.route\.family: expected "inet" or "inet6"/.test(e.message) && !e.message.includes(PAYLOAD));
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, `${PAYLOAD} {{{`);
    chmodSync(junk, 0o600);
    assert.throws(() => Journal.load(junk, 'p'), (e: unknown) => e instanceof JournalError && /not JSON/.test(e.message) && !e.message.includes(PAYLOAD));
  });
});

test('schema: table, metric, prefix and key ranges are checked; a newer version is refused; version 1 is read', async (t) => {
  if (skipUnlessRoot(t)) return;
  await withRootDir((dir) => {
    const write = (value: unknown): string => {
      const path = join(dir, `j${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(path, JSON.stringify(value));
      chmodSync(path, 0o600);
      return path;
    };
    const base = { version: 2, os: 'linux', profile: 'p', name: 'p', owned: { routes: [], rules: [] }, moved: [] as unknown[] };
    const bad: Array<[unknown, RegExp]> = [
      [{ ...base, moved: [{ route: { ...moved, table: 255 }, record: null }] }, /table: expected a routing table other than 0 and local/],
      [{ ...base, moved: [{ route: { ...moved, metric: 2 ** 33 }, record: null }] }, /metric: expected null or an integer/],
      [{ ...base, moved: [{ route: { ...moved, destination: '10.0.0.1/8' }, record: null }] }, /destination: expected a canonical inet prefix/],
      [{ ...base, moved: [{ route: { ...moved, family: 'inet6' }, record: null }] }, /destination: expected a canonical inet6 prefix/],
      [{ ...base, owned: { routes: ['a b'], rules: [] } }, /owned\.routes\[0\]: expected a route key/],
      [{ ...base, moved: [{ route: moved, record: { os: 'linux', rtmsg: 'zz', attributes: [] } }] }, /record\.rtmsg: expected the 12-byte rtmsg in hex/],
      [{ ...base, version: 3 }, /written by a newer tunroute/],
      [{ ...base, os: 'darwin' }, /written on another system/],
    ];
    for (const [value, message] of bad) assert.throws(() => Journal.load(write(value), 'p', { name: 'p', os: 'linux' }), message);
    const v1 = Journal.load(write({ version: 1, profile: 'old.yaml', moved: [moved] }), 'p', { name: 'p', os: 'linux' });
    assert.deepEqual(v1.moved, [moved]);
    assert.equal(v1.ownedRouteKeys.size, 0, 'a version-1 journal owns nothing: its tagged routes are left for --all-tagged');
  });
});

test('the ledger: a batch of keys is one durable write, a repair of an owned key none; state survives a reload', async (t) => {
  if (skipUnlessRoot(t)) return;
  await withRootDir((dir) => {
    const path = join(dir, 'state', 'wg0.journal.json');
    const j = Journal.load(path, 'p', { name: 'wg0', os: 'linux' });
    const keys = Array.from({ length: 50_000 }, (_, i) => `inet|254|10.${i >> 8}.${i & 255}.0/24|0`);
    const writes = countWrites(j, () => j.own({ routes: keys, rules: ['inet|10000|10.10.10.2|51820'] }));
    assert.equal(writes, 1, '50,000 keys, one write');
    assert.equal(countWrites(j, () => j.own({ routes: keys.slice(0, 10) })), 0, 'already owned: no write');
    const again = Journal.load(path, 'p', { name: 'wg0', os: 'linux' });
    assert.equal(again.ownedRouteKeys.size, 50_000);
    assert.ok(again.ownsRule('inet|10000|10.10.10.2|51820'));
    again.disown({ routes: keys });
    assert.equal(countWrites(again, () => again.disown({ routes: ['inet|254|1.2.3.0/24|0'] })), 0, 'disowning is not durable by itself');
    again.flush();
    assert.equal(Journal.load(path, 'p', { name: 'wg0', os: 'linux' }).ownedRouteKeys.size, 0);
    again.disown({ rules: ['inet|10000|10.10.10.2|51820'] });
    again.flush();
    assert.equal(existsSync(path), false, 'an empty ledger is no file');
  });
});

/** Counts the journal's durable writes during `fn` (each one persist()). */
function countWrites(j: Journal, fn: () => void): number {
  const target = j as unknown as { persist: () => void };
  const original = target.persist;
  let n = 0;
  target.persist = function (this: unknown) {
    n++;
    original.call(this);
  };
  try {
    fn();
  } finally {
    target.persist = original;
  }
  return n;
}

test('a profile is refused when someone else could swap it through a folder on its path, or when a folder is world-writable; check says so', async (t) => {
  if (skipUnlessRoot(t)) return;
  await withRootDir((dir) => {
    const userDir = join(dir, 'user');
    mkdirSync(userDir);
    chownSync(userDir, NOBODY, NOBODY);
    const profile = join(userDir, 'wg0.yaml');
    writeFileSync(profile, 'interface:\n  name: wg0\n');
    chmodSync(profile, 0o600);
    const swapped = loadProfile(profile, { platform: 'linux', isRoot: true });
    assert.match(swapped.problems?.[0]?.message ?? '', /the folder .*\/user is owned by uid 65534, expected root/);
    // The attack itself: nobody replaces root's file by a rename in the folder they own.
    asNobody(`printf 'interface:\\n  name: evil0\\n' > ${userDir}/x && mv -f ${userDir}/x ${profile}`);
    assert.ok(loadProfile(profile, { platform: 'linux', isRoot: true }).problems, 'still refused after the swap');

    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const inOpen = join(open, 'wg1.yaml');
    writeFileSync(inOpen, 'interface:\n  name: wg1\n');
    chmodSync(inOpen, 0o600);
    const r = spawnSync(process.execPath, [CLI, 'check', '--os', 'linux', inOpen], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /wg1\.yaml:1:1 \(file\): the folder .*\/open is writable by group or others \(mode 0777\)/);

    const safe = join(dir, 'wg2.yaml');
    writeFileSync(safe, `interface:\n  name: wg2\ndaemon:\n  journal: ${open}/wg2.journal.json\n`);
    chmodSync(safe, 0o600);
    const j = spawnSync(process.execPath, [CLI, 'check', '--os', 'linux', safe], { encoding: 'utf8' });
    assert.equal(j.status, 1);
    assert.match(j.stderr, /wg2\.yaml:1:1 daemon\.journal: the folder .*\/open is writable by group or others .*the daemon will refuse to keep its journal there/);
  });
});

test('the status socket\'s folder is refused under a folder another user owns', async (t) => {
  if (skipUnlessRoot(t)) return;
  await withRootDir((dir) => {
    const userDir = join(dir, 'user');
    mkdirSync(userDir);
    chownSync(userDir, NOBODY, NOBODY);
    assert.throws(() => ensureRunDir(join(userDir, 'run')), /the folder .*\/user is owned by uid 65534, expected root/);
    ensureRunDir(join(dir, 'run'));
  });
});

test('a name file or utun socket written by another user is not believed', async (t) => {
  if (skipUnlessRoot(t)) return;
  await withRootDir(async (dir) => {
    const nameFile = join(dir, 'wg0.name');
    writeFileSync(nameFile, 'utun7\n');
    chownSync(nameFile, NOBODY, NOBODY);
    const servers: Server[] = [];
    const listen = (path: string): Promise<void> => new Promise((resolve) => {
      const s = createServer();
      servers.push(s);
      s.listen(path, () => resolve());
    });
    try {
      await listen(join(dir, 'utun7.sock'));
      assert.match(resolveNameFile(nameFile).reason ?? '', /owned by uid 65534, expected root/);
      chownSync(nameFile, 0, 0);
      assert.deepEqual(resolveNameFile(nameFile), { name: 'utun7' }, 'root\'s name file and socket are believed');
      chownSync(join(dir, 'utun7.sock'), NOBODY, NOBODY);
      assert.match(resolveNameFile(nameFile).reason ?? '', /utun7\.sock is owned by uid 65534, expected root/);
    } finally {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
  });
});
