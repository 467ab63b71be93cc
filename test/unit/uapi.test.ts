/**
 * @module test/unit/uapi
 * The UAPI client: the strict parser on answers recorded from wireguard-go, errno answers,
 * malformed and very long input, a fuzz run that may only ever throw UapiError, and the
 * client over a real Unix socket served by the test (chunked answers, timeouts, errno,
 * the owner check, what `set` writes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseGetAnswer, parseSetAnswer, parseUapiEndpoint, setFwmark, uapiGet, uapiSet, UapiError, MAX_ANSWER_BYTES } from '../../daemon/wireguard/uapi.js';
import { EINVAL, NO_PEERS, SET_OK, THREE_PEERS } from '../fixtures/wireguard/answers.js';
import { cannotRunAsNobody } from '../helpers/nobody.js';
import { mulberry32 } from '../helpers/prng.js';

const P1 = 'ad216a54bfc602d4183dcbb28e7032f114d81ff5225f185bc0ce630a0b3c295f';
const P2 = 'f5f20b587de74147e5ca178229f9a4383cb1dd10a8e9bfdea29d21875571466d';
const P3 = '1bab4e6a9169e22514d2c1aa2c3c4d449fec47839be63bec4f9994c12e21e54f';

function throwsUapi(fn: () => unknown, kind: string, pattern?: RegExp): UapiError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof UapiError, `expected a UapiError, got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

test('recorded answer: three peers, IPv4 and IPv6 endpoints, one with no endpoint yet', () => {
  const device = parseGetAnswer(THREE_PEERS);
  assert.equal(device.listenPort, 51820);
  assert.equal(device.fwmark, null);
  assert.deepEqual(
    device.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIps, p.persistentKeepalive, p.lastHandshake]),
    [
      [P1, null, ['10.99.0.1/32'], 0, null],
      [P2, { family: 'inet', address: '203.0.113.7', port: 51820 }, ['10.0.0.0/8', 'fd00::/64'], 25, null],
      [P3, { family: 'inet6', address: '2001:db8::7', port: 51821 }, ['192.168.77.0/24'], 0, null],
    ],
  );
  // The private and preshared keys are checked, never kept.
  assert.ok(!JSON.stringify(device).includes('906f8ad5'));
});

test('recorded answer: no peers', () => {
  assert.deepEqual(parseGetAnswer(NO_PEERS), { listenPort: 51820, fwmark: null, peers: [] });
  assert.deepEqual(parseGetAnswer('errno=0\n\n'), { listenPort: null, fwmark: null, peers: [] });
});

test('errno answers: the negated errno of wireguard-go and a positive one both throw kind errno', () => {
  assert.equal(throwsUapi(() => parseGetAnswer(EINVAL), 'errno', /errno=-22/).errno, 22);
  assert.equal(throwsUapi(() => parseGetAnswer('errno=5\n\n'), 'errno').errno, 5);
  assert.equal(throwsUapi(() => parseSetAnswer(EINVAL), 'errno').errno, 22);
  parseSetAnswer(SET_OK);
  throwsUapi(() => parseSetAnswer(NO_PEERS), 'malformed', /only errno/);
});

test('handshake, counters, fwmark and roaming endpoints are read; unknown keys are skipped', () => {
  const text = `fwmark=51820\nlisten_port=1\njc=4\npublic_key=${P1}\nendpoint=[fe80::1%eth0]:7\nnew_key_2030=whatever\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec=5\nrx_bytes=9007199254740991\nallowed_ip=10.1.2.3/8\nallowed_ip=10.0.0.0/8\nerrno=0\n\n`;
  const d = parseGetAnswer(text);
  assert.equal(d.fwmark, 51820);
  const p = d.peers[0]!;
  assert.deepEqual(p.endpoint, { family: 'inet6', address: 'fe80::1', port: 7 });
  assert.equal(p.lastHandshake, 1700000000);
  assert.equal(p.rxBytes, Number.MAX_SAFE_INTEGER);
  // Host bits cleared, duplicates once.
  assert.deepEqual(p.allowedIps, ['10.0.0.0/8']);
});

test('malformed answers name their line', () => {
  const cases: Array<[string, RegExp]> = [
    ['listen_port=51820\n', /does not end with a blank line/],
    ['listen_port=51820\n\n', /line 1: the answer ends with "listen_port=51820", expected errno=N/],
    ['errno=0\n\nlisten_port=1\n', /bytes after the blank line/],
    ['listen_port\nerrno=0\n\n', /line 1: "listen_port" is not key=value/],
    ['Listen_port=1\nerrno=0\n\n', /line 1: .* is not key=value/],
    ['listen_port=65536\nerrno=0\n\n', /line 1: listen_port=65536 is not a whole number from 0 to 65535/],
    ['listen_port=-1\nerrno=0\n\n', /line 1: listen_port=-1/],
    [`public_key=${P1.toUpperCase()}\nerrno=0\n\n`, /line 1: public_key is not 64 lowercase hex digits/],
    [`public_key=${P1}\npublic_key=${P1}\nerrno=0\n\n`, /line 2: peer ad216a54… listed twice/],
    [`public_key=${P1}\nendpoint=203.0.113.7\nerrno=0\n\n`, /line 2: endpoint=203.0.113.7 is not ADDRESS:PORT/],
    [`public_key=${P1}\nendpoint=[203.0.113.7]:1\nerrno=0\n\n`, /line 2: endpoint/],
    [`public_key=${P1}\nendpoint=2001:db8::1:51820\nerrno=0\n\n`, /line 2: endpoint/],
    [`public_key=${P1}\nendpoint=203.0.113.7:0\nerrno=0\n\n`, /line 2: endpoint/],
    [`public_key=${P1}\nallowed_ip=10.0.0.0/33\nerrno=0\n\n`, /line 2: allowed_ip=10.0.0.0\/33 is not a prefix/],
    [`public_key=${P1}\nallowed_ip=10.0.0.1\nerrno=0\n\n`, /line 2: allowed_ip=10.0.0.1 is not a prefix/],
    [`public_key=${P1}\nprotocol_version=2\nerrno=0\n\n`, /line 2: protocol_version=2 is not 1/],
    [`public_key=${P1}\nlast_handshake_time_nsec=1000000000\nerrno=0\n\n`, /line 2:/],
    ['private_key=zz\nerrno=0\n\n', /line 1: private_key/],
    ['errno=0\nerrno=0\n\n', /line 1: errno before the end/],
    ['listen_port=1\r\nerrno=0\n\n', /line 1: "listen_port=1\\r" is not key=value/],
    ['\n\n', /the answer ends with ""/],
    ['errno=x\n\n', /expected errno=N/],
  ];
  for (const [text, pattern] of cases) throwsUapi(() => parseGetAnswer(text), 'malformed', pattern);
});

test('endpoints as wireguard-go prints them', () => {
  assert.deepEqual(parseUapiEndpoint('[2001:DB8:0::7]:51820'), { family: 'inet6', address: '2001:db8::7', port: 51820 });
  assert.deepEqual(parseUapiEndpoint('[::ffff:203.0.113.7]:1'), { family: 'inet6', address: '::ffff:203.0.113.7', port: 1 });
  for (const bad of ['203.0.113.7:65536', '[2001:db8::7]', 'host:51820', '1.2.3:4', '[2001:db8::7]:', '203.0.113.7: 1']) assert.equal(parseUapiEndpoint(bad), null, bad);
});

test('a very long answer (20,000 peers, 3.5 MB) parses', () => {
  const lines: string[] = ['listen_port=51820'];
  for (let i = 0; i < 20_000; i++) {
    const key = i.toString(16).padStart(64, '0');
    lines.push(`public_key=${key}`, 'protocol_version=1', `endpoint=198.18.${(i >> 8) & 255}.${i & 255}:51820`, `allowed_ip=10.${(i >> 8) & 255}.${i & 255}.0/24`, `allowed_ip=fd00:${i.toString(16)}::/64`);
  }
  const text = `${lines.join('\n')}\nerrno=0\n\n`;
  assert.ok(text.length > 2_000_000);
  const device = parseGetAnswer(text);
  assert.equal(device.peers.length, 20_000);
  assert.deepEqual(device.peers[19_999]!.allowedIps, ['10.78.31.0/24', 'fd00:4e1f::/64']);
  assert.equal(device.peers[258]!.endpoint?.address, '198.18.1.2');
});

test('one peer with 50,000 allowed IPs parses, duplicates kept once', () => {
  const lines = [`public_key=${P1}`];
  for (let i = 0; i < 50_000; i++) lines.push(`allowed_ip=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`);
  lines.push('allowed_ip=10.0.0.0/32');
  const device = parseGetAnswer(`${lines.join('\n')}\nerrno=0\n\n`);
  assert.equal(device.peers[0]!.allowedIps.length, 50_000);
});

test('fuzz: 20,000 mutated answers only ever throw UapiError', () => {
  const rand = mulberry32(0x0a91);
  const seeds = [THREE_PEERS, NO_PEERS, EINVAL, SET_OK];
  const alphabet = '=\n\r0123456789abcdef:[]%./-_ zErrnoe';
  let refused = 0;
  let parsed = 0;
  for (let n = 0; n < 20_000; n++) {
    let text = seeds[Math.floor(rand() * seeds.length)]!;
    const edits = 1 + Math.floor(rand() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rand() * (text.length + 1));
      const op = rand();
      if (op < 0.4) text = text.slice(0, at) + alphabet[Math.floor(rand() * alphabet.length)]! + text.slice(at + 1);
      else if (op < 0.7) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(rand() * 8));
      else if (op < 0.9) text = text.slice(0, at) + alphabet[Math.floor(rand() * alphabet.length)]! + text.slice(at);
      else text = text.slice(0, at) + String.fromCharCode(Math.floor(rand() * 0x3000)) + text.slice(at);
    }
    try {
      parseGetAnswer(text);
      parsed++;
    } catch (e) {
      assert.ok(e instanceof UapiError, `case ${n}: ${JSON.stringify(text)} threw ${String(e)}`);
      refused++;
    }
  }
  // Both paths ran often: a mutation scheme that only ever parsed (or only ever hit one check) would prove nothing.
  assert.ok(refused > 5_000 && parsed > 500, `${refused} refused, ${parsed} parsed`);
});

// ---- the client over a real socket --------------------------------------------------

interface Served {
  path: string;
  dir: string;
  requests: string[];
  server: Server;
  close(): Promise<void>;
}

/** A Unix socket in a fresh 0700 folder answering each request with `answer(request)` (null: never answer). */
async function serve(answer: (request: string, socket: Socket) => string | null): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'uapi-'));
  const path = join(dir, 'wgtest0.sock');
  const requests: string[] = [];
  const server = createServer((socket) => {
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      if (!buffer.endsWith('\n\n')) return;
      requests.push(buffer);
      const reply = answer(buffer, socket);
      buffer = '';
      if (reply !== null) socket.write(reply);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    dir,
    requests,
    server,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const me = process.getuid?.() ?? 0;

test('client: get=1 over the socket, the answer arriving in small pieces', async () => {
  const s = await serve((_req, socket) => {
    // Byte by byte in chunks of 7: the terminator may straddle two chunks.
    for (let i = 0; i < THREE_PEERS.length; i += 7) socket.write(THREE_PEERS.slice(i, i + 7));
    return '';
  });
  try {
    const device = await uapiGet(s.path, { owner: me });
    assert.equal(device.peers.length, 3);
    assert.deepEqual(s.requests, ['get=1\n\n']);
  } finally {
    await s.close();
  }
});

test('client: errno, timeout, an early close and an over-long answer are UapiErrors', async () => {
  const errno = await serve(() => EINVAL);
  const silent = await serve(() => null);
  const closing = await serve((_r, socket) => {
    socket.end('listen_port=1\n');
    return null;
  });
  const flood = await serve((_r, socket) => {
    const line = `${'x'.repeat(1 << 20)}\n`;
    for (let i = 0; i <= MAX_ANSWER_BYTES >> 20; i++) if (!socket.destroyed) socket.write(line);
    return null;
  });
  try {
    await assert.rejects(uapiGet(errno.path, { owner: me }), (e: unknown) => e instanceof UapiError && e.kind === 'errno' && e.errno === 22);
    const started = Date.now();
    await assert.rejects(uapiGet(silent.path, { owner: me, timeoutMs: 150 }), (e: unknown) => e instanceof UapiError && e.kind === 'timeout' && /150 ms/.test(e.message));
    assert.ok(Date.now() - started < 2000);
    await assert.rejects(uapiGet(closing.path, { owner: me }), (e: unknown) => e instanceof UapiError && e.kind === 'malformed' && /closed before/.test(e.message));
    await assert.rejects(uapiGet(flood.path, { owner: me, timeoutMs: 10_000 }), (e: unknown) => e instanceof UapiError && e.kind === 'too-long');
    await assert.rejects(uapiGet(join(errno.dir, 'absent.sock'), { owner: me }), (e: unknown) => e instanceof UapiError && e.kind === 'unavailable' && /no such socket/.test(e.message));
  } finally {
    await Promise.all([errno.close(), silent.close(), closing.close(), flood.close()]);
  }
});

test('client: a socket or folder not owned by the expected uid, or a writable folder, is never read', async () => {
  const s = await serve(() => THREE_PEERS);
  try {
    await assert.rejects(uapiGet(s.path, { owner: me + 1 }), (e: unknown) => e instanceof UapiError && e.kind === 'untrusted');
    chmodSync(s.dir, 0o777);
    await assert.rejects(uapiGet(s.path, { owner: me }), (e: unknown) => e instanceof UapiError && e.kind === 'untrusted' && /writable only by it/.test(e.message));
    chmodSync(s.dir, 0o755);
    assert.equal((await uapiGet(s.path, { owner: me })).peers.length, 3);
    // Nothing but the one get was ever sent.
    assert.deepEqual(s.requests, ['get=1\n\n']);
  } finally {
    await s.close();
  }
});

test('client: set=1 sends exactly the lines given, and refuses a line that would smuggle in another', async () => {
  const s = await serve((req) => (req.includes('fwmark=51820') ? SET_OK : EINVAL));
  try {
    await setFwmark(s.path, 51820, { owner: me });
    assert.deepEqual(s.requests, ['set=1\nfwmark=51820\n\n']);
    await assert.rejects(uapiSet(s.path, [['fwmark', '1']], { owner: me }), (e: unknown) => e instanceof UapiError && e.kind === 'errno' && e.errno === 22);
    await assert.rejects(uapiSet(s.path, [['fwmark', '1\nreplace_peers=true']], { owner: me }), (e: unknown) => e instanceof UapiError && /single key=value/.test(e.message));
    await assert.rejects(setFwmark(s.path, -1), (e: unknown) => e instanceof UapiError && /32-bit/.test(e.message));
    assert.equal(s.requests.length, 2);
  } finally {
    await s.close();
  }
});

test('client: a user who may not connect (wireguard-go\'s socket is root\'s, 0700) is told why', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: the socket must be root\'s and the client another user');
  const why = cannotRunAsNobody();
  if (why !== null) return t.skip(why);
  const s = await serve(() => THREE_PEERS);
  try {
    chmodSync(s.dir, 0o755); // as wireguard-go makes /var/run/wireguard
    chmodSync(s.path, 0o700);
    const module = new URL('../../daemon/wireguard/uapi.js', import.meta.url).href;
    const script = `import(${JSON.stringify(module)}).then((m) => m.uapiGet(${JSON.stringify(s.path)}, { owner: 0 })).then(() => console.log('read'), (e) => console.log(e.kind, e.message))`;
    const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', script], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), `unavailable ${s.path}: EACCES: only root may connect to wireguard-go's socket`, r.stderr);
    assert.equal(s.requests.length, 0);
  } finally {
    await s.close();
  }
});
