/**
 * Runs inside a test namespace (`ip netns exec`) and exercises the native netlink socket.
 * It prints what it observed as JSON lines; the test that started it makes the assertions.
 * Messages are built and read by hand here, independent of the daemon's codec.
 *
 *   node netlink-socket.js routes DEV     add a route twice, report acks and notifications
 *   node netlink-socket.js errors         report the errors of failing socket calls
 *   node netlink-socket.js overflow N     block the loop while N routes are added, report overflow
 *   node netlink-socket.js oversize DEV   a reply larger than the 64 KiB read buffer, then a normal one
 *   node netlink-socket.js discard N      N notifications queued, discardQueued(), then one more
 *   node netlink-socket.js unref|ref      open a socket and (un)ref it, then fall off the end
 */
import { spawnSync } from 'node:child_process';
import { loadNative } from '../../../native/index.js';
import type { SystemError } from '../../../daemon/errors.js';

const native = loadNative();
const [, , scenario = '', arg = ''] = process.argv;

// Values from <linux/netlink.h> and <linux/rtnetlink.h>, spelled out on purpose.
const NLMSG_ERROR = 2;
const RTM_NEWROUTE = 24;
const NLM_F_REQUEST = 0x1, NLM_F_ACK = 0x4, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;
const RTNLGRP_IPV4_ROUTE = 7;
const AF_INET = 2, RT_TABLE_MAIN = 254, RTPROT_STATIC = 4, RT_SCOPE_LINK = 253, RTN_UNICAST = 1;
const RTA_DST = 1, RTA_OIF = 4;

function print(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

function errorFields(e: unknown): Record<string, unknown> {
  const { errno, code, syscall, message } = e as SystemError;
  return { errno, code, syscall, message, isError: e instanceof Error };
}

/** RTM_NEWROUTE 10.77.0.0/16 dev OIF: nlmsghdr(16) + rtmsg(12) + RTA_DST(8) + RTA_OIF(8). */
function newRoute(seq: number, oif: number, dst: [number, number, number, number], prefix: number): Buffer {
  const b = Buffer.alloc(44);
  b.writeUInt32LE(44, 0);
  b.writeUInt16LE(RTM_NEWROUTE, 4);
  b.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE, 6);
  b.writeUInt32LE(seq, 8);
  b.writeUInt32LE(0, 12);
  b.writeUInt8(AF_INET, 16); // rtm_family
  b.writeUInt8(prefix, 17); // rtm_dst_len
  b.writeUInt8(RT_TABLE_MAIN, 20);
  b.writeUInt8(RTPROT_STATIC, 21);
  b.writeUInt8(RT_SCOPE_LINK, 22);
  b.writeUInt8(RTN_UNICAST, 23);
  b.writeUInt16LE(8, 28);
  b.writeUInt16LE(RTA_DST, 30);
  Buffer.from(dst).copy(b, 32);
  b.writeUInt16LE(8, 36);
  b.writeUInt16LE(RTA_OIF, 38);
  b.writeUInt32LE(oif, 40);
  return b;
}

/** Splits a datagram into its netlink messages: type, seq, and the errno of an NLMSG_ERROR. */
function messages(buf: Buffer): Array<{ type: number; seq: number; error?: number }> {
  const out = [];
  for (let off = 0; off + 16 <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    if (len < 16) break;
    const type = buf.readUInt16LE(off + 4);
    const seq = buf.readUInt32LE(off + 8);
    out.push(type === NLMSG_ERROR ? { type, seq, error: -buf.readInt32LE(off + 16) } : { type, seq });
    off += (len + 3) & ~3;
  }
  return out;
}

async function routes(dev: string): Promise<void> {
  const oif = native.nameToIndex(dev);
  print({ event: 'oif', oif });
  const socket = new native.RouteSocket(
    (bytes, sender) => {
      for (const m of messages(bytes)) print({ event: 'message', sender, ...m });
    },
    () => print({ event: 'overflow' }),
    (e) => print({ event: 'error', ...errorFields(e) }),
    { groups: [RTNLGRP_IPV4_ROUTE] },
  );
  print({ event: 'port', port: socket.localPort() });
  socket.send(newRoute(1, oif, [10, 77, 0, 0], 16));
  await new Promise((r) => setTimeout(r, 300));
  socket.send(newRoute(2, oif, [10, 77, 0, 0], 16));
  await new Promise((r) => setTimeout(r, 300));
  socket.close();
  socket.close();
  print({ event: 'closed-twice' });
}

function errors(): void {
  try {
    new native.RouteSocket(() => {}, () => {}, () => {}, { groups: [0] });
    print({ event: 'no-error', call: 'group 0' });
  } catch (e) {
    print({ event: 'thrown', call: 'group 0', ...errorFields(e) });
  }
  const socket = new native.RouteSocket(() => {}, () => {}, () => {});
  socket.close();
  try {
    socket.send(Buffer.alloc(16));
    print({ event: 'no-error', call: 'send after close' });
  } catch (e) {
    print({ event: 'thrown', call: 'send after close', ...errorFields(e) });
  }
  const open = new native.RouteSocket(() => {}, () => {}, () => {});
  try {
    // A message shorter than nlmsghdr: the kernel refuses it.
    open.send(Buffer.alloc(0));
    print({ event: 'no-error', call: 'empty send' });
  } catch (e) {
    print({ event: 'thrown', call: 'empty send', ...errorFields(e) });
  }
  open.close();
}

async function overflow(count: number): Promise<void> {
  let overflows = 0;
  let received = 0;
  const socket = new native.RouteSocket(
    () => received++,
    () => overflows++,
    (e) => print({ event: 'error', ...errorFields(e) }),
    { groups: [RTNLGRP_IPV4_ROUTE], receiveBufferSize: 4096 },
  );
  print({ event: 'rcvbuf', size: socket.getReceiveBufferSize() });
  // spawnSync blocks the event loop, so the notifications pile up in the small queue.
  const batch = Array.from({ length: count }, (_, i) => `route add 10.${100 + (i >> 8)}.${i & 255}.0/24 dev lo`).join('\n');
  const r = spawnSync('ip', ['-batch', '-'], { input: batch + '\n', encoding: 'utf8' });
  print({ event: 'batch', status: r.status, stderr: r.stderr.slice(0, 200) });
  await new Promise((res) => setTimeout(res, 500));
  print({ event: 'result', overflows, received });
  socket.close();
}

/**
 * A refused request of ~80 KB: without NETLINK_CAP_ACK the kernel's error reply echoes the
 * whole request, so that reply is one datagram larger than the socket's 64 KiB read buffer.
 * Two attributes of a type no route has pad it (each below nla_len's 64 KiB); the refusal
 * is ENODEV, for a device index that does not exist. Then a normal request on the same socket.
 */
async function oversize(dev: string): Promise<void> {
  const socket = new native.RouteSocket(
    (bytes, sender) => {
      for (const m of messages(bytes)) print({ event: 'message', sender, bytes: bytes.length, ...m });
    },
    () => print({ event: 'overflow' }),
    (e) => print({ event: 'error', ...errorFields(e) }),
  );
  const head = newRoute(1, 0x7ffffff0, [10, 78, 0, 0], 16);
  const pad = (type: number, length: number): Buffer => {
    const b = Buffer.alloc(4 + length);
    b.writeUInt16LE(4 + length, 0);
    b.writeUInt16LE(type, 2);
    return b;
  };
  const big = Buffer.concat([head, pad(0x3ff0, 40_000), pad(0x3ff1, 40_000)]);
  big.writeUInt32LE(big.length, 0);
  print({ event: 'sent', bytes: big.length });
  socket.send(big);
  await new Promise((r) => setTimeout(r, 300));
  socket.send(newRoute(2, native.nameToIndex(dev), [10, 78, 0, 0], 16));
  await new Promise((r) => setTimeout(r, 300));
  socket.close();
}

async function discard(count: number): Promise<void> {
  let received = 0;
  const socket = new native.RouteSocket(
    () => received++,
    () => print({ event: 'overflow' }),
    (e) => print({ event: 'error', ...errorFields(e) }),
    { groups: [RTNLGRP_IPV4_ROUTE], receiveBufferSize: 4 << 20 },
  );
  // spawnSync blocks the event loop: the notifications wait in the queue, unread.
  const batch = Array.from({ length: count }, (_, i) => `route add 10.${100 + (i >> 8)}.${i & 255}.0/24 dev lo`).join('\n');
  const r = spawnSync('ip', ['-batch', '-'], { input: batch + '\n', encoding: 'utf8' });
  print({ event: 'batch', status: r.status });
  const dropped = socket.discardQueued?.();
  await new Promise((res) => setTimeout(res, 300));
  print({ event: 'discarded', dropped, received });
  spawnSync('ip', ['route', 'add', '10.99.0.0/24', 'dev', 'lo']);
  await new Promise((res) => setTimeout(res, 300));
  print({ event: 'later', received });
  socket.close();
}

function refScenario(ref: boolean): void {
  const socket = new native.RouteSocket(() => {}, () => {}, () => {}, { groups: [RTNLGRP_IPV4_ROUTE] });
  if (ref) {
    socket.unref();
    socket.ref();
  } else {
    socket.unref();
  }
  print({ event: 'opened', ref });
}

switch (scenario) {
  case 'routes':
    await routes(arg);
    break;
  case 'errors':
    errors();
    break;
  case 'overflow':
    await overflow(Number(arg));
    break;
  case 'discard':
    await discard(Number(arg));
    break;
  case 'oversize':
    await oversize(arg);
    break;
  case 'ref':
  case 'unref':
    refScenario(scenario === 'ref');
    break;
  default:
    process.stderr.write(`unknown scenario ${scenario}\n`);
    process.exit(2);
}
