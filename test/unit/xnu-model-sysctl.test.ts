/**
 * @module test/unit/xnu-model-sysctl
 * NET_RT_DUMP / DUMP2 / FLAGS / IFLIST from the model (§6): records walkable by msglen,
 * the sockaddrs and header fields the kernel writes, af filter and EINVAL cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AF, NET_RT, RTA, RTF, RTM, createMacScenario, readRtHeader, walkMessages as walk } from '../xnu/index.js';

function walkMessages(buf: Buffer): Buffer[] {
  return walk(buf).map((m) => Buffer.from(m.buffer, m.byteOffset, m.byteLength));
}

test('NET_RT_DUMP: RTM_GET records with DST, GATEWAY, NETMASK, IFA, never IFP; pid/seq/errno 0; walkable', () => {
  const { kernel, addTunnel } = createMacScenario();
  const utun = addTunnel();
  const buf = kernel.sysctl([4, 17, 0, 0, NET_RT.DUMP, 0]);
  const records = walkMessages(buf);
  assert.equal(records.length, kernel.routes().length);
  for (const r of records) {
    const h = readRtHeader(r);
    assert.equal(h.type, RTM.GET);
    assert.equal(h.version, 5);
    assert.equal(h.msglen % 4, 0);
    assert.equal(h.addrs & RTA.IFP, 0);
    assert.ok(h.addrs & RTA.IFA);
    assert.deepEqual([h.pid, h.seq, h.errno, h.flags & RTF.DONE], [0, 0, 0, 0]);
  }
  const peer = records.map(readRtHeader).find((h) => h.index === utun.index)!;
  assert.equal(peer.addrs, RTA.DST | RTA.GATEWAY | RTA.IFA, 'a host route has no netmask');
  assert.equal(peer.flags, RTF.UP | RTF.HOST | RTF.LOCAL);
  const def = records.find((r) => readRtHeader(r).flags & RTF.GLOBAL && !(readRtHeader(r).flags & RTF.IFSCOPE))!;
  assert.equal(def.length, 92 + 16 + 16 + 4 + 16, 'DST, GW, the 4-byte zero mask, IFA');
});

test('NET_RT_DUMP2: RTM_GET2 with refcnt where rt_msghdr has pid; af filter; NET_RT_FLAGS', () => {
  const { kernel } = createMacScenario({ scopedDefault: true });
  const recs = walkMessages(kernel.sysctl([4, 17, 0, AF.INET, NET_RT.DUMP2, 0]));
  assert.ok(recs.every((r) => r[3] === RTM.GET2));
  assert.ok(recs.every((r) => r.readInt32LE(16) === 1));
  assert.equal(walkMessages(kernel.sysctl([4, 17, 0, AF.INET6, NET_RT.DUMP, 0])).length, 1, 'only ::1');
  const gw = walkMessages(kernel.sysctl([4, 17, 0, 0, NET_RT.FLAGS, RTF.GATEWAY]));
  assert.equal(gw.length, 2, 'the two defaults');
});

test('NET_RT_IFLIST: RTM_IFINFO with the IFP sockaddr_dl, then RTM_NEWADDR per address with NETMASK/IFA/BRD', () => {
  const { kernel, addTunnel } = createMacScenario();
  const utun = addTunnel();
  kernel.addIPv4Address(utun.name, { address: '10.10.10.3' });
  const msgs = walkMessages(kernel.sysctl([4, 17, 0, AF.INET, NET_RT.IFLIST, utun.index]));
  assert.deepEqual(msgs.map((m) => m[3]), [RTM.IFINFO, RTM.NEWADDR, RTM.NEWADDR]);
  const ifinfo = msgs[0]!;
  assert.equal(ifinfo.length, 112 + 20);
  assert.equal(ifinfo.readInt32LE(4), RTA.IFP);
  assert.equal(ifinfo.readUInt16LE(12), utun.index);
  assert.equal(ifinfo.subarray(112 + 8, 112 + 8 + utun.name.length).toString(), utun.name);
  assert.equal(msgs[1]!.readInt32LE(4), RTA.NETMASK | RTA.IFA | RTA.BRD);
  assert.equal(msgs[1]!.readInt32LE(8), 1, 'IFA_ROUTE: its peer route is installed');
  assert.equal(msgs[2]!.length, 20 + 8 + 16 + 4, 'no peer: BRD is an empty sockaddr (4 bytes)');
  assert.equal(msgs[2]!.readInt32LE(8), 0);
  const all = walkMessages(kernel.sysctl([4, 17, 0, 0, NET_RT.IFLIST, 0]));
  assert.equal(all.filter((m) => m[3] === RTM.IFINFO).length, kernel.interfaces().length);
});

test('EINVAL: a MIB that is not 6 ints, an unknown op, a DUMP for a family without a table', () => {
  const { kernel } = createMacScenario();
  for (const mib of [[4, 17, 0, 0, 1], [4, 17, 0, 0, 1, 0, 0], [4, 17, 0, 0, 99, 0], [4, 17, 0, AF.LINK, NET_RT.DUMP, 0]]) {
    assert.throws(() => kernel.sysctl(mib), (e: Error & { code?: string; syscall?: string }) => e.code === 'EINVAL' && e.syscall === 'sysctl', mib.join(','));
  }
});
