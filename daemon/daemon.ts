/**
 * @module daemon
 * The `run` lifecycle around the engine: load the profile (refuse to start on problems,
 * exit 78), open the backend, sweep, wait, install, watch; reload on SIGHUP or when the
 * profile file changes; clean up on SIGTERM/SIGINT within the profile's shutdown timeout.
 */
import { basename, dirname, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { LevelWithSilent } from 'pino';
import type { NativeBinding } from '../native/index.js';
import { loadNative } from '../native/index.js';
import { createBackend } from './backends/index.js';
import { Engine, type EngineState } from './engine/engine.js';
import { Journal, JournalError, logStaleEntries } from './engine/journal.js';
import { claimsOf, InstanceLock } from './instance-lock.js';
import { STATE_DIR } from './profile/profile.js';
import { TrustError } from './trust.js';
import { createLogger, type LogFormat, type Logger } from './logger.js';
import { createPolicy } from './policy.js';
import { ConfigdPublisher, serviceId } from './strategies/system.js';
import { loadProfile } from './profile/load.js';
import { formatProblem, type Problem } from './profile/problems.js';
import type { Profile } from './profile/profile.js';
import type { PeerFacts } from './plan/facts.js';
import { PeerWatcher, type ResolveHost } from './wireguard/peers.js';
import { StatusBoard } from './status/board.js';
import { STATUS_VERSION, statusWireGuard, type ReloadRecord, type StatusDocument } from './status/document.js';
import { StatusServer, StatusSocketError } from './status/socket.js';

export const EXIT_CODES = {
  /** Stopped by SIGTERM/SIGINT with the table restored. */
  OK: 0,
  /** A runtime failure, or cleanup that did not finish in time (the journal keeps the rest). */
  FAILURE: 1,
  /** EX_TEMPFAIL: this profile is already running (its lock or status socket is taken), or a running profile wants the same routes; nothing was changed. */
  BUSY: 75,
  /** EX_NOPERM: `run` needs root. */
  NOPERM: 77,
  /** EX_CONFIG: the profile has problems; nothing was changed. */
  CONFIG: 78,
} as const;

export interface DaemonOptions {
  profilePath: string;
  logLevel?: LevelWithSilent;
  logFormat?: LogFormat;
  /** Injected for tests (the XNU model); the real addon otherwise. */
  native?: NativeBinding;
  /** The pid the kernel stamps on our messages (the model's, in tests). */
  pid?: number;
  /** Where log lines go (stdout by default). */
  logWrite?: (line: string) => void;
  /** Where the one-line startup errors go (stderr by default). */
  errorWrite?: (line: string) => void;
  isRoot?: boolean;
  /** Tests: this boot's start (kern.boottime), to play a reboot; the system's otherwise. */
  bootTime?: number;
  /** Tests: where the UAPI sockets are, the uid that must own them, and the host name resolver. */
  peers?: { directory?: string; owner?: number; resolveHost?: ResolveHost; waitBudgetMs?: number };
  /** Where the status socket goes (`<runDir>/<name>.sock`); none when unset (tests of the engine). */
  runDir?: string;
  /** Called when a stop by signal could not restore the table (before exiting 1). */
  onUncleanStop?: () => void;
  /** Folders where other instances' lock files are looked for (default: the platform's state folder). */
  stateDirs?: string[];
}

/** Why the daemon did not start, with its exit code. */
export interface Refusal {
  refused: string;
  exitCode: number;
}

export class Daemon {
  readonly log: Logger;
  private profile: Profile;
  private readonly options: DaemonOptions;
  private readonly engine: Engine;
  private readonly peers: PeerWatcher;
  private readonly watchers: FSWatcher[] = [];
  private stopping: Promise<number> | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;
  private readonly startedAt = Date.now();
  private lastReload: ReloadRecord | null = null;
  private statusServer: StatusServer | null = null;

  private readonly native: NativeBinding;
  private lock: InstanceLock;
  private readonly journal: Journal;

  private constructor(options: DaemonOptions, native: NativeBinding, profile: Profile, log: Logger, engine: Engine, peers: PeerWatcher, lock: InstanceLock, journal: Journal) {
    this.options = options;
    this.peers = peers;
    this.native = native;
    this.profile = profile;
    this.log = log;
    this.engine = engine;
    this.lock = lock;
    this.journal = journal;
  }

  /** Validates the profile and builds the daemon; problems come back instead of a daemon. */
  static create(options: DaemonOptions): { daemon: Daemon } | { problems: Problem[] } | Refusal {
    const native = options.native ?? loadNative();
    const loaded = loadOwnProfile(options, native);
    if (loaded.problems) return { problems: loaded.problems };
    const profile = loaded.profile;
    // One daemon per profile, and none whose routes another running profile already claims.
    let lock: InstanceLock;
    try {
      lock = acquireLock(profile, native, options);
    } catch (e) {
      if (e instanceof TrustError) return { refused: e.message, exitCode: EXIT_CODES.FAILURE };
      return { refused: (e as Error).message, exitCode: (e as Error).name === 'LockHeldError' || (e as Error).name === 'ClaimConflictError' ? EXIT_CODES.BUSY : EXIT_CODES.FAILURE };
    }
    let journal: Journal;
    try {
      journal = Journal.load(profile.daemon.journal, profile.file, { name: profile.name, os: native.platform, ...(options.bootTime === undefined ? {} : { bootTime: options.bootTime }) });
    } catch (e) {
      lock.release();
      if (e instanceof JournalError) return { refused: e.message, exitCode: EXIT_CODES.FAILURE };
      throw e;
    }
    const log = createLogger({
      level: options.logLevel ?? profile.daemon.logLevel,
      format: options.logFormat ?? 'json',
      ...(options.logWrite ? { write: options.logWrite } : {}),
    });
    const backend = createBackend(native, options.pid === undefined ? {} : { pid: options.pid });
    logStaleEntries(journal, log);
    let engine: Engine | null = null;
    const peers = new PeerWatcher({ options: profile.wireguard, log, onChange: (why) => void engine?.trigger(why), ...options.peers });
    // macOS: the configd session of the `system` strategy, open whatever the strategy, so a
    // switch away from `system` (reload, restart) also withdraws what was published.
    const publisher = native.openDynamicStore ? new ConfigdPublisher({ native, service: serviceId(profile.name), logger: log, snapshot: () => backend.snapshot() }) : undefined;
    engine = new Engine({ backend, journal, logger: log, policy: createPolicy(profile, native.platform, log, peers), status: new StatusBoard(), ...(publisher ? { publisher } : {}) });
    for (const w of loaded.warnings ?? []) log.warn({ warning: formatProblem(w) }, 'profile warning');
    return { daemon: new Daemon(options, native, profile, log, engine, peers, lock, journal) };
  }

  /** The tunnel's peers and endpoint host names as last read, cheap to call (the status socket); undefined when the profile uses neither. */
  get peerFacts(): PeerFacts | undefined {
    return this.peers.facts();
  }

  get state(): EngineState {
    return this.engine.currentState;
  }

  onState(listener: (state: EngineState) => void): void {
    this.engine.onState(listener);
  }

  async start(): Promise<void> {
    const p = this.profile;
    this.log.info({ profile: p.file, name: p.name, interface: p.interface, mode: p.mode, strategy: p.strategy }, 'starting');
    if (this.lock.infoProblem) this.log.warn({ lock: this.lock.path }, this.lock.infoProblem);
    if (this.options.runDir !== undefined) {
      const server = new StatusServer(this.options.runDir, p.name, () => this.statusDocument());
      await server.listen(this.options.runDir);
      this.statusServer = server;
    }
    this.watchFiles();
    await this.engine.start();
  }

  /** Re-reads the profile. A valid one is applied as a diff; an invalid one is logged and the running one stays. */
  async reload(reason: string): Promise<boolean> {
    const loaded = loadOwnProfile(this.options, this.native);
    if (loaded.problems) {
      for (const problem of loaded.problems) this.log.error({ reason, problem: formatProblem(problem) }, 'profile has problems; keeping the running configuration');
      this.lastReload = { at: new Date().toISOString(), reason, result: 'rejected', problems: loaded.problems.map(formatProblem) };
      return false;
    }
    const moved = this.moveState(loaded.profile);
    if (moved !== null) {
      this.log.error({ reason, problem: moved }, 'cannot apply the reloaded profile; keeping the running configuration');
      this.lastReload = { at: new Date().toISOString(), reason, result: 'rejected', problems: [moved] };
      return false;
    }
    this.lastReload = { at: new Date().toISOString(), reason, result: 'applied', problems: [] };
    this.log.info({ reason }, 'profile reloaded');
    const nameFileChanged = JSON.stringify(loaded.profile.interface) !== JSON.stringify(this.profile.interface);
    this.profile = loaded.profile;
    if (this.options.logLevel === undefined) this.log.level = loaded.profile.daemon.logLevel;
    if (nameFileChanged) this.watchNameFile();
    this.peers.configure(loaded.profile.wireguard);
    await this.engine.reload(createPolicy(loaded.profile, this.native.platform, this.log, this.peers));
    return true;
  }

  /** What `tunroute status` prints: read from what the engine keeps current, never a reconcile. */
  statusDocument(): StatusDocument {
    const p = this.profile;
    return {
      version: STATUS_VERSION,
      name: p.name,
      profile: p.file,
      pid: process.pid,
      mode: p.mode,
      strategy: p.mode === 'full' ? p.strategy : null,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeSeconds: Math.floor((Date.now() - this.startedAt) / 1000),
      lastReload: this.lastReload,
      wireguard: statusWireGuard(this.peerFacts),
      ...this.engine.status.snapshot(),
    };
  }

  /**
   * A reload may change `daemon.journal` (the journal and its lock move there, never left
   * behind) or what the profile claims (checked against the other running profiles).
   * Returns why it cannot be applied, or null.
   */
  private moveState(next: Profile): string | null {
    const stateDirs = this.options.stateDirs ?? [STATE_DIR[this.native.platform]];
    const info = { name: next.name, profile: next.file, claims: claimsOf(next, this.native.platform) };
    if (next.daemon.journal === this.profile.daemon.journal) {
      try {
        this.lock.reclaim(info, stateDirs);
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    }
    let lock: InstanceLock;
    try {
      lock = InstanceLock.acquire(next.daemon.journal, info, { flock: this.native.flock, stateDirs });
    } catch (e) {
      return `daemon.journal moved to ${next.daemon.journal}: ${(e as Error).message}`;
    }
    try {
      this.journal.relocate(next.daemon.journal);
    } catch (e) {
      lock.release();
      return `daemon.journal moved to ${next.daemon.journal}: ${(e as Error).message}`;
    }
    this.lock.release();
    this.lock = lock;
    this.log.info({ from: this.profile.daemon.journal, to: next.daemon.journal }, 'the journal moved with the profile');
    return null;
  }

  private watchFiles(): void {
    // Editors save by rename and chokidar follows that; the short delay lets a save finish.
    const profileWatcher = watch(this.options.profilePath, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 20 } });
    profileWatcher.on('all', (event) => {
      if (event !== 'add' && event !== 'change') return;
      if (this.reloadTimer) clearTimeout(this.reloadTimer);
      this.reloadTimer = setTimeout(() => void this.reload('profile file changed'), 50);
    });
    profileWatcher.on('error', (e) => this.log.warn({ err: e }, 'cannot watch the profile file'));
    this.watchers.push(profileWatcher);
    this.watchNameFile();
  }

  private nameFileWatcher: FSWatcher | null = null;

  private watchNameFile(): void {
    void this.nameFileWatcher?.close();
    this.nameFileWatcher = null;
    if (this.profile.interface.kind !== 'name-file') return;
    // The folder, not the file: wireguard-go writes the name file and creates utunN.sock beside it.
    const path = this.profile.interface.path;
    const watcher = watch(dirname(path), { ignoreInitial: true, depth: 0 });
    const relevant = (file: string): boolean => file === path || (dirname(file) === dirname(path) && file.endsWith('.sock')) || basename(file) === basename(path);
    watcher.on('all', (_event, file) => {
      if (relevant(file)) void this.engine.trigger('name file');
    });
    watcher.on('error', (e) => this.log.warn({ err: e, path: join(dirname(path)) }, 'cannot watch the name file'));
    this.nameFileWatcher = watcher;
  }

  private async closeWatchers(): Promise<void> {
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.peers.close();
    await Promise.all([...this.watchers, ...(this.nameFileWatcher ? [this.nameFileWatcher] : [])].map((w) => w.close()));
  }

  /** Stops without cleanup (a second signal): the journal and the tags let the next start or `tunroute restore` finish. */
  async abort(): Promise<void> {
    await this.closeWatchers();
    await this.statusServer?.close();
    this.engine.halt();
    // What a dying process's kernel would do: the next start may take the profile over.
    this.lock.release();
  }

  /** Removes what tunroute added and restores what it moved; resolves with the exit code. */
  stop(signal: string): Promise<number> {
    if (!this.stopping) {
      this.stopping = (async () => {
        this.log.info({ signal }, 'stopping');
        await this.closeWatchers();
        const clean = await this.engine.stop(this.profile.daemon.shutdownTimeoutMs);
        if (!clean) this.log.error({ journal: this.profile.daemon.journal }, this.engine.stopProblem ?? 'cleanup did not finish; `tunroute restore` finishes it');
        await this.statusServer?.close();
        this.log[clean ? 'info' : 'error']({ clean }, 'stopped');
        this.lock.release();
        return clean ? EXIT_CODES.OK : EXIT_CODES.FAILURE;
      })();
    }
    return this.stopping;
  }
}

/** The daemon's profile, checked for the platform it runs on (and StrictModes when root). */
function loadOwnProfile(options: DaemonOptions, native: NativeBinding): ReturnType<typeof loadProfile> {
  return loadProfile(options.profilePath, { platform: native.platform, isRoot: options.isRoot ?? process.getuid?.() === 0 });
}

function acquireLock(profile: Profile, native: NativeBinding, options: DaemonOptions): InstanceLock {
  return InstanceLock.acquire(profile.daemon.journal, { name: profile.name, profile: profile.file, claims: claimsOf(profile, native.platform) }, {
    flock: native.flock,
    stateDirs: options.stateDirs ?? [STATE_DIR[native.platform]],
  });
}

/** `tunroute run`: runs until SIGTERM/SIGINT and returns the exit code. */
export async function runDaemon(options: DaemonOptions): Promise<number> {
  const errorWrite = options.errorWrite ?? safeStderr;
  // The table belongs to root: without it every write would fail with EPERM, one by one.
  if (!(options.isRoot ?? process.geteuid?.() === 0)) {
    errorWrite('tunroute run: needs root (it changes the routing table); run it as root or as the installed service\n');
    return EXIT_CODES.NOPERM;
  }
  const created = Daemon.create(options);
  if ('problems' in created) {
    for (const problem of created.problems) errorWrite(`tunroute run: ${formatProblem(problem)}\n`);
    errorWrite(`tunroute run: refusing to start: ${created.problems.length} problem(s) in the profile\n`);
    return EXIT_CODES.CONFIG;
  }
  if ('refused' in created) {
    errorWrite(`tunroute run: ${created.refused}\n`);
    return created.exitCode;
  }
  const { daemon } = created;
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onStop = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        // The journal is written before every change, so it already holds what is left.
        daemon.log.warn({ signal }, 'second signal during cleanup: exiting now; `tunroute restore` finishes the cleanup');
        options.onUncleanStop?.();
        daemon.abort().finally(() => process.exit(EXIT_CODES.FAILURE));
        return;
      }
      void daemon.stop(signal).then((code) => {
        if (code !== EXIT_CODES.OK) options.onUncleanStop?.();
        resolve(code);
      });
    };
    const onHup = (): void => void daemon.reload('SIGHUP');
    // A bug must not leave routes behind: clean up, then exit non-zero.
    process.on('uncaughtException', (e) => {
      daemon.log.fatal({ err: e }, 'internal error; cleaning up');
      errorWrite(`tunroute run: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
      void daemon.stop('internal error').then(() => resolve(EXIT_CODES.FAILURE));
    });
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', onHup);
    daemon.start().catch((e: unknown) => {
      if (e instanceof StatusSocketError) {
        // Raised before anything was touched: nothing to clean up, and when another
        // instance runs this profile, its routes are not ours to sweep.
        daemon.log.fatal({ err: e }, 'cannot serve status');
        errorWrite(`tunroute run: ${e.message}\n`);
        void daemon.abort().finally(() => resolve(e.busy ? EXIT_CODES.BUSY : EXIT_CODES.FAILURE));
        return;
      }
      daemon.log.fatal({ err: e }, 'cannot start');
      errorWrite(`tunroute run: ${e instanceof Error ? e.message : String(e)}\n`);
      void daemon.stop('startup failure').then(() => resolve(EXIT_CODES.FAILURE));
    });
  });
}

/** stderr that never throws: a closed or full stderr must not end the daemon. */
function safeStderr(line: string): void {
  try {
    process.stderr.write(line);
  } catch {
    // nowhere left to report it
  }
}
