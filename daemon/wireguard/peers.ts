/**
 * @module wireguard/peers
 * Keeps the daemon's PeerFacts current: the tunnel's peers, read from wireguard-go's UAPI
 * socket (`endpoints: auto`, `routes: auto`), and the addresses of endpoint host names.
 *
 * The engine is level-triggered and must never wait on a slow peer: each reconcile run
 * calls `prepare`, which starts a read (or joins the one in flight) and waits for it at
 * most `waitBudgetMs`; the run then plans with the newest reading. A read that finishes
 * later, the periodic poll (`wireguard.pollInterval`, roaming shows up as a new
 * `endpoint=`), the socket appearing or being re-created (a wireguard-go restart) and the
 * periodic re-resolution of host names (`wireguard.resolveInterval`) call `onChange` when
 * what the planner uses changed, and the engine runs again. A failed read keeps the last
 * good peers: a socket that stalls for a moment must not pull the endpoint routes.
 */
import { lookup } from 'node:dns/promises';
import { basename } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import type { PeerFacts } from '../plan/facts.js';
import type { PeerOptions } from '../profile/profile.js';
import { UAPI_DIRECTORY, uapiGet, uapiSocketPath, UapiError, type UapiDevice } from './uapi.js';

export type ResolveHost = (name: string) => Promise<string[]>;

export interface PeerWatcherOptions {
  options: PeerOptions;
  log: Logger;
  /** Called when what the planner uses changed; the daemon triggers a reconcile. */
  onChange: (why: string) => void;
  /** Where wireguard-go's sockets are (tests serve their own). */
  directory?: string;
  /** The uid that must own the socket and its folder: root, except in tests. */
  owner?: number;
  requestTimeoutMs?: number;
  /** How long a reconcile run waits for a read before planning with the previous one. */
  waitBudgetMs?: number;
  resolveTimeoutMs?: number;
  resolveHost?: ResolveHost;
}

/** getaddrinfo, as every other program on the machine resolves (/etc/hosts, then DNS). */
export const resolveWithSystem: ResolveHost = async (name) => (await lookup(name, { all: true, verbatim: true })).map((a) => a.address);

function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/** How long one host name may take to resolve, in the daemon and in `plan` alike. */
export const RESOLVE_TIMEOUT_MS = 5000;

/** A host name's addresses, unique and sorted; rejects after `ms` (getaddrinfo may wait on dead DNS servers for much longer). */
export async function resolveWithin(resolveHost: ResolveHost, name: string, ms: number): Promise<string[]> {
  const addresses = [...new Set(await timeout(resolveHost(name), ms, name))].sort();
  if (addresses.length === 0) throw new Error('no addresses');
  return addresses;
}

const errorText = (e: unknown): string => (e instanceof UapiError ? e.message : e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e));

export class PeerWatcher {
  private options: PeerOptions;
  private readonly log: Logger;
  private readonly onChange: (why: string) => void;
  private readonly directory: string;
  private readonly owner: number;
  private readonly requestTimeoutMs: number;
  private readonly waitBudgetMs: number;
  private readonly resolveTimeoutMs: number;
  private readonly resolveHost: ResolveHost;

  private interfaceName: string | null = null;
  private reading: { peers: PeerFacts['peers']; error: string | null } | null = null;
  /** The read in flight and the socket it reads: a read of another interface's socket is no answer for this one. */
  private inFlight: { path: string; promise: Promise<void> } | null = null;
  private hosts = new Map<string, { addresses: string[]; error: string | null }>();
  private resolving: Promise<void> | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private resolveTimer: NodeJS.Timeout | null = null;
  private socketWatcher: FSWatcher | null = null;
  private lastSignature = '';
  private closed = false;

  constructor(o: PeerWatcherOptions) {
    this.options = o.options;
    this.log = o.log;
    this.onChange = o.onChange;
    this.directory = o.directory ?? UAPI_DIRECTORY;
    this.owner = o.owner ?? 0;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 2000;
    this.waitBudgetMs = o.waitBudgetMs ?? 250;
    this.resolveTimeoutMs = o.resolveTimeoutMs ?? RESOLVE_TIMEOUT_MS;
    this.resolveHost = o.resolveHost ?? resolveWithSystem;
  }

  private get readsTunnel(): boolean {
    return this.options.autoEndpoints || this.options.autoRoutes;
  }

  /** Whether the planner gets facts from this watcher (peers or host names): false for a profile that uses neither. */
  get gathers(): boolean {
    return this.readsTunnel || this.options.hosts.length > 0;
  }

  /** A reloaded profile: new host names and intervals apply at once. */
  configure(options: PeerOptions): void {
    const hostsChanged = JSON.stringify(options.hosts) !== JSON.stringify(this.options.hosts) || options.resolveIntervalMs !== this.options.resolveIntervalMs;
    const pollChanged = options.pollIntervalMs !== this.options.pollIntervalMs || options.autoEndpoints !== this.options.autoEndpoints || options.autoRoutes !== this.options.autoRoutes;
    this.options = options;
    if (hostsChanged) {
      for (const name of [...this.hosts.keys()]) if (!options.hosts.some((h) => h.name === name)) this.hosts.delete(name);
      this.stopResolveTimer();
    }
    if (pollChanged && this.interfaceName !== null) {
      const name = this.interfaceName;
      this.interfaceName = null;
      this.follow(name);
    }
  }

  /** The path of the socket being read, or null when no tunnel is followed. */
  get socketPath(): string | null {
    return this.interfaceName === null ? null : uapiSocketPath(this.interfaceName, this.directory);
  }

  /**
   * Called by every reconcile run with the tunnel it found: follows that interface's socket,
   * starts a read (and the first resolution of host names) and waits for them at most the
   * wait budget.
   */
  async prepare(interfaceName: string): Promise<void> {
    if (this.closed) return;
    this.follow(interfaceName);
    const pending: Array<Promise<void>> = [];
    if (this.readsTunnel) pending.push(this.read('routing change'));
    if (this.options.hosts.length > 0) {
      if (this.resolveTimer === null) this.startResolveTimer();
      if (this.options.hosts.some((h) => !this.hosts.has(h.name))) pending.push(this.resolve());
    }
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(pending), new Promise<void>((resolve) => (timer = setTimeout(resolve, this.waitBudgetMs)))]);
    clearTimeout(timer);
  }

  /** What the planner gets; undefined when the profile needs no peer facts. */
  facts(): PeerFacts | undefined {
    if (!this.readsTunnel && this.options.hosts.length === 0) return undefined;
    const hosts = this.options.hosts.map((h) => ({ name: h.name, addresses: this.hosts.get(h.name)?.addresses ?? [], error: this.hosts.get(h.name)?.error ?? null }));
    if (this.readsTunnel && this.reading === null) {
      if (hosts.length === 0) return undefined;
      return { source: this.socketPath ?? this.directory, error: 'not read yet', peers: [], hosts };
    }
    return { source: this.socketPath ?? this.directory, error: this.reading?.error ?? null, peers: this.reading?.peers ?? [], hosts };
  }

  close(): void {
    this.closed = true;
    this.stopPoll();
    this.stopResolveTimer();
    void this.socketWatcher?.close();
    this.socketWatcher = null;
  }

  // ---- the tunnel's socket --------------------------------------------------------

  private follow(interfaceName: string): void {
    if (interfaceName === this.interfaceName) return;
    if (this.interfaceName !== null) this.log.info({ previous: this.interfaceName, interface: interfaceName }, 'peers: following the new tunnel interface');
    this.interfaceName = interfaceName;
    this.reading = null;
    this.stopPoll();
    void this.socketWatcher?.close();
    this.socketWatcher = null;
    if (!this.readsTunnel) return;
    this.pollTimer = setInterval(() => void this.read('poll'), this.options.pollIntervalMs);
    this.pollTimer.unref();
    // The folder, not the socket: wireguard-go removes and re-creates the socket when it restarts.
    const socket = basename(uapiSocketPath(interfaceName, this.directory));
    const watcher = watch(this.directory, { ignoreInitial: true, depth: 0 });
    watcher.on('all', (event, file) => {
      if (basename(file) === socket) void this.read(`socket ${event === 'unlink' ? 'removed' : 'created'}`);
    });
    watcher.on('error', (e) => this.log.debug({ err: e, directory: this.directory }, 'peers: cannot watch the UAPI folder; the poll still reads it'));
    this.socketWatcher = watcher;
  }

  private stopPoll(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  /** One `get=1`, shared by everyone who asks while it runs. */
  private read(why: string): Promise<void> {
    const path = this.socketPath;
    if (path === null || this.closed) return Promise.resolve();
    if (this.inFlight?.path === path) return this.inFlight.promise;
    const name = this.interfaceName;
    const promise: Promise<void> = uapiGet(path, { timeoutMs: this.requestTimeoutMs, owner: this.owner })
      .then((device) => {
        if (name !== this.interfaceName) return;
        if (this.reading?.error) this.log.info({ socket: path }, 'peers: the UAPI socket answers again');
        this.reading = { peers: peersOf(device), error: null };
      })
      .catch((e: unknown) => {
        if (name !== this.interfaceName) return;
        const error = errorText(e);
        if (this.reading?.error !== error) this.log.warn({ socket: path, error }, 'peers: cannot read the tunnel\'s peers; keeping the last reading');
        this.reading = { peers: this.reading?.peers ?? [], error };
      })
      .finally(() => {
        if (this.inFlight?.promise === promise) this.inFlight = null;
        this.changed(why);
      });
    this.inFlight = { path, promise };
    return promise;
  }

  // ---- host names -----------------------------------------------------------------

  private startResolveTimer(): void {
    this.resolveTimer = setInterval(() => void this.resolve(), this.options.resolveIntervalMs);
    this.resolveTimer.unref();
  }

  private stopResolveTimer(): void {
    if (this.resolveTimer) clearInterval(this.resolveTimer);
    this.resolveTimer = null;
  }

  private resolve(): Promise<void> {
    if (this.resolving) return this.resolving;
    this.resolving = Promise.all(
      this.options.hosts.map(async ({ name }) => {
        const before = this.hosts.get(name);
        try {
          const addresses = await resolveWithin(this.resolveHost, name, this.resolveTimeoutMs);
          if (before?.error) this.log.info({ host: name, addresses }, 'endpoint host name resolves again');
          this.hosts.set(name, { addresses, error: null });
        } catch (e) {
          const error = errorText(e);
          if (before?.error !== error) this.log.warn({ host: name, error, keeping: before?.addresses ?? [] }, 'endpoint host name does not resolve');
          this.hosts.set(name, { addresses: before?.addresses ?? [], error });
        }
      }),
    )
      .then(() => undefined)
      .finally(() => {
        this.resolving = null;
        this.changed('host names resolved');
      });
    return this.resolving;
  }

  /** onChange when what the planner uses (endpoints, allowed IPs, addresses, errors) differs from last time. */
  private changed(why: string): void {
    if (this.closed) return;
    const facts = this.facts();
    const signature = JSON.stringify(facts === undefined ? null : { ...facts, peers: facts.peers.map((p) => [p.publicKey, p.endpoint, [...p.allowedIps].sort()]).sort() });
    if (signature === this.lastSignature) return;
    this.lastSignature = signature;
    this.onChange(`peers: ${why}`);
  }
}

/** A `get=1` answer as the planner's PeerFacts peers. */
export function peersOf(device: UapiDevice): PeerFacts['peers'] {
  return device.peers.map((p) => ({ publicKey: p.publicKey, endpoint: p.endpoint && { address: p.endpoint.address, port: p.endpoint.port }, allowedIps: p.allowedIps, lastHandshake: p.lastHandshake }));
}
