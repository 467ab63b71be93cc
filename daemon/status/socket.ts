/**
 * @module status/socket
 * The daemon's status socket: `<run dir>/<profile name>.sock`, a Unix socket only root
 * can use (mode 0600, in a folder root owns and nobody else can write). A client
 * connects and reads one JSON document; it sends nothing, so there is nothing to parse
 * on the daemon's side and nothing a client can make the daemon do.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { checkFolders } from '../trust.js';

/** The default run folder; systemd's RuntimeDirectory=tunroute makes the same one. */
export const RUN_DIR = '/var/run/tunroute';

export function socketPath(runDir: string, name: string): string {
  return join(runDir, `${name}.sock`);
}

/** The pid file beside the socket: newsyslog reads it to signal the daemon after rotating its log. */
export function pidFilePath(runDir: string, name: string): string {
  return join(runDir, `${name}.pid`);
}

/**
 * Makes sure `dir` is a real folder owned by us (root) that nobody else can write: whoever
 * could write it could put their own socket where `tunroute status` looks.
 */
export function ensureRunDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  checkRunDir(dir);
}

/** The checks of ensureRunDir on an existing folder; `tunroute status` makes them too, before believing an answer. */
export function checkRunDir(dir: string): void {
  const st = lstatSync(dir);
  const uid = process.geteuid?.() ?? 0;
  if (!st.isDirectory()) throw new Error(`${dir} is not a folder (a symbolic link or a file), refusing to serve status there`);
  if (st.uid !== uid) throw new Error(`${dir} is owned by uid ${st.uid}, not ${uid}; refusing to serve status there`);
  if ((st.mode & 0o022) !== 0) throw new Error(`${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}); refusing to serve status there`);
  // And every folder above it (trust.ts): a user-owned parent could swap the whole folder.
  checkFolders(dirname(resolve(dir)), { strictLast: false });
}

/** Resolves true when something answers on `path`, false when nothing listens (a stale socket from a crash). */
export function answers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(true));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The status socket cannot be served. Raised before the daemon touches the table, so the
 * caller exits without a cleanup: `busy` means another instance runs this profile (its
 * routes are not ours to sweep).
 */
export class StatusSocketError extends Error {
  override name = 'StatusSocketError';
  readonly busy: boolean;
  constructor(message: string, busy: boolean) {
    super(message);
    this.busy = busy;
  }
}

export class StatusServer {
  private server: Server | null = null;
  private inode: number | null = null;
  readonly path: string;
  private readonly pidFile: string;
  private readonly document: () => unknown;

  constructor(runDir: string, name: string, document: () => unknown) {
    this.path = socketPath(runDir, name);
    this.pidFile = pidFilePath(runDir, name);
    this.document = document;
  }

  /**
   * Creates the socket. A socket nobody answers on is a crashed run's and is replaced; one
   * that answers belongs to a running instance of the same profile, and this one refuses.
   */
  async listen(runDir: string): Promise<void> {
    try {
      ensureRunDir(runDir);
    } catch (e) {
      throw new StatusSocketError(e instanceof Error ? e.message : String(e), false);
    }
    const existing = lstatOrNull(this.path);
    if (existing) {
      if (!existing.isSocket()) throw new StatusSocketError(`${this.path} exists and is not a socket; remove it by hand`, false);
      if (await answers(this.path)) throw new StatusSocketError(`another tunroute is running this profile (it answers at ${this.path})`, true);
      rmSync(this.path, { force: true });
    }
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.end(JSON.stringify(this.document()) + '\n');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // bind(2) runs inside listen(), synchronously: the socket is born 0600, with no window
      // in which another user could connect.
      const umask = process.umask(0o177);
      try {
        server.listen(this.path, () => resolve());
      } finally {
        process.umask(umask);
      }
    });
    chmodSync(this.path, 0o600);
    this.inode = statSync(this.path).ino;
    this.server = server;
    // Written after the socket: only the instance that holds the socket writes the pid file.
    const tmp = `${this.pidFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${process.pid}\n`, { mode: 0o644 });
    renameSync(tmp, this.pidFile);
  }

  /** Stops serving and removes the socket (if it is still ours). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const st = lstatOrNull(this.path);
    if (st && st.ino === this.inode) rmSync(this.path, { force: true });
    if (readOrNull(this.pidFile)?.trim() === String(process.pid)) rmSync(this.pidFile, { force: true });
  }
}

/** Reads one instance's status document. Rejects with ENOENT/ECONNREFUSED when none runs. */
export function queryStatus(path: string, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let text = '';
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`${path}: no answer within ${timeoutMs} ms`));
    });
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.once('error', reject);
    socket.once('end', () => {
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new Error(`${path}: the answer is not a status document`));
      }
    });
  });
}

/** The sockets in `runDir`, by profile name. */
export function listSockets(runDir: string): Array<{ name: string; path: string }> {
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.sock'))
    .sort()
    .map((n) => ({ name: n.slice(0, -'.sock'.length), path: join(runDir, n) }));
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function lstatOrNull(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
