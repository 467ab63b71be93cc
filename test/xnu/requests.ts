/**
 * @module test/xnu/requests
 * Request builders for the common route(8)-style operations, so tests and "other process"
 * helpers read as commands: full 16-byte sockaddrs, padded, seq chosen by the caller.
 */
import { RTAX, RTF, RTM } from './constants.js';
import { buildRouteRequest, prefixMask, sockaddrIn, sockaddrDl } from './wire.js';

export interface RequestOptions {
  /** Prefix length; null = no RTA_NETMASK. */
  bits?: number | null;
  flags?: number;
  /** Interface index: adds RTF_IFSCOPE and sets rtm_index. */
  scope?: number;
  seq?: number;
  pid?: number;
  gateway?: Uint8Array;
  /** Add an empty AF_LINK IFP (route(8) `get` does) or a given one. */
  ifp?: Uint8Array | true;
}

function build(type: number, dst: string, o: RequestOptions, defaultFlags: number): Uint8Array {
  const addrs: Partial<Record<number, Uint8Array>> = { [RTAX.DST]: sockaddrIn(dst) };
  if (o.gateway !== undefined) addrs[RTAX.GATEWAY] = o.gateway;
  if (o.bits !== null && o.bits !== undefined) addrs[RTAX.NETMASK] = sockaddrIn(prefixMask(o.bits, 4));
  if (o.ifp !== undefined) addrs[RTAX.IFP] = o.ifp === true ? sockaddrDl({ index: 0, len: 20 }) : o.ifp;
  let flags = o.flags ?? defaultFlags;
  if (o.scope !== undefined && o.scope !== 0) flags |= RTF.IFSCOPE;
  return buildRouteRequest({ type, flags, index: o.scope ?? 0, seq: o.seq ?? 1, pid: o.pid ?? 0, addrs });
}

/** RTM_ADD; a string gateway becomes a sockaddr_in and adds RTF_GATEWAY. */
export function addRequest(dst: string, gateway: string | Uint8Array, o: RequestOptions = {}): Uint8Array {
  const isAddr = typeof gateway === 'string';
  const flags = o.flags ?? (RTF.UP | RTF.STATIC | (isAddr ? RTF.GATEWAY : 0) | (o.bits === null ? RTF.HOST : 0));
  return build(RTM.ADD, dst, { ...o, flags, gateway: isAddr ? sockaddrIn(gateway) : gateway }, flags);
}

export function deleteRequest(dst: string, o: RequestOptions = {}): Uint8Array {
  return build(RTM.DELETE, dst, o, RTF.UP | RTF.GATEWAY | RTF.STATIC);
}

export function getRequest(dst: string, o: RequestOptions = {}): Uint8Array {
  return build(RTM.GET, dst, o, 0);
}

export function changeRequest(dst: string, gateway: string | Uint8Array, o: RequestOptions = {}): Uint8Array {
  const gw = typeof gateway === 'string' ? sockaddrIn(gateway) : gateway;
  return build(RTM.CHANGE, dst, { ...o, gateway: gw }, RTF.UP | RTF.GATEWAY | RTF.STATIC);
}
