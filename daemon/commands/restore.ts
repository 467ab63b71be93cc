/**
 * @module commands/restore
 * `tunroute restore [PROFILE]`: the start-up sweep, by hand. Removes every route and rule
 * carrying tunroute's tag and puts back every physical route the journal says was moved.
 * For after a SIGKILL, a crash or a power loss, when no daemon is going to start again.
 */
import { parseArgs } from 'node:util';
import { loadNative } from '../../native/index.js';
import { createBackend } from '../backends/index.js';
import { Engine } from '../engine/engine.js';
import { Journal, JournalError, logStaleEntries } from '../engine/journal.js';
import { InstanceLock } from '../instance-lock.js';
import { UsageError } from '../errors.js';
import { createLogger, defaultLogFormat } from '../logger.js';
import { createPolicy, inertPolicy } from '../policy.js';
import { STATE_DIR } from '../profile/profile.js';
import { loadProfile } from '../profile/load.js';
import { formatProblem } from '../profile/problems.js';

const HELP = `usage: tunroute restore [PROFILE] [--journal PATH] [--all-tagged]

Undoes what a killed tunroute left in the routing table: removes the routes (and Linux
rules) the journal says this profile added, and restores every route it records as moved,
exactly as the kernel had it. Routes that carry tunroute's tag but no journal lists
(another profile's, another tool's) are left alone and listed; --all-tagged removes them
too, when you know no other tunroute and no tool sharing the tag is running.
The journal path comes from the PROFILE (its daemon.journal, by default
<state dir>/<profile name>.journal.json), from --journal, or without either is the
journal of releases before profile names (macOS ${STATE_DIR.darwin}/journal.json,
Linux ${STATE_DIR.linux}/journal.json).

  --journal PATH  the journal to restore from (default: the profile's daemon.journal)
  --all-tagged    also remove tagged routes and rules no journal lists

Exit status: 0 restored, 1 something could not be restored (the journal keeps it),
2 usage, 75 the profile is running (stop it instead), 77 not root, 78 PROFILE has problems.
`;

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { journal: { type: 'string' }, 'all-tagged': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError('takes at most one PROFILE');
  if (process.geteuid?.() !== 0) {
    process.stderr.write('tunroute restore: needs root (it changes the routing table)\n');
    return 77;
  }
  const native = loadNative();
  const log = createLogger({ level: 'info', format: defaultLogFormat(), write: (line) => process.stderr.write(line) });
  let journalPath = values.journal ?? `${STATE_DIR[native.platform]}/journal.json`;
  let policy = inertPolicy(native.platform);
  const profilePath = positionals[0];
  if (profilePath !== undefined) {
    const loaded = loadProfile(profilePath, { platform: native.platform, isRoot: process.getuid?.() === 0 });
    if (loaded.problems) {
      for (const p of loaded.problems) process.stderr.write(`tunroute restore: ${formatProblem(p)}\n`);
      return 78;
    }
    journalPath = values.journal ?? loaded.profile.daemon.journal;
    policy = createPolicy(loaded.profile, native.platform, log);
  }
  // A running daemon owns its journal: restoring under it would fight it.
  let lock: InstanceLock;
  try {
    lock = InstanceLock.acquire(journalPath, { name: 'restore', profile: profilePath ?? '(none)', claims: [] }, { flock: native.flock, stateDirs: [] });
  } catch (e) {
    process.stderr.write(`tunroute restore: ${(e as Error).message}\n`);
    return (e as Error).name === 'LockHeldError' ? 75 : 1;
  }
  const backend = createBackend(native);
  try {
    let journal: Journal;
    try {
      journal = Journal.load(journalPath, profilePath ?? '(none)', { os: native.platform });
    } catch (e) {
      if (!(e instanceof JournalError)) throw e;
      process.stderr.write(`tunroute restore: ${e.message}\n`);
      return 1;
    }
    logStaleEntries(journal, log);
    const engine = new Engine({ backend, journal, logger: log, policy });
    await backend.open(() => {});
    const { removed, restored, failed } = await engine.sweep('restore', { allTagged: values['all-tagged'] ?? false });
    if (failed === 0 && journal.empty) journal.clear();
    process.stdout.write(`tunroute restore: removed ${removed} route(s)/rule(s), restored ${restored} moved route(s)${failed > 0 ? `, ${failed} could not be restored (kept in ${journalPath})` : ''}\n`);
    return failed === 0 && journal.empty ? 0 : 1;
  } finally {
    backend.close();
    lock.release();
  }
}
