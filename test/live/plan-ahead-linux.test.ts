// The engine plans while the tunnel is down (its address already there), against the real
// Linux kernel in a namespace made here: the plan is made ahead, follows a fact that changes
// while it waits, and is the one used when the tunnel comes up (no planning at up time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runProbeWithFolder, skipUnlessLinuxRoot, withNetns } from '../helpers/netns.js';

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
    ns.addMachine({ tunnelUp: false });
    const seen = runProbeWithFolder<Observation>(ns, 'plan-ahead');
    const at = (event: string): Observation => seen.find((o) => o.event === event) ?? assert.fail(`no ${event} in ${JSON.stringify(seen)}`);
    assert.deepEqual(at('down'), { event: 'down', state: 'waiting', plans: 1, endpoint: '' }, 'planned while down, nothing written');
    assert.equal(at('gateway changed').plans, 2, 'a changed physical gateway is planned again while waiting');
    const up = at('up');
    assert.equal(up.plans, 2, 'the run at up time used the plan made ahead');
    assert.match(up.endpoint ?? '', /^192\.168\.60\.1 via 192\.168\.50\.254 dev veth0 proto 232/, 'the endpoint route follows the gateway of the moment');
    assert.match(up.tunnelRoute ?? '', /^10\.100\.0\.0\/16 dev tun0 proto 232/);
    assert.equal(at('stopped').left, '');
  });
});
