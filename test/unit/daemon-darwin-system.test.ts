// The `system` strategy end to end against the XNU model's configd (test/xnu: the dynamic
// store, IPMonitor and en0's IPConfiguration): the real Daemon, engine, publisher and
// darwin backend publish the tunnel's service through the binding's openDynamicStore, and
// the model IPMonitor builds the table from it with real RTM_ADDs, as on a Mac.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceKeys } from '../../daemon/strategies/system.js';
import { writeFileSync } from 'node:fs';
import { abortRunning, profileText, seedMachine, startDaemon, type Harness } from '../helpers/darwin-daemon.js';
import {
  buildRouteRequest, prefixMask, sockaddrIn, CONFIGD_PID, EN0_LEASE, EN0_SERVICE, RTAX, RTF, RTM, STATE_GLOBAL_DNS, STATE_GLOBAL_IPV4, type MacScenario,
} from '../xnu/index.js';

const DAEMON_PID = 4242;
const KEYS = serviceKeys('org.tunroute.seed');

afterEach(abortRunning);

/** The profile `seed` with the system strategy named (the helper's default for unnamed ones is replace). */
const SYSTEM = 'name: seed\nfullTunnel:\n  strategy: system\n';

function start(mac: MacScenario, body: string, daemonLines = ''): Harness {
  return startDaemon(mac, `${SYSTEM}${body}`, undefined, DAEMON_PID, daemonLines);
}

/** A daemon started on `mac` with the system strategy and `body`, once it is `installed`. */
async function installed(mac: MacScenario, body: string, daemonLines = ''): Promise<Harness> {
  const h = start(mac, body, daemonLines);
  await h.daemon.start();
  await h.state('installed');
  return h;
}

/** Waits until `pred` holds after configd and the daemon have had their turns. */
async function until(mac: MacScenario, pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    await mac.configd.settle();
    if (pred()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const rows = (h: Harness, netif: string, ...destinations: string[]): string[][] =>
  h.netstat(netif).filter((r) => destinations.includes(r.destination)).map((r) => [r.destination, r.gateway, r.flags]).sort((a, b) => a[0]!.localeCompare(b[0]!));

const hasUnscopedDefault = (h: Harness, netif: string): boolean => h.netstat(netif).some((r) => r.destination === 'default' && !r.flags.includes('I'));
const tunroutesKeys = (mac: MacScenario): string[] => mac.configd.keys().filter((k) => k.includes('org.tunroute.'));

const FULL = 'interface:\n  name: utun7\naddress: 10.10.10.2\nendpoints:\n  - 203.0.113.7:51820\n';

test('full tunnel: IPMonitor builds the seed table from the published service, and tunroute writes no route', async () => {
  const mac = seedMachine();
  const before = mac.kernel.routes();
  const h = await installed(mac, FULL);
  // 'installed' waits for IPMonitor: the table is there when the state says so.
  assert.ok(hasUnscopedDefault(h, 'utun7'), 'the tunnel default, as soon as the daemon says installed');
  assert.deepEqual(mac.configd.get(KEYS.ipv4), {
    InterfaceName: 'utun7', Addresses: ['10.10.10.2'], Router: '10.10.10.2', OverridePrimary: 1,
    ExcludedRoutes: [{ DestinationAddress: '203.0.113.7', SubnetMask: '255.255.255.255' }],
  });
  assert.equal(mac.configd.ownerOf(KEYS.ipv4)?.pid, DAEMON_PID, 'a session key of the daemon');
  assert.deepEqual(rows(h, 'utun7', 'default', '10.10.10.2', '224.0.0/4', '255.255.255.255/32'), [
    ['10.10.10.2', '10.10.10.2', 'UH'],
    ['224.0.0/4', 'link#36', 'UmCS'],
    ['255.255.255.255/32', 'link#36', 'UCS'],
    ['default', 'link#36', 'UCSg'],
  ]);
  assert.deepEqual(rows(h, 'en0', 'default', '203.0.113.7'), [
    ['203.0.113.7', '192.168.1.1', 'UGHS'],
    ['default', '192.168.1.1', 'UGScIg'],
  ], 'en0 keeps only a scoped default; the endpoint bypasses the tunnel');
  assert.ok(!h.netstat().some((r) => r.flags.includes('1')), 'nothing carries tunroute\'s tag: IPMonitor wrote every route');
  assert.equal((mac.configd.get(STATE_GLOBAL_IPV4) as { PrimaryService?: string }).PrimaryService, 'org.tunroute.seed');

  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(tunroutesKeys(mac), [], 'the service is withdrawn');
  await mac.configd.settle();
  assert.deepEqual(mac.kernel.routes(), before, 'IPMonitor rebuilt the original table');
});

test('split mode: PrimaryRank Never and AdditionalRoutes give the scoped seed table; en0 stays primary', async () => {
  const mac = seedMachine();
  const before = mac.kernel.routes();
  const h = await installed(mac, 'interface:\n  name: utun7\naddress: 10.10.10.2\nmode: split\nroutes:\n  - 10.20.0.0/16\n');
  await until(mac, () => h.netstat('utun7').some((r) => r.destination === '10.20/16'), 'the split routes');
  assert.deepEqual(mac.configd.get(KEYS.service), { PrimaryRank: 'Never' });
  assert.deepEqual(rows(h, 'utun7', 'default', '224.0.0/4', '255.255.255.255/32', '10.20/16'), [
    ['10.20/16', 'link#36', 'UCS'],
    ['224.0.0/4', 'link#36', 'UmCSI'],
    ['255.255.255.255/32', 'link#36', 'UCSI'],
    ['default', 'link#36', 'UCSIg'],
  ]);
  assert.ok(hasUnscopedDefault(h, 'en0'), 'en0 keeps the unscoped default');
  assert.equal(mac.configd.get(KEYS.ipv6), null, 'split mode publishes nothing for IPv6 when it is not tunnelled');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  await mac.configd.settle();
  assert.deepEqual(mac.kernel.routes(), before);
});

test('SIGKILL: the session dies with the process, configd drops the keys and IPMonitor puts en0 back, no restore needed', async () => {
  const mac = seedMachine();
  const before = mac.kernel.routes();
  const h = await installed(mac, FULL);
  await until(mac, () => hasUnscopedDefault(h, 'utun7'), 'the tunnel default');
  // What the kernel and configd see of a SIGKILL: every socket and session of the pid closes, nothing else runs.
  await h.kill();
  await until(mac, () => hasUnscopedDefault(h, 'en0'), 'en0\'s default back');
  assert.deepEqual(tunroutesKeys(mac), []);
  assert.deepEqual(mac.kernel.routes(), before, 'exactly the table before the daemon');
});

test('a network change and a roam: the endpoint route follows, because IPMonitor re-resolves excluded routes', async () => {
  const mac = seedMachine();
  const h = await installed(mac, FULL);
  await until(mac, () => h.netstat('en0').some((r) => r.destination === '203.0.113.7'), 'the endpoint route');
  const writes = mac.ipmonitor.writes.length;
  mac.network.renew();
  await until(mac, () => mac.ipmonitor.writes.length > writes, 'IPMonitor re-applying en0');
  assert.ok(hasUnscopedDefault(h, 'utun7'), 'a DHCP renewal does not take the default back (the service still ranks first)');
  assert.ok(!hasUnscopedDefault(h, 'en0'));

  mac.network.roam({ ...EN0_LEASE, address: '10.1.2.10', netmask: '255.255.255.0', router: '10.1.2.1', broadcast: '10.1.2.255' });
  await until(mac, () => rows(h, 'en0', '203.0.113.7')[0]?.[1] === '10.1.2.1', 'the endpoint via the new gateway');
  assert.deepEqual(rows(h, 'en0', 'default', '203.0.113.7'), [['203.0.113.7', '10.1.2.1', 'UGHS'], ['default', '10.1.2.1', 'UGScIg']]);
  assert.ok(hasUnscopedDefault(h, 'utun7'));
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
});

test('configd restarts: the store is empty and routes flushed; tunroute publishes again and the table comes back', async () => {
  const mac = seedMachine();
  const h = await installed(mac, FULL);
  await until(mac, () => hasUnscopedDefault(h, 'utun7'), 'the tunnel default');
  const mark = h.logs.length;
  mac.configd.restart();
  await h.waitFor((l) => l.msg === 'configd restarted; publishing the service again', mark);
  await h.waitFor((l) => l.msg === 'published to configd', mark);
  await until(mac, () => hasUnscopedDefault(h, 'utun7') && h.netstat('en0').some((r) => r.destination === '203.0.113.7'), 'the table rebuilt');
  assert.equal(mac.configd.ownerOf(KEYS.ipv4)?.pid, DAEMON_PID);
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
});

test('a deleted tunnel route: IPMonitor never notices, tunroute pokes the service key and IPMonitor puts it back', async () => {
  const mac = seedMachine();
  const h = await installed(mac, FULL);
  await until(mac, () => h.netstat('utun7').some((r) => r.destination === '224.0.0/4'), 'the multicast route');
  const mark = h.logs.length;
  const other = mac.kernel.openSocket({ pid: 999 });
  other.write(buildRouteRequest({ type: RTM.DELETE, flags: 0, seq: 1, addrs: { [RTAX.DST]: sockaddrIn('224.0.0.0'), [RTAX.NETMASK]: sockaddrIn(prefixMask(4, 4)) } }));
  other.close();
  await h.waitFor((l) => l.msg === 'routes of the service are missing; asked IPMonitor to apply it again' && l.key === KEYS.ipv4, mark);
  await until(mac, () => h.netstat('utun7').some((r) => r.destination === '224.0.0/4' && r.flags === 'UmCS'), 'the multicast route back');
  assert.ok(!h.logs.slice(mark).some((l) => l.msg === 'published to configd'), 'poked, not rewritten');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
});

test('unchanged content is never written again: periodic runs and DHCP renewals leave the service alone', async () => {
  const mac = seedMachine();
  const h = await installed(mac, FULL);
  await until(mac, () => hasUnscopedDefault(h, 'utun7'), 'the tunnel default');
  const mark = h.logs.length;
  mac.network.renew();
  // reconcileInterval is 1s: two periodic runs.
  await new Promise((r) => setTimeout(r, 2200));
  assert.ok(!h.logs.slice(mark).some((l) => l.msg === 'published to configd'), 'no second publication');
  assert.equal(h.daemon.state, 'installed');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
});

test('IPv6 off in a full tunnel: Apple\'s null IPv6 service wins the IPv6 election and leaves no IPv6 primary', async () => {
  const mac = seedMachine();
  // en0 with IPv6: a router advertisement's service, as IPConfiguration would publish it.
  const v6 = mac.configd.openSession({ name: 'IPConfiguration-v6', pid: CONFIGD_PID });
  v6.setValue(`State:/Network/Service/${EN0_SERVICE}/IPv6`, { InterfaceName: 'en0', Addresses: ['2001:db8::10'], PrefixLength: [64], Router: 'fe80::1' });
  await until(mac, () => mac.ipmonitor.primaryServiceV6 === EN0_SERVICE, 'en0 as the IPv6 primary');
  const h = await installed(mac, FULL);
  await until(mac, () => mac.configd.get(KEYS.ipv6) !== null, 'the IPv6 key');
  assert.deepEqual(mac.configd.get(KEYS.ipv6), { InterfaceName: 'utun7', Addresses: ['::1'], Router: '::1', OverridePrimary: 1, IsNULL: true });
  await until(mac, () => mac.ipmonitor.primaryServiceV6 === null, 'no IPv6 primary');
  assert.equal(mac.ipmonitor.ipv6DefaultInterface, 'lo0', 'the IPv6 default interface is lo0: every RA router stays scoped');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  await until(mac, () => mac.ipmonitor.primaryServiceV6 === EN0_SERVICE, 'en0\'s IPv6 back');
  v6.close();
});

test('DNS: published with the service, the default resolver while the tunnel is primary, removed with it', async () => {
  const mac = seedMachine();
  const en0Dns = mac.configd.get(STATE_GLOBAL_DNS);
  const h = await installed(mac, `${FULL}dns:\n  servers: [10.64.0.1]\n  searchDomains: [corp.example.com]\n`);
  const dns = { ServerAddresses: ['10.64.0.1'], SearchDomains: ['corp.example.com'] };
  await until(mac, () => JSON.stringify(mac.configd.get(STATE_GLOBAL_DNS)) === JSON.stringify(dns), 'the tunnel\'s resolver as the default');
  assert.deepEqual(mac.configd.get(KEYS.dns), dns);
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.equal(mac.configd.get(KEYS.dns), null);
  await until(mac, () => JSON.stringify(mac.configd.get(STATE_GLOBAL_DNS)) === JSON.stringify(en0Dns), 'en0\'s resolver back');
});

test('leftovers of a dead writer (a non-session key of our service) are replaced at start', async () => {
  const mac = seedMachine();
  const stale = mac.configd.openSession({ name: 'old tunroute', pid: 77 });
  stale.setValue(KEYS.ipv4, { InterfaceName: 'utun3', Addresses: ['10.99.0.2'], Router: '10.99.0.2', OverridePrimary: 1 });
  stale.setValue(KEYS.dns, { ServerAddresses: ['10.99.0.1'] });
  stale.close();
  assert.equal(mac.configd.get(KEYS.dns) !== null, true, 'non-session keys outlive their writer');
  const h = await installed(mac, FULL);
  await until(mac, () => hasUnscopedDefault(h, 'utun7'), 'the tunnel default');
  assert.equal((mac.configd.get(KEYS.ipv4) as { InterfaceName: string }).InterfaceName, 'utun7');
  assert.equal(mac.configd.ownerOf(KEYS.ipv4)?.pid, DAEMON_PID, 'now a session key: it dies with the daemon');
  assert.equal(mac.configd.get(KEYS.dns), null, 'a stale key the profile does not want is removed');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
});

test('another service asserting First takes the default: reported as degraded, not fought', async () => {
  const mac = seedMachine();
  const h = await installed(mac, FULL);
  await until(mac, () => hasUnscopedDefault(h, 'utun7'), 'the tunnel default');
  mac.addTunnel({ name: 'utun9', address: '10.77.0.2' });
  const mark = h.logs.length;
  const vpn = mac.configd.openSession({ name: 'other VPN', pid: 555, useSessionKeys: true });
  // First with a ServiceIndex: ranked before our First at the unordered index (§1.3), so the tie is not arbitrary.
  vpn.setMultiple({ 'State:/Network/Service/com.example.vpn': { PrimaryRank: 'First', ServiceIndex: 1 }, 'State:/Network/Service/com.example.vpn/IPv4': { InterfaceName: 'utun9', Addresses: ['10.77.0.2'], Router: '10.77.0.2' } }, [], []);
  const warned = await h.waitFor((l) => l.msg === 'IPMonitor did not build the expected table', mark);
  assert.ok((warned.problems as string[]).some((p) => /^0\.0\.0\.0\/0 goes to utun9, not utun7/.test(p)), JSON.stringify(warned.problems));
  await h.state('degraded', mark);
  assert.ok(!h.logs.slice(mark).some((l) => l.msg === 'published to configd'), 'no rewrite: asking again cannot win an election');
  vpn.close();
  await h.waitFor((l) => l.msg === 'the table is as IPMonitor should build it', mark);
  await h.state('installed', mark);
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
});

test('the tunnel goes down and comes back: the service is withdrawn (onTunnelDown restore) and published again', async () => {
  const mac = seedMachine();
  const h = await installed(mac, FULL);
  await until(mac, () => hasUnscopedDefault(h, 'utun7'), 'the tunnel default');
  let mark = h.logs.length;
  mac.kernel.setDown('utun7');
  await h.state('waiting', mark);
  await until(mac, () => hasUnscopedDefault(h, 'en0'), 'en0\'s default back');
  assert.deepEqual(tunroutesKeys(mac), []);
  mark = h.logs.length;
  mac.kernel.setUp('utun7');
  await h.state('installed', mark);
  await until(mac, () => hasUnscopedDefault(h, 'utun7'), 'the tunnel default again');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
});

test('a route on en0 that only configd owns is not the daemon\'s business: no poke for foreign scoped routes', async () => {
  const mac = seedMachine();
  const h = await installed(mac, FULL);
  await until(mac, () => hasUnscopedDefault(h, 'utun7'), 'the tunnel default');
  const mark = h.logs.length;
  const other = mac.kernel.openSocket({ pid: 999 });
  other.write(buildRouteRequest({ type: RTM.ADD, flags: RTF.UP | RTF.GATEWAY | RTF.STATIC, seq: 1, addrs: { [RTAX.DST]: sockaddrIn('198.18.0.0'), [RTAX.GATEWAY]: sockaddrIn('192.168.1.1'), [RTAX.NETMASK]: sockaddrIn(prefixMask(15, 4)) } }));
  other.close();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!h.logs.slice(mark).some((l) => typeof l.msg === 'string' && /asked IPMonitor|did not build/.test(l.msg)));
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
});

test('onTunnelDown: block keeps the service published while the utun is down: en0 gets no unscoped default back', async () => {
  const mac = seedMachine();
  const h = await installed(mac, FULL, '  onTunnelDown: block\n');
  const mark = h.logs.length;
  mac.kernel.setDown('utun7');
  await h.state('waiting', mark);
  await new Promise((r) => setTimeout(r, 200));
  await mac.configd.settle();
  assert.ok(mac.configd.get(KEYS.ipv4) !== null, 'the service stays published');
  assert.ok(!hasUnscopedDefault(h, 'en0'), 'no unscoped default on en0 while the tunnel is down');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  await until(mac, () => hasUnscopedDefault(h, 'en0'), 'en0\'s default back after the stop');
});

test('IPv6 into the tunnel: the tunnel\'s IPv6 service wins the IPv6 election, so utun7 becomes the IPv6 default interface', async () => {
  const mac = seedMachine();
  const v6 = mac.configd.openSession({ name: 'IPConfiguration-v6', pid: CONFIGD_PID });
  v6.setValue(`State:/Network/Service/${EN0_SERVICE}/IPv6`, { InterfaceName: 'en0', Addresses: ['2001:db8::10'], PrefixLength: [64], Router: 'fe80::1' });
  await until(mac, () => mac.ipmonitor.primaryServiceV6 === EN0_SERVICE, 'en0 as the IPv6 primary');
  mac.kernel.addIPv6Address('utun7', { address: 'fd00:10::2', prefixLength: 64 });
  const h = await installed(mac, 'interface:\n  name: utun7\naddress: [10.10.10.2, "fd00:10::2/64"]\nipv6: true\n');
  assert.deepEqual(mac.configd.get(KEYS.ipv6), { InterfaceName: 'utun7', Addresses: ['fd00:10::2'], PrefixLength: [64], Router: 'fd00:10::2', OverridePrimary: 1 });
  await until(mac, () => mac.ipmonitor.primaryServiceV6 === 'org.tunroute.seed', 'the tunnel as the IPv6 primary');
  assert.equal(mac.ipmonitor.ipv6DefaultInterface, 'utun7');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  await until(mac, () => mac.ipmonitor.primaryServiceV6 === EN0_SERVICE, 'en0\'s IPv6 back');
  v6.close();
});

test('an agent that keeps deleting a tunnel route meets the flap damping: pokes back off, one warning', async () => {
  const mac = seedMachine();
  const h = await installed(mac, FULL, '  flap:\n    maxRepairs: 2\n    window: 30s\n    initialDelay: 500ms\n    maxDelay: 2s\n');
  const mark = h.logs.length;
  const other = mac.kernel.openSocket({ pid: 999 });
  const remove = (): void => {
    try {
      other.write(buildRouteRequest({ type: RTM.DELETE, flags: 0, seq: 1, addrs: { [RTAX.DST]: sockaddrIn('224.0.0.0'), [RTAX.NETMASK]: sockaddrIn(prefixMask(4, 4)) } }));
    } catch {
      // ESRCH: not back yet.
    }
  };
  for (let i = 0; i < 4; i++) {
    await until(mac, () => h.netstat('utun7').some((r) => r.destination === '224.0.0/4'), `the multicast route back (${i})`);
    remove();
    await new Promise((r) => setTimeout(r, 50));
  }
  other.close();
  const pokes = (): number => h.logs.slice(mark).filter((l) => l.msg === 'routes of the service are missing; asked IPMonitor to apply it again').length;
  await h.waitFor((l) => typeof l.msg === 'string' && l.msg.startsWith('flapping: IPMonitor keeps losing routes of the service'), mark);
  assert.equal(pokes(), 3, 'two pokes in the window, then one after the back-off');
  assert.equal(h.logs.slice(mark).filter((l) => typeof l.msg === 'string' && l.msg.startsWith('flapping:')).length, 1, 'one warning per episode');
  await until(mac, () => h.netstat('utun7').some((r) => r.destination === '224.0.0/4'), 'the route back after the back-off');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
});

test('reload between system and replace: the service is withdrawn for tunroute\'s own routes, and published again', async () => {
  const mac = seedMachine();
  const before = mac.kernel.routes();
  const h = await installed(mac, FULL);
  const tagged = (): boolean => h.netstat('utun7').some((r) => r.destination === 'default' && r.flags.includes('1'));

  writeFileSync(h.profilePath, profileText(h.dir, `name: seed\nfullTunnel:\n  strategy: replace\n${FULL}`));
  assert.equal(await h.daemon.reload('test'), true);
  await until(mac, () => tagged() && tunroutesKeys(mac).length === 0 && !hasUnscopedDefault(h, 'en0'), 'replace: our own tagged default, no service');

  writeFileSync(h.profilePath, profileText(h.dir, `${SYSTEM}${FULL}`));
  assert.equal(await h.daemon.reload('test'), true);
  await until(mac, () => !h.netstat().some((r) => r.flags.includes('1')) && hasUnscopedDefault(h, 'utun7') && tunroutesKeys(mac).length > 0, 'system again: no tagged route, the service published');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  await mac.configd.settle();
  assert.deepEqual(mac.kernel.routes(), before);
});
