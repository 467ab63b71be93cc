/**
 * @module model/ip
 * The one IP module: address text ↔ network-order bytes, and prefix lengths ↔ mask bytes.
 * The codecs use the bytes directly; profile/prefix turns them into integers for set
 * arithmetic. IPv6 text is RFC 5952 canonical (lower case, longest zero run compressed,
 * IPv4-mapped dotted), so every address tunroute prints compares equal as a string.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 'inet' | 'inet6';

export function formatIPv4(bytes: Uint8Array): string {
  return `${bytes[0] ?? 0}.${bytes[1] ?? 0}.${bytes[2] ?? 0}.${bytes[3] ?? 0}`;
}

/** The eight groups formatIPv6 works on (reused: formatting is synchronous). */
const GROUPS = new Uint16Array(8);

export function formatIPv6(bytes: Uint8Array): string {
  // Called for every IPv6 route a codec reads: no arrays of strings, one pass to find the run.
  const groups = GROUPS;
  for (let i = 0; i < 8; i++) groups[i] = ((bytes[i * 2] ?? 0) << 8) | (bytes[i * 2 + 1] ?? 0);
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `::ffff:${formatIPv4(bytes.subarray(12, 16))}`;
  }
  // RFC 5952: compress the first longest run of two or more zero groups.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) out += ':';
    out += (groups[i] as number).toString(16);
  }
  return out;
}

export function formatIp(family: IpFamily, bytes: Uint8Array): string {
  return family === 'inet' ? formatIPv4(bytes) : formatIPv6(bytes);
}

export function ipFamilyOf(text: string): IpFamily | null {
  if (isIPv4(text)) return 'inet';
  if (isIPv6(text)) return 'inet6';
  return null;
}

/** Address text to its 4 or 16 network-order bytes. Throws RangeError on anything else. */
export function parseIp(text: string): { family: IpFamily; bytes: Uint8Array } {
  const parsed = tryParseIp(text);
  if (parsed === null) throw new RangeError(`"${text}" is not an IP address`);
  return parsed;
}

/**
 * Dotted-quad IPv4 text to its 4 bytes, or null: exactly node:net's isIPv4 grammar (four
 * decimal parts 0-255, no leading zeros, nothing else), by hand because it runs for every
 * route a large profile or plan encodes.
 */
function parseIPv4(text: string): Uint8Array | null {
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // the end closes the last part like a '.'
    if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return null; // a leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return null;
    } else if (c === 46) {
      if (digits === 0 || part > 3) return null;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else {
      return null;
    }
  }
  return part === 4 ? out : null;
}

/** parseIp for untrusted text: null instead of an exception. A zone (fe80::1%en0) is not an address. */
export function tryParseIp(text: string): { family: IpFamily; bytes: Uint8Array } | null {
  const v4 = parseIPv4(text);
  if (v4 !== null) return { family: 'inet', bytes: v4 };
  // A zone ("fe80::1%en0") is not part of the address bytes: callers pass the scope separately.
  if (!isIPv6(text) || text.includes('%')) return null;
  let head = text;
  let v4tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    v4tail = text.slice(lastColon + 1).split('.').map(Number);
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left = '', right] = head.split('::');
  const parts = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const l = parts(left);
  const r = right === undefined ? [] : parts(right);
  const groups = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  if (v4tail.length === 4) bytes.set(v4tail, 12);
  return { family: 'inet6', bytes };
}

/** `prefix` leading one bits in `size` bytes. */
export function maskBytes(prefix: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = (0xff << (8 - bits)) & 0xff;
  }
  return out;
}

/** The prefix length of a mask, or null when its one bits are not contiguous. */
export function prefixOf(mask: Uint8Array): number | null {
  let prefix = 0;
  let i = 0;
  for (; i < mask.length && mask[i] === 0xff; i++) prefix += 8;
  if (i < mask.length) {
    const b = mask[i] ?? 0;
    const ones = Math.clz32(~(b << 24));
    if (((0xff << (8 - ones)) & 0xff) !== b) return null;
    prefix += ones;
    for (i++; i < mask.length; i++) if (mask[i] !== 0) return null;
  }
  return prefix;
}

/** True when any bit past `prefix` is set (an address, not a network): checked in place. */
export function hasHostBits(bytes: Uint8Array, prefix: number): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    if (((bytes[i] as number) & (0xff >> keep)) !== 0) return true;
  }
  return false;
}

/** `bytes` with every bit past `prefix` cleared. */
export function applyPrefix(bytes: Uint8Array, prefix: number): Uint8Array {
  return clearHostBits(new Uint8Array(bytes), prefix);
}

/** Clears every bit of `bytes` past `prefix`, in place (no mask array); returns `bytes`. */
export function clearHostBits(bytes: Uint8Array, prefix: number): Uint8Array {
  for (let i = 0; i < bytes.length; i++) {
    const keep = prefix - i * 8;
    if (keep < 8) bytes[i] = keep <= 0 ? 0 : (bytes[i] as number) & (0xff << (8 - keep));
  }
  return bytes;
}

/** Parses "addr/len" or a bare address (a host: /32 or /128). */
export function parseCidr(text: string): { family: IpFamily; bytes: Uint8Array; prefix: number } {
  const slash = text.indexOf('/');
  const { family, bytes } = parseIp(slash < 0 ? text : text.slice(0, slash));
  const max = family === 'inet' ? 32 : 128;
  if (slash < 0) return { family, bytes, prefix: max };
  const lenText = text.slice(slash + 1);
  const prefix = Number(lenText);
  if (!/^\d{1,3}$/.test(lenText) || prefix > max) throw new RangeError(`"${text}": bad prefix length`);
  return { family, bytes, prefix };
}
