// The `system` strategy's dictionaries, byte for byte as they are published (the reference's
// §9 recipes for the seed machine), the table IPMonitor is expected to build from them, and
// how `tunroute plan` shows both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateProfileText } from '../../daemon/profile/validate.js';
import type { Profile } from '../../daemon/profile/profile.js';
import type { PlanFacts } from '../../daemon/plan/facts.js';
import { planRoutes } from '../../daemon/plan/plan.js';
import { flagLetters, formatPlanText, netstatDestination, planJson } from '../../daemon/plan/format.js';
import { ipv6Mode, serviceKeyPattern, serviceKeys, systemDictionaries } from '../../daemon/strategies/system.js';

function profile(text: string, name = 'seed'): Profile {
  const result = validateProfileText(text, `${name}.yaml`, { platform: 'darwin' });
  assert.equal(result.problems, undefined, JSON.stringify(result.problems));
  return result.profile as Profile;
}

const FACTS: PlanFacts = {
  os: 'darwin',
  tunnel: { name: 'utun7', index: 36, addresses: ['10.10.10.2/32'] },
  physicalDefaults: [{ family: 'inet', gateway: '192.168.1.1', interface: 'en0', index: 4 }],
  existing: [
    { family: 'inet', destination: '0.0.0.0/0', gateway: { address: '192.168.1.1' }, interface: 'en0', index: 4, scope: null, table: null, metric: null, flags: ['UP', 'GATEWAY', 'STATIC'], mtu: null },
  ],
};

const SEED = 'interface: {name: utun7}\naddress: 10.10.10.2/32\nendpoints: ["203.0.113.7:51820"]\nexclude: [198.51.100.0/24]\n';

test('full tunnel: the IPv4 service with OverridePrimary, excluded endpoint and prefix, and the null IPv6 service', () => {
  const { values, warnings } = systemDictionaries(profile(SEED), FACTS);
  assert.equal(
    JSON.stringify(values),
    '{"State:/Network/Service/org.tunroute.seed/IPv4":{"InterfaceName":"utun7","Addresses":["10.10.10.2"],"Router":"10.10.10.2","OverridePrimary":1,' +
      '"ExcludedRoutes":[{"DestinationAddress":"203.0.113.7","SubnetMask":"255.255.255.255"},{"DestinationAddress":"198.51.100.0","SubnetMask":"255.255.255.0"}]},' +
      '"State:/Network/Service/org.tunroute.seed/IPv6":{"InterfaceName":"utun7","Addresses":["::1"],"Router":"::1","OverridePrimary":1,"IsNULL":true}}',
  );
  assert.deepEqual(warnings, []);
});

test('split mode: PrimaryRank Never, no OverridePrimary, routes as AdditionalRoutes, nothing for IPv6', () => {
  const { values } = systemDictionaries(profile(`${SEED}mode: split\nroutes: [10.20.0.0/16, 172.16.5.9]\n`), FACTS);
  assert.equal(
    JSON.stringify(values),
    '{"State:/Network/Service/org.tunroute.seed":{"PrimaryRank":"Never"},' +
      '"State:/Network/Service/org.tunroute.seed/IPv4":{"InterfaceName":"utun7","Addresses":["10.10.10.2"],"Router":"10.10.10.2",' +
      '"AdditionalRoutes":[{"DestinationAddress":"10.20.0.0","SubnetMask":"255.255.0.0"},{"DestinationAddress":"172.16.5.9","SubnetMask":"255.255.255.255"}],' +
      '"ExcludedRoutes":[{"DestinationAddress":"203.0.113.7","SubnetMask":"255.255.255.255"},{"DestinationAddress":"198.51.100.0","SubnetMask":"255.255.255.0"}]}}',
  );
});

test('IPv6 into the tunnel: the real IPv6 service, its own address as router below /128', () => {
  const p = profile('interface: {name: utun7}\naddress: [10.10.10.2, "fd00:10::2/64"]\nipv6: true\nendpoints: ["[2001:db8::7]:51820"]\nroutes: ["fd00:20::/48"]\n');
  const { values, warnings } = systemDictionaries(p, FACTS);
  assert.equal(
    JSON.stringify(values['State:/Network/Service/org.tunroute.seed/IPv6']),
    '{"InterfaceName":"utun7","Addresses":["fd00:10::2"],"PrefixLength":[64],"Router":"fd00:10::2","OverridePrimary":1,' +
      '"AdditionalRoutes":[{"DestinationAddress":"fd00:20::","PrefixLength":48}],"ExcludedRoutes":[{"DestinationAddress":"2001:db8::7","PrefixLength":128}]}',
  );
  assert.deepEqual(warnings, []);
  assert.equal(ipv6Mode(p), 'tunnel');
});

test('IPv6 /128 (wg-quick style): the utun\'s link-local address is the router; without one, IPv6 is blocked, not leaked', () => {
  const p = profile('interface: {name: utun7}\naddress: [10.10.10.2, "fd00:10::2/128"]\nipv6: true\n');
  const withLinkLocal = systemDictionaries(p, { ...FACTS, tunnel: { ...FACTS.tunnel, addresses: ['10.10.10.2/32', 'fe80::a1b2%utun7/64', 'fd00:10::2/128'] } });
  assert.deepEqual(withLinkLocal.values['State:/Network/Service/org.tunroute.seed/IPv6'], {
    InterfaceName: 'utun7', Addresses: ['fd00:10::2'], PrefixLength: [128], Router: 'fe80::a1b2', OverridePrimary: 1,
  });
  const without = systemDictionaries(p, FACTS);
  assert.deepEqual(without.values['State:/Network/Service/org.tunroute.seed/IPv6'], { InterfaceName: 'utun7', Addresses: ['::1'], Router: '::1', OverridePrimary: 1, IsNULL: true });
  assert.match(without.warnings.join('\n'), /fd00:10::2 is a \/128 and utun7 has no link-local address/);
});

test('DNS: the resolver of a full tunnel; a split tunnel asks it only for its domains', () => {
  const dns = 'dns:\n  servers: [10.64.0.1, 10.64.0.2]\n  searchDomains: [Corp.Example.com.]\n';
  const full = systemDictionaries(profile(`${SEED}${dns}`), FACTS).values['State:/Network/Service/org.tunroute.seed/DNS'];
  assert.equal(JSON.stringify(full), '{"ServerAddresses":["10.64.0.1","10.64.0.2"],"SearchDomains":["corp.example.com"]}');
  const split = systemDictionaries(profile(`${SEED}mode: split\n${dns}`), FACTS).values['State:/Network/Service/org.tunroute.seed/DNS'];
  assert.equal(JSON.stringify(split), '{"ServerAddresses":["10.64.0.1","10.64.0.2"],"SearchDomains":["corp.example.com"],"SupplementalMatchDomains":["corp.example.com"]}');
  const serversOnly = systemDictionaries(profile(`${SEED}dns:\n  servers: [10.64.0.1]\n`), FACTS).values['State:/Network/Service/org.tunroute.seed/DNS'];
  assert.deepEqual(serversOnly, { ServerAddresses: ['10.64.0.1'] });
});

test('the service id follows the profile name: two profiles, two services; the key pattern matches only its own', () => {
  const a = systemDictionaries(profile(`name: office\n${SEED}`), FACTS);
  const b = systemDictionaries(profile(`name: office.b\n${SEED}`), FACTS);
  assert.equal(a.id, 'org.tunroute.office');
  assert.equal(b.id, 'org.tunroute.office.b');
  assert.deepEqual(Object.keys(a.values), [serviceKeys('org.tunroute.office').ipv4, serviceKeys('org.tunroute.office').ipv6]);
  const pattern = new RegExp(serviceKeyPattern('org.tunroute.office.b'));
  assert.ok(pattern.test('State:/Network/Service/org.tunroute.office.b'));
  assert.ok(pattern.test('State:/Network/Service/org.tunroute.office.b/IPv4'));
  assert.ok(!pattern.test('State:/Network/Service/org.tunroute.officeXb/IPv4'), 'the dots are literal');
  assert.ok(!pattern.test('State:/Network/Service/org.tunroute.office.bc/IPv4'));
  assert.ok(!pattern.test('Setup:/Network/Service/org.tunroute.office.b/IPv4'));
});

const rows = (p: Profile): string[][] =>
  planRoutes(p, FACTS).routes.map((r) => [netstatDestination(r.destination, r.flags.includes('HOST')), 'link' in r.gateway ? `link#${r.gateway.link}` : r.gateway.address, flagLetters(r.flags), r.interface, r.origin]);

test('the table IPMonitor is expected to build: the seed\'s, full and split, and no action for tunroute', () => {
  const full = profile(SEED);
  assert.deepEqual(rows(full), [
    ['203.0.113.7', '192.168.1.1', 'UGHS', 'en0', 'endpoint'],
    ['198.51.100', '192.168.1.1', 'UGSc', 'en0', 'exclude'],
    ['default', '192.168.1.1', 'UGScIg', 'en0', 'demoted'],
    ['10.10.10.2', '10.10.10.2', 'UH', 'utun7', 'host'],
    ['default', 'link#36', 'UCSg', 'utun7', 'tunnel'],
    ['224.0.0/4', 'link#36', 'UmCS', 'utun7', 'tunnel'],
    ['255.255.255.255/32', 'link#36', 'UCS', 'utun7', 'tunnel'],
  ]);
  const plan = planRoutes(full, FACTS);
  assert.deepEqual([plan.actions, plan.teardown], [[], []]);
  assert.deepEqual(rows(profile(`${SEED}mode: split\nroutes: [10.20.0.0/16]\n`)).filter((r) => r[3] === 'utun7'), [
    ['10.10.10.2', '10.10.10.2', 'UH', 'utun7', 'host'],
    ['default', 'link#36', 'UCSIg', 'utun7', 'tunnel'],
    ['224.0.0/4', 'link#36', 'UmCSI', 'utun7', 'tunnel'],
    ['255.255.255.255/32', 'link#36', 'UCSI', 'utun7', 'tunnel'],
    ['10.20/16', 'link#36', 'UCS', 'utun7', 'tunnel'],
  ]);
});

test('an excluded prefix inside en0\'s subnet is expected on-link; a wider one via the gateway, as IPMonitor resolves them', () => {
  const withSubnet: PlanFacts = { ...FACTS, physicalDefaults: [{ ...FACTS.physicalDefaults[0]!, subnets: ['192.168.1.10/24'] }] };
  const expected = planRoutes(profile('interface: {name: utun7}\naddress: 10.10.10.2\nexclude: [192.168.1.0/25, 192.168.0.0/16]\n'), withSubnet).routes.filter((r) => r.origin === 'exclude');
  assert.deepEqual(expected.map((r) => [r.destination, r.gateway, flagLetters(r.flags)]), [
    ['192.168.1.0/25', { link: 4 }, 'UCS'],
    ['192.168.0.0/16', { address: '192.168.1.1' }, 'UGSc'],
  ]);
});

test('plan --json has a configd object mapping each key to its dictionary; the text shows both', () => {
  const p = profile(`${SEED}dns:\n  servers: [10.64.0.1]\nmtu: 1420\n`);
  const plan = planRoutes(p, FACTS);
  const json = planJson(plan) as { configd: Record<string, unknown>; actions: unknown[]; warnings: string[] };
  assert.deepEqual(Object.keys(json.configd), [
    'State:/Network/Service/org.tunroute.seed/IPv4', 'State:/Network/Service/org.tunroute.seed/IPv6', 'State:/Network/Service/org.tunroute.seed/DNS',
  ]);
  assert.deepEqual(json.configd['State:/Network/Service/org.tunroute.seed/DNS'], { ServerAddresses: ['10.64.0.1'] });
  assert.deepEqual(json.actions, []);
  assert.match(json.warnings.join('\n'), /mtu 1420 is not applied/);
  const text = formatPlanText(plan);
  assert.match(text, /^Published to configd/);
  assert.match(text, /\n {2}State:\/Network\/Service\/org\.tunroute\.seed\/IPv4\n {4}\{\n {6}"InterfaceName": "utun7",/);
  assert.match(text, /Expected table \(IPMonitor builds it/);
  assert.match(text, /\ndefault +link#36 +UCSg +utun7 +tunnel\n/);
  assert.match(text, /Actions: none/);
});

test('replace and split-default plans carry no configd object', () => {
  const plan = planRoutes(profile(`fullTunnel: {strategy: replace}\n${SEED}`), FACTS);
  assert.equal('configd' in planJson(plan), false);
  assert.ok(plan.actions.length > 0);
});

test('tunroute plan --os darwin --json on the command line (the default strategy there is system)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-plan-system-'));
  const file = join(dir, 'office.yaml');
  writeFileSync(file, 'interface: {name: utun7}\naddress: 10.10.10.2\n');
  const cli = fileURLToPath(new URL('../../daemon/cli.js', import.meta.url));
  const run = spawnSync(process.execPath, [cli, 'plan', file, '--os', 'darwin', '--json', '--index', '36', '--gateway', '192.168.1.1', '--gateway-interface', 'en0', '--gateway-index', '4'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const json = JSON.parse(run.stdout) as { configd: Record<string, unknown> };
  assert.deepEqual(json.configd['State:/Network/Service/org.tunroute.office/IPv4'], { InterfaceName: 'utun7', Addresses: ['10.10.10.2'], Router: '10.10.10.2', OverridePrimary: 1 });
  const linux = spawnSync(process.execPath, [cli, 'check', file, '--os', 'linux'], { encoding: 'utf8' });
  assert.equal(linux.status, 0, 'Linux takes its own default strategy for the same profile');
});

test('endpoints: auto and routes: auto: the peers the planner reads become ExcludedRoutes and AdditionalRoutes', () => {
  const peers: NonNullable<PlanFacts['peers']> = {
    source: 'flags',
    error: null,
    peers: [{ publicKey: 'ab'.repeat(32), endpoint: { address: '198.51.100.9', port: 51820 }, allowedIps: ['10.30.0.0/16', '0.0.0.0/0'] }],
    hosts: [],
  };
  const full = systemDictionaries(profile('interface: {name: utun7}\naddress: 10.10.10.2\nendpoints: [auto, 203.0.113.7]\n'), { ...FACTS, peers });
  assert.deepEqual((full.values['State:/Network/Service/org.tunroute.seed/IPv4'] as { ExcludedRoutes: unknown }).ExcludedRoutes, [
    { DestinationAddress: '203.0.113.7', SubnetMask: '255.255.255.255' },
    { DestinationAddress: '198.51.100.9', SubnetMask: '255.255.255.255' },
  ]);
  const split = systemDictionaries(profile('interface: {name: utun7}\naddress: 10.10.10.2\nmode: split\nroutes: auto\nendpoints: auto\n'), { ...FACTS, peers });
  assert.deepEqual((split.values['State:/Network/Service/org.tunroute.seed/IPv4'] as { AdditionalRoutes: unknown }).AdditionalRoutes, [
    { DestinationAddress: '10.30.0.0', SubnetMask: '255.255.0.0' },
  ]);
  assert.match(split.warnings.join('\n'), /allows 0\.0\.0\.0\/0, the whole IPv4 internet: split mode refuses it/);
});
