/**
 * @module commands/live-facts
 * Reads the planner's facts from the running system, for `tunroute plan` without fact
 * flags: one backend snapshot, read the same way the daemon reads it. It lives with the
 * command that uses it: it opens a backend and borrows the engine's fact derivation, both
 * layers above the planner.
 */
import { loadNative } from '../../native/index.js';
import { createBackend } from '../backends/index.js';
import { deriveFacts } from '../engine/facts.js';
import type { Platform } from '../profile/profile.js';
import type { PlanFacts } from '../plan/facts.js';

export const FACT_FLAGS = '--interface NAME --index N [--address A] [--gateway GW --gateway-interface IF --gateway-index N]';

export async function readLiveFacts(os: Platform, interfaceName: string | null): Promise<PlanFacts> {
  const native = loadNative();
  if (native.platform !== os) throw new Error(`this machine runs ${native.platform}, so the ${os} facts must be given as flags: ${FACT_FLAGS}`);
  if (interfaceName === null) throw new Error(`the profile names its interface through a name file; pass it: ${FACT_FLAGS}`);
  const backend = createBackend(native);
  await backend.open(() => {});
  try {
    const snap = await backend.snapshot();
    const tunnel = snap.interfaces.find((i) => i.name === interfaceName);
    if (!tunnel) throw new Error(`no interface named ${interfaceName} on this machine; pass the facts as flags: ${FACT_FLAGS}`);
    return deriveFacts(snap, tunnel, os, []);
  } finally {
    backend.close();
  }
}
