// The daemon's PeerWatcher on its own: host names re-resolved on their interval with a
// warning while one fails (its last addresses kept), the socket's re-creation noticed, and
// onChange only when what the planner uses changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../daemon/logger.js';
import type { PeerOptions } from '../../daemon/profile/profile.js';
import { PeerWatcher } from '../../daemon/wireguard/peers.js';
import { FakeUapi, peerKey } from '../helpers/fake-uapi.js';

const options = (o: Partial<PeerOptions>): PeerOptions => ({ autoEndpoints: false, autoRoutes: false, hosts: [], pollIntervalMs: 60_000, resolveIntervalMs: 60_000, ...o });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function logger() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, log: createLogger({ level: 'debug', format: 'json', write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) }) };
}

test('host names: resolved on the interval; a failure warns once and keeps the last addresses; recovery is logged', async () => {
  const { lines, log } = logger();
  let answer: string[] | 'fail' = ['198.51.100.7'];
  let asked = 0;
  const changes: string[] = [];
  const w = new PeerWatcher({
    options: options({ hosts: [{ name: 'vpn.example.com', port: null }], resolveIntervalMs: 40 }),
    log,
    onChange: (why) => changes.push(why),
    resolveHost: async () => {
      asked++;
      if (answer === 'fail') throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
      return answer;
    },
  });
  try {
    await w.prepare('utun7');
    assert.deepEqual(w.facts()?.hosts, [{ name: 'vpn.example.com', addresses: ['198.51.100.7'], error: null }]);
    assert.equal(changes.length, 1);
    answer = 'fail';
    await sleep(150);
    assert.deepEqual(w.facts()?.hosts, [{ name: 'vpn.example.com', addresses: ['198.51.100.7'], error: 'ENOTFOUND' }], 'kept while failing');
    assert.equal(lines.filter((l) => l.msg === 'endpoint host name does not resolve').length, 1, 'one warning per failing episode');
    const before = changes.length;
    answer = ['198.51.100.9', '2001:db8::9'];
    await sleep(150);
    assert.deepEqual(w.facts()?.hosts[0]?.addresses, ['198.51.100.9', '2001:db8::9']);
    assert.ok(lines.some((l) => l.msg === 'endpoint host name resolves again'));
    assert.ok(changes.length > before);
    const settled = changes.length;
    await sleep(150);
    assert.equal(changes.length, settled, 'the same answer again changes nothing');
    assert.ok(asked >= 6, `re-resolved on the interval (${asked} lookups)`);
  } finally {
    w.close();
  }
});

test('socket: a restart (remove and re-create) is noticed without waiting for the poll', async () => {
  const { log } = logger();
  const uapi = new FakeUapi('utun9');
  uapi.peers = [{ publicKey: peerKey(1), endpoint: '198.51.100.1:51820', allowedIps: ['10.0.0.0/8'] }];
  await uapi.start();
  const changes: string[] = [];
  const w = new PeerWatcher({ options: options({ autoEndpoints: true, pollIntervalMs: 60_000 }), log, onChange: (why) => changes.push(why), directory: uapi.directory, owner: process.getuid?.() ?? 0 });
  try {
    await w.prepare('utun9');
    assert.deepEqual(w.facts()?.peers.map((p) => p.endpoint?.address), ['198.51.100.1']);
    assert.equal(w.facts()?.error, null);
    await sleep(300); // the folder watcher is ready
    await uapi.restart([{ publicKey: peerKey(1), endpoint: '198.51.100.2:51820', allowedIps: ['10.0.0.0/8'] }]);
    const deadline = Date.now() + 4000;
    while (w.facts()?.peers[0]?.endpoint?.address !== '198.51.100.2' && Date.now() < deadline) await sleep(20);
    assert.equal(w.facts()?.peers[0]?.endpoint?.address, '198.51.100.2', 'read again when the socket came back (the poll is a minute away)');
    assert.ok(changes.some((c) => /socket/.test(c)), changes.join(', '));
  } finally {
    w.close();
    await uapi.destroy();
  }
});

test('a new interface (wireguard-go restarted as another utun) is read at once, even while a read of the old socket hangs', async () => {
  const { log } = logger();
  const old = new FakeUapi('utun7');
  old.peers = [{ publicKey: peerKey(1), endpoint: '198.51.100.1:51820', allowedIps: [] }];
  await old.start();
  // The restarted wireguard-go's socket, in the same folder as the old one.
  const next = new FakeUapi('utun8');
  Object.assign(next, { directory: old.directory, path: `${old.directory}/utun8.sock` });
  next.peers = [{ publicKey: peerKey(2), endpoint: '198.51.100.9:51820', allowedIps: [] }];
  const w = new PeerWatcher({ options: options({ autoEndpoints: true }), log, onChange: () => {}, directory: old.directory, owner: process.getuid?.() ?? 0, requestTimeoutMs: 5000, waitBudgetMs: 1000 });
  try {
    await w.prepare('utun7');
    assert.deepEqual(w.facts()?.peers.map((p) => p.endpoint?.address), ['198.51.100.1']);
    old.stall = true;
    void w.prepare('utun7'); // a read that will hang until its timeout
    await sleep(100);
    await next.start();
    await w.prepare('utun8');
    assert.equal(w.facts()?.source, next.path);
    assert.deepEqual(w.facts()?.peers.map((p) => p.endpoint?.address), ['198.51.100.9'], 'read within the wait budget, not after the old read times out');
    assert.equal(w.facts()?.error, null);
  } finally {
    w.close();
    await next.stop();
    await old.destroy();
  }
});
