/**
 * @module codec/linux/link
 * Links (network interfaces): struct ifinfomsg plus IFLA_* attributes, from RTM_NEWLINK
 * / RTM_DELLINK / RTM_GETLINK. tunroute only watches links, so there is no link encoder
 * beyond the dump request.
 */
import type { ByteReader } from '../bytes.js';
import { IFLA, IFLA_INFO, LAYOUT } from './constants.js';
import { attrString, attrU32, attrU8, readAttributes, type NlHeader } from './netlink.js';

const IFI = LAYOUT.ifinfomsg;

export interface LinkBody {
  family: number;
  /** ifi_type: ARPHRD_* (ARPHRD_NONE for tun and WireGuard devices). */
  linkType: number;
  index: number;
  /** IFF_* bits. */
  flags: number;
  /** IFF_* bits that changed (notifications); 0 or 0xffffffff otherwise. */
  change: number;
  name: string | null;
  mtu: number | null;
  /** IF_OPER_*. */
  operstate: number | null;
  /** IFLA_LINK: the index of the lower device. */
  link: number | null;
  master: number | null;
  /** IFLA_ADDRESS as colon-separated hex ("02:00:00:00:00:01"). */
  address: string | null;
  broadcast: string | null;
  /** IFLA_LINKINFO / IFLA_INFO_KIND: "wireguard", "tun", "veth", … */
  linkKind: string | null;
}

function hardwareAddress(a: ByteReader | undefined): string | null {
  if (a === undefined) return null;
  return Array.from(a.bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function decodeLinkBody(r: ByteReader, _header: NlHeader): LinkBody {
  const at = LAYOUT.nlmsghdr.size;
  const f = IFI.fields;
  const attrs = readAttributes(r, at + IFI.size);
  const info = attrs.get(IFLA.IFLA_LINKINFO.value);
  return {
    family: r.u8(at + f.ifi_family.offset, 'ifi_family'),
    linkType: r.u16(at + f.ifi_type.offset, 'ifi_type'),
    index: r.i32(at + f.ifi_index.offset, 'ifi_index'),
    flags: r.u32(at + f.ifi_flags.offset, 'ifi_flags'),
    change: r.u32(at + f.ifi_change.offset, 'ifi_change'),
    name: attrString(attrs, IFLA.IFLA_IFNAME.value),
    mtu: attrU32(attrs, IFLA.IFLA_MTU.value, 'IFLA_MTU'),
    operstate: attrU8(attrs, IFLA.IFLA_OPERSTATE.value, 'IFLA_OPERSTATE'),
    link: attrU32(attrs, IFLA.IFLA_LINK.value, 'IFLA_LINK'),
    master: attrU32(attrs, IFLA.IFLA_MASTER.value, 'IFLA_MASTER'),
    address: hardwareAddress(attrs.get(IFLA.IFLA_ADDRESS.value)),
    broadcast: hardwareAddress(attrs.get(IFLA.IFLA_BROADCAST.value)),
    linkKind: info === undefined ? null : attrString(readAttributes(info, 0), IFLA_INFO.IFLA_INFO_KIND.value),
  };
}
