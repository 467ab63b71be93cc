/**
 * @module profile/prefix
 * IP prefixes as numbers, for the profile's checks (overlap, coverage, duplicates) and
 * the planner's canonical destinations. Text is parsed and printed by model/ip, the same
 * code the codecs use, so two spellings of the same prefix compare equal as strings.
 */
import { formatIp, tryParseIp } from '../model/ip.js';
import type { Family } from '../model/route.js';

export interface Prefix {
  family: Family;
  /** The network address as an unsigned integer (32 or 128 bits). */
  value: bigint;
  length: number;
}

export const FAMILY_BITS: Record<Family, number> = { inet: 32, inet6: 128 };

/** An address to its integer value, or null when the text is not a plain IPv4/IPv6 address (no zone). */
export function parseAddress(text: string): { family: Family; value: bigint } | null {
  const parsed = tryParseIp(text);
  if (parsed === null) return null;
  const { family, bytes } = parsed;
  if (family === 'inet') return { family, value: BigInt((((bytes[0] as number) << 24) | ((bytes[1] as number) << 16) | ((bytes[2] as number) << 8) | (bytes[3] as number)) >>> 0) };
  let value = 0n;
  for (let i = 0; i < 16; i += 4) value = (value << 32n) | BigInt((((bytes[i] as number) << 24) | ((bytes[i + 1] as number) << 16) | ((bytes[i + 2] as number) << 8) | (bytes[i + 3] as number)) >>> 0);
  return { family, value };
}

/** Canonical text (RFC 5952 for IPv6), the same text the codecs print. */
export function formatAddress(family: Family, value: bigint): string {
  const size = family === 'inet' ? 4 : 16;
  const bytes = new Uint8Array(size);
  let rest = value;
  for (let i = size - 1; i >= 0; i--) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return formatIp(family, bytes);
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
