/**
 * @module test/helpers/netns
 * Network namespaces made by a test and always removed. Names carry the test process's
 * pid, so a namespace left by a killed run is recognised and swept by the next one.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { processAlive } from '../../daemon/sandbox/world.js';

const PREFIX = 'trt';
let counter = 0;

export const isRoot = process.getuid?.() === 0;
export const isLinux = process.platform === 'linux';

/** Skips the test (with the reason) unless it runs as root on Linux. Returns true when skipped. */
export function skipUnlessLinuxRoot(t: TestContext): boolean {
  if (!isLinux) {
    t.skip('needs Linux (network namespaces)');
    return true;
  }
  if (!isRoot) {
    t.skip('needs root (creates network namespaces)');
    return true;
  }
  return false;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs a command and throws with its stderr when it fails. */
export function must(cmd: string, args: string[]): string {
  const r = run(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}


/** Removes namespaces left behind by test processes that no longer exist. */
export function sweepStaleNamespaces(): void {
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return;
  }
  for (const name of names) {
    const m = new RegExp(`^${PREFIX}-(\\d+)-`).exec(name);
    if (m && !processAlive(Number(m[1]))) run('ip', ['netns', 'del', name]);
  }
}

export class Netns {
  readonly name: string;
  private readonly children = new Set<ChildProcess>();

  constructor(label: string) {
    this.name = `${PREFIX}-${process.pid}-${counter++}-${label}`.slice(0, 60);
  }

  create(): void {
    must('ip', ['netns', 'add', this.name]);
    // Without duplicate address detection, IPv6 link-local addresses (and their local
    // routes) appear when a link comes up, not a second later in the middle of a test.
    for (const conf of ['all', 'default']) must('ip', ['netns', 'exec', this.name, 'sysctl', '-qw', `net.ipv6.conf.${conf}.accept_dad=0`]);
    must('ip', ['-n', this.name, 'link', 'set', 'lo', 'up']);
  }

  /** `ip -n NS ARGS…`, throwing on failure. */
  ip(...args: string[]): string {
    return must('ip', ['-n', this.name, ...args]);
  }

  /**
   * Everything a tunroute run could change here, as text to compare byte for byte: both
   * families' routes in every table (with `details`, every attribute `ip -d` shows) and rules.
   */
  tables(options: { details?: boolean } = {}): string {
    const d = options.details ? ['-d'] : [];
    return [this.ip(...d, '-4', 'route', 'show', 'table', 'all'), this.ip(...d, '-6', 'route', 'show', 'table', 'all'), this.ip('-4', 'rule'), this.ip('-6', 'rule')].join('\n--\n');
  }

  /** `ip -n NS ARGS…`, returning the result whatever it is. */
  tryIp(...args: string[]): RunResult {
    return run('ip', ['-n', this.name, ...args]);
  }

  /** Runs a command inside the namespace to completion. */
  exec(cmd: string, args: string[], input?: string): RunResult {
    const r = spawnSync('ip', ['netns', 'exec', this.name, cmd, ...args], { encoding: 'utf8', input, timeout: 60_000 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Starts a long-running command inside the namespace; killed on destroy() if still running. */
  spawn(cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** A veth pair inside the namespace, both ends up, the first one addressed. */
  addVeth(name: string, peer: string, cidr: string): void {
    this.ip('link', 'add', name, 'type', 'veth', 'peer', 'name', peer);
    this.ip('addr', 'add', cidr, 'dev', name);
    this.ip('link', 'set', name, 'up');
    this.ip('link', 'set', peer, 'up');
  }

  /**
   * The usual machine of the daemon tests: veth0 (192.168.50.2/24, default via 192.168.50.1;
   * veth1 its far end) as the physical network and tun0 (10.10.10.2 peer 10.10.10.1) as the
   * tunnel, up unless `tunnelUp` is false.
   */
  addMachine({ tunnelUp = true }: { tunnelUp?: boolean } = {}): void {
    this.addVeth('veth0', 'veth1', '192.168.50.2/24');
    this.ip('route', 'add', 'default', 'via', '192.168.50.1', 'dev', 'veth0');
    this.ip('tuntap', 'add', 'dev', 'tun0', 'mode', 'tun');
    this.ip('addr', 'add', '10.10.10.2/32', 'peer', '10.10.10.1', 'dev', 'tun0');
    if (tunnelUp) this.ip('link', 'set', 'tun0', 'up');
  }

  destroy(): void {
    for (const child of this.children) child.kill('SIGKILL');
    run('ip', ['netns', 'del', this.name]);
  }
}

/** Creates a namespace, runs `fn`, and removes the namespace whatever happens. */
export async function withNetns<T>(label: string, fn: (ns: Netns) => Promise<T> | T): Promise<T> {
  sweepStaleNamespaces();
  const ns = new Netns(label);
  ns.create();
  try {
    return await fn(ns);
  } finally {
    ns.destroy();
  }
}

/** Path of a compiled probe script (test/live/probes/NAME.ts) for running inside a namespace. */
export function probePath(name: string): string {
  return new URL(`../live/probes/${name}.js`, import.meta.url).pathname;
}

/**
 * Runs a probe inside `ns` with a fresh private folder as its argument (for its journal and
 * profile), removed afterwards, and returns the JSON lines it printed; a probe that fails
 * fails the test with its stderr.
 */
export function runProbeWithFolder<T>(ns: Netns, name: string): T[] {
  const dir = mkdtempSync(join(tmpdir(), `tunroute-${name}-`));
  try {
    const r = ns.exec('node', [probePath(name), dir]);
    if (r.status !== 0) throw new Error(`probe ${name} exited ${r.status}: ${r.stderr}`);
    return jsonLines<T>(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Parses the JSON lines a probe printed. */
export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as T);
}
