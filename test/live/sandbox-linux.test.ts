// `tunroute sandbox` as a newcomer runs it: the whole lifecycle on the shipped example,
// exit 0 with the table restored; Ctrl-C in the middle removes everything; the host's own
// table is never touched; without root it says so (77).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { CLI } from '../helpers/daemon-process.js';
import { asNobody, cannotRunAsNobody } from '../helpers/nobody.js';
import { worldRequirements } from '../../daemon/sandbox/world.js';
import { adaptProfile, EXAMPLE_PROFILE } from '../../daemon/sandbox/tour.js';

const hostTable = (): string => ['-4', '-6'].map((f) => spawnSync('ip', [f, 'route', 'show', 'table', 'all'], { encoding: 'utf8' }).stdout + spawnSync('ip', [f, 'rule'], { encoding: 'utf8' }).stdout).join('--\n');

/** Namespaces and UAPI sockets of worlds made by process `pid`. */
function leftovers(pid: number): string[] {
  const ns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(`trw-${pid}-`)) : [];
  const sockets = existsSync('/var/run/wireguard') ? readdirSync('/var/run/wireguard').filter((s) => s.startsWith(`tw${pid.toString(36)}-`)) : [];
  return [...ns, ...sockets];
}

/** Running (a killed process whose parent is gone may stay a zombie until init reaps it). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

test('sandbox: the shipped example through the whole lifecycle, the table identical at the end, nothing left, the host untouched', async (t) => {
  const missing = worldRequirements();
  if (missing.length > 0) return t.skip(missing.join('; '));
  const host = hostTable();
  const child = spawn(process.execPath, [CLI, 'sandbox'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, out);
  const sections = [...out.matchAll(/^(\d)\. /gm)].map((m) => m[1]);
  assert.deepEqual(sections, ['1', '2', '3', '4', '5', '6']);
  assert.match(out, /^1\. The client's table before tunroute\n {4}default via 192\.168\.50\.1 dev eth0/m);
  // The example leaves the strategy to the platform: on Linux, policy routing.
  assert.match(out, /starting .*strategy=policy/);
  assert.match(out, /the table with tunroute running:\n {4}default dev tw[0-9a-z]+-\d+c table 51820 proto 232/);
  assert.match(out, /the table with tunroute running:\n(?: {4}.*\n)*? {4}default via 192\.168\.50\.1 dev eth0 \n/, "main's own default stays as it was");
  assert.match(out, /^ {4}rule 10000:\tfrom all lookup main suppress_prefixlength 0 proto 232$/m);
  assert.match(out, /^ {4}instance: sandbox$/m, 'its status');
  assert.match(out, /^ {6}peers \(1\) from \/var\/run\/wireguard\/tw[0-9a-z]+-\d+c\.sock:\n {8}peer \S+\n {10}endpoint: 198\.51\.100\.1:51820$/m, 'the peer read from wireguard-go (endpoints: auto)');
  assert.match(out, /ping 172\.16\.99\.2: answers; WireGuard sent [1-9]\d* and received [1-9]\d* bytes/);
  assert.match(out, /healed after \d+ ms/);
  assert.match(out, /INFO {2}state waiting for tw/);
  assert.match(out, /tunroute exited with status 0/);
  assert.match(out, /The table is identical to the one before tunroute started/);
  assert.match(out, /Sandbox removed\.\n$/);
  assert.deepEqual(leftovers(child.pid!), [], 'no namespace or socket left');
  assert.equal(hostTable(), host, "the host's own table is untouched");
});

test('sandbox: Ctrl-C while tunroute runs removes the world and the daemon in it', async (t) => {
  const missing = worldRequirements();
  if (missing.length > 0) return t.skip(missing.join('; '));
  const child = spawn(process.execPath, [CLI, 'sandbox'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const daemonPid = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^ {6}pid: (\d+),/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => reject(new Error(`sandbox ended early:\n${out}`)));
  });
  assert.ok(leftovers(child.pid!).length > 0, 'the world exists while it runs');
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
  assert.equal(code, 130, out);
  assert.deepEqual(leftovers(child.pid!), [], 'no namespace or socket left');
  // SIGKILL was sent as the world went; a process with threads takes a moment to finish dying.
  for (let i = 0; i < 100 && alive(daemonPid); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(alive(daemonPid), false, 'the daemon inside the world is gone with it');
});

test('sandbox: not root is exit 77 with the reason', (t) => {
  const why = cannotRunAsNobody();
  if (why) return t.skip(why);
  const r = asNobody(['sandbox']);
  assert.equal(r.status, 77, r.stderr);
  assert.match(r.stderr, /needs root/);
});

test('sandbox: the profile is pointed at the world and keeps everything else', () => {
  const { text, changes } = adaptProfile(readFileSync(EXAMPLE_PROFILE, 'utf8'), { device: 'tw1-0c', journal: '/tmp/j.json' });
  assert.match(text, /^name: sandbox$/m);
  assert.match(text, /^interface:\n {2}name: tw1-0c$/m);
  assert.match(text, /^endpoints: auto$/m, 'auto reads the world\'s wireguard-go');
  assert.match(text, /^ {2}journal: \/tmp\/j\.json$/m);
  assert.match(text, /^exclude:\n {2}- 192\.168\.1\.0\/24$/m, 'the example\'s excludes stay');
  assert.match(text, /^mtu: 1420/m);
  assert.deepEqual(changes.map((c) => c.split(':')[0]), ['name', 'interface', 'address', 'daemon.journal']);
  const split = adaptProfile('interface: {name: utun7}\nmode: split\nroutes: [10.0.0.0/8]\n', { device: 'tw1-0c', journal: '/tmp/j.json' });
  assert.match(split.text, /^routes:\n {2}- 10\.0\.0\.0\/8\n {2}- 172\.16\.99\.0\/24$/m, 'split mode gets a route to the target');
  const covered = adaptProfile('interface: {name: utun7}\nmode: split\nroutes: [auto, 172.16.0.0/12]\n', { device: 'tw1-0c', journal: '/tmp/j.json' });
  assert.doesNotMatch(covered.changes.join('\n'), /^routes/m, 'a route that covers the target is enough');
  const listed = adaptProfile('interface: {name: utun7}\nendpoints: [203.0.113.7]\n', { device: 'tw1-0c', journal: '/tmp/j.json' });
  assert.match(listed.text, /^endpoints:\n {2}- 198\.51\.100\.1:51820$/m, 'listed endpoints become the world\'s');
});
