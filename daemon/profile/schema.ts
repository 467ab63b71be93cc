/**
 * @module profile/schema
 * Runs config/profile.schema.json, the published schema editors use, so the schema and
 * the validator cannot drift apart. Ajv reports where and which keyword failed; this
 * module turns each report into a tunroute message ("what is wrong, what is expected")
 * at a key path. Checks the schema cannot express live in profile/validate.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAddress, parsePrefix } from './prefix.js';
import { parseDuration, parseSize } from './units.js';
import type { PathSegment } from './problems.js';
import { AUTO, parseEndpointHost } from './peers.js';

export const SCHEMA_URL = new URL('../../../config/profile.schema.json', import.meta.url);

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

let compiled: ValidateFunction | null = null;

function validator(): ValidateFunction {
  if (compiled) return compiled;
  const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as object;
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, verbose: true, allowUnionTypes: true });
  for (const [name, format] of Object.entries(FORMATS)) ajv.addFormat(name, { type: 'string', validate: format.test });
  compiled = ajv.compile(schema);
  return compiled;
}

export interface SchemaProblem {
  path: PathSegment[];
  /** Point at the key (unknown keys) rather than the value. */
  at: 'value' | 'key';
  message: string;
}

/** Validates a parsed profile against the schema; every failure as a tunroute message. */
export function checkSchema(value: unknown): SchemaProblem[] {
  const validate = validator();
  if (validate(value)) return [];
  const errors = validate.errors ?? [];
  // A value of the wrong type fails its other keywords vacuously or noisily: the type error says it all.
  const wrongType = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const problems: SchemaProblem[] = [];
  for (const error of errors) {
    if (error.keyword !== 'type' && wrongType.has(error.instancePath)) continue;
    // The branches of interface's oneOf report "missing name"/"missing nameFile"; the oneOf itself says it better.
    if (error.schemaPath.includes('/oneOf/')) continue;
    const problem = describeError(error);
    if (problem) problems.push(problem);
  }
  return problems;
}

function pathOf(instancePath: string): PathSegment[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  null: 'nothing',
};

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}

function describeError(error: ErrorObject): SchemaProblem | null {
  const path = pathOf(error.instancePath);
  const value: unknown = error.data;
  const parent = (error.parentSchema ?? {}) as { format?: string; properties?: Record<string, unknown>; minimum?: number; maximum?: number; enum?: unknown[] };
  switch (error.keyword) {
    case 'type': {
      const types = ([] as string[]).concat(error.params.type as string | string[]);
      const format = parent.format === undefined ? undefined : FORMATS[parent.format];
      // A formatted string is better described by what it holds: "a duration such as 30s", not "a string".
      const expected = format ? types.map((t) => (t === 'string' ? format.noun : TYPE_NAMES[t] ?? t)).join(' or ') : types.map((t) => TYPE_NAMES[t] ?? t).join(' or ');
      return { path, at: 'value', message: `expected ${expected}, got ${describeValue(value)}` };
    }
    case 'additionalProperties': {
      const key = String(error.params.additionalProperty);
      const allowed = Object.keys(parent.properties ?? {});
      const guess = closest(key, allowed);
      const hint = guess ? ` (did you mean "${guess}"?)` : '';
      return { path: [...path, key], at: 'key', message: `unknown key "${key}"${hint}, expected one of: ${allowed.join(', ')}` };
    }
    case 'required': {
      const key = String(error.params.missingProperty);
      const what = key === 'interface' ? 'interface: {name: utunN} or interface: {nameFile: PATH}' : `${key}`;
      return { path: [...path, key], at: 'value', message: `missing, expected ${what}` };
    }
    case 'oneOf': {
      const both = Array.isArray(error.params.passingSchemas);
      return { path, at: 'value', message: `${both ? 'has both name and nameFile' : 'has neither name nor nameFile'}, expected exactly one of them` };
    }
    case 'enum': {
      const options = (parent.enum ?? (error.params.allowedValues as unknown[])).map(String);
      const guess = typeof value === 'string' ? closest(value, options) : null;
      const hint = guess ? ` (did you mean "${guess}"?)` : '';
      return { path, at: 'value', message: `${typeof value === 'string' ? JSON.stringify(value) : describeValue(value)} is not allowed${hint}, expected one of: ${options.join(', ')}` };
    }
    case 'format': {
      const format = FORMATS[String(error.params.format)];
      return { path, at: 'value', message: format ? format.describe(String(value)) : `${JSON.stringify(value)} is not a valid ${String(error.params.format)}` };
    }
    case 'minimum':
    case 'maximum':
      return { path, at: 'value', message: `${String(value)} is out of range, expected ${parent.minimum ?? '…'} to ${parent.maximum ?? '…'}` };
    default:
      return { path, at: 'value', message: error.message ?? `fails ${error.keyword}` };
  }
}

/** The allowed word within edit distance 2 of a typo, if exactly one is that close. */
export function closest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost));
    }
    prev = row;
  }
  return prev[b.length] as number;
}
