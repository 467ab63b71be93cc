/**
 * @module test/xnu/dynamic-store
 * configd's SCDynamicStore as the server keeps it (configd-ipmonitor.md §5; configd.tproj
 * _configset.c, _configremove.c, _confignotify.c, _configclose.c, session.c): one key →
 * value map shared by every session, per-session keys, one set of "changed keys" pushed to
 * every watcher whose keys or patterns match.
 *
 * What the model does, rule by rule:
 * - **Session keys.** A session opened with `useSessionKeys` tags every key it creates; the
 *   tagged keys are removed when the session closes (close(), or the process dies: the
 *   Mach no-senders notification, §5.2), and watchers are told.
 * - **Write rules (§5.1).** A session-keys session may create a key or update its own; a key
 *   that exists untagged or tagged by another session fails with kSCStatusKeyExists, which
 *   SetMultiple silently drops. A normal session's write to someone's session key strips
 *   the tag (the key then survives that session).
 * - **Every write is a change**, unchanged content included (§4.1: this is what forces
 *   IPMonitor to re-apply a service's routes). NotifyValue is configd's "set the same value
 *   again" (an absent key is created and removed in the same step), so a session-keys session
 *   can only poke keys it owns or keys that do not exist.
 * - **SetMultiple is atomic**: sets, then removes, then notifies, then one push.
 * - **Who may write (§5.3)**: root may write anything; a non-configd writer of a `Setup:` key
 *   is only logged ("*** Non-configd pid … modifying"); non-root writers get
 *   kSCStatusAccessError (the write-access entitlement is not modelled).
 * - **Notifications** are asynchronous, as for a client of a real daemon: changed keys
 *   accumulate per session and are delivered on a later turn of the event loop (setImmediate),
 *   one batch per turn. `deliverNow()` delivers synchronously (scenario setup),
 *   `settle()` waits until no batch is pending anywhere.
 * - **Restart (§4.3, §5.4)**: the whole store is lost; sessions stay usable (the client library
 *   reconnects) but their session keys are gone; every watcher is told with an EMPTY
 *   changed-keys list; in-process plugins (IPMonitor, PreferencesMonitor, IPConfiguration)
 *   start again.
 * Patterns are POSIX extended regular expressions matched against the whole key (configd
 * anchors them); the model uses JavaScript RegExp, which agrees on the patterns configd's
 * clients use (`[^/]+`, alternation, literal text).
 */
import type { DynamicStoreSession, PlistValue } from '../../native/index.js';

/** SystemConfiguration.h kSCStatus* values (the errno of a store failure). */
export const SC_STATUS = {
  kSCStatusFailed: 1001,
  kSCStatusInvalidArgument: 1002,
  kSCStatusAccessError: 1003,
  kSCStatusNoKey: 1004,
  kSCStatusKeyExists: 1005,
  kSCStatusNoStoreSession: 2001,
} as const;
export type ScStatusName = keyof typeof SC_STATUS;

/** The error shape the addon throws for a SystemConfiguration failure (native/index.ts). */
export function scError(code: ScStatusName, syscall: string): Error & { errno: number; code: string; syscall: string } {
  const e = new Error(`${syscall} ${code}`) as Error & { errno: number; code: string; syscall: string };
  e.errno = SC_STATUS[code];
  e.code = code;
  e.syscall = syscall;
  return e;
}

/** What a store session needs to know about its client process. */
export interface StoreSessionOptions {
  /** The client's name (SCDynamicStoreCreate's `name`), for logs. */
  name: string;
  pid: number;
  /** Defaults to true. */
  root?: boolean;
  useSessionKeys?: boolean;
  /** Receives each batch of changed keys; [] after a configd restart. */
  onChange?: (changedKeys: string[]) => void;
}

interface Entry {
  value: PlistValue;
  /** The session that owns this as a session key, if any. */
  session: StoreSession | null;
}

/** One line of configd's own log that tests may look at. */
export interface StoreLogLine {
  message: string;
  pid: number;
  key?: string;
}

/** A deep structural copy: what CFPropertyList serialisation across the Mach boundary gives. */
export function copyPlist(value: PlistValue): PlistValue {
  return structuredClone(value);
}

/** CFEqual on property lists. */
export function plistEqual(a: PlistValue | null | undefined, b: PlistValue | null | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => plistEqual(x, b[i]));
  if (typeof a === 'object') {
    if (typeof b !== 'object' || Array.isArray(b)) return false;
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && plistEqual(a[k], b[k]));
  }
  return false;
}

function isPlist(value: unknown): value is PlistValue {
  if (typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isPlist);
  if (typeof value === 'object' && value !== null) return Object.values(value).every(isPlist);
  return false;
}

function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

/** The server side of one client session, also the client's DynamicStoreSession handle. */
export class StoreSession implements DynamicStoreSession {
  readonly name: string;
  readonly pid: number;
  readonly root: boolean;
  readonly useSessionKeys: boolean;
  private readonly store: DynamicStore;
  private onChange: ((changedKeys: string[]) => void) | undefined;
  private watchKeys = new Set<string>();
  private watchPatterns: RegExp[] = [];
  private pending = new Set<string>();
  private pendingRestart = false;
  private scheduled = false;
  private open = true;
  /** Batches delivered so far (tests look at how often a client was woken). */
  deliveries = 0;

  constructor(store: DynamicStore, options: StoreSessionOptions) {
    this.store = store;
    this.name = options.name;
    this.pid = options.pid;
    this.root = options.root ?? true;
    this.useSessionKeys = options.useSessionKeys ?? false;
    this.onChange = options.onChange;
  }

  get isOpen(): boolean {
    return this.open;
  }

  private check(syscall: string): void {
    if (!this.open) throw scError('kSCStatusNoStoreSession', syscall);
  }

  setMultiple(set: Record<string, PlistValue>, remove: string[], notify: string[]): void {
    this.check('SCDynamicStoreSetMultiple');
    if (typeof set !== 'object' || set === null || !Array.isArray(remove) || !Array.isArray(notify)) {
      throw scError('kSCStatusInvalidArgument', 'SCDynamicStoreSetMultiple');
    }
    if (!Object.values(set).every(isPlist)) throw scError('kSCStatusInvalidArgument', 'SCDynamicStoreSetMultiple');
    if (![...remove, ...notify].every((k) => typeof k === 'string')) throw scError('kSCStatusInvalidArgument', 'SCDynamicStoreSetMultiple');
    this.store.setMultipleFrom(this, set, remove, notify, 'SCDynamicStoreSetMultiple');
  }

  /** SCDynamicStoreSetValue: unlike SetMultiple, its kSCStatusKeyExists reaches the caller. */
  setValue(key: string, value: PlistValue): void {
    this.check('SCDynamicStoreSetValue');
    if (!isPlist(value)) throw scError('kSCStatusInvalidArgument', 'SCDynamicStoreSetValue');
    this.store.setMultipleFrom(this, { [key]: value }, [], [], 'SCDynamicStoreSetValue', true);
  }

  /** SCDynamicStoreRemoveValue: kSCStatusNoKey when absent. */
  removeValue(key: string): void {
    this.check('SCDynamicStoreRemoveValue');
    this.store.setMultipleFrom(this, {}, [key], [], 'SCDynamicStoreRemoveValue', true);
  }

  copyValue(key: string): PlistValue | null {
    this.check('SCDynamicStoreCopyValue');
    return this.store.get(key);
  }

  copyKeyList(pattern: string): string[] {
    this.check('SCDynamicStoreCopyKeyList');
    let re: RegExp;
    try {
      re = anchored(pattern);
    } catch {
      throw scError('kSCStatusInvalidArgument', 'SCDynamicStoreCopyKeyList');
    }
    return this.store.keys().filter((k) => re.test(k));
  }

  notifyValue(key: string): void {
    this.check('SCDynamicStoreNotifyValue');
    this.store.setMultipleFrom(this, {}, [], [key], 'SCDynamicStoreNotifyValue');
  }

  setNotificationKeys(keys: string[], patterns: string[]): void {
    this.check('SCDynamicStoreSetNotificationKeys');
    let compiled: RegExp[];
    try {
      compiled = patterns.map(anchored);
    } catch {
      throw scError('kSCStatusInvalidArgument', 'SCDynamicStoreSetNotificationKeys');
    }
    this.watchKeys = new Set(keys);
    this.watchPatterns = compiled;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.onChange = undefined;
    this.pending.clear();
    this.store.closeSession(this);
  }

  // ---- server side

  watches(key: string): boolean {
    return this.watchKeys.has(key) || this.watchPatterns.some((p) => p.test(key));
  }

  /** Queues changed keys for this watcher. */
  enqueue(keys: Iterable<string>): void {
    if (!this.open || this.onChange === undefined) return;
    for (const k of keys) if (this.watches(k)) this.pending.add(k);
    this.scheduleDelivery();
  }

  /** configd restarted: the callout gets an empty list (no disconnect callback registered). */
  enqueueRestart(): void {
    if (!this.open || this.onChange === undefined) return;
    this.pending.clear();
    this.pendingRestart = true;
    this.scheduleDelivery();
  }

  get hasPending(): boolean {
    return this.open && this.onChange !== undefined && (this.pending.size > 0 || this.pendingRestart);
  }

  private scheduleDelivery(): void {
    if (this.scheduled || !this.hasPending) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.deliver();
    });
  }

  /** Hands the pending batch to the callback (no-op when nothing is pending). */
  deliver(): void {
    if (!this.hasPending) return;
    const batch = this.pendingRestart ? [] : [...this.pending];
    this.pending.clear();
    this.pendingRestart = false;
    this.deliveries++;
    this.onChange!(batch);
  }
}

/** A plugin that lives inside configd and starts again with it (IPMonitor, IPConfiguration …). */
export interface ConfigdPlugin {
  /** Runs at configd start and again after every restart, in registration order. */
  start(): void;
}

export class DynamicStore {
  private data = new Map<string, Entry>();
  private readonly sessions = new Set<StoreSession>();
  private readonly plugins: ConfigdPlugin[] = [];
  /** configd's log lines the model produces (non-configd Setup: writers …). */
  readonly log: StoreLogLine[] = [];
  /** configd's own pid: its plugins write as this pid. */
  readonly pid: number;
  /** How many times configd has (re)started. */
  generation = 0;

  constructor(options: { pid: number }) {
    this.pid = options.pid;
  }

  /** SCDynamicStoreCreateWithOptions. */
  openSession(options: StoreSessionOptions): StoreSession {
    const s = new StoreSession(this, options);
    this.sessions.add(s);
    return s;
  }

  /** Adds an in-process plugin; `start()` runs now if configd is already running. */
  addPlugin(plugin: ConfigdPlugin): void {
    this.plugins.push(plugin);
    if (this.generation > 0) plugin.start();
  }

  /** configd's launch at boot: plugins start in order. */
  start(): void {
    if (this.generation > 0) throw new Error('configd is already running');
    this.generation = 1;
    for (const p of this.plugins) p.start();
  }

  /**
   * configd exits and launchd starts it again: the store is empty, session keys are gone,
   * every client's callout gets [] and the plugins start over (IPMonitor flushes the
   * IPv4 static routes first, §4.3).
   */
  restart(): void {
    this.data = new Map();
    for (const s of this.sessions) s.enqueueRestart();
    this.generation++;
    for (const p of this.plugins) p.start();
  }

  get(key: string): PlistValue | null {
    const e = this.data.get(key);
    return e === undefined ? null : copyPlist(e.value);
  }

  keys(): string[] {
    return [...this.data.keys()].sort();
  }

  /** The session that owns `key` as a session key (null: a plain key or absent). */
  ownerOf(key: string): StoreSession | null {
    return this.data.get(key)?.session ?? null;
  }

  openSessions(): StoreSession[] {
    return [...this.sessions].filter((s) => s.isOpen);
  }

  /** Delivers every pending batch now, repeatedly, until nothing is pending (scenario setup). */
  deliverNow(): void {
    for (let round = 0; round < 100; round++) {
      const ready = [...this.sessions].filter((s) => s.hasPending);
      if (ready.length === 0) return;
      for (const s of ready) s.deliver();
    }
    throw new Error('dynamic store notifications do not settle');
  }

  /** Resolves once no session has a pending batch for two event-loop turns in a row. */
  async settle(): Promise<void> {
    let quiet = 0;
    for (let turn = 0; turn < 10_000 && quiet < 2; turn++) {
      await new Promise<void>((r) => setImmediate(r));
      quiet = [...this.sessions].some((s) => s.hasPending) ? 0 : quiet + 1;
    }
  }

  /** One atomic SetMultiple (also SetValue/RemoveValue/NotifyValue) from `session`. */
  setMultipleFrom(session: StoreSession, set: Record<string, PlistValue>, remove: string[], notify: string[], syscall: string, strict = false): void {
    const keys = [...Object.keys(set), ...remove, ...notify];
    if (!session.root) throw scError('kSCStatusAccessError', syscall);
    if (session.pid !== this.pid) {
      for (const key of keys) {
        if (key.startsWith('Setup:')) this.log.push({ message: `*** Non-configd pid ${session.pid} modifying "${key}"`, pid: session.pid, key });
      }
    }
    const changed = new Set<string>();
    for (const [key, value] of Object.entries(set)) {
      const status = this.setOne(session, key, copyPlist(value), changed);
      if (status !== undefined && strict) throw scError(status, syscall);
    }
    for (const key of remove) {
      const status = this.removeOne(key, changed);
      if (status !== undefined && strict) throw scError(status, syscall);
    }
    for (const key of notify) {
      const existing = this.data.get(key);
      if (existing !== undefined) this.setOne(session, key, existing.value, changed);
      else if (this.setOne(session, key, true, changed) === undefined) this.removeOne(key, changed);
    }
    this.push(changed);
  }

  private setOne(session: StoreSession, key: string, value: PlistValue, changed: Set<string>): ScStatusName | undefined {
    const existing = this.data.get(key);
    let owner: StoreSession | null = existing?.session ?? null;
    if (session.useSessionKeys) {
      if (existing === undefined) owner = session;
      else if (existing.session !== session) return 'kSCStatusKeyExists';
    } else if (existing !== undefined && existing.session !== null && existing.session !== session) {
      // A normal session's update takes the key off the other session's remove-on-close list.
      owner = null;
    }
    this.data.set(key, { value, session: owner });
    changed.add(key);
    return undefined;
  }

  private removeOne(key: string, changed: Set<string>): ScStatusName | undefined {
    if (!this.data.delete(key)) return 'kSCStatusNoKey';
    changed.add(key);
    return undefined;
  }

  private push(changed: Set<string>): void {
    if (changed.size === 0) return;
    for (const s of this.sessions) s.enqueue(changed);
  }

  /** __SCDynamicStoreClose: the session's keys go, watchers are told. */
  closeSession(session: StoreSession): void {
    this.sessions.delete(session);
    const changed = new Set<string>();
    for (const [key, entry] of this.data) {
      if (entry.session === session) changed.add(key);
    }
    for (const key of changed) this.data.delete(key);
    this.push(changed);
  }
}
