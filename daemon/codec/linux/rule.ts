/**
 * @module codec/linux/rule
 * Policy routing rules: struct fib_rule_hdr plus FRA_* attributes, decoded from
 * RTM_NEWRULE / RTM_DELRULE / RTM_GETRULE and encoded into the requests that send the
 * tunnel address's traffic to tunroute's table.
 */
import { ByteWriter, type ByteReader } from '../bytes.js';
import { applyPrefix, parseCidr } from '../../model/ip.js';
import { FIB_RULE, FR_ACT, FRA, LAYOUT, RT_TABLE, RTM, TUNROUTE_RTPROT } from './constants.js';
import { familyNumber } from './names.js';
import {
  attrAddress,
  attrString,
  attrU32,
  attrU8,
  encodeMessage,
  readAttributes,
  stringPayload,
  u32Payload,
  u8Payload,
  type NlHeader,
  type OutAttribute,
} from './netlink.js';

const FRH = LAYOUT.fib_rule_hdr;

export interface RuleBody {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  /** FRA_TABLE when present, else the header's 8-bit table. */
  table: number;
  /** FR_ACT_*. */
  action: number;
  /** FIB_RULE_* bits (FIB_RULE_INVERT is ip rule's `not`). */
  flags: number;
  /** FRA_PRIORITY; the kernel leaves it out for priority 0 (the `local` rule), so absent reads as 0. */
  priority: number;
  /** CIDR, null for "from all". */
  src: string | null;
  dst: string | null;
  iifname: string | null;
  oifname: string | null;
  fwmark: number | null;
  fwmask: number | null;
  /** FRA_PROTOCOL (RTPROT_*); null from kernels before 4.17. */
  protocol: number | null;
  /** FRA_SUPPRESS_PREFIXLEN; the kernel reports 0xffffffff (-1) for "not set". */
  suppressPrefixlen: number | null;
  /** FRA_GOTO: the target priority of FR_ACT_GOTO. */
  goto: number | null;
}

export function decodeRuleBody(r: ByteReader, _header: NlHeader): RuleBody {
  const at = LAYOUT.nlmsghdr.size;
  const f = FRH.fields;
  const family = r.u8(at + f.family.offset, 'fib_rule_hdr.family');
  const dstLen = r.u8(at + f.dst_len.offset, 'fib_rule_hdr.dst_len');
  const srcLen = r.u8(at + f.src_len.offset, 'fib_rule_hdr.src_len');
  const attrs = readAttributes(r, at + FRH.size);
  const src = attrAddress(attrs, FRA.FRA_SRC.value, family, 'FRA_SRC');
  const dst = attrAddress(attrs, FRA.FRA_DST.value, family, 'FRA_DST');
  return {
    family,
    dstLen,
    srcLen,
    tos: r.u8(at + f.tos.offset, 'fib_rule_hdr.tos'),
    table: attrU32(attrs, FRA.FRA_TABLE.value, 'FRA_TABLE') ?? r.u8(at + f.table.offset, 'fib_rule_hdr.table'),
    action: r.u8(at + f.action.offset, 'fib_rule_hdr.action'),
    flags: r.u32(at + f.flags.offset, 'fib_rule_hdr.flags'),
    priority: attrU32(attrs, FRA.FRA_PRIORITY.value, 'FRA_PRIORITY') ?? 0,
    src: src === null ? null : `${src}/${srcLen}`,
    dst: dst === null ? null : `${dst}/${dstLen}`,
    iifname: attrString(attrs, FRA.FRA_IIFNAME.value),
    oifname: attrString(attrs, FRA.FRA_OIFNAME.value),
    fwmark: attrU32(attrs, FRA.FRA_FWMARK.value, 'FRA_FWMARK'),
    fwmask: attrU32(attrs, FRA.FRA_FWMASK.value, 'FRA_FWMASK'),
    protocol: attrU8(attrs, FRA.FRA_PROTOCOL.value, 'FRA_PROTOCOL'),
    suppressPrefixlen: attrU32(attrs, FRA.FRA_SUPPRESS_PREFIXLEN.value, 'FRA_SUPPRESS_PREFIXLEN'),
    goto: attrU32(attrs, FRA.FRA_GOTO.value, 'FRA_GOTO'),
  };
}

// ---- requests ----

export interface RuleSpec {
  family: 'inet' | 'inet6';
  /** FRA_PRIORITY; without it the kernel picks one below the last rule (deletes: matches any). */
  priority?: number | null;
  /** "from": CIDR or bare address (a host prefix). Absent: from all. */
  src?: string | null;
  /** "to": CIDR or bare address. */
  dst?: string | null;
  /** The table to look up. Above 255 it goes in FRA_TABLE with the header's table RT_TABLE_UNSPEC. */
  table: number;
  /** Default FR_ACT_TO_TBL. */
  action?: number;
  /** FRA_PROTOCOL. Default TUNROUTE_RTPROT for new rules; deletes send none (matches any). */
  protocol?: number | null;
  fwmark?: number | null;
  fwmask?: number | null;
  /** FRA_SUPPRESS_PREFIXLEN (wg-quick's `suppress_prefixlength 0`). */
  suppressPrefixlen?: number | null;
  iifname?: string | null;
  oifname?: string | null;
  /** FIB_RULE_INVERT: ip rule's `not`. */
  invert?: boolean;
}

function prefix(text: string, family: 'inet' | 'inet6', what: string): { bytes: Uint8Array; prefix: number } {
  const p = parseCidr(text);
  if (p.family !== family) throw new RangeError(`${what} ${text} is not an ${family} prefix`);
  const masked = applyPrefix(p.bytes, p.prefix);
  if (!masked.every((b, i) => b === p.bytes[i])) throw new RangeError(`${what} ${text} has host bits set`);
  return p;
}

function encodeRule(type: number, spec: RuleSpec, seq: number, flags: number, isDelete: boolean): Uint8Array {
  const src = spec.src == null ? null : prefix(spec.src, spec.family, 'src');
  const dst = spec.dst == null ? null : prefix(spec.dst, spec.family, 'dst');
  const f = FRH.fields;
  const body = new ByteWriter(FRH.size)
    .u8(f.family.offset, familyNumber(spec.family))
    .u8(f.dst_len.offset, dst?.prefix ?? 0)
    .u8(f.src_len.offset, src?.prefix ?? 0)
    .u8(f.table.offset, spec.table > 255 ? RT_TABLE.RT_TABLE_UNSPEC.value : spec.table)
    .u8(f.action.offset, spec.action ?? FR_ACT.FR_ACT_TO_TBL.value)
    .u32(f.flags.offset, spec.invert === true ? FIB_RULE.FIB_RULE_INVERT.value : 0);

  const attrs: OutAttribute[] = [];
  if (spec.priority != null) attrs.push({ type: FRA.FRA_PRIORITY.value, payload: u32Payload(spec.priority) });
  if (src !== null && src.prefix > 0) attrs.push({ type: FRA.FRA_SRC.value, payload: src.bytes });
  if (dst !== null && dst.prefix > 0) attrs.push({ type: FRA.FRA_DST.value, payload: dst.bytes });
  if (spec.table > 255) attrs.push({ type: FRA.FRA_TABLE.value, payload: u32Payload(spec.table) });
  if (spec.iifname != null) attrs.push({ type: FRA.FRA_IIFNAME.value, payload: stringPayload(spec.iifname) });
  if (spec.oifname != null) attrs.push({ type: FRA.FRA_OIFNAME.value, payload: stringPayload(spec.oifname) });
  if (spec.fwmark != null) attrs.push({ type: FRA.FRA_FWMARK.value, payload: u32Payload(spec.fwmark) });
  if (spec.fwmask != null) attrs.push({ type: FRA.FRA_FWMASK.value, payload: u32Payload(spec.fwmask) });
  if (spec.suppressPrefixlen != null) attrs.push({ type: FRA.FRA_SUPPRESS_PREFIXLEN.value, payload: u32Payload(spec.suppressPrefixlen) });
  const protocol = spec.protocol === undefined ? (isDelete ? null : TUNROUTE_RTPROT) : spec.protocol;
  if (protocol !== null) attrs.push({ type: FRA.FRA_PROTOCOL.value, payload: u8Payload(protocol) });
  return encodeMessage(type, flags, seq, body.bytes, attrs);
}

/** RTM_NEWRULE. Rules have no identity beyond their fields: NLM_F_EXCL makes an identical rule fail with EEXIST. */
export function encodeNewRule(spec: RuleSpec, seq: number, flags: number): Uint8Array {
  return encodeRule(RTM.RTM_NEWRULE.value, spec, seq, flags, false);
}

/** RTM_DELRULE: deletes the first rule matching every field given. */
export function encodeDelRule(spec: RuleSpec, seq: number, flags: number): Uint8Array {
  return encodeRule(RTM.RTM_DELRULE.value, spec, seq, flags, true);
}
