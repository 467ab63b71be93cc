// `tunroute run` against the real Linux kernel, in namespaces made (and removed) here.
// A tun device stands in for the tunnel; a veth pair is the physical network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { skipUnlessLinuxRoot, withNetns, type Netns } from '../helpers/netns.js';
import { CLI, DaemonProcess, writeProfile } from '../helpers/daemon-process.js';

const TAG = 'proto 232';

function setUpMachine(ns: Netns): void {
  ns.addVeth('veth0', 'veth1', '192.168.50.2/24');
  ns.ip('route', 'add', 'default', 'via', '192.168.50.1', 'dev', 'veth0');
  addTun(ns);
}

function addTun(ns: Netns): void {
  ns.ip('tuntap', 'add', 'dev', 'tun0', 'mode', 'tun');
  ns.ip('addr', 'add', '10.10.10.2/32', 'peer', '10.10.10.1', 'dev', 'tun0');
  ns.ip('link', 'set', 'tun0', 'up');
}

/** Everything a run could change: both families' routes in every table, and the rules. */
function table(ns: Netns): string {
  return ns.tables();
}

/** SIGTERM: exit status 0 and the table exactly as it was before the daemon started. */
async function stopAndCompare(d: DaemonProcess, ns: Netns, before: string): Promise<void> {
  d.signal('SIGTERM');
  assert.equal(await d.exited, 0);
  assert.equal(table(ns), before, 'the table is exactly as it was');
}

/** Full mode here is `replace` (the e2e suite runs every strategy); IPv6 is blocked, the default. */
function profile(dir: string, extra = ''): string {
  return `interface:
  name: tun0
address: 10.10.10.2
fullTunnel:
  strategy: replace
endpoints:
  - 192.168.60.1
daemon:
  journal: ${join(dir, 'journal.json')}
  reconcileInterval: 2s
${extra}`;
}

test('full tunnel (replace): installs, heals an external delete, and SIGTERM leaves the table exactly as before', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('full', async (ns) => {
    setUpMachine(ns);
    const before = table(ns);
    const { dir, path } = writeProfile((dir) => profile(dir));
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('installed');
    const main = ns.ip('route', 'show');
    assert.match(main, new RegExp(`^default dev tun0 ${TAG} scope link`, 'm'), 'the tunnel owns the default');
    assert.match(main, new RegExp(`^default via 192\\.168\\.50\\.1 dev veth0 ${TAG} metric 1`, 'm'), 'the physical default moved one metric up');
    assert.doesNotMatch(main, /^default via 192\.168\.50\.1 dev veth0 *$/m, 'the original physical default is gone');
    assert.match(main, new RegExp(`^192\\.168\\.60\\.1 via 192\\.168\\.50\\.1 dev veth0 ${TAG}`, 'm'), 'the endpoint bypasses the tunnel');
    assert.match(main, new RegExp(`^224\\.0\\.0\\.0/4 dev tun0 ${TAG}`, 'm'));
    assert.match(main, new RegExp(`^255\\.255\\.255\\.255 dev tun0 ${TAG}`, 'm'));
    assert.match(ns.ip('-6', 'route', 'show'), new RegExp(`^unreachable default dev lo ${TAG} metric 1 `, 'm'), 'IPv6 is blocked (the tunnel has no IPv6)');
    assert.ok(existsSync(join(dir, 'journal.json')), 'the moved physical default is journaled');

    const mark = d.lines.length;
    ns.ip('route', 'del', 'default', 'dev', 'tun0');
    await d.waitFor((l) => l.action === 'restore' && l.destination === '0.0.0.0/0', 5000, mark);
    assert.match(ns.ip('route', 'show'), /^default dev tun0/m, 'put back');

    d.signal('SIGTERM');
    assert.equal(await d.exited, 0);
    assert.equal(table(ns), before, 'the table is exactly as it was');
    assert.equal(existsSync(join(dir, 'journal.json')), false, 'the journal is cleared');
  });
});

test('link down gives the physical default back; up reinstalls; a deleted and recreated device is found again', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('link', async (ns) => {
    setUpMachine(ns);
    const before = table(ns);
    const { dir, path } = writeProfile((dir) => profile(dir));
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('installed');

    let mark = d.lines.length;
    ns.ip('link', 'set', 'tun0', 'down');
    await d.waitForState('waiting', 5000, mark);
    assert.match(ns.ip('route', 'show'), /^default via 192\.168\.50\.1 dev veth0 *$/m, 'onTunnelDown restore: the physical default is back');
    assert.doesNotMatch(ns.ip('route', 'show'), new RegExp(TAG), 'nothing of ours is left while the tunnel is down');

    mark = d.lines.length;
    ns.ip('link', 'set', 'tun0', 'up');
    await d.waitForState('installed', 5000, mark);
    assert.match(ns.ip('route', 'show'), /^default dev tun0/m);

    mark = d.lines.length;
    ns.ip('link', 'del', 'tun0');
    await d.waitForState('waiting', 5000, mark);
    mark = d.lines.length;
    addTun(ns);
    await d.waitFor((l) => l.msg === 'tunnel interface changed', 5000, mark);
    await d.waitForState('installed', 5000, mark);
    assert.match(ns.ip('route', 'show'), /^default dev tun0/m, 'installed on the new device');

    await stopAndCompare(d, ns, before);
  });
});

test('after SIGKILL, `tunroute restore` and a restarted daemon both sweep what was left', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('kill', async (ns) => {
    setUpMachine(ns);
    const before = table(ns);
    const { dir, path } = writeProfile((dir) => profile(dir));

    const first = new DaemonProcess(ns, ['run', path]);
    await first.waitForState('installed');
    first.signal('SIGKILL');
    await first.exited;
    assert.match(ns.ip('route', 'show'), new RegExp(TAG), 'a killed daemon leaves its routes');
    assert.notEqual(table(ns), before);

    const restore = ns.exec('node', [CLI, 'restore', path]);
    assert.equal(restore.status, 0, restore.stderr);
    // The endpoint, 0/0, 224/4, 255.255.255.255 and the IPv6 block (unreachable ::/0).
    assert.match(restore.stdout, /removed 6 route\(s\)\/rule\(s\), restored 1 moved route\(s\)/);
    assert.equal(table(ns), before, 'restore puts the table back');

    const second = new DaemonProcess(ns, ['run', path]);
    await second.waitForState('installed');
    second.signal('SIGKILL');
    await second.exited;
    const third = new DaemonProcess(ns, ['run', path]);
    await third.waitFor((l) => l.msg === 'swept leftovers of an earlier run');
    await third.waitForState('installed');
    await stopAndCompare(third, ns, before);
  });
});

test('an invalid reload keeps the running configuration; a valid one is applied as a diff', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('reload', async (ns) => {
    setUpMachine(ns);
    const before = table(ns);
    const { dir, path } = writeProfile((dir) => profile(dir));
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('installed');
    const installed = ns.ip('route', 'show');

    let mark = d.lines.length;
    writeFileSync(path, profile(dir) + 'routes:\n  - 10.0.0.0/33\n');
    const refused = await d.waitFor((l) => typeof l.problem === 'string', 5000, mark);
    assert.match(String(refused.problem), /routes\[0\]: "10\.0\.0\.0\/33"/);
    assert.equal(ns.ip('route', 'show'), installed, 'nothing changed');
    assert.equal(d.child.exitCode, null, 'still running');

    mark = d.lines.length;
    writeFileSync(path, profile(dir, 'multicast: false\n'));
    await d.waitFor((l) => l.msg === 'profile reloaded', 5000, mark);
    // The run that applies the reload ends by logging the installed state.
    await d.waitFor((l) => l.state === 'installed' && l.from === 'reloading', 5000, mark);
    assert.doesNotMatch(ns.ip('route', 'show'), /224\.0\.0\.0\/4/);
    const changed = d.lines.slice(mark).filter((l) => typeof l.action === 'string');
    assert.deepEqual(changed.map((l) => [l.action, l.destination]), [['remove-stale', '224.0.0.0/4']], 'only the multicast route was touched');

    mark = d.lines.length;
    d.signal('SIGHUP');
    await d.waitFor((l) => l.msg === 'profile reloaded' && l.reason === 'SIGHUP', 5000, mark);
    await d.waitFor((l) => l.state === 'installed' && l.from === 'reloading', 5000, mark);
    assert.equal(d.lines.slice(mark).filter((l) => typeof l.action === 'string').length, 0, 'an unchanged profile changes nothing');

    await stopAndCompare(d, ns, before);
  });
});

test('split mode: a dedicated table and an ip rule for the tunnel address, both removed on exit', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('split', async (ns) => {
    setUpMachine(ns);
    const before = table(ns);
    const { dir, path } = writeProfile((dir) => profile(dir, 'mode: split\nroutes:\n  - 10.20.0.0/16\n'));
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('installed');
    assert.match(ns.ip('rule'), /^10000:\s+from 10\.10\.10\.2 lookup 51820 proto 232/m);
    assert.match(ns.ip('route', 'show', 'table', '51820'), /^default dev tun0/m);
    assert.match(ns.ip('route', 'show'), /^10\.20\.0\.0\/16 dev tun0/m, 'listed prefixes go through the tunnel');
    assert.match(ns.ip('route', 'show'), /^default via 192\.168\.50\.1 dev veth0 *$/m, 'the physical default is untouched');
    await stopAndCompare(d, ns, before);
  });
});

test('a profile with problems: exit 78, one line per problem, nothing changed', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('bad', (ns) => {
    setUpMachine(ns);
    const before = table(ns);
    const { path } = writeProfile('interface:\n  name: tun0\nmode: sideways\nroutez: []\n');
    const r = spawnSync('ip', ['netns', 'exec', ns.name, 'node', CLI, 'run', path], { encoding: 'utf8' });
    assert.equal(r.status, 78);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 3, r.stderr);
    assert.match(lines[0] ?? '', /profile\.yaml:3:7 mode: /);
    assert.match(lines[1] ?? '', /profile\.yaml:4:1 routez: /);
    assert.match(lines[2] ?? '', /refusing to start: 2 problem\(s\)/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(table(ns), before);
  });
});
