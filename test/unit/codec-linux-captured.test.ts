import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHex, toHex } from '../../daemon/codec/bytes.js';
import {
  REQUEST_FLAGS,
  TUNROUTE_RTPROT,
  encodeDelRoute,
  encodeDelRule,
  encodeDump,
  encodeNewRoute,
  encodeNewRule,
  linuxCodec,
  toJson,
  toText,
  type LinuxMessage,
} from '../../daemon/codec/linux/index.js';
import { CAPTURED } from '../fixtures/linux/captured.js';

/** Every message the kernel sent in one step, in order; a step with decode errors fails here. */
function received(step: string): LinuxMessage[] {
  const s = CAPTURED.find((c) => c.step === step);
  assert.ok(s !== undefined, `step ${step} is in the fixture`);
  const out: LinuxMessage[] = [];
  for (const hex of s.received) {
    const result = linuxCodec.walk(parseHex(hex));
    assert.deepEqual(result.errors, [], `${step}: no decode errors`);
    assert.equal(result.unknown, 0, `${step}: no unknown types`);
    out.push(...result.messages.map((m) => m.message));
  }
  return out;
}

function sent(step: string): string | null {
  return CAPTURED.find((c) => c.step === step)?.sent ?? null;
}

const TUN0 = 2;
const device = { family: 'inet', destination: '192.0.2.0/24', oif: TUN0, priority: 100, mtu: 1380 } as const;
const viaGateway = { family: 'inet', destination: '10.20.0.0/16', gateway: '192.0.2.1', oif: TUN0, table: 51820 } as const;
const rule = { family: 'inet', priority: 100, src: '10.0.0.2/32', table: 51820 } as const;

test('the requests the kernel accepted are still what the encoders produce', () => {
  assert.equal(sent('route-add'), toHex(encodeNewRoute(device, 1, REQUEST_FLAGS.create)));
  assert.equal(sent('route-add-table'), toHex(encodeNewRoute(viaGateway, 3, REQUEST_FLAGS.create)));
  assert.equal(sent('rule-add'), toHex(encodeNewRule(rule, 4, REQUEST_FLAGS.create)));
  assert.equal(sent('dump-routes'), toHex(encodeDump('route', 'inet', 5, REQUEST_FLAGS.dump)));
  assert.equal(sent('dump-links'), toHex(encodeDump('link', 'unspec', 7, REQUEST_FLAGS.dump)));
  assert.equal(sent('route-del-table'), toHex(encodeDelRoute({ ...viaGateway, protocol: TUNROUTE_RTPROT }, 9, REQUEST_FLAGS.delete)));
  assert.equal(sent('rule-del'), toHex(encodeDelRule(rule, 10, REQUEST_FLAGS.delete)));
});

test('kernel: link, address and local-route notifications when tun0 comes up', () => {
  const messages = received('link-setup');
  const links = messages.filter((m) => m.kind === 'link');
  assert.ok(links.length >= 1);
  const last = links.at(-1);
  assert.ok(last?.kind === 'link');
  assert.equal(last.name, 'tun0');
  assert.equal(last.index, TUN0);
  assert.equal(last.mtu, 1420);
  assert.equal(last.linkKind, 'tun');
  assert.ok((toJson(last).flags as string[]).includes('UP'));
  const address = messages.find((m) => m.kind === 'address');
  assert.ok(address?.kind === 'address');
  assert.equal(address.local, '10.0.0.2');
  assert.equal(address.prefixlen, 32);
  assert.equal(address.label, 'tun0');
});

test('kernel: our RTM_NEWROUTE comes back tagged with our protocol, then the ack for seq 1', () => {
  const [route, ack] = received('route-add');
  assert.ok(route?.kind === 'route');
  assert.deepEqual(
    { destination: route.destination, oif: route.oif, priority: route.priority, mtu: route.mtu, protocol: route.protocol, table: route.table },
    { destination: '192.0.2.0/24', oif: TUN0, priority: 100, mtu: 1380, protocol: TUNROUTE_RTPROT, table: 254 },
  );
  assert.equal(toText(route), '192.0.2.0/24 dev #2 table main proto tunroute scope link metric 100 mtu 1380');
  assert.ok(ack?.kind === 'error');
  assert.equal(ack.ack, true);
  assert.equal(ack.header.seq, 1);
  assert.equal(ack.requestTypeName, 'RTM_NEWROUTE');
});

test('kernel: the same add again is EEXIST for seq 2', () => {
  const [error] = received('route-add-again');
  assert.ok(error?.kind === 'error');
  assert.equal(error.code, 'EEXIST');
  assert.equal(error.errno, 17);
  assert.equal(error.header.seq, 2);
});

test('kernel: a table above 255 comes back in RTA_TABLE', () => {
  const [route] = received('route-add-table');
  assert.ok(route?.kind === 'route');
  assert.equal(route.table, 51820);
  assert.equal(route.gateway, '192.0.2.1');
});

test('kernel: the rule comes back with priority, source, table and protocol', () => {
  const [r] = received('rule-add');
  assert.ok(r?.kind === 'rule');
  assert.deepEqual(toJson(r), {
    type: 'RTM_NEWRULE',
    family: 'inet',
    priority: 100,
    src: '10.0.0.2/32',
    table: 51820,
    action: 'to_tbl',
    protocol: 'tunroute',
    seq: r.header.seq,
    portid: r.header.portid,
  });
});

test('kernel: dumps are NLM_F_MULTI messages of our seq ending with NLMSG_DONE', () => {
  for (const [step, seq, kind] of [
    ['dump-routes', 5, 'route'],
    ['dump-rules', 6, 'rule'],
    ['dump-links', 7, 'link'],
    ['dump-addresses', 8, 'address'],
  ] as const) {
    const messages = received(step);
    const done = messages.at(-1);
    assert.ok(done?.kind === 'done', `${step} ends with done`);
    assert.equal(done.errno, 0);
    const body = messages.slice(0, -1);
    assert.ok(body.length >= 2, `${step} has objects`);
    for (const m of body) {
      assert.equal(m.kind, kind);
      assert.equal(m.header.seq, seq);
      assert.equal(m.header.flags & 0x2, 0x2, 'NLM_F_MULTI');
    }
  }
  const rules = received('dump-rules').filter((m) => m.kind === 'rule');
  assert.deepEqual(rules.map((r) => (r.kind === 'rule' ? [r.priority, r.table] : [])), [
    [0, 255],
    [100, 51820],
    [32766, 254],
    [32767, 253],
  ]);
});

test('kernel: deletes are notified as "Deleted" and acked; deleting again is ESRCH', () => {
  const [route, ack] = received('route-del-table');
  assert.ok(route?.kind === 'route');
  assert.match(toText(route), /^Deleted 10\.20\.0\.0\/16 via 192\.0\.2\.1 dev #2 table 51820 proto tunroute/);
  assert.ok(ack?.kind === 'error' && ack.ack);
  const [ruleGone] = received('rule-del');
  assert.ok(ruleGone?.kind === 'rule');
  assert.equal(ruleGone.typeName, 'RTM_DELRULE');
  const [missing] = received('route-del-missing');
  assert.ok(missing?.kind === 'error');
  assert.equal(missing.code, 'ESRCH');
});

test('kernel: every captured message prints both ways', () => {
  for (const c of CAPTURED) {
    for (const m of received(c.step)) {
      assert.ok(toText(m).length > 0);
      assert.equal(typeof toJson(m).type, 'string');
    }
  }
});
