// End to end with real WireGuard (wireguard-go + wg) between namespaces: every full-tunnel
// strategy and split mode carry IPv4 and IPv6 to a target reachable only through the
// tunnel; IPv6 is blocked when the tunnel has none; SIGTERM, SIGKILL + restore and
// SIGKILL + restart all leave the table byte for byte as it was.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLI } from '../helpers/daemon-process.js';
import { ADDRESSES, assertPhysicalStays, assertThroughTunnel, runDaemon, serverLinkLocal, skipUnlessWorld, startDaemon, stopAndCompare, table, TAG, withWorld } from './harness.js';

const STRATEGIES = ['policy', 'replace', 'split-default'] as const;

test('full tunnel with each strategy, and split mode with routes: IPv4 and IPv6 through the tunnel, endpoint and LAN physical', async (t) => {
  if (skipUnlessWorld(t)) return;
  await withWorld({}, async (world) => {
    const wg = world.interfaces.tunnel.client;
    const before = table(world);
    const mainDefaults = world.ip('client', 'route', 'show', 'default') + world.ip('client', '-6', 'route', 'show', 'default');
    for (const strategy of STRATEGIES) {
      const { daemon } = startDaemon(world, { strategy, ipv6: 'true' });
      await daemon.waitForState('installed', 15_000);
      assertThroughTunnel(world);
      assertPhysicalStays(world);
      for (const f of ['v4', 'v6'] as const) {
        assert.match(world.routeGet('client', ADDRESSES.internet[f]), new RegExp(`dev ${wg}\\b`), `${strategy}: everything else goes into the tunnel (${f})`);
      }
      if (strategy === 'policy') {
        assert.equal(world.ip('client', 'route', 'show', 'default') + world.ip('client', '-6', 'route', 'show', 'default'), mainDefaults, 'policy never touches main\'s defaults');
        for (const family of ['-4', '-6']) {
          const rules = world.ip('client', family, 'rule');
          assert.match(rules, new RegExp(`^10000:\\s+from all lookup main suppress_prefixlength 0 ${TAG}`, 'm'));
          assert.match(rules, new RegExp(`^10001:\\s+from all lookup 51820 ${TAG}`, 'm'));
        }
        assert.match(world.ip('client', '-6', 'route', 'show', 'table', '51820'), new RegExp(`^default dev ${wg} ${TAG}`, 'm'));
      }
      if (strategy === 'replace') assert.match(world.ip('client', '-6', 'route', 'show'), new RegExp(`^default dev ${wg} ${TAG} metric 1 `, 'm'), 'IPv6 metric 1: it wins over the physical 1024');
      await stopAndCompare(daemon, world, before);
    }

    const { daemon } = startDaemon(world, { mode: 'split', ipv6: 'true', extra: `routes:\n  - ${ADDRESSES.target.prefix.v4}\n  - ${ADDRESSES.target.prefix.v6}\n` });
    await daemon.waitForState('installed', 15_000);
    assertThroughTunnel(world);
    assertPhysicalStays(world);
    for (const f of ['v4', 'v6'] as const) assert.match(world.routeGet('client', ADDRESSES.internet[f]), /dev eth0\b/, `split: what is not listed stays physical (${f})`);
    assert.ok(world.ping('client', ADDRESSES.internet.v6).ok, 'split: physical IPv6 keeps working');
    await stopAndCompare(daemon, world, before);
  });
});

test('IPv6 blocked when the tunnel has none (each strategy): no v6 target, no physical v6; link-local and LAN v6 work; ipv6: bypass opts out', async (t) => {
  if (skipUnlessWorld(t)) return;
  await withWorld({ tunnelIpv6: false }, async (world) => {
    const before = table(world);
    const linkLocal = `${serverLinkLocal(world)}%eth0`;
    assert.ok(world.ping('client', ADDRESSES.internet.v6).ok, 'before: IPv6 goes out the physical network');
    for (const strategy of STRATEGIES) {
      // No ipv6 key: the default, which blocks IPv6 in mode full.
      const { daemon } = startDaemon(world, { strategy });
      await daemon.waitForState('installed', 15_000);
      assertThroughTunnel(world, ['v4']);
      for (const address of [ADDRESSES.target.v6, ADDRESSES.internet.v6]) {
        const ping = world.ping('client', address, { deadlineS: 1 });
        assert.equal(ping.ok, false, `${strategy}: ${address} is not reachable`);
        assert.match(ping.output, /No route to host|unreachable/i, `${strategy}: refused at once, not sent anywhere: ${ping.output}`);
        assert.match(world.routeGet('client', address), /No route to host|unreachable/i, `${strategy}: the kernel's answer for ${address}`);
      }
      assert.ok(world.ping('client', ADDRESSES.a.v6.gateway).ok, `${strategy}: the LAN's IPv6 prefix still works`);
      assert.ok(world.ping('client', linkLocal).ok, `${strategy}: link-local still works`);
      await stopAndCompare(daemon, world, before);
      assert.ok(world.ping('client', ADDRESSES.internet.v6).ok, `${strategy}: after SIGTERM IPv6 works again`);
    }

    // The explicit opt-out: IPv6 uses the physical network, and the daemon says so.
    const { daemon } = startDaemon(world, { ipv6: 'bypass' });
    await daemon.waitForState('installed', 15_000);
    assertThroughTunnel(world, ['v4']);
    assert.ok(world.ping('client', ADDRESSES.internet.v6).ok, 'bypass: IPv6 goes out the physical network');
    assert.match(world.routeGet('client', ADDRESSES.internet.v6), /via fd00:50::1 dev eth0\b/);
    assert.ok(daemon.lines.some((l) => typeof l.msg === 'string' && l.msg.includes('ipv6: bypass')), 'and the daemon warns about it');
    await stopAndCompare(daemon, world, before);
  });
});

test('SIGKILL, then `tunroute restore`: the table as before; SIGKILL, then a restarted daemon sweeps and reinstalls', async (t) => {
  if (skipUnlessWorld(t)) return;
  await withWorld({}, async (world) => {
    const before = table(world);
    for (const strategy of ['policy', 'replace'] as const) {
      const first = startDaemon(world, { strategy, ipv6: 'true' });
      await first.daemon.waitForState('installed', 15_000);
      first.daemon.signal('SIGKILL');
      await first.daemon.exited;
      assert.notEqual(table(world), before, `${strategy}: a killed daemon leaves its routes and rules`);
      const restore = world.exec('client', 'node', [CLI, 'restore', first.path]);
      assert.equal(restore.status, 0, restore.stderr);
      assert.match(restore.stdout, /removed \d+ route\(s\)\/rule\(s\), restored \d+ moved route\(s\)/);
      assert.equal(table(world), before, `${strategy}: restore puts the table back byte for byte`);

      const second = runDaemon(world, first.path);
      await second.waitForState('installed', 15_000);
      second.signal('SIGKILL');
      await second.exited;
      const third = runDaemon(world, first.path);
      await third.waitFor((l) => l.msg === 'swept leftovers of an earlier run', 15_000);
      await third.waitForState('installed', 15_000);
      assertThroughTunnel(world);
      await stopAndCompare(third, world, before);
    }
  });
});

test('policy with linux.fwmark + setFwmark: the mark is set through wireguard-go\'s UAPI socket (again after a restart), and no endpoint route is needed', async (t) => {
  if (skipUnlessWorld(t)) return;
  await withWorld({}, async (world) => {
    const wg = world.interfaces.tunnel.client;
    const before = table(world);
    const fwmark = (): string => world.exec('client', 'wg', ['show', wg, 'fwmark']).stdout.trim();
    assert.equal(fwmark(), 'off');
    const { daemon } = startDaemon(world, { ipv6: 'true', endpoints: false, extra: 'linux:\n  fwmark: 51820\n  setFwmark: true\n' });
    await daemon.waitForState('installed', 15_000);
    assert.equal(fwmark(), '0xca6c', 'tunroute set the mark on the device');
    for (const family of ['-4', '-6']) assert.match(world.ip('client', family, 'rule'), new RegExp(`^10001:\\s+not from all fwmark 0xca6c lookup 51820 ${TAG}`, 'm'));
    assert.doesNotMatch(world.ip('client', 'route', 'show'), new RegExp(ADDRESSES.endpoint.v4.replace(/\./g, '\\.')), 'no endpoint route: the mark keeps the tunnel\'s own packets out of its table');
    assertThroughTunnel(world);

    const mark = daemon.lines.length;
    await world.stopTunnel('client', 'SIGKILL');
    await daemon.waitForState('waiting', 10_000, mark);
    await world.startTunnel('client');
    await daemon.waitForState('installed', 15_000, mark);
    assert.equal(fwmark(), '0xca6c', 'a restarted wireguard-go gets its mark again');
    assertThroughTunnel(world);
    await stopAndCompare(daemon, world, before);
  });
});
