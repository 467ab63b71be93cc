/**
 * @module commands/sandbox
 * `sudo tunroute sandbox [PROFILE]`: tunroute's lifecycle on a throwaway network of
 * namespaces (Linux). See sandbox/tour.ts.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { EXAMPLE_PROFILE, runTour } from '../sandbox/tour.js';
import { worldRequirements } from '../sandbox/world.js';

const HELP = `usage: tunroute sandbox [PROFILE]

Shows tunroute at work without a VPN and without touching this machine's network (Linux,
root). It builds a throwaway world of network namespaces: a client with a physical network
and a gateway, a WireGuard tunnel (wireguard-go) to a server, and a target reachable only
through it. Then it runs the daemon inside the client with PROFILE (default: the shipped
config/full-tunnel.yaml, pointed at the world's tunnel) and shows the table before, the
table with tunroute running and its status, a ping through the tunnel, a deleted route
healed, the tunnel killed and restored, and the table after SIGTERM, compared with the one
before. Everything is removed at the end, also on Ctrl-C.

Needs: root, ip, wireguard-go, wg, ping.

Exit status: 0 every step as expected and the table restored, 1 a step failed, 2 usage,
77 not root.
`;

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError('takes at most one PROFILE');
  const missing = worldRequirements();
  if (missing.length > 0) {
    process.stderr.write(`tunroute sandbox: ${missing.join('; ')}\n`);
    return process.platform === 'linux' && process.getuid?.() !== 0 ? 77 : 1;
  }
  return runTour({ profilePath: positionals[0] ?? EXAMPLE_PROFILE, out: (line) => process.stdout.write(line + '\n') });
}
