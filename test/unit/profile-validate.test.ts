/**
 * @module test/unit/profile-validate
 * Valid profiles: the shipped examples on both platforms, defaults, normalisation, and
 * the one-line problem format.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { validateProfileText } from '../../daemon/profile/validate.js';
import { formatProblem } from '../../daemon/profile/problems.js';
import { formatPrefix } from '../../daemon/profile/prefix.js';
import type { Profile } from '../../daemon/profile/profile.js';

const CONFIG = new URL('../../../config/', import.meta.url);

function valid(text: string, platform: 'darwin' | 'linux' = 'darwin'): Profile {
  const result = validateProfileText(text, 't.yaml', { platform });
  assert.deepEqual(result.problems?.map(formatProblem), undefined);
  return result.profile as Profile;
}

for (const example of ['full-tunnel.yaml', 'split-tunnel.yaml']) {
  for (const platform of ['darwin', 'linux'] as const) {
    test(`config/${example} is valid on ${platform}`, () => {
      const profile = valid(readFileSync(new URL(example, CONFIG), 'utf8'), platform);
      assert.equal(profile.interface.kind, 'name');
    });
  }
}

test('a minimal profile gets every default', () => {
  const p = valid('interface: {name: utun7}\n');
  assert.deepEqual(p.interface, { kind: 'name', name: 'utun7' });
  assert.equal(p.addresses, null);
  assert.equal(p.mode, 'full');
  // The strategy that works with the table's owner: configd on macOS.
  assert.equal(p.strategy, 'system');
  assert.equal(p.dns, null);
  assert.deepEqual([p.routes, p.exclude, p.endpoints], [[], [], []]);
  assert.deepEqual([p.multicast, p.broadcast, p.ipv6, p.mtu], [true, true, 'block', null], 'IPv6 is blocked by default');
  assert.deepEqual(p.linux, { table: 51820, rulePriority: 10000, metric: 0, fwmark: null, setFwmark: false });
  assert.equal(valid('interface: {name: wg0}\n', 'linux').strategy, 'policy', 'policy routing is the Linux default');
  assert.deepEqual(p.daemon, {
    logLevel: 'info',
    journal: '/var/db/tunroute/t.journal.json',
    reconcileIntervalMs: 30_000,
    onTunnelDown: 'restore',
    shutdownTimeoutMs: 5000,
    flap: { maxRepairs: 5, windowMs: 30_000, initialDelayMs: 1000, maxDelayMs: 60_000 },
  });
  assert.equal(valid('interface: {name: wg0}\n', 'linux').daemon.journal, '/var/lib/tunroute/t.journal.json');
  assert.equal(p.name, 't', 'the file name without .yaml names the profile');
});

test('the profile name: written, derived from the file, and refused when unusable', () => {
  assert.equal(valid('name: office-wg1\ninterface: {name: utun7}\n').name, 'office-wg1');
  assert.equal(valid('name: office\ninterface: {name: wg0}\n', 'linux').daemon.journal, '/var/lib/tunroute/office.journal.json', 'the default journal is per profile');
  const derived = validateProfileText('interface: {name: utun7}\n', '/etc/tunroute/home.yml', { platform: 'darwin' });
  assert.equal(derived.profile?.name, 'home');
  const written = validateProfileText('name: "../x"\ninterface: {name: utun7}\n', 't.yaml', { platform: 'darwin' });
  assert.match(written.problems?.map(formatProblem).join('\n') ?? '', /^t\.yaml:1:7 name: /);
  const badFile = validateProfileText('interface: {name: utun7}\n', '/etc/my tunnel.yaml', { platform: 'darwin' });
  assert.match(badFile.problems?.map(formatProblem).join('\n') ?? '', /profile name "my tunnel", expected letters/);
});

test('values are normalised: canonical prefixes, addresses, sizes and durations', () => {
  const p = valid(
    [
      'interface: {nameFile: /var/run/wireguard/wg0.name}',
      'address: ["10.10.10.2/24", "FD00:0:0::2"]',
      'ipv6: true',
      'mode: split',
      'routes: [10.20.0.0/16, "FD00:10:0::/64", 192.0.2.1]',
      'endpoints: ["[2001:DB8::7]:51820", 203.0.113.7]',
      'mtu: 1.375KiB',
      'fullTunnel: {strategy: split-default}',
      'daemon: {reconcileInterval: 1m30s, shutdownTimeout: 250ms, flap: {window: 2m}}',
    ].join('\n'),
  );
  assert.deepEqual(p.interface, { kind: 'name-file', path: '/var/run/wireguard/wg0.name' });
  assert.deepEqual(p.addresses, [
    { family: 'inet', address: '10.10.10.2', length: 24 },
    { family: 'inet6', address: 'fd00::2', length: 128 },
  ]);
  assert.deepEqual(p.routes.map(formatPrefix), ['10.20.0.0/16', 'fd00:10::/64', '192.0.2.1/32']);
  assert.deepEqual(p.endpoints, [
    { family: 'inet6', address: '2001:db8::7', port: 51820 },
    { family: 'inet', address: '203.0.113.7', port: null },
  ]);
  assert.equal(p.mtu, 1408);
  assert.equal(p.strategy, 'split-default');
  assert.equal(p.daemon.reconcileIntervalMs, 90_000);
  assert.equal(p.daemon.shutdownTimeoutMs, 250);
  assert.equal(p.daemon.flap.windowMs, 120_000);
});

test('ipv6: true/false keep their meaning as tunnel/block; tunnel, block and bypass are written out', () => {
  const mode = (v: string): string => valid(`interface: {name: wg0}\nipv6: ${v}\n`, 'linux').ipv6;
  assert.deepEqual(['true', 'false', 'tunnel', 'block', 'bypass'].map(mode), ['tunnel', 'block', 'tunnel', 'block', 'bypass']);
  const marked = valid('interface: {name: wg0}\nlinux: {fwmark: 51820, setFwmark: true}\n', 'linux');
  assert.deepEqual([marked.strategy, marked.linux.fwmark, marked.linux.setFwmark], ['policy', 51820, true]);
});

test('an exclude carved out of a route, and routes inside each other, are fine', () => {
  const p = valid('interface: {name: utun7}\nmode: split\nroutes: [10.0.0.0/8, 10.1.0.0/16]\nexclude: [10.1.2.0/24]\nendpoints: [10.9.9.9]\n');
  assert.equal(p.routes.length, 2);
  assert.equal(p.exclude.length, 1);
});

test('problems print as FILE:LINE:COL key.path: message', () => {
  const result = validateProfileText('interface: {name: utun7}\nmode: split\nroutes:\n  - 10.1.0.0/16\n  - 10.2.0.0/16\n  - 10.0.0.0/33\n', 'split.yaml', { platform: 'darwin' });
  assert.deepEqual(result.problems?.map(formatProblem), ['split.yaml:6:5 routes[2]: "10.0.0.0/33" is not an IPv4 or IPv6 prefix']);
});

test('YAML anchors and aliases are followed, and problems point at the alias use', () => {
  const result = validateProfileText('interface: {name: utun7}\nx-nets: &nets [10.0.0.0/8]\n', 't.yaml', { platform: 'darwin' });
  assert.match(result.problems?.[0]?.message ?? '', /^unknown key "x-nets"/);
  const ok = validateProfileText('interface: {name: utun7}\nmode: split\nroutes: &r [10.0.0.0/8]\nexclude: []\n', 't.yaml', { platform: 'darwin' });
  assert.equal(ok.profile?.routes.length, 1);
});
