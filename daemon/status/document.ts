/**
 * @module status/document
 * The status document a daemon serves (`tunroute status --json` prints it as is) and its
 * text form, a table a person reads at a glance, like `wg show`.
 *
 * The JSON is versioned: fields are only ever added within a version. The README's
 * "tunroute status" section documents every field.
 */
import type { PeerFacts } from '../plan/facts.js';
import type { StatusEngineView } from './board.js';

export const STATUS_VERSION = 1;

export interface ReloadRecord {
  at: string;
  reason: string;
  result: 'applied' | 'rejected';
  /** The profile's problems when rejected, as `FILE:LINE:COL key: message`. */
  problems: string[];
}

/** The tunnel's WireGuard peers as last read from wireguard-go's UAPI socket (profiles with `endpoints: auto` or `routes: auto`). */
export interface StatusWireGuard {
  /** The socket read. */
  source: string;
  /** Why the last read failed (the peers are then the last good reading); null when it worked. */
  error: string | null;
  peers: Array<{ publicKey: string; endpoint: string | null; allowedIps: string[]; latestHandshake: string | null }>;
  /** Endpoint host names and the addresses they resolved to. */
  hosts: Array<{ name: string; addresses: string[]; error: string | null }>;
}

export interface StatusDocument extends StatusEngineView {
  version: typeof STATUS_VERSION;
  /** The profile's name (the instance). */
  name: string;
  /** The profile file. */
  profile: string;
  pid: number;
  mode: string;
  strategy: string | null;
  startedAt: string;
  uptimeSeconds: number;
  lastReload: ReloadRecord | null;
  /** null when the profile reads no peers. */
  wireguard: StatusWireGuard | null;
}

/** The status form of the peers the daemon read (plan/facts' PeerFacts). */
export function statusWireGuard(facts: PeerFacts | undefined): StatusWireGuard | null {
  if (facts === undefined) return null;
  return {
    source: facts.source,
    error: facts.error,
    peers: facts.peers.map((p) => ({
      // UAPI speaks hex; people (and `wg show`) know a key by its base64 form.
      publicKey: /^[0-9a-f]{64}$/.test(p.publicKey) ? Buffer.from(p.publicKey, 'hex').toString('base64') : p.publicKey,
      endpoint: p.endpoint === null ? null : `${p.endpoint.address.includes(':') ? `[${p.endpoint.address}]` : p.endpoint.address}:${p.endpoint.port}`,
      allowedIps: p.allowedIps,
      latestHandshake: p.lastHandshake ? new Date(p.lastHandshake * 1000).toISOString() : null,
    })),
    hosts: facts.hosts,
  };
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (parts.length < 2) parts.push(`${s % 60}s`);
  return parts.slice(0, 2).join(' ');
}

/** Columns padded to their widest cell, two spaces apart. */
function table(header: string[], rows: string[][], indent = '    '): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => indent + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** One instance as text. `now` (ms) makes "ago" columns testable. */
export function formatStatus(doc: StatusDocument, now = Date.now()): string {
  const ago = (iso: string | null): string => (iso === null ? '-' : `${duration((now - Date.parse(iso)) / 1000)} ago`);
  const out: string[] = [];
  out.push(`instance: ${doc.name}`);
  out.push(`  profile: ${doc.profile}`);
  out.push(`  state: ${doc.state} for ${duration((now - Date.parse(doc.since)) / 1000)}${doc.why ? ` (${doc.why})` : ''}`);
  out.push(`  pid: ${doc.pid}, up ${duration(doc.uptimeSeconds)}`);
  out.push(`  mode: ${doc.mode}${doc.strategy ? `, strategy ${doc.strategy}` : ''}`);
  out.push(`  tunnel: ${doc.tunnel ? `${doc.tunnel.name} (index ${doc.tunnel.index}) ${doc.tunnel.addresses.join(' ') || 'no address'}` : 'none yet'}`);
  out.push(`  physical gateway: ${doc.physicalGateways.length ? doc.physicalGateways.map((g) => `${g.gateway} via ${g.interface} (index ${g.index})`).join(', ') : 'none'}`);
  const reload = doc.lastReload;
  out.push(`  last reload: ${reload ? `${reload.result} ${ago(reload.at)} (${reload.reason})` : 'none'}`);
  const c = doc.counters;
  out.push(`  counters: ${c.repairs} repairs, ${c.foreignChanges} foreign changes, ${c.overflows} overflows, ${c.malformed} malformed, ${c.reconciles} reconciles`);
  const where = (r: { scope: number | null; table: number | null }): string => (r.table !== null ? `table ${r.table === 254 ? 'main' : r.table}` : r.scope !== null ? `scope ${r.scope}` : '-');
  out.push('');
  if (doc.routes.length) {
    out.push(`  routes (${doc.routes.length}):`);
    out.push(
      ...table(
        ['destination', 'gateway', 'interface', 'scope/table', 'metric', 'origin', 'repaired'],
        doc.routes.map((r) => [r.destination, r.gateway, r.index === 0 ? '-' : `${r.interface} #${r.index}`, where(r), r.metric === null ? '-' : String(r.metric), r.origin, r.repairs ? `${r.repairs}x, last ${ago(r.lastRepairedAt)}` : 'never']),
      ),
    );
  } else {
    out.push('  routes: none installed');
  }
  if (doc.rules.length) {
    out.push(`  rules (${doc.rules.length}):`);
    // As `ip rule` prints them.
    const selector = (r: StatusDocument['rules'][number]): string =>
      `${r.invert ? 'not ' : ''}from ${r.from ?? 'all'}${r.fwmark != null ? ` fwmark 0x${r.fwmark.toString(16)}` : ''} lookup ${r.table}${r.suppressPrefixlength != null ? ` suppress_prefixlength ${r.suppressPrefixlength}` : ''}`;
    out.push(...table(['priority', 'family', 'rule'], doc.rules.map((r) => [String(r.priority), r.family, selector(r)])));
  }
  if (doc.moved.length) {
    out.push(`  moved aside (${doc.moved.length}), restored on exit:`);
    out.push(...table(['destination', 'gateway', 'interface', 'scope/table', 'metric'], doc.moved.map((r) => [r.destination, r.gateway, `${r.interface} #${r.index}`, where(r), r.metric === null ? '-' : String(r.metric)])));
  }
  const wg = doc.wireguard;
  if (wg) {
    out.push(`  peers (${wg.peers.length}) from ${wg.source}${wg.error ? `, last read failed: ${wg.error}` : ''}:`);
    for (const p of wg.peers) {
      out.push(`    peer ${p.publicKey}`);
      out.push(`      endpoint: ${p.endpoint ?? '(none)'}`);
      out.push(`      allowed ips: ${p.allowedIps.join(', ') || '(none)'}`);
      out.push(`      latest handshake: ${p.latestHandshake ? ago(p.latestHandshake) : 'none'}`);
    }
    for (const h of wg.hosts) out.push(`    host ${h.name}: ${h.addresses.join(', ') || '(not resolved)'}${h.error ? ` (${h.error})` : ''}`);
  }
  if (doc.flapping.length) {
    out.push(`  flapping (repairs held back):`);
    for (const f of doc.flapping) out.push(`    ${f.destination ?? f.key} until ${f.backingOffUntil}`);
  }
  return out.join('\n') + '\n';
}
