/**
 * @module commands/peer-facts
 * The peers for `tunroute plan`: from `--endpoint`/`--allowed-ip` flags, or read once from
 * the live tunnel's UAPI socket and the system resolver, the way the daemon reads them;
 * and how they print above the plan.
 */
import { UsageError } from '../errors.js';
import { parsePrefix } from '../profile/prefix.js';
import type { Platform, Profile } from '../profile/profile.js';
import { parseEndpoint } from '../profile/schema.js';
import { peersOf, RESOLVE_TIMEOUT_MS, resolveWithin, resolveWithSystem, type ResolveHost } from '../wireguard/peers.js';
import { parseUapiEndpoint, uapiGet, uapiSocketPath, UapiError } from '../wireguard/uapi.js';
import type { PeerFacts } from '../plan/facts.js';

export const PEER_FLAGS = '--endpoint A[:PORT] ... --allowed-ip PREFIX ...';

/** True when the profile plans with the tunnel's peers or resolved host names. */
export function needsPeers(profile: Profile): boolean {
  return profile.wireguard.autoEndpoints || profile.wireguard.autoRoutes || profile.wireguard.hosts.length > 0;
}

/** One stand-in peer per `--endpoint`, and one holding every `--allowed-ip`. Host names in the profile resolve to nothing. */
export function peerFactsFromFlags(profile: Profile, endpoints: readonly string[], allowedIps: readonly string[]): PeerFacts {
  const peers: PeerFacts['peers'] = endpoints.map((text) => {
    const parsed = parseEndpoint(text);
    if (parsed === null) throw new UsageError(`--endpoint must be ADDRESS, ADDRESS:PORT or [ADDRESS]:PORT, not "${text}"`);
    const endpoint = parseUapiEndpoint(parsed.address.includes(':') ? `[${parsed.address}]:${parsed.port ?? 51820}` : `${parsed.address}:${parsed.port ?? 51820}`);
    return { publicKey: `--endpoint ${text}`, endpoint: endpoint && { address: endpoint.address, port: endpoint.port }, allowedIps: [] };
  });
  if (allowedIps.length > 0) {
    for (const text of allowedIps) {
      if (!parsePrefix(text).ok) throw new UsageError(`--allowed-ip must be a prefix such as 10.0.0.0/8 (host bits clear), not "${text}"`);
    }
    peers.push({ publicKey: '--allowed-ip', endpoint: null, allowedIps: [...allowedIps] });
  }
  const hosts = profile.wireguard.hosts.map((h) => ({ name: h.name, addresses: [], error: 'not resolved: the peers come from flags' }));
  return { source: 'flags', error: null, peers, hosts };
}

/** Reads the peers and resolves the host names once, as the daemon would now. */
export async function readPeerFactsOnce(
  profile: Profile,
  os: Platform,
  interfaceName: string | null,
  options: { directory?: string; timeoutMs?: number; resolveHost?: ResolveHost; resolveTimeoutMs?: number } = {},
): Promise<PeerFacts> {
  const hosts = await Promise.all(
    profile.wireguard.hosts.map(async (h) => {
      try {
        return { name: h.name, addresses: await resolveWithin(options.resolveHost ?? resolveWithSystem, h.name, options.resolveTimeoutMs ?? RESOLVE_TIMEOUT_MS), error: null };
      } catch (e) {
        return { name: h.name, addresses: [], error: (e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e)) };
      }
    }),
  );
  const wantsTunnel = profile.wireguard.autoEndpoints || profile.wireguard.autoRoutes;
  if (!wantsTunnel) return { source: 'none', error: null, peers: [], hosts };
  if (os !== process.platform) return { source: 'none', error: `planning for ${os} on ${process.platform}: pass the peers as ${PEER_FLAGS}`, peers: [], hosts };
  if (interfaceName === null) return { source: 'none', error: `the interface name is not known: pass --interface, or the peers as ${PEER_FLAGS}`, peers: [], hosts };
  const path = uapiSocketPath(interfaceName, options.directory);
  try {
    const device = await uapiGet(path, { timeoutMs: options.timeoutMs ?? 2000 });
    return { source: path, error: null, peers: peersOf(device), hosts };
  } catch (e) {
    if (!(e instanceof UapiError)) throw e;
    return { source: path, error: e.message, peers: [], hosts };
  }
}

const keyText = (key: string): string => (/^[0-9a-f]{64}$/.test(key) ? Buffer.from(key, 'hex').toString('base64') : key);

/** The peers as `plan` prints them above the route table. */
export function formatPeerFacts(facts: PeerFacts): string {
  const out: string[] = [];
  if (facts.source !== 'none' || facts.error !== null) {
    out.push(facts.error === null ? `Peers (from ${facts.source}):` : `Peers: not read (${facts.error})`);
    for (const p of facts.peers) {
      const endpoint = p.endpoint === null ? '(none yet)' : p.endpoint.address.includes(':') ? `[${p.endpoint.address}]:${p.endpoint.port}` : `${p.endpoint.address}:${p.endpoint.port}`;
      const handshake = p.lastHandshake === undefined ? '' : p.lastHandshake === null ? '  no handshake yet' : `  handshake ${Math.max(0, Math.round(Date.now() / 1000 - p.lastHandshake))}s ago`;
      out.push(`  peer ${keyText(p.publicKey)}  endpoint ${endpoint}  allowed IPs ${p.allowedIps.join(', ') || '(none)'}${handshake}`);
    }
    if (facts.error === null && facts.peers.length === 0) out.push('  (no peers)');
  }
  if (facts.hosts.length > 0) {
    out.push('Endpoint host names:');
    for (const h of facts.hosts) out.push(`  ${h.name} -> ${h.addresses.length > 0 ? h.addresses.join(', ') : '(none)'}${h.error === null ? '' : `  (${h.error})`}`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n\n`;
}
