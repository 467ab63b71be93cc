/**
 * @module test/unit/xnu-model-output
 * route_output in the model: the errno cases in the order of §3.5, the echo rules of §3.6,
 * and the two route(8) byte strings of §5.1 and §5.2 written through a socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHex } from '../../daemon/codec/bytes.js';
import {
  AF, RTAX, RTF, RTM, advanceIndexTo, buildRouteRequest, createMacScenario, received, sockaddrIn, tryWrite, prefixMask,
} from '../xnu/index.js';

/** §5.1 with utun5 = index 21 (0x15), seq 1: 132 bytes. */
const REF_5_1 = parseHex(`
  84 00 05 01 00 00 00 00 01 08 00 00 07 00 00 00 00 00 00 00 01 00 00 00
  ${'00 '.repeat(92 - 24)}
  10 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00
  14 12 15 00 01 05 00 00 75 74 75 6e 35 00 00 00 00 00 00 00
  02 02 00 00`);

/** §5.2 with en0 = index 4, seq 1: 128 bytes. */
const REF_5_2 = parseHex(`
  80 00 05 01 04 00 00 00 03 08 00 01 07 00 00 00 00 00 00 00 01 00 00 00
  ${'00 '.repeat(92 - 24)}
  10 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00
  10 02 00 00 c0 a8 01 01 00 00 00 00 00 00 00 00
  00 02 00 00`);

function addHost(dst: string, gw: string, extra: Partial<Parameters<typeof buildRouteRequest>[0]> = {}): Uint8Array {
  return buildRouteRequest({ type: RTM.ADD, flags: RTF.UP | RTF.GATEWAY | RTF.HOST | RTF.STATIC, seq: 7, pid: 999,
    addrs: { [RTAX.DST]: sockaddrIn(dst), [RTAX.GATEWAY]: sockaddrIn(gw) }, ...extra });
}

test('reference byte strings have the documented lengths', () => {
  assert.equal(REF_5_1.length, 132);
  assert.equal(REF_5_2.length, 128);
});

test('§5.1 `route add -net 0.0.0.0/0 -interface utun5` fails with EEXIST while an unscoped default exists', () => {
  const { kernel, addTunnel } = createMacScenario();
  advanceIndexTo(kernel, 21);
  assert.equal(addTunnel({ name: 'utun5' }).index, 21);
  const route8 = kernel.openSocket({ pid: 4242 });
  assert.equal(tryWrite(route8, REF_5_1), 'EEXIST');
  const [echo] = received(route8).filter((m) => m.type === RTM.ADD);
  assert.ok(echo);
  assert.equal(echo.bytes.length, 132);
  assert.equal(echo.rt.errno, 17);
  assert.equal(echo.rt.flags & RTF.DONE, 0);
  assert.equal(echo.rt.pid, 4242);
  assert.equal(kernel.primaryInterface(AF.INET), 4);
});

test('§5.1 succeeds without an unscoped default: UScg via the sdl, utun5 becomes primary', () => {
  const { kernel, addTunnel } = createMacScenario({ withoutDefault: true });
  advanceIndexTo(kernel, 21);
  addTunnel({ name: 'utun5', mtu: 1420 });
  const route8 = kernel.openSocket({ pid: 4242 });
  assert.equal(tryWrite(route8, REF_5_1), '');
  const row = kernel.netstat(AF.INET).find((r) => r.destination === 'default' && r.netif === 'utun5');
  assert.deepEqual(row, { destination: 'default', gateway: 'utun5', flags: 'UScg', netif: 'utun5', ifa: '10.10.10.2', mtu: 1420 });
  assert.equal(kernel.primaryInterface(AF.INET), 21);
  const [echo] = received(route8);
  assert.equal(echo!.rt.flags, RTF.UP | RTF.STATIC | RTF.DONE, 'echo carries the requested flags + DONE, not PRCLONING/GLOBAL');
});

test('§5.1 with utun5 lacking an IPv4 address is ENETUNREACH', () => {
  const { kernel } = createMacScenario({ withoutDefault: true });
  advanceIndexTo(kernel, 21);
  kernel.createUtun('utun5');
  assert.equal(tryWrite(kernel.openSocket({ pid: 1 }), REF_5_1), 'ENETUNREACH');
});

test('§5.2 `route add -ifscope en0 default 192.168.1.1` succeeds as UGScIg next to the unscoped default', () => {
  const { kernel } = createMacScenario();
  const route8 = kernel.openSocket({ pid: 4242 });
  assert.equal(tryWrite(route8, REF_5_2), '');
  const defaults = kernel.netstat(AF.INET).filter((r) => r.destination === 'default');
  assert.deepEqual(defaults.map((r) => [r.gateway, r.flags, r.netif]), [['192.168.1.1', 'UGScg', 'en0'], ['192.168.1.1', 'UGScIg', 'en0']]);
  const [echo] = received(route8);
  assert.equal(echo!.bytes.length, 128);
  assert.equal(echo!.rt.flags, 0x01000843, '<UP,GATEWAY,DONE,STATIC,IFSCOPE>');
  assert.equal(echo!.rt.index, 4);
});

test('§5.2 again (the scoped default on en0 exists) is EEXIST', () => {
  const { kernel } = createMacScenario({ scopedDefault: true });
  assert.equal(tryWrite(kernel.openSocket({ pid: 1 }), REF_5_2), 'EEXIST');
});

test('length ≠ rtm_msglen or < 92: EINVAL, and the raw bytes are broadcast unchanged without errno', () => {
  const { kernel } = createMacScenario();
  const writer = kernel.openSocket({ pid: 10 });
  const listener = kernel.openSocket({ pid: 11 });
  const good = addHost('10.1.2.3', '192.168.1.1');
  const bad = new Uint8Array(good.length + 4);
  bad.set(good);
  assert.equal(tryWrite(writer, bad), 'EINVAL');
  const short = good.subarray(0, 91);
  assert.equal(tryWrite(writer, short), 'EINVAL');
  const got = received(listener);
  assert.equal(got.length, 2);
  assert.deepEqual(new Uint8Array(got[0]!.bytes), bad);
  assert.equal(got[0]!.rt.pid, 999, 'pid not overwritten: the kernel never looked inside');
  assert.equal(got[0]!.rt.errno, 0);
  assert.deepEqual(new Uint8Array(got[1]!.bytes), short);
  assert.equal(kernel.routes().some((r) => r.destination === '10.1.2.3'), false);
});

test('version ≠ 5: EPROTONOSUPPORT with rtm_errno set and the pid left as written', () => {
  const { kernel } = createMacScenario();
  const s = kernel.openSocket({ pid: 10 });
  assert.equal(tryWrite(s, addHost('10.1.2.3', '192.168.1.1', { version: 4 })), 'EPROTONOSUPPORT');
  const [echo] = received(s);
  assert.equal(echo!.rt.errno, 43);
  assert.equal(echo!.rt.pid, 999);
});

test('non-root sockets: EPERM for everything but RTM_GET', () => {
  const { kernel } = createMacScenario();
  const s = kernel.openSocket({ pid: 10, root: false });
  assert.equal(tryWrite(s, addHost('10.1.2.3', '192.168.1.1')), 'EPERM');
  const get = buildRouteRequest({ type: RTM.GET, flags: 0, addrs: { [RTAX.DST]: sockaddrIn('8.8.8.8') } });
  assert.equal(tryWrite(s, get), '');
  const msgs = received(s);
  assert.equal(msgs[0]!.rt.errno, 1);
  assert.equal(msgs[1]!.rt.errno, 0);
  assert.ok(msgs[1]!.rt.flags & RTF.DONE);
});

test('RTF_PROXY, missing DST, ADD without gateway, short AF_INET DST: EINVAL', () => {
  const { kernel } = createMacScenario();
  const s = kernel.openSocket({ pid: 10 });
  assert.equal(tryWrite(s, addHost('10.1.2.3', '192.168.1.1', { flags: RTF.UP | RTF.GATEWAY | RTF.PROXY })), 'EINVAL');
  assert.equal(tryWrite(s, buildRouteRequest({ type: RTM.ADD, flags: RTF.UP, addrs: { [RTAX.GATEWAY]: sockaddrIn('192.168.1.1') } })), 'EINVAL');
  assert.equal(tryWrite(s, buildRouteRequest({ type: RTM.ADD, flags: RTF.UP, addrs: { [RTAX.DST]: sockaddrIn('10.1.2.3') } })), 'EINVAL');
  const shortDst = sockaddrIn('10.1.2.3').slice(0, 6);
  shortDst[0] = 6;
  assert.equal(tryWrite(s, buildRouteRequest({ type: RTM.ADD, flags: RTF.UP | RTF.GATEWAY, addrs: { [RTAX.DST]: shortDst, [RTAX.GATEWAY]: sockaddrIn('192.168.1.1') } })), 'EINVAL');
});

test('unsupported types are EOPNOTSUPP, RTM_GET2 included', () => {
  const { kernel } = createMacScenario();
  const s = kernel.openSocket({ pid: 10 });
  for (const type of [RTM.LOSING, RTM.REDIRECT, RTM.MISS, RTM.RESOLVE, RTM.NEWADDR, RTM.GET2]) {
    assert.equal(tryWrite(s, buildRouteRequest({ type, flags: 0, addrs: { [RTAX.DST]: sockaddrIn('10.0.0.0') } })), 'EOPNOTSUPP', `type ${type}`);
  }
});

test('ADD echo: the request bytes as written (trailing bytes too) + DONE + kernel pid, to every socket', () => {
  const { kernel } = createMacScenario();
  const writer = kernel.openSocket({ pid: 4242 });
  const other = kernel.openSocket({ pid: 77 });
  const req = addHost('10.1.2.3', '192.168.1.1', { trailing: 1024 });
  assert.equal(tryWrite(writer, req), '');
  for (const s of [writer, other]) {
    const [echo] = received(s);
    assert.equal(echo!.bytes.length, req.length);
    const expected = new Uint8Array(req);
    new DataView(expected.buffer).setInt32(8, (RTF.UP | RTF.GATEWAY | RTF.HOST | RTF.STATIC | RTF.DONE), true);
    new DataView(expected.buffer).setInt32(16, 4242, true);
    assert.deepEqual(new Uint8Array(echo!.bytes), expected);
  }
});

test('failed ADD: write throws {errno, code, syscall:"write"} and the echo has rtm_errno, no DONE', () => {
  const { kernel, addTunnel } = createMacScenario();
  addTunnel();
  const s = kernel.openSocket({ pid: 5 });
  // Scoped to en0 through the utun's peer: the gateway is not on the scope interface.
  assert.throws(() => s.write(addHost('10.1.2.3', '10.10.10.2', { flags: RTF.UP | RTF.GATEWAY | RTF.HOST | RTF.IFSCOPE, index: 4 })),
    (e: Error & { errno?: number; code?: string; syscall?: string }) => e.code === 'ENETUNREACH' && e.errno === 51 && e.syscall === 'write' && /ENETUNREACH/.test(e.message));
  const [echo] = received(s);
  assert.equal(echo!.rt.errno, 51);
  assert.equal(echo!.rt.flags & RTF.DONE, 0);
});

test('RTM_GET_SILENT answers only the sender, as RTM_GET, and never fails the write for ESRCH', () => {
  const { kernel } = createMacScenario({ withoutDefault: true });
  const s = kernel.openSocket({ pid: 5 });
  const other = kernel.openSocket({ pid: 6 });
  const req = buildRouteRequest({ type: RTM.GET_SILENT, flags: 0, addrs: { [RTAX.DST]: sockaddrIn('8.8.8.8'), [RTAX.NETMASK]: sockaddrIn(prefixMask(8, 4)) } });
  assert.equal(tryWrite(s, req), '');
  const [reply] = received(s);
  assert.equal(reply!.type, RTM.GET);
  assert.equal(reply!.rt.errno, 3);
  assert.equal(received(other).length, 0);
});
