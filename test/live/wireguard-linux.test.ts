// `endpoints: auto` and `routes: auto` against real wireguard-go tunnels, in the sandbox
// world (daemon/sandbox/world.ts): the routes follow what wireguard-go reports over its
// UAPI socket, while traffic keeps flowing through the tunnel to the target (reachable
// only that way) and the tunnel's own handshakes go over the physical network.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ADDRESSES, World, worldRequirements } from '../../daemon/sandbox/world.js';
import { CLI, DaemonProcess, writeProfile, type LogLine } from '../helpers/daemon-process.js';

const TAG = 'proto 232';
const TARGET = ADDRESSES.target.v4;

async function world(t: TestContext): Promise<World | null> {
  const missing = worldRequirements();
  if (missing.length > 0) {
    t.skip(missing.join('; '));
    return null;
  }
  const w = await World.create({ tunnelIpv6: false });
  // Two more "public" addresses of the server, for a roaming endpoint and a second peer.
  for (const a of ['198.51.100.2/32', '198.51.100.3/32']) w.ip('server', 'addr', 'add', a, 'dev', 'lo');
  return w;
}

function start(w: World, extra: string): DaemonProcess & { profile: string } {
  const { path } = writeProfile((dir) => `interface: {name: ${w.interfaces.tunnel.client}}
address: ${ADDRESSES.tunnel.client.v4}
wireguard: {pollInterval: 1s}
daemon:
  journal: ${join(dir, 'journal.json')}
  reconcileInterval: 2s
${extra}`);
  return Object.assign(new DaemonProcess({ spawn: (cmd, args) => w.spawn('client', cmd, args) }, ['run', path]), { profile: path });
}

const wg = (w: World, ...args: string[]): string => {
  const r = w.exec('client', 'wg', args);
  if (r.status !== 0) throw new Error(`wg ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const serverKey = (w: World): string => wg(w, 'show', w.interfaces.tunnel.client, 'peers').trim().split('\n')[0] as string;
/** The client's last handshake with the server, Unix seconds (0: none yet). */
const lastHandshake = (w: World): number => Number(wg(w, 'show', w.interfaces.tunnel.client, 'latest-handshakes').split('\n')[0]?.split('\t')[1] ?? 0);
const endpointRoute = (address: string): RegExp => new RegExp(`^${address.replace(/\./g, '\\.')} via 192\\.168\\.50\\.1 dev eth0 ${TAG}`, 'm');
const logged = (d: DaemonProcess, action: string, destination: string, from = 0): number => d.lines.findIndex((l: LogLine, i) => i >= from && l.action === action && l.destination === destination);

test('endpoints: auto: the endpoint route is read from wireguard-go and follows wg set endpoint, a new peer and a restart, with traffic and handshakes flowing', async (t) => {
  const w = await world(t);
  if (!w) return;
  const d = start(w, 'mode: full\nfullTunnel: {strategy: replace}\nendpoints: auto\n');
  try {
    const dev = w.interfaces.tunnel.client;
    const main = (): string => w.ip('client', 'route', 'show');
    await d.waitForState('installed');
    await d.waitFor((l) => l.action === 'add' && l.destination === '198.51.100.1/32');
    assert.match(main(), endpointRoute('198.51.100.1'), 'the endpoint read from the socket has its route via the physical gateway');
    assert.match(main(), new RegExp(`^default dev ${dev} ${TAG}`, 'm'), 'the tunnel owns the default');
    // Full tunnel: only the endpoint route keeps wireguard-go's own UDP off the tunnel.
    assert.ok(w.ping('client', TARGET).ok, 'traffic flows through the tunnel');
    assert.ok(lastHandshake(w) > 0, 'the handshake went over the physical path');

    // Roaming: the peer's endpoint moves; the new route comes before the old one goes.
    // A continuous ping (every 200 ms for 3 s) runs across the move. Until tunroute reads the
    // new endpoint (within the poll interval), wireguard-go's packets to it have no host
    // route and follow the default into the tunnel, so pings sent in that gap are lost.
    // Every ping sent before the move gets its reply, and traffic flows again afterwards (the
    // ping below). Not every ping soon after the new route is guaranteed: the gap's looped
    // packets (WireGuard inside WireGuard) reach the server once the route exists and roam
    // its view of this client to 10.10.10.2 until the client's next direct packet (seen with
    // `wg show` on the server), which on a loaded machine cost up to two seconds of pings.
    const pingStart = Date.now();
    const pinger = w.spawn('client', 'ping', ['-n', '-i', '0.2', '-c', '15', TARGET]);
    let pingOutput = '';
    pinger.stdout?.on('data', (c: Buffer) => (pingOutput += c.toString()));
    const pinged = new Promise((resolve) => pinger.once('exit', resolve));
    await new Promise((r) => setTimeout(r, 500));
    let mark = d.lines.length;
    const roamed = Date.now();
    wg(w, 'set', dev, 'peer', serverKey(w), 'endpoint', '198.51.100.2:51820');
    await d.waitFor((l) => l.action === 'remove-stale' && l.destination === '198.51.100.1/32', 8000, mark);
    const added = logged(d, 'add', '198.51.100.2/32', mark);
    t.diagnostic(`the endpoint route moved ${Number(d.lines[added]?.time) - roamed} ms after wg set (poll interval 1 s)`);
    await pinged;
    const moved = Number(d.lines[added]?.time);
    const replied = new Set([...pingOutput.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1])));
    const sentAt = (seq: number): number => pingStart + (seq - 1) * 200;
    const seqs = Array.from({ length: 15 }, (_, i) => i + 1);
    t.diagnostic(`continuous ping across the move: ${replied.size}/15 replies; lost ${seqs.filter((q) => !replied.has(q)).join(', ') || 'none'} (the route moved ${moved - roamed} ms after wg set)`);
    for (const seq of seqs.filter((q) => sentAt(q) < roamed - 100)) {
      assert.ok(replied.has(seq), `ping ${seq}, sent ${sentAt(seq) - roamed} ms before the move, got its reply\n${pingOutput}`);
    }
    assert.ok(added >= 0 && added < logged(d, 'remove-stale', '198.51.100.1/32', mark), 'added the new endpoint route before removing the old one');
    assert.match(main(), endpointRoute('198.51.100.2'));
    assert.doesNotMatch(main(), /^198\.51\.100\.1 /m);
    const before = w.transfer('client');
    assert.ok(w.ping('client', TARGET).ok, 'traffic flows to the moved endpoint');
    assert.ok(w.transfer('client').rx > before.rx, 'and answers come back through the tunnel');

    // A second peer added with wg set gets its route; removed, it loses it.
    mark = d.lines.length;
    const extra = w.exec('client', 'wg', ['genkey']).stdout.trim();
    const extraPublic = w.exec('client', 'wg', ['pubkey'], extra).stdout.trim();
    wg(w, 'set', dev, 'peer', extraPublic, 'endpoint', '198.51.100.3:51999', 'allowed-ips', '10.99.0.0/24');
    await d.waitFor((l) => l.action === 'add' && l.destination === '198.51.100.3/32', 8000, mark);
    assert.match(main(), endpointRoute('198.51.100.3'));
    assert.match(main(), endpointRoute('198.51.100.2'), 'the first peer keeps its route');
    mark = d.lines.length;
    wg(w, 'set', dev, 'peer', extraPublic, 'remove');
    await d.waitFor((l) => l.action === 'remove-stale' && l.destination === '198.51.100.3/32', 8000, mark);

    // wireguard-go restarted: a new device and a new socket; the routes follow them.
    mark = d.lines.length;
    await w.stopTunnel('client');
    await d.waitForState('waiting', 8000, mark);
    mark = d.lines.length;
    await w.startTunnel('client');
    await d.waitForState('installed', 8000, mark);
    await d.waitFor((l) => l.action === 'add' && l.destination === '198.51.100.1/32', 8000, mark);
    assert.match(main(), endpointRoute('198.51.100.1'));
    assert.doesNotMatch(main(), /^198\.51\.100\.2 /m, 'the old endpoint is gone with the old socket');
    assert.ok(w.ping('client', TARGET).ok, 'traffic flows through the restarted tunnel');
    assert.ok(lastHandshake(w) > 0, 'the restarted wireguard-go handshook over the physical path');

    d.signal('SIGTERM');
    assert.equal(await d.exited, 0);
    assert.doesNotMatch(w.ip('client', 'route', 'show', 'table', 'all'), new RegExp(TAG), 'nothing of ours is left');
  } finally {
    d.signal('SIGKILL');
    w.destroy();
  }
});

test('routes: auto (split): the allowed IPs become routes, and wg set allowed-ips is applied as a diff', async (t) => {
  const w = await world(t);
  if (!w) return;
  const dev = w.interfaces.tunnel.client;
  wg(w, 'set', dev, 'peer', serverKey(w), 'allowed-ips', `${ADDRESSES.target.prefix.v4},10.21.0.0/24`);
  const d = start(w, 'mode: split\nroutes: auto\nendpoints: auto\n');
  try {
    const main = (): string => w.ip('client', 'route', 'show');
    const target = new RegExp(`^172\\.16\\.99\\.0/24 dev ${dev} ${TAG}`, 'm');
    await d.waitForState('installed');
    await d.waitFor((l) => l.action === 'add' && l.destination === '10.21.0.0/24');
    assert.match(main(), target);
    assert.match(main(), new RegExp(`^10\\.21\\.0\\.0/24 dev ${dev} ${TAG}`, 'm'));
    assert.match(main(), endpointRoute('198.51.100.1'));
    assert.ok(w.ping('client', TARGET).ok, 'the allowed IP is reached through the tunnel');
    assert.ok(lastHandshake(w) > 0);

    // `plan` on the live system shows what it read from the same socket.
    const plan = w.exec('client', 'node', [CLI, 'plan', d.profile]);
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(plan.stdout, new RegExp(`^Peers \\(from /var/run/wireguard/${dev}\\.sock\\):\n  peer \\S+  endpoint 198\\.51\\.100\\.1:51820  allowed IPs 172\\.16\\.99\\.0/24, 10\\.21\\.0\\.0/24  handshake \\d+s ago$`, 'm'));

    const mark = d.lines.length;
    wg(w, 'set', dev, 'peer', serverKey(w), 'allowed-ips', `${ADDRESSES.target.prefix.v4},10.22.0.0/24`);
    await d.waitFor((l) => l.action === 'remove-stale' && l.destination === '10.21.0.0/24', 8000, mark);
    assert.ok(logged(d, 'add', '10.22.0.0/24', mark) >= 0, 'the new allowed IP was added');
    assert.equal(d.lines.slice(mark).filter((l) => l.destination === ADDRESSES.target.prefix.v4).length, 0, 'the unchanged allowed IP was not touched');
    assert.match(main(), new RegExp(`^10\\.22\\.0\\.0/24 dev ${dev}`, 'm'));
    assert.doesNotMatch(main(), /^10\.21\.0\.0\/24/m);
    assert.ok(w.ping('client', TARGET).ok, 'traffic keeps flowing');

    // The whole internet in split mode is refused with a pointer to mode: full.
    const mark2 = d.lines.length;
    wg(w, 'set', dev, 'peer', serverKey(w), 'allowed-ips', `${ADDRESSES.target.prefix.v4},0.0.0.0/0`);
    const warning = await d.waitFor((l) => typeof l.msg === 'string' && l.msg.includes('split mode refuses it'), 8000, mark2);
    assert.match(String(warning.msg), /0\.0\.0\.0\/0.*expected mode: full/);
    assert.doesNotMatch(main(), new RegExp(`^default dev ${dev}`, 'm'), 'no default route in main');

    d.signal('SIGTERM');
    assert.equal(await d.exited, 0);
    assert.doesNotMatch(w.ip('client', 'route', 'show', 'table', 'all'), new RegExp(TAG), 'nothing of ours is left');
  } finally {
    d.signal('SIGKILL');
    w.destroy();
  }
});

test('endpoints: auto with an IPv6 endpoint: its /128 goes via the IPv6 gateway, and traffic and handshakes flow in a full tunnel (split-default)', async (t) => {
  const missing = worldRequirements();
  if (missing.length > 0) return t.skip(missing.join('; '));
  const w = await World.create({ tunnelIpv6: true });
  const dev = w.interfaces.tunnel.client;
  const v6 = ADDRESSES.endpoint.v6;
  // wireguard-go roams: a packet the server sends from its IPv4 endpoint (a passive
  // keepalive after the world's first pings) would move the client's endpoint back to it.
  // The server may no longer send to the client over IPv4; IPv6 is its only way back.
  w.ip('server', 'route', 'add', 'prohibit', `${ADDRESSES.a.v4.client}/32`);
  w.ip('server', 'route', 'add', 'prohibit', `${ADDRESSES.b.v4.client}/32`);
  wg(w, 'set', dev, 'peer', serverKey(w), 'endpoint', `[${v6}]:${ADDRESSES.endpoint.port}`);
  const { path } = writeProfile((dir) => `interface: {name: ${dev}}
address: [${ADDRESSES.tunnel.client.v4}, ${ADDRESSES.tunnel.client.v6}]
ipv6: true
mode: full
fullTunnel: {strategy: split-default}
endpoints: auto
wireguard: {pollInterval: 1s}
daemon:
  journal: ${join(dir, 'journal.json')}
  reconcileInterval: 2s
`);
  const d = new DaemonProcess({ spawn: (cmd, args) => w.spawn('client', cmd, args) }, ['run', path]);
  try {
    await d.waitForState('installed');
    await d.waitFor((l) => l.action === 'add' && l.destination === `${v6}/128`);
    const main6 = (): string => w.ip('client', '-6', 'route', 'show');
    assert.match(main6(), new RegExp(`^${v6.replace(/:/g, ':')} via ${ADDRESSES.a.v6.gateway} dev eth0 ${TAG}`, 'm'), 'the IPv6 endpoint read from the socket has its host route via the IPv6 gateway');
    assert.match(main6(), new RegExp(`^::/1 dev ${dev} ${TAG}`, 'm'), 'the tunnel takes IPv6 (split-default: ::/1 and 8000::/1)');
    assert.doesNotMatch(w.ip('client', 'route', 'show'), /^198\.51\.100\.1 /m, 'the old IPv4 endpoint has no route');
    const before = w.transfer('client');
    assert.ok(w.ping('client', ADDRESSES.target.v6).ok, 'IPv6 traffic flows through the tunnel');
    assert.ok(w.ping('client', TARGET).ok, 'and IPv4 traffic');
    assert.ok(w.transfer('client').rx > before.rx, 'the answers came back from the IPv6 endpoint over the physical path');
    assert.ok(lastHandshake(w) > 0);
    assert.equal(wg(w, 'show', dev, 'endpoints').trim().split('\t')[1], `[${v6}]:${ADDRESSES.endpoint.port}`);
    d.signal('SIGTERM');
    assert.equal(await d.exited, 0);
    assert.doesNotMatch(w.ip('client', '-6', 'route', 'show', 'table', 'all'), new RegExp(TAG), 'nothing of ours is left');
  } finally {
    d.signal('SIGKILL');
    w.destroy();
  }
});
