/**
 * @module profile/prefix
 * IP addresses and prefixes as numbers, for the profile's checks (overlap, coverage,
 * duplicates) and the planner's canonical destinations. Text is parsed with node:net's
 * validators and printed canonically (IPv6 per RFC 5952), so two spellings of the same
 * prefix compare equal as strings.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Family } from '../model/route.js';

export interface Prefix {
  family: Family;
  /** The network address as an unsigned integer (32 or 128 bits). */
  value: bigint;
  length: number;
}

export const FAMILY_BITS: Record<Family, number> = { inet: 32, inet6: 128 };

export function familyOf(text: string): Family | null {
  if (isIPv4(text)) return 'inet';
  if (isIPv6(text)) return 'inet6';
  return null;
}

/** An address to its integer value, or null when the text is not a plain IPv4/IPv6 address (no zone). */
export function parseAddress(text: string): { family: Family; value: bigint } | null {
  if (isIPv4(text)) {
    const value = text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { family: 'inet', value };
  }
  // A zone (%en0) names a link, not an address a route can carry.
  if (!isIPv6(text) || text.includes('%')) return null;
  let text6 = text;
  const lastColon = text6.lastIndexOf(':');
  if (text6.includes('.', lastColon)) {
    const v4 = parseAddress(text6.slice(lastColon + 1));
    if (v4 === null) return null;
    const hi = Number(v4.value >> 16n).toString(16);
    const lo = Number(v4.value & 0xffffn).toString(16);
    text6 = `${text6.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const [head = '', tail] = text6.split('::') as [string, string | undefined];
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  const all = [...left, ...fill, ...right];
  if (all.length !== 8) return null;
  return { family: 'inet6', value: all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

export function formatAddress(family: Family, value: bigint): string {
  if (family === 'inet') {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952 §4.2: shorten the longest run of two or more zero groups, the first one on a tie.
  let runStart = -1;
  let runLength = 1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > runLength) {
      runStart = i;
      runLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (runStart < 0) return hex.join(':');
  return `${hex.slice(0, runStart).join(':')}::${hex.slice(runStart + runLength).join(':')}`;
}

export function maskOf(family: Family, length: number): bigint {
  const bits = BigInt(FAMILY_BITS[family]);
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(length))) & all;
}

export type PrefixParse =
  | { ok: true; prefix: Prefix }
  | { ok: false; reason: 'syntax' }
  /** A valid address and length whose host bits are not zero: `network` is what was probably meant. */
  | { ok: false; reason: 'host-bits'; network: Prefix };

/**
 * Parses ADDRESS/LENGTH. A bare address is a host prefix (/32, /128) only when
 * `bareIsHost` is set: in `routes` a missing length is more likely a mistake.
 */
export function parsePrefix(text: string, bareIsHost = false): PrefixParse {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseAddress(addressText);
  if (address === null) return { ok: false, reason: 'syntax' };
  const bits = FAMILY_BITS[address.family];
  let length = bits;
  if (slash < 0) {
    if (!bareIsHost) return { ok: false, reason: 'syntax' };
  } else {
    const lengthText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lengthText)) return { ok: false, reason: 'syntax' };
    length = Number(lengthText);
    if (length > bits) return { ok: false, reason: 'syntax' };
  }
  const network = address.value & maskOf(address.family, length);
  if (network !== address.value) return { ok: false, reason: 'host-bits', network: { family: address.family, value: network, length } };
  return { ok: true, prefix: { family: address.family, value: network, length } };
}

export function hostPrefix(address: { family: Family; value: bigint }): Prefix {
  return { family: address.family, value: address.value, length: FAMILY_BITS[address.family] };
}

/** Canonical CIDR text, the form `Route.destination` uses. */
export function formatPrefix(prefix: Prefix): string {
  return `${formatAddress(prefix.family, prefix.value)}/${prefix.length}`;
}

/** True when every address of `inner` is in `outer`. */
export function covers(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family || outer.length > inner.length) return false;
  return (inner.value & maskOf(outer.family, outer.length)) === outer.value;
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  return covers(a, b) || covers(b, a);
}

export function samePrefix(a: Prefix, b: Prefix): boolean {
  return a.family === b.family && a.length === b.length && a.value === b.value;
}

export function isDefault(prefix: Prefix): boolean {
  return prefix.length === 0;
}
