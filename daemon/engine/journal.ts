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
import type { Route } from '../model/route.js';
import { routeKey } from '../model/route.js';

export interface JournalState {
  version: 1;
  /** The profile the entries were made for, to explain a restore. */
  profile: string;
  /** Physical routes tunroute removed and must put back, keyed by routeKey. */
  moved: Route[];
}

export class JournalError extends Error {
  override name = 'JournalError';
}

export class Journal {
  readonly path: string;
  private state: JournalState;

  constructor(path: string, profile: string) {
    this.path = path;
    this.state = { version: 1, profile, moved: [] };
  }

  /** Reads what an earlier run left, or an empty journal when there is none. */
  static load(path: string, profile: string): Journal {
    const journal = new Journal(path, profile);
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
      journal.state = { version: 1, profile: parsed.profile ?? profile, moved: parsed.moved };
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
    try {
      writeSync(fd, JSON.stringify(this.state, null, 2) + '\n');
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
