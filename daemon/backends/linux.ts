/**
 * @module backends/linux
 * The Linux backend: rtnetlink through two native sockets. One carries our requests and
 * dumps (replies matched by sequence number, accepted only from the kernel, port 0); the
 * other is joined to the link, address, route and rule groups and only listens. Keeping
 * them apart means a dump is never interleaved with notifications, and the notifications
 * our own requests cause are recognised by their port id (the request socket's).
 *
 * Routes tunroute adds carry rtm_protocol TUNROUTE_RTPROT; rules carry FRA_PROTOCOL.
 */
import type { NativeBinding, NativeRouteSocket } from '../../native/index.js';
import type { Backend, KernelEvent, KernelInterface, KernelRoute, KernelRule, KernelSnapshot, RestoreOptions } from './backend.js';
import type { Family, Route, RouteType, Rule } from '../model/route.js';
import { effectiveMetric, routeType, sameGateway } from '../model/route.js';
import { DecodeError, systemError } from '../errors.js';
import { ByteReader, HOST_LITTLE_ENDIAN, align, u16At, u32At } from '../codec/bytes.js';
import { decodeMessage, encodeDelRoute, encodeDelRule, encodeDump, encodeNewRoute, encodeNewRule, linuxCodec, REQUEST_FLAGS, TUNROUTE_RTPROT } from '../codec/linux/index.js';
import type { AddressMessage, DumpObject, LinuxMessage, RouteMessage, RouteSpec, RuleMessage, RuleSpec } from '../codec/linux/index.js';
import { FIB_RULE, IFF, LAYOUT, NLM_F, NLMSG, RTM, RTN, RTNLGRP, RTPROT, RT_SCOPE, RT_TABLE } from '../codec/linux/constants.js';
import { encodeRecordedDelete, encodeRecordedRoute, routeRecordOf } from '../codec/linux/record.js';
import { RouteView } from '../codec/linux/route-view.js';
import { frameAt } from '../codec/linux/decode.js';

const MAIN = RT_TABLE.RT_TABLE_MAIN.value;
const LOCAL = RT_TABLE.RT_TABLE_LOCAL.value;
const AF_INET = 2;
const AF_INET6 = 10;
const REQUEST_TIMEOUT_MS = 5000;
/**
 * Requests queued in one turn of the event loop go out together, as one datagram: the
 * kernel's netlink_rcv_skb runs every message in it, in order, and answers a message that
 * fails with its own error whether or not it asked for an ack (an error on one does not
 * stop the rest). So only the last message of a batch asks for an ack: its answer (ack or
 * error) comes after every error of the messages before it, and those without an error
 * succeeded. Each request keeps its seq and its own outcome; a batch costs one ack, not
 * one per route. A batch stays well under the socket's send buffer (212,992 bytes by
 * default); a larger request goes alone.
 */
const BATCH_BYTES = 64 << 10;
const HDR = LAYOUT.nlmsghdr;
/** A plain ack: nlmsghdr, then nlmsgerr.error 0 (and the request's header or all of it, echoed). */
const ACK_ERROR_AT = HDR.size + LAYOUT.nlmsgerr.fields.error.offset;
const NLMSG_ERROR = NLMSG.NLMSG_ERROR.value;
const NLM_F_ACK = NLM_F.NLM_F_ACK.value;
const NLMSG_TYPE = HDR.fields.nlmsg_type.offset;
const NLMSG_PID = HDR.fields.nlmsg_pid.offset;
/** What a request answered by its ack alone resolves with (shared: nobody adds to it). */
const NO_MESSAGES: LinuxMessage[] = Object.freeze([]) as unknown as LinuxMessage[];

/** The rtnetlink groups tunroute listens to: links, addresses, routes and rules, both families. */
export const LISTEN_GROUPS = [
  RTNLGRP.RTNLGRP_LINK.value,
  RTNLGRP.RTNLGRP_IPV4_IFADDR.value,
  RTNLGRP.RTNLGRP_IPV4_ROUTE.value,
  RTNLGRP.RTNLGRP_IPV4_RULE.value,
  RTNLGRP.RTNLGRP_IPV6_IFADDR.value,
  RTNLGRP.RTNLGRP_IPV6_ROUTE.value,
  RTNLGRP.RTNLGRP_IPV6_RULE.value,
];

/** How a request ends: an error (the kernel's refusal, a timeout, a lost ack), or its reply messages. */
type Reply = (error: Error | null, messages: LinuxMessage[]) => void;

interface Pending {
  done: Reply;
  /** When the request times out (performance.now()). */
  deadline: number;
  /** A dump's messages so far; null until the first (a write's only reply is its ack). */
  collected: LinuxMessage[] | null;
  /** A dump request: the kernel runs it on the socket until its NLMSG_DONE. */
  dump: boolean;
}

export interface LinuxBackendOptions {
  native: NativeBinding;
  /** The listening socket's SO_RCVBUF (default 4 MiB). */
  receiveBufferSize?: number;
  /** The request socket's SO_RCVBUF (default 4 MiB: room for the acks of the write window). */
  requestBufferSize?: number;
}

export class LinuxBackend implements Backend {
  readonly os = 'linux' as const;
  private readonly native: NativeBinding;
  private readonly receiveBufferSize: number;
  private readonly requestBufferSize: number;
  private requests: NativeRouteSocket | null = null;
  private events: NativeRouteSocket | null = null;
  private port = -1;
  private seq = Math.floor(Math.random() * 0x7fff0000) + 1;
  private readonly pending = new Map<number, Pending>();
  /** Requests encoded but not yet sent, in order, and their sequence numbers. */
  private outbox: Uint8Array[] = [];
  private outboxSeqs: number[] = [];
  private outboxBytes = 0;
  private flushing: NodeJS.Immediate | null = null;
  private readonly batchBuffer = new Uint8Array(BATCH_BYTES);
  private readonly batchView = new DataView(this.batchBuffer.buffer);
  /** Add requests encoded ahead (`prepare`), each used once. */
  private readonly prepared = new WeakMap<Route, Uint8Array>();
  /** Per batch sent, by the seq of its last request (the one that asks for the ack): the seqs before it. */
  private readonly batches = new Map<number, number[]>();
  private snapshots: Promise<void> = Promise.resolve();
  /**
   * A dump whose reply we gave up on (overflow, timeout) while the kernel may still be
   * running it: netlink_dump_start refuses another dump on the socket until it ends (EBUSY,
   * an answer that an overflowed socket may drop too), so the next dump waits for its end.
   */
  private abandonedDump: { seq: number; ended: Promise<void>; end: () => void } | null = null;
  private timeout: NodeJS.Timeout | null = null;
  private malformed = 0;
  private overflows = 0;
  /** The bytes of each route message in a dump reply, for the record a moved route keeps. */
  private readonly raw = new WeakMap<LinuxMessage, Uint8Array>();

  constructor(options: LinuxBackendOptions) {
    this.native = options.native;
    this.receiveBufferSize = options.receiveBufferSize ?? 4 << 20;
    this.requestBufferSize = options.requestBufferSize ?? 4 << 20;
  }

  async open(onEvent: (event: KernelEvent) => void): Promise<void> {
    this.requests = new this.native.RouteSocket(
      (bytes, datagrams) => this.onReplies(bytes, datagrams),
      // Acks were dropped: the kernel applied (or refused) the requests it was sent, but which
      // is lost. ENOBUFS tells the caller to re-check the table rather than to count a failure.
      // Requests not sent yet are not affected: they go out as usual.
      () => this.failSent(systemError(105, 'ENOBUFS', 'netlink', 'the request socket overflowed: the outcome of this request is unknown')),
      (error) => this.failAll(error),
      // Room for the acks of a large pipelined batch (each ack costs ~1 KiB of buffer).
      { receiveBufferSize: this.requestBufferSize, batch: true },
    );
    this.port = this.requests.localPort();
    this.events = new this.native.RouteSocket(
      (bytes, datagrams) => this.onNotifications(bytes, datagrams, onEvent),
      () => {
        this.overflows++;
        // What is still queued is older than the loss, and the resync this starts reads a
        // snapshot after it: none of it is read (a full queue is ~10,000 notifications).
        this.events?.discardQueued?.();
        onEvent({ kind: 'overflow' });
      },
      (error) => onEvent({ kind: 'malformed', error: error.message }),
      { groups: LISTEN_GROUPS, receiveBufferSize: this.receiveBufferSize, batch: true },
    );
    // The kernel drops the echoes of our own writes before they reach the listening socket:
    // an install of 50,000 routes is 50,000 notifications that would be queued, woken for,
    // read (two syscalls each) and skipped, and that overflowed its buffer. The JS check in
    // onNotifications stays for the rest.
    // Port 0 is the kernel's own (link and address events): never filter on it.
    try {
      if (this.port > 0) this.events.attachFilter(ownEchoFilter(this.port));
    } catch {
      // Without it the echoes are read and skipped here: slower, the same result.
    }
  }

  // ---- requests ----------------------------------------------------------------------

  private nextSeq(): number {
    this.seq = (this.seq % 0x7fffffff) + 1;
    return this.seq;
  }

  /**
   * Queues a request; it is sent with the others queued in this turn (`flush`). A dump goes
   * alone and at once, after what is queued: the kernel answers a dump request in parts as
   * we read, and a second dump on the socket meanwhile would be refused (EBUSY).
   */
  private request(encode: (seq: number) => Uint8Array, dump = false): Promise<LinuxMessage[]> {
    return new Promise<LinuxMessage[]>((resolve, reject) => this.enqueue(encode, (error, messages) => (error ? reject(error) : resolve(messages)), dump));
  }

  /** `request` without a promise: `done` receives the outcome when the kernel answers. */
  private enqueue(encode: (seq: number) => Uint8Array, done: Reply, dump = false): void {
    if (!this.requests) {
      done(new Error('the netlink socket is not open'), NO_MESSAGES);
      return;
    }
    const seq = this.nextSeq();
    this.pending.set(seq, { done, deadline: performance.now() + REQUEST_TIMEOUT_MS, collected: null, dump });
    this.armTimeout();
    const bytes = encode(seq);
    if (dump) {
      this.flush();
      this.sendNow(bytes, [seq]);
      return;
    }
    if (this.outboxBytes + bytes.length > BATCH_BYTES) this.flush();
    this.outbox.push(bytes);
    this.outboxSeqs.push(seq);
    this.outboxBytes += bytes.length;
    // After the current turn's callbacks and promise jobs: a pipelined run queues a window's
    // worth first. setImmediate runs right after this turn's I/O, so a lone repair waits
    // microseconds, not a timer tick.
    this.flushing ??= setImmediate(() => this.flush());
  }

  /** Sends the queued requests as one datagram (one request alone as itself). */
  private flush(): void {
    if (this.flushing !== null) clearImmediate(this.flushing);
    this.flushing = null;
    const parts = this.outbox;
    const seqs = this.outboxSeqs;
    if (parts.length === 0) return;
    this.outbox = [];
    this.outboxSeqs = [];
    let bytes = parts[0] as Uint8Array;
    if (parts.length > 1) {
      const buffer = this.batchBuffer;
      let offset = 0;
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i] as Uint8Array;
        buffer.set(part, offset);
        // All but the last: no ack on success (an error is still answered).
        if (i < parts.length - 1) {
          const at = offset + HDR.fields.nlmsg_flags.offset;
          this.batchView.setUint16(at, this.batchView.getUint16(at, HOST_LITTLE_ENDIAN) & ~NLM_F_ACK, HOST_LITTLE_ENDIAN);
        }
        offset += part.length;
      }
      bytes = buffer.subarray(0, offset);
      this.batches.set(seqs[seqs.length - 1] as number, seqs.slice(0, -1));
    }
    this.outboxBytes = 0;
    this.sendNow(bytes, seqs);
  }

  /**
   * One datagram to the kernel. A failed send reached no handler (netlink_sendmsg fails
   * before the kernel runs any message in it), so each of its requests fails with that error.
   */
  private sendNow(bytes: Uint8Array, seqs: number[]): void {
    try {
      if (!this.requests) throw new Error('the netlink socket is not open');
      this.requests.send(bytes);
    } catch (e) {
      this.batches.delete(seqs[seqs.length - 1] as number);
      for (const seq of seqs) {
        const p = this.pending.get(seq);
        this.pending.delete(seq);
        p?.done(e as Error, NO_MESSAGES);
      }
    }
  }

  /**
   * One timer for all requests in flight rather than one each (a pipelined batch has
   * thousands): the map keeps sending order, so the first entry has the nearest deadline.
   */
  private armTimeout(): void {
    if (this.timeout !== null) return;
    const first = this.pending.values().next();
    if (first.done) return;
    this.timeout = setTimeout(() => {
      this.timeout = null;
      const now = performance.now();
      for (const [seq, p] of this.pending) {
        if (p.deadline > now) break;
        this.pending.delete(seq);
        this.batches.delete(seq);
        if (p.dump) this.abandonDump(seq);
        p.done(systemError(110, 'ETIMEDOUT', 'netlink', `no reply to request ${seq} within ${REQUEST_TIMEOUT_MS} ms`), NO_MESSAGES);
      }
      this.armTimeout();
    }, Math.max(1, first.value.deadline - performance.now()));
  }

  /**
   * The datagrams of one wake-up: [end offset, sender port] each in `datagrams`. A datagram
   * that is one plain ack (what a batch of writes mostly gets back) is read in place: its
   * seq ends its request. Anything else goes through the decoder.
   */
  private onReplies(bytes: Uint8Array, datagrams: Uint32Array): void {
    const reader = new ByteReader(bytes);
    let start = 0;
    for (let i = 0; i < datagrams.length; i += 2) {
      const end = datagrams[i] as number;
      // Only the kernel (port 0) answers requests.
      if (datagrams[i + 1] === 0 && !this.plainAck(reader, start, end)) this.onReply(bytes.subarray(start, end));
      start = end;
    }
    this.idleTimeout();
  }

  private plainAck(bytes: ByteReader, start: number, end: number): boolean {
    if (end - start < ACK_ERROR_AT + 4) return false;
    const length = bytes.u32(start + HDR.fields.nlmsg_len.offset);
    if (length !== end - start || bytes.u16(start + HDR.fields.nlmsg_type.offset) !== NLMSG_ERROR || bytes.u32(start + ACK_ERROR_AT) !== 0) return false;
    this.answered(bytes.u32(start + HDR.fields.nlmsg_seq.offset), null);
    return true;
  }

  /**
   * The kernel's last word on request `seq` (its ack, its error, a dump's end): the request
   * ends with `error` or what it collected, after the requests of its batch (`endBatch`).
   */
  private answered(seq: number, error: Error | null): void {
    if (this.abandonedDump?.seq === seq) this.endAbandonedDump();
    const p = this.pending.get(seq);
    if (p === undefined) return;
    this.endBatch(seq);
    this.pending.delete(seq);
    p.done(error, error === null ? (p.collected ?? NO_MESSAGES) : NO_MESSAGES);
  }

  /**
   * The kernel answered the last request of a batch: every request before it that got no
   * error succeeded (their errors came first). They end in sending order, before it.
   */
  private endBatch(last: number): void {
    const batch = this.batches.get(last);
    if (batch === undefined) return;
    this.batches.delete(last);
    for (const seq of batch) {
      const p = this.pending.get(seq);
      if (p === undefined) continue;
      this.pending.delete(seq);
      p.done(null, NO_MESSAGES);
    }
  }

  private onReply(bytes: Uint8Array): void {
    const result = linuxCodec.walk(bytes);
    this.malformed += result.errors.length;
    for (const { offset, message } of result.messages) {
      if (message.kind === 'error' || message.kind === 'done') {
        this.answered(message.header.seq, message.kind === 'error' && message.errno !== 0 ? systemError(message.errno, message.code ?? `errno ${message.errno}`, 'netlink', message.extMessage ?? message.requestTypeName) : null);
        continue;
      }
      // A dump's part.
      const p = this.pending.get(message.header.seq);
      if (!p) continue;
      if (message.kind === 'route') this.raw.set(message, bytes.subarray(offset, offset + message.header.length));
      (p.collected ??= []).push(message);
    }
  }

  /** Nothing in flight: no timer keeps the process awake. */
  private idleTimeout(): void {
    if (this.pending.size === 0 && this.timeout !== null) {
      clearTimeout(this.timeout);
      this.timeout = null;
    }
  }

  /** Every request in flight or queued fails with `error` (the socket failed or closed). */
  private failAll(error: Error): void {
    if (this.flushing !== null) clearImmediate(this.flushing);
    this.flushing = null;
    this.outbox = [];
    this.outboxSeqs = [];
    this.outboxBytes = 0;
    this.failSent(error);
    // Closed: nothing more is read, so no end will be seen.
    this.endAbandonedDump();
  }

  /** The requests the kernel was sent fail with `error`; those still queued are sent as usual. */
  private failSent(error: Error): void {
    this.batches.clear();
    const queued = new Set(this.outboxSeqs);
    for (const [seq, p] of this.pending) {
      if (queued.has(seq)) continue;
      this.pending.delete(seq);
      if (p.dump) this.abandonDump(seq);
      p.done(error, NO_MESSAGES);
    }
    this.idleTimeout();
  }

  private async dump(object: DumpObject): Promise<LinuxMessage[]> {
    const abandoned = this.abandonedDump;
    if (abandoned !== null) {
      // Its remaining parts arrive as we read (they end nothing of ours); bounded in case they never do.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([abandoned.ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, REQUEST_TIMEOUT_MS)))]);
      clearTimeout(timer);
      if (this.abandonedDump === abandoned) this.abandonedDump = null;
    }
    return this.request((seq) => encodeDump(object, 'unspec', seq, REQUEST_FLAGS.dump), true);
  }

  private abandonDump(seq: number): void {
    this.endAbandonedDump();
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    this.abandonedDump = { seq, ended, end };
  }

  private endAbandonedDump(): void {
    this.abandonedDump?.end();
    this.abandonedDump = null;
  }

  // ---- notifications -----------------------------------------------------------------

  private onNotifications(bytes: Uint8Array, datagrams: Uint32Array, onEvent: (event: KernelEvent) => void): void {
    let start = 0;
    for (let i = 0; i < datagrams.length; i += 2) {
      const end = datagrams[i] as number;
      // Only the kernel's (sender 0). A plain view of the datagram: views made from it are cheaper than a Buffer's.
      if (datagrams[i + 1] === 0) this.malformed += notificationEvents(new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start), this.port, onEvent);
      start = end;
    }
  }

  // ---- Backend -----------------------------------------------------------------------

  snapshot(): Promise<KernelSnapshot> {
    // One dump at a time: a netlink socket refuses a second concurrent dump with EBUSY, so a
    // snapshot asked for while another runs (the stop's sweep, a reconcile) waits its turn.
    const next = this.snapshots.then(() => this.readSnapshot());
    this.snapshots = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** A dump whose reply was lost in an overflow is read again. */
  private async dumpAll(object: DumpObject): Promise<LinuxMessage[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.dump(object);
      } catch (e) {
        if (!(e instanceof Error && (e as { code?: string }).code === 'ENOBUFS') || attempt === 3) throw e;
      }
    }
  }

  private async readSnapshot(): Promise<KernelSnapshot> {
    const links = await this.dumpAll('link');
    const addresses = await this.dumpAll('address');
    const routes = await this.dumpAll('route');
    const rules = await this.dumpAll('rule');
    const interfaces = new Map<number, KernelInterface>();
    for (const m of links) {
      if (m.kind !== 'link') continue;
      interfaces.set(m.index, {
        name: m.name ?? `#${m.index}`,
        index: m.index,
        up: (m.flags & IFF.IFF_UP.value) !== 0,
        addresses: [],
        mtu: m.mtu,
        pointToPoint: (m.flags & IFF.IFF_POINTOPOINT.value) !== 0,
      });
    }
    for (const m of addresses) {
      if (m.kind !== 'address') continue;
      const address = addressText(m);
      if (address !== null) interfaces.get(m.index)?.addresses.push(address);
    }
    const kernelRoutes = routes.flatMap((m) => {
      if (m.kind !== 'route') return [];
      const route = toKernelRoute(m);
      const raw = this.raw.get(m);
      // Physical routes keep the kernel's record: if one is moved, it comes back exactly.
      if (route && raw && !route.tagged) route.record = routeRecordOf(raw);
      return route ?? [];
    });
    const kernelRules: KernelRule[] = [];
    for (const m of rules) {
      if (m.kind !== 'rule') continue;
      const rule = toKernelRule(m);
      if (rule) kernelRules.push(rule);
    }
    return { routes: kernelRoutes, rules: kernelRules, interfaces: [...interfaces.values()] };
  }

  async addRoute(route: Route): Promise<void> {
    await this.request((seq) => this.addRequest(route, seq));
  }

  submitRoute(kind: 'add' | 'delete', route: Route | KernelRoute, done: (error: Error | null) => void): void {
    this.enqueue(kind === 'add' ? (seq) => this.addRequest(route as Route, seq) : (seq) => encodeDelete(route, seq), done);
  }

  submitTaggedDelete(route: Route, done: (error: Error | null) => void): void {
    this.enqueue((seq) => encodeDelRoute({ ...deleteSpec(route), protocol: TUNROUTE_RTPROT }, seq, REQUEST_FLAGS.delete), done);
  }

  /**
   * Encodes the add requests of routes the engine is about to add (a plan made while the
   * tunnel is down), so the writes at up time only copy them. Each is used once, by the
   * next add of that same route object (plan routes are never changed), then dropped.
   */
  prepare(routes: readonly Route[]): void {
    for (const route of routes) {
      try {
        this.prepared.set(route, encodeAdd(route, 0));
      } catch {
        // Not encodable: the add itself reports why.
      }
    }
  }

  /** The add request for `route` with this seq: prepared ahead, or encoded now. */
  private addRequest(route: Route, seq: number): Uint8Array {
    const bytes = this.prepared.get(route);
    if (bytes === undefined) return encodeAdd(route, seq);
    this.prepared.delete(route);
    new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(HDR.fields.nlmsg_seq.offset, seq, HOST_LITTLE_ENDIAN);
    return bytes;
  }

  async restoreRoute(route: Route, options: RestoreOptions = {}): Promise<void> {
    // Without NLM_F_EXCL and NLM_F_APPEND the kernel puts the route first among those with its key.
    const flags = options.beside ? REQUEST_FLAGS.create & ~NLM_F.NLM_F_EXCL.value : REQUEST_FLAGS.create;
    const record = options.record;
    if (record && record.os === 'linux') {
      await this.request((seq) => encodeRecordedRoute(record, seq, flags));
      return;
    }
    // No record (a journal of an older release): boot is what `ip route add` uses.
    await this.request((seq) => encodeNewRoute({ ...routeSpec(route), protocol: RTPROT.RTPROT_BOOT.value }, seq, flags));
  }

  async deleteRoute(route: Route | KernelRoute): Promise<void> {
    await this.request((seq) => encodeDelete(route, seq));
  }

  async addRule(rule: Rule): Promise<void> {
    await this.request((seq) => encodeNewRule({ ...ruleSpec(rule), protocol: TUNROUTE_RTPROT }, seq, REQUEST_FLAGS.create));
  }

  async deleteRule(rule: Rule): Promise<void> {
    await this.request((seq) => encodeDelRule(ruleSpec(rule), seq, REQUEST_FLAGS.delete));
  }

  keyOf(route: Route | KernelRoute): string {
    return `${route.family}|${route.table ?? MAIN}|${route.destination}|${effectiveMetric(route)}`;
  }

  sameKey(kernel: KernelRoute, route: Route | KernelRoute): boolean {
    // keyOf's fields, compared without building the strings.
    return (
      kernel.family === route.family &&
      (kernel.table ?? MAIN) === (route.table ?? MAIN) &&
      kernel.destination === route.destination &&
      effectiveMetric(kernel) === effectiveMetric(route)
    );
  }

  satisfies(kernel: KernelRoute, route: Route): boolean {
    if (!this.sameKey(kernel, route) || routeType(kernel) !== routeType(route)) return false;
    // A route that refuses traffic has no device or gateway to compare.
    return routeType(route) !== 'unicast' || (kernel.index === route.index && sameGateway(kernel.gateway, route.gateway));
  }

  stats(): { malformed: number; overflows: number } {
    return { malformed: this.malformed, overflows: this.overflows };
  }

  close(): void {
    this.failAll(new Error('the netlink socket was closed'));
    this.requests?.close();
    this.events?.close();
    this.requests = null;
    this.events = null;
  }
}

/**
 * A classic BPF program (struct sock_filter: u16 code, u8 jt, u8 jf, u32 k) that refuses a
 * datagram whose first nlmsghdr carries `port` as nlmsg_pid and keeps everything else.
 * A route notification is one message a datagram. BPF loads words in network order and
 * nlmsg_pid is in host order, so the constant is byte-swapped on a little-endian host.
 */
export function ownEchoFilter(port: number): Uint8Array {
  const BPF_LD_W_ABS = 0x20;
  const BPF_JMP_JEQ_K = 0x15;
  const BPF_RET_K = 0x06;
  const swapped = HOST_LITTLE_ENDIAN ? (((port & 0xff) << 24) | ((port & 0xff00) << 8) | ((port >>> 8) & 0xff00) | (port >>> 24)) >>> 0 : port >>> 0;
  const program: Array<[number, number, number, number]> = [
    [BPF_LD_W_ABS, 0, 0, HDR.fields.nlmsg_pid.offset],
    // Ours: on to the next instruction (refuse); anyone else's: skip it (keep).
    [BPF_JMP_JEQ_K, 0, 1, swapped],
    [BPF_RET_K, 0, 0, 0],
    [BPF_RET_K, 0, 0, 0xffffffff],
  ];
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach(([code, jt, jf, k], i) => {
    view.setUint16(i * 8, code, HOST_LITTLE_ENDIAN);
    view.setUint8(i * 8 + 2, jt);
    view.setUint8(i * 8 + 3, jf);
    view.setUint32(i * 8 + 4, k, HOST_LITTLE_ENDIAN);
  });
  return bytes;
}

/** RTM_NEWROUTE for one of our routes: tagged, and refused (EEXIST) where the key is taken. */
function encodeAdd(route: Route, seq: number): Uint8Array {
  return encodeNewRoute({ ...routeSpec(route), protocol: TUNROUTE_RTPROT }, seq, REQUEST_FLAGS.create);
}

/**
 * RTM_DELROUTE. A physical route read from the kernel is deleted by its own record: exactly
 * that entry, by nexthop id when it uses a nexthop object.
 */
function encodeDelete(route: Route | KernelRoute, seq: number): Uint8Array {
  const record = 'record' in route ? route.record : undefined;
  if (record && record.os === 'linux') return encodeRecordedDelete(record, seq, REQUEST_FLAGS.delete);
  // One of ours (tagged when the snapshot was read) is deleted only if it still is: a foreign
  // route that took its key and device since is never removed.
  const spec = deleteSpec(route);
  if ('tagged' in route && route.tagged) spec.protocol = TUNROUTE_RTPROT;
  return encodeDelRoute(spec, seq, REQUEST_FLAGS.delete);
}

const RTN_OF: Record<RouteType, number> = {
  unicast: RTN.RTN_UNICAST.value,
  unreachable: RTN.RTN_UNREACHABLE.value,
  prohibit: RTN.RTN_PROHIBIT.value,
  blackhole: RTN.RTN_BLACKHOLE.value,
};
const TYPE_OF = new Map<number, RouteType>(Object.entries(RTN_OF).map(([name, value]) => [value, name as RouteType]));

/** An interface address as snapshots list it and address events name it: "addr/len", the local end of a point-to-point one. */
function addressText(m: AddressMessage): string | null {
  const address = m.local ?? m.address;
  return address ? `${address}/${m.prefixlen}` : null;
}

/** The rtnetlink route a Route becomes (protocol chosen by the caller). The backend and `plan --emit hex` share it. */
export function routeSpec(route: Route | KernelRoute): RouteSpec {
  const type = routeType(route);
  if (type !== 'unicast') {
    // As `ip route add unreachable PREFIX`: no device, no gateway, scope universe.
    return { family: route.family, destination: route.destination, table: route.table ?? MAIN, priority: route.metric, type: RTN_OF[type], scope: RT_SCOPE.RT_SCOPE_UNIVERSE.value };
  }
  const spec: RouteSpec = {
    family: route.family,
    destination: route.destination,
    gateway: route.gateway !== null && 'address' in route.gateway ? route.gateway.address : null,
    oif: route.index || null,
    table: route.table ?? MAIN,
    priority: route.metric,
  };
  if (route.mtu !== null) spec.mtu = route.mtu;
  return spec;
}

/** Deletes by table, destination, metric and device (or type), never by destination alone. */
export function deleteSpec(route: Route | KernelRoute): RouteSpec {
  const spec: RouteSpec = { ...routeSpec(route), priority: effectiveMetric(route) };
  // A delete's scope is "any" (RT_SCOPE_NOWHERE), whatever the route was added with.
  delete spec.scope;
  return spec;
}

export function ruleSpec(rule: Rule): RuleSpec {
  return {
    family: rule.family,
    priority: rule.priority,
    src: rule.from,
    table: rule.table,
    suppressPrefixlen: rule.suppressPrefixlength ?? null,
    fwmark: rule.fwmark ?? null,
    invert: rule.invert === true,
  };
}

/** The kernel reports an unset suppress_prefixlength as -1 (0xffffffff). */
const SUPPRESS_UNSET = 0xffffffff;

/** A rule in the shared model: `lookup` rules of IPv4/IPv6 only (goto, nop and typed rules are nobody's business here). */
export function toKernelRule(m: RuleMessage): KernelRule | null {
  if (m.family !== AF_INET && m.family !== AF_INET6) return null;
  return {
    family: m.family === AF_INET ? 'inet' : 'inet6',
    priority: m.priority,
    from: m.src,
    table: m.table,
    suppressPrefixlength: m.suppressPrefixlen === null || m.suppressPrefixlen === SUPPRESS_UNSET ? null : m.suppressPrefixlen,
    fwmark: m.fwmark,
    invert: (m.flags & FIB_RULE.FIB_RULE_INVERT.value) !== 0,
    tagged: m.protocol === TUNROUTE_RTPROT,
  };
}

/** What toKernelRoute reads of a route message: a RouteView (notifications) or a decoded RouteMessage (dumps). */
export type RouteFields = Pick<RouteMessage, 'family' | 'routeType' | 'table' | 'destination' | 'gateway' | 'oif' | 'priority' | 'mtu' | 'protocol'>;

/**
 * Unicast, unreachable, prohibit and blackhole routes outside the local table, in the
 * shared model; null for everything else (local, broadcast, multicast …).
 */
export function toKernelRoute(m: RouteFields): KernelRoute | null {
  if (m.family !== AF_INET && m.family !== AF_INET6) return null;
  const type = TYPE_OF.get(m.routeType);
  if (m.table === LOCAL || type === undefined) return null;
  // Each address is read once: a view formats it when asked.
  const destination = m.destination;
  if (destination === null) return null;
  const family: Family = m.family === AF_INET ? 'inet' : 'inet6';
  let gateway: KernelRoute['gateway'] = null;
  let index = 0;
  // IPv6 reports refusing routes on lo: they have neither device nor gateway.
  if (type === 'unicast') {
    const address = m.gateway;
    const oif = m.oif;
    gateway = address !== null ? { address } : oif !== null ? { link: oif } : null;
    index = oif ?? 0;
  }
  const route: KernelRoute = {
    family,
    destination,
    gateway,
    index,
    scope: null,
    table: m.table,
    metric: effectiveMetric({ family, metric: m.priority }),
    flags: [],
    mtu: m.mtu,
    tagged: m.protocol === TUNROUTE_RTPROT,
  };
  if (type !== 'unicast') route.type = type;
  return route;
}

const ROUTE_MESSAGES = new Set<number>([RTM.RTM_NEWROUTE.value, RTM.RTM_DELROUTE.value, RTM.RTM_GETROUTE.value]);
/** The view every route notification is read with (reused: each becomes a KernelRoute before the next is read). */
const NOTIFIED = new RouteView();

/**
 * The events in one datagram from the listening socket, as the daemon turns them. Route
 * messages, nearly all of the traffic, are read through a RouteView (no RouteMessage);
 * links, addresses and rules are decoded in full. A message our own requests caused
 * (nlmsg_pid is our request socket's `ownPort`; the socket's filter keeps most of them out)
 * is framed and skipped unread. A malformed message becomes a `malformed` event, and the rest
 * of the datagram is still read when its framing allows. Returns how many were malformed.
 */
export function notificationEvents(bytes: Uint8Array, ownPort: number, onEvent: (event: KernelEvent) => void): number {
  let malformed = 0;
  let offset = 0;
  while (offset < bytes.length) {
    let length: number;
    try {
      length = frameAt(bytes, offset);
    } catch (e) {
      malformed++;
      onEvent({ kind: 'malformed', error: (e as DecodeError).message });
      break;
    }
    const portid = u32At(bytes, offset + NLMSG_PID);
    if (portid !== ownPort) {
      let event: KernelEvent | null;
      try {
        const type = u16At(bytes, offset + NLMSG_TYPE);
        if (ROUTE_MESSAGES.has(type)) {
          const route = toKernelRoute(NOTIFIED.read(bytes, offset, length, offset));
          event = route === null ? null : { kind: 'route', change: type === RTM.RTM_DELROUTE.value ? 'deleted' : 'added', route, pid: portid };
        } else {
          event = eventOf(decodeMessage(bytes.subarray(offset, offset + length), offset));
        }
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        malformed++;
        event = { kind: 'malformed', error: e.message };
      }
      if (event !== null) onEvent(event);
    }
    offset += align(length, 4);
  }
  return malformed;
}

/** The event a link, address or rule notification is (route messages go through the view). */
function eventOf(m: LinuxMessage): KernelEvent | null {
  switch (m.kind) {
    case 'link':
      return { kind: 'link', index: m.index, up: m.header.type === RTM.RTM_DELLINK.value ? null : (m.flags & IFF.IFF_UP.value) !== 0 };
    case 'address': {
      const address = addressText(m);
      return { kind: 'address', change: m.header.type === RTM.RTM_DELADDR.value ? 'deleted' : 'added', index: m.index, ...(address === null ? {} : { address }) };
    }
    case 'rule':
      return { kind: 'rule', change: m.header.type === RTM.RTM_DELRULE.value ? 'deleted' : 'added' };
    default:
      return null;
  }
}
