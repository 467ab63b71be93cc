/**
 * @module plan/live-facts
 * Reads the planner's facts from the running system, for `tunroute plan` without fact
 * flags. Needs the native socket and a backend snapshot; until those are wired in here,
 * it explains which flags give the same facts by hand.
 */
import type { Platform } from '../profile/profile.js';
import type { PlanFacts } from './facts.js';

export const FACT_FLAGS = '--interface NAME --index N [--address A] [--gateway GW --gateway-interface IF --gateway-index N]';

export async function readLiveFacts(os: Platform, _interfaceName: string | null): Promise<PlanFacts> {
  throw new Error(`reading facts from the live ${os} system is not available yet; pass them as flags: ${FACT_FLAGS}`);
}
