/**
 * @module test/helpers/wg-world
 * Two namespaces joined by a veth pair, with a real wireguard-go tunnel between them:
 *
 *   client  c0 192.168.50.2/24, default via 192.168.50.1; wireguard-go CLIENT_IF 10.10.10.2
 *   server  s0 192.168.50.1/24; on lo the "public" endpoint addresses 198.51.100.1-3 and the
 *           target 10.20.0.1/24 behind the tunnel; wireguard-go SERVER_IF 10.10.10.1,
 *           listening on every address on port 51820
 *
 * The client's endpoint route (198.51.100.x via 192.168.50.1 dev c0) is what keeps the
 * tunnel's own packets on the physical path once the tunnel takes the default.
 *
 * wireguard-go's UAPI socket is /var/run/wireguard/<interface>.sock on the one filesystem
 * every namespace shares, so interface names carry the test's pid and a counter.
 * (A similar world may live in daemon/sandbox for the policy strategy's e2e suite; the two
 * should be unified.)
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { must, Netns, sweepStaleNamespaces } from './netns.js';

let counter = 0;

export interface Key {
  private: string;
  public: string;
  file: string;
}

export class WgWorld {
  readonly client: Netns;
  readonly server: Netns;
  readonly clientIf: string;
  readonly serverIf: string;
  readonly clientKey: Key;
  readonly serverKey: Key;
  private readonly dir: string;
  private clientProcess: ChildProcess | null = null;

  constructor() {
    sweepStaleNamespaces();
    const n = counter++;
    this.clientIf = `wc${process.pid}x${n}`.slice(0, 15);
    this.serverIf = `ws${process.pid}x${n}`.slice(0, 15);
    this.client = new Netns('wgc');
    this.server = new Netns('wgs');
    this.dir = mkdtempSync(join(tmpdir(), 'tunroute-wg-'));
    this.clientKey = this.key('client');
    this.serverKey = this.key('server');
  }

  /** A fresh key pair; the private key in a 0600 file for `wg set … private-key`. */
  key(label: string): Key {
    const priv = must('wg', ['genkey']).trim();
    const pub = spawnSync('wg', ['pubkey'], { input: priv, encoding: 'utf8' }).stdout.trim();
    const file = join(this.dir, `${label}.key`);
    writeFileSync(file, `${priv}\n`);
    chmodSync(file, 0o600);
    return { private: priv, public: pub, file };
  }

  socketPath(iface: string): string {
    return `/var/run/wireguard/${iface}.sock`;
  }

  /**
   * Builds both namespaces and the server's tunnel. `clientAllowed` are the client's
   * allowed IPs for the server peer (0.0.0.0/0 for a full tunnel).
   */
  async create(clientAllowed: string): Promise<void> {
    this.client.create();
    this.server.create();
    must('ip', ['link', 'add', 'c0', 'netns', this.client.name, 'type', 'veth', 'peer', 'name', 's0', 'netns', this.server.name]);
    this.client.ip('addr', 'add', '192.168.50.2/24', 'dev', 'c0');
    this.client.ip('link', 'set', 'c0', 'up');
    this.client.ip('route', 'add', 'default', 'via', '192.168.50.1', 'dev', 'c0');
    this.server.ip('addr', 'add', '192.168.50.1/24', 'dev', 's0');
    this.server.ip('link', 'set', 's0', 'up');
    for (const a of ['198.51.100.1/32', '198.51.100.2/32', '198.51.100.3/32', '10.20.0.1/24']) this.server.ip('addr', 'add', a, 'dev', 'lo');

    await this.startWireguardGo(this.server, this.serverIf);
    this.server.exec('wg', ['set', this.serverIf, 'private-key', this.serverKey.file, 'listen-port', '51820', 'peer', this.clientKey.public, 'allowed-ips', '10.10.10.2/32']);
    this.server.ip('addr', 'add', '10.10.10.1/32', 'dev', this.serverIf);
    this.server.ip('link', 'set', this.serverIf, 'up');
    this.server.ip('route', 'add', '10.10.10.2/32', 'dev', this.serverIf);

    await this.startClient(clientAllowed);
  }

  /** Starts (or restarts) the client's wireguard-go and configures it like wg-quick would, without routes. */
  async startClient(allowed: string, endpoint = '198.51.100.1:51820'): Promise<void> {
    this.clientProcess = await this.startWireguardGo(this.client, this.clientIf);
    const set = this.client.exec('wg', ['set', this.clientIf, 'private-key', this.clientKey.file, 'peer', this.serverKey.public, 'endpoint', endpoint, 'allowed-ips', allowed, 'persistent-keepalive', '1']);
    if (set.status !== 0) throw new Error(`wg set: ${set.stderr}`);
    this.client.ip('addr', 'add', '10.10.10.2/32', 'dev', this.clientIf);
    this.client.ip('link', 'set', this.clientIf, 'up');
  }

  /** Stops the client's wireguard-go: its interface and socket go away. */
  async stopClient(): Promise<void> {
    const child = this.clientProcess;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    rmSync(this.socketPath(this.clientIf), { force: true });
  }

  private async startWireguardGo(ns: Netns, iface: string): Promise<ChildProcess> {
    const child = ns.spawn('wireguard-go', ['-f', iface], { env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: 'error' } });
    const deadline = Date.now() + 10_000;
    while (!existsSync(this.socketPath(iface)) || ns.tryIp('link', 'show', iface).status !== 0) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`wireguard-go ${iface} did not start`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return child;
  }

  /** `wg ARGS…` in the client namespace, throwing on failure. */
  wg(...args: string[]): string {
    const r = this.client.exec('wg', args);
    if (r.status !== 0) throw new Error(`wg ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** The client's last handshake with the server, in Unix seconds (0: none). */
  lastHandshake(): number {
    const line = this.wg('show', this.clientIf, 'latest-handshakes').split('\n').find((l) => l.startsWith(this.serverKey.public));
    return Number(line?.split('\t')[1] ?? 0);
  }

  /** One ping from the client through the tunnel to the target behind the server. */
  ping(target = '10.20.0.1', count = 1): boolean {
    return this.client.exec('ping', ['-n', '-q', '-c', String(count), '-W', '2', target]).status === 0;
  }

  destroy(): void {
    this.client.destroy();
    this.server.destroy();
    for (const iface of [this.clientIf, this.serverIf]) rmSync(this.socketPath(iface), { force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function withWgWorld<T>(clientAllowed: string, fn: (w: WgWorld) => Promise<T>): Promise<T> {
  const world = new WgWorld();
  try {
    await world.create(clientAllowed);
    return await fn(world);
  } finally {
    world.destroy();
  }
}
