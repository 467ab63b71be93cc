// The engine plans while the tunnel is down (its address already there), against the real
// Linux kernel in a namespace made here: the plan is made ahead, follows a fact that changes
// while it waits, and is the one used when the tunnel comes up (no planning at up time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonLines, probePath, skipUnlessLinuxRoot, withNetns } from '../helpers/netns.js';

interface Observation {
  event: string;
  state?: string;
  plans?: number;
  endpoint?: string;
  tunnelRoute?: string;
  left?: string;
}

test('a plan made while the tunnel is down follows the facts and is the one installed at up', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('ahead', (ns) => {
    ns.addVeth('veth0', 'veth1', '192.168.50.2/24');
    ns.ip('route', 'add', 'default', 'via', '192.168.50.1', 'dev', 'veth0');
    ns.ip('tuntap', 'add', 'dev', 'tun0', 'mode', 'tun');
    ns.ip('addr', 'add', '10.10.10.2/32', 'peer', '10.10.10.1', 'dev', 'tun0');
    const dir = mkdtempSync(join(tmpdir(), 'tunroute-ahead-'));
    try {
      const r = ns.exec('node', [probePath('plan-ahead'), dir]);
      assert.equal(r.status, 0, r.stderr);
      const seen = jsonLines<Observation>(r.stdout);
      const at = (event: string): Observation => seen.find((o) => o.event === event) ?? assert.fail(`no ${event} in ${r.stdout}`);
      assert.deepEqual(at('down'), { event: 'down', state: 'waiting', plans: 1, endpoint: '' }, 'planned while down, nothing written');
      assert.equal(at('gateway changed').plans, 2, 'a changed physical gateway is planned again while waiting');
      const up = at('up');
      assert.equal(up.plans, 2, 'the run at up time used the plan made ahead');
      assert.match(up.endpoint ?? '', /^192\.168\.60\.1 via 192\.168\.50\.254 dev veth0 proto 232/, 'the endpoint route follows the gateway of the moment');
      assert.match(up.tunnelRoute ?? '', /^10\.100\.0\.0\/16 dev tun0 proto 232/);
      assert.equal(at('stopped').left, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
