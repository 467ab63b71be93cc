/**
 * @module test/helpers/fake-uapi
 * A stand-in for wireguard-go's UAPI socket, for the macOS model tests (no wireguard-go
 * there): a Unix socket in a fresh 0700 folder owned by the test's uid, answering `get=1`
 * in wireguard-go's own format (the fields and order of device/uapi.go, as recorded in
 * test/fixtures/wireguard) from peers the test changes at will. `restart()` removes and
 * re-creates the socket as a restarted wireguard-go does; `stall` stops it answering.
 */
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakePeer {
  /** 64 hex digits. */
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
}

export const peerKey = (n: number): string => n.toString(16).padStart(64, 'a');

export class FakeUapi {
  readonly directory: string;
  readonly path: string;
  peers: FakePeer[] = [];
  /** When set, requests are read but never answered. */
  stall = false;
  requests = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  readonly interfaceName: string;

  constructor(interfaceName: string) {
    this.interfaceName = interfaceName;
    this.directory = mkdtempSync(join(tmpdir(), 'fake-uapi-'));
    this.path = join(this.directory, `${interfaceName}.sock`);
  }

  answer(): string {
    const lines = ['private_key=' + 'c'.repeat(64), 'listen_port=51820'];
    for (const p of this.peers) {
      lines.push(`public_key=${p.publicKey}`, `preshared_key=${'0'.repeat(64)}`, 'protocol_version=1');
      if (p.endpoint) lines.push(`endpoint=${p.endpoint}`);
      lines.push('last_handshake_time_sec=0', 'last_handshake_time_nsec=0', 'tx_bytes=0', 'rx_bytes=0', 'persistent_keepalive_interval=0');
      for (const a of p.allowedIps) lines.push(`allowed_ip=${a}`);
    }
    return `${lines.join('\n')}\nerrno=0\n\n`;
  }

  async start(): Promise<void> {
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      let buffer = '';
      socket.on('data', (chunk) => {
        buffer += chunk.toString();
        if (buffer !== 'get=1\n\n') return;
        buffer = '';
        this.requests++;
        if (!this.stall) socket.write(this.answer());
      });
    });
    await new Promise<void>((resolve) => server.listen(this.path, resolve));
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  /** What a wireguard-go restart looks like from outside: the socket goes, then a new one comes. */
  async restart(peers: FakePeer[]): Promise<void> {
    await this.stop();
    this.peers = peers;
    await this.start();
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.directory, { recursive: true, force: true });
  }
}
