/**
 * @module engine/journal-schema
 * Checks a parsed journal entry by entry before anything acts on it: families, canonical
 * prefixes of that family, gateways, tables, metrics and indexes in range, bounded counts
 * and lengths, kernel records of the right shape. Errors name the JSON path and what was
 * expected, never the value found (the file may hold anything).
 *
 * Version 1 (releases before the ownership ledger: moved routes only) is read and
 * upgraded; its owned keys are unknown, so tagged routes are left for `restore --all-tagged`.
 */
import type { RouteRecord } from '../backends/backend.js';
import type { Route } from '../model/route.js';
import { formatPrefix, parsePrefix, parseAddress, formatAddress } from '../profile/prefix.js';
import type { JournalState, MovedRoute } from './journal.js';

/** The format this release writes; readers refuse newer ones and upgrade older ones. */
export const JOURNAL_VERSION = 2;

const MAX_MOVED = 4096;
const MAX_KEYS = 1_000_000;
const U32 = 0xffffffff;
const KEY_PATTERN = /^[0-9A-Za-z.:/|_=,-]{1,200}$/;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._()-]{0,63}$/;
const FLAG_PATTERN = /^[A-Z0-9]{1,16}$/;
const HEX = /^(?:[0-9a-f]{2})*$/;
const ORIGINS = new Set(['tunnel', 'endpoint', 'demoted', 'host', 'exclude']);
/** Linux's RTAX_* metrics are u32; macOS rmx values fit in i32/u32. */
const DARWIN_METRICS = ['mtu', 'hopcount', 'expire', 'recvpipe', 'sendpipe', 'ssthresh', 'rtt', 'rttvar'] as const;

export type JournalCheck = { ok: true; state: JournalState } | { ok: false; error: string };

class Invalid extends Error {}

function fail(path: string, expected: string): never {
  throw new Invalid(`${path}: expected ${expected}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const int = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

function object(v: unknown, path: string): Record<string, unknown> {
  if (!isObject(v)) fail(path, 'an object');
  return v;
}

function array(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v)) fail(path, 'a list');
  if (v.length > max) fail(path, `at most ${max} entries`);
  return v;
}

function string(v: unknown, path: string, pattern: RegExp, what: string): string {
  if (typeof v !== 'string' || !pattern.test(v)) fail(path, what);
  return v;
}

function nullableInt(v: unknown, path: string, min: number, max: number): number | null {
  if (v === null || v === undefined) return null;
  if (!int(v, min, max)) fail(path, `null or an integer from ${min} to ${max}`);
  return v;
}

function checkRoute(v: unknown, path: string, os: 'darwin' | 'linux'): Route {
  const r = object(v, path);
  const family = r.family;
  if (family !== 'inet' && family !== 'inet6') fail(`${path}.family`, '"inet" or "inet6"');
  const parsed = typeof r.destination === 'string' && r.destination.length <= 64 ? parsePrefix(r.destination) : null;
  if (!parsed || !parsed.ok || parsed.prefix.family !== family || formatPrefix(parsed.prefix) !== r.destination) fail(`${path}.destination`, `a canonical ${family} prefix`);
  const g = object(r.gateway, `${path}.gateway`);
  let gateway: Route['gateway'];
  if ('link' in g) {
    if (!int(g.link, 1, U32)) fail(`${path}.gateway.link`, 'an interface index');
    gateway = { link: g.link };
  } else {
    const address = typeof g.address === 'string' && g.address.length <= 64 ? parseAddress(g.address) : null;
    if (!address || formatAddress(address.family, address.value) !== g.address) fail(`${path}.gateway.address`, 'a canonical IP address');
    // An IPv6 link-local next hop's zone (the interface index), as in fe80::1%en0.
    const scope = nullableInt(g.scope, `${path}.gateway.scope`, 1, U32);
    gateway = scope === null ? { address: g.address as string } : { address: g.address as string, scope };
  }
  const flags = array(r.flags, `${path}.flags`, 32).map((f, i) => string(f, `${path}.flags[${i}]`, FLAG_PATTERN, 'an RTF_ flag name'));
  if (os === 'linux' && (r.scope !== null || flags.length > 0)) fail(path, 'no scope and no flags on Linux');
  if (os === 'darwin' && (r.table !== null || r.metric !== null)) fail(path, 'no table and no metric on macOS');
  const origin = r.origin;
  if (typeof origin !== 'string' || !ORIGINS.has(origin)) fail(`${path}.origin`, 'a route origin');
  return {
    family,
    destination: r.destination as string,
    gateway,
    interface: string(r.interface, `${path}.interface`, /^[^\0/\s]{1,64}$/, 'an interface name'),
    index: int(r.index, 0, U32) ? r.index : fail(`${path}.index`, 'an interface index'),
    scope: nullableInt(r.scope, `${path}.scope`, 1, U32),
    // Linux: any table but unspec (0) and local (255); tunroute never moves routes out of local.
    table: os === 'linux' ? (int(r.table, 1, U32) && r.table !== 255 ? r.table : fail(`${path}.table`, 'a routing table other than 0 and local')) : null,
    metric: nullableInt(r.metric, `${path}.metric`, 0, U32),
    flags,
    mtu: nullableInt(r.mtu, `${path}.mtu`, 68, 65535),
    origin: origin as Route['origin'],
  };
}

function checkRecord(v: unknown, path: string, os: 'darwin' | 'linux'): RouteRecord | null {
  if (v === null || v === undefined) return null;
  const r = object(v, path);
  if (r.os !== os) fail(`${path}.os`, `"${os}"`);
  if (os === 'linux') {
    const rtmsg = string(r.rtmsg, `${path}.rtmsg`, /^[0-9a-f]{24}$/, 'the 12-byte rtmsg in hex');
    const attributes = array(r.attributes, `${path}.attributes`, 64).map((a, i) => {
      const pair = array(a, `${path}.attributes[${i}]`, 2);
      if (!int(pair[0], 1, 0x3fff)) fail(`${path}.attributes[${i}][0]`, 'an RTA_ type');
      const data = string(pair[1], `${path}.attributes[${i}][1]`, HEX, 'hex bytes');
      if (data.length > 8192) fail(`${path}.attributes[${i}][1]`, 'at most 4096 bytes');
      return [pair[0], data] as [number, string];
    });
    return { os: 'linux', rtmsg, attributes };
  }
  const metrics = object(r.metrics, `${path}.metrics`);
  const out: Record<string, number> = {};
  for (const name of DARWIN_METRICS) {
    const m = metrics[name];
    if (!int(m, name === 'expire' ? -0x80000000 : 0, U32)) fail(`${path}.metrics.${name}`, 'a 32-bit integer');
    out[name] = m;
  }
  return {
    os: 'darwin',
    flags: int(r.flags, 0, U32) ? r.flags : fail(`${path}.flags`, 'the route flags as a 32-bit integer'),
    locks: int(r.locks, 0, U32) ? r.locks : fail(`${path}.locks`, 'the metric locks as a 32-bit integer'),
    inits: int(r.inits, 0, U32) ? r.inits : fail(`${path}.inits`, 'the metric bits as a 32-bit integer'),
    metrics: out as Extract<RouteRecord, { os: 'darwin' }>['metrics'],
    gatewayScope: int(r.gatewayScope, 0, U32) ? r.gatewayScope : fail(`${path}.gatewayScope`, 'an interface index or 0'),
    ...(r.gatewayLinkType === undefined ? {} : { gatewayLinkType: int(r.gatewayLinkType, 0, 255) ? r.gatewayLinkType : fail(`${path}.gatewayLinkType`, 'an interface type from 0 to 255') }),
  };
}

/** A boot time: seconds since the epoch, or absent (journals of older releases). */
function optionalBootTime(v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  if (!int(v, 0, 2 ** 40)) fail(path, 'a boot time in seconds since the epoch');
  return v;
}

/** Validates a parsed journal for `os`; upgrades version 1. */
export function validateJournal(value: unknown, os: 'darwin' | 'linux'): JournalCheck {
  try {
    const j = object(value, '(journal)');
    if (j.version !== 1 && j.version !== JOURNAL_VERSION) {
      fail('version', int(j.version, JOURNAL_VERSION + 1, U32) ? `version ${JOURNAL_VERSION} or older (this journal was written by a newer tunroute)` : `1 or ${JOURNAL_VERSION}`);
    }
    if (j.os !== undefined && j.os !== os) fail('os', `"${os}" (this journal was written on another system)`);
    const profile = typeof j.profile === 'string' && j.profile.length <= 4096 && !j.profile.includes('\0') ? j.profile : fail('profile', 'the profile file name');
    const name = j.name === undefined ? '(unnamed)' : string(j.name, 'name', NAME_PATTERN, 'a profile name');
    const moved: MovedRoute[] = array(j.moved, 'moved', MAX_MOVED).map((m, i) => {
      // Version 1 kept the route itself in the list, with its boot time beside its fields.
      const entry = object(m, `moved[${i}]`);
      const route = j.version === 1 ? checkRoute(m, `moved[${i}]`, os) : checkRoute(entry.route, `moved[${i}].route`, os);
      const record = j.version === 1 ? null : checkRecord(entry.record, `moved[${i}].record`, os);
      const bootTime = optionalBootTime(entry.bootTime, `moved[${i}].bootTime`);
      const siblings = entry.siblings === undefined ? undefined : array(entry.siblings, `moved[${i}].siblings`, 16).map((x, k) => string(x, `moved[${i}].siblings[${k}]`, /^[0-9A-Za-z.:/|_#-]{1,200}$/, 'a moved route identity'));
      return { route, record, ...(bootTime === undefined ? {} : { bootTime }), ...(siblings === undefined ? {} : { siblings }) };
    });
    const bootTime = optionalBootTime(j.bootTime, 'bootTime');
    let owned = { routes: [] as string[], rules: [] as string[] };
    if (j.version === JOURNAL_VERSION) {
      const o = object(j.owned, 'owned');
      owned = {
        routes: array(o.routes, 'owned.routes', MAX_KEYS).map((k, i) => string(k, `owned.routes[${i}]`, KEY_PATTERN, 'a route key')),
        rules: array(o.rules, 'owned.rules', MAX_KEYS).map((k, i) => string(k, `owned.rules[${i}]`, KEY_PATTERN, 'a rule key')),
      };
    }
    // Unknown keys are carried over untouched (a newer minor writer's additions), never acted on.
    const { version: _v, os: _os, profile: _p, name: _n, moved: _m, owned: _o, pid: _pid, ...extensions } = j;
    delete extensions.bootTime;
    return { ok: true, state: { ...extensions, version: JOURNAL_VERSION, profile, name, os, pid: 0, owned, moved, ...(bootTime === undefined ? {} : { bootTime }) } };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, error: e.message };
    throw e;
  }
}
