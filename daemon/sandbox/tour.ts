/**
 * @module sandbox/tour
 * `tunroute sandbox`: tunroute's whole lifecycle, shown on a throwaway network (the test
 * world of sandbox/world.ts: namespaces, a real wireguard-go tunnel, a target behind the
 * peer). The daemon runs inside the world's client namespace; this process only runs
 * `ip -n …` against the world's namespaces, so the host's own table is never touched.
 *
 * The tour: the table before; tunroute started, its table and status; a ping through the
 * tunnel; one of its routes deleted and healed; the tunnel killed (the physical routes
 * come back) and restarted (installed again); SIGTERM, and the table compared with the
 * one before. The world is removed at the end, on an error, and on Ctrl-C.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { prettyLine } from '../logger.js';
import { daemonArgs } from '../service/node-flags.js';
import { formatStatus, type StatusDocument } from '../status/document.js';
import { queryStatus, socketPath } from '../status/socket.js';
import { ADDRESSES, World } from './world.js';

/** The profile shown by default: the shipped full-tunnel example. */
export const EXAMPLE_PROFILE = new URL('../../../config/full-tunnel.yaml', import.meta.url).pathname;
const CLI = new URL('../cli.js', import.meta.url).pathname;
const NAME = 'sandbox';

type Line = Record<string, unknown>;

/**
 * The user's profile, pointed at the world: its tunnel device, its address and endpoint,
 * a journal in the sandbox's own folder. Everything else (mode, strategy, routes,
 * excludes, IPv6, timings) is the user's.
 */
export function adaptProfile(text: string, world: { device: string; journal: string }): { text: string; changes: string[] } {
  const doc = parseDocument(text);
  const changes: string[] = [];
  const set = (path: string[], value: unknown, why: string): void => {
    const before = doc.getIn(path);
    const same = JSON.stringify(before && typeof before === 'object' && 'toJSON' in before ? (before as { toJSON(): unknown }).toJSON() : before) === JSON.stringify(value);
    doc.setIn(path, value);
    if (!same) changes.push(`${path.join('.')}: ${JSON.stringify(value)} (${why})`);
  };
  set(['name'], NAME, 'its status socket and journal stay apart from a real instance');
  set(['interface'], { name: world.device }, "the world's WireGuard device");
  const ipv6 = doc.get('ipv6');
  const tunnel = ipv6 === true || ipv6 === 'tunnel' ? [ADDRESSES.tunnel.client.v4, ADDRESSES.tunnel.client.v6] : ADDRESSES.tunnel.client.v4;
  set(['address'], tunnel, "the world's tunnel address");
  // `endpoints: auto` reads the world's wireguard-go like any other; listed endpoints are somebody else's.
  if (doc.get('endpoints') !== 'auto') set(['endpoints'], [`${ADDRESSES.endpoint.v4}:${ADDRESSES.endpoint.port}`], "the world's WireGuard server");
  set(['daemon', 'journal'], world.journal, "the sandbox's own folder");
  // A split tunnel carries only its routes: the ping to the target needs one that covers it.
  const routes = doc.get('routes');
  const listed: unknown[] = routes && typeof routes === 'object' && 'toJSON' in routes ? ((routes as { toJSON(): unknown }).toJSON() as unknown[]) : [];
  if (doc.get('mode') === 'split' && !listed.some((r) => typeof r === 'string' && coversV4(r, ADDRESSES.target.v4))) {
    set(['routes'], [...listed, ADDRESSES.target.prefix.v4], 'a split tunnel needs a route to the target for the ping');
  }
  return { text: doc.toString(), changes };
}

/** True when IPv4 prefix `cidr` ("172.16.0.0/12") contains `address`. */
function coversV4(cidr: string, address: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?$/.exec(cidr);
  if (!m) return false;
  const toInt = (parts: string[]): number => parts.reduce((n, p) => n * 256 + Number(p), 0);
  const hostBits = 32 - (m[5] === undefined ? 32 : Number(m[5]));
  return Math.floor(toInt(m.slice(1, 5) as string[]) / 2 ** hostBits) === Math.floor(toInt(address.split('.')) / 2 ** hostBits);
}

/** The part of the table a person wants to see: routes outside the kernel's `local` table, and the rules. */
function shownTable(world: World): string {
  const routes = (family: string): string[] =>
    world
      .ip('client', family, 'route', 'show', 'table', 'all')
      .split('\n')
      .filter((l) => l && !/\btable local\b/.test(l) && !/^(multicast|anycast) /.test(l) && !/^fe80::\/64 /.test(l));
  const rules = (family: string): string[] => world.ip('client', family, 'rule').split('\n').filter(Boolean);
  return [...routes('-4'), ...routes('-6'), ...rules('-4').map((r) => `rule ${r}`), ...rules('-6').map((r) => `rule -6 ${r}`)].map((l) => `    ${l}`).join('\n');
}

class Daemon {
  readonly lines: Line[] = [];
  readonly exited: Promise<number | null>;
  readonly child: ChildProcess;
  private readonly waiters: Array<() => void> = [];
  constructor(child: ChildProcess, print: (line: string) => void) {
    this.child = child;
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(text) as Line);
        } catch {
          this.lines.push({ msg: text });
        }
        print(`    | ${prettyLine(text).trimEnd()}`);
        for (const w of this.waiters.splice(0)) w();
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => print(`    | ${chunk.toString().trimEnd()}`));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        for (const w of this.waiters.splice(0)) w();
        resolve(code);
      }),
    );
  }

  /** The first line from `from` on that matches, or an error after `ms`. */
  waitFor(pred: (line: Line) => boolean, what: string, from = 0, ms = 15_000): Promise<Line> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tunroute did not log ${what} within ${ms / 1000} s`)), ms);
      const check = (): void => {
        const hit = this.lines.slice(from).find(pred);
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
        } else if (this.child.exitCode !== null) {
          clearTimeout(timer);
          reject(new Error(`tunroute exited (${this.child.exitCode}) before it logged ${what}`));
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }
}

export interface TourOptions {
  profilePath: string;
  out: (line: string) => void;
}

/** Runs the tour; resolves with the exit status (0: every step as expected, the table restored). */
export async function runTour(options: TourOptions): Promise<number> {
  const out = options.out;
  const step = (n: number, title: string): void => out(`\n${n}. ${title}`);
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-sandbox-'));
  const cleanupDir = (): void => rmSync(dir, { recursive: true, force: true });
  process.on('exit', cleanupDir);

  out('Building the sandbox: network namespaces client, server and target, a WireGuard tunnel (wireguard-go) from client to server, a target reachable only through it. The host\'s own network is not touched.');
  const world = await World.create({ log: (line) => out(`  world: ${line}`) });
  // Ctrl-C, SIGTERM, SIGHUP and any exit remove the world (and the daemon inside it).
  world.destroyOnExit();
  try {
    const device = world.interfaces.tunnel.client;
    const profile = adaptProfile(readFileSync(options.profilePath, 'utf8'), { device, journal: join(dir, 'journal.json') });
    const profilePath = join(dir, `${NAME}.yaml`);
    writeFileSync(profilePath, profile.text);
    chmodSync(profilePath, 0o600);
    out(`  profile: ${options.profilePath}, pointed at the world:`);
    for (const c of profile.changes) out(`    ${c}`);

    step(1, 'The client\'s table before tunroute');
    const before = world.tables();
    out(shownTable(world));
    const target = ADDRESSES.target.v4;
    out(`  ping ${target} (the target, reachable only through the tunnel): ${world.ping('client', target, { deadlineS: 1 }).ok ? 'answers' : 'no answer (nothing routes it into the tunnel yet)'}`);

    step(2, `tunroute run, inside the client namespace`);
    const child = world.spawn('client', process.execPath, daemonArgs(CLI, ['run', profilePath, '--log-format', 'json', '--run-dir', dir]));
    const daemon = new Daemon(child, out);
    await daemon.waitFor((l) => l.state === 'installed', 'state installed');
    out('\n  the table with tunroute running:');
    out(shownTable(world));
    const status = (await queryStatus(socketPath(dir, NAME))) as StatusDocument;
    out('\n  sudo tunroute status:');
    out(formatStatus(status).trimEnd().split('\n').map((l) => `    ${l}`).join('\n'));

    step(3, 'A ping through the tunnel');
    const sent = world.transfer('client');
    const ping = world.ping('client', target, { deadlineS: 5 });
    const after = world.transfer('client');
    out(`  ${world.routeGet('client', target)}`);
    out(`  ping ${target}: ${ping.ok ? 'answers' : 'NO ANSWER'}; WireGuard sent ${after.tx - sent.tx} and received ${after.rx - sent.rx} bytes`);
    if (!ping.ok) throw new Error(`the target did not answer through the tunnel: ${ping.output}`);

    step(4, 'Someone deletes one of tunroute\'s routes; tunroute puts it back');
    const victim = status.routes.find((r) => r.origin === 'tunnel' && r.destination === '0.0.0.0/0') ?? status.routes.find((r) => r.origin === 'tunnel');
    if (!victim) throw new Error('tunroute installed no tunnel route');
    const del = ['route', 'del', victim.destination, 'dev', victim.interface, ...(victim.table !== null ? ['table', String(victim.table)] : []), ...(victim.metric !== null ? ['metric', String(victim.metric)] : [])];
    let mark = daemon.lines.length;
    out(`  ip ${del.join(' ')}`);
    const deletedAt = performance.now();
    world.ip('client', ...del);
    await daemon.waitFor((l) => l.action === 'restore' && l.destination === victim.destination && l.result === 'ok', `the repair of ${victim.destination}`, mark);
    out(`  healed after ${Math.round(performance.now() - deletedAt)} ms`);

    step(5, 'The tunnel dies (wireguard-go killed): the physical routes come back');
    mark = daemon.lines.length;
    await world.stopTunnel('client', 'SIGKILL');
    await daemon.waitFor((l) => l.state === 'waiting', 'state waiting', mark);
    out(shownTable(world));
    out('\n  wireguard-go started again:');
    mark = daemon.lines.length;
    await world.startTunnel('client');
    await daemon.waitFor((l) => l.state === 'installed', 'state installed', mark);
    const again = world.ping('client', target, { deadlineS: 5 });
    out(`  ping ${target}: ${again.ok ? 'answers' : 'NO ANSWER'}`);
    if (!again.ok) throw new Error(`the target did not answer after the tunnel came back: ${again.output}`);

    step(6, 'SIGTERM: tunroute removes what it added and restores what it moved');
    child.kill('SIGTERM');
    const code = await daemon.exited;
    out(`  tunroute exited with status ${code}`);
    const end = world.tables();
    out(shownTable(world));
    const same = end === before;
    out(same ? '\n  The table is identical to the one before tunroute started (every table, both families, the rules).' : `\n  THE TABLE DIFFERS from the one before:\n${diff(before, end)}`);
    return code === 0 && same ? 0 : 1;
  } finally {
    world.destroy();
    cleanupDir();
    out('\nSandbox removed.');
  }
}

/** Lines only in one of the two texts, marked - (before) and + (after). */
function diff(before: string, after: string): string {
  const a = new Set(before.split('\n'));
  const b = new Set(after.split('\n'));
  return [...[...a].filter((l) => !b.has(l)).map((l) => `    - ${l}`), ...[...b].filter((l) => !a.has(l)).map((l) => `    + ${l}`)].join('\n');
}
