/**
 * @module codec/linux/route-view
 * A route message (struct rtmsg plus RTA_* attributes) read in place: the one decoder of
 * route messages. `read` checks the whole message at once (every rtattr's framing, every
 * fixed-size attribute's length, the metrics list), so a malformed message is refused
 * before anything is used, and keeps where each attribute is. The numbers are read then;
 * addresses become text only when asked for, and the metrics map and the multipath bytes
 * only for the printers.
 *
 * The backend's notification path reads one view per message (reused: read the view
 * before the next message) and keeps only what it needs; decodeRouteMessage builds the
 * full RouteBody for the printers, dumps and tests from a view.
 */
import { ByteReader, toHex, u16At, u32At } from '../bytes.js';
import { DecodeError } from '../../errors.js';
import { formatIPv6 } from '../../model/ip.js';
import { AF, LAYOUT, NLA_F, RTA, RTAX } from './constants.js';
import { messageTypeName } from './names.js';
import { Attributes, checkRtattr, readAttributes } from './netlink.js';

const HDR = LAYOUT.nlmsghdr.size;
const RTMSG = LAYOUT.rtmsg;
const F = RTMSG.fields;
/** Where the attributes start: nlmsghdr and rtmsg, both 4-byte multiples. */
const ATTRS = HDR + RTMSG.size;
const NLA_TYPE_MASK = ~(NLA_F.NLA_F_NESTED.value | NLA_F.NLA_F_NET_BYTEORDER.value) & 0xffff;
const AF_INET = AF.AF_INET.value;
const AF_INET6 = AF.AF_INET6.value;
const EMPTY = new Uint8Array(0);
const NO_METRICS: ReadonlyMap<number, number> = new Map<number, number>();
/** RTA_METRICS's list, checked with the general table (reused: reading is synchronous). */
const METRICS_TABLE = new Attributes(new ByteReader(EMPTY));

const DST = RTA.RTA_DST.value;
const SRC = RTA.RTA_SRC.value;
const IIF = RTA.RTA_IIF.value;
const OIF = RTA.RTA_OIF.value;
const GATEWAY = RTA.RTA_GATEWAY.value;
const PRIORITY = RTA.RTA_PRIORITY.value;
const PREFSRC = RTA.RTA_PREFSRC.value;
const METRICS = RTA.RTA_METRICS.value;
const MULTIPATH = RTA.RTA_MULTIPATH.value;
const TABLE = RTA.RTA_TABLE.value;
const MARK = RTA.RTA_MARK.value;
const MTU = RTAX.RTAX_MTU.value;

export class RouteView {
  family = 0;
  dstLen = 0;
  srcLen = 0;
  tos = 0;
  /** RTA_TABLE when present (tables above 255 exist only there), else rtm_table. */
  table = 0;
  protocol = 0;
  scope = 0;
  /** rtm_type: RTN_UNICAST, RTN_LOCAL, … */
  routeType = 0;
  flags = 0;
  oif: number | null = null;
  iif: number | null = null;
  /** RTA_PRIORITY, the metric. */
  priority: number | null = null;
  mark: number | null = null;
  /** RTAX_MTU from RTA_METRICS. */
  mtu: number | null = null;

  private bytes: Uint8Array = EMPTY;
  // Each attribute's payload: its index in `bytes` (-1 when absent) and its length.
  private dstAt = -1;
  private dstSize = 0;
  private srcAt = -1;
  private srcSize = 0;
  private gatewayAt = -1;
  private gatewaySize = 0;
  private prefsrcAt = -1;
  private prefsrcSize = 0;
  private metricsAt = -1;
  private metricsSize = 0;
  private multipathAt = -1;
  private multipathSize = 0;

  /**
   * Reads the route message at `start` in `bytes`, `length` (its nlmsg_len, already framed)
   * bytes long; `base` is where it starts in the walked buffer, for error offsets. Throws
   * DecodeError exactly where the full decoder always has, in the same order.
   */
  read(bytes: Uint8Array, start: number, length: number, base: number): this {
    if (length < ATTRS) {
      throw new DecodeError(base + HDR, `${messageTypeName(u16At(bytes, start + 4))}: ${length - HDR} byte(s) of payload, rtmsg needs ${RTMSG.size}`);
    }
    this.bytes = bytes;
    const at = start + HDR;
    this.family = bytes[at + F.rtm_family.offset] as number;
    this.dstLen = bytes[at + F.rtm_dst_len.offset] as number;
    this.srcLen = bytes[at + F.rtm_src_len.offset] as number;
    this.tos = bytes[at + F.rtm_tos.offset] as number;
    this.protocol = bytes[at + F.rtm_protocol.offset] as number;
    this.scope = bytes[at + F.rtm_scope.offset] as number;
    this.routeType = bytes[at + F.rtm_type.offset] as number;
    this.flags = u32At(bytes, at + F.rtm_flags.offset);
    this.dstAt = this.srcAt = this.gatewayAt = this.prefsrcAt = this.metricsAt = this.multipathAt = -1;
    let tableAt = -1;
    let tableSize = 0;
    let oifAt = -1;
    let oifSize = 0;
    let iifAt = -1;
    let iifSize = 0;
    let priorityAt = -1;
    let prioritySize = 0;
    let markAt = -1;
    let markSize = 0;

    // The rtattr list, as the kernel's nla_parse reads it: the last of a type wins, and a
    // tail too short for a header is ignored.
    const end = start + length;
    let pos = start + ATTRS;
    while (pos + 4 <= end) {
      const len = u16At(bytes, pos);
      const type = u16At(bytes, pos + 2) & NLA_TYPE_MASK;
      checkRtattr(len, end - pos, base + pos - start);
      const payload = pos + 4;
      const size = len - 4;
      switch (type) {
        case DST:
          this.dstAt = payload;
          this.dstSize = size;
          break;
        case SRC:
          this.srcAt = payload;
          this.srcSize = size;
          break;
        case GATEWAY:
          this.gatewayAt = payload;
          this.gatewaySize = size;
          break;
        case PREFSRC:
          this.prefsrcAt = payload;
          this.prefsrcSize = size;
          break;
        case METRICS:
          this.metricsAt = payload;
          this.metricsSize = size;
          break;
        case MULTIPATH:
          this.multipathAt = payload;
          this.multipathSize = size;
          break;
        case TABLE:
          tableAt = payload;
          tableSize = size;
          break;
        case OIF:
          oifAt = payload;
          oifSize = size;
          break;
        case IIF:
          iifAt = payload;
          iifSize = size;
          break;
        case PRIORITY:
          priorityAt = payload;
          prioritySize = size;
          break;
        case MARK:
          markAt = payload;
          markSize = size;
          break;
      }
      pos += (len + 3) & ~3;
    }

    // Fixed sizes, in the order the fields have always been checked (the first error wins).
    const offset = base - start;
    this.checkAddress(this.dstAt, this.dstSize, offset, 'RTA_DST');
    this.checkAddress(this.srcAt, this.srcSize, offset, 'RTA_SRC');
    this.mtu = this.metricsAt < 0 ? null : this.readMtu(offset);
    this.table = tableAt < 0 ? (bytes[at + F.rtm_table.offset] as number) : u32Attr(bytes, tableAt, tableSize, offset, 'RTA_TABLE');
    this.checkAddress(this.gatewayAt, this.gatewaySize, offset, 'RTA_GATEWAY');
    this.oif = oifAt < 0 ? null : u32Attr(bytes, oifAt, oifSize, offset, 'RTA_OIF');
    this.iif = iifAt < 0 ? null : u32Attr(bytes, iifAt, iifSize, offset, 'RTA_IIF');
    this.priority = priorityAt < 0 ? null : u32Attr(bytes, priorityAt, prioritySize, offset, 'RTA_PRIORITY');
    this.checkAddress(this.prefsrcAt, this.prefsrcSize, offset, 'RTA_PREFSRC');
    this.mark = markAt < 0 ? null : u32Attr(bytes, markAt, markSize, offset, 'RTA_MARK');
    return this;
  }

  /** Checks RTA_METRICS's nested list and returns its RTAX_MTU (the last one wins; one that is not a u32 is none). */
  private readMtu(offset: number): number | null {
    const list = new ByteReader(this.bytes, offset + this.metricsAt, this.metricsAt, this.metricsSize);
    const mtu = readAttributes(list, 0, METRICS_TABLE).get(MTU);
    return mtu !== undefined && mtu.length === 4 ? mtu.u32(0) : null;
  }

  /** An address attribute of the route's family: exactly 4 bytes for AF_INET, 16 for AF_INET6, anything for others. */
  private checkAddress(at: number, size: number, offset: number, what: string): void {
    if (at < 0) return;
    const expected = this.family === AF_INET ? 4 : this.family === AF_INET6 ? 16 : size;
    if (size !== expected) throw new DecodeError(offset + at, `${what}: expected ${expected} byte(s), got ${size}`);
  }

  private address(at: number, size: number): string {
    const b = this.bytes;
    if (this.family === AF_INET) return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
    if (this.family === AF_INET6) return formatIPv6(b.subarray(at, at + 16));
    return toHex(b.subarray(at, at + size));
  }

  /** CIDR; a route without RTA_DST is the family's zero address ("0.0.0.0/0"). Null for families without addresses. */
  get destination(): string | null {
    if (this.dstAt >= 0) return `${this.address(this.dstAt, this.dstSize)}/${this.dstLen}`;
    if (this.family === AF_INET) return `0.0.0.0/${this.dstLen}`;
    if (this.family === AF_INET6) return `::/${this.dstLen}`;
    return null;
  }

  /** RTA_SRC with rtm_src_len (source routing, IPv6 only in practice). */
  get source(): string | null {
    return this.srcAt < 0 ? null : `${this.address(this.srcAt, this.srcSize)}/${this.srcLen}`;
  }

  get gateway(): string | null {
    return this.gatewayAt < 0 ? null : this.address(this.gatewayAt, this.gatewaySize);
  }

  get prefsrc(): string | null {
    return this.prefsrcAt < 0 ? null : this.address(this.prefsrcAt, this.prefsrcSize);
  }

  /** Every u32 metric in RTA_METRICS, by RTAX_* number (a fresh map; one shared empty map without metrics). */
  metrics(): ReadonlyMap<number, number> {
    if (this.metricsAt < 0) return NO_METRICS;
    const found = new Map<number, number>();
    // Framing was checked by read(); the printers' path, so the general attribute table.
    for (const [type, a] of readAttributes(new ByteReader(this.bytes, 0, this.metricsAt, this.metricsSize), 0)) {
      // RTAX_CC_ALGO is a string; every other metric is a u32.
      if (a.length === 4) found.set(type, a.u32(0, 'RTAX value'));
    }
    return found;
  }

  /** RTA_MULTIPATH's rtnexthop list, undecoded (a copy). */
  multipath(): Uint8Array | null {
    return this.multipathAt < 0 ? null : this.bytes.slice(this.multipathAt, this.multipathAt + this.multipathSize);
  }
}

function u32Attr(bytes: Uint8Array, at: number, size: number, offset: number, what: string): number {
  if (size !== 4) throw new DecodeError(offset + at, `${what}: expected 4 byte(s), got ${size}`);
  return u32At(bytes, at);
}
