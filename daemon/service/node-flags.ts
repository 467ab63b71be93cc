/**
 * @module service/node-flags
 * The V8 settings the daemon runs with, the same however it is launched: the `tunroute`
 * bin's shebang (`#!/usr/bin/env -S node …`; GNU and BSD env split it), the systemd unit's
 * ExecStart and the launchd plist's ProgramArguments. Those files carry the flags literally,
 * so an admin reads them where they act; test/unit/node-flags.test.ts fails when one of
 * them does not carry exactly these, and the bench starts its daemons with them.
 *
 * `--max-semi-space-size=2` (MB): V8 grows the young generation's two semi-spaces under
 * allocation (an install, a storm) up to 16 MB in all here and keeps the pages for good, so an
 * idle daemon held 16 MB of empty young generation. At 2 MB a semi-space, an idle daemon with
 * 1,000 routes measured 11 MB less RSS; the cost is more frequent scavenges: about 6% more
 * CPU per foreign event in a storm (1 MB: 14% more for 1 MB less). See the README, "Idle RSS".
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/** node's arguments that run `tunroute` with `args` the way the bin, the unit and the plist do. */
export function daemonArgs(cli: string, args: readonly string[]): string[] {
  return [...DAEMON_NODE_FLAGS, cli, ...args];
}
