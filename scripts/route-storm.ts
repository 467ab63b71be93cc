/**
 * The benchmark's foreign route storm: another process adding and deleting IPv4 /32 routes
 * on one device, as fast as asked, through one netlink socket of tunroute's own addon.
 *
 *   node dist/scripts/route-storm.js --events N --dev veth1 [--rate EVENTS_PER_S] [--routes K]
 *
 * Run it inside the namespace under test (`ip netns exec`). One `ip -batch` process offers
 * about 65,000 events/s on a 2-core machine: it sends one request per sendto and waits for
 * each ack. Here the requests go back to back, up to REQUESTS_PER_SEND in one sendto, and
 * without NLM_F_ACK. The kernel's netlink_rcv_skb (net/netlink/af_netlink.c) runs every
 * message of the datagram in a loop and answers one only `if (nlh->nlmsg_flags & NLM_F_ACK
 * || err)`, so a request that succeeds costs no reply, and one that fails is still reported.
 * A datagram must fit the socket's send buffer (netlink_sendmsg refuses `len >
 * sk->sk_sndbuf - 32` with EMSGSIZE; the default is 212,992 bytes), which bounds the batch.
 *
 * The cycle adds K routes (172.16.0.0 upwards) and deletes them again, so every request
 * changes the table and causes exactly one notification (RTM_NEWROUTE or RTM_DELROUTE).
 * Events emitted = requests sent − requests refused; the refusals are counted from their
 * error replies, read up to a final probe request sent with NLM_F_ACK (the kernel answers a
 * socket's requests in order, so the probe's ack comes after every earlier refusal).
 *
 * With --rate the requests are paced (what is due, every millisecond or so, never more
 * than 2 ms worth at once); without it they go as fast as the kernel takes them.
 *
 * Output on stdout, one JSON object a line: {"phase":"start"}, {"phase":"half"} after
 * half the events, then the result:
 * {"phase":"done","events","refused","ms","cpuMs"} (ms: first send to last; cpuMs: this
 * process's user + system CPU over that time, the kernel's insertion and notification
 * fan-out included, since they run in the sender's system call).
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { loadNative } from '../native/index.js';
import { encodeDelRoute, encodeNewRoute, linuxCodec } from '../daemon/codec/linux/index.js';
import { NLM_F } from '../daemon/codec/linux/constants.js';

/** Requests per sendto: 1,024 of 44 bytes is 45 KB, well inside the default send buffer. */
const REQUESTS_PER_SEND = 1024;
const PROBE_SEQ = 0x7ffffff0;

const { values } = parseArgs({
  options: {
    events: { type: 'string' },
    dev: { type: 'string' },
    rate: { type: 'string' },
    routes: { type: 'string' },
  },
});
const events = Number(values.events);
const rate = Number(values.rate ?? 0);
const routes = Number(values.routes ?? 5000);
// Whole cycles only: the storm leaves the table as it found it, so another can follow.
if (!Number.isInteger(events) || !values.dev || !Number.isInteger(routes) || routes <= 0 || routes > 65_536 || events <= 0 || events % (2 * routes) !== 0 || !(rate >= 0)) {
  process.stderr.write('usage: node dist/scripts/route-storm.js --events N --dev DEVICE [--rate EVENTS_PER_S] [--routes K ≤ 65536]\n  N: a multiple of 2 × K (whole cycles of K adds and K deletes); K: 5000 unless given\n');
  process.exit(2);
}

const native = loadNative();
const oif = native.nameToIndex(values.dev);
if (oif === 0) {
  process.stderr.write(`route-storm: no device ${values.dev}\n`);
  process.exit(1);
}

// One cycle, encoded once: K adds, then the same K deletes, back to back in one buffer.
const add = NLM_F.NLM_F_REQUEST.value | NLM_F.NLM_F_CREATE.value | NLM_F.NLM_F_EXCL.value;
const del = NLM_F.NLM_F_REQUEST.value;
const messages: Uint8Array[] = [];
for (let i = 0; i < routes; i++) {
  messages.push(encodeNewRoute({ family: 'inet', destination: `172.16.${i >> 8}.${i & 255}/32`, gateway: null, oif, table: 254, priority: null, protocol: 4 /* static */ }, i + 1, add));
}
for (let i = 0; i < routes; i++) {
  messages.push(encodeDelRoute({ family: 'inet', destination: `172.16.${i >> 8}.${i & 255}/32`, gateway: null, oif, table: 254, priority: null }, routes + i + 1, del));
}
const offsets = new Uint32Array(messages.length + 1);
messages.forEach((m, i) => (offsets[i + 1] = (offsets[i] as number) + m.length));
const cycle = Buffer.alloc(offsets[messages.length] as number);
messages.forEach((m, i) => cycle.set(m, offsets[i]));

let refused = 0;
let probed: (() => void) | null = null;
const socket = new native.RouteSocket(
  (bytes, sender) => {
    if (sender !== 0) return;
    for (const { message } of linuxCodec.walk(bytes).messages) {
      if (message.kind !== 'error') continue;
      if (message.header.seq === PROBE_SEQ) probed?.();
      else if (message.errno !== 0) refused++;
    }
  },
  () => fail('the generator socket overflowed: refusals were lost, the event count is unknown'),
  (error) => fail(`the generator socket failed: ${error.message}`),
);

function fail(why: string): never {
  process.stderr.write(`route-storm: ${why}\n`);
  process.exit(1);
}

/** Sends requests [from, to) of the endless cycle, REQUESTS_PER_SEND at most per sendto. */
function send(from: number, to: number): void {
  const n = messages.length;
  for (let i = from; i < to; ) {
    const at = i % n;
    const count = Math.min(to - i, REQUESTS_PER_SEND, n - at);
    socket.send(cycle.subarray(offsets[at], offsets[at + count]));
    i += count;
  }
}

const line = (o: object): boolean => process.stdout.write(`${JSON.stringify(o)}\n`);
const turn = (ms: number): Promise<void> => new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));

line({ phase: 'start' });
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let sent = 0;
let halfSaid = false;
while (sent < events) {
  // Paced: what is due by now (the next millisecond's included), but at most 2 ms worth at
  // once, so a generator that was descheduled catches up in steps, not in one large burst.
  const scheduled = rate > 0 ? Math.min(events, Math.ceil(((performance.now() - t0 + 1) * rate) / 1000)) : events;
  const due = Math.min(scheduled, sent + (rate > 0 ? Math.ceil(rate / 500) : REQUESTS_PER_SEND));
  if (due > sent) {
    send(sent, due);
    sent = due;
  }
  if (!halfSaid && sent >= events / 2) {
    halfSaid = true;
    line({ phase: 'half' });
  }
  // A turn of the loop reads refusals; a paced storm on schedule sleeps until the next burst is due.
  await turn(rate > 0 && sent >= scheduled ? 1 : 0);
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
// The probe: a delete of a route that is not there, acked; every refusal before it is read by then.
await new Promise<void>((resolve) => {
  probed = resolve;
  socket.send(encodeDelRoute({ family: 'inet', destination: '172.31.255.255/32', gateway: null, oif, table: 254, priority: null }, PROBE_SEQ, del | NLM_F.NLM_F_ACK.value));
});
socket.close();
line({ phase: 'done', events: sent - refused, refused, ms, cpuMs: (cpu.user + cpu.system) / 1000 });
