/**
 * @module test/unit/plan-diff
 * Reload applies only what changed between two plans; teardownOf is the reverse order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateProfileText } from '../../daemon/profile/validate.js';
import type { Profile } from '../../daemon/profile/profile.js';
import { planRoutes } from '../../daemon/plan/plan.js';
import type { PlanFacts } from '../../daemon/plan/facts.js';
import { diffPlans, teardownOf, add } from '../../daemon/plan/actions.js';
import type { Route } from '../../daemon/model/route.js';

/** The route-writing strategies (replace unless named). */
function profile(text: string): Profile {
  const strategy = text.includes('strategy') ? '' : 'fullTunnel: {strategy: replace}\n';
  const result = validateProfileText(`interface: {name: utun7}\naddress: 10.10.10.2\n${strategy}${text}`, 'd.yaml', { platform: 'darwin' });
  assert.equal(result.problems, undefined);
  return result.profile as Profile;
}

const FACTS: PlanFacts = {
  os: 'darwin',
  tunnel: { name: 'utun7', index: 36, addresses: [] },
  physicalDefaults: [{ family: 'inet', gateway: '192.168.1.1', interface: 'en0', index: 4 }],
  existing: [{ family: 'inet', destination: '0.0.0.0/0', gateway: { address: '192.168.1.1' }, interface: 'en0', index: 4, scope: null, table: null, metric: null, flags: ['UP', 'GATEWAY', 'STATIC'], mtu: null }],
};

const describe = (actions: ReturnType<typeof diffPlans>['apply']): string[] => actions.map((a) => `${a.kind} ${'route' in a ? a.route.destination : a.rule.from}`);

test('the same plan twice: nothing to do', () => {
  const p = planRoutes(profile('routes: [10.20.0.0/16]\n'), FACTS);
  assert.deepEqual(diffPlans(p, planRoutes(profile('routes: [10.20.0.0/16]\n'), FACTS)), { undo: [], apply: [] });
});

test('a route added and one removed: only those', () => {
  const before = planRoutes(profile('routes: [10.20.0.0/16, 10.30.0.0/16]\n'), FACTS);
  const after = planRoutes(profile('routes: [10.20.0.0/16, 10.40.0.0/16]\n'), FACTS);
  const diff = diffPlans(before, after);
  assert.deepEqual(describe(diff.undo), ['remove 10.30.0.0/16']);
  assert.deepEqual(describe(diff.apply), ['add 10.40.0.0/16']);
});

test('a new physical gateway moves the endpoint route and the demoted default', () => {
  const p = profile('endpoints: [203.0.113.7]\nmulticast: false\nbroadcast: false\n');
  const moved: PlanFacts = {
    ...FACTS,
    physicalDefaults: [{ family: 'inet', gateway: '172.20.10.1', interface: 'en1', index: 6 }],
    existing: [{ ...(FACTS.existing[0] as PlanFacts['existing'][number]), gateway: { address: '172.20.10.1' }, interface: 'en1', index: 6 }],
  };
  const diff = diffPlans(planRoutes(p, FACTS), planRoutes(p, moved));
  assert.deepEqual(describe(diff.undo), ['restore 0.0.0.0/0', 'remove 0.0.0.0/0', 'remove 203.0.113.7/32']);
  assert.deepEqual(describe(diff.apply), ['add 203.0.113.7/32', 'demote-to-scoped 0.0.0.0/0', 'remove-unscoped 0.0.0.0/0']);
  const gateways = diff.apply.map((a) => ('route' in a && 'address' in a.route.gateway ? a.route.gateway.address : null));
  assert.deepEqual(gateways, ['172.20.10.1', '172.20.10.1', '172.20.10.1']);
});

test('switching strategy replaces the whole default handling', () => {
  const before = planRoutes(profile('multicast: false\nbroadcast: false\n'), FACTS);
  const after = planRoutes(profile('multicast: false\nbroadcast: false\nfullTunnel: {strategy: split-default}\n'), FACTS);
  const diff = diffPlans(before, after);
  // The IPv6 block follows the strategy too: ::/0 (replace) becomes ::/1 + 8000::/1.
  assert.deepEqual(describe(diff.undo), ['remove ::/0', 'remove 0.0.0.0/0', 'restore 0.0.0.0/0', 'remove 0.0.0.0/0']);
  assert.deepEqual(describe(diff.apply), ['add 0.0.0.0/1', 'add 128.0.0.0/1', 'add ::/1', 'add 8000::/1']);
});

test('teardownOf reverses the order and flattens each reverse', () => {
  const route = (destination: string): Route => ({ family: 'inet', destination, gateway: { link: 1 }, interface: 'utun0', index: 1, scope: null, table: null, metric: null, flags: [], mtu: null, origin: 'tunnel' });
  const undo = teardownOf([add(route('10.1.0.0/16')), add(route('10.2.0.0/16'))]);
  assert.deepEqual(undo.map((a) => `${a.kind} ${'route' in a ? a.route.destination : ''}`), ['remove 10.2.0.0/16', 'remove 10.1.0.0/16']);
});
