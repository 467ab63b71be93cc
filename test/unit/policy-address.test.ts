/**
 * @module test/unit/policy-address
 * When the tunnel counts as ready: with IPv6 routed into it, an IPv6 address (not only a
 * link-local one) must be there too, or ::/0 would be planned into a tunnel that cannot
 * carry it. Blocked or bypassed IPv6 needs only IPv4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createPolicy } from '../../daemon/policy.js';
import { validateProfileText } from '../../daemon/profile/validate.js';
import type { Profile } from '../../daemon/profile/profile.js';
import type { KernelInterface } from '../../daemon/backends/backend.js';

const log = pino({ level: 'silent' });

function policyFor(text: string) {
  const profile = validateProfileText(`interface: {name: wg0}\n${text}`, 'p.yaml', { platform: 'linux' }).profile as Profile;
  assert.ok(profile);
  return createPolicy(profile, 'linux', log);
}

const iface = (...addresses: string[]): KernelInterface => ({ name: 'wg0', index: 9, up: true, addresses, mtu: 1420, pointToPoint: true });

test('ipv6: true without profile addresses waits for a global IPv6 address next to the IPv4 one', () => {
  const p = policyFor('ipv6: true\n');
  assert.equal(p.hasAddress(iface('10.10.10.2/32')), false, 'IPv4 alone is not enough');
  assert.equal(p.hasAddress(iface('10.10.10.2/32', 'fe80::1/64')), false, 'a link-local address cannot carry ::/0');
  assert.equal(p.hasAddress(iface('fd00::2/128')), false, 'IPv6 alone is not enough either');
  assert.equal(p.hasAddress(iface('10.10.10.2/32', 'fd00::2/128')), true);
});

test('ipv6: true with profile addresses waits for every one of them', () => {
  const p = policyFor('ipv6: true\naddress: [10.10.10.2, "fd00::2"]\n');
  assert.equal(p.hasAddress(iface('10.10.10.2/32')), false);
  assert.equal(p.hasAddress(iface('10.10.10.2/32', 'fd00::2/128')), true);
});

test('IPv6 blocked or bypassed: an IPv4 address is enough', () => {
  for (const text of ['', 'ipv6: bypass\n']) {
    const p = policyFor(text);
    assert.equal(p.hasAddress(iface('10.10.10.2/32')), true, text || 'default');
    assert.equal(p.hasAddress(iface('fd00::2/128')), false, 'but not IPv6 alone');
  }
});
