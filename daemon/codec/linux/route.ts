/**
 * @module codec/linux/route
 * Routes: struct rtmsg plus RTA_* attributes, decoded from RTM_NEWROUTE / RTM_DELROUTE /
 * RTM_GETROUTE and encoded into the requests the backend sends.
 */
import { ByteWriter, type ByteReader } from '../bytes.js';
import { hasHostBits, parseCidr, parseIp } from '../../model/ip.js';
import { LAYOUT, RT_SCOPE, RT_TABLE, RTA, RTAX, RTM, RTN, RTPROT, TUNROUTE_RTPROT } from './constants.js';
import { familyNumber } from './names.js';
import { encodeMessage, u32Payload, type NlHeader, type OutAttribute } from './netlink.js';
import { RouteView } from './route-view.js';

const RTMSG = LAYOUT.rtmsg;

/** The view the full decoder reads each message with (reused: decoding is synchronous, and every field is copied out). */
const VIEW = new RouteView();

export interface RouteBody {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  /** RTA_TABLE when present (tables above 255 exist only there), else rtm_table. */
  table: number;
  protocol: number;
  scope: number;
  /** rtm_type: RTN_UNICAST, RTN_LOCAL, … */
  routeType: number;
  flags: number;
  /** CIDR; a route without RTA_DST is the family's zero address ("0.0.0.0/0"). Null for families without addresses. */
  destination: string | null;
  /** RTA_SRC with rtm_src_len (source routing, IPv6 only in practice). */
  source: string | null;
  gateway: string | null;
  oif: number | null;
  iif: number | null;
  /** RTA_PRIORITY, the metric. */
  priority: number | null;
  prefsrc: string | null;
  /** RTAX_MTU from RTA_METRICS. */
  mtu: number | null;
  /** Every u32 metric in RTA_METRICS, by RTAX_* number. */
  metrics: ReadonlyMap<number, number>;
  mark: number | null;
  /** RTA_MULTIPATH's rtnexthop list, undecoded. */
  multipath: Uint8Array | null;
}

/**
 * Decodes one route message in full (`r` spans exactly nlmsg_len bytes), for the printers,
 * dumps and tests: every field of the view, with the kind, header and type name the walk
 * gives it, built as one object literal. The backend's notification path reads the view.
 */
export function decodeRouteMessage(r: ByteReader, header: NlHeader, typeName: string): RouteBody & { kind: 'route'; header: NlHeader; typeName: string } {
  const v = VIEW.read(r.buffer, r.start, r.length, r.base);
  return {
    kind: 'route',
    header,
    typeName,
    family: v.family,
    dstLen: v.dstLen,
    srcLen: v.srcLen,
    tos: v.tos,
    table: v.table,
    protocol: v.protocol,
    scope: v.scope,
    routeType: v.routeType,
    flags: v.flags,
    destination: v.destination,
    source: v.source,
    gateway: v.gateway,
    oif: v.oif,
    iif: v.iif,
    priority: v.priority,
    prefsrc: v.prefsrc,
    mtu: v.mtu,
    metrics: v.metrics(),
    mark: v.mark,
    multipath: v.multipath(),
  };
}

// ---- requests ----

export interface RouteSpec {
  family: 'inet' | 'inet6';
  /** Canonical CIDR ("10.0.0.0/8", "::/0"): host bits set are refused, as the kernel would. */
  destination: string;
  /** Next-hop address; absent or null for a device route. */
  gateway?: string | null;
  oif?: number | null;
  /** Default RT_TABLE_MAIN. Tables above 255 go in RTA_TABLE with rtm_table RT_TABLE_UNSPEC, as iproute2 does. */
  table?: number;
  /** RTA_PRIORITY (the metric). */
  priority?: number | null;
  /** Default: TUNROUTE_RTPROT for new routes; RTPROT_UNSPEC (any) for deletes. */
  protocol?: number;
  /** Default: RT_SCOPE_LINK without a gateway, else RT_SCOPE_UNIVERSE; deletes RT_SCOPE_NOWHERE (any). */
  scope?: number;
  /** Default: RTN_UNICAST; deletes RTN_UNSPEC (any). */
  type?: number;
  prefsrc?: string | null;
  /** RTAX_MTU inside RTA_METRICS. */
  mtu?: number | null;
}

function address(text: string, family: 'inet' | 'inet6', what: string): Uint8Array {
  const ip = parseIp(text);
  if (ip.family !== family) throw new RangeError(`${what} ${text} is not an ${family} address`);
  return ip.bytes;
}

function encodeRoute(type: number, spec: RouteSpec, seq: number, flags: number, isDelete: boolean): Uint8Array {
  const dst = parseCidr(spec.destination);
  if (dst.family !== spec.family) throw new RangeError(`destination ${spec.destination} is not an ${spec.family} prefix`);
  if (hasHostBits(dst.bytes, dst.prefix)) throw new RangeError(`destination ${spec.destination} has host bits set`);

  const gateway = spec.gateway ?? null;
  const table = spec.table ?? RT_TABLE.RT_TABLE_MAIN.value;
  const body = new ByteWriter(RTMSG.size);
  const f = RTMSG.fields;
  const defaultScope = isDelete ? RT_SCOPE.RT_SCOPE_NOWHERE.value : gateway === null ? RT_SCOPE.RT_SCOPE_LINK.value : RT_SCOPE.RT_SCOPE_UNIVERSE.value;
  body
    .u8(f.rtm_family.offset, familyNumber(spec.family))
    .u8(f.rtm_dst_len.offset, dst.prefix)
    .u8(f.rtm_table.offset, table > 255 ? RT_TABLE.RT_TABLE_UNSPEC.value : table)
    .u8(f.rtm_protocol.offset, spec.protocol ?? (isDelete ? RTPROT.RTPROT_UNSPEC.value : TUNROUTE_RTPROT))
    .u8(f.rtm_scope.offset, spec.scope ?? defaultScope)
    .u8(f.rtm_type.offset, spec.type ?? (isDelete ? RTN.RTN_UNSPEC.value : RTN.RTN_UNICAST.value));

  const attrs: OutAttribute[] = [];
  // The kernel reports a zero-length prefix without RTA_DST; send it the same way.
  if (dst.prefix > 0) attrs.push({ type: RTA.RTA_DST.value, payload: dst.bytes });
  if (gateway !== null) attrs.push({ type: RTA.RTA_GATEWAY.value, payload: address(gateway, spec.family, 'gateway') });
  if (spec.oif != null) attrs.push({ type: RTA.RTA_OIF.value, payload: u32Payload(spec.oif) });
  if (spec.priority != null) attrs.push({ type: RTA.RTA_PRIORITY.value, payload: u32Payload(spec.priority) });
  if (spec.prefsrc != null) attrs.push({ type: RTA.RTA_PREFSRC.value, payload: address(spec.prefsrc, spec.family, 'prefsrc') });
  if (table > 255) attrs.push({ type: RTA.RTA_TABLE.value, payload: u32Payload(table) });
  if (spec.mtu != null) attrs.push({ type: RTA.RTA_METRICS.value, payload: [{ type: RTAX.RTAX_MTU.value, payload: u32Payload(spec.mtu) }] });
  return encodeMessage(type, flags, seq, body.bytes, attrs);
}

/** RTM_NEWROUTE. `flags`: REQUEST_FLAGS.create (fails with EEXIST) or .replace. */
export function encodeNewRoute(spec: RouteSpec, seq: number, flags: number): Uint8Array {
  return encodeRoute(RTM.RTM_NEWROUTE.value, spec, seq, flags, false);
}

/** RTM_DELROUTE. Unset protocol/scope/type match any; set `protocol: TUNROUTE_RTPROT` to delete only our own route. */
export function encodeDelRoute(spec: RouteSpec, seq: number, flags: number): Uint8Array {
  return encodeRoute(RTM.RTM_DELROUTE.value, spec, seq, flags, true);
}
