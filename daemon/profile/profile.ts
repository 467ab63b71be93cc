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
export type FullTunnelStrategy = 'replace' | 'split-default';
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

export interface Profile {
  /** The file it came from, for messages. */
  file: string;
  interface: InterfaceSource;
  /** null: read from the interface at run time. */
  addresses: TunnelAddress[] | null;
  mode: Mode;
  strategy: FullTunnelStrategy;
  routes: Prefix[];
  exclude: Prefix[];
  endpoints: Endpoint[];
  multicast: boolean;
  broadcast: boolean;
  ipv6: boolean;
  /** Route MTU in bytes; null leaves it to the interface. */
  mtu: number | null;
  linux: { table: number; rulePriority: number; metric: number };
  daemon: {
    logLevel: LogLevel;
    journal: string;
    reconcileIntervalMs: number;
    onTunnelDown: 'restore' | 'block';
    shutdownTimeoutMs: number;
    flap: { maxRepairs: number; windowMs: number; initialDelayMs: number; maxDelayMs: number };
  };
}

export const DEFAULT_JOURNAL: Record<Platform, string> = {
  darwin: '/var/db/tunroute/journal.json',
  linux: '/var/lib/tunroute/journal.json',
};

export const DEFAULTS = {
  mode: 'full',
  strategy: 'replace',
  multicast: true,
  broadcast: true,
  ipv6: false,
  linux: { table: 51820, rulePriority: 10000, metric: 0 },
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
