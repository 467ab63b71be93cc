/**
 * @module plan/emit
 * The exact routing messages applying a plan would write (`tunroute plan --emit hex`):
 * one PF_ROUTE or rtnetlink request per route or rule action, in order. The encoders come
 * from the platform codecs; until they are wired in here, this says so instead of
 * printing anything approximate.
 */
import type { Platform } from '../profile/profile.js';
import type { Plan } from './plan.js';

export class EmitUnavailableError extends Error {
  override name = 'EmitUnavailableError';
}

/** One encoded request per action of `plan.actions`, in order. */
export function emitMessages(_plan: Plan, os: Platform): Uint8Array[] {
  throw new EmitUnavailableError(`--emit hex is not available yet: the ${os} request encoder is not wired into the planner`);
}
