import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  REQUEST_FLAGS,
  TUNROUTE_RTPROT,
  decodeMessage,
  encodeDelRoute,
  encodeDelRule,
  encodeDump,
  encodeNewRoute,
  encodeNewRule,
  type LinuxMessage,
} from '../../daemon/codec/linux/index.js';

function decodeOne(bytes: Uint8Array): LinuxMessage {
  assert.equal(bytes.length % 4, 0, 'whole message is 4-byte aligned');
  const m = decodeMessage(bytes);
  assert.equal(m.header.length, bytes.length);
  return m;
}

test('new route: every field survives encode → decode', () => {
  const m = decodeOne(
    encodeNewRoute(
      { family: 'inet', destination: '10.10.0.0/16', gateway: '192.0.2.1', oif: 4, table: 100, priority: 7, prefsrc: '10.0.0.2', mtu: 1280 },
      42,
      REQUEST_FLAGS.create,
    ),
  );
  assert.ok(m.kind === 'route');
  assert.deepEqual(m.header, { length: m.header.length, type: 24, flags: REQUEST_FLAGS.create, seq: 42, portid: 0 });
  assert.deepEqual(
    [m.family, m.destination, m.gateway, m.oif, m.table, m.priority, m.prefsrc, m.mtu, m.protocol, m.scope, m.routeType],
    [2, '10.10.0.0/16', '192.0.2.1', 4, 100, 7, '10.0.0.2', 1280, TUNROUTE_RTPROT, 0, 1],
  );
});

test('new route without a gateway is a link-scope device route; /0 has no RTA_DST and decodes as 0.0.0.0/0', () => {
  const bytes = encodeNewRoute({ family: 'inet', destination: '0.0.0.0/0', oif: 9 }, 1, REQUEST_FLAGS.replace);
  assert.equal(bytes.length, 16 + 12 + 8, 'rtmsg plus RTA_OIF only');
  const m = decodeOne(bytes);
  assert.ok(m.kind === 'route');
  assert.equal(m.destination, '0.0.0.0/0');
  assert.equal(m.gateway, null);
  assert.equal(m.scope, 253);
  assert.equal(m.table, 254);
  assert.equal(m.header.flags, REQUEST_FLAGS.replace);
});

test('IPv6 route with a table above 255: rtm_table unspec on the wire, RTA_TABLE decoded', () => {
  const bytes = encodeNewRoute({ family: 'inet6', destination: '2001:db8::/32', gateway: 'fe80::1', oif: 3, table: 51820 }, 2, REQUEST_FLAGS.create);
  assert.equal(bytes[16 + 4], 0, 'rtm_table is RT_TABLE_UNSPEC');
  const m = decodeOne(bytes);
  assert.ok(m.kind === 'route');
  assert.deepEqual([m.family, m.destination, m.gateway, m.table], [10, '2001:db8::/32', 'fe80::1', 51820]);
});

test('delete route: wildcards for protocol, scope and type unless given', () => {
  const any = decodeOne(encodeDelRoute({ family: 'inet', destination: '10.0.0.0/8' }, 3, REQUEST_FLAGS.delete));
  assert.ok(any.kind === 'route');
  assert.deepEqual([any.typeName, any.protocol, any.scope, any.routeType], ['RTM_DELROUTE', 0, 255, 0]);
  const ours = decodeOne(encodeDelRoute({ family: 'inet', destination: '10.0.0.0/8', protocol: TUNROUTE_RTPROT, priority: 5 }, 4, REQUEST_FLAGS.delete));
  assert.ok(ours.kind === 'route');
  assert.deepEqual([ours.protocol, ours.priority], [TUNROUTE_RTPROT, 5]);
});

test('new and delete rule: every field survives encode → decode', () => {
  const spec = {
    family: 'inet6',
    priority: 10,
    src: '2001:db8::2/128',
    dst: '2001:db8:1::/48',
    table: 300,
    fwmark: 0xca6c,
    fwmask: 0xffff,
    suppressPrefixlen: 0,
    iifname: 'lo',
    oifname: 'wg0',
    invert: true,
  } as const;
  const m = decodeOne(encodeNewRule(spec, 5, REQUEST_FLAGS.create));
  assert.ok(m.kind === 'rule');
  assert.deepEqual(
    [m.typeName, m.family, m.priority, m.src, m.dst, m.table, m.fwmark, m.fwmask, m.suppressPrefixlen, m.iifname, m.oifname, m.flags, m.action, m.protocol],
    ['RTM_NEWRULE', 10, 10, '2001:db8::2/128', '2001:db8:1::/48', 300, 0xca6c, 0xffff, 0, 'lo', 'wg0', 2, 1, TUNROUTE_RTPROT],
  );
  const d = decodeOne(encodeDelRule({ family: 'inet', priority: 100, src: '10.0.0.2', table: 51820 }, 6, REQUEST_FLAGS.delete));
  assert.ok(d.kind === 'rule');
  assert.deepEqual([d.typeName, d.src, d.table, d.protocol], ['RTM_DELRULE', '10.0.0.2/32', 51820, null]);
});

test('dump requests: the right GET type, NLM_F_DUMP, the family, nothing else', () => {
  for (const [object, type, kind, size] of [
    ['route', 26, 'route', 12],
    ['link', 18, 'link', 16],
    ['address', 22, 'address', 8],
    ['rule', 34, 'rule', 12],
  ] as const) {
    const bytes = encodeDump(object, 'inet6', 77, REQUEST_FLAGS.dump);
    assert.equal(bytes.length, 16 + size);
    const m = decodeOne(bytes);
    assert.equal(m.kind, kind);
    assert.equal(m.header.type, type);
    assert.equal(m.header.flags, 0x301);
    assert.equal(m.header.seq, 77);
    assert.equal(bytes[16], 10, 'family AF_INET6 is the first byte of every object header');
    assert.ok(bytes.subarray(17).every((b) => b === 0));
  }
});

test('encoders refuse what the kernel would: host bits, mixed families', () => {
  assert.throws(() => encodeNewRoute({ family: 'inet', destination: '10.0.0.1/8' }, 1, REQUEST_FLAGS.create), /host bits/);
  assert.throws(() => encodeNewRoute({ family: 'inet', destination: '::/0' }, 1, REQUEST_FLAGS.create), /not an inet prefix/);
  assert.throws(() => encodeNewRoute({ family: 'inet', destination: '10.0.0.0/8', gateway: 'fe80::1' }, 1, REQUEST_FLAGS.create), /gateway/);
  assert.throws(() => encodeNewRule({ family: 'inet6', src: '10.0.0.2/32', table: 5 }, 1, REQUEST_FLAGS.create), /src/);
});
