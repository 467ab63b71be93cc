/**
 * @module policy
 * Binds a validated profile to the engine: which interface is the tunnel (by name, or by
 * wireguard-go's name file), when it is ready (its address is there), the desired state
 * (the planner's actions for the current facts) and the engine's settings.
 */
import type { Logger } from 'pino';
import type { KernelInterface } from './backends/backend.js';
import type { Policy } from './engine/engine.js';
import { DEFAULT_FLAP_LIMITS } from './engine/flap.js';
import { planRoutes } from './plan/plan.js';
import { resolveNameFile } from './profile/name-file.js';
import type { Platform, Profile } from './profile/profile.js';
import type { PeerWatcher } from './wireguard/peers.js';

const addressPart = (cidr: string): string => cidr.split('/')[0] ?? cidr;
const isLinkLocal6 = (address: string): boolean => /^fe[89ab]/i.test(address);

/** @param peers the daemon's PeerWatcher (endpoints: auto, routes: auto, host names); its facts go to the planner. */
export function createPolicy(profile: Profile, os: Platform, log: Logger, peers?: PeerWatcher): Policy {
  let lastNameFileReason: string | null = null;
  let lastWarnings = '';
  return {
    os,
    settings: {
      onTunnelDown: profile.daemon.onTunnelDown,
      reconcileIntervalMs: profile.daemon.reconcileIntervalMs,
      flap: profile.daemon.flap,
    },
    tunnelName(): string | null {
      if (profile.interface.kind === 'name') return profile.interface.name;
      const resolved = resolveNameFile(profile.interface.path);
      if (resolved.name === null && resolved.reason !== lastNameFileReason) {
        log.info({ nameFile: profile.interface.path, why: resolved.reason }, 'name file not usable yet');
      }
      lastNameFileReason = resolved.name === null ? resolved.reason : null;
      return resolved.name;
    },
    hasAddress(tunnel: KernelInterface): boolean {
      const present = new Set(tunnel.addresses.map(addressPart));
      if (profile.addresses !== null) return profile.addresses.every((a) => present.has(a.address));
      // No address in the profile: any IPv4 address (or a global IPv6 one when IPv6 is on) will do.
      return [...present].some((a) => (a.includes(':') ? profile.ipv6 && !isLinkLocal6(a) : true));
    },
    gather: peers
      ? async (tunnel) => {
          await peers.prepare(tunnel.name);
          return { peers: peers.facts() };
        }
      : undefined,
    desire(facts) {
      const plan = planRoutes(profile, facts);
      const warnings = plan.warnings.join('\n');
      if (warnings !== lastWarnings) for (const w of plan.warnings) log.warn({ interface: facts.tunnel.name }, `plan: ${w}`);
      lastWarnings = warnings;
      return { actions: plan.actions };
    },
  };
}

/** A policy that wants nothing: `restore` without a profile only sweeps. */
export function inertPolicy(os: Platform): Policy {
  return {
    os,
    settings: { onTunnelDown: 'restore', reconcileIntervalMs: 30_000, flap: DEFAULT_FLAP_LIMITS },
    tunnelName: () => null,
    hasAddress: () => false,
    desire: () => ({ actions: [] }),
  };
}
