/**
 * @module test/unit/plan-seed
 * The table from the forum question (shared/seeds/forum-question-default-route.txt) that
 * NetworkExtension builds for utun7 (index 36, address 10.10.10.2), in both modes:
 *
 *   default            link#36   UCS(I)  utun7
 *   10.10.10.2         10.10.10.2 UH     utun7
 *   224.0.0/4          link#36   UCS(I)  utun7   (the kernel adds m)
 *   255.255.255.255/32 link#36   UCS(I)  utun7
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateProfileText } from '../../daemon/profile/validate.js';
import type { Profile } from '../../daemon/profile/profile.js';
import { planRoutes } from '../../daemon/plan/plan.js';
import type { PlanFacts } from '../../daemon/plan/facts.js';
import { flagLetters, formatRouteTable, netstatDestination, planJson } from '../../daemon/plan/format.js';

/** These tests plan the route-writing strategies (replace unless named); `system` has strategy-system.test.ts. */
function profile(text: string): Profile {
  const result = validateProfileText(text.includes('strategy') ? text : `fullTunnel: {strategy: replace}\n${text}`, 'seed.yaml', { platform: 'darwin' });
  assert.equal(result.problems, undefined);
  return result.profile as Profile;
}

const FACTS: PlanFacts = {
  os: 'darwin',
  tunnel: { name: 'utun7', index: 36, addresses: ['10.10.10.2/32'] },
  physicalDefaults: [{ family: 'inet', gateway: '192.168.1.1', interface: 'en0', index: 4 }],
  existing: [
    { family: 'inet', destination: '0.0.0.0/0', gateway: { address: '192.168.1.1' }, interface: 'en0', index: 4, scope: null, table: null, metric: null, flags: ['UP', 'GATEWAY', 'STATIC', 'PRCLONING', 'GLOBAL'], mtu: null },
    { family: 'inet', destination: '224.0.0.0/4', gateway: { link: 4 }, interface: 'en0', index: 4, scope: null, table: null, metric: null, flags: ['UP', 'MULTICAST', 'CLONING', 'STATIC'], mtu: null },
    { family: 'inet', destination: '255.255.255.255/32', gateway: { link: 4 }, interface: 'en0', index: 4, scope: null, table: null, metric: null, flags: ['UP', 'CLONING', 'STATIC'], mtu: null },
    // configd already keeps a scoped multicast route on en0: nothing to add for that one.
    { family: 'inet', destination: '224.0.0.0/4', gateway: { link: 4 }, interface: 'en0', index: 4, scope: 4, table: null, metric: null, flags: ['UP', 'MULTICAST', 'CLONING', 'STATIC', 'IFSCOPE'], mtu: null },
  ],
};

/** The utun7 rows of the table as netstat would print them: destination, gateway, flags, netif. */
function utunRows(p: Profile): string[] {
  const plan = planRoutes(p, FACTS);
  return plan.routes
    .filter((r) => r.interface === 'utun7')
    .map((r) => [netstatDestination(r.destination, r.flags.includes('HOST')), 'link' in r.gateway ? `link#${r.gateway.link}` : r.gateway.address, flagLetters(r.flags), r.interface].join(' '));
}

test('full tunnel, replace: the seed table', () => {
  assert.deepEqual(utunRows(profile('interface: {name: utun7}\naddress: 10.10.10.2\nipv6: bypass\n')).sort(), [
    '10.10.10.2 10.10.10.2 UH utun7',
    '224.0.0/4 link#36 UCS utun7',
    '255.255.255.255/32 link#36 UCS utun7',
    'default link#36 UCS utun7',
  ]);
});

test('split mode: the same routes scoped to the utun (UCSI, scope 36)', () => {
  const p = profile('interface: {name: utun7}\naddress: 10.10.10.2\nmode: split\n');
  assert.deepEqual(utunRows(p).sort(), ['10.10.10.2 10.10.10.2 UH utun7', '224.0.0/4 link#36 UCSI utun7', '255.255.255.255/32 link#36 UCSI utun7', 'default link#36 UCSI utun7']);
  const plan = planRoutes(p, FACTS);
  for (const r of plan.routes.filter((r) => r.origin === 'tunnel')) assert.equal(r.scope, 36);
  assert.ok(plan.actions.every((a) => a.kind === 'add' || a.kind === 'ensure'), 'split mode never touches the physical side');
});

test('replace: the exact routes, and the physical ones moved aside in a safe order', () => {
  const plan = planRoutes(profile('interface: {name: utun7}\naddress: 10.10.10.2\nendpoints: [203.0.113.7]\nipv6: bypass\n'), FACTS);
  const json = planJson(plan) as { routes: unknown[]; actions: Array<{ kind: string; route: { destination: string; scope: number | null } }> };
  assert.deepEqual(json.routes[json.routes.length - 3], {
    destination: '0.0.0.0/0',
    gateway: { link: 36 },
    flags: ['UP', 'STATIC', 'CLONING'],
    interface: 'utun7',
    index: 36,
    scope: null,
    table: null,
    metric: null,
    mtu: null,
    family: 'inet',
    origin: 'tunnel',
  });
  assert.deepEqual(
    json.actions.map((a) => `${a.kind} ${a.route.destination}${a.route.scope === null ? '' : `%${a.route.scope}`}`),
    [
      'add 203.0.113.7/32',
      'demote-to-scoped 0.0.0.0/0%4',
      'demote-to-scoped 255.255.255.255/32%4',
      'remove-unscoped 0.0.0.0/0',
      'remove-unscoped 224.0.0.0/4',
      'remove-unscoped 255.255.255.255/32',
      'ensure 10.10.10.2/32',
      'add 0.0.0.0/0',
      'add 224.0.0.0/4',
      'add 255.255.255.255/32',
    ],
  );
  const endpoint = plan.routes[0];
  assert.deepEqual(endpoint && [endpoint.destination, endpoint.gateway, endpoint.flags, endpoint.interface, endpoint.scope], ['203.0.113.7/32', { address: '192.168.1.1' }, ['UP', 'GATEWAY', 'HOST', 'STATIC'], 'en0', null]);
  const copy = plan.routes.find((r) => r.origin === 'demoted' && r.destination === '0.0.0.0/0');
  assert.deepEqual(copy && [copy.gateway, copy.flags, copy.scope, copy.interface], [{ address: '192.168.1.1' }, ['UP', 'GATEWAY', 'STATIC', 'IFSCOPE'], 4, 'en0']);
  // Kernel-added flags are not requested back on restore.
  const restore = plan.teardown.find((a) => a.kind === 'restore' && a.route.destination === '0.0.0.0/0');
  assert.deepEqual(restore && 'route' in restore ? restore.route.flags : null, ['UP', 'GATEWAY', 'STATIC']);
});

test('the netstat-style table uses netstat abbreviations', () => {
  const text = formatRouteTable(planRoutes(profile('interface: {name: utun7}\naddress: 10.10.10.2\n'), FACTS));
  assert.match(text, /^default +link#36 +UCS +utun7 +tunnel$/m);
  assert.match(text, /^224\.0\.0\/4 +link#36 +UCS +utun7/m);
  assert.match(text, /^255\.255\.255\.255\/32 +link#36 +UCS +utun7/m);
  assert.match(text, /^10\.10\.10\.2 +10\.10\.10\.2 +UH +utun7 +host$/m);
  assert.match(text, /^default +192\.168\.1\.1 +UGSI +en0 +demoted$/m);
});

test('netstat destination abbreviations', () => {
  const cases: Array<[string, boolean, string]> = [
    ['0.0.0.0/0', false, 'default'],
    ['0.0.0.0/1', false, '0/1'],
    ['128.0.0.0/1', false, '128.0/1'],
    ['224.0.0.0/4', false, '224.0.0/4'],
    ['10.20.0.0/16', false, '10.20/16'],
    ['10.0.0.0/8', false, '10'],
    ['169.254.0.0/16', false, '169.254'],
    ['192.168.1.0/24', false, '192.168.1'],
    ['172.16.0.0/12', false, '172.16/12'],
    ['255.255.255.255/32', false, '255.255.255.255/32'],
    ['10.10.10.2/32', true, '10.10.10.2'],
    ['::/0', false, 'default'],
    ['fd00:10::/64', false, 'fd00:10::/64'],
  ];
  for (const [destination, host, shown] of cases) assert.equal(netstatDestination(destination, host), shown, destination);
});
