/**
 * @module codec/darwin/sockaddr
 * The sockaddrs that follow a PF_ROUTE header: walking them (reference §3.1, §3.2),
 * decoding sockaddr_in / sockaddr_in6 / sockaddr_dl and netmasks, and encoding them for
 * requests. Decoding never throws: the kernel itself sends short, trimmed, unpadded and
 * zero-length sockaddrs, so every oddity is represented rather than rejected.
 */
import { align } from '../bytes.js';
import { AF } from './constants.js';
import { formatIPv4, formatIPv6, maskBytes, prefixOf, type IpFamily } from '../../model/ip.js';

export interface SockaddrInet {
  family: 'inet';
  /** sa_len as sent: the kernel accepts tiny ones (≥ 8 for DST/GATEWAY). Missing bytes read as zero. */
  length: number;
  address: string;
  port: number;
}

export interface SockaddrInet6 {
  family: 'inet6';
  length: number;
  address: string;
  port: number;
  flowinfo: number;
  /** The interface index of a scoped address: sin6_scope_id, or the KAME index embedded in bytes 2–3. 0 when unscoped. */
  scope: number;
}

export interface SockaddrLink {
  family: 'link';
  length: number;
  /** sdl_index, host order. 0 in route(8)'s empty IFP. */
  index: number;
  /** sdl_type (IFT_*): utun 1, Ethernet 6, loopback 0x18. */
  type: number;
  name: string;
  /** The link-layer address as `aa:bb:…`, '' when sdl_alen is 0. */
  lladdr: string;
}

/** sa_len 0: takes 4 bytes on the wire; the kernel reads it as an all-zero AF_INET sockaddr (§3.3). */
export interface SockaddrEmpty {
  family: 'empty';
  /** Byte 1 of the 4-byte slot (route(8)'s `default` mask carries 2 here); meaningless to the kernel. */
  af: number;
  length: 0;
}

/** A family this codec does not decode (or sa_len 1); the bytes are kept. */
export interface SockaddrOther {
  family: 'other';
  af: number;
  length: number;
  bytes: Uint8Array;
}

export type Sockaddr = SockaddrInet | SockaddrInet6 | SockaddrLink | SockaddrEmpty | SockaddrOther;

/** A netmask (or genmask) read by the destination's family; its own family byte is ignored. */
export interface IpMask {
  family: IpFamily;
  length: number;
  /** The mask as an address of that family ("255.255.255.0"). */
  address: string;
  /** The prefix length, or null when the one bits are not contiguous. */
  prefix: number | null;
  /** The mask bytes (4 or 16), missing ones as zero: kept so a non-contiguous mask is not lost. */
  bytes: Uint8Array;
}

export type Mask = IpMask | SockaddrEmpty | SockaddrOther;

/** Wire size of a sockaddr: sa_len rounded up to 4, and 4 for sa_len 0 (ROUNDUP32, §3.1). */
export function roundup32(saLen: number): number {
  return saLen === 0 ? 4 : align(saLen, 4);
}

/** The RTAX slot names, by bit position (RTA_DST = bit 0 … RTA_BRD = bit 7). */
export const RTAX_NAMES = ['dst', 'gateway', 'netmask', 'genmask', 'ifp', 'ifa', 'author', 'brd'] as const;
export type SlotName = (typeof RTAX_NAMES)[number];

export interface RawSlot {
  /** Absolute offset of the sockaddr in the walked buffer. */
  offset: number;
  /** sa_len as declared (0 for an empty slot). */
  declared: number;
  /** The sockaddr's bytes, clamped to the message end. */
  bytes: Uint8Array;
}

/** Per slot (RTAX bit) in a slot table: the sockaddr's index in the message bytes (-1 when absent), its sa_len, its clamped size. */
export const SLOT_AT = 0;
export const SLOT_DECLARED = 1;
export const SLOT_SIZE = 2;

/** A table for slotTable: three numbers per RTAX slot. */
export function newSlotTable(): Int32Array {
  return new Int32Array(RTAX_NAMES.length * 3);
}

/**
 * Finds the sockaddrs of one message by the rtm_addrs bits, in bit order, into `table`
 * (see SLOT_AT): the sockaddrs run from `start` to `end` in `message`. Each takes
 * ROUNDUP32(sa_len) bytes, clamped to the message end; with fewer than 4 bytes left a
 * flagged sockaddr is empty (golang's rule), and a kernel broadcast's last sockaddr may
 * be unpadded. Bits above RTA_BRD are ignored.
 */
export function slotTable(message: Uint8Array, start: number, end: number, addrs: number, table: Int32Array): Int32Array {
  let pos = start;
  for (let bit = 0; bit < RTAX_NAMES.length; bit++) {
    const at = bit * 3;
    if ((addrs & (1 << bit)) === 0) {
      table[at + SLOT_AT] = -1;
      continue;
    }
    const left = end - pos;
    if (left < 4) {
      table[at + SLOT_AT] = Math.min(pos, end);
      table[at + SLOT_DECLARED] = 0;
      table[at + SLOT_SIZE] = 0;
      pos = end;
      continue;
    }
    const declared = message[pos] as number;
    table[at + SLOT_AT] = pos;
    table[at + SLOT_DECLARED] = declared;
    // An empty slot keeps its 4 bytes so its (ignored) family byte can still be shown.
    table[at + SLOT_SIZE] = declared === 0 ? 4 : Math.min(declared, left);
    pos += Math.min(roundup32(declared), left);
  }
  return table;
}

const SPLIT = newSlotTable();

/** The sockaddrs of one message (from `start` to the end of `message`) as slots; `base` is where `message` starts in the walked buffer. */
export function splitSockaddrs(message: Uint8Array, start: number, addrs: number, base = 0): Partial<Record<SlotName, RawSlot>> {
  return slotsOf(message, slotTable(message, start, message.length, addrs, SPLIT), base);
}

/** A slot table's sockaddrs as slots; `base` turns an index in `bytes` into an offset in the walked buffer. */
export function slotsOf(bytes: Uint8Array, table: Int32Array, base: number): Partial<Record<SlotName, RawSlot>> {
  const slots: Partial<Record<SlotName, RawSlot>> = {};
  for (let bit = 0; bit < RTAX_NAMES.length; bit++) {
    const at = table[bit * 3 + SLOT_AT] as number;
    if (at < 0) continue;
    const size = table[bit * 3 + SLOT_SIZE] as number;
    slots[RTAX_NAMES[bit] as SlotName] = { offset: base + at, declared: table[bit * 3 + SLOT_DECLARED] as number, bytes: bytes.subarray(at, at + size) };
  }
  return slots;
}

/** `bytes` copied into a zeroed buffer of at least `size` bytes, as the kernel does with tiny sockaddrs. */
function zeroFilled(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(Math.max(size, bytes.length));
  out.set(bytes);
  return out;
}

function isKameScoped(addr: Uint8Array): boolean {
  const b0 = addr[0] ?? 0;
  const b1 = addr[1] ?? 0;
  if (b0 === 0xfe && (b1 & 0xc0) === 0x80) return true; // fe80::/10 link-local unicast
  return b0 === 0xff && ((b1 & 0x0f) === 0x1 || (b1 & 0x0f) === 0x2); // interface-/link-local multicast
}

/**
 * The address of the sockaddr_in6 at `at` (`size` bytes of it present, the rest read as
 * zero) into `into` (16 bytes), with a KAME scope embedded in bytes 2–3 moved out; returns
 * the scope: sin6_scope_id, or the embedded one when that is 0.
 */
export function readInet6(bytes: Uint8Array, at: number, size: number, into: Uint8Array): number {
  for (let i = 0; i < 16; i++) into[i] = 8 + i < size ? (bytes[at + 8 + i] as number) : 0;
  let scope = 0;
  // sin6_scope_id, host order (little-endian), at 24.
  for (let i = 3; i >= 0; i--) scope = scope * 256 + (24 + i < size ? (bytes[at + 24 + i] as number) : 0);
  if (isKameScoped(into)) {
    const embedded = ((into[2] as number) << 8) | (into[3] as number);
    if (scope === 0) scope = embedded;
    into[2] = 0;
    into[3] = 0;
  }
  return scope;
}

function hexColons(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Decodes one sockaddr from its (clamped) bytes; `declared` is its sa_len. */
export function decodeSockaddr(slot: Pick<RawSlot, 'bytes' | 'declared'>): Sockaddr {
  const { bytes, declared } = slot;
  if (declared === 0 || bytes.length === 0) return { family: 'empty', af: bytes[1] ?? 0, length: 0 };
  const af = bytes.length >= 2 ? (bytes[1] ?? 0) : -1;
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (af === AF.AF_INET.value) {
    // The common case, read in place: bytes past a short sa_len read as zero, as the kernel fills them.
    const at = (i: number): number => bytes[i] ?? 0;
    return { family: 'inet', length: declared, port: (at(2) << 8) | at(3), address: `${at(4)}.${at(5)}.${at(6)}.${at(7)}` };
  }
  if (af === AF.AF_INET6.value) {
    const b = zeroFilled(bytes, 28);
    const addr = new Uint8Array(16);
    const scope = readInet6(bytes, 0, bytes.length, addr);
    return {
      family: 'inet6',
      length: declared,
      port: view(b).getUint16(2, false),
      flowinfo: view(b).getUint32(4, false),
      address: formatIPv6(addr),
      scope,
    };
  }
  if (af === AF.AF_LINK.value) {
    const b = zeroFilled(bytes, 8);
    const nlen = b[5] ?? 0;
    const alen = b[6] ?? 0;
    // sdl_nlen/alen may claim more than sa_len holds; take what is there.
    const name = b.subarray(8, Math.min(8 + nlen, bytes.length));
    const lladdr = b.subarray(Math.min(8 + nlen, bytes.length), Math.min(8 + nlen + alen, bytes.length));
    return {
      family: 'link',
      length: declared,
      index: view(b).getUint16(2, true),
      type: b[4] ?? 0,
      name: Buffer.from(name).toString('latin1'),
      lladdr: hexColons(lladdr),
    };
  }
  return { family: 'other', af: Math.max(af, 0), length: declared, bytes: bytes.slice() };
}

/**
 * Decodes a netmask or genmask by `family` (the destination's, or the interface
 * address's for RTM_NEWADDR): kernel masks carry family 0xff or 0 and are trimmed, so
 * only byte positions count, and missing bytes are zero. With no family to go by, the
 * mask's own family byte is tried, then it is kept raw.
 */
export function decodeMask(slot: Pick<RawSlot, 'bytes' | 'declared'>, family: IpFamily | null): Mask {
  const { bytes, declared } = slot;
  let fam = family;
  if (fam === null) {
    if (bytes[1] === AF.AF_INET.value) fam = 'inet';
    else if (bytes[1] === AF.AF_INET6.value) fam = 'inet6';
    else if (declared === 0) return { family: 'empty', af: bytes[1] ?? 0, length: 0 };
    else return { family: 'other', af: bytes[1] ?? 0, length: declared, bytes: bytes.slice() };
  }
  // The mask's bytes start at the address's offset in the family's sockaddr; bytes past a
  // trimmed mask's sa_len are zero.
  const from = fam === 'inet' ? 4 : 8;
  const b = new Uint8Array(fam === 'inet' ? 4 : 16);
  if (declared !== 0) for (let i = 0; i < b.length && from + i < bytes.length; i++) b[i] = bytes[from + i] as number;
  return {
    family: fam,
    length: declared,
    address: fam === 'inet' ? formatIPv4(b) : formatIPv6(b),
    prefix: prefixOf(b),
    bytes: b,
  };
}

// ---- encoding (requests) ----

export function encodeInet(address: Uint8Array, port = 0): Uint8Array {
  const out = new Uint8Array(16);
  out[0] = 16;
  out[1] = AF.AF_INET.value;
  new DataView(out.buffer).setUint16(2, port, false);
  out.set(address.subarray(0, 4), 4);
  return out;
}

/**
 * A sockaddr_in6 with its zone. For fe80::/10 and ff01::/ff02:: the zone is embedded in
 * address bytes 2–3, big-endian, with sin6_scope_id 0: XNU runs with in6_embedded_scope and
 * keeps such addresses (route keys and gateways) in that KAME form, which is what route(8)
 * and configd's IPMonitor write (§1.10). Any other address keeps a zone in sin6_scope_id.
 */
export function encodeInet6(address: Uint8Array, scope = 0, port = 0): Uint8Array {
  const out = new Uint8Array(28);
  out[0] = 28;
  out[1] = AF.AF_INET6.value;
  const v = new DataView(out.buffer);
  v.setUint16(2, port, false);
  out.set(address.subarray(0, 16), 8);
  if (scope !== 0 && isKameScoped(address)) {
    if (scope > 0xffff) throw new RangeError(`interface index ${scope} does not fit an embedded IPv6 scope`);
    v.setUint16(8 + 2, scope, false);
  } else {
    v.setUint32(24, scope >>> 0, true);
  }
  return out;
}

export interface LinkSpec {
  index: number;
  /** IFT_*; default IFT_OTHER (1), what utun reports. */
  type?: number;
  /** Interface name; '' for route(8)'s empty IFP. */
  name?: string;
  /** Link-layer address bytes. */
  lladdr?: Uint8Array;
}

/** An interface's link sockaddr, sized like the kernel's: max(20, 8 + nlen + alen) rounded up to 4 (§1.10). */
export function encodeLink(spec: LinkSpec): Uint8Array {
  const name = Buffer.from(spec.name ?? '', 'latin1');
  const lladdr = spec.lladdr ?? new Uint8Array(0);
  if (name.length > 255 || lladdr.length > 255) throw new RangeError('sockaddr_dl name or address too long');
  const len = align(Math.max(20, 8 + name.length + lladdr.length), 4);
  if (len > 128) throw new RangeError('sockaddr_dl longer than sockaddr_storage');
  const out = new Uint8Array(len);
  out[0] = len;
  out[1] = AF.AF_LINK.value;
  new DataView(out.buffer).setUint16(2, spec.index, true);
  out[4] = spec.type ?? 1;
  out[5] = name.length;
  out[6] = lladdr.length;
  out[7] = 0;
  out.set(name, 8);
  out.set(lladdr, 8 + name.length);
  return out;
}

/**
 * How a netmask goes on the wire:
 * - `trimmed`: route(8)'s mask_addr, trailing zero bytes dropped and sa_len covering the
 *   last non-zero byte (at least 2: the family byte). /24 → `07 02 00 00 ff ff ff`.
 * - `zero-length`: route(8)'s `default` keyword, `00 <af> 00 00` (only for /0).
 * - `full`: a whole sockaddr_in / sockaddr_in6, as configd sends.
 */
export type MaskStyle = 'trimmed' | 'zero-length' | 'full';

export function encodeMask(family: IpFamily, prefix: number, style: MaskStyle = 'trimmed'): Uint8Array {
  const size = family === 'inet' ? 16 : 28;
  const at = family === 'inet' ? 4 : 8;
  const full = new Uint8Array(size);
  full[0] = size;
  full[1] = family === 'inet' ? AF.AF_INET.value : AF.AF_INET6.value;
  full.set(maskBytes(prefix, family === 'inet' ? 4 : 16), at);
  if (style === 'full') return full;
  if (style === 'zero-length') {
    if (prefix !== 0) throw new RangeError('a zero-length mask can only stand for /0');
    return Uint8Array.of(0, full[1] ?? 0);
  }
  let last = size - 1;
  while (last > 1 && full[last] === 0) last--;
  const trimmed = full.slice(0, last + 1);
  trimmed[0] = last + 1;
  return trimmed;
}

/** Lays sockaddrs out back to back, each padded to ROUNDUP32 with zeros. */
export function packSockaddrs(list: readonly Uint8Array[]): Uint8Array {
  const sizes = list.map((sa) => roundup32(sa[0] ?? 0));
  const out = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  let pos = 0;
  list.forEach((sa, i) => {
    out.set(sa.subarray(0, Math.min(sa.length, sizes[i] ?? 0)), pos);
    pos += sizes[i] ?? 0;
  });
  return out;
}
