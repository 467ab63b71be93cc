/**
 * @module engine/engine
 * The reconcile engine: one platform-free loop that makes the kernel table match the
 * desired state and keeps it there.
 *
 * It is level-triggered. Every trigger (a kernel event, the periodic timer, an overflow,
 * the name file, a reload) leads to the same step: take a fresh snapshot, derive the
 * facts (tunnel interface, physical defaults), ask the policy for the desired state, and
 * apply the difference. A lost or misread event can therefore delay a repair but never
 * leave the table wrong, and there is no second, event-specific code path to get wrong.
 *
 * Runs are serialised: a trigger during a run marks the engine dirty and one more run
 * follows, so a burst of kernel messages costs at most two snapshots, and a deleted route
 * is repaired as soon as the current run ends (milliseconds).
 */
import type { Logger } from 'pino';
import type { Backend, KernelEvent, KernelInterface, KernelRoute, KernelSnapshot } from '../backends/backend.js';
import type { Route } from '../model/route.js';
import { routeKey, ruleKey } from '../model/route.js';
import { isSystemError } from '../errors.js';
import { FlapDamper, type FlapLimits } from './flap.js';
import type { Journal } from './journal.js';
import type { Action } from '../plan/actions.js';
import type { PlanFacts } from '../plan/facts.js';
import { currentFormOf, deriveFacts } from './facts.js';

export type Facts = PlanFacts;

export type EngineState = 'starting' | 'waiting' | 'installed' | 'degraded' | 'reloading' | 'stopping' | 'stopped';

/** What the policy wants: the planner's ordered actions (install order; teardown is the sweep). */
export interface DesiredState {
  actions: Action[];
}

export interface EngineSettings {
  onTunnelDown: 'restore' | 'block';
  reconcileIntervalMs: number;
  flap: FlapLimits;
}

/** What the engine asks of the profile; replaced as a whole on reload. */
export interface Policy {
  settings: EngineSettings;
  /** The tunnel's interface name now (it may change when wireguard-go restarts), or null if unknown yet. */
  tunnelName(): string | null;
  /** True when the interface has the address(es) the profile needs. */
  hasAddress(tunnel: KernelInterface): boolean;
  desire(facts: Facts): DesiredState;
  readonly os: 'darwin' | 'linux';
}

export interface EngineOptions {
  backend: Backend;
  journal: Journal;
  logger: Logger;
  policy: Policy;
  /** Poll interval while waiting for the interface: macOS announces no interface creation. */
  waitPollMs?: number;
  now?: () => number;
}

export class Engine {
  private readonly backend: Backend;
  private readonly journal: Journal;
  private readonly log: Logger;
  private policy: Policy;
  private flap: FlapDamper;
  private readonly waitPollMs: number;
  private readonly now: () => number;

  private state: EngineState = 'starting';
  private running: Promise<void> | null = null;
  private dirty = false;
  private reason = 'start';
  private periodic: NodeJS.Timeout | null = null;
  private waitPoll: NodeJS.Timeout | null = null;
  private delayed: NodeJS.Timeout | null = null;
  /** Routes we installed and saw in place, by key: a later absence is a deletion by someone else. */
  private installed = new Map<string, Route>();
  /** The current run's view of the kernel table. */
  private table: KernelRoute[] = [];
  private lastTunnel: { name: string; index: number } | null = null;
  private readonly stateListeners: Array<(state: EngineState) => void> = [];

  constructor(options: EngineOptions) {
    this.backend = options.backend;
    this.journal = options.journal;
    this.log = options.logger;
    this.policy = options.policy;
    this.now = options.now ?? Date.now;
    this.flap = new FlapDamper(options.policy.settings.flap, this.now);
    this.waitPollMs = options.waitPollMs ?? 1000;
  }

  get currentState(): EngineState {
    return this.state;
  }

  onState(listener: (state: EngineState) => void): void {
    this.stateListeners.push(listener);
  }

  /** Opens the backend, sweeps what an earlier run left, then converges. */
  async start(): Promise<void> {
    await this.backend.open((event) => this.onKernelEvent(event));
    const swept = await this.sweep('start');
    if (swept.removed + swept.restored > 0) this.log.info({ ...swept }, 'swept leftovers of an earlier run');
    this.schedulePeriodic();
    await this.trigger('start');
  }

  /** Replaces the policy (a reloaded profile) and converges to it: only what differs is touched. */
  async reload(policy: Policy): Promise<void> {
    this.policy = policy;
    this.flap = new FlapDamper(policy.settings.flap, this.now);
    this.schedulePeriodic();
    this.setState('reloading');
    await this.trigger('reload');
  }

  /** Asks for a reconcile run; resolves when a run that started after this call has finished. */
  trigger(reason: string): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return Promise.resolve();
    this.reason = reason;
    if (this.running) {
      this.dirty = true;
      return this.running.then(() => this.running ?? undefined);
    }
    this.running = this.runLoop().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async runLoop(): Promise<void> {
    do {
      this.dirty = false;
      try {
        await this.reconcile(this.reason);
      } catch (e) {
        this.log.error({ err: e, reason: this.reason }, 'reconcile failed; retrying on the next trigger');
        this.setState('degraded');
      }
    } while (this.dirty && this.state !== 'stopping' && this.state !== 'stopped');
  }

  private onKernelEvent(event: KernelEvent): void {
    if (event.kind === 'malformed') {
      this.log.warn({ error: event.error }, 'skipped a malformed kernel message');
      return;
    }
    if (event.kind === 'overflow') this.log.warn('routing socket overflowed; resyncing from a full snapshot');
    if (event.kind === 'route' && event.change === 'deleted' && this.installed.has(routeKey(event.route))) {
      this.log.info({ destination: event.route.destination, scope: event.route.scope, pid: event.pid }, 'foreign change: one of our routes was deleted');
    }
    void this.trigger(event.kind === 'route' ? `route ${event.change}` : event.kind);
  }

  private schedulePeriodic(): void {
    if (this.periodic) clearInterval(this.periodic);
    this.periodic = setInterval(() => void this.trigger('periodic'), this.policy.settings.reconcileIntervalMs);
    this.periodic.unref();
  }

  private setState(state: EngineState, note?: string): void {
    if (state === this.state && note === undefined) return;
    const from = this.state;
    this.state = state;
    this.log.info({ state, from, ...(note ? { note } : {}) }, `state ${note ?? state}`);
    for (const l of this.stateListeners) l(state);
  }

  // ---- one reconcile run ------------------------------------------------------------

  private async reconcile(reason: string): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    const snap = await this.backend.snapshot();
    const name = this.policy.tunnelName();
    const tunnel = name === null ? undefined : snap.interfaces.find((i) => i.name === name);
    if (tunnel === undefined || !tunnel.up || !this.policy.hasAddress(tunnel)) {
      await this.tunnelUnavailable(snap, name, tunnel);
      return;
    }
    this.stopWaitPoll();
    if (this.lastTunnel && (this.lastTunnel.name !== tunnel.name || this.lastTunnel.index !== tunnel.index)) {
      this.log.info({ interface: tunnel.name, index: tunnel.index, previous: this.lastTunnel }, 'tunnel interface changed');
    }
    this.lastTunnel = { name: tunnel.name, index: tunnel.index };

    const facts = deriveFacts(snap, tunnel, this.policy.os, this.journal.moved);
    const desired = this.policy.desire(facts);
    const changes = await this.apply(snap, desired, reason);
    if (changes > 0 || this.state !== 'installed') {
      if (reason === 'periodic' && changes > 0) this.log.warn({ changes }, 'periodic reconcile found drift and repaired it');
      this.setState('installed');
    }
  }

  /**
   * Applies the difference between the snapshot and the planner's actions, in the
   * planner's order (endpoint routes, scoped copies, removals, tunnel routes, rules).
   * Returns the number of kernel changes made.
   */
  private async apply(snap: KernelSnapshot, desired: DesiredState, reason: string): Promise<number> {
    let changes = 0;
    // The run's own view of the table, kept current as it makes changes, so a route moved
    // aside early in the run frees its key for the tunnel route later in the same run.
    this.table = [...snap.routes];
    const present = (route: Route | KernelRoute): KernelRoute | undefined => this.table.find((k) => this.backend.sameKey(k, route));
    const wanted: Route[] = [];
    const wantedRules = new Set<string>();

    for (const action of desired.actions) {
      switch (action.kind) {
        case 'add':
          wanted.push(action.route);
          // An excluded prefix only has to stay on the physical side; the LAN's own route does that.
          changes += await this.ensureRoute(action.route, present(action.route), reason, action.route.origin === 'exclude');
          break;
        case 'ensure':
        case 'demote-to-scoped':
          // The kernel or the system may hold this route already (the tunnel address's host
          // route, configd's scoped default): EEXIST there is normal and the route is adopted.
          wanted.push(action.route);
          changes += await this.ensureRoute(action.route, present(action.route), reason, true);
          break;
        case 'remove-unscoped': {
          const current = present(action.route);
          if (!current || current.tagged) break;
          if (!this.allowRepair(`demote|${routeKey(action.route)}`, 'a foreign route keeps coming back where ours must be')) break;
          this.log.info({ destination: current.destination, gateway: current.gateway, index: current.index }, 'foreign change: a physical route holds a destination the tunnel takes; moving it aside');
          this.journal.recordMoved(action.route);
          if (await this.write('remove-unscoped', action.route, () => this.backend.deleteRoute(current))) {
            changes++;
            this.forgetInTable(current);
          }
          break;
        }
        case 'add-rule':
          wantedRules.add(ruleKey(action.rule));
          if (snap.rules.some((r) => ruleKey(r) === ruleKey(action.rule))) break;
          if (await this.write('add-rule', null, () => this.backend.addRule(action.rule), { rule: ruleKey(action.rule) })) changes++;
          break;
        default:
          // restore / remove / remove-rule only appear in teardowns; the sweep does those.
          break;
      }
    }

    for (const rule of snap.rules.filter((r) => r.tagged && !wantedRules.has(ruleKey(r)))) {
      if (await this.write('remove-stale-rule', null, () => this.backend.deleteRule(rule), { rule: ruleKey(rule) })) changes++;
    }

    // Physical routes we moved that no longer need to be away (reloaded profile, other mode).
    const removing = new Set(desired.actions.filter((a) => a.kind === 'remove-unscoped').map((a) => routeKey((a as { route: Route }).route)));
    const toRestore = this.journal.moved.filter((m) => !removing.has(routeKey(m)) && !wanted.some((w) => routeKey(w) === routeKey(m)));
    // Our routes nobody wants any more (old gateway, reloaded profile, old tunnel index). The
    // copies that stood in for a route being restored go after it is back, as in the sweep.
    const stale = this.table.filter((k) => k.tagged && !wanted.some((w) => this.backend.satisfies(k, w)));
    const standIn = (k: KernelRoute): boolean => toRestore.some((m) => m.destination === k.destination && m.index === k.index);
    const removeStale = async (routes: KernelRoute[]): Promise<void> => {
      for (const route of routes) {
        if (await this.write('remove-stale', route, () => this.backend.deleteRoute(route))) changes++;
        this.installed.delete(routeKey(route));
        this.forgetInTable(route);
      }
    };
    await removeStale(stale.filter((k) => !standIn(k)));
    for (const moved of toRestore) changes += await this.restoreMoved(moved, this.table);
    await removeStale(stale.filter(standIn));
    return changes;
  }

  private forgetInTable(route: KernelRoute): void {
    this.table = this.table.filter((k) => k !== route);
  }

  private async ensureRoute(route: Route, current: KernelRoute | undefined, reason: string, adopt: boolean): Promise<number> {
    const key = routeKey(route);
    if (current && this.backend.satisfies(current, route)) {
      this.installed.set(key, route);
      return 0;
    }
    if (current && !current.tagged && adopt) {
      this.installed.set(key, route);
      return 0;
    }
    // A route of ours that vanished is a repair (flap-guarded); one whose gateway or
    // interface must change (the physical gateway moved) is an update.
    const repair = !current && this.installed.has(key) && reason !== 'start' && reason !== 'reload';
    if (repair && !this.allowRepair(key, 'another agent keeps removing or replacing this route', route)) return 0;
    if (current) {
      // Our key is taken by something else. Ours (an old gateway) is replaced; a foreign route is
      // never deleted here: a destination-only delete is how other tools removed users' default routes.
      if (!current.tagged) {
        this.log.warn({ destination: route.destination, scope: route.scope, gateway: current.gateway, index: current.index }, 'a foreign route holds our destination; leaving it');
        return 0;
      }
      await this.write('remove-outdated', current, () => this.backend.deleteRoute(current));
      this.forgetInTable(current);
    }
    const ok = await this.write(current ? 'update' : repair ? 'restore' : 'add', route, () => this.backend.addRoute(route));
    if (ok) {
      this.installed.set(key, route);
      this.table.push({ ...route, tagged: true });
    }
    return ok ? 1 : 0;
  }

  private allowRepair(key: string, why: string, route?: Route): boolean {
    const decision = this.flap.request(key);
    if (decision.waitMs === 0) return true;
    if (decision.startsEpisode) {
      this.log.warn({ key, destination: route?.destination, repairs: decision.repairsInWindow, backoffMs: decision.waitMs }, `flapping: ${why}; backing off`);
    }
    if (!this.delayed) {
      this.delayed = setTimeout(() => {
        this.delayed = null;
        void this.trigger('backoff');
      }, decision.waitMs);
      this.delayed.unref();
    }
    return false;
  }

  /** Runs one kernel write and logs it. EEXIST on an add and ESRCH on a delete mean it is already so. */
  private async write(action: string, route: Route | KernelRoute | null, op: () => Promise<void>, extra: Record<string, unknown> = {}): Promise<boolean> {
    const fields = route ? describe(route) : {};
    try {
      await op();
      this.log.info({ action, ...fields, ...extra, result: 'ok' }, `route ${action}`);
      return true;
    } catch (e) {
      if (isSystemError(e)) {
        const benign = (e.code === 'EEXIST' && !action.startsWith('remove')) || (e.code === 'ESRCH' && action.startsWith('remove'));
        this.log[benign ? 'info' : 'warn']({ action, ...fields, ...extra, result: 'error', errno: e.code }, `route ${action}: ${e.code}`);
        return false;
      }
      throw e;
    }
  }

  private async restoreMoved(moved: Route, routes: readonly KernelRoute[]): Promise<number> {
    const current = routes.find((k) => this.backend.sameKey(k, moved));
    if (current && !current.tagged) {
      // Someone (configd, DHCP) already put a physical route back: nothing to restore.
      this.journal.forgetMoved(moved);
      return 0;
    }
    if (current?.tagged) await this.write('remove', current, () => this.backend.deleteRoute(current));
    const now = currentFormOf(moved, routes);
    if (now !== moved) this.log.info({ destination: moved.destination, journaled: moved.gateway, now: now.gateway }, 'the physical gateway changed while the route was moved aside; restoring it with the current one');
    const ok = await this.write('restore-physical', now, () => this.backend.restoreRoute(now));
    this.journal.forgetMoved(moved);
    return ok ? 1 : 0;
  }

  private async tunnelUnavailable(snap: KernelSnapshot, name: string | null, tunnel: KernelInterface | undefined): Promise<void> {
    const why = name === null ? 'name not known yet' : tunnel === undefined ? 'interface absent' : !tunnel.up ? 'interface down' : 'no address yet';
    const wasInstalled = this.state === 'installed' || this.state === 'degraded' || this.state === 'reloading';
    if (wasInstalled) this.log.warn({ interface: name, why }, 'tunnel went away; its routes are gone with it');
    // The kernel drops routes through a vanished or downed interface without a message.
    this.installed.clear();
    if (wasInstalled || this.state === 'starting') {
      if (this.policy.settings.onTunnelDown === 'restore') {
        const swept = await this.sweepSnapshot(snap);
        if (swept.removed + swept.restored > 0) this.log.info({ ...swept }, 'restored the physical routes while the tunnel is down');
      } else {
        this.log.warn('onTunnelDown is "block": physical routes stay moved aside until the tunnel is back');
      }
    }
    if (this.state !== 'waiting') this.setState('waiting', `waiting for ${name ?? 'the interface name'} (${why})`);
    this.startWaitPoll();
  }

  private startWaitPoll(): void {
    if (this.waitPoll) return;
    this.waitPoll = setInterval(() => void this.trigger('wait-poll'), this.waitPollMs);
    this.waitPoll.unref();
  }

  private stopWaitPoll(): void {
    if (this.waitPoll) clearInterval(this.waitPoll);
    this.waitPoll = null;
  }

  // ---- sweep and stop -----------------------------------------------------------------

  /** Removes every tagged route and rule and puts back every journaled route. */
  async sweep(why: string): Promise<{ removed: number; restored: number }> {
    const snap = await this.backend.snapshot();
    const result = await this.sweepSnapshot(snap);
    this.log.debug({ why, ...result }, 'sweep done');
    return result;
  }

  private async sweepSnapshot(snap: KernelSnapshot): Promise<{ removed: number; restored: number }> {
    let removed = 0;
    let restored = 0;
    // A tagged route on a moved route's interface, to its destination, is the copy that stood
    // in for it (macOS: the scoped default; Linux: the higher-metric default). Copies go last,
    // after the originals are back, so the physical interface is never without its default;
    // tunnel routes go first, so there is never a moment with two unscoped defaults.
    const isCopy = (r: KernelRoute): boolean => this.journal.moved.some((m) => m.destination === r.destination && m.index === r.index);
    const tagged = snap.routes.filter((r) => r.tagged);
    const remove = async (routes: KernelRoute[]): Promise<void> => {
      for (const route of routes) if (await this.write('remove', route, () => this.backend.deleteRoute(route))) removed++;
    };
    await remove(tagged.filter((r) => !isCopy(r)));
    for (const rule of snap.rules.filter((r) => r.tagged)) {
      if (await this.write('remove-rule', null, () => this.backend.deleteRule(rule), { rule: ruleKey(rule) })) removed++;
    }
    const copies = tagged.filter(isCopy);
    const untagged = snap.routes.filter((r) => !r.tagged);
    for (const moved of [...this.journal.moved]) restored += await this.restoreMoved(moved, untagged);
    await remove(copies);
    this.installed.clear();
    return { removed, restored };
  }

  /**
   * Stops at once without touching the table: timers off, socket closed. For a second
   * signal during cleanup, where the journal already holds what is left to undo.
   */
  halt(): void {
    for (const t of [this.periodic, this.delayed]) if (t) clearTimeout(t);
    this.stopWaitPoll();
    this.state = 'stopped';
    this.backend.close();
  }

  /**
   * Removes everything tunroute added and restores everything it moved, within `timeoutMs`.
   * Resolves true when the table is clean; false when time ran out (the journal keeps what
   * is left, for the next start or `tunroute restore`).
   */
  async stop(timeoutMs: number): Promise<boolean> {
    if (this.state === 'stopped') return true;
    this.setState('stopping');
    for (const t of [this.periodic, this.delayed]) if (t) clearTimeout(t);
    this.stopWaitPoll();
    if (this.running) await Promise.race([this.running, delay(timeoutMs / 2)]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const cleaned = this.sweep('stop').then(() => true);
    const clean = await Promise.race([cleaned, timedOut]).catch((e: unknown) => {
      this.log.error({ err: e }, 'cleanup failed');
      return false;
    });
    clearTimeout(timer);
    if (clean) this.journal.clear();
    this.backend.close();
    this.setState('stopped');
    return clean;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function describe(route: Route | KernelRoute): Record<string, unknown> {
  return {
    destination: route.destination,
    gateway: route.gateway === null ? null : 'link' in route.gateway ? `link#${route.gateway.link}` : route.gateway.address,
    interface: 'interface' in route ? route.interface : route.index,
    scope: route.scope,
    ...(route.table !== null ? { table: route.table } : {}),
    ...(route.metric !== null ? { metric: route.metric } : {}),
    ...(route.flags.length ? { flags: route.flags } : {}),
  };
}
