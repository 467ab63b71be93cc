/**
 * @module plan/actions
 * The planner's steps as data, each carrying the exact route or rule it concerns and its
 * own undo, so the engine can execute, journal and reverse them without re-deriving
 * anything. Kinds and what the engine does with each:
 *
 * - `add`: a route tunroute owns (tagged). EEXIST means the key is taken by another route.
 * - `ensure`: make sure a route exists; EEXIST means it already does and is adopted, not
 *   owned (the tunnel address's host route, which the kernel makes with the address).
 * - `demote-to-scoped`: add the scoped copy of a physical route (macOS: RTF_IFSCOPE on the
 *   physical interface; Linux: the same route one metric higher). EEXIST is normal and
 *   adopts the copy: the engine then skips this action's reverse.
 * - `remove-unscoped`: delete a physical route. The engine journals `route` BEFORE
 *   deleting it, because only the journal can put it back after a crash.
 * - `restore`: put a journaled physical route back exactly (untagged).
 * - `remove`: delete a route; with `onlyIfCreated`, only when the matching `ensure` created it.
 * - `add-rule` / `remove-rule`: Linux policy rules (split mode).
 *
 * Teardown actions carry an empty `reverse`: undoing an undo is applying the plan again.
 */
import { routeKey, ruleKey, type Route, type Rule } from '../model/route.js';

export type Action =
  | { kind: 'add'; route: Route; reverse: Action[] }
  | { kind: 'ensure'; route: Route; reverse: Action[] }
  | { kind: 'demote-to-scoped'; route: Route; of: Route; reverse: Action[] }
  | { kind: 'remove-unscoped'; route: Route; journal: true; reverse: Action[] }
  | { kind: 'restore'; route: Route; reverse: Action[] }
  | { kind: 'remove'; route: Route; onlyIfCreated: boolean; reverse: Action[] }
  | { kind: 'add-rule'; rule: Rule; reverse: Action[] }
  | { kind: 'remove-rule'; rule: Rule; reverse: Action[] };

export type ActionKind = Action['kind'];

export function add(route: Route): Action {
  return { kind: 'add', route, reverse: [{ kind: 'remove', route, onlyIfCreated: false, reverse: [] }] };
}

export function ensure(route: Route): Action {
  return { kind: 'ensure', route, reverse: [{ kind: 'remove', route, onlyIfCreated: true, reverse: [] }] };
}

export function demoteToScoped(copy: Route, of: Route): Action {
  return { kind: 'demote-to-scoped', route: copy, of, reverse: [{ kind: 'remove', route: copy, onlyIfCreated: true, reverse: [] }] };
}

export function removeUnscoped(route: Route): Action {
  return { kind: 'remove-unscoped', route, journal: true, reverse: [{ kind: 'restore', route, reverse: [] }] };
}

export function addRule(rule: Rule): Action {
  return { kind: 'add-rule', rule, reverse: [{ kind: 'remove-rule', rule, reverse: [] }] };
}

/** The undo of a list of actions: each action's reverse, last action first. */
export function teardownOf(actions: readonly Action[]): Action[] {
  return [...actions].reverse().flatMap((a) => a.reverse);
}

/** A route's full identity for comparing plans: its kernel key plus what it does. */
export function routeIdentity(route: Route): string {
  const gateway = 'link' in route.gateway ? `link#${route.gateway.link}` : route.gateway.scope ? `${route.gateway.address}%${route.interface}` : route.gateway.address;
  return `${routeKey(route)}|${gateway}|${route.index}|${[...route.flags].sort().join(',')}|${route.mtu ?? '-'}`;
}

export function actionIdentity(action: Action): string {
  return 'rule' in action ? `${action.kind}|${ruleKey(action.rule)}` : `${action.kind}|${routeIdentity(action.route)}`;
}

export interface PlanDiff {
  /** Undo of what the old plan did and the new one does not: run first, so no key is held twice. */
  undo: Action[];
  /** What the new plan does and the old one did not, in the new plan's order. */
  apply: Action[];
}

/**
 * What a reload has to do: only the actions that differ. An action present in both plans
 * (same kind, same route or rule, same gateway, flags and MTU) is left alone.
 */
export function diffPlans(old: { actions: readonly Action[] }, next: { actions: readonly Action[] }): PlanDiff {
  const before = new Set(old.actions.map(actionIdentity));
  const after = new Set(next.actions.map(actionIdentity));
  const dropped = old.actions.filter((a) => !after.has(actionIdentity(a)));
  return {
    undo: teardownOf(dropped),
    apply: next.actions.filter((a) => !before.has(actionIdentity(a))),
  };
}
