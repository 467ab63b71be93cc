// Ownership against the real Linux kernel: several profiles side by side, one daemon per
// profile, tagged routes of others left alone, and moved routes restored exactly. The
// "tunnels" are veth pairs into peer namespaces that hold the far addresses, so traffic
// through each tunnel is real and answered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Netns, skipUnlessLinuxRoot, sweepStaleNamespaces, withNetns } from '../helpers/netns.js';
import { CLI, DaemonProcess, writeProfile } from '../helpers/daemon-process.js';
import { asNobody, cannotRunAsNobody } from '../helpers/nobody.js';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';

/** Everything a run could change, with every attribute `ip -d` shows. */
function table(ns: Netns): string {
  return ns.tables({ details: true });
}

/** A veth "tunnel" `dev` with `address`, whose peer namespace answers as `far`. */
function addTunnel(ns: Netns, peer: Netns, dev: string, address: string, far: string): void {
  ns.ip('link', 'add', dev, 'type', 'veth', 'peer', 'name', 'p0');
  ns.ip('link', 'set', 'p0', 'netns', peer.name);
  ns.ip('addr', 'add', `${address}/32`, 'dev', dev);
  ns.ip('link', 'set', dev, 'up');
  peer.ip('addr', 'add', `${far}/32`, 'dev', 'p0');
  peer.ip('link', 'set', 'p0', 'up');
  peer.ip('route', 'add', `${address}/32`, 'dev', 'p0');
}

function ping(ns: Netns, address: string): boolean {
  return ns.exec('ping', ['-c', '1', '-W', '2', address]).status === 0;
}

async function withPeers(label: string, fn: (ns: Netns, a: Netns, b: Netns) => Promise<void>): Promise<void> {
  await withNetns(label, async (ns) => {
    sweepStaleNamespaces();
    const a = new Netns(`${label}a`);
    const b = new Netns(`${label}b`);
    a.create();
    b.create();
    try {
      ns.addVeth('veth0', 'veth1', '192.168.50.2/24');
      ns.ip('route', 'add', 'default', 'via', '192.168.50.1', 'dev', 'veth0');
      addTunnel(ns, a, 'wga', '10.10.10.2', '198.51.100.1');
      addTunnel(ns, b, 'wgb', '10.20.20.2', '203.0.113.1');
      await fn(ns, a, b);
    } finally {
      a.destroy();
      b.destroy();
    }
  });
}

/** Full mode here is `replace`, the strategy that moves the physical default (and must restore it exactly). */
const FULL = (dir: string, name = 'wga'): string => `name: ${name}
interface:
  name: wga
address: 10.10.10.2
fullTunnel:
  strategy: replace
endpoints:
  - 192.168.60.1
daemon:
  journal: ${join(dir, `${name}.journal.json`)}
  reconcileInterval: 2s
`;

const SPLIT = (dir: string): string => `name: wgb
interface:
  name: wgb
address: 10.20.20.2
mode: split
routes:
  - 203.0.113.0/24
linux:
  table: 51821
  rulePriority: 10001
daemon:
  journal: ${join(dir, 'wgb.journal.json')}
  reconcileInterval: 2s
`;

function profileIn(dir: string, name: string, text: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, text);
  chmodSync(path, 0o600);
  return path;
}

test('two profiles side by side: both tunnels carry traffic, each SIGTERM leaves the other in place; a second run of one and a conflicting profile are refused (exit 75)', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withPeers('two', async (ns) => {
    const before = table(ns);
    const { dir, path: fullPath } = writeProfile((d) => FULL(d), 'wga.yaml');
    const splitPath = profileIn(dir, 'wgb', SPLIT(dir));
    const full = new DaemonProcess(ns, ['run', fullPath]);
    await full.waitForState('installed');
    const split = new DaemonProcess(ns, ['run', splitPath]);
    await split.waitForState('installed');
    const withBoth = table(ns);
    assert.ok(ping(ns, '198.51.100.1'), 'the full tunnel carries the default traffic');
    assert.ok(ping(ns, '203.0.113.1'), 'the split tunnel carries its prefix');
    // Two reconcile periods: neither removes the other's routes or rules as stale.
    await new Promise((r) => setTimeout(r, 4500));
    assert.equal(table(ns), withBoth, 'no fight: the table did not change');
    assert.equal([...full.lines, ...split.lines].filter((l) => typeof l.action === 'string' && String(l.action).startsWith('remove')).length, 1, 'only the moved physical default was ever removed');

    const again = ns.exec('node', [CLI, 'run', fullPath]);
    assert.equal(again.status, 75, again.stderr);
    assert.match(again.stderr, new RegExp(`another tunroute is running this profile \\(pid ${full.child.pid}`));
    const otherFull = profileIn(dir, 'other', FULL(dir, 'other').replace(/wga\n/, 'wgb\n'));
    const conflict = ns.exec('node', [CLI, 'run', otherFull]);
    assert.equal(conflict.status, 75, conflict.stderr);
    assert.match(conflict.stderr, /conflicts with the running profile "wga" .*the unscoped IPv4 default route/);
    assert.equal(table(ns), withBoth, 'the refused runs changed nothing');

    full.signal('SIGTERM');
    assert.equal(await full.exited, 0);
    assert.match(ns.ip('rule'), /^10001:\s+from 10\.20\.20\.2 lookup 51821 proto 232/m, 'the split profile keeps its rule');
    assert.match(ns.ip('route', 'show'), /^203\.0\.113\.0\/24 dev wgb proto 232/m, 'and its route');
    assert.ok(ping(ns, '203.0.113.1'), 'and its traffic');
    split.signal('SIGTERM');
    assert.equal(await split.exited, 0);
    assert.equal(table(ns), before, 'both gone: the table is exactly as before');
  });
});

test('tagged routes no journal of ours lists (another tool\'s protocol 232, a leftover) are left alone, at start, while running and at stop; restore --all-tagged removes them on request', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withPeers('foreign', async (ns) => {
    ns.ip('route', 'add', '192.0.2.0/24', 'via', '192.168.50.1', 'proto', '232');
    ns.ip('route', 'add', '10.77.0.0/16', 'dev', 'wgb', 'proto', '232');
    const before = table(ns);
    const { path } = writeProfile((d) => FULL(d));
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('installed');
    await d.waitFor((l) => typeof l.msg === 'string' && l.msg.includes('no journal of this profile lists it'));
    assert.match(ns.ip('route', 'show'), /^192\.0\.2\.0\/24 via 192\.168\.50\.1 dev veth0 proto 232/m);
    assert.match(ns.ip('route', 'show'), /^10\.77\.0\.0\/16 dev wgb proto 232/m);
    d.signal('SIGTERM');
    assert.equal(await d.exited, 0);
    assert.equal(table(ns), before, 'the foreign tagged routes are still there, ours are gone');
    const all = ns.exec('node', [CLI, 'restore', path, '--all-tagged']);
    assert.equal(all.status, 0, all.stderr);
    assert.doesNotMatch(ns.ip('route', 'show'), /proto 232/, 'on request, every tagged route goes');
  });
});

test('exact restore: a physical default with protocol, src, metrics with a lock, and one through a nexthop object come back byte for byte', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withPeers('exact', async (ns) => {
    ns.ip('route', 'del', 'default');
    ns.ip('route', 'add', 'default', 'via', '192.168.50.1', 'dev', 'veth0', 'proto', 'dhcp', 'src', '192.168.50.2', 'advmss', '1400', 'initcwnd', '10', 'mtu', 'lock', '1400');
    const before = table(ns);
    const { path } = writeProfile((d) => FULL(d));
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('installed');
    assert.doesNotMatch(ns.ip('route', 'show'), /^default via 192\.168\.50\.1 dev veth0 proto dhcp/m, 'moved aside');
    const mark = d.lines.length;
    d.signal('SIGTERM');
    assert.equal(await d.exited, 0);
    assert.equal(table(ns), before, 'proto dhcp, src, advmss, initcwnd and the mtu lock are all back');
    // Teardown in the plan's reverse order: tunnel routes, the original back, its copy, the endpoint last.
    const order = d.lines.slice(mark).filter((l) => typeof l.action === 'string').map((l) => `${String(l.action)} ${String(l.destination)} ${String(l.gateway)}`);
    const at = (line: string): number => order.indexOf(line);
    const tunnelDefault = order.findIndex((o) => o.startsWith('remove 0.0.0.0/0 link#'));
    assert.ok(tunnelDefault >= 0 && at('restore-physical 0.0.0.0/0 192.168.50.1') > tunnelDefault, `the tunnel's default goes before the original comes back:\n${order.join('\n')}`);
    assert.ok(at('remove 0.0.0.0/0 192.168.50.1') > at('restore-physical 0.0.0.0/0 192.168.50.1'), 'the copy goes after the original is back');
    assert.equal(at('remove 192.168.60.1/32 192.168.50.1'), order.length - 1, 'the endpoint route goes last');

    ns.ip('route', 'del', 'default');
    ns.ip('nexthop', 'add', 'id', '7', 'via', '192.168.50.1', 'dev', 'veth0');
    ns.ip('route', 'add', 'default', 'nhid', '7', 'proto', 'static');
    const withNexthop = table(ns);
    const e = new DaemonProcess(ns, ['run', path]);
    await e.waitForState('installed');
    assert.doesNotMatch(ns.ip('route', 'show'), /^default nhid 7/m, 'the default through nexthop 7 is moved aside');
    assert.match(ns.ip('route', 'show'), /^default dev wga proto 232/m);
    e.signal('SIGKILL');
    await e.exited;
    const restore = ns.exec('node', [CLI, 'restore', path]);
    assert.equal(restore.status, 0, restore.stderr);
    assert.equal(table(ns), withNexthop, 'after SIGKILL, restore puts back the route through nexthop 7');
    assert.match(ns.ip('route', 'show'), /^default nhid 7 via 192\.168\.50\.1 dev veth0 proto static/m);
  });
});

test('an onlink default whose copy cannot be added stays in place (degraded, exit 0, nothing lost); two defaults at one metric both survive', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withPeers('onlink', async (ns) => {
    ns.ip('route', 'del', 'default');
    ns.ip('route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'veth0', 'onlink');
    const before = table(ns);
    const { dir: dir2, path } = writeProfile((d) => FULL(d));
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('degraded');
    assert.match(ns.ip('route', 'show'), /^default via 192\.0\.2\.1 dev veth0 onlink/m, 'the original stays');
    d.signal('SIGTERM');
    assert.equal(await d.exited, 0);
    assert.equal(table(ns), before);

    ns.ip('route', 'del', 'default');
    ns.ip('route', 'add', 'default', 'via', '192.168.50.1', 'dev', 'veth0');
    ns.ip('route', 'append', 'default', 'via', '192.168.50.3', 'dev', 'veth0');
    const twoDefaults = table(ns);
    const e = new DaemonProcess(ns, ['run', path]);
    // The first default is moved; the second then holds the key and is moved too.
    await e.waitFor((l) => l.action === 'remove-unscoped' && l.gateway === '192.168.50.1');
    await e.waitFor((l) => l.action === 'remove-unscoped' && l.gateway === '192.168.50.3', 8000);
    await e.waitForState('installed', 8000);
    const journal = JSON.parse(readFileSync(join(dir2, 'wga.journal.json'), 'utf8')) as { moved: Array<{ route: { gateway: { address: string } } }> };
    assert.deepEqual(journal.moved.map((m) => m.route.gateway.address), ['192.168.50.1', '192.168.50.3'], 'both are journaled');
    e.signal('SIGTERM');
    assert.equal(await e.exited, 0);
    assert.equal(table(ns), twoDefaults, 'both same-metric defaults are back, in their order');
  });
});

test('a moved route that cannot be put back keeps its journal entry and makes the exit status 1; restore says so too', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withPeers('lost', async (ns) => {
    const { dir, path } = writeProfile((d) => FULL(d));
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('installed');
    // The physical interface goes away while its default is moved aside.
    ns.ip('link', 'del', 'veth0');
    d.signal('SIGTERM');
    assert.equal(await d.exited, 1);
    assert.ok(d.lines.some((l) => l.action === 'restore-physical' && l.result === 'error'), 'the restore was tried');
    assert.ok(d.lines.some((l) => typeof l.msg === 'string' && /1 moved route\(s\) could not be restored; the journal keeps them/.test(l.msg)), d.tail());
    const journal = JSON.parse(readFileSync(join(dir, 'wga.journal.json'), 'utf8')) as { moved: Array<{ route: { destination: string } }> };
    assert.deepEqual(journal.moved.map((m) => m.route.destination), ['0.0.0.0/0'], 'the journal keeps the moved default');
    const r = ns.exec('node', [CLI, 'restore', path]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /1 could not be restored \(kept in .*wga\.journal\.json\)/);
  });
});

test('run as a non-root user stops at once: exit 77, "needs root"', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  const why = cannotRunAsNobody();
  if (why !== null) return t.skip(why);
  const { path } = writeProfile((d) => FULL(d));
  const r = asNobody(['run', path]);
  assert.equal(r.status, 77, r.stderr);
  assert.match(r.stderr, /^tunroute run: needs root/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
});
