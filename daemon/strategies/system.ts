/**
 * @module strategies/system
 * The `system` strategy (macOS, the default there in both modes): tunroute writes no
 * route. It publishes the tunnel to configd's dynamic store as a network service, the
 * way Apple's PPP and IPSec controllers do, and configd's IPMonitor builds the table
 * from it: the very table NetworkExtension VPNs get (reference: configd-ipmonitor.md).
 *
 * What is published (service id `org.tunroute.<profile name>`, all keys at once with
 * SCDynamicStoreSetMultiple, on a session whose keys configd drops when tunroute dies):
 * - `State:/Network/Service/<id>/IPv4` = {InterfaceName, Addresses: [A], Router: A, …}.
 *   Router equal to the address and no SubnetMasks makes every route a link route
 *   ("all routes local", §2.1). Full mode adds OverridePrimary: 1 (the service wins the
 *   election, en0's routes become scoped). Endpoints and `exclude` go in ExcludedRoutes,
 *   which IPMonitor resolves through the best non-tunnel route at every election, so they
 *   follow network changes by themselves (§3.4). `routes` go in AdditionalRoutes.
 * - split mode: `State:/Network/Service/<id>` = {PrimaryRank: Never}, so the service
 *   never becomes primary, not even when it is the only one with a router (§3.4).
 * - `…/IPv6`: the tunnel's IPv6 service when IPv6 goes into the tunnel (its router is its
 *   own address when the prefix is shorter than /128, else its link-local address, §8.2);
 *   in full mode without IPv6 in the tunnel, Apple's null service (IsNULL), which wins the
 *   IPv6 election and leaves no IPv6 default at all, so IPv6 cannot leak (§8.2).
 * - `…/DNS` = {ServerAddresses, SearchDomains} (+ SupplementalMatchDomains in split mode,
 *   so only those names use the tunnel's servers, §2.3).
 *
 * Supervision (§4.2, §4.4): IPMonitor never watches the table, so the engine's routing
 * socket does. A route the service should have that is simply gone gets IPMonitor to
 * re-apply the service (SCDynamicStoreNotifyValue on its IPv4/IPv6 key), flap-damped by
 * the engine; a route held by another interface (another VPN asserting First) cannot be
 * fixed by asking again, and is reported in the log and as the `degraded` state. Content
 * is never rewritten unchanged: each write makes IPMonitor delete and re-add every route
 * of the service (§4.1). After a configd restart the store is empty (the session's
 * change callback gets an empty key list) and the next run publishes again (§5.4).
 */
import type { Logger } from 'pino';
import type { DynamicStoreSession, NativeBinding, PlistValue } from '../../native/index.js';
import type { KernelRoute, KernelSnapshot } from '../backends/backend.js';
import type { Publication, Publisher, PublishResult } from '../engine/publisher.js';
import type { Family, Route } from '../model/route.js';
import { connectedSubnets, type PlanFacts } from '../plan/facts.js';
import { allowedIpRoutes, endpointAddresses } from '../plan/peers.js';
import { covers, FAMILY_BITS, formatAddress, formatPrefix, maskOf, parseAddress, type Prefix } from '../profile/prefix.js';
import type { Ipv6Mode, Profile } from '../profile/profile.js';

export const SERVICE_ID_PREFIX = 'org.tunroute.';

/** The configd service id of a profile: stable per profile name, so two profiles are two services. */
export function serviceId(profileName: string): string {
  return `${SERVICE_ID_PREFIX}${profileName}`;
}

/** The dynamic-store keys of a service (State: only; Setup: belongs to configd's preferences, §1.2). */
export function serviceKeys(id: string): { service: string; ipv4: string; ipv6: string; dns: string } {
  const service = `State:/Network/Service/${id}`;
  return { service, ipv4: `${service}/IPv4`, ipv6: `${service}/IPv6`, dns: `${service}/DNS` };
}

/** The regular expression of every key of a service (the session's notification pattern, the leftover sweep). */
export function serviceKeyPattern(id: string): string {
  return `^State:/Network/Service/${id.replace(/[.[\]()*+?^$|\\{}]/g, '\\$&')}(/.*)?$`;
}

/**
 * What IPv6 does (the profile's `ipv6`): `tunnel` goes into the tunnel, `block` is blocked
 * in full mode (nothing is routed for it in split mode), `bypass` stays on the physical network.
 */
export function ipv6Mode(profile: Pick<Profile, 'ipv6'>): Ipv6Mode {
  return profile.ipv6;
}

// ---- the dictionaries (pure) --------------------------------------------------------

interface TunnelAddress {
  address: string;
  length: number;
}

/** The tunnel's first address of `family`: the profile's, else the interface's. IPMonitor uses element 0 only (§2.1). */
function tunnelAddress(profile: Profile, facts: PlanFacts, family: Family, linkLocal = false): TunnelAddress | null {
  const isLinkLocal = (a: string): boolean => /^fe[89ab]/i.test(a);
  const fromInterface = facts.tunnel.addresses.flatMap((text) => {
    const [address = '', length] = text.split('/');
    const parsed = parseAddress(address.split('%')[0] as string);
    if (parsed === null || parsed.family !== family) return [];
    return [{ address: formatAddress(family, parsed.value), length: length === undefined ? FAMILY_BITS[family] : Number(length) }];
  });
  if (linkLocal) return fromInterface.find((a) => isLinkLocal(a.address)) ?? null;
  const fromProfile = profile.addresses?.filter((a) => a.family === family).map((a) => ({ address: a.address, length: a.length }));
  return (fromProfile ?? fromInterface.filter((a) => !isLinkLocal(a.address)))[0] ?? null;
}

function maskText(prefix: Prefix): string {
  return formatAddress('inet', maskOf('inet', prefix.length));
}

/** An AdditionalRoutes/ExcludedRoutes element: IPv4 takes a SubnetMask, IPv6 a PrefixLength (§2.1, §2.2). */
function routeEntry(prefix: Prefix): Record<string, PlistValue> {
  const destination = formatAddress(prefix.family, prefix.value);
  return prefix.family === 'inet'
    ? { DestinationAddress: destination, SubnetMask: maskText(prefix) }
    : { DestinationAddress: destination, PrefixLength: prefix.length };
}

/**
 * What goes into the service's route lists, from the same functions the route planner
 * uses (plan/peers), so listed endpoints, `endpoints: auto`, host names and `routes: auto`
 * mean the same here: excluded = the endpoints first (the tunnel must never carry its own
 * packets), then `exclude`; additional = `routes` (and the peers' allowed IPs in split mode).
 */
interface RouteInputs {
  excluded: Prefix[];
  additional: Prefix[];
}

function routeInputs(profile: Profile, facts: PlanFacts, warnings: string[]): RouteInputs {
  const families: Family[] = ipv6Mode(profile) === 'tunnel' ? ['inet', 'inet6'] : ['inet'];
  const own = [tunnelAddress(profile, facts, 'inet'), tunnelAddress(profile, facts, 'inet6')].flatMap((a) => (a ? [a.address] : []));
  const endpoints = endpointAddresses(profile, facts, warnings, own).filter((e) => families.includes(e.family));
  const hosts = endpoints.flatMap((e) => {
    const parsed = parseAddress(e.address);
    return parsed ? [{ family: e.family, value: parsed.value, length: FAMILY_BITS[e.family] }] : [];
  });
  const listed = profile.routes.filter((p) => families.includes(p.family));
  const taken = new Set(listed.map(formatPrefix));
  const auto = allowedIpRoutes(profile, facts, families, endpoints, warnings).filter((p) => !taken.has(formatPrefix(p)));
  return { excluded: [...hosts, ...profile.exclude.filter((p) => families.includes(p.family))], additional: [...listed, ...auto] };
}

const ofFamily = (list: Prefix[], family: Family): Prefix[] => list.filter((p) => p.family === family);

function withRoutes(dict: Record<string, PlistValue>, additional: Prefix[], excluded: Prefix[]): Record<string, PlistValue> {
  if (additional.length > 0) dict.AdditionalRoutes = additional.map(routeEntry);
  if (excluded.length > 0) dict.ExcludedRoutes = excluded.map(routeEntry);
  return dict;
}

/** Apple's IPv6 "null" service (scnc_utils.c create_ipv6_dummy_primary, §8.2): wins the election, installs nothing. */
function nullIpv6Service(interfaceName: string): Record<string, PlistValue> {
  return { InterfaceName: interfaceName, Addresses: ['::1'], Router: '::1', OverridePrimary: 1, IsNULL: true };
}

export interface SystemDictionaries {
  id: string;
  /** What the route lists were built from. */
  inputs: RouteInputs;
  /** Every key and its dictionary, in publishing order. */
  values: Record<string, PlistValue>;
  warnings: string[];
}

/** What the `system` strategy publishes for `profile` on the machine `facts` describe. */
export function systemDictionaries(profile: Profile, facts: PlanFacts): SystemDictionaries {
  const id = serviceId(profile.name);
  const keys = serviceKeys(id);
  const full = profile.mode === 'full';
  const name = facts.tunnel.name;
  const values: Record<string, PlistValue> = {};
  const warnings: string[] = [];
  const v6 = ipv6Mode(profile);
  const inputs = routeInputs(profile, facts, warnings);

  if (!full) values[keys.service] = { PrimaryRank: 'Never' };

  const v4 = tunnelAddress(profile, facts, 'inet');
  if (v4 === null) {
    warnings.push('no IPv4 tunnel address known (profile address or interface facts): nothing can be published for IPv4 yet');
  } else {
    const ipv4: Record<string, PlistValue> = { InterfaceName: name, Addresses: [v4.address], Router: v4.address };
    if (full) ipv4.OverridePrimary = 1;
    values[keys.ipv4] = withRoutes(ipv4, ofFamily(inputs.additional, 'inet'), ofFamily(inputs.excluded, 'inet'));
  }

  if (v6 === 'tunnel') {
    const address = tunnelAddress(profile, facts, 'inet6');
    // A /128 with its own address as router is the "gateway" branch, which breaks ::/0
    // (§8.2, the NetworkExtension /128 reports); a link-local router keeps it a link route.
    const router = address === null ? null : address.length < 128 ? address.address : (tunnelAddress(profile, facts, 'inet6', true)?.address ?? null);
    if (address === null || router === null) {
      warnings.push(
        address === null
          ? 'no IPv6 tunnel address known: IPv6 is not published'
          : `the IPv6 tunnel address ${address.address} is a /128 and ${name} has no link-local address to use as its router: IPv6 is not published`,
      );
      if (full) values[keys.ipv6] = nullIpv6Service(name);
    } else {
      const ipv6: Record<string, PlistValue> = { InterfaceName: name, Addresses: [address.address], PrefixLength: [address.length], Router: router };
      if (full) ipv6.OverridePrimary = 1;
      values[keys.ipv6] = withRoutes(ipv6, ofFamily(inputs.additional, 'inet6'), ofFamily(inputs.excluded, 'inet6'));
    }
  } else if (v6 === 'block' && full) {
    values[keys.ipv6] = nullIpv6Service(name);
  }

  if (profile.dns !== null) {
    const dns: Record<string, PlistValue> = { ServerAddresses: [...profile.dns.servers] };
    if (profile.dns.searchDomains.length > 0) {
      dns.SearchDomains = [...profile.dns.searchDomains];
      // A split tunnel's resolver is asked only for these domains.
      if (!full) dns.SupplementalMatchDomains = [...profile.dns.searchDomains];
    }
    values[keys.dns] = dns;
  }
  return { id, inputs, values, warnings };
}

// ---- the table IPMonitor is expected to build (pure) --------------------------------

const flagsOf = (...names: string[]): string[] => names;

/**
 * The routes IPMonitor builds from the dictionaries (§3.1-3.4), as netstat shows them:
 * the tunnel's default, 224/4 and broadcast (unscoped in full mode, scoped in split mode),
 * AdditionalRoutes on the tunnel, ExcludedRoutes via the physical default, and in full
 * mode the physical default made scoped. The tunnel address's host route is the kernel's.
 * IPv6 defaults are installed through ND, not PF_ROUTE (§2.2), and are not listed.
 */
export function expectedTable(profile: Profile, facts: PlanFacts, dictionaries: SystemDictionaries): Route[] {
  const full = profile.mode === 'full';
  const { name, index } = facts.tunnel;
  const keys = serviceKeys(dictionaries.id);
  const routes: Route[] = [];
  const route = (family: Family, destination: string, gateway: Route['gateway'], on: { name: string; index: number }, scoped: boolean, flags: string[], origin: Route['origin']): Route => ({
    family, destination, gateway, interface: on.name, index: on.index, scope: scoped ? on.index : null, table: null, metric: null,
    flags: scoped ? [...flags, 'IFSCOPE'] : flags, mtu: null, origin,
  });
  const tunnel = { name, index };
  const ipv4 = dictionaries.values[keys.ipv4] as Record<string, PlistValue> | undefined;
  const physicalOf = (family: Family): { name: string; index: number; gateway: string; subnets: Prefix[] } | undefined => {
    const found = facts.physicalDefaults.find((d) => d.family === family);
    return found && { name: found.interface, index: found.index, gateway: found.gateway, subnets: connectedSubnets(found) };
  };
  const physical = physicalOf('inet');

  if (ipv4 !== undefined) {
    const address = (ipv4.Addresses as string[])[0] as string;
    // Excluded routes are resolved first in the table's order, so the tunnel never carries its own packets.
    if (physical) {
      for (const prefix of ofFamily(dictionaries.inputs.excluded, 'inet')) {
        const host = prefix.length === 32;
        // Resolved through the longest non-tunnel match for its destination (§3.4): the
        // physical network's own subnet route when the prefix lies inside it, else the default's gateway.
        const onLink = !host && physical.subnets.some((subnet) => covers(subnet, prefix));
        const flags = onLink ? flagsOf('UP', 'CLONING', 'STATIC') : host ? flagsOf('UP', 'GATEWAY', 'HOST', 'STATIC') : flagsOf('UP', 'GATEWAY', 'STATIC', 'PRCLONING');
        routes.push(route('inet', formatPrefix(prefix), onLink ? { link: physical.index } : { address: physical.gateway }, physical, false, flags, host ? 'endpoint' : 'exclude'));
      }
      if (full) routes.push(route('inet', '0.0.0.0/0', { address: physical.gateway }, physical, true, flagsOf('UP', 'GATEWAY', 'STATIC', 'PRCLONING', 'GLOBAL'), 'demoted'));
    }
    routes.push(route('inet', `${address}/32`, { address }, tunnel, false, flagsOf('UP', 'HOST'), 'host'));
    routes.push(route('inet', '0.0.0.0/0', { link: index }, tunnel, !full, flagsOf('UP', 'CLONING', 'STATIC', 'GLOBAL'), 'tunnel'));
    routes.push(route('inet', '224.0.0.0/4', { link: index }, tunnel, !full, flagsOf('UP', 'MULTICAST', 'CLONING', 'STATIC'), 'tunnel'));
    routes.push(route('inet', '255.255.255.255/32', { link: index }, tunnel, !full, flagsOf('UP', 'CLONING', 'STATIC'), 'tunnel'));
    for (const prefix of ofFamily(dictionaries.inputs.additional, 'inet')) {
      const host = prefix.length === 32;
      routes.push(route('inet', formatPrefix(prefix), { link: index }, tunnel, false, host ? flagsOf('UP', 'HOST', 'STATIC') : flagsOf('UP', 'CLONING', 'STATIC'), 'tunnel'));
    }
  }

  const ipv6 = dictionaries.values[keys.ipv6] as Record<string, PlistValue> | undefined;
  if (ipv6 !== undefined && ipv6.IsNULL !== true) {
    const physical6 = physicalOf('inet6');
    if (physical6) {
      for (const prefix of ofFamily(dictionaries.inputs.excluded, 'inet6')) {
        const host = prefix.length === 128;
        routes.push(route('inet6', formatPrefix(prefix), { address: physical6.gateway }, physical6, false, host ? flagsOf('UP', 'GATEWAY', 'HOST', 'STATIC') : flagsOf('UP', 'GATEWAY', 'STATIC'), host ? 'endpoint' : 'exclude'));
      }
    }
    for (const prefix of ofFamily(dictionaries.inputs.additional, 'inet6')) {
      const host = prefix.length === 128;
      routes.push(route('inet6', formatPrefix(prefix), { link: index }, tunnel, false, host ? flagsOf('UP', 'HOST', 'STATIC') : flagsOf('UP', 'CLONING', 'STATIC'), 'tunnel'));
    }
  }
  return routes;
}

/** The publication for one engine run, and what `tunroute plan` shows. */
export function planSystem(profile: Profile, facts: PlanFacts): { publication: Publication; warnings: string[] } {
  const dictionaries = systemDictionaries(profile, facts);
  const warnings = [...dictionaries.warnings];
  if (profile.mtu !== null) warnings.push(`mtu ${profile.mtu} is not applied: IPMonitor's routes carry no MTU, so the utun's own MTU applies (set it where the utun is made)`);
  if (!facts.physicalDefaults.some((d) => d.family === 'inet') && ofFamily(dictionaries.inputs.excluded, 'inet').length > 0) {
    warnings.push('no IPv4 physical default route: IPMonitor cannot resolve the excluded routes (endpoints, exclude) until there is one, and installs them then by itself');
  }
  return {
    publication: { service: dictionaries.id, values: dictionaries.values, expected: expectedTable(profile, facts, dictionaries) },
    warnings,
  };
}

// ---- publishing and supervising (the session) --------------------------------------

/** Canonical JSON (object keys sorted), to compare what is stored with what is wanted. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    return `{${Object.keys(object).sort().map((k) => `${JSON.stringify(k)}:${canonical(object[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const UNREADABLE = Symbol('a value that is not a PlistValue');

/** The stored value, or UNREADABLE when another writer stored types tunroute never writes (CFData, CFDate). */
function readable(store: DynamicStoreSession, key: string): PlistValue | null | typeof UNREADABLE {
  try {
    return store.copyValue(key);
  } catch (e) {
    // A configd failure (Error{code: kSCStatus…}) is real; a conversion refusal (TypeError) only says whose value it is.
    if (e instanceof TypeError) return UNREADABLE;
    throw e;
  }
}

/** Routes of the service IPMonitor must keep: not the kernel's host route, not the physical default it scoped. */
function supervised(route: Route): boolean {
  return route.origin !== 'host' && route.origin !== 'demoted';
}

function describeRoute(route: Pick<Route, 'destination' | 'scope'>): string {
  return route.scope === null ? route.destination : `${route.destination} (scoped)`;
}

export interface ConfigdPublisherOptions {
  native: NativeBinding;
  /** The service of the profile the daemon starts with: its leftovers are cleared at start. */
  service: string;
  logger: Logger;
  /** A fresh table, for withdraw() to wait until IPMonitor has taken the service's routes out. */
  snapshot: () => Promise<KernelSnapshot>;
  /** Time IPMonitor gets to apply a write before a route it has not installed yet counts as missing. */
  settleMs?: number;
  /** How long withdraw() waits for the service's routes to leave the table. */
  withdrawWaitMs?: number;
  now?: () => number;
}

/** The configd side of the `system` strategy: one SCDynamicStore session with session keys. */
export class ConfigdPublisher implements Publisher {
  private readonly native: NativeBinding;
  private readonly log: Logger;
  private readonly snapshot: () => Promise<KernelSnapshot>;
  private readonly settleMs: number;
  private readonly withdrawWaitMs: number;
  private readonly now: () => number;
  private session: DynamicStoreSession | null = null;
  private trigger: (reason: string) => void = () => {};
  /** The service whose keys the session watches and owns now. */
  private service: string;
  /** Services whose leftover keys (from a dead writer) were cleared. */
  private readonly cleared = new Set<string>();
  /** What this session wrote, by key, canonical: a stored value that differs and is not ours is another writer's. */
  private readonly written = new Map<string, string>();
  private lastWrite = Number.NEGATIVE_INFINITY;
  /** Expected routes seen in the table since the last write: a later absence is a deletion. */
  private readonly seen = new Set<string>();
  private lastExpected: Route[] = [];
  private lastProblems = '';
  private settleTimer: NodeJS.Timeout | null = null;

  constructor(options: ConfigdPublisherOptions) {
    this.native = options.native;
    this.service = options.service;
    this.log = options.logger;
    this.snapshot = options.snapshot;
    this.settleMs = options.settleMs ?? 2000;
    this.withdrawWaitMs = options.withdrawWaitMs ?? 3000;
    this.now = options.now ?? Date.now;
  }

  async open(trigger: (reason: string) => void): Promise<void> {
    if (!this.native.openDynamicStore) throw new Error('this native binding has no SCDynamicStore (macOS only): the system strategy cannot run');
    this.trigger = trigger;
    // Session keys: configd removes every key of this session when the process dies,
    // SIGKILL included, and IPMonitor then rebuilds the table without the tunnel (§5.2).
    this.session = this.native.openDynamicStore(`tunroute ${this.service}`, { useSessionKeys: true }, (keys) => this.onChange(keys));
    this.watch(this.service);
  }

  private store(): DynamicStoreSession {
    if (this.session === null) throw new Error('the configd session is not open');
    return this.session;
  }

  private watch(service: string): void {
    this.store().setNotificationKeys([], [serviceKeyPattern(service)]);
    this.service = service;
  }

  private onChange(keys: string[]): void {
    if (keys.length === 0) {
      // configd restarted: the store (our keys included) and its static routes are gone.
      this.log.warn({ service: this.service }, 'configd restarted; publishing the service again');
      this.written.clear();
      this.seen.clear();
      this.trigger('configd restart');
      return;
    }
    this.trigger('configd');
  }

  async reconcile(desired: Publication | null, snapshot: KernelSnapshot, allowRepair: (key: string, why: string) => boolean): Promise<PublishResult> {
    let changes = 0;
    if (desired !== null && desired.service !== this.service) this.watch(desired.service);
    if (this.write(desired)) changes++;
    if (desired === null) return { changes, problems: [], settling: false };
    this.lastExpected = desired.expected;
    const { problems, missing, settling } = this.compare(desired, snapshot);
    for (const key of missing) {
      if (!allowRepair(`configd|${key}`, 'IPMonitor keeps losing routes of the service')) continue;
      // IPMonitor re-applies every route of a key that changed, content or not (§4.1, §4.4).
      this.store().notifyValue(key);
      this.log.info({ key }, 'routes of the service are missing; asked IPMonitor to apply it again');
      this.wrote();
      changes++;
    }
    const text = problems.join('; ');
    if (text !== this.lastProblems) {
      if (problems.length > 0) this.log.warn({ service: desired.service, problems }, 'IPMonitor did not build the expected table');
      else if (this.lastProblems !== '') this.log.info({ service: desired.service }, 'the table is as IPMonitor should build it');
      this.lastProblems = text;
    }
    return { changes, problems, settling };
  }

  /** Makes the store hold `desired`; true when it wrote. Never rewrites unchanged content (§4.1). */
  private write(desired: Publication | null): boolean {
    const store = this.store();
    const wanted = desired?.values ?? {};
    const keys = new Set([...this.written.keys(), ...Object.keys(wanted)]);
    if (desired !== null && !this.cleared.has(desired.service)) {
      for (const key of store.copyKeyList(serviceKeyPattern(desired.service))) keys.add(key);
    }
    const set: Record<string, PlistValue> = {};
    const remove: string[] = [];
    const foreign: string[] = [];
    for (const key of keys) {
      const have = readable(store, key);
      const want = wanted[key] as PlistValue | undefined;
      if (want === undefined) {
        if (have !== null) remove.push(key);
        this.written.delete(key);
        continue;
      }
      if (have !== null && have !== UNREADABLE && canonical(have) === canonical(want)) {
        this.written.set(key, canonical(want));
        continue;
      }
      // A value we did not write (a dead writer's key, someone's `scutil set`) belongs to
      // no session or to another one: setting over it fails silently inside SetMultiple
      // (§5.1), so it is removed first.
      if (have !== null && (have === UNREADABLE || this.written.get(key) !== canonical(have))) foreign.push(key);
      set[key] = want;
    }
    if (desired !== null) this.cleared.add(desired.service);
    if (foreign.length > 0) {
      this.log.warn({ keys: foreign }, 'keys of the service hold values tunroute did not write; replacing them');
      store.setMultiple({}, foreign, []);
    }
    if (Object.keys(set).length === 0 && remove.length === 0) return false;
    store.setMultiple(set, remove, []);
    for (const [key, value] of Object.entries(set)) this.written.set(key, canonical(value));
    this.log.info({ set: Object.keys(set), removed: remove }, 'published to configd');
    this.wrote();
    return true;
  }

  /** IPMonitor applies a write asynchronously: judge absences again once it has had time. */
  private wrote(): void {
    this.lastWrite = this.now();
    this.seen.clear();
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      this.trigger('configd settle');
    }, this.settleMs);
    this.settleTimer.unref();
  }

  private compare(desired: Publication, snapshot: KernelSnapshot): { problems: string[]; missing: Set<string>; settling: boolean } {
    let settling = false;
    const problems: string[] = [];
    const missing = new Set<string>();
    const keys = serviceKeys(desired.service);
    const settled = this.now() - this.lastWrite >= this.settleMs;
    const named = (index: number): string => snapshot.interfaces.find((i) => i.index === index)?.name ?? `#${index}`;
    const tunnelIndex = desired.expected.find((r) => r.origin === 'tunnel')?.index;
    for (const route of desired.expected.filter(supervised)) {
      const id = `${route.destination}|${route.scope ?? '-'}`;
      const holder: KernelRoute | undefined = snapshot.routes.find((k) => k.destination === route.destination && k.scope === route.scope);
      // An excluded route takes whatever physical route IPMonitor resolved it through (§3.4).
      const bypass = route.origin === 'endpoint' || route.origin === 'exclude';
      if (holder && (bypass ? holder.index !== tunnelIndex : holder.index === route.index)) {
        this.seen.add(id);
        continue;
      }
      // Not installed yet: IPMonitor may still be applying the last write.
      if (!this.seen.has(id) && !settled) {
        settling = true;
        continue;
      }
      if (holder) {
        problems.push(`${describeRoute(route)} goes to ${named(holder.index)}, not ${route.interface}${bypass ? '' : ': another service ranks first'}`);
        continue;
      }
      problems.push(`${describeRoute(route)} on ${route.interface} is missing`);
      missing.add(route.family === 'inet' ? keys.ipv4 : keys.ipv6);
    }
    return { problems, missing, settling };
  }

  async withdraw(): Promise<number> {
    if (this.session === null) return 0;
    const store = this.store();
    const keys = new Set([...this.written.keys(), ...store.copyKeyList(serviceKeyPattern(this.service))]);
    this.written.clear();
    this.seen.clear();
    this.cleared.add(this.service);
    this.lastProblems = '';
    if (keys.size > 0) {
      store.setMultiple({}, [...keys], []);
      this.log.info({ removed: [...keys] }, 'withdrew the service from configd');
    }
    // IPMonitor takes the service's routes out asynchronously; wait, so that "stopped" means the table is back.
    const ours = this.lastExpected.filter((r) => supervised(r) && r.origin === 'tunnel');
    this.lastExpected = [];
    const deadline = this.now() + this.withdrawWaitMs;
    while (ours.length > 0) {
      const snap = await this.snapshot();
      const left = ours.filter((r) => snap.routes.some((k) => k.destination === r.destination && k.scope === r.scope && k.index === r.index));
      if (left.length === 0) break;
      if (this.now() >= deadline) {
        // Not "restored": the caller must not report a clean table.
        throw new Error(`IPMonitor has not removed the service's routes ${left.map(describeRoute).join(', ')} within ${this.withdrawWaitMs} ms of the withdrawal`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return keys.size;
  }

  close(): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    this.session?.close();
    this.session = null;
  }
}
