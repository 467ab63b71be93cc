/**
 * @module test/xnu/socket
 * One simulated PF_ROUTE socket: a byte-capped receive queue fed by the model kernel,
 * and delivery to a callback the way the addon's uv_poll loop delivers.
 *
 * What a reader can see of an overflow (checked in xnu-11417.101.15):
 * - bsd/net/raw_usrreq.c raw_input() appends to every matching socket with
 *   sbappendaddr(&so->so_rcv, &route_src, m, NULL, &error) and IGNORES the failure (it only
 *   skips sorwakeup); it neither sets so_error nor signals the socket.
 * - bsd/kern/uipc_socket2.c sbappendaddr() → sbconcat_mbufs() returns NULL when
 *   msglen + sa_len(route_src = 2) > sbspace(sb); the only trace is the per-sockbuf
 *   no-space statistic (sb_update_no_space_stats), invisible to recv().
 * So on macOS a dropped routing message is silent: recv() never returns ENOBUFS for it and
 * the addon's onOverflow callback never fires. The model does exactly that, and counts the
 * drops (`dropped`) so tests can see what the daemon could not.
 * The one place a full buffer is observable is RTM_GET_SILENT (reply to the sender only):
 * route_output() returns sbappendaddr's ENOBUFS as the write's error.
 *
 * Capacity: raw_attach() reserves RAWSNDQ/RAWRCVQ = 8192 bytes (raw_cb.h); SO_RCVBUF
 * changes sb_hiwat, capped at sb_max_adj (ENOBUFS above it), EINVAL below 1.
 *
 * Delivery timing: a real socket becomes readable and libuv calls back on a later turn of
 * the event loop, never inside the write. The model therefore schedules delivery with
 * setImmediate (the poll/check phase, after I/O), reading at most 32 messages per turn like
 * the addon's kMaxMessagesPerWake. queueMicrotask would deliver before the writer's
 * current task finished, which no socket can do.
 */
import { ERRNO, RAW_RECVSPACE, ROUTE_SRC_LEN, SB_MAX_ADJ, type ErrnoName } from './constants.js';

/** The same shape as the addon's ErrnoError (daemon/errors.ts SystemError). */
export function systemError(name: ErrnoName, syscall: string): Error & { errno: number; code: string; syscall: string } {
  const e = ERRNO[name];
  const error = new Error(`${syscall} ${name} (${e.text})`) as Error & { errno: number; code: string; syscall: string };
  error.errno = e.errno;
  error.code = name;
  error.syscall = syscall;
  return error;
}

/** What the kernel side of a socket needs: route_output and removal on close. */
export interface SocketKernel {
  routeOutput(socket: XnuRouteSocket, bytes: Uint8Array): void;
  detach(socket: XnuRouteSocket): void;
}

export interface XnuSocketOptions {
  /** The writing process's pid: the kernel writes it into rtm_pid. */
  pid: number;
  /** False: the socket lacks SS_PRIV and every write but RTM_GET fails with EPERM. */
  root?: boolean;
  /** Called asynchronously for each message; without it, messages wait for read(). */
  onMessage?: (bytes: Buffer, senderPort: number) => void;
  receiveBufferSize?: number;
}

const MAX_MESSAGES_PER_WAKE = 32;

export class XnuRouteSocket {
  readonly pid: number;
  readonly root: boolean;
  private readonly kernel: SocketKernel;
  private onMessage: ((bytes: Buffer, senderPort: number) => void) | undefined;
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private hiwat: number;
  private open = true;
  private referenced = true;
  private scheduled = false;
  /** Keeps the event loop alive while the socket is open and referenced, as the addon's uv_poll_t does. */
  private keepAlive: NodeJS.Timeout | undefined;
  /** Messages the kernel could not append because the receive buffer was full. */
  dropped = 0;
  /** Messages appended to this socket so far. */
  delivered = 0;

  constructor(kernel: SocketKernel, options: XnuSocketOptions) {
    this.kernel = kernel;
    this.pid = options.pid;
    this.root = options.root ?? true;
    this.onMessage = options.onMessage;
    this.hiwat = RAW_RECVSPACE;
    if (options.receiveBufferSize !== undefined && options.receiveBufferSize > 0) this.setReceiveBufferSize(options.receiveBufferSize);
    if (this.onMessage !== undefined) {
      this.keepAlive = setInterval(() => {}, 0x7fffffff);
    }
  }

  get isOpen(): boolean {
    return this.open;
  }
  get isReferenced(): boolean {
    return this.referenced;
  }
  /** Bytes sitting in the receive buffer (each message costs msglen + 2 for route_src). */
  get bufferedBytes(): number {
    return this.queuedBytes;
  }
  get bufferedMessages(): number {
    return this.queue.length;
  }

  /** write(2): synchronous; throws the kernel's errno as a SystemError with syscall 'write'. */
  write(bytes: Uint8Array): number {
    if (!this.open) throw systemError('EBADF', 'send');
    this.kernel.routeOutput(this, bytes);
    return bytes.length;
  }

  /** sbappendaddr: false (and a drop counted) when the message does not fit. */
  append(bytes: Uint8Array): boolean {
    if (!this.open) return false;
    const cost = bytes.length + ROUTE_SRC_LEN;
    if (cost > this.hiwat - this.queuedBytes) {
      this.dropped++;
      return false;
    }
    this.queue.push(bytes.slice());
    this.queuedBytes += cost;
    this.delivered++;
    this.schedule();
    return true;
  }

  /** recv(2) for sockets without a callback: takes every queued message. */
  read(): Buffer[] {
    const out = this.queue.map((m) => Buffer.from(m));
    this.queue = [];
    this.queuedBytes = 0;
    return out;
  }

  private schedule(): void {
    if (this.scheduled || this.onMessage === undefined || !this.open) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    for (let i = 0; i < MAX_MESSAGES_PER_WAKE; i++) {
      if (!this.open || this.onMessage === undefined) return;
      const next = this.queue.shift();
      if (next === undefined) return;
      this.queuedBytes -= next.length + ROUTE_SRC_LEN;
      this.onMessage(Buffer.from(next), 0);
    }
    if (this.queue.length > 0) this.schedule();
  }

  setReceiveBufferSize(bytes: number): void {
    if (!this.open) throw systemError('EBADF', 'setsockopt');
    if (!Number.isInteger(bytes) || bytes < 1) throw systemError('EINVAL', 'setsockopt');
    if (bytes > SB_MAX_ADJ) throw systemError('ENOBUFS', 'setsockopt');
    this.hiwat = bytes;
  }

  getReceiveBufferSize(): number {
    if (!this.open) throw systemError('EBADF', 'getsockopt');
    return this.hiwat;
  }

  ref(): void {
    this.referenced = true;
    this.keepAlive?.ref();
  }

  unref(): void {
    this.referenced = false;
    this.keepAlive?.unref();
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.queue = [];
    this.queuedBytes = 0;
    this.onMessage = undefined;
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    this.kernel.detach(this);
  }
}
