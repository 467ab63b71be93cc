// `check` and `plan` with endpoints: auto, routes: auto and host names, as a user runs them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = new URL('../../daemon/cli.js', import.meta.url).pathname;

function tunroute(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(text: string, name = 'wg.yaml'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tunroute-peers-cli-')), name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

const DARWIN_FACTS = ['--os', 'darwin', '--index', '36', '--address', '10.10.10.2', '--gateway', '192.168.1.1', '--gateway-interface', 'en0', '--gateway-index', '4'];

test('check: auto and host names are summarised; full mode with no endpoint warns on stderr and still exits 0', () => {
  const auto = tunroute(['check', '--os', 'darwin', file('interface: {name: utun7}\nendpoints: [auto, vpn.example.com:51820]\n')]);
  assert.equal(auto.status, 0, auto.stderr);
  assert.match(auto.stdout, /endpoints: the peers' own \+ 1 by host name/);
  assert.equal(auto.stderr, '');

  const split = tunroute(['check', '--os', 'linux', file('interface: {name: wg0}\nmode: split\nroutes: auto\nendpoints: auto\n')]);
  assert.equal(split.status, 0, split.stderr);
  assert.match(split.stdout, /routes: the peers' allowed IPs/);

  const none = tunroute(['check', '--os', 'darwin', file('interface: {name: utun7}\nmode: full\n', 'bare.yaml')]);
  assert.equal(none.status, 0);
  assert.match(none.stderr, /^.*bare\.yaml:2:7 mode: warning: full mode with no endpoints: the tunnel may carry its own packets .* expected endpoints: auto or the peers' addresses\n$/);
  const defaulted = tunroute(['check', '--os', 'darwin', file('interface: {name: utun7}\n', 'implicit.yaml')]);
  assert.match(defaulted.stderr, /implicit\.yaml:1:1 \(profile\): warning: full mode \(the default\) with no endpoints/);
});

test('plan: --endpoint and --allowed-ip stand in for the socket', () => {
  const split = file('interface: {name: utun7}\naddress: 10.10.10.2\nmode: split\nroutes: [auto, 10.50.0.0/16]\nendpoints: auto\n');
  const r = tunroute(['plan', split, ...DARWIN_FACTS, '--endpoint', '198.51.100.1:51820', '--endpoint', '[2001:db8::1]:51820', '--allowed-ip', '10.20.0.0/24', '--allowed-ip', '0.0.0.0/0', '--allowed-ip', '10.50.0.0/16']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Peers \(from flags\):\n  peer --endpoint 198\.51\.100\.1:51820  endpoint 198\.51\.100\.1:51820  allowed IPs \(none\)/);
  assert.match(r.stdout, /^198\.51\.100\.1 +192\.168\.1\.1 +UGHS +en0 +endpoint$/m);
  assert.match(r.stdout, /^10\.20\/24 +link#36 +UCS +utun7 +tunnel$/m);
  assert.equal((r.stdout.match(/^10\.50\/16 /gm) ?? []).length, 1, 'a listed route that is also allowed is planned once');
  assert.match(r.stdout, /allows 0\.0\.0\.0\/0, the whole IPv4 internet: split mode refuses it, expected mode: full/);
  assert.doesNotMatch(r.stdout, /^2001:db8::1 /m, 'IPv6 endpoints need ipv6 on');

  const json = tunroute(['plan', split, ...DARWIN_FACTS, '--allowed-ip', '10.20.0.0/24', '--json']);
  const parsed = JSON.parse(json.stdout) as { peers: { source: string; peers: Array<{ allowedIps: string[] }> }; routes: Array<{ destination: string; origin: string }> };
  assert.equal(parsed.peers.source, 'flags');
  assert.ok(parsed.routes.some((x) => x.destination === '10.20.0.0/24' && x.origin === 'tunnel'));

  const bad = tunroute(['plan', split, ...DARWIN_FACTS, '--allowed-ip', '10.20.0.1/24']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--allowed-ip must be a prefix such as 10\.0\.0\.0\/8 \(host bits clear\), not "10\.20\.0\.1\/24"/);
});

test('plan: without flags, the reason the peers could not be read is shown', () => {
  const full = file('interface: {name: utun7}\naddress: 10.10.10.2\nendpoints: auto\n');
  const other = process.platform === 'darwin' ? 'linux' : 'darwin';
  const facts = other === 'darwin' ? DARWIN_FACTS : ['--os', 'linux', '--interface', 'wg0', '--index', '5', '--address', '10.10.10.2', '--gateway', '192.168.1.1', '--gateway-interface', 'eth0', '--gateway-index', '2'];
  const r = tunroute(['plan', other === 'linux' ? file('interface: {name: wg0}\naddress: 10.10.10.2\nendpoints: auto\n') : full, ...facts]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Peers: not read \\(planning for ${other} on ${process.platform}: pass the peers as --endpoint`));
  assert.match(r.stdout, /Warnings:\n(.*\n)*  - cannot read the tunnel's peers \(planning for/);
});

test('plan on this machine: a missing UAPI socket is named', (t) => {
  if (process.platform !== 'linux' && process.platform !== 'darwin') return t.skip('needs Linux or macOS');
  const name = `nx${process.pid}`.slice(0, 15);
  const profile = file(`interface: {name: ${name}}\naddress: 10.10.10.2\nendpoints: auto\n`);
  const r = tunroute(['plan', profile, '--interface', name, '--index', '99', '--address', '10.10.10.2', '--gateway', '192.168.1.1', '--gateway-interface', 'eth0', '--gateway-index', '2']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Peers: not read \\(/var/run/wireguard/${name}\\.sock: no such socket`));
});

test('plan resolves endpoint host names within a bound, as the daemon does: a resolver that never answers, or answers nothing, is a reason', async () => {
  const { readPeerFactsOnce } = await import('../../daemon/commands/peer-facts.js');
  const { validateProfileText } = await import('../../daemon/profile/validate.js');
  const checked = validateProfileText('interface: {name: wg0}\nendpoints: [stuck.example.com, empty.example.com, vpn.example.com]\n', 'p.yaml', { platform: 'linux' });
  assert.ok(checked.profile, JSON.stringify(checked.problems));
  const answers: Record<string, () => Promise<string[]>> = {
    // Never settles, and keeps the process busy as a pending getaddrinfo does.
    'stuck.example.com': () => new Promise(() => void setTimeout(() => {}, 2000)),
    'empty.example.com': async () => [],
    'vpn.example.com': async () => ['198.51.100.9', '198.51.100.7', '198.51.100.9'],
  };
  const facts = await readPeerFactsOnce(checked.profile, 'linux', null, { resolveHost: (name) => (answers[name] as () => Promise<string[]>)(), resolveTimeoutMs: 100 });
  assert.deepEqual(facts.hosts, [
    { name: 'stuck.example.com', addresses: [], error: 'stuck.example.com: no answer within 100 ms' },
    { name: 'empty.example.com', addresses: [], error: 'no addresses' },
    { name: 'vpn.example.com', addresses: ['198.51.100.7', '198.51.100.9'], error: null },
  ]);
});
