/**
 * @module codec/linux/address
 * Interface addresses: struct ifaddrmsg plus IFA_* attributes, from RTM_NEWADDR /
 * RTM_DELADDR / RTM_GETADDR. On a point-to-point IPv4 link IFA_LOCAL is our address and
 * IFA_ADDRESS the peer; everywhere else they are the same or IFA_LOCAL is absent.
 */
import type { ByteReader } from '../bytes.js';
import { IFA, LAYOUT } from './constants.js';
import { attrAddress, attrString, attrU32, readAttributes, type NlHeader } from './netlink.js';

const IFAM = LAYOUT.ifaddrmsg;

export interface AddressBody {
  family: number;
  prefixlen: number;
  /** IFA_F_* bits: IFA_FLAGS when present (it holds all 32), else the 8-bit ifa_flags. */
  flags: number;
  scope: number;
  index: number;
  address: string | null;
  local: string | null;
  label: string | null;
  broadcast: string | null;
}

export function decodeAddressBody(r: ByteReader, _header: NlHeader): AddressBody {
  const at = LAYOUT.nlmsghdr.size;
  const f = IFAM.fields;
  const family = r.u8(at + f.ifa_family.offset, 'ifa_family');
  const attrs = readAttributes(r, at + IFAM.size);
  return {
    family,
    prefixlen: r.u8(at + f.ifa_prefixlen.offset, 'ifa_prefixlen'),
    flags: attrU32(attrs, IFA.IFA_FLAGS.value, 'IFA_FLAGS') ?? r.u8(at + f.ifa_flags.offset, 'ifa_flags'),
    scope: r.u8(at + f.ifa_scope.offset, 'ifa_scope'),
    index: r.u32(at + f.ifa_index.offset, 'ifa_index'),
    address: attrAddress(attrs, IFA.IFA_ADDRESS.value, family, 'IFA_ADDRESS'),
    local: attrAddress(attrs, IFA.IFA_LOCAL.value, family, 'IFA_LOCAL'),
    label: attrString(attrs, IFA.IFA_LABEL.value),
    broadcast: attrAddress(attrs, IFA.IFA_BROADCAST.value, family, 'IFA_BROADCAST'),
  };
}
