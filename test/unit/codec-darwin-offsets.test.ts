/**
 * @module test/unit/codec-darwin-offsets
 * The darwin codec reads and writes fields at offsets written as literals in decode.ts,
 * encode.ts and sockaddr.ts. These tests pin every such literal to the OFFSETOF/SIZEOF
 * tables of constants.ts: a value is placed at the table's offset and must come out of the
 * decoder under the right name (and the encoder must put it there). The macOS CI job's ABI
 * check (scripts/check-darwin-abi.ts) compares the same tables with the SDK, so together
 * they check the codec's hard-coded offsets against the real headers: pid, seq, errno, use,
 * inits, every rt_metrics field, every if_data / if_data64 counter, the sockaddr_dl fields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OFFSETOF, RTM, SIZEOF } from '../../daemon/codec/darwin/constants.js';
import { decodeMessage, encodeRequest } from '../../daemon/codec/darwin/index.js';
import { decodeSockaddr, encodeLink } from '../../daemon/codec/darwin/sockaddr.js';

type OffsetName = keyof typeof OFFSETOF;
const at = (name: OffsetName): number => OFFSETOF[name].value;

/** A message of `size` header bytes (+ `extra`), with msglen, version 5 and type set. */
function message(type: number, size: number, extra: Uint8Array = new Uint8Array(0)): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(size + extra.length);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, bytes.length, true);
  bytes[2] = 5;
  bytes[3] = type;
  bytes.set(extra, size);
  return { bytes, view };
}

function decoded(bytes: Uint8Array): Record<string, unknown> {
  const m = decodeMessage(bytes);
  assert.ok(m !== null);
  return m as unknown as Record<string, unknown>;
}

const DST = Uint8Array.from([16, 2, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const METRICS = ['locks', 'mtu', 'hopcount', 'expire', 'recvpipe', 'sendpipe', 'ssthresh', 'rtt', 'rttvar', 'pksent'] as const;

test('rt_msghdr: pid, seq, errno, use, inits and every rt_metrics field are read at the declared offsets', () => {
  const { bytes, view } = message(RTM.RTM_GET.value, SIZEOF.rt_msghdr.value, DST);
  view.setUint32(at('rt_msghdr.rtm_addrs'), 1, true);
  view.setInt32(at('rt_msghdr.rtm_pid'), 4242, true);
  view.setInt32(at('rt_msghdr.rtm_seq'), 77, true);
  view.setInt32(at('rt_msghdr.rtm_errno'), 17, true);
  view.setInt32(at('rt_msghdr.rtm_use'), 1001, true);
  view.setUint32(at('rt_msghdr.rtm_inits'), 0x81, true);
  METRICS.forEach((name, i) => view.setUint32(at('rt_msghdr.rtm_rmx') + at(`rt_metrics.rmx_${name}`), 100 + i, true));
  const m = decoded(bytes);
  assert.deepEqual([m.pid, m.seq, m.errno, m.use, m.inits], [4242, 77, 17, 1001, 0x81]);
  const metrics = m.metrics as Record<string, number>;
  assert.deepEqual(METRICS.map((name) => metrics[name]), METRICS.map((_, i) => 100 + i));
  assert.equal(at('rt_metrics.rmx_filler') + 16, SIZEOF.rt_metrics.value);
});

test('rt_msghdr2 (NET_RT_DUMP2): refcnt, parentflags, use and inits at the declared offsets', () => {
  const { bytes, view } = message(RTM.RTM_GET2.value, SIZEOF.rt_msghdr2.value, DST);
  view.setUint32(at('rt_msghdr.rtm_addrs'), 1, true);
  view.setInt32(at('rt_msghdr2.rtm_refcnt'), 3, true);
  view.setUint32(at('rt_msghdr2.rtm_parentflags'), 0x101, true);
  view.setInt32(at('rt_msghdr2.rtm_use'), 55, true);
  view.setUint32(at('rt_msghdr2.rtm_inits'), 1, true);
  view.setUint32(at('rt_msghdr2.rtm_rmx') + at('rt_metrics.rmx_mtu'), 1420, true);
  const m = decoded(bytes);
  assert.deepEqual([m.refcnt, m.parentFlags, m.use, m.inits, (m.metrics as { mtu: number }).mtu], [3, 0x101, 55, 1, 1420]);
});

const IF_FIELDS_U8 = ['type', 'typelen', 'physical', 'addrlen', 'hdrlen', 'recvquota', 'xmitquota'] as const;
const IF_COUNTERS = ['baudrate', 'ipackets', 'ierrors', 'opackets', 'oerrors', 'collisions', 'ibytes', 'obytes', 'imcasts', 'omcasts', 'iqdrops', 'noproto'] as const;

test('if_msghdr: every if_data field and 32-bit counter at the declared offsets', () => {
  const { bytes, view } = message(RTM.RTM_IFINFO.value, SIZEOF.if_msghdr.value);
  IF_FIELDS_U8.forEach((f, i) => view.setUint8(at(`if_msghdr.ifm_data.ifi_${f}`), 10 + i));
  view.setUint32(at('if_msghdr.ifm_data.ifi_mtu'), 1500, true);
  view.setUint32(at('if_msghdr.ifm_data.ifi_metric'), 7, true);
  IF_COUNTERS.forEach((f, i) => view.setUint32(at(`if_msghdr.ifm_data.ifi_${f}`), 1000 + i, true));
  view.setUint32(at('if_msghdr.ifm_data.ifi_recvtiming'), 31, true);
  view.setUint32(at('if_msghdr.ifm_data.ifi_xmittiming'), 32, true);
  view.setInt32(at('if_msghdr.ifm_data.ifi_lastchange'), 1_700_000_000, true);
  view.setUint32(at('if_msghdr.ifm_data.ifi_hwassist'), 0x55, true);
  const data = decoded(bytes).data as Record<string, unknown>;
  assert.deepEqual(IF_FIELDS_U8.map((f) => data[f]), IF_FIELDS_U8.map((_, i) => 10 + i));
  assert.deepEqual([data.mtu, data.metric, data.recvtiming, data.xmittiming, (data.lastchange as { sec: number }).sec, data.hwassist], [1500, 7, 31, 32, 1_700_000_000, 0x55]);
  assert.deepEqual(IF_COUNTERS.map((f) => data[f]), IF_COUNTERS.map((_, i) => 1000 + i));
  assert.equal(at('if_msghdr.ifm_data') + SIZEOF.if_data.value, SIZEOF.if_msghdr.value);
});

test('if_msghdr2: send queue fields and every 64-bit if_data64 counter at the declared offsets', () => {
  const { bytes, view } = message(RTM.RTM_IFINFO2.value, SIZEOF.if_msghdr2.value);
  view.setUint32(at('if_msghdr2.ifm_snd_len'), 1, true);
  view.setUint32(at('if_msghdr2.ifm_snd_maxlen'), 2, true);
  view.setUint32(at('if_msghdr2.ifm_snd_drops'), 3, true);
  view.setInt32(at('if_msghdr2.ifm_timer'), 4, true);
  view.setUint8(at('if_msghdr2.ifm_data.ifi_type'), 6);
  view.setUint32(at('if_msghdr2.ifm_data.ifi_mtu'), 9000, true);
  view.setUint32(at('if_msghdr2.ifm_data.ifi_metric'), 5, true);
  IF_COUNTERS.forEach((f, i) => view.setBigUint64(at(`if_msghdr2.ifm_data.ifi_${f}`), BigInt(2 ** 33 + i), true));
  view.setUint32(at('if_msghdr2.ifm_data.ifi_recvtiming'), 41, true);
  view.setUint32(at('if_msghdr2.ifm_data.ifi_xmittiming'), 42, true);
  view.setInt32(at('if_msghdr2.ifm_data.ifi_lastchange'), 1_700_000_001, true);
  const m = decoded(bytes);
  assert.deepEqual(m.send, { len: 1, maxlen: 2, drops: 3, timer: 4 });
  const data = m.data as Record<string, unknown>;
  assert.deepEqual([data.type, data.mtu, data.metric, data.recvtiming, data.xmittiming, (data.lastchange as { sec: number }).sec], [6, 9000, 5, 41, 42, 1_700_000_001]);
  assert.deepEqual(IF_COUNTERS.map((f) => data[f]), IF_COUNTERS.map((_, i) => 2 ** 33 + i));
  assert.equal(at('if_msghdr2.ifm_data') + SIZEOF.if_data64.value, SIZEOF.if_msghdr2.value);
});

test('ifa_msghdr metric and ifma_msghdr2 refcount at the declared offsets', () => {
  const ifa = message(RTM.RTM_NEWADDR.value, SIZEOF.ifa_msghdr.value);
  ifa.view.setInt32(at('ifa_msghdr.ifam_metric'), 9, true);
  ifa.view.setUint16(at('ifa_msghdr.ifam_index'), 4, true);
  assert.deepEqual([decoded(ifa.bytes).metric, decoded(ifa.bytes).index], [9, 4]);
  const ifma = message(RTM.RTM_NEWMADDR2.value, SIZEOF.ifma_msghdr2.value);
  ifma.view.setInt32(at('ifma_msghdr2.ifmam_refcount'), 2, true);
  ifma.view.setUint16(at('ifma_msghdr2.ifmam_index'), 5, true);
  assert.deepEqual([decoded(ifma.bytes).refcount, decoded(ifma.bytes).index], [2, 5]);
});

test('sockaddr_dl: index, type, nlen, alen and the data start at the declared offsets, both ways', () => {
  const sa = new Uint8Array(SIZEOF.sockaddr_dl.value);
  sa[0] = sa.length;
  sa[1] = 18;
  new DataView(sa.buffer).setUint16(at('sockaddr_dl.sdl_index'), 36, true);
  sa[at('sockaddr_dl.sdl_type')] = 6;
  sa[at('sockaddr_dl.sdl_nlen')] = 3;
  sa[at('sockaddr_dl.sdl_alen')] = 6;
  sa.set(Buffer.from('en0'), at('sockaddr_dl.sdl_data'));
  sa.set([0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56], at('sockaddr_dl.sdl_data') + 3);
  assert.deepEqual(decodeSockaddr({ bytes: sa, declared: sa.length }), { family: 'link', length: 20, index: 36, type: 6, name: 'en0', lladdr: '3c:22:fb:12:34:56' });
  const out = encodeLink({ index: 36, type: 6, name: 'en0', lladdr: Uint8Array.from([0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56]) });
  assert.deepEqual(out, sa);
});

test('encodeRequest writes pid, seq, inits, locks and each metric at the declared offsets', () => {
  const bytes = encodeRequest({
    type: 'add', destination: '10.0.0.0/8', gateway: { address: '10.0.0.1' }, pid: 4242, seq: 77, locks: ['MTU'],
    metrics: { mtu: 1400, hopcount: 2, expire: -1, recvpipe: 3, sendpipe: 4, ssthresh: 5, rtt: 6, rttvar: 7 },
  });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rmx = (name: string): number => view.getInt32(at('rt_msghdr.rtm_rmx') + at(`rt_metrics.rmx_${name}` as OffsetName), true);
  assert.deepEqual([view.getInt32(at('rt_msghdr.rtm_pid'), true), view.getInt32(at('rt_msghdr.rtm_seq'), true)], [4242, 77]);
  assert.equal(view.getUint32(at('rt_msghdr.rtm_inits'), true), 0xff);
  assert.deepEqual(['locks', 'mtu', 'hopcount', 'expire', 'recvpipe', 'sendpipe', 'ssthresh', 'rtt', 'rttvar'].map(rmx), [1, 1400, 2, -1, 3, 4, 5, 6, 7]);
  assert.equal(view.getInt32(at('rt_msghdr.rtm_errno'), true), 0);
});
