/**
 * @module commands/install-service
 * `tunroute install-service PROFILE`: installs the profile as a service that starts at
 * boot: a systemd instance `tunroute@<name>.service` on Linux, a LaunchDaemon
 * `org.tunroute.<name>` on macOS. See service/service.ts for what is installed where.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { loadProfile } from '../profile/load.js';
import { formatProblem } from '../profile/problems.js';
import { CONFIG_DIR, DEFAULT_PREFIX, installedPackage, launchdInstallSteps, launchdLabel, realNode, systemdInstallSteps, unitInstance } from '../service/service.js';
import { assertRootOnlyAncestors, assertRootOnlyFile, runSteps, serviceTarget, under, type StepContext } from '../service/steps.js';
import { defaultJournalPath, STATE_DIR } from '../profile/profile.js';
import { platformOption } from './check.js';

const HELP = `usage: tunroute install-service PROFILE [--dry-run] [--prefix DIR] [--node PATH] [--root DIR] [--os darwin|linux]

Installs PROFILE as a service that starts at boot and starts it now, replacing a running
instance of the same profile (which restores the table first). Running it again is safe.

  Linux (systemd): a root-owned copy of this package in PREFIX/<version>, the profile in
    ${CONFIG_DIR.linux}/<name>.yaml (root, 0600) beside the schema, the unit
    /etc/systemd/system/tunroute@.service, then systemctl enable and restart
    tunroute@<name>.service. Logs go to the journal (journalctl -u tunroute@<name>).
  macOS (launchd): the same copy, the profile in ${CONFIG_DIR.darwin}/<name>.yaml,
    /Library/LaunchDaemons/org.tunroute.<name>.plist, log rotation in
    /etc/newsyslog.d/org.tunroute.<name>.conf (log: /var/log/tunroute/<name>.log), then
    launchctl bootout (waiting for the old instance to exit), enable and bootstrap.

  --dry-run       print the steps and change nothing
  --prefix DIR    where the versioned copies of the package go (default ${DEFAULT_PREFIX});
                  every existing folder above it must be root's alone
  --node PATH     the node binary the service runs (default: the one running this, with
                  links resolved); it must be root's alone, never a version manager's copy
                  in a home folder
  --root DIR      install under DIR instead of / (image builds, tests): files only, the
                  service manager only records the boot-time start (systemctl --root)
  --os OS         darwin or linux (default: this machine's); another OS needs --dry-run or --root

Exit status: 0 installed, 1 a step failed, 2 usage, 77 not root, 78 the profile has problems.
`;

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean' },
      prefix: { type: 'string' },
      node: { type: 'string' },
      root: { type: 'string' },
      os: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('needs exactly one PROFILE');
  const target = serviceTarget('install-service', values, platformOption, DEFAULT_PREFIX);
  if (target === null) return 77;
  const { os, dryRun, root, prefix } = target;

  const path = positionals[0] as string;
  // The file may be the user's own: it is checked here and installed root-owned.
  const loaded = loadProfile(path, { platform: os, isRoot: false });
  if (loaded.problems) {
    for (const p of loaded.problems) process.stderr.write(`tunroute install-service: ${formatProblem(p)}\n`);
    return 78;
  }
  const profile = loaded.profile;
  const ctx: StepContext = { root, dryRun, out: (line) => process.stdout.write(line + '\n') };
  // Root will run this node binary at every boot: whoever could replace it would own the machine.
  const node = values.node === undefined ? realNode() : realpathSync(values.node);
  if (!dryRun) {
    for (const dir of [prefix, CONFIG_DIR[os]]) assertRootOnlyAncestors(under(ctx, dir));
    try {
      assertRootOnlyFile(node);
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : String(e)}; install Node.js system-wide (root-owned, e.g. /usr/local/bin/node) and pass it with --node`);
    }
  }
  if (os === 'linux' && profile.daemon.journal !== defaultJournalPath('linux', profile.name)) {
    process.stderr.write(`tunroute install-service: warning: daemon.journal is ${profile.daemon.journal}; the unit lets the daemon write only under ${STATE_DIR.linux} (ProtectSystem=strict)\n`);
  }
  const request = { os, profile, profileText: readFileSync(path, 'utf8'), prefix, node };
  const steps = os === 'linux' ? systemdInstallSteps(ctx, request) : launchdInstallSteps(ctx, request);
  await runSteps(steps, ctx);
  const service = os === 'linux' ? unitInstance(profile.name) : `system/${launchdLabel(profile.name)}`;
  if (!dryRun) ctx.out(`installed ${service} from ${installedPackage(prefix)}; sudo tunroute status ${profile.name} shows what it does`);
  return 0;
}
