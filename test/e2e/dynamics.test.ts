// End to end with real WireGuard, while things change under the running daemon (policy
// strategy, IPv4 and IPv6): a managed route or rule deleted, wireguard-go killed and
// restarted (onTunnelDown restore and block), the physical gateway replaced the way DHCP
// clients and NetworkManager do it, and the profile edited (valid, then invalid).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ADDRESSES, assertPhysicalStays, assertThroughTunnel, profileText, skipUnlessWorld, startDaemon, stopAndCompare, table, TAG, waitUntil, withWorld } from './harness.js';

test('heal: a deleted rule, table route or endpoint route comes back (delays printed)', async (t) => {
  if (skipUnlessWorld(t)) return;
  await withWorld({}, async (world) => {
    const before = table(world);
    const wg = world.interfaces.tunnel.client;
    const { daemon } = startDaemon(world, { ipv6: 'true' });
    await daemon.waitForState('installed', 15_000);
    const cases: Array<{ what: string; del: string[]; present: () => boolean }> = [
      { what: 'IPv4 rule 10001 (lookup 51820)', del: ['-4', 'rule', 'del', 'pref', '10001'], present: () => /^10001:\s+from all lookup 51820/m.test(world.ip('client', '-4', 'rule')) },
      { what: 'IPv6 rule 10000 (main, suppress_prefixlength 0)', del: ['-6', 'rule', 'del', 'pref', '10000'], present: () => /^10000:\s+from all lookup main suppress_prefixlength 0/m.test(world.ip('client', '-6', 'rule')) },
      { what: 'IPv4 default in table 51820', del: ['-4', 'route', 'del', 'default', 'table', '51820'], present: () => new RegExp(`^default dev ${wg}`, 'm').test(world.ip('client', '-4', 'route', 'show', 'table', '51820')) },
      { what: 'IPv6 default in table 51820', del: ['-6', 'route', 'del', 'default', 'table', '51820'], present: () => new RegExp(`^default dev ${wg}`, 'm').test(world.ip('client', '-6', 'route', 'show', 'table', '51820')) },
      { what: 'endpoint host route', del: ['-4', 'route', 'del', `${ADDRESSES.endpoint.v4}/32`], present: () => new RegExp(`^${ADDRESSES.endpoint.v4.replace(/\./g, '\\.')} via`, 'm').test(world.ip('client', '-4', 'route', 'show')) },
    ];
    for (const c of cases) {
      assert.ok(c.present(), `${c.what} is installed`);
      world.ip('client', ...c.del);
      const ms = await waitUntil(c.present, `${c.what} to come back`);
      t.diagnostic(`heal: ${c.what} back after ${ms} ms`);
    }
    assertThroughTunnel(world);
    await stopAndCompare(daemon, world, before);
  });
});

test('tunnel loss and return: wireguard-go killed → quiet wait (restore: physical path; block: nothing leaks); restarted → tunnel again', async (t) => {
  if (skipUnlessWorld(t)) return;
  await withWorld({}, async (world) => {
    const before = table(world);
    for (const onTunnelDown of ['restore', 'block'] as const) {
      const { daemon } = startDaemon(world, { ipv6: 'true', daemon: `onTunnelDown: ${onTunnelDown}` });
      await daemon.waitForState('installed', 15_000);
      assertThroughTunnel(world);

      let mark = daemon.lines.length;
      await world.stopTunnel('client', 'SIGKILL');
      await daemon.waitForState('waiting', 10_000, mark);
      const waiting = daemon.lines.length;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const logged = daemon.lines.length - waiting;
      assert.ok(logged <= 5, `${onTunnelDown}: waits quietly (${logged} log lines in 3 s): ${daemon.tail(logged)}`);
      assert.equal(world.ping('client', ADDRESSES.target.v4, { deadlineS: 1 }).ok, false, 'no tunnel, no target');
      if (onTunnelDown === 'restore') {
        assert.doesNotMatch(table(world), new RegExp(TAG), 'restore: nothing of tunroute\'s is left while the tunnel is gone');
        assert.ok(world.ping('client', ADDRESSES.internet.v4).ok, 'restore: the physical path carries traffic meanwhile');
        assert.ok(world.ping('client', ADDRESSES.internet.v6).ok, 'restore: IPv6 too');
      } else {
        for (const f of ['v4', 'v6'] as const) {
          const ping = world.ping('client', ADDRESSES.internet[f], { deadlineS: 1 });
          assert.equal(ping.ok, false, `block: ${f} traffic does not leak to the physical network`);
          assert.match(world.routeGet('client', ADDRESSES.internet[f]), /No route to host|unreachable/i, `block: refused (${f})`);
        }
        assert.ok(world.ping('client', ADDRESSES.a.v4.gateway).ok, 'block: the LAN still works');
        assert.ok(world.ping('client', ADDRESSES.endpoint.v4).ok, 'block: the endpoint stays reachable, so the tunnel can come back');
      }

      mark = daemon.lines.length;
      await world.startTunnel('client');
      await daemon.waitForState('installed', 15_000, mark);
      assertThroughTunnel(world);
      assertPhysicalStays(world);
      await stopAndCompare(daemon, world, before);
    }
  });
});

test('physical gateway change under policy: a DHCP client\'s delete-and-add, then NetworkManager\'s replace; main stays theirs, the endpoint follows', async (t) => {
  if (skipUnlessWorld(t)) return;
  await withWorld({}, async (world) => {
    const before = table(world);
    const { daemon } = startDaemon(world, { ipv6: 'true' });
    await daemon.waitForState('installed', 15_000);
    for (const [network, style] of [['b', 'del-add'], ['a', 'replace']] as const) {
      world.setPhysicalGateway(network, { style });
      const dev = world.interfaces.client[network];
      const ms = await waitUntil(() => world.routeGet('client', ADDRESSES.endpoint.v4).includes(`dev ${dev}`), `the endpoint route via ${dev}`);
      t.diagnostic(`gateway change (${style}) to network ${network}: endpoint route followed after ${ms} ms`);
      assert.equal(world.ip('client', 'route', 'show', 'default').trim(), `default via ${ADDRESSES[network].v4.gateway} dev ${dev}`, 'main\'s default is exactly what the owner wrote');
      assert.doesNotMatch(world.ip('client', 'route', 'show', 'default') + world.ip('client', '-6', 'route', 'show', 'default'), new RegExp(TAG));
      assert.equal(world.ip('client', 'route', 'show', ADDRESSES.endpoint.v4).trim().split('\n').length, 1, 'one endpoint route, the old one is gone');
      assertThroughTunnel(world);
      assertPhysicalStays(world);
    }
    await stopAndCompare(daemon, world, before);
  });
});

test('profile edited while running: only the difference is applied; an invalid edit keeps the running configuration; policy to replace swaps the rules for main routes', async (t) => {
  if (skipUnlessWorld(t)) return;
  await withWorld({}, async (world) => {
    const before = table(world);
    const { daemon, dir, path } = startDaemon(world, { ipv6: 'true' });
    await daemon.waitForState('installed', 15_000);
    // The same profile (and name) plus `extra`.
    const name = /^name: (.*)$/m.exec(readFileSync(path, 'utf8'))?.[1];
    assert.ok(name);
    const edited = (extra: string): string => profileText(world, dir, { ipv6: 'true', extra }).replace(/^name: .*$/m, `name: ${name}`);
    // As an editor saves: a new file renamed over the old, so the daemon never reads half a file.
    const save = (text: string): void => {
      writeFileSync(`${path}.new`, text, { mode: 0o600 });
      renameSync(`${path}.new`, path);
    };

    let mark = daemon.lines.length;
    save(edited(`exclude:\n  - ${ADDRESSES.internet.v4}/32\n`));
    await daemon.waitFor((l) => l.state === 'installed' && l.from === 'reloading', 10_000, mark);
    const changed = daemon.lines.slice(mark).filter((l) => typeof l.action === 'string');
    assert.deepEqual(changed.map((l) => [l.action, l.destination]), [['add', `${ADDRESSES.internet.v4}/32`]], 'only the new exclude route');
    assert.match(world.routeGet('client', ADDRESSES.internet.v4), /via 192\.168\.50\.1 dev eth0/, 'the excluded host is physical now');
    assertThroughTunnel(world);

    const installed = table(world);
    mark = daemon.lines.length;
    save(edited('exclude:\n  - 10.0.0.0/33\n'));
    const refused = await daemon.waitFor((l) => typeof l.problem === 'string', 10_000, mark);
    assert.match(String(refused.problem), /exclude\[0\]: "10\.0\.0\.0\/33"/);
    assert.equal(table(world), installed, 'nothing changed');
    assert.equal(daemon.child.exitCode, null, 'still running');
    assertThroughTunnel(world);

    // Another strategy: the rules and the table go, main gets the tunnel's defaults.
    mark = daemon.lines.length;
    save(edited('fullTunnel:\n  strategy: replace\n'));
    await daemon.waitFor((l) => l.state === 'installed' && l.from === 'reloading', 10_000, mark);
    for (const family of ['-4', '-6']) assert.doesNotMatch(world.ip('client', family, 'rule'), new RegExp(TAG), `no rule of ours is left (${family})`);
    assert.equal(world.ip('client', 'route', 'show', 'table', '51820'), '', 'the policy table is empty');
    assert.match(world.ip('client', 'route', 'show'), new RegExp(`^default dev ${world.interfaces.tunnel.client} ${TAG}`, 'm'));
    assertThroughTunnel(world);
    assertPhysicalStays(world);
    await stopAndCompare(daemon, world, before);
  });
});

test('a route that cannot be added makes the state degraded, not installed; once its key is free, installed', async (t) => {
  if (skipUnlessWorld(t)) return;
  await withWorld({}, async (world) => {
    // Someone else's default in the table the profile uses: tunroute never deletes a foreign route.
    world.ip('client', '-6', 'route', 'add', 'default', 'via', ADDRESSES.a.v6.gateway, 'dev', 'eth0', 'table', '51820');
    const before = table(world);
    const { daemon } = startDaemon(world, { ipv6: 'true' });
    await daemon.waitForState('degraded', 15_000);
    assert.ok(!daemon.lines.some((l) => l.state === 'installed'), 'never claimed installed');
    assert.ok(daemon.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('not everything could be installed: ::/0')), `the reason is logged: ${daemon.tail()}`);
    const mark = daemon.lines.length;
    world.ip('client', '-6', 'route', 'del', 'default', 'table', '51820');
    await daemon.waitForState('installed', 15_000, mark);
    assertThroughTunnel(world);
    daemon.signal('SIGTERM');
    assert.equal(await daemon.exited, 0);
    assert.equal(table(world), before.replace(/^default via fd00:50::1 dev eth0 table 51820 .*\n/m, ''), 'everything of ours is gone; the foreign route was the user\'s to delete');
  });
});
