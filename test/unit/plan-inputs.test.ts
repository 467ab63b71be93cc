/**
 * @module test/unit/plan-inputs
 * The plan is kept while its inputs are unchanged (plan/inputs.ts). The property: over
 * generated profiles and variations of the facts (physical subnets gained or lost, tunnel
 * addresses changed, a new gateway, a handshake), two sets of facts with equal inputs always
 * give the same plan, so leaving a fact out of the inputs can never keep a stale plan. And
 * the daemon's policy keeps the very same plan object across a change the planner does not
 * read (a link-local address on the physical interface of a profile that excludes nothing),
 * but plans again when the change matters (an exclude inside the new subnet, a new gateway).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { validateProfileText } from '../../daemon/profile/validate.js';
import type { Platform, Profile } from '../../daemon/profile/profile.js';
import { MAIN_TABLE, planRoutes } from '../../daemon/plan/plan.js';
import { planInputs } from '../../daemon/plan/inputs.js';
import type { PlanFacts } from '../../daemon/plan/facts.js';
import { createPolicy } from '../../daemon/policy.js';
import { mulberry32 } from '../helpers/prng.js';

const log = pino({ level: 'silent' });

function profileOf(text: string, os: Platform): Profile {
  const result = validateProfileText(text, 'p.yaml', { platform: os });
  assert.ok(result.profile, JSON.stringify(result.problems));
  return result.profile;
}

function baseFacts(os: Platform, subnets: string[], tunnelAddresses: string[], gateway = '192.168.50.1'): PlanFacts {
  const phys = os === 'darwin' ? 'en0' : 'eth0';
  return {
    os,
    tunnel: { name: os === 'darwin' ? 'utun7' : 'wg0', index: 9, addresses: tunnelAddresses },
    physicalDefaults: [{ family: 'inet', gateway, interface: phys, index: 4, metric: null, subnets }],
    existing: [{ family: 'inet', destination: '0.0.0.0/0', gateway: { address: gateway }, interface: phys, index: 4, scope: null, table: os === 'linux' ? MAIN_TABLE : null, metric: null, flags: os === 'darwin' ? ['UP', 'GATEWAY', 'STATIC'] : [], mtu: null }],
  };
}

test('facts with equal plan inputs give the same plan (generated profiles and variations)', () => {
  const subnetChoices = [['192.168.50.2/24'], ['192.168.50.2/24', 'fe80::1c2:3ff:fe45:6789/64'], ['192.168.50.2/24', '10.77.0.5/16'], ['10.77.0.5/16'], []];
  const tunnelChoices = [['10.10.10.2/32'], ['10.10.10.2/32', 'fe80::99/64'], ['10.10.10.2/32', 'fd00::2/128'], ['10.10.10.3/32'], []];
  let comparedEqual = 0;
  let comparedDifferent = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const r = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const os: Platform = pick(['darwin', 'linux'] as const);
    const mode = pick(['full', 'split']);
    const lines = [
      `interface: {name: ${os === 'darwin' ? 'utun7' : 'wg0'}}`,
      r() < 0.5 ? 'address: 10.10.10.2' : '',
      `mode: ${mode}`,
      `fullTunnel: {strategy: ${pick(os === 'linux' ? ['policy', 'replace', 'split-default'] : ['replace', 'split-default'])}}`,
      r() < 0.4 ? 'ipv6: true' : '',
      `routes: ["10.200.0.0/16", "10.201.0.0/16"]`,
      r() < 0.5 ? `exclude: ["10.77.8.0/24", "172.20.0.0/16"]` : '',
      r() < 0.5 ? `endpoints: ["198.51.100.7"]` : '',
    ];
    const result = validateProfileText(lines.filter(Boolean).join('\n'), 'gen.yaml', { platform: os });
    if (!result.profile) continue;
    const profile = result.profile;
    const variants: PlanFacts[] = [];
    for (const subnets of subnetChoices) for (const tunnel of tunnelChoices) variants.push(baseFacts(os, subnets, tunnel));
    variants.push(baseFacts(os, ['192.168.50.2/24'], ['10.10.10.2/32'], '192.168.50.254'));
    for (let i = 0; i < variants.length; i++) {
      for (let j = i + 1; j < variants.length; j++) {
        const a = variants[i] as PlanFacts;
        const b = variants[j] as PlanFacts;
        if (JSON.stringify(planInputs(profile, a)) !== JSON.stringify(planInputs(profile, b))) {
          comparedDifferent++;
          continue;
        }
        comparedEqual++;
        assert.deepEqual(planRoutes(profile, a), planRoutes(profile, b), `seed ${seed}: equal inputs, different plans\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
      }
    }
  }
  // Not vacuous: many pairs differed only in facts the plan does not read, and many did not.
  assert.ok(comparedEqual > 500, `pairs with equal inputs: ${comparedEqual}`);
  assert.ok(comparedDifferent > 500, `pairs with different inputs: ${comparedDifferent}`);
});

test('a handshake is not a plan input; an endpoint the peers report is', () => {
  const profile = profileOf('interface: {name: wg0}\naddress: 10.10.10.2\nmode: split\nendpoints: auto\nroutes: [10.200.0.0/16]\n', 'linux');
  const peer = { publicKey: 'k', endpoint: { address: '198.51.100.7', port: 51820 }, allowedIps: ['10.9.0.0/16'], lastHandshake: 1000 };
  const facts = (p: typeof peer): PlanFacts => ({ ...baseFacts('linux', ['192.168.50.2/24'], ['10.10.10.2/32']), peers: { source: 'uapi', error: null, peers: [p], hosts: [] } });
  const key = (f: PlanFacts): string => JSON.stringify(planInputs(profile, f));
  assert.equal(key(facts({ ...peer, lastHandshake: 2000 })), key(facts(peer)));
  assert.notEqual(key(facts({ ...peer, endpoint: { address: '198.51.100.8', port: 51820 } })), key(facts(peer)));
});

test('the policy keeps its plan across a fact the planner does not read, and plans again when one it reads changes', () => {
  const plain = createPolicy(profileOf('interface: {name: wg0}\naddress: 10.10.10.2\nmode: split\nroutes: [10.200.0.0/16]\n', 'linux'), 'linux', log);
  const first = plain.desire(baseFacts('linux', ['192.168.50.2/24'], ['10.10.10.2/32']));
  // A link-local address on the physical interface (IPv6 coming up), and one on the tunnel.
  assert.equal(plain.desire(baseFacts('linux', ['192.168.50.2/24', 'fe80::1/64'], ['10.10.10.2/32', 'fe80::9/64'])), first, 'the same plan object');
  assert.notEqual(plain.desire(baseFacts('linux', ['192.168.50.2/24'], ['10.10.10.2/32'], '192.168.50.254')), first, 'a new gateway is a new plan');

  const excluding = createPolicy(profileOf('interface: {name: wg0}\naddress: 10.10.10.2\nmode: full\nfullTunnel: {strategy: replace}\nexclude: [10.77.8.0/24]\n', 'linux'), 'linux', log);
  const before = excluding.desire(baseFacts('linux', ['192.168.50.2/24'], ['10.10.10.2/32']));
  const after = excluding.desire(baseFacts('linux', ['192.168.50.2/24', '10.77.0.5/16'], ['10.10.10.2/32']));
  assert.notEqual(after, before, 'a subnet that now holds an excluded prefix is a new plan');
  const route = (d: typeof before): unknown => d.actions.find((a) => 'route' in a && a.route.destination === '10.77.8.0/24');
  assert.notDeepEqual(route(after), route(before), 'and the exclude route is on-link now');
});

test('a re-plan for a change on the physical side keeps the listed routes\' actions; another tunnel index rebuilds them', () => {
  const text = 'interface: {name: wg0}\naddress: 10.10.10.2\nmode: full\nfullTunnel: {strategy: replace}\nexclude: [10.77.8.0/24]\nroutes: [10.200.0.0/16, 10.201.0.0/16]\n';
  const profile = profileOf(text, 'linux');
  const listed = (plan: ReturnType<typeof planRoutes>) => plan.actions.filter((a) => 'route' in a && a.route.destination.startsWith('10.20'));
  const first = planRoutes(profile, baseFacts('linux', ['192.168.50.2/24'], ['10.10.10.2/32']));
  const roamed = planRoutes(profile, baseFacts('linux', ['192.168.50.2/24'], ['10.10.10.2/32'], '192.168.50.254'));
  assert.equal(listed(first).length, 2);
  listed(roamed).forEach((a, i) => assert.equal(a, listed(first)[i], 'the same action object'));
  // The same plan as a profile planned for the first time (a fresh copy of it) gets.
  assert.deepEqual(roamed, planRoutes(profileOf(text, 'linux'), baseFacts('linux', ['192.168.50.2/24'], ['10.10.10.2/32'], '192.168.50.254')));
  const moved: PlanFacts = { ...baseFacts('linux', ['192.168.50.2/24'], ['10.10.10.2/32']), tunnel: { name: 'wg0', index: 12, addresses: ['10.10.10.2/32'] } };
  const renumbered = planRoutes(profile, moved);
  assert.deepEqual(listed(renumbered).map((a) => 'route' in a && a.route.index), [12, 12], 'routes through the new index');
  assert.deepEqual(renumbered, planRoutes(profileOf(text, 'linux'), moved));
});
