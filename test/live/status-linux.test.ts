// `tunroute status` against a real daemon in a namespace: text and JSON, the socket's
// permissions and lifetime, a stale socket replaced, a second instance refused, no daemon
// (exit 3) and not root (exit 77).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessLinuxRoot, withNetns } from '../helpers/netns.js';
import { CLI, DaemonProcess, writeProfile } from '../helpers/daemon-process.js';
import { asNobody, cannotRunAsNobody } from '../helpers/nobody.js';
import type { StatusDocument } from '../../daemon/status/document.js';

const PROFILE = (dir: string, strategy = 'replace'): string => `name: office
interface:
  name: tun0
address: 10.10.10.2
fullTunnel:
  strategy: ${strategy}
endpoints:
  - 192.168.60.1
daemon:
  journal: ${join(dir, 'journal.json')}
`;

function status(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'status', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function statusJson(runDir: string, ...args: string[]): StatusDocument {
  const r = status(['--json', '--run-dir', runDir, ...args]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as StatusDocument;
}

test('status: text and JSON from a running daemon, repairs counted, the socket root-only and removed on exit', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('status', async (ns) => {
    ns.addMachine();
    const { path } = writeProfile(PROFILE);
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('installed');

    const sock = join(d.runDir, 'office.sock');
    const st = statSync(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600, 'only root may connect');
    assert.equal(st.uid, 0);

    const doc = statusJson(d.runDir, 'office');
    assert.equal(doc.version, 1);
    assert.equal(doc.name, 'office');
    assert.equal(doc.profile, path);
    assert.equal(doc.state, 'installed');
    assert.equal(doc.mode, 'full');
    assert.deepEqual(doc.tunnel && { name: doc.tunnel.name, addresses: doc.tunnel.addresses }, { name: 'tun0', addresses: ['10.10.10.2/32'] });
    assert.deepEqual(doc.physicalGateways.map((g) => [g.gateway, g.interface]), [['192.168.50.1', 'veth0']]);
    const tunnelDefault = doc.routes.find((r) => r.destination === '0.0.0.0/0' && r.origin === 'tunnel');
    assert.ok(tunnelDefault, JSON.stringify(doc.routes));
    assert.equal(tunnelDefault.interface, 'tun0');
    assert.equal(tunnelDefault.table, 254);
    assert.equal(tunnelDefault.repairs, 0);
    assert.ok(doc.routes.some((r) => r.destination === '192.168.60.1/32' && r.origin === 'endpoint' && r.gateway === '192.168.50.1'));
    assert.deepEqual(doc.moved.map((m) => [m.destination, m.gateway, m.interface]), [['0.0.0.0/0', '192.168.50.1', 'veth0']]);
    assert.equal(doc.counters.repairs, 0);
    assert.equal(doc.pid, d.child.pid);

    // Asking never makes the daemon do anything: no reconcile, not a log line.
    const lines = d.lines.length;
    for (let i = 0; i < 20; i++) statusJson(d.runDir, 'office');
    assert.equal(statusJson(d.runDir, 'office').counters.reconciles, doc.counters.reconciles);
    assert.equal(d.lines.length, lines);

    const mark = d.lines.length;
    ns.ip('route', 'del', 'default', 'dev', 'tun0');
    await d.waitFor((l) => l.action === 'restore' && l.destination === '0.0.0.0/0', 5000, mark);
    const after = statusJson(d.runDir, path);
    assert.equal(after.counters.repairs, 1);
    assert.ok(after.counters.foreignChanges >= 1);
    const repaired = after.routes.find((r) => r.destination === '0.0.0.0/0' && r.origin === 'tunnel');
    assert.equal(repaired?.repairs, 1);
    assert.ok(repaired?.lastRepairedAt && Date.parse(repaired.lastRepairedAt) <= Date.now());

    const text = status(['--run-dir', d.runDir]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^instance: office$/m);
    assert.match(text.stdout, /^ {2}state: installed for /m);
    assert.match(text.stdout, /^ {2}tunnel: tun0 \(index \d+\) 10\.10\.10\.2\/32$/m);
    assert.match(text.stdout, /^ {2}physical gateway: 192\.168\.50\.1 via veth0/m);
    assert.match(text.stdout, /^ {4}0\.0\.0\.0\/0 +link#\d+ +tun0 #\d+ +table main +0 +tunnel +1x, last /m);
    assert.match(text.stdout, /moved aside \(1\)/);
    assert.match(text.stdout, /counters: 1 repairs/);

    assert.equal(readFileSync(join(d.runDir, 'office.pid'), 'utf8'), `${d.child.pid}\n`, 'the pid file newsyslog signals');

    d.signal('SIGTERM');
    assert.equal(await d.exited, 0);
    assert.equal(existsSync(sock), false, 'the socket is removed on exit');
    assert.equal(existsSync(join(d.runDir, 'office.pid')), false, 'so is the pid file');
    const gone = status(['--run-dir', d.runDir, 'office']);
    assert.equal(gone.status, 3);
    assert.match(gone.stderr, /no tunroute daemon is running profile "office"/);
  });
});

test('status: a stale socket from a killed run is replaced; a second instance of the profile is refused (75) and changes nothing', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('status2', async (ns) => {
    ns.addMachine();
    const { path } = writeProfile(PROFILE);
    const first = new DaemonProcess(ns, ['run', path]);
    await first.waitForState('installed');
    first.signal('SIGKILL');
    await first.exited;
    assert.ok(existsSync(join(first.runDir, 'office.sock')), 'SIGKILL leaves the socket behind');

    // Reuse the dead run's folder: the new daemon finds nobody answering and takes over.
    const second = new DaemonProcess(ns, ['run', path, '--run-dir', first.runDir]);
    await second.waitForState('installed');
    assert.equal(statusJson(first.runDir, 'office').pid, second.child.pid);

    const table = ns.ip('route', 'show', 'table', 'all');
    const third = new DaemonProcess(ns, ['run', path, '--run-dir', first.runDir]);
    assert.equal(await third.exited, 75);
    // The profile's lock (instance-lock.ts) refuses it before its status socket would.
    assert.match(third.stderr, /the profile is already running|another tunroute is running this profile/);
    assert.equal(ns.ip('route', 'show', 'table', 'all'), table, 'the refused instance touched nothing');
    assert.equal(statusJson(first.runDir, 'office').pid, second.child.pid, 'the running one still answers');

    second.signal('SIGTERM');
    assert.equal(await second.exited, 0);
  });
});

test('status: no daemon at all is exit 3; a run folder others can write is not believed', (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  const empty = mkdtempSync(join(tmpdir(), 'tunroute-run-'));
  const none = status(['--run-dir', empty]);
  assert.equal(none.status, 3);
  assert.match(none.stderr, /no tunroute daemon is running/);
  chmodSync(empty, 0o777);
  const open = status(['--run-dir', empty]);
  assert.equal(open.status, 1);
  assert.match(open.stderr, /is writable by group or others/);

});

test('status: not root is exit 77', (t) => {
  const why = cannotRunAsNobody();
  if (why) return t.skip(why);
  const nobody = asNobody(['status']);
  assert.equal(nobody.status, 77, nobody.stderr);
  assert.match(nobody.stderr, /needs root/);
});

test('status: a socket left by a crash that nobody answers on counts as no daemon', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-run-'));
  // A process that listens on the socket and dies by SIGKILL leaves the file without a listener.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(join(dir, 'ghost.sock'))}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(existsSync(join(dir, 'ghost.sock')));
  const r = status(['--run-dir', dir]);
  assert.equal(r.status, 3, r.stderr);
});

test('--log-file: lines go to the file; after newsyslog renames it, SIGUSR2 starts a new one', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('logfile', async (ns) => {
    ns.addMachine();
    const { dir, path } = writeProfile(PROFILE);
    const log = join(dir, 'log', 'office.log');
    const d = new DaemonProcess(ns, ['run', path, '--log-file', log]);
    const sock = join(d.runDir, 'office.sock');
    const until = async (pred: () => boolean): Promise<void> => {
      for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(pred());
    };
    await until(() => existsSync(log) && readFileSync(log, 'utf8').includes('"state":"installed"'));
    assert.equal(statSync(log).mode & 0o777, 0o640);
    assert.equal(d.lines.length, 0, 'nothing on stdout');
    assert.ok(existsSync(sock));

    renameSync(log, `${log}.0`);
    d.signal('SIGUSR2');
    await until(() => existsSync(log));
    ns.ip('route', 'del', 'default', 'dev', 'tun0');
    await until(() => readFileSync(log, 'utf8').includes('"action":"restore"'));
    assert.doesNotMatch(readFileSync(`${log}.0`, 'utf8'), /"action":"restore"/, 'the rotated file gets nothing new');

    d.signal('SIGTERM');
    assert.equal(await d.exited, 0);
    assert.match(readFileSync(log, 'utf8'), /"msg":"stopped"/);
  });
});

test('waiting: the state line and status say what the daemon waits for and what to do', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('waiting', async (ns) => {
    ns.addVeth('veth0', 'veth1', '192.168.50.2/24');
    const { path } = writeProfile(PROFILE);
    const d = new DaemonProcess(ns, ['run', path]);
    const line = await d.waitForState('waiting');
    assert.equal(line.note, `waiting for tun0 (interface absent): start the tunnel that creates tun0 (for example \`wireguard-go tun0\`), or set interface.name in ${path} to your tunnel's interface`);
    const doc = statusJson(d.runDir, 'office');
    assert.equal(doc.state, 'waiting');
    assert.equal(doc.why, line.note);
    assert.equal(doc.tunnel, null);
    assert.deepEqual(doc.routes, []);

    const mark = d.lines.length;
    ns.ip('tuntap', 'add', 'dev', 'tun0', 'mode', 'tun');
    ns.ip('link', 'set', 'tun0', 'up');
    const noAddress = await d.waitFor((l) => l.state === 'waiting' && String(l.note).includes('(no address yet)'), 5000, mark);
    assert.equal(noAddress.note, `waiting for tun0 (no address yet): give tun0 10.10.10.2 (ip addr add), or change address in ${path}`);
    assert.equal(statusJson(d.runDir, 'office').why, noAddress.note);
    d.signal('SIGTERM');
    assert.equal(await d.exited, 0);
  });
});

test('status: the policy strategy shows its table and its rules, and moves nothing', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('status-policy', async (ns) => {
    ns.addMachine();
    const { path } = writeProfile((dir) => PROFILE(dir, 'policy'));
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('installed');
    const doc = statusJson(d.runDir, 'office');
    assert.equal(doc.strategy, 'policy');
    assert.deepEqual(doc.moved, [], 'main is left alone');
    assert.ok(doc.routes.some((r) => r.destination === '0.0.0.0/0' && r.origin === 'tunnel' && r.table === 51820), JSON.stringify(doc.routes));
    const kernelRules = ns.ip('-4', 'rule').split('\n').filter((l) => /lookup 51820|suppress_prefixlength/.test(l)).length;
    assert.ok(doc.rules.length > 0 && doc.rules.filter((r) => r.family === 'inet').length === kernelRules, `the rules it installed, as the kernel has them: ${JSON.stringify(doc.rules)}`);
    const text = status(['--run-dir', d.runDir, 'office']);
    assert.match(text.stdout, /^ {2}rules \(\d+\):\n {4}priority +family +rule$/m);
    assert.match(text.stdout, /lookup 51820/);
    d.signal('SIGTERM');
    assert.equal(await d.exited, 0);
  });
});

test('under launchd, the run after an unclean stop only finishes the cleanup and exits 0, so KeepAlive leaves the tunnel stopped', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('unclean', async (ns) => {
    ns.addMachine();
    const before = ns.ip('route', 'show', 'table', 'all');
    const { path } = writeProfile(PROFILE);
    const env = { TUNROUTE_LAUNCHD_LABEL: 'org.tunroute.office' };
    const first = new DaemonProcess({ spawn: (cmd, args) => ns.spawn(cmd, args, { env: { ...process.env, ...env } }) }, ['run', path]);
    await first.waitForState('installed');
    // What an unclean stop leaves: routes still in place (here a SIGKILL) and the marker.
    first.signal('SIGKILL');
    await first.exited;
    const marker = join(first.runDir, 'org.tunroute.office.stopped');
    writeFileSync(marker, '1\n');
    assert.notEqual(ns.ip('route', 'show', 'table', 'all'), before);

    const restart = new DaemonProcess({ spawn: (cmd, args) => ns.spawn(cmd, args, { env: { ...process.env, ...env } }) }, ['run', path, '--run-dir', first.runDir]);
    assert.equal(await restart.exited, 0, restart.stderr);
    assert.equal(ns.ip('route', 'show', 'table', 'all'), before, 'the cleanup is finished');
    assert.equal(existsSync(marker), false, 'the marker is used once');
    assert.ok(restart.lines.some((l) => String(l.msg).includes('did not finish its cleanup; finishing it and staying stopped')), restart.tail());

    const next = new DaemonProcess({ spawn: (cmd, args) => ns.spawn(cmd, args, { env: { ...process.env, ...env } }) }, ['run', path, '--run-dir', first.runDir]);
    await next.waitForState('installed');
    next.signal('SIGTERM');
    assert.equal(await next.exited, 0);
    assert.equal(existsSync(marker), false, 'a clean stop leaves no marker');
  });
});
