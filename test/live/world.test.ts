// The sandbox world (daemon/sandbox/world.ts) itself: the network it promises is the one
// it builds, with real wireguard-go tunnels, and teardown leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { ADDRESSES, World, worldRequirements } from '../../daemon/sandbox/world.js';

test('the world: target only through the tunnel, endpoint physical, tunnel restart, gateway change, clean teardown', async (t) => {
  const missing = worldRequirements();
  if (missing.length > 0) {
    t.skip(missing.join('; '));
    return;
  }
  const world = await World.create();
  try {
    const wg = world.interfaces.tunnel.client;
    assert.equal(world.ping('client', ADDRESSES.target.v4, { deadlineS: 1 }).ok, false, 'the target is not reachable over the physical network');
    assert.equal(world.ping('client', ADDRESSES.target.v6, { deadlineS: 1 }).ok, false, 'nor over IPv6');
    assert.equal(world.ping('client', ADDRESSES.endpoint.v4).ok, true, 'the endpoint is reachable physically');
    assert.equal(world.ping('client', ADDRESSES.endpoint.v6).ok, true);
    assert.match(world.routeGet('client', ADDRESSES.endpoint.v4), /via 192\.168\.50\.1 dev eth0/);
    assert.equal(world.ping('client', ADDRESSES.internet.v4).ok, true, '"the internet" is reachable physically');
    assert.equal(world.ping('client', ADDRESSES.internet.v6).ok, true);

    world.ip('client', 'route', 'add', ADDRESSES.target.prefix.v4, 'dev', wg);
    world.ip('client', '-6', 'route', 'add', ADDRESSES.target.prefix.v6, 'dev', wg);
    const before = world.transfer('client');
    assert.equal(world.ping('client', ADDRESSES.target.v4).ok, true, 'routed into the tunnel, the target answers');
    assert.equal(world.ping('client', ADDRESSES.target.v6).ok, true, 'over IPv6 too');
    const after = world.transfer('client');
    assert.ok(after.tx > before.tx && after.rx > before.rx, `wg counters grow (${JSON.stringify(before)} → ${JSON.stringify(after)})`);

    await world.stopTunnel('client', 'SIGKILL');
    assert.equal(world.tryIp('client', 'link', 'show', wg).status, 1, 'a killed wireguard-go takes its device with it');
    await world.startTunnel('client');
    world.ip('client', 'route', 'add', ADDRESSES.target.prefix.v4, 'dev', wg);
    assert.equal(world.ping('client', ADDRESSES.target.v4).ok, true, 'restarted with the same keys, the tunnel works again');

    world.setPhysicalGateway('b', { style: 'del-add' });
    assert.equal(world.physicalGateway, 'b');
    assert.match(world.routeGet('client', ADDRESSES.endpoint.v4), /via 192\.168\.51\.1 dev eth1/);
    assert.match(world.routeGet('client', ADDRESSES.endpoint.v6), /via fd00:51::1 dev eth1/);
    assert.doesNotMatch(world.ip('client', 'route', 'show', 'default'), /192\.168\.50\.1/, 'the old default is gone');
    assert.equal(world.ping('client', ADDRESSES.target.v4).ok, true, 'the tunnel follows the new network');
  } finally {
    world.destroy();
  }
  const left = readdirSync('/run/netns').filter((n) => Object.values(world.ns).includes(n));
  assert.deepEqual(left, [], 'no namespace is left');
  for (const dev of Object.values(world.interfaces.tunnel)) assert.equal(existsSync(`/var/run/wireguard/${dev}.sock`), false, `no UAPI socket left for ${dev}`);
});

test('a world without client IPv6 tunnel addresses', async (t) => {
  const missing = worldRequirements();
  if (missing.length > 0) {
    t.skip(missing.join('; '));
    return;
  }
  const world = await World.create({ tunnelIpv6: false });
  try {
    const addresses = world.ip('client', 'addr', 'show', 'dev', world.interfaces.tunnel.client);
    assert.match(addresses, /inet 10\.10\.10\.2\/32/);
    assert.doesNotMatch(addresses, /inet6 fd00:10::2/);
  } finally {
    world.destroy();
  }
});

test('destroyOnExit: Ctrl-C (SIGINT) in a process holding a world removes it and exits 130', async (t) => {
  const missing = worldRequirements();
  if (missing.length > 0) {
    t.skip(missing.join('; '));
    return;
  }
  const module = new URL('../../daemon/sandbox/world.js', import.meta.url).href;
  const script = `import { World } from ${JSON.stringify(module)};
const world = await World.create();
world.destroyOnExit();
console.log(JSON.stringify({ ns: world.ns, tunnel: world.interfaces.tunnel }));
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0] as string);
    });
    child.once('exit', () => reject(new Error(`exited before building its world: ${stderr}`)));
  });
  const { ns, tunnel } = JSON.parse(line) as { ns: Record<string, string>; tunnel: Record<string, string> };
  assert.deepEqual(readdirSync('/run/netns').filter((n) => Object.values(ns).includes(n)).sort(), Object.values(ns).sort(), 'the world exists');
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.deepEqual(readdirSync('/run/netns').filter((n) => Object.values(ns).includes(n)), [], 'no namespace is left');
  for (const dev of Object.values(tunnel)) assert.equal(existsSync(`/var/run/wireguard/${dev}.sock`), false, `no UAPI socket left for ${dev}`);
});
