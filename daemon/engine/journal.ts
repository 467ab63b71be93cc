/**
 * @module engine/journal
 * The on-disk record of changes tunroute made to routes it does not own (a physical
 * default it removed after making sure a scoped copy exists). It is written, fsync'ed and
 * atomically renamed into place BEFORE each such change, so after SIGKILL, a crash or a
 * power loss the next run (or `tunroute restore`) can put those routes back.
 *
 * Routes tunroute adds itself need no journal entry: they carry its tag in the kernel.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { Route } from '../model/route.js';
import { routeKey } from '../model/route.js';
import { currentBootTime, sameBoot } from './boot-time.js';

export interface JournalState {
  version: 1;
  /** The profile the entries were made for, to explain a restore. */
  profile: string;
  /** Physical routes tunroute removed and must put back, keyed by routeKey. */
  moved: Route[];
}

/** A moved route as the file holds it: with the boot it was moved in (engine/boot-time.ts). */
type StoredRoute = Route & { bootTime?: number };

/** An entry left by an earlier boot: dropped, never restored. */
export interface StaleEntry {
  route: Route;
  bootTime: number;
}

export class JournalError extends Error {
  override name = 'JournalError';
}

export class Journal {
  readonly path: string;
  private state: JournalState;
  /** This boot's start (kern.boottime): every entry written carries it. */
  readonly bootTime: number;
  /** Entries the file had from an earlier boot; dropped at load, not restored (the caller logs them). */
  readonly stale: StaleEntry[] = [];
  /** The boot each loaded entry was moved in, by routeKey (entries written by this run: bootTime). */
  private readonly bootOf = new Map<string, number>();

  constructor(path: string, profile: string, bootTime = currentBootTime()) {
    this.path = path;
    this.state = { version: 1, profile, moved: [] };
    this.bootTime = bootTime;
  }

  /**
   * Reads what an earlier run left, or an empty journal when there is none. Entries from an
   * earlier boot go to `stale` instead of `moved`; entries without a boot time (written by an
   * older tunroute) are kept.
   */
  static load(path: string, profile: string, bootTime = currentBootTime()): Journal {
    const journal = new Journal(path, profile, bootTime);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return journal;
      throw new JournalError(`cannot read the journal ${path}: ${(e as Error).message}`);
    }
    try {
      const parsed = JSON.parse(text) as Partial<JournalState>;
      if (parsed.version !== 1 || !Array.isArray(parsed.moved)) throw new Error('unknown format');
      const moved: Route[] = [];
      for (const entry of parsed.moved as StoredRoute[]) {
        const { bootTime: entryBoot, ...route } = entry;
        if (typeof entryBoot === 'number' && !sameBoot(entryBoot, bootTime)) {
          journal.stale.push({ route, bootTime: entryBoot });
          continue;
        }
        if (typeof entryBoot === 'number') journal.bootOf.set(routeKey(route), entryBoot);
        moved.push(route);
      }
      journal.state = { version: 1, profile: parsed.profile ?? profile, moved };
    } catch (e) {
      throw new JournalError(`the journal ${path} is damaged (${(e as Error).message}); inspect it, restore the routes it lists by hand, and remove it`);
    }
    return journal;
  }

  get moved(): readonly Route[] {
    return this.state.moved;
  }

  get profile(): string {
    return this.state.profile;
  }

  /** Records that `route` is about to be removed. Durable when this returns. */
  recordMoved(route: Route): void {
    const key = routeKey(route);
    this.state.moved = [...this.state.moved.filter((r) => routeKey(r) !== key), route];
    this.bootOf.set(key, this.bootTime);
    this.persist();
  }

  /** Forgets a route once it has been put back (or can no longer be). */
  forgetMoved(route: Route): void {
    const key = routeKey(route);
    const before = this.state.moved.length;
    this.state.moved = this.state.moved.filter((r) => routeKey(r) !== key);
    if (this.state.moved.length !== before) this.persist();
  }

  /** Removes the file: nothing is left to undo. */
  clear(): void {
    this.state.moved = [];
    try {
      unlinkSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  private persist(): void {
    if (this.state.moved.length === 0) {
      this.clear();
      return;
    }
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o755 });
    const temp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    const moved: StoredRoute[] = this.state.moved.map((r) => ({ ...r, bootTime: this.bootOf.get(routeKey(r)) ?? this.bootTime }));
    try {
      writeSync(fd, JSON.stringify({ ...this.state, moved }, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.path);
    // The rename itself must survive a power loss too.
    const dir = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
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
}
