/**
 * @module test/xnu/ipmonitor
 * configd's IPMonitor plugin as configd-ipmonitor.md describes it (ip_plugin.c of
 * configd-1241 … 1405): it watches the dynamic store, turns every service's
 * `State:/Network/Service/<id>/IPv4` dictionary into a route list, elects a primary, merges
 * all lists into one (the best-ranked route of a destination unscoped, the others scoped),
 * resolves excluded routes through the best route that does not use the service's own
 * interface, and applies the difference to the kernel with real PF_ROUTE messages written
 * through a routing socket opened with configd's pid.
 *
 * Faithful on purpose, including what hurts a route-writing daemon (§4):
 * - the apply step is a diff: old routes IPMonitor added and no longer wants are deleted
 *   (ESRCH is fine); new ones are added, gateway route first; **EEXIST → RTM_DELETE of that
 *   key → RTM_ADD again**, so whatever foreign route holds the key goes; other errors are
 *   logged and **never retried**;
 * - a service whose IPv4 key was written (or notified) in the batch is **forced**: all its
 *   routes are added again even when nothing changed;
 * - it **never watches the routing table**: routes someone deletes stay deleted until their
 *   service is re-keyed;
 * - at start (boot or configd restart) it **flushes** every IPv4 route with RTF_STATIC or
 *   RTF_DYNAMIC except loopback and 224.0.0.0/24, re-writing the sysctl dump records as
 *   RTM_DELETE (§4.3). The test is on the destination address only (IN_LOOPBACK,
 *   IN_LOCAL_GROUP in flush_routes), so 224.0.0.0/4 routes survive a restart too.
 *
 * Rank (§1.3): 8 bits of assertion (First 0, Default 1, Last 2, Never 3, Scoped 4) over 24
 * bits of service index (position in ServiceOrder + 1; 0xFFFFFF when absent; ServiceIndex +
 * count(ServiceOrder) when the service dict sets one). Lower wins. OverridePrimary makes the
 * default First only when the service has no rank assertion and a router.
 *
 * IPv4/IPv6 coupling (§8.3, configd ≥ 1296, the default; `coupling: false` gives configd-1241):
 * a coupled candidate ranked below the other family's primary on another interface is
 * demoted, so an IPv4-only tunnel asserting First leaves no IPv6 primary (IPv6 blocked).
 *
 * Not modelled: Setup:/Network/Service/* entities (the model reads State: only, as a
 * State-only VPN service is read), interface ranks (IPMonitorControl), delegate
 * ("effective") interfaces, PPPOverridePrimary, NAT64,
 * proxies, network signatures, the static ND routers of SIOCDRADD_IN6 and IPv6
 * Additional/ExcludedRoutes: for IPv6 the model elects the primary, publishes
 * State:/Network/Global/IPv6 and sets the kernel's default IPv6 interface
 * (SIOCSDEFIFACE_IN6, lo0 when there is no primary, §8.1), which makes the kernel model
 * re-install the routers it learned from advertisements scoped or unscoped; it writes no
 * IPv6 route itself.
 */
import type { PlistValue } from '../../native/index.js';
import { AF, IFF, NET_RT, RTAX, RTF, RTM } from './constants.js';
import type { XnuKernel } from './kernel.js';
import type { XnuRouteSocket } from './socket.js';
import { plistEqual, type ConfigdPlugin, type DynamicStore, type StoreSession } from './dynamic-store.js';
import { buildRouteRequest, sockaddrDl, sockaddrIn, walkMessages } from './wire.js';

/** Rank assertions (nwi/network_state_information_priv.h), the top 8 bits of a rank. */
export const RANK = { First: 0, Default: 1, Last: 2, Never: 3, Scoped: 4 } as const;
const INDEX_MASK = 0x00ffffff;

export function rankMake(index: number, assertion: number): number {
  return ((index & INDEX_MASK) | (assertion << 24)) >>> 0;
}
export function rankAssertion(rank: number): number {
  return rank >>> 24;
}

/** One IPv4 route as IPMonitor keeps it (addresses as unsigned 32-bit numbers). */
export interface IPMonitorRoute {
  dest: number;
  mask: number;
  prefixLength: number;
  /** 0 until an excluded route is resolved. */
  ifindex: number;
  /** ExcludedRoutes: "not via this interface". */
  excludeIfindex: number;
  ifa: number;
  gateway: number;
  hasGateway: boolean;
  isHost: boolean;
  isScoped: boolean;
  /** From an IsNULL service: computed, never written. */
  isNull: boolean;
  /** In a service's own list: the assertion (RANK.*); in the merged list: the full rank. */
  rank: number;
  /** The service it came from (for logs and tests). */
  serviceId: string;
  // control state of the apply step
  force: boolean;
  processed: boolean;
  added: boolean;
}

interface ServiceRouteList {
  routes: IPMonitorRoute[];
  hasDefault: boolean;
  excludeFromNWI: boolean;
  scopedOnly: boolean;
}

interface V6Candidate {
  ifname: string;
  hasDefault: boolean;
  isNull: boolean;
  assertion: number;
}

/** One service in an election (elect_ip's Candidate). */
interface Candidate {
  id: string;
  rank: number;
  ineligible: boolean;
  ifindex: number;
  /** IPv4 and IPv6 must be primary together (configd ≥ 1296 makes every service so by default). */
  coupled: boolean;
  /** May be primary for one family alone (stf/gif, or different default ranks per family). */
  independent: boolean;
  /** IPv4: the route list; IPv6: absent (the model writes no IPv6 route). */
  list?: ServiceRouteList;
  v6?: V6Candidate;
  isNull: boolean;
}

/**
 * ElectionResultsCandidateNeedsDemotion (§8.3): a coupled candidate ranked below the other
 * family's primary on another interface may not be primary (it would split IPv4 and IPv6
 * across interfaces).
 */
function needsDemotion(other: Candidate | undefined, c: Candidate): boolean {
  if (other === undefined || other.ineligible || rankAssertion(other.rank) === RANK.Never) return false;
  if (c.independent || other.independent) return false;
  if (!c.coupled && !other.coupled) return false;
  if (other.ifindex === c.ifindex) return false;
  if (c.rank < other.rank) return false;
  if (c.coupled) return !(other.coupled && c.rank === other.rank);
  return c.rank !== other.rank;
}

/** A line of IPMonitor's log (my_log), for tests. */
export interface IPMonitorLogLine {
  message: string;
  route?: string;
}

/** One kernel write IPMonitor made, with the kernel's verdict. */
export interface IPMonitorWrite {
  type: 'add' | 'delete';
  route: string;
  /** '' on success, else the errno code (EEXIST, ESRCH, ENETUNREACH …). */
  result: string;
  /** process.hrtime.bigint() right after the write returned. */
  at: bigint;
}

const SERVICE_KEY = /^State:\/Network\/Service\/([^/]+)$/;
const ENTITY_KEY = /^State:\/Network\/Service\/([^/]+)\/(IPv4|IPv6|DNS)$/;
export const SETUP_GLOBAL_IPV4 = 'Setup:/Network/Global/IPv4';
export const STATE_GLOBAL_IPV4 = 'State:/Network/Global/IPv4';
export const STATE_GLOBAL_IPV6 = 'State:/Network/Global/IPv6';
export const STATE_GLOBAL_DNS = 'State:/Network/Global/DNS';

export function ipToNumber(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

function prefixOf(mask: number): number {
  let bits = 0;
  while (bits < 32 && (mask & (0x80000000 >>> bits)) !== 0) bits++;
  return ((bits === 32 ? 0xffffffff : ~(0xffffffff >>> bits)) >>> 0) === mask >>> 0 ? bits : -1;
}

function isObject(v: PlistValue | null | undefined): v is { [key: string]: PlistValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function getIp(dict: { [key: string]: PlistValue }, key: string): number | undefined {
  const v = dict[key];
  return typeof v === 'string' ? ipToNumber(v) : undefined;
}

function getFirstIp(dict: { [key: string]: PlistValue }, key: string): number | undefined {
  const v = dict[key];
  return Array.isArray(v) && typeof v[0] === 'string' ? ipToNumber(v[0]) : undefined;
}

function overridePrimary(dict: { [key: string]: PlistValue }): boolean {
  const v = dict.OverridePrimary;
  return v === true || (typeof v === 'number' && v !== 0);
}

export function describeRoute(r: IPMonitorRoute, indexToName: (i: number) => string | undefined): string {
  const parts = [`${r.isHost ? 'Host' : 'Net'} ${numberToIp(r.dest)}${r.isHost ? '' : `/${r.prefixLength}`}`];
  if (r.hasGateway) parts.push(`Gate ${numberToIp(r.gateway)}`);
  if (r.ifindex !== 0) parts.push(`Ifp ${indexToName(r.ifindex) ?? `#${r.ifindex}`}`);
  if (r.excludeIfindex !== 0) parts.push(`!Ifp ${indexToName(r.excludeIfindex) ?? `#${r.excludeIfindex}`}`);
  if (r.ifa !== 0) parts.push(`Ifa ${numberToIp(r.ifa)}`);
  if (r.isScoped) parts.push('[SCOPED]');
  if (r.isNull) parts.push('[null]');
  return parts.join(' ');
}

export class XnuIPMonitor implements ConfigdPlugin {
  private readonly store: DynamicStore;
  private readonly kernel: XnuKernel;
  private session: StoreSession | undefined;
  /** The route list last applied (S_ipv4_routelist). */
  private applied: IPMonitorRoute[] | null = null;
  private readonly v4 = new Map<string, ServiceRouteList>();
  private readonly v6 = new Map<string, V6Candidate>();
  private seq = 0;
  readonly log: IPMonitorLogLine[] = [];
  readonly writes: IPMonitorWrite[] = [];
  /** How many times the route list was applied (one per processed store batch). */
  applies = 0;
  primaryService: string | null = null;
  primaryServiceV6: string | null = null;
  /** What SIOCSDEFIFACE_IN6 would be set to: the IPv6 primary's interface, or lo0. */
  ipv6DefaultInterface = 'lo0';

  /** configd-1241 (macOS 13) behaviour: services are coupled only when they say so (`IPIsCoupled`). */
  private readonly disableCoupling: boolean;

  constructor(store: DynamicStore, kernel: XnuKernel, options: { coupling?: boolean } = {}) {
    this.store = store;
    this.kernel = kernel;
    this.disableCoupling = options.coupling === false;
  }

  /** elect_ip's coupled / independent flags for `id` in `family`. */
  private couplingOf(id: string, family: 'v4' | 'v6', ifname: string): { coupled: boolean; independent: boolean } {
    if (/^(stf|gif)/.test(ifname)) return { coupled: false, independent: true };
    const dict = this.store.get(`State:/Network/Service/${id}`);
    if (isObject(dict) && 'IPIsCoupled' in dict) return { coupled: true, independent: false };
    const v4 = this.v4.get(id);
    const v6 = this.v6.get(id);
    const v4Default = v4?.hasDefault ? v4.routes[0]!.rank : undefined;
    const v6Default = v6?.hasDefault ? v6.assertion : undefined;
    const mine = family === 'v4' ? v4Default : v6Default;
    const other = family === 'v4' ? v6Default : v4Default;
    if (other !== undefined && other !== mine) return { coupled: false, independent: true };
    return { coupled: !this.disableCoupling, independent: false };
  }

  /** The IPv6 candidates, best rank first (ElectionResultsCopy for AF_INET6). */
  private v6Candidates(): Candidate[] {
    const out: Candidate[] = [];
    for (const [id, c] of [...this.v6.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      if (c.ifname === 'lo0') continue;
      const rank = rankMake(this.serviceIndex(id), c.assertion);
      const cand: Candidate = { id, rank, ineligible: !c.hasDefault, ifindex: this.kernel.nameToIndex(c.ifname), ...this.couplingOf(id, 'v6', c.ifname), v6: c, isNull: c.isNull };
      const at = out.findIndex((x) => rank < x.rank);
      if (at < 0) out.push(cand);
      else out.splice(at, 0, cand);
    }
    return out;
  }

  /** ip_plugin_init + prime: flush static IPv4 routes, watch the keys, process the whole store. */
  start(): void {
    this.session?.close();
    this.applied = null;
    this.v4.clear();
    this.v6.clear();
    this.primaryService = null;
    this.primaryServiceV6 = null;
    this.ipv6DefaultInterface = 'lo0';
    this.flushRoutes();
    this.session = this.store.openSession({ name: 'IPMonitor', pid: this.store.pid, onChange: (keys) => this.process(keys) });
    this.session.setNotificationKeys([SETUP_GLOBAL_IPV4], ['State:/Network/Service/[^/]+/(IPv4|IPv6|DNS)', 'State:/Network/Service/[^/]+']);
    const all = this.store.keys().filter((k) => k === SETUP_GLOBAL_IPV4 || SERVICE_KEY.test(k) || ENTITY_KEY.test(k));
    this.process(all);
  }

  /** The route list IPMonitor last applied, described like its own log does. */
  routeList(): string[] {
    return (this.applied ?? []).map((r) => describeRoute(r, (i) => this.kernel.indexToName(i)));
  }

  private logLine(message: string, route?: IPMonitorRoute): void {
    this.log.push(route === undefined ? { message } : { message, route: describeRoute(route, (i) => this.kernel.indexToName(i)) });
  }

  // ---------------------------------------------------------------------------------------
  // flush_routes (§4.3)

  private flushRoutes(): void {
    const dump = this.kernel.sysctl([4, AF.ROUTE, 0, AF.INET, NET_RT.FLAGS, RTF.STATIC | RTF.DYNAMIC]);
    const socket = this.kernel.openSocket({ pid: this.store.pid });
    try {
      for (const record of walkMessages(dump)) {
        const msg = Uint8Array.from(record);
        const first = msg[92 + 4]! * 0x1000000 + msg[92 + 5]! * 0x10000 + msg[92 + 6]! * 0x100 + msg[92 + 7]!;
        if (msg[92 + 4] === 127) continue; // IN_LOOPBACK
        if ((first & 0xffffff00) >>> 0 === 0xe0000000) continue; // IN_LOCAL_GROUP 224.0.0.0/24
        msg[3] = RTM.DELETE;
        new DataView(msg.buffer).setInt32(20, ++this.seq, true);
        const result = this.write(socket, msg);
        this.logLine(result === '' ? `flush_routes: removed route for ${numberToIp(first)}` : `flush_routes: removing route for ${numberToIp(first)} failed: ${result}`);
      }
    } finally {
      socket.close();
    }
  }

  // ---------------------------------------------------------------------------------------
  // Reading the store

  private rankAssertionOf(serviceId: string): number | undefined {
    const dict = this.store.get(`State:/Network/Service/${serviceId}`);
    if (!isObject(dict)) return undefined;
    const rank = dict.PrimaryRank;
    if (rank === 'First') return RANK.First;
    if (rank === 'Last') return RANK.Last;
    if (rank === 'Never') return RANK.Never;
    if (rank === 'Scoped') return RANK.Scoped;
    return undefined;
  }

  private serviceIndex(serviceId: string): number {
    const setup = this.store.get(SETUP_GLOBAL_IPV4);
    const order = isObject(setup) && Array.isArray(setup.ServiceOrder) ? setup.ServiceOrder : [];
    const dict = this.store.get(`State:/Network/Service/${serviceId}`);
    const explicit = isObject(dict) ? dict.ServiceIndex : undefined;
    if (typeof explicit === 'number' && Number.isInteger(explicit) && explicit >= 1) return (explicit + order.length) & INDEX_MASK;
    const at = order.findIndex((s) => s === serviceId);
    return at >= 0 ? at + 1 : INDEX_MASK;
  }

  /** IPv4RouteListCreateWithDictionary (§2.1, §3.1). */
  private createRouteList(serviceId: string, dict: PlistValue | null, assertion: number | undefined): ServiceRouteList | undefined {
    if (!isObject(dict)) return undefined;
    const ifname = dict.InterfaceName;
    if (typeof ifname !== 'string') return undefined;
    const ifindex = this.kernel.nameToIndex(ifname);
    if (ifindex === 0) {
      this.logLine(`${serviceId}: interface ${ifname} does not exist, IPv4 ignored`);
      return undefined;
    }
    const confirmed = dict.ConfirmedInterfaceName;
    const allowAdditional = typeof confirmed !== 'string' || confirmed === ifname;
    const router = getIp(dict, 'Router') ?? getFirstIp(dict, 'DestAddresses') ?? 0;
    const addr = getFirstIp(dict, 'Addresses') ?? 0;
    const maskIn = getFirstIp(dict, 'SubnetMasks');
    let mask = 0;
    let subnetPrefix = -1;
    if (addr !== 0 && maskIn !== undefined) {
      mask = maskIn;
      subnetPrefix = prefixOf(maskIn);
      if (subnetPrefix < 0) this.logLine(`ignoring bad subnet mask ${numberToIp(maskIn)} on ${ifname}`);
    }
    if (addr === 0) return undefined;

    let primary = assertion ?? RANK.Default;
    let hasGateway = false;
    if (router === 0) {
      if (primary !== RANK.Last && primary !== RANK.Never && primary !== RANK.Scoped) primary = RANK.Last;
    } else {
      // Router == own address with a mask other than /32: every route is an interface route.
      hasGateway = !(addr === router && mask !== 0xffffffff);
      if (assertion === undefined && overridePrimary(dict)) primary = RANK.First;
    }
    const isNull = dict.IsNULL === true;
    let rank: number;
    let serviceScoped = false;
    let scopedOnly = false;
    if (primary === RANK.Scoped) {
      primary = RANK.Never;
      rank = RANK.Never;
      serviceScoped = true;
      scopedOnly = true;
    } else if (primary === RANK.Never) {
      rank = RANK.Last;
      serviceScoped = true;
    } else {
      rank = primary;
    }
    const base = (over: Partial<IPMonitorRoute>): IPMonitorRoute => ({
      dest: 0, mask: 0, prefixLength: 0, ifindex, excludeIfindex: 0, ifa: addr, gateway: 0, hasGateway: false,
      isHost: false, isScoped: false, isNull, rank, serviceId, force: false, processed: false, added: false, ...over,
    });
    const routes: IPMonitorRoute[] = [];
    const loopback = (this.kernel.getInterface(ifname).flags & IFF.LOOPBACK) !== 0;
    let hasDefault = false;
    if (!loopback) {
      if (router !== 0) {
        hasDefault = true;
        routes.push(base({ gateway: hasGateway ? router : addr, hasGateway, isScoped: serviceScoped, rank: primary }));
      }
      // Only the default carries the service's scoping; the others are scoped through their
      // rank (Never) when the merge sees them.
      routes.push(base({ dest: 0xffffffff, mask: 0xffffffff, prefixLength: 32 }));
      routes.push(base({ dest: 0xe0000000, mask: 0xf0000000, prefixLength: 4 }));
    }
    if (subnetPrefix >= 0) routes.push(base({ dest: (addr & mask) >>> 0, mask, prefixLength: subnetPrefix, gateway: addr }));
    if (hasGateway) routes.push(base({ dest: router, mask: 0xffffffff, prefixLength: 32, gateway: addr }));
    if (allowAdditional) {
      for (const element of Array.isArray(dict.AdditionalRoutes) ? dict.AdditionalRoutes : []) {
        const r = this.extraRoute(element, 'AdditionalRoutes', base, ifindex, 0);
        if (r !== undefined) routes.push(r);
      }
      for (const element of Array.isArray(dict.ExcludedRoutes) ? dict.ExcludedRoutes : []) {
        const r = this.extraRoute(element, 'ExcludedRoutes', base, 0, ifindex);
        if (r !== undefined) routes.push(r);
      }
    }
    return { routes, hasDefault, excludeFromNWI: isNull, scopedOnly: scopedOnly && !isNull };
  }

  /** AddIPv4Route: one AdditionalRoutes / ExcludedRoutes element. */
  private extraRoute(element: PlistValue, what: string, base: (over: Partial<IPMonitorRoute>) => IPMonitorRoute, ifindex: number, exclude: number): IPMonitorRoute | undefined {
    if (!isObject(element)) {
      this.logLine(`${what} route is not a dictionary`);
      return undefined;
    }
    const dest = getIp(element, 'DestinationAddress');
    const mask = getIp(element, 'SubnetMask');
    if (dest === undefined || mask === undefined) {
      this.logLine(`${what} route is invalid`);
      return undefined;
    }
    const prefixLength = prefixOf(mask);
    if (prefixLength < 0) {
      this.logLine(`${what} route has invalid subnet mask`);
      return undefined;
    }
    // The element's own scoping is not inherited: only the service's flags that AddIPv4Route copies.
    const r = base({ dest, mask, prefixLength, ifindex: 0, excludeIfindex: exclude, ifa: 0, isScoped: false, isNull: false });
    if (ifindex !== 0) {
      r.ifindex = ifindex;
      r.ifa = base({}).ifa;
      const gw = getIp(element, 'GatewayAddress');
      if (gw !== undefined) {
        r.gateway = gw;
        r.hasGateway = true;
        r.isHost = prefixLength === 32;
      }
    } else if (typeof element.InterfaceName === 'string') {
      const index = this.kernel.nameToIndex(element.InterfaceName);
      if (index === 0) {
        this.logLine(`${what}: interface ${element.InterfaceName} does not exist`);
        return undefined;
      }
      r.ifindex = index;
    }
    return r;
  }

  /** The IPv6 entity as far as the election needs it (§2.2). */
  private v6Candidate(dict: PlistValue | null, assertion: number | undefined): V6Candidate | undefined {
    if (!isObject(dict)) return undefined;
    const ifname = dict.InterfaceName;
    if (typeof ifname !== 'string' || this.kernel.nameToIndex(ifname) === 0) return undefined;
    const addresses = dict.Addresses;
    const addr = Array.isArray(addresses) && typeof addresses[0] === 'string' ? addresses[0] : '';
    if (addr === '' || addr === '::') return undefined;
    const destAddresses = dict.DestAddresses;
    const router = typeof dict.Router === 'string' ? dict.Router : Array.isArray(destAddresses) && typeof destAddresses[0] === 'string' ? destAddresses[0] : '';
    let primary = assertion ?? RANK.Default;
    if (router === '') {
      if (primary !== RANK.Last && primary !== RANK.Never && primary !== RANK.Scoped) primary = RANK.Last;
    } else if (assertion === undefined && overridePrimary(dict)) {
      primary = RANK.First;
    }
    if (primary === RANK.Scoped) primary = RANK.Never;
    return { ifname, hasDefault: router !== '' && ifname !== 'lo0', isNull: dict.IsNULL === true, assertion: primary };
  }

  // ---------------------------------------------------------------------------------------
  // IPMonitorProcessChanges

  private process(changedKeys: string[]): void {
    if (this.session === undefined || !this.session.isOpen) return;
    const changed = new Set<string>();
    const v4Changes = new Set<string>();
    let globalChanged = false;
    for (const key of changedKeys) {
      if (key === SETUP_GLOBAL_IPV4) {
        globalChanged = true;
        continue;
      }
      const service = SERVICE_KEY.exec(key);
      if (service !== null) {
        changed.add(service[1]!);
        continue;
      }
      const entity = ENTITY_KEY.exec(key);
      if (entity !== null) {
        changed.add(entity[1]!);
        if (entity[2] === 'IPv4') v4Changes.add(entity[1]!);
      }
    }
    if (changed.size === 0 && !globalChanged) return;
    for (const id of changed) {
      const assertion = this.rankAssertionOf(id);
      const list = this.createRouteList(id, this.store.get(`State:/Network/Service/${id}/IPv4`), assertion);
      if (list === undefined) this.v4.delete(id);
      else this.v4.set(id, list);
      const v6 = this.v6Candidate(this.store.get(`State:/Network/Service/${id}/IPv6`), assertion);
      if (v6 === undefined) this.v6.delete(id);
      else this.v6.set(id, v6);
    }
    this.electAndApply(v4Changes);
  }

  private electAndApply(forced: Set<string>): void {
    const order = [...this.v4.keys()].sort();
    // elect_ip: a candidate per service with a route list on a non-loopback interface, sorted by rank (stable).
    const candidates: Candidate[] = [];
    for (const id of order) {
      const list = this.v4.get(id)!;
      const first = list.routes[0];
      if (first === undefined) continue;
      const ifname = this.kernel.indexToName(first.ifindex) ?? '';
      if (ifname === 'lo0') continue;
      const rank = rankMake(this.serviceIndex(id), first.rank);
      const c: Candidate = { id, rank, ineligible: !list.hasDefault, ifindex: first.ifindex, ...this.couplingOf(id, 'v4', ifname), list, isNull: list.excludeFromNWI };
      const at = candidates.findIndex((x) => rank < x.rank);
      if (at < 0) candidates.push(c);
      else candidates.splice(at, 0, c);
    }
    const v6 = this.v6Candidates();
    // IPv4 first, against the best IPv6 candidate; then IPv6 against the IPv4 primary.
    let merged: IPMonitorRoute[] = [];
    const electedV4 = this.elect(candidates, v6[0], (c, rank) => {
      const force = forced.has(c.id);
      c.list!.routes.forEach((r, i) => {
        const routeRank = i === 0 && c.list!.hasDefault ? rank : ((rank & INDEX_MASK) | (r.rank << 24)) >>> 0;
        this.addRoute(merged, r, routeRank, force);
      });
    });
    this.primaryService = electedV4?.id ?? null;
    this.finalize(merged);
    if (candidates.length === 0) {
      // IPv4RouteListCopyMulticastLoopback: 224.0.0.0/24 on lo0.
      const lo0 = this.kernel.nameToIndex('lo0');
      merged = [{
        dest: 0xe0000000, mask: 0xffffff00, prefixLength: 24, ifindex: lo0, excludeIfindex: 0, ifa: 0, gateway: 0, hasGateway: false,
        isHost: false, isScoped: false, isNull: false, rank: 0, serviceId: '', force: false, processed: false, added: false,
      }];
    }
    this.apply(this.applied, merged);
    this.applied = merged;
    this.applies++;
    const electedV6 = this.elect(v6, electedV4, () => {});
    this.publishGlobals(electedV4, electedV6);
  }

  /**
   * ElectionResultsGetPrimary: the first eligible, non-Never candidate that needs no
   * demotion is primary (none when it is an IsNULL service); a demoted one contributes its
   * routes ranked Never. Every candidate's routes go to `contribute`, in rank order.
   */
  private elect(candidates: Candidate[], other: Candidate | undefined, contribute: (c: Candidate, rank: number) => void): Candidate | undefined {
    let primary: Candidate | undefined;
    let decided = false;
    for (const c of candidates) {
      let rank = c.rank;
      if (!decided && !c.ineligible && rankAssertion(c.rank) !== RANK.Never) {
        if (needsDemotion(other, c)) {
          this.logLine(`${c.id} demoted: the other family's primary ${other!.id} is on another interface (coupled)`);
          rank = rankMake(c.rank, RANK.Never);
        } else {
          decided = true;
          primary = c.isNull ? undefined : c;
        }
      }
      contribute(c, rank);
    }
    return primary;
  }

  /** RouteListAddRoute: merge one route; the best rank of a destination stays unscoped. */
  private addRoute(list: IPMonitorRoute[], input: IPMonitorRoute, rank: number, force: boolean): void {
    const route: IPMonitorRoute = { ...input, force: false, processed: false, added: false };
    let firstSame: IPMonitorRoute | undefined;
    let where = -1;
    let scopeWhich: 'none' | 'this' | 'next' = 'none';
    for (let i = 0; i < list.length; i++) {
      const scan = list[i]!;
      const { cmp, sameDest } = compareRoutes(route, rank, scan, scan.rank);
      if (sameDest && firstSame === undefined) firstSame = scan;
      if (cmp < 0) {
        if (where === -1) {
          if (sameDest && firstSame !== undefined && !firstSame.isScoped) scopeWhich = scan.isScoped ? 'this' : 'next';
          where = i;
        }
      } else if (cmp === 0) {
        if (where !== -1 && scan.ifindex === route.ifindex && scan.excludeIfindex === 0 && route.excludeIfindex === 0) {
          // A worse duplicate further down: drop it and insert this one where it sorts.
          list.splice(i, 1);
          break;
        }
        if (route.excludeIfindex === 0 && (scan.excludeIfindex !== 0 || rank < scan.rank)) {
          const ifindex = scan.ifindex !== 0 ? scan.ifindex : route.ifindex;
          const wasScoped = scan.isScoped;
          Object.assign(scan, route, { rank, ifindex, excludeIfindex: 0 });
          if (wasScoped) scan.isScoped = true;
          if (force) scan.force = true;
        }
        return;
      } else if (sameDest && scopeWhich === 'none') {
        scopeWhich = 'this';
      }
    }
    route.rank = rank;
    if (force) route.force = true;
    if (where === -1) list.push(route);
    else list.splice(where, 0, route);
    let target: IPMonitorRoute | undefined = route;
    let scope = rankAssertion(rank) === RANK.Never;
    if (scopeWhich === 'this') scope = true;
    else if (scopeWhich === 'next') {
      target = list[where + 1];
      scope = true;
    }
    if (target !== undefined && scope) target.isScoped = true;
  }

  /** RouteListFinalize: excluded routes take the interface and gateway of the best route not on their interface. */
  private finalize(list: IPMonitorRoute[]): void {
    for (const r of list) {
      if (r.excludeIfindex === 0) continue;
      let found: IPMonitorRoute | undefined;
      if (r.ifindex !== 0) found = lookup(list, r.dest, r.prefixLength, r.ifindex, false);
      found ??= lookup(list, r.dest, r.prefixLength, r.excludeIfindex, true);
      if (found === undefined) {
        this.logLine("can't resolve excluded route", r);
        continue;
      }
      r.ifindex = found.ifindex;
      if (found.hasGateway) {
        r.gateway = found.gateway;
        r.hasGateway = true;
        if (r.prefixLength === 32) r.isHost = true;
      } else {
        r.hasGateway = false;
        r.isHost = false;
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // RouteListApply / RouteProcess / IPv4RouteApply

  private apply(old: IPMonitorRoute[] | null, next: IPMonitorRoute[]): void {
    const socket = this.kernel.openSocket({ pid: this.store.pid });
    try {
      for (const o of old ?? []) {
        if (next.some((n) => routesEqual(n, o))) continue;
        if (!o.added) continue;
        const result = this.routeWrite(socket, o, RTM.DELETE);
        if (result !== '' && result !== 'ESRCH' && result !== 'NOTAPPLIED') this.logLine(`failed to remove route, ${result}`, o);
      }
      for (const n of next) {
        const o = (old ?? []).find((x) => routesEqual(n, x));
        if (o === undefined) continue;
        if (!n.force) {
          n.processed = o.processed;
          n.added = o.added;
        } else {
          this.logLine('Re-applying route', n);
        }
      }
      for (const n of next) if (!n.processed) this.processAdd(socket, next, n, 0);
    } finally {
      socket.close();
    }
  }

  private processAdd(socket: XnuRouteSocket, list: IPMonitorRoute[], route: IPMonitorRoute, depth: number): boolean {
    if (route.processed) return route.added;
    route.processed = true;
    if (route.hasGateway) {
      const gw = lookup(list, route.gateway, 32, route.ifindex, false);
      if (gw === undefined) {
        this.logLine('no gateway route', route);
      } else {
        if (depth === 10) {
          this.logLine('routing loop detected, not adding', route);
          return false;
        }
        if (!this.processAdd(socket, list, gw, depth + 1)) {
          this.logLine('failed to add', route);
          return false;
        }
      }
    }
    let result = this.routeWrite(socket, route, RTM.ADD);
    if (result === 'EEXIST') {
      this.routeWrite(socket, route, RTM.DELETE);
      result = this.routeWrite(socket, route, RTM.ADD);
    }
    if (result === '' || result === 'NOTAPPLIED') route.added = true;
    else this.logLine(`failed to add route, ${result}`, route);
    return true;
  }

  /** IPv4RouteApply: the message configd writes; returns '' or the errno code. */
  private routeWrite(socket: XnuRouteSocket, route: IPMonitorRoute, type: number): string {
    if (route.isNull) return 'NOTAPPLIED';
    if (route.ifindex === 0) {
      this.logLine(`${numberToIp(route.dest)} no interface specified, ignoring`);
      return 'ENXIO';
    }
    let flags = RTF.UP | RTF.STATIC;
    const addrs: Partial<Record<number, Uint8Array>> = { [RTAX.DST]: sockaddrIn(numberToIp(route.dest)) };
    if (route.isHost) flags |= RTF.HOST;
    else {
      addrs[RTAX.NETMASK] = sockaddrIn(numberToIp(route.mask));
      if (!route.hasGateway) flags |= RTF.CLONING;
    }
    if (route.hasGateway) {
      flags |= RTF.GATEWAY;
      addrs[RTAX.GATEWAY] = sockaddrIn(numberToIp(route.gateway));
    } else {
      addrs[RTAX.GATEWAY] = sockaddrDl({ index: route.ifindex, len: 20 });
    }
    addrs[RTAX.IFP] = sockaddrDl({ index: route.ifindex, len: 20 });
    if (route.ifa !== 0) addrs[RTAX.IFA] = sockaddrIn(numberToIp(route.ifa));
    let index = 0;
    if (route.isScoped) {
      index = route.ifindex;
      flags |= RTF.IFSCOPE;
    }
    const bytes = buildRouteRequest({ type, flags, index, seq: ++this.seq, addrs });
    const result = this.write(socket, bytes);
    this.writes.push({ type: type === RTM.ADD ? 'add' : 'delete', route: describeRoute(route, (i) => this.kernel.indexToName(i)), result, at: process.hrtime.bigint() });
    return result;
  }

  private write(socket: XnuRouteSocket, bytes: Uint8Array): string {
    try {
      socket.write(bytes);
      return '';
    } catch (e) {
      const code = (e as { code?: string; syscall?: string }).code;
      if (typeof code !== 'string') throw e;
      return code;
    }
  }

  // ---------------------------------------------------------------------------------------
  // State:/Network/Global/*

  private publishGlobals(v4: Candidate | undefined, v6: Candidate | undefined): void {
    const session = this.session!;
    const set: Record<string, PlistValue> = {};
    const remove: string[] = [];
    const put = (key: string, value: PlistValue | null): void => {
      const current = this.store.get(key);
      if (value === null) {
        if (current !== null) remove.push(key);
      } else if (!plistEqual(current, value)) {
        set[key] = value;
      }
    };
    const primary = v4?.id ?? null;
    const first = v4?.list?.routes[0];
    put(STATE_GLOBAL_IPV4, v4 === undefined || first === undefined ? null : {
      PrimaryInterface: this.kernel.indexToName(first.ifindex) ?? '',
      PrimaryService: v4.id,
      Router: numberToIp(first.gateway),
    });
    this.primaryServiceV6 = v6?.id ?? null;
    this.ipv6DefaultInterface = v6?.v6?.ifname ?? 'lo0';
    // update_ipv6 → SIOCSDEFIFACE_IN6: the kernel re-selects its default routers (§8.1).
    this.kernel.setIPv6DefaultInterface(this.kernel.nameToIndex(this.ipv6DefaultInterface));
    put(STATE_GLOBAL_IPV6, v6 === undefined ? null : { PrimaryInterface: this.ipv6DefaultInterface, PrimaryService: v6.id });
    // The default resolver follows the primary service (§2.3): its DNS when it is routable.
    const dnsService = primary ?? this.primaryServiceV6;
    const dns = dnsService === null ? null : this.store.get(`State:/Network/Service/${dnsService}/DNS`);
    put(STATE_GLOBAL_DNS, isObject(dns) ? dns : null);
    if (Object.keys(set).length > 0 || remove.length > 0) session.setMultiple(set, remove, []);
  }
}

/** RouteCompare: destination, prefix length, then (same destination, other interface) rank, then index. */
function compareRoutes(a: IPMonitorRoute, aRank: number, b: IPMonitorRoute, bRank: number): { cmp: number; sameDest: boolean } {
  if (a.dest !== b.dest) return { cmp: a.dest < b.dest ? -1 : 1, sameDest: false };
  if (a.prefixLength !== b.prefixLength) return { cmp: a.prefixLength - b.prefixLength, sameDest: false };
  const indexCmp = a.ifindex - b.ifindex;
  if (indexCmp === 0) return { cmp: 0, sameDest: false };
  if ((a.ifindex === 0 || b.ifindex === 0) && !a.isScoped && !b.isScoped) return { cmp: 0, sameDest: false };
  const rankCmp = aRank === bRank ? 0 : aRank < bRank ? -1 : 1;
  return { cmp: rankCmp !== 0 ? rankCmp : indexCmp, sameDest: true };
}

/** RouteListLookup: the route a destination would take within one interface (or outside it). */
function lookup(list: IPMonitorRoute[], address: number, bits: number, ifindex: number, excludeInterface: boolean): IPMonitorRoute | undefined {
  let best: IPMonitorRoute | undefined;
  for (const r of list) {
    if (r.ifindex === 0 || r.excludeIfindex !== 0) continue;
    if (excludeInterface ? r.ifindex === ifindex : r.ifindex !== ifindex) continue;
    if (r.hasGateway && r.gateway === address) continue;
    if (r.isHost) {
      if (bits === 32 && r.dest === address) return r;
      continue;
    }
    if (((address & r.mask) >>> 0) !== r.dest) continue;
    if (r.prefixLength === bits) return r;
    if (r.prefixLength > bits) continue;
    if (best === undefined || r.prefixLength > best.prefixLength) best = r;
  }
  return best;
}

/** IPv4RouteIsEqual: dest, mask, interface, ifa, gateway and flags (scoping included). */
function routesEqual(a: IPMonitorRoute, b: IPMonitorRoute): boolean {
  return a.dest === b.dest && a.mask === b.mask && a.ifindex === b.ifindex && a.ifa === b.ifa && a.gateway === b.gateway &&
    a.hasGateway === b.hasGateway && a.isHost === b.isHost && a.isScoped === b.isScoped && a.isNull === b.isNull;
}
