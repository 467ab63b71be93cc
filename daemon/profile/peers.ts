/**
 * @module profile/peers
 * The profile keys that let the tunnel speak for itself: `endpoints: auto` (each peer's
 * current endpoint, read from wireguard-go), `routes: auto` (the peers' allowed IPs, in
 * split mode), endpoints written as host names, and `wireguard.pollInterval` /
 * `wireguard.resolveInterval`. The schema accepts the shapes; this module checks the
 * meaning and builds the normalised PeerOptions. The literal addresses in `endpoints` and
 * prefixes in `routes` stay with profile/validate, which skips the entries handled here.
 */
import type { EndpointHost, Mode, PeerOptions } from './profile.js';
import type { PathSegment } from './problems.js';
import { formatDuration, parseDuration } from './units.js';

/** The word that stands for "what the tunnel says". It can never be a host name in a profile. */
export const AUTO = 'auto';

export const PEER_DEFAULTS = { pollInterval: '5s', resolveInterval: '1m' } as const;
const POLL_RANGE = [1000, 300_000] as const;
const RESOLVE_RANGE = [10_000, 3_600_000] as const;

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST = new RegExp(`^(${LABEL}(?:\\.${LABEL})*)\\.?(?::([0-9]{1,5}))?$`);

/**
 * HOST or HOST:PORT, HOST a DNS name (RFC 1123 labels, at most 253 characters). A name
 * whose last label is all digits is refused: it is a mistyped IPv4 address (RFC 3696 §2),
 * and so is the word `auto`.
 */
export function parseEndpointHost(text: string): EndpointHost | null {
  const m = HOST.exec(text);
  if (!m) return null;
  const name = (m[1] as string).toLowerCase();
  const labels = name.split('.');
  if (name.length > 253 || /^[0-9]+$/.test(labels[labels.length - 1] as string) || name === AUTO) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { name, port };
}

/** Two letters swapped, one changed, added or dropped. */
function closeToAuto(word: string): boolean {
  if (word.length === 4 && [...word].sort().join('') === 'aotu') return true;
  let prev = Array.from({ length: AUTO.length + 1 }, (_, j) => j);
  for (let i = 1; i <= word.length; i++) {
    const row = [i];
    for (let j = 1; j <= AUTO.length; j++) row.push(Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (word[i - 1] === AUTO[j - 1] ? 0 : 1)));
    prev = row;
  }
  return (prev[AUTO.length] as number) <= 1;
}

interface Report {
  problem: (path: PathSegment[], message: string) => void;
  /** True when nothing at or above `path` was already rejected by the schema. */
  ok: (path: PathSegment[]) => boolean;
}

type Raw = Record<string, unknown>;

/** `endpoints`/`routes`: the scalar `auto`, or `auto` once inside the list. */
function autoIn(raw: Raw, key: 'endpoints' | 'routes', report: Report): boolean {
  const value = raw[key];
  if (value === AUTO) return true;
  if (!Array.isArray(value) || !report.ok([key])) return false;
  const at = value.flatMap((v, i) => (v === AUTO ? [i] : []));
  for (const i of at.slice(1)) report.problem([key, i], `"auto" is listed twice, expected it once (also at ${key}[${at[0]}])`);
  return at.length > 0;
}

export function checkPeerOptions(raw: Raw, report: Report): PeerOptions {
  const autoEndpoints = autoIn(raw, 'endpoints', report);
  const autoRoutes = autoIn(raw, 'routes', report);

  const hosts: EndpointHost[] = [];
  if (Array.isArray(raw.endpoints) && report.ok(['endpoints'])) {
    const seen = new Map<string, number>();
    raw.endpoints.forEach((text: unknown, i) => {
      if (typeof text !== 'string' || text === AUTO || !report.ok(['endpoints', i])) return;
      const host = parseEndpointHost(text);
      if (host === null) return;
      // A short dotless name next to "auto" is far likelier a typo than a host in /etc/hosts.
      if (!host.name.includes('.') && host.port === null && host.name.length <= 5 && closeToAuto(host.name)) {
        report.problem(['endpoints', i], `${JSON.stringify(text)} looks like a misspelt auto, expected auto (a host name this short needs a dot, or a port: ${text}:51820)`);
        return;
      }
      if (seen.has(host.name)) {
        report.problem(['endpoints', i], `${JSON.stringify(text)} is listed twice, expected each host name once (also at endpoints[${seen.get(host.name)}])`);
        return;
      }
      seen.set(host.name, i);
      hosts.push(host);
    });
  }

  const section = (typeof raw.wireguard === 'object' && raw.wireguard !== null ? raw.wireguard : {}) as Raw;
  const duration = (key: 'pollInterval' | 'resolveInterval', [min, max]: readonly [number, number]): number => {
    const text = section[key];
    const fallback = parseDuration(PEER_DEFAULTS[key]) as number;
    if (typeof text !== 'string') return fallback;
    const ms = parseDuration(text);
    if (ms === null) return fallback;
    if ((ms < min || ms > max) && report.ok(['wireguard', key])) {
      report.problem(['wireguard', key], `${JSON.stringify(text)} is out of range, expected ${formatDuration(min)} to ${formatDuration(max)}`);
    }
    return ms;
  };
  return {
    autoEndpoints,
    autoRoutes,
    hosts,
    pollIntervalMs: duration('pollInterval', POLL_RANGE),
    resolveIntervalMs: duration('resolveInterval', RESOLVE_RANGE),
  };
}

/**
 * Warnings: a valid profile that may not do what its author wants. Full mode with no
 * endpoint at all (none listed, no host name, no auto): the tunnel's own UDP packets may
 * follow the new default into the tunnel.
 */
export function peerWarnings(raw: Raw, mode: Mode, options: PeerOptions, literalEndpoints: number): Array<{ path: PathSegment[]; message: string }> {
  const out: Array<{ path: PathSegment[]; message: string }> = [];
  if (mode === 'full' && !options.autoEndpoints && options.hosts.length === 0 && literalEndpoints === 0) {
    out.push({
      path: raw.mode === undefined ? [] : ['mode'],
      message: `full mode${raw.mode === undefined ? ' (the default)' : ''} with no endpoints: the tunnel may carry its own packets (wireguard-go's UDP socket follows the default route into the tunnel), expected endpoints: auto or the peers' addresses`,
    });
  }
  return out;
}
