/**
 * @module test/xnu/wire
 * The model's own, kernel-like handling of PF_ROUTE bytes: sockaddr parsing the way
 * rtsock.c rt_xaddrs does it, message layout the way rt_msg1 (broadcasts: last sockaddr
 * unpadded) and rt_msg2 (replies and sysctl records: everything padded) do it, the
 * kernel's mask forms (route.c rtm_scrub / sa_trim, radix.c rn_addmask), and builders
 * that tests use to write requests as another process would.
 *
 * Written independently of daemon/codec/darwin on purpose: this is the check for it.
 */
import { ByteWriter } from '../../daemon/codec/bytes.js';
import { AF, RTAX, RTM, RTM_VERSION, SIZE } from './constants.js';

/** ROUNDUP32 (rtsock.c): sockaddrs take sa_len rounded up to 4, and an empty one takes 4. */
export function roundup32(saLen: number): number {
  return saLen === 0 ? 4 : (saLen + 3) & ~3;
}

/** One sockaddr slot per RTAX index; undefined = bit not set. */
export type AddrInfo = (Uint8Array | undefined)[];

export function emptyInfo(): AddrInfo {
  return new Array<Uint8Array | undefined>(RTAX.MAX).fill(undefined);
}

/** rtm_addrs bits of the slots that are present. */
export function infoAddrs(info: AddrInfo): number {
  let bits = 0;
  for (let i = 0; i < RTAX.MAX; i++) if (info[i] !== undefined) bits |= 1 << i;
  return bits;
}

/**
 * route.c sa_zero: what a zero-length sockaddr in a request turns into (an all-zero
 * 16-byte AF_INET sockaddr: as a mask it means "no bits").
 */
export function saZero(): Uint8Array {
  const sa = new Uint8Array(16);
  sa[0] = 16;
  sa[1] = AF.INET;
  return sa;
}

export interface XaddrsResult {
  info: AddrInfo;
  /** EINVAL when rt_xaddrs would refuse the sockaddrs. */
  error?: 'EINVAL';
  /** True when a zero-length sockaddr stopped the walk early (later bits were ignored). */
  stopped: boolean;
}

/**
 * rtsock.c rt_xaddrs: walks the sockaddrs after the header in RTAX order.
 * - truncated (cp + sa_len > end), sa_len > 128, or sa_len 1 → EINVAL;
 * - sa_len 0 → that slot is sa_zero and the walk STOPS (compatibility with old route(8));
 * - sa_len 2..15 ("tiny") → copied into zeroed 16-byte storage, sa_len kept;
 * - the walk also ends quietly when the padded length runs past the end.
 * Every returned sockaddr is a copy at least 16 bytes long, zero past sa_len, so reads of
 * absent bytes see zeros as the kernel's storage would.
 */
export function rtXaddrs(bytes: Uint8Array, start: number, addrs: number): XaddrsResult {
  const info = emptyInfo();
  const end = bytes.length;
  let cp = start;
  for (let i = 0; i < RTAX.MAX && cp < end; i++) {
    if ((addrs & (1 << i)) === 0) continue;
    const saLen = bytes[cp]!;
    if (cp + saLen > end) return { info, error: 'EINVAL', stopped: false };
    if (saLen > SIZE.sockaddr_storage) return { info, error: 'EINVAL', stopped: false };
    if (saLen === 0) {
      info[i] = saZero();
      return { info, stopped: true };
    }
    if (saLen < 2) return { info, error: 'EINVAL', stopped: false };
    const copy = new Uint8Array(Math.max(16, saLen));
    copy.set(bytes.subarray(cp, cp + saLen));
    info[i] = copy;
    const rounded = roundup32(saLen);
    if (cp + rounded > end) break;
    cp += rounded;
  }
  return { info, stopped: false };
}

/** sa_len of a sockaddr held by the model (a zero-length one is any array whose byte 0 is 0). */
export function saLen(sa: Uint8Array): number {
  return sa.length === 0 ? 0 : sa[0]!;
}

export interface BuiltMessage {
  bytes: Uint8Array;
  addrs: number;
}

/** Header size by message type, as rt_msg1/rt_msg2 choose it. */
export function headerSize(type: number): number {
  switch (type) {
    case RTM.NEWADDR:
    case RTM.DELADDR:
      return SIZE.ifa_msghdr;
    case RTM.NEWMADDR:
    case RTM.DELMADDR:
      return SIZE.ifma_msghdr;
    case RTM.IFINFO:
      return SIZE.if_msghdr;
    case RTM.IFINFO2:
      return 160;
    case RTM.NEWMADDR2:
      return 20;
    case RTM.GET_EXT:
      return 136;
    default:
      return SIZE.rt_msghdr;
  }
}

function layout(type: number, info: AddrInfo, padLast: boolean): BuiltMessage {
  const hdr = headerSize(type);
  let off = hdr;
  let len = hdr;
  const parts: { off: number; sa: Uint8Array; dlen: number }[] = [];
  let addrs = 0;
  for (let i = 0; i < RTAX.MAX; i++) {
    const sa = info[i];
    if (sa === undefined) continue;
    addrs |= 1 << i;
    const dlen = saLen(sa);
    parts.push({ off, sa, dlen });
    // rt_msg1: msglen ends after the last sockaddr's own bytes; rt_msg2: after its padding.
    len = padLast ? off + roundup32(dlen) : off + dlen;
    off += roundup32(dlen);
  }
  const w = new ByteWriter(Math.max(len, hdr));
  for (const p of parts) {
    const n = Math.min(p.dlen, len - p.off);
    if (n > 0) w.set(p.off, p.sa.subarray(0, n));
  }
  w.u16(0, len).u8(2, RTM_VERSION).u8(3, type);
  return { bytes: w.bytes, addrs };
}

/** rtsock.c rt_msg1: kernel-originated broadcasts; the last sockaddr is not padded. */
export function rtMsg1(type: number, info: AddrInfo): BuiltMessage {
  return layout(type, info, false);
}

/** rtsock.c rt_msg2: replies and sysctl records; every sockaddr padded, msglen a multiple of 4. */
export function rtMsg2(type: number, info: AddrInfo): BuiltMessage {
  return layout(type, info, true);
}

// ---------------------------------------------------------------------------------------
// Addresses and sockaddrs

export function parseIPv4(text: string): Uint8Array {
  const parts = text.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${text}`);
  return Uint8Array.from(parts.map((p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n > 255) throw new Error(`not an IPv4 address: ${text}`);
    return n;
  }));
}

export function parseIPv6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, undefined];
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) throw new Error(`not an IPv6 address: ${text}`);
    return parseInt(g, 16);
  }));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  if (tail === undefined ? h.length !== 8 : h.length + t.length > 7) throw new Error(`not an IPv6 address: ${text}`);
  h.forEach((g, i) => { out[i * 2] = g >> 8; out[i * 2 + 1] = g & 0xff; });
  t.forEach((g, i) => { const at = 16 - (t.length - i) * 2; out[at] = g >> 8; out[at + 1] = g & 0xff; });
  return out;
}

export function parseIP(text: string): Uint8Array {
  return text.includes(':') ? parseIPv6(text) : parseIPv4(text);
}

export function formatIPv4(a: Uint8Array): string {
  return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
}

export function formatIPv6(a: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((a[i]! << 8) | a[i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/** A 16-byte sockaddr_in. */
export function sockaddrIn(addr: Uint8Array | string, port = 0): Uint8Array {
  const a = typeof addr === 'string' ? parseIPv4(addr) : addr;
  const w = new ByteWriter(16).u8(0, 16).u8(1, AF.INET).u16be(2, port).set(4, a);
  return w.bytes;
}

/** A 28-byte sockaddr_in6. */
export function sockaddrIn6(addr: Uint8Array | string, scopeId = 0): Uint8Array {
  const a = typeof addr === 'string' ? parseIPv6(addr) : addr;
  return new ByteWriter(28).u8(0, 28).u8(1, AF.INET6).set(8, a).u32(24, scopeId).bytes;
}

export interface SockaddrDlFields {
  index: number;
  type?: number;
  name?: string;
  lladdr?: Uint8Array;
  /** Force sdl_len (route(8)/getifaddrs copies use the interface's own, ≥ 20). */
  len?: number;
}

/**
 * A sockaddr_dl. Without `len` it is sized like an interface's own link address
 * (dlil_subr.c: max(20, 8 + nlen + alen) rounded up to 4).
 */
export function sockaddrDl(f: SockaddrDlFields): Uint8Array {
  const name = new TextEncoder().encode(f.name ?? '');
  const ll = f.lladdr ?? new Uint8Array(0);
  const len = f.len ?? Math.max(SIZE.sockaddr_dl_min, (8 + name.length + ll.length + 3) & ~3);
  const w = new ByteWriter(Math.max(len, 8 + name.length + ll.length));
  w.u8(0, len).u8(1, AF.LINK).u16(2, f.index).u8(4, f.type ?? 0).u8(5, name.length).u8(6, ll.length).u8(7, 0);
  w.set(8, name).set(8 + name.length, ll);
  return w.bytes.subarray(0, Math.max(len, 8));
}

/** Address bytes of an AF_INET / AF_INET6 sockaddr (zeros where sa_len stops short). */
export function sockaddrAddress(sa: Uint8Array, family: number): Uint8Array {
  const at = family === AF.INET6 ? 8 : 4;
  const size = family === AF.INET6 ? 16 : 4;
  const out = new Uint8Array(size);
  const avail = Math.max(0, Math.min(saLen(sa), sa.length) - at);
  out.set(sa.subarray(at, at + Math.min(size, avail)));
  return out;
}

export function addrLength(family: number): number {
  return family === AF.INET6 ? 16 : 4;
}

/** A mask of `bits` leading ones over `size` bytes. */
export function prefixMask(bits: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const left = bits - i * 8;
    out[i] = left >= 8 ? 0xff : left <= 0 ? 0 : (0xff << (8 - left)) & 0xff;
  }
  return out;
}

/** Prefix length of a contiguous mask, or -1 when it is not contiguous. */
export function maskLength(mask: Uint8Array): number {
  let bits = 0;
  let ended = false;
  for (const b of mask) {
    for (let j = 7; j >= 0; j--) {
      if (b & (1 << j)) {
        if (ended) return -1;
        bits++;
      } else {
        ended = true;
      }
    }
  }
  return bits;
}

/**
 * A route mask as the kernel reports it (radix.c rn_addmask + route.c rtm_scrub/sa_trim):
 * bytes 1..skip-1 are 0xff (family, port, and for IPv6 flowinfo), sa_len covers up to the
 * last non-zero byte, and an all-zero mask has sa_len 0. IPv6 masks are forced to 28 bytes
 * except in RTM_GET / RTM_GET2 (socket replies and sysctl dumps).
 */
export function kernelRouteMask(family: number, mask: Uint8Array, type: number): Uint8Array {
  const skip = family === AF.INET6 ? 8 : 4;
  const full = new Uint8Array(skip + mask.length);
  full.fill(0xff, 1, skip);
  full.set(mask, skip);
  let end = full.length;
  while (end > skip && full[end - 1] === 0) end--;
  let len = end === skip ? 0 : end;
  if (family === AF.INET6 && type !== RTM.GET && type !== RTM.GET2 && len !== 0) len = SIZE.sockaddr_in6;
  if (len === 0) return new Uint8Array(4);
  const out = new Uint8Array(Math.max(len, full.length)).subarray(0, len);
  out.set(full.subarray(0, Math.min(len, full.length)));
  out[0] = len;
  return out;
}

/**
 * An interface netmask as the kernel reports it: a real family byte, trimmed after the
 * address start (in.c in_socktrim, then rtm_scrub); IPv6 ones stay 28 bytes outside GET.
 */
export function kernelIfaMask(family: number, mask: Uint8Array, type: number): Uint8Array {
  if (family === AF.INET6) {
    const sa = sockaddrIn6(mask);
    if (type === RTM.GET || type === RTM.GET2) {
      let end = 24;
      while (end > 8 && sa[end - 1] === 0) end--;
      const out = sa.slice(0, end === 8 ? 0 : end);
      if (out.length === 0) return new Uint8Array(4);
      out[0] = out.length;
      return out;
    }
    return sa;
  }
  let end = 8;
  while (end > 4 && mask[end - 5] === 0) end--;
  if (end === 4) return new Uint8Array(4);
  const out = new Uint8Array(end);
  out[0] = end;
  out[1] = AF.INET;
  out.set(mask.subarray(0, end - 4), 4);
  return out;
}

// ---------------------------------------------------------------------------------------
// Request builders: what another process (route(8), configd, a VPN) writes.

export interface RouteRequest {
  type: number;
  flags: number;
  /** rtm_index; the scope when flags has RTF_IFSCOPE. */
  index?: number;
  seq?: number;
  /** What the writer puts in rtm_pid; the kernel overwrites it. */
  pid?: number;
  inits?: number;
  /** rt_metrics as 14 u32 values (rmx_locks, rmx_mtu, …). */
  rmx?: number[];
  version?: number;
  /** Sockaddrs by RTAX index, laid out in order, each padded with ROUNDUP32. */
  addrs: Partial<Record<number, Uint8Array>>;
  /** Extra zero bytes after the sockaddrs (golang pads with 1024). Counted in msglen. */
  trailing?: number;
  /** Write this rtm_msglen instead of the real length. */
  msglen?: number;
}

/** Lays out an rt_msghdr request like route(8) does (every sockaddr padded). */
export function buildRouteRequest(r: RouteRequest): Uint8Array {
  let len = SIZE.rt_msghdr;
  let bits = 0;
  for (let i = 0; i < RTAX.MAX; i++) {
    const sa = r.addrs[i];
    if (sa === undefined) continue;
    bits |= 1 << i;
    len += roundup32(saLen(sa));
  }
  len += r.trailing ?? 0;
  const w = new ByteWriter(len);
  w.u16(0, r.msglen ?? len).u8(2, r.version ?? RTM_VERSION).u8(3, r.type).u16(4, r.index ?? 0);
  w.u32(8, r.flags).u32(12, bits).i32(16, r.pid ?? 0).i32(20, r.seq ?? 0).u32(32, r.inits ?? 0);
  (r.rmx ?? []).forEach((v, i) => w.u32(36 + i * 4, v));
  let off = SIZE.rt_msghdr;
  for (let i = 0; i < RTAX.MAX; i++) {
    const sa = r.addrs[i];
    if (sa === undefined) continue;
    w.set(off, sa.subarray(0, Math.min(sa.length, saLen(sa) || sa.length)));
    off += roundup32(saLen(sa));
  }
  return w.bytes;
}

/** route(8) mask_addr: a /len IPv4 mask trimmed after its last non-zero byte (`02 02 00 00` for /0). */
export function route8Mask(bits: number): Uint8Array {
  const full = new Uint8Array(8);
  full[1] = AF.INET;
  full.set(prefixMask(bits, 4), 4);
  let last = 7;
  while (last > 1 && full[last] === 0) last--;
  const out = full.slice(0, last + 1);
  out[0] = out.length;
  return out;
}

// ---------------------------------------------------------------------------------------
// Reading messages (for tests and the sysctl walker)

export interface RtHeader {
  msglen: number;
  version: number;
  type: number;
  index: number;
  flags: number;
  addrs: number;
  pid: number;
  seq: number;
  errno: number;
  use: number;
  inits: number;
}

function dv(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads an rt_msghdr (bytes must hold 92). */
export function readRtHeader(bytes: Uint8Array): RtHeader {
  const v = dv(bytes);
  return {
    msglen: v.getUint16(0, true),
    version: v.getUint8(2),
    type: v.getUint8(3),
    index: v.getUint16(4, true),
    flags: v.getUint32(8, true),
    addrs: v.getUint32(12, true),
    pid: v.getInt32(16, true),
    seq: v.getInt32(20, true),
    errno: v.getInt32(24, true),
    use: v.getInt32(28, true),
    inits: v.getUint32(32, true),
  };
}

/** The type byte's header and where its fields sit (reference §1.11). */
export function sockaddrStart(type: number): number {
  return headerSize(type);
}

/**
 * Splits a message's sockaddrs by RTAX index, advancing by ROUNDUP32 and clamping to the
 * message end (the last one of a broadcast is unpadded). For tests, not for the kernel.
 */
export function splitSockaddrs(msg: Uint8Array): AddrInfo {
  const type = msg[3]!;
  const v = dv(msg);
  const addrs = type <= RTM.RESOLVE || type === RTM.GET2 || type === RTM.GET_SILENT ? v.getUint32(12, true) : v.getUint32(4, true);
  const info = emptyInfo();
  let off = headerSize(type);
  const end = Math.min(msg.length, v.getUint16(0, true));
  for (let i = 0; i < RTAX.MAX; i++) {
    if ((addrs & (1 << i)) === 0) continue;
    if (off >= end) break;
    const l = msg[off]!;
    info[i] = msg.slice(off, Math.min(end, off + Math.max(l, 0)));
    if (l === 0) info[i] = msg.slice(off, Math.min(end, off + 4));
    off += roundup32(l);
  }
  return info;
}

/** Walks back-to-back messages (sysctl output) by msglen. */
export function walkMessages(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf[off]! | (buf[off + 1]! << 8);
    if (len < 4 || off + len > buf.length) throw new Error(`bad msglen ${len} at ${off}`);
    out.push(buf.subarray(off, off + len));
    off += len;
  }
  return out;
}
