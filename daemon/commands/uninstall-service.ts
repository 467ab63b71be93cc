/**
 * @module commands/uninstall-service
 * `tunroute uninstall-service PROFILE [--purge]`: stops the service (the daemon restores
 * the table as it exits), removes what install-service installed, and keeps the profile
 * and the journal unless --purge.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { loadProfile } from '../profile/load.js';
import { PROFILE_NAME_PATTERN } from '../profile/profile.js';
import { DEFAULT_PREFIX, launchdUninstallSteps, profileTarget, systemdUninstallSteps, type UninstallRequest } from '../service/service.js';
import { runSteps, serviceTarget, under, type StepContext } from '../service/steps.js';
import { platformOption } from './check.js';

const HELP = `usage: tunroute uninstall-service PROFILE [--purge] [--dry-run] [--prefix DIR] [--root DIR] [--os darwin|linux]

Stops the service installed by install-service (the daemon removes its routes and
restores the table as it exits) and removes the unit or LaunchDaemon, the log rotation
entry, and the installed copy of the package once no other profile uses it. PROFILE is
the profile's name or file. Running it again is safe.

  --purge         also remove the installed profile (and, on macOS, its log). The journal
                  is never deleted while it still lists routes moved aside
  --dry-run       print the steps and change nothing
  --prefix DIR    the --prefix given to install-service (default ${DEFAULT_PREFIX})
  --root DIR      the --root given to install-service
  --os OS         darwin or linux (default: this machine's)

Exit status: 0 removed, 1 a step failed, 2 usage, 77 not root.
`;

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      purge: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      prefix: { type: 'string' },
      root: { type: 'string' },
      os: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('needs exactly one PROFILE, a name or a file');
  const service = serviceTarget('uninstall-service', values, platformOption, DEFAULT_PREFIX);
  if (service === null) return 77;
  const { os, dryRun, root, prefix } = service;
  const ctx: StepContext = { root, dryRun, out: (line) => process.stdout.write(line + '\n') };
  const target = positionals[0] as string;
  const isName = PROFILE_NAME_PATTERN.test(target) && !existsSync(target);
  const file = isName ? under(ctx, profileTarget(os, target)) : target;
  // The installed profile says which journal --purge must look at; a name alone is enough otherwise.
  const loaded = existsSync(file) ? loadProfile(file, { platform: os, isRoot: false }) : null;
  const name = loaded?.profile?.name ?? (isName ? target : null);
  if (name === null) throw new UsageError(`${target}: not a profile file or a profile name`);
  const request: UninstallRequest = { os, name, prefix, purge: values.purge ?? false, ...(loaded?.profile ? { journal: loaded.profile.daemon.journal } : {}) };
  await runSteps(os === 'linux' ? systemdUninstallSteps(ctx, request) : launchdUninstallSteps(ctx, request), ctx);
  return 0;
}
