// macOS against the real kernel. Runs in the GitHub Actions macOS job (root for the
// writes); everywhere else each test skips and says why. The writes touch only a test
// address on lo0 and scoped routes on a utun this test creates, never the runner's own
// default route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNative } from '../../native/index.js';
import { darwinCodec } from '../../daemon/codec/darwin/index.js';
import { DarwinBackend } from '../../daemon/backends/darwin.js';
import { NET_RT } from '../../daemon/codec/darwin/constants.js';
import type { Route } from '../../daemon/model/route.js';

const onMac = process.platform === 'darwin';
const isRoot = process.getuid?.() === 0;
const CLI = new URL('../../daemon/cli.js', import.meta.url).pathname;

test('sysctl dumps decode without errors and hold lo0 and a default route', (t) => {
  if (!onMac) return t.skip('needs macOS');
  const native = loadNative();
  const table = darwinCodec.walk(native.sysctlRouteDump!(0, NET_RT.NET_RT_DUMP.value, 0));
  assert.deepEqual(table.errors, []);
  assert.ok(table.messages.some(({ message }) => message.kind === 'route' && message.destination === '0.0.0.0/0'), 'a default route');
  const list = darwinCodec.walk(native.sysctlRouteDump!(0, NET_RT.NET_RT_IFLIST.value, 0));
  assert.deepEqual(list.errors, []);
  const lo0 = list.messages.find(({ message }) => message.kind === 'interface' && message.addrs.ifp?.family === 'link' && message.addrs.ifp.name === 'lo0');
  assert.ok(lo0);
  assert.equal(native.nameToIndex('lo0'), lo0.message.index);
});

test('a route on lo0: added with the tag, EEXIST the second time, deleted, ESRCH the second time', async (t) => {
  if (!onMac) return t.skip('needs macOS');
  if (!isRoot) return t.skip('needs root');
  const native = loadNative();
  const backend = new DarwinBackend({ native });
  await backend.open(() => {});
  const lo0 = native.nameToIndex('lo0');
  const route: Route = {
    family: 'inet', destination: '198.51.100.77/32', gateway: { link: lo0 }, interface: 'lo0', index: lo0,
    scope: null, table: null, metric: null, flags: ['UP', 'STATIC', 'HOST'], mtu: null, origin: 'tunnel',
  };
  try {
    await backend.addRoute(route);
    await assert.rejects(backend.addRoute(route), (e: NodeJS.ErrnoException) => e.code === 'EEXIST' && e.errno === 17 && e.syscall === 'write');
    const snap = await backend.snapshot();
    const ours = snap.routes.find((r) => r.destination === '198.51.100.77/32');
    assert.ok(ours?.tagged, 'carries RTF_PROTO1');
    await backend.deleteRoute(route);
    await assert.rejects(backend.deleteRoute(route), (e: NodeJS.ErrnoException) => e.code === 'ESRCH');
  } finally {
    await backend.deleteRoute(route).catch(() => {});
    backend.close();
  }
});

test('tunroute run (split mode) on a wireguard-go utun: scoped routes, removed on SIGTERM', async (t) => {
  if (!onMac) return t.skip('needs macOS');
  if (!isRoot) return t.skip('needs root');
  if (spawnSync('which', ['wireguard-go']).status !== 0) return t.skip('needs wireguard-go (brew install wireguard-go)');
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-mac-'));
  const nameFile = join(dir, 'wg0.name');
  const wg = spawn('wireguard-go', ['-f', 'utun'], { env: { ...process.env, WG_TUN_NAME_FILE: nameFile }, stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && !existsSync(nameFile); i++) await new Promise((r) => setTimeout(r, 100));
    const utun = readFileSync(nameFile, 'utf8').trim();
    spawnSync('ifconfig', [utun, 'inet', '10.254.77.2', '10.254.77.2', 'netmask', '255.255.255.255']);
    const before = spawnSync('netstat', ['-rn', '-f', 'inet'], { encoding: 'utf8' }).stdout;
    const profile = join(dir, 'split.yaml');
    writeFileSync(profile, `interface:\n  name: ${utun}\naddress: 10.254.77.2\nmode: split\ndaemon:\n  journal: ${join(dir, 'journal.json')}\n`);
    chmodSync(profile, 0o600);
    const daemon = spawn(process.execPath, [CLI, 'run', profile, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    daemon.stdout.on('data', (c: Buffer) => (log += c.toString()));
    for (let i = 0; i < 100 && !log.includes('"state":"installed"'); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(log, /"state":"installed"/);
    const during = spawnSync('netstat', ['-rn', '-f', 'inet'], { encoding: 'utf8' }).stdout;
    const scopedDefault = during.split('\n').find((l) => /^default\s/.test(l) && l.includes(utun));
    assert.ok(scopedDefault, `a default on ${utun}:\n${during}`);
    assert.match(scopedDefault, /I/, 'scoped (RTF_IFSCOPE)');
    daemon.kill('SIGTERM');
    const code = await new Promise((r) => daemon.once('exit', r));
    assert.equal(code, 0);
    const after = spawnSync('netstat', ['-rn', '-f', 'inet'], { encoding: 'utf8' }).stdout;
    const mine = (table: string) => table.split('\n').filter((l) => l.includes(utun) && !/^10\.254\.77\.2\s/.test(l)).join('\n');
    assert.equal(mine(after), mine(before), 'nothing of ours is left on the utun');
  } finally {
    wg.kill('SIGTERM');
  }
});
