/**
 * @module test/unit/plan-bypass
 * Endpoint and exclude routes (the physical side): an exclude prefix is on-link only when
 * it lies inside a network the physical interface is connected to, otherwise it goes via
 * the gateway; a link-local IPv6 gateway keeps its zone (macOS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateProfileText } from '../../daemon/profile/validate.js';
import type { Profile } from '../../daemon/profile/profile.js';
import { planRoutes } from '../../daemon/plan/plan.js';
import type { PlanFacts } from '../../daemon/plan/facts.js';
import type { Route } from '../../daemon/model/route.js';

/** The route-writing strategies (replace on macOS unless named): with `system` IPMonitor resolves these itself. */
function profile(text: string, platform: 'darwin' | 'linux' = 'darwin'): Profile {
  const strategy = platform === 'darwin' && !text.includes('strategy') ? 'fullTunnel: {strategy: replace}\n' : '';
  const result = validateProfileText(`${strategy}${text}`, 'bypass.yaml', { platform });
  assert.equal(result.problems, undefined, JSON.stringify(result.problems));
  return result.profile as Profile;
}

function facts(os: 'darwin' | 'linux', subnets?: string[]): PlanFacts {
  return {
    os,
    tunnel: { name: os === 'darwin' ? 'utun7' : 'tun0', index: 36, addresses: ['10.10.10.2/32', 'fd00::2/64'] },
    physicalDefaults: [
      { family: 'inet', gateway: '192.168.1.1', interface: 'en0', index: 4, ...(subnets ? { subnets } : {}) },
      { family: 'inet6', gateway: 'fe80::1', interface: 'en0', index: 4, ...(subnets ? { subnets } : {}) },
    ],
    existing: [],
  };
}

const bypass = (p: Profile, f: PlanFacts): Record<string, Route['gateway']> =>
  Object.fromEntries(planRoutes(p, f).routes.filter((r) => r.origin === 'exclude' || r.origin === 'endpoint').map((r) => [r.destination, r.gateway]));

const TUNNEL = 'interface:\n  name: utun7\naddress: [10.10.10.2, fd00::2]\nipv6: true\n';

test('an exclude prefix inside a connected subnet is on-link; a wider one holding the gateway, or an unrelated one, goes via the gateway', () => {
  const p = profile(`${TUNNEL}exclude: [192.168.1.0/25, 192.168.1.177/32, 192.168.0.0/16, 172.16.0.0/12, "2001:db8:1::/64"]\nendpoints: [198.51.100.7]\n`);
  assert.deepEqual(bypass(p, facts('darwin', ['192.168.1.10/24', '2001:db8:1::10/64', 'fe80::3e22:fbff:fe12:3456/64'])), {
    '192.168.1.0/25': { link: 4 },
    '192.168.1.177/32': { link: 4 },
    '192.168.0.0/16': { address: '192.168.1.1' },
    '172.16.0.0/12': { address: '192.168.1.1' },
    '2001:db8:1::/64': { link: 4 },
    '198.51.100.7/32': { address: '192.168.1.1' },
  });
  // Nothing known about the interface's networks: everything via the gateway.
  assert.deepEqual(Object.values(bypass(p, facts('darwin'))).filter((g) => 'link' in g), []);
  const onLink = planRoutes(p, facts('darwin', ['192.168.1.10/24'])).routes.find((r) => r.destination === '192.168.1.0/25')!;
  assert.deepEqual(onLink.flags, ['UP', 'STATIC', 'CLONING']);
  const viaGateway = planRoutes(p, facts('darwin', ['192.168.1.10/24'])).routes.find((r) => r.destination === '192.168.0.0/16')!;
  assert.deepEqual(viaGateway.flags, ['UP', 'GATEWAY', 'STATIC']);
});

test('a link-local IPv6 gateway carries its zone on macOS (fe80::1%en0), not on Linux (the device is the zone)', () => {
  const p = profile(`${TUNNEL}exclude: ["2001:db8:9::/48"]\nendpoints: ["[2001:db8:5::7]:51820"]\n`);
  assert.deepEqual(bypass(p, facts('darwin')), {
    '2001:db8:9::/48': { address: 'fe80::1', scope: 4 },
    '2001:db8:5::7/128': { address: 'fe80::1', scope: 4 },
  });
  const linux = profile(`interface:\n  name: tun0\naddress: [10.10.10.2, fd00::2]\nipv6: true\nexclude: ["2001:db8:9::/48"]\n`, 'linux');
  assert.deepEqual(bypass(linux, facts('linux')), { '2001:db8:9::/48': { address: 'fe80::1' } });
});

test('plan flags: --gateway6 fe80::1%en0 gives the zone as the interface index, and the routes encode', async () => {
  const { factsFromFlags } = await import('../../daemon/commands/plan.js');
  const { routeRequest } = await import('../../daemon/backends/darwin.js');
  const { encodeRequest } = await import('../../daemon/codec/darwin/index.js');
  const p = profile(`${TUNNEL}endpoints: ["[2001:db8:5::7]:51820"]\n`);
  const values = { index: '36', gateway6: 'fe80::1%en0', 'gateway-interface': 'en0', 'gateway-index': '4' } as unknown as Parameters<typeof factsFromFlags>[0];
  const f = factsFromFlags(values, 'darwin', p)!;
  assert.deepEqual(f.physicalDefaults.map((d) => d.gateway), ['fe80::1']);
  assert.deepEqual(f.existing.map((e) => e.gateway), [{ address: 'fe80::1', scope: 4 }]);
  const plan = planRoutes(p, f);
  let checked = 0;
  for (const a of plan.actions) {
    if (!('route' in a) || 'link' in a.route.gateway || !a.route.gateway.address.startsWith('fe80:')) continue;
    checked++;
    const bytes = encodeRequest({ ...routeRequest('add', a.route, { tag: false }), seq: 1 });
    assert.equal(Buffer.from(bytes.subarray(92 + 28 + 8, 92 + 28 + 12)).toString('hex'), 'fe800004', `${a.kind} ${a.route.destination}: the gateway's zone is embedded`);
  }
  assert.equal(checked, 3, 'the endpoint, the scoped copy and the removal of en0\'s ::/0');
});
