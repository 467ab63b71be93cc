/**
 * @module test/unit/backend-linux-policy
 * The Linux backend's mapping of what the policy strategy and the IPv6 block write: a rule
 * with suppress_prefixlength, fwmark and `not`, and an unreachable route, each encoded as
 * the backend sends it and decoded as the kernel reports it, come back as the same rule
 * (same ruleKey) and a route that satisfies the planned one. The kernel's "unset"
 * suppress_prefixlength (0xffffffff) reads as unset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeSpec, ruleSpec, toKernelRoute, toKernelRule, LinuxBackend } from '../../daemon/backends/linux.js';
import { encodeNewRoute, encodeNewRule, REQUEST_FLAGS, TUNROUTE_RTPROT, walk, type RouteMessage, type RuleMessage } from '../../daemon/codec/linux/index.js';
import { ruleKey, type Route, type Rule } from '../../daemon/model/route.js';
import type { NativeBinding } from '../../native/index.js';

function decodeOne<T>(bytes: Uint8Array): T {
  const walked = walk(bytes);
  assert.deepEqual(walked.errors, []);
  return walked.messages[0]?.message as T;
}

test('policy rules survive the round trip with their suppress_prefixlength, fwmark and not', () => {
  const rules: Rule[] = [
    { family: 'inet', priority: 10000, from: null, table: 254, suppressPrefixlength: 0 },
    { family: 'inet6', priority: 10001, from: null, table: 51820, fwmark: 51820, invert: true },
    { family: 'inet', priority: 10001, from: null, table: 51820 },
    { family: 'inet', priority: 10000, from: '10.10.10.2/32', table: 51820 },
  ];
  for (const rule of rules) {
    const message = decodeOne<RuleMessage>(encodeNewRule({ ...ruleSpec(rule), protocol: TUNROUTE_RTPROT }, 1, REQUEST_FLAGS.create));
    const kernel = toKernelRule(message);
    assert.ok(kernel);
    assert.equal(kernel.tagged, true);
    assert.equal(ruleKey(kernel), ruleKey(rule), JSON.stringify(rule));
  }
  // Different rules never share a key.
  assert.equal(new Set(rules.map(ruleKey)).size, rules.length);
});

test('the kernel\'s unset suppress_prefixlength (-1) is no suppress_prefixlength', () => {
  const message = decodeOne<RuleMessage>(encodeNewRule({ family: 'inet', priority: 32766, table: 254, suppressPrefixlen: 0xffffffff, protocol: 0 }, 1, REQUEST_FLAGS.create));
  const kernel = toKernelRule(message);
  assert.equal(kernel?.suppressPrefixlength, null);
  assert.equal(kernel?.tagged, false);
  assert.equal(ruleKey(kernel as Rule), ruleKey({ family: 'inet', priority: 32766, from: null, table: 254 }));
});

test('an unreachable route: sent without device or gateway, read back as the same route', () => {
  const planned: Route = { family: 'inet6', destination: '::/0', gateway: { link: 0 }, interface: '', index: 0, scope: null, table: 51820, metric: null, flags: [], mtu: null, origin: 'tunnel', type: 'unreachable' };
  const spec = routeSpec(planned);
  assert.equal(spec.oif, undefined, 'no device');
  assert.equal(spec.gateway, undefined, 'no gateway');
  const message = decodeOne<RouteMessage>(encodeNewRoute({ ...spec, protocol: TUNROUTE_RTPROT }, 1, REQUEST_FLAGS.create));
  // IPv6 reports a refusing route on lo (oif 1): it is still a route without device.
  const kernel = toKernelRoute({ ...message, oif: 1 });
  assert.ok(kernel);
  assert.deepEqual([kernel.type, kernel.index, kernel.gateway, kernel.metric, kernel.table], ['unreachable', 0, null, 1024, 51820]);
  const backend = new LinuxBackend({ native: {} as NativeBinding });
  assert.equal(backend.satisfies(kernel, planned), true);
  const unicast: Route = { ...planned, gateway: { link: 9 }, interface: 'wg0', index: 9 };
  delete unicast.type;
  assert.equal(backend.satisfies(kernel, unicast), false, 'the tunnel\'s own default is not satisfied by the block');
  assert.equal(backend.sameKey(kernel, unicast), true, 'though it holds the same key');
});
