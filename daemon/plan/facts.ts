/**
 * @module plan/facts
 * What the planner must know about the machine, and nothing more: the tunnel interface,
 * the physical default route(s), and the physical side's routes at the destinations a
 * full tunnel contends for. The daemon reads these from a snapshot; `tunroute plan` takes
 * them from flags; tests make them up.
 */
import { parsePrefix, type Prefix } from '../profile/prefix.js';
import type { Family, Route } from '../model/route.js';
import type { Platform } from '../profile/profile.js';

export interface InterfaceFacts {
  name: string;
  index: number;
  /**
   * The interface's addresses, "10.10.10.2" or "10.10.10.2/32" (a prefix length is
   * accepted and ignored). Used only when the profile has no `address`.
   */
  addresses: string[];
}

/** The physical route that endpoint and exclude routes go through, per family. */
export interface PhysicalDefault {
  family: Family;
  /** Next-hop address. */
  gateway: string;
  interface: string;
  index: number;
  /** Linux: the default's metric (null = 0). */
  metric?: number | null;
  /**
   * The physical interface's connected prefixes ("192.168.1.0/24", its addresses with their
   * lengths). An exclude prefix inside one of them is on-link there; any other goes via
   * `gateway`. Unknown (absent): every exclude prefix goes via `gateway`.
   */
  subnets?: string[];
}

/** A route as the kernel holds it: a Route without the planner's reason for it. */
export type ExistingRoute = Omit<Route, 'origin'>;

/**
 * What the tunnel and DNS say now, for `endpoints: auto`, `routes: auto` and endpoint host
 * names: read by the daemon (wireguard/peers), by `plan` on the live system, or given as
 * `--endpoint`/`--allowed-ip` flags.
 */
export interface PeerFacts {
  /** Where the peers came from: the UAPI socket's path, or "flags". */
  source: string;
  /** Why the peers could not be read (the last read's failure); null when they were. Peers then hold the last good reading. */
  error: string | null;
  peers: Array<{ publicKey: string; endpoint: { address: string; port: number } | null; allowedIps: string[]; /** Unix seconds; null: none yet or not known (flags). Not used by the planner. */ lastHandshake?: number | null }>;
  /** Endpoint host names and their addresses ([] until one resolves; the last good ones while it fails). */
  hosts: Array<{ name: string; addresses: string[]; error: string | null }>;
}

export interface PlanFacts {
  os: Platform;
  /** Absent: no peer was read and no host name resolved (the profile needs none, or nothing answered yet). */
  peers?: PeerFacts;
  tunnel: InterfaceFacts;
  /** At most one per family; none when offline. */
  physicalDefaults: PhysicalDefault[];
  /**
   * The physical side's routes to 0.0.0.0/0, ::/0, 224.0.0.0/4 and 255.255.255.255/32,
   * scoped and unscoped, as they were before tunroute touched them: routes tunroute moved
   * aside (journaled) are listed, tunroute's own routes are not. Only the unscoped ones
   * listed here are demoted, and teardown restores exactly them.
   */
  existing: ExistingRoute[];
}

/** The destinations a full tunnel takes from the physical side. */
export const CONTESTED: readonly string[] = ['0.0.0.0/0', '::/0', '224.0.0.0/4', '255.255.255.255/32'];

/** The physical interface's connected networks, as prefixes (an address with host bits names its network). */
export function connectedSubnets(physical: Pick<PhysicalDefault, 'subnets'>): Prefix[] {
  return (physical.subnets ?? []).flatMap((text) => {
    const parsed = parsePrefix(text);
    if (parsed.ok) return [parsed.prefix];
    return parsed.reason === 'host-bits' ? [parsed.network] : [];
  });
}
