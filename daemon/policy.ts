/**
 * @module policy
 * Binds a validated profile to the engine: which interface is the tunnel (by name, or by
 * wireguard-go's name file), when it is ready (its address is there), the desired state
 * (the planner's actions for the current facts) and the engine's settings.
 */
import type { Logger } from 'pino';
import type { KernelInterface } from './backends/backend.js';
import type { DesiredState, Policy } from './engine/engine.js';
import { DEFAULT_FLAP_LIMITS } from './engine/flap.js';
import { planRoutes } from './plan/plan.js';
import { planInputs } from './plan/inputs.js';
import { setFwmark, uapiSocketPath } from './wireguard/uapi.js';
import { resolveNameFile } from './profile/name-file.js';
import type { Platform, Profile } from './profile/profile.js';
import type { PeerWatcher } from './wireguard/peers.js';

const addressPart = (cidr: string): string => cidr.split('/')[0] ?? cidr;
const isLinkLocal6 = (address: string): boolean => /^fe[89ab]/i.test(address);

/** @param peers the daemon's PeerWatcher (endpoints: auto, routes: auto, host names); its facts go to the planner. */
export function createPolicy(profile: Profile, os: Platform, log: Logger, peers?: PeerWatcher): Policy {
  let lastNameFileReason: string | null = null;
  let lastWarnings = '';
  // The policy strategy's `not fwmark M` rule, with the mark set by tunroute (linux.setFwmark).
  const fwmark = profile.linux.fwmark;
  const marks = os === 'linux' && profile.mode === 'full' && profile.strategy === 'policy' && profile.linux.setFwmark && fwmark !== null;
  // The device (name#index) whose mark is set: wireguard-go forgets it only by restarting.
  let marked: string | null = null;
  /** Sets the mark through wireguard-go's UAPI socket once per device; resolves with what failed, or null. */
  const markDevice = async (tunnel: KernelInterface): Promise<string | null> => {
    const device = `${tunnel.name}#${tunnel.index}`;
    if (marked === device || fwmark === null) return null;
    try {
      await setFwmark(uapiSocketPath(tunnel.name), fwmark);
      marked = device;
      log.info({ interface: tunnel.name, fwmark }, 'fwmark set on the wireguard-go device');
      return null;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      log.warn({ interface: tunnel.name, fwmark, err: why }, 'could not set the fwmark through the UAPI socket');
      return `fwmark ${fwmark} not set on ${tunnel.name}: ${why}`;
    }
  };
  let lastPlan: { key: string; desired: DesiredState } | null = null;
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
      // No address in the profile: an IPv4 address, and a global IPv6 one when IPv6 goes into
      // the tunnel (planning ::/0 into a tunnel without one would blackhole IPv6).
      const v4 = [...present].some((a) => !a.includes(':'));
      const v6 = [...present].some((a) => a.includes(':') && !isLinkLocal6(a));
      return v4 && (profile.ipv6 !== 'tunnel' || v6);
    },
    ...(marks ? { ready: markDevice } : {}),
    // Only a profile that uses peers or host names has facts to gather (none: the plan needs
    // nothing from the tunnel at up time, so the engine can plan while it waits for it).
    gather: peers?.gathers
      ? async (tunnel) => {
          await peers.prepare(tunnel.name);
          return { peers: peers.facts() };
        }
      : undefined,
    waitingAdvice(name, why) {
      return waitingAdvice(profile, os, name, why);
    },
    desire(facts) {
      // The plan is a pure function of the profile and the facts it reads (the peers included):
      // while they are the same, the same DesiredState comes back (the engine reuses what it derived).
      const key = JSON.stringify(planInputs(profile, facts));
      if (lastPlan !== null && lastPlan.key === key) return lastPlan.desired;
      const plan = planRoutes(profile, facts);
      const warnings = plan.warnings.join('\n');
      if (warnings !== lastWarnings) for (const w of plan.warnings) log.warn({ interface: facts.tunnel.name }, `plan: ${w}`);
      lastWarnings = warnings;
      lastPlan = { key, desired: { actions: plan.actions, ...(plan.publication ? { publication: plan.publication } : {}) } };
      return lastPlan.desired;
    },
  };
}

/** What to do about the wait, in the words of the daemon's "waiting" line and `tunroute status`. */
export function waitingAdvice(profile: Profile, os: Platform, name: string | null, why: string): string {
  const addressCmd = os === 'darwin' ? 'ifconfig' : 'ip addr add';
  switch (why) {
    case 'name not known yet':
      return profile.interface.kind === 'name-file'
        ? `start wireguard-go with WG_TUN_NAME_FILE=${profile.interface.path} (wg-quick does), or set interface.name in ${profile.file}`
        : `set interface.name in ${profile.file}`;
    case 'interface absent':
      return `start the tunnel that creates ${name} (for example \`wireguard-go ${name}\`), or set interface.name in ${profile.file} to your tunnel's interface`;
    case 'interface down':
      return `bring ${name} up (${os === 'darwin' ? `ifconfig ${name} up` : `ip link set ${name} up`})`;
    default: {
      const wanted = profile.addresses === null ? 'an address' : profile.addresses.map((a) => a.address).join(' and ');
      return `give ${name} ${wanted} (${addressCmd}), or change address in ${profile.file}`;
    }
  }
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
