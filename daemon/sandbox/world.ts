/**
 * @module sandbox/world
 * A small, real network to run tunroute against: three Linux network namespaces joined by
 * veth pairs, with a WireGuard tunnel made by wireguard-go and `wg` between two of them.
 * The end-to-end tests build one per test; `tunroute sandbox` builds one for a person to
 * try things in. Nothing here talks to an address outside these namespaces.
 *
 * ```
 *   client                              server                         target
 *   eth0 192.168.50.2/24  fd00:50::2  ── a0 192.168.50.1  fd00:50::1    (network "a", the LAN)
 *   eth1 192.168.51.2/24  fd00:51::2  ── b0 192.168.51.1  fd00:51::1    (network "b", another network)
 *                                        lo 198.51.100.1  2001:db8:e::1    (the WireGuard endpoint,
 *                                                                             reachable physically)
 *                                        lo 203.0.113.1   2001:db8:f::1    ("the internet": physical,
 *                                                                             shows a leak)
 *   wgc  10.10.10.2  fd00:10::2  ═══════ wgs 10.10.10.1/24 fd00:10::1/64 (wireguard-go, keys per run)
 *                                        t0 172.16.99.1  fd00:99::1 ── t0 172.16.99.2  fd00:99::2
 * ```
 *
 * - The client's default routes go via network "a" (`192.168.50.1`, `fd00:50::1`).
 * - The target is reachable from the client **only through the tunnel**: the server
 *   forwards, but a rule refuses (`prohibit`) traffic to the target that arrives on a0 or b0.
 * - The endpoint address sits on the server's loopback device and is reachable through
 *   the physical networks, as a VPN server's public address is.
 * - "The internet" (also on the server's loopback) is reachable physically too; a ping to it
 *   that succeeds while a full tunnel should carry or block its family is a leak.
 * - The client's tunnel device is created by wireguard-go and configured with `wg`; the
 *   client routes nothing into it: that is the job of the tunroute under test. It gets no
 *   link-local address (addrgenmode none), so a restarted tunnel leaves the same table.
 *
 * API:
 * ```ts
 * import { World, ADDRESSES, worldRequirements } from 'tunroute/dist/daemon/sandbox/world.js';
 * const missing = worldRequirements();        // [] or reasons ("needs root", "wireguard-go not found")
 * const world = await World.create({ tunnelIpv6: true });   // namespaces, veths, tunnel up
 * world.ns.client                             // the namespace names (unique per process and world)
 * world.interfaces.tunnel.client              // "tw<pid36>-<n>c": the client's WireGuard device
 * world.exec('client', 'ip', ['route'])       // {status, stdout, stderr}, never throws
 * world.ip('client', 'route', 'show')         // `ip -n NS …`, throws with stderr on failure
 * world.ping('client', ADDRESSES.target.v4)   // {ok, output}: one reply within the deadline
 * world.tryIp('client', 'rule')               // `ip -n NS …` as {status, stdout, stderr}
 * world.spawn('client', 'node', [cli, 'run', profile])  // a long-running process inside (piped)
 * world.routeGet('client', '198.51.100.1')    // `ip route get`'s line
 * world.transfer('client')                    // {rx, tx} bytes from `wg show … transfer`
 * await world.stopTunnel('client', 'SIGKILL') // wireguard-go killed, its device gone
 * await world.startTunnel('client')           // started again, same keys and addresses
 * world.tunnelPid('client')                   // wireguard-go's pid, or null
 * world.setPhysicalGateway('b', { style: 'del-add' })  // the client's defaults (v4+v6) move to network b
 *                                             // (style 'replace' as NetworkManager, 'del-add' as a DHCP script)
 * world.physicalGateway                       // 'a' | 'b'
 * world.destroy()                             // idempotent; also run on exit when asked:
 * world.destroyOnExit()                       // 'exit', SIGINT, SIGTERM, SIGHUP → destroy (then exit 128+N)
 * ```
 * Names carry the creating process's pid, so `sweepStaleWorlds()` (called by create())
 * removes what a killed run left: its namespaces, the processes still inside them, and
 * wireguard-go's stale UAPI sockets.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export type Side = 'client' | 'server' | 'target';
export type Network = 'a' | 'b';

/** Every address of the world. The same in every world: namespaces keep them apart. */
export const ADDRESSES = {
  /** Network "a": the client's LAN and default path. */
  a: { v4: { client: '192.168.50.2', gateway: '192.168.50.1', prefix: '192.168.50.0/24' }, v6: { client: 'fd00:50::2', gateway: 'fd00:50::1', prefix: 'fd00:50::/64' } },
  /** Network "b": another physical network, for gateway changes. */
  b: { v4: { client: '192.168.51.2', gateway: '192.168.51.1', prefix: '192.168.51.0/24' }, v6: { client: 'fd00:51::2', gateway: 'fd00:51::1', prefix: 'fd00:51::/64' } },
  /** The WireGuard endpoint (the server's "public" address), reachable over the physical networks. */
  endpoint: { v4: '198.51.100.1', v6: '2001:db8:e::1', port: 51820 },
  /** Tunnel addresses. The client's are host addresses; the server's carry the tunnel's prefix. */
  tunnel: { client: { v4: '10.10.10.2', v6: 'fd00:10::2' }, server: { v4: '10.10.10.1', v6: 'fd00:10::1' }, prefix: { v4: '10.10.10.0/24', v6: 'fd00:10::/64' } },
  /**
   * A host on the far side of the physical networks that is neither the endpoint nor on
   * the LAN (on the server's lo): reachable physically, so a ping to it shows a leak.
   */
  internet: { v4: '203.0.113.1', v6: '2001:db8:f::1' },
  /** Reachable from the client only through the tunnel. */
  target: { v4: '172.16.99.2', v6: 'fd00:99::2', prefix: { v4: '172.16.99.0/24', v6: 'fd00:99::/64' }, gateway: { v4: '172.16.99.1', v6: 'fd00:99::1' } },
} as const;

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface WorldOptions {
  /** Prefix of namespace names; `sweepStaleWorlds` removes only its own. Default "trw". */
  prefix?: string;
  /** Give the client's tunnel IPv6 addresses (the server always has them). Default true. */
  tunnelIpv6?: boolean;
  /** Progress lines ("created namespaces …"), for the sandbox's output. */
  log?: (line: string) => void;
}

const DEFAULT_PREFIX = 'trw';
/** wireguard-go refuses to start on kernels with the WireGuard module unless told this. */
const WG_ENV = { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' };
const UAPI_DIR = '/var/run/wireguard';
let worldCounter = 0;

function run(cmd: string, args: string[], input?: string, timeoutMs = 30_000): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: timeoutMs, env: { ...process.env, ...WG_ENV } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

function must(cmd: string, args: string[], input?: string): string {
  const r = run(cmd, args, input);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, tool)));
}

/** Why a world cannot be built here, one reason per missing piece; empty when it can. */
export function worldRequirements(): string[] {
  const missing: string[] = [];
  if (process.platform !== 'linux') missing.push('needs Linux (network namespaces)');
  else if (process.getuid?.() !== 0) missing.push('needs root (creates network namespaces)');
  for (const tool of ['ip', 'wireguard-go', 'wg', 'ping']) if (!onPath(tool)) missing.push(`needs ${tool} (not found on PATH)`);
  return missing;
}

/** True while `pid` exists (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what worlds of processes that no longer exist left behind: the processes still
 * running in their namespaces (wireguard-go), the namespaces, and stale UAPI sockets.
 */
export function sweepStaleWorlds(prefix = DEFAULT_PREFIX): number {
  let removed = 0;
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    names = [];
  }
  const pattern = new RegExp(`^${prefix}-(\\d+)-\\d+-(client|server|target)$`);
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    killInside(name);
    run('ip', ['netns', 'del', name]);
    removed++;
  }
  let sockets: string[] = [];
  try {
    sockets = readdirSync(UAPI_DIR);
  } catch {
    sockets = [];
  }
  for (const socket of sockets) {
    const m = /^tw([0-9a-z]+)-\d+[cs]\.sock$/.exec(socket);
    if (m && !processAlive(parseInt(m[1] as string, 36))) rmSync(join(UAPI_DIR, socket), { force: true });
  }
  return removed;
}

/** SIGKILLs every process still inside namespace `name`. */
function killInside(name: string): void {
  for (const pid of run('ip', ['netns', 'pids', name]).stdout.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Keys {
  private: string;
  public: string;
}

function keyPair(): Keys {
  const priv = must('wg', ['genkey']).trim();
  return { private: priv, public: must('wg', ['pubkey'], `${priv}\n`).trim() };
}

export class World {
  /** The namespace names. */
  readonly ns: Record<Side, string>;
  readonly interfaces: {
    /** WireGuard devices: the client's and the server's. */
    tunnel: { client: string; server: string };
    /** The client's physical devices, per network. */
    client: Record<Network, string>;
  };
  readonly tunnelIpv6: boolean;
  private readonly keys: { client: Keys; server: Keys };
  private readonly wireguard: Partial<Record<'client' | 'server', ChildProcess>> = {};
  private readonly log: (line: string) => void;
  private gateway: Network = 'a';
  private destroyed = false;
  private exitHooks: (() => void) | null = null;

  private constructor(options: WorldOptions) {
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    const id = `${prefix}-${process.pid}-${worldCounter}`;
    const short = `tw${process.pid.toString(36)}-${worldCounter}`;
    worldCounter++;
    this.ns = { client: `${id}-client`, server: `${id}-server`, target: `${id}-target` };
    this.interfaces = { tunnel: { client: `${short}c`, server: `${short}s` }, client: { a: 'eth0', b: 'eth1' } };
    this.tunnelIpv6 = options.tunnelIpv6 ?? true;
    this.keys = { client: keyPair(), server: keyPair() };
    this.log = options.log ?? (() => undefined);
  }

  /** Builds a world: namespaces, physical networks, server forwarding, and the tunnel up on both sides. */
  static async create(options: WorldOptions = {}): Promise<World> {
    const A = ADDRESSES;
    const missing = worldRequirements();
    if (missing.length > 0) throw new Error(`cannot build the test world: ${missing.join('; ')}`);
    sweepStaleWorlds(options.prefix ?? DEFAULT_PREFIX);
    const world = new World(options);
    try {
      world.buildNetworks();
      await world.settle('client', [A.a.v4.client, A.a.v6.client, A.b.v4.client, A.b.v6.client], ['eth0', 'eth1']);
      await world.settle('server', [A.a.v4.gateway, A.a.v6.gateway, A.b.v4.gateway, A.b.v6.gateway], ['a0', 'b0', 't0']);
      await world.startTunnel('server');
      await world.startTunnel('client');
    } catch (e) {
      world.destroy();
      throw e;
    }
    return world;
  }

  private buildNetworks(): void {
    const { client, server, target } = this.ns;
    for (const ns of [client, server, target]) {
      must('ip', ['netns', 'add', ns]);
      // No duplicate address detection: IPv6 addresses work the moment they are added.
      for (const conf of ['all', 'default']) must('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${conf}.accept_dad=0`]);
      this.ip(this.sideOf(ns), 'link', 'set', 'lo', 'up');
    }
    this.log(`namespaces ${client}, ${server}, ${target}`);
    const A = ADDRESSES;
    // The physical networks: client ethN <-> server a0/b0.
    for (const [network, serverDev] of [['a', 'a0'], ['b', 'b0']] as const) {
      const dev = this.interfaces.client[network];
      const net = A[network];
      this.ip('client', 'link', 'add', dev, 'type', 'veth', 'peer', 'name', serverDev, 'netns', server);
      this.ip('client', 'addr', 'add', `${net.v4.client}/24`, 'dev', dev);
      this.ip('client', 'addr', 'add', `${net.v6.client}/64`, 'dev', dev);
      this.ip('client', 'link', 'set', dev, 'up');
      this.ip('server', 'addr', 'add', `${net.v4.gateway}/24`, 'dev', serverDev);
      this.ip('server', 'addr', 'add', `${net.v6.gateway}/64`, 'dev', serverDev);
      this.ip('server', 'link', 'set', serverDev, 'up');
      // The target is only for tunnelled traffic.
      this.ip('server', '-4', 'rule', 'add', 'iif', serverDev, 'to', A.target.prefix.v4, 'prohibit', 'pref', '100');
      this.ip('server', '-6', 'rule', 'add', 'iif', serverDev, 'to', A.target.prefix.v6, 'prohibit', 'pref', '100');
    }
    this.ip('client', 'route', 'add', 'default', 'via', A.a.v4.gateway, 'dev', this.interfaces.client.a);
    this.ip('client', '-6', 'route', 'add', 'default', 'via', A.a.v6.gateway, 'dev', this.interfaces.client.a);
    // The endpoint: a "public" address on the server.
    // (On lo: not every kernel has the dummy device.)
    this.ip('server', 'addr', 'add', `${A.endpoint.v4}/32`, 'dev', 'lo');
    this.ip('server', 'addr', 'add', `${A.endpoint.v6}/128`, 'dev', 'lo');
    this.ip('server', 'addr', 'add', `${A.internet.v4}/32`, 'dev', 'lo');
    this.ip('server', 'addr', 'add', `${A.internet.v6}/128`, 'dev', 'lo');
    // The target network behind the server.
    this.ip('server', 'link', 'add', 't0', 'type', 'veth', 'peer', 'name', 't0', 'netns', target);
    this.ip('server', 'addr', 'add', `${A.target.gateway.v4}/24`, 'dev', 't0');
    this.ip('server', 'addr', 'add', `${A.target.gateway.v6}/64`, 'dev', 't0');
    this.ip('server', 'link', 'set', 't0', 'up');
    this.ip('target', 'addr', 'add', `${A.target.v4}/24`, 'dev', 't0');
    this.ip('target', 'addr', 'add', `${A.target.v6}/64`, 'dev', 't0');
    this.ip('target', 'link', 'set', 't0', 'up');
    this.ip('target', 'route', 'add', 'default', 'via', A.target.gateway.v4);
    this.ip('target', '-6', 'route', 'add', 'default', 'via', A.target.gateway.v6);
    must('ip', ['netns', 'exec', server, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    must('ip', ['netns', 'exec', server, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    this.log('physical networks a (192.168.50.0/24, fd00:50::/64) and b (192.168.51.0/24, fd00:51::/64); target 172.16.99.2, fd00:99::2');
  }

  private sideOf(ns: string): Side {
    return (Object.keys(this.ns) as Side[]).find((s) => this.ns[s] === ns) as Side;
  }

  // ---- running things --------------------------------------------------------------

  /** Runs a command inside a namespace to completion; never throws. */
  exec(side: Side, cmd: string, args: string[], input?: string): RunResult {
    return run('ip', ['netns', 'exec', this.ns[side], cmd, ...args], input);
  }

  /** `ip -n NS ARGS…`, throwing with its stderr when it fails. */
  ip(side: Side, ...args: string[]): string {
    return must('ip', ['-n', this.ns[side], ...args]);
  }

  /**
   * Everything a tunroute run could change in a namespace, as text to compare byte for
   * byte: both families' routes in every table, and both families' rules.
   */
  tables(side: Side = 'client'): string {
    return [this.ip(side, '-4', 'route', 'show', 'table', 'all'), this.ip(side, '-6', 'route', 'show', 'table', 'all'), this.ip(side, '-4', 'rule'), this.ip(side, '-6', 'rule')].join('\n--\n');
  }

  /** `ip -n NS ARGS…`, whatever the outcome. */
  tryIp(side: Side, ...args: string[]): RunResult {
    return run('ip', ['-n', this.ns[side], ...args]);
  }

  /** Starts a long-running command inside a namespace (stdout/stderr piped); killed by destroy() via the namespace. */
  spawn(side: Side, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.ns[side], cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  }

  /**
   * Pings `address` from `side` until one reply comes or `deadlineS` passes (a first
   * packet through the tunnel also waits for the WireGuard handshake).
   */
  ping(side: Side, address: string, options: { deadlineS?: number } = {}): { ok: boolean; output: string } {
    const r = this.exec(side, 'ping', ['-n', '-q', '-c', '1', '-i', '0.2', '-w', String(options.deadlineS ?? 3), address]);
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
  }

  /** `ip route get ADDRESS` in `side`: its first line, or the error. */
  routeGet(side: Side, address: string): string {
    const r = this.tryIp(side, 'route', 'get', address);
    return (r.status === 0 ? r.stdout : r.stderr).split('\n')[0]?.trim() ?? '';
  }

  /** Bytes received and sent by the WireGuard device of `side` (`wg show DEV transfer`), summed over peers. */
  transfer(side: 'client' | 'server' = 'client'): { rx: number; tx: number } {
    const out = this.exec(side, 'wg', ['show', this.interfaces.tunnel[side], 'transfer']);
    if (out.status !== 0) throw new Error(`wg show ${this.interfaces.tunnel[side]} transfer failed: ${out.stderr.trim()}`);
    let rx = 0;
    let tx = 0;
    for (const line of out.stdout.split('\n')) {
      const [, r, t] = line.split('\t');
      if (r !== undefined && t !== undefined) {
        rx += Number(r);
        tx += Number(t);
      }
    }
    return { rx, tx };
  }

  // ---- the tunnel --------------------------------------------------------------------

  /** Starts wireguard-go in `side`, configures keys, peer, addresses, and brings the device up. */
  async startTunnel(side: 'client' | 'server'): Promise<void> {
    const dev = this.interfaces.tunnel[side];
    if (this.wireguard[side] && this.wireguard[side]?.exitCode === null && this.wireguard[side]?.signalCode === null) {
      throw new Error(`wireguard-go already runs for ${dev}`);
    }
    // A wireguard-go killed earlier leaves its UAPI socket file behind, and the new one creates
    // its device before it replaces that file: the wait below would see both at once and `wg
    // setconf` would meet the dead socket (and fall back to kernel WireGuard: "Protocol not
    // supported"). Nothing of ours listens there now (checked above), so the file goes first.
    const socket = join(UAPI_DIR, `${dev}.sock`);
    rmSync(socket, { force: true });
    const child = this.spawn(side, 'wireguard-go', ['-f', dev], WG_ENV);
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    child.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
    this.wireguard[side] = child;
    const deadline = Date.now() + 10_000;
    while (!(existsSync(socket) && this.tryIp(side, 'link', 'show', dev).status === 0)) {
      if (child.exitCode !== null) throw new Error(`wireguard-go ${dev} exited (${child.exitCode}): ${output.trim()}`);
      if (Date.now() > deadline) throw new Error(`wireguard-go ${dev} did not create its device within 10 s: ${output.trim()}`);
      await sleep(20);
    }
    const A = ADDRESSES;
    const peer = side === 'client' ? 'server' : 'client';
    const allowed = side === 'client' ? '0.0.0.0/0, ::/0' : `${A.tunnel.client.v4}/32, ${A.tunnel.client.v6}/128`;
    const config = [
      '[Interface]',
      `PrivateKey = ${this.keys[side].private}`,
      ...(side === 'server' ? [`ListenPort = ${A.endpoint.port}`] : []),
      '[Peer]',
      `PublicKey = ${this.keys[peer].public}`,
      `AllowedIPs = ${allowed}`,
      ...(side === 'client' ? [`Endpoint = ${A.endpoint.v4}:${A.endpoint.port}`] : []),
      '',
    ].join('\n');
    // A file, not /dev/stdin: Node's stdin pipes are sockets, which wg cannot fopen.
    const dir = mkdtempSync(join(tmpdir(), 'tunroute-world-'));
    try {
      writeFileSync(join(dir, 'wg.conf'), config, { mode: 0o600 });
      const set = this.exec(side, 'wg', ['setconf', dev, join(dir, 'wg.conf')]);
      if (set.status !== 0) throw new Error(`wg setconf ${dev} failed: ${set.stderr.trim()}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (side === 'server') {
      this.ip(side, 'addr', 'add', `${A.tunnel.server.v4}/24`, 'dev', dev);
      this.ip(side, 'addr', 'add', `${A.tunnel.server.v6}/64`, 'dev', dev);
    } else {
      this.ip(side, 'addr', 'add', `${A.tunnel.client.v4}/32`, 'dev', dev);
      if (this.tunnelIpv6) this.ip(side, 'addr', 'add', `${A.tunnel.client.v6}/128`, 'dev', dev);
    }
    // No random link-local address: a restarted tunnel then leaves the table exactly as the
    // first one did, so tests can compare tables across a restart byte for byte.
    this.ip(side, 'link', 'set', dev, 'addrgenmode', 'none');
    this.ip(side, 'link', 'set', dev, 'up');
    const own = side === 'server' ? [A.tunnel.server.v4, A.tunnel.server.v6] : [A.tunnel.client.v4, ...(this.tunnelIpv6 ? [A.tunnel.client.v6] : [])];
    await this.settle(side, own, []);
    this.log(`wireguard-go ${dev} up in ${this.ns[side]}`);
  }

  /**
   * Waits until the kernel has finished what it does on its own after addresses are added
   * and links come up (the local routes of `addresses`, and on `linkLocal` devices their
   * IPv6 link-local address with its routes). The kernel does that work asynchronously, so
   * without waiting, a table read right after create() could miss lines that appear a moment
   * later, and a byte-for-byte comparison would fail for reasons that are nobody's doing.
   */
  private async settle(side: Side, addresses: string[], linkLocal: string[]): Promise<void> {
    const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const local = this.ip(side, '-4', 'route', 'show', 'table', 'local') + this.ip(side, '-6', 'route', 'show', 'table', 'local');
      const main6 = this.ip(side, '-6', 'route', 'show');
      const missing = [
        ...addresses.filter((a) => !new RegExp(`^local ${escape(a)} `, 'm').test(local)),
        ...linkLocal.filter((dev) => !new RegExp(`^local fe80::\\S+ dev ${escape(dev)} `, 'm').test(local) || !new RegExp(`^fe80::/64 dev ${escape(dev)} `, 'm').test(main6)),
      ];
      if (missing.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${this.ns[side]}: the kernel did not finish setting up ${missing.join(', ')} within 10 s`);
      await sleep(10);
    }
  }

  /** Stops wireguard-go in `side` with `signal` and waits until its device is gone. */
  async stopTunnel(side: 'client' | 'server', signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.wireguard[side];
    const dev = this.interfaces.tunnel[side];
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      await exited;
    }
    delete this.wireguard[side];
    const deadline = Date.now() + 5000;
    while (this.tryIp(side, 'link', 'show', dev).status === 0) {
      if (Date.now() > deadline) throw new Error(`${dev} still exists 5 s after wireguard-go was stopped`);
      await sleep(20);
    }
  }

  /** The pid of the running wireguard-go of `side`, or null. */
  tunnelPid(side: 'client' | 'server'): number | null {
    const child = this.wireguard[side];
    return child && child.exitCode === null && child.signalCode === null ? (child.pid ?? null) : null;
  }

  // ---- the physical side ----------------------------------------------------------------

  /** The network the client's default routes currently go through. */
  get physicalGateway(): Network {
    return this.gateway;
  }

  /**
   * Moves the client's IPv4 and IPv6 default routes to `network`, the way the table's
   * owners do it: `replace` (NetworkManager: `ip route replace default …`) or `del-add`
   * (a DHCP client script: delete the old default, add the new one). `metric` is given to
   * the new routes when set.
   */
  setPhysicalGateway(network: Network, options: { style?: 'replace' | 'del-add'; metric?: number } = {}): void {
    const old = ADDRESSES[this.gateway];
    const next = ADDRESSES[network];
    const dev = this.interfaces.client[network];
    const oldDev = this.interfaces.client[this.gateway];
    const metric = options.metric === undefined ? [] : ['metric', String(options.metric)];
    for (const [flag, gw, oldGw] of [['-4', next.v4.gateway, old.v4.gateway], ['-6', next.v6.gateway, old.v6.gateway]] as const) {
      if ((options.style ?? 'replace') === 'del-add') {
        this.tryIp('client', flag, 'route', 'del', 'default', 'via', oldGw, 'dev', oldDev);
        this.ip('client', flag, 'route', 'add', 'default', 'via', gw, 'dev', dev, ...metric);
      } else {
        this.ip('client', flag, 'route', 'replace', 'default', 'via', gw, 'dev', dev, ...metric);
      }
    }
    this.gateway = network;
    this.log(`client default now via network ${network} (${next.v4.gateway}, ${next.v6.gateway})`);
  }

  // ---- teardown -------------------------------------------------------------------------

  /** Stops wireguard-go and removes the namespaces (and with them every device). Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const side of ['client', 'server'] as const) this.wireguard[side]?.kill('SIGKILL');
    for (const ns of Object.values(this.ns)) {
      killInside(ns);
      run('ip', ['netns', 'del', ns]);
    }
    for (const dev of Object.values(this.interfaces.tunnel)) rmSync(join(UAPI_DIR, `${dev}.sock`), { force: true });
    this.exitHooks?.();
    this.log('world removed');
  }

  /**
   * Destroys the world when the process exits, and on SIGINT, SIGTERM and SIGHUP (then
   * exits 128 + the signal's number, as a shell would report it). For `tunroute sandbox`.
   */
  destroyOnExit(): void {
    if (this.exitHooks) return;
    const onExit = (): void => this.destroy();
    const signals: Array<[NodeJS.Signals, number]> = [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]];
    const handlers = signals.map(([signal, number]) => {
      const handler = (): void => {
        this.destroy();
        process.exit(128 + number);
      };
      process.on(signal, handler);
      return [signal, handler] as const;
    });
    process.on('exit', onExit);
    this.exitHooks = () => {
      process.off('exit', onExit);
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
  }
}
