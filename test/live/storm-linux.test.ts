// A foreign route storm against a running daemon in a namespace: another process adds and
// deletes routes on another device (the benchmark's generator, scripts/route-storm.ts),
// once while the daemon is stopped, so its receive queue overflows, and once while it
// runs. The daemon must see the overflow, resync, leave its own routes alone (no write at
// all: nothing of ours was touched) and come to rest: no reconcile loop afterwards. How
// fast it keeps up is the benchmark suite's business (`npm run bench -- --only storm`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { skipUnlessLinuxRoot, withNetns, type Netns } from '../helpers/netns.js';
import { CLI, DaemonProcess, writeProfile } from '../helpers/daemon-process.js';
import type { StatusDocument } from '../../daemon/status/document.js';

const STORM = new URL('../../scripts/route-storm.js', import.meta.url).pathname;
const N = 200;
const destination = (i: number): string => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;

function ownRoutes(ns: Netns): string[] {
  return ns.ip('-4', 'route', 'show', 'table', 'main', 'proto', '232').split('\n').filter(Boolean);
}

/** The storm, to completion: `events` route changes on veth1 (whole cycles of 5,000 adds and 5,000 deletes). */
function storm(ns: Netns, events: number): { events: number; refused: number } {
  const r = ns.exec(process.execPath, [STORM, '--events', String(events), '--dev', 'veth1']);
  assert.equal(r.status, 0, `the storm generator failed: ${r.stderr}`);
  const done = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { phase: string; events: number; refused: number };
  assert.equal(done.phase, 'done');
  return done;
}

function counters(runDir: string): StatusDocument['counters'] {
  const r = spawnSync(process.execPath, [CLI, 'status', 'profile', '--json', '--run-dir', runDir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as StatusDocument).counters;
}

test('a foreign route storm with a receive-queue overflow: resynced, our routes untouched, and the daemon comes to rest', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('storm', async (ns) => {
    ns.addMachine();
    const { path } = writeProfile((dir) => `interface:\n  name: tun0\naddress: 10.10.10.2\nmode: split\nroutes:\n${Array.from({ length: N }, (_, i) => `  - ${destination(i)}`).join('\n')}\ndaemon:\n  journal: ${join(dir, 'journal.json')}\n  reconcileInterval: 1h\n`);
    const d = new DaemonProcess(ns, ['run', path]);
    await d.waitForState('installed', 30_000);
    const before = ownRoutes(ns);
    assert.equal(before.length, N, 'every route installed');
    const mark = d.lines.length;
    const start = counters(d.runDir);

    // Stopped while 20,000 events arrive: twice what its receive queue holds (4 MiB asked,
    // 8 MiB granted, about 830 bytes of it per route notification). Small storms: the suite
    // runs two files at once, and a wireguard test beside this one measures ping replies.
    d.signal('SIGSTOP');
    let offered: { events: number; refused: number };
    try {
      offered = storm(ns, 20_000);
    } finally {
      d.signal('SIGCONT');
    }
    assert.equal(offered.refused, 0, 'the kernel took every request');
    assert.equal(offered.events, 20_000);
    await d.waitFor((l) => typeof l.msg === 'string' && l.msg.includes('routing socket overflowed'), 10_000, mark);
    // And one it reads as it comes.
    storm(ns, 10_000);

    // At rest: the reconcile count stops moving (the periodic one is an hour away).
    let previous = counters(d.runDir);
    for (let tries = 0; ; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const now = counters(d.runDir);
      if (now.reconciles === previous.reconciles) break;
      assert.ok(tries < 20, `still reconciling 20 s after the storm: ${previous.reconciles} → ${now.reconciles} runs`);
      previous = now;
    }
    assert.ok(previous.overflows > start.overflows, 'the overflow was counted');
    assert.ok(previous.reconciles > start.reconciles, 'the overflow started a resync');

    assert.deepEqual(ownRoutes(ns), before, 'our routes are exactly as they were');
    const writes = d.lines.slice(mark).filter((l) => typeof l.action === 'string');
    assert.deepEqual(writes, [], 'no route of ours was written: the storm never touched one');
    assert.deepEqual(ns.ip('-4', 'route', 'show', 'dev', 'veth1').trim(), '', 'the storm left no route behind');
    assert.equal(d.child.exitCode, null, 'the daemon still runs');
    d.signal('SIGTERM');
    assert.equal(await d.exited, 0, `exit status; stderr: ${d.stderr}`);
    assert.deepEqual(ownRoutes(ns), [], 'and its routes are gone on exit');
  });
});
