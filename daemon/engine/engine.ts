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
import type { Backend, KernelEvent, KernelInterface, KernelRoute, KernelSnapshot, RouteRecord } from '../backends/backend.js';
import type { Route } from '../model/route.js';
import { gatewayText, routeKey, ruleKey } from '../model/route.js';
import { isSystemError } from '../errors.js';
import { FlapDamper, type FlapLimits } from './flap.js';
import { JournalWriteError, movedIdentity, type Journal } from './journal.js';
import type { Action } from '../plan/actions.js';
import type { PlanFacts } from '../plan/facts.js';
import { currentFormOf, deriveFacts } from './facts.js';
import { CONTESTED } from '../plan/facts.js';
import { DestinationSlots, TableView } from './table-view.js';
import { WriteWindow } from './write-window.js';
import { LoopTurns } from './loop-turns.js';
import { InterfaceAddresses } from './interface-addresses.js';
import { SkippedRouteEvents } from './skipped-route-events.js';
import { InstalledRoutes, PlanRecord } from './installed-routes.js';
import { gatewayOrNone, StatusBoard } from '../status/board.js';
import type { Publication, Publisher, PublishResult } from './publisher.js';

/** Kernel writes in flight at once: enough to keep the socket busy, few enough that their acks fit its buffer. */
const WRITE_WINDOW = 128;
/** After a fast repair, the full reconcile that confirms the table waits this long for quiet. */
const CONFIRM_AFTER_REPAIR_MS = 200;

/** Route writes per run logged one line each at info; the rest of a bulk run goes to debug. */
const LOG_EACH_WRITES = 50;

export type Facts = PlanFacts;

export type EngineState = 'starting' | 'waiting' | 'installed' | 'degraded' | 'reloading' | 'stopping' | 'stopped';

/** What the policy wants: the planner's ordered actions (install order; teardown is the sweep). */
export interface DesiredState {
  actions: Action[];
  /** For a strategy where the system builds the table (macOS configd): what to publish. */
  publication?: Publication;
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
  /**
   * The facts desire needs beyond the kernel (the tunnel's WireGuard peers); bounded in
   * time, never throws. They join the kernel's facts, so a plan is a function of its facts
   * alone and a changed peer is a changed plan.
   */
  gather?(tunnel: KernelInterface): Promise<Partial<Facts>>;
  /**
   * Readies the tunnel device itself before its routes go in (the policy strategy sets
   * wireguard-go's fwmark); never throws. Resolves with what failed, which makes the run
   * degraded, or null.
   */
  ready?(tunnel: KernelInterface): Promise<string | null>;
  desire(facts: Facts): DesiredState;
  /** What the user can do while the engine waits for the tunnel ("start wireguard-go for utun7, or …"). */
  waitingAdvice?(name: string | null, why: string): string;
  readonly os: 'darwin' | 'linux';
}

/** A plan and what a run derives from it once: the keys of its routes and the routes it wants. */
interface PlanCache {
  desired: DesiredState;
  /** routeKey of each action's route, by action index ('' for rules). */
  routeKeys: string[];
  /** The backend's kernel key of each action's route, by action index ('' for rules). */
  kernelKeys: string[];
  /** The routes it adds or ensures, by the backend's kernel key. */
  wanted: Map<string, Route>;
  wantedRouteKeys: Set<string>;
  /** Which of its routes `installed` holds, so a quiet run does not write them all again. */
  recorded: PlanRecord;
}

export interface EngineOptions {
  backend: Backend;
  journal: Journal;
  logger: Logger;
  policy: Policy;
  /** The system's table owner, for strategies that publish instead of writing routes (macOS: configd). */
  publisher?: Publisher;
  /** Poll interval while waiting for the interface: macOS announces no interface creation. */
  waitPollMs?: number;
  now?: () => number;
  /** Where the engine keeps what `tunroute status` shows; a private one by default. */
  status?: StatusBoard;
}

export class Engine {
  private readonly backend: Backend;
  private readonly journal: Journal;
  private readonly log: Logger;
  private policy: Policy;
  private readonly publisher: Publisher | undefined;
  /** Keys of the routes the system should build from the publication: a change to one is a reason to run. */
  private expected = new Set<string>();
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
  private installed = new InstalledRoutes();
  /** The current run's view of the kernel table. */
  private table = new TableView([], (k, r) => this.backend.sameKey(k, r));
  /** Destination numbers the runs' views share, so a quiet run indexes the table without growing a map. */
  private readonly slots = new DestinationSlots();
  /** The last applied plan's routes, by kernel key: what a kernel event is checked against. */
  private wanted = new Map<string, Route>();
  /** Keys where the plan moves a physical route aside (replace): configd puts it back there. */
  private demoting = new Set<string>();
  private readonly window = new WriteWindow(WRITE_WINDOW);
  /** Kernel changes the current run made. */
  private changes = 0;
  /** Writes since the last flushWriteLog (the current run's). */
  private writesInRun = 0;
  /** Writes whose outcome was lost (the request socket overflowed): the next snapshot tells. */
  private unknownOutcomes = 0;
  private confirm: NodeJS.Timeout | null = null;
  private lastPlan: PlanCache | null = null;
  /** routeKey and kernel key by action, for the actions a new plan shares with the last. */
  private readonly actionKeys = new WeakMap<Action, [string, string]>();
  /** False from an interface, address or overflow event until a run has seen the result. */
  private interfacesSettled = true;
  /**
   * Keys put back at once while a run was under way: that run's snapshot may predate the
   * repair, and it leaves the add to the repair rather than racing it to an EEXIST.
   */
  private repairedInRun = new Set<string>();
  /** Route events that could not change the plan or our routes, skipped without a reconcile. */
  private ignoredEvents = 0;
  /** An event that mattered (or could not be read) since the last run asked for its snapshot: what it knows may be stale. */
  private unreadSinceSnapshot = false;
  /** The route events skipped while a run was under way, checked again against the plan it applied. */
  private readonly skippedInRun = new SkippedRouteEvents();
  /** What the last snapshot and the address events since say each interface has: a repeat starts no run. */
  private readonly addresses = new InterfaceAddresses();
  private lastTunnel: { name: string; index: number } | null = null;
  private waitingNote: string | null = null;
  /** Rules we added and saw in place: a later absence is a deletion by someone else (flap-damped like routes). */
  private installedRules = new Set<string>();
  /** Tagged routes and rules no ledger of ours lists (another instance, another tool): reported once each. */
  private readonly foreignReported = new Set<string>();
  /** Why the last stop() did not leave the table clean, for the daemon's message. */
  stopProblem: string | null = null;
  private readonly stateListeners: Array<(state: EngineState) => void> = [];
  /** What this run could not install (failed writes, keys held by foreign routes). */
  private failures: string[] = [];
  private lastFailures = '';
  /** Names of the interfaces in the last snapshot, so every log line can name the interface. */
  private interfaceNames = new Map<number, string>();
  /** What `tunroute status` reads: written here, never read back by the engine. */
  readonly status: StatusBoard;

  constructor(options: EngineOptions) {
    this.backend = options.backend;
    this.journal = options.journal;
    this.log = options.logger;
    this.policy = options.policy;
    this.publisher = options.publisher;
    this.now = options.now ?? Date.now;
    this.flap = new FlapDamper(options.policy.settings.flap, this.now);
    this.waitPollMs = options.waitPollMs ?? 1000;
    this.status = options.status ?? new StatusBoard(this.now);
  }

  get currentState(): EngineState {
    return this.state;
  }

  /** What this instance owns and moved, for `status`: its ledger's keys and the moved routes, read-only. */
  get ownership(): { routes: ReadonlySet<string>; rules: ReadonlySet<string>; moved: readonly Route[] } {
    return { routes: this.journal.ownedRouteKeys, rules: this.journal.ownedRuleKeys, moved: this.journal.moved };
  }

  onState(listener: (state: EngineState) => void): void {
    this.stateListeners.push(listener);
  }

  /** Opens the backend, sweeps what an earlier run left, then converges. */
  async start(): Promise<void> {
    await this.backend.open((event) => this.onKernelEvent(event));
    await this.publisher?.open((reason) => void this.trigger(reason));
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
        // A route event skipped during the run that matters to the plan it applied: once more.
        if (this.skippedInRun.any((route, key) => this.mayMatter(route, key))) this.dirty = true;
      } catch (e) {
        this.log.error({ err: e, reason: this.reason }, 'reconcile failed; retrying on the next trigger');
        this.setState('degraded');
        await this.window.drain().catch(() => undefined);
      }
    } while (this.dirty && this.state !== 'stopping' && this.state !== 'stopped');
  }

  private onKernelEvent(event: KernelEvent): void {
    const unread = this.unreadSinceSnapshot;
    // Set for every event that does not return as skipped below.
    this.unreadSinceSnapshot = true;
    if (event.kind === 'malformed' || event.kind === 'overflow') this.addresses.forget();
    if (event.kind === 'malformed') {
      this.status.count('malformed');
      this.log.warn({ error: event.error }, 'skipped a malformed kernel message');
      return;
    }
    if (event.kind === 'overflow') {
      this.status.count('overflows');
      this.log.warn('routing socket overflowed; resyncing from a full snapshot');
    }
    if (event.kind === 'address' && !this.addresses.changes(event)) {
      this.ignoredEvents++;
      this.unreadSinceSnapshot = unread;
      return;
    }
    // An interface or address change can take routes with it (IPv6 routes through a downed
    // link go one message each): until a full run has looked, deletions are not repaired one by one.
    if (event.kind === 'link' || event.kind === 'address' || event.kind === 'overflow') this.interfacesSettled = false;
    if (event.kind === 'route') {
      // One key string per event: in a foreign storm this filter runs 100,000 times a second.
      const key = this.backend.keyOf(event.route);
      const ours = this.wanted.get(key);
      const steady = this.state === 'installed' || this.state === 'degraded';
      if (steady && event.change === 'deleted' && ours && this.repairsAtOnce(ours) && this.installed.has(routeKey(ours)) && this.backend.satisfies(event.route, ours)) {
        this.status.count('foreignChanges');
        // `pid` is pino's own key (ours); the process that changed the route is `byPid`.
        this.log.info({ destination: event.route.destination, scope: event.route.scope, byPid: event.pid }, 'foreign change: one of our routes was deleted');
        // Where a physical route is moved aside, the deleter is usually configd putting it
        // back (EEXIST → delete → add): a full run demotes it again and re-adds ours, undamped.
        if (!this.demoting.has(routeKey(ours))) {
          this.repairNow(ours);
          return;
        }
      }
      // Another instance's or tool's tagged route elsewhere is as foreign as an untagged one.
      // In every state: the kernel's own routes for the tunnel's link at up (its peer route)
      // come while the install run is under way, and must not cost a second full run.
      if (!this.mayMatter(event.route, key)) {
        this.ignoredEvents++;
        // A run under way may apply a plan other than the one this was checked against
        // (its first, a re-plan): it checks the events it skipped once it knows (runLoop).
        this.skippedInRun.note(event.route, key, this.running !== null);
        this.unreadSinceSnapshot = unread;
        return;
      }
    }
    void this.trigger(event.kind === 'route' ? `route ${event.change}` : event.kind);
  }

  /**
   * Whether a route event can change what a run does: a route at a key the applied plan or
   * the plan in hand wants, one of ours (tagged and in the ledger), one that shapes the
   * facts, or one the system should build from a publication.
   */
  private mayMatter(route: KernelRoute, key: string): boolean {
    const inHand = this.lastPlan?.wanted;
    // Once applied, the plan in hand is the applied one (the same map): one lookup.
    return this.wanted.has(key) || (inHand !== undefined && inHand !== this.wanted && inHand.has(key)) || this.owns(route, key) || this.shapesFacts(route, key) || this.expected.has(key);
  }

  /**
   * Whether a foreign route can change the plan: the facts come from the interfaces and
   * the physical routes at the contested destinations (defaults, multicast, broadcast),
   * plus the routes tunroute moved aside. A route elsewhere on another device cannot.
   */
  private shapesFacts(route: KernelRoute, key: string): boolean {
    if (CONTESTED.includes(route.destination)) return true;
    return this.journal.moved.some((m) => this.backend.keyOf(m) === key);
  }

  /**
   * Whether a deletion of `route` may be repaired at once from the last plan. Only a route
   * through the tunnel qualifies: its form depends on the tunnel alone, while endpoint routes
   * and physical copies follow the physical gateway, which a roam changes in the same burst
   * of messages. And only while no interface, address or overflow event is unseen by the
   * last snapshot: then the plan the route came from is still the current one. A run under
   * way does not wait for it (at 10,000 routes that cost a run or two, 40–90 ms): the run
   * leaves that key to the repair (repairedInRun), and the confirming run still follows.
   */
  private repairsAtOnce(route: Route): boolean {
    return this.interfacesSettled && this.lastTunnel !== null && route.index === this.lastTunnel.index;
  }

  /**
   * The common case of a repair, without a snapshot: one of our routes was deleted, so it
   * is put back at once (flap-guarded, as in a run). A full reconcile follows when things
   * are quiet and confirms the whole table, so a misread event still cannot leave it wrong.
   */
  private repairNow(route: Route): void {
    const key = routeKey(route);
    if (this.allowRepair(key, 'another agent keeps removing or replacing this route', route)) {
      if (this.running !== null) this.repairedInRun.add(key);
      void this.write('restore', route, () => this.backend.addRoute(route)).then(
        (ok) => {
          if (ok) {
            this.installed.set(key, route);
            this.status.repaired(route);
          }
          // Something else took the key meanwhile (EEXIST) or the write failed: a full run decides.
          else void this.trigger('repair refused');
        },
        (e: unknown) => this.log.error({ err: e, destination: route.destination }, 'repair failed; the reconcile will retry'),
      );
    }
    if (this.confirm) clearTimeout(this.confirm);
    this.confirm = setTimeout(() => {
      this.confirm = null;
      void this.trigger('confirm repair');
    }, CONFIRM_AFTER_REPAIR_MS);
    this.confirm.unref();
  }

  /**
   * The policy's desired state for these facts, with the keys a run needs. A policy that
   * returns the same DesiredState object for unchanged inputs (createPolicy does) spares
   * every run but the first the re-planning and the key derivation.
   */
  private desire(facts: Facts): PlanCache {
    const desired = this.policy.desire(facts);
    if (this.lastPlan?.desired !== desired) {
      // A new plan mostly holds the actions of the last (the planner keeps the listed routes'
      // while the tunnel is the same): their keys are looked up, not built again.
      const routeKeys: string[] = [];
      const kernelKeys: string[] = [];
      for (const a of desired.actions) {
        let keys = this.actionKeys.get(a);
        if (keys === undefined) {
          keys = 'route' in a ? [routeKey(a.route), this.backend.keyOf(a.route)] : ['', ''];
          this.actionKeys.set(a, keys);
        }
        routeKeys.push(keys[0]);
        kernelKeys.push(keys[1]);
      }
      // The last action for a key wins, as in the table.
      const wantedAt = new Map<string, number>();
      desired.actions.forEach((a, i) => {
        if (a.kind === 'add' || a.kind === 'ensure' || a.kind === 'demote-to-scoped') wantedAt.set(kernelKeys[i] as string, i);
      });
      const wanted = new Map<string, Route>();
      const wantedRouteKeys = new Set<string>();
      for (const [key, i] of wantedAt) {
        wanted.set(key, (desired.actions[i] as { route: Route }).route);
        wantedRouteKeys.add(routeKeys[i] as string);
      }
      this.lastPlan = { desired, routeKeys, kernelKeys, wanted, wantedRouteKeys, recorded: new PlanRecord(desired.actions.length) };
    }
    return this.lastPlan;
  }

  private get stopRequested(): boolean {
    return this.state === 'stopping' || this.state === 'stopped';
  }

  private schedulePeriodic(): void {
    if (this.periodic) clearInterval(this.periodic);
    this.periodic = setInterval(() => void this.trigger('periodic'), this.policy.settings.reconcileIntervalMs);
    this.periodic.unref();
  }

  private setState(state: EngineState, note?: string): void {
    if (state === this.state && note === undefined) return;
    // Once stopping, a run that is finishing must not report 'installed' or 'waiting' again.
    if (this.stopRequested && state !== 'stopped') return;
    const from = this.state;
    this.state = state;
    this.status.setState(state, note ?? null);
    // 'degraded' means the table is not what it should be: a warning, like every failure that leaves it wrong.
    this.log[state === 'degraded' ? 'warn' : 'info']({ state, from, ...(note ? { note } : {}) }, `state ${note ?? state}`);
    for (const l of this.stateListeners) l(state);
  }

  // ---- one reconcile run ------------------------------------------------------------

  private async reconcile(reason: string): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    // Events after this point re-clear it; this run's snapshot covers everything before.
    this.interfacesSettled = true;
    // Repairs sent before the dump request are in the snapshot (one socket, in order).
    this.repairedInRun.clear();
    // Events before the dump request are in the snapshot.
    this.skippedInRun.clear();
    this.unreadSinceSnapshot = false;
    this.addresses.snapshotAsked();
    const snap = await this.backend.snapshot();
    this.addresses.snapshotRead(snap.interfaces);
    if (this.stopRequested) return;
    this.interfaceNames = new Map(snap.interfaces.map((i) => [i.index, i.name]));
    const name = this.policy.tunnelName();
    const tunnel = name === null ? undefined : snap.interfaces.find((i) => i.name === name);
    if (tunnel === undefined || !tunnel.up || !this.policy.hasAddress(tunnel)) {
      if (tunnel !== undefined && !tunnel.up && this.policy.hasAddress(tunnel)) this.planAhead(snap, tunnel);
      await this.tunnelUnavailable(snap, name, tunnel);
      return;
    }
    this.stopWaitPoll();
    if (this.lastTunnel && (this.lastTunnel.name !== tunnel.name || this.lastTunnel.index !== tunnel.index)) {
      this.log.info({ interface: tunnel.name, index: tunnel.index, previous: this.lastTunnel }, 'tunnel interface changed');
    }
    this.lastTunnel = { name: tunnel.name, index: tunnel.index };

    this.failures = [];
    const unready = (await this.policy.ready?.(tunnel)) ?? null;
    if (unready !== null) this.failures.push(unready);
    const gathered = (await this.policy.gather?.(tunnel)) ?? {};
    const facts: Facts = { ...deriveFacts(snap, tunnel, this.policy.os, this.journal.moved), ...gathered };
    const plan = this.desire(facts);
    // Publishing first: a service that is no longer wanted (a reload away from `system`)
    // is withdrawn before tunroute writes routes of its own.
    const published = await this.publish(plan.desired.publication, snap);
    const changes = (await this.apply(snap, plan, reason)) + (published?.changes ?? 0);
    this.status.converged({
      tunnel: { name: tunnel.name, index: tunnel.index, addresses: tunnel.addresses },
      physicalDefaults: facts.physicalDefaults,
      installed: this.installed,
      actions: plan.desired.actions,
      moved: this.journal.moved,
    });
    if (reason === 'periodic' && changes > 0) this.log.warn({ changes }, 'periodic reconcile found drift and repaired it');
    if (this.failures.length > 0) {
      // Something the plan needs is not in the table: saying `installed` would hide a leak.
      const failed = this.failures.join('; ');
      if (this.state !== 'degraded' || failed !== this.lastFailures) this.log.warn({ failures: this.failures }, `not everything could be installed: ${failed}`);
      this.lastFailures = failed;
      this.setState('degraded');
      this.status.setState('degraded', `not everything could be installed: ${failed}`);
    } else if (published && published.problems.length > 0) {
      // The publisher logs what differs; the state says that it does.
      if (this.state !== 'degraded') this.setState('degraded', 'the system did not build the expected table');
      this.status.setState('degraded', `the system did not build the expected table: ${published.problems.join('; ')}`);
    } else if (published?.settling) {
      // Not 'installed' yet: the system's own routes arrive in the next runs.
    } else if (changes > 0 || this.state !== 'installed') {
      this.lastFailures = '';
      this.setState('installed');
    }
  }

  /**
   * The tunnel is there with its address but down: plan now, as if it were up, and let the
   * backend encode the adds (`Backend.prepare`), so that "tunnel up → routes installed" is
   * the writes alone (the plan of 10,000 routes and its keys cost 40–50 ms, encoding their
   * requests about 15 ms). Nothing is written. The run at up time plans from its own facts:
   * the policy returns this plan only when they are the same (its cache is keyed by the
   * facts), and plans afresh otherwise. A policy that gathers facts at up time (WireGuard
   * peers, host names) is left to that run.
   */
  private planAhead(snap: KernelSnapshot, tunnel: KernelInterface): void {
    if (this.policy.gather) return;
    const before = this.lastPlan;
    const plan = this.desire(deriveFacts(snap, tunnel, this.policy.os, this.journal.moved));
    // A new plan: the backend may encode its adds now, so the writes at up time only send them.
    if (plan !== before && this.backend.prepare) this.backend.prepare(plan.desired.actions.flatMap((a) => (a.kind === 'add' || a.kind === 'ensure' || a.kind === 'demote-to-scoped' ? [a.route] : [])));
  }

  /** Hands the publication (if any) to the system's table owner and notes which routes it should build. */
  private async publish(publication: Publication | undefined, snap: KernelSnapshot): Promise<PublishResult | null> {
    if (publication && !this.publisher) throw new Error('this strategy publishes to the system, but this platform has no publisher');
    if (!this.publisher) return null;
    const published = await this.publisher.reconcile(publication ?? null, snap, (key, why) => this.allowRepair(key, why));
    this.expected = new Set(publication?.expected.map((r) => this.backend.keyOf(r)) ?? []);
    return published;
  }

  /**
   * Applies the difference between the snapshot and the planner's actions, in the
   * planner's order (endpoint routes, scoped copies, removals, tunnel routes, rules).
   * Returns the number of kernel changes made.
   */
  private async apply(snap: KernelSnapshot, plan: PlanCache, reason: string): Promise<number> {
    const { desired, routeKeys, wanted } = plan;
    this.changes = 0;
    // A kernel event (a deleted route to repair at once) waits at most a few milliseconds
    // for its turn while the run works: between phases, and by time within each.
    const turns = new LoopTurns();
    await turns.turn();
    // The run's own view of the table, kept current as it makes changes, so a route moved
    // aside early in the run frees its key for the tunnel route later in the same run.
    this.table = new TableView(snap.routes, (k, r) => this.backend.sameKey(k, r), this.slots);
    await turns.turn();
    const wantedRules = new Set<string>();
    const presentRules = new Set(snap.rules.map(ruleKey));
    // Adds are pipelined; a change of origin (endpoint routes, then tunnel routes) and any
    // other action wait for the writes before them, so each group is in place before the next.
    let origin: Route['origin'] | null = null;
    /** Keys a demotion freed in this run: putting the tunnel's route back there completes it, undamped. */
    const freed = new Map<string, { quiet: boolean }>();
    // Ownership first: every key this run may add goes into the ledger in ONE durable write
    // before the first kernel write (none when all are owned already, as for a repair).
    if (!(await this.ownAhead(plan, snap, turns))) return 0;
    await turns.turn();
    // Families whose endpoint route or copy could not be put in place: their physical route stays.
    const unsafe = new Set<string>();

    for (let i = 0; i < desired.actions.length; i++) {
      const action = desired.actions[i] as Action;
      // A long run of routes already in place never blocks the event loop for long: a stop,
      // a status request or a kernel event gets a turn every couple of milliseconds.
      const turn = turns.tick();
      if (turn) await turn;
      // A stop takes over: the writes in flight finish, the sweep removes everything.
      if (this.stopRequested) break;
      switch (action.kind) {
        case 'add':
        case 'ensure':
        case 'demote-to-scoped':
          if (action.route.origin !== origin) {
            await this.window.drain();
            origin = action.route.origin;
          }
        {
          const current = this.table.get(action.route);
          // Already so (the common case in a run): no write, and no promise per route.
          if (current && this.backend.satisfies(current, action.route)) {
            plan.recorded.record(this.installed, i, routeKeys[i] as string, action.route);
            // Found in place: every tagged route not kept is stale.
            this.table.keep(current);
            break;
          }
          // 'ensure' and 'demote-to-scoped': the kernel or the system may hold this route already
          // (the tunnel address's host route, configd's scoped default): EEXIST there is normal and
          // the route is adopted. An excluded prefix only has to stay on the physical side; the
          // LAN's own route does that.
          const key = routeKeys[i] as string;
          const waiting = this.ensureRoute(action.route, key, current, reason, action.kind !== 'add' || action.route.origin === 'exclude', freed.size > 0 ? freed.get(key) : undefined);
          if (waiting) await waiting;
          if (action.route.origin === 'endpoint' || action.kind === 'demote-to-scoped') {
            await this.window.drain();
            if (!this.table.get(action.route)) unsafe.add(action.route.family);
          }
          break;
        }
        case 'remove-unscoped': {
          await this.window.drain();
          const current = this.table.get(action.route);
          if (!current || current.tagged) break;
          // Never remove a physical route before what replaces it (its copy, the endpoint
          // routes) is in place: without them the machine would lose its way out.
          if (unsafe.has(action.route.family)) {
            this.degrade(`the ${action.route.family === 'inet' ? 'IPv4' : 'IPv6'} copy or endpoint route could not be added; the physical route ${action.route.destination} stays where it is`);
            break;
          }
          // Never damped: while a physical route holds a destination the tunnel takes, traffic
          // leaks past the tunnel (configd re-adds en0's default on every DHCP renewal or roam).
          // Only the logging is damped.
          const quiet = this.dampedLog(`demote|${routeKey(action.route)}`, 'a physical route keeps coming back where the tunnel\'s must be (configd re-applying its service?); moving it aside every time', action.route);
          this.status.count('foreignChanges');
          this.log[quiet ? 'debug' : 'info']({ destination: current.destination, gateway: gatewayOrNone(current.gateway), interface: this.interfaceName(current.index), index: current.index }, 'foreign change: a physical route holds a destination the tunnel takes; moving it aside');
          try {
            // Other physical routes at this key now (a second default at one metric) are its siblings.
            const siblings = [...this.table.routes()].filter((k) => k !== current && !k.tagged && this.backend.sameKey(k, current)).map(movedIdentity);
            this.journal.recordMoved(action.route, current.record ?? null, siblings);
          } catch (e) {
            if (!(e instanceof JournalWriteError)) throw e;
            this.degrade(`${e.message}; the physical route ${action.route.destination} stays where it is`);
            break;
          }
          if (await this.write('remove-unscoped', action.route, () => this.backend.deleteRoute(current), {}, quiet)) {
            this.changes++;
            this.table.forget(current);
            freed.set(routeKey(action.route), { quiet });
          }
          break;
        }
        case 'add-rule': {
          await this.window.drain();
          const key = ruleKey(action.rule);
          wantedRules.add(key);
          if (presentRules.has(key)) {
            this.installedRules.add(key);
            break;
          }
          // A rule of ours that vanished is a repair, flap-damped like a route's.
          const repair = this.installedRules.has(key) && reason !== 'start' && reason !== 'reload';
          if (repair && !this.allowRepair(`rule|${key}`, 'another agent keeps removing this rule')) break;
          if (await this.write(repair ? 'restore-rule' : 'add-rule', null, () => this.backend.addRule(action.rule), { rule: key })) {
            this.changes++;
            this.installedRules.add(key);
          } else this.failures.push(`rule ${key}`);
          break;
        }
        default:
          // restore / remove / remove-rule only appear in teardowns; the sweep does those.
          break;
      }
    }
    await this.window.drain();
    if (this.stopRequested) {
      this.flushWriteLog();
      return this.changes;
    }
    this.wanted = wanted;
    this.demoting = new Set(desired.actions.filter((a) => a.kind === 'remove-unscoped').map((a) => routeKey((a as { route: Route }).route)));

    for (const rule of snap.rules.filter((r) => r.tagged && !wantedRules.has(ruleKey(r)))) {
      const key = ruleKey(rule);
      if (!this.journal.ownsRule(key)) {
        this.reportForeign(`rule|${key}`, { rule: key });
        continue;
      }
      if (await this.write('remove-stale-rule', null, () => this.backend.deleteRule(rule), { rule: key })) this.changes++;
      this.installedRules.delete(key);
      this.journal.disown({ rules: [key] });
    }

    // Physical routes we moved that no longer need to be away (reloaded profile, other mode).
    const removing = new Set(desired.actions.filter((a) => a.kind === 'remove-unscoped').map((a) => routeKey((a as { route: Route }).route)));
    const toRestore = this.journal.moved.filter((m) => !removing.has(routeKey(m)) && !plan.wantedRouteKeys.has(routeKey(m)));
    // Our routes nobody wants any more (old gateway, reloaded profile, old tunnel index). The
    // copies that stood in for a route being restored go after it is back, as in the sweep.
    // A tagged route this run did not find in place or write is one of those, unless a
    // wanted route it satisfies was written over it this run.
    const stale: KernelRoute[] = [];
    for (const k of this.table.everyTaggedKept() ? [] : this.table.routes()) {
      if (!k.tagged || this.table.isKept(k) || !this.owns(k)) continue;
      const w = wanted.get(this.backend.keyOf(k));
      if (!(w && this.backend.satisfies(k, w))) stale.push(k);
    }
    const standIn = (k: KernelRoute): boolean => standsInFor(k, toRestore);
    const removeStale = async (routes: KernelRoute[]): Promise<void> => {
      for (const route of routes) {
        if (this.stopRequested) break;
        if (this.window.full) await this.windowRoom();
        this.submit('remove-stale', route, 'delete', (ok) => {
          if (ok) this.changes++;
          this.installed.delete(routeKey(route));
          this.table.forget(route);
          if (!this.table.get(route)?.tagged) this.journal.disown({ routes: [this.backend.keyOf(route)] });
        });
      }
      await this.window.drain();
    };
    await removeStale(stale.filter((k) => !standIn(k)));
    if (toRestore.length > 0) {
      const routes = this.table.routes();
      for (const moved of [...toRestore].reverse()) {
        if ((await this.restoreMoved(moved, routes)) !== 'restored') continue;
        this.changes++;
        routes.push({ ...moved, tagged: false });
      }
    }
    await removeStale(stale.filter(standIn));
    this.flushJournal();
    this.flushWriteLog();
    return this.changes;
  }

  /** Ours: carries the tag AND is in this instance's ledger. A tag alone proves nothing. */
  private owns(route: KernelRoute, key?: string): boolean {
    return route.tagged && this.journal.ownsRoute(key ?? this.backend.keyOf(route));
  }

  /**
   * Puts every route and rule key this run may add into the ledger with one durable write.
   * A key held by another instance's or tool's tagged route or rule is not claimed; an
   * untagged holder (a physical route about to be moved, an adopted one) leaves the key
   * harmless to own. False when the journal cannot be written: then nothing is added.
   */
  private async ownAhead(plan: PlanCache, snap: KernelSnapshot, turns: LoopTurns): Promise<boolean> {
    const { desired, kernelKeys } = plan;
    const routes: string[] = [];
    const rules: string[] = [];
    const taggedRules = new Set(snap.rules.filter((r) => r.tagged).map(ruleKey));
    for (let i = 0; i < desired.actions.length; i++) {
      const turn = turns.tick();
      if (turn) await turn;
      const action = desired.actions[i] as Action;
      if (action.kind === 'add' || action.kind === 'ensure' || action.kind === 'demote-to-scoped') {
        // The plan's kernel keys are built once per plan, not once per run (a quiet run at
        // 10,000 routes spent a quarter of its time building them here). A tagged route in
        // place is ours (journal.own skips a key it has) or another owner's (not claimed).
        const current = this.table.get(action.route);
        if (current === undefined || !current.tagged) routes.push(kernelKeys[i] as string);
      } else if (action.kind === 'add-rule') {
        const key = ruleKey(action.rule);
        if (!taggedRules.has(key) || this.journal.ownsRule(key)) rules.push(key);
      }
    }
    try {
      this.journal.own({ routes, rules });
      return true;
    } catch (e) {
      if (!(e instanceof JournalWriteError)) throw e;
      this.degrade(`${e.message}; nothing is added or moved until it can be written`);
      return false;
    }
  }

  /** Something this run could not do safely: the run ends `degraded` with `why` among its failures. */
  private degrade(why: string): void {
    this.failures.push(why);
  }


  private reportForeign(key: string, fields: Record<string, unknown>): void {
    if (this.foreignReported.has(key)) return;
    this.foreignReported.add(key);
    this.log.warn({ ...fields }, 'a route or rule carries tunroute\'s tag but no journal of this profile lists it (another instance or another tool): leaving it; `tunroute restore --all-tagged` removes such leftovers');
  }

  /** Writes pending ledger changes; a failure is logged (the entries stay in memory and go with the next write). */
  private flushJournal(): void {
    try {
      this.journal.flush();
    } catch (e) {
      if (!(e instanceof JournalWriteError)) throw e;
      this.log.warn({ err: e.message }, 'could not update the journal');
    }
  }

  /** Ends a run's write log: how many writes went to debug level only. */
  private flushWriteLog(): void {
    if (this.writesInRun > LOG_EACH_WRITES) {
      this.log.info({ writes: this.writesInRun, logged: LOG_EACH_WRITES }, `route writes: ${this.writesInRun - LOG_EACH_WRITES} more in this run (each at debug level)`);
    }
    this.writesInRun = 0;
  }

  /**
   * `key`: routeKey(route), from the plan (built while the tunnel was down, not again per write).
   * A promise only when the caller must wait (a full write window, a replacement): an install's
   * 10,000 adds were 10,000 async calls, each a promise and an await in the run's loop.
   */
  private ensureRoute(route: Route, key: string, current: KernelRoute | undefined, reason: string, adopt: boolean, afterDemotion?: { quiet: boolean }): Promise<void> | undefined {
    if (current && this.backend.satisfies(current, route)) {
      this.installed.set(key, route);
      return undefined;
    }
    // Put back at once during this run, after its snapshot was read: the repair's own write
    // does it (an EEXIST there, or a failure, triggers another run).
    if (!current && this.repairedInRun.has(key)) return undefined;
    const ours = current !== undefined && this.owns(current);
    if (current && !ours && adopt) {
      this.installed.set(key, route);
      return undefined;
    }
    // A route of ours that vanished is a repair (flap-guarded); one whose gateway or
    // interface must change (the physical gateway moved) is an update.
    const repair = !current && this.installed.has(key) && reason !== 'start' && reason !== 'reload';
    if (repair && afterDemotion === undefined && !this.allowRepair(key, 'another agent keeps removing or replacing this route', route)) return undefined;
    if (current) {
      // Our key is taken by something else. Ours (an old gateway) is replaced; a foreign route is
      // never deleted here: a destination-only delete is how other tools removed users' default routes.
      if (!ours) {
        if (current.tagged) this.reportForeign(`route|${this.backend.keyOf(current)}`, { destination: route.destination, scope: route.scope, gateway: gatewayOrNone(current.gateway), interface: this.interfaceName(current.index), index: current.index });
        else this.log.warn({ destination: route.destination, scope: route.scope, gateway: gatewayOrNone(current.gateway), interface: this.interfaceName(current.index), index: current.index }, 'a foreign route holds our destination; leaving it');
        if (!adopt) this.failures.push(`${route.destination} held by a foreign route`);
        return undefined;
      }
      return this.replaceRoute(route, key, current);
    }
    if (this.window.full) return this.windowRoom().then(() => this.submitAdd(route, key, repair, adopt, afterDemotion));
    this.submitAdd(route, key, repair, adopt, afterDemotion);
    return undefined;
  }

  /** Ours at the key, but outdated (an old gateway or interface): deleted, then the route added. */
  private async replaceRoute(route: Route, key: string, current: KernelRoute): Promise<void> {
    await this.window.drain();
    await this.write('remove-outdated', current, () => this.backend.deleteRoute(current));
    this.table.forget(current);
    if (await this.write('update', route, () => this.backend.addRoute(route))) {
      this.installed.set(key, route);
      this.keepWritten(route);
      this.changes++;
    } else {
      this.failures.push(`${route.destination} not updated`);
    }
  }

  /** A new add (or a repair's `restore`) in a window slot the caller made room for. */
  private submitAdd(route: Route, key: string, repair: boolean, adopt: boolean, afterDemotion: { quiet: boolean } | undefined): void {
    this.submit(
      repair ? 'restore' : 'add',
      route,
      'add',
      (ok) => {
        if (ok) {
          this.installed.set(key, route);
          this.keepWritten(route);
          this.changes++;
          if (repair) this.status.repaired(route);
        } else if (!adopt) {
          this.failures.push(`${route.destination}${route.table !== null && route.table !== 254 ? ` table ${route.table}` : ''} not added`);
        }
      },
      afterDemotion?.quiet ?? false,
    );
  }

  private allowRepair(key: string, why: string, route?: Route): boolean {
    const decision = this.flap.request(key);
    if (decision.waitMs === 0) return true;
    this.status.backingOff(key, route?.destination ?? null, decision.waitMs);
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

  /**
   * Flap damping for the log only: true while `key` is in a back-off episode (log quietly);
   * one warning when an episode starts.
   */
  private dampedLog(key: string, why: string, route: Route): boolean {
    const decision = this.flap.request(key);
    if (decision.startsEpisode) this.log.warn({ key, destination: route.destination, repairs: decision.repairsInWindow }, `flapping: ${why}; further moves are logged at debug level`);
    return decision.waitMs > 0;
  }

  /** Runs one kernel write and logs it. EEXIST on an add and ESRCH on a delete mean it is already so. */
  private async write(action: string, route: Route | KernelRoute | null, op: () => Promise<void>, extra: Record<string, unknown> = {}, quiet = false): Promise<boolean> {
    const level = this.writeLevel(quiet);
    try {
      await op();
    } catch (e) {
      return this.outcome(action, route, e, extra, level);
    }
    return this.outcome(action, route, null, extra, level);
  }

  /**
   * The pipelined form of `write` for a route: sent at once in a window slot (the caller
   * made room), its outcome handled by `then` when the kernel answers. No promise per write
   * where the backend takes callbacks. `then` throwing fails the next window drain.
   */
  private submit(action: string, route: Route | KernelRoute, kind: 'add' | 'delete' | 'tagged-delete', then: (ok: boolean) => void, quiet = false): void {
    const level = this.writeLevel(quiet);
    this.window.begin();
    const done = (error: unknown): void => {
      try {
        then(this.outcome(action, route, error, {}, level));
      } catch (e) {
        this.window.end(e);
        return;
      }
      this.window.end();
    };
    if (kind === 'tagged-delete' && this.backend.submitTaggedDelete) this.backend.submitTaggedDelete(route as Route, done);
    else if (kind === 'tagged-delete') throw new Error('this backend cannot delete by the tag');
    else if (this.backend.submitRoute) this.backend.submitRoute(kind, route, done);
    else (kind === 'add' ? this.backend.addRoute(route as Route) : this.backend.deleteRoute(route)).then(() => done(null), done);
  }

  /**
   * A route this run wrote goes into its table view marked kept, not stale: after an install
   * every tagged route is kept and the stale scan has nothing to walk (it looked each of
   * 10,000 new routes up again: 30 ms).
   */
  private keepWritten(route: Route): void {
    this.table.addKept({ ...route, tagged: true });
  }

  /** Waits until the write window has room (callers check `window.full` first: no promise while it has). */
  private async windowRoom(): Promise<void> {
    for (let wait = this.window.room(); wait; wait = this.window.room()) await wait;
  }

  /**
   * The first writes of a run are logged one by one at info; a bulk install or removal logs
   * the rest at debug and says how many there were (flushWriteLog), not a line per route.
   * `quiet`: a flap episode's repeats (the logging is damped, not the action).
   */
  private writeLevel(quiet: boolean): 'info' | 'debug' {
    return this.writesInRun++ < LOG_EACH_WRITES && !quiet ? 'info' : 'debug';
  }

  /** Logs a write's outcome (null: done); true when it was done. An error that is not the kernel's is thrown. */
  private outcome(action: string, route: Route | KernelRoute | null, error: unknown, extra: Record<string, unknown>, level: 'info' | 'debug'): boolean {
    // The common case first, and without a closure: a bulk install answers 10,000 of these.
    if (error === null) {
      if (this.log.isLevelEnabled(level)) this.log[level]({ action, ...(route ? this.describe(route) : {}), ...extra, result: 'ok' }, `route ${action}`);
      return true;
    }
    const fields = (): Record<string, unknown> => (route ? this.describe(route) : {});
    if (isSystemError(error) && error.code === 'ENOBUFS') {
      // The request socket overflowed: the kernel may have applied this write or not. Only a
      // fresh snapshot knows, so another run (or sweep pass) follows instead of a failure.
      this.unknownOutcomes++;
      this.dirty = true;
      this.log.warn({ action, ...fields(), ...extra }, `route ${action}: outcome lost in a request socket overflow; re-checking`);
      return false;
    }
    if (isSystemError(error)) {
      const benign = (error.code === 'EEXIST' && !action.startsWith('remove')) || (error.code === 'ESRCH' && action.startsWith('remove'));
      const errorLevel = benign ? level : 'warn';
      if (this.log.isLevelEnabled(errorLevel)) this.log[errorLevel]({ action, ...fields(), ...extra, result: 'error', errno: error.code }, `route ${action}: ${error.code}`);
      return false;
    }
    throw error;
  }

  /**
   * Puts a moved physical route back, from the kernel's own record when the journal has one.
   * The journal entry goes only when the route is back: restored, or already there (someone
   * put back the same route, or EEXIST for it). A failure keeps the entry for the next try.
   */
  private async restoreMoved(moved: Route, routes: readonly KernelRoute[]): Promise<'restored' | 'present' | 'failed'> {
    const same = routes.filter((k) => this.backend.sameKey(k, moved));
    const forget = (): void => {
      try {
        this.journal.forgetMoved(moved);
      } catch (e) {
        if (!(e instanceof JournalWriteError)) throw e;
        this.log.warn({ err: e.message, destination: moved.destination }, 'the route is back, but the journal could not be updated');
      }
    };
    if (same.some((k) => !k.tagged && this.backend.satisfies(k, moved))) {
      // Someone (configd, DHCP) already put this physical route back.
      forget();
      return 'present';
    }
    for (const k of same.filter((r) => this.owns(r))) {
      if (await this.write('remove', k, () => this.backend.deleteRoute(k))) this.journal.disown({ routes: [this.backend.keyOf(k)] });
    }
    const now = currentFormOf(moved, routes);
    if (now !== moved) this.log.info({ destination: moved.destination, journaled: gatewayText(moved.gateway), now: gatewayText(now.gateway) }, 'the physical gateway changed while the route was moved aside; restoring it with the current one');
    const record = now === moved ? this.journal.recordOf(moved) : null;
    // A different route with the same key (two defaults at one metric, `ip route append`)
    // must not hide this one: it goes back in front of it, where it was.
    const beside = same.some((k) => !this.owns(k));
    const result = await this.restoreWrite(now, record, beside);
    if (result !== 'failed') forget();
    return result;
  }

  private async restoreWrite(route: Route, record: RouteRecord | null, beside: boolean): Promise<'restored' | 'present' | 'failed'> {
    const fields = this.describe(route);
    try {
      await this.backend.restoreRoute(route, { record, beside });
      this.log.info({ action: 'restore-physical', ...fields, exact: record !== null, result: 'ok' }, 'route restore-physical');
      return 'restored';
    } catch (e) {
      if (!isSystemError(e)) throw e;
      // EEXIST for a route that was not there a moment ago: the same route was put back meanwhile.
      if (e.code === 'EEXIST' && !beside) {
        this.log.info({ action: 'restore-physical', ...fields, result: 'error', errno: e.code }, 'route restore-physical: already there');
        return 'present';
      }
      this.log.error({ action: 'restore-physical', ...fields, result: 'error', errno: e.code }, `route restore-physical: ${e.code}; the journal keeps it`);
      return 'failed';
    }
  }

  private async tunnelUnavailable(snap: KernelSnapshot, name: string | null, tunnel: KernelInterface | undefined): Promise<void> {
    const why = name === null ? 'name not known yet' : tunnel === undefined ? 'interface absent' : !tunnel.up ? 'interface down' : 'no address yet';
    const wasInstalled = this.state === 'installed' || this.state === 'degraded' || this.state === 'reloading';
    if (wasInstalled) this.log.warn({ interface: name, ...(this.lastTunnel ? { index: this.lastTunnel.index } : {}), why }, 'tunnel went away; its routes are gone with it');
    // The kernel drops routes through a vanished or downed interface without a message.
    this.installed.clear();
    if (this.policy.settings.onTunnelDown === 'restore') {
      if (wasInstalled || this.state === 'starting') {
        const swept = await this.sweepSnapshot(snap);
        if (swept.removed + swept.restored > 0) this.log.info({ ...swept }, 'restored the physical routes while the tunnel is down');
      }
    } else {
      if (wasInstalled) this.log.warn('onTunnelDown is "block": physical routes stay moved aside until the tunnel is back');
      await this.keepBlocked(snap);
    }
    const advice = this.policy.waitingAdvice?.(name, why);
    const note = `waiting for ${name ?? 'the interface name'} (${why})${advice ? `: ${advice}` : ''}`;
    // A new reason (the interface appeared but has no address yet) is a new line, and status shows it.
    if (this.state !== 'waiting' || note !== this.waitingNote) this.setState('waiting', note);
    this.waitingNote = note;
    this.status.converged({ tunnel: null, physicalDefaults: [], installed: this.installed, actions: [], moved: this.journal.moved });
    this.startWaitPoll();
  }

  /**
   * `onTunnelDown: block` while the tunnel is down: a physical route tunroute moved aside that
   * is back (configd re-applies en0's service on every DHCP renewal or roam) is moved aside
   * again at once, never damped (only the logging is). The journal takes its current form, so
   * the tunnel's return or teardown puts back the network that is there now.
   */
  private async keepBlocked(snap: KernelSnapshot): Promise<void> {
    for (const moved of [...this.journal.moved]) {
      if (this.stopRequested) return;
      const back = snap.routes.find((k) => !k.tagged && this.backend.sameKey(k, moved));
      if (back === undefined) continue;
      const quiet = this.dampedLog(`block|${routeKey(moved)}`, 'a physical route keeps coming back while the tunnel is down (configd re-applying its service?); moving it aside every time', moved);
      this.log[quiet ? 'debug' : 'warn']({ destination: back.destination, gateway: back.gateway, index: back.index }, 'onTunnelDown is "block": a physical route came back while the tunnel is down; moving it aside again');
      const name = snap.interfaces.find((i) => i.index === back.index)?.name ?? moved.interface;
      const current: Route = { ...moved, gateway: back.gateway ?? moved.gateway, index: back.index, interface: name };
      try {
        // With the kernel's own record of it, so teardown puts it back exactly.
        this.journal.recordMoved(current, back.record ?? null);
      } catch (e) {
        if (!(e instanceof JournalWriteError)) throw e;
        this.degrade(`${e.message}; the physical route ${back.destination} stays where it is`);
        continue;
      }
      await this.write('remove-unscoped', current, () => this.backend.deleteRoute(back), {}, quiet);
    }
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

  /**
   * Removes what this instance added (tagged AND in its ledger; `allTagged`: every tagged
   * route and rule, for `restore --all-tagged`) and puts back every journaled route. When a
   * request socket overflow lost the outcome of some writes, another pass over a fresh
   * snapshot finishes the job (bounded: a table that will not empty is reported, not looped on).
   */
  async sweep(why: string, options: { allTagged?: boolean } = {}): Promise<SweepResult> {
    const total: SweepResult = { removed: 0, restored: 0, failed: 0 };
    for (let pass = 1; ; pass++) {
      const lost = this.unknownOutcomes;
      const snap = await this.backend.snapshot();
      this.interfaceNames = new Map(snap.interfaces.map((i) => [i.index, i.name]));
      const result = await this.sweepSnapshot(snap, options.allTagged ?? false);
      total.removed += result.removed;
      total.restored += result.restored;
      total.failed = result.failed;
      if (this.unknownOutcomes === lost) break;
      if (pass === 5) throw new Error(`the sweep lost write outcomes ${pass} times in a row (request socket overflows)`);
    }
    this.log.debug({ why, ...total }, 'sweep done');
    return total;
  }

  /**
   * In the plan's teardown order: rules, then tunnel routes (so there is never a moment with
   * two unscoped defaults), then the moved routes back, then the copies that stood in for
   * them, and the endpoint and exclude routes last (unscoped routes through a next-hop
   * address), so the tunnel never carries its own packets, not even while IPv6 half-defaults
   * are still in place.
   */
  private async sweepSnapshot(snap: KernelSnapshot, allTagged = false): Promise<SweepResult> {
    let removed = 0;
    let restored = 0;
    // A published service goes first: the system then rebuilds the physical side itself.
    if (this.publisher) removed += await this.publisher.withdraw();
    let failed = 0;
    // Each route's kernel key, built once in this sweep (it was built up to four times a route).
    const keys = new Map<KernelRoute, string>();
    const keyOf = (r: KernelRoute): string => {
      let key = keys.get(r);
      if (key === undefined) keys.set(r, (key = this.backend.keyOf(r)));
      return key;
    };
    // owns(), with the key built once (and only for tagged routes).
    const mine = (r: KernelRoute): boolean => (allTagged ? r.tagged : r.tagged && this.owns(r, keyOf(r)));
    for (const r of snap.routes) if (r.tagged && !mine(r)) this.reportForeign(`route|${keyOf(r)}`, { destination: r.destination, gateway: r.gateway, index: r.index });
    // A tagged route on a moved route's interface, to its destination, is the copy that stood
    // in for it (macOS: the scoped default; Linux: the higher-metric default). Decided before
    // anything is restored (restoring empties the list of moved routes).
    const moved = [...this.journal.moved];
    const copies = new Set(snap.routes.filter((r) => standsInFor(r, moved)));
    // Endpoint and exclude routes: unscoped, through a next-hop address, and not at a key a
    // moved route needs back (a REJECT ::/0 via ::1 holds the moved IPv6 default's key).
    const movedKeys = new Set(moved.map((m) => this.backend.keyOf(m)));
    const isBypass = (r: KernelRoute): boolean => throughNextHop(r) && !copies.has(r) && !movedKeys.has(keyOf(r));
    const ours = snap.routes.filter(mine);
    // The table as this sweep leaves it, for the restores: what it removed goes, what it restored comes.
    const live = new Set(snap.routes);
    const remove = async (routes: KernelRoute[]): Promise<void> => {
      const failures: KernelRoute[] = [];
      // Removed routes' keys leave the ledger together, once the batch is answered.
      const gone: string[] = [];
      for (const route of routes) {
        if (this.window.full) await this.windowRoom();
        this.submit('remove', route, 'delete', (ok) => {
          if (!ok) {
            failures.push(route);
            return;
          }
          removed++;
          live.delete(route);
          gone.push(keyOf(route));
        });
      }
      try {
        await this.window.drain();
      } finally {
        this.journal.disown({ routes: gone });
      }
      // ESRCH (already gone) or an error: only a fresh look tells whether it is still there.
      if (failures.length > 0) {
        const now = await this.backend.snapshot();
        for (const route of failures) if (!now.routes.some((k) => k.tagged && this.backend.sameKey(k, route))) this.journal.disown({ routes: [keyOf(route)] });
      }
    };
    for (const rule of snap.rules.filter((r) => r.tagged)) {
      const key = ruleKey(rule);
      if (!allTagged && !this.journal.ownsRule(key)) {
        this.reportForeign(`rule|${key}`, { rule: key });
        continue;
      }
      if (await this.write('remove-rule', null, () => this.backend.deleteRule(rule), { rule: key })) removed++;
      this.journal.disown({ rules: [key] });
    }
    await remove(ours.filter((r) => !copies.has(r) && !isBypass(r)));
    // Last moved, first back: two defaults moved from one key return in their old order.
    for (const route of [...moved].reverse()) {
      const result = await this.restoreMoved(route, [...live].filter((r) => !r.tagged || mine(r)));
      if (result === 'restored') {
        restored++;
        live.add({ ...route, tagged: false });
      }
      if (result === 'failed') failed++;
    }
    await remove(ours.filter((r) => copies.has(r)));
    await remove(ours.filter(isBypass));
    // Keys still listed whose routes and rules are no longer in the table (the tunnel's routes
    // vanished with its interface) own nothing any more.
    const taggedKeys = new Set(snap.routes.filter((r) => r.tagged).map(keyOf));
    for (const key of [...this.journal.ownedRouteKeys]) if (!taggedKeys.has(key)) this.journal.disown({ routes: [key] });
    const taggedRules = new Set(snap.rules.filter((r) => r.tagged).map(ruleKey));
    for (const key of [...this.journal.ownedRuleKeys]) if (!taggedRules.has(key)) this.journal.disown({ rules: [key] });
    this.flushJournal();
    this.installed.clear();
    this.installedRules.clear();
    this.flushWriteLog();
    return { removed, restored, failed };
  }

  /**
   * The stop's first step where the kernel matches the tag on a delete (Linux): the routes
   * the last run left in place are removed by their keys, without first reading the whole
   * table (a dump of 10,000 routes: 13–30 ms, a third of the removal). The caller checked that
   * this knowledge is current. A tagged delete never removes an untagged route at the key;
   * a key leaves the ledger only when its route is removed; a failure (ESRCH: not there as
   * planned) leaves it to the sweep. The sweep's later groups (copies standing in for moved
   * routes, endpoint and exclude routes), the rules and the restores stay with the sweep,
   * whose snapshot then reads a table without our routes and confirms it.
   */
  private async removeKnown(): Promise<void> {
    if (!this.backend.submitTaggedDelete || this.publisher) return;
    const moved = this.journal.moved;
    const movedKeys = new Set(moved.map((m) => this.backend.keyOf(m)));
    const gone: string[] = [];
    try {
      for (const [key, route] of this.wanted) {
        if (!this.journal.ownsRoute(key) || movedKeys.has(key)) continue;
        // The sweep's later groups: a copy standing in for a moved route, a route through a next-hop address.
        if (throughNextHop(route) || standsInFor(route, moved)) continue;
        if (this.window.full) await this.windowRoom();
        this.submit('remove', route, 'tagged-delete', (ok) => {
          if (ok) gone.push(key);
        });
      }
      await this.window.drain();
    } finally {
      this.journal.disown({ routes: gone });
      this.installed.clear();
    }
    this.log.debug({ removed: gone.length }, 'removed the routes the last run left in place, by key');
  }

  /**
   * Stops at once without touching the table: timers off, socket closed. For a second
   * signal during cleanup, where the journal already holds what is left to undo.
   */
  halt(): void {
    for (const t of [this.periodic, this.delayed, this.confirm]) if (t) clearTimeout(t);
    this.stopWaitPoll();
    this.state = 'stopped';
    this.backend.close();
    this.publisher?.close();
  }

  /**
   * Removes everything tunroute added and restores everything it moved, within `timeoutMs`.
   * Resolves true when the table is clean; false when time ran out (the journal keeps what
   * is left, for the next start or `tunroute restore`).
   */
  async stop(timeoutMs: number): Promise<boolean> {
    if (this.state === 'stopped') return true;
    // What the last run left in place is known exactly only if it ended `installed`, no run is
    // under way and nothing has happened since that it has not read.
    const known = this.state === 'installed' && this.running === null && !this.unreadSinceSnapshot && this.unknownOutcomes === 0;
    this.setState('stopping');
    for (const t of [this.periodic, this.delayed, this.confirm]) if (t) clearTimeout(t);
    this.stopWaitPoll();
    // A run in progress sees 'stopping' at its next step and returns once its writes in flight
    // are answered (milliseconds); the sweep must not start before, or the two would race.
    if (this.running) await Promise.race([this.running, delay(timeoutMs / 2)]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    this.stopProblem = null;
    const cleaned = (known ? this.removeKnown() : Promise.resolve())
      // The sweep is the authority either way: it finds whatever the removal by key left.
      .catch((e: unknown) => this.log.warn({ err: e }, 'removing the routes by key failed; the sweep finds what is left'))
      .then(() => this.sweep('stop'))
      .then((r) => {
        if (r.failed > 0) this.stopProblem = `${r.failed} moved route(s) could not be restored; the journal keeps them for \`tunroute restore\``;
        return r.failed === 0 && this.journal.empty;
      });
    const clean = await Promise.race([
      cleaned,
      timedOut.then(() => {
        this.stopProblem ??= `cleanup did not finish within ${timeoutMs} ms; the journal keeps what is left for \`tunroute restore\``;
        return false;
      }),
    ]).catch((e: unknown) => {
      this.stopProblem = `cleanup failed: ${e instanceof Error ? e.message : String(e)}`;
      this.log.error({ err: e }, 'cleanup failed');
      return false;
    });
    clearTimeout(timer);
    if (clean) {
      try {
        this.journal.clear();
      } catch (e) {
        // The table is clean; a journal that could not be removed only lists what is already undone.
        this.log.warn({ err: (e as Error).message }, 'the table is restored, but the journal could not be removed');
      }
    } else if (this.stopProblem === null) {
      this.stopProblem = 'some routes or rules of this profile could not be removed; the journal keeps them for `tunroute restore`';
    }
    this.backend.close();
    this.publisher?.close();
    this.setState('stopped');
    return clean;
  }

  /** The fields of a route-change log line: the same keys on both platforms, `gateway` always a string. */
  private describe(route: Route | KernelRoute): Record<string, unknown> {
    // A route that refuses traffic (unreachable …) has no gateway or device: it says its type instead.
    const refusing = route.type !== undefined && route.type !== 'unicast';
    return {
      destination: route.destination,
      gateway: gatewayOrNone(refusing ? null : route.gateway),
      interface: refusing ? '' : 'interface' in route ? route.interface : this.interfaceName(route.index),
      index: route.index,
      scope: route.scope,
      ...(route.table !== null ? { table: route.table } : {}),
      ...(route.metric !== null ? { metric: route.metric } : {}),
      flags: route.flags,
      ...(refusing ? { type: route.type } : {}),
    };
  }

  private interfaceName(index: number): string {
    return this.interfaceNames.get(index) ?? `#${index}`;
  }
}

export interface SweepResult {
  removed: number;
  restored: number;
  /** Moved routes that could not be put back (kept in the journal). */
  failed: number;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** A copy standing in for a moved route: same destination, same interface (macOS: the scoped default; Linux: the higher-metric default). */
function standsInFor(route: { destination: string; index: number }, moved: readonly { destination: string; index: number }[]): boolean {
  return moved.some((m) => m.destination === route.destination && m.index === route.index);
}

/** Unscoped and through a next-hop address: an endpoint or exclude route, removed after the restores. */
function throughNextHop(route: Route | KernelRoute): boolean {
  return route.gateway !== null && 'address' in route.gateway && route.scope === null;
}
