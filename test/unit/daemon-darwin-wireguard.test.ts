// endpoints: auto, routes: auto and endpoint host names on macOS, end to end against the
// XNU model (test/xnu) with a fake wireguard-go UAPI socket served by the test: the same
// cases as the Linux live tests (test/live/wireguard-linux.test.ts), plus a stalled socket
// and host names that stop resolving.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../daemon/daemon.js';
import { advanceIndexTo, createMacScenario, createXnuBinding, type MacScenario } from '../xnu/index.js';
import { FakeUapi, peerKey, type FakePeer } from '../helpers/fake-uapi.js';
import { collectLogs } from '../helpers/darwin-daemon.js';

const PID = 4243;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function seedMachine(): MacScenario {
  const mac = createMacScenario();
  advanceIndexTo(mac.kernel, 36);
  mac.addTunnel({ name: 'utun7', address: '10.10.10.2', mtu: 1420 });
  return mac;
}

async function start(mac: MacScenario, body: string, uapi: FakeUapi, resolveHost?: (name: string) => Promise<string[]>) {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-darwin-wg-'));
  const profilePath = join(dir, 'profile.yaml');
  const write = (text: string): void => writeFileSync(profilePath, `interface: {name: utun7}\naddress: 10.10.10.2\nfullTunnel: {strategy: replace}\nwireguard: {pollInterval: 1s, resolveInterval: 10s}\n${text}\ndaemon:\n  journal: ${join(dir, 'journal.json')}\n  reconcileInterval: 1s\n`);
  write(body);
  const { logs, logWrite, waitFor } = collectLogs(10_000);
  const created = Daemon.create({
    profilePath, native: createXnuBinding(mac.kernel, { pid: PID }), pid: PID, isRoot: false, logLevel: 'debug',
    peers: { directory: uapi.directory, owner: process.getuid?.() ?? 0, ...(resolveHost ? { resolveHost } : {}) },
    logWrite,
  });
  if (!('daemon' in created)) throw new Error(JSON.stringify(created));
  const daemon = created.daemon;
  cleanups.push(() => daemon.abort());
  const index = (action: string, destination: string, from: number): number => logs.findIndex((l, i) => i >= from && l.action === action && l.destination === destination);
  const rows = () => mac.kernel.netstat(2).map(({ destination, gateway, flags, netif }) => ({ destination, gateway, flags, netif }));
  const endpointRoutes = () => rows().filter((r) => r.netif === 'en0' && r.flags.includes('H') && r.flags.includes('1')).map((r) => `${r.destination} ${r.gateway} ${r.flags}`).sort();
  await daemon.start();
  return { daemon, logs, waitFor, index, rows, endpointRoutes, write };
}

async function fakeUapi(peers: FakePeer[] = []): Promise<FakeUapi> {
  const uapi = new FakeUapi('utun7');
  uapi.peers = peers;
  await uapi.start();
  cleanups.push(() => uapi.destroy());
  return uapi;
}

test('endpoints: auto (full): the endpoint route comes from the socket and follows a roaming endpoint, a new peer and a restarted socket', async () => {
  const mac = seedMachine();
  const before = mac.kernel.routes();
  const uapi = await fakeUapi([{ publicKey: peerKey(1), endpoint: '198.51.100.1:51820', allowedIps: ['0.0.0.0/0'] }]);
  const h = await start(mac, 'mode: full\nendpoints: auto\n', uapi);
  await h.waitFor((l) => l.state === 'installed');
  // Installed with the first plan: the endpoint route is there before the tunnel takes the default.
  assert.ok(h.index('add', '198.51.100.1/32', 0) < h.index('add', '0.0.0.0/0', 0), 'endpoint route before the tunnel default');
  assert.deepEqual(h.endpointRoutes(), ['198.51.100.1 192.168.1.1 UGHS1']);

  let mark = h.logs.length;
  uapi.peers[0]!.endpoint = '198.51.100.2:51820';
  await h.waitFor((l) => l.action === 'remove-stale' && l.destination === '198.51.100.1/32', mark, 10_000);
  assert.ok(h.index('add', '198.51.100.2/32', mark) >= 0 && h.index('add', '198.51.100.2/32', mark) < h.index('remove-stale', '198.51.100.1/32', mark), 'new route before the old goes');
  assert.deepEqual(h.endpointRoutes(), ['198.51.100.2 192.168.1.1 UGHS1']);

  mark = h.logs.length;
  uapi.peers.push({ publicKey: peerKey(2), endpoint: '[2001:db8::3]:51820', allowedIps: ['10.99.0.0/24'] }, { publicKey: peerKey(3), endpoint: '198.51.100.3:4500', allowedIps: [] });
  await h.waitFor((l) => l.action === 'add' && l.destination === '198.51.100.3/32', mark, 10_000);
  assert.deepEqual(h.endpointRoutes(), ['198.51.100.2 192.168.1.1 UGHS1', '198.51.100.3 192.168.1.1 UGHS1'], 'IPv6 endpoints get no route while ipv6 is off');

  mark = h.logs.length;
  await uapi.restart([{ publicKey: peerKey(1), endpoint: '198.51.100.1:51820', allowedIps: ['0.0.0.0/0'] }]);
  await h.waitFor((l) => l.action === 'remove-stale' && l.destination === '198.51.100.3/32', mark, 10_000);
  assert.deepEqual(h.endpointRoutes(), ['198.51.100.1 192.168.1.1 UGHS1'], 'the routes follow the new socket');

  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(mac.kernel.routes(), before);
});

test('routes: auto (split): allowed IPs are routed through the utun and changes are applied as a diff; 0.0.0.0/0 is refused', async () => {
  const mac = seedMachine();
  const before = mac.kernel.routes();
  const uapi = await fakeUapi([{ publicKey: peerKey(1), endpoint: '198.51.100.1:51820', allowedIps: ['10.20.0.0/24', '10.21.0.0/24'] }]);
  const h = await start(mac, 'mode: split\nroutes: auto\nendpoints: auto\n', uapi);
  await h.waitFor((l) => l.state === 'installed');
  const tunnelRoutes = () => h.rows().filter((r) => r.netif === 'utun7' && /^10\.2/.test(r.destination)).map((r) => `${r.destination} ${r.flags}`).sort();
  assert.deepEqual(tunnelRoutes(), ['10.20/24 UCS1', '10.21/24 UCS1']);

  const mark = h.logs.length;
  uapi.peers[0]!.allowedIps = ['10.20.0.0/24', '10.22.0.0/24', '0.0.0.0/0'];
  const warning = await h.waitFor((l) => typeof l.msg === 'string' && l.msg.includes('split mode refuses it'), mark, 10_000);
  assert.match(String(warning.msg), /allows 0\.0\.0\.0\/0, the whole IPv4 internet: split mode refuses it, expected mode: full/);
  await h.waitFor((l) => l.action === 'remove-stale' && l.destination === '10.21.0.0/24', mark, 10_000);
  assert.deepEqual(tunnelRoutes(), ['10.20/24 UCS1', '10.22/24 UCS1']);
  assert.equal(h.logs.slice(mark).filter((l) => l.destination === '10.20.0.0/24').length, 0, 'the unchanged route was not touched');
  assert.ok(!h.rows().some((r) => r.destination === 'default' && r.netif === 'utun7' && !r.flags.includes('I')), 'no unscoped default through the utun');

  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(mac.kernel.routes(), before);
});

test('a stalled socket never holds the engine: routes are installed within the wait budget and the last reading is kept', async () => {
  const mac = seedMachine();
  const uapi = await fakeUapi([{ publicKey: peerKey(1), endpoint: '198.51.100.1:51820', allowedIps: [] }]);
  uapi.stall = true;
  const h = await start(mac, 'mode: full\nendpoints: auto\n', uapi);
  const installed = await h.waitFor((l) => l.state === 'installed');
  assert.deepEqual(h.endpointRoutes(), [], 'nothing read yet');
  const timedOut = await h.waitFor((l) => l.msg === "peers: cannot read the tunnel's peers; keeping the last reading" && /no complete answer/.test(String(l.error)));
  // An order, not a stopwatch: the routes were in before the stalled read gave up (2 s).
  assert.ok(h.logs.indexOf(installed) < h.logs.indexOf(timedOut), 'installed within the wait budget, not after the read timed out');

  let mark = h.logs.length;
  uapi.stall = false;
  await h.waitFor((l) => l.action === 'add' && l.destination === '198.51.100.1/32', mark, 10_000);
  // Stalled again: the endpoint route stays (the last good reading), it is not pulled.
  mark = h.logs.length;
  uapi.stall = true;
  uapi.peers = [];
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(h.index('remove-stale', '198.51.100.1/32', mark), -1);
  assert.deepEqual(h.endpointRoutes(), ['198.51.100.1 192.168.1.1 UGHS1']);
  uapi.stall = false;
  await h.daemon.stop('SIGTERM');
});

test('endpoint host names: every address gets a route, next to the listed ones; the socket is never read without auto', async () => {
  const mac = seedMachine();
  const uapi = await fakeUapi();
  const asked: string[] = [];
  const resolveHost = async (name: string): Promise<string[]> => {
    asked.push(name);
    return ['198.51.100.8', '198.51.100.7', '198.51.100.7'];
  };
  const h = await start(mac, 'mode: full\nendpoints: [vpn.example.com:51820, 203.0.113.9]\n', uapi, resolveHost);
  await h.waitFor((l) => l.state === 'installed');
  assert.deepEqual(h.endpointRoutes(), ['198.51.100.7 192.168.1.1 UGHS1', '198.51.100.8 192.168.1.1 UGHS1', '203.0.113.9 192.168.1.1 UGHS1']);
  assert.ok(h.index('add', '198.51.100.7/32', 0) < h.index('add', '0.0.0.0/0', 0), 'resolved before the first plan: routed before the tunnel takes the default');
  assert.deepEqual(asked, ['vpn.example.com']);
  assert.equal(uapi.requests, 0, 'no auto: the socket is never read');
  await h.daemon.stop('SIGTERM');
});

test('reload: listed endpoints to endpoints: auto and back, applied as a diff', async () => {
  const mac = seedMachine();
  const before = mac.kernel.routes();
  const uapi = await fakeUapi([{ publicKey: peerKey(1), endpoint: '198.51.100.1:51820', allowedIps: ['0.0.0.0/0'] }]);
  const h = await start(mac, 'mode: full\nendpoints: [203.0.113.9]\n', uapi);
  await h.waitFor((l) => l.state === 'installed');
  assert.deepEqual(h.endpointRoutes(), ['203.0.113.9 192.168.1.1 UGHS1']);
  assert.equal(uapi.requests, 0);

  let mark = h.logs.length;
  h.write('mode: full\nendpoints: [auto, 203.0.113.9]\n');
  await h.daemon.reload('test');
  await h.waitFor((l) => l.action === 'add' && l.destination === '198.51.100.1/32', mark, 10_000);
  assert.deepEqual(h.endpointRoutes(), ['198.51.100.1 192.168.1.1 UGHS1', '203.0.113.9 192.168.1.1 UGHS1']);
  assert.equal(h.logs.slice(mark).filter((l) => l.destination === '0.0.0.0/0' && typeof l.action === 'string').length, 0, 'the tunnel routes were not touched');

  mark = h.logs.length;
  h.write('mode: full\nendpoints: auto\n');
  await h.daemon.reload('test');
  await h.waitFor((l) => l.action === 'remove-stale' && l.destination === '203.0.113.9/32', mark, 10_000);
  assert.deepEqual(h.endpointRoutes(), ['198.51.100.1 192.168.1.1 UGHS1']);

  assert.equal(await h.daemon.stop('SIGTERM'), 0);
  assert.deepEqual(mac.kernel.routes(), before);
});
