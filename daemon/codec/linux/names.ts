/**
 * @module codec/linux/names
 * Numbers to the names people know them by: C names for message types, iproute2's words
 * for protocols, scopes, tables and route types, and flag words as lists of bit names.
 * An unnamed value stays a number, so nothing is lost in printing.
 */
import {
  AF,
  ARPHRD,
  FR_ACT,
  IF_OPER,
  IFA_F,
  IFF,
  NLMSG,
  RT_SCOPE,
  RT_TABLE,
  RTM,
  RTN,
  RTPROT,
  TUNROUTE_RTPROT,
  type ConstantTable,
} from './constants.js';

/** value → C name, built once per table; the first name wins for aliases. */
function reverse(table: ConstantTable): Map<number, string> {
  const map = new Map<number, string>();
  for (const [name, c] of Object.entries(table)) if (!map.has(c.value)) map.set(c.value, name);
  return map;
}

/** value → lower-case name without the prefix, the way iproute2 spells them. */
function words(table: ConstantTable, prefix: string, skip: readonly string[] = []): Map<number, string> {
  const map = new Map<number, string>();
  for (const [name, c] of Object.entries(table)) {
    if (skip.includes(name) || map.has(c.value)) continue;
    map.set(c.value, name.slice(prefix.length).toLowerCase());
  }
  return map;
}

const MESSAGE_TYPES = new Map([...reverse(NLMSG), ...reverse(RTM)]);

/** "RTM_NEWROUTE", "NLMSG_ERROR", or "type 99". */
export function messageTypeName(type: number): string {
  return MESSAGE_TYPES.get(type) ?? `type ${type}`;
}

const FAMILIES = new Map<number, string>([
  [AF.AF_UNSPEC.value, 'unspec'],
  [AF.AF_INET.value, 'inet'],
  [AF.AF_INET6.value, 'inet6'],
]);

export function familyName(family: number): string | number {
  return FAMILIES.get(family) ?? family;
}

export function familyNumber(family: 'inet' | 'inet6' | 'unspec'): number {
  return family === 'inet' ? AF.AF_INET.value : family === 'inet6' ? AF.AF_INET6.value : AF.AF_UNSPEC.value;
}

// RTPROT_MROUTED and RT_TABLE_COMPAT/MAX have no name in iproute2's files.
const PROTOCOLS = words(RTPROT, 'RTPROT_', ['RTPROT_MROUTED']);
PROTOCOLS.set(TUNROUTE_RTPROT, 'tunroute');
// iproute2 says "global" for 0 in ip-address output; the kernel calls it RT_SCOPE_UNIVERSE,
// and the JSON shape follows the kernel so the same word is used for routes and addresses.
const SCOPES = words(RT_SCOPE, 'RT_SCOPE_');
const TABLES = words(RT_TABLE, 'RT_TABLE_', ['RT_TABLE_COMPAT', 'RT_TABLE_MAX']);
const ROUTE_TYPES = words(RTN, 'RTN_');
const RULE_ACTIONS = words(FR_ACT, 'FR_ACT_');
const OPERSTATES = words(IF_OPER, 'IF_OPER_');
const LINK_TYPES = words(ARPHRD, 'ARPHRD_');

export const protocolName = (p: number): string | number => PROTOCOLS.get(p) ?? p;
export const scopeName = (s: number): string | number => SCOPES.get(s) ?? s;
export const tableName = (t: number): string | number => TABLES.get(t) ?? t;
export const routeTypeName = (t: number): string | number => ROUTE_TYPES.get(t) ?? t;
export const ruleActionName = (a: number): string | number => RULE_ACTIONS.get(a) ?? a;
export const operstateName = (o: number): string | number => OPERSTATES.get(o) ?? o;
export const linkTypeName = (t: number): string | number => LINK_TYPES.get(t) ?? t;

/** The names of the bits set in `value`, prefix stripped, in bit order; unknown bits as `0x…`. */
export function bitNames(value: number, table: ConstantTable, prefix: string): string[] {
  const names: string[] = [];
  let known = 0;
  const entries = Object.entries(table).sort((a, b) => a[1].value - b[1].value);
  for (const [name, c] of entries) {
    // Aliases (IFA_F_TEMPORARY = SECONDARY) and zero entries must not name a bit twice.
    if (c.value === 0 || (c.value & (c.value - 1)) !== 0 || (known & c.value) !== 0) continue;
    if ((value & c.value) !== 0) {
      names.push(name.slice(prefix.length));
      known |= c.value;
    }
  }
  const rest = (value & ~known) >>> 0;
  for (let bit = 0; bit < 32; bit++) {
    const b = 2 ** bit;
    if (Math.floor(rest / b) % 2 === 1) names.push(`0x${b.toString(16)}`);
  }
  return names;
}

export const linkFlagNames = (flags: number): string[] => bitNames(flags, IFF, 'IFF_');
export const addressFlagNames = (flags: number): string[] => bitNames(flags, IFA_F, 'IFA_F_');
