/**
 * @module plan/format
 * How `tunroute plan` shows a plan: a `netstat -rn`-style table (macOS: netstat's own
 * destination abbreviations and flag letters, so the output can be compared with the
 * real table line by line), the numbered actions, and a stable JSON shape.
 */
import { describeRule as ruleWords, effectiveMetric, routeType, type Route, type Rule } from '../model/route.js';
import { parsePrefix } from '../profile/prefix.js';
import type { Action } from './actions.js';
import type { Plan } from './plan.js';

/** netstat's letters, in netstat's order (netstat.tproj/route.c bits[]). */
const LETTERS: ReadonlyArray<readonly [string, string]> = [
  ['UP', 'U'],
  ['GATEWAY', 'G'],
  ['HOST', 'H'],
  ['REJECT', 'R'],
  ['DYNAMIC', 'D'],
  ['MODIFIED', 'M'],
  ['MULTICAST', 'm'],
  ['DONE', 'd'],
  ['CLONING', 'C'],
  ['XRESOLVE', 'X'],
  ['LLINFO', 'L'],
  ['STATIC', 'S'],
  ['PROTO1', '1'],
  ['PROTO2', '2'],
  ['WASCLONED', 'W'],
  ['PRCLONING', 'c'],
  ['PROTO3', '3'],
  ['BLACKHOLE', 'B'],
  ['BROADCAST', 'b'],
  ['IFSCOPE', 'I'],
  ['IFREF', 'i'],
  ['PROXY', 'Y'],
  ['ROUTER', 'r'],
  ['GLOBAL', 'g'],
];

export function flagLetters(flags: readonly string[]): string {
  return LETTERS.filter(([name]) => flags.includes(name))
    .map(([, letter]) => letter)
    .join('');
}

/**
 * A destination the way macOS netstat prints it: `default`; host routes as the bare
 * address; IPv4 networks with trailing zero octets trimmed according to the address's
 * class, and `/len` unless the mask is the classful one (`224.0.0/4`, `10.20/16`,
 * `192.168.1`, `0/1`, `128.0/1`); IPv6 networks as `addr/len`.
 */
export function netstatDestination(destination: string, host: boolean): string {
  const parsed = parsePrefix(destination, true);
  if (!parsed.ok) return destination;
  const { family, value, length } = parsed.prefix;
  if (length === 0) return 'default';
  const [address] = destination.split('/') as [string];
  if (host) return address;
  if (family === 'inet6') return `${address}/${length}`;
  const n = Number(value);
  const octets = [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  // Class A, B, C by the leading bits; D and E print like C.
  const classLength = n >>> 31 === 0 ? 8 : n >>> 30 === 0b10 ? 16 : 24;
  let shown = 4;
  if (classLength === 8 && (n & 0xffffff) === 0) shown = 1;
  else if (classLength <= 16 && (n & 0xffff) === 0) shown = 2;
  else if ((n & 0xff) === 0) shown = 3;
  const text = octets.slice(0, shown).join('.');
  return length === classLength ? text : `${text}/${length}`;
}

function gatewayText(route: Route): string {
  if ('link' in route.gateway) return `link#${route.gateway.link}`;
  // A zoned (link-local) gateway as netstat prints it: fe80::1%en0.
  return route.gateway.scope ? `${route.gateway.address}%${route.interface}` : route.gateway.address;
}

/** macOS netstat prints a destination as a host by RTF_HOST, not by its length (`255.255.255.255/32` is a net route). */
function isHost(route: Route): boolean {
  if (route.flags.length > 0) return route.flags.includes('HOST');
  return route.destination.endsWith(route.family === 'inet' ? '/32' : '/128');
}

/** Linux has no route flags; netstat -rn there derives U, G and H the same way. */
function linuxLetters(route: Route): string {
  return `U${'address' in route.gateway ? 'G' : ''}${isHost(route) ? 'H' : ''}`;
}

function columns(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 2))).join('').trimEnd()).join('\n');
}

export function formatRouteTable(plan: Plan): string {
  const out: string[] = [];
  for (const [family, title] of [['inet', 'Internet:'], ['inet6', 'Internet6:']] as const) {
    const routes = plan.routes.filter((r) => r.family === family);
    if (routes.length === 0) continue;
    if (plan.os === 'darwin') {
      const rows = [['Destination', 'Gateway', 'Flags', 'Netif', 'Origin']];
      for (const r of routes) rows.push([netstatDestination(r.destination, isHost(r)), gatewayText(r), flagLetters(r.flags), r.interface, r.origin]);
      out.push(title, columns(rows));
    } else {
      const rows = [['Destination', 'Gateway', 'Flags', 'Metric', 'Table', 'Iface', 'Origin']];
      for (const r of routes) {
        const destination = r.destination === '0.0.0.0/0' || r.destination === '::/0' ? 'default' : r.destination;
        // The metric the kernel will store (IPv6: 1024 for none or 0). A refusing route has no
        // gateway or device: netstat shows it with flag "!" and iface "-".
        const metric = String(effectiveMetric(r));
        if (routeType(r) !== 'unicast') rows.push([destination, routeType(r), '!', metric, tableName(r.table), '-', r.origin]);
        else rows.push([destination, 'link' in r.gateway ? '*' : r.gateway.address, linuxLetters(r), metric, tableName(r.table), r.interface, r.origin]);
      }
      out.push(title, columns(rows));
    }
    out.push('');
  }
  if (plan.rules.length > 0) {
    out.push('Rules:');
    for (const rule of plan.rules) out.push(`${rule.priority}:\t${ruleWords(rule, tableName)}${rule.family === 'inet6' ? '  (IPv6)' : ''}`);
    out.push('');
  }
  return out.join('\n');
}

function tableName(table: number | null): string {
  return table === 254 ? 'main' : String(table ?? '-');
}

export function describeRoute(route: Route): string {
  const type = routeType(route);
  const via = type !== 'unicast' ? null : 'link' in route.gateway ? `dev ${route.interface}` : `via ${route.gateway.address} dev ${route.interface}`;
  const parts = type !== 'unicast' ? [type, route.destination] : [route.destination, via as string];
  if (route.scope !== null) parts.push(`ifscope ${route.scope}`);
  if (route.table !== null && route.table !== 254) parts.push(`table ${route.table}`);
  if (route.metric !== null) parts.push(`metric ${route.metric}`);
  if (route.flags.length > 0) parts.push(`<${route.flags.join(',')}>`);
  if (route.mtu !== null) parts.push(`mtu ${route.mtu}`);
  return parts.join(' ');
}

function describeRule(rule: Rule): string {
  return `${ruleWords(rule, tableName)} priority ${rule.priority}${rule.family === 'inet6' ? ' (IPv6)' : ''}`;
}

export function describeAction(action: Action): string {
  const target = 'rule' in action ? describeRule(action.rule) : describeRoute(action.route);
  const notes: string[] = [];
  if (action.kind === 'remove-unscoped') notes.push('journaled first');
  if (action.kind === 'ensure') notes.push('adopted if it exists');
  if (action.kind === 'demote-to-scoped') notes.push('EEXIST is fine');
  if (action.kind === 'remove' && action.onlyIfCreated) notes.push('only if tunroute created it');
  if ('route' in action) notes.unshift(action.route.origin);
  return `${action.kind.padEnd(16)} ${target}${notes.length > 0 ? `  (${notes.join('; ')})` : ''}`;
}

/** The `system` strategy: the dictionaries published to configd, then the table IPMonitor builds from them. */
function formatPublication(plan: Plan): string[] {
  const out = ['Published to configd (SCDynamicStore session keys, removed when tunroute stops or dies):'];
  for (const [key, value] of Object.entries(plan.publication?.values ?? {})) {
    out.push(`  ${key}`, ...JSON.stringify(value, null, 2).split('\n').map((line) => `    ${line}`));
  }
  out.push('', 'Expected table (IPMonitor builds it; tunroute watches it and asks IPMonitor to re-apply when routes go missing):');
  return out;
}

export function formatPlanText(plan: Plan): string {
  if (plan.publication) {
    const out = [...formatPublication(plan), formatRouteTable(plan), 'Actions: none (tunroute writes no route with this strategy)'];
    if (plan.warnings.length > 0) out.push('', 'Warnings:', ...plan.warnings.map((w) => `  - ${w}`));
    return `${out.join('\n')}\n`;
  }
  const numbered = (list: Action[]): string[] => list.map((a, i) => `${String(i + 1).padStart(3)}. ${describeAction(a)}`);
  const out = [formatRouteTable(plan), 'Actions:', ...numbered(plan.actions), '', 'Teardown:', ...numbered(plan.teardown)];
  if (plan.warnings.length > 0) out.push('', 'Warnings:', ...plan.warnings.map((w) => `  - ${w}`));
  return `${out.join('\n')}\n`;
}

export function routeJson(route: Route): Record<string, unknown> {
  return {
    destination: route.destination,
    gateway: 'link' in route.gateway ? { link: route.gateway.link } : route.gateway.address,
    flags: route.flags,
    interface: route.interface,
    index: route.index,
    scope: route.scope,
    table: route.table,
    metric: route.metric,
    mtu: route.mtu,
    family: route.family,
    origin: route.origin,
    ...(route.type === undefined ? {} : { type: route.type }),
  };
}

export function actionJson(action: Action): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: action.kind };
  if ('rule' in action) out.rule = action.rule;
  else out.route = routeJson(action.route);
  if (action.kind === 'demote-to-scoped') out.of = routeJson(action.of);
  if (action.kind === 'remove-unscoped') out.journal = true;
  if (action.kind === 'remove') out.onlyIfCreated = action.onlyIfCreated;
  out.reverse = action.reverse.map(actionJson);
  return out;
}

export function planJson(plan: Plan): Record<string, unknown> {
  return {
    os: plan.os,
    routes: plan.routes.map(routeJson),
    rules: plan.rules,
    actions: plan.actions.map(actionJson),
    teardown: plan.teardown.map(actionJson),
    warnings: plan.warnings,
    ...(plan.publication ? { configd: plan.publication.values } : {}),
  };
}
