/**
 * @module profile/schema-formats
 * The schema's tunroute-* formats (`"format": "tunroute-prefix"` and the like in
 * config/profile.schema.json): each one's test and how a failure reads, and the ajv options
 * the schema is compiled with. Shared by the build step that compiles the schema
 * (scripts/gen-schema-validator.ts) and by the validator it generates, which imports
 * AJV_FORMATS from here at run time.
 */
import { parseAddress, parsePrefix } from './prefix.js';
import { parseDuration, parseSize } from './units.js';
import { AUTO, parseEndpointHost } from './peers.js';

/** The options config/profile.schema.json is compiled with (every failure, with its data and schema). */
export const AJV_OPTIONS = { allErrors: true, strict: true, strictRequired: false, verbose: true, allowUnionTypes: true } as const;

/** Each tunroute-* format: its test, and how a failure reads. */
export const FORMATS: Record<string, { noun: string; test: (text: string) => boolean; describe: (text: string) => string }> = {
  'tunroute-prefix': {
    noun: 'a prefix such as 10.0.0.0/8',
    test: (t) => parsePrefix(t, true).ok || (parsePrefix(t, true) as { reason: string }).reason === 'host-bits',
    describe: (t) => `${JSON.stringify(t)} is not an IPv4 or IPv6 prefix`,
  },
  'tunroute-interface-address': {
    noun: 'an address such as 10.10.10.2/32',
    test: (t) => parseInterfaceAddress(t) !== null,
    describe: (t) => `${JSON.stringify(t)} is not an IPv4 or IPv6 address, expected an address with an optional /length such as 10.10.10.2/32`,
  },
  'tunroute-endpoint': {
    noun: 'an endpoint such as 203.0.113.7:51820, vpn.example.com or auto',
    test: (t) => t === AUTO || parseEndpoint(t) !== null || parseEndpointHost(t) !== null,
    describe: (t) => `${JSON.stringify(t)} is not an IP address or host name, expected ADDRESS, ADDRESS:PORT, [ADDRESS]:PORT, HOST, HOST:PORT or auto`,
  },
  'tunroute-route': {
    noun: 'a prefix such as 10.0.0.0/8, or auto',
    test: (t) => t === AUTO || FORMATS['tunroute-prefix']!.test(t),
    describe: (t) => FORMATS['tunroute-prefix']!.describe(t),
  },
  'tunroute-auto': {
    noun: 'auto',
    test: (t) => t === AUTO,
    describe: (t) => `expected a list or auto, got the string ${JSON.stringify(t)}`,
  },
  'tunroute-address': {
    noun: 'an address such as 10.64.0.1',
    test: (t) => parseAddress(t) !== null,
    describe: (t) => `${JSON.stringify(t)} is not an IPv4 or IPv6 address, expected an address such as 10.64.0.1`,
  },
  'tunroute-domain': {
    noun: 'a domain such as corp.example.com',
    test: (t) => isDomain(t),
    describe: (t) => `${JSON.stringify(t)} is not a domain name, expected labels of letters, digits and "-" joined by dots, such as corp.example.com`,
  },
  'tunroute-duration': {
    noun: 'a duration with a unit such as 30s or 500ms',
    test: (t) => parseDuration(t) !== null,
    describe: (t) => `${JSON.stringify(t)} is not a duration, expected a number with a unit such as 500ms, 30s, 2m or 1h`,
  },
  'tunroute-size': {
    noun: 'a size such as 1420 or 1.5KiB',
    test: (t) => parseSize(t) !== null,
    describe: (t) => `${JSON.stringify(t)} is not a size, expected a whole number of bytes such as 1420 or 1.5KiB`,
  },
  'tunroute-absolute-path': {
    noun: 'an absolute path',
    test: (t) => t.startsWith('/') && !t.includes('\0'),
    describe: (t) => `${JSON.stringify(t)} is not an absolute path, expected a path starting with /`,
  },
  'tunroute-interface-name': {
    noun: 'an interface name such as utun7',
    // Linux IFNAMSIZ is 16 with the NUL; macOS IFNAMSIZ is 16 too.
    test: (t) => /^[^\s/:]{1,15}$/.test(t) && t !== '.' && t !== '..',
    describe: (t) => `${JSON.stringify(t)} is not an interface name, expected 1 to 15 characters without spaces, "/" or ":"`,
  },
};

/** A DNS name: dot-separated labels of 1-63 letters, digits or inner hyphens, 253 characters at most. */
export function isDomain(text: string): boolean {
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label));
}

/** ADDRESS or ADDRESS/LENGTH, as wg-quick's Address takes it. */
export function parseInterfaceAddress(text: string): { address: string; length: number | null } | null {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const parsed = parseAddress(address);
  if (parsed === null) return null;
  if (slash < 0) return { address, length: null };
  const lengthText = text.slice(slash + 1);
  const length = Number(lengthText);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lengthText) || length > (parsed.family === 'inet' ? 32 : 128)) return null;
  return { address, length };
}

/** ADDRESS, ADDRESS:PORT (IPv4) or [ADDRESS]:PORT, as wg's Endpoint is written. */
export function parseEndpoint(text: string): { address: string; port: number | null } | null {
  let address = text;
  let port: number | null = null;
  const bracketed = /^\[([^\]]+)\]:([0-9]{1,5})$/.exec(text);
  const v4port = /^([0-9.]+):([0-9]{1,5})$/.exec(text);
  const match = bracketed ?? v4port;
  if (match) {
    address = match[1] as string;
    port = Number(match[2]);
    if (port < 1 || port > 65535) return null;
  }
  return parseAddress(address) === null ? null : { address, port };
}

/** The formats as ajv takes them (`addFormat`) and as the generated validator calls them. */
export const AJV_FORMATS: Record<string, { type: 'string'; validate: (text: string) => boolean }> = Object.fromEntries(
  Object.entries(FORMATS).map(([name, format]) => [name, { type: 'string', validate: format.test }]),
);
