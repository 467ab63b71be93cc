// Two real WireGuard tunnels (wireguard-go) in one client namespace, each with its own
// tunroute profile running at the same time (issue 8, "different profiles coexist"):
// profile A is a full tunnel (`policy`, the Linux default) on the sandbox world's tunnel;
// profile B is split mode on a second tunnel to a second peer, built here, with its own
// table and rule priority. Both carry traffic, and each SIGTERM leaves the other intact.
//
//   client eth2 192.168.52.2/24 ── b0 192.168.52.1/24   peer B (its WireGuard endpoint,
//                                                        on a connected network, so A's
//                                                        full tunnel leaves it physical)
//   client tb…c 10.20.20.2 ═══════ tb…s 10.20.20.1/24    wireguard-go, keys per run
//                                   lo 172.16.98.1       the target behind B
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { World } from '../../daemon/sandbox/world.js';
import { Netns } from '../helpers/netns.js';
import { ADDRESSES, profileText, runDaemon, skipUnlessWorld, table, waitUntil, withWorld } from './harness.js';
import { writeProfile } from '../helpers/daemon-process.js';

const WG_ENV = { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' };
const B = {
  link: { client: '192.168.52.2', peer: '192.168.52.1' },
  tunnel: { client: '10.20.20.2', peer: '10.20.20.1' },
  target: '172.16.98.1',
  prefix: '172.16.98.0/24',
  port: 51820,
} as const;

function wgKeys(ns: Netns): { private: string; public: string } {
  const priv = ns.exec('wg', ['genkey']);
  assert.equal(priv.status, 0, priv.stderr);
  const pub = ns.exec('wg', ['pubkey'], priv.stdout);
  assert.equal(pub.status, 0, pub.stderr);
  return { private: priv.stdout.trim(), public: pub.stdout.trim() };
}

/** Starts wireguard-go for `dev` through `spawn` and waits for its UAPI socket and device. */
async function startWireguard(spawn: () => ChildProcess, dev: string, linkExists: () => boolean): Promise<ChildProcess> {
  const child = spawn();
  let output = '';
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await waitUntil(() => {
    if (child.exitCode !== null) throw new Error(`wireguard-go ${dev} exited (${child.exitCode}): ${output}`);
    return existsSync(`/var/run/wireguard/${dev}.sock`) && linkExists();
  }, `wireguard-go to create ${dev}`);
  return child;
}

/** `wg setconf` from a file (wg cannot read Node's stdin pipe, which is a socket). */
function setconf(exec: (cmd: string, args: string[]) => { status: number | null; stderr: string }, dev: string, config: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-twowg-'));
  try {
    writeFileSync(join(dir, 'wg.conf'), config, { mode: 0o600 });
    const r = exec('wg', ['setconf', dev, join(dir, 'wg.conf')]);
    assert.equal(r.status, 0, `wg setconf ${dev}: ${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function transfer(exec: (cmd: string, args: string[]) => { status: number | null; stdout: string; stderr: string }, dev: string): { rx: number; tx: number } {
  const r = exec('wg', ['show', dev, 'transfer']);
  assert.equal(r.status, 0, r.stderr);
  let rx = 0;
  let tx = 0;
  for (const line of r.stdout.trim().split('\n')) {
    const [, a, b] = line.split('\t');
    rx += Number(a);
    tx += Number(b);
  }
  return { rx, tx };
}

/** Pings `address` from the client; the counters of `dev` must grow and the route must use it. */
function assertThrough(world: World, dev: string, address: string): void {
  const exec = (cmd: string, args: string[]) => world.exec('client', cmd, args);
  const before = transfer(exec, dev);
  const ping = world.ping('client', address);
  assert.ok(ping.ok, `${address} answers: ${ping.output}`);
  assert.match(world.routeGet('client', address), new RegExp(`dev ${dev}\\b`), `${address} goes through ${dev}`);
  const after = transfer(exec, dev);
  assert.ok(after.tx > before.tx && after.rx > before.rx, `${dev}'s counters grow: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
}

test('two wireguard-go tunnels, two profiles at once (full `policy` + split with its own table): traffic through both, each SIGTERM leaves the other intact, the table exactly restored', async (t) => {
  if (skipUnlessWorld(t)) return;
  await withWorld({ tunnelIpv6: false }, async (world) => {
    const peer = new Netns('twowgb');
    const short = process.pid.toString(36);
    const dev = { client: `tb${short}c`, peer: `tb${short}s` };
    const wireguard: ChildProcess[] = [];
    const daemons: Array<ReturnType<typeof runDaemon>> = [];
    try {
      // The second peer and its tunnel.
      peer.create();
      world.ip('client', 'link', 'add', 'eth2', 'type', 'veth', 'peer', 'name', 'b0', 'netns', peer.name);
      world.ip('client', 'addr', 'add', `${B.link.client}/24`, 'dev', 'eth2');
      world.ip('client', 'link', 'set', 'eth2', 'addrgenmode', 'none');
      world.ip('client', 'link', 'set', 'eth2', 'up');
      peer.ip('addr', 'add', `${B.link.peer}/24`, 'dev', 'b0');
      peer.ip('link', 'set', 'b0', 'up');
      peer.ip('addr', 'add', `${B.target}/32`, 'dev', 'lo');
      const keys = { client: wgKeys(peer), peer: wgKeys(peer) };
      const peerExec = (cmd: string, args: string[]) => peer.exec(cmd, args);
      const clientExec = (cmd: string, args: string[]) => world.exec('client', cmd, args);
      wireguard.push(await startWireguard(() => peer.spawn('wireguard-go', ['-f', dev.peer], { env: { ...process.env, ...WG_ENV } }), dev.peer, () => peer.tryIp('link', 'show', dev.peer).status === 0));
      setconf(peerExec, dev.peer, `[Interface]\nPrivateKey = ${keys.peer.private}\nListenPort = ${B.port}\n[Peer]\nPublicKey = ${keys.client.public}\nAllowedIPs = ${B.tunnel.client}/32\n`);
      peer.ip('addr', 'add', `${B.tunnel.peer}/24`, 'dev', dev.peer);
      peer.ip('link', 'set', dev.peer, 'up');
      wireguard.push(await startWireguard(() => world.spawn('client', 'wireguard-go', ['-f', dev.client], WG_ENV), dev.client, () => world.tryIp('client', 'link', 'show', dev.client).status === 0));
      setconf(clientExec, dev.client, `[Interface]\nPrivateKey = ${keys.client.private}\n[Peer]\nPublicKey = ${keys.peer.public}\nAllowedIPs = ${B.tunnel.peer}/32, ${B.prefix}\nEndpoint = ${B.link.peer}:${B.port}\n`);
      world.ip('client', 'addr', 'add', `${B.tunnel.client}/32`, 'dev', dev.client);
      world.ip('client', 'link', 'set', dev.client, 'addrgenmode', 'none');
      world.ip('client', 'link', 'set', dev.client, 'up');
      await waitUntil(() => /^local 10\.20\.20\.2 /m.test(world.ip('client', 'route', 'show', 'table', 'local')) && /^local 192\.168\.52\.2 /m.test(world.ip('client', 'route', 'show', 'table', 'local')), 'the local routes of the new addresses');
      // Before any daemon: neither target is reachable (A's needs a route into A, B's into B).
      assert.ok(!world.ping('client', ADDRESSES.target.v4, { deadlineS: 1 }).ok, 'target A unreachable before the daemons');
      assert.ok(!world.ping('client', B.target, { deadlineS: 1 }).ok, 'target B unreachable before the daemons');
      const before = table(world);

      const full = writeProfile((d) => profileText(world, d));
      const split = writeProfile((d) => [
        `name: e2e-${process.pid}-twowg-b`,
        'interface:',
        `  name: ${dev.client}`,
        `address: ${B.tunnel.client}`,
        'mode: split',
        'routes:',
        `  - ${B.prefix}`,
        'linux:',
        '  table: 51821',
        '  rulePriority: 11000',
        'daemon:',
        `  journal: ${join(d, 'journal.json')}`,
        '  reconcileInterval: 2s',
        '',
      ].join('\n'));
      const a = runDaemon(world, full.path);
      daemons.push(a);
      await a.waitForState('installed');
      const b = runDaemon(world, split.path);
      daemons.push(b);
      await b.waitForState('installed');
      const withBoth = table(world);
      assert.match(withBoth, /^10000:\s+from all lookup main suppress_prefixlength 0 proto 232/m, 'A: its policy rules');
      assert.match(withBoth, /^11000:\s+from 10\.20\.20\.2 lookup 51821 proto 232/m, 'B: its own rule and table');

      assertThrough(world, world.interfaces.tunnel.client, ADDRESSES.target.v4);
      assertThrough(world, dev.client, B.target);
      // Two reconcile periods: neither removes the other's routes or rules.
      await new Promise((r) => setTimeout(r, 4500));
      assert.equal(table(world), withBoth, 'no fight: the table did not change');

      a.signal('SIGTERM');
      assert.equal(await a.exited, 0, `A's exit status; stderr: ${a.stderr}`);
      const afterA = table(world);
      assert.match(afterA, /^11000:\s+from 10\.20\.20\.2 lookup 51821 proto 232/m, 'B keeps its rule');
      assert.match(world.ip('client', 'route', 'show'), new RegExp(`^172\\.16\\.98\\.0/24 dev ${dev.client} proto 232`, 'm'), 'and its route');
      assert.match(world.ip('client', 'route', 'show', 'table', '51821'), new RegExp(`^default dev ${dev.client} proto 232`, 'm'), 'and its table');
      assert.doesNotMatch(afterA, /^1000[01]:/m, "A's rules are gone");
      assertThrough(world, dev.client, B.target);
      assert.ok(!world.ping('client', ADDRESSES.target.v4, { deadlineS: 1 }).ok, 'target A is unreachable again');

      b.signal('SIGTERM');
      assert.equal(await b.exited, 0, `B's exit status; stderr: ${b.stderr}`);
      assert.equal(table(world), before, 'both gone: routes (v4, v6, every table) and rules (v4, v6) exactly as before');
    } finally {
      for (const d of daemons) if (d.child.exitCode === null) d.signal('SIGKILL');
      for (const w of wireguard) w.kill('SIGKILL');
      peer.destroy();
      for (const name of Object.values(dev)) rmSync(`/var/run/wireguard/${name}.sock`, { force: true });
    }
  });
});
