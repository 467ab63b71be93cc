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
 */
import type { Family, Route, Rule } from '../model/route.js';
import { effectiveMetric, routeKey } from '../model/route.js';

export { effectiveMetric };
import type { Profile } from '../profile/profile.js';
import { covers, FAMILY_BITS, formatAddress, formatPrefix, parseAddress, type Prefix } from '../profile/prefix.js';
import { add, addRule, demoteToScoped, ensure, removeUnscoped, teardownOf, type Action } from './actions.js';
import type { ExistingRoute, PhysicalDefault, PlanFacts } from './facts.js';
import { allowedIpRoutes, endpointAddresses, type PlannedEndpoint } from './peers.js';

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
  families: Family[];
  warnings: string[];
  /** Listed, read from the tunnel (endpoints: auto) and resolved from host names. */
  endpoints: PlannedEndpoint[];
}

export function planRoutes(profile: Profile, facts: PlanFacts): Plan {
  const families: Family[] = profile.ipv6 ? ['inet', 'inet6'] : ['inet'];
  const warnings: string[] = [];
  const own = tunnelAddresses(profile, facts).map((a) => a.address);
  const ctx: Context = { profile, facts, families, warnings, endpoints: endpointAddresses(profile, facts, warnings, own) };
  const bypass = bypassActions(ctx);
  const tunnel = facts.os === 'darwin' ? darwinTunnel(ctx) : linuxTunnel(ctx);
  // A listed route that is one the mode already installs (0.0.0.0/1 with split-default, the
  // tunnel address) is the same kernel entry: planned once.
  const taken = new Set<string>();
  const routeActions = tunnel.routes.filter((a) => {
    const key = kernelKey((a as { route: Route }).route, facts.os);
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
  const families: Family[] = profile.ipv6 ? ['inet', 'inet6'] : ['inet'];
  return (fromProfile ?? fromInterface).filter((a) => families.includes(a.family));
}

// ---- endpoint and exclude routes: the physical side, both platforms -----------------

function bypassActions(ctx: Context): Action[] {
  const { profile, facts } = ctx;
  const out: Action[] = [];
  const via = (family: Family): PhysicalDefault | undefined => facts.physicalDefaults.find((d) => d.family === family);
  const bypass = (prefix: Prefix, origin: 'endpoint' | 'exclude', what: string): void => {
    if (!ctx.families.includes(prefix.family)) return;
    const physical = via(prefix.family);
    if (physical === undefined) {
      ctx.warnings.push(`no ${prefix.family === 'inet' ? 'IPv4' : 'IPv6'} physical default route: ${what} ${formatPrefix(prefix)} gets no route via the physical gateway`);
      return;
    }
    const host = prefix.length === FAMILY_BITS[prefix.family];
    // A prefix holding the gateway is the physical network itself (the LAN): it is on-link
    // there, so it points at the physical interface, as the kernel's own connected route does.
    const gatewayAddress = parseAddress(physical.gateway.split('%')[0] as string);
    const onLink = !host && gatewayAddress !== null && covers(prefix, { ...gatewayAddress, length: FAMILY_BITS[gatewayAddress.family] });
    const darwinFlags = onLink ? flags('UP', 'STATIC', 'CLONING') : flags('UP', 'GATEWAY', 'STATIC', ...(host ? ['HOST'] : []));
    out.push(
      add({
        family: prefix.family,
        destination: formatPrefix(prefix),
        gateway: onLink ? { link: physical.index } : { address: physical.gateway },
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

/** `routes`, then (split mode, `routes: auto`) the peers' allowed IPs. */
function listedRoutes(ctx: Context): Route[] {
  const auto = allowedIpRoutes(ctx.profile, ctx.facts, ctx.families, ctx.endpoints, ctx.warnings);
  return [...ctx.profile.routes, ...auto].filter((p) => ctx.families.includes(p.family)).map((p) => linkRoute(ctx, formatPrefix(p)));
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

  for (const destination of defaultSet(ctx, full && !replace)) {
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
    part.routes.push(add(linkRoute(ctx, destination, { scoped: !full })));
  }
  for (const route of listedRoutes(ctx)) part.routes.push(add(route));
  return part;
}

// ---- Linux --------------------------------------------------------------------------

function linuxTunnel(ctx: Context): TunnelPart {
  const part: TunnelPart = { demotions: [], removals: [], routes: [], rules: [], copies: [] };
  const { profile } = ctx;
  const full = profile.mode === 'full';
  const replace = full && profile.strategy === 'replace';
  const ours = profile.linux.metric;

  if (!full) {
    for (const destination of defaultSet(ctx, false)) part.routes.push(add(linkRoute(ctx, destination, { table: profile.linux.table })));
    const addresses = tunnelAddresses(profile, ctx.facts);
    if (addresses.length === 0) ctx.warnings.push(`no tunnel address known: split mode's rule "from <address> lookup ${profile.linux.table}" cannot be planned yet`);
    for (const a of addresses) {
      part.rules.push(addRule({ family: a.family, priority: profile.linux.rulePriority, from: `${a.address}/${FAMILY_BITS[a.family]}`, table: profile.linux.table }));
    }
  } else {
    for (const destination of defaultSet(ctx, !replace)) {
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
      part.routes.push(add(linkRoute(ctx, destination, { metric: replace ? ours : null })));
    }
  }
  for (const route of listedRoutes(ctx)) part.routes.push(add(route));
  return part;
}
