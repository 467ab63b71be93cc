/**
 * @module test/unit/xnu-model-table
 * The model's route table: coexistence (§4.2), delete matching (§3.5), lookups with and
 * without a mask and scope (§4.4), RTM_CHANGE, the flags the kernel adds (§2.2), and the
 * primary interface including the 0.0.0.0/1 quirk (§4.3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AF, RTF, addRequest, changeRequest, createMacScenario, deleteRequest, getRequest, linkGateway, received, tryWrite,
  type XnuKernel,
} from '../xnu/index.js';

function setup() {
  const s = createMacScenario({ scopedDefault: true });
  const utun = s.addTunnel({ mtu: 1420 });
  const sock = s.kernel.openSocket({ pid: 500 });
  return { ...s, utun, sock, w: (bytes: Uint8Array) => tryWrite(sock, bytes) };
}

function has(kernel: XnuKernel, destination: string, prefixLength: number | null, scope: string | null): boolean {
  return kernel.routes().some((r) => r.destination === destination && r.prefixLength === prefixLength && r.scope === scope);
}

test('§4.2 coexistence: unscoped + scoped defaults, scoped defaults on two interfaces, same prefix scoped and unscoped', () => {
  const { kernel, utun, w } = setup();
  assert.ok(has(kernel, '0.0.0.0', 0, null) && has(kernel, '0.0.0.0', 0, 'en0'));
  assert.equal(w(addRequest('0.0.0.0', '10.10.10.2', { bits: 0, scope: utun.index })), '');
  assert.ok(has(kernel, '0.0.0.0', 0, utun.name));
  assert.equal(w(addRequest('10.20.0.0', '192.168.1.1', { bits: 16 })), '');
  assert.equal(w(addRequest('10.20.0.0', '192.168.1.1', { bits: 16, scope: 4 })), '');
  assert.ok(has(kernel, '10.20.0.0', 16, null) && has(kernel, '10.20.0.0', 16, 'en0'));
});

test('§4.2 refusals: a second unscoped default and a second scoped default on the same interface are EEXIST', () => {
  const { utun, w } = setup();
  assert.equal(w(addRequest('0.0.0.0', linkGateway(utun), { bits: 0, flags: RTF.UP | RTF.STATIC })), 'EEXIST');
  assert.equal(w(addRequest('0.0.0.0', '192.168.1.254', { bits: 0, scope: 4 })), 'EEXIST', 'any gateway');
});

test('RTM_DELETE ignores the gateway and matches key + mask + scope', () => {
  const { kernel, w } = setup();
  w(addRequest('10.20.0.0', '192.168.1.1', { bits: 16 }));
  w(addRequest('10.20.0.0', '192.168.1.1', { bits: 16, scope: 4 }));
  assert.equal(w(deleteRequest('10.20.0.0', { bits: 16, gateway: Uint8Array.of(16, 2, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0) })), '');
  assert.ok(!has(kernel, '10.20.0.0', 16, null));
  assert.ok(has(kernel, '10.20.0.0', 16, 'en0'), 'the scoped twin is a different key');
  assert.equal(w(deleteRequest('10.20.0.0', { bits: 24 })), 'ESRCH', 'mask must match');
});

test('a scoped route can be deleted only with RTF_IFSCOPE and the right index', () => {
  const { kernel, utun, w } = setup();
  w(addRequest('10.20.0.0', '192.168.1.1', { bits: 16, scope: 4 }));
  assert.equal(w(deleteRequest('10.20.0.0', { bits: 16 })), 'ESRCH');
  assert.equal(w(deleteRequest('10.20.0.0', { bits: 16, scope: utun.index })), 'ESRCH');
  assert.equal(w(deleteRequest('10.20.0.0', { bits: 16, scope: 4 })), '');
  assert.ok(!has(kernel, '10.20.0.0', 16, 'en0'));
  // Deleting "default" without a scope takes the unscoped one and leaves configd's scoped one.
  assert.equal(w(deleteRequest('0.0.0.0', { bits: 0 })), '');
  assert.ok(!has(kernel, '0.0.0.0', 0, null) && has(kernel, '0.0.0.0', 0, 'en0'));
});

test('RTF_HOST discards the netmask; no netmask means the host entry (the first of the dupedkey chain)', () => {
  const { kernel, w } = setup();
  w(addRequest('10.30.0.0', '192.168.1.1', { bits: 16 }));
  w(addRequest('10.30.0.0', '192.168.1.1', { bits: null }));
  assert.ok(has(kernel, '10.30.0.0', null, null) && has(kernel, '10.30.0.0', 16, null));
  assert.equal(w(deleteRequest('10.30.0.0', { bits: 24, flags: RTF.HOST })), '');
  assert.ok(!has(kernel, '10.30.0.0', null, null) && has(kernel, '10.30.0.0', 16, null));
  assert.equal(w(deleteRequest('10.9.9.9', {})), 'ESRCH');
});

test('an RTM_ADD with no netmask and no RTF_HOST is stored as a host key', () => {
  const { kernel, w } = setup();
  assert.equal(w(addRequest('10.44.0.0', '192.168.1.1', { flags: RTF.UP | RTF.GATEWAY | RTF.STATIC })), '');
  assert.ok(has(kernel, '10.44.0.0', null, null));
});

test('RTM_GET: exact match with a netmask, longest prefix without', () => {
  const { kernel } = createMacScenario({ withoutDefault: true });
  const sock = kernel.openSocket({ pid: 500 });
  const w = (b: Uint8Array) => tryWrite(sock, b);
  w(addRequest('10.20.0.0', '192.168.1.1', { bits: 16 }));
  received(sock);
  assert.equal(w(getRequest('10.20.0.0', { bits: 16 })), '');
  assert.equal(w(getRequest('10.20.0.0', { bits: 24 })), 'ESRCH');
  assert.equal(w(getRequest('10.20.5.5')), '');
  const replies = received(sock).filter((m) => m.rt.errno === 0);
  assert.equal(replies.length, 2);
  for (const r of replies) assert.equal(r.bytes.subarray(124, 132).toString('hex'), '06ffffffffff0000', 'the /16 in kernel form');
  assert.equal(w(changeRequest('10.99.0.0', '192.168.1.2', { bits: 16 })), 'ESRCH');
});

test('RTM_GET with a netmask that matches nothing falls back to the default on the scope interface (rt_lookup_common step 6)', () => {
  const { w, sock } = setup();
  received(sock);
  assert.equal(w(getRequest('10.20.0.0', { bits: 24 })), '');
  const [reply] = received(sock);
  assert.equal(reply!.bytes.subarray(96, 100).toString('hex'), '00000000', 'destination 0.0.0.0');
  assert.equal(reply!.rt.index, 4);
});

test('§4.4: an unscoped lookup on the primary interface prefers the scoped default; other scopes are invisible', () => {
  const { utun, w, sock } = setup();
  w(addRequest('0.0.0.0', '10.10.10.2', { bits: 0, scope: utun.index }));
  received(sock);
  w(getRequest('8.8.8.8'));
  w(getRequest('8.8.8.8', { scope: utun.index }));
  const [unscoped, scoped] = received(sock);
  assert.equal(unscoped!.rt.index, 4);
  assert.ok(unscoped!.rt.flags & RTF.IFSCOPE, 'the configd scoped default on en0 (the primary) wins');
  assert.equal(scoped!.rt.index, utun.index);
});

test('RTM_CHANGE replaces the gateway and interface but not the flags', () => {
  const { kernel, utun, w } = setup();
  w(addRequest('10.20.0.0', '192.168.1.1', { bits: 16 }));
  const before = kernel.routes().find((r) => r.destination === '10.20.0.0')!;
  assert.equal(w(changeRequest('10.20.0.0', '192.168.1.2', { bits: 16, flags: RTF.UP | RTF.GATEWAY | RTF.BLACKHOLE })), '');
  const after = kernel.routes().find((r) => r.destination === '10.20.0.0')!;
  assert.equal(after.gateway, '192.168.1.2');
  assert.equal(after.flags, before.flags);
});

test('RTM_CHANGE of the unscoped default moves it to the tunnel and makes the tunnel primary', () => {
  const s = createMacScenario();
  const utun = s.addTunnel();
  const sock = s.kernel.openSocket({ pid: 500 });
  assert.equal(tryWrite(sock, changeRequest('0.0.0.0', linkGateway(utun), { bits: 0 })), '');
  const def = s.kernel.routes().find((r) => r.destination === '0.0.0.0' && r.scope === null)!;
  assert.equal(def.interface, utun.name);
  assert.equal(def.gateway, `link#${utun.index}`);
  assert.equal(s.kernel.primaryInterface(AF.INET), utun.index);
});

test('quirk: with configd\'s scoped default present, an unscoped RTM_CHANGE of "default" hits the scoped one', () => {
  const { kernel, utun, w } = setup();
  assert.equal(w(changeRequest('0.0.0.0', '192.168.1.2', { bits: 0 })), '');
  const unscoped = kernel.routes().find((r) => r.destination === '0.0.0.0' && r.scope === null)!;
  const scoped = kernel.routes().find((r) => r.destination === '0.0.0.0' && r.scope === 'en0')!;
  assert.equal(unscoped.gateway, '192.168.1.1');
  assert.equal(scoped.gateway, '192.168.1.2');
  // Its interface cannot leave the scope: the gateway changes, the interface stays en0.
  assert.equal(w(changeRequest('0.0.0.0', linkGateway(utun), { bits: 0 })), '');
  const after = kernel.routes().find((r) => r.destination === '0.0.0.0' && r.scope === 'en0')!;
  assert.equal(after.interface, 'en0');
  assert.equal(after.gateway, `link#${utun.index}`);
});

test('ENETUNREACH: -interface on a utun without IPv4, scoped add through another interface', () => {
  const { kernel, utun, w } = setup();
  const bare = kernel.createUtun();
  assert.equal(w(addRequest('10.50.0.0', linkGateway(bare), { bits: 16, flags: RTF.UP | RTF.STATIC })), 'ENETUNREACH');
  assert.equal(w(addRequest('10.50.0.0', '192.168.1.1', { bits: 16, scope: utun.index })), 'ENETUNREACH');
  assert.equal(w(addRequest('10.50.0.0', linkGateway(utun), { bits: 16, flags: RTF.UP | RTF.STATIC })), '');
});

test('a net route whose gateway is its own destination is EADDRNOTAVAIL', () => {
  const { w } = setup();
  assert.equal(w(addRequest('192.168.1.0', '192.168.1.0', { bits: 24, scope: 4 })), 'EADDRNOTAVAIL');
});

test('§2.2 kernel-added flags: PRCLONING, MULTICAST, BROADCAST, LOCAL; GLOBAL stripped from requests', () => {
  const { kernel, en0, utun, w } = setup();
  w(addRequest('10.40.0.0', '192.168.1.1', { bits: 16, flags: RTF.UP | RTF.GATEWAY | RTF.STATIC | RTF.GLOBAL }));
  w(addRequest('239.1.0.0', linkGateway(utun), { bits: 16, flags: RTF.UP | RTF.STATIC }));
  w(addRequest('192.168.1.255', linkGateway(en0), { bits: null, flags: RTF.UP | RTF.HOST | RTF.STATIC }));
  w(addRequest('10.41.0.1', '192.168.1.1', { bits: null }));
  const flags = (d: string) => kernel.routes().find((r) => r.destination === d)!.flags;
  assert.equal(flags('10.40.0.0'), RTF.UP | RTF.GATEWAY | RTF.STATIC | RTF.PRCLONING);
  assert.equal(flags('239.1.0.0'), RTF.UP | RTF.STATIC | RTF.MULTICAST);
  assert.equal(flags('192.168.1.255'), RTF.UP | RTF.HOST | RTF.STATIC | RTF.BROADCAST);
  assert.equal(flags('10.41.0.1'), RTF.UP | RTF.GATEWAY | RTF.HOST | RTF.STATIC);
  assert.ok(flags('10.10.10.2') & RTF.LOCAL, 'the utun peer route to its own address');
});

test('§4.3 quirk: an unscoped 0/1 takes over the primary interface, gets GLOBAL, and its deletion leaves none', () => {
  const { kernel, utun, w, sock } = setup();
  assert.equal(kernel.primaryInterface(AF.INET), 4);
  w(addRequest('0.0.0.0', linkGateway(utun), { bits: 1, flags: RTF.UP | RTF.STATIC }));
  w(addRequest('128.0.0.0', linkGateway(utun), { bits: 1, flags: RTF.UP | RTF.STATIC }));
  assert.equal(kernel.primaryInterface(AF.INET), utun.index);
  const rows = kernel.netstat(AF.INET);
  assert.equal(rows.find((r) => r.destination === '0/1')?.flags, 'UScg');
  assert.equal(rows.find((r) => r.destination === '128.0/1')?.flags, 'USc');
  received(sock);
  w(getRequest('0.0.0.0'));
  assert.equal(received(sock)[0]!.rt.index, utun.index, 'longest prefix for 0.0.0.0 is the /1');
  w(deleteRequest('0.0.0.0', { bits: 1 }));
  assert.equal(kernel.primaryInterface(AF.INET), 0, 'cleared although the en0 default is still there');
  assert.ok(has(kernel, '0.0.0.0', 0, null));
});
