/**
 * @module codec/linux/format
 * The two printers for decoded rtnetlink messages: `toText`, laid out like `ip monitor`
 * (interfaces by index, `dev #3`, since a message carries no names), and `toJson`, the
 * stable shape documented in the README. Absent optional fields are left out of the JSON;
 * protocols, scopes and route types are iproute2's words, numbers when unnamed.
 */
import { toHex } from '../bytes.js';
import { FIB_RULE, FR_ACT, NLM_F, RT_SCOPE, RTAX, RTN } from './constants.js';
import type { AddressMessage, ErrorMessage, LinkMessage, LinuxMessage, RouteMessage, RuleMessage } from './decode.js';
import {
  addressFlagNames,
  familyName,
  linkFlagNames,
  linkTypeName,
  operstateName,
  protocolName,
  routeTypeName,
  ruleActionName,
  scopeName,
  tableName,
} from './names.js';

/** What the kernel reports for FRA_SUPPRESS_PREFIXLEN when the rule has none. */
const SUPPRESS_UNSET = 0xffffffff;

/** Drops null fields, so absent attributes are absent in the JSON rather than null. */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

function trailer(m: LinuxMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { seq: m.header.seq, portid: m.header.portid };
  if ((m.header.flags & NLM_F.NLM_F_DUMP_INTR.value) !== 0) out.dumpInterrupted = true;
  return out;
}

function routeJson(m: RouteMessage): Record<string, unknown> {
  const otherMetrics = [...m.metrics].filter(([type]) => type !== RTAX.RTAX_MTU.value);
  return compact({
    type: m.typeName,
    family: familyName(m.family),
    table: m.table,
    protocol: protocolName(m.protocol),
    scope: scopeName(m.scope),
    destination: m.destination,
    source: m.source,
    gateway: m.gateway,
    oif: m.oif,
    iif: m.iif,
    priority: m.priority,
    prefsrc: m.prefsrc,
    mtu: m.mtu,
    metrics: otherMetrics.length === 0 ? null : Object.fromEntries(otherMetrics.map(([t, v]) => [String(t), v])),
    tos: m.tos === 0 ? null : m.tos,
    mark: m.mark,
    multipath: m.multipath === null ? null : toHex(m.multipath),
    routeType: routeTypeName(m.routeType),
    ...trailer(m),
  });
}

function linkJson(m: LinkMessage): Record<string, unknown> {
  return compact({
    type: m.typeName,
    index: m.index,
    name: m.name,
    flags: linkFlagNames(m.flags),
    mtu: m.mtu,
    operstate: m.operstate === null ? null : operstateName(m.operstate),
    linkType: linkTypeName(m.linkType),
    kind: m.linkKind,
    address: m.address,
    link: m.link,
    master: m.master,
    ...trailer(m),
  });
}

function addressJson(m: AddressMessage): Record<string, unknown> {
  return compact({
    type: m.typeName,
    family: familyName(m.family),
    index: m.index,
    prefixlen: m.prefixlen,
    flags: addressFlagNames(m.flags),
    scope: scopeName(m.scope),
    address: m.address,
    local: m.local,
    label: m.label,
    broadcast: m.broadcast,
    ...trailer(m),
  });
}

function ruleJson(m: RuleMessage): Record<string, unknown> {
  return compact({
    type: m.typeName,
    family: familyName(m.family),
    priority: m.priority,
    invert: (m.flags & FIB_RULE.FIB_RULE_INVERT.value) !== 0 ? true : null,
    src: m.src,
    dst: m.dst,
    iifname: m.iifname,
    oifname: m.oifname,
    fwmark: m.fwmark,
    fwmask: m.fwmask,
    table: m.table,
    action: ruleActionName(m.action),
    goto: m.goto,
    suppressPrefixlen: m.suppressPrefixlen === SUPPRESS_UNSET ? null : m.suppressPrefixlen,
    protocol: m.protocol === null ? null : protocolName(m.protocol),
    ...trailer(m),
  });
}

function errorJson(m: ErrorMessage): Record<string, unknown> {
  return compact({
    type: m.typeName,
    ack: m.ack,
    errno: m.errno,
    code: m.code,
    message: m.extMessage,
    errorOffset: m.extOffset,
    requestType: m.requestTypeName,
    requestSeq: m.request.seq,
    ...trailer(m),
  });
}

export function toJson(m: LinuxMessage): Record<string, unknown> {
  switch (m.kind) {
    case 'route':
      return routeJson(m);
    case 'link':
      return linkJson(m);
    case 'address':
      return addressJson(m);
    case 'rule':
      return ruleJson(m);
    case 'error':
      return errorJson(m);
    case 'done':
      return compact({ type: m.typeName, errno: m.errno, code: m.code, message: m.extMessage, ...trailer(m) });
    case 'unknown':
      return { type: m.typeName, nlmsgType: m.header.type, length: m.header.length, ...trailer(m) };
  }
}

// ---- text ----

function verb(typeName: string): string {
  if (typeName.startsWith('RTM_DEL')) return 'Deleted ';
  if (typeName.startsWith('RTM_GET')) return 'Get ';
  return '';
}

/** ip's way of writing a prefix: "default" for /0, the bare address for a host. */
function prefixText(cidr: string): string {
  const [addr = '', len = ''] = cidr.split('/');
  if (len === '0') return 'default';
  if ((len === '32' && !addr.includes(':')) || len === '128') return addr;
  return cidr;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

function routeText(m: RouteMessage): string {
  const parts: string[] = [];
  if (m.routeType !== RTN.RTN_UNICAST.value) parts.push(String(routeTypeName(m.routeType)));
  parts.push(m.destination === null ? `family ${m.family}` : prefixText(m.destination));
  if (m.source !== null) parts.push('from', m.source);
  if (m.tos !== 0) parts.push('tos', hex(m.tos));
  if (m.gateway !== null) parts.push('via', m.gateway);
  if (m.oif !== null) parts.push('dev', `#${m.oif}`);
  if (m.iif !== null) parts.push('iif', `#${m.iif}`);
  parts.push('table', String(tableName(m.table)), 'proto', String(protocolName(m.protocol)));
  if (m.scope !== RT_SCOPE.RT_SCOPE_UNIVERSE.value) parts.push('scope', String(scopeName(m.scope)));
  if (m.prefsrc !== null) parts.push('src', m.prefsrc);
  if (m.priority !== null) parts.push('metric', String(m.priority));
  if (m.mark !== null) parts.push('mark', hex(m.mark));
  if (m.mtu !== null) parts.push('mtu', String(m.mtu));
  if (m.multipath !== null) parts.push('multipath', toHex(m.multipath));
  return verb(m.typeName) + parts.join(' ');
}

function linkText(m: LinkMessage): string {
  const first = [`${m.index}: ${m.name ?? '?'}: <${linkFlagNames(m.flags).join(',')}>`];
  if (m.mtu !== null) first.push(`mtu ${m.mtu}`);
  if (m.operstate !== null) first.push(`state ${String(operstateName(m.operstate)).toUpperCase()}`);
  if (m.master !== null) first.push(`master #${m.master}`);
  if (m.linkKind !== null) first.push(`kind ${m.linkKind}`);
  const second = [`link/${linkTypeName(m.linkType)}`];
  if (m.address !== null) second.push(m.address);
  if (m.broadcast !== null) second.push('brd', m.broadcast);
  return `${verb(m.typeName)}${first.join(' ')}\n    ${second.join(' ')}`;
}

function addressText(m: AddressMessage): string {
  const local = m.local ?? m.address;
  const parts = [`${m.index}: ${familyName(m.family)}`];
  if (local !== null) {
    const peer = m.local !== null && m.address !== null && m.address !== m.local ? ` peer ${m.address}` : '';
    parts.push(`${local}${peer}/${m.prefixlen}`);
  }
  if (m.broadcast !== null) parts.push('brd', m.broadcast);
  parts.push('scope', String(scopeName(m.scope)));
  parts.push(...addressFlagNames(m.flags).map((f) => f.toLowerCase()));
  if (m.label !== null) parts.push(m.label);
  return verb(m.typeName) + parts.join(' ');
}

function ruleText(m: RuleMessage): string {
  const parts: string[] = [];
  if ((m.flags & FIB_RULE.FIB_RULE_INVERT.value) !== 0) parts.push('not');
  const from = m.src === null ? 'default' : prefixText(m.src);
  parts.push('from', from === 'default' ? 'all' : from);
  if (m.dst !== null) parts.push('to', prefixText(m.dst));
  if (m.fwmark !== null) parts.push('fwmark', m.fwmask === null ? hex(m.fwmark) : `${hex(m.fwmark)}/${hex(m.fwmask)}`);
  if (m.iifname !== null) parts.push('iif', m.iifname);
  if (m.oifname !== null) parts.push('oif', m.oifname);
  if (m.action === FR_ACT.FR_ACT_TO_TBL.value) parts.push('lookup', String(tableName(m.table)));
  else if (m.action === FR_ACT.FR_ACT_GOTO.value) parts.push('goto', String(m.goto ?? '?'));
  else parts.push(String(ruleActionName(m.action)));
  if (m.suppressPrefixlen !== null && m.suppressPrefixlen !== SUPPRESS_UNSET) parts.push('suppress_prefixlength', String(m.suppressPrefixlen));
  if (m.protocol !== null && m.protocol !== 0) parts.push('proto', String(protocolName(m.protocol)));
  return `${verb(m.typeName)}${m.priority}:\t${parts.join(' ')}`;
}

function errorText(m: ErrorMessage): string {
  const about = `for ${m.requestTypeName} seq ${m.request.seq} portid ${m.header.portid}`;
  const detail = m.extMessage === null ? '' : `: ${m.extMessage}`;
  return m.ack ? `ack ${about}${detail}` : `error ${m.code} (${m.errno}) ${about}${detail}`;
}

export function toText(m: LinuxMessage): string {
  switch (m.kind) {
    case 'route':
      return routeText(m);
    case 'link':
      return linkText(m);
    case 'address':
      return addressText(m);
    case 'rule':
      return ruleText(m);
    case 'error':
      return errorText(m);
    case 'done': {
      const failed = m.errno === 0 ? '' : `: error ${m.code} (${m.errno})${m.extMessage === null ? '' : ` ${m.extMessage}`}`;
      return `done seq ${m.header.seq} portid ${m.header.portid}${failed}`;
    }
    case 'unknown':
      return `${m.typeName}: len ${m.header.length} seq ${m.header.seq} portid ${m.header.portid}`;
  }
}
