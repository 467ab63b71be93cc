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
import { Journal, logStaleEntries } from '../engine/journal.js';
import { UsageError } from '../errors.js';
import { createLogger, defaultLogFormat } from '../logger.js';
import { createPolicy, inertPolicy } from '../policy.js';
import { STATE_DIR } from '../profile/profile.js';
import { loadProfile } from '../profile/load.js';
import { formatProblem } from '../profile/problems.js';

const HELP = `usage: tunroute restore [PROFILE] [--journal PATH]

Undoes what a killed tunroute left in the routing table: removes every route (and Linux
rule) carrying tunroute's tag and restores every route the journal records as moved.
The journal path comes from the PROFILE (its daemon.journal, by default
<state dir>/<profile name>.journal.json), from --journal, or without either is the
journal of releases before profile names (macOS ${STATE_DIR.darwin}/journal.json,
Linux ${STATE_DIR.linux}/journal.json).

  --journal PATH  the journal to restore from (default: the profile's daemon.journal)

Exit status: 0 restored, 1 failure, 2 usage, 78 PROFILE has problems.
`;

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { journal: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError('takes at most one PROFILE');
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
  const backend = createBackend(native);
  const journal = Journal.load(journalPath, profilePath ?? '(none)');
  logStaleEntries(journal, log);
  const engine = new Engine({ backend, journal, logger: log, policy });
  await backend.open(() => {});
  try {
    const { removed, restored } = await engine.sweep('restore');
    journal.clear();
    process.stdout.write(`tunroute restore: removed ${removed} route(s)/rule(s) tagged by tunroute, restored ${restored} moved route(s)\n`);
    return 0;
  } finally {
    backend.close();
  }
}
