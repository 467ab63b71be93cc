/**
 * @module plan/plan
 * The planner: a pure function from a profile and the facts about the machine to the
 * routes and rules to own, the ordered actions that get there, and their undo.
 *
 * macOS (PF_ROUTE), reproducing what NetworkExtension builds:
 * - tunnel routes have the utun's link as gateway (sockaddr_dl, no RTF_GATEWAY) and flags
 *   UP|STATIC|CLONING; scoped ones add IFSCOPE with the utun's index;
 * - full/replace: unscoped 0/0 (::/0), 224/4 and 255.255.255.255/32 on the utun. A
 *   physical unscoped route to one of those is first copied as a scoped route on its own
 *   interface, then removed; teardown restores it;
 * - full/split-default: 0/1 + 128/1 (::/1 + 8000::/1) unscoped; multicast and broadcast
 *   only where no physical route holds the destination, since this strategy never
 *   touches a route it did not add;
 * - split: the same default/multicast/broadcast routes scoped to the utun, so only
 *   traffic bound to the tunnel uses them, plus `routes` unscoped;
 * - the tunnel address's host route (UH, gateway = the address) is ensured, not owned.
 *
 * Linux (rtnetlink): device routes (`dev TUN`, no next hop), flags empty, scope null:
 * - full/policy (the Linux default): table `linux.table` holds default/multicast/broadcast
 *   via the tunnel; rule `lookup main suppress_prefixlength 0` (priority P) lets main's
 *   specific routes (LAN, endpoints, excludes) win, then `lookup <table>` (P+1), or
 *   `not fwmark M lookup <table>` when the VPN marks its own packets. Main is never touched.
 *   With onTunnelDown: block, the table also holds an unreachable default at the highest
 *   metric, which is all that is left when the device goes: a kill switch;
 * - full/split-default: 0/1 + 128/1 (+ ::/1, 8000::/1) in main;
 * - full/replace: a default in main with `linux.metric`, which wins over the physical
 *   default without deleting it; a physical default at that metric or below is first
 *   copied one metric higher, then removed, and restored on teardown;
 * - split: table `linux.table` holds default/multicast/broadcast via the tunnel and a
 *   rule `from <tunnel address> lookup <table>` (priority `linux.rulePriority`) selects
 *   it; `routes` go into main.
 *
 * Both: endpoint host routes and exclude prefixes go via the physical gateway,
 * unscoped (main), installed first and removed last, so the tunnel never carries its own
 * packets, not even for an instant.
 *
 * IPv6 in mode full (profile.ipv6): `tunnel` plans the IPv6 routes like the IPv4 ones;
 * `block` puts a route that refuses IPv6 where the IPv6 default would go (Linux:
 * `unreachable` in the policy table, or in main at the tunnel's metric / as the two halves;
 * macOS: RTF_REJECT via ::1, as Apple's null IPv6 service does), so nothing leaks while
 * link-local and the LAN's own prefixes (more specific, or consulted first) keep working;
 * `bypass` plans nothing for IPv6 and warns. IPv6 metric 0 is 1024 in the Linux kernel,
 * so `replace` gives IPv6 metric 1 when `linux.metric` is 0.
 */
import type { Family, Route, RouteType, Rule } from '../model/route.js';
import { effectiveMetric, isZonedIPv6, routeKey } from '../model/route.js';

export { effectiveMetric };
import type { Profile } from '../profile/profile.js';
import { covers, FAMILY_BITS, formatAddress, formatPrefix, parseAddress, parsePrefix, type Prefix } from '../profile/prefix.js';
import { add, addRule, demoteToScoped, ensure, removeUnscoped, teardownOf, type Action } from './actions.js';
import { connectedSubnets, type ExistingRoute, type PhysicalDefault, type PlanFacts } from './facts.js';
import { allowedIpRoutes, endpointAddresses, fullModeCoverage, type PlannedEndpoint } from './peers.js';
import type { Publication } from '../engine/publisher.js';
import { planSystem } from '../strategies/system.js';

export interface Plan {
  os: PlanFacts['os'];
  /** Every route the plan wants in the table, in install order. */
  routes: Route[];
  rules: Rule[];
  actions: Action[];
  /** The undo of `actions`, in execution order. */
  teardown: Action[];
  /** What the plan had to leave out, and why (offline, a held destination). */
  warnings: string[];
  /** The `system` strategy: what is published to configd; `routes` is then the table IPMonitor should build. */
  publication?: Publication;
}

export const MAIN_TABLE = 254;


/** The kernel's identity of a route on `os`: routeKey, with Linux's default metric made explicit. */
export function kernelKey(route: Pick<Route, 'family' | 'destination' | 'scope' | 'table' | 'metric'>, os: PlanFacts['os']): string {
  return routeKey(os === 'linux' ? { ...route, metric: effectiveMetric(route) } : route);
}

/** Flags a PF_ROUTE request may carry; the kernel adds the others (PRCLONING, GLOBAL, MULTICAST …) itself. */
const REQUESTABLE_FLAGS = new Set(['UP', 'GATEWAY', 'HOST', 'REJECT', 'STATIC', 'CLONING', 'BLACKHOLE', 'IFSCOPE']);
const FLAG_ORDER = ['UP', 'GATEWAY', 'HOST', 'REJECT', 'STATIC', 'CLONING', 'BLACKHOLE', 'IFSCOPE'];

function flags(...names: string[]): string[] {
  return FLAG_ORDER.filter((f) => names.includes(f));
}

const DEFAULTS: Record<Family, string> = { inet: '0.0.0.0/0', inet6: '::/0' };
const HALVES: Record<Family, [string, string]> = { inet: ['0.0.0.0/1', '128.0.0.0/1'], inet6: ['::/1', '8000::/1'] };
const MULTICAST = '224.0.0.0/4';
const BROADCAST = '255.255.255.255/32';

interface Context {
  profile: Profile;
  facts: PlanFacts;
  /** The families routed into the tunnel. */
  families: Family[];
  /** IPv6 is refused while the full tunnel is up (ipv6: block). */
  block6: boolean;
  warnings: string[];
  /** Listed, read from the tunnel (endpoints: auto) and resolved from host names. */
  endpoints: PlannedEndpoint[];
}

/** The families a profile routes into the tunnel: IPv6 only with `ipv6: true` (tunnel). */
export function tunnelFamilies(profile: Profile): Family[] {
  return profile.ipv6 === 'tunnel' ? ['inet', 'inet6'] : ['inet'];
}

/** One sentence on what a profile does with IPv6, for `check` and `plan`. */
export function ipv6Summary(profile: Profile): string {
  if (profile.ipv6 === 'tunnel') return 'IPv6 into the tunnel';
  if (profile.mode === 'split') return profile.ipv6 === 'bypass' ? 'IPv6 on the physical network (bypass)' : 'no IPv6 routed';
  return profile.ipv6 === 'block' ? 'IPv6 blocked while the tunnel is up' : 'IPv6 NOT protected: it uses the physical network (ipv6: bypass)';
}

export function planRoutes(profile: Profile, facts: PlanFacts): Plan {
  if (facts.os === 'darwin' && profile.strategy === 'system') {
    // tunroute writes no route: configd's IPMonitor builds the table from the published service.
    const { publication, warnings } = planSystem(profile, facts);
    return { os: facts.os, routes: publication.expected, rules: [], actions: [], teardown: [], warnings, publication };
  }
  const warnings: string[] = [];
  const own = tunnelAddresses(profile, facts).map((a) => a.address);
  const ctx: Context = { profile, facts, families: tunnelFamilies(profile), block6: profile.mode === 'full' && profile.ipv6 === 'block', warnings, endpoints: endpointAddresses(profile, facts, warnings, own) };
  if (profile.mode === 'full' && profile.ipv6 === 'bypass') ctx.warnings.push('ipv6: bypass: IPv6 traffic uses the physical network while the tunnel is up, outside the tunnel');
  fullModeCoverage(profile, facts, ctx.families, warnings);
  const bypass = bypassActions(ctx);
  const tunnel = facts.os === 'darwin' ? darwinTunnel(ctx) : linuxTunnel(ctx);
  // A listed route that is one the mode already installs (0.0.0.0/1 with split-default, the
  // tunnel address) is the same kernel entry: planned once.
  const taken = new Set<string>();
  const routeActions = tunnel.routes.filter((a) => {
    const key = listedKeys.get(a) ?? kernelKey((a as { route: Route }).route, facts.os);
    if (taken.has(key)) return false;
    taken.add(key);
    return true;
  });
  const actions = [...bypass, ...tunnel.demotions, ...tunnel.removals, ...routeActions, ...tunnel.rules];
  const routes = actions.filter((a) => a.kind === 'add' || a.kind === 'ensure').map((a) => (a as { route: Route }).route);
  // A scoped copy that already exists is wanted all the same: it is what the physical side now runs on.
  const copies = tunnel.copies.filter((c) => !routes.some((r) => routeKey(r) === routeKey(c)));
  return {
    os: facts.os,
    routes: [...routes.filter((r) => r.origin === 'endpoint' || r.origin === 'exclude'), ...copies, ...routes.filter((r) => r.origin !== 'endpoint' && r.origin !== 'exclude')],
    rules: tunnel.rules.map((a) => (a as { rule: Rule }).rule),
    actions,
    teardown: teardownOf(actions),
    warnings: ctx.warnings,
  };
}

/** The tunnel's addresses: the profile's, else the interface's; only of planned families. */
export function tunnelAddresses(profile: Profile, facts: PlanFacts): Array<{ family: Family; address: string }> {
  const fromProfile = profile.addresses?.map((a) => ({ family: a.family, address: a.address }));
  const fromInterface = facts.tunnel.addresses.flatMap((text) => {
    const parsed = parseAddress(text.split('/')[0] as string);
    return parsed ? [{ family: parsed.family, address: formatAddress(parsed.family, parsed.value) }] : [];
  });
  const families = tunnelFamilies(profile);
  return (fromProfile ?? fromInterface).filter((a) => families.includes(a.family));
}

// ---- endpoint and exclude routes: the physical side, both platforms -----------------

function bypassActions(ctx: Context): Action[] {
  const { profile, facts } = ctx;
  const out: Action[] = [];
  const via = (family: Family): PhysicalDefault | undefined => facts.physicalDefaults.find((d) => d.family === family);
  // A blocked IPv6 still needs its endpoints' routes: the tunnel may run over IPv6.
  const families: Family[] = ctx.block6 ? ['inet', 'inet6'] : ctx.families;
  const bypass = (prefix: Prefix, origin: 'endpoint' | 'exclude', what: string): void => {
    if (!families.includes(prefix.family)) return;
    const physical = via(prefix.family);
    if (physical === undefined) {
      ctx.warnings.push(`no ${prefix.family === 'inet' ? 'IPv4' : 'IPv6'} physical default route: ${what} ${formatPrefix(prefix)} gets no route via the physical gateway`);
      return;
    }
    const host = prefix.length === FAMILY_BITS[prefix.family];
    // An exclude prefix inside a network the physical interface is connected to is on-link
    // there (it points at the interface, as the kernel's own connected route does). Anything
    // else, a wider prefix that merely holds the gateway included, goes via the gateway:
    // sending it on-link would ask for neighbours that are not on the link.
    const onLink = origin === 'exclude' && connectedSubnets(physical).some((subnet) => covers(subnet, prefix));
    const darwinFlags = onLink ? flags('UP', 'STATIC', 'CLONING') : flags('UP', 'GATEWAY', 'STATIC', ...(host ? ['HOST'] : []));
    // A link-local gateway (fe80::1%en0) is only meaningful with its zone: the physical interface.
    const gatewayAddress = physical.gateway.split('%')[0] as string;
    const zone = facts.os === 'darwin' && isZonedIPv6(gatewayAddress) ? { scope: physical.index } : {};
    out.push(
      add({
        family: prefix.family,
        destination: formatPrefix(prefix),
        gateway: onLink ? { link: physical.index } : { address: gatewayAddress, ...zone },
        interface: physical.interface,
        index: physical.index,
        scope: null,
        table: facts.os === 'linux' ? MAIN_TABLE : null,
        metric: null,
        flags: facts.os === 'darwin' ? darwinFlags : [],
        mtu: null,
        origin,
      }),
    );
  };
  for (const endpoint of ctx.endpoints) {
    const parsed = parseAddress(endpoint.address);
    if (parsed) bypass({ family: parsed.family, value: parsed.value, length: FAMILY_BITS[parsed.family] }, 'endpoint', 'endpoint');
  }
  for (const prefix of profile.exclude) bypass(prefix, 'exclude', 'exclude');
  return out;
}

interface TunnelPart {
  demotions: Action[];
  removals: Action[];
  routes: Action[];
  rules: Action[];
  /** Every scoped copy the plan relies on, whether it must be added or already exists. */
  copies: Route[];
}

function familyOfPrefix(destination: string): Family {
  return destination.includes(':') ? 'inet6' : 'inet';
}

function linkRoute(ctx: Context, destination: string, options: { scoped?: boolean; table?: number | null; metric?: number | null } = {}): Route {
  const { name, index } = ctx.facts.tunnel;
  const darwin = ctx.facts.os === 'darwin';
  return {
    family: familyOfPrefix(destination),
    destination,
    gateway: { link: index },
    interface: name,
    index,
    scope: darwin && options.scoped ? index : null,
    table: darwin ? null : (options.table ?? MAIN_TABLE),
    metric: darwin ? null : (options.metric ?? null),
    flags: darwin ? flags('UP', 'STATIC', 'CLONING', ...(options.scoped ? ['IFSCOPE'] : [])) : [],
    mtu: ctx.profile.mtu,
    origin: 'tunnel',
  };
}

/** macOS: lo0, always the first interface the kernel attaches. */
const LO0_INDEX = 1;

/**
 * A route that refuses IPv6 at `destination` while the tunnel is up. Linux: an
 * `unreachable` route (the sender gets EHOSTUNREACH at once, so applications fall back to
 * IPv4 without waiting). macOS: RTF_REJECT via ::1 on lo0, the router of Apple's own null
 * IPv6 service.
 */
function blockRoute(ctx: Context, destination: string, options: { table?: number; metric?: number | null; family?: Family } = {}): Route {
  if (ctx.facts.os === 'darwin') {
    return { family: 'inet6', destination, gateway: { address: '::1' }, interface: 'lo0', index: LO0_INDEX, scope: null, table: null, metric: null, flags: flags('UP', 'GATEWAY', 'STATIC', 'REJECT'), mtu: null, origin: 'tunnel' };
  }
  const type: RouteType = 'unreachable';
  // No device and no next hop: the backend sends neither for a refusing route.
  return { family: options.family ?? 'inet6', destination, gateway: { link: 0 }, interface: '', index: 0, scope: null, table: options.table ?? MAIN_TABLE, metric: options.metric ?? null, flags: [], mtu: null, origin: 'tunnel', type };
}

/** The metric of the policy table's kill-switch default: behind any route of the tunnel's. */
export const KILL_SWITCH_METRIC = 0xffffffff;

/** The IPv6 destinations a blocked IPv6 needs refused: the default, or its two halves. */
function blockSet(ctx: Context, halves: boolean): string[] {
  return ctx.block6 ? (halves ? HALVES.inet6 : [DEFAULTS.inet6]) : [];
}

/** The default, multicast and broadcast destinations a profile wants, per family. */
function defaultSet(ctx: Context, halves: boolean): string[] {
  const out: string[] = [];
  for (const family of ctx.families) {
    out.push(...(halves ? HALVES[family] : [DEFAULTS[family]]));
    if (family === 'inet' && ctx.profile.multicast) out.push(MULTICAST);
    if (family === 'inet' && ctx.profile.broadcast) out.push(BROADCAST);
  }
  return out;
}

/**
 * The profile's `routes` as actions, kept per profile while the tunnel is the same interface:
 * they depend on nothing else, so a re-plan for a change on the physical side (a new gateway,
 * a subnet that now holds an exclude, an endpoint the peers moved) builds none of them again,
 * and the engine, which keys what it derives from a plan by action, derives none of their
 * keys again. At 10,000 routes, building them was most of a re-plan's 30 ms.
 */
const listedParts = new WeakMap<Profile, { os: PlanFacts['os']; name: string; index: number; actions: Action[] }>();
/** The kernel key of each kept listed action (planRoutes plans each key once). */
const listedKeys = new WeakMap<Action, string>();

/** `routes`, then (split mode, `routes: auto`) the peers' allowed IPs, as actions. */
function listedActions(ctx: Context): Action[] {
  const { profile, facts } = ctx;
  let part = listedParts.get(profile);
  if (part === undefined || part.os !== facts.os || part.name !== facts.tunnel.name || part.index !== facts.tunnel.index) {
    const actions = profile.routes.filter((p) => ctx.families.includes(p.family)).map((p) => add(linkRoute(ctx, formatPrefix(p))));
    for (const a of actions) listedKeys.set(a, kernelKey((a as { route: Route }).route, facts.os));
    part = { os: facts.os, name: facts.tunnel.name, index: facts.tunnel.index, actions };
    listedParts.set(profile, part);
  }
  const auto = allowedIpRoutes(profile, facts, ctx.families, ctx.endpoints, ctx.warnings);
  return [...part.actions, ...auto.filter((p) => ctx.families.includes(p.family)).map((p) => add(linkRoute(ctx, formatPrefix(p))))];
}

function asRoute(existing: ExistingRoute, origin: Route['origin']): Route {
  return { ...existing, flags: existing.flags.filter((f) => REQUESTABLE_FLAGS.has(f)), origin };
}

/** A physical route (not on the tunnel) that holds `destination` in the main/unscoped space. */
function physicalHolder(ctx: Context, destination: string): ExistingRoute | undefined {
  const darwin = ctx.facts.os === 'darwin';
  return ctx.facts.existing.find(
    (r) => r.destination === destination && r.index !== ctx.facts.tunnel.index && (darwin ? r.scope === null : (r.table ?? MAIN_TABLE) === MAIN_TABLE),
  );
}

// ---- macOS --------------------------------------------------------------------------

function darwinTunnel(ctx: Context): TunnelPart {
  const part: TunnelPart = { demotions: [], removals: [], routes: [], rules: [], copies: [] };
  const { profile } = ctx;
  const full = profile.mode === 'full';
  const replace = full && profile.strategy === 'replace';

  const v4 = tunnelAddresses(profile, ctx.facts).filter((a) => a.family === 'inet');
  if (v4.length === 0) ctx.warnings.push('no IPv4 tunnel address known (profile address or interface facts): its host route is left out');
  for (const address of v4) {
    part.routes.push(
      ensure({
        family: 'inet',
        destination: `${address.address}/32`,
        gateway: { address: address.address },
        interface: ctx.facts.tunnel.name,
        index: ctx.facts.tunnel.index,
        scope: null,
        table: null,
        metric: null,
        flags: flags('UP', 'HOST'),
        mtu: null,
        origin: 'host',
      }),
    );
  }

  const blocked = new Set(blockSet(ctx, full && !replace));
  for (const destination of [...defaultSet(ctx, full && !replace), ...blocked]) {
    const holder = physicalHolder(ctx, destination);
    if (replace && holder) {
      const physical = asRoute(holder, 'demoted');
      const copy: Route = { ...physical, scope: holder.index, flags: flags(...physical.flags, 'IFSCOPE') };
      part.copies.push(copy);
      const present = ctx.facts.existing.some((r) => r.destination === destination && r.scope === holder.index);
      if (!present) part.demotions.push(demoteToScoped(copy, physical));
      part.removals.push(removeUnscoped(physical));
    } else if (full && !replace && holder) {
      ctx.warnings.push(`${destination} is held by ${holder.interface}: split-default never touches a route it did not add, so it stays there`);
      continue;
    }
    part.routes.push(add(blocked.has(destination) ? blockRoute(ctx, destination) : linkRoute(ctx, destination, { scoped: !full })));
  }
  for (const action of listedActions(ctx)) part.routes.push(action);
  return part;
}

// ---- Linux --------------------------------------------------------------------------

function linuxTunnel(ctx: Context): TunnelPart {
  const part: TunnelPart = { demotions: [], removals: [], routes: [], rules: [], copies: [] };
  const { profile } = ctx;
  const full = profile.mode === 'full';

  if (!full) {
    for (const destination of defaultSet(ctx, false)) part.routes.push(add(linkRoute(ctx, destination, { table: profile.linux.table })));
    const addresses = tunnelAddresses(profile, ctx.facts);
    if (addresses.length === 0) ctx.warnings.push(`no tunnel address known: split mode's rule "from <address> lookup ${profile.linux.table}" cannot be planned yet`);
    for (const a of addresses) {
      part.rules.push(addRule({ family: a.family, priority: profile.linux.rulePriority, from: `${a.address}/${FAMILY_BITS[a.family]}`, table: profile.linux.table }));
    }
  } else if (profile.strategy === 'policy') {
    linuxPolicy(ctx, part);
  } else {
    linuxMain(ctx, part, profile.strategy === 'replace');
  }
  for (const action of listedActions(ctx)) part.routes.push(action);
  return part;
}

/**
 * full/policy: the tunnel's table and two rules per family; main is never written. IPv6
 * blocked: the table refuses ::/0 instead, behind the same two rules, so link-local and
 * the LAN (main's more specific routes) still answer.
 */
function linuxPolicy(ctx: Context, part: TunnelPart): void {
  const { table, rulePriority, fwmark } = ctx.profile.linux;
  for (const destination of defaultSet(ctx, false)) part.routes.push(add(linkRoute(ctx, destination, { table })));
  for (const destination of blockSet(ctx, false)) part.routes.push(add(blockRoute(ctx, destination, { table })));
  if (ctx.profile.daemon.onTunnelDown === 'block') {
    // The kill switch: behind the tunnel's defaults, an unreachable one at the highest metric.
    // When the device goes, the kernel drops its routes and this one is left, so with the
    // rules kept in place nothing falls through to main's physical default.
    for (const family of ctx.families) part.routes.push(add(blockRoute(ctx, DEFAULTS[family], { table, metric: KILL_SWITCH_METRIC, family })));
  }
  const families: Family[] = ctx.block6 ? ['inet', 'inet6'] : ctx.families;
  for (const family of families) {
    part.rules.push(addRule({ family, priority: rulePriority, from: null, table: MAIN_TABLE, suppressPrefixlength: 0 }));
    part.rules.push(addRule({ family, priority: rulePriority + 1, from: null, table, ...(fwmark === null ? {} : { fwmark, invert: true }) }));
  }
  if (fwmark === null && ctx.endpoints.length === 0) {
    ctx.warnings.push(`no endpoints and no linux.fwmark: nothing keeps the tunnel's own packets out of table ${table}; list the peers' endpoints (or set linux.fwmark)`);
  }
}

/** The tunnel's metric in main for `family`: IPv6 stores 0 as 1024, which would lose to the physical default. */
function tunnelMetric(ctx: Context, family: Family): number {
  const ours = ctx.profile.linux.metric;
  return family === 'inet6' && ours === 0 ? 1 : ours;
}

/** full/replace and full/split-default: the tunnel's routes in main. */
function linuxMain(ctx: Context, part: TunnelPart, replace: boolean): void {
  const blocked = new Set(blockSet(ctx, !replace));
  for (const destination of [...defaultSet(ctx, !replace), ...blocked]) {
    const family = familyOfPrefix(destination);
    const ours = tunnelMetric(ctx, family);
    const holder = physicalHolder(ctx, destination);
    const held = holder !== undefined && effectiveMetric(holder) === effectiveMetric({ family: holder.family, metric: null });
    if (replace && holder && effectiveMetric(holder) <= ours) {
      // The kernel prefers the lower metric and refuses an equal one (EEXIST): move it just above ours.
      const physical = asRoute(holder, 'demoted');
      const copy: Route = { ...physical, metric: ours + 1 };
      part.copies.push(copy);
      const present = ctx.facts.existing.some((r) => r.destination === destination && (r.table ?? MAIN_TABLE) === MAIN_TABLE && effectiveMetric(r) === ours + 1);
      if (!present) part.demotions.push(demoteToScoped(copy, physical));
      part.removals.push(removeUnscoped(physical));
    } else if (!replace && held) {
      ctx.warnings.push(`${destination} is held by ${holder.interface}: split-default never touches a route it did not add, so it stays there`);
      continue;
    }
    const metric = replace ? ours : null;
    part.routes.push(add(blocked.has(destination) ? blockRoute(ctx, destination, { metric }) : linkRoute(ctx, destination, { metric })));
  }
}
