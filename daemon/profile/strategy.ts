/**
 * @module profile/strategy
 * The profile's full-tunnel strategy and IPv6 mode, normalised and checked: a strategy of
 * the other platform is a problem, the platform's default applies when none is written,
 * the policy strategy needs room for its two rules before main's, and the fwmark keys
 * only make sense where the policy strategy reads them.
 */
import type { PathSegment } from './problems.js';
import { DEFAULTS, type FullTunnelStrategy, type Ipv6Mode, type Platform, type Profile } from './profile.js';

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
  const strategy: FullTunnelStrategy = written === 'policy' || written === 'replace' || written === 'split-default' ? written : DEFAULTS.strategy[platform];
  const path: PathSegment[] = ['fullTunnel', 'strategy'];
  if (strategy === 'policy' && platform === 'darwin' && ok(path)) {
    problem(path, '"policy" is Linux policy routing (ip rule), which macOS does not have, expected replace or split-default on macOS');
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
