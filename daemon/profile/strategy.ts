/**
 * @module profile/strategy
 * The profile's full-tunnel strategy and IPv6 mode, normalised and checked: a strategy of
 * the other platform is a problem, the platform's default applies when none is written,
 * the policy strategy needs room for its two rules before main's, and the fwmark keys
 * only make sense where the policy strategy reads them. With `system` (macOS), configd's
 * IPMonitor builds the routes, so what it cannot do is refused (multicast and broadcast
 * always follow the service), and `dns`, which is published with the service, needs it.
 */
import { formatAddress, parseAddress } from './prefix.js';
import type { PathSegment } from './problems.js';
import { DEFAULTS, type DnsSettings, type FullTunnelStrategy, type Ipv6Mode, type Platform, type Profile } from './profile.js';

const STRATEGIES: readonly FullTunnelStrategy[] = ['system', 'policy', 'replace', 'split-default'];
/** The strategies each platform has; the others are a problem there. */
const ON: Record<Platform, readonly FullTunnelStrategy[]> = { darwin: ['system', 'replace', 'split-default'], linux: ['policy', 'replace', 'split-default'] };
const WHY_NOT: Partial<Record<FullTunnelStrategy, string>> = {
  policy: '"policy" is Linux policy routing (ip rule), which macOS does not have',
  system: '"system" publishes the tunnel to macOS configd, which Linux does not have',
};

type Raw = Record<string, unknown>;

export interface StrategyChecks {
  raw: Raw;
  platform: Platform;
  mode: Profile['mode'];
  problem(path: PathSegment[], message: string): void;
  ok(path: PathSegment[]): boolean;
}

/** YAML's ipv6 value, normalised: true → tunnel, false or absent → block, as written otherwise. */
export function ipv6ModeOf(value: unknown): Ipv6Mode {
  if (value === true || value === 'tunnel') return 'tunnel';
  if (value === 'bypass') return 'bypass';
  return DEFAULTS.ipv6;
}

/** The linux section's fwmark keys (the rest of the section is checkLinux's). */
export function fwmarkKeys(raw: Raw): Pick<Profile['linux'], 'fwmark' | 'setFwmark'> {
  const linux = (raw.linux ?? {}) as Raw;
  return {
    fwmark: typeof linux.fwmark === 'number' ? linux.fwmark : null,
    setFwmark: typeof linux.setFwmark === 'boolean' ? linux.setFwmark : DEFAULTS.linux.setFwmark,
  };
}

/** The full-tunnel strategy (the platform's default when unwritten), and the checks tied to it. */
export function checkStrategy({ raw, platform, mode, problem, ok }: StrategyChecks, linux: Profile['linux']): FullTunnelStrategy {
  const written = ((raw.fullTunnel ?? {}) as Raw).strategy;
  const strategy: FullTunnelStrategy = STRATEGIES.includes(written as FullTunnelStrategy) ? (written as FullTunnelStrategy) : DEFAULTS.strategy[platform];
  const path: PathSegment[] = ['fullTunnel', 'strategy'];
  if (!ON[platform].includes(strategy) && ok(path)) {
    problem(path, `${WHY_NOT[strategy] ?? JSON.stringify(strategy)}, expected ${ON[platform].join(', ').replace(/, ([^,]*)$/, ' or $1')} on ${platform === 'darwin' ? 'macOS' : 'Linux'}`);
  }
  if (platform !== 'linux') return strategy;
  const policyFull = mode === 'full' && strategy === 'policy';
  if (policyFull && linux.rulePriority > 32764 && ok(['linux', 'rulePriority'])) {
    problem(['linux', 'rulePriority'], `${linux.rulePriority} leaves no room for the policy strategy's second rule (${linux.rulePriority + 1}) before main's 32766, expected at most 32764`);
  }
  if (linux.fwmark !== null && !policyFull && ok(['linux', 'fwmark'])) {
    problem(['linux', 'fwmark'], `is read only by the policy strategy (mode: full, fullTunnel.strategy: policy), expected no fwmark with ${mode === 'full' ? `strategy ${strategy}` : 'mode split'}`);
  }
  if (linux.setFwmark && linux.fwmark === null && ok(['linux', 'setFwmark'])) {
    problem(['linux', 'setFwmark'], 'sets a mark, but linux.fwmark names none, expected linux.fwmark: M as well');
  }
  return strategy;
}

/** What a valid profile does with IPv6 that its author should hear about: a full tunnel that lets IPv6 bypass it. */
export function ipv6Warnings(raw: Raw, mode: Profile['mode']): Array<{ path: PathSegment[]; message: string }> {
  if (mode !== 'full' || ipv6ModeOf(raw.ipv6) !== 'bypass') return [];
  return [{ path: ['ipv6'], message: 'bypass: IPv6 traffic uses the physical network while the tunnel is up, outside the tunnel (false blocks it, true tunnels it)' }];
}

/**
 * What `system` cannot do (multicast or broadcast left out: IPMonitor gives every service
 * those routes), and `dns`, which is published with its service: the normalised DNS, or null.
 */
export function checkSystemKeys({ raw, platform, problem, ok }: StrategyChecks, strategy: FullTunnelStrategy): DnsSettings | null {
  if (strategy === 'system') {
    // `mtu` is only a plan warning: configd's routes carry no MTU, and the utun's own applies.
    const why = 'with fullTunnel.strategy: system configd builds the routes';
    for (const key of ['multicast', 'broadcast'] as const) {
      if (raw[key] === false && ok([key])) {
        problem([key], `false cannot be honoured: ${why}, and IPMonitor always gives the service ${key === 'multicast' ? '224.0.0.0/4' : '255.255.255.255/32'}, expected true or strategy replace`);
      }
    }
  }
  const rawDns = raw.dns as { servers?: unknown; searchDomains?: unknown } | undefined;
  if (rawDns === undefined || rawDns === null || typeof rawDns !== 'object' || !ok(['dns'])) return null;
  if (strategy !== 'system') {
    problem(['dns'], `is published to configd with the tunnel's service, expected fullTunnel.strategy: system${platform === 'darwin' ? '' : ' (macOS)'} or no dns`);
  }
  const servers: string[] = [];
  const seen = new Map<string, number>();
  const ipv6 = ipv6ModeOf(raw.ipv6) === 'tunnel';
  (Array.isArray(rawDns.servers) ? rawDns.servers : []).forEach((text: unknown, i) => {
    const parsed = typeof text === 'string' ? parseAddress(text) : null;
    if (parsed === null || !ok(['dns', 'servers', i])) return;
    const canonical = formatAddress(parsed.family, parsed.value);
    if (parsed.family === 'inet6' && !ipv6) {
      problem(['dns', 'servers', i], `${JSON.stringify(text)} is an IPv6 address but IPv6 does not go through the tunnel, expected an IPv4 server or ipv6: true`);
    } else if (seen.has(canonical)) {
      problem(['dns', 'servers', i], `${JSON.stringify(text)} is listed twice, expected each server once (also at dns.servers[${seen.get(canonical)}])`);
    }
    seen.set(canonical, seen.get(canonical) ?? i);
    servers.push(canonical);
  });
  const searchDomains = (Array.isArray(rawDns.searchDomains) ? rawDns.searchDomains : []).filter((d): d is string => typeof d === 'string').map((d) => d.toLowerCase().replace(/\.$/, ''));
  return { servers, searchDomains };
}
