/**
 * @module codec/darwin/route-view
 * A route message (rt_msghdr, rt_msghdr2 or rt_msghdr_ext) read in place, for the
 * backend's hot paths (every notification, every dump entry): the header's numbers and
 * where each sockaddr is, with no Sockaddr objects, no metrics struct and no text until a
 * getter asks. The destination is formatted from the raw bytes once; decodeMessage uses
 * the same getter, so the two cannot disagree on it.
 *
 * Like the sockaddr decoders, a view never throws: the header was checked before it is
 * read (decode.ts `headerLayout`), and every sockaddr read is clamped to its slot, missing
 * bytes reading as zero, as the kernel fills them.
 */
import { u16At, u32At } from '../bytes.js';
import { clearHostBits, formatIPv6, prefixOf } from '../../model/ip.js';
import { AF, RTF } from './constants.js';
import type { Layout } from './decode.js';
import { newSlotTable, readInet6, slotTable, SLOT_AT, SLOT_DECLARED, SLOT_SIZE } from './sockaddr.js';

const AF_INET = AF.AF_INET.value;
const AF_INET6 = AF.AF_INET6.value;
const AF_LINK = AF.AF_LINK.value;
const RTF_HOST = RTF.RTF_HOST.value;
const RTF_IFSCOPE = RTF.RTF_IFSCOPE.value;
const EMPTY = new Uint8Array(0);
/** A sockaddr's family in a view: an AF_* number, or one of these. */
export const SA_ABSENT = -1;
/** sa_len 0 (or no bytes): the kernel reads it as an all-zero AF_INET sockaddr (§3.3). */
export const SA_EMPTY = -2;
/** sa_len 1: no family byte. */
export const SA_SHORT = -3;

const DST = 0 * 3;
const GATEWAY = 1 * 3;
const NETMASK = 2 * 3;

/** struct rt_metrics fields, by their index (each a 32-bit word; 10–13 are rmx_filler). */
export const RMX = { locks: 0, mtu: 1, hopcount: 2, expire: 3, recvpipe: 4, sendpipe: 5, ssthresh: 6, rtt: 7, rttvar: 8, pksent: 9 } as const;

export class RouteView {
  /** rtm_type. */
  type = 0;
  /** msglen. */
  length = 0;
  /** rtm_index (0 in rt_missmsg messages). */
  index = 0;
  /** RTF_* bits. */
  flags = 0;
  /** The rtm_addrs bitmask as sent. */
  addrBits = 0;
  /** rt_msghdr and rt_msghdr_ext; 0 in rt_msghdr2 (RTM_GET2), which has none. */
  pid = 0;
  seq = 0;
  errno = 0;
  use = 0;
  inits = 0;

  private bytes: Uint8Array = EMPTY;
  /** Index of the rt_metrics struct in `bytes`. */
  private metricsAt = 0;
  /** Where each sockaddr is (see sockaddr.ts SLOT_AT), as indexes in the bytes read. */
  readonly slots = newSlotTable();
  /** The IPv6 address a getter works on (reused). */
  private readonly scratch6 = new Uint8Array(16);

  /** Reads the route message at `start` in `bytes`; `layout` is what headerLayout returned for it (a route layout). */
  read(bytes: Uint8Array, start: number, layout: Layout): this {
    this.bytes = bytes;
    const length = u16At(bytes, start);
    this.length = length;
    this.type = bytes[start + 3] as number;
    this.index = layout.indexSize === 2 ? u16At(bytes, start + layout.indexAt) : u32At(bytes, start + layout.indexAt);
    this.flags = u32At(bytes, start + layout.flagsAt);
    this.addrBits = u32At(bytes, start + layout.addrsAt);
    // rt_msghdr_ext has a 4-byte index, so everything after it sits 4 bytes later.
    const shift = layout.header === 'rt_msghdr_ext' ? 4 : 0;
    if (layout.header === 'rt_msghdr2') {
      this.pid = this.seq = this.errno = 0;
    } else {
      // errno is at 24 (28 in rt_msghdr_ext); golang/net reads 28 (rtm_use), a known bug (§1.12).
      this.pid = u32At(bytes, start + 16 + shift) | 0;
      this.seq = u32At(bytes, start + 20 + shift) | 0;
      this.errno = u32At(bytes, start + 24 + shift) | 0;
    }
    this.use = u32At(bytes, start + 28 + shift);
    this.inits = u32At(bytes, start + 32 + shift);
    this.metricsAt = start + 36 + shift;
    slotTable(bytes, start + layout.size, start + length, this.addrBits, this.slots);
    return this;
  }

  /** One rt_metrics word (RMX names the fields); rmx_expire is signed. */
  metric(field: number): number {
    const value = u32At(this.bytes, this.metricsAt + field * 4);
    return field === RMX.expire ? value | 0 : value;
  }

  /** The rt_metrics values a route can be given (RTV_* bits), as a restore writes them back; one literal, read in place. */
  settableMetrics(): { mtu: number; hopcount: number; expire: number; recvpipe: number; sendpipe: number; ssthresh: number; rtt: number; rttvar: number } {
    return {
      mtu: this.metric(RMX.mtu),
      hopcount: this.metric(RMX.hopcount),
      expire: this.metric(RMX.expire),
      recvpipe: this.metric(RMX.recvpipe),
      sendpipe: this.metric(RMX.sendpipe),
      ssthresh: this.metric(RMX.ssthresh),
      rtt: this.metric(RMX.rtt),
      rttvar: this.metric(RMX.rttvar),
    };
  }

  /** The RTF_IFSCOPE interface index, null when the route is unscoped. */
  get scope(): number | null {
    return (this.flags & RTF_IFSCOPE) !== 0 ? this.index : null;
  }

  /** The family of the sockaddr in slot `slot` (DST, GATEWAY …: the RTAX bit times 3). */
  private family(slot: number): number {
    const at = this.slots[slot + SLOT_AT] as number;
    if (at < 0) return SA_ABSENT;
    const size = this.slots[slot + SLOT_SIZE] as number;
    if (this.slots[slot + SLOT_DECLARED] === 0 || size === 0) return SA_EMPTY;
    return size >= 2 ? (this.bytes[at + 1] as number) : SA_SHORT;
  }

  /** Byte `i` of the sockaddr in `slot`, zero past its size. */
  private byte(slot: number, i: number): number {
    return i < (this.slots[slot + SLOT_SIZE] as number) ? (this.bytes[(this.slots[slot + SLOT_AT] as number) + i] as number) : 0;
  }

  /** Four bytes of the sockaddr in `slot` from `i` as a big-endian 32-bit number (signed), zero past its size. */
  private word(slot: number, i: number): number {
    const size = this.slots[slot + SLOT_SIZE] as number;
    if (i + 4 <= size) {
      const b = this.bytes;
      const at = (this.slots[slot + SLOT_AT] as number) + i;
      return ((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number);
    }
    return (this.byte(slot, i) << 24) | (this.byte(slot, i + 1) << 16) | (this.byte(slot, i + 2) << 8) | this.byte(slot, i + 3);
  }

  /** The destination's family (an AF_* number, SA_ABSENT, SA_EMPTY or SA_SHORT). */
  get dstFamily(): number {
    return this.family(DST);
  }

  /**
   * Canonical CIDR: host routes (RTF_HOST or no netmask) are /32 or /128; an empty DST is the
   * kernel's 0.0.0.0 (§3.3). Null for a non-IP or missing DST or a non-contiguous mask. The
   * netmask is read by the destination's family; its own family byte is ignored.
   */
  get destination(): string | null {
    const family = this.family(DST);
    let inet: boolean;
    if (family === AF_INET || family === SA_EMPTY) inet = true;
    else if (family === AF_INET6) inet = false;
    else return null;
    let prefix = inet ? 32 : 128;
    // Trimmed kernel masks: bytes past sa_len (and all of a zero-length one) are zero.
    const masked = (this.flags & RTF_HOST) === 0 && (this.slots[NETMASK + SLOT_AT] as number) >= 0;
    const declared = masked && this.slots[NETMASK + SLOT_DECLARED] !== 0;
    if (inet) {
      // IPv4, the common case: the mask and the address as 32-bit numbers, no arrays.
      if (masked) {
        const mask = declared ? this.word(NETMASK, 4) : 0;
        // Contiguous: the zero bits, inverted, are one run at the low end.
        const hostBits = ~mask >>> 0;
        if ((hostBits & (hostBits + 1)) !== 0) return null;
        prefix = Math.clz32(hostBits);
      }
      const bits = family === SA_EMPTY ? 0 : this.word(DST, 4) & (prefix === 0 ? 0 : -1 << (32 - prefix));
      const value = bits >>> 0;
      return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}/${prefix}`;
    }
    const scratch = this.scratch6;
    if (masked) {
      for (let i = 0; i < 16; i++) scratch[i] = declared ? this.byte(NETMASK, 8 + i) : 0;
      const p = prefixOf(scratch);
      if (p === null) return null;
      prefix = p;
    }
    readInet6(this.bytes, this.slots[DST + SLOT_AT] as number, this.slots[DST + SLOT_SIZE] as number, scratch);
    return `${formatIPv6(clearHostBits(scratch, prefix))}/${prefix}`;
  }

  /** The gateway's family (an AF_* number, SA_ABSENT, SA_EMPTY or SA_SHORT). */
  get gatewayFamily(): number {
    return this.family(GATEWAY);
  }

  /** An AF_INET gateway's address. */
  get gatewayInet(): string {
    const value = this.word(GATEWAY, 4);
    return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
  }

  /** An AF_INET6 gateway's address (its KAME scope moved out) and its scope. */
  gatewayInet6(): { address: string; scope: number } {
    const scope = readInet6(this.bytes, this.slots[GATEWAY + SLOT_AT] as number, this.slots[GATEWAY + SLOT_SIZE] as number, this.scratch6);
    return { address: formatIPv6(this.scratch6), scope };
  }

  /** An AF_LINK gateway's sdl_index. */
  get gatewayLinkIndex(): number {
    return this.byte(GATEWAY, 2) | (this.byte(GATEWAY, 3) << 8);
  }

  /** An AF_LINK gateway's sdl_type (IFT_*). */
  get gatewayLinkType(): number {
    return this.byte(GATEWAY, 4);
  }
}
