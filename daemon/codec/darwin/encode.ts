/**
 * @module codec/darwin/encode
 * Builds RTM_ADD / RTM_DELETE / RTM_CHANGE / RTM_GET requests the way route(8) does
 * (reference §5): an rt_msghdr, then the sockaddrs in RTA bit order, each padded to
 * ROUNDUP32, with msglen the total. The kernel requires the write length to equal
 * msglen exactly (§3.2), so the result is written as is.
 */
import { ByteWriter } from '../bytes.js';
import { RTA, RTF, RTM, RTM_VERSION, RTV, SIZEOF, bitsFromNames } from './constants.js';
import { parseCidr, parseIp, applyPrefix } from '../../model/ip.js';
import { encodeInet, encodeInet6, encodeLink, encodeMask, packSockaddrs, type LinkSpec, type MaskStyle } from './sockaddr.js';

export type RequestType = 'add' | 'delete' | 'change' | 'get';

/** A next hop by address, or the interface's own link sockaddr (route(8)'s `-interface`). */
export type GatewaySpec = { address: string; scope?: number } | { link: LinkSpec };

/** Metrics the request sets; each one given also sets its RTV_* bit in rtm_inits. */
export interface MetricsSpec {
  mtu?: number;
  hopcount?: number;
  expire?: number;
  recvpipe?: number;
  sendpipe?: number;
  ssthresh?: number;
  rtt?: number;
  rttvar?: number;
}

export interface RouteRequest {
  type: RequestType;
  /** "10.0.0.0/8", "0.0.0.0/0", "::/1"; a bare address or a full-length prefix is a host route. */
  destination: string;
  /**
   * How to send the netmask (sockaddr.ts MaskStyle). Default: none for a host route
   * (RTF_HOST, no RTA_NETMASK, as route(8) does), else `trimmed`. `none` on a shorter
   * prefix is refused: the kernel would store it as a host key (§3.4).
   */
  netmask?: MaskStyle | 'none';
  gateway?: GatewaySpec;
  /** A cloning mask, as a prefix length of the destination's family (sent trimmed). */
  genmask?: number;
  /** RTA_IFP: pins the interface; route(8)'s `get` sends `{ index: 0 }` to ask for IFP/IFA back. */
  ifp?: LinkSpec;
  /** RTA_IFA: the interface address to use. */
  ifa?: string;
  /**
   * RTF_* as a number or names ("UP", "RTF_STATIC", "0x8000"). Default: UP|STATIC, plus
   * GATEWAY for an address gateway and HOST for a host route. RTF_IFSCOPE is added when
   * `scope` is set either way.
   */
  flags?: number | readonly string[];
  /** Interface index to scope the route to: sets RTF_IFSCOPE and rtm_index. */
  scope?: number;
  /** rtm_index without a scope (the kernel ignores it unless RTF_IFSCOPE is set). */
  index?: number;
  metrics?: MetricsSpec;
  /** RTV_* bits for rmx_locks, as a number or names ("MTU"). */
  locks?: number | readonly string[];
  seq?: number;
  /** The kernel overwrites it with the writer's pid (§1.1); 0 is what route(8) sends. */
  pid?: number;
}

const TYPES: Record<RequestType, number> = {
  add: RTM.RTM_ADD.value,
  delete: RTM.RTM_DELETE.value,
  change: RTM.RTM_CHANGE.value,
  get: RTM.RTM_GET.value,
};

/** Offset of each metric inside rt_metrics, and the RTV bit that says it is set. */
const METRICS: Record<keyof MetricsSpec, { at: number; bit: number; signed?: true }> = {
  mtu: { at: 4, bit: RTV.RTV_MTU.value },
  hopcount: { at: 8, bit: RTV.RTV_HOPCOUNT.value },
  expire: { at: 12, bit: RTV.RTV_EXPIRE.value, signed: true },
  recvpipe: { at: 16, bit: RTV.RTV_RPIPE.value },
  sendpipe: { at: 20, bit: RTV.RTV_SPIPE.value },
  ssthresh: { at: 24, bit: RTV.RTV_SSTHRESH.value },
  rtt: { at: 28, bit: RTV.RTV_RTT.value },
  rttvar: { at: 32, bit: RTV.RTV_RTTVAR.value },
};

const RMX_AT = 36;

function ipSockaddr(text: string, scope = 0): Uint8Array {
  const { family, bytes } = parseIp(text);
  return family === 'inet' ? encodeInet(bytes) : encodeInet6(bytes, scope);
}

function u32Field(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`${what} ${value} is not a u32`);
  return value;
}

/** Encodes one request. Throws RangeError for a request the kernel could never accept. */
export function encodeRequest(req: RouteRequest): Uint8Array {
  const type = TYPES[req.type];
  if (type === undefined) throw new RangeError(`unknown request type "${String(req.type)}"`);
  const dst = parseCidr(req.destination);
  const max = dst.family === 'inet' ? 32 : 128;
  const maskStyle = req.netmask ?? (dst.prefix === max ? 'none' : 'trimmed');
  if (maskStyle === 'none' && dst.prefix !== max) {
    throw new RangeError(`${req.destination}: a network route needs a netmask`);
  }
  if (req.type === 'add' && req.gateway === undefined) throw new RangeError('RTM_ADD needs a gateway');

  let flags: number;
  if (req.flags === undefined) {
    flags = RTF.RTF_UP.value | RTF.RTF_STATIC.value;
    if (req.gateway !== undefined && 'address' in req.gateway) flags |= RTF.RTF_GATEWAY.value;
    if (maskStyle === 'none') flags |= RTF.RTF_HOST.value;
  } else {
    flags = typeof req.flags === 'number' ? req.flags : bitsFromNames(req.flags, RTF, 'RTF_');
  }
  let index = req.index ?? 0;
  if (req.scope !== undefined) {
    flags |= RTF.RTF_IFSCOPE.value;
    index = req.scope;
  }
  if (!Number.isInteger(index) || index < 0 || index > 0xffff) throw new RangeError(`interface index ${index} is not a u16`);

  // Sockaddrs in RTA bit order: DST, GATEWAY, NETMASK, GENMASK, IFP, IFA.
  const sockaddrs: Uint8Array[] = [];
  let addrs = 0;
  const add = (bit: number, sa: Uint8Array) => {
    addrs |= bit;
    sockaddrs.push(sa);
  };
  const dstBytes = applyPrefix(dst.bytes, dst.prefix);
  add(RTA.RTA_DST.value, dst.family === 'inet' ? encodeInet(dstBytes) : encodeInet6(dstBytes));
  if (req.gateway !== undefined) {
    add(RTA.RTA_GATEWAY.value, 'link' in req.gateway ? encodeLink(req.gateway.link) : ipSockaddr(req.gateway.address, req.gateway.scope));
  }
  if (maskStyle !== 'none') add(RTA.RTA_NETMASK.value, encodeMask(dst.family, dst.prefix, maskStyle));
  if (req.genmask !== undefined) {
    if (!Number.isInteger(req.genmask) || req.genmask < 0 || req.genmask > max) throw new RangeError(`genmask /${req.genmask}`);
    add(RTA.RTA_GENMASK.value, encodeMask(dst.family, req.genmask, 'trimmed'));
  }
  if (req.ifp !== undefined) add(RTA.RTA_IFP.value, encodeLink(req.ifp));
  if (req.ifa !== undefined) add(RTA.RTA_IFA.value, ipSockaddr(req.ifa));

  const body = packSockaddrs(sockaddrs);
  const length = SIZEOF.rt_msghdr.value + body.length;
  const w = new ByteWriter(length);
  w.u16(0, length).u8(2, RTM_VERSION.value).u8(3, type).u16(4, index);
  w.u32(8, flags).u32(12, addrs).i32(16, req.pid ?? 0).i32(20, req.seq ?? 0);

  let inits = 0;
  for (const [name, value] of Object.entries(req.metrics ?? {}) as Array<[keyof MetricsSpec, number | undefined]>) {
    const m = METRICS[name];
    if (m === undefined) throw new RangeError(`unknown metric "${name}"`);
    if (value === undefined) continue;
    if (m.signed) w.i32(RMX_AT + m.at, value);
    else w.u32(RMX_AT + m.at, u32Field(value, name));
    inits |= m.bit;
  }
  w.u32(32, inits);
  const locks = req.locks === undefined ? 0 : typeof req.locks === 'number' ? req.locks : bitsFromNames(req.locks, RTV, 'RTV_');
  w.u32(RMX_AT, locks);
  w.set(SIZEOF.rt_msghdr.value, body);
  return w.bytes;
}
