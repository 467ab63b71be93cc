/**
 * @module codec/linux/netlink
 * The netlink layer under every rtnetlink object: the 16-byte nlmsghdr, rtattr
 * type-length-value lists (read and written), the NLMSG_ERROR / NLMSG_DONE control
 * messages, and framing of a whole request. Headers are host order, 4-byte aligned.
 */
import { constants as osConstants } from 'node:os';
import { ByteReader, ByteWriter, align } from '../bytes.js';
import { DecodeError } from '../../errors.js';
import { formatIPv6 } from '../../model/ip.js';
import { AF, ALIGN, LAYOUT, NLA_F, NLM_F, NLMSGERR_ATTR } from './constants.js';
import { messageTypeName } from './names.js';

const NLMSG_ALIGNTO = ALIGN.NLMSG_ALIGNTO.value;
const RTA_ALIGNTO = ALIGN.RTA_ALIGNTO.value;
const HDR = LAYOUT.nlmsghdr;
const RTATTR = LAYOUT.rtattr;
const NLA_TYPE_MASK = ~(NLA_F.NLA_F_NESTED.value | NLA_F.NLA_F_NET_BYTEORDER.value) & 0xffff;

/** The nlmsghdr every message starts with. `portid` is the kernel's nlmsg_pid: 0 from the kernel, the socket's port in requests. */
export interface NlHeader {
  length: number;
  type: number;
  flags: number;
  seq: number;
  portid: number;
}

export function readHeader(r: ByteReader, offset = 0): NlHeader {
  const f = HDR.fields;
  return {
    length: r.u32(offset + f.nlmsg_len.offset, 'nlmsg_len'),
    type: r.u16(offset + f.nlmsg_type.offset, 'nlmsg_type'),
    flags: r.u16(offset + f.nlmsg_flags.offset, 'nlmsg_flags'),
    seq: r.u32(offset + f.nlmsg_seq.offset, 'nlmsg_seq'),
    portid: r.u32(offset + f.nlmsg_pid.offset, 'nlmsg_pid'),
  };
}

// ---- attributes ----

/**
 * An rtattr list, indexed by type. Last one wins, as in the kernel's nla_parse. It keeps
 * each payload's offset and length rather than a reader per attribute, so the fixed-size
 * fields the daemon reads (u32s, IPv4 addresses) are read in place; get() makes a reader
 * for the rest.
 */
export class Attributes {
  private r: ByteReader;
  /** By type: the payload's offset in `r`, and its length. */
  private readonly offsets: number[] = [];
  private readonly lengths: number[] = [];
  /** Types in the order first seen, for iteration. */
  private readonly types: number[] = [];

  constructor(r: ByteReader) {
    this.r = r;
  }

  /** @internal Empties the table for another list (a decoder's scratch table, reused per message). */
  reset(r: ByteReader): void {
    for (const type of this.types) this.offsets[type] = undefined as unknown as number;
    this.types.length = 0;
    this.r = r;
  }

  /** @internal readAttributes fills the table. */
  put(type: number, offset: number, length: number): void {
    if (this.offsets[type] === undefined) this.types.push(type);
    this.offsets[type] = offset;
    this.lengths[type] = length;
  }

  has(type: number): boolean {
    return this.offsets[type] !== undefined;
  }

  /** The payload as a reader that keeps absolute offsets, or undefined when absent. */
  get(type: number): ByteReader | undefined {
    const offset = this.offsets[type];
    return offset === undefined ? undefined : this.r.sub(offset, this.lengths[type] as number, 'rtattr payload');
  }

  /** A u32 payload read in place; null when absent; DecodeError when not exactly 4 bytes. */
  u32(type: number, what: string): number | null {
    const offset = this.offsets[type];
    if (offset === undefined) return null;
    if (this.lengths[type] !== 4) throw new DecodeError(this.r.base + offset, `${what}: expected 4 byte(s), got ${this.lengths[type]}`);
    return this.r.u32(offset, what);
  }

  /** An IPv4 address payload read in place, or null when absent. */
  ipv4(type: number, what: string): string | null {
    const offset = this.offsets[type];
    if (offset === undefined) return null;
    if (this.lengths[type] !== 4) throw new DecodeError(this.r.base + offset, `${what}: expected 4 byte(s), got ${this.lengths[type]}`);
    const r = this.r;
    return `${r.u8(offset)}.${r.u8(offset + 1)}.${r.u8(offset + 2)}.${r.u8(offset + 3)}`;
  }

  *[Symbol.iterator](): IterableIterator<[number, ByteReader]> {
    for (const type of this.types) yield [type, this.get(type) as ByteReader];
  }
}

/**
 * Reads the rtattr list in `r` from `start` to its end. A length shorter than the rtattr
 * header or running past the end is an error; a tail too short for a header is ignored,
 * as the kernel does.
 */
export function readAttributes(r: ByteReader, start: number, into?: Attributes): Attributes {
  const attrs = into ?? new Attributes(r);
  if (into) into.reset(r);
  let pos = start;
  while (pos + RTATTR.size <= r.length) {
    const len = r.u16(pos + RTATTR.fields.rta_len.offset, 'rta_len');
    const type = r.u16(pos + RTATTR.fields.rta_type.offset, 'rta_type') & NLA_TYPE_MASK;
    checkRtattr(len, r.length - pos, r.base + pos);
    attrs.put(type, pos + RTATTR.size, len - RTATTR.size);
    pos += align(len, RTA_ALIGNTO);
  }
  return attrs;
}

/** An rtattr's length must cover its header and stay within the `left` bytes of its list; `at` is its absolute offset. */
export function checkRtattr(len: number, left: number, at: number): void {
  if (len < RTATTR.size) throw new DecodeError(at, `rta_len ${len} is shorter than the rtattr header`);
  if (len > left) throw new DecodeError(at, `rta_len ${len} runs past the end (${left} byte(s) left)`);
}

function exactly(a: ByteReader, size: number, what: string): void {
  if (a.length !== size) throw new DecodeError(a.base, `${what}: expected ${size} byte(s), got ${a.length}`);
}

export function attrU8(attrs: Attributes, type: number, what: string): number | null {
  const a = attrs.get(type);
  if (a === undefined) return null;
  exactly(a, 1, what);
  return a.u8(0, what);
}

export function attrU32(attrs: Attributes, type: number, what: string): number | null {
  return attrs.u32(type, what);
}

const utf8 = new TextDecoder('utf-8');

/** A NUL-terminated string attribute (the kernel counts the NUL in rta_len; a missing one is tolerated). */
export function attrString(attrs: Attributes, type: number): string | null {
  const a = attrs.get(type);
  if (a === undefined) return null;
  const nul = a.bytes.indexOf(0);
  return utf8.decode(nul < 0 ? a.bytes : a.bytes.subarray(0, nul));
}

/** An address of the message's family: 4 bytes for AF_INET, 16 for AF_INET6, hex for any other family. */
export function attrAddress(attrs: Attributes, type: number, family: number, what: string): string | null {
  if (family === AF.AF_INET.value) return attrs.ipv4(type, what);
  const a = attrs.get(type);
  if (a === undefined) return null;
  return formatAddress(a, family, what);
}

export function formatAddress(a: ByteReader, family: number, what: string): string {
  if (family === AF.AF_INET.value) {
    exactly(a, 4, what);
    return `${a.u8(0)}.${a.u8(1)}.${a.u8(2)}.${a.u8(3)}`;
  }
  if (family === AF.AF_INET6.value) {
    exactly(a, 16, what);
    return formatIPv6(a.bytes);
  }
  return Buffer.from(a.bytes).toString('hex');
}

/** The all-zero address of a family, for a prefix the kernel sent without an address attribute. */
export function zeroAddress(family: number): string | null {
  if (family === AF.AF_INET.value) return '0.0.0.0';
  if (family === AF.AF_INET6.value) return '::';
  return null;
}

// ---- control messages ----

export interface ErrorBody {
  /** Positive errno; 0 means the message is an ack. */
  errno: number;
  /** 'EEXIST', …; null for an ack, `errno N` for a number this platform does not name. */
  code: string | null;
  ack: boolean;
  /** The header of the request this answers (nlmsgerr.msg). */
  request: NlHeader;
  requestTypeName: string;
  /** NLMSGERR_ATTR_MSG: the kernel's explanation ("Invalid prefix for given prefix length"). */
  extMessage: string | null;
  /** NLMSGERR_ATTR_OFFS: where in the request the offending attribute starts. */
  extOffset: number | null;
}

const ERRNO_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(osConstants.errno)) if (!ERRNO_NAMES.has(value)) ERRNO_NAMES.set(value, name);

export function errnoCode(errno: number): string | null {
  if (errno === 0) return null;
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}

/** The extended-ack attributes that follow an error or done payload when NLM_F_ACK_TLVS is set. */
function readExtAck(r: ByteReader, start: number, header: NlHeader): { extMessage: string | null; extOffset: number | null } {
  if ((header.flags & NLM_F.NLM_F_ACK_TLVS.value) === 0 || start >= r.length) return { extMessage: null, extOffset: null };
  const attrs = readAttributes(r, start);
  return {
    extMessage: attrString(attrs, NLMSGERR_ATTR.NLMSGERR_ATTR_MSG.value),
    extOffset: attrU32(attrs, NLMSGERR_ATTR.NLMSGERR_ATTR_OFFS.value, 'NLMSGERR_ATTR_OFFS'),
  };
}

/** struct nlmsgerr: a negative errno, the request's header, then (unless NLM_F_CAPPED) its payload, then ext-ack TLVs. */
export function decodeErrorBody(r: ByteReader, header: NlHeader): ErrorBody {
  const E = LAYOUT.nlmsgerr;
  const body = HDR.size;
  const error = r.i32(body + E.fields.error.offset, 'nlmsgerr.error');
  const request = readHeader(r, body + E.fields.msg.offset);
  let tlvs = body + E.size;
  if ((header.flags & NLM_F.NLM_F_CAPPED.value) === 0 && request.length > HDR.size) {
    // Uncapped: the whole request is echoed back; its length says how much to skip.
    const echoed = align(request.length, NLMSG_ALIGNTO) - HDR.size;
    if (tlvs + echoed > r.length && (header.flags & NLM_F.NLM_F_ACK_TLVS.value) !== 0) {
      throw new DecodeError(r.base + body + E.fields.msg.offset, `the echoed request (${request.length} bytes) runs past the error message`);
    }
    tlvs += echoed;
  }
  const errno = Math.abs(error);
  return { errno, code: errnoCode(errno), ack: errno === 0, request, requestTypeName: messageTypeName(request.type), ...readExtAck(r, tlvs, header) };
}

export interface DoneBody {
  /** Positive errno of a failed dump (the int after the header); 0 when it completed. */
  errno: number;
  code: string | null;
  extMessage: string | null;
}

export function decodeDoneBody(r: ByteReader, header: NlHeader): DoneBody {
  // Some senders end a dump with a bare header; the kernel always adds the int.
  const errno = r.length >= HDR.size + 4 ? Math.abs(r.i32(HDR.size, 'NLMSG_DONE error')) : 0;
  const { extMessage } = readExtAck(r, HDR.size + 4, header);
  return { errno, code: errnoCode(errno), extMessage };
}

// ---- encoding ----

/** An attribute to send: a payload, or nested attributes (RTA_METRICS). */
export interface OutAttribute {
  type: number;
  payload: Uint8Array | OutAttribute[];
}

export function u8Payload(value: number): Uint8Array {
  return Uint8Array.of(value & 0xff);
}

export function u32Payload(value: number): Uint8Array {
  return new ByteWriter(4).u32(0, value).bytes;
}

export function stringPayload(value: string): Uint8Array {
  const text = new TextEncoder().encode(value);
  const out = new Uint8Array(text.length + 1);
  out.set(text);
  return out;
}

function attributeSize(a: OutAttribute): number {
  return RTATTR.size + (a.payload instanceof Uint8Array ? a.payload.length : attributesSize(a.payload));
}

function attributesSize(list: OutAttribute[]): number {
  return list.reduce((n, a) => n + align(attributeSize(a), RTA_ALIGNTO), 0);
}

function writeAttributes(w: ByteWriter, offset: number, list: OutAttribute[]): void {
  let pos = offset;
  for (const a of list) {
    const len = attributeSize(a);
    if (len > 0xffff) throw new RangeError(`attribute ${a.type} is ${len} bytes, more than rta_len holds`);
    w.u16(pos + RTATTR.fields.rta_len.offset, len);
    const nested = !(a.payload instanceof Uint8Array);
    w.u16(pos + RTATTR.fields.rta_type.offset, a.type | (nested ? NLA_F.NLA_F_NESTED.value : 0));
    if (a.payload instanceof Uint8Array) w.set(pos + RTATTR.size, a.payload);
    else writeAttributes(w, pos + RTATTR.size, a.payload);
    pos += align(len, RTA_ALIGNTO);
  }
}

/**
 * One request: nlmsghdr, the object's fixed header (`body`, already laid out by the
 * object module), then its attributes. nlmsg_pid is 0: the kernel routes the answer by
 * the socket's port, not by this field.
 */
export function encodeMessage(type: number, flags: number, seq: number, body: Uint8Array, attrs: OutAttribute[]): Uint8Array {
  const bodyEnd = HDR.size + align(body.length, NLMSG_ALIGNTO);
  const length = bodyEnd + attributesSize(attrs);
  const w = new ByteWriter(length);
  const f = HDR.fields;
  w.u32(f.nlmsg_len.offset, length)
    .u16(f.nlmsg_type.offset, type)
    .u16(f.nlmsg_flags.offset, flags)
    .u32(f.nlmsg_seq.offset, seq)
    .u32(f.nlmsg_pid.offset, 0)
    .set(HDR.size, body);
  writeAttributes(w, bodyEnd, attrs);
  return w.bytes;
}

const F = NLM_F;

/** The nlmsg_flags of the requests tunroute sends. Every change asks for an ack, so success is seen, not assumed. */
export const REQUEST_FLAGS = {
  /** Add, failing with EEXIST when the key exists (ip route add). */
  create: F.NLM_F_REQUEST.value | F.NLM_F_ACK.value | F.NLM_F_CREATE.value | F.NLM_F_EXCL.value,
  /** Add or overwrite (ip route replace). */
  replace: F.NLM_F_REQUEST.value | F.NLM_F_ACK.value | F.NLM_F_CREATE.value | F.NLM_F_REPLACE.value,
  delete: F.NLM_F_REQUEST.value | F.NLM_F_ACK.value,
  dump: F.NLM_F_REQUEST.value | F.NLM_F_DUMP.value,
} as const;
