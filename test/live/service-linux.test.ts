// install-service / uninstall-service for systemd, into a temporary root: the root-owned
// copy of the package (which then runs), the profile, the unit (checked by
// systemd-analyze verify), the boot-time link made by systemctl --root, idempotence,
// shared unit and package across instances, --purge, --dry-run, and an untrusted prefix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CLI, DaemonProcess, writeProfile } from '../helpers/daemon-process.js';
import { isLinux, isRoot, withNetns } from '../helpers/netns.js';
import { asNobody, cannotRunAsNobody } from '../helpers/nobody.js';
import { DAEMON_NODE_FLAGS } from '../../daemon/service/node-flags.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
const COPY = `/usr/local/lib/tunroute/${pkg.version}`;

function tunroute(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function profileFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-src-'));
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `# yaml-language-server: $schema=./profile.schema.json\ninterface:\n  name: wg-${name}\naddress: 10.10.10.2\n`);
  return path;
}

/** Every file under `dir`, relative. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return lstatSync(p).isDirectory() ? walk(p, base) : [p.slice(base.length + 1)];
  });
}

const hasCommand = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

test('install-service (systemd) into a temporary root, twice, then uninstall instance by instance', async (t) => {
  if (!isLinux || !isRoot) return t.skip('needs root on Linux (installs root-owned files)');
  if (!hasCommand('systemctl')) return t.skip('needs systemctl (systemctl --root enable)');
  const root = mkdtempSync(join(tmpdir(), 'tunroute-root-'));
  const office = profileFile('office');

  const first = tunroute(['install-service', '--root', root, office]);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /copy the package .* to \/usr\/local\/lib\/tunroute\//);
  assert.match(first.stdout, /installed tunroute@office\.service/);

  // The copy: root's alone, complete enough to run, without sources, maps or dev dependencies.
  const copy = join(root, COPY);
  for (const p of [copy, join(copy, 'dist/daemon/cli.js'), join(copy, 'node_modules/pino/package.json')]) {
    const st = statSync(p);
    assert.equal(st.uid, 0, p);
    assert.equal(st.mode & 0o022, 0, `${p} is not writable by group or others`);
  }
  const files = walk(copy);
  assert.ok(files.includes('native/build/Release/tunroute_native.node'));
  assert.ok(files.includes('systemd/tunroute@.service'));
  assert.equal(files.filter((f) => f.endsWith('.map') || f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.includes('node_modules')).length, 0, 'no maps or sources');
  assert.equal(existsSync(join(copy, 'node_modules/typescript')), false, 'no dev dependencies');
  assert.equal(existsSync(join(copy, 'dist/test')), false, 'no tests');
  const runs = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(join(copy, 'dist/native/index.js'))}); console.log(m.loadNative().platform)`], { encoding: 'utf8' });
  assert.equal(runs.stdout.trim(), 'linux', `the copy loads its addon: ${runs.stderr}`);
  const check = spawnSync(process.execPath, [join(copy, 'dist/daemon/cli.js'), 'check', join(root, '/etc/tunroute/office.yaml')], { encoding: 'utf8' });
  assert.equal(check.status, 0, `the copy runs, with its dependencies: ${check.stderr}`);

  // The profile, root-owned 0600, with the schema its modeline names beside it.
  const installed = join(root, '/etc/tunroute/office.yaml');
  assert.equal(statSync(installed).mode & 0o777, 0o600);
  assert.equal(statSync(installed).uid, 0);
  assert.equal(readFileSync(installed, 'utf8'), readFileSync(office, 'utf8'));
  assert.ok(JSON.parse(readFileSync(join(root, '/etc/tunroute/profile.schema.json'), 'utf8')).$schema);

  // The unit: the real node binary and the copy, and systemctl --root's boot-time link.
  const unitPath = join(root, '/etc/systemd/system/tunroute@.service');
  const unit = readFileSync(unitPath, 'utf8');
  assert.match(unit, new RegExp(`^ExecStart=${realpathSync(process.execPath)} ${DAEMON_NODE_FLAGS.join(' ')} ${COPY}/dist/daemon/cli\\.js run --log-format journal /etc/tunroute/%i\\.yaml$`, 'm'));
  assert.doesNotMatch(unit, /@[A-Z]+@/, 'every placeholder filled');
  assert.equal(readlinkSync(join(root, '/etc/systemd/system/multi-user.target.wants/tunroute@office.service')), '/etc/systemd/system/tunroute@.service');

  await t.test('systemd-analyze verify accepts the installed unit', (t) => {
    if (!hasCommand('systemd-analyze')) return t.skip('needs systemd-analyze');
    const verify = spawnSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '', 'no warnings');
  });

  // Again: same result, and the unchanged profile is not rewritten.
  const inode = statSync(installed).ino;
  const again = tunroute(['install-service', '--root', root, office]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(statSync(installed).ino, inode, 'unchanged profile left alone');
  assert.equal(readFileSync(unitPath, 'utf8'), unit);

  // A second instance shares the unit and the copy.
  const home = profileFile('home');
  assert.equal(tunroute(['install-service', '--root', root, home]).status, 0);
  const removeOffice = tunroute(['uninstall-service', '--root', root, 'office']);
  assert.equal(removeOffice.status, 0, removeOffice.stderr);
  assert.match(removeOffice.stdout, /keep \/etc\/systemd\/system\/tunroute@\.service and the installed package: tunroute@home\.service still use/);
  assert.equal(existsSync(join(root, '/etc/systemd/system/multi-user.target.wants/tunroute@office.service')), false);
  assert.ok(existsSync(unitPath) && existsSync(copy));
  assert.ok(existsSync(installed), 'the profile is kept without --purge');

  const lock = join(root, '/var/lib/tunroute/home.journal.json.lock');
  mkdirSync(dirname(lock), { recursive: true });
  writeFileSync(lock, '4242\n'); // what a stopped instance leaves: its flock file
  const removeHome = tunroute(['uninstall-service', '--root', root, '--purge', 'home']);
  assert.equal(removeHome.status, 0, removeHome.stderr);
  assert.equal(existsSync(unitPath), false, 'the last instance takes the unit');
  assert.equal(existsSync(copy), false, '...and the copy');
  assert.equal(existsSync(join(root, '/etc/tunroute/home.yaml')), false, '--purge takes the profile');
  assert.equal(existsSync(lock), false, '...and the instance lock');
  assert.ok(existsSync(installed), 'but not another profile');
  assert.ok(existsSync(join(root, '/etc/tunroute/profile.schema.json')), 'whose schema stays');

  const twice = tunroute(['uninstall-service', '--root', root, 'home']);
  assert.equal(twice.status, 0, twice.stderr);
  assert.match(twice.stdout, /nothing to stop/);
});

test('uninstall-service --purge keeps a journal that still lists moved routes', async (t) => {
  if (!isLinux || !isRoot) return t.skip('needs root on Linux (installs root-owned files)');
  if (!hasCommand('systemctl')) return t.skip('needs systemctl (systemctl --root enable)');
  const root = mkdtempSync(join(tmpdir(), 'tunroute-root-'));
  assert.equal(tunroute(['install-service', '--root', root, profileFile('left')]).status, 0);
  mkdirSync(join(root, '/var/lib/tunroute'), { recursive: true });
  writeFileSync(join(root, '/var/lib/tunroute/left.journal.json'), '{"moved":[]}');
  const r = tunroute(['uninstall-service', '--root', root, '--purge', 'left']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /still lists routes moved aside.*tunroute restore/);
  assert.ok(existsSync(join(root, '/var/lib/tunroute/left.journal.json')));
});

test('install-service --dry-run changes nothing; an untrusted prefix is refused', (t) => {
  if (!isLinux || !isRoot) return t.skip('needs root on Linux');
  const root = mkdtempSync(join(tmpdir(), 'tunroute-root-'));
  const office = profileFile('office');
  const dry = tunroute(['install-service', '--dry-run', '--root', root, office]);
  assert.equal(dry.status, 0, dry.stderr);
  assert.deepEqual(
    dry.stdout.trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' ')),
    ['would copy', 'would write', 'would write', 'would write', 'would run'],
  );
  assert.deepEqual(readdirSync(root), [], 'nothing written');

  mkdirSync(join(root, 'usr/local'), { recursive: true });
  chmodSync(join(root, 'usr'), 0o777);
  const open = tunroute(['install-service', '--root', root, office]);
  assert.equal(open.status, 1);
  assert.match(open.stderr, /\/usr is writable by group or others/);

  // A node binary someone else could replace (a version manager's copy in a home folder).
  const userNode = join(mkdtempSync(join(tmpdir(), 'tunroute-node-')), 'node');
  copyFileSync(process.execPath, userNode);
  chownSync(userNode, 65534, 65534);
  const shim = tunroute(['install-service', '--root', mkdtempSync(join(tmpdir(), 'tunroute-root-')), '--node', userNode, office]);
  assert.equal(shim.status, 1);
  assert.match(shim.stderr, /node is owned by uid 65534, not root.*pass it with --node/);

});

test('install-service and uninstall-service: not root is exit 77', (t) => {
  const why = cannotRunAsNobody();
  if (why) return t.skip(why);
  for (const command of ['install-service', 'uninstall-service']) {
    const r = asNobody([command, 'office']);
    assert.equal(r.status, 77, r.stderr);
    assert.match(r.stderr, /needs root/);
  }
});

test('the daemon needs no capability but CAP_NET_ADMIN (the unit\'s CapabilityBoundingSet): installs, serves status, restores', async (t) => {
  if (!isLinux || !isRoot) return t.skip('needs root on Linux (network namespaces)');
  if (!hasCommand('setpriv')) return t.skip('needs setpriv (util-linux) to drop capabilities');
  await withNetns('caps', async (ns) => {
    ns.addMachine();
    const table = (): string => [ns.ip('-4', 'route', 'show', 'table', 'all'), ns.ip('-6', 'route', 'show', 'table', 'all'), ns.ip('rule')].join('--\n');
    const before = table();
    const { dir, path } = writeProfile((dir) => `name: caps\ninterface: {name: tun0}\naddress: 10.10.10.2\nfullTunnel: {strategy: replace}\ndaemon:\n  journal: ${join(dir, 'caps.journal.json')}\n`);
    // Root, but with every capability except CAP_NET_ADMIN gone from the bounding set, as under the unit.
    const dropped = { spawn: (cmd: string, args: string[]) => ns.spawn('setpriv', ['--bounding-set', '-all,+net_admin', '--inh-caps', '-all', '--reuid', '0', cmd, ...args]) };
    const d = new DaemonProcess(dropped, ['run', path]);
    await d.waitForState('installed');
    const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${d.child.pid}/status`, 'utf8'))?.[1];
    assert.equal(BigInt(`0x${capEff}`), 1n << 12n, 'CAP_NET_ADMIN (12) and nothing else');
    assert.match(ns.ip('route', 'show'), /^default dev tun0 proto 232/m);
    assert.ok(existsSync(join(dir, 'caps.journal.json')), 'the journal is written');
    const st = tunroute(['status', '--json', '--run-dir', d.runDir, 'caps']);
    assert.equal(st.status, 0, st.stderr);
    assert.equal((JSON.parse(st.stdout) as { state: string }).state, 'installed');
    d.signal('SIGTERM');
    assert.equal(await d.exited, 0);
    assert.equal(table(), before);
  });
});
