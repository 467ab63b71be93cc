// install-service / uninstall-service for launchd, checked where it can be off a Mac:
// --dry-run (the steps, in order), the plist's escaping, the newsyslog entry, and (as root)
// the files written under --root. The Mac CI job lints the plist with plutil when present.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { plistEscape, renderNewsyslog, renderPlist } from '../../daemon/service/service.js';
import { DAEMON_NODE_FLAGS } from '../../daemon/service/node-flags.js';

const CLI = new URL('../../daemon/cli.js', import.meta.url).pathname;
const TEMPLATE = readFileSync(new URL('../../../launchd/org.tunroute.plist', import.meta.url), 'utf8');
const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
const isRoot = process.getuid?.() === 0;

function tunroute(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function profileFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-src-'));
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, 'interface:\n  name: utun7\naddress: 10.10.10.2\n');
  return path;
}

/** The <string> values of a plist, unescaped the way a plist reader does. */
function plistStrings(xml: string): string[] {
  const body = xml.replace(/<!--[\s\S]*?-->/g, '');
  return [...body.matchAll(/<string>([^<]*)<\/string>/g)].map((m) => (m[1] as string).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&'));
}

test('plist values are escaped: paths with &, <, quotes and spaces come back exactly', () => {
  const odd = `/Volumes/A & B/<x> "q" 'a'/node`;
  const xml = renderPlist(TEMPLATE, { label: 'org.tunroute.office', node: odd, cli: '/opt/t & t/dist/daemon/cli.js', profile: '/usr/local/etc/tunroute/office.yaml', log: '/var/log/tunroute/office.log', stderrLog: '/var/log/tunroute/office.stderr.log' });
  assert.doesNotMatch(xml, /@[A-Z_]+@/, 'every placeholder filled');
  assert.doesNotMatch(xml.replace(/<!--[\s\S]*?-->/g, ''), /&(?!amp;|lt;|gt;|quot;|apos;)/, 'no bare &');
  const strings = plistStrings(xml);
  assert.deepEqual(strings.slice(0, 7 + DAEMON_NODE_FLAGS.length), ['org.tunroute.office', odd, ...DAEMON_NODE_FLAGS, '/opt/t & t/dist/daemon/cli.js', 'run', '--log-file', '/var/log/tunroute/office.log', '/usr/local/etc/tunroute/office.yaml']);
  assert.match(xml, /<key>TUNROUTE_LAUNCHD_LABEL<\/key>\s*<string>org\.tunroute\.office<\/string>/, 'the daemon knows its job, for the unclean-stop marker');
  assert.equal(plistEscape('a&b<c>'), 'a&amp;b&lt;c&gt;');
  if (spawnSync('sh', ['-c', 'command -v plutil']).status === 0) {
    // On the Mac CI job: Apple's own parser agrees.
    const file = join(mkdtempSync(join(tmpdir(), 'tunroute-plist-')), 'org.tunroute.office.plist');
    writeFileSync(file, xml);
    const lint = spawnSync('plutil', ['-lint', file], { encoding: 'utf8' });
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
    const json = spawnSync('plutil', ['-convert', 'json', '-o', '-', file], { encoding: 'utf8' });
    assert.equal((JSON.parse(json.stdout) as { ProgramArguments: string[] }).ProgramArguments[0], odd);
  }
});

test('the newsyslog entry rotates the log and signals the daemon (SIGUSR2 = 31) through its pid file', () => {
  const lines = renderNewsyslog('office').split('\n').filter((l) => l && !l.startsWith('#'));
  assert.deepEqual(lines[0]?.split(/\s+/), ['/var/log/tunroute/office.log', 'root:wheel', '640', '7', '1024', '*', 'J', '/var/run/tunroute/office.pid', '31']);
  assert.deepEqual(lines[1]?.split(/\s+/), ['/var/log/tunroute/office.stderr.log', 'root:wheel', '640', '3', '1024', '*', 'JN']);
});

test('install-service --os darwin --dry-run: copy, profile, schema, newsyslog, plist, bootout and wait, enable, bootstrap', () => {
  const r = tunroute(['install-service', '--os', 'darwin', '--dry-run', profileFile('office')]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const expected = [
    new RegExp(`^would copy the package .* to /usr/local/lib/tunroute/${pkg.version.replace(/\./g, '\\.')} \\(root-owned`),
    /^would write \/usr\/local\/etc\/tunroute\/office\.yaml \(the profile, .*, root, 0600\)/,
    /^would write \/usr\/local\/etc\/tunroute\/profile\.schema\.json /,
    /^would write \/etc\/newsyslog\.d\/org\.tunroute\.office\.conf /,
    /^would write \/Library\/LaunchDaemons\/org\.tunroute\.office\.plist \(the LaunchDaemon org\.tunroute\.office, root, 0644\)/,
    /^would run launchctl bootout system\/org\.tunroute\.office, and wait until it has exited/,
    /^would remove \/var\/run\/tunroute\/org\.tunroute\.office\.stopped \(the marker of an unclean stop, if any\)/,
    /^would run launchctl enable system\/org\.tunroute\.office /,
    /^would run launchctl bootstrap system \/Library\/LaunchDaemons\/org\.tunroute\.office\.plist /,
  ];
  assert.equal(lines.length, expected.length, r.stdout);
  expected.forEach((re, i) => assert.match(lines[i] as string, re));

  const remove = tunroute(['uninstall-service', '--os', 'darwin', '--dry-run', 'office']);
  assert.equal(remove.status, 0, remove.stderr);
  assert.match(remove.stdout, /^would run launchctl bootout system\/org\.tunroute\.office, and wait/m);
  assert.match(remove.stdout, /^would remove \/Library\/LaunchDaemons\/org\.tunroute\.office\.plist/m);
  assert.match(remove.stdout, /^would remove \/etc\/newsyslog\.d\/org\.tunroute\.office\.conf/m);
});

test('install-service --os darwin --root: the plist runs the real node and the copy, under a prefix with & and spaces', (t) => {
  if (!isRoot) return t.skip('needs root (writes root-owned files)');
  const root = mkdtempSync(join(tmpdir(), 'tunroute-root-'));
  const prefix = '/opt/tun & route';
  const r = tunroute(['install-service', '--os', 'darwin', '--root', root, '--prefix', prefix, profileFile('office')]);
  assert.equal(r.status, 0, r.stderr);
  const plistFile = join(root, '/Library/LaunchDaemons/org.tunroute.office.plist');
  assert.equal(statSync(plistFile).mode & 0o777, 0o644);
  const xml = readFileSync(plistFile, 'utf8');
  const all = plistStrings(xml);
  assert.deepEqual(all.slice(2, 2 + DAEMON_NODE_FLAGS.length), DAEMON_NODE_FLAGS, 'node runs with the daemon\'s V8 flags');
  const strings = [...all.slice(0, 2), ...all.slice(2 + DAEMON_NODE_FLAGS.length)];
  assert.equal(strings[0], 'org.tunroute.office');
  assert.equal(strings[1], realpathSync(process.execPath), 'the real node binary, not a shim');
  assert.equal(strings[2], `${prefix}/${pkg.version}/dist/daemon/cli.js`);
  assert.ok(existsSync(join(root, prefix, pkg.version, 'dist/daemon/cli.js')), 'the copy is where the plist points');
  assert.equal(strings[6], '/usr/local/etc/tunroute/office.yaml');
  assert.ok(existsSync(join(root, '/etc/newsyslog.d/org.tunroute.office.conf')));
  if (spawnSync('sh', ['-c', 'command -v plutil']).status === 0) {
    const lint = spawnSync('plutil', ['-lint', plistFile], { encoding: 'utf8' });
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
  }

  const remove = tunroute(['uninstall-service', '--os', 'darwin', '--root', root, '--prefix', prefix, 'office']);
  assert.equal(remove.status, 0, remove.stderr);
  assert.equal(existsSync(plistFile), false);
  assert.equal(existsSync(join(root, prefix, pkg.version)), false, 'the copy is removed with its last user');
  assert.ok(existsSync(join(root, '/usr/local/etc/tunroute/office.yaml')), 'the profile stays without --purge');
});
