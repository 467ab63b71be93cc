/**
 * @module test/helpers/darwin-daemon
 * Runs the real Daemon (engine, darwin backend, codec) against the XNU model with its
 * configd: a binding with the daemon's pid (PF_ROUTE sockets and, for the `system`
 * strategy, dynamic-store sessions), its JSON log lines, and helpers to wait for them.
 */
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../daemon/daemon.js';
import type { EngineState } from '../../daemon/engine/engine.js';
import { advanceIndexTo, createMacScenario, createXnuBinding, type MacScenario, type MacScenarioOptions, type NetstatRow, type XnuBinding } from '../xnu/index.js';

export const DAEMON_PID = 4242;

/** Daemons still running when a test ends (it failed early); the test file stops them in afterEach. */
export const running = new Set<Daemon>();

export async function abortRunning(): Promise<void> {
  for (const d of running) await d.abort();
  running.clear();
}

export type LogLine = Record<string, unknown>;

export interface Harness {
  mac: MacScenario;
  daemon: Daemon;
  binding: XnuBinding;
  logs: LogLine[];
  dir: string;
  profilePath: string;
  waitFor(pred: (l: LogLine) => boolean, from?: number, ms?: number): Promise<LogLine>;
  state(state: EngineState, from?: number): Promise<LogLine>;
  netstat(netif?: string): Array<Pick<NetstatRow, 'destination' | 'gateway' | 'flags' | 'netif'>>;
  /** SIGKILL: the daemon stops dead and the system closes its sockets and store sessions. */
  kill(): Promise<void>;
}

/**
 * A profile: `body`, then the `daemon:` section with a test journal and `daemonLines`
 * (indented YAML). A body that names no strategy runs `replace`, the strategy these files
 * test by default; the `system` strategy (the macOS default) has daemon-darwin-system.test.ts.
 */
export function profileText(dir: string, body: string, daemonLines = ''): string {
  const strategy = /strategy:/.test(body) ? '' : 'fullTunnel:\n  strategy: replace\n';
  return `${strategy}${body}\ndaemon:\n  journal: ${join(dir, 'journal.json')}\n  reconcileInterval: 1s\n${daemonLines}`;
}

/**
 * A daemon's JSON log lines as they come (`logWrite` is what Daemon.create takes) and a
 * wait for the first line from `from` on that matches, failing after `defaultMs` with the
 * last lines.
 */
export function collectLogs(defaultMs: number): {
  logs: LogLine[];
  logWrite: (line: string) => void;
  waitFor(pred: (l: LogLine) => boolean, from?: number, ms?: number): Promise<LogLine>;
} {
  const logs: LogLine[] = [];
  const waiters: Array<() => void> = [];
  const logWrite = (line: string): void => {
    logs.push(JSON.parse(line) as LogLine);
    for (const w of waiters.splice(0)) w();
  };
  const waitFor = (pred: (l: LogLine) => boolean, from = 0, ms = defaultMs): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; last log lines:\n${logs.slice(-12).map((l) => JSON.stringify(l)).join('\n')}`)), ms);
      const check = (): void => {
        const hit = logs.slice(from).find(pred);
        if (hit) {
          clearTimeout(timer);
          resolve(hit);
        } else waiters.push(check);
      };
      check();
    });
  return { logs, logWrite, waitFor };
}

export function startDaemon(mac: MacScenario, body: string, dir = mkdtempSync(join(tmpdir(), 'tunroute-darwin-')), pid = DAEMON_PID, daemonLines = '', bootTime?: number): Harness {
  const profilePath = join(dir, 'profile.yaml');
  if (!existsSync(profilePath)) writeFileSync(profilePath, profileText(dir, body, daemonLines));
  const { logs, logWrite, waitFor } = collectLogs(5000);
  const binding = createXnuBinding(mac.kernel, { pid, configd: mac.configd });
  const created = Daemon.create({
    profilePath, native: binding, pid, isRoot: false, logLevel: 'debug', ...(bootTime !== undefined ? { bootTime } : {}),
    logWrite,
  });
  if (!('daemon' in created)) throw new Error(JSON.stringify(created));
  const daemon = created.daemon;
  running.add(daemon);
  return {
    mac, daemon, binding, logs, dir, profilePath, waitFor,
    state: (s, from = 0) => waitFor((l) => l.state === s, from),
    netstat: (netif) => mac.kernel.netstat(2).filter((r) => netif === undefined || r.netif === netif).map(({ destination, gateway, flags, netif: n }) => ({ destination, gateway, flags, netif: n })),
    kill: async () => {
      await daemon.abort();
      running.delete(daemon);
      binding.exit();
    },
  };
}

/** The seed's machine: utun7 at index 36 with 10.10.10.2, while en0 owns the unscoped default. */
export function seedMachine(options: MacScenarioOptions = {}): MacScenario {
  const mac = createMacScenario(options);
  advanceIndexTo(mac.kernel, 36);
  mac.addTunnel({ name: 'utun7', address: '10.10.10.2', mtu: 1420 });
  return mac;
}

export const SEED_FULL = [
  { destination: 'default', gateway: 'link#36', flags: 'UCSg', netif: 'utun7' },
  { destination: '10.10.10.2', gateway: '10.10.10.2', flags: 'UH', netif: 'utun7' },
  { destination: '224.0.0/4', gateway: 'link#36', flags: 'UmCS', netif: 'utun7' },
  { destination: '255.255.255.255/32', gateway: 'link#36', flags: 'UCS', netif: 'utun7' },
];

export const byDestination = <T extends { destination: string }>(rows: T[]): T[] => [...rows].sort((a, b) => a.destination.localeCompare(b.destination));

/** netstat shows our tag as `1`; the seed (NetworkExtension's table) has no tag. */
export const untagged = <T extends { flags: string }>(rows: T[]): T[] => rows.map((r) => ({ ...r, flags: r.flags.replace('1', '') }));
