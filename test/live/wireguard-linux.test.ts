// `endpoints: auto` and `routes: auto` against real wireguard-go tunnels in namespaces made
// (and removed) here: the routes follow what wireguard-go reports over its UAPI socket,
// while traffic keeps flowing through the tunnel and its handshakes go over the veth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { skipUnlessLinuxRoot } from '../helpers/netns.js';
import { DaemonProcess, writeProfile, type LogLine } from '../helpers/daemon-process.js';
import { withWgWorld, type WgWorld } from '../helpers/wg-world.js';

const TAG = 'proto 232';

function profile(w: WgWorld, dir: string, extra: string): string {
  return `interface: {name: ${w.clientIf}}
address: 10.10.10.2
wireguard: {pollInterval: 1s}
daemon:
  journal: ${join(dir, 'journal.json')}
  reconcileInterval: 2s
${extra}`;
}

const routeLine = (w: WgWorld, destination: string): RegExp => new RegExp(`^${destination.replace(/\./g, '\\.')} via 192\\.168\\.50\\.1 dev c0 ${TAG}`, 'm');
const logged = (d: DaemonProcess, action: string, destination: string, from = 0): number => d.lines.findIndex((l: LogLine, i) => i >= from && l.action === action && l.destination === destination);

test('endpoints: auto: the endpoint route is read from wireguard-go and follows wg set endpoint, a new peer and a restart, with traffic and handshakes flowing', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withWgWorld('0.0.0.0/0', async (w) => {
    const { path } = writeProfile((dir) => profile(w, dir, 'mode: full\nfullTunnel: {strategy: replace}\nendpoints: auto\n'));
    const d = new DaemonProcess(w.client, ['run', path]);
    try {
      await d.waitForState('installed');
      await d.waitFor((l) => l.action === 'add' && l.destination === '198.51.100.1/32');
      const main = () => w.client.ip('route', 'show');
      assert.match(main(), routeLine(w, '198.51.100.1'), 'the endpoint read from the socket has its route via the physical gateway');
      assert.match(main(), new RegExp(`^default dev ${w.clientIf} ${TAG}`, 'm'), 'the tunnel owns the default');
      // Full tunnel: only the endpoint route keeps wireguard-go's own UDP off the tunnel.
      assert.ok(w.ping(), 'traffic flows through the tunnel');
      const firstHandshake = w.lastHandshake();
      assert.ok(firstHandshake > 0, 'the handshake went over the physical path');

      // Roaming: the peer's endpoint moves; the new route comes before the old one goes.
      let mark = d.lines.length;
      w.wg('set', w.clientIf, 'peer', w.serverKey.public, 'endpoint', '198.51.100.2:51820');
      await d.waitFor((l) => l.action === 'remove-stale' && l.destination === '198.51.100.1/32', 8000, mark);
      const added = logged(d, 'add', '198.51.100.2/32', mark);
      const removed = logged(d, 'remove-stale', '198.51.100.1/32', mark);
      assert.ok(added >= 0 && added < removed, 'added the new endpoint route before removing the old one');
      assert.match(main(), routeLine(w, '198.51.100.2'));
      assert.doesNotMatch(main(), /^198\.51\.100\.1 /m);
      assert.ok(w.ping(), 'traffic flows to the moved endpoint');
      assert.match(w.wg('show', w.clientIf, 'endpoints'), /198\.51\.100\.2:51820/);

      // A second peer added with wg set gets its route too.
      mark = d.lines.length;
      const extra = w.key('extra');
      w.wg('set', w.clientIf, 'peer', extra.public, 'endpoint', '198.51.100.3:51999', 'allowed-ips', '10.99.0.0/24');
      await d.waitFor((l) => l.action === 'add' && l.destination === '198.51.100.3/32', 8000, mark);
      assert.match(main(), routeLine(w, '198.51.100.3'));
      assert.match(main(), routeLine(w, '198.51.100.2'), 'the first peer keeps its route');
      // A peer removed loses it.
      mark = d.lines.length;
      w.wg('set', w.clientIf, 'peer', extra.public, 'remove');
      await d.waitFor((l) => l.action === 'remove-stale' && l.destination === '198.51.100.3/32', 8000, mark);

      // wireguard-go restarted: a new interface and a new socket; the routes follow them.
      mark = d.lines.length;
      await w.stopClient();
      await d.waitForState('waiting', 8000, mark);
      mark = d.lines.length;
      await w.startClient('0.0.0.0/0', '198.51.100.1:51820');
      await d.waitForState('installed', 8000, mark);
      await d.waitFor((l) => l.action === 'add' && l.destination === '198.51.100.1/32', 8000, mark);
      assert.match(main(), routeLine(w, '198.51.100.1'));
      assert.doesNotMatch(main(), /^198\.51\.100\.2 /m, 'the old endpoint is gone with the old socket');
      assert.ok(w.ping(), 'traffic flows through the restarted tunnel');
      assert.ok(w.lastHandshake() > 0, 'the restarted wireguard-go handshook over the physical path');

      d.signal('SIGTERM');
      assert.equal(await d.exited, 0);
      assert.doesNotMatch(w.client.ip('route', 'show', 'table', 'all'), new RegExp(TAG), 'nothing of ours is left');
    } finally {
      d.signal('SIGKILL');
    }
  });
});

test('routes: auto (split): the allowed IPs become routes, and wg set allowed-ips is applied as a diff', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withWgWorld('10.20.0.0/24,10.21.0.0/24', async (w) => {
    const { path } = writeProfile((dir) => profile(w, dir, 'mode: split\nroutes: auto\nendpoints: auto\n'));
    const d = new DaemonProcess(w.client, ['run', path]);
    try {
      await d.waitForState('installed');
      await d.waitFor((l) => l.action === 'add' && l.destination === '10.21.0.0/24');
      const main = () => w.client.ip('route', 'show');
      assert.match(main(), new RegExp(`^10\\.20\\.0\\.0/24 dev ${w.clientIf} ${TAG}`, 'm'));
      assert.match(main(), new RegExp(`^10\\.21\\.0\\.0/24 dev ${w.clientIf} ${TAG}`, 'm'));
      assert.match(main(), routeLine(w, '198.51.100.1'));
      assert.ok(w.ping(), 'the allowed IP is reached through the tunnel');
      const handshake = w.lastHandshake();
      assert.ok(handshake > 0);

      const mark = d.lines.length;
      w.wg('set', w.clientIf, 'peer', w.serverKey.public, 'allowed-ips', '10.20.0.0/24,10.22.0.0/24');
      await d.waitFor((l) => l.action === 'remove-stale' && l.destination === '10.21.0.0/24', 8000, mark);
      assert.ok(logged(d, 'add', '10.22.0.0/24', mark) >= 0, 'the new allowed IP was added');
      assert.equal(d.lines.slice(mark).filter((l) => l.destination === '10.20.0.0/24').length, 0, 'the unchanged allowed IP was not touched');
      assert.match(main(), new RegExp(`^10\\.22\\.0\\.0/24 dev ${w.clientIf}`, 'm'));
      assert.doesNotMatch(main(), /^10\.21\.0\.0\/24/m);
      assert.ok(w.ping(), 'traffic keeps flowing');

      // The whole internet in split mode is refused with a pointer to mode: full.
      const mark2 = d.lines.length;
      w.wg('set', w.clientIf, 'peer', w.serverKey.public, 'allowed-ips', '10.20.0.0/24,0.0.0.0/0');
      const warning = await d.waitFor((l) => typeof l.msg === 'string' && l.msg.includes('split mode refuses it'), 8000, mark2);
      assert.match(String(warning.msg), /0\.0\.0\.0\/0.*expected mode: full/);
      assert.doesNotMatch(main(), new RegExp(`^default dev ${w.clientIf}`, 'm'), 'no default route in main');

      d.signal('SIGTERM');
      assert.equal(await d.exited, 0);
      assert.doesNotMatch(w.client.ip('route', 'show', 'table', 'all'), new RegExp(TAG), 'nothing of ours is left');
    } finally {
      d.signal('SIGKILL');
    }
  });
});
