/**
 * @module test/helpers/nobody
 * Running the CLI as an unprivileged user (`runuser -u nobody`), for the "needs root"
 * answers. The checkout must be readable by that user: on a CI runner it may sit in a home
 * folder nobody cannot enter, and the test then skips with that reason.
 */
import { spawnSync } from 'node:child_process';
import { CLI } from './daemon-process.js';

/** Why the CLI cannot be run as nobody here, or null when it can. */
export function cannotRunAsNobody(): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux (runs the command as nobody)';
  const r = spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', CLI], { encoding: 'utf8' });
  if (r.error) return `needs runuser: ${r.error.message}`;
  return r.status === 0 ? null : `nobody cannot read ${CLI} (the checkout is in a folder nobody cannot enter)`;
}

/** `tunroute ARGS…` as nobody. */
export function asNobody(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
