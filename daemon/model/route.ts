/**
 * @module model/route
 * The platform-neutral route model shared by the planner, the reconcile engine and the
 * backends. A backend turns these into PF_ROUTE or rtnetlink messages and back.
 */

export type Family = 'inet' | 'inet6';

/** Either the tunnel's link (macOS: its sockaddr_dl; Linux: the device, no next hop) or a next-hop address. */
export type Gateway = { link: number } | { address: string };

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
}

/**
 * Linux's metric when none is given: 0 for IPv4, 1024 for IPv6 (IP6_RT_PRIO_USER). Two
 * routes whose effective metrics match collide, however they were written.
 */
export function effectiveMetric(route: Pick<Route, 'family' | 'metric'>): number {
  return route.metric ?? (route.family === 'inet6' ? 1024 : 0);
}

/** True when two gateways lead to the same place (a missing one equals only another missing one). */
export function sameGateway(a: Gateway | null, b: Gateway | null): boolean {
  if (a === null || b === null) return a === b;
  if ('link' in a) return 'link' in b && a.link === b.link;
  return 'address' in b && a.address === b.address;
}

/** Linux policy rule: selects `table` for traffic from `from` (the tunnel address). */
export interface Rule {
  family: Family;
  priority: number;
  from: string;
  table: number;
}

/**
 * The kernel's identity of a route: two routes with the same key cannot coexist.
 * macOS keys on destination + mask + scope (the gateway is ignored, reference §3.5);
 * Linux on table + destination + metric.
 */
export function routeKey(route: Pick<Route, 'destination' | 'scope' | 'table' | 'metric'>): string {
  return `${route.table ?? '-'}|${route.destination}|${route.scope ?? '-'}|${route.metric ?? '-'}`;
}

export function ruleKey(rule: Rule): string {
  return `${rule.family}|${rule.priority}|${rule.from}|${rule.table}`;
}
