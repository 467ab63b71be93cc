/**
 * @module test/unit/xnu-model-lifecycle
 * Interface lifecycle messages and the fate of routes (§7): creation is silent, addresses
 * announce NEWADDR/ADD/NEWMADDR, down/destroy remove user routes silently then RTM_IFINFO.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF, IFF, RTA, RTF, RTM, addRequest, deleteRequest, createMacScenario, linkGateway, received, tryWrite,
} from '../xnu/index.js';

function ifinfoFlags(bytes: Buffer): number {
  return bytes.readInt32LE(8);
}

test('creating a utun emits nothing; it is already UP|POINTOPOINT|RUNNING|MULTICAST', () => {
  const { kernel } = createMacScenario();
  const s = kernel.openSocket({ pid: 1 });
  const utun = kernel.createUtun();
  assert.equal(utun.flags, 0x8051);
  assert.equal(received(s).length, 0);
  assert.equal(kernel.nameToIndex(utun.name), utun.index);
});

test('ifconfig with a peer: RTM_NEWADDR (80), RTM_ADD of the peer route (124, no DONE, pid/seq 0), RTM_NEWMADDR (52)', () => {
  const { kernel } = createMacScenario();
  const s = kernel.openSocket({ pid: 1 });
  const utun = kernel.createUtun();
  kernel.addIPv4Address(utun.name, { address: '10.10.10.2', peer: '10.10.10.1', netmask: '255.255.255.255' });
  const msgs = received(s);
  assert.deepEqual(msgs.map((m) => [m.type, m.bytes.length]), [[RTM.NEWADDR, 80], [RTM.ADD, 124], [RTM.NEWMADDR, 52]]);
  const newaddr = msgs[0]!.bytes;
  assert.equal(newaddr.readInt32LE(4), RTA.NETMASK | RTA.IFP | RTA.IFA | RTA.BRD);
  assert.equal(newaddr.readUInt16LE(12), utun.index);
  assert.equal([...newaddr.subarray(68, 72)].join('.'), '10.10.10.1', 'BRD = the peer');
  const add = msgs[1]!;
  assert.equal(add.rt.flags, RTF.UP | RTF.HOST);
  assert.equal(add.rt.pid, 0);
  assert.equal(add.rt.seq, 0);
  assert.equal(add.rt.index, utun.index);
  assert.equal([...add.bytes.subarray(96, 100)].join('.'), '10.10.10.1', 'DST = peer');
  assert.equal([...add.bytes.subarray(112, 116)].join('.'), '10.10.10.2', 'GATEWAY = the local address');
});

test('an IPv4 address without a peer on point-to-point installs no route and announces nothing', () => {
  const { kernel } = createMacScenario();
  const s = kernel.openSocket({ pid: 1 });
  const utun = kernel.createUtun();
  kernel.addIPv4Address(utun.name, { address: '10.10.10.2' });
  assert.equal(received(s).length, 0);
  assert.ok(!kernel.routes().some((r) => r.interface === utun.name));
});

test('down: DELETE of the peer route, DELADDR, silent removal of every route using the address, IFINFO without UP', () => {
  const { kernel, addTunnel } = createMacScenario();
  const utun = addTunnel();
  const vpn = kernel.openSocket({ pid: 2 });
  assert.equal(tryWrite(vpn, addRequest('0.0.0.0', linkGateway(utun), { bits: 1, flags: RTF.UP | RTF.STATIC })), '');
  assert.equal(tryWrite(vpn, addRequest('0.0.0.0', '10.10.10.2', { bits: 0, scope: utun.index })), '');
  received(vpn);
  kernel.setDown(utun.name);
  const msgs = received(vpn);
  assert.deepEqual(msgs.map((m) => m.type), [RTM.DELETE, RTM.DELADDR, RTM.IFINFO]);
  const ifinfo = msgs[2]!.bytes;
  assert.equal(ifinfo.length, 112);
  assert.equal(ifinfo.readInt32LE(4), 0, 'ifm_addrs 0');
  assert.equal(ifinfoFlags(ifinfo) & IFF.UP, 0);
  assert.ok(!kernel.routes().some((r) => r.interface === utun.name), 'static routes went without a message');
  assert.equal(kernel.primaryInterface(AF.INET), 0, 'the 0/1 was primary; its silent deletion cleared it');
});

test('up: NEWADDR + ADD of the peer route only, then IFINFO with UP; static routes are not restored', () => {
  const { kernel, addTunnel } = createMacScenario();
  const utun = addTunnel();
  const vpn = kernel.openSocket({ pid: 2 });
  tryWrite(vpn, addRequest('10.99.0.0', linkGateway(utun), { bits: 16, flags: RTF.UP | RTF.STATIC }));
  kernel.setDown(utun.name);
  received(vpn);
  kernel.setUp(utun.name);
  const msgs = received(vpn);
  assert.deepEqual(msgs.map((m) => m.type), [RTM.NEWADDR, RTM.ADD, RTM.IFINFO]);
  assert.ok(ifinfoFlags(msgs[2]!.bytes) & IFF.UP);
  assert.deepEqual(kernel.routes().filter((r) => r.interface === utun.name).map((r) => r.destination), ['10.10.10.2']);
});

test('destroy: DELETE, DELADDR, DELMADDR, then IFINFO without UP; user routes vanish silently; the name is gone', () => {
  const { kernel, addTunnel } = createMacScenario();
  const utun = addTunnel();
  const vpn = kernel.openSocket({ pid: 2 });
  tryWrite(vpn, addRequest('0.0.0.0', linkGateway(utun), { bits: 1, flags: RTF.UP | RTF.STATIC }));
  tryWrite(vpn, addRequest('128.0.0.0', linkGateway(utun), { bits: 1, flags: RTF.UP | RTF.STATIC }));
  tryWrite(vpn, addRequest('224.0.0.0', linkGateway(utun), { bits: 4, flags: RTF.UP | RTF.STATIC | RTF.CLONING, scope: utun.index }));
  received(vpn);
  const before = kernel.routes().length;
  kernel.destroyInterface(utun.name);
  const msgs = received(vpn);
  assert.deepEqual(msgs.map((m) => m.type), [RTM.DELETE, RTM.DELADDR, RTM.DELMADDR, RTM.IFINFO]);
  assert.equal(ifinfoFlags(msgs[3]!.bytes) & IFF.UP, 0);
  assert.equal(kernel.routes().length, before - 4);
  assert.equal(kernel.nameToIndex(utun.name), 0);
  assert.equal(kernel.indexToName(utun.index), undefined);
  const again = kernel.createUtun(utun.name);
  assert.ok(again.index > utun.index, 'a re-created utun gets a new index');
});

test('an MTU change is one RTM_IFINFO carrying the new MTU', () => {
  const { kernel, addTunnel } = createMacScenario();
  const utun = addTunnel();
  const s = kernel.openSocket({ pid: 1 });
  kernel.setMtu(utun.name, 1380);
  const [m] = received(s);
  assert.equal(m!.type, RTM.IFINFO);
  assert.equal(m!.bytes.readUInt32LE(24), 1380);
  assert.equal(m!.bytes.readUInt16LE(12), utun.index);
});

test('the forum seed table: full-tunnel routes via link#N read back as netstat shows them', () => {
  const { kernel, addTunnel } = createMacScenario({ withoutDefault: true });
  const utun = addTunnel({ name: 'utun7', mtu: 1420 });
  const ne = kernel.openSocket({ pid: 3 });
  const link = linkGateway(utun);
  const flags = RTF.UP | RTF.STATIC | RTF.CLONING;
  // The unscoped 224/4 and 255.255.255.255/32 belong to en0 first; the system moves them.
  assert.equal(tryWrite(ne, addRequest('224.0.0.0', link, { bits: 4, flags })), 'EEXIST');
  assert.equal(tryWrite(ne, deleteRequest('224.0.0.0', { bits: 4 })), '');
  assert.equal(tryWrite(ne, deleteRequest('255.255.255.255', { bits: 32 })), '');
  assert.equal(tryWrite(ne, addRequest('0.0.0.0', link, { bits: 0, flags })), '');
  assert.equal(tryWrite(ne, addRequest('224.0.0.0', link, { bits: 4, flags })), '');
  assert.equal(tryWrite(ne, addRequest('255.255.255.255', link, { bits: 32, flags })), '');
  const rows = kernel.netstat(AF.INET).filter((r) => r.netif === 'utun7').map((r) => [r.destination, r.gateway, r.ifa, r.flags, r.mtu]);
  const l = `link#${utun.index}`;
  assert.deepEqual(rows, [
    ['default', l, '10.10.10.2', 'UCSg', 1420],
    ['10.10.10.2', '10.10.10.2', '10.10.10.2', 'UH', 1420],
    ['224.0.0/4', l, '10.10.10.2', 'UmCS', 1420],
    ['255.255.255.255/32', l, '10.10.10.2', 'UCS', 1420],
  ]);
});

test("the forum seed table, split mode: the same routes scoped to the utun coexist with en0's default", () => {
  const { kernel, addTunnel } = createMacScenario();
  const utun = addTunnel({ name: 'utun7', mtu: 1420 });
  const ne = kernel.openSocket({ pid: 3 });
  const link = linkGateway(utun);
  const flags = RTF.UP | RTF.STATIC | RTF.CLONING;
  // The forum's first attempt: unscoped, so EEXIST against en0's default.
  assert.equal(tryWrite(ne, addRequest('0.0.0.0', link, { bits: 0, flags })), 'EEXIST');
  for (const [dst, bits] of [['0.0.0.0', 0], ['224.0.0.0', 4], ['255.255.255.255', 32]] as const) {
    assert.equal(tryWrite(ne, addRequest(dst, link, { bits, flags, scope: utun.index })), '');
  }
  const rows = kernel.netstat(AF.INET).filter((r) => r.netif === 'utun7').map((r) => [r.destination, r.flags]);
  assert.deepEqual(rows, [['default', 'UCSIg'], ['10.10.10.2', 'UH'], ['224.0.0/4', 'UmCSI'], ['255.255.255.255/32', 'UCSI']]);
});
