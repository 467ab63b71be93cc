/**
 * @module instance-lock
 * One daemon per profile, and no two profiles that want the same kernel entries.
 *
 * Each running profile holds an exclusive flock(2) on `<journal>.lock`, a root-owned file
 * in a root-owned folder. The kernel drops the lock when the process dies, however it dies,
 * so a crash never leaves a profile locked out. The file says who holds it (pid, profile
 * name and file) and what that instance claims: the destinations only one tunnel can have
 * (the unscoped default per family, a Linux table, a listed prefix). A second `run` of the
 * same profile finds the lock held and stops (exit 75); a different profile compares its
 * claims with those of every live lock in its journal's folder and the state folder
 * (/var/lib/tunroute, /var/db/tunroute) and stops, naming the other profile, when they
 * overlap. That comparison runs under a short-lived lock on the journal's folder, so two
 * profiles whose journals share a folder (the default) cannot both miss each other when
 * started at the same moment.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readdirSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { NativeBinding } from '../native/index.js';
import type { Profile } from './profile/profile.js';
import { ensureTrustedFolder, readTrustedFile, TrustError } from './trust.js';

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
const LOCK_MAX_BYTES = 64 << 10;
const CLAIMS_LOCK = '.claims.lock';
const CLAIMS_WAIT_MS = 5000;

type Flock = NativeBinding['flock'];

/** What a lock file says about the instance holding it. */
export interface LockInfo {
  pid: number;
  name: string;
  profile: string;
  journal: string;
  claims: string[];
}

/** Another process holds the lock: the same profile is already running. */
export class LockHeldError extends Error {
  override name = 'LockHeldError';
  readonly holder: Partial<LockInfo> | null;
  constructor(path: string, holder: Partial<LockInfo> | null) {
    const who = holder?.pid ? `pid ${holder.pid}${holder.profile ? `, ${holder.profile}` : ''}` : 'another process';
    super(`another tunroute is running this profile (${who}; it holds ${path}): stop it first, or see \`tunroute status\``);
    this.holder = holder;
  }
}

/** A different running profile wants some of the same kernel entries. */
export class ClaimConflictError extends Error {
  override name = 'ClaimConflictError';
  readonly other: Partial<LockInfo>;
  readonly overlap: string[];
  constructor(other: Partial<LockInfo>, overlap: string[]) {
    super(`conflicts with the running profile "${other.name ?? '?'}" (${other.profile ?? 'unknown file'}, pid ${other.pid ?? '?'}): both want ${overlap.map(describeClaim).join(', ')}; stop that one first, or change one of the profiles (see "Several tunnels" in the README)`);
    this.other = other;
    this.overlap = overlap;
  }
}

export function describeClaim(claim: string): string {
  const [kind, value] = claim.split(' ', 2) as [string, string | undefined];
  switch (kind) {
    case 'default':
      return `the unscoped ${value === 'inet6' ? 'IPv6' : 'IPv4'} default route`;
    case 'table':
      return `Linux routing table ${value}`;
    case 'route':
      return `the route to ${value}`;
    default:
      return claim;
  }
}

/**
 * The kernel entries only one running profile can have. Endpoint and exclude routes are not
 * claimed: two tunnels to the same server want the same bypass route, and share it.
 */
export function claimsOf(profile: Profile, platform: 'darwin' | 'linux'): string[] {
  const claims = new Set<string>();
  const v6 = profile.ipv6 as unknown;
  const families = v6 === true || v6 === 'tunnel' || v6 === 'block' ? ['inet', 'inet6'] : ['inet'];
  if (profile.mode === 'full') for (const f of families) claims.add(`default ${f}`);
  if (platform === 'linux' && (profile.mode === 'split' || (profile.strategy as string) === 'policy')) claims.add(`table ${profile.linux.table}`);
  for (const r of profile.routes) {
    const bits = r.family === 'inet' ? 32 : 128;
    claims.add(`route ${formatClaimPrefix(r.family, r.value, r.length, bits)}`);
  }
  return [...claims].sort();
}

function formatClaimPrefix(family: 'inet' | 'inet6', value: bigint, length: number, bits: number): string {
  return `${family}:${value.toString(16).padStart(bits / 4, '0')}/${length}`;
}

export class InstanceLock {
  readonly path: string;
  private fd: number | null;
  private readonly flock: Flock;

  private constructor(path: string, fd: number, flock: Flock) {
    this.path = path;
    this.fd = fd;
    this.flock = flock;
  }

  /**
   * Takes `<journal>.lock` and, under the state folder's claims lock, checks `info.claims`
   * against every other live instance. Throws LockHeldError, ClaimConflictError or TrustError.
   */
  static acquire(journalPath: string, info: Omit<LockInfo, 'pid' | 'journal'>, options: { flock: Flock; stateDirs: readonly string[] }): InstanceLock {
    const journal = resolve(journalPath);
    const path = `${journal}.lock`;
    const folder = ensureTrustedFolder(dirname(path));
    const fd = openOwnFile(join(folder, path.split('/').pop() as string));
    try {
      options.flock(fd, LOCK_EX | LOCK_NB);
    } catch (e) {
      closeSync(fd);
      if (isWouldBlock(e)) throw new LockHeldError(path, readHolder(path));
      throw e;
    }
    const lock = new InstanceLock(path, fd, options.flock);
    try {
      const full: LockInfo = { ...info, pid: process.pid, journal };
      withClaimsLock(folder, options.flock, () => {
        lock.write(full);
        for (const other of liveInstances([folder, ...options.stateDirs], path, options.flock)) {
          const overlap = info.claims.filter((c) => other.claims?.includes(c));
          if (overlap.length > 0) throw new ClaimConflictError(other, overlap);
        }
      });
    } catch (e) {
      lock.release();
      throw e;
    }
    return lock;
  }

  /** A reloaded profile's claims: checked against the other live instances, then recorded. Throws ClaimConflictError. */
  reclaim(info: Omit<LockInfo, 'pid' | 'journal'>, stateDirs: readonly string[]): void {
    const folder = dirname(this.path);
    withClaimsLock(folder, this.flock, () => {
      for (const other of liveInstances([folder, ...stateDirs], this.path, this.flock)) {
        const overlap = info.claims.filter((c) => other.claims?.includes(c));
        if (overlap.length > 0) throw new ClaimConflictError(other, overlap);
      }
      this.write({ ...info, pid: process.pid, journal: this.path.replace(/\.lock$/, '') });
    });
  }

  /**
   * Why the holder's details could not be written into the lock file (ENOSPC, EROFS), or
   * null. The lock itself holds regardless; only other profiles' conflict check misses it.
   */
  infoProblem: string | null = null;

  private write(info: LockInfo): void {
    if (this.fd === null) return;
    const bytes = Buffer.from(JSON.stringify(info) + '\n');
    try {
      ftruncateSync(this.fd, 0);
      let written = 0;
      while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written, written);
      this.infoProblem = null;
    } catch (e) {
      this.infoProblem = `cannot write ${this.path} (${(e as NodeJS.ErrnoException).code ?? String(e)}): other profiles cannot see what this one claims`;
    }
  }

  /** Releases the lock (the process's death does the same). The file stays: removing it would race a new holder. */
  release(): void {
    if (this.fd === null) return;
    try {
      this.flock(this.fd, LOCK_UN);
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

/** Opens (creating 0600) a lock file without following links, and checks the descriptor is root's regular file. */
function openOwnFile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  } catch (e) {
    // A read-only folder: an existing lock file still locks (flock needs no write access).
    if ((e as NodeJS.ErrnoException).code !== 'EROFS') throw e;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      throw e;
    }
  }
  const stats = fstatSync(fd);
  const uid = process.geteuid?.() ?? 0;
  if (!stats.isFile() || stats.uid !== uid || (stats.mode & 0o022) !== 0) {
    closeSync(fd);
    throw new TrustError(path, 'untrusted', `${path} is not a regular file owned by uid ${uid} and writable only by it`);
  }
  return fd;
}

function isWouldBlock(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === 'EWOULDBLOCK' || code === 'EAGAIN';
}

function readHolder(path: string): Partial<LockInfo> | null {
  try {
    return parseInfo(readTrustedFile(path, { noFollow: true, maxBytes: LOCK_MAX_BYTES }));
  } catch {
    return null;
  }
}

function parseInfo(bytes: Buffer): Partial<LockInfo> | null {
  try {
    const v = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    const out: Partial<LockInfo> = {};
    if (Number.isInteger(v.pid)) out.pid = v.pid as number;
    if (typeof v.name === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(v.name)) out.name = v.name;
    if (typeof v.profile === 'string' && v.profile.length < 4096) out.profile = v.profile;
    if (typeof v.journal === 'string' && v.journal.length < 4096) out.journal = v.journal;
    if (Array.isArray(v.claims)) out.claims = v.claims.filter((c): c is string => typeof c === 'string' && c.length < 200).slice(0, 10_000);
    return out;
  } catch {
    return null;
  }
}

/** Every other instance whose lock file in `folders` is held right now (a stale file is skipped). */
export function liveInstances(folders: readonly string[], ownPath: string | null, flock: Flock): Array<Partial<LockInfo> & { lock: string }> {
  const seen = new Set<string>();
  const found: Array<Partial<LockInfo> & { lock: string }> = [];
  for (const folder of folders) {
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.endsWith('.lock') || name === CLAIMS_LOCK) continue;
      const path = join(resolve(folder), name);
      if (path === ownPath || seen.has(path)) continue;
      seen.add(path);
      let bytes: Buffer;
      try {
        // Only root's lock files in root's folders count; anything else is no instance of ours.
        bytes = readTrustedFile(path, { noFollow: true, maxBytes: LOCK_MAX_BYTES, trustedUids: [0] });
      } catch {
        continue;
      }
      if (!isHeld(path, flock)) continue;
      const info = parseInfo(bytes);
      // This process's own other lock (a reload moving the journal) is no other instance.
      if (info && info.pid !== process.pid) found.push({ ...info, lock: path });
    }
  }
  return found;
}

function isHeld(path: string, flock: Flock): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    flock(fd, LOCK_SH | LOCK_NB);
    flock(fd, LOCK_UN);
    return false;
  } catch (e) {
    return isWouldBlock(e);
  } finally {
    closeSync(fd);
  }
}

/** Runs `fn` holding the state folder's claims lock (held for milliseconds; waits up to 5 s). */
function withClaimsLock(folder: string, flock: Flock, fn: () => void): void {
  const dir = ensureTrustedFolder(folder);
  let fd: number;
  try {
    fd = openOwnFile(join(dir, CLAIMS_LOCK));
  } catch (e) {
    // A read-only folder that never had one: nobody can write claims there either.
    if ((e as NodeJS.ErrnoException).code !== 'EROFS') throw e;
    fn();
    return;
  }
  try {
    const deadline = Date.now() + CLAIMS_WAIT_MS;
    for (;;) {
      try {
        flock(fd, LOCK_EX | LOCK_NB);
        break;
      } catch (e) {
        if (!isWouldBlock(e) || Date.now() > deadline) throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    fn();
  } finally {
    closeSync(fd);
  }
}
