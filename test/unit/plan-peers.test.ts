/**
 * @module test/unit/plan-peers
 * The planner with peers (plan/peers): which addresses get endpoint routes (listed, read
 * with endpoints: auto, resolved from host names; each once; never the tunnel's own), and
 * which allowed IPs become tunnel routes with routes: auto (split only; defaults refused;
 * ones that are an endpoint or inside an exclude left out).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateProfileText } from '../../daemon/profile/validate.js';
import type { Profile } from '../../daemon/profile/profile.js';
import { planRoutes } from '../../daemon/plan/plan.js';
import { allowedIpRoutes, endpointAddresses } from '../../daemon/plan/peers.js';
import type { PeerFacts, PlanFacts } from '../../daemon/plan/facts.js';
import { covers, formatPrefix, parsePrefix } from '../../daemon/profile/prefix.js';

const KEY = (n: number): string => n.toString(16).padStart(64, '0');

function profile(text: string): Profile {
  const result = validateProfileText(`interface: {name: wg0}\naddress: 10.10.10.2\n${text}`, 'p.yaml', { platform: 'linux' });
  assert.equal(result.problems, undefined, JSON.stringify(result.problems));
  return result.profile as Profile;
}

function facts(peers?: PeerFacts): PlanFacts {
  return {
    os: 'linux',
    tunnel: { name: 'wg0', index: 9, addresses: [] },
    physicalDefaults: [{ family: 'inet', gateway: '192.168.1.1', interface: 'eth0', index: 2, metric: null }],
    existing: [],
    ...(peers ? { peers } : {}),
  };
}

const peers = (list: PeerFacts['peers'], hosts: PeerFacts['hosts'] = [], error: string | null = null): PeerFacts => ({ source: '/var/run/wireguard/wg0.sock', error, peers: list, hosts });

test('endpoint addresses: listed, then auto, then host names; each once; the tunnel address never', () => {
  const p = profile('endpoints: [203.0.113.7, auto, vpn.example.com]\n');
  const warnings: string[] = [];
  const got = endpointAddresses(
    p,
    facts(
      peers(
        [
          { publicKey: KEY(1), endpoint: { address: '198.51.100.1', port: 51820 }, allowedIps: [] },
          { publicKey: KEY(2), endpoint: { address: '203.0.113.7', port: 51820 }, allowedIps: [] },
          { publicKey: KEY(3), endpoint: null, allowedIps: [] },
          { publicKey: KEY(4), endpoint: { address: '10.10.10.2', port: 1 }, allowedIps: [] },
        ],
        [{ name: 'vpn.example.com', addresses: ['198.51.100.1', '198.51.100.9', '127.0.0.1'], error: null }],
      ),
    ),
    warnings,
    ['10.10.10.2'],
  );
  assert.deepEqual(got.map((e) => `${e.address} ${e.from}`), ['203.0.113.7 listed', '198.51.100.1 peer AAAAAAAA…', '198.51.100.9 vpn.example.com']);
  assert.deepEqual(warnings, [
    'endpoint 10.10.10.2 (peer AAAAAAAA…) is the tunnel\'s own address: it gets no route via the physical gateway',
    'endpoint 127.0.0.1 (vpn.example.com) is not a unicast address outside this host: it gets no route',
  ]);
});

test('endpoint addresses: unread peers and unresolved names are warnings, never routes', () => {
  const p = profile('endpoints: [auto, vpn.example.com]\n');
  const unread: string[] = [];
  assert.deepEqual(endpointAddresses(p, facts(), unread), []);
  assert.deepEqual(unread, ["the tunnel's peers have not been read yet: endpoints: auto and routes: auto add nothing for now", 'endpoint vpn.example.com has not been resolved yet: no route for it']);
  const failing: string[] = [];
  const kept = endpointAddresses(p, facts(peers([{ publicKey: KEY(1), endpoint: { address: '198.51.100.1', port: 1 }, allowedIps: [] }], [{ name: 'vpn.example.com', addresses: [], error: 'ENOTFOUND' }], 'timeout')), failing);
  assert.deepEqual(kept.map((e) => e.address), ['198.51.100.1'], 'the last good reading still counts');
  assert.deepEqual(failing, ["cannot read the tunnel's peers (timeout): using the last reading", 'endpoint vpn.example.com does not resolve (ENOTFOUND): no route for it']);
});

test('routes: auto in split mode: allowed IPs of planned families; defaults refused; endpoints and excluded ones left out', () => {
  const p = profile('mode: split\nroutes: auto\nendpoints: auto\nexclude: [10.30.0.0/16]\n');
  const f = facts(
    peers([
      { publicKey: KEY(1), endpoint: { address: '198.51.100.1', port: 51820 }, allowedIps: ['10.20.0.0/24', '0.0.0.0/0', 'fd00::/64', '198.51.100.1/32', '10.30.1.0/24'] },
      { publicKey: KEY(2), endpoint: null, allowedIps: ['10.20.0.0/24', '10.40.0.0/16'] },
    ]),
  );
  const warnings: string[] = [];
  const endpoints = endpointAddresses(p, f, warnings);
  const routes = allowedIpRoutes(p, f, ['inet'], endpoints, warnings).map(formatPrefix);
  assert.deepEqual(routes, ['10.20.0.0/24', '10.40.0.0/16']);
  assert.deepEqual(warnings, [
    'routes: auto: peer AAAAAAAA… allows 0.0.0.0/0, the whole IPv4 internet: split mode refuses it, expected mode: full for a full tunnel',
    'routes: auto: allowed IP 198.51.100.1/32 is the endpoint 198.51.100.1, which must bypass the tunnel: left out',
    'routes: auto: allowed IP 10.30.1.0/24 is inside exclude 10.30.0.0/16, which keeps it on the physical network: left out',
  ]);

  const plan = planRoutes(p, f);
  const tunnel = plan.routes.filter((r) => r.origin === 'tunnel' && r.table === 254).map((r) => `${r.destination} dev ${r.interface}`);
  assert.deepEqual(tunnel, ['10.20.0.0/24 dev wg0', '10.40.0.0/16 dev wg0'], 'in main, through the tunnel');
  assert.ok(plan.routes.some((r) => r.origin === 'endpoint' && r.destination === '198.51.100.1/32'));
});

test('routes: auto in full mode adds nothing; a listed route that is also allowed is planned once', () => {
  const allowed = facts(peers([{ publicKey: KEY(1), endpoint: null, allowedIps: ['0.0.0.0/0', '10.20.0.0/24'] }]));
  const full = planRoutes(profile('mode: full\nroutes: auto\nendpoints: [203.0.113.7]\n'), allowed);
  assert.equal(full.routes.some((r) => r.destination === '10.20.0.0/24'), false);
  assert.equal(full.warnings.some((w) => /refuses/.test(w)), false, 'full mode takes the default anyway');
  const split = planRoutes(profile('mode: split\nroutes: [10.20.0.0/24, auto]\nendpoints: [203.0.113.7]\n'), allowed);
  assert.equal(split.routes.filter((r) => r.destination === '10.20.0.0/24').length, 1);
});

test('endpoints that a route via the gateway would misdirect: link-local ones and the gateway itself get none, with a warning', () => {
  const parsed = validateProfileText('interface: {name: wg0}\naddress: [10.10.10.2, fd00::2]\nipv6: true\nendpoints: [auto, 192.168.1.1]\n', 'p.yaml', { platform: 'linux' });
  assert.equal(parsed.problems, undefined, JSON.stringify(parsed.problems));
  const p = parsed.profile as Profile;
  const f: PlanFacts = {
    ...facts(
      peers([
        { publicKey: KEY(1), endpoint: { address: 'fe80::1', port: 51820 }, allowedIps: [] },
        { publicKey: KEY(2), endpoint: { address: '169.254.7.7', port: 51820 }, allowedIps: [] },
        { publicKey: KEY(3), endpoint: { address: '192.168.1.1', port: 51820 }, allowedIps: [] },
        { publicKey: KEY(4), endpoint: { address: '2001:db8::7', port: 51820 }, allowedIps: [] },
        { publicKey: KEY(5), endpoint: { address: 'febf::1', port: 51820 }, allowedIps: [] },
      ]),
    ),
    physicalDefaults: [
      { family: 'inet', gateway: '192.168.1.1', interface: 'eth0', index: 2, metric: null },
      { family: 'inet6', gateway: 'fe80::1%eth0', interface: 'eth0', index: 2, metric: null },
    ],
  };
  const warnings: string[] = [];
  assert.deepEqual(endpointAddresses(p, f, warnings).map((e) => e.address), ['2001:db8::7']);
  assert.deepEqual(warnings, [
    'endpoint 192.168.1.1 (listed) is the physical gateway itself: it is reached on its link and needs no route',
    'endpoint fe80::1 (peer AAAAAAAA…) is link-local: it is reached on its own link, never via a gateway, so it gets no route',
    'endpoint 169.254.7.7 (peer AAAAAAAA…) is link-local: it is reached on its own link, never via a gateway, so it gets no route',
    'endpoint febf::1 (peer AAAAAAAA…) is link-local: it is reached on its own link, never via a gateway, so it gets no route',
  ]);
  const plan = planRoutes(p, f);
  assert.deepEqual(plan.routes.filter((r) => r.origin === 'endpoint').map((r) => r.destination), ['2001:db8::7/128']);
});

test('routes: auto without endpoints: auto warns about a peer whose endpoint lies inside a route into the tunnel', () => {
  const f = facts(
    peers([
      { publicKey: KEY(1), endpoint: { address: '203.0.113.5', port: 51820 }, allowedIps: ['203.0.113.0/24'] },
      { publicKey: KEY(2), endpoint: { address: '10.50.1.1', port: 51820 }, allowedIps: ['10.20.0.0/24'] },
      { publicKey: KEY(3), endpoint: { address: '198.51.100.1', port: 51820 }, allowedIps: ['10.21.0.0/24'] },
      { publicKey: KEY(4), endpoint: { address: '10.60.0.1', port: 51820 }, allowedIps: ['10.60.0.0/16'] },
    ]),
  );
  const bare = planRoutes(profile('mode: split\nroutes: [auto, 10.50.0.0/16]\nexclude: [10.60.0.0/24]\n'), f);
  const loops = bare.warnings.filter((w) => /carry its own packets/.test(w));
  assert.deepEqual(loops, [
    "peer AAAAAAAA…'s endpoint 203.0.113.5 is inside 203.0.113.0/24, routed into the tunnel, and has no endpoint route: the tunnel would carry its own packets, expected endpoints: auto (or the endpoint listed)",
    "peer AAAAAAAA…'s endpoint 10.50.1.1 is inside 10.50.0.0/16, routed into the tunnel, and has no endpoint route: the tunnel would carry its own packets, expected endpoints: auto (or the endpoint listed)",
  ]);
  const listed = planRoutes(profile('mode: split\nroutes: auto\nendpoints: [203.0.113.5]\n'), f);
  assert.equal(listed.warnings.some((w) => /endpoint 203\.0\.113\.5 .*carry its own packets/.test(w)), false, 'a listed endpoint has its route');
  assert.ok(listed.warnings.some((w) => /endpoint 10\.60\.0\.1 is inside 10\.60\.0\.0\/16/.test(w)), 'without the exclude, the allowed IP holding its own endpoint warns');
  const auto = planRoutes(profile('mode: split\nroutes: auto\nendpoints: auto\n'), f);
  assert.equal(auto.warnings.some((w) => /carry its own packets/.test(w)), false);
  assert.ok(auto.routes.some((r) => r.origin === 'endpoint' && r.destination === '203.0.113.5/32'));
});

test('routes: auto against many excludes: exactly the allowed IPs no exclude covers (as a pairwise check decides)', () => {
  // 200 excludes of mixed lengths, 2,000 allowed IPs; the answer is compared with covers() over every pair.
  const excludes = Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? `10.${i + 20}.0.0/16` : i % 3 === 1 ? `10.${i + 20}.${i}.0/24` : `172.${16 + (i % 16)}.${i}.128/25`));
  const p = profile(`mode: split\nroutes: auto\nexclude: [${excludes.join(', ')}]\n`);
  const allowed = Array.from({ length: 2000 }, (_, i) => (i % 2 === 0 ? `10.${i % 256}.${(i * 7) % 256}.0/24` : `172.${16 + (i % 16)}.${i % 256}.${(i % 2) * 128}/26`));
  const f = facts(peers([{ publicKey: KEY(1), endpoint: null, allowedIps: allowed }]));
  const got = allowedIpRoutes(p, f, ['inet'], [], []).map(formatPrefix);
  const expected = [...new Set(allowed)].filter((a) => {
    const inner = parsePrefix(a);
    return inner.ok && !p.exclude.some((x) => covers(x, inner.prefix));
  });
  assert.ok(expected.length > 100 && expected.length < allowed.length, `the data exercises both sides (${expected.length} kept)`);
  assert.deepEqual(got, expected);
});

test('full mode warns when the peers read leave part of the family uncovered: that traffic would be dropped by wireguard-go', () => {
  const p = profile('mode: full\nendpoints: auto\n');
  const uncovered = (allowedIps: string[][], error: string | null = null): string[] =>
    planRoutes(p, facts(peers(allowedIps.map((a, i) => ({ publicKey: KEY(i + 1), endpoint: { address: `198.51.100.${i + 1}`, port: 51820 }, allowedIps: a })), [], error))).warnings.filter((w) => /do not cover/.test(w));
  assert.deepEqual(uncovered([['10.0.0.0/8'], ['172.16.0.0/12']]), [
    "full mode sends all IPv4 traffic into the tunnel, but the peers' allowed IPs do not cover 0.0.0.0/0: wireguard-go drops what no peer allows, expected a peer allowing 0.0.0.0/0 or mode: split with routes: auto",
  ]);
  assert.deepEqual(uncovered([['0.0.0.0/0']]), []);
  assert.deepEqual(uncovered([['0.0.0.0/1', '10.0.0.0/8'], ['128.0.0.0/2', '192.0.0.0/2']]), [], 'halves and quarters over several peers cover it');
  assert.equal(uncovered([['0.0.0.0/1'], ['128.0.0.0/2']]).length, 1, '192.0.0.0/2 is missing');
  assert.deepEqual(uncovered([['10.0.0.0/8']], 'timeout'), [], 'a failed read is not judged');
  assert.deepEqual(uncovered([[]]), [], 'no allowed IPs read (flags with --endpoint alone): nothing to judge');
  const split = planRoutes(profile('mode: split\nroutes: auto\nendpoints: auto\n'), facts(peers([{ publicKey: KEY(1), endpoint: null, allowedIps: ['10.0.0.0/8'] }])));
  assert.equal(split.warnings.some((w) => /do not cover/.test(w)), false, 'split mode is not judged');
});
