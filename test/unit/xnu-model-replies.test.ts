/**
 * @module test/unit/xnu-model-replies
 * Rebuilt RTM_GET / RTM_DELETE replies (rt_msg2, §3.6) and kernel broadcasts (rt_msg1,
 * unpadded last sockaddr, §3.2), with the byte lengths from the reference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RTA, RTF, RTM, createMacScenario, deleteRequest, getRequest, received, splitSockaddrs, tryWrite, RTAX, buildRouteRequest, sockaddrIn, sockaddrDl,
} from '../xnu/index.js';

test('RTM_GET reply: rebuilt from the route, request header kept (pid overwritten, seq), no IFP/IFA unless asked', () => {
  const { kernel } = createMacScenario();
  const s = kernel.openSocket({ pid: 321 });
  assert.equal(tryWrite(s, getRequest('192.168.1.77', { seq: 9, pid: 5 })), '');
  const [reply] = received(s);
  assert.equal(reply!.type, RTM.GET);
  assert.equal(reply!.rt.seq, 9);
  assert.equal(reply!.rt.pid, 321);
  assert.equal(reply!.rt.index, 4);
  assert.equal(reply!.rt.flags, RTF.UP | RTF.CLONING | RTF.STATIC | RTF.DONE, 'the route\'s real flags');
  assert.equal(reply!.rt.addrs, RTA.DST | RTA.GATEWAY | RTA.NETMASK);
  assert.equal(reply!.bytes.length % 4, 0);
  assert.equal(reply!.bytes.length, reply!.rt.msglen);
  const info = splitSockaddrs(reply!.bytes);
  assert.equal(Buffer.from(info[RTAX.NETMASK]!).toString('hex'), '07ffffffffffff', 'kernel mask form: 0xff family byte');
  assert.equal(info[RTAX.GATEWAY]![1], 18, 'link#4');
});

test('`route get default` (§5.3): zero-length mask stops parsing before IFP, yet IFP and IFA come back; 164 bytes', () => {
  const { kernel } = createMacScenario();
  const s = kernel.openSocket({ pid: 321 });
  const req = buildRouteRequest({ type: RTM.GET, flags: RTF.UP | RTF.GATEWAY | RTF.STATIC, seq: 1, addrs: {
    [RTAX.DST]: sockaddrIn('0.0.0.0'), [RTAX.NETMASK]: Uint8Array.of(0, 2, 0, 0), [RTAX.IFP]: sockaddrDl({ index: 0, len: 20 }) } });
  assert.equal(tryWrite(s, req), '');
  const [reply] = received(s);
  assert.equal(reply!.bytes.length, 92 + 16 + 16 + 4 + 20 + 16);
  assert.equal(reply!.rt.addrs, RTA.DST | RTA.GATEWAY | RTA.NETMASK | RTA.IFP | RTA.IFA);
  const info = splitSockaddrs(reply!.bytes);
  assert.equal(Buffer.from(info[RTAX.NETMASK]!).toString('hex'), '00000000');
  assert.equal(Buffer.from(info[RTAX.IFP]!).subarray(8, 11).toString(), 'en0');
  assert.equal(Buffer.from(info[RTAX.IFA]!).subarray(4, 8).join('.'), '192.168.1.10');
});

test('RTM_DELETE reply of the default with IFP requested: 164 bytes (§3.4), UP cleared, CONDEMNED set', () => {
  const { kernel } = createMacScenario();
  const s = kernel.openSocket({ pid: 321 });
  const other = kernel.openSocket({ pid: 1 });
  assert.equal(tryWrite(s, deleteRequest('0.0.0.0', { bits: 0, gateway: sockaddrIn('192.168.1.1'), ifp: true })), '');
  for (const sock of [s, other]) {
    const [reply] = received(sock);
    assert.equal(reply!.bytes.length, 164);
    assert.equal(reply!.type, RTM.DELETE);
    assert.equal(reply!.rt.flags, RTF.GATEWAY | RTF.STATIC | RTF.PRCLONING | RTF.GLOBAL | RTF.CONDEMNED | RTF.DONE);
    assert.equal(reply!.rt.index, 4);
  }
});

test('failed RTM_DELETE: the request comes back with rtm_errno ESRCH, not rebuilt', () => {
  const { kernel } = createMacScenario();
  const s = kernel.openSocket({ pid: 321 });
  const req = deleteRequest('10.77.0.0', { bits: 16 });
  assert.equal(tryWrite(s, req), 'ESRCH');
  const [reply] = received(s);
  assert.equal(reply!.bytes.length, req.length);
  assert.equal(reply!.rt.errno, 3);
});

test('kernel broadcasts: pid 0, seq 0, no DONE, last sockaddr unpadded (50-byte RTM_DELMADDR, §3.2)', () => {
  const { kernel, addTunnel } = createMacScenario();
  const utun = addTunnel();
  const s = kernel.openSocket({ pid: 321 });
  kernel.setDown(utun.name);
  const del = received(s)[0]!;
  assert.equal(del.type, RTM.DELETE);
  assert.equal(del.rt.pid, 0);
  assert.equal(del.rt.seq, 0);
  assert.equal(del.rt.flags & RTF.DONE, 0);
  assert.equal(del.rt.flags, RTF.HOST | RTF.LOCAL | RTF.CONDEMNED);
  assert.equal(del.bytes.length, 92 + 16 + 16);
  // en0's subnet route is STATIC in this scenario, so rtinit refuses to delete it (EBUSY, no
  // message); only the multicast memberships are announced when its address goes.
  kernel.removeIPv4Address('en0', '192.168.1.10');
  const msgs = received(s);
  assert.deepEqual(msgs.map((m) => m.type), [RTM.DELMADDR, RTM.DELMADDR]);
  assert.equal(msgs[0]!.bytes.length, 16 + 16 + 20 + 16, 'GATEWAY (link group, padded), IFP, IFA 224.0.0.1');
  assert.equal(msgs[1]!.bytes.length, 50, '16 + IFP 20 + IFA sockaddr_dl 14');
  assert.equal(msgs[1]!.bytes[0], 50);
});

test('an RTM_DELETE broadcast with a /24 mask ends on the unpadded mask', () => {
  const { kernel } = createMacScenario();
  const s = kernel.openSocket({ pid: 321 });
  kernel.addIPv4Address('en0', { address: '10.5.5.5', netmask: '255.255.255.0' });
  const added = received(s);
  assert.deepEqual(added.map((m) => m.type), [RTM.NEWADDR, RTM.ADD]);
  assert.equal(added[1]!.bytes.length, 92 + 16 + 20 + 7);
  kernel.removeIPv4Address('en0', '10.5.5.5');
  const removed = received(s);
  assert.deepEqual(removed.map((m) => m.type), [RTM.DELETE, RTM.DELADDR]);
  assert.equal(removed[0]!.bytes.length, 92 + 16 + 20 + 7);
  assert.equal(removed[0]!.bytes.subarray(128, 135).toString('hex'), '07ffffffffffff');
});
