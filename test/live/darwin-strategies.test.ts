// The three macOS strategies against the real kernel and the real configd, on a
// wireguard-go utun. Runs in the GitHub Actions macOS job (root); everywhere else each test
// skips and says why.
//
// A full tunnel takes the runner's default route. So that the runner keeps talking to
// GitHub meanwhile, every profile here excludes all of IPv4 except 10.0.0.0/8 (where the
// tunnel address lives) and multicast: those exclusions are more specific than any default
// and go via the physical gateway, so only 10/8 (beyond the LAN) and the default itself are
// ever in the tunnel, while the default, 224/4 and broadcast rows show the seed's shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const onMac = process.platform === 'darwin';
const isRoot = process.getuid?.() === 0;
const CLI = new URL('../../daemon/cli.js', import.meta.url).pathname;
const ADDRESS = '10.254.77.2';
const KEEP_RUNNER_ONLINE = ['0.0.0.0/5', '8.0.0.0/7', '11.0.0.0/8', '12.0.0.0/6', '16.0.0.0/4', '32.0.0.0/3', '64.0.0.0/2', '128.0.0.0/2', '192.0.0.0/3'];

function skipReason(): string | null {
  if (!onMac) return 'needs macOS';
  if (!isRoot) return 'needs root';
  if (spawnSync('which', ['wireguard-go']).status !== 0) return 'needs wireguard-go (brew install wireguard-go)';
  // Alone, so no other live test sees the default route move: CI's own step sets this.
  if (process.env.TUNROUTE_LIVE_STRATEGIES !== '1') return 'takes the default route: runs in its own step with TUNROUTE_LIVE_STRATEGIES=1';
  return null;
}

interface Row {
  destination: string;
  gateway: string;
  flags: string;
  netif: string;
}

function netstat(): Row[] {
  const out = spawnSync('netstat', ['-rn', '-f', 'inet'], { encoding: 'utf8' }).stdout;
  return out.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 4 && /^[0-9d]/.test(f[0]!)).map((f) => ({ destination: f[0]!, gateway: f[1]!, flags: f[2]!, netif: f[3]! }));
}

/** `scutil`'s view of a dynamic-store key: its dictionary as text, or null when absent. */
function scutilShow(key: string): string | null {
  const out = spawnSync('scutil', [], { input: `show ${key}\n`, encoding: 'utf8' }).stdout;
  return /No such key/.test(out) ? null : out;
}

async function until(pred: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${spawnSync('netstat', ['-rn', '-f', 'inet'], { encoding: 'utf8' }).stdout}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Run {
  utun: string;
  daemon: ChildProcess;
  log: () => string;
  stop(signal: NodeJS.Signals): Promise<number | null>;
  cleanup(): void;
}

/** wireguard-go on a fresh utun with the test address, then `tunroute run` on `body`. */
async function startRun(name: string, body: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-mac-'));
  const nameFile = join(dir, 'wg0.name');
  const wg = spawn('wireguard-go', ['-f', 'utun'], { env: { ...process.env, WG_TUN_NAME_FILE: nameFile }, stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(nameFile); i++) await new Promise((r) => setTimeout(r, 100));
  const utun = readFileSync(nameFile, 'utf8').trim();
  spawnSync('ifconfig', [utun, 'inet', ADDRESS, ADDRESS, 'netmask', '255.255.255.255']);
  const profile = join(dir, `${name}.yaml`);
  const exclude = KEEP_RUNNER_ONLINE.map((p) => `  - ${p}\n`).join('');
  writeFileSync(profile, `interface:\n  name: ${utun}\naddress: ${ADDRESS}\nexclude:\n${exclude}${body}daemon:\n  journal: ${join(dir, 'journal.json')}\n`);
  chmodSync(profile, 0o600);
  const daemon = spawn(process.execPath, [CLI, 'run', profile, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  daemon.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  daemon.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
  return {
    utun,
    daemon,
    log: () => log,
    async stop(signal) {
      daemon.kill(signal);
      return exited;
    },
    cleanup() {
      if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
      wg.kill('SIGTERM');
    },
  };
}

const on = (rows: Row[], netif: string, destination: string): Row[] => rows.filter((r) => r.netif === netif && r.destination === destination);
const physicalUnscopedDefault = (rows: Row[], utun: string): boolean => rows.some((r) => r.destination === 'default' && r.netif !== utun && !r.flags.includes('I'));

test('system, full tunnel: configd builds the seed table from the published service; SIGTERM gives the default back', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const run = await startRun('live-system', '');
  try {
    await until(() => run.log().includes('"state":"installed"'), 'the daemon installed');
    await until(() => on(netstat(), run.utun, 'default').some((r) => !r.flags.includes('I')), `an unscoped default on ${run.utun}`);
    const rows = netstat();
    assert.match(on(rows, run.utun, 'default')[0]!.flags, /^UCSg$/, 'default link#N UCSg');
    assert.match(on(rows, run.utun, '224.0.0/4')[0]?.flags ?? '', /^UmCS$/);
    assert.match(on(rows, run.utun, '255.255.255.255/32')[0]?.flags ?? '', /^UCS$/);
    assert.ok(!physicalUnscopedDefault(rows, run.utun), 'the physical default is scoped now');
    assert.ok(rows.some((r) => r.destination === 'default' && r.netif !== run.utun && r.flags.includes('I')), 'and still there, scoped');
    assert.ok(!rows.some((r) => r.flags.includes('1')), 'tunroute wrote no route itself');
    const ipv4 = scutilShow('State:/Network/Service/org.tunroute.live-system/IPv4');
    assert.ok(ipv4 && /OverridePrimary : 1/.test(ipv4) && ipv4.includes(run.utun), ipv4 ?? 'no key');
    assert.match(scutilShow('State:/Network/Global/IPv4') ?? '', /PrimaryService : org\.tunroute\.live-system/);

    assert.equal(await run.stop('SIGTERM'), 0, run.log());
    assert.equal(scutilShow('State:/Network/Service/org.tunroute.live-system/IPv4'), null);
    await until(() => physicalUnscopedDefault(netstat(), run.utun), 'the physical default unscoped again');
    assert.deepEqual(netstat().filter((r) => r.netif === run.utun && r.destination !== ADDRESS), [], 'nothing left on the utun');
  } finally {
    run.cleanup();
  }
});

test('system: SIGKILL leaves nothing behind; configd drops the service and the routes within seconds', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const run = await startRun('live-kill', '');
  try {
    await until(() => on(netstat(), run.utun, 'default').some((r) => !r.flags.includes('I')), `an unscoped default on ${run.utun}`);
    assert.ok(scutilShow('State:/Network/Service/org.tunroute.live-kill/IPv4'));
    run.daemon.kill('SIGKILL');
    await until(() => scutilShow('State:/Network/Service/org.tunroute.live-kill/IPv4') === null, 'the service key gone', 5000);
    await until(() => physicalUnscopedDefault(netstat(), run.utun) && !netstat().some((r) => r.netif === run.utun && r.destination !== ADDRESS), 'the routes gone', 5000);
  } finally {
    run.cleanup();
  }
});

test('system, split mode: the scoped seed table (UCSIg, UmCSI, UCSI); the physical default stays primary', async (t) => {
  const why = skipReason();
  if (why) return t.skip(why);
  const run = await startRun('live-split', 'mode: split\nroutes:\n  - 10.254.78.0/24\n');
  try {
    await until(() => on(netstat(), run.utun, 'default').length > 0, `a default on ${run.utun}`);
    const rows = netstat();
    assert.match(on(rows, run.utun, 'default')[0]!.flags, /^UCSIg?$/);
    assert.match(on(rows, run.utun, '224.0.0/4')[0]?.flags ?? '', /^UmCSI$/);
    assert.match(on(rows, run.utun, '255.255.255.255/32')[0]?.flags ?? '', /^UCSI$/);
    assert.ok(rows.some((r) => r.netif === run.utun && r.destination.startsWith('10.254.78')), 'the listed route');
    assert.ok(physicalUnscopedDefault(rows, run.utun));
    assert.match(scutilShow('State:/Network/Service/org.tunroute.live-split') ?? '', /PrimaryRank : Never/);
    assert.equal(await run.stop('SIGTERM'), 0, run.log());
  } finally {
    run.cleanup();
  }
});

for (const strategy of ['replace', 'split-default'] as const) {
  test(`${strategy}, full tunnel: tunroute writes the routes itself (tagged), SIGTERM restores the table`, async (t) => {
    const why = skipReason();
    if (why) return t.skip(why);
    const before = netstat().filter((r) => !/^10\.254\./.test(r.destination));
    const run = await startRun(`live-${strategy}`, `fullTunnel:\n  strategy: ${strategy}\n`);
    try {
      await until(() => run.log().includes('"state":"installed"'), 'the daemon installed');
      const rows = netstat();
      if (strategy === 'replace') {
        assert.match(on(rows, run.utun, 'default')[0]?.flags ?? '', /^UCS1?g?$/, 'the unscoped tunnel default');
        assert.ok(!physicalUnscopedDefault(rows, run.utun), 'the physical default moved aside');
      } else {
        assert.ok(on(rows, run.utun, '0/1').length === 1 && on(rows, run.utun, '128.0/1').length === 1, '0/1 and 128/1 through the tunnel');
        assert.ok(physicalUnscopedDefault(rows, run.utun), 'the physical default untouched');
      }
      assert.ok(rows.some((r) => r.netif === run.utun && r.flags.includes('1')), 'tagged routes');
      assert.equal(await run.stop('SIGTERM'), 0, run.log());
      await until(() => physicalUnscopedDefault(netstat(), run.utun), 'the physical default back');
      const after = netstat().filter((r) => !/^10\.254\./.test(r.destination));
      const mine = (rows: Row[]) => rows.filter((r) => r.netif === run.utun || r.flags.includes('1')).map((r) => `${r.destination} ${r.flags} ${r.netif}`);
      assert.deepEqual(mine(after), mine(before), 'nothing of ours is left');
    } finally {
      run.cleanup();
    }
  });
}
