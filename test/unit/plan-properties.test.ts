/**
 * @module test/unit/plan-properties
 * Planner properties over generated profiles and machines. Each case writes a random
 * profile as YAML (kept only if the validator accepts it), random facts (tunnel index,
 * physical defaults or offline, which contested physical routes exist, scoped copies
 * already there or not), then checks:
 * - the plan never wants two routes with the same kernel key;
 * - every exclude and every endpoint resolves (longest prefix, unscoped/main) to the
 *   physical interface, never to the tunnel;
 * - applying the actions to a simulated kernel table never hits EEXIST/ESRCH where the
 *   plan does not allow it, leaves every planned route in place, and the teardown
 *   brings back exactly the table it started from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Family, Route } from '../../daemon/model/route.js';
import { validateProfileText } from '../../daemon/profile/validate.js';
import type { Platform, Profile } from '../../daemon/profile/profile.js';
import { covers, formatPrefix, parsePrefix, type Prefix } from '../../daemon/profile/prefix.js';
import { effectiveMetric, kernelKey, MAIN_TABLE, planRoutes, type Plan } from '../../daemon/plan/plan.js';
import type { Action } from '../../daemon/plan/actions.js';
import type { ExistingRoute, PlanFacts } from '../../daemon/plan/facts.js';
import { routeIdentity } from '../../daemon/plan/actions.js';
import { mulberry32 } from '../helpers/prng.js';

const rng = mulberry32;

interface Case {
  seed: number;
  os: Platform;
  profile: Profile;
  facts: PlanFacts;
  /** The kernel table before: the physical routes plus, maybe, the kernel's own host route. */
  initial: ExistingRoute[];
}

function generate(seed: number): Case | null {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const chance = (p: number): boolean => r() < p;
  const os: Platform = pick(['darwin', 'linux'] as const);
  const ipv6 = chance(0.5);
  const tunnelIndex = 10 + Math.floor(r() * 40);
  const name = os === 'darwin' ? `utun${tunnelIndex - 10}` : `wg${tunnelIndex - 10}`;
  const v4 = `10.${Math.floor(r() * 200)}.${Math.floor(r() * 250)}.2`;
  const v6 = `fd00:${Math.floor(r() * 0xffff).toString(16)}::2`;
  const prefixV4 = (): string => {
    const len = pick([8, 12, 16, 20, 24, 28, 32]);
    const value = (Math.floor(r() * 2 ** 32) >>> 0) & (len === 0 ? 0 : ~0 << (32 - len));
    return formatPrefix({ family: 'inet', value: BigInt(value >>> 0), length: len });
  };
  const prefixV6 = (): string => formatPrefix({ family: 'inet6', value: (BigInt(Math.floor(r() * 0xffff)) << 112n) | (0xfd00n << 112n) & (0xffffn << 112n), length: pick([16, 32, 48]) });
  const routes = Array.from({ length: Math.floor(r() * 5) }, () => (ipv6 && chance(0.3) ? prefixV6() : prefixV4()));
  const exclude = Array.from({ length: Math.floor(r() * 4) }, () => (ipv6 && chance(0.3) ? prefixV6() : prefixV4()));
  const endpoints = Array.from({ length: Math.floor(r() * 3) }, () => (chance(0.2) ? `[2001:db8::${Math.floor(r() * 999)}]:51820` : `198.51.${Math.floor(r() * 255)}.${1 + Math.floor(r() * 250)}`));
  const lines = [
    `interface: {name: ${name}}`,
    chance(0.8) ? `address: [${[v4, ...(ipv6 ? [`"${v6}"`] : [])].join(', ')}]` : '',
    `mode: ${pick(['full', 'split'])}`,
    `fullTunnel: {strategy: ${pick(os === 'linux' ? ['policy', 'replace', 'split-default'] : ['replace', 'split-default'])}}`,
    // Not routed into the tunnel: blocked (written or by default) or bypassing it.
    ipv6 ? 'ipv6: true' : pick(['ipv6: false', 'ipv6: bypass', '']),
    `multicast: ${chance(0.7)}`,
    `broadcast: ${chance(0.7)}`,
    `routes: [${routes.map((x) => `"${x}"`).join(', ')}]`,
    `exclude: [${exclude.map((x) => `"${x}"`).join(', ')}]`,
    `endpoints: [${endpoints.map((x) => `"${x}"`).join(', ')}]`,
    chance(0.3) ? `linux: {metric: ${pick([0, 5, 100])}}` : '',
  ];
  const result = validateProfileText(lines.join('\n'), 'gen.yaml', { platform: os });
  if (!result.profile) return null;

  const physIndex = 4;
  const iface = os === 'darwin' ? 'en0' : 'eth0';
  const online = chance(0.85);
  const existing: ExistingRoute[] = [];
  const base = { interface: iface, index: physIndex, table: os === 'linux' ? MAIN_TABLE : null, mtu: null } as const;
  const physicalDefaults: PlanFacts['physicalDefaults'] = [];
  const flags = (...f: string[]): string[] => (os === 'darwin' ? f : []);
  if (online) {
    const metric = os === 'linux' ? pick([null, 0, 100]) : null;
    physicalDefaults.push({ family: 'inet', gateway: '192.168.1.1', interface: iface, index: physIndex, metric });
    existing.push({ ...base, family: 'inet', destination: '0.0.0.0/0', gateway: { address: '192.168.1.1' }, scope: null, metric, flags: flags('UP', 'GATEWAY', 'STATIC', 'PRCLONING', 'GLOBAL') });
    if (chance(0.5)) physicalDefaults.push({ family: 'inet6', gateway: 'fe80::1', interface: iface, index: physIndex, metric: null });
    if (physicalDefaults.length === 2) existing.push({ ...base, family: 'inet6', destination: '::/0', gateway: { address: 'fe80::1' }, scope: null, metric: null, flags: flags('UP', 'GATEWAY', 'STATIC') });
    for (const destination of ['224.0.0.0/4', '255.255.255.255/32']) {
      if (chance(0.5)) existing.push({ ...base, family: 'inet', destination, gateway: { link: physIndex }, scope: null, metric: null, flags: flags('UP', 'CLONING', 'STATIC', 'MULTICAST') });
    }
    if (os === 'darwin') {
      // configd may already keep scoped copies on en0.
      for (const e of [...existing]) if (chance(0.4)) existing.push({ ...e, scope: physIndex, flags: [...e.flags, 'IFSCOPE'] });
    }
  }
  const facts: PlanFacts = { os, tunnel: { name, index: tunnelIndex, addresses: [`${v4}/32`, ...(ipv6 ? [`${v6}/128`] : [])] }, physicalDefaults, existing };
  const initial = [...existing];
  if (os === 'darwin' && chance(0.5)) {
    // The kernel's own peer host route, made when the address was configured.
    initial.push({ family: 'inet', destination: `${v4}/32`, gateway: { address: v4 }, interface: name, index: tunnelIndex, scope: null, table: null, metric: null, flags: ['UP', 'HOST'], mtu: null });
  }
  return { seed, os, profile: result.profile, facts, initial };
}

/** A kernel table keyed the way the kernel keys it; writes fail the way the kernel fails them. */
class Table {
  readonly routes = new Map<string, ExistingRoute>();
  private readonly created = new Set<string>();
  private readonly os: Platform;
  constructor(os: Platform, initial: ExistingRoute[]) {
    this.os = os;
    for (const r of initial) this.routes.set(kernelKey(r, os), r);
  }
  private key(r: ExistingRoute): string {
    return kernelKey(r, this.os);
  }
  apply(action: Action): void {
    if (!('route' in action)) return;
    const key = this.key(action.route);
    const has = this.routes.has(key);
    switch (action.kind) {
      case 'add':
      case 'restore':
        assert.ok(!has, `${action.kind} ${key}: EEXIST`);
        this.routes.set(key, action.route);
        return;
      case 'ensure':
      case 'demote-to-scoped':
        if (!has) {
          this.routes.set(key, action.route);
          this.created.add(key);
        }
        return;
      case 'remove-unscoped':
        assert.ok(has, `${action.kind} ${key}: ESRCH`);
        this.routes.delete(key);
        return;
      case 'remove':
        if (action.onlyIfCreated && !this.created.has(key)) return;
        assert.ok(has, `remove ${key}: ESRCH`);
        this.routes.delete(key);
        this.created.delete(key);
        return;
    }
  }
  /** Longest-prefix match among unscoped (macOS) / main-table (Linux) routes, lowest metric first. */
  lookup(target: Prefix): ExistingRoute | undefined {
    const candidates = [...this.routes.values()].filter((r) => {
      if (r.family !== target.family) return false;
      if (this.os === 'darwin' ? r.scope !== null : (r.table ?? MAIN_TABLE) !== MAIN_TABLE) return false;
      const p = parsePrefix(r.destination, true);
      return p.ok && covers(p.prefix, target);
    });
    const length = (r: ExistingRoute): number => Number(r.destination.split('/')[1]);
    candidates.sort((a, b) => length(b) - length(a) || effectiveMetric(a) - effectiveMetric(b));
    return candidates[0];
  }
  /** Identities without the flags the kernel adds by itself (it adds them again on restore). */
  snapshot(): string[] {
    return [...this.routes.values()].map(identityOf).sort();
  }
}

function identityOf(r: ExistingRoute): string {
  return routeIdentity({ ...r, flags: r.flags.filter((f) => !['PRCLONING', 'GLOBAL', 'MULTICAST'].includes(f)), origin: 'tunnel' });
}

const cases: Case[] = [];
for (let seed = 1; cases.length < 400 && seed < 5000; seed++) {
  const c = generate(seed);
  if (c) cases.push(c);
}

test('the generator yields enough valid, varied cases', () => {
  assert.ok(cases.length >= 400, `only ${cases.length} valid cases`);
  const kinds = new Set(cases.map((c) => `${c.os}/${c.profile.mode}/${c.profile.strategy}`));
  assert.equal(kinds.size, 10);
  assert.deepEqual(new Set(cases.map((c) => c.profile.ipv6)), new Set(['tunnel', 'block', 'bypass']));
  assert.ok(cases.some((c) => c.profile.exclude.length > 0 && c.profile.endpoints.length > 0));
});

function plan(c: Case): Plan {
  return planRoutes(c.profile, c.facts);
}

test('no two planned routes share a kernel key', () => {
  for (const c of cases) {
    const keys = plan(c).routes.map((r) => kernelKey(r, c.os));
    assert.equal(new Set(keys).size, keys.length, `seed ${c.seed}: ${keys.join(' ')}`);
  }
});

function applied(c: Case, p: Plan): Table {
  const table = new Table(c.os, c.initial);
  for (const a of p.actions) table.apply(a);
  return table;
}

test('every exclude and every endpoint stays on the physical interface', () => {
  for (const c of cases) {
    const p = plan(c);
    const table = applied(c, p);
    // Endpoints and excludes of a family get physical routes when that family is routed or blocked.
    const families: Family[] = c.profile.ipv6 === 'tunnel' || (c.profile.mode === 'full' && c.profile.ipv6 === 'block') ? ['inet', 'inet6'] : ['inet'];
    const targets: Array<[string, Prefix]> = [
      ...c.profile.exclude.map((e): [string, Prefix] => ['exclude', e]),
      ...c.profile.endpoints.map((e): [string, Prefix] => {
        const parsed = parsePrefix(e.address, true);
        assert.ok(parsed.ok);
        return ['endpoint', parsed.prefix];
      }),
    ];
    for (const [what, target] of targets) {
      if (!families.includes(target.family)) continue;
      if (!c.facts.physicalDefaults.some((d) => d.family === target.family)) {
        assert.ok(p.warnings.some((w) => w.includes(formatPrefix(target))), `seed ${c.seed}: offline ${what} ${formatPrefix(target)} must be warned about`);
        continue;
      }
      const route = table.lookup(target);
      assert.ok(route, `seed ${c.seed}: ${what} ${formatPrefix(target)} has no route`);
      assert.notEqual(route.index, c.facts.tunnel.index, `seed ${c.seed}: ${what} ${formatPrefix(target)} goes into the tunnel via ${route.destination}`);
    }
  }
});

test('applying the actions installs every planned route; the teardown restores the table it started from', () => {
  for (const c of cases) {
    const p = plan(c);
    const before = new Table(c.os, c.initial).snapshot();
    const table = applied(c, p);
    for (const r of p.routes) assert.ok(table.routes.has(kernelKey(r, c.os)), `seed ${c.seed}: ${r.destination} missing after apply`);
    for (const a of p.teardown) table.apply(a);
    assert.deepEqual(table.snapshot(), before, `seed ${c.seed}`);
  }
});

test('physical routes are only ever removed by a journaled remove-unscoped, after their scoped copy exists', () => {
  for (const c of cases) {
    const p = plan(c);
    p.actions.forEach((a, i) => {
      if (a.kind !== 'remove-unscoped') return;
      assert.equal(a.journal, true);
      assert.ok(c.facts.existing.some((e) => identityOf(e) === identityOf(a.route)), `seed ${c.seed}: removes a route that is not the physical side's`);
      const copy = p.routes.find((r) => r.origin === 'demoted' && r.destination === a.route.destination);
      assert.ok(copy, `seed ${c.seed}: no scoped copy for ${a.route.destination}`);
      const copyAction = p.actions.findIndex((b) => b.kind === 'demote-to-scoped' && b.route === copy);
      assert.ok(copyAction === -1 || copyAction < i, `seed ${c.seed}: copy after removal`);
      assert.ok(p.actions.slice(0, i).every((b) => b.kind !== 'add' || b.route.origin === 'endpoint' || b.route.origin === 'exclude'), `seed ${c.seed}: tunnel route before the physical one moved`);
    });
    if (c.profile.mode === 'split' || c.profile.strategy === 'split-default') {
      assert.ok(p.actions.every((a) => a.kind === 'add' || a.kind === 'ensure' || a.kind === 'add-rule'), `seed ${c.seed}: ${c.profile.mode}/${c.profile.strategy} touched a foreign route`);
    }
  }
});
