// What a user meets first: the npm tarball's contents, and every command's usage errors
// (exit 2, a short message pointing at --help) and --help (its options listed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const ROOT = new URL('../../../', import.meta.url).pathname;
const CLI = new URL('../../daemon/cli.js', import.meta.url).pathname;
const COMMANDS = ['run', 'check', 'plan', 'status', 'restore', 'decode', 'monitor', 'install-service', 'uninstall-service'];

function tunroute(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('npm pack ships the installer, unit, plist, newsyslog source, examples with their schema, LICENSE and metadata; no source maps', (t) => {
  const npm = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  if (npm.error) return t.skip(`needs npm: ${npm.error.message}`);
  assert.equal(npm.status, 0, npm.stderr);
  const files = new Set((JSON.parse(npm.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
  for (const path of [
    'LICENSE',
    'README.md',
    'package.json',
    'dist/daemon/cli.js',
    'dist/daemon/commands/install-service.js',
    'dist/daemon/commands/uninstall-service.js',
    'dist/daemon/commands/status.js',
    'dist/daemon/service/service.js', // renders the newsyslog.d entry
    'systemd/tunroute@.service',
    'launchd/org.tunroute.plist',
    'config/full-tunnel.yaml',
    'config/split-tunnel.yaml',
    'config/profile.schema.json',
    'native/binding.gyp',
  ]) {
    assert.ok(files.has(path), `${path} is in the tarball`);
  }
  assert.deepEqual([...files].filter((f) => f.endsWith('.map')), [], 'maps would point at sources that are not shipped');
  assert.deepEqual([...files].filter((f) => f.startsWith('dist/test') || f.startsWith('test/') || f.endsWith('.ts')), [], 'no tests or sources');

  const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as Record<string, unknown>;
  assert.equal(pkg.license, 'MIT');
  assert.match(readFileSync(`${ROOT}/LICENSE`, 'utf8'), /^MIT License/);
  for (const key of ['repository', 'homepage', 'bugs']) assert.ok(pkg[key], `package.json has ${key}`);
});

test('the example profiles use the platform default journal and name the schema shipped beside them', () => {
  for (const example of ['full-tunnel.yaml', 'split-tunnel.yaml']) {
    const text = readFileSync(`${ROOT}/config/${example}`, 'utf8');
    assert.match(text, /^# yaml-language-server: \$schema=\.\/profile\.schema\.json$/m);
    assert.doesNotMatch(text.replace(/#.*$/gm, ''), /journal:/, `${example} sets no journal path`);
  }
});

test('every command: an unknown option or a missing value is a usage error (exit 2) pointing at --help', () => {
  for (const command of COMMANDS) {
    const bogus = tunroute([command, '--bogus']);
    assert.equal(bogus.status, 2, `${command}: ${bogus.stderr}`);
    assert.equal(bogus.stderr, `tunroute ${command}: unknown option --bogus (see tunroute ${command} --help)\n`);
  }
  const missing = tunroute(['run', 'x.yaml', '--log-level']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /option --log-level needs a value/);
  assert.equal(tunroute(['monitor', '--json=yes']).status, 2);
  assert.equal(tunroute(['restore', 'a', 'b']).status, 2);
  // A wrong number of arguments reads like the rest: one line, one pointer to --help.
  for (const args of [['run'], ['status', 'a', 'b'], ['install-service'], ['uninstall-service']]) {
    const r = tunroute(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^tunroute ${args[0]}: [^\n(]+ \\(see tunroute ${args[0]} --help\\)\n$`), args.join(' '));
  }
});

test('every command: --help prints its usage and describes every option its usage line names', () => {
  for (const command of COMMANDS) {
    const help = tunroute([command, '--help']);
    assert.equal(help.status, 0, command);
    assert.match(help.stdout, new RegExp(`^usage: tunroute ${command}\\b`));
    const [usage, ...rest] = help.stdout.split('\n\n');
    const described = rest.join('\n\n');
    for (const option of new Set(usage!.match(/--[a-z0-9-]+/g) ?? [])) {
      assert.match(described, new RegExp(`^ +${option}\\b`, 'm'), `${command} --help describes ${option}`);
    }
  }
});
