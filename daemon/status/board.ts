/**
 * @module status/board
 * What `tunroute status` shows, kept current by the engine as it works. The engine only
 * writes here (a few one-line calls where it already logs); the status socket only reads.
 * Reading never triggers a reconcile, so `status` answers at once even mid-run.
 *
 * Everything in the snapshot is plain JSON: it is the `--json` document (version 1,
 * documented in the README under "tunroute status").
 */
import type { Route, Rule } from '../model/route.js';
import { gatewayText, routeKey } from '../model/route.js';
import type { Action } from '../plan/actions.js';
import type { PhysicalDefault } from '../plan/facts.js';

/** The counters the engine keeps; every one only grows while the daemon runs. */
export interface StatusCounters {
  /** Completed reconcile runs. */
  reconciles: number;
  /** Our routes put back after someone else removed them. */
  repairs: number;
  /** Changes by other agents to what we own or contend for (a deleted route, a returning physical default). */
  foreignChanges: number;
  /** Receive-queue overflows (ENOBUFS): resynced from a full snapshot. */
  overflows: number;
  /** Kernel messages that could not be decoded: skipped. */
  malformed: number;
}

export type CounterName = keyof StatusCounters;

export interface StatusRoute {
  destination: string;
  /** A next-hop address, or `link#N` for the tunnel's link. */
  gateway: string;
  interface: string;
  index: number;
  /** macOS: the RTF_IFSCOPE index; null when unscoped (and always on Linux). */
  scope: number | null;
  /** Linux: the table (254 = main); null on macOS. */
  table: number | null;
  metric: number | null;
  origin: Route['origin'];
  /** ISO time of the last repair, null when never repaired. */
  lastRepairedAt: string | null;
  repairs: number;
}

export interface StatusEngineView {
  state: string;
  /** Why the engine is in this state ("waiting for utun7 (interface absent): …"). */
  why: string | null;
  since: string;
  tunnel: { name: string; index: number; addresses: string[] } | null;
  physicalGateways: Array<{ family: string; gateway: string; interface: string; index: number }>;
  routes: StatusRoute[];
  rules: Rule[];
  moved: Array<Omit<StatusRoute, 'lastRepairedAt' | 'repairs' | 'origin'>>;
  flapping: Array<{ destination: string | null; key: string; backingOffUntil: string }>;
  counters: StatusCounters;
}

/**
 * What the engine knows after a run. `installed` and `actions` are the engine's own
 * (read, never copied, when status asks), so a run costs the board nothing per route.
 */
export interface Converged {
  tunnel: { name: string; index: number; addresses: string[] } | null;
  physicalDefaults: readonly PhysicalDefault[];
  /** Our routes in the table, by key: the engine's live map (repairs between runs show too). */
  installed: ReadonlyMap<string, Route>;
  /** The plan's actions (its rules are read from them). */
  actions: readonly Action[];
  moved: readonly Route[];
}

/** A gateway as log lines and status show it: always a string, `none` when the kernel reports none. */
export const gatewayOrNone = (gateway: Route['gateway'] | null): string => (gateway === null ? 'none' : gatewayText(gateway));

export class StatusBoard {
  private readonly now: () => number;
  private state = 'starting';
  private why: string | null = null;
  private since: number;
  private last: Converged = { tunnel: null, physicalDefaults: [], installed: new Map(), actions: [], moved: [] };
  private readonly repairs = new Map<string, { count: number; at: number }>();
  private readonly episodes = new Map<string, { destination: string | null; until: number }>();
  private readonly counters: StatusCounters = { reconciles: 0, repairs: 0, foreignChanges: 0, overflows: 0, malformed: 0 };

  constructor(now: () => number = Date.now) {
    this.now = now;
    this.since = now();
  }

  setState(state: string, why: string | null): void {
    if (state !== this.state) this.since = this.now();
    this.state = state;
    this.why = why;
  }

  count(name: CounterName): void {
    this.counters[name]++;
  }

  /** One of our routes was put back after someone removed it. */
  repaired(route: Route): void {
    const key = routeKey(route);
    const entry = this.repairs.get(key) ?? { count: 0, at: 0 };
    entry.count++;
    entry.at = this.now();
    this.repairs.set(key, entry);
    this.counters.repairs++;
  }

  /** Repairs of `key` are held back until `waitMs` from now (flap damping). */
  backingOff(key: string, destination: string | null, waitMs: number): void {
    this.episodes.set(key, { destination, until: this.now() + waitMs });
  }

  /** The end of a reconcile run: what is installed now. */
  converged(view: Converged): void {
    this.counters.reconciles++;
    // The journal replaces its list as it changes; a copy of the few moved routes keeps this run's.
    this.last = { ...view, moved: [...view.moved] };
  }

  snapshot(): StatusEngineView {
    const now = this.now();
    const iso = (t: number): string => new Date(t).toISOString();
    for (const [key, episode] of this.episodes) if (episode.until <= now) this.episodes.delete(key);
    // A refusing route (the IPv6 block: unreachable, prohibit, blackhole) has no next hop and
    // no device: its gateway reads as what it does, like `ip route`'s first word.
    const place = (r: Route) => ({ destination: r.destination, gateway: r.type && r.type !== 'unicast' ? r.type : gatewayOrNone(r.gateway), interface: r.interface, index: r.index, scope: r.scope, table: r.table, metric: r.metric });
    return {
      state: this.state,
      why: this.why,
      since: iso(this.since),
      tunnel: this.last.tunnel,
      physicalGateways: this.last.physicalDefaults.map((d) => ({ family: d.family, gateway: d.gateway, interface: d.interface, index: d.index })),
      routes: [...this.last.installed.values()].map((r) => {
        const repaired = this.repairs.get(routeKey(r));
        return { ...place(r), origin: r.origin, lastRepairedAt: repaired ? iso(repaired.at) : null, repairs: repaired?.count ?? 0 };
      }),
      rules: this.last.tunnel === null ? [] : this.last.actions.flatMap((a) => (a.kind === 'add-rule' ? [{ ...a.rule }] : [])),
      moved: this.last.moved.map(place),
      flapping: [...this.episodes].map(([key, e]) => ({ key, destination: e.destination, backingOffUntil: iso(e.until) })),
      counters: { ...this.counters },
    };
  }
}
