/**
 * @module model/route
 * The platform-neutral route model shared by the planner, the reconcile engine and the
 * backends. A backend turns these into PF_ROUTE or rtnetlink messages and back.
 */

export type Family = 'inet' | 'inet6';

/**
 * Either the tunnel's link (macOS: its sockaddr_dl; Linux: the device, no next hop) or a
 * next-hop address. macOS: a link-local next hop (fe80::/10, ff02::) is meaningless without
 * its zone, so `scope` carries the interface index it belongs to (`fe80::1%en0`); it is
 * absent for every other address, and always on Linux (the route's device is the zone).
 */
export type Gateway = { link: number } | { address: string; scope?: number };

/** True for the IPv6 addresses XNU keeps with their zone embedded (KAME): fe80::/10 and the link-/interface-local multicast ff01::/16, ff02::/16. */
export function isZonedIPv6(address: string): boolean {
  const head = address.toLowerCase();
  return /^fe[89ab][0-9a-f]?:/.test(head) || /^ff[0-9a-f]?[12]:/.test(head);
}

/** A gateway as text: `link#36`, `192.168.1.1`, `fe80::1%4`. */
export function gatewayText(g: Gateway): string {
  if ('link' in g) return `link#${g.link}`;
  return g.scope ? `${g.address}%${g.scope}` : g.address;
}

/**
 * Why a route is in the plan: into the tunnel, an endpoint's bypass, a physical route we
 * moved, the tunnel address's host route, or an `exclude` prefix kept on the physical gateway.
 */
export type RouteOrigin = 'tunnel' | 'endpoint' | 'demoted' | 'host' | 'exclude';

export interface Route {
  family: Family;
  /** Canonical CIDR: "0.0.0.0/0", "10.10.10.2/32", "::/1". */
  destination: string;
  gateway: Gateway;
  /** The interface the route goes out of, by name and index. */
  interface: string;
  index: number;
  /** macOS: the RTF_IFSCOPE interface index, null for an unscoped route. Always null on Linux. */
  scope: number | null;
  /** Linux: the routing table (254 = main). Always null on macOS. */
  table: number | null;
  /** Linux: the route's priority (metric); null when unset. Always null on macOS. */
  metric: number | null;
  /** macOS: the RTF_* names requested, without the prefix ("UP", "STATIC", "CLONING"). Empty on Linux. */
  flags: string[];
  /** Route MTU (RTV_MTU / RTAX_MTU); null when unset. */
  mtu: number | null;
  origin: RouteOrigin;
  /**
   * Linux: what the route does. Absent means `unicast` (forward via gateway/device);
   * `unreachable`, `prohibit` and `blackhole` refuse traffic (no device, no gateway) and
   * are how IPv6 is blocked while the tunnel is up. macOS uses flags (REJECT) instead.
   */
  type?: RouteType;
}

export type RouteType = 'unicast' | 'unreachable' | 'prohibit' | 'blackhole';

/** A route's type, `unicast` when unset. */
export function routeType(route: { type?: RouteType | undefined }): RouteType {
  return route.type ?? 'unicast';
}

/**
 * The metric Linux stores: as given for IPv4 (0 when unset); for IPv6 an unset metric and
 * a metric of 0 both become 1024 (IP6_RT_PRIO_USER, ip6_route_info_create). Two routes
 * whose effective metrics match collide, however they were written.
 */
export function effectiveMetric(route: Pick<Route, 'family' | 'metric'>): number {
  if (route.family === 'inet6') return route.metric === null || route.metric === 0 ? 1024 : route.metric;
  return route.metric ?? 0;
}

/** True when two gateways lead to the same place (a missing one equals only another missing one). */
export function sameGateway(a: Gateway | null, b: Gateway | null): boolean {
  if (a === null || b === null) return a === b;
  if ('link' in a) return 'link' in b && a.link === b.link;
  return 'address' in b && a.address === b.address && (a.scope ?? 0) === (b.scope ?? 0);
}

/**
 * Linux policy rule: `[not] from FROM [fwmark M] lookup TABLE [suppress_prefixlength N]`.
 * Split mode selects the tunnel's table for traffic from the tunnel address; the `policy`
 * full tunnel uses `from all lookup main suppress_prefixlength 0` then `from all lookup T`
 * (or `not from all fwmark M lookup T`).
 */
export interface Rule {
  family: Family;
  priority: number;
  /** A prefix, or null for "from all". */
  from: string | null;
  table: number;
  /** Routes of `table` with a prefix this long or shorter are ignored (0: everything but a default). Null: unset. */
  suppressPrefixlength?: number | null;
  /** Matches packets carrying this firewall mark; null/absent: any. */
  fwmark?: number | null;
  /** `not`: the rule applies to packets that do NOT match it. */
  invert?: boolean;
}

/**
 * The kernel's identity of a route: two routes with the same key cannot coexist.
 * macOS keys on destination + mask + scope (the gateway is ignored, reference §3.5);
 * Linux on table + destination + metric.
 */
export function routeKey(route: Pick<Route, 'destination' | 'scope' | 'table' | 'metric'>): string {
  return `${route.table ?? '-'}|${route.destination}|${route.scope ?? '-'}|${route.metric ?? '-'}`;
}

/**
 * A rule's full identity: every attribute it has, so two rules that differ in anything (a
 * mark, a suppressed prefix length, `not`) never share a key. The journal's ledger owns
 * rules by this key, so an attribute added to Rule must be added here too.
 */
export function ruleKey(rule: Rule): string {
  const extra = `${rule.suppressPrefixlength ?? '-'}|${rule.fwmark ?? '-'}|${rule.invert === true ? 'not' : ''}`;
  return `${rule.family}|${rule.priority}|${rule.from ?? 'all'}|${rule.table}|${extra}`;
}

/** `ip rule`'s words for a rule, without its priority: "not from all fwmark 0xca6c lookup 51820". */
export function describeRule(rule: Rule, tableName: (table: number) => string = String): string {
  const words = [rule.invert === true ? 'not' : null, `from ${rule.from ?? 'all'}`, rule.fwmark != null ? `fwmark 0x${rule.fwmark.toString(16)}` : null, `lookup ${tableName(rule.table)}`];
  if (rule.suppressPrefixlength != null) words.push(`suppress_prefixlength ${rule.suppressPrefixlength}`);
  return words.filter((w) => w !== null).join(' ');
}
