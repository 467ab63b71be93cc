/**
 * @module engine/journal
 * One running profile's durable record of what it did to the table, so that this instance
 * (and only it) can undo exactly that after SIGTERM, a crash, SIGKILL or a power loss:
 *
 * - the ledger: the kernel key of every route and every rule this instance added. A key is
 *   written durably BEFORE the kernel write that adds it. The kernel tag (RTF_PROTO1,
 *   rtm_protocol 232) is a second condition, never the only one: a tagged route no ledger
 *   lists belongs to another tunroute instance or to another tool (NetBird uses RTF_PROTO1
 *   too) and is left alone.
 * - moved routes: physical routes this instance removed to make room, each with the
 *   kernel's own record of it (Linux: the rtmsg and every attribute; macOS: flags, metrics,
 *   gateway scope), written before the removal, so a restore re-creates it byte for byte.
 *
 * Every moved entry carries the boot it was made in (engine/boot-time.ts), and the ledger
 * the boot of its last write: a route journaled before a reboot names interface indexes and
 * gateways of a machine that no longer exists, and the routes a ledger lists did not survive
 * the reboot. Such entries are dropped at load (and reported), never restored or removed.
 *
 * The file is JSON, versioned (`version`), read through the file-trust rules (root's file in
 * root's folder, bounded size) and schema-checked entry by entry before anything acts on it.
 * Readers ignore unknown optional keys (`bootTime` and the like may be added), and refuse a
 * newer version rather than guess. Writes are atomic (O_EXCL temporary, fsync, rename, folder
 * fsync); a failed write throws JournalWriteError and the caller must not make the change.
 */
import { unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { RouteRecord } from '../backends/backend.js';
import type { Route } from '../model/route.js';
import { routeKey } from '../model/route.js';
import { readTrustedFile, syncFolder, TrustError, writeTrustedFile } from '../trust.js';
import { currentBootTime, sameBoot } from './boot-time.js';
import { JOURNAL_VERSION, validateJournal } from './journal-schema.js';

export { JOURNAL_VERSION };
/** A journal is a few kilobytes per moved route and ~60 bytes per owned key: 64 MiB bounds 500k keys. */
export const JOURNAL_MAX_BYTES = 64 << 20;

/** A physical route this instance moved aside, with the kernel's record for an exact restore. */
export interface MovedRoute {
  route: Route;
  record: RouteRecord | null;
  /** The boot it was moved in (seconds since the epoch); absent in journals of older releases. */
  bootTime?: number;
  /**
   * Other physical routes that held the same key when this one was moved (Linux: two
   * defaults at one metric), by movedIdentity: when one of them is moved later, both stay
   * journaled. Any other later route at the key replaces this entry (a roam: the old one is gone).
   */
  siblings?: string[];
}

/** An entry left by an earlier boot: dropped, never restored. */
export interface StaleEntry {
  route: Route;
  bootTime: number;
}

export interface JournalOptions {
  /** The instance's name (the profile's `name`). */
  name?: string;
  os?: 'darwin' | 'linux';
  /** This boot's start; default: read from the system (kern.boottime, /proc/stat btime). */
  bootTime?: number;
}

export interface JournalState {
  version: typeof JOURNAL_VERSION;
  /** The profile file and instance name the entries were made for, to explain a restore. */
  profile: string;
  name: string;
  os: 'darwin' | 'linux';
  /** The pid that wrote the journal last. */
  pid: number;
  /** The boot of the last write: the ledger's keys are this boot's. */
  bootTime?: number;
  /** Kernel keys of the routes (kernelKey) and rules (ruleKey) this instance added. */
  owned: { routes: string[]; rules: string[] };
  moved: MovedRoute[];
  /** Keys this reader does not know are kept, so a newer writer's additions survive a rewrite. */
  [extension: string]: unknown;
}

export class JournalError extends Error {
  override name = 'JournalError';
}

/** A durable write that failed (EROFS, ENOSPC, EIO, an untrusted folder): nothing may be changed that needed it. */
export class JournalWriteError extends JournalError {
  override name = 'JournalWriteError';
  readonly code: string;
  constructor(path: string, cause: unknown) {
    const code = cause instanceof TrustError ? 'untrusted' : typeof (cause as { code?: unknown }).code === 'string' ? (cause as { code: string }).code : 'error';
    super(`cannot write the journal ${path}: ${cause instanceof TrustError ? cause.message : code}`);
    this.code = code;
  }
}

export class Journal {
  private pathNow: string;
  private state: JournalState;
  private readonly ownedRoutes = new Set<string>();
  private readonly ownedRules = new Set<string>();
  private dirty = false;
  /** This boot's start: every entry written carries it. */
  readonly bootTime: number;
  /** Moved entries the file had from an earlier boot; dropped at load, not restored (logStaleEntries reports them). */
  readonly stale: StaleEntry[] = [];
  /** Ledger keys the file had from an earlier boot: nothing of them survived the reboot. */
  staleOwned = 0;

  constructor(path: string, profile: string, options: JournalOptions = {}) {
    this.pathNow = resolve(path);
    this.bootTime = options.bootTime ?? currentBootTime();
    const os = options.os ?? (process.platform === 'darwin' ? 'darwin' : 'linux');
    this.state = { version: JOURNAL_VERSION, profile, name: options.name ?? profile, os, pid: process.pid, owned: { routes: [], rules: [] }, moved: [] };
  }

  get path(): string {
    return this.pathNow;
  }

  /**
   * Reads what an earlier run of this profile left, or an empty journal when there is none.
   * Throws JournalError for a file that cannot be trusted or is damaged; the message quotes
   * nothing from it.
   */
  static load(path: string, profile: string, options: JournalOptions = {}): Journal {
    const journal = new Journal(path, profile, options);
    let bytes: Buffer;
    try {
      bytes = readTrustedFile(path, { noFollow: true, maxBytes: JOURNAL_MAX_BYTES });
    } catch (e) {
      if (e instanceof TrustError && e.reason === 'missing') return journal;
      throw new JournalError(`refusing the journal: ${(e as Error).message}; nothing was restored from it`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new JournalError(`the journal ${path} is damaged (not JSON); inspect it, restore the routes it lists by hand, and remove it`);
    }
    const checked = validateJournal(parsed, journal.state.os);
    if (!checked.ok) {
      throw new JournalError(`the journal ${path} is damaged (${checked.error}); inspect it, restore the routes it lists by hand, and remove it`);
    }
    const { moved, owned, ...rest } = checked.state;
    const current = moved.filter((m) => {
      if (m.bootTime === undefined || sameBoot(m.bootTime, journal.bootTime)) return true;
      journal.stale.push({ route: m.route, bootTime: m.bootTime });
      return false;
    });
    journal.state = { ...rest, pid: process.pid, owned: { routes: [], rules: [] }, moved: current };
    // Routes and rules do not survive a reboot: an earlier boot's ledger owns nothing now.
    if (rest.bootTime !== undefined && !sameBoot(rest.bootTime, journal.bootTime)) {
      journal.staleOwned = owned.routes.length + owned.rules.length;
    } else {
      for (const k of owned.routes) journal.ownedRoutes.add(k);
      for (const k of owned.rules) journal.ownedRules.add(k);
    }
    return journal;
  }

  get moved(): readonly Route[] {
    return this.state.moved.map((m) => m.route);
  }

  get movedEntries(): readonly MovedRoute[] {
    return this.state.moved;
  }

  get profile(): string {
    return this.state.profile;
  }

  get name(): string {
    return this.state.name;
  }

  /** The route keys this instance owns (for `status`), as a read-only view. */
  get ownedRouteKeys(): ReadonlySet<string> {
    return this.ownedRoutes;
  }

  get ownedRuleKeys(): ReadonlySet<string> {
    return this.ownedRules;
  }

  ownsRoute(key: string): boolean {
    return this.ownedRoutes.has(key);
  }

  ownsRule(key: string): boolean {
    return this.ownedRules.has(key);
  }

  /**
   * Records that this instance is about to add the routes and rules with these keys. One
   * durable write for the whole batch, none when every key is already owned (a repair).
   * Throws JournalWriteError: the caller must then not add them.
   */
  own(keys: { routes?: Iterable<string>; rules?: Iterable<string> }): void {
    const routes = [...(keys.routes ?? [])].filter((k) => !this.ownedRoutes.has(k));
    const rules = [...(keys.rules ?? [])].filter((k) => !this.ownedRules.has(k));
    if (routes.length === 0 && rules.length === 0) return;
    for (const k of routes) this.ownedRoutes.add(k);
    for (const k of rules) this.ownedRules.add(k);
    try {
      this.persist();
    } catch (e) {
      for (const k of routes) this.ownedRoutes.delete(k);
      for (const k of rules) this.ownedRules.delete(k);
      throw e;
    }
  }

  /**
   * Forgets keys whose routes or rules are gone (deleted by us, or ESRCH). Not durable by
   * itself: a stale owned key only costs an ESRCH later. `flush()` writes it.
   */
  disown(keys: { routes?: Iterable<string>; rules?: Iterable<string> }): void {
    for (const k of keys.routes ?? []) if (this.ownedRoutes.delete(k)) this.dirty = true;
    for (const k of keys.rules ?? []) if (this.ownedRules.delete(k)) this.dirty = true;
  }

  /** Writes pending disowns, if any. A failure is reported to the caller, nothing is lost. */
  flush(): void {
    if (this.dirty) this.persist();
  }

  /** Records that `route` (with the kernel's record of it) is about to be removed. Durable when this returns. */
  recordMoved(route: Route, record: RouteRecord | null = null, siblings: readonly string[] = []): void {
    const id = movedIdentity(route);
    const key = routeKey(route);
    const before = this.state.moved;
    // At the same key, an entry stays only when this route was beside it when it was moved.
    const kept = before.filter((m) => routeKey(m.route) !== key || (movedIdentity(m.route) !== id && (m.siblings ?? []).includes(id)));
    this.state.moved = [...kept, { route, record, bootTime: this.bootTime, ...(siblings.length > 0 ? { siblings: [...siblings] } : {}) }];
    try {
      this.persist();
    } catch (e) {
      this.state.moved = before;
      throw e;
    }
  }

  /** Forgets a route once it is back (or someone else put a physical route there). */
  forgetMoved(route: Route): void {
    const id = movedIdentity(route);
    const before = this.state.moved.length;
    this.state.moved = this.state.moved.filter((m) => movedIdentity(m.route) !== id);
    if (this.state.moved.length !== before) this.persist();
  }

  /** The record kept for a moved route, for an exact restore. */
  recordOf(route: Route): RouteRecord | null {
    const id = movedIdentity(route);
    return this.state.moved.find((m) => movedIdentity(m.route) === id)?.record ?? null;
  }

  /** True when nothing is owned and nothing moved: the table holds nothing of this instance's. */
  get empty(): boolean {
    return this.ownedRoutes.size === 0 && this.ownedRules.size === 0 && this.state.moved.length === 0;
  }

  /** Removes the file: nothing is left to undo. */
  clear(): void {
    this.ownedRoutes.clear();
    this.ownedRules.clear();
    this.state.moved = [];
    this.dirty = false;
    removeFile(this.pathNow);
  }

  /**
   * Moves the journal to `path` (a reload changed `daemon.journal`): written there first,
   * then removed here, so a crash in between leaves it in one place or both, never none.
   */
  relocate(path: string): void {
    const old = this.pathNow;
    this.pathNow = resolve(path);
    if (this.empty) {
      removeFile(old);
      return;
    }
    try {
      this.persist();
    } catch (e) {
      this.pathNow = old;
      throw e;
    }
    removeFile(old);
  }

  private persist(): void {
    this.state.owned = { routes: [...this.ownedRoutes], rules: [...this.ownedRules] };
    this.state.bootTime = this.bootTime;
    if (this.empty) {
      this.clear();
      return;
    }
    try {
      writeTrustedFile(this.pathNow, JSON.stringify(this.state) + '\n');
    } catch (e) {
      throw new JournalWriteError(this.pathNow, e);
    }
    this.dirty = false;
  }
}

/**
 * A moved route's identity: its kernel key and where it led. Two physical defaults at one
 * metric (`ip route append`) share the key, and both must come back.
 */
export function movedIdentity(route: Pick<Route, 'destination' | 'scope' | 'table' | 'metric' | 'index'> & { gateway: Route['gateway'] | null }): string {
  const via = route.gateway === null ? '-' : 'link' in route.gateway ? `link#${route.gateway.link}` : route.gateway.address;
  return `${routeKey(route)}|${via}|${route.index}`;
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
    syncFolder(dirname(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new JournalWriteError(path, e);
  }
}

/** One warning per entry left by an earlier boot: what it was and why it is not put back. */
export function logStaleEntries(journal: Journal, log: Pick<Logger, 'warn'>): void {
  for (const { route, bootTime } of journal.stale) {
    log.warn(
      { destination: route.destination, interface: route.interface, index: route.index, journaledBoot: bootTime, boot: journal.bootTime },
      'journal entry from an earlier boot: not restored (interface indexes and gateways belong to that boot)',
    );
  }
  if (journal.staleOwned > 0) log.warn({ keys: journal.staleOwned }, 'the journal\'s ledger is from an earlier boot: its routes and rules did not survive the reboot, nothing is removed for it');
}
