// The kernel's own routes for the tunnel's link, against the real Linux kernel in a namespace
// made here: bringing tun0 up makes the kernel add its peer route while the engine's install
// run is under way. That route cannot change the plan, so it starts no second full run (at
// 10,000 routes one more snapshot and pass, which a SIGTERM right after `installed` waited
// for). And a stop while a run is under way and another is due runs only the sweep after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runProbeWithFolder, skipUnlessLinuxRoot, withNetns } from '../helpers/netns.js';

interface Observation {
  event: string;
  state?: string;
  dumps?: number;
  peerRoute?: string;
  routes?: number;
  clean?: boolean;
  left?: string;
}

test('the link\'s own kernel routes at up start no run; a stop cancels a run that is only due', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('linkup', (ns) => {
    ns.addMachine({ tunnelUp: false });
    const seen = runProbeWithFolder<Observation>(ns, 'link-up-runs');
    const at = (event: string): Observation => seen.find((o) => o.event === event) ?? assert.fail(`no ${event} in ${JSON.stringify(seen)}`);
    assert.equal(at('down').state, 'waiting');
    const up = at('up');
    assert.match(up.peerRoute ?? '', /^10\.10\.10\.1 dev tun0 proto kernel/, 'the kernel added the peer route at up');
    assert.equal(up.routes, 2, 'both routes installed');
    assert.equal(up.dumps, 1, 'the install run read the table once; the peer route started no second run');
    assert.equal(at('foreign').dumps, 0, 'a foreign route elsewhere started no run');
    const stopped = at('stopped');
    assert.equal(stopped.clean, true);
    assert.equal(stopped.dumps, 2, 'the run under way and the sweep read the table; the run that was due did not');
    assert.equal(stopped.left, '');
  });
});
