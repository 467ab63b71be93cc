/**
 * @module codec/linux/record
 * A route exactly as the kernel reported it, kept so that putting a moved route back
 * re-creates it byte for byte: the rtmsg (protocol, scope, type, onlink) and every
 * attribute in order (prefsrc, metrics with their locks, multipath, nexthop id, preference,
 * table …), rather than the few fields tunroute's own model has.
 *
 * Writing it back drops only what the kernel reports but refuses or ignores on input:
 * state flags (dead, linkdown, offload, trap; RTM_F_*), the cache info, and, for a route that
 * uses a nexthop object, the compat copies of that nexthop (gateway, device, multipath),
 * which the kernel rejects next to RTA_NH_ID.
 */
import { align } from '../bytes.js';
import { LAYOUT, RT_SCOPE, RTA, RTM, RTNH_F } from './constants.js';
import { encodeMessage } from './netlink.js';

export interface LinuxRouteRecord {
  os: 'linux';
  /** struct rtmsg, 12 bytes, hex. */
  rtmsg: string;
  /** Every top-level attribute as [rta_type (with its flag bits), payload hex], in order. */
  attributes: Array<[number, string]>;
}

const HDR = LAYOUT.nlmsghdr.size;
const RTMSG = LAYOUT.rtmsg.size;
const RTMSG_FLAGS = LAYOUT.rtmsg.fields.rtm_flags.offset;
/** Flags a route may be created with: onlink. The others describe state the kernel keeps. */
const SETTABLE_NH_FLAGS = RTNH_F.RTNH_F_ONLINK.value;
const TYPE_MASK = 0x3fff;
/** The kernel's nexthop copies that RTA_NH_ID replaces on input. */
const NEXTHOP_DETAIL = new Set<number>([RTA.RTA_OIF.value, RTA.RTA_GATEWAY.value, RTA.RTA_MULTIPATH.value, RTA.RTA_VIA.value, RTA.RTA_ENCAP.value, RTA.RTA_ENCAP_TYPE.value]);
/** Reported, never accepted as input. */
const OUTPUT_ONLY = new Set<number>([RTA.RTA_CACHEINFO.value, RTA.RTA_PAD.value]);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

/** The record of one RTM_NEWROUTE message (`message` spans exactly nlmsg_len bytes). */
export function routeRecordOf(message: Uint8Array): LinuxRouteRecord {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  const attributes: Array<[number, string]> = [];
  let pos = HDR + align(RTMSG, 4);
  while (pos + 4 <= message.length) {
    const len = view.getUint16(pos, true);
    const type = view.getUint16(pos + 2, true);
    if (len < 4 || pos + len > message.length) break;
    attributes.push([type, hex(message.subarray(pos + 4, pos + len))]);
    pos += align(len, 4);
  }
  return { os: 'linux', rtmsg: hex(message.subarray(HDR, HDR + RTMSG)), attributes };
}

/** RTM_NEWROUTE that re-creates the recorded route. `flags`: REQUEST_FLAGS.create, or create|NLM_F_APPEND. */
export function encodeRecordedRoute(record: LinuxRouteRecord, seq: number, flags: number): Uint8Array {
  const body = bytes(record.rtmsg);
  if (body.length !== RTMSG) throw new RangeError(`a route record's rtmsg is ${body.length} bytes, expected ${RTMSG}`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  view.setUint32(RTMSG_FLAGS, view.getUint32(RTMSG_FLAGS, true) & SETTABLE_NH_FLAGS, true);
  const byNexthopId = record.attributes.some(([type]) => (type & TYPE_MASK) === RTA.RTA_NH_ID.value);
  const attrs = record.attributes
    .filter(([type]) => !OUTPUT_ONLY.has(type & TYPE_MASK) && !(byNexthopId && NEXTHOP_DETAIL.has(type & TYPE_MASK)))
    .map(([type, data]) => {
      const payload = bytes(data);
      return { type, payload: (type & TYPE_MASK) === RTA.RTA_MULTIPATH.value ? settableNexthops(payload) : payload };
    });
  // encodeMessage sets NLA_F_NESTED itself for nested lists; these payloads are raw, so the
  // recorded type (with any flag bits the kernel set) goes out unchanged.
  return encodeMessage(RTM.RTM_NEWROUTE.value, flags, seq, body, attrs);
}

/** What identifies the recorded route to a delete: its key and its next hop(s), by nexthop id when it has one. */
const DELETE_KEYS = new Set<number>([RTA.RTA_DST.value, RTA.RTA_TABLE.value, RTA.RTA_PRIORITY.value]);

/**
 * RTM_DELROUTE for exactly the recorded route: family, prefix, table and metric, and its
 * next hop as the kernel knows it. A route through a nexthop object is matched by RTA_NH_ID
 * (the kernel finds no route when given the gateway of a nexthop object); any other by its
 * gateway, device or multipath list. Protocol, scope and type match anything.
 */
export function encodeRecordedDelete(record: LinuxRouteRecord, seq: number, flags: number): Uint8Array {
  const body = bytes(record.rtmsg);
  if (body.length !== RTMSG) throw new RangeError(`a route record's rtmsg is ${body.length} bytes, expected ${RTMSG}`);
  const f = LAYOUT.rtmsg.fields;
  body[f.rtm_protocol.offset] = 0;
  body[f.rtm_scope.offset] = RT_SCOPE.RT_SCOPE_NOWHERE.value;
  body[f.rtm_type.offset] = 0;
  new DataView(body.buffer, body.byteOffset, body.byteLength).setUint32(RTMSG_FLAGS, 0, true);
  const byNexthopId = record.attributes.some(([type]) => (type & TYPE_MASK) === RTA.RTA_NH_ID.value);
  const attrs = record.attributes
    .filter(([type]) => {
      const t = type & TYPE_MASK;
      return DELETE_KEYS.has(t) || (byNexthopId ? t === RTA.RTA_NH_ID.value : t === RTA.RTA_GATEWAY.value || t === RTA.RTA_OIF.value || t === RTA.RTA_MULTIPATH.value || t === RTA.RTA_VIA.value);
    })
    .map(([type, data]) => {
      const payload = bytes(data);
      return { type, payload: (type & TYPE_MASK) === RTA.RTA_MULTIPATH.value ? settableNexthops(payload) : payload };
    });
  return encodeMessage(RTM.RTM_DELROUTE.value, flags, seq, body, attrs);
}

/** RTA_MULTIPATH's rtnexthop list with each hop's state flags cleared (onlink kept). */
function settableNexthops(payload: Uint8Array): Uint8Array {
  const out = payload.slice();
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let pos = 0;
  while (pos + 8 <= out.length) {
    const len = view.getUint16(pos, true);
    if (len < 8 || pos + len > out.length) break;
    out[pos + 2] = (out[pos + 2] as number) & SETTABLE_NH_FLAGS;
    pos += align(len, 4);
  }
  return out;
}

/** The parts of the record that say which kernel entry it is: family, destination length, table. */
export function recordIdentity(record: LinuxRouteRecord): { family: number; dstLen: number; table: number } {
  const body = bytes(record.rtmsg);
  const tableAttr = record.attributes.find(([type]) => (type & TYPE_MASK) === RTA.RTA_TABLE.value);
  const table = tableAttr && tableAttr[1].length === 8 ? Buffer.from(tableAttr[1], 'hex').readUInt32LE(0) : (body[LAYOUT.rtmsg.fields.rtm_table.offset] as number);
  return { family: body[LAYOUT.rtmsg.fields.rtm_family.offset] as number, dstLen: body[LAYOUT.rtmsg.fields.rtm_dst_len.offset] as number, table };
}
