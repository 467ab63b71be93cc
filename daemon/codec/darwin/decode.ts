/**
 * @module codec/darwin/decode
 * Decodes PF_ROUTE messages (socket reads and sysctl dumps) into a discriminated union
 * keyed by `kind`. The header layout is picked from a table keyed by rtm_type
 * (reference §1.11), after the length and version are checked; unknown types are
 * skipped, never fatal. Field offsets are XNU's, not the route(4) page's (§1.12).
 */
import { ByteReader, u16At } from '../bytes.js';
import type { WalkResult } from '../codec.js';
import { DecodeError } from '../../errors.js';
import { RTM, RTM_VERSION, nameOf } from './constants.js';
import type { IpFamily } from '../../model/ip.js';
import { RMX, RouteView } from './route-view.js';
import { decodeMask, decodeSockaddr, slotsOf, splitSockaddrs, type Mask, type RawSlot, type Sockaddr, type SlotName } from './sockaddr.js';

export interface Addrs {
  dst?: Sockaddr;
  gateway?: Sockaddr;
  /** Decoded by the destination's family (the interface address's for address messages). */
  netmask?: Mask;
  genmask?: Mask;
  ifp?: Sockaddr;
  ifa?: Sockaddr;
  author?: Sockaddr;
  brd?: Sockaddr;
}

/** struct rt_metrics: 14 32-bit fields. */
export interface RouteMetrics {
  locks: number;
  mtu: number;
  hopcount: number;
  /** Calendar seconds; 0 = never. Signed. */
  expire: number;
  recvpipe: number;
  sendpipe: number;
  ssthresh: number;
  /** Microseconds. */
  rtt: number;
  rttvar: number;
  pksent: number;
  filler: [number, number, number, number];
}

interface MessageBase {
  /** rtm_type and its C name ("RTM_ADD"). */
  type: number;
  typeName: string;
  version: number;
  /** msglen. */
  length: number;
  /** The interface index field of the header (0 in rt_missmsg messages). */
  index: number;
  /** The header's flag word: RTF_* for routes, IFF_* for interfaces, ifa_flags for addresses. */
  flags: number;
  /** The rtm_addrs bitmask as sent. */
  addrBits: number;
  addrs: Addrs;
}

export interface RouteMessage extends MessageBase {
  kind: 'route';
  header: 'rt_msghdr' | 'rt_msghdr2' | 'rt_msghdr_ext';
  /** rt_msghdr and rt_msghdr_ext only; rt_msghdr2 (RTM_GET2) has no pid, seq or errno. */
  pid?: number;
  seq?: number;
  errno?: number;
  /** rt_msghdr2 only. */
  refcnt?: number;
  parentFlags?: number;
  use: number;
  inits: number;
  metrics: RouteMetrics;
  /** rt_msghdr_ext only: struct rt_reach_info. */
  reach?: { refcnt: number; probes: number; sndExpire: bigint; rcvExpire: bigint; rssi: number; lqm: number; npm: number };
  /** Canonical CIDR: host routes (RTF_HOST or no netmask) are /32 or /128. Null for a non-IP or missing DST or a non-contiguous mask. */
  destination: string | null;
  /** The RTF_IFSCOPE interface index, null when the route is unscoped. */
  scope: number | null;
}

/** struct if_data / if_data64 (64-bit counters are converted to number). */
export interface InterfaceData {
  type: number;
  typelen: number;
  physical: number;
  addrlen: number;
  hdrlen: number;
  recvquota: number;
  xmitquota: number;
  mtu: number;
  metric: number;
  baudrate: number;
  ipackets: number;
  ierrors: number;
  opackets: number;
  oerrors: number;
  collisions: number;
  ibytes: number;
  obytes: number;
  imcasts: number;
  omcasts: number;
  iqdrops: number;
  noproto: number;
  recvtiming: number;
  xmittiming: number;
  lastchange: { sec: number; usec: number };
  /** if_data only (0 in if_data64). */
  hwassist: number;
}

export interface InterfaceMessage extends MessageBase {
  kind: 'interface';
  header: 'if_msghdr' | 'if_msghdr2';
  data: InterfaceData;
  /** if_msghdr2 only. */
  send?: { len: number; maxlen: number; drops: number; timer: number };
}

export interface AddressMessage extends MessageBase {
  kind: 'address';
  header: 'ifa_msghdr';
  metric: number;
  /** The interface address with its prefix ("10.8.0.2/24"), from IFA and NETMASK; null without an IP IFA. */
  address: string | null;
}

export interface MulticastMessage extends MessageBase {
  kind: 'multicast';
  header: 'ifma_msghdr' | 'ifma_msghdr2';
  /** ifma_msghdr2 only. */
  refcount?: number;
  /** The group address (the IFA sockaddr), null when absent or not IP. */
  group: string | null;
}

export type DarwinMessage = RouteMessage | InterfaceMessage | AddressMessage | MulticastMessage;

type Parse = (r: ByteReader, common: MessageBase, layout: Layout) => DarwinMessage;

export interface Layout {
  header: DarwinMessage['header'];
  /** sizeof the header: msglen must be at least this, and sockaddrs start here. */
  size: number;
  addrsAt: number;
  flagsAt: number;
  indexAt: number;
  indexSize: 2 | 4;
  parse: Parse;
}

const ipFamily = (sa: Sockaddr | undefined): IpFamily | null =>
  sa?.family === 'inet' || sa?.family === 'inet6' ? sa.family : null;

function readMetrics(v: RouteView): RouteMetrics {
  // The settable values, completed in place (a spread copied every field, per message).
  const metrics = v.settableMetrics() as RouteMetrics;
  metrics.locks = v.metric(RMX.locks);
  metrics.pksent = v.metric(RMX.pksent);
  metrics.filler = [v.metric(10), v.metric(11), v.metric(12), v.metric(13)];
  return metrics;
}

/** Decodes the slots; masks go by `maskFamily(addrs)` so they never depend on their own family byte. */
function decodeAddrs(slots: Partial<Record<SlotName, RawSlot>>, maskFamily: (a: Addrs) => IpFamily | null): Addrs {
  // One named store per slot (not addrs[name] in a loop), so the objects share a few shapes.
  const addrs: Addrs = {};
  if (slots.dst !== undefined) addrs.dst = decodeSockaddr(slots.dst);
  if (slots.gateway !== undefined) addrs.gateway = decodeSockaddr(slots.gateway);
  if (slots.ifp !== undefined) addrs.ifp = decodeSockaddr(slots.ifp);
  if (slots.ifa !== undefined) addrs.ifa = decodeSockaddr(slots.ifa);
  if (slots.author !== undefined) addrs.author = decodeSockaddr(slots.author);
  if (slots.brd !== undefined) addrs.brd = decodeSockaddr(slots.brd);
  const family = maskFamily(addrs);
  if (slots.netmask !== undefined) addrs.netmask = decodeMask(slots.netmask, family);
  if (slots.genmask !== undefined) addrs.genmask = decodeMask(slots.genmask, family);
  return addrs;
}

/** The view the full decoder takes the destination from (reused: decoding is synchronous). */
const VIEW = new RouteView();

const routeMaskFamily = (a: Addrs): IpFamily | null => (a.dst?.family === 'empty' ? 'inet' : ipFamily(a.dst));

const parseRoute: Parse = (r, common, layout) => {
  const view = VIEW.read(r.buffer, r.start, layout);
  const addrs = decodeAddrs(slotsOf(r.buffer, view.slots, r.base - r.start), routeMaskFamily);
  const header = layout.header as RouteMessage['header'];
  const scope = view.scope;
  const destination = view.destination;
  if (layout.header === 'rt_msghdr_ext') {
    return {
      ...common,
      addrs,
      kind: 'route',
      header,
      pid: view.pid,
      seq: view.seq,
      errno: view.errno,
      use: view.use,
      inits: view.inits,
      metrics: readMetrics(view),
      reach: {
        refcnt: r.u32(96, 'ri_refcnt'),
        probes: r.u32(100, 'ri_probes'),
        sndExpire: r.u64(104, 'ri_snd_expire'),
        rcvExpire: r.u64(112, 'ri_rcv_expire'),
        rssi: r.i32(120, 'ri_rssi'),
        lqm: r.i32(124, 'ri_lqm'),
        npm: r.i32(128, 'ri_npm'),
      },
      destination,
      scope,
    };
  }
  // Built field by field, not by spreading partial objects into one another (a copy per spread).
  const message: RouteMessage = {
    type: common.type,
    typeName: common.typeName,
    version: common.version,
    length: common.length,
    index: common.index,
    flags: common.flags,
    addrBits: common.addrBits,
    addrs,
    kind: 'route',
    header,
    use: view.use,
    inits: view.inits,
    metrics: readMetrics(view),
    destination,
    scope,
  };
  if (layout.header === 'rt_msghdr2') {
    message.refcnt = r.i32(16, 'rtm_refcnt');
    message.parentFlags = r.u32(20, 'rtm_parentflags');
  } else {
    message.pid = view.pid;
    message.seq = view.seq;
    message.errno = view.errno;
  }
  return message;
};

function readIfData(r: ByteReader, at: number, wide: boolean): InterfaceData {
  const u8 = (i: number) => r.u8(at + i, 'if_data');
  const u32 = (i: number) => r.u32(at + i, 'if_data');
  const u64 = (i: number) => Number(r.u64(at + i, 'if_data64'));
  // Counters are u32 in if_data and u64 in if_data64, at different offsets.
  const counter = (off32: number, off64: number) => (wide ? u64(off64) : u32(off32));
  return {
    type: u8(0),
    typelen: u8(1),
    physical: u8(2),
    addrlen: u8(3),
    hdrlen: u8(4),
    recvquota: u8(5),
    xmitquota: u8(6),
    mtu: u32(8),
    metric: u32(12),
    baudrate: counter(16, 16),
    ipackets: counter(20, 24),
    ierrors: counter(24, 32),
    opackets: counter(28, 40),
    oerrors: counter(32, 48),
    collisions: counter(36, 56),
    ibytes: counter(40, 64),
    obytes: counter(44, 72),
    imcasts: counter(48, 80),
    omcasts: counter(52, 88),
    iqdrops: counter(56, 96),
    noproto: counter(60, 104),
    recvtiming: u32(wide ? 112 : 64),
    xmittiming: u32(wide ? 116 : 68),
    lastchange: { sec: r.i32(at + (wide ? 120 : 72), 'ifi_lastchange'), usec: r.i32(at + (wide ? 124 : 76), 'ifi_lastchange') },
    hwassist: wide ? 0 : u32(84),
  };
}

const parseInterface: Parse = (r, common, layout) => {
  // Socket-delivered RTM_IFINFO has no sockaddrs at all (§7); that is normal, not an error.
  const addrs = decodeAddrs(splitSockaddrs(r.bytes, layout.size, common.addrBits, r.base), (a) => ipFamily(a.ifa));
  if (layout.header === 'if_msghdr2') {
    return {
      ...common,
      addrs,
      kind: 'interface',
      header: 'if_msghdr2',
      send: { len: r.u32(16, 'ifm_snd_len'), maxlen: r.u32(20, 'ifm_snd_maxlen'), drops: r.u32(24, 'ifm_snd_drops'), timer: r.i32(28, 'ifm_timer') },
      data: readIfData(r, 32, true),
    };
  }
  return { ...common, addrs, kind: 'interface', header: 'if_msghdr', data: readIfData(r, 16, false) };
};

const parseAddress: Parse = (r, common, layout) => {
  const addrs = decodeAddrs(splitSockaddrs(r.bytes, layout.size, common.addrBits, r.base), (a) => ipFamily(a.ifa));
  let address: string | null = null;
  const ifa = addrs.ifa;
  if (ifa?.family === 'inet' || ifa?.family === 'inet6') {
    const max = ifa.family === 'inet' ? 32 : 128;
    const mask = addrs.netmask;
    const prefix = mask === undefined ? max : mask.family === 'empty' ? 0 : mask.family === ifa.family ? mask.prefix : null;
    address = prefix === null ? null : `${ifa.address}/${prefix}`;
  }
  return { ...common, addrs, kind: 'address', header: 'ifa_msghdr', metric: r.i32(16, 'ifam_metric'), address };
};

const parseMulticast: Parse = (r, common, layout) => {
  const addrs = decodeAddrs(splitSockaddrs(r.bytes, layout.size, common.addrBits, r.base), (a) => ipFamily(a.ifa));
  const ifa = addrs.ifa;
  const group = ifa?.family === 'inet' || ifa?.family === 'inet6' ? ifa.address : null;
  if (layout.header === 'ifma_msghdr2') {
    return { ...common, addrs, kind: 'multicast', header: 'ifma_msghdr2', refcount: r.i32(16, 'ifmam_refcount'), group };
  }
  return { ...common, addrs, kind: 'multicast', header: 'ifma_msghdr', group };
};

const RT_MSGHDR: Layout = { header: 'rt_msghdr', size: 92, addrsAt: 12, flagsAt: 8, indexAt: 4, indexSize: 2, parse: parseRoute };
const IFA_MSGHDR: Layout = { header: 'ifa_msghdr', size: 20, addrsAt: 4, flagsAt: 8, indexAt: 12, indexSize: 2, parse: parseAddress };
const IFMA_MSGHDR: Layout = { header: 'ifma_msghdr', size: 16, addrsAt: 4, flagsAt: 8, indexAt: 12, indexSize: 2, parse: parseMulticast };

/** Header layout by rtm_type (reference §1.11). */
export const LAYOUTS: ReadonlyMap<number, Layout> = new Map<number, Layout>([
  ...[
    RTM.RTM_ADD,
    RTM.RTM_DELETE,
    RTM.RTM_CHANGE,
    RTM.RTM_GET,
    RTM.RTM_LOSING,
    RTM.RTM_REDIRECT,
    RTM.RTM_MISS,
    RTM.RTM_LOCK,
    RTM.RTM_OLDADD,
    RTM.RTM_OLDDEL,
    RTM.RTM_RESOLVE,
    RTM.RTM_GET_SILENT,
  ].map((t) => [t.value, RT_MSGHDR] as const),
  [RTM.RTM_GET2.value, { ...RT_MSGHDR, header: 'rt_msghdr2' }],
  [RTM.RTM_GET_EXT.value, { header: 'rt_msghdr_ext', size: 136, addrsAt: 16, flagsAt: 8, indexAt: 4, indexSize: 4, parse: parseRoute }],
  [RTM.RTM_NEWADDR.value, IFA_MSGHDR],
  [RTM.RTM_DELADDR.value, IFA_MSGHDR],
  [RTM.RTM_IFINFO.value, { header: 'if_msghdr', size: 112, addrsAt: 4, flagsAt: 8, indexAt: 12, indexSize: 2, parse: parseInterface }],
  [RTM.RTM_IFINFO2.value, { header: 'if_msghdr2', size: 160, addrsAt: 4, flagsAt: 8, indexAt: 12, indexSize: 2, parse: parseInterface }],
  [RTM.RTM_NEWMADDR.value, IFMA_MSGHDR],
  [RTM.RTM_DELMADDR.value, IFMA_MSGHDR],
  [RTM.RTM_NEWMADDR2.value, { ...IFMA_MSGHDR, header: 'ifma_msghdr2', size: 20 }],
]);

/**
 * Checks the header of the message at `offset`: the common header, msglen (at least 4, at
 * least its layout's size, not past the end) and the version. Returns the layout of its
 * type, or null for a type this codec does not know; throws DecodeError (absolute offsets)
 * when malformed. decodeMessage and the backend's hot path both start here.
 */
export function headerLayout(bytes: Uint8Array, offset: number): Layout | null {
  if (!Number.isInteger(offset) || offset < 0 || offset > bytes.length) throw new DecodeError(Math.max(0, offset), 'offset outside the buffer');
  const left = bytes.length - offset;
  if (left < 4) throw new DecodeError(offset, `${left} byte(s) left, a message header needs 4`);
  const length = u16At(bytes, offset);
  const version = bytes[offset + 2] as number;
  const type = bytes[offset + 3] as number;
  if (length < 4) throw new DecodeError(offset, `msglen ${length} is shorter than the 4-byte common header`);
  if (length > left) throw new DecodeError(offset, `msglen ${length} runs past the ${left} byte(s) left`);
  if (version !== RTM_VERSION.value) throw new DecodeError(offset + 2, `version ${version}, expected ${RTM_VERSION.value}`);
  const layout = LAYOUTS.get(type);
  if (layout === undefined) return null;
  if (length < layout.size) throw new DecodeError(offset, `msglen ${length} is shorter than ${layout.header} (${layout.size} bytes)`);
  return layout;
}

/**
 * Decodes the message at `offset`. Throws DecodeError (absolute offsets) when the bytes
 * are not a valid message; returns null for a well-formed message of a type this codec
 * does not know, which callers skip.
 */
export function decodeMessage(bytes: Uint8Array, offset = 0): DarwinMessage | null {
  const layout = headerLayout(bytes, offset);
  if (layout === null) return null;
  const outer = new ByteReader(bytes);
  const length = outer.u16(offset, 'msglen');
  const version = outer.u8(offset + 2, 'version');
  const type = outer.u8(offset + 3, 'type');
  const r = outer.sub(offset, length, 'message');
  const common: MessageBase = {
    type,
    typeName: nameOf(type, RTM) ?? `RTM_${type}`,
    version,
    length,
    index: layout.indexSize === 2 ? r.u16(layout.indexAt, 'index') : r.u32(layout.indexAt, 'index'),
    flags: r.u32(layout.flagsAt, 'flags'),
    addrBits: r.u32(layout.addrsAt, 'addrs'),
    addrs: {},
  };
  return layout.parse(r, common, layout);
}

/**
 * Frames back-to-back messages (one socket read, or a whole sysctl buffer), advancing by
 * msglen: `decode` reads the message at each offset (null: nothing to deliver), `deliver`
 * gets what it read, and a DecodeError goes to `malformed` (the message is skipped). A
 * msglen that cannot be followed (under 4, or past the end) ends the walk.
 */
function frames<T>(bytes: Uint8Array, decode: (offset: number) => T | null, deliver: (value: T, offset: number) => void, malformed: (error: DecodeError) => void): void {
  let pos = 0;
  while (pos < bytes.length) {
    const left = bytes.length - pos;
    if (left < 4) {
      malformed(new DecodeError(pos, `${left} trailing byte(s), too short for a message header`));
      break;
    }
    const length = u16At(bytes, pos);
    let value: T | null = null;
    try {
      value = decode(pos);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      malformed(e);
    }
    // Outside the try: what the receiver throws is not a malformed message.
    if (value !== null) deliver(value, pos);
    if (length < 4 || length > left) break;
    pos += length;
  }
}

/** A plain Uint8Array view of a Buffer: its subarrays (a sockaddr each) are much cheaper. */
function plain(input: Uint8Array): Uint8Array {
  return Buffer.isBuffer(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : input;
}

/** Walks back-to-back messages, decoding each in full. A malformed message with a sane msglen is recorded and skipped. Never throws. */
export function walk(input: Uint8Array): WalkResult<DarwinMessage> {
  const result: WalkResult<DarwinMessage> = { messages: [], errors: [], unknown: 0 };
  const bytes = plain(input);
  frames(
    bytes,
    (offset) => {
      const message = decodeMessage(bytes, offset);
      if (message === null) result.unknown++;
      return message;
    },
    (message, offset) => result.messages.push({ offset, message }),
    (error) => result.errors.push(error),
  );
  return result;
}

export interface ScanVisitor {
  /** A route message, as `view` (reused for the next one: read what is needed before returning). */
  route(view: RouteView): void;
  /** Any other message of a known type, decoded in full. */
  other(message: DarwinMessage): void;
  malformed(error: DecodeError): void;
}

/**
 * Walks like `walk`, for the backend's hot paths (notifications, table dumps): route
 * messages are read through `view` rather than decoded into objects. Unknown types are
 * skipped. Throws only what the visitor throws.
 */
export function scan(input: Uint8Array, view: RouteView, visitor: ScanVisitor): void {
  const bytes = plain(input);
  frames<RouteView | DarwinMessage>(
    bytes,
    (offset) => {
      const layout = headerLayout(bytes, offset);
      if (layout === null) return null;
      return layout.parse === parseRoute ? view.read(bytes, offset, layout) : decodeMessage(bytes, offset);
    },
    (read) => (read instanceof RouteView ? visitor.route(read) : visitor.other(read)),
    (error) => visitor.malformed(error),
  );
}
