/**
 * @module profile/name-file
 * Resolves wireguard-go's interface name file the way wg-quick does. wireguard-go
 * started as `wireguard-go utun` writes the utun it got into $WG_TUN_NAME_FILE, but never
 * deletes that file; it does unlink its control socket <dir>/<utunN>.sock on exit. So a
 * name is believed only when that socket exists and the two files were written together
 * (modification times within 2 s); otherwise the file is a leftover of an earlier run and
 * the utun it names may now belong to someone else.
 */
import { readTrustedFile, statTrustedEntry, TrustError } from '../trust.js';
import { dirname, join } from 'node:path';

export const NAME_FILE_MAX_SKEW_MS = 2000;

export interface NameFileFs {
  readFile(path: string): string;
  stat(path: string): { mtimeMs: number; isSocket(): boolean };
}

export type NameFileResult = { name: string; reason?: undefined } | { name: null; reason: string };

/**
 * The real files, through the trust rules: the name file and the socket beside it decide
 * which interface gets the default route, so only root's (in root's folders) are believed.
 */
const nodeFs: NameFileFs = {
  readFile: (path) => readTrustedFile(path, { noFollow: true, maxBytes: 4096 }).toString('utf8'),
  stat: (path) => statTrustedEntry(path),
};

/** Cheap enough to call on every reconcile: two stats and one small read. Never throws. */
export function resolveNameFile(path: string, fs: NameFileFs = nodeFs): NameFileResult {
  let name: string;
  let nameMtime: number;
  try {
    nameMtime = fs.stat(path).mtimeMs;
    name = fs.readFile(path).trim();
  } catch (e) {
    return { name: null, reason: `${path}: ${errorCode(e)}` };
  }
  if (!/^utun[0-9]+$/.test(name)) return { name: null, reason: `${path} does not hold a utun name` };
  const socket = join(dirname(path), `${name}.sock`);
  let socketStat: { mtimeMs: number; isSocket(): boolean };
  try {
    socketStat = fs.stat(socket);
  } catch (e) {
    return { name: null, reason: `stale: ${socket}: ${errorCode(e)} (wireguard-go is not running)` };
  }
  if (!socketStat.isSocket()) return { name: null, reason: `${socket} is not a socket` };
  const skew = Math.abs(socketStat.mtimeMs - nameMtime);
  if (skew > NAME_FILE_MAX_SKEW_MS) {
    return { name: null, reason: `stale: ${path} and ${socket} were written ${(skew / 1000).toFixed(1)} s apart (at most 2 s when fresh)` };
  }
  return { name };
}

function errorCode(e: unknown): string {
  if (e instanceof TrustError) return e.reason === 'missing' ? 'ENOENT' : e.message;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : String(e);
}
