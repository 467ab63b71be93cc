/**
 * @module backends/backend
 * What the reconcile engine needs from a platform: a snapshot of the table, a stream of
 * changes, and route/rule writes. Everything platform-specific (wire format, tagging,
 * which kernel routes count as the same route) lives behind this interface.
 */
import type { Gateway, Route, Rule } from '../model/route.js';

/** A route as the kernel reports it: a Route without the planner's reason, plus the tag. */
export interface KernelRoute extends Omit<Route, 'origin' | 'gateway' | 'interface'> {
  /** null when the kernel reports none (a device route on Linux reports {link: oif}). */
  gateway: Gateway | null;
  /** Carries tunroute's tag (macOS RTF_PROTO1, Linux rtm_protocol): added by a tunroute. */
  tagged: boolean;
  /** The kernel's own description of the route, kept when it is moved so a restore re-creates it exactly. */
  record?: RouteRecord;
}

/**
 * Everything needed to write a route back exactly as the kernel had it. Linux: the rtmsg
 * (protocol, scope, type, flags such as onlink) and every attribute (prefsrc, metrics with
 * their locks, multipath, nexthop id …), in hex. macOS: the flags, metric locks and values,
 * and the IPv6 gateway's scope.
 */
export type RouteRecord =
  | { os: 'linux'; rtmsg: string; attributes: Array<[number, string]> }
  | {
      os: 'darwin';
      flags: number;
      locks: number;
      inits: number;
      metrics: { mtu: number; hopcount: number; expire: number; recvpipe: number; sendpipe: number; ssthresh: number; rtt: number; rttvar: number };
      gatewayScope: number;
      /** The sdl_type of a link gateway (configd writes 0, route(8) the interface's type); absent for others. */
      gatewayLinkType?: number;
    };

export interface RestoreOptions {
  record?: RouteRecord | null;
  beside?: boolean;
}

export interface KernelRule extends Rule {
  tagged: boolean;
}

export interface KernelInterface {
  name: string;
  index: number;
  up: boolean;
  /** Addresses as "addr/len". */
  addresses: string[];
  mtu: number | null;
  pointToPoint: boolean;
}

export interface KernelSnapshot {
  routes: KernelRoute[];
  rules: KernelRule[];
  interfaces: KernelInterface[];
}

export type KernelEvent =
  | { kind: 'route'; change: 'added' | 'deleted' | 'changed'; route: KernelRoute; pid: number }
  | { kind: 'link'; index: number; up: boolean | null }
  /** `address`: as in KernelInterface.addresses ("addr/len"), when the message names one. */
  | { kind: 'address'; change: 'added' | 'deleted'; index: number; address?: string }
  | { kind: 'rule'; change: 'added' | 'deleted' }
  /** Messages were lost: only a fresh snapshot tells the truth now. */
  | { kind: 'overflow' }
  /** A message that could not be decoded: skipped and counted. */
  | { kind: 'malformed'; error: string };

export interface Backend {
  readonly os: 'darwin' | 'linux';
  /** Opens the socket(s); `onEvent` receives every change except the echoes of our own writes. */
  open(onEvent: (event: KernelEvent) => void): Promise<void>;
  snapshot(): Promise<KernelSnapshot>;
  /** Adds `route` with tunroute's tag. Rejects with a SystemError (EEXIST, ENETUNREACH, …). */
  addRoute(route: Route): Promise<void>;
  /**
   * Puts back a physical route, without the tag: from `options.record` (the kernel's own
   * record, byte for byte) when given, else as `route` says. `beside`: in front of an existing
   * route with the same key (Linux IPv4 `ip route prepend`: two defaults at one metric).
   */
  restoreRoute(route: Route, options?: RestoreOptions): Promise<void>;
  /** Deletes exactly this route (key, mask, scope / table, metric). Rejects with ESRCH when absent. */
  deleteRoute(route: Route | KernelRoute): Promise<void>;
  /**
   * Optional, the pipelined form of addRoute / deleteRoute: the write is sent (with the others
   * of this turn) and `done` receives its outcome when the kernel answers: null, or what the
   * promise would reject with. No promise per write. Engines drive backends without it
   * through the promises.
   */
  submitRoute?(kind: 'add' | 'delete', route: Route | KernelRoute, done: (error: Error | null) => void): void;
  /**
   * Optional, the pipelined delete of a route tunroute added, by a request the kernel matches
   * on the tag as well as on the key, device and gateway (Linux: rtm_protocol, which
   * fib_table_delete and ip6_route_del compare when it is set): an untagged route there is
   * never removed, so the engine may remove the routes its ledger lists without a snapshot.
   * `done` receives null, or ESRCH when no tagged route matches. Only a backend whose kernel
   * matches the tag has it.
   */
  submitTaggedDelete?(route: Route, done: (error: Error | null) => void): void;
  /**
   * Optional: the routes the engine expects to add soon (a plan made while the tunnel is
   * down). The backend may prepare their requests now; nothing is written.
   */
  prepare?(routes: readonly Route[]): void;
  addRule(rule: Rule): Promise<void>;
  deleteRule(rule: Rule): Promise<void>;
  /** The kernel key: the fields that make two routes the same kernel entry, as a string (indexes the engine's table view). */
  keyOf(route: Route | KernelRoute): string;
  /** True when the kernel's route is the same entry as `route`: the same as keyOf(kernel) === keyOf(route), without the strings. */
  sameKey(kernel: KernelRoute, route: Route | KernelRoute): boolean;
  /** True when the kernel's route already does what `route` asks (same key, gateway and interface). */
  satisfies(kernel: KernelRoute, route: Route): boolean;
  /** Counters for the log and tests. */
  stats(): { malformed: number; overflows: number };
  close(): void;
}
