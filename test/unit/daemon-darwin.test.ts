// The daemon's macOS behaviour, end to end, against the XNU model (test/xnu): the real
// Daemon, engine, darwin backend and codec, talking the PF_ROUTE wire format to a model
// kernel through the same binding interface the native addon provides.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMacScenario, CONFIGD_PID, buildRouteRequest, sockaddrIn, sockaddrIn6, parseIPv6, prefixMask, AF, RTAX, RTF, RTM, type MacScenario } from '../xnu/index.js';
import { abortRunning, byDestination, DAEMON_PID, profileText, SEED_FULL, seedMachine, startDaemon as start, untagged } from '../helpers/darwin-daemon.js';

afterEach(abortRunning);

/** ROUTE_TOOL_PID: `route delete` typed by hand, or another agent; configd itself is the scenario's IPMonitor. */
const ROUTE_TOOL_PID = 77;

/** Another process (route(8), another agent) writing real bytes. */
function routeTool(mac: MacScenario) {
  const socket = mac.kernel.openSocket({ pid: ROUTE_TOOL_PID });
  let seq = 100;
  const write = (type: number, dst: string, bits: number, gateway: string | null, flags: number, scope = 0): string => {
    const addrs: Record<number, Uint8Array> = { [RTAX.DST]: sockaddrIn(dst), [RTAX.NETMASK]: sockaddrIn(prefixMask(bits, 4)) };
    if (gateway) addrs[RTAX.GATEWAY] = sockaddrIn(gateway);
    try {
      socket.write(buildRouteRequest({ type, flags: flags | (scope ? RTF.IFSCOPE : 0), index: scope, seq: ++seq, addrs }));
      return 'ok';
    } catch (e) {
      return (e as { code: string }).code;
    }
  };
  return { write, close: () => socket.close() };
}

test('the seed\'s EEXIST problem solved: full tunnel while en0 owns the unscoped default gives NetworkExtension\'s table', async () => {
  const mac = seedMachine();
  const before = mac.kernel.routes();
  const h = start(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\nmode: full\n');
  await h.daemon.start();
  await h.state('installed');
  assert.deepEqual(byDestination(untagged(h.netstat('utun7'))), byDestination(SEED_FULL));
  const en0 = h.netstat('en0');
  assert.ok(en0.some((r) => r.destination === 'default' && r.gateway === '192.168.1.1' && r.flags.includes('I')), 'en0 keeps its scoped default');
  assert.ok(!en0.some((r) => r.destination === 'default' && !r.flags.includes('I')), 'no unscoped default left on en0');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(mac.kernel.routes(), before, 'SIGTERM restores the original table exactly');
});

test('split mode: the same routes scoped to the utun (UCSI), the physical default untouched', async () => {
  const mac = seedMachine();
  const before = mac.kernel.routes();
  const h = start(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\nmode: split\nroutes:\n  - 10.20.0.0/16\n');
  await h.daemon.start();
  await h.state('installed');
  const utun = byDestination(untagged(h.netstat('utun7')));
  assert.deepEqual(utun.filter((r) => ['default', '224.0.0/4', '255.255.255.255/32'].includes(r.destination)).map((r) => [r.destination, r.gateway, r.flags]), [
    ['224.0.0/4', 'link#36', 'UmCSI'],
    ['255.255.255.255/32', 'link#36', 'UCSI'],
    ['default', 'link#36', 'UCSIg'],
  ]);
  assert.ok(utun.some((r) => r.destination === '10.20/16' && r.flags === 'UCS'), 'listed prefixes unscoped through the tunnel');
  assert.ok(h.netstat('en0').some((r) => r.destination === 'default' && !r.flags.includes('I')), 'the unscoped physical default stays');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(mac.kernel.routes(), before);
});

test('steady state: a deleted route is put back; a roam to a new gateway is followed (configd\'s routes demoted, the endpoint moved)', async () => {
  const mac = seedMachine();
  const h = start(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\nendpoints:\n  - 198.51.100.7\n');
  await h.daemon.start();
  await h.state('installed');
  const other = routeTool(mac);

  let mark = h.logs.length;
  assert.equal(other.write(RTM.DELETE, '224.0.0.0', 4, null, 0), 'ok');
  await h.waitFor((l) => l.action === 'restore' && l.destination === '224.0.0.0/4', mark);
  assert.ok(h.netstat('utun7').some((r) => r.destination === '224.0.0/4'));
  other.close();

  // A roam: DHCP hands out a new router, IPConfiguration republishes en0 and IPMonitor
  // replaces en0's routes. Its RTM_DELETE of the old unscoped default takes ours (the
  // kernel deletes by key), then it adds en0's new one; tunroute takes the default back.
  mark = h.logs.length;
  mac.network.roam({ address: '192.168.1.10', netmask: '255.255.255.0', router: '192.168.1.254' });
  await mac.configd.settle();
  await h.waitFor((l) => l.action === 'update' && l.destination === '198.51.100.7/32' && l.gateway === '192.168.1.254', mark);
  await h.waitFor((l) => l.destination === '0.0.0.0/0' && l.gateway === 'link#36' && l.result === 'ok', mark);
  const endpoint = h.netstat('en0').filter((r) => r.destination === '198.51.100.7');
  assert.deepEqual(endpoint.map((r) => r.gateway), ['192.168.1.254'], 'the endpoint host route follows the new gateway; the old one is gone');
  assert.deepEqual(h.netstat().filter((r) => r.destination === 'default').map((r) => [r.netif, r.gateway, r.flags.includes('I')]), [['utun7', 'link#36', false], ['en0', '192.168.1.254', true]]);

  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.ok(!h.netstat().some((r) => r.flags.includes('1')), 'nothing tagged is left');
  assert.deepEqual(h.netstat().filter((r) => r.destination === 'default').map((r) => [r.netif, r.gateway, r.flags]), [['en0', '192.168.1.254', 'UGScg']], 'en0\'s new default is the one restored');
});

test('interface down, up, destroyed and recreated under a new index', async () => {
  const mac = seedMachine();
  const before = mac.kernel.routes();
  const h = start(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\n');
  await h.daemon.start();
  await h.state('installed');

  let mark = h.logs.length;
  mac.kernel.setDown('utun7');
  await h.state('waiting', mark);
  assert.ok(h.netstat('en0').some((r) => r.destination === 'default' && !r.flags.includes('I')), 'onTunnelDown restore: en0 owns the default again');
  assert.ok(!h.netstat().some((r) => r.flags.includes('1')), 'nothing tagged is left while the tunnel is down');

  mark = h.logs.length;
  mac.kernel.setUp('utun7');
  await h.state('installed', mark);
  assert.deepEqual(byDestination(untagged(h.netstat('utun7'))), byDestination(SEED_FULL));

  mark = h.logs.length;
  mac.kernel.destroyInterface('utun7');
  // Destroying a utun announces nothing of the user routes; the engine notices anyway.
  await h.state('waiting', mark);
  mark = h.logs.length;
  const again = mac.addTunnel({ name: 'utun7', address: '10.10.10.2', mtu: 1420 });
  assert.notEqual(again.index, 36);
  await h.waitFor((l) => l.msg === 'tunnel interface changed', mark);
  await h.state('installed', mark);
  assert.ok(h.netstat('utun7').some((r) => r.destination === 'default' && r.gateway === `link#${again.index}`));
  await h.daemon.stop('SIGTERM');
  // The re-created utun's own address route differs from the first one's only by its index.
  const norm = (rs: ReturnType<typeof mac.kernel.routes>) => rs.map((r) => ({ ...r, gateway: r.gateway.replace(/link#\d+/, 'link#N') }));
  assert.deepEqual(norm(mac.kernel.routes()), norm(before));
});

test('creation of the utun emits nothing: the daemon finds it by polling while it waits', async () => {
  const mac = createMacScenario();
  const h = start(mac, 'interface:\n  name: utun3\naddress: 10.10.10.2\n');
  await h.daemon.start();
  await h.state('waiting');
  const mark = h.logs.length;
  const utun = mac.kernel.createUtun('utun3');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(h.logs.slice(mark).some((l) => l.state === 'installed'), false, 'no address yet: still waiting');
  mac.kernel.addIPv4Address('utun3', { address: '10.10.10.2', peer: '10.10.10.2', netmask: '255.255.255.255' });
  await h.state('installed', mark);
  assert.ok(h.netstat('utun3').some((r) => r.destination === 'default' && r.gateway === `link#${utun.index}`));
  await h.daemon.stop('SIGTERM');
});

test('SIGKILL, then a restart: the leftovers are swept and the table ends exactly as it began', async () => {
  const mac = seedMachine();
  const before = mac.kernel.routes();
  const first = start(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\nendpoints:\n  - 198.51.100.7\n');
  await first.daemon.start();
  await first.state('installed');
  await first.daemon.abort(); // the process dies: no cleanup
  assert.ok(mac.kernel.netstat(2).some((r) => r.flags.includes('1')), 'tagged routes are left behind');
  assert.ok(!mac.kernel.netstat(2).some((r) => r.destination === 'default' && r.netif === 'en0' && !r.flags.includes('I')), 'the physical default is still moved aside');
  assert.ok(existsSync(join(first.dir, 'journal.json')), 'the journal remembers it');

  const second = start(mac, '', first.dir, DAEMON_PID + 1);
  await second.daemon.start();
  await second.waitFor((l) => l.msg === 'swept leftovers of an earlier run');
  await second.state('installed');
  assert.deepEqual(byDestination(untagged(second.netstat('utun7'))), byDestination(SEED_FULL));
  assert.equal(await second.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(mac.kernel.routes(), before);
  assert.equal(existsSync(join(first.dir, 'journal.json')), false);
});

test('reload applies only the difference; an invalid profile keeps the running one', async () => {
  const mac = seedMachine();
  const h = start(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\n');
  await h.daemon.start();
  await h.state('installed');

  let mark = h.logs.length;
  writeFileSync(h.profilePath, profileText(h.dir, 'interface:\n  name: utun7\naddress: 10.10.10.2\nroutes:\n  - 10.0.0.0/33\n'));
  assert.equal(await h.daemon.reload('test'), false);
  assert.match(String(h.logs.slice(mark).find((l) => l.problem)?.problem), /profile\.yaml:\d+:\d+ routes\[0\]: "10\.0\.0\.0\/33"/);

  mark = h.logs.length;
  writeFileSync(h.profilePath, profileText(h.dir, 'interface:\n  name: utun7\naddress: 10.10.10.2\nbroadcast: false\n'));
  assert.equal(await h.daemon.reload('test'), true);
  await h.state('installed', mark);
  const actions = h.logs.slice(mark).filter((l) => typeof l.action === 'string').map((l) => [l.action, l.destination]);
  // Our broadcast route goes, en0's (moved aside) comes back, then the scoped copy that stood
  // in for it goes. Nothing else is touched.
  assert.deepEqual(actions, [['remove-stale', '255.255.255.255/32'], ['restore-physical', '255.255.255.255/32'], ['remove-stale', '255.255.255.255/32']]);
  assert.ok(h.netstat('en0').some((r) => r.destination === '255.255.255.255/32' && !r.flags.includes('1')));
  await h.daemon.stop('SIGTERM');
});

test('a lost message (macOS overflows silently) is caught by the periodic reconcile', async () => {
  const mac = seedMachine();
  const h = start(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\n');
  await h.daemon.start();
  await h.state('installed');
  const daemonSocket = mac.kernel.openSockets().find((s) => s.pid === DAEMON_PID);
  assert.ok(daemonSocket);
  daemonSocket.setReceiveBufferSize(1); // everything the kernel sends it is now dropped
  const other = routeTool(mac);
  const mark = h.logs.length;
  assert.equal(other.write(RTM.DELETE, '224.0.0.0', 4, null, 0), 'ok');
  assert.ok(daemonSocket.dropped > 0, 'the deletion never reached the daemon');
  const drift = await h.waitFor((l) => l.msg === 'periodic reconcile found drift and repaired it', mark, 4000);
  assert.equal(drift.changes, 1);
  assert.ok(h.netstat('utun7').some((r) => r.destination === '224.0.0/4'));
  other.close();
  daemonSocket.setReceiveBufferSize(1 << 20);
  await h.daemon.stop('SIGTERM');
});

test('a DHCP renewal: configd\'s IPMonitor re-adds en0\'s default over ours (EEXIST → delete → add); it is moved aside again (journaled) and ours comes back', async () => {
  const mac = seedMachine();
  const before = mac.kernel.routes();
  const h = start(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\n');
  await h.daemon.start();
  await h.state('installed');
  const mark = h.logs.length;
  mac.network.renew();
  await mac.configd.settle();
  assert.ok(mac.ipmonitor.writes.some((w) => w.type === 'delete' && w.route.startsWith('Net 0.0.0.0/0 Gate 192.168.1.1 Ifp en0')), 'IPMonitor deleted the key it found taken');
  await h.waitFor((l) => l.action === 'remove-unscoped' && l.destination === '0.0.0.0/0', mark);
  await h.waitFor((l) => (l.action === 'restore' || l.action === 'add') && l.result === 'ok' && l.destination === '0.0.0.0/0' && l.gateway === 'link#36', mark);
  const defaults = h.netstat().filter((r) => r.destination === 'default' && !r.flags.includes('I'));
  assert.deepEqual(defaults.map((r) => r.netif), ['utun7'], 'one unscoped default, the tunnel\'s');
  await h.daemon.stop('SIGTERM');
  assert.deepEqual(mac.kernel.routes(), before, 'configd\'s default is the one restored');
});

test('flapping: another agent deleting the same route again and again meets exponential back-off and one warning', async () => {
  const mac = seedMachine();
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-darwin-'));
  writeFileSync(join(dir, 'profile.yaml'), `interface:\n  name: utun7\naddress: 10.10.10.2\nfullTunnel:\n  strategy: replace\ndaemon:\n  journal: ${join(dir, 'journal.json')}\n  flap:\n    maxRepairs: 3\n    window: 30s\n    initialDelay: 300ms\n    maxDelay: 2s\n`);
  const h = start(mac, '', dir);
  await h.daemon.start();
  await h.state('installed');
  const other = routeTool(mac);
  const mark = h.logs.length;
  const repairsAt: number[] = [];
  for (let i = 0; i < 6; i++) {
    const seen = h.logs.length;
    assert.equal(other.write(RTM.DELETE, '224.0.0.0', 4, null, 0), 'ok');
    const repaired = await h.waitFor((l) => l.action === 'restore' && l.destination === '224.0.0.0/4', seen, 5000);
    repairsAt.push(Number(repaired.time));
  }
  const warnings = h.logs.slice(mark).filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('flapping'));
  assert.equal(warnings.length, 1, 'one warning per episode');
  assert.equal(warnings[0]?.destination, '224.0.0.0/4');
  const gaps = repairsAt.slice(1).map((t, i) => t - (repairsAt[i] ?? 0));
  assert.ok(gaps.slice(0, 2).every((g) => g < 200), `the first repairs are immediate: ${gaps}`);
  assert.ok((gaps[2] ?? 0) >= 250 && (gaps[3] ?? 0) >= 550 && (gaps[4] ?? 0) >= 1100, `then back-off doubles: ${gaps}`);
  other.close();
  await h.daemon.stop('SIGTERM');
});

// ---- IPv6 in a full tunnel: blocked unless the profile routes it or opts out -----------

/** The seed machine on a dual-stack network: en0 has 2001:db8:1::10/64 and configd's IPv6 defaults (unscoped and scoped) via 2001:db8:1::1. */
function dualStackMachine(): MacScenario {
  const mac = seedMachine();
  mac.kernel.addIPv6Address('en0', { address: '2001:db8:1::10', prefixLength: 64 });
  const socket = mac.kernel.openSocket({ pid: CONFIGD_PID });
  for (const scope of [0, mac.en0.index]) {
    socket.write(buildRouteRequest({
      type: RTM.ADD, flags: RTF.UP | RTF.GATEWAY | RTF.STATIC | (scope ? RTF.IFSCOPE : 0), index: scope, seq: 900 + scope,
      addrs: { [RTAX.DST]: sockaddrIn6('::'), [RTAX.GATEWAY]: sockaddrIn6('2001:db8:1::1'), [RTAX.NETMASK]: sockaddrIn6(prefixMask(0, 16)) },
    }));
  }
  socket.close();
  return mac;
}

/** Where the kernel sends an unbound IPv6 packet to `address`: the route's interface and whether it refuses (RTF_REJECT). */
function route6(mac: MacScenario, address: string): { netif: string; reject: boolean } | null {
  const r = mac.kernel.lookup(AF.INET6, parseIPv6(address));
  return r ? { netif: r.ifp.name, reject: (r.flags & RTF.REJECT) !== 0 } : null;
}

test('IPv6 blocked (the default) with replace: a REJECT ::/0 via ::1 wins over en0\'s default, which is kept scoped; the LAN still works', async () => {
  const mac = dualStackMachine();
  const before = mac.kernel.routes();
  assert.deepEqual(route6(mac, '2001:db8:ffff::1'), { netif: 'en0', reject: false }, 'before: IPv6 goes out en0');
  const h = start(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\n');
  await h.daemon.start();
  await h.state('installed');
  assert.deepEqual(route6(mac, '2001:db8:ffff::1'), { netif: 'lo0', reject: true }, 'global IPv6 is refused, not sent out en0');
  assert.deepEqual(route6(mac, '2001:db8:1::20'), { netif: 'en0', reject: false }, 'the LAN prefix stays on en0');
  const scoped = mac.kernel.lookup(AF.INET6, parseIPv6('2001:db8:ffff::1'), undefined, mac.en0.index);
  assert.equal(scoped?.ifp.name, 'en0', 'sockets bound to en0 keep its scoped IPv6 default');
  const v6 = mac.kernel.netstat(AF.INET6).filter((r) => r.destination === 'default');
  assert.ok(v6.some((r) => r.netif === 'lo0' && r.flags.includes('R')), 'netstat shows the reject default');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(mac.kernel.routes(), before, 'SIGTERM gives en0 its unscoped IPv6 default back');
  assert.deepEqual(route6(mac, '2001:db8:ffff::1'), { netif: 'en0', reject: false });
});

test('IPv6 blocked with split-default: ::/1 and 8000::/1 REJECT beat the untouched physical default; bypass leaves IPv6 on en0', async () => {
  const mac = dualStackMachine();
  const before = mac.kernel.routes();
  const h = start(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\nfullTunnel:\n  strategy: split-default\n');
  await h.daemon.start();
  await h.state('installed');
  for (const address of ['2001:db8:ffff::1', 'fd12::1']) assert.deepEqual(route6(mac, address), { netif: 'lo0', reject: true }, address);
  assert.deepEqual(route6(mac, '2001:db8:1::20'), { netif: 'en0', reject: false }, 'the LAN prefix stays on en0');
  assert.ok(mac.kernel.netstat(AF.INET6).some((r) => r.destination === 'default' && r.netif === 'en0' && !r.flags.includes('I')), 'split-default never moves the physical default');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(mac.kernel.routes(), before);

  const bypass = start(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\nipv6: bypass\n');
  await bypass.daemon.start();
  await bypass.state('installed');
  assert.deepEqual(route6(mac, '2001:db8:ffff::1'), { netif: 'en0', reject: false }, 'bypass: IPv6 uses the physical network');
  assert.ok(bypass.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('ipv6: bypass')), 'and the daemon says so');
  assert.equal(await bypass.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(mac.kernel.routes(), before);
});
