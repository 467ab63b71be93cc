// Large profiles against the real Linux kernel: stopping is clean at any moment. A SIGTERM
// in the middle of installing 10,000 routes, and one while 10,000 are in place and a
// foreign process keeps deleting them, both end with exit 0 and the table exactly as it
// was before the daemon started. (How fast is the benchmark suite's business, not this test's.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { skipUnlessLinuxRoot, withNetns, type Netns } from '../helpers/netns.js';
import { DaemonProcess, writeProfile } from '../helpers/daemon-process.js';

const N = 10_000;
const destination = (i: number): string => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;

function table(ns: Netns): string {
  return ns.tables();
}

/** Routes tunroute tagged (protocol 232), every table, both families. Rules are in table(). */
function ownLeft(ns: Netns): string {
  return [ns.ip('-4', 'route', 'show', 'table', 'all', 'proto', '232'), ns.ip('-6', 'route', 'show', 'table', 'all', 'proto', '232')].join('').trim();
}

function bigProfile(dir: string): string {
  return `interface:\n  name: tun0\naddress: 10.10.10.2\nmode: split\nroutes:\n${Array.from({ length: N }, (_, i) => `  - ${destination(i)}`).join('\n')}\ndaemon:\n  journal: ${join(dir, 'journal.json')}\n  shutdownTimeout: 60s\n`;
}

test(`SIGTERM in the middle of installing ${N} routes: exit 0 and nothing left`, async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('scale-mid', async (ns) => {
    ns.addMachine({ tunnelUp: false });
    const before = table(ns);
    const { path } = writeProfile((dir) => bigProfile(dir));
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('waiting', 30_000);
    ns.ip('link', 'set', 'tun0', 'up');
    // Stop once the install is under way (its first writes are logged), not after it.
    await d.waitFor((l) => l.action === 'add', 30_000);
    d.signal('SIGTERM');
    assert.equal(await d.exited, 0, `exit status; stderr: ${d.stderr}`);
    // Checked while tun0 is still up (taking it down would make the kernel drop its routes).
    assert.equal(ownLeft(ns), '', 'no route of ours is left');
    ns.ip('link', 'set', 'tun0', 'down');
    assert.equal(table(ns), before, 'the table is exactly as it was');
  });
});

test(`SIGTERM while another process deletes our routes (${N} installed): exit 0 and nothing left`, async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('scale-churn', async (ns) => {
    ns.addMachine({ tunnelUp: false });
    const before = table(ns);
    const { path } = writeProfile((dir) => bigProfile(dir));
    ns.ip('link', 'set', 'tun0', 'up');
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('installed', 60_000);
    assert.equal(ns.ip('-4', 'route', 'show', 'proto', '232').split('\n').filter(Boolean).length, N, 'every route installed');
    // Deletions the daemon repairs, then a stop while repairs and their confirming reconcile run.
    const deletions = Array.from({ length: 200 }, (_, k) => `route del ${destination((k * 37) % N)} dev tun0`).join('\n');
    ns.exec('ip', ['-batch', '-'], `${deletions}\n`);
    const mark = d.lines.length;
    await d.waitFor((l) => l.action === 'restore' && l.result === 'ok', 10_000, mark);
    d.signal('SIGTERM');
    assert.equal(await d.exited, 0, `exit status; stderr: ${d.stderr}`);
    // Checked while tun0 is still up (taking it down would make the kernel drop its routes).
    assert.equal(ownLeft(ns), '', 'no route of ours is left');
    ns.ip('link', 'set', 'tun0', 'down');
    assert.equal(table(ns), before, 'the table is exactly as it was');
  });
});
