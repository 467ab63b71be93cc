/**
 * @module profile/validate
 * Profile text → a normalised Profile, or every problem in it. Three passes, each only
 * over what the previous one accepted: YAML syntax, the JSON Schema (types, unknown
 * keys, formats), then the checks a schema cannot express: prefixes with host bits,
 * IPv6 while it is not routed (ipv6 not true), duplicates, entries that contradict each other (an exclude
 * covering a route, an endpoint or the tunnel itself), the platform's interface names,
 * and ranges of durations and sizes. Nothing here throws on bad input.
 */
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { Family } from '../model/route.js';
import { formatAddress, formatPrefix, hostPrefix, isDefault, parseAddress, parsePrefix, type Prefix } from './prefix.js';
import { PrefixIndex, prefixKey } from './prefix-index.js';
import { checkSchema, parseEndpoint, parseInterfaceAddress } from './schema.js';
import { checkPeerOptions, peerWarnings } from './peers.js';
import { formatDuration, parseDuration, parseSize } from './units.js';
import { checkStrategy, checkSystemKeys, fwmarkKeys, ipv6ModeOf, ipv6Warnings } from './strategy.js';
import { formatPath, locate, sortProblems, type PathSegment, type Problem } from './problems.js';
import { defaultJournalPath, DEFAULTS, PROFILE_NAME_PATTERN, profileNameFromFile, RESERVED_LINUX_TABLES, type Endpoint, type InterfaceSource, type LogLevel, type Platform, type Profile, type TunnelAddress } from './profile.js';

export interface ValidateOptions {
  platform: Platform;
}

/** `warnings`: a valid profile that may still not do what its author meant (printed by check, logged by run). */
export type ValidationResult = { profile: Profile; problems?: undefined; warnings?: Problem[] } | { problems: Problem[]; profile?: undefined };

interface Found {
  path: PathSegment[];
  at: 'value' | 'key';
  message: string;
}

type Raw = Record<string, unknown>;

export function validateProfileText(text: string, file: string, options: ValidateOptions): ValidationResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      problems: sortProblems(
        doc.errors.map((e) => {
          const { line, col } = lines.linePos(e.pos[0]);
          return { file, line, col, path: '(yaml)', message: yamlMessage(e.code, e.message) };
        }),
      ),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    return { problems: [{ file, line: 1, col: 1, path: '(yaml)', message: `${e instanceof Error ? e.message : String(e)}, expected a plain YAML mapping` }] };
  }
  if (value === null || value === undefined) {
    return { problems: [{ file, line: 1, col: 1, path: '(profile)', message: 'the profile is empty, expected a mapping with at least interface' }] };
  }

  const found: Found[] = checkSchema(value);
  // Semantic checks skip anything at or under a path the schema already rejected: one problem per mistake.
  const rejected = new Set(found.map((f) => formatPath(f.path)));
  const ok = (path: PathSegment[]): boolean => {
    if (rejected.has('(profile)')) return false;
    for (let depth = 1; depth <= path.length; depth++) if (rejected.has(formatPath(path.slice(0, depth)))) return false;
    return true;
  };
  let profile: Profile | null = null;
  const warnings: Found[] = [];
  if (typeof value === 'object' && !Array.isArray(value)) {
    profile = checkMeaning(value as Raw, file, options.platform, found, ok, warnings);
  }
  if (found.length > 0 || profile === null) {
    return { problems: sortProblems(found.map((f) => toProblem(doc, lines, file, f))) };
  }
  return { profile, warnings: sortProblems(warnings.map((f) => toProblem(doc, lines, file, f))) };
}

function toProblem(doc: Document, lines: LineCounter, file: string, f: Found): Problem {
  const { line, col } = locate(doc, lines, f.path, f.at);
  return { file, line, col, path: formatPath(f.path), message: f.message };
}

function yamlMessage(code: string, message: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'duplicate key, expected each key once per mapping';
    case 'TAB_AS_INDENT':
      return 'tab used for indentation, expected spaces';
    case 'MULTIPLE_DOCS':
      return 'more than one YAML document, expected a single profile';
    default:
      return `${message.replace(/\s+at line \d+, column \d+.*$/s, '').replace(/\.$/, '')}, expected valid YAML`;
  }
}

/** What every concern's check needs: where problems go, and which paths the schema already rejected. */
interface Checks {
  file: string;
  platform: Platform;
  raw: Raw;
  /** IPv6 is routed into the tunnel (ipv6: true): only then are IPv6 routes and addresses allowed. */
  ipv6: boolean;
  mode: Profile['mode'];
  problem(path: PathSegment[], message: string): void;
  ok(path: PathSegment[]): boolean;
}

/** The checks after the schema; returns the normalised profile when its inputs were sound. */
function checkMeaning(raw: Raw, file: string, platform: Platform, found: Found[], ok: (path: PathSegment[]) => boolean, warnings: Found[]): Profile | null {
  const checks: Checks = {
    file,
    platform,
    raw,
    ipv6: ipv6ModeOf(raw.ipv6) === 'tunnel',
    mode: raw.mode === 'split' || raw.mode === 'full' ? raw.mode : DEFAULTS.mode,
    problem: (path, message) => found.push({ path, at: 'value', message }),
    ok,
  };
  const name = checkName(checks, found);
  const iface = checkInterface(checks);
  const addresses = checkAddresses(checks);
  const routes = checkPrefixes(checks, 'routes');
  const exclude = checkPrefixes(checks, 'exclude');
  const endpoints = checkEndpoints(checks, addresses);
  // auto, host names, wireguard.*: profile/peers
  const wireguard = checkPeerOptions(raw, checks);
  const linux = checkLinux(checks);
  const strategy = checkStrategy(checks, linux);
  // With the policy strategy's fwmark form, marked packets skip the tunnel: no endpoint needed.
  const marked = checks.mode === 'full' && strategy === 'policy' && linux.fwmark !== null;
  if (!marked) for (const w of peerWarnings(raw, checks.mode, wireguard, endpoints.list.length)) warnings.push({ ...w, at: 'value' });
  for (const w of ipv6Warnings(raw, checks.mode)) warnings.push({ ...w, at: 'value' });
  checkContradictions(checks, routes, exclude, endpoints, addresses);
  const mtu = checkMtu(checks);
  const daemon = checkDaemon(checks, name);
  const dns = checkSystemKeys(checks, strategy);

  if (iface === null) return null;
  return {
    file,
    name,
    interface: iface,
    addresses,
    mode: checks.mode,
    strategy,
    dns,
    routes: routes.prefixes,
    exclude: exclude.prefixes,
    endpoints: endpoints.list,
    wireguard,
    multicast: typeof raw.multicast === 'boolean' ? raw.multicast : DEFAULTS.multicast,
    broadcast: typeof raw.broadcast === 'boolean' ? raw.broadcast : DEFAULTS.broadcast,
    ipv6: ipv6ModeOf(raw.ipv6),
    mtu,
    linux,
    daemon,
  };
}

/** The schema checks a written name; a name derived from the file must pass the same pattern. */
function checkName({ raw, file }: Checks, found: Found[]): string {
  const name = typeof raw.name === 'string' ? raw.name : profileNameFromFile(file);
  if (typeof raw.name !== 'string' && !PROFILE_NAME_PATTERN.test(name)) {
    found.push({ path: [], at: 'value', message: `the file name gives the profile name ${JSON.stringify(name)}, expected letters, digits, ".", "_" or "-" (rename the file or set name)` });
  }
  return name;
}

function checkInterface({ raw, platform, problem, ok }: Checks): InterfaceSource | null {
  const rawIface = raw.interface as Raw | undefined;
  if (!rawIface || typeof rawIface !== 'object' || !ok(['interface'])) return null;
  if (typeof rawIface.name === 'string') {
    if (platform === 'darwin' && !/^utun[0-9]+$/.test(rawIface.name)) {
      problem(['interface', 'name'], `${JSON.stringify(rawIface.name)} is not a utun interface, expected utunN on macOS (such as utun7)`);
    }
    return { kind: 'name', name: rawIface.name };
  }
  if (typeof rawIface.nameFile === 'string') {
    if (platform === 'linux') {
      problem(['interface', 'nameFile'], 'name files are how wireguard-go names a macOS utun, expected interface.name on Linux');
    }
    return { kind: 'name-file', path: rawIface.nameFile };
  }
  return null;
}

function checkAddresses({ raw, ipv6, problem, ok }: Checks): TunnelAddress[] | null {
  if (raw.address === undefined || !ok(['address'])) return null;
  const list = Array.isArray(raw.address) ? (raw.address as string[]) : [raw.address as string];
  const at = (i: number): PathSegment[] => (Array.isArray(raw.address) ? ['address', i] : ['address']);
  const addresses: TunnelAddress[] = [];
  if (list.length === 0) problem(['address'], 'is empty, expected at least one address (or no address key, to read it from the interface)');
  const seen = new Map<string, number>();
  list.forEach((text, i) => {
    const parsed = parseInterfaceAddress(text);
    if (parsed === null) return;
    const address = parseAddress(parsed.address);
    if (address === null) return;
    const canonical = formatAddress(address.family, address.value);
    if (!isUnicast(address)) {
      problem(at(i), `${JSON.stringify(text)} is not a unicast address, expected the tunnel's own address`);
    } else if (address.family === 'inet6' && !ipv6) {
      problem(at(i), `${JSON.stringify(text)} is an IPv6 address but IPv6 is not routed into the tunnel, expected ipv6: true or only IPv4 addresses`);
    } else if (seen.has(canonical)) {
      problem(at(i), `${JSON.stringify(text)} is listed twice, expected each address once (also at address[${seen.get(canonical)}])`);
    }
    seen.set(canonical, seen.get(canonical) ?? i);
    const length = parsed.length ?? (address.family === 'inet' ? 32 : 128);
    addresses.push({ family: address.family, address: canonical, length });
  });
  if (ipv6 && list.length > 0 && !addresses.some((a) => a.family === 'inet6')) {
    problem(['address'], 'has no IPv6 address but ipv6 is on, expected an IPv6 address too (or no address key, to read them from the interface)');
  }
  return addresses;
}

/** The clean prefixes of `routes` or `exclude`, each with its index in the list. */
interface PrefixList {
  prefixes: Prefix[];
  index: PrefixIndex;
}

function checkPrefixes({ raw, ipv6, mode, problem, ok }: Checks, key: 'routes' | 'exclude'): PrefixList {
  const prefixes: Prefix[] = [];
  const clean: { prefix: Prefix; position: number }[] = [];
  const list = raw[key];
  if (Array.isArray(list) && ok([key])) {
    // The first index each prefix was listed at, whether or not that entry was clean.
    const first = new Map<string, number>();
    list.forEach((text: unknown, i) => {
      if (typeof text !== 'string' || !ok([key, i])) return;
      const parsed = parsePrefix(text, true);
      if (!parsed.ok) {
        if (parsed.reason === 'host-bits') problem([key, i], `${JSON.stringify(text)} has host bits set, expected ${formatPrefix(parsed.network)}`);
        return;
      }
      const prefix = parsed.prefix;
      const id = prefixKey(prefix);
      const twin = first.get(id);
      if (twin === undefined) first.set(id, i);
      if (prefix.family === 'inet6' && !ipv6) {
        problem([key, i], `${JSON.stringify(text)} is an IPv6 prefix but IPv6 is not routed into the tunnel, expected ipv6: true or an IPv4 prefix`);
      } else if (twin !== undefined) {
        problem([key, i], `${JSON.stringify(text)} is listed twice, expected each prefix once (also at ${key}[${twin}])`);
      } else if (isDefault(prefix)) {
        if (key === 'exclude') problem([key, i], `${JSON.stringify(text)} covers the whole tunnel, expected a narrower prefix`);
        else if (mode === 'full') problem([key, i], `${JSON.stringify(text)} is already what mode: full routes, expected a narrower prefix`);
        else problem([key, i], `${JSON.stringify(text)} would take the default route, expected mode: full for a full tunnel`);
      } else {
        prefixes.push(prefix);
        clean.push({ prefix, position: i });
      }
    });
  }
  return { prefixes, index: new PrefixIndex(clean) };
}

interface EndpointList {
  list: Endpoint[];
  /** Each endpoint's host prefix, at its index in `endpoints`. */
  index: PrefixIndex;
}

function checkEndpoints({ raw, problem, ok }: Checks, addresses: TunnelAddress[] | null): EndpointList {
  const list: Endpoint[] = [];
  const hosts: { prefix: Prefix; position: number }[] = [];
  if (Array.isArray(raw.endpoints) && ok(['endpoints'])) {
    const seen = new Map<string, number>();
    const own = new Map<string, number>();
    (addresses ?? []).forEach((a, i) => {
      if (!own.has(a.address)) own.set(a.address, i);
    });
    (raw.endpoints as unknown[]).forEach((text, i) => {
      if (typeof text !== 'string' || !ok(['endpoints', i])) return;
      const parsed = parseEndpoint(text);
      const address = parsed && parseAddress(parsed.address);
      if (!parsed || !address) return;
      const canonical = formatAddress(address.family, address.value);
      const ownIndex = own.get(canonical);
      if (!isUnicast(address)) problem(['endpoints', i], `${JSON.stringify(text)} is not a unicast address, expected the peer's public address`);
      else if (ownIndex !== undefined) problem(['endpoints', i], `${JSON.stringify(text)} is the tunnel's own address (address${Array.isArray(raw.address) ? `[${ownIndex}]` : ''}), expected the peer's public address`);
      else if (seen.has(canonical)) problem(['endpoints', i], `${JSON.stringify(text)} is listed twice, expected each endpoint once (also at endpoints[${seen.get(canonical)}])`);
      seen.set(canonical, seen.get(canonical) ?? i);
      hosts.push({ prefix: hostPrefix(address), position: i });
      list.push({ family: address.family, address: canonical, port: parsed.port });
    });
  }
  return { list, index: new PrefixIndex(hosts) };
}

/** Entries that contradict each other: an exclude that swallows a route, an endpoint or the tunnel; a route that is an endpoint. */
function checkContradictions({ raw, problem }: Checks, routes: PrefixList, exclude: PrefixList, endpoints: EndpointList, addresses: TunnelAddress[] | null): void {
  const own = new PrefixIndex((addresses ?? []).map((a, i) => ({ prefix: hostPrefix(parseAddress(a.address) as { family: Family; value: bigint }), position: i })));
  for (const ex of exclude.prefixes) {
    const i = exclude.index.positionOf(ex);
    const text = JSON.stringify(formatPrefix(ex));
    const sameRoute = routes.index.positionOf(ex);
    const coveredRoute = routes.index.firstInside(ex);
    const endpoint = endpoints.index.firstInside(ex);
    const ownAddress = own.firstInside(ex);
    if (sameRoute >= 0) {
      problem(['exclude', i], `${text} is also in routes[${sameRoute}], expected a prefix either in routes or in exclude, not both`);
    } else if (coveredRoute >= 0) {
      const route = raw.routes as string[];
      problem(['exclude', i], `${text} covers routes[${coveredRoute}] ${JSON.stringify(formatPrefix(parsePrefixOrThrow(route[coveredRoute] as string)))}, which would never reach the tunnel, expected a narrower exclude or no such route`);
    } else if (endpoint >= 0) {
      problem(['exclude', i], `${text} covers endpoints[${endpoint}] ${endpointAddress(raw, endpoint)}, whose host route already bypasses the tunnel, expected the endpoint outside exclude`);
    } else if (ownAddress >= 0 && addresses) {
      problem(['exclude', i], `${text} covers the tunnel address ${(addresses[ownAddress] as TunnelAddress).address}, expected a prefix outside the tunnel`);
    }
  }
  for (const route of routes.prefixes) {
    const host = endpoints.index.positionOf(route);
    if (host >= 0) {
      problem(['routes', routes.index.positionOf(route)], `${JSON.stringify(formatPrefix(route))} is endpoints[${host}], which must bypass the tunnel, expected the endpoint out of routes`);
    }
  }
}

function parsePrefixOrThrow(text: string): Prefix {
  const parsed = parsePrefix(text, true);
  if (!parsed.ok) throw new Error(`internal: ${text} was accepted as a route`);
  return parsed.prefix;
}

/** The canonical address of endpoints[i], which checkEndpoints accepted. */
function endpointAddress(raw: Raw, i: number): string {
  const parsed = parseEndpoint((raw.endpoints as string[])[i] as string);
  const address = parsed && parseAddress(parsed.address);
  if (!address) throw new Error(`internal: endpoints[${i}] was accepted`);
  return formatAddress(address.family, address.value);
}

function checkMtu({ raw, ipv6, problem, ok }: Checks): number | null {
  if (raw.mtu === undefined || !ok(['mtu'])) return null;
  const bytes = parseSize(raw.mtu as number | string);
  const min = ipv6 ? 1280 : 576;
  if (bytes === null) {
    problem(['mtu'], `${String(raw.mtu)} is not a whole number of bytes, expected a size such as 1420 or 1.5KiB`);
  } else if (bytes < min || bytes > 65535) {
    problem(['mtu'], `${bytes} bytes is out of range, expected ${min} to 65535${ipv6 ? ' (IPv6 needs at least 1280)' : ''}`);
  }
  return bytes;
}

function checkLinux({ raw, problem, ok }: Checks): Profile['linux'] {
  const linuxRaw = (raw.linux ?? {}) as Raw;
  const linux = {
    table: typeof linuxRaw.table === 'number' ? linuxRaw.table : DEFAULTS.linux.table,
    rulePriority: typeof linuxRaw.rulePriority === 'number' ? linuxRaw.rulePriority : DEFAULTS.linux.rulePriority,
    metric: typeof linuxRaw.metric === 'number' ? linuxRaw.metric : DEFAULTS.linux.metric,
    ...fwmarkKeys(raw),
  };
  const reserved = RESERVED_LINUX_TABLES.get(linux.table);
  if (reserved && ok(['linux', 'table'])) problem(['linux', 'table'], `${linux.table} is the kernel's ${reserved} table, expected a table of tunroute's own such as 51820`);
  return linux;
}

function checkDaemon({ raw, platform, problem, ok }: Checks, name: string): Profile['daemon'] {
  const daemonRaw = (raw.daemon ?? {}) as Raw;
  const flapRaw = (daemonRaw.flap ?? {}) as Raw;
  const duration = (path: PathSegment[], text: unknown, fallback: string, min: number, max: number): number => {
    const ms = parseDuration(typeof text === 'string' ? text : fallback) ?? (parseDuration(fallback) as number);
    if (typeof text === 'string' && ok(path) && (ms < min || ms > max)) {
      problem(path, `${JSON.stringify(text)} is out of range, expected ${formatDuration(min)} to ${formatDuration(max)}`);
    }
    return ms;
  };
  const flap = {
    maxRepairs: typeof flapRaw.maxRepairs === 'number' ? flapRaw.maxRepairs : DEFAULTS.daemon.flap.maxRepairs,
    windowMs: duration(['daemon', 'flap', 'window'], flapRaw.window, DEFAULTS.daemon.flap.window, 1000, 3_600_000),
    initialDelayMs: duration(['daemon', 'flap', 'initialDelay'], flapRaw.initialDelay, DEFAULTS.daemon.flap.initialDelay, 10, 600_000),
    maxDelayMs: duration(['daemon', 'flap', 'maxDelay'], flapRaw.maxDelay, DEFAULTS.daemon.flap.maxDelay, 10, 3_600_000),
  };
  if (flap.maxDelayMs < flap.initialDelayMs && ok(['daemon', 'flap', 'maxDelay'])) {
    problem(['daemon', 'flap', 'maxDelay'], `${formatDuration(flap.maxDelayMs)} is shorter than initialDelay ${formatDuration(flap.initialDelayMs)}, expected at least ${formatDuration(flap.initialDelayMs)}`);
  }
  return {
    logLevel: (typeof daemonRaw.logLevel === 'string' ? daemonRaw.logLevel : DEFAULTS.daemon.logLevel) as LogLevel,
    journal: typeof daemonRaw.journal === 'string' ? daemonRaw.journal : defaultJournalPath(platform, name),
    reconcileIntervalMs: duration(['daemon', 'reconcileInterval'], daemonRaw.reconcileInterval, DEFAULTS.daemon.reconcileInterval, 1000, 3_600_000),
    onTunnelDown: daemonRaw.onTunnelDown === 'block' ? 'block' : 'restore',
    shutdownTimeoutMs: duration(['daemon', 'shutdownTimeout'], daemonRaw.shutdownTimeout, DEFAULTS.daemon.shutdownTimeout, 100, 600_000),
    flap,
  };
}

/** Not unspecified, multicast or limited broadcast: something a host can be. */
function isUnicast(address: { family: Family; value: bigint }): boolean {
  if (address.value === 0n) return false;
  if (address.family === 'inet') return address.value >> 28n !== 0xen && address.value !== 0xffffffffn;
  return address.value >> 120n !== 0xffn;
}
