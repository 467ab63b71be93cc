/**
 * @module codec/linux/dump
 * Dump requests (RTM_GET* with NLM_F_DUMP): the object's fixed header, zero except its
 * family. The full header, not the old one-byte rtgenmsg, is what kernels with strict
 * checking (NETLINK_GET_STRICT_CHK) accept.
 */
import { LAYOUT, RTM } from './constants.js';
import { familyNumber } from './names.js';
import { encodeMessage } from './netlink.js';

export type DumpObject = 'route' | 'link' | 'address' | 'rule';

const DUMPS = {
  route: { type: RTM.RTM_GETROUTE.value, layout: LAYOUT.rtmsg, family: LAYOUT.rtmsg.fields.rtm_family.offset },
  link: { type: RTM.RTM_GETLINK.value, layout: LAYOUT.ifinfomsg, family: LAYOUT.ifinfomsg.fields.ifi_family.offset },
  address: { type: RTM.RTM_GETADDR.value, layout: LAYOUT.ifaddrmsg, family: LAYOUT.ifaddrmsg.fields.ifa_family.offset },
  rule: { type: RTM.RTM_GETRULE.value, layout: LAYOUT.fib_rule_hdr, family: LAYOUT.fib_rule_hdr.fields.family.offset },
} as const;

/** RTM_GETROUTE / GETLINK / GETADDR / GETRULE for every object of `family` ('unspec': all). `flags`: REQUEST_FLAGS.dump. */
export function encodeDump(object: DumpObject, family: 'inet' | 'inet6' | 'unspec', seq: number, flags: number): Uint8Array {
  const d = DUMPS[object];
  const body = new Uint8Array(d.layout.size);
  body[d.family] = familyNumber(family);
  return encodeMessage(d.type, flags, seq, body, []);
}
