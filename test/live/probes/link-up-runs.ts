/**
 * Runs inside a test namespace whose tun0 is down with its address (peer 10.10.10.1): the
 * real engine and Linux backend with a split profile. The backend's snapshot is wrapped
 * only to count the table dumps the engine asks for. Prints JSON lines; brings tun0 up
 * itself (it is inside the namespace).
 *
 *   node link-up-runs.js DIR
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
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const text = `interface:\n  name: tun0\naddress: 10.10.10.2\nmode: split\nroutes:\n  - 10.100.0.0/16\n  - 10.101.0.0/16\ndaemon:\n  journal: ${join(dir, 'journal.json')}\n`;
const result = validateProfileText(text, join(dir, 'p.yaml'), { platform: 'linux' });
if (!result.profile) throw new Error(JSON.stringify(result.problems));
const log = createLogger({ level: 'silent', format: 'json', write: () => {} });
const backend = new LinuxBackend({ native: loadNative() });
let dumps = 0;
const snapshot = backend.snapshot.bind(backend);
backend.snapshot = () => {
  dumps++;
  return snapshot();
};
// No wait-poll runs while it waits: only kernel events start runs here.
const engine = new Engine({ backend, journal: new Journal(result.profile.daemon.journal, result.profile.name), logger: log, policy: createPolicy(result.profile, 'linux', log), waitPollMs: 600_000 });
const states: EngineState[] = [];
engine.onState((s) => states.push(s));
const reach = async (state: EngineState, since: number): Promise<void> => {
  for (const deadline = Date.now() + 10_000; !states.slice(since).includes(state); await sleep(10)) {
    if (Date.now() > deadline) throw new Error(`no ${state} after ${states.slice(since).join(',')}`);
  }
};

await engine.start();
await sleep(300);
print({ event: 'down', state: engine.currentState });

// Up: the link event starts the install run; the kernel adds the peer route (10.10.10.1 dev
// tun0 proto kernel) meanwhile. Only the install run may read the table.
let mark = dumps;
const since = states.length;
ip('link', 'set', 'tun0', 'up');
await reach('installed', since);
await sleep(500);
print({ event: 'up', dumps: dumps - mark, peerRoute: ip('route', 'show', '10.10.10.1').trim(), routes: ip('route', 'show', 'proto', '232').trim().split('\n').length });

// A foreign route on the physical side while installed: no run either (the filter as before).
mark = dumps;
ip('route', 'add', '172.16.5.0/24', 'via', '192.168.50.1', 'dev', 'veth0');
await sleep(300);
print({ event: 'foreign', dumps: dumps - mark });

// A run under way and another due (dirty) when the stop comes: the one due never runs, so
// the only dumps after the run's own are the sweep's.
mark = dumps;
void engine.trigger('first');
void engine.trigger('due');
const clean = await engine.stop(5000);
backend.close();
print({ event: 'stopped', clean, dumps: dumps - mark, left: ip('route', 'show', 'proto', '232').trim() });
