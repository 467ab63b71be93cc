/**
 * @module test/unit/xnu-model-ipmonitor
 * The model IPMonitor (test/xnu/ipmonitor.ts) against configd-ipmonitor.md: the boot table a
 * Mac's configd builds, the seed's full and split tables from hand-written published
 * dictionaries (§3.4, §9), ranks and election (§1.3, §1.4), the apply step (§4.1: forced
 * re-add, EEXIST → delete → add, no retries, no table watching), excluded routes that follow
 * the gateway, configd restart (§4.3), IsNULL services (§8.2), the global keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF, CONFIGD_PID, EN0_SERVICE, RTAX, RTF, RTM, STATE_GLOBAL_DNS, STATE_GLOBAL_IPV4, STATE_GLOBAL_IPV6, addRequest, advanceIndexTo,
  createMacScenario, deleteRequest, linkGateway, readRtHeader, received, splitSockaddrs, tryWrite, type MacScenario, type PlistValue,
} from '../xnu/index.js';

const ID = 'org.tunroute.test';
const IPV4 = `State:/Network/Service/${ID}/IPv4`;
const SERVICE = `State:/Network/Service/${ID}`;

type Row = [destination: string, gateway: string, flags: string, netif: string];
const rows = (mac: MacScenario, netif?: string): Row[] =>
  mac.kernel.netstat(AF.INET).filter((r) => netif === undefined || r.netif === netif).map((r) => [r.destination, r.gateway, r.flags, r.netif]);

/** The seed's machine: utun7 = index 36 at 10.10.10.2 (wireguard-go + ifconfig). */
function seed(options: Parameters<typeof createMacScenario>[0] = {}): MacScenario {
  const mac = createMacScenario(options);
  advanceIndexTo(mac.kernel, 36);
  mac.addTunnel({ name: 'utun7', address: '10.10.10.2', mtu: 1420 });
  return mac;
}

/** A VPN publisher: a session-keys session, as the `system` strategy opens one. */
function publisher(mac: MacScenario, pid = 4242) {
  const session = mac.configd.openSession({ name: 'vpn', pid, useSessionKeys: true });
  return {
    session,
    publish: async (set: Record<string, PlistValue>, remove: string[] = []) => {
      session.setMultiple(set, remove, []);
      await mac.configd.settle();
    },
  };
}

const FULL: PlistValue = { InterfaceName: 'utun7', Addresses: ['10.10.10.2'], Router: '10.10.10.2', OverridePrimary: 1 };

const BOOT: Row[] = [
  ['default', '192.168.1.1', 'UGScg', 'en0'],
  ['127', '127.0.0.1', 'UCS', 'lo0'],
  ['127.0.0.1', '127.0.0.1', 'UH', 'lo0'],
  ['169.254', 'link#4', 'UCS', 'en0'],
  ['192.168.1', 'link#4', 'UCS', 'en0'],
  ['192.168.1.1/32', 'link#4', 'UCS', 'en0'],
  ['192.168.1.10/32', 'link#4', 'UCS', 'en0'],
  ['224.0.0/4', 'link#4', 'UmCS', 'en0'],
  ['255.255.255.255/32', 'link#4', 'UCS', 'en0'],
];

test('boot: IPConfiguration publishes en0, IPMonitor writes its routes; one unscoped default and no scoped one', () => {
  const mac = createMacScenario();
  assert.deepEqual(rows(mac), BOOT);
  assert.deepEqual(mac.configd.get(STATE_GLOBAL_IPV4), { PrimaryInterface: 'en0', PrimaryService: EN0_SERVICE, Router: '192.168.1.1' });
  // The subnet route replaced in_ifinit's through EEXIST → delete → add.
  assert.deepEqual(mac.ipmonitor.writes.filter((w) => w.route.startsWith('Net 192.168.1.0/24')).map((w) => [w.type, w.result]), [['add', 'EEXIST'], ['delete', ''], ['add', '']]);
  assert.ok(mac.ipmonitor.writes.findIndex((w) => w.route.startsWith('Net 192.168.1.1/32')) < mac.ipmonitor.writes.findIndex((w) => w.route.startsWith('Net 0.0.0.0/0')), 'the gateway route first');
  assert.deepEqual(rows(createMacScenario({ scopedDefault: true })).slice(0, 2), [['default', '192.168.1.1', 'UGScg', 'en0'], ['default', '192.168.1.1', 'UGScIg', 'en0']]);
  // A lease without a router: no default and no router route; 224/4 and broadcast all the same.
  assert.deepEqual(rows(createMacScenario({ withoutDefault: true })), BOOT.filter(([d]) => d !== 'default' && d !== '192.168.1.1/32'));
});

test('the messages are IPv4RouteApply\'s: DST GATEWAY NETMASK IFP IFA, UP|STATIC(|GATEWAY|CLONING|IFSCOPE), written with configd\'s pid', async () => {
  const mac = createMacScenario();
  const listener = mac.kernel.openSocket({ pid: 999 });
  mac.network.renew();
  await mac.configd.settle();
  const adds = received(listener).filter((m) => m.type === RTM.ADD && m.rt.errno === 0);
  const def = adds.find((m) => m.bytes.readUInt32BE(92 + 4) === 0 && (m.rt.flags & RTF.GATEWAY))!;
  assert.equal(def.rt.pid, CONFIGD_PID);
  assert.equal(def.rt.addrs, 0x1 | 0x2 | 0x4 | 0x10 | 0x20);
  assert.equal(def.rt.flags & ~RTF.DONE, RTF.UP | RTF.STATIC | RTF.GATEWAY);
  const sa = splitSockaddrs(def.bytes);
  assert.equal(Buffer.from(sa[RTAX.NETMASK]!).toString('hex'), '10020000000000000000000000000000', 'a full 16-byte zero mask');
  assert.equal(Buffer.from(sa[RTAX.IFP]!).toString('hex'), '1412040000000000000000000000000000000000', 'sockaddr_dl, 20 bytes, index only');
  const bcast = adds.find((m) => m.bytes.readUInt32BE(92 + 4) === 0xffffffff)!;
  assert.equal(bcast.rt.flags & ~RTF.DONE, RTF.UP | RTF.STATIC | RTF.CLONING, 'a /32 without gateway is a cloning net route, not RTF_HOST');
  assert.equal(readRtHeader(bcast.bytes).addrs & 0x4, 0x4);
});

test('§3.4 full tunnel from the published dictionary: the seed\'s NetworkExtension table, en0\'s scoped, endpoint via en0; closing the session restores the boot table', async () => {
  const mac = seed();
  const before = mac.kernel.routes();
  const vpn = publisher(mac);
  await vpn.publish({ [IPV4]: { ...(FULL as object), ExcludedRoutes: [{ DestinationAddress: '198.51.100.7', SubnetMask: '255.255.255.255' }] } });
  assert.deepEqual(rows(mac, 'utun7'), [
    ['default', 'link#36', 'UCSg', 'utun7'],
    ['10.10.10.2', '10.10.10.2', 'UH', 'utun7'],
    ['224.0.0/4', 'link#36', 'UmCS', 'utun7'],
    ['255.255.255.255/32', 'link#36', 'UCS', 'utun7'],
  ]);
  assert.deepEqual(rows(mac, 'en0').filter(([d]) => ['default', '224.0.0/4', '255.255.255.255/32', '198.51.100.7'].includes(d)), [
    ['default', '192.168.1.1', 'UGScIg', 'en0'],
    ['198.51.100.7', '192.168.1.1', 'UGHS', 'en0'],
    ['224.0.0/4', 'link#4', 'UmCSI', 'en0'],
    ['255.255.255.255/32', 'link#4', 'UCSI', 'en0'],
  ]);
  assert.equal(mac.kernel.primaryInterface(AF.INET), 36);
  assert.deepEqual(mac.configd.get(STATE_GLOBAL_IPV4), { PrimaryInterface: 'utun7', PrimaryService: ID, Router: '10.10.10.2' });
  vpn.session.close();
  await mac.configd.settle();
  assert.deepEqual(mac.kernel.routes(), before, 'the session keys went and IPMonitor put en0 back');
});

test('§3.4 split tunnel: PrimaryRank Never + AdditionalRoutes gives the seed\'s scoped table; en0 keeps the unscoped default', async () => {
  const mac = seed();
  const vpn = publisher(mac);
  await vpn.publish({
    [SERVICE]: { PrimaryRank: 'Never' },
    [IPV4]: { InterfaceName: 'utun7', Addresses: ['10.10.10.2'], Router: '10.10.10.2', AdditionalRoutes: [{ DestinationAddress: '10.20.0.0', SubnetMask: '255.255.0.0' }] },
  });
  assert.deepEqual(rows(mac, 'utun7'), [
    ['default', 'link#36', 'UCSIg', 'utun7'],
    ['10.10.10.2', '10.10.10.2', 'UH', 'utun7'],
    ['10.20/16', 'link#36', 'UCS', 'utun7'],
    ['224.0.0/4', 'link#36', 'UmCSI', 'utun7'],
    ['255.255.255.255/32', 'link#36', 'UCSI', 'utun7'],
  ]);
  assert.deepEqual(rows(mac, 'en0'), BOOT.filter(([, , , n]) => n === 'en0'));
  // Without PrimaryRank Never the service still loses on index, but wins when it is the only one with a router.
  await vpn.publish({}, [SERVICE]);
  assert.deepEqual(rows(mac, 'utun7')[0], ['default', 'link#36', 'UCSIg', 'utun7']);
  mac.network.linkDown();
  await mac.configd.settle();
  assert.deepEqual(rows(mac, 'utun7')[0], ['default', 'link#36', 'UCSg', 'utun7'], 'Wi-Fi gone: the split service became primary');
});

test('§1.3 ranks: First beats Default even at index 0xFFFFFF; any rank assertion disables OverridePrimary; no router is Last', async () => {
  const mac = seed();
  const vpn = publisher(mac);
  await vpn.publish({ [SERVICE]: { PrimaryRank: 'First' }, [IPV4]: { InterfaceName: 'utun7', Addresses: ['10.10.10.2'], Router: '10.10.10.2' } });
  assert.equal(mac.ipmonitor.primaryService, ID);
  await vpn.publish({ [SERVICE]: { PrimaryRank: 'Last' }, [IPV4]: FULL });
  assert.equal(mac.ipmonitor.primaryService, EN0_SERVICE, 'PrimaryRank Last wins over OverridePrimary');
  assert.deepEqual(rows(mac, 'utun7')[0], ['default', 'link#36', 'UCSIg', 'utun7']);
  await vpn.publish({ [IPV4]: { InterfaceName: 'utun7', Addresses: ['10.10.10.2'], OverridePrimary: 1 } }, [SERVICE]);
  assert.equal(mac.ipmonitor.primaryService, EN0_SERVICE, 'OverridePrimary needs a router');
  assert.deepEqual(rows(mac, 'utun7'), [
    ['10.10.10.2', '10.10.10.2', 'UH', 'utun7'],
    ['224.0.0/4', 'link#36', 'UmCSI', 'utun7'],
    ['255.255.255.255/32', 'link#36', 'UCSI', 'utun7'],
  ], 'no default; 224/4 and broadcast ranked Last, so scoped');
  // OverridePrimary as a boolean works too; 0 does not.
  await vpn.publish({ [IPV4]: { ...(FULL as object), OverridePrimary: true } });
  assert.equal(mac.ipmonitor.primaryService, ID);
  await vpn.publish({ [IPV4]: { ...(FULL as object), OverridePrimary: 0 } });
  assert.equal(mac.ipmonitor.primaryService, EN0_SERVICE);
});

test('§1.4 service order: the earlier service in ServiceOrder is primary; reordering moves the unscoped default', async () => {
  const mac = createMacScenario();
  const en1 = mac.kernel.createInterface({ name: 'en1', type: 6, flags: 0x8863, mtu: 1500 });
  mac.kernel.addIPv4Address('en1', { address: '10.0.0.23', netmask: '255.255.255.0' });
  const wifi = mac.configd.openSession({ name: 'IPConfiguration-en1', pid: CONFIGD_PID });
  wifi.setMultiple({ 'State:/Network/Service/WIFI/IPv4': { InterfaceName: 'en1', Addresses: ['10.0.0.23'], SubnetMasks: ['255.255.255.0'], Router: '10.0.0.1' } }, [], []);
  mac.preferences.setServiceOrder([EN0_SERVICE, 'WIFI']);
  await mac.configd.settle();
  const defaults = () => rows(mac).filter(([d]) => d === 'default');
  assert.deepEqual(defaults(), [['default', '192.168.1.1', 'UGScg', 'en0'], ['default', '10.0.0.1', 'UGScIg', 'en1']]);
  mac.preferences.setServiceOrder(['WIFI', EN0_SERVICE]);
  await mac.configd.settle();
  assert.deepEqual(defaults(), [['default', '10.0.0.1', 'UGScg', 'en1'], ['default', '192.168.1.1', 'UGScIg', 'en0']]);
  assert.equal(en1.index, mac.kernel.primaryInterface(AF.INET));
});

test('§4.1 a DHCP renewal forces en0\'s routes: EEXIST → delete → add removes a foreign unscoped default; no table watching in between', async () => {
  const mac = seed();
  const other = mac.kernel.openSocket({ pid: 4242 });
  // A route-writing VPN moves en0's default aside and installs its own.
  assert.equal(tryWrite(other, deleteRequest('0.0.0.0', { bits: 0 })), '');
  assert.equal(tryWrite(other, addRequest('0.0.0.0', linkGateway(mac.kernel.getInterface('utun7')), { bits: 0, flags: RTF.UP | RTF.STATIC | RTF.CLONING })), '');
  assert.equal(tryWrite(other, deleteRequest('224.0.0.0', { bits: 4 })), '');
  await mac.configd.settle();
  assert.equal(rows(mac).filter(([d]) => d === 'default').map(([, , , n]) => n).join(), 'utun7', 'IPMonitor does not notice');
  assert.ok(!rows(mac).some(([d]) => d === '224.0.0/4'), 'a deleted route stays deleted');
  const mark = mac.ipmonitor.writes.length;
  mac.network.renew();
  await mac.configd.settle();
  const writes = mac.ipmonitor.writes.slice(mark).map((w) => `${w.type} ${w.route} ${w.result}`.trim());
  assert.ok(writes.includes('add Net 0.0.0.0/0 Gate 192.168.1.1 Ifp en0 Ifa 192.168.1.10 EEXIST'));
  assert.deepEqual(writes.filter((w) => w.includes('0.0.0.0/0')), [
    'add Net 0.0.0.0/0 Gate 192.168.1.1 Ifp en0 Ifa 192.168.1.10 EEXIST',
    'delete Net 0.0.0.0/0 Gate 192.168.1.1 Ifp en0 Ifa 192.168.1.10',
    'add Net 0.0.0.0/0 Gate 192.168.1.1 Ifp en0 Ifa 192.168.1.10',
  ]);
  assert.deepEqual(rows(mac), [...BOOT.slice(0, 1), ['10.10.10.2', '10.10.10.2', 'UH', 'utun7'], ...BOOT.slice(1)], 'the boot table is back');
  // The same renewal with nothing changed still re-applies every en0 route (one EEXIST each).
  const mark2 = mac.ipmonitor.writes.length;
  mac.network.renew();
  await mac.configd.settle();
  assert.equal(mac.ipmonitor.writes.slice(mark2).filter((w) => w.result === 'EEXIST').length, 5);
});

test('a roam: en0 moves to another network; the excluded endpoint follows the new gateway (recomputed at every election)', async () => {
  const mac = seed();
  const vpn = publisher(mac);
  await vpn.publish({ [IPV4]: { ...(FULL as object), ExcludedRoutes: [{ DestinationAddress: '198.51.100.7', SubnetMask: '255.255.255.255' }, { DestinationAddress: '192.168.0.0', SubnetMask: '255.255.0.0' }] } });
  // The LAN exclusion resolves through en0's default, not its /24: a /24 cannot cover a /16.
  assert.deepEqual(rows(mac).filter(([d]) => d === '198.51.100.7' || d === '192.168.0/16'), [['192.168.0/16', '192.168.1.1', 'UGSc', 'en0'], ['198.51.100.7', '192.168.1.1', 'UGHS', 'en0']]);
  mac.network.roam({ address: '10.0.0.23', netmask: '255.255.255.0', router: '10.0.0.1' });
  await mac.configd.settle();
  assert.deepEqual(rows(mac).filter(([d]) => d === '198.51.100.7'), [['198.51.100.7', '10.0.0.1', 'UGHS', 'en0']]);
  assert.deepEqual(rows(mac, 'en0').filter(([d]) => d === 'default'), [['default', '10.0.0.1', 'UGScIg', 'en0']]);
  assert.ok(!rows(mac).some(([, g]) => g === '192.168.1.1'), 'nothing of the old network is left');
  assert.deepEqual(rows(mac, 'utun7')[0], ['default', 'link#36', 'UCSg', 'utun7']);
});

test('no retries: an excluded route that cannot be resolved is logged and not installed until its inputs change', async () => {
  const mac = seed({ withoutDefault: true });
  const vpn = publisher(mac);
  await vpn.publish({ [IPV4]: { ...(FULL as object), ExcludedRoutes: [{ DestinationAddress: '198.51.100.7', SubnetMask: '255.255.255.255' }] } });
  const failed = () => mac.ipmonitor.log.filter((l) => l.message === 'failed to add route, ENXIO' && l.route?.includes('198.51.100.7')).length;
  assert.ok(mac.ipmonitor.log.some((l) => l.message === "can't resolve excluded route" && l.route?.includes('198.51.100.7')));
  assert.equal(failed(), 1);
  // An unrelated change elsewhere: the same unresolved route is not tried again.
  mac.network.renew();
  await mac.configd.settle();
  assert.equal(failed(), 1);
  // en0 gets a router: the route resolves to something new, which is added.
  mac.network.roam({ address: '192.168.1.10', netmask: '255.255.255.0', router: '192.168.1.1' });
  await mac.configd.settle();
  assert.deepEqual(rows(mac).filter(([d]) => d === '198.51.100.7'), [['198.51.100.7', '192.168.1.1', 'UGHS', 'en0']]);
});

test('§2.1 the interface must exist when the service is processed; IPMonitor does not look again until the key is poked', async () => {
  const mac = createMacScenario();
  const vpn = publisher(mac);
  await vpn.publish({ [IPV4]: { InterfaceName: 'utun4', Addresses: ['10.10.10.2'], Router: '10.10.10.2', OverridePrimary: 1 } });
  assert.equal(mac.ipmonitor.primaryService, EN0_SERVICE);
  mac.addTunnel({ name: 'utun4' });
  await mac.configd.settle();
  assert.ok(!rows(mac).some(([d, , , n]) => d === 'default' && n === 'utun4'));
  vpn.session.notifyValue(IPV4);
  await mac.configd.settle();
  assert.deepEqual(rows(mac).filter(([d]) => d === 'default').map(([, , f, n]) => `${n} ${f}`), ['utun4 UCSg', 'en0 UGScIg']);
});

test('NotifyValue re-adds a service route someone deleted (the publisher\'s repair)', async () => {
  const mac = seed();
  const vpn = publisher(mac);
  await vpn.publish({ [IPV4]: FULL });
  const other = mac.kernel.openSocket({ pid: 77 });
  assert.equal(tryWrite(other, deleteRequest('255.255.255.255', { bits: 32 })), '');
  vpn.session.notifyValue(IPV4);
  await mac.configd.settle();
  assert.ok(rows(mac, 'utun7').some(([d, , f]) => d === '255.255.255.255/32' && f === 'UCS'));
  assert.ok(mac.ipmonitor.log.some((l) => l.message === 'Re-applying route'));
});

test('§4.3 configd restart: static IPv4 routes flushed, store emptied, clients told with [], en0 republished; the VPN must republish', async () => {
  const mac = seed();
  const got: string[][] = [];
  const session = mac.configd.openSession({ name: 'vpn', pid: 4242, useSessionKeys: true, onChange: (k) => got.push(k) });
  session.setNotificationKeys([IPV4], []);
  session.setMultiple({ [IPV4]: FULL }, [], []);
  await mac.configd.settle();
  got.length = 0;
  const listener = mac.kernel.openSocket({ pid: 1 });
  mac.configd.restart();
  const flushed = received(listener).filter((m) => m.type === RTM.DELETE && m.rt.pid === CONFIGD_PID);
  assert.ok(flushed.length >= 8, 'every static route but loopback went through RTM_DELETE');
  await mac.configd.settle();
  assert.deepEqual(got, [[]]);
  assert.equal(mac.configd.get(IPV4), null);
  // en0 is back through IPConfiguration. flush_routes skips destinations in 224.0.0.0/24 by
  // address alone, so en0's scoped 224/4 (the tunnel's was unscoped) survives the restart.
  assert.deepEqual(rows(mac).filter(([, , , n]) => n !== 'utun7'), [...BOOT.slice(0, 8), ['224.0.0/4', 'link#4', 'UmCSI', 'en0'], ...BOOT.slice(8)]);
  assert.deepEqual(rows(mac, 'utun7'), [['10.10.10.2', '10.10.10.2', 'UH', 'utun7']], 'the tunnel\'s routes are gone');
  session.setMultiple({ [IPV4]: FULL }, [], []);
  await mac.configd.settle();
  assert.deepEqual(rows(mac, 'utun7')[0], ['default', 'link#36', 'UCSg', 'utun7']);
});

test('§8.2 IsNULL: an IPv4 null service with OverridePrimary leaves no unscoped default at all, and its routes are never written', async () => {
  const mac = seed();
  const vpn = publisher(mac);
  await vpn.publish({ [IPV4]: { ...(FULL as object), IsNULL: true } });
  assert.deepEqual(rows(mac).filter(([d]) => d === 'default'), [['default', '192.168.1.1', 'UGScIg', 'en0']]);
  assert.ok(!rows(mac, 'utun7').some(([d]) => d !== '10.10.10.2'), 'the null service\'s routes are never written');
  assert.equal(mac.ipmonitor.primaryService, null);
  assert.equal(mac.configd.get(STATE_GLOBAL_IPV4), null);
  await vpn.publish({ [IPV4]: FULL });
  assert.deepEqual(rows(mac, 'utun7')[0], ['default', 'link#36', 'UCSg', 'utun7']);

});

test('§8.2 the IPv6 null service: no IPv6 primary, lo0 becomes the default IPv6 interface and the kernel keeps en0\'s router ::/0 scoped', async () => {
  const mac = seed({ ipv6: true });
  const v6Defaults = () => mac.kernel.netstat(AF.INET6).filter((r) => r.destination === 'default').map((r) => [r.gateway, r.flags, r.netif]);
  assert.equal(mac.ipmonitor.ipv6DefaultInterface, 'en0');
  assert.equal(mac.kernel.ipv6DefaultInterface(), mac.en0.index);
  assert.deepEqual(mac.configd.get(STATE_GLOBAL_IPV6), { PrimaryInterface: 'en0', PrimaryService: EN0_SERVICE });
  assert.deepEqual(v6Defaults(), [['fe80::1%en0', 'UGcg', 'en0']]);
  const listener = mac.kernel.openSocket({ pid: 1 });
  const vpn = publisher(mac);
  // As Apple's controllers publish it: the tunnel's IPv4 and the IPv6 dummy, on the same utun.
  await vpn.publish({ [IPV4]: FULL, [`State:/Network/Service/${ID}/IPv6`]: { InterfaceName: 'utun7', Addresses: ['::1'], Router: '::1', OverridePrimary: 1, IsNULL: true } });
  assert.equal(mac.ipmonitor.ipv6DefaultInterface, 'lo0');
  assert.equal(mac.configd.get(STATE_GLOBAL_IPV6), null);
  assert.equal(mac.ipmonitor.primaryService, ID, 'IPv4 goes to the tunnel');
  assert.deepEqual(v6Defaults(), [['fe80::1%en0', 'UGcIg', 'en0']], 'no unscoped ::/0: IPv6 has nowhere to go but bound sockets');
  assert.deepEqual(received(listener).filter((m) => m.bytes[93] === AF.INET6).map((m) => m.type), [RTM.DELETE, RTM.ADD], 'the kernel announces the re-selection');
  vpn.session.close();
  await mac.configd.settle();
  assert.equal(mac.ipmonitor.ipv6DefaultInterface, 'en0');
  assert.deepEqual(v6Defaults(), [['fe80::1%en0', 'UGcg', 'en0']]);
});

test('§2.3 the default resolver follows the primary service and goes with it', async () => {
  const mac = seed();
  const vpn = publisher(mac);
  const dns = { ServerAddresses: ['10.64.0.1'], SearchDomains: ['corp.example'] };
  await vpn.publish({ [IPV4]: FULL, [`State:/Network/Service/${ID}/DNS`]: dns });
  assert.deepEqual(mac.configd.get(STATE_GLOBAL_DNS), dns);
  vpn.session.close();
  await mac.configd.settle();
  assert.equal(mac.configd.get(STATE_GLOBAL_DNS), null, 'en0 publishes no DNS in this scenario');
});

test('§8.3 coupling (configd ≥ 1296): an IPv4-only tunnel asserting First demotes en0\'s IPv6, so IPv6 has no primary; configd-1241 keeps it', async () => {
  for (const coupling of [true, false]) {
    const mac = seed({ ipv6: true, coupling });
    await publisher(mac).publish({ [IPV4]: FULL });
    const v6 = mac.kernel.netstat(AF.INET6).filter((r) => r.destination === 'default').map((r) => r.flags);
    if (coupling) {
      assert.equal(mac.ipmonitor.primaryServiceV6, null);
      assert.equal(mac.ipmonitor.ipv6DefaultInterface, 'lo0');
      assert.deepEqual(v6, ['UGcIg'], 'en0\'s router ::/0 scoped: IPv6 blocked without a null service');
      assert.ok(mac.ipmonitor.log.some((l) => l.message.includes('demoted')));
    } else {
      assert.equal(mac.ipmonitor.primaryServiceV6, EN0_SERVICE);
      assert.deepEqual(v6, ['UGcg'], 'configd-1241: en0 keeps IPv6 while the tunnel has IPv4');
    }
    assert.equal(mac.ipmonitor.primaryService, ID);
  }
  // A service that says IPIsCoupled is coupled on configd-1241 too.
  const mac = seed({ ipv6: true, coupling: false });
  await publisher(mac).publish({ [SERVICE]: { IPIsCoupled: true }, [IPV4]: FULL });
  assert.equal(mac.ipmonitor.primaryServiceV6, null);
});
