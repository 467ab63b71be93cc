// The kernel's record of a route, written back, gives the same route: what a moved
// physical route's exact restore relies on. Every attribute `ip -d route` shows is compared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonLines, probePath, skipUnlessLinuxRoot, withNetns } from '../helpers/netns.js';

test('recorded routes come back byte for byte: multipath, onlink, nexthop object, src, protocol, metrics with locks, IPv6 preference, a table above 255', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('record', async (ns) => {
    ns.addVeth('veth0', 'veth1', '192.168.50.2/24');
    ns.ip('addr', 'add', '192.168.51.2/24', 'dev', 'veth1');
    ns.ip('-6', 'addr', 'add', '2001:db8:50::2/64', 'dev', 'veth0');
    ns.ip('route', 'add', '10.50.0.0/16', 'proto', 'static', 'nexthop', 'via', '192.168.50.1', 'dev', 'veth0', 'weight', '2', 'nexthop', 'via', '192.168.51.1', 'dev', 'veth1', 'weight', '1');
    ns.ip('route', 'add', '10.51.0.0/16', 'via', '192.0.2.1', 'dev', 'veth0', 'onlink', 'proto', 'dhcp', 'metric', '50');
    ns.ip('nexthop', 'add', 'id', '9', 'via', '192.168.50.1', 'dev', 'veth0');
    ns.ip('route', 'add', '10.52.0.0/16', 'nhid', '9', 'proto', 'boot');
    ns.ip('route', 'add', '10.53.0.0/16', 'via', '192.168.50.1', 'src', '192.168.50.2', 'table', '1000', 'advmss', '1300', 'initcwnd', '12', 'rto_min', '50ms', 'mtu', 'lock', '1400', 'window', '65535');
    ns.ip('-6', 'route', 'add', '2001:db8:99::/48', 'via', '2001:db8:50::1', 'dev', 'veth0', 'proto', 'ra', 'pref', 'high', 'metric', '300', 'hoplimit', '17');
    const show = (): string => [ns.ip('-d', '-4', 'route', 'show', 'table', 'all'), ns.ip('-d', '-6', 'route', 'show', 'table', 'all')].join('\n--\n');
    const before = show();
    const r = ns.exec('node', [probePath('route-record'), '10.50.0.0/16', '10.51.0.0/16', '10.52.0.0/16', '10.53.0.0/16', '2001:db8:99::/48']);
    assert.equal(r.status, 0, r.stderr);
    const results = jsonLines<{ destination: string; recorded: boolean; result: string }>(r.stdout);
    assert.deepEqual(results.map((x) => [x.destination, x.recorded, x.result]).sort(), [
      ['10.50.0.0/16', true, 'ok'],
      ['10.51.0.0/16', true, 'ok'],
      ['10.52.0.0/16', true, 'ok'],
      ['10.53.0.0/16', true, 'ok'],
      ['2001:db8:99::/48', true, 'ok'],
    ]);
    assert.equal(show(), before);
  });
});
