// The stop removes what the last run left in place by key, with the tag in each delete
// request (the kernel matches rtm_protocol: fib_table_delete for IPv4, ip6_route_del for
// IPv6), before any snapshot, against the real Linux kernel in a namespace made here. A
// foreign route that took one of our keys (same destination, table, metric and device, other
// protocol) just before the stop, and one beside ours at another metric, are never removed;
// none of ours is left; the journal goes only because the table is clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runProbeWithFolder, skipUnlessLinuxRoot, withNetns } from '../helpers/netns.js';

interface Observation {
  installed: number;
  clean: boolean;
  problem: string | null;
  taggedDeletes: number;
  dumps: number;
  ours: string[];
  foreign: string[];
  journal: string | null;
}

test('the stop\'s removal by key never removes a foreign route at our key and leaves none of ours', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('bykey', (ns) => {
    ns.addMachine({ tunnelUp: false });
    ns.ip('-6', 'addr', 'add', 'fd00:10::2/128', 'dev', 'tun0', 'nodad');
    ns.ip('link', 'set', 'tun0', 'up');
    const [o] = runProbeWithFolder<Observation>(ns, 'sweep-by-key');
    assert.ok(o, 'the probe printed its observation');
    // Five in main, and the source tables' (IPv4: the default, multicast and broadcast via tun0; IPv6: the default).
    assert.equal(o.installed, 9);
    assert.equal(o.taggedDeletes, o.installed, 'every route the last run left was removed by key, the replaced ones too (ESRCH)');
    assert.equal(o.dumps, 1, 'one snapshot, after the removal: the sweep\'s');
    assert.deepEqual(o.ours, [], 'none of ours is left');
    assert.deepEqual(
      o.foreign.map((l) => l.replace(/ pref medium$/, '')).sort(),
      ['10.100.0.0/16 dev tun0 scope link metric 50 linkdown', '10.101.0.0/16 dev tun0 scope link linkdown', 'fd00:101::/48 dev tun0 metric 1024 linkdown'].sort(),
      'the foreign routes are all still there',
    );
    assert.equal(o.clean, true, String(o.problem));
    assert.equal(o.journal, null, 'the journal is gone with a clean table');
  });
});
