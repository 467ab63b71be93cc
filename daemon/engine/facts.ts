/**
 * @module engine/facts
 * Derives the planner's facts from a kernel snapshot: the tunnel, the physical default(s)
 * and the physical routes at the destinations a full tunnel takes. Shared by the engine
 * and by `tunroute plan` on the live system, so both see the machine the same way.
 */
import type { KernelInterface, KernelRoute, KernelSnapshot } from '../backends/backend.js';
import type { Family, Route } from '../model/route.js';
import { routeKey } from '../model/route.js';
import { CONTESTED, type ExistingRoute, type PhysicalDefault, type PlanFacts } from '../plan/facts.js';

const DEFAULT_DESTINATION: Record<Family, string> = { inet: '0.0.0.0/0', inet6: '::/0' };

/**
 * @param moved physical routes tunroute moved aside (the journal): still the physical
 *   side's routes, so the planner keeps wanting the copies that stand in for them.
 */
/**
 * What putting `moved` back should write now: the journaled route, but with the gateway of
 * the scoped default the system keeps on the same interface when that gateway changed
 * meanwhile (a new network behind the same interface), so teardown does not resurrect a
 * default through a gateway that is gone.
 */
export function currentFormOf(moved: Route, routes: readonly KernelRoute[]): Route {
  const scoped = routes.find((r) => !r.tagged && r.family === moved.family && r.destination === moved.destination && r.scope === moved.index && r.gateway !== null && 'address' in r.gateway);
  if (!scoped || moved.scope !== null || !('address' in moved.gateway) || JSON.stringify(scoped.gateway) === JSON.stringify(moved.gateway)) return moved;
  return { ...moved, gateway: scoped.gateway! };
}

export function deriveFacts(snap: KernelSnapshot, tunnel: KernelInterface, os: PlanFacts['os'], moved: readonly Route[]): PlanFacts {
  const named = (index: number): string => snap.interfaces.find((i) => i.index === index)?.name ?? `#${index}`;
  // Connected networks of the physical interface, of the default's family.
  const subnetsOf = (index: number): string[] => snap.interfaces.find((i) => i.index === index)?.addresses ?? [];
  const foreign = snap.routes.filter((r) => !r.tagged && r.index !== tunnel.index);
  const physicalDefaults: PhysicalDefault[] = [];
  for (const family of ['inet', 'inet6'] as const) {
    const found = physicalDefault(foreign, family, named, moved, subnetsOf);
    if (found) physicalDefaults.push(found);
  }
  const existing: ExistingRoute[] = foreign
    .filter((r) => CONTESTED.includes(r.destination) && r.gateway !== null)
    .map((r) => ({ family: r.family, destination: r.destination, gateway: r.gateway!, interface: named(r.index), index: r.index, scope: r.scope, table: r.table, metric: r.metric, flags: r.flags, mtu: r.mtu }));
  for (const m of moved) {
    if (!existing.some((e) => routeKey(e) === routeKey(m))) {
      const { origin: _origin, ...route } = m;
      existing.push(route);
    }
  }
  return { os, tunnel: { name: tunnel.name, index: tunnel.index, addresses: tunnel.addresses }, physicalDefaults, existing };
}

/**
 * The gateway endpoint routes must use: the unscoped physical default if there is one.
 * After tunroute moved it aside, the scoped default on the same interface (configd keeps
 * it current when the network changes), else the route the journal remembers; failing
 * all, a scoped default on any physical interface (macOS keeps one per network service).
 */
function physicalDefault(foreign: KernelRoute[], family: Family, named: (index: number) => string, moved: readonly Route[], subnetsOf: (index: number) => string[]): PhysicalDefault | undefined {
  const defaults = foreign
    .filter((r) => r.family === family && r.destination === DEFAULT_DESTINATION[family] && r.gateway !== null && 'address' in r.gateway)
    .filter((r) => r.table === null || r.table === 254)
    .sort((a, b) => (a.scope === null ? 0 : 1) - (b.scope === null ? 0 : 1) || (a.metric ?? 0) - (b.metric ?? 0));
  const pick = (r: KernelRoute): PhysicalDefault => ({ family, gateway: (r.gateway as { address: string }).address, interface: named(r.index), index: r.index, metric: r.metric, subnets: subnetsOf(r.index) });
  const unscoped = defaults.find((r) => r.scope === null);
  if (unscoped) return pick(unscoped);
  const journaled = moved.find((r) => r.family === family && r.destination === DEFAULT_DESTINATION[family] && 'address' in r.gateway);
  const sameInterface = journaled && defaults.find((r) => r.scope === journaled.index);
  if (sameInterface) return pick(sameInterface);
  if (journaled && 'address' in journaled.gateway) return { family, gateway: journaled.gateway.address, interface: journaled.interface, index: journaled.index, metric: journaled.metric, subnets: subnetsOf(journaled.index) };
  const scoped = defaults[0];
  return scoped ? pick(scoped) : undefined;
}
