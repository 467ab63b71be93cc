/**
 * @module test/unit/plan-linux
 * The Linux mapping: split-default as 0/1 + 128/1 in main; replace as a lower-metric
 * default that wins without deleting the physical one (moved one metric up only when it
 * would tie or win); split mode as a table of its own plus `ip rule from <address>`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateProfileText } from '../../daemon/profile/validate.js';
import type { Profile } from '../../daemon/profile/profile.js';
import { planRoutes } from '../../daemon/plan/plan.js';
import type { PlanFacts } from '../../daemon/plan/facts.js';
import { describeAction } from '../../daemon/plan/format.js';

function profile(text: string): Profile {
  const result = validateProfileText(`interface: {name: wg0}\naddress: [10.10.10.2/32, "fd00::2/128"]\nipv6: true\nendpoints: [203.0.113.7]\n${text}`, 'l.yaml', { platform: 'linux' });
  assert.equal(result.problems, undefined);
  return result.profile as Profile;
}

function facts(metric: number | null): PlanFacts {
  return {
    os: 'linux',
    tunnel: { name: 'wg0', index: 9, addresses: [] },
    physicalDefaults: [{ family: 'inet', gateway: '192.168.1.1', interface: 'eth0', index: 2, metric }],
    existing: [{ family: 'inet', destination: '0.0.0.0/0', gateway: { address: '192.168.1.1' }, interface: 'eth0', index: 2, scope: null, table: 254, metric, flags: [], mtu: null }],
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

test('replace: a metric-0 default wins over a metric-100 physical one, which stays', () => {
  const plan = planRoutes(profile('multicast: false\nbroadcast: false\n'), facts(100));
  assert.deepEqual(lines(plan), ['add 203.0.113.7/32 via 192.168.1.1 dev eth0 (endpoint)', 'add 0.0.0.0/0 dev wg0 metric 0 (tunnel)', 'add ::/0 dev wg0 metric 0 (tunnel)']);
});

test('replace: a physical default at metric 0 is copied to metric 1, then removed, and restored on teardown', () => {
  const plan = planRoutes(profile('multicast: false\nbroadcast: false\n'), facts(null));
  assert.deepEqual(lines(plan), [
    'add 203.0.113.7/32 via 192.168.1.1 dev eth0 (endpoint)',
    'demote-to-scoped 0.0.0.0/0 via 192.168.1.1 dev eth0 metric 1 (demoted; EEXIST is fine)',
    'remove-unscoped 0.0.0.0/0 via 192.168.1.1 dev eth0 (demoted; journaled first)',
    'add 0.0.0.0/0 dev wg0 metric 0 (tunnel)',
    'add ::/0 dev wg0 metric 0 (tunnel)',
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
