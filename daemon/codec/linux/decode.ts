/**
 * @module codec/linux/decode
 * From bytes to LinuxMessage: a table keyed by nlmsg_type gives each known type its fixed
 * header and body decoder; `walk` frames a datagram (or a hex dump of several) into
 * messages, and never throws.
 */
import { ByteReader, align, u32At } from '../bytes.js';
import type { WalkResult } from '../codec.js';
import { DecodeError } from '../../errors.js';
import { ALIGN, LAYOUT, NLMSG, RTM, type StructLayout } from './constants.js';
import { decodeAddressBody, type AddressBody } from './address.js';
import { decodeLinkBody, type LinkBody } from './link.js';
import { messageTypeName } from './names.js';
import { decodeDoneBody, decodeErrorBody, readHeader, type DoneBody, type ErrorBody, type NlHeader } from './netlink.js';
import { decodeRouteMessage, type RouteBody } from './route.js';
import { decodeRuleBody, type RuleBody } from './rule.js';

interface Base {
  header: NlHeader;
  /** The C name of nlmsg_type ("RTM_NEWROUTE"), or "type N". */
  typeName: string;
}

export interface RouteMessage extends Base, RouteBody {
  kind: 'route';
}
export interface LinkMessage extends Base, LinkBody {
  kind: 'link';
}
export interface AddressMessage extends Base, AddressBody {
  kind: 'address';
}
export interface RuleMessage extends Base, RuleBody {
  kind: 'rule';
}
/** NLMSG_ERROR: a refusal (errno > 0) or, with errno 0, the ack of a request sent with NLM_F_ACK. */
export interface ErrorMessage extends Base, ErrorBody {
  kind: 'error';
}
/** NLMSG_DONE: the end of a multipart dump. */
export interface DoneMessage extends Base, DoneBody {
  kind: 'done';
}
/** A type this codec does not decode (NLMSG_NOOP, NLMSG_OVERRUN, neighbours, qdiscs, …). */
export interface UnknownMessage extends Base {
  kind: 'unknown';
}

export type LinuxMessage = RouteMessage | LinkMessage | AddressMessage | RuleMessage | ErrorMessage | DoneMessage | UnknownMessage;

interface Decoder {
  /** The fixed part after nlmsghdr; a shorter payload is refused before any field is read. */
  body: Pick<StructLayout, 'size'> & { name: string };
  decode(r: ByteReader, header: NlHeader, typeName: string): LinuxMessage;
}

/**
 * The body decoder's fresh object becomes the message: the three common fields are set on
 * it rather than spreading it into a new one (a copy of every field, per message, was the
 * single largest cost of decoding a notification).
 */
function message<K extends LinuxMessage['kind'], B extends object>(body: B, kind: K, header: NlHeader, typeName: string): B & { kind: K; header: NlHeader; typeName: string } {
  const m = body as B & { kind: K; header: NlHeader; typeName: string };
  m.kind = kind;
  m.header = header;
  m.typeName = typeName;
  return m;
}

const route: Decoder = { body: { name: 'rtmsg', size: LAYOUT.rtmsg.size }, decode: decodeRouteMessage };
const link: Decoder = { body: { name: 'ifinfomsg', size: LAYOUT.ifinfomsg.size }, decode: (r, header, typeName) => message(decodeLinkBody(r, header), 'link', header, typeName) };
const address: Decoder = { body: { name: 'ifaddrmsg', size: LAYOUT.ifaddrmsg.size }, decode: (r, header, typeName) => message(decodeAddressBody(r, header), 'address', header, typeName) };
const rule: Decoder = { body: { name: 'fib_rule_hdr', size: LAYOUT.fib_rule_hdr.size }, decode: (r, header, typeName) => message(decodeRuleBody(r, header), 'rule', header, typeName) };

export const DECODERS: ReadonlyMap<number, Decoder> = new Map<number, Decoder>([
  [NLMSG.NLMSG_ERROR.value, { body: { name: 'nlmsgerr', size: LAYOUT.nlmsgerr.size }, decode: (r, header, typeName) => message(decodeErrorBody(r, header), 'error', header, typeName) }],
  [NLMSG.NLMSG_DONE.value, { body: { name: 'NLMSG_DONE payload', size: 0 }, decode: (r, header, typeName) => message(decodeDoneBody(r, header), 'done', header, typeName) }],
  [RTM.RTM_NEWROUTE.value, route],
  [RTM.RTM_DELROUTE.value, route],
  [RTM.RTM_GETROUTE.value, route],
  [RTM.RTM_NEWLINK.value, link],
  [RTM.RTM_DELLINK.value, link],
  [RTM.RTM_GETLINK.value, link],
  [RTM.RTM_NEWADDR.value, address],
  [RTM.RTM_DELADDR.value, address],
  [RTM.RTM_GETADDR.value, address],
  [RTM.RTM_NEWRULE.value, rule],
  [RTM.RTM_DELRULE.value, rule],
  [RTM.RTM_GETRULE.value, rule],
]);

const HDR_SIZE = LAYOUT.nlmsghdr.size;

/**
 * Decodes the one message at the start of `bytes` (trailing bytes after nlmsg_len are
 * ignored). `base` is where `bytes` starts in an outer buffer, for error offsets.
 * Throws only DecodeError.
 */
export function decodeMessage(bytes: Uint8Array, base = 0): LinuxMessage {
  return decodeAt(new ByteReader(bytes, base));
}

/** decodeMessage over a reader whose window starts at the message. */
function decodeAt(outer: ByteReader): LinuxMessage {
  const base = outer.base;
  const header = readHeader(outer);
  if (header.length < HDR_SIZE) throw new DecodeError(base, `nlmsg_len ${header.length} is shorter than nlmsghdr (${HDR_SIZE})`);
  if (header.length > outer.length) throw new DecodeError(base, `nlmsg_len ${header.length} runs past the end (${outer.length} byte(s) left)`);
  const r = outer.sub(0, header.length, 'message');
  const typeName = messageTypeName(header.type);
  const decoder = DECODERS.get(header.type);
  if (decoder === undefined) return { kind: 'unknown', header, typeName };
  if (header.length < HDR_SIZE + decoder.body.size) {
    throw new DecodeError(base + HDR_SIZE, `${typeName}: ${header.length - HDR_SIZE} byte(s) of payload, ${decoder.body.name} needs ${decoder.body.size}`);
  }
  return decoder.decode(r, header, typeName);
}

/**
 * The nlmsg_len of the message at `offset` once it is known to frame it (at least a header,
 * not past the end). DecodeError when it cannot: nothing after it can be framed either.
 */
export function frameAt(bytes: Uint8Array, offset: number): number {
  const left = bytes.length - offset;
  if (left < HDR_SIZE) throw new DecodeError(offset, `${left} trailing byte(s), too short for an nlmsghdr (${HDR_SIZE})`);
  const length = u32At(bytes, offset);
  if (length < HDR_SIZE || length > left) {
    throw new DecodeError(offset, `nlmsg_len ${length} is ${length < HDR_SIZE ? `shorter than nlmsghdr (${HDR_SIZE})` : `past the end (${left} byte(s) left)`}`);
  }
  return length;
}

/**
 * Walks back-to-back messages. A message whose body is malformed is recorded and skipped
 * (its nlmsg_len still frames the next one); a bad nlmsg_len ends the walk, since nothing
 * after it can be framed. Unknown types are counted, not returned.
 */
export function walk(bytes: Uint8Array): WalkResult<LinuxMessage> {
  const result: WalkResult<LinuxMessage> = { messages: [], errors: [], unknown: 0 };
  let offset = 0;
  // A plain Uint8Array view of a Buffer: views made from it later are cheaper.
  const whole = new ByteReader(Buffer.isBuffer(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes);
  while (offset < bytes.length) {
    let length: number;
    try {
      length = frameAt(bytes, offset);
    } catch (e) {
      result.errors.push(e as DecodeError);
      break;
    }
    try {
      const message = decodeAt(whole.sub(offset, length, 'message'));
      if (message.kind === 'unknown') result.unknown++;
      else result.messages.push({ offset, message });
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      result.errors.push(e);
    }
    offset += align(length, ALIGN.NLMSG_ALIGNTO.value);
  }
  return result;
}
