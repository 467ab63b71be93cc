// Address events against the real Linux kernel: the kernel announces an address again
// (RTM_NEWADDR) when DAD completes, when a router advertisement refreshes its lifetime, or
// on `ip addr change`. Such a repeat cannot change the plan or the table, so it starts no
// reconcile (at 10,000 routes each cost 50–120 ms, and the repairs landing in it waited);
// a new address and a deletion still start one. Runs are counted by `tunroute status`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { skipUnlessLinuxRoot, withNetns } from '../helpers/netns.js';
import { CLI, DaemonProcess, writeProfile } from '../helpers/daemon-process.js';
import type { StatusDocument } from '../../daemon/status/document.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function reconciles(runDir: string): number {
  const r = spawnSync(process.execPath, [CLI, 'status', '--json', '--run-dir', runDir, 'addrs'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as StatusDocument).counters.reconciles;
}

async function until(what: string, pred: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('a repeated address announcement starts no reconcile; a new address and a deletion do', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('addr-events', async (ns) => {
    ns.addVeth('veth0', 'veth1', '192.168.50.2/24');
    ns.ip('route', 'add', 'default', 'via', '192.168.50.1', 'dev', 'veth0');
    ns.ip('tuntap', 'add', 'dev', 'tun0', 'mode', 'tun');
    ns.ip('addr', 'add', '10.10.10.2/32', 'peer', '10.10.10.1', 'dev', 'tun0');
    ns.ip('link', 'set', 'tun0', 'up');
    const { path } = writeProfile((dir) => `name: addrs\ninterface:\n  name: tun0\naddress: 10.10.10.2\nmode: split\nroutes:\n  - 10.200.0.0/16\n  - 10.201.0.0/16\ndaemon:\n  journal: ${join(dir, 'journal.json')}\n`);
    const d = new DaemonProcess(ns, ['run', path]);
    try {
      await d.waitForState('installed', 30_000);
      // Quiet first: the events of the set-up have been read and their runs are over.
      let last = -1;
      await until('a quiet daemon', () => {
        const now = reconciles(d.runDir);
        const quiet = now === last;
        last = now;
        return quiet;
      });
      const before = reconciles(d.runDir);

      // Repeats of the physical interface's address and of the tunnel's.
      ns.ip('addr', 'change', '192.168.50.2/24', 'dev', 'veth0');
      ns.ip('addr', 'change', '10.10.10.2/32', 'peer', '10.10.10.1', 'dev', 'tun0');
      // A new address: one run. Its event comes after the repeats on the same socket, so once
      // its run is counted the repeats have been read too.
      ns.ip('addr', 'add', '192.168.51.2/24', 'dev', 'veth0');
      await until('the run for the new address', () => reconciles(d.runDir) > before);
      await sleep(300);
      assert.equal(reconciles(d.runDir), before + 1, 'the repeats started no run; the new address one');

      ns.ip('addr', 'del', '192.168.51.2/24', 'dev', 'veth0');
      await until('the run for the deletion', () => reconciles(d.runDir) > before + 1);
      assert.equal(ns.ip('-4', 'route', 'show', 'proto', '232').split('\n').filter(Boolean).length, 2, 'the routes are in place');
    } finally {
      d.signal('SIGTERM');
      assert.equal(await d.exited, 0, `exit status; stderr: ${d.stderr}`);
    }
  });
});
