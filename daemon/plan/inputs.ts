/**
 * @module plan/inputs
 * What a plan depends on, for one profile: the facts planRoutes reads, and nothing it does
 * not. Facts with the same inputs give the same plan, so the daemon keeps its plan (and what
 * the engine derived from it once: the keys of 10,000 routes, 25–45 ms to redo) across
 * changes the planner never reads: an address added to the physical interface when the
 * profile excludes nothing (an IPv6 privacy address, a second address), the tunnel's
 * addresses when the profile names its own, a peer's handshake.
 */
import type { Profile } from '../profile/profile.js';
import type { PlanFacts } from './facts.js';
import { tunnelAddresses } from './plan.js';

/** A value that is equal (as JSON) for two sets of facts exactly when the plan cannot tell them apart. */
export function planInputs(profile: Profile, facts: PlanFacts): unknown {
  // The system strategy (macOS, configd) reads more: the tunnel's link-local address, and the
  // physical subnets for endpoints too. It plans from the facts as they are.
  if (facts.os === 'darwin' && profile.strategy === 'system') return facts;
  return {
    ...facts,
    // Read only through tunnelAddresses: the profile's addresses, else the interface's of the planned families.
    tunnel: { name: facts.tunnel.name, index: facts.tunnel.index, addresses: tunnelAddresses(profile, facts) },
    // The physical subnets only decide whether an exclude prefix is on-link.
    physicalDefaults: profile.exclude.length > 0 ? facts.physicalDefaults : facts.physicalDefaults.map(({ subnets: _subnets, ...physical }) => physical),
    // A peer's last handshake changes every two minutes and plans nothing.
    ...(facts.peers ? { peers: { ...facts.peers, peers: facts.peers.peers.map(({ lastHandshake: _handshake, ...peer }) => peer) } } : {}),
  };
}
