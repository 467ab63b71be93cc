/**
 * Runs inside a test namespace whose tun0 is up with its addresses: the real engine and Linux
 * backend with a split profile of three IPv4 and two IPv6 routes. After the install, foreign
 * routes (proto static, same device) take one IPv4 and one IPv6 key of ours, and another sits
 * beside one of ours at another metric, and the stop comes at once, before the engine has read those events: it removes
 * what its last run left in place by key, without a snapshot first. The backend is wrapped
 * only to count those tagged deletes and the table dumps. Prints one JSON line.
 *
 *   node sweep-by-key.js DIR
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadNative } from '../../../native/index.js';
import { LinuxBackend } from '../../../daemon/backends/linux.js';
import { Engine } from '../../../daemon/engine/engine.js';
import { Journal } from '../../../daemon/engine/journal.js';
import { createLogger } from '../../../daemon/logger.js';
import { createPolicy } from '../../../daemon/policy.js';
import { validateProfileText } from '../../../daemon/profile/validate.js';
import { ip } from './shell.js';

const dir = process.argv[2] as string;
const journalPath = join(dir, 'journal.json');
const text = `interface:\n  name: tun0\naddress: [10.10.10.2, fd00:10::2]\nipv6: true\nmode: split\nroutes:\n  - 10.100.0.0/16\n  - 10.101.0.0/16\n  - 10.102.0.0/16\n  - fd00:100::/48\n  - fd00:101::/48\ndaemon:\n  journal: ${journalPath}\n`;
const result = validateProfileText(text, join(dir, 'p.yaml'), { platform: 'linux' });
if (!result.profile) throw new Error(JSON.stringify(result.problems));
const log = createLogger({ level: 'silent', format: 'json', write: () => {} });
const backend = new LinuxBackend({ native: loadNative() });
let taggedDeletes = 0;
let dumps = 0;
const del = backend.submitTaggedDelete.bind(backend);
backend.submitTaggedDelete = (route, done) => {
  taggedDeletes++;
  del(route, done);
};
const snapshot = backend.snapshot.bind(backend);
backend.snapshot = () => {
  dumps++;
  return snapshot();
};
const engine = new Engine({ backend, journal: new Journal(journalPath, result.profile.name), logger: log, policy: createPolicy(result.profile, 'linux', log) });

await engine.start();
await new Promise((resolve) => setTimeout(resolve, 300));
const tagged = (): string[] => [...ip('-4', 'route', 'show', 'table', 'all', 'proto', '232').split('\n'), ...ip('-6', 'route', 'show', 'table', 'all', 'proto', '232').split('\n')].filter(Boolean);
const installed = tagged().length;
// Synchronously, so the stop below starts before these events are read.
ip('route', 'replace', '10.101.0.0/16', 'dev', 'tun0', 'proto', 'static');
ip('route', 'add', '10.100.0.0/16', 'dev', 'tun0', 'metric', '50', 'proto', 'static');
ip('-6', 'route', 'replace', 'fd00:101::/48', 'dev', 'tun0', 'proto', 'static');
const mark = dumps;
const clean = await engine.stop(5000);
backend.close();
process.stdout.write(
  JSON.stringify({
    installed,
    clean,
    problem: engine.stopProblem,
    taggedDeletes,
    dumps: dumps - mark,
    ours: tagged(),
    foreign: [...ip('-4', 'route', 'show', 'proto', 'static').split('\n'), ...ip('-6', 'route', 'show', 'proto', 'static').split('\n')].map((l) => l.trim()).filter(Boolean),
    journal: existsSync(journalPath) ? readFileSync(journalPath, 'utf8') : null,
  }) + '\n',
);
