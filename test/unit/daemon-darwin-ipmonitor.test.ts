// The route-writing strategies (`replace`, `split-default`) against the model's ACTIVE
// IPMonitor (test/xnu/ipmonitor.ts): configd re-applies en0's service on every DHCP renewal
// or roam (EEXIST → delete → add), which takes the unscoped default back from the tunnel.
// tunroute must take it back every time (never damped), and the window in which en0 holds
// it (a leak) is measured here.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AF, CONFIGD_PID, RTF, RTM, readRtHeader } from '../xnu/index.js';
import { abortRunning, byDestination, DAEMON_PID, seedMachine, SEED_FULL, startDaemon, untagged, type Harness } from '../helpers/darwin-daemon.js';

afterEach(abortRunning);

const unscopedDefaults = (h: Harness): string[] => h.netstat().filter((r) => r.destination === 'default' && !r.flags.includes('I')).map((r) => r.netif);

/**
 * The kernel's own record (a tap on raw_input, synchronous with the table change): the time
 * (ns) from configd's successful RTM_ADD of en0's unscoped default to the daemon's RTM_DELETE
 * of it, per episode. That is how long unbound traffic could leave through en0.
 */
function leakMeter(h: Harness) {
  const windows: number[] = [];
  let openedAt: bigint | null = null;
  const off = h.mac.kernel.tap((bytes) => {
    const at = process.hrtime.bigint();
    if (bytes.length < 100 || bytes[3]! > RTM.GET || bytes[93] !== AF.INET) return;
    const rt = readRtHeader(bytes);
    const unscopedDefault = Buffer.from(bytes).readUInt32BE(92 + 4) === 0 && !(rt.flags & RTF.IFSCOPE) && rt.errno === 0;
    if (!unscopedDefault) return;
    // configd only ever adds en0's unscoped default here (the tunnel's is ours).
    if (rt.type === RTM.ADD && rt.pid === CONFIGD_PID) openedAt = at;
    if (rt.type === RTM.DELETE && rt.pid === DAEMON_PID && rt.index === h.mac.en0.index && openedAt !== null) {
      windows.push(Number(at - openedAt));
      openedAt = null;
    }
  });
  return { windows, off };
}

test('replace: every DHCP renewal, the unscoped default comes back to the tunnel: the demotion is never damped, its logging is', async (t) => {
  const mac = seedMachine();
  const before = mac.kernel.routes();
  const h = startDaemon(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\nendpoints:\n  - 198.51.100.7\n');
  await h.daemon.start();
  await h.state('installed');
  assert.deepEqual(byDestination(untagged(h.netstat('utun7'))), byDestination(SEED_FULL));
  const meter = leakMeter(h);
  const mark = h.logs.length;
  const EPISODES = 12; // more than daemon.flap.maxRepairs (5): damping would leave en0 the default for 1 s, 2 s …
  for (let i = 0; i < EPISODES; i++) {
    const seen = h.logs.length;
    mac.network.renew();
    await mac.configd.settle();
    await h.waitFor((l) => l.action === 'remove-unscoped' && l.destination === '0.0.0.0/0', seen, 1000);
    await h.waitFor((l) => l.destination === '0.0.0.0/0' && l.gateway === 'link#36' && l.result === 'ok', seen, 1000);
    assert.deepEqual(unscopedDefaults(h), ['utun7'], `episode ${i + 1}: the tunnel holds the unscoped default again`);
    assert.ok(h.netstat('en0').some((r) => r.destination === 'default' && r.flags.includes('I')), 'en0 keeps a scoped default');
  }
  meter.off();
  assert.equal(meter.windows.length, EPISODES, 'one leak window per IPMonitor episode, each closed');
  const ms = meter.windows.map((n) => n / 1e6).sort((a, b) => a - b);
  t.diagnostic(`leak window per IPMonitor episode (configd's RTM_ADD of en0's unscoped default → tunroute's RTM_DELETE of it), ${EPISODES} episodes: median ${ms[ms.length >> 1]!.toFixed(2)} ms, max ${ms.at(-1)!.toFixed(2)} ms`);
  const moves = h.logs.slice(mark).filter((l) => l.msg === 'foreign change: a physical route holds a destination the tunnel takes; moving it aside' && l.destination === '0.0.0.0/0');
  assert.equal(moves.length, EPISODES);
  assert.ok(moves.filter((l) => l.level === 20).length > 0, 'later moves are logged at debug level');
  const warnings = h.logs.slice(mark).filter((l) => typeof l.msg === 'string' && l.msg.startsWith('flapping') && l.destination === '0.0.0.0/0');
  assert.equal(warnings.length, 1, 'one warning for the episode');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(mac.kernel.routes(), before, 'configd\'s default is the one restored');
});

test('onTunnelDown: block: while the tunnel is down, every renewal or roam that brings en0\'s routes back is undone at once', async (t) => {
  const mac = seedMachine();
  const h = startDaemon(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\nendpoints:\n  - 198.51.100.7\n', undefined, undefined, '  onTunnelDown: block\n');
  await h.daemon.start();
  await h.state('installed');
  let mark = h.logs.length;
  mac.kernel.setDown('utun7');
  await h.state('waiting', mark);
  const blocked = (): boolean => !h.netstat().some((r) => ['default', '224.0.0/4', '255.255.255.255/32'].includes(r.destination) && !r.flags.includes('I'));
  assert.ok(blocked(), 'nothing unscoped to the default, multicast or broadcast while the tunnel is down');
  const meter = leakMeter(h);
  const EPISODES = 8;
  for (let i = 0; i < EPISODES; i++) {
    const seen = h.logs.length;
    if (i === EPISODES - 1) mac.network.roam({ address: '192.168.1.10', netmask: '255.255.255.0', router: '192.168.1.254' });
    else mac.network.renew();
    await mac.configd.settle();
    await h.waitFor((l) => l.action === 'remove-unscoped' && l.destination === '0.0.0.0/0', seen, 1000);
    await h.waitFor((l) => l.action === 'remove-unscoped' && l.destination === '255.255.255.255/32', seen, 1000);
    assert.ok(blocked(), `episode ${i + 1}: en0's routes are moved aside again`);
  }
  meter.off();
  assert.equal(meter.windows.length, EPISODES);
  const ms = meter.windows.map((n) => n / 1e6).sort((a, b) => a - b);
  t.diagnostic(`onTunnelDown block, leak window per IPMonitor episode while the tunnel is down, ${EPISODES} episodes: median ${ms[ms.length >> 1]!.toFixed(2)} ms, max ${ms.at(-1)!.toFixed(2)} ms`);
  // The tunnel comes back; on teardown the network that is there now (the roam's gateway) returns.
  mark = h.logs.length;
  mac.kernel.setUp('utun7');
  await h.state('installed', mark);
  assert.deepEqual(unscopedDefaults(h), ['utun7']);
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(h.netstat().filter((r) => r.destination === 'default').map((r) => [r.netif, r.gateway, r.flags]), [['en0', '192.168.1.254', 'UGScg']]);
  assert.ok(!h.netstat().some((r) => r.flags.includes('1')), 'nothing tagged is left');
});

test('IPv6: the moved `::/0 via fe80::1%en0` keeps its zone and is restored exactly (KAME-embedded gateway)', async () => {
  const mac = seedMachine({ ipv6: true });
  mac.kernel.addIPv6Address('utun7', { address: 'fd00::2', prefixLength: 64 });
  const before = mac.kernel.routes();
  const h = startDaemon(mac, 'interface:\n  name: utun7\naddress: [10.10.10.2, fd00::2]\nipv6: true\nendpoints:\n  - "[2001:db8:5::7]:51820"\n');
  await h.daemon.start();
  await h.state('installed');
  const v6 = () => mac.kernel.netstat(AF.INET6).filter((r) => r.destination === 'default' || r.destination === '2001:db8:5::7').map((r) => [r.destination, r.gateway, r.flags.replace('1', ''), r.netif]);
  assert.deepEqual(v6(), [
    ['default', 'link#36', 'UCSg', 'utun7'],
    ['default', 'fe80::1%en0', 'UGcIg', 'en0'],
    ['2001:db8:5::7', 'fe80::1%en0', 'UGHS', 'en0'],
  ]);
  const journal = JSON.parse(readFileSync(join(h.dir, 'journal.json'), 'utf8')) as { moved: Array<{ route: { destination: string; gateway: unknown } }> };
  assert.deepEqual(journal.moved.find((m) => m.route.destination === '::/0')?.route.gateway, { address: 'fe80::1', scope: mac.en0.index }, 'the journal keeps the zone');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(mac.kernel.routes(), before, 'the RA default is back with its embedded scope, byte for byte');
});

test('exclude: a prefix inside en0\'s connected subnet goes on-link, a wider one via the gateway (facts from the live interface)', async () => {
  const mac = seedMachine();
  const h = startDaemon(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\nexclude:\n  - 192.168.1.128/25\n  - 192.168.0.0/16\n');
  await h.daemon.start();
  await h.state('installed');
  const rows = h.netstat('en0').filter((r) => r.destination.startsWith('192.168.0/16') || r.destination.startsWith('192.168.1.128')).map((r) => [r.destination, r.gateway, r.flags]);
  assert.deepEqual(rows, [['192.168.0/16', '192.168.1.1', 'UGS1c'], ['192.168.1.128/25', 'link#4', 'UCS1']]);
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
});

test('after a reboot, the journal\'s entries from the earlier boot are dropped, not restored on the new boot\'s interfaces', async () => {
  const BOOT = 1_790_000_000;
  const first = startDaemon(seedMachine(), 'interface:\n  name: utun7\naddress: 10.10.10.2\n', undefined, undefined, '', BOOT);
  await first.daemon.start();
  await first.state('installed');
  await first.kill(); // power loss: the moved routes stay in the journal
  const journaled = JSON.parse(readFileSync(join(first.dir, 'journal.json'), 'utf8')) as { moved: Array<{ route: { destination: string }; bootTime: number }> };
  assert.deepEqual(journaled.moved.map((m) => [m.route.destination, m.bootTime]), [['0.0.0.0/0', BOOT], ['224.0.0.0/4', BOOT], ['255.255.255.255/32', BOOT]]);

  // The next boot: a fresh kernel, and this time en0's lease has no router yet.
  const mac = seedMachine({ withoutDefault: true });
  const before = mac.kernel.routes();
  const second = startDaemon(mac, '', first.dir, DAEMON_PID + 1, '', BOOT + 86_400);
  await second.daemon.start();
  await second.state('installed');
  const stale = second.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('journal entry from an earlier boot'));
  assert.deepEqual(stale.map((l) => l.destination), ['0.0.0.0/0', '224.0.0.0/4', '255.255.255.255/32']);
  assert.equal(await second.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(mac.kernel.routes(), before, 'no default via the earlier boot\'s gateway appeared');
});

test('split-default: IPMonitor\'s renewals and roams never touch 0/1 + 128/1; en0 keeps what it holds; the endpoint follows a roam', async () => {
  const mac = seedMachine();
  const h = startDaemon(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\nfullTunnel:\n  strategy: split-default\nendpoints:\n  - 198.51.100.7\n');
  await h.daemon.start();
  await h.state('installed');
  const halves = () => h.netstat('utun7').filter((r) => r.destination === '0/1' || r.destination === '128.0/1').map((r) => `${r.destination} ${r.flags}`);
  assert.deepEqual(halves(), ['0/1 UCS1g', '128.0/1 UCS1']);
  assert.ok(h.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('224.0.0.0/4 is held by en0')), 'multicast stays with en0, and the log says so');
  const mark = h.logs.length;
  for (let i = 0; i < 6; i++) {
    mac.network.renew();
    await mac.configd.settle();
  }
  mac.network.roam({ address: '192.168.1.10', netmask: '255.255.255.0', router: '192.168.1.254' });
  await mac.configd.settle();
  await h.waitFor((l) => l.action === 'update' && l.destination === '198.51.100.7/32' && l.gateway === '192.168.1.254', mark);
  assert.deepEqual(halves(), ['0/1 UCS1g', '128.0/1 UCS1']);
  assert.ok(!h.logs.slice(mark).some((l) => l.action === 'restore' || l.action === 'remove-unscoped'), 'nothing of ours was lost, nothing of en0\'s moved');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.ok(!h.netstat().some((r) => r.flags.includes('1')));
});
