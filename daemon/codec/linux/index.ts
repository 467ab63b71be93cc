/**
 * @module codec/linux
 * The Linux rtnetlink codec: decoding, request encoding and the two printers, behind the
 * shared MessageCodec interface.
 */
import type { MessageCodec } from '../codec.js';
import { walk, type LinuxMessage } from './decode.js';
import { toJson, toText } from './format.js';

export const linuxCodec: MessageCodec<LinuxMessage> = { os: 'linux', walk, toText, toJson };

export { decodeMessage, walk, DECODERS } from './decode.js';
export type { AddressMessage, DoneMessage, ErrorMessage, LinkMessage, LinuxMessage, RouteMessage, RuleMessage, UnknownMessage } from './decode.js';
export { encodeNewRoute, encodeDelRoute } from './route.js';
export type { RouteBody, RouteSpec } from './route.js';
export { encodeNewRule, encodeDelRule } from './rule.js';
export type { RuleBody, RuleSpec } from './rule.js';
export { encodeDump } from './dump.js';
export type { DumpObject } from './dump.js';
export type { LinkBody } from './link.js';
export type { AddressBody } from './address.js';
export { REQUEST_FLAGS, errnoCode, readHeader } from './netlink.js';
export type { NlHeader, ErrorBody, DoneBody } from './netlink.js';
export { toJson, toText } from './format.js';
export * as names from './names.js';
export { TUNROUTE_RTPROT } from './constants.js';
