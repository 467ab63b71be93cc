/**
 * @module profile/load
 * Reads a profile file and validates it, through the file-trust rules (trust.ts): opened
 * once, checked on its descriptor, every folder above it checked. When the caller is root,
 * the file and its folders must be root's alone, the way sshd's StrictModes treats its
 * keys: whoever can edit the profile (or swap it through a folder) can reroute all traffic.
 * Not as root (`tunroute check` by a user), the user's own files count as trusted too.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import type { Problem } from './problems.js';
import type { Platform, Profile } from './profile.js';
import { validateProfileText } from './validate.js';
import { defaultTrustedUids, readTrustedFile, TrustError } from '../trust.js';

export interface LoadOptions {
  platform: Platform;
  /** Default: whether this process runs as root. */
  isRoot?: boolean;
  /** For tests: the two file operations used. */
  fs?: { readFile(path: string): string; stat(path: string): Pick<Stats, 'uid' | 'mode' | 'isFile'> };
}

export type LoadResult = { profile: Profile; problems?: undefined; warnings?: Problem[] } | { problems: Problem[]; profile?: undefined };

const nodeFs = {
  readFile: (path: string): string => readFileSync(path, 'utf8'),
  stat: (path: string): Stats => statSync(path),
};

/**
 * A bound, not a budget: a country list or a corporate range list of 50,000 prefixes is
 * about 1 MB of YAML, so 16 MiB (some 800,000 routes) keeps room for real profiles while
 * refusing a file that is not one (a link to /dev/zero, a log).
 */
export const PROFILE_MAX_BYTES = 16 << 20;

export function loadProfile(path: string, options: LoadOptions): LoadResult {
  const isRoot = options.isRoot ?? process.getuid?.() === 0;
  const fileProblem = (message: string): LoadResult => ({ problems: [{ file: path, line: 1, col: 1, path: '(file)', message }] });
  if (options.fs === undefined) {
    // The real file: opened once, every check on that descriptor and on every folder above it.
    let bytes: Buffer;
    try {
      bytes = readTrustedFile(path, { maxBytes: PROFILE_MAX_BYTES, trustedUids: isRoot ? [0] : defaultTrustedUids() });
    } catch (e) {
      if (!(e instanceof TrustError)) throw e;
      if (e.reason === 'missing') return fileProblem('does not exist, expected a readable YAML profile');
      const own = e.message.startsWith(`${path} `) ? e.message.slice(path.length + 1) : e.message;
      if (/^is not a regular file \(a folder\)$/.test(own)) return fileProblem('is not a regular file, expected a YAML profile');
      return fileProblem(own);
    }
    return validateProfileText(bytes.toString('utf8'), path, { platform: options.platform });
  }
  const fs = options.fs ?? nodeFs;
  let text: string;
  try {
    const stats = fs.stat(path);
    if (!stats.isFile()) return fileProblem('is not a regular file, expected a YAML profile');
    const problems: Problem[] = [];
    if (isRoot && stats.uid !== 0) {
      problems.push({ file: path, line: 1, col: 1, path: '(file)', message: `is owned by uid ${stats.uid}, expected root: whoever can edit the profile can reroute all traffic (chown root)` });
    }
    if (isRoot && (stats.mode & 0o022) !== 0) {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
      problems.push({ file: path, line: 1, col: 1, path: '(file)', message: `is writable by group or others (mode ${mode}), expected only root to write it (chmod go-w)` });
    }
    if (problems.length > 0) return { problems };
    text = fs.readFile(path);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be read (${typeof code === 'string' ? code : String(e)})`;
    return fileProblem(`${why}, expected a readable YAML profile`);
  }
  return validateProfileText(text, path, { platform: options.platform });
}
