import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALL_CONSTANTS, OFFSETOF, RTF, SIZEOF, TUNROUTE_TAG_FLAG, bitNames, bitsFromNames } from '../../daemon/codec/darwin/constants.js';
import { LAYOUTS } from '../../daemon/codec/darwin/decode.js';
import { compareAbi, type ProbeOutput } from '../../scripts/check-darwin-abi.js';

const probeSource = readFileSync(new URL('../../../scripts/darwin-abi-probe.c', import.meta.url), 'utf8');

type Entry = { value: number; header: string; private?: boolean };
const entries = (group: string) => Object.entries((ALL_CONSTANTS as unknown as Record<string, Record<string, Entry>>)[group]!);
const groups = Object.keys(ALL_CONSTANTS);
const sectionOf = (g: string) => (g === 'sizeof' ? 'sizeof' : g === 'offsetof' ? 'offsetof' : 'constants');

/** What a probe run against headers equal to constants.ts would print. */
function perfectProbe(): ProbeOutput {
  const out: ProbeOutput = { constants: {}, sizeof: {}, offsetof: {} };
  for (const g of groups) for (const [name, c] of entries(g)) if (!c.private) out[sectionOf(g)][name] = c.value;
  return out;
}

test('the C probe prints exactly the public entries of constants.ts', () => {
  const inC = {
    constants: new Set([...probeSource.matchAll(/^\s*CONST\((\w+)\);/gm)].map((m) => m[1]!)),
    sizeof: new Set([...probeSource.matchAll(/^\s*SIZE\((\w+)\);/gm)].map((m) => m[1]!)),
    offsetof: new Set([...probeSource.matchAll(/^\s*OFF\((\w+), ([\w.]+)\);/gm)].map((m) => `${m[1]}.${m[2]}`)),
  };
  const perfect = perfectProbe();
  for (const section of ['constants', 'sizeof', 'offsetof'] as const) {
    assert.deepEqual([...inC[section]].sort(), Object.keys(perfect[section]).sort(), section);
  }
  // Every probed constant is guarded, so an SDK without it still compiles.
  for (const name of inC.constants) assert.match(probeSource, new RegExp(`#ifdef ${name}\\n\\s*CONST\\(${name}\\);\\n#endif`), name);
});

test('compareAbi: a matching SDK passes; a different value, an extra entry or a constant the SDK lacks fail', () => {
  const ok = compareAbi(perfectProbe());
  assert.deepEqual(ok.differences, []);
  assert.deepEqual(ok.missing, []);
  assert.ok(ok.checked > 200);
  assert.ok(ok.skipped > 10, 'private entries are skipped');

  const bad = perfectProbe();
  bad.offsetof['rt_msghdr.rtm_errno'] = 28;
  bad.sizeof.rt_msghdr = 112;
  delete bad.constants.NET_RT_FLAGS_PRIV;
  bad.constants.RTF_NEW = 1;
  const report = compareAbi(bad);
  assert.deepEqual(report.differences.sort(), [
    'constants NET_RT_FLAGS_PRIV (sys/socket.h): not defined by the SDK; constants.ts has 10 (mark it private if it is not public)',
    'constants RTF_NEW: printed by the probe but not in constants.ts',
    'offsetof rt_msghdr.rtm_errno (net/route.h): SDK 28, constants.ts 24',
    'sizeof rt_msghdr (net/route.h): SDK 112, constants.ts 92',
  ]);
  assert.equal(report.missing.length, 1);
  assert.match(report.missing[0]!, /^constants NET_RT_FLAGS_PRIV/);
});

test('the decoder layouts agree with the declared struct sizes and offsets', () => {
  assert.equal(LAYOUTS.get(1)?.size, SIZEOF.rt_msghdr.value);
  assert.equal(LAYOUTS.get(0x14)?.size, SIZEOF.rt_msghdr2.value);
  assert.equal(LAYOUTS.get(0x15)?.size, SIZEOF.rt_msghdr_ext.value);
  assert.equal(LAYOUTS.get(0x0e)?.size, SIZEOF.if_msghdr.value);
  assert.equal(LAYOUTS.get(0x12)?.size, SIZEOF.if_msghdr2.value);
  assert.equal(LAYOUTS.get(0x0c)?.size, SIZEOF.ifa_msghdr.value);
  assert.equal(LAYOUTS.get(0x0f)?.size, SIZEOF.ifma_msghdr.value);
  assert.equal(LAYOUTS.get(0x13)?.size, SIZEOF.ifma_msghdr2.value);
  assert.equal(LAYOUTS.get(1)?.addrsAt, OFFSETOF['rt_msghdr.rtm_addrs'].value);
  assert.equal(LAYOUTS.get(1)?.flagsAt, OFFSETOF['rt_msghdr.rtm_flags'].value);
  assert.equal(LAYOUTS.get(0x0e)?.indexAt, OFFSETOF['if_msghdr.ifm_index'].value);
  assert.equal(LAYOUTS.get(0x0c)?.addrsAt, OFFSETOF['ifa_msghdr.ifam_addrs'].value);
  // rmx_mtu sits at absolute offset 40 (§1.3), ifi_mtu at 24 (§1.6).
  assert.equal(OFFSETOF['rt_msghdr.rtm_rmx'].value + OFFSETOF['rt_metrics.rmx_mtu'].value, 40);
  assert.equal(OFFSETOF['if_msghdr.ifm_data.ifi_mtu'].value, 24);
});

test('flag names: RTF_PROTO1 is the tag; names and bits convert both ways', () => {
  assert.equal(TUNROUTE_TAG_FLAG, 0x8000);
  assert.equal(TUNROUTE_TAG_FLAG, RTF.RTF_PROTO1.value);
  assert.deepEqual(bitNames(0x01000803 | TUNROUTE_TAG_FLAG, RTF, 'RTF_'), ['UP', 'GATEWAY', 'STATIC', 'PROTO1', 'IFSCOPE']);
  assert.equal(bitsFromNames(['UP', 'RTF_STATIC', 'proto1', '0x80000000'], RTF, 'RTF_'), 0x80008801);
  const values = Object.values(RTF).map((c) => c.value);
  assert.equal(new Set(values).size, values.length, 'no two RTF flags share a bit');
});
