/**
 * @module test/unit/plan-linux
 * The Linux mapping: policy as the tunnel's own table plus two rules, main untouched;
 * split-default as 0/1 + 128/1 in main; replace as a lower-metric default that wins
 * without deleting the physical one (moved one metric up only when it would tie or win);
 * split mode as a table of its own plus `ip rule from <address>`. IPv6 into the tunnel,
 * blocked (the default in mode full) or bypassing it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateProfileText } from '../../daemon/profile/validate.js';
import type { Profile } from '../../daemon/profile/profile.js';
import { planRoutes } from '../../daemon/plan/plan.js';
import type { PlanFacts } from '../../daemon/plan/facts.js';
import { describeAction, formatRouteTable } from '../../daemon/plan/format.js';

function profile(text: string, head = 'address: [10.10.10.2/32, "fd00::2/128"]\nipv6: true\n'): Profile {
  const result = validateProfileText(`interface: {name: wg0}\n${head}endpoints: [203.0.113.7]\n${text}`, 'l.yaml', { platform: 'linux' });
  assert.equal(result.problems, undefined);
  return result.profile as Profile;
}

/** An IPv4-only tunnel: ipv6 left at its default (block). */
const V4_ONLY = 'address: 10.10.10.2/32\n';

function facts(metric: number | null, v6Metric?: number): PlanFacts {
  const v6 = v6Metric === undefined ? [] : [{ family: 'inet6' as const, destination: '::/0', gateway: { address: 'fe80::1' }, interface: 'eth0', index: 2, scope: null, table: 254, metric: v6Metric, flags: [], mtu: null }];
  return {
    os: 'linux',
    tunnel: { name: 'wg0', index: 9, addresses: [] },
    physicalDefaults: [{ family: 'inet', gateway: '192.168.1.1', interface: 'eth0', index: 2, metric }, ...(v6Metric === undefined ? [] : [{ family: 'inet6' as const, gateway: 'fe80::1', interface: 'eth0', index: 2, metric: v6Metric }])],
    existing: [{ family: 'inet', destination: '0.0.0.0/0', gateway: { address: '192.168.1.1' }, interface: 'eth0', index: 2, scope: null, table: 254, metric, flags: [], mtu: null }, ...v6],
  };
}

const lines = (p: ReturnType<typeof planRoutes>): string[] => p.actions.map(describeAction).map((l) => l.replace(/\s+/g, ' '));

test('split-default: /1 halves in main, never touching the physical default', () => {
  const plan = planRoutes(profile('fullTunnel: {strategy: split-default}\nmulticast: false\nbroadcast: false\n'), facts(null));
  assert.deepEqual(lines(plan), [
    'add 203.0.113.7/32 via 192.168.1.1 dev eth0 (endpoint)',
    'add 0.0.0.0/1 dev wg0 (tunnel)',
    'add 128.0.0.0/1 dev wg0 (tunnel)',
    'add ::/1 dev wg0 (tunnel)',
    'add 8000::/1 dev wg0 (tunnel)',
  ]);
  for (const r of plan.routes) assert.deepEqual([r.flags, r.scope, r.table], [[], null, 254]);
});

test('replace: a metric-0 default wins over a metric-100 physical one, which stays; IPv6 gets metric 1, since the kernel stores 0 as 1024', () => {
  const plan = planRoutes(profile('fullTunnel: {strategy: replace}\nmulticast: false\nbroadcast: false\n'), facts(100, 1024));
  assert.deepEqual(lines(plan), ['add 203.0.113.7/32 via 192.168.1.1 dev eth0 (endpoint)', 'add 0.0.0.0/0 dev wg0 metric 0 (tunnel)', 'add ::/0 dev wg0 metric 1 (tunnel)']);
  assert.equal(plan.actions.filter((a) => a.kind === 'remove-unscoped').length, 0, 'the physical IPv6 default at 1024 already loses to metric 1: nothing is moved');
});

test('replace: an IPv6 physical default at metric 1 is moved to 2; linux.metric 0 never means IPv6 metric 0', () => {
  const plan = planRoutes(profile('fullTunnel: {strategy: replace}\nmulticast: false\nbroadcast: false\n'), facts(100, 1));
  assert.deepEqual(lines(plan).slice(1), [
    'demote-to-scoped ::/0 via fe80::1 dev eth0 metric 2 (demoted; EEXIST is fine)',
    'remove-unscoped ::/0 via fe80::1 dev eth0 metric 1 (demoted; journaled first)',
    'add 0.0.0.0/0 dev wg0 metric 0 (tunnel)',
    'add ::/0 dev wg0 metric 1 (tunnel)',
  ]);
});

test('replace: a physical default at metric 0 is copied to metric 1, then removed, and restored on teardown', () => {
  const plan = planRoutes(profile('fullTunnel: {strategy: replace}\nmulticast: false\nbroadcast: false\n'), facts(null));
  assert.deepEqual(lines(plan), [
    'add 203.0.113.7/32 via 192.168.1.1 dev eth0 (endpoint)',
    'demote-to-scoped 0.0.0.0/0 via 192.168.1.1 dev eth0 metric 1 (demoted; EEXIST is fine)',
    'remove-unscoped 0.0.0.0/0 via 192.168.1.1 dev eth0 (demoted; journaled first)',
    'add 0.0.0.0/0 dev wg0 metric 0 (tunnel)',
    'add ::/0 dev wg0 metric 1 (tunnel)',
  ]);
  assert.deepEqual(
    plan.teardown.map((a) => a.kind),
    ['remove', 'remove', 'restore', 'remove', 'remove'],
  );
});

test('split: a table of its own, a rule per tunnel address, listed routes in main', () => {
  const plan = planRoutes(profile('mode: split\nroutes: [10.20.0.0/16]\nlinux: {table: 200, rulePriority: 5000}\n'), facts(null));
  assert.deepEqual(plan.rules, [
    { family: 'inet', priority: 5000, from: '10.10.10.2/32', table: 200 },
    { family: 'inet6', priority: 5000, from: 'fd00::2/128', table: 200 },
  ]);
  const inTable = plan.routes.filter((r) => r.table === 200).map((r) => r.destination);
  assert.deepEqual(inTable, ['0.0.0.0/0', '224.0.0.0/4', '255.255.255.255/32', '::/0']);
  const main = plan.routes.filter((r) => r.table === 254).map((r) => `${r.destination} ${r.interface}`);
  assert.deepEqual(main, ['203.0.113.7/32 eth0', '10.20.0.0/16 wg0']);
  const kinds = plan.actions.map((a) => a.kind);
  assert.ok(kinds.lastIndexOf('add') < kinds.indexOf('add-rule'), 'the rule comes after the table it selects is filled');
  assert.deepEqual(plan.teardown.slice(0, 2).map((a) => a.kind), ['remove-rule', 'remove-rule']);
});

test('policy (the Linux default): the tunnel table, then main-with-suppress and lookup-table rules per family; main untouched', () => {
  const plan = planRoutes(profile(''), facts(null, 1024));
  assert.deepEqual(lines(plan), [
    'add 203.0.113.7/32 via 192.168.1.1 dev eth0 (endpoint)',
    'add 0.0.0.0/0 dev wg0 table 51820 (tunnel)',
    'add 224.0.0.0/4 dev wg0 table 51820 (tunnel)',
    'add 255.255.255.255/32 dev wg0 table 51820 (tunnel)',
    'add ::/0 dev wg0 table 51820 (tunnel)',
    'add-rule from all lookup main suppress_prefixlength 0 priority 10000',
    'add-rule from all lookup 51820 priority 10001',
    'add-rule from all lookup main suppress_prefixlength 0 priority 10000 (IPv6)',
    'add-rule from all lookup 51820 priority 10001 (IPv6)',
  ]);
  assert.ok(plan.actions.every((a) => a.kind === 'add-rule' || ('route' in a && (a.route.table !== 254 || a.route.origin === 'endpoint'))), 'nothing but endpoint routes in main');
  assert.deepEqual(plan.teardown.slice(0, 4).map((a) => a.kind), ['remove-rule', 'remove-rule', 'remove-rule', 'remove-rule'], 'the rules go before the table they select is emptied');
  assert.deepEqual(plan.warnings, []);
});

test('policy with linux.fwmark: `not fwmark M lookup T`, and no warning without endpoints', () => {
  const withMark = planRoutes(profile('linux: {fwmark: 51820}\nmulticast: false\nbroadcast: false\n', V4_ONLY), facts(null));
  assert.deepEqual(withMark.rules.filter((r) => r.family === 'inet'), [
    { family: 'inet', priority: 10000, from: null, table: 254, suppressPrefixlength: 0 },
    { family: 'inet', priority: 10001, from: null, table: 51820, fwmark: 51820, invert: true },
  ]);
  assert.ok(lines(withMark).includes('add-rule not from all fwmark 0xca6c lookup 51820 priority 10001'));
  const bare = validateProfileText('interface: {name: wg0}\n', 'l.yaml', { platform: 'linux' }).profile as Profile;
  assert.match(planRoutes(bare, facts(null)).warnings.join('\n'), /no endpoints and no linux\.fwmark: nothing keeps the tunnel's own packets out of table 51820/);
});

test('IPv6 blocked (the default): an unreachable ::/0 behind the same rules (policy), at the winning metric (replace), as two halves (split-default)', () => {
  const policy = planRoutes(profile('multicast: false\nbroadcast: false\n', V4_ONLY), facts(null, 1024));
  assert.deepEqual(lines(policy).filter((l) => l.includes('::') || l.includes('IPv6')), [
    'add unreachable ::/0 table 51820 (tunnel)',
    'add-rule from all lookup main suppress_prefixlength 0 priority 10000 (IPv6)',
    'add-rule from all lookup 51820 priority 10001 (IPv6)',
  ]);
  const block = policy.routes.find((r) => r.family === 'inet6');
  assert.equal(block?.type, 'unreachable');

  const replace = planRoutes(profile('fullTunnel: {strategy: replace}\nmulticast: false\nbroadcast: false\n', V4_ONLY), facts(null, 1024));
  assert.deepEqual(lines(replace).filter((l) => l.includes('::')), ['add unreachable ::/0 metric 1 (tunnel)'], 'metric 1 wins over the physical 1024, which stays');
  const replace0 = planRoutes(profile('fullTunnel: {strategy: replace}\nmulticast: false\nbroadcast: false\n', V4_ONLY), facts(null, 1));
  assert.deepEqual(lines(replace0).filter((l) => l.includes('::')), [
    'demote-to-scoped ::/0 via fe80::1 dev eth0 metric 2 (demoted; EEXIST is fine)',
    'remove-unscoped ::/0 via fe80::1 dev eth0 metric 1 (demoted; journaled first)',
    'add unreachable ::/0 metric 1 (tunnel)',
  ]);

  const halves = planRoutes(profile('fullTunnel: {strategy: split-default}\nmulticast: false\nbroadcast: false\n', V4_ONLY), facts(null, 1024));
  assert.deepEqual(lines(halves).filter((l) => l.includes('::')), ['add unreachable ::/1 (tunnel)', 'add unreachable 8000::/1 (tunnel)']);
});

test('IPv6 bypass plans nothing for IPv6 and warns; split mode never blocks', () => {
  const bypass = planRoutes(profile('multicast: false\nbroadcast: false\n', 'address: 10.10.10.2/32\nipv6: bypass\n'), facts(null, 1024));
  assert.equal(bypass.routes.filter((r) => r.family === 'inet6').length, 0);
  assert.equal(bypass.rules.filter((r) => r.family === 'inet6').length, 0);
  assert.match(bypass.warnings.join('\n'), /ipv6: bypass: IPv6 traffic uses the physical network/);
  const split = planRoutes(profile('mode: split\nroutes: [10.20.0.0/16]\n', V4_ONLY), facts(null, 1024));
  assert.equal(split.routes.filter((r) => r.family === 'inet6').length, 0, 'split mode routes no IPv6 unless ipv6: true');
});

test('policy with onTunnelDown: block: an unreachable default per family at the highest metric stays behind the tunnel\'s', () => {
  const plan = planRoutes(profile('multicast: false\nbroadcast: false\ndaemon: {onTunnelDown: block}\n'), facts(null, 1024));
  assert.deepEqual(lines(plan).filter((l) => l.includes('unreachable') || l.includes('table 51820 (tunnel)')), [
    'add 0.0.0.0/0 dev wg0 table 51820 (tunnel)',
    'add ::/0 dev wg0 table 51820 (tunnel)',
    'add unreachable 0.0.0.0/0 table 51820 metric 4294967295 (tunnel)',
    'add unreachable ::/0 table 51820 metric 4294967295 (tunnel)',
  ]);
  const restore = planRoutes(profile('multicast: false\nbroadcast: false\n'), facts(null, 1024));
  assert.equal(restore.routes.filter((r) => r.type === 'unreachable').length, 0, 'onTunnelDown: restore needs no kill switch');
});

test('plan shows the IPv6 block and the rules: the route table and the rule list', () => {
  const text = formatRouteTable(planRoutes(profile('multicast: false\nbroadcast: false\n', V4_ONLY), facts(null, 1024)));
  assert.match(text, /^Internet6:\nDestination +Gateway +Flags +Metric +Table +Iface +Origin\ndefault +unreachable +! +1024 +51820 +- +tunnel$/m);
  assert.match(text, /^10000:\tfrom all lookup main suppress_prefixlength 0$/m);
  assert.match(text, /^10001:\tfrom all lookup 51820  \(IPv6\)$/m);
});
