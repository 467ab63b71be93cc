import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { OUTPUT_PATH, haveCompiler, render, runProbe } from '../../scripts/gen-linux-constants.js';
import { ALIGN, LAYOUT, NLM_F, RTPROT, TUNROUTE_RTPROT } from '../../daemon/codec/linux/constants.js';

test('the committed constants.ts is what the generator writes from these headers', (t) => {
  if (!haveCompiler()) {
    t.skip('no C compiler (cc) on PATH: cannot run the probe');
    return;
  }
  if (process.platform !== 'linux') {
    t.skip('the probe needs the Linux UAPI headers');
    return;
  }
  assert.equal(readFileSync(OUTPUT_PATH, 'utf8'), render(runProbe()));
});

test('the struct sizes the codec relies on', () => {
  assert.deepEqual(
    Object.fromEntries(Object.entries(LAYOUT).map(([name, l]) => [name, l.size])),
    { nlmsghdr: 16, nlmsgerr: 20, rtattr: 4, rtmsg: 12, ifinfomsg: 16, ifaddrmsg: 8, fib_rule_hdr: 12 },
  );
  assert.equal(ALIGN.NLMSG_ALIGNTO.value, 4);
  assert.equal(ALIGN.RTA_ALIGNTO.value, 4);
  assert.equal(NLM_F.NLM_F_DUMP.value, NLM_F.NLM_F_ROOT.value | NLM_F.NLM_F_MATCH.value);
});

test('TUNROUTE_RTPROT is a daemon value no header or rt_protos file claims', (t) => {
  assert.ok(TUNROUTE_RTPROT > RTPROT.RTPROT_STATIC.value && TUNROUTE_RTPROT < 256);
  const headerValues: number[] = Object.values(RTPROT).map((c) => c.value);
  assert.ok(!headerValues.includes(TUNROUTE_RTPROT));
  let rtProtos: string;
  try {
    rtProtos = readFileSync('/etc/iproute2/rt_protos', 'utf8');
  } catch {
    t.skip('no /etc/iproute2/rt_protos on this machine');
    return;
  }
  const taken = rtProtos
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '')
    .map((l) => Number(l.split(/\s+/)[0]));
  assert.ok(taken.length > 5, 'parsed the file');
  assert.ok(!taken.includes(TUNROUTE_RTPROT));
});
