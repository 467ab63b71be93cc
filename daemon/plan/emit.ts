/**
 * @module plan/emit
 * The exact routing messages applying a plan would write (`tunroute plan --emit hex`):
 * one PF_ROUTE or rtnetlink request per action, in order, built by the same functions the
 * backends write with. Sequence numbers count from 1; the macOS pid is 0 (the kernel
 * overwrites it), the netlink port 0.
 */
import type { Platform } from '../profile/profile.js';
import type { Plan } from './plan.js';
import type { Action } from './actions.js';
import { encodeRequest } from '../codec/darwin/index.js';
import { encodeDelRoute, encodeDelRule, encodeNewRoute, encodeNewRule, REQUEST_FLAGS, TUNROUTE_RTPROT } from '../codec/linux/index.js';
import { RTPROT } from '../codec/linux/constants.js';
import { routeRequest } from '../backends/darwin.js';
import { deleteSpec, routeSpec, ruleSpec } from '../backends/linux.js';

function darwinMessage(action: Action, seq: number): Uint8Array | null {
  switch (action.kind) {
    case 'add':
    case 'ensure':
    case 'demote-to-scoped':
      return encodeRequest({ ...routeRequest('add', action.route, { tag: true}), seq });
    case 'restore':
      return encodeRequest({ ...routeRequest('add', action.route, { tag: false}), seq });
    case 'remove':
    case 'remove-unscoped':
      return encodeRequest({ ...routeRequest('delete', action.route, { tag: false}), seq });
    default:
      return null; // rules do not exist on macOS
  }
}

function linuxMessage(action: Action, seq: number): Uint8Array {
  switch (action.kind) {
    case 'add':
    case 'ensure':
    case 'demote-to-scoped':
      return encodeNewRoute({ ...routeSpec(action.route), protocol: TUNROUTE_RTPROT }, seq, REQUEST_FLAGS.create);
    case 'restore':
      return encodeNewRoute({ ...routeSpec(action.route), protocol: RTPROT.RTPROT_BOOT.value }, seq, REQUEST_FLAGS.create);
    case 'remove':
    case 'remove-unscoped':
      return encodeDelRoute(deleteSpec(action.route), seq, REQUEST_FLAGS.delete);
    case 'add-rule':
      return encodeNewRule({ ...ruleSpec(action.rule), protocol: TUNROUTE_RTPROT }, seq, REQUEST_FLAGS.create);
    case 'remove-rule':
      return encodeDelRule(ruleSpec(action.rule), seq, REQUEST_FLAGS.delete);
  }
}

/** One encoded request per action of `plan.actions`, in order. */
export function emitMessages(plan: Plan, os: Platform): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const action of plan.actions) {
    const message = os === 'darwin' ? darwinMessage(action, out.length + 1) : linuxMessage(action, out.length + 1);
    if (message) out.push(message);
  }
  return out;
}
