/**
 * @module codec/darwin/format
 * The two printers for decoded PF_ROUTE messages: `toText`, laid out like
 * `route -n monitor` (one header line, metrics, the sockaddr list, then one line per
 * sockaddr), and `toJson`, the stable shape documented in the README.
 */
import { toHex } from '../bytes.js';
import { IFA, IFF, RTA, RTF, RTV, bitNames } from './constants.js';
import type { Addrs, DarwinMessage, RouteMessage } from './decode.js';
import { RTAX_NAMES, type Mask, type Sockaddr } from './sockaddr.js';

/** route(8)'s descriptions of the classic types; newer types print their name only. */
const DESCRIPTIONS: Record<number, string> = {
  1: 'Add Route',
  2: 'Delete Route',
  3: 'Change Metrics or flags',
  4: 'Report Metrics',
  5: 'Kernel Suspects Partitioning',
  6: 'Told to use different route',
  7: 'Lookup failed on this address',
  8: 'fix specified metrics',
  9: 'caused by SIOCADDRT',
  10: 'caused by SIOCDELRT',
  11: 'Route created by cloning',
  12: 'address being added to iface',
  13: 'address being removed from iface',
  14: 'iface status change',
  15: 'new multicast group membership on iface',
  16: 'multicast group membership removed from iface',
};

export const routeFlagNames = (flags: number): string[] => bitNames(flags, RTF, 'RTF_');
/** Each RTF_ bit's name without the prefix (undefined for bits without one), built once. */
const ROUTE_FLAG_BY_BIT: ReadonlyArray<string | undefined> = Array.from({ length: 32 }, (_, bit) => routeFlagNames((2 ** bit) >>> 0).find((n) => !n.startsWith('0x')));

/** routeFlagNames without the unknown bits (the backend's route flags), from a table. */
export function namedRouteFlags(flags: number): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if ((flags >>> bit) & 1) {
      const name = ROUTE_FLAG_BY_BIT[bit];
      if (name !== undefined) names.push(name);
    }
  }
  return names;
}
export const interfaceFlagNames = (flags: number): string[] => bitNames(flags, IFF, 'IFF_');
export const addressFlagNames = (flags: number): string[] => bitNames(flags, IFA, 'IFA_');
const metricNames = (bits: number): string[] => bitNames(bits, RTV, 'RTV_').map((n) => n.toLowerCase());

const angle = (names: string[]): string => (names.length === 0 ? '' : `<${names.join(',')}>`);

// ---- JSON ----

/** One sockaddr as JSON: inet/inet6/link by name, anything else raw by family number. */
export function sockaddrJson(sa: Sockaddr | Mask): Record<string, unknown> {
  switch (sa.family) {
    case 'inet':
    case 'inet6': {
      const out: Record<string, unknown> = { family: sa.family, address: sa.address };
      if ('scope' in sa && sa.scope !== 0) out.scope = sa.scope;
      if ('prefix' in sa && sa.prefix === null) out.contiguous = false;
      return out;
    }
    case 'link': {
      const out: Record<string, unknown> = { family: 'link', index: sa.index, name: sa.name, type: sa.type };
      if (sa.lladdr !== '') out.address = sa.lladdr;
      return out;
    }
    case 'empty':
      return { family: sa.af, length: 0, hex: '' };
    case 'other':
      return { family: sa.af, length: sa.length, hex: toHex(sa.bytes) };
  }
}

function addrsJson(addrs: Addrs): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of RTAX_NAMES) {
    const sa = addrs[name];
    if (sa !== undefined) out[name] = sockaddrJson(sa);
  }
  return out;
}

export function toJson(m: DarwinMessage): Record<string, unknown> {
  const head = { type: m.typeName, version: m.version, index: m.index };
  switch (m.kind) {
    case 'route': {
      const out: Record<string, unknown> = { ...head, flags: routeFlagNames(m.flags), addrs: addrsJson(m.addrs), destination: m.destination };
      if (m.header === 'rt_msghdr2') {
        out.refcnt = m.refcnt;
        out.parentFlags = routeFlagNames(m.parentFlags ?? 0);
      } else {
        out.pid = m.pid;
        out.seq = m.seq;
        out.errno = m.errno;
      }
      out.length = m.length;
      return out;
    }
    case 'interface':
      return { ...head, flags: interfaceFlagNames(m.flags), addrs: addrsJson(m.addrs), mtu: m.data.mtu, length: m.length };
    case 'address':
      return { ...head, flags: addressFlagNames(m.flags), addrs: addrsJson(m.addrs), address: m.address, metric: m.metric, length: m.length };
    case 'multicast': {
      const out: Record<string, unknown> = { ...head, addrs: addrsJson(m.addrs), group: m.group };
      if (m.refcount !== undefined) out.refcount = m.refcount;
      out.length = m.length;
      return out;
    }
  }
}

// ---- text ----

export function sockaddrText(sa: Sockaddr | Mask): string {
  switch (sa.family) {
    case 'inet':
    case 'inet6': {
      let text = sa.address;
      if ('scope' in sa && sa.scope !== 0) text += `%${sa.scope}`;
      if ('prefix' in sa) text += sa.prefix === null ? ' (non-contiguous)' : ` (/${sa.prefix})`;
      return text;
    }
    case 'link':
      return [`link#${sa.index}`, sa.name, sa.lladdr].filter((s) => s !== '').join(' ');
    case 'empty':
      return '(empty)';
    case 'other':
      return `(family ${sa.af}, len ${sa.length}) ${toHex(sa.bytes)}`;
  }
}

function addrsText(m: DarwinMessage): string[] {
  const lines = [`sockaddrs: ${angle(bitNames(m.addrBits, RTA, 'RTA_'))}`];
  for (const name of RTAX_NAMES) {
    const sa = m.addrs[name];
    if (sa !== undefined) lines.push(` ${name} ${sockaddrText(sa)}`);
  }
  return lines;
}

function metricsText(m: RouteMessage): string {
  let line = `locks: ${angle(metricNames(m.metrics.locks))} inits: ${angle(metricNames(m.inits))}`;
  if (m.metrics.mtu !== 0) line += ` mtu ${m.metrics.mtu}`;
  return line;
}

export function toText(m: DarwinMessage): string {
  const description = DESCRIPTIONS[m.type];
  const title = description === undefined ? m.typeName : `${m.typeName}: ${description}`;
  const lines: string[] = [];
  switch (m.kind) {
    case 'route': {
      const who =
        m.header === 'rt_msghdr2'
          ? `refcnt ${m.refcnt}, parentflags:${angle(routeFlagNames(m.parentFlags ?? 0))}, `
          : `pid: ${m.pid}, seq ${m.seq}, errno ${m.errno}, `;
      const scope = m.scope !== null ? `ifscope ${m.scope}, ` : '';
      lines.push(`${title}: len ${m.length}, ${who}${scope}flags:${angle(routeFlagNames(m.flags))}`);
      lines.push(metricsText(m));
      lines.push(...addrsText(m));
      if (m.destination !== null) lines.push(`destination: ${m.destination}`);
      break;
    }
    case 'interface':
      lines.push(`${title}: len ${m.length}, if# ${m.index}, flags:${angle(interfaceFlagNames(m.flags))}, mtu ${m.data.mtu}`);
      if (m.addrBits !== 0) lines.push(...addrsText(m));
      break;
    case 'address':
      lines.push(`${title}: len ${m.length}, if# ${m.index}, metric ${m.metric}, flags:${angle(addressFlagNames(m.flags))}`);
      lines.push(...addrsText(m));
      break;
    case 'multicast':
      lines.push(`${title}: len ${m.length}, if# ${m.index}`);
      lines.push(...addrsText(m));
      break;
  }
  return lines.join('\n');
}
