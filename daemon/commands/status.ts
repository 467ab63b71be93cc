/**
 * @module commands/status
 * `tunroute status [PROFILE] [--json]`: asks running daemons what they are doing, through
 * their status sockets. It reads what the daemon keeps current and never makes it do
 * anything, so it answers at once even while the daemon is busy.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { loadProfile } from '../profile/load.js';
import { formatProblem } from '../profile/problems.js';
import { PROFILE_NAME_PATTERN } from '../profile/profile.js';
import { formatStatus, type StatusDocument } from '../status/document.js';
import { checkRunDir, listSockets, queryStatus, RUN_DIR, socketPath } from '../status/socket.js';

export const EXIT_NO_DAEMON = 3;
export const EXIT_NOT_ROOT = 77;

const HELP = `usage: tunroute status [PROFILE] [--json] [--run-dir DIR]

Shows what a running tunroute is doing: its state and why, the tunnel interface, the
routes and rules it installed (with their repairs), the physical routes it moved aside,
the physical gateway, flapping routes, the last reload and the counters. Without PROFILE
it shows every running instance. PROFILE is a profile file or a profile name.

  --json          the status document(s), one JSON object per line (see the README)
  --run-dir DIR   where the daemons' status sockets are (default ${RUN_DIR})

Exit status: 0 shown, 1 the run folder is not root's alone (its sockets are not believed),
2 usage, 3 no daemon running (for PROFILE, or none at all), 77 not root (the status
sockets are root's alone), 78 PROFILE has problems.
`;

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, 'run-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError('takes at most one PROFILE');
  if (process.geteuid?.() !== 0) {
    process.stderr.write('tunroute status: needs root: the status sockets are readable by root only (try sudo tunroute status)\n');
    return EXIT_NOT_ROOT;
  }
  const runDir = values['run-dir'] ?? RUN_DIR;
  // A socket in a folder someone else can write could be theirs, answering with made-up state.
  if (existsSync(runDir)) checkRunDir(runDir);
  const target = positionals[0];
  let sockets: Array<{ name: string; path: string }>;
  if (target === undefined) {
    sockets = listSockets(runDir);
  } else {
    const name = profileName(target);
    if (typeof name === 'number') return name;
    sockets = [{ name, path: socketPath(runDir, name) }];
  }

  const documents: StatusDocument[] = [];
  for (const socket of sockets) {
    try {
      documents.push((await queryStatus(socket.path)) as StatusDocument);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // No socket, or a socket nobody answers on (a crashed run's): that instance is not running.
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED') process.stderr.write(`tunroute status: ${socket.name}: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  if (documents.length === 0) {
    process.stderr.write(target === undefined ? `tunroute status: no tunroute daemon is running (no status socket answers in ${runDir})\n` : `tunroute status: no tunroute daemon is running profile "${sockets[0]?.name}" (nothing answers at ${sockets[0]?.path})\n`);
    return EXIT_NO_DAEMON;
  }
  if (values.json) {
    for (const doc of documents) process.stdout.write(JSON.stringify(doc) + '\n');
  } else {
    process.stdout.write(documents.map((d) => formatStatus(d)).join('\n'));
  }
  return 0;
}

/** The instance name for a profile file (its `name`) or a bare name; an exit status when the profile has problems. */
function profileName(target: string): string | number {
  if (!existsSync(target) && PROFILE_NAME_PATTERN.test(target)) return target;
  const loaded = loadProfile(target, { platform: process.platform === 'darwin' ? 'darwin' : 'linux', isRoot: true });
  if (loaded.problems) {
    for (const p of loaded.problems) process.stderr.write(`tunroute status: ${formatProblem(p)}\n`);
    return 78;
  }
  return loaded.profile.name;
}
