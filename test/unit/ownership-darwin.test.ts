// Ownership on macOS, against the XNU model: the daemon removes only what its own journal
// lists (a NetBird-style RTF_PROTO1 route is someone else's), two profiles run side by side,
// and a moved physical default comes back with its full route record (flags, every metric,
// the metric locks), not just the fields tunroute's own model has.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../daemon/daemon.js';
import { darwinCodec } from '../../daemon/codec/darwin/index.js';
import { advanceIndexTo, buildRouteRequest, createMacScenario, createXnuBinding, prefixMask, sockaddrIn, RTAX, RTF, RTM, RTV, NET_RT, type MacScenario } from '../xnu/index.js';

const running = new Set<Daemon>();
afterEach(async () => {
  for (const d of running) await d.abort();
  running.clear();
});

interface Started {
  daemon: Daemon;
  logs: Array<Record<string, unknown>>;
  waitFor(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
}

function start(mac: MacScenario, dir: string, name: string, body: string, pid: number): Started {
  const profilePath = join(dir, `${name}.yaml`);
  // Ownership of routes tunroute writes itself: replace unless the body names a strategy.
  const strategy = body.includes('strategy') ? '' : 'fullTunnel:\n  strategy: replace\n';
  writeFileSync(profilePath, `name: ${name}\n${strategy}${body}\ndaemon:\n  journal: ${join(dir, `${name}.journal.json`)}\n  reconcileInterval: 1s\n`);
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  const created = Daemon.create({
    profilePath, native: createXnuBinding(mac.kernel, { pid }), pid, isRoot: false, logLevel: 'debug', stateDirs: [],
    logWrite: (line) => {
      logs.push(JSON.parse(line) as Record<string, unknown>);
      for (const w of waiters.splice(0)) w();
    },
  });
  if (!('daemon' in created)) throw new Error(JSON.stringify(created));
  running.add(created.daemon);
  const waitFor = (pred: (l: Record<string, unknown>) => boolean, ms = 5000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; last lines:\n${logs.slice(-10).map((l) => JSON.stringify(l)).join('\n')}`)), ms);
      const check = (): void => {
        const hit = logs.find(pred);
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
        } else waiters.push(check);
      };
      check();
    });
  return { daemon: created.daemon, logs, waitFor };
}

function machine(): MacScenario {
  const mac = createMacScenario();
  advanceIndexTo(mac.kernel, 36);
  mac.addTunnel({ name: 'utun7', address: '10.10.10.2', mtu: 1420 });
  mac.addTunnel({ name: 'utun8', address: '10.20.20.2', mtu: 1380 });
  return mac;
}

/** Every route as the kernel's full record: flags, all rmx metrics and locks, gateway, scope. */
function records(mac: MacScenario): string[] {
  const dump = mac.kernel.sysctl([4, 17, 0, 0, NET_RT.DUMP, 0]);
  return darwinCodec.walk(dump).messages.flatMap(({ message: m }) => {
    if (m.kind !== 'route') return [];
    const { pksent: _p, ...metrics } = m.metrics;
    return [JSON.stringify({ destination: m.destination, scope: m.scope, index: m.index, flags: m.flags, metrics, gateway: m.addrs.gateway })];
  }).sort();
}

/** Another process writing a route, with metrics, as route(8) or NetBird would. */
function foreignAdd(mac: MacScenario, pid: number, dst: string, bits: number, gateway: string, flags: number, metrics: { inits?: number; rmx?: number[] } = {}): void {
  const socket = mac.kernel.openSocket({ pid });
  try {
    socket.write(buildRouteRequest({
      type: RTM.ADD, flags: flags | RTF.UP | RTF.GATEWAY, seq: 1,
      addrs: { [RTAX.DST]: sockaddrIn(dst), [RTAX.NETMASK]: sockaddrIn(prefixMask(bits, 4)), [RTAX.GATEWAY]: sockaddrIn(gateway) },
      ...(metrics.inits !== undefined ? { inits: metrics.inits } : {}),
      ...(metrics.rmx ? { rmx: metrics.rmx } : {}),
    }));
  } finally {
    socket.close();
  }
}

function foreignDelete(mac: MacScenario, pid: number, dst: string, bits: number): void {
  const socket = mac.kernel.openSocket({ pid });
  try {
    socket.write(buildRouteRequest({ type: RTM.DELETE, flags: 0, seq: 2, addrs: { [RTAX.DST]: sockaddrIn(dst), [RTAX.NETMASK]: sockaddrIn(prefixMask(bits, 4)) } }));
  } finally {
    socket.close();
  }
}

test('a NetBird-style RTF_PROTO1 route no journal of ours lists is left alone at start, while running and at stop', async () => {
  const mac = machine();
  foreignAdd(mac, 777, '100.64.0.0', 10, '192.168.1.1', RTF.STATIC | RTF.PROTO1);
  const before = records(mac);
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-own-'));
  const h = start(mac, dir, 'wg0', 'interface:\n  name: utun7\naddress: 10.10.10.2\nmode: full\n', 4242);
  await h.daemon.start();
  await h.waitFor((l) => l.state === 'installed');
  await h.waitFor((l) => typeof l.msg === 'string' && l.msg.includes('no journal of this profile lists it') && l.destination === '100.64.0.0/10');
  assert.ok(records(mac).some((r) => r.includes('"destination":"100.64.0.0/10"')), 'still there while running');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(records(mac), before, 'the foreign tagged route survives; everything else is as before');
});

test('two profiles side by side (full on utun7, split on utun8): each stop leaves the other\'s routes', async () => {
  const mac = machine();
  const before = records(mac);
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-own-'));
  const full = start(mac, dir, 'wg0', 'interface:\n  name: utun7\naddress: 10.10.10.2\nmode: full\n', 4242);
  await full.daemon.start();
  await full.waitFor((l) => l.state === 'installed');
  const split = start(mac, dir, 'wg1', 'interface:\n  name: utun8\naddress: 10.20.20.2\nmode: split\nroutes:\n  - 10.30.0.0/16\n', 4343);
  await split.daemon.start();
  await split.waitFor((l) => l.state === 'installed');
  const both = records(mac);
  // Several reconcile periods: neither removes the other's routes as stale.
  await new Promise((r) => setTimeout(r, 2200));
  assert.deepEqual(records(mac), both, 'no fight');
  assert.equal(await split.daemon.stop('SIGTERM'), 0);
  const netstat = mac.kernel.netstat(2);
  assert.ok(netstat.some((r) => r.destination === 'default' && r.netif === 'utun7' && !r.flags.includes('I')), 'the full tunnel keeps its default');
  assert.ok(!netstat.some((r) => r.netif === 'utun8' && r.destination === '10.30/16'), 'the split tunnel\'s route is gone');
  assert.equal(await full.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(records(mac), before);
});

test('exact restore: a physical default with its own flags, metrics and a locked MTU comes back with the same record', async () => {
  const mac = machine();
  foreignDelete(mac, 700, '0.0.0.0', 0);
  const rmx = new Array<number>(14).fill(0);
  rmx[0] = RTV.MTU; // locks
  rmx[1] = 1400; // mtu
  rmx[2] = 3; // hopcount
  rmx[4] = 65536; // recvpipe
  rmx[6] = 1200; // ssthresh
  foreignAdd(mac, 700, '0.0.0.0', 0, '192.168.1.1', RTF.STATIC | RTF.PROTO2, { inits: RTV.MTU | RTV.HOPCOUNT | RTV.RPIPE | RTV.SSTHRESH, rmx });
  const before = records(mac);
  assert.ok(before.some((r) => r.includes('"destination":"0.0.0.0/0","scope":null') && r.includes('"hopcount":3') && r.includes('"mtu":1400')), 'the seeded default has its metrics');
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-own-'));
  const h = start(mac, dir, 'wg0', 'interface:\n  name: utun7\naddress: 10.10.10.2\nmode: full\n', 4242);
  await h.daemon.start();
  await h.waitFor((l) => l.state === 'installed');
  assert.ok(!records(mac).some((r) => r.includes('"destination":"0.0.0.0/0","scope":null') && r.includes('192.168.1.1')), 'moved aside');
  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(records(mac), before, 'flags (PROTO2, STATIC), hopcount, recvpipe, ssthresh and the locked MTU are all back');
});
