/**
 * @module profile/schema
 * Runs config/profile.schema.json, the published schema editors use, so the schema and
 * the validator cannot drift apart. Ajv compiles it when tunroute is built
 * (scripts/gen-schema-validator.ts writes the compiled validator's code), so the daemon
 * loads that code and not ajv's compiler (2–3 MB of a running daemon's memory). Ajv reports
 * where and which keyword failed; this module turns each report into a tunroute message
 * ("what is wrong, what is expected") at a key path. Checks the schema cannot express live
 * in profile/validate.
 */
import type { ErrorObject } from 'ajv';
import type { PathSegment } from './problems.js';
import { FORMATS } from './schema-formats.js';
// Generated at build time (scripts/gen-schema-validator.ts): ajv's compile of the schema, as code.
import { validate } from './schema-validator.js';

export { FORMATS, isDomain, parseEndpoint, parseInterfaceAddress } from './schema-formats.js';

export interface SchemaProblem {
  path: PathSegment[];
  /** Point at the key (unknown keys) rather than the value. */
  at: 'value' | 'key';
  message: string;
}

/** Validates a parsed profile against the schema; every failure as a tunroute message. */
export function checkSchema(value: unknown): SchemaProblem[] {
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
