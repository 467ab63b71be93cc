/**
 * @module commands/monitor
 * `tunroute monitor [--json]`: prints every routing message as the kernel sends it, like
 * `route -n monitor` or `ip monitor`, until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { codecFor, type Os } from '../codec/codecs.js';
import { LISTEN_GROUPS } from '../backends/linux.js';
import { loadNative } from '../../native/index.js';

const HELP = `usage: tunroute monitor [--json]

Prints routing messages (routes, links, addresses, rules) as the kernel sends them,
until interrupted. Uses the same printers as \`tunroute decode\`.

  --json   one JSON object per line
`;

/** What `monitor` listens to: the daemon's own groups. PF_ROUTE has no groups: every routing socket hears everything. */
const MONITOR_GROUPS: Record<Os, number[]> = {
  darwin: [],
  linux: LISTEN_GROUPS,
};

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const native = loadNative();
  const codec = codecFor(native.platform);
  return new Promise<number>((resolve) => {
    const socket = new native.RouteSocket(
      (bytes) => {
        const result = codec.walk(bytes);
        for (const { message } of result.messages) {
          process.stdout.write((values.json ? JSON.stringify(codec.toJson(message)) : codec.toText(message) + '\n') + '\n');
        }
        for (const e of result.errors) process.stderr.write(`tunroute monitor: skipped a malformed message ${e.message}\n`);
      },
      () => process.stderr.write('tunroute monitor: the receive queue overflowed; some messages were lost\n'),
      (e) => {
        process.stderr.write(`tunroute monitor: ${e.message}\n`);
        socket.close();
        resolve(1);
      },
      { groups: MONITOR_GROUPS[native.platform], receiveBufferSize: 1 << 20 },
    );
    const stop = (): void => {
      socket.close();
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // Tells a parent process (tests, scripts) that the socket is subscribed.
    if (process.env.TUNROUTE_MONITOR_READY === '1') process.stderr.write('tunroute monitor: ready\n');
  });
}
