/**
 * @module service/node-flags
 * The V8 settings the daemon runs with, the same however it is launched: the `tunroute`
 * bin's shebang (`#!/usr/bin/env -S node …`; GNU and BSD env split it), the systemd unit's
 * ExecStart and the launchd plist's ProgramArguments. Those files carry the flags literally,
 * so an admin reads them where they act; test/unit/node-flags.test.ts fails when one of
 * them does not carry exactly these, and the bench starts its daemons with them.
 *
 * `--max-semi-space-size=4` (MB): V8 grows the young generation's two semi-spaces under
 * allocation (an install, a storm) to 8 MB each here and keeps the pages while nothing
 * allocates, so an idle daemon held 16 MB of mostly empty young generation; capped at 4 MB
 * each, 8 MB. Measured (README, "Idle RSS"): 4–8 MB less idle RSS, 3–12% more CPU per
 * foreign event in a storm. Smaller caps (1 or 2 MB) save 4–5 MB more but promote so much of
 * a storm's short-lived data that the heap is still growing in the storm's second half.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/** node's arguments that run `tunroute` with `args` the way the bin, the unit and the plist do. */
export function daemonArgs(cli: string, args: readonly string[]): string[] {
  return [...DAEMON_NODE_FLAGS, cli, ...args];
}
