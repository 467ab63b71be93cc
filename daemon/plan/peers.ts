/**
 * @module plan/peers
 * The planner's view of the peers: which addresses get endpoint host routes, and which
 * allowed IPs become tunnel routes. One function each, shared by every consumer of the
 * plan's input (the route planner, configd's ExcludedRoutes), so `endpoints: auto`, host
 * names and listed addresses always mean the same set.
 */
import type { Family } from '../model/route.js';
import { FAMILY_BITS, formatAddress, formatPrefix, isDefault, parseAddress, parsePrefix, type Prefix } from '../profile/prefix.js';
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

/**
 * 169.254.0.0/16 and fe80::/10: reached on the link they belong to (wireguard-go keeps the
 * IPv6 zone, `[fe80::1%en0]:51820`), never through a router, which must not forward them
 * (RFC 3927 §2.6.2, RFC 4291 §2.5.6). A host route via the gateway would only misdirect them.
 */
function linkLocal({ family, value }: { family: Family; value: bigint }): boolean {
  return family === 'inet' ? value >> 16n === 0xa9fen : value >> 118n === 0x3fan;
}

const shortKey = (hex: string): string => `${Buffer.from(hex, 'hex').toString('base64').slice(0, 8)}…`;

/**
 * Every endpoint address the plan routes via the physical gateway: the listed ones, then
 * with `endpoints: auto` each peer's current endpoint, then the addresses the host names
 * resolved to. Each address once; never the tunnel's own addresses, link-local ones or the
 * physical gateway itself (each a warning).
 */
export function endpointAddresses(profile: Profile, facts: PlanFacts, warnings: string[], own: readonly string[] = []): PlannedEndpoint[] {
  const out: PlannedEndpoint[] = [];
  const seen = new Set<string>();
  const gateways = new Set(facts.physicalDefaults.map((d) => d.gateway.split('%')[0] as string).flatMap((g) => {
    const parsed = parseAddress(g);
    return parsed ? [formatAddress(parsed.family, parsed.value)] : [];
  }));
  const push = (text: string, from: string): void => {
    const parsed = parseAddress(text);
    if (parsed === null) return;
    const address = formatAddress(parsed.family, parsed.value);
    if (!routable(parsed)) {
      warnings.push(`endpoint ${address} (${from}) is not a unicast address outside this host: it gets no route`);
      return;
    }
    if (linkLocal(parsed)) {
      warnings.push(`endpoint ${address} (${from}) is link-local: it is reached on its own link, never via a gateway, so it gets no route`);
      return;
    }
    // The gateway is on-link by definition (the physical default depends on it), and a host
    // route to it via itself is a loop the kernel refuses (XNU: EADDRNOTAVAIL).
    if (gateways.has(address)) {
      if (!seen.has(address)) warnings.push(`endpoint ${address} (${from}) is the physical gateway itself: it is reached on its link and needs no route`);
      seen.add(address);
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
 * "Which of these prefixes holds that one?" in O(distinct lengths) per question, not
 * O(prefixes): a peer may carry thousands of allowed IPs and an exclude list can be long.
 */
function coverIndex(prefixes: Iterable<Prefix>): (inner: Prefix) => Prefix | undefined {
  const byLength: Record<Family, Map<number, Map<bigint, Prefix>>> = { inet: new Map(), inet6: new Map() };
  for (const p of prefixes) {
    const lengths = byLength[p.family];
    const bucket = lengths.get(p.length) ?? new Map<bigint, Prefix>();
    if (!bucket.has(p.value)) bucket.set(p.value, p);
    lengths.set(p.length, bucket);
  }
  return (inner) => {
    const bits = BigInt(FAMILY_BITS[inner.family]);
    for (const [length, bucket] of byLength[inner.family]) {
      if (length > inner.length) continue;
      const shift = bits - BigInt(length);
      const found = bucket.get((inner.value >> shift) << shift);
      if (found) return found;
    }
    return undefined;
  };
}

/**
 * `routes: auto` in split mode: the peers' allowed IPs of the planned families. A default
 * (0.0.0.0/0, ::/0) is refused, since it would take the whole family out of split mode;
 * an allowed IP equal to an endpoint's host route or inside an exclude is left to those.
 * A peer's endpoint that gets no host route of its own (no `endpoints: auto`) but falls
 * inside a route into the tunnel is a warning: the tunnel would carry its own packets.
 */
export function allowedIpRoutes(profile: Profile, facts: PlanFacts, families: readonly Family[], endpoints: readonly PlannedEndpoint[], warnings: string[]): Prefix[] {
  if (!profile.wireguard.autoRoutes || profile.mode !== 'split') return [];
  const out: Prefix[] = [];
  const taken = new Set<string>();
  const endpointHosts = new Map(endpoints.map((e) => [`${e.address}/${FAMILY_BITS[e.family]}`, e.address]));
  const excludedBy = coverIndex(profile.exclude);
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
      const excluded = excludedBy(prefix);
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
  const intoTunnel = coverIndex([...profile.routes, ...out]);
  const routed = new Set(endpoints.map((e) => e.address));
  for (const peer of facts.peers?.peers ?? []) {
    const address = peer.endpoint && parseAddress(peer.endpoint.address);
    if (!address || routed.has(formatAddress(address.family, address.value)) || !families.includes(address.family)) continue;
    const host = { ...address, length: FAMILY_BITS[address.family] };
    const route = intoTunnel(host);
    if (route && !excludedBy(host)) {
      warnings.push(`peer ${shortKey(peer.publicKey)}'s endpoint ${peer.endpoint?.address} is inside ${formatPrefix(route)}, routed into the tunnel, and has no endpoint route: the tunnel would carry its own packets, expected endpoints: auto (or the endpoint listed)`);
    }
  }
  return out;
}

/**
 * Full mode sends a whole family into the tunnel, but wireguard-go drops every packet no
 * peer allows. When the peers were read and their allowed IPs together leave part of a
 * planned family uncovered (a split-tunnel config under `mode: full`), say so: that traffic
 * would vanish. Union of ranges, sorted once: O(n log n) in the allowed IPs.
 */
export function fullModeCoverage(profile: Profile, facts: PlanFacts, families: readonly Family[], warnings: string[]): void {
  const peers = facts.peers;
  if (profile.mode !== 'full' || peers === undefined || peers.error !== null) return;
  const prefixes = peers.peers.flatMap((p) => p.allowedIps.flatMap((text) => {
    const parsed = parsePrefix(text);
    return parsed.ok ? [parsed.prefix] : [];
  }));
  if (prefixes.length === 0) return; // nothing read to judge by (no peers yet, or --endpoint flags alone)
  for (const family of families) {
    const bits = BigInt(FAMILY_BITS[family]);
    const ranges = prefixes
      .filter((p) => p.family === family)
      .map((p) => [p.value, p.value + (1n << (bits - BigInt(p.length)))] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let reached = 0n;
    for (const [start, end] of ranges) {
      if (start > reached) break;
      if (end > reached) reached = end;
    }
    if (reached < 1n << bits) {
      const all = family === 'inet' ? '0.0.0.0/0' : '::/0';
      warnings.push(`full mode sends all ${family === 'inet' ? 'IPv4' : 'IPv6'} traffic into the tunnel, but the peers' allowed IPs do not cover ${all}: wireguard-go drops what no peer allows, expected a peer allowing ${all} or mode: split with routes: auto`);
    }
  }
}
