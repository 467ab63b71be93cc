/**
 * @module wireguard/uapi
 * A client of WireGuard's cross-platform configuration protocol, the text protocol
 * wireguard-go serves on the Unix socket `/var/run/wireguard/<interface>.sock`
 * (https://www.wireguard.com/xplatform/). A request is `get=1\n\n` or `set=1\n` followed
 * by `key=value` lines and a blank line; every answer ends with `errno=N\n\n` (wireguard-go
 * writes N negated, so its sign is ignored). A `get` answer lists the device's keys, then
 * each peer from its `public_key=` line on.
 *
 * The parser is strict: a line that is not `key=value`, a value a known key cannot hold,
 * a missing terminator or bytes after it are a UapiError naming the line. Unknown keys
 * are skipped (the protocol grows; amneziawg adds its own). Private and preshared keys
 * are checked for shape but never kept. Every request has a timeout, and a socket is used
 * only when root owns it and its folder (anyone else could serve us a made-up peer list
 * and move our endpoint routes). Nothing is ever written except by `set`, which only a
 * profile option may call (`setFwmark` for the Linux policy strategy).
 */
import { connect } from 'node:net';
import { lstat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Family } from '../model/route.js';
import { formatAddress, formatPrefix, parseAddress, parsePrefix } from '../profile/prefix.js';

/** Where wireguard-go puts its sockets, on Linux and macOS alike (ipc/uapi_unix.go). */
export const UAPI_DIRECTORY = '/var/run/wireguard';

export function uapiSocketPath(interfaceName: string, directory = UAPI_DIRECTORY): string {
  return `${directory}/${interfaceName}.sock`;
}

export type UapiErrorKind = 'malformed' | 'errno' | 'timeout' | 'untrusted' | 'unavailable' | 'too-long';

/** Everything this module throws. `line` is 1-based in the answer; `errno` is the protocol's, made positive. */
export class UapiError extends Error {
  override name = 'UapiError';
  readonly kind: UapiErrorKind;
  readonly line: number | null;
  readonly errno: number | null;
  constructor(kind: UapiErrorKind, message: string, details: { line?: number; errno?: number } = {}) {
    super(details.line === undefined ? message : `line ${details.line}: ${message}`);
    this.kind = kind;
    this.line = details.line ?? null;
    this.errno = details.errno ?? null;
  }
}

export interface UapiEndpoint {
  family: Family;
  /** Canonical address, without an IPv6 zone. */
  address: string;
  port: number;
}

export interface UapiPeer {
  /** Hex, as the protocol writes it. */
  publicKey: string;
  endpoint: UapiEndpoint | null;
  /** Canonical prefixes, host bits cleared, in the order given. */
  allowedIps: string[];
  /** Unix seconds of the last handshake; null when there was none. */
  lastHandshake: number | null;
  persistentKeepalive: number | null;
  rxBytes: number | null;
  txBytes: number | null;
}

export interface UapiDevice {
  listenPort: number | null;
  fwmark: number | null;
  peers: UapiPeer[];
}

/** An answer larger than this is refused (a peer with a few allowed IPs takes about 400 bytes: 16 MiB is some 40,000 peers). */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

const KEY_HEX = /^[0-9a-f]{64}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;
const LINE = /^([a-z0-9_]+)=(.*)$/;

function integer(text: string, max: number, line: number, key: string): number {
  if (!DECIMAL.test(text) || Number(text) > max) throw new UapiError('malformed', `${key}=${JSON.stringify(text).slice(1, -1)} is not a whole number from 0 to ${max}`, { line });
  return Number(text);
}

/** `A.B.C.D:port` or `[v6%zone]:port`, as wireguard-go prints an endpoint. */
export function parseUapiEndpoint(text: string): UapiEndpoint | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)(?:%[^\]\s]+)?\]|([0-9.]+)):([0-9]{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  const parsed = parseAddress((m[1] ?? m[2]) as string);
  if (parsed === null || (m[1] !== undefined) !== (parsed.family === 'inet6')) return null;
  return { family: parsed.family, address: formatAddress(parsed.family, parsed.value), port };
}

/**
 * Parses the whole answer to `get=1`, up to and including its `errno=N` line and the blank
 * line after it. errno other than 0 throws UapiError('errno').
 */
export function parseGetAnswer(text: string): UapiDevice {
  const end = text.indexOf('\n\n');
  if (end < 0) throw new UapiError('malformed', 'the answer does not end with a blank line');
  if (end + 2 !== text.length) throw new UapiError('malformed', 'bytes after the blank line that ends the answer', { line: text.slice(0, end + 2).split('\n').length });
  const lines = text.slice(0, end).split('\n');
  const last = lines.pop();
  const errnoMatch = last === undefined ? null : /^errno=(-?)(0|[1-9][0-9]{0,9})$/.exec(last);
  if (!errnoMatch) throw new UapiError('malformed', `the answer ends with ${last === undefined ? 'nothing' : JSON.stringify(last)}, expected errno=N`, { line: lines.length + 1 });
  const errno = Number(errnoMatch[2]);
  if (errno !== 0) throw new UapiError('errno', `wireguard-go answered errno=${errnoMatch[1]}${errno}`, { errno });

  const device: UapiDevice = { listenPort: null, fwmark: null, peers: [] };
  let peer: UapiPeer | null = null;
  // The current peer's allowed IPs, for duplicates in O(1): a peer may carry thousands.
  let allowed = new Set<string>();
  const keys = new Set<string>();
  lines.forEach((raw, i) => {
    const line = i + 1;
    const m = LINE.exec(raw);
    if (!m) throw new UapiError('malformed', `${JSON.stringify(raw.slice(0, 80))} is not key=value`, { line });
    const key = m[1] as string;
    const value = m[2] as string;
    if (key === 'errno') throw new UapiError('malformed', 'errno before the end of the answer', { line });
    if (key === 'public_key') {
      if (!KEY_HEX.test(value)) throw new UapiError('malformed', 'public_key is not 64 lowercase hex digits', { line });
      if (keys.has(value)) throw new UapiError('malformed', `peer ${value.slice(0, 8)}… listed twice`, { line });
      keys.add(value);
      peer = { publicKey: value, endpoint: null, allowedIps: [], lastHandshake: null, persistentKeepalive: null, rxBytes: null, txBytes: null };
      device.peers.push(peer);
      allowed = new Set();
      return;
    }
    const current = peer as UapiPeer | null;
    if (current === null) {
      switch (key) {
        case 'private_key':
          if (!KEY_HEX.test(value)) throw new UapiError('malformed', 'private_key is not 64 lowercase hex digits', { line });
          return;
        case 'listen_port':
          device.listenPort = integer(value, 65535, line, key);
          return;
        case 'fwmark':
          device.fwmark = integer(value, 0xffffffff, line, key);
          return;
        default:
          return; // unknown device keys are skipped
      }
    }
    switch (key) {
      case 'preshared_key':
        if (!KEY_HEX.test(value)) throw new UapiError('malformed', 'preshared_key is not 64 lowercase hex digits', { line });
        return;
      case 'endpoint': {
        const endpoint = parseUapiEndpoint(value);
        if (endpoint === null) throw new UapiError('malformed', `endpoint=${JSON.stringify(value.slice(0, 80)).slice(1, -1)} is not ADDRESS:PORT or [ADDRESS]:PORT`, { line });
        current.endpoint = endpoint;
        return;
      }
      case 'allowed_ip': {
        const parsed = parsePrefix(value, true);
        const prefix = parsed.ok ? parsed.prefix : parsed.reason === 'host-bits' ? parsed.network : null;
        if (prefix === null || !value.includes('/')) throw new UapiError('malformed', `allowed_ip=${JSON.stringify(value.slice(0, 80)).slice(1, -1)} is not a prefix`, { line });
        const text = formatPrefix(prefix);
        if (!allowed.has(text)) {
          allowed.add(text);
          current.allowedIps.push(text);
        }
        return;
      }
      case 'last_handshake_time_sec': {
        const sec = integer(value, Number.MAX_SAFE_INTEGER, line, key);
        current.lastHandshake = sec === 0 ? null : sec;
        return;
      }
      case 'last_handshake_time_nsec':
        integer(value, 999_999_999, line, key);
        return;
      case 'persistent_keepalive_interval':
        current.persistentKeepalive = integer(value, 65535, line, key);
        return;
      case 'rx_bytes':
        current.rxBytes = integer(value, Number.MAX_SAFE_INTEGER, line, key);
        return;
      case 'tx_bytes':
        current.txBytes = integer(value, Number.MAX_SAFE_INTEGER, line, key);
        return;
      case 'protocol_version':
        if (value !== '1') throw new UapiError('malformed', `protocol_version=${value.slice(0, 20)} is not 1`, { line });
        return;
      default:
        return; // unknown peer keys are skipped
    }
  });
  return device;
}

/** Parses the answer to `set=1`: only `errno=N` and the blank line. */
export function parseSetAnswer(text: string): void {
  const device = parseGetAnswer(text);
  if (device.peers.length > 0 || text.split('\n').length > 3) throw new UapiError('malformed', 'a set answer holds only errno=N');
}

/** An errno code, with why for the one a user meets: wireguard-go makes its socket 0700, so only root may connect. */
const accessText = (code: string): string => (code === 'EACCES' || code === 'EPERM' ? `${code}: only root may connect to wireguard-go's socket` : code);

/**
 * Refuses a socket that root (or `owner`) does not own, or whose folder someone else could
 * write to (they could replace the socket). lstat: a symlink is not a socket. The one place
 * this module decides trust, so a shared file-trust check can take it over.
 */
export async function checkSocketTrust(path: string, owner = 0): Promise<void> {
  const folder = dirname(path);
  let dir;
  let sock;
  try {
    dir = await lstat(folder);
    sock = await lstat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new UapiError('unavailable', `${path}: ${code === 'ENOENT' ? 'no such socket (is wireguard-go running for this interface? the kernel module has no UAPI socket)' : accessText(code)}`);
  }
  if (!dir.isDirectory() || dir.uid !== owner || (dir.mode & 0o022) !== 0) {
    throw new UapiError('untrusted', `${folder} is not a directory owned by uid ${owner} and writable only by it (uid ${dir.uid}, mode ${(dir.mode & 0o7777).toString(8)})`);
  }
  if (!sock.isSocket() || sock.uid !== owner) {
    throw new UapiError('untrusted', `${path} is not a socket owned by uid ${owner} (${sock.isSocket() ? `uid ${sock.uid}` : 'not a socket'})`);
  }
}

export interface RequestOptions {
  timeoutMs?: number;
  /** The uid that must own the socket and its folder (root; tests serve their own). */
  owner?: number;
}

const DEFAULT_TIMEOUT_MS = 2000;

/** Sends one request and collects the answer up to its terminating blank line. */
async function request(path: string, body: string, options: RequestOptions): Promise<string> {
  await checkSocketTrust(path, options.owner ?? 0);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const socket = connect(path);
    const finish = (error: UapiError | null, answer?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(answer as string);
    };
    const timer = setTimeout(() => finish(new UapiError('timeout', `${path}: no complete answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(body));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES) return finish(new UapiError('too-long', `${path}: the answer exceeds ${MAX_ANSWER_BYTES} bytes`));
      // The answer ends at its first blank line ("\n\n"); only the tail of the newest chunk can complete it.
      const tail = Buffer.concat(chunks.slice(-2)).toString('latin1');
      if (tail.includes('\n\n')) {
        const all = Buffer.concat(chunks);
        if (all.indexOf('\n\n') + 2 < all.length) return finish(new UapiError('malformed', `${path}: bytes after the blank line that ends the answer`));
        finish(null, all.toString('utf8'));
      }
    });
    socket.on('end', () => finish(new UapiError('malformed', `${path}: the connection closed before the answer ended`)));
    socket.on('error', (e: NodeJS.ErrnoException) => finish(new UapiError('unavailable', `${path}: ${e.code === undefined ? e.message : accessText(e.code)}`)));
  });
}

/** `get=1`: the device and its peers. */
export async function uapiGet(path: string, options: RequestOptions = {}): Promise<UapiDevice> {
  const answer = await request(path, 'get=1\n\n', options);
  try {
    return parseGetAnswer(answer);
  } catch (e) {
    if (e instanceof UapiError) throw new UapiError(e.kind, `${path}: ${e.message}`, { ...(e.errno === null ? {} : { errno: e.errno }) });
    throw e;
  }
}

/**
 * `set=1` with the given key=value lines (device keys first, then `public_key=` and that
 * peer's keys). Keys and values are checked so that no line can smuggle in another.
 */
export async function uapiSet(path: string, lines: ReadonlyArray<readonly [string, string]>, options: RequestOptions = {}): Promise<void> {
  for (const [key, value] of lines) {
    if (!/^[a-z0-9_]+$/.test(key) || /[\n\r]/.test(value) || key === 'errno') throw new UapiError('malformed', `refusing to send ${JSON.stringify(`${key}=${value}`)}: not a single key=value line`);
  }
  const body = `set=1\n${lines.map(([k, v]) => `${k}=${v}\n`).join('')}\n`;
  const answer = await request(path, body, options);
  try {
    parseSetAnswer(answer);
  } catch (e) {
    if (e instanceof UapiError) throw new UapiError(e.kind, `${path}: ${e.message}`, { ...(e.errno === null ? {} : { errno: e.errno }) });
    throw e;
  }
}

/** Sets the firewall mark of wireguard-go's UDP socket (Linux `fwmark`), for the policy strategy. 0 clears it. */
export async function setFwmark(path: string, mark: number, options: RequestOptions = {}): Promise<void> {
  if (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff) throw new UapiError('malformed', `fwmark ${mark} is not a 32-bit unsigned integer`);
  return uapiSet(path, [['fwmark', String(mark)]], options);
}
