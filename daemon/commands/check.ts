/**
 * @module commands/check
 * `tunroute check PROFILE [--os darwin|linux]`: validates a profile. Valid: one summary
 * line on stdout, exit 0. Invalid: every problem as `FILE:LINE:COL key.path: message` on
 * stderr, sorted by position, exit 1. Run as root, it also refuses a profile that is not
 * root's alone, exactly as the daemon would.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadProfile } from '../profile/load.js';
import { checkFolders, TrustError } from '../trust.js';
import { formatProblem, type Problem } from '../profile/problems.js';
import type { Platform, Profile } from '../profile/profile.js';
import { formatDuration } from '../profile/units.js';
import { ipv6Summary } from '../plan/plan.js';

const HELP = `usage: tunroute check [--os darwin|linux] PROFILE

Validates a tunnel profile. Prints a one-line summary and exits 0 when it is valid;
otherwise prints every problem as FILE:LINE:COL key.path: what is wrong, what is
expected, and exits 1.

  --os darwin|linux  the platform to check for (default: this machine's)
`;

export function platformOption(value: string | undefined): Platform {
  const os = value ?? process.platform;
  if (os === 'darwin' || os === 'linux') return os;
  throw new UsageError(`--os must be darwin or linux, not "${os}"`);
}

export function summary(profile: Profile): string {
  const iface = profile.interface.kind === 'name' ? profile.interface.name : `the utun named in ${profile.interface.path}`;
  const mode = profile.mode === 'full' ? `full tunnel (${profile.strategy})` : `split tunnel${profile.strategy === 'system' ? ' (system)' : ''}`;
  const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
  const addresses = profile.addresses === null ? 'address from the interface' : profile.addresses.map((a) => a.address).join(', ');
  return [
    `${profile.file}: ok`,
    `${mode} on ${iface}`,
    addresses,
    count(profile.routes.length, 'route'),
    count(profile.exclude.length, 'exclude', 'excludes'),
    endpointSummary(profile),
    ...(profile.wireguard.autoRoutes ? [profile.mode === 'split' ? "routes: the peers' allowed IPs" : 'routes: auto (nothing extra in full mode)'] : []),
    ipv6Summary(profile),
    `reconcile every ${formatDuration(profile.daemon.reconcileIntervalMs)}`,
  ].join(', ');
}

function endpointSummary(profile: Profile): string {
  const parts = [...(profile.wireguard.autoEndpoints ? ["endpoints: the peers' own"] : []), ...(profile.endpoints.length > 0 ? [`${profile.endpoints.length} listed`] : []), ...(profile.wireguard.hosts.length > 0 ? [`${profile.wireguard.hosts.length} by host name`] : [])];
  return parts.length === 0 ? '0 endpoints' : parts.length === 1 && profile.endpoints.length > 0 ? `${profile.endpoints.length} endpoint${profile.endpoints.length === 1 ? '' : 's'}` : parts.join(' + ');
}

export async function main(args: string[]): Promise<number> {
  // cli.ts turns parseArgs's errors into usage errors (exit 2).
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { os: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one PROFILE, got ${positionals.length}\n\n${HELP}`);
  const result = loadProfile(positionals[0] as string, { platform: platformOption(values.os) });
  if (result.problems) {
    process.stderr.write(result.problems.map((p) => `${formatProblem(p)}\n`).join(''));
    return 1;
  }
  const journal = journalFolderProblem(result.profile);
  if (journal) {
    process.stderr.write(`${formatProblem(journal)}\n`);
    return 1;
  }
  // Warnings go to stderr with the problems' format, and leave the exit status 0.
  process.stderr.write((result.warnings ?? []).map((w) => `${formatProblem({ ...w, message: `warning: ${w.message}` })}\n`).join(''));
  process.stdout.write(`${summary(result.profile)}\n`);
  return 0;
}

/**
 * The journal's folder, as the daemon will use it: root's alone (files are created there).
 * A folder that does not exist yet is created by the daemon, root-owned, and passes.
 */
function journalFolderProblem(profile: Profile): Problem | null {
  const folder = dirname(profile.daemon.journal);
  if (!existsSync(folder)) return null;
  try {
    checkFolders(folder, { strictLast: true, trustedUids: [0] });
    return null;
  } catch (e) {
    if (!(e instanceof TrustError)) throw e;
    return { file: profile.file, line: 1, col: 1, path: 'daemon.journal', message: `${e.message}; the daemon will refuse to keep its journal there` };
  }
}
