/**
 * @module test/e2e/harness
 * What the end-to-end tests share: a sandbox world per test (daemon/sandbox/world.ts,
 * always destroyed), a tunroute daemon in its client namespace, the client's whole table
 * for byte-for-byte comparisons, and assertions on real traffic.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { join } from 'node:path';
import { ADDRESSES, World, worldRequirements, type WorldOptions } from '../../daemon/sandbox/world.js';
import { DaemonProcess, writeProfile } from '../helpers/daemon-process.js';

export { ADDRESSES };
export const TAG = 'proto 232';
let profiles = 0;

/** Skips the test with every reason the world cannot be built here. Returns true when skipped. */
export function skipUnlessWorld(t: TestContext): boolean {
  const missing = worldRequirements();
  if (missing.length > 0) t.skip(missing.join('; '));
  return missing.length > 0;
}

/** Builds a world, runs `fn`, and destroys the world whatever happens. */
export async function withWorld(options: WorldOptions, fn: (world: World) => Promise<void>): Promise<void> {
  const world = await World.create(options);
  try {
    await fn(world);
  } finally {
    world.destroy();
  }
}

export interface ProfileOptions {
  strategy?: 'policy' | 'replace' | 'split-default';
  mode?: 'full' | 'split';
  /** The ipv6 line as written (`true`, `bypass` …); absent: no line (blocked in mode full). */
  ipv6?: string;
  /** More YAML at the top level. */
  extra?: string;
  daemon?: string;
  /** List the endpoint (default true). */
  endpoints?: boolean;
}

/** A profile for the world's client tunnel; its name is unique, so parallel daemons never share a lock or socket. */
export function profileText(world: World, dir: string, o: ProfileOptions = {}): string {
  const tunnel = o.ipv6 === 'true' ? `[${ADDRESSES.tunnel.client.v4}, "${ADDRESSES.tunnel.client.v6}"]` : ADDRESSES.tunnel.client.v4;
  return [
    `name: e2e-${process.pid}-${profiles++}`,
    'interface:',
    `  name: ${world.interfaces.tunnel.client}`,
    `address: ${tunnel}`,
    `mode: ${o.mode ?? 'full'}`,
    ...(o.strategy ? ['fullTunnel:', `  strategy: ${o.strategy}`] : []),
    ...(o.ipv6 ? [`ipv6: ${o.ipv6}`] : []),
    ...(o.endpoints === false ? [] : ['endpoints:', `  - ${ADDRESSES.endpoint.v4}:${ADDRESSES.endpoint.port}`]),
    'daemon:',
    `  journal: ${join(dir, 'journal.json')}`,
    '  reconcileInterval: 2s',
    ...(o.daemon ? o.daemon.split('\n').map((l) => `  ${l}`) : []),
    o.extra ?? '',
  ].join('\n');
}

export interface Running {
  daemon: DaemonProcess;
  dir: string;
  path: string;
}

/** Writes the profile (root-owned, 0600) and starts `tunroute run` in the client namespace. */
export function startDaemon(world: World, o: ProfileOptions = {}): Running {
  const { dir, path } = writeProfile((dir) => profileText(world, dir, o));
  return { daemon: runDaemon(world, path), dir, path };
}

export function runDaemon(world: World, path: string): DaemonProcess {
  return new DaemonProcess({ spawn: (cmd, args) => world.spawn('client', cmd, args) }, ['run', path]);
}

/** Everything a run could change in the client: both families' routes in every table, and the rules. */
export function table(world: World): string {
  return world.tables('client');
}

/** SIGTERM: exit 0, and the client's table byte for byte what it was before the daemon. */
export async function stopAndCompare(d: DaemonProcess, world: World, before: string): Promise<void> {
  d.signal('SIGTERM');
  assert.equal(await d.exited, 0, `exit status; stderr: ${d.stderr}`);
  assert.equal(table(world), before, 'the table is exactly as it was');
}

/** Pings the target (reachable only through the tunnel) for each family, and checks the WireGuard counters grow. */
export function assertThroughTunnel(world: World, families: Array<'v4' | 'v6'> = ['v4', 'v6']): void {
  const before = world.transfer('client');
  for (const f of families) {
    const ping = world.ping('client', ADDRESSES.target[f]);
    assert.ok(ping.ok, `the target ${ADDRESSES.target[f]} answers through the tunnel: ${ping.output}`);
    assert.match(world.routeGet('client', ADDRESSES.target[f]), new RegExp(`dev ${world.interfaces.tunnel.client}\\b`));
  }
  const after = world.transfer('client');
  assert.ok(after.tx > before.tx && after.rx > before.rx, `wg transfer counters grow: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
}

/** The endpoint goes via the current physical gateway; the LAN (v4 and v6) stays on its own interface. */
export function assertPhysicalStays(world: World): void {
  const network = world.physicalGateway;
  const dev = world.interfaces.client[network];
  assert.match(world.routeGet('client', ADDRESSES.endpoint.v4), new RegExp(`via ${ADDRESSES[network].v4.gateway.replace(/\./g, '\\.')} dev ${dev}\\b`), 'the endpoint bypasses the tunnel');
  assert.match(world.routeGet('client', ADDRESSES.a.v4.gateway), /dev eth0\b/, 'the IPv4 LAN stays physical');
  assert.match(world.routeGet('client', ADDRESSES.a.v6.gateway), /dev eth0\b/, 'the IPv6 LAN stays physical');
  assert.ok(world.ping('client', ADDRESSES.a.v4.gateway).ok, 'the LAN answers');
}

/** Polls `check` every 5 ms until it is true; resolves with the milliseconds it took. */
export async function waitUntil(check: () => boolean, what: string, ms = 10_000): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Math.round(performance.now() - start);
}

/** The server-side link-local address of network a (what a client reaches as fe80::…%eth0). */
export function serverLinkLocal(world: World): string {
  const out = world.ip('server', '-6', 'addr', 'show', 'dev', 'a0', 'scope', 'link');
  const m = /inet6 (fe80::[0-9a-f:]+)\//.exec(out);
  assert.ok(m, `a0 has a link-local address: ${out}`);
  return m[1] as string;
}
