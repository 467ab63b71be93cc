/**
 * Runs inside a test namespace whose tun0 is down with its address, and whose physical
 * default goes via 192.168.50.1: the real engine and Linux backend with a profile whose
 * endpoint route follows the physical gateway. The policy is wrapped only to count the
 * plans it makes (a fresh DesiredState) and the ones it hands back unchanged.
 * Prints JSON lines; brings tun0 up itself (it is inside the namespace).
 *
 *   node plan-ahead.js DIR
 */
import { join } from 'node:path';
import { loadNative } from '../../../native/index.js';
import { LinuxBackend } from '../../../daemon/backends/linux.js';
import { Engine, type EngineState } from '../../../daemon/engine/engine.js';
import { Journal } from '../../../daemon/engine/journal.js';
import { createLogger } from '../../../daemon/logger.js';
import { createPolicy } from '../../../daemon/policy.js';
import { validateProfileText } from '../../../daemon/profile/validate.js';
import { ip, print } from './shell.js';

const dir = process.argv[2] as string;

const text = `interface:\n  name: tun0\naddress: 10.10.10.2\nfullTunnel:\n  strategy: replace\nendpoints:\n  - 192.168.60.1\nroutes:\n  - 10.100.0.0/16\ndaemon:\n  journal: ${join(dir, 'journal.json')}\n`;
const result = validateProfileText(text, join(dir, 'p.yaml'), { platform: 'linux' });
if (!result.profile) throw new Error(JSON.stringify(result.problems));
const log = createLogger({ level: 'silent', format: 'json', write: () => {} });
const policy = createPolicy(result.profile, 'linux', log);
let plans = 0;
let last: unknown = null;
const desire = policy.desire.bind(policy);
policy.desire = (facts) => {
  const desired = desire(facts);
  if (desired !== last) plans++;
  last = desired;
  return desired;
};
const backend = new LinuxBackend({ native: loadNative() });
const engine = new Engine({ backend, journal: new Journal(result.profile.daemon.journal, result.profile.name), logger: log, policy });
const states: EngineState[] = [];
const waiters: Array<() => void> = [];
engine.onState((s) => {
  states.push(s);
  for (const w of waiters.splice(0)) w();
});
const reach = async (state: EngineState, since: number): Promise<void> => {
  const deadline = Date.now() + 10_000;
  while (!states.slice(since).includes(state)) {
    if (Date.now() > deadline) throw new Error(`no ${state} after ${states.slice(since).join(',')}`);
    await new Promise<void>((resolve) => {
      waiters.push(resolve);
      setTimeout(resolve, 200);
    });
  }
};
const endpoint = (): string => ip('route', 'show', '192.168.60.1').trim();

await engine.start();
print({ event: 'down', state: engine.currentState, plans, endpoint: endpoint() });
// While it waits, the physical gateway changes: the plan made ahead follows it.
let mark = states.length;
ip('route', 'replace', 'default', 'via', '192.168.50.254', 'dev', 'veth0');
await new Promise((resolve) => setTimeout(resolve, 500));
print({ event: 'gateway changed', state: engine.currentState, plans });
mark = states.length;
ip('link', 'set', 'tun0', 'up');
await reach('installed', mark);
print({ event: 'up', plans, endpoint: endpoint(), tunnelRoute: ip('route', 'show', '10.100.0.0/16').trim() });
await engine.stop(5000);
backend.close();
print({ event: 'stopped', left: ip('route', 'show', 'proto', '232').trim() });
