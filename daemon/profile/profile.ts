/**
 * @module profile/profile
 * The validated, normalised profile: every default filled in, every prefix parsed, every
 * duration in milliseconds. Only the validator builds one, so holding a Profile means
 * every check in profile/validate passed.
 */
import type { Family } from '../model/route.js';
import type { Prefix } from './prefix.js';

export type Platform = 'darwin' | 'linux';
export type Mode = 'full' | 'split';
/**
 * How the tunnel gets its routes (see the README's strategies). `system` (macOS only)
 * publishes the tunnel to configd and lets IPMonitor build the table, in both modes;
 * `policy` (Linux only) routes by policy rules; `replace` and `split-default` write the
 * routes themselves and choose how mode: full takes the default.
 */
export type FullTunnelStrategy = 'system' | 'policy' | 'replace' | 'split-default';
/**
 * What IPv6 traffic does: `tunnel` (YAML `true`): into the tunnel; `block` (YAML `false`,
 * the default): refused while a full tunnel is up (split mode routes no IPv6); `bypass`:
 * the physical network, on purpose.
 */
export type Ipv6Mode = 'tunnel' | 'block' | 'bypass';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

export type InterfaceSource = { kind: 'name'; name: string } | { kind: 'name-file'; path: string };

/** A tunnel address: the address itself, and the prefix length it was written with (host length when none). */
export interface TunnelAddress {
  family: Family;
  address: string;
  length: number;
}

export interface Endpoint {
  family: Family;
  address: string;
  /** The port, when written as wg's Endpoint (ignored for routing). */
  port: number | null;
}

/** An endpoint given by host name: resolved at start and again every `wireguard.resolveInterval`. */
export interface EndpointHost {
  name: string;
  port: number | null;
}

/** What the tunnel itself supplies (`endpoints: auto`, `routes: auto`) and how often it is asked: see wireguard/peers. */
export interface PeerOptions {
  /** `endpoints: auto`: every peer's current endpoint, read from wireguard-go's UAPI socket. */
  autoEndpoints: boolean;
  /** `routes: auto`: split mode routes the peers' allowed IPs (full mode: nothing extra). */
  autoRoutes: boolean;
  hosts: EndpointHost[];
  pollIntervalMs: number;
  resolveIntervalMs: number;
}

/** DNS for the tunnel, published with the `system` strategy (configd makes it the resolver). */
export interface DnsSettings {
  /** Resolver addresses, canonical. */
  servers: string[];
  searchDomains: string[];
}

export interface Profile {
  /** The file it came from, for messages. */
  file: string;
  /**
   * The instance's name (`name`, else the file name without .yaml/.yml): it names the
   * journal, the lock, the status socket and the service, so two profiles never share one.
   */
  name: string;
  interface: InterfaceSource;
  /** null: read from the interface at run time. */
  addresses: TunnelAddress[] | null;
  mode: Mode;
  strategy: FullTunnelStrategy;
  /** null: the tunnel publishes no DNS. */
  dns: DnsSettings | null;
  routes: Prefix[];
  exclude: Prefix[];
  /** The endpoints written as addresses; `wireguard` has those read from the tunnel or resolved from names. */
  endpoints: Endpoint[];
  wireguard: PeerOptions;
  multicast: boolean;
  broadcast: boolean;
  ipv6: Ipv6Mode;
  /** Route MTU in bytes; null leaves it to the interface. */
  mtu: number | null;
  linux: {
    table: number;
    rulePriority: number;
    metric: number;
    /** policy: `not fwmark M lookup <table>` instead of `lookup <table>`; null: unset. */
    fwmark: number | null;
    /** policy + fwmark: set the mark on the wireguard-go device through its UAPI socket. */
    setFwmark: boolean;
  };
  daemon: {
    logLevel: LogLevel;
    journal: string;
    reconcileIntervalMs: number;
    onTunnelDown: 'restore' | 'block';
    shutdownTimeoutMs: number;
    flap: { maxRepairs: number; windowMs: number; initialDelayMs: number; maxDelayMs: number };
  };
}

/** Where each platform keeps tunroute's durable state (journals, locks). */
export const STATE_DIR: Record<Platform, string> = {
  darwin: '/var/db/tunroute',
  linux: '/var/lib/tunroute',
};

/** A profile's default journal: one per profile name, so two tunnels never share one. */
export function defaultJournalPath(platform: Platform, name: string): string {
  return `${STATE_DIR[platform]}/${name}.journal.json`;
}

export const PROFILE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The name a profile file gets when it has no `name` key: its file name without .yaml/.yml. */
export function profileNameFromFile(file: string): string {
  const base = file.split('/').pop() ?? file;
  return base.replace(/\.ya?ml$/i, '');
}

export const DEFAULTS = {
  mode: 'full',
  /** The full-tunnel strategy when none is written: each platform's way of working with the table's owner. */
  strategy: { linux: 'policy', darwin: 'system' } as Record<Platform, FullTunnelStrategy>,
  multicast: true,
  broadcast: true,
  ipv6: 'block',
  linux: { table: 51820, rulePriority: 10000, metric: 0, setFwmark: false },
  daemon: {
    logLevel: 'info',
    reconcileInterval: '30s',
    onTunnelDown: 'restore',
    shutdownTimeout: '5s',
    flap: { maxRepairs: 5, window: '30s', initialDelay: '1s', maxDelay: '60s' },
  },
} as const;

/** Linux tables a profile may not take: unspec, default, main, local. */
export const RESERVED_LINUX_TABLES: ReadonlyMap<number, string> = new Map([
  [253, 'default'],
  [254, 'main'],
  [255, 'local'],
]);
