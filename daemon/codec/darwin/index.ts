/**
 * @module codec/darwin
 * The macOS PF_ROUTE codec: decoding, request encoding and the two printers, behind the
 * shared MessageCodec interface.
 */
import type { MessageCodec } from '../codec.js';
import { walk, type DarwinMessage } from './decode.js';
import { toJson, toText } from './format.js';

export const darwinCodec: MessageCodec<DarwinMessage> = { os: 'darwin', walk, toText, toJson };

export { decodeMessage, headerLayout, scan, walk, LAYOUTS } from './decode.js';
export type { ScanVisitor } from './decode.js';
export { RouteView, RMX, SA_ABSENT, SA_EMPTY, SA_SHORT } from './route-view.js';
export type { Addrs, AddressMessage, DarwinMessage, InterfaceData, InterfaceMessage, MulticastMessage, RouteMessage, RouteMetrics } from './decode.js';
export { encodeRequest } from './encode.js';
export type { GatewaySpec, MetricsSpec, RequestType, RouteRequest } from './encode.js';
export { toJson, toText, sockaddrJson, sockaddrText, routeFlagNames, namedRouteFlags, interfaceFlagNames, addressFlagNames } from './format.js';
export type { IpMask, LinkSpec, Mask, MaskStyle, Sockaddr, SockaddrEmpty, SockaddrInet, SockaddrInet6, SockaddrLink, SockaddrOther } from './sockaddr.js';
export { TUNROUTE_TAG_FLAG, netstatLetters } from './constants.js';
