/**
 * @module plan/peers
 * The planner's view of the peers: which addresses get endpoint host routes, and which
 * allowed IPs become tunnel routes. One function each, shared by every consumer of the
 * plan's input (the route planner, configd's ExcludedRoutes), so `endpoints: auto`, host
 * names and listed addresses always mean the same set.
 */
import type { Family } from '../model/route.js';
import { covers, FAMILY_BITS, formatAddress, formatPrefix, isDefault, parseAddress, parsePrefix, type Prefix } from '../profile/prefix.js';
import type { Profile } from '../profile/profile.js';
import type { PlanFacts } from './facts.js';

export interface PlannedEndpoint {
  family: Family;
  /** Canonical address. */
  address: string;
  /** Where it came from, for messages: `endpoints[0]`, `peer 3q2+…`, `vpn.example.com`. */
  from: string;
}

/** Not unspecified, loopback or multicast: an address a route via the gateway makes sense for (a host name may resolve to anything). */
function routable({ family, value }: { family: Family; value: bigint }): boolean {
  if (value === 0n) return false;
  if (family === 'inet') return value >> 24n !== 127n && value >> 28n !== 0xen && value !== 0xffffffffn;
  return value !== 1n && value >> 120n !== 0xffn;
}

const shortKey = (hex: string): string => `${Buffer.from(hex, 'hex').toString('base64').slice(0, 8)}…`;

/**
 * Every endpoint address the plan routes via the physical gateway: the listed ones, then
 * with `endpoints: auto` each peer's current endpoint, then the addresses the host names
 * resolved to. Each address once; the tunnel's own addresses never.
 */
export function endpointAddresses(profile: Profile, facts: PlanFacts, warnings: string[], own: readonly string[] = []): PlannedEndpoint[] {
  const out: PlannedEndpoint[] = [];
  const seen = new Set<string>();
  const push = (text: string, from: string): void => {
    const parsed = parseAddress(text);
    if (parsed === null) return;
    const address = formatAddress(parsed.family, parsed.value);
    if (!routable(parsed)) {
      warnings.push(`endpoint ${address} (${from}) is not a unicast address outside this host: it gets no route`);
      return;
    }
    if (own.includes(address)) {
      warnings.push(`endpoint ${address} (${from}) is the tunnel's own address: it gets no route via the physical gateway`);
      return;
    }
    if (seen.has(address)) return;
    seen.add(address);
    out.push({ family: parsed.family, address, from });
  };
  profile.endpoints.forEach((e) => push(e.address, 'listed'));
  const peers = facts.peers;
  const wanted = profile.wireguard.autoEndpoints || (profile.wireguard.autoRoutes && profile.mode === 'split');
  if (wanted) {
    if (peers === undefined) warnings.push('the tunnel\'s peers have not been read yet: endpoints: auto and routes: auto add nothing for now');
    else if (peers.error !== null) warnings.push(`cannot read the tunnel's peers (${peers.error})${peers.peers.length > 0 ? ': using the last reading' : ''}`);
  }
  if (profile.wireguard.autoEndpoints) {
    for (const peer of peers?.peers ?? []) if (peer.endpoint) push(peer.endpoint.address, `peer ${shortKey(peer.publicKey)}`);
  }
  for (const host of profile.wireguard.hosts) {
    const found = peers?.hosts.find((h) => h.name === host.name);
    if (!found || (found.addresses.length === 0 && found.error === null)) warnings.push(`endpoint ${host.name} has not been resolved yet: no route for it`);
    else if (found.addresses.length === 0) warnings.push(`endpoint ${host.name} does not resolve (${found.error}): no route for it`);
    else if (found.error !== null) warnings.push(`endpoint ${host.name} does not resolve now (${found.error}): keeping its last addresses`);
    for (const address of found?.addresses ?? []) push(address, host.name);
  }
  return out;
}

/**
 * `routes: auto` in split mode: the peers' allowed IPs of the planned families. A default
 * (0.0.0.0/0, ::/0) is refused, since it would take the whole family out of split mode;
 * an allowed IP equal to an endpoint's host route or inside an exclude is left to those.
 */
export function allowedIpRoutes(profile: Profile, facts: PlanFacts, families: readonly Family[], endpoints: readonly PlannedEndpoint[], warnings: string[]): Prefix[] {
  if (!profile.wireguard.autoRoutes || profile.mode !== 'split') return [];
  const out: Prefix[] = [];
  const taken = new Set<string>();
  const endpointHosts = new Map(endpoints.map((e) => [`${e.address}/${FAMILY_BITS[e.family]}`, e.address]));
  for (const peer of facts.peers?.peers ?? []) {
    for (const text of peer.allowedIps) {
      const parsed = parsePrefix(text);
      if (!parsed.ok || !families.includes(parsed.prefix.family)) continue;
      const prefix = parsed.prefix;
      if (isDefault(prefix)) {
        warnings.push(`routes: auto: peer ${shortKey(peer.publicKey)} allows ${text}, the whole ${prefix.family === 'inet' ? 'IPv4' : 'IPv6'} internet: split mode refuses it, expected mode: full for a full tunnel`);
        continue;
      }
      const canonical = formatPrefix(prefix);
      const endpoint = endpointHosts.get(canonical);
      if (endpoint !== undefined) {
        warnings.push(`routes: auto: allowed IP ${text} is the endpoint ${endpoint}, which must bypass the tunnel: left out`);
        continue;
      }
      const excluded = profile.exclude.find((x) => covers(x, prefix));
      if (excluded) {
        // As check refuses for listed routes: the more specific tunnel route would defeat the exclude.
        warnings.push(`routes: auto: allowed IP ${text} is inside exclude ${formatPrefix(excluded)}, which keeps it on the physical network: left out`);
        continue;
      }
      if (taken.has(canonical)) continue;
      taken.add(canonical);
      out.push(prefix);
    }
  }
  return out;
}
