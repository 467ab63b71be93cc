/**
 * @module trust
 * The one place that decides whether tunroute, running as root, may believe a file: a
 * profile, a journal, a lock file, macOS's interface name file. The rules are sshd's
 * StrictModes, applied to the descriptor that is actually read rather than to a path that
 * could be swapped between a check and a read:
 *
 * - the file is opened once, with O_NOFOLLOW where it must be ours (a journal, a lock), and
 *   O_NONBLOCK so a FIFO cannot stall the daemon; the checks run on `fstat` of that
 *   descriptor: a regular file, owned by root (or the caller's own uid when not root), not
 *   writable by group or others, at most `maxBytes` long;
 * - every folder from the file's up to `/` is owned by root (or the caller) and not writable
 *   by group or others. A sticky folder (/tmp) is accepted as an ancestor, because nobody
 *   else can rename the root-owned entries inside it, and as the file's own folder only for
 *   reading a root-owned file (never for creating files there). A symbolic link on the way is
 *   followed and its target's folders are checked the same way;
 * - temporary files are created O_CREAT|O_EXCL|O_NOFOLLOW (never through a planted link or
 *   file), fsync'ed, renamed into place, and the folder fsync'ed.
 *
 * Messages name the path and what is wrong with it; they never quote the file's contents.
 */
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, openSync, readlinkSync, readSync, renameSync, unlinkSync, writeSync, mkdirSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export class TrustError extends Error {
  override name = 'TrustError';
  readonly path: string;
  /** 'missing' when the file (not a folder on its way) does not exist; 'untrusted' otherwise. */
  readonly reason: 'missing' | 'untrusted' | 'unreadable';
  constructor(path: string, reason: 'missing' | 'untrusted' | 'unreadable', message: string) {
    super(message);
    this.path = path;
    this.reason = reason;
  }
}

export interface TrustOptions {
  /** Refuse a symbolic link as the file itself (a journal, a lock). Profiles may be links; their target is checked. */
  noFollow?: boolean;
  /** Largest size believed; larger files are refused before reading. */
  maxBytes: number;
  /** Uids whose files are trusted; default root, plus the caller's own uid when it is not root. */
  trustedUids?: readonly number[];
}

const WRITABLE_BY_OTHERS = 0o022;
const STICKY = 0o1000;
const MAX_LINKS = 16;

/** Root, and the caller when it is not root (a user checking their own profile with `tunroute check`). */
export function defaultTrustedUids(): number[] {
  const uid = process.geteuid?.() ?? 0;
  return uid === 0 ? [0] : [0, uid];
}

function mode(stats: Pick<Stats, 'mode'>): string {
  return (stats.mode & 0o7777).toString(8).padStart(4, '0');
}

function code(e: unknown): string {
  const c = (e as { code?: unknown }).code;
  return typeof c === 'string' ? c : 'error';
}

/**
 * Checks the folder `dir` and every folder above it (following links, whose targets are
 * checked too). Returns the folder as a real path. `strictLast`: the folder itself may not be
 * writable by others even with the sticky bit (files will be created in it).
 */
export function checkFolders(dir: string, options: { strictLast: boolean; trustedUids?: readonly number[] }, links = 0): string {
  const uids = options.trustedUids ?? defaultTrustedUids();
  const absolute = resolve(dir);
  const parts = absolute.split('/').filter((p) => p.length > 0);
  let current = '/';
  checkFolder(current, lstatSync('/'), uids, parts.length === 0 && options.strictLast);
  for (let i = 0; i < parts.length; i++) {
    const next = join(current, parts[i] as string);
    const last = i === parts.length - 1;
    let stats: Stats;
    try {
      stats = lstatSync(next);
    } catch (e) {
      throw new TrustError(next, code(e) === 'ENOENT' ? 'missing' : 'unreadable', `the folder ${next} ${code(e) === 'ENOENT' ? 'does not exist' : `cannot be examined (${code(e)})`}`);
    }
    if (stats.isSymbolicLink()) {
      // Whoever could change the link could already write its folder, which was checked above.
      if (links >= MAX_LINKS) throw new TrustError(next, 'untrusted', `too many symbolic links on the way to ${absolute}`);
      const target = readlinkSync(next);
      current = checkFolders(isAbsolute(target) ? target : join(current, target), { ...options, strictLast: last && options.strictLast }, links + 1);
      continue;
    }
    checkFolder(next, stats, uids, last && options.strictLast);
    current = next;
  }
  return current;
}

function checkFolder(path: string, stats: Stats, uids: readonly number[], strict: boolean): void {
  if (!stats.isDirectory()) throw new TrustError(path, 'untrusted', `${path} is not a folder`);
  if (!uids.includes(stats.uid)) throw new TrustError(path, 'untrusted', `the folder ${path} is owned by uid ${stats.uid}, expected root: its owner could replace what tunroute reads there`);
  if ((stats.mode & WRITABLE_BY_OTHERS) !== 0 && (strict || (stats.mode & STICKY) === 0)) {
    throw new TrustError(path, 'untrusted', `the folder ${path} is writable by group or others (mode ${mode(stats)}): they could replace what tunroute reads there (chmod go-w, or use a root-owned folder such as /var/lib/tunroute)`);
  }
}

/** The fstat checks on an open descriptor. */
function checkFile(path: string, stats: Stats, uids: readonly number[], maxBytes: number, folderSticky: boolean): void {
  if (!stats.isFile()) throw new TrustError(path, 'untrusted', `${path} is not a regular file (${kind(stats)})`);
  if (!uids.includes(stats.uid)) throw new TrustError(path, 'untrusted', `${path} is owned by uid ${stats.uid}, expected root: whoever can write it could reroute traffic (chown root)`);
  if ((stats.mode & WRITABLE_BY_OTHERS) !== 0) throw new TrustError(path, 'untrusted', `${path} is writable by group or others (mode ${mode(stats)}), expected only root to write it (chmod go-w)`);
  if (folderSticky && stats.uid !== 0) throw new TrustError(path, 'untrusted', `${path} is in a folder others can write and is not owned by root`);
  if (stats.size > maxBytes) throw new TrustError(path, 'untrusted', `${path} is ${stats.size} bytes, more than the ${maxBytes} expected`);
}

function kind(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * Reads a file tunroute must be able to trust: throws TrustError (reason 'missing' when the
 * file itself does not exist) with a message that quotes nothing from the file.
 */
export function readTrustedFile(path: string, options: TrustOptions): Buffer {
  const uids = options.trustedUids ?? defaultTrustedUids();
  const absolute = resolve(path);
  let folder = checkFolders(dirname(absolute), { strictLast: false, trustedUids: uids });
  let file = join(folder, absolute.split('/').pop() as string);
  // A profile may be a link (to a root-owned file in a checked folder); a journal may not.
  for (let links = 0; !options.noFollow; links++) {
    let stats: Stats;
    try {
      stats = lstatSync(file);
    } catch (e) {
      if (code(e) === 'ENOENT') throw new TrustError(path, 'missing', `${path} does not exist`);
      break;
    }
    if (!stats.isSymbolicLink()) break;
    if (links >= MAX_LINKS) throw new TrustError(path, 'untrusted', `too many symbolic links at ${path}`);
    const target = readlinkSync(file);
    const resolved = isAbsolute(target) ? target : join(folder, target);
    folder = checkFolders(dirname(resolved), { strictLast: false, trustedUids: uids });
    file = join(folder, resolved.split('/').pop() as string);
  }
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const c = code(e);
    if (c === 'ENOENT') throw new TrustError(path, 'missing', `${path} does not exist`);
    if (c === 'ELOOP' || c === 'EMLINK') throw new TrustError(path, 'untrusted', `${path} is a symbolic link, expected a regular file`);
    if (c === 'EACCES') throw new TrustError(path, 'unreadable', `${path} cannot be read (permission denied)`);
    throw new TrustError(path, 'unreadable', `${path} cannot be opened (${c})`);
  }
  try {
    const stats = fstatSync(fd);
    const folderStats = lstatSync(folder);
    checkFile(path, stats, uids, options.maxBytes, (folderStats.mode & WRITABLE_BY_OTHERS) !== 0);
    // Read at most maxBytes + 1: a file that grows after the fstat is still bounded.
    const buffer = Buffer.alloc(Math.min(stats.size, options.maxBytes) + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length === buffer.length) throw new TrustError(path, 'untrusted', `${path} changed size while being read`);
    }
    return buffer.subarray(0, length);
  } catch (e) {
    if (e instanceof TrustError) throw e;
    throw new TrustError(path, 'unreadable', `${path} cannot be read (${code(e)})`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates `dir` (mode 0755) where it is missing, then checks it and its parents strictly:
 * tunroute will create files in it. Returns the folder's real path.
 */
export function ensureTrustedFolder(dir: string, trustedUids?: readonly number[]): string {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new TrustError(dir, 'unreadable', `cannot create the folder ${dir} (${code(e)})`);
  }
  return checkFolders(dir, { strictLast: true, ...(trustedUids ? { trustedUids } : {}) });
}

/**
 * Replaces `path` atomically and durably with `data`: a temporary file created O_EXCL in the
 * checked folder, written, fsync'ed, renamed over `path`, and the folder fsync'ed. Throws the
 * OS error (EROFS, ENOSPC, …) with its code; a TrustError when the folder is not root's.
 */
export function writeTrustedFile(path: string, data: string | Uint8Array, fileMode = 0o600): void {
  const folder = ensureTrustedFolder(dirname(resolve(path)));
  const target = join(folder, resolve(path).split('/').pop() as string);
  const temp = `${target}.${process.pid}.${Math.floor(Math.random() * 0x7fffffff).toString(36)}.tmp`;
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, fileMode);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(temp, target);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(temp);
    } catch {
      // gone or never there
    }
    throw e;
  }
  syncFolder(folder);
}

/** fsync on a folder: a rename or unlink in it survives a power loss. */
export function syncFolder(folder: string): void {
  const dir = openSync(folder, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * A socket or other entry that cannot be opened (macOS's `utunN.sock` beside the name
 * file): lstat'ed, never followed, owned by a trusted uid, its folders checked.
 */
export function statTrustedEntry(path: string, trustedUids?: readonly number[]): Stats {
  const uids = trustedUids ?? defaultTrustedUids();
  checkFolders(dirname(resolve(path)), { strictLast: false, trustedUids: uids });
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (e) {
    throw new TrustError(path, code(e) === 'ENOENT' ? 'missing' : 'unreadable', `${path}: ${code(e)}`);
  }
  if (!uids.includes(stats.uid)) throw new TrustError(path, 'untrusted', `${path} is owned by uid ${stats.uid}, expected root`);
  return stats;
}
