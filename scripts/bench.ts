/**
 * The benchmark suite (`npm run bench`, Linux, root). Every figure is taken through the
 * real `tunroute run` process or the engine on a real kernel, inside network namespaces
 * made and removed here, next to its peer in the same run:
 *
 * - install / remove: interface-up → all routes installed, SIGTERM → all gone (exit 0),
 *   against `ip -batch` (one process) and an `ip route add` / `del` loop (a process per route);
 * - reconcile: one full engine run over a table of N routes, against the snapshot it reads;
 * - repair: another process deletes a managed route; time until an independent listener
 *   sees the replacement, against a minimal netlink re-adder measured the same way;
 * - storm: another process (scripts/route-storm.ts, 125,000 events/s) churns routes on
 *   another device; whether the daemon keeps up, its CPU per event against `ip monitor
 *   route > /dev/null` on the same storm, its routes counted throughout, time to settle
 *   (after an overflow too), RSS by halves;
 * - idle: RSS and CPU of an idle daemon;
 * - codecs: Linux and macOS route messages decoded per second, Linux against a minimal decoder;
 * - check: `tunroute check` of a large profile against parsing the same YAML alone.
 *
 *   node dist/scripts/bench.js [--quick] [--rounds N] [--json FILE] [--only codecs,check,repair,reconcile,install,storm,darwin] [--sizes 10000,50000]
 *
 * --quick is the CI smoke test: small sizes, one round, every benchmark runs, no figures judged.
 * Medians over rounds (min–max shown), because the machines are shared and noisy.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { DAEMON_NODE_FLAGS, daemonArgs } from '../daemon/service/node-flags.js';

const SELF = new URL(import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/daemon/cli.js');
const STORM = join(ROOT, 'dist/scripts/route-storm.js');
const TAG = '232';

const USAGE = 'usage: node dist/scripts/bench.js [--quick] [--rounds N] [--json FILE] [--only codecs,check,repair,reconcile,install,storm,darwin] [--sizes 10000,50000]\n';

let parsed: ReturnType<typeof parseOptions>;
try {
  parsed = parseOptions();
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (parsed.values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const { values } = parsed;

function parseOptions() {
  return parseArgs({
  options: {
    help: { type: 'boolean', short: 'h', default: false },
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    json: { type: 'string' },
    inner: { type: 'string' },
    routes: { type: 'string' },
    count: { type: 'string' },
    only: { type: 'string' },
    sizes: { type: 'string' },
  },
  });
}

// ---- helpers ------------------------------------------------------------------------

function sh(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Tunnel routes: /32s under 10.100.0.0/14 (N ≤ 262,144). */
const destination = (i: number): string => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;

let nsCounter = 0;
const live = new Set<Namespace>();

class Namespace {
  readonly name = `trb-${process.pid}-${nsCounter++}`;
  constructor() {
    sh('ip', ['netns', 'add', this.name]);
    live.add(this);
    this.ip('link', 'set', 'lo', 'up');
  }
  ip(...args: string[]): string {
    return sh('ip', ['-n', this.name, ...args]);
  }
  batch(lines: string[]): number {
    const t = performance.now();
    sh('ip', ['-n', this.name, '-batch', '-'], lines.join('\n') + '\n');
    return performance.now() - t;
  }
  /** `ip route add/del` as a shell loop, a process per route, the way shell VPN helpers do it. */
  loop(verb: 'add' | 'del', routes: string[]): number {
    const file = join(tmpdir(), `${this.name}-loop.txt`);
    writeFileSync(file, routes.join('\n') + '\n');
    const t = performance.now();
    sh('bash', ['-c', `while read -r d; do ip -n ${this.name} route ${verb} "$d" dev tun0 proto ${TAG}; done < ${file}`]);
    const ms = performance.now() - t;
    rmSync(file, { force: true });
    return ms;
  }
  /** Routes tagged `proto` in the main table (the profile's routes), or in every table. */
  routeCount(proto = TAG, table = 'main'): number {
    return this.ip('-4', 'route', 'show', 'table', table, 'proto', proto).split('\n').filter(Boolean).length;
  }
  /** A tun device for the tunnel (down until `up`) and a veth pair for the physical network. */
  machine(up = true): void {
    this.ip('link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1');
    this.ip('addr', 'add', '192.168.50.2/24', 'dev', 'veth0');
    this.ip('link', 'set', 'veth0', 'up');
    this.ip('link', 'set', 'veth1', 'up');
    this.ip('route', 'add', 'default', 'via', '192.168.50.1', 'dev', 'veth0');
    this.ip('tuntap', 'add', 'dev', 'tun0', 'mode', 'tun');
    this.ip('addr', 'add', '10.10.10.2/32', 'peer', '10.10.10.1', 'dev', 'tun0');
    if (up) this.ip('link', 'set', 'tun0', 'up');
  }
  destroy(): void {
    live.delete(this);
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

async function withNamespace<T>(fn: (ns: Namespace) => Promise<T>): Promise<T> {
  const ns = new Namespace();
  try {
    return await fn(ns);
  } finally {
    ns.destroy();
  }
}

/** A `tunroute run` process in a namespace; resolves states from its JSON log. */
class Daemon {
  readonly child;
  readonly dir = mkdtempSync(join(tmpdir(), 'tunroute-bench-'));
  private buffer = '';
  private readonly states: Array<{ state: string; at: number }> = [];
  private waiters: Array<() => void> = [];
  lines = 0;
  readonly exited: Promise<number | null>;

  constructor(ns: Namespace, routes: number, extra = '') {
    const path = join(this.dir, 'bench.yaml');
    const list = Array.from({ length: routes }, (_, i) => `  - ${destination(i)}`).join('\n');
    // The default shutdown budget (5 s): "SIGTERM removes everything within the budget" is measured, not assumed.
    writeFileSync(path, `interface:\n  name: tun0\naddress: 10.10.10.2\nmode: split\nroutes:\n${list}\ndaemon:\n  journal: ${join(this.dir, 'journal.json')}\n${extra}`);
    chmodSync(path, 0o600);
    // Its own status folder: two benches at once (or the suite's smoke run beside a real one)
    // must not meet on /var/run/tunroute/bench.sock.
    // Launched the way users launch it (the bin, the unit and the plist carry the same V8 flags).
    this.child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, ...daemonArgs(CLI, ['run', path, '--log-format', 'json', '--run-dir', this.dir])], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.child.stdout.on('data', (chunk: Buffer) => {
      const at = performance.now();
      this.buffer += chunk.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.lines++;
        // Only state lines matter here; the others are counted, not parsed.
        if (line.includes('"state":')) {
          const state = (JSON.parse(line) as { state?: string }).state;
          if (state) this.states.push({ state, at });
        }
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => {
      for (const w of this.waiters.splice(0)) w();
      resolve(code);
    }));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** The time the daemon reported `state` (after `since`). */
  async state(state: string, since = 0, timeoutMs = 600_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = this.states.find((s) => s.state === state && s.at >= since);
      if (hit) return hit.at;
      if (this.child.exitCode !== null) throw new Error(`daemon exited ${this.child.exitCode} before reaching ${state}`);
      if (performance.now() > deadline) throw new Error(`daemon did not reach ${state}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 1000).unref();
      });
    }
  }

  /** Runs `during` with the daemon stopped (SIGSTOP), and continues it (SIGCONT) whatever happens. */
  async paused<T>(during: () => Promise<T>): Promise<T> {
    this.child.kill('SIGSTOP');
    try {
      return await during();
    } finally {
      this.child.kill('SIGCONT');
    }
  }

  /** Its status counters, from `tunroute status --json`. */
  async counters(): Promise<{ overflows: number; reconciles: number }> {
    const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, [CLI, 'status', 'bench', '--json', '--run-dir', this.dir], (e, stdout) => (e ? reject(e) : resolve(stdout))));
    return (JSON.parse(out) as { counters: { overflows: number; reconciles: number } }).counters;
  }

  async stop(): Promise<{ ms: number; code: number | null }> {
    const t = performance.now();
    this.child.kill('SIGTERM');
    const code = await this.exited;
    const ms = performance.now() - t;
    rmSync(this.dir, { recursive: true, force: true });
    return { ms, code };
  }
}

/** CPU ticks (user + system, 1/100 s) and RSS of a process. */
function usage(pid: number): { cpuMs: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs: ticks * 10, rssMb: Number(rss?.[1] ?? 0) / 1024 };
}

/** Runs this script inside a namespace in one of its --inner modes and returns its JSON output. */
function inner(ns: Namespace, mode: string, args: string[] = []): Record<string, number[] | number> {
  // tunroute's engine, under the daemon's V8 flags (service/node-flags), as `tunroute run` has it.
  return JSON.parse(sh('ip', ['netns', 'exec', ns.name, process.execPath, ...DAEMON_NODE_FLAGS, SELF, '--inner', mode, ...args])) as Record<string, number[] | number>;
}

// ---- results ------------------------------------------------------------------------

interface Row {
  group: string;
  figure: string;
  value: number;
  unit: string;
  samples: number[];
  peer?: string;
  peerValue?: number;
  /** How the ratio reads: value / peerValue. */
  ratio?: number;
  target?: string;
  met?: boolean;
}
const rows: Row[] = [];
function row(r: Row): void {
  rows.push(r);
  const peer = r.peer ? ` | ${r.peer} ${fmt(r.peerValue)} ${r.unit}` : '';
  process.stderr.write(`  ${r.group}: ${r.figure} = ${fmt(r.value)} ${r.unit}${peer}${r.ratio !== undefined ? ` (${r.ratio.toFixed(2)}×)` : ''}${r.target ? ` target ${r.target}: ${r.met ? 'met' : 'NOT met'}` : ''}\n`);
}
const fmt = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));

// ---- the benchmarks -----------------------------------------------------------------

const QUICK = values.quick;
const ROUNDS = Number(values.rounds ?? (QUICK ? 1 : 3));
const SIZES = values.sizes ? values.sizes.split(',').map(Number) : QUICK ? [200] : [1_000, 10_000, 50_000];
/** Benchmark groups to run (all by default): codecs, check, repair, reconcile, install, storm, darwin. */
const GROUPS = ['codecs', 'check', 'repair', 'reconcile', 'install', 'storm', 'darwin'];
const ONLY = values.only ? new Set(values.only.split(',')) : null;
for (const group of ONLY ?? []) {
  if (!GROUPS.includes(group)) {
    process.stderr.write(`bench: unknown benchmark ${JSON.stringify(group)}, expected some of ${GROUPS.join(',')}\n${USAGE}`);
    process.exit(2);
  }
}
const wants = (group: string): boolean => ONLY === null || ONLY.has(group);

/**
 * The loop peer: a process per route. Its cost per route does not depend on the table size,
 * so it is run once, for 1,000 routes, and multiplied for larger sizes (marked as such).
 */
let loopCost: { n: number; add: number; del: number } | null = null;
async function loopPerRoute(): Promise<{ n: number; add: number; del: number }> {
  if (loopCost) return loopCost;
  const n = QUICK ? 50 : 1000;
  loopCost = await withNamespace(async (ns) => {
    ns.machine(true);
    const list = Array.from({ length: n }, (_, i) => destination(i));
    return { n, add: ns.loop('add', list) / n, del: ns.loop('del', list) / n };
  });
  return loopCost;
}

async function benchInstallRemove(n: number): Promise<void> {
  const daemonUp: number[] = [];
  const daemonDown: number[] = [];
  const batchAdd: number[] = [];
  const batchDel: number[] = [];
  const rounds = n >= 50_000 ? Math.min(ROUNDS, 2) : ROUNDS;
  const failures: string[] = [];
  for (let round = 0; round < rounds; round++) {
    await withNamespace(async (ns) => {
      ns.machine(false);
      // Peer, in the same namespace: ip -batch (process start included, as for the daemon's run).
      const lines = Array.from({ length: n }, (_, i) => `route add ${destination(i)} dev tun0 proto ${TAG}`);
      ns.ip('link', 'set', 'tun0', 'up');
      batchAdd.push(ns.batch(lines));
      batchDel.push(ns.batch(lines.map((l) => l.replace('route add', 'route del'))));
      ns.ip('link', 'set', 'tun0', 'down');
      // tunroute: started while the tunnel is down; timed from `ip link set up` to "installed".
      const d = new Daemon(ns, n);
      await d.state('waiting');
      const t0 = performance.now();
      ns.ip('link', 'set', 'tun0', 'up');
      const t1 = await d.state('installed', t0);
      daemonUp.push(t1 - t0);
      const count = ns.routeCount();
      if (count !== n) failures.push(`round ${round}: ${count} of ${n} routes installed`);
      const { ms, code } = await d.stop();
      daemonDown.push(ms);
      const left = ns.routeCount(TAG, 'all');
      if (code !== 0 || left !== 0) failures.push(`round ${round}: SIGTERM exit ${code}, ${left} routes left`);
    });
  }
  const loop = await loopPerRoute();
  const loopAdd = loop.add * n;
  const loopDel = loop.del * n;
  const loopNote = loop.n < n ? ` (${loop.n} run, ×${n / loop.n})` : '';
  const up = median(daemonUp);
  const down = median(daemonDown);
  row({ group: `install ${n}`, figure: 'tunroute run: tun up → all installed', value: up, unit: 'ms', samples: daemonUp, peer: 'ip -batch add', peerValue: median(batchAdd), ratio: up / median(batchAdd), target: n >= 50_000 ? 'no failure' : n >= 10_000 ? '≤ 1.5× ip -batch' : undefined, met: n >= 50_000 ? failures.length === 0 : n >= 10_000 ? up / median(batchAdd) <= 1.5 : undefined });
  // The issue states the loop goal for 10,000 and 50,000 routes; at 1,000 the row is informational.
  const loopTarget = n >= 10_000 ? '≥ 100× faster' : undefined;
  row({ group: `install ${n}`, figure: 'vs ip route add loop', value: up, unit: 'ms', samples: daemonUp, peer: `ip route add loop${loopNote}`, peerValue: loopAdd, ratio: loopAdd / up, target: loopTarget, met: loopTarget ? loopAdd / up >= 100 : undefined });
  row({ group: `remove ${n}`, figure: 'SIGTERM → all gone, exit 0', value: down, unit: 'ms', samples: daemonDown, peer: 'ip -batch del', peerValue: median(batchDel), ratio: down / median(batchDel), target: n >= 50_000 ? 'no failure' : n >= 10_000 ? '≤ 1.5× ip -batch' : undefined, met: n >= 50_000 ? failures.length === 0 : n >= 10_000 ? down / median(batchDel) <= 1.5 : undefined });
  row({ group: `remove ${n}`, figure: 'vs ip route del loop', value: down, unit: 'ms', samples: daemonDown, peer: `ip route del loop${loopNote}`, peerValue: loopDel, ratio: loopDel / down, target: loopTarget, met: loopTarget ? loopDel / down >= 100 : undefined });
  for (const f of failures) process.stderr.write(`  FAILURE install/remove ${n}: ${f}\n`);
  if (failures.length) rows[rows.length - 1]!.met = false;
}

async function benchReconcile(n: number): Promise<void> {
  await withNamespace(async (ns) => {
    ns.machine(true);
    const r = inner(ns, 'reconcile', ['--routes', String(n), '--count', String(QUICK ? 3 : 9)]);
    const rec = r.reconcile as number[];
    const snap = r.snapshot as number[];
    row({ group: `reconcile ${n}`, figure: 'one full engine run (nothing to change)', value: median(rec), unit: 'ms', samples: rec, peer: 'its snapshot', peerValue: median(snap), ratio: median(rec) / median(snap), target: n >= 10_000 ? '≤ 2× snapshot' : undefined, met: n >= 10_000 ? median(rec) / median(snap) <= 2 : undefined });
  });
}

async function benchRepair(n: number): Promise<void> {
  const count = QUICK ? 5 : 100;
  const daemon = await withNamespace(async (ns) => {
    ns.machine(true);
    const d = new Daemon(ns, n);
    await d.state('installed');
    const r = inner(ns, 'repair', ['--routes', String(n), '--count', String(count)]);
    await d.stop();
    return r.latency as number[];
  });
  const floor = await withNamespace(async (ns) => {
    ns.machine(true);
    ns.batch(Array.from({ length: n }, (_, i) => `route add ${destination(i)} dev tun0 proto ${TAG}`));
    const readder = spawn('ip', ['netns', 'exec', ns.name, process.execPath, SELF, '--inner', 'readder'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => readder.stdout.once('data', () => resolve()));
    const r = inner(ns, 'repair', ['--routes', String(n), '--count', String(count)]);
    readder.kill('SIGTERM');
    return r.latency as number[];
  });
  const p50 = percentile(daemon, 50);
  const p99 = percentile(daemon, 99);
  row({ group: `repair ${n}`, figure: 'p50 delete → replacement seen', value: p50, unit: 'ms', samples: daemon, peer: 'minimal re-adder', peerValue: percentile(floor, 50), ratio: p50 / percentile(floor, 50), target: '< 1 ms', met: p50 < 1 });
  row({ group: `repair ${n}`, figure: 'p99 delete → replacement seen', value: p99, unit: 'ms', samples: [], peer: 'minimal re-adder', peerValue: percentile(floor, 99), ratio: p99 / percentile(floor, 99), target: '< 5 ms', met: p99 < 5 });
}

async function benchStormAndFootprint(): Promise<void> {
  await withNamespace(async (ns) => {
    ns.machine(true);
    const n = QUICK ? 100 : 1000;
    const d = new Daemon(ns, n);
    await d.state('installed');
    const idle = await idleFootprint(d, n);
    await benchStorm(ns, d, n, idle.rssMb);
    const { code } = await d.stop();
    if (code !== 0) throw new Error(`storm daemon exited ${code}`);
  });
}

async function idleFootprint(d: Daemon, n: number): Promise<{ rssMb: number }> {
  await sleep(QUICK ? 200 : 2000);
  const idle0 = usage(d.pid);
  await sleep(QUICK ? 500 : 5000);
  const idle1 = usage(d.pid);
  row({ group: 'footprint', figure: `idle RSS (${n} routes)`, value: idle1.rssMb, unit: 'MB', samples: [], target: '< 50 MB', met: idle1.rssMb < 50 });
  row({ group: 'footprint', figure: `idle CPU over ${QUICK ? 0.5 : 5} s`, value: idle1.cpuMs - idle0.cpuMs, unit: 'ms', samples: [], target: '0 (no polling)', met: idle1.cpuMs - idle0.cpuMs === 0 });
  return idle1;
}

/** The rate the storm generator is paced at: a quarter above the goal, so the goal is passed with room. */
const STORM_RATE = 125_000;

/**
 * The foreign storm (scripts/route-storm.ts: adds and deletes on veth1, many requests per
 * sendto, paced at STORM_RATE). Each round runs it three times over the same daemon:
 * 1. the daemon alone with the storm: does it keep up (no overflow, under a core, settled
 *    soon after), its CPU per event, its routes sampled during the storm;
 * 2. `ip monitor route > /dev/null` alone with the same storm (the peer) while the daemon
 *    is stopped (SIGSTOP), so the two never compete for a core; the daemon's queue
 *    overflows meanwhile and it is continued when the storm ends: the settling after a
 *    full queue and an overflow;
 * 3. the daemon stopped for 300 ms in the middle of the storm (its queue overflows) and
 *    continued while the storm goes on: it must catch up and settle after the end.
 * CPU is read from /proc/PID/task/TID/schedstat (nanoseconds, every thread), not the
 * 10 ms ticks of /proc/PID/stat. RSS by halves of the first round's first storm.
 */
async function benchStorm(ns: Namespace, d: Daemon, n: number, idleRssMb: number): Promise<void> {
  const events = QUICK ? 20_000 : 1_000_000;
  const rounds: StormRound[] = [];
  for (let round = 0; round < ROUNDS; round++) rounds.push(await stormRound(ns, d, events));
  const all = (key: Exclude<keyof StormRound, 'samples' | 'midSamples'>): number[] => rounds.map((r) => r[key]);
  const med = (key: Exclude<keyof StormRound, 'samples' | 'midSamples'>): { value: number; samples: number[] } => ({ value: median(all(key)), samples: all(key) });
  const sum = (key: Exclude<keyof StormRound, 'samples' | 'midSamples'>): number => all(key).reduce((a, b) => a + b, 0);
  const offered = med('offered');
  const core = med('core');
  const perEvent = med('cpuPerEvent');
  const peer = med('monPerEvent');
  const overflows = sum('overflows');
  const settled = med('settled');
  const settledAfterStop = med('settledAfterStop');
  const settledAfterMid = med('settledAfterMid');
  const forced = (key: 'stopOverflows' | 'midOverflows'): string => all(key).join(', ');
  const everyForced = (key: 'stopOverflows' | 'midOverflows'): boolean => all(key).every((o) => o > 0);
  // Own routes: counted during the storms and after each of the three.
  const counts = rounds.flatMap((r) => [...r.samples, ...r.midSamples, r.intactAfter, r.intactAfterStop, r.intactAfterMid]);
  const intact = Math.min(...counts);
  const first = rounds[0] as StormRound;
  // The generator sets the rate: below 100,000/s the goal is not tested, so not met.
  row({ group: 'storm', figure: `events/s offered (${events} events a storm, generator paced at ${STORM_RATE}/s)`, ...offered, unit: 'ev/s', target: '≥ 100,000/s', met: offered.value >= 100_000 });
  row({ group: 'storm', figure: 'generator CPU, share of a core', ...med('generatorCore'), unit: 'core' });
  row({ group: 'storm', figure: `daemon alone with the storm: receive-queue overflows (all rounds)`, value: overflows, unit: '', samples: all('overflows'), target: '0: kept up', met: overflows === 0 });
  row({ group: 'storm', figure: 'daemon CPU during the storm, share of a core', ...core, unit: 'core', target: '< 1 core', met: core.value < 1 });
  row({ group: 'storm', figure: 'daemon CPU per event (storm and settling)', ...perEvent, unit: 'µs', peer: 'ip monitor route', peerValue: peer.value, ratio: perEvent.value / peer.value, target: '≤ 2× ip monitor', met: perEvent.value / peer.value <= 2 });
  row({ group: 'storm', figure: 'daemon reconciles during the storm (all rounds)', value: sum('reconciles'), unit: '', samples: all('reconciles') });
  row({ group: 'storm', figure: 'settled after the storm ended (CPU still)', ...settled, unit: 'ms', target: '≤ 100 ms', met: settled.value <= 100 });
  row({ group: 'storm', figure: `stopped through a whole storm (overflows: ${forced('stopOverflows')}), continued at its end: settled`, ...settledAfterStop, unit: 'ms', target: '≤ 100 ms after an overflow', met: settledAfterStop.value <= 100 && everyForced('stopOverflows') });
  row({ group: 'storm', figure: `stopped 300 ms mid-storm (overflows: ${forced('midOverflows')}), caught up: settled after the end`, ...settledAfterMid, unit: 'ms', target: '≤ 100 ms after an overflow', met: settledAfterMid.value <= 100 && everyForced('midOverflows') });
  row({ group: 'storm', figure: `own routes, fewest in ${counts.length} counts during the storms and after each`, value: intact, unit: 'routes', samples: [], target: `${n}`, met: intact === n });
  row({ group: 'footprint', figure: `RSS growth over the first ${events / 2} foreign events (heap warm-up)`, value: first.rssHalf - idleRssMb, unit: 'MB', samples: [] });
  row({ group: 'footprint', figure: `RSS growth over the next ${events / 2} foreign events`, value: first.rssEnd - first.rssHalf, unit: 'MB', samples: [], target: 'noise (< 2 MB)', met: first.rssEnd - first.rssHalf < 2 });
}

interface StormRound {
  offered: number;
  generatorCore: number;
  overflows: number;
  reconciles: number;
  core: number;
  cpuPerEvent: number;
  monPerEvent: number;
  settled: number;
  settledAfterStop: number;
  stopOverflows: number;
  settledAfterMid: number;
  midOverflows: number;
  samples: number[];
  midSamples: number[];
  intactAfter: number;
  intactAfterStop: number;
  intactAfterMid: number;
  rssHalf: number;
  rssEnd: number;
}

async function stormRound(ns: Namespace, d: Daemon, events: number): Promise<StormRound> {
  const before = await d.counters();

  // 1. The daemon with the storm.
  const storm = new Storm(ns, events, STORM_RATE);
  await storm.phase('start');
  const d0 = cpuMs(d.pid);
  const sampling = sampleOwnRoutes(ns, storm);
  await storm.phase('half');
  const rssHalf = usage(d.pid).rssMb;
  const done = await storm.done;
  const dDone = cpuMs(d.pid);
  const settled = await settle(d.pid, done.at);
  const d1 = cpuMs(d.pid);
  const samples = await sampling;
  const rssEnd = usage(d.pid).rssMb;
  const after = await d.counters();
  const intactAfter = ns.routeCount();

  // 2. The peer with the same storm, the daemon stopped (its queue overflows) until the storm ends.
  const monitor = spawn('ip', ['-n', ns.name, 'monitor', 'route'], { stdio: ['ignore', 'ignore', 'ignore'] });
  let m0 = 0;
  let m1 = 0;
  let peerDone: StormResult;
  let settledAfterStop: number;
  try {
    await sleep(300);
    const peerStorm = new Storm(ns, events, STORM_RATE);
    await peerStorm.phase('start');
    m0 = cpuMs(monitor.pid as number);
    peerDone = await d.paused(() => peerStorm.done);
    [, settledAfterStop] = await Promise.all([settle(monitor.pid as number, peerDone.at), settle(d.pid, peerDone.at)]);
    m1 = cpuMs(monitor.pid as number);
  } finally {
    monitor.kill('SIGKILL');
  }
  const afterStop = await d.counters();
  const intactAfterStop = ns.routeCount();

  // 3. An overflow in the middle of the storm: stopped for 300 ms, then it must catch up.
  const midStorm = new Storm(ns, events, STORM_RATE);
  await midStorm.phase('half');
  await d.paused(() => sleep(300));
  const midSampling = sampleOwnRoutes(ns, midStorm);
  const midDone = await midStorm.done;
  const settledAfterMid = await settle(d.pid, midDone.at);
  const midSamples = await midSampling;
  const afterMid = await d.counters();

  return {
    offered: done.events / (done.ms / 1000),
    generatorCore: done.cpuMs / done.ms,
    overflows: after.overflows - before.overflows,
    reconciles: after.reconciles - before.reconciles,
    core: (dDone - d0) / done.ms,
    cpuPerEvent: ((d1 - d0) * 1000) / done.events,
    monPerEvent: ((m1 - m0) * 1000) / peerDone.events,
    settled,
    settledAfterStop,
    stopOverflows: afterStop.overflows - after.overflows,
    settledAfterMid,
    midOverflows: afterMid.overflows - afterStop.overflows,
    samples,
    midSamples,
    intactAfter,
    intactAfterStop,
    intactAfterMid: ns.routeCount(),
    rssHalf,
    rssEnd,
  };
}

/** CPU time of a process, every thread, in ms at nanosecond resolution (schedstat's first field). */
function cpuMs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1e6;
}

/**
 * Milliseconds from `since` until the process's CPU time last moved: sampled every 2 ms
 * until it has been still for 300 ms. A move of less than 0.05 ms between samples (a
 * stray timer) does not count as work.
 */
async function settle(pid: number, since: number): Promise<number> {
  let last = cpuMs(pid);
  let lastChange = since;
  while (performance.now() - lastChange < 300) {
    await sleep(2);
    const now = cpuMs(pid);
    if (now - last > 0.05) lastChange = performance.now();
    last = now;
  }
  return Math.max(0, lastChange - since);
}

/** The daemon's own routes, counted by a dump every 200 ms (and at least once) while `storm` runs. */
async function sampleOwnRoutes(ns: Namespace, storm: Storm): Promise<number[]> {
  const counts: number[] = [];
  let running = true;
  const stop = (): void => void (running = false);
  storm.done.then(stop, stop);
  do {
    const out = await new Promise<string>((resolve, reject) => execFile('ip', ['-n', ns.name, '-4', 'route', 'show', 'table', 'main', 'proto', TAG], (e, stdout) => (e ? reject(e) : resolve(stdout))));
    counts.push(out.split('\n').filter(Boolean).length);
    if (running) await sleep(200);
  } while (running);
  return counts;
}

/** What the generator reports at the end, and when that line arrived (performance.now()). */
interface StormResult {
  events: number;
  refused: number;
  ms: number;
  cpuMs: number;
  at: number;
}

/** scripts/route-storm.ts in a namespace: its phases as they are reported, and its result. */
class Storm {
  private readonly child;
  private readonly seen = new Map<string, number>();
  private waiters: Array<() => void> = [];
  readonly done: Promise<StormResult>;

  constructor(ns: Namespace, events: number, rate: number) {
    this.child = spawn('ip', ['netns', 'exec', ns.name, process.execPath, STORM, '--events', String(events), '--rate', String(rate), '--dev', 'veth1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffer = '';
    this.done = new Promise((resolve, reject) => {
      this.child.stdout.on('data', (chunk: Buffer) => {
        const at = performance.now();
        buffer += chunk.toString();
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const message = JSON.parse(buffer.slice(0, nl)) as { phase: string; events: number; refused: number; ms: number; cpuMs: number };
          buffer = buffer.slice(nl + 1);
          this.seen.set(message.phase, at);
          if (message.phase === 'done') resolve({ ...message, at });
        }
        for (const w of this.waiters.splice(0)) w();
      });
      this.child.once('exit', (code) => {
        if (code !== 0) reject(new Error(`the storm generator exited ${code}`));
        for (const w of this.waiters.splice(0)) w();
      });
    });
  }

  /** When the generator reported `phase` (start, half, done). */
  async phase(name: string): Promise<number> {
    for (;;) {
      const at = this.seen.get(name);
      if (at !== undefined) return at;
      if (this.child.exitCode !== null) throw new Error(`the storm generator exited ${this.child.exitCode} before ${name}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

async function benchCodecs(): Promise<void> {
  const r = JSON.parse(sh(process.execPath, [SELF, '--inner', 'codecs', '--count', String(QUICK ? 20_000 : 500_000)])) as Record<string, number>;
  row({ group: 'codecs', figure: 'Linux route notifications to kernel events (per CPU-second)', value: r.linux! / 1e6, unit: 'M msg/s', samples: [], peer: 'minimal JS decoder', peerValue: r.linuxMinimal! / 1e6, ratio: r.linux! / r.linuxMinimal!, target: '≥ 3 M/s', met: r.linux! >= 3e6 });
  row({ group: 'codecs', figure: 'macOS route messages to kernel events (per CPU-second)', value: r.darwin! / 1e6, unit: 'M msg/s', samples: [], target: '≥ 2 M/s', met: r.darwin! >= 2e6 });
  row({ group: 'codecs', figure: 'Linux route messages decoded in full, for the printers (per CPU-second)', value: r.linuxFull! / 1e6, unit: 'M msg/s', samples: [] });
  row({ group: 'codecs', figure: 'macOS route messages decoded in full, for the printers (per CPU-second)', value: r.darwinFull! / 1e6, unit: 'M msg/s', samples: [] });
}

async function benchCheck(): Promise<void> {
  const n = QUICK ? 2000 : 50_000;
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-bench-check-'));
  const path = join(dir, 'big.yaml');
  writeFileSync(path, `interface:\n  name: tun0\nmode: split\nroutes:\n${Array.from({ length: n }, (_, i) => `  - ${destination(i)}`).join('\n')}\nexclude:\n  - 10.99.0.0/16\n`);
  const check: number[] = [];
  const parse: number[] = [];
  for (let round = 0; round < Math.max(ROUNDS, QUICK ? 1 : 3); round++) {
    let t = performance.now();
    sh(process.execPath, [CLI, 'check', '--os', 'linux', path]);
    check.push(performance.now() - t);
    t = performance.now();
    sh(process.execPath, ['--input-type=module', '-e', `import { readFileSync } from 'node:fs'; import { parseDocument } from 'yaml'; parseDocument(readFileSync(${JSON.stringify(path)}, 'utf8')).toJS();`], undefined);
    parse.push(performance.now() - t);
  }
  rmSync(dir, { recursive: true, force: true });
  row({ group: 'check', figure: `tunroute check, ${n} routes`, value: median(check), unit: 'ms', samples: check, peer: 'node + parse the YAML alone', peerValue: median(parse), ratio: median(check) / median(parse), target: '≤ 2×', met: median(check) / median(parse) <= 2 });
}

// ---- inner modes (run inside a namespace) -------------------------------------------

async function innerReconcile(n: number, count: number): Promise<void> {
  const { loadNative } = await import('../native/index.js');
  const { LinuxBackend } = await import('../daemon/backends/linux.js');
  const { Engine } = await import('../daemon/engine/engine.js');
  const { Journal } = await import('../daemon/engine/journal.js');
  const { createPolicy } = await import('../daemon/policy.js');
  const { createLogger } = await import('../daemon/logger.js');
  const { validateProfileText } = await import('../daemon/profile/validate.js');
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-bench-rec-'));
  const text = `interface:\n  name: tun0\naddress: 10.10.10.2\nmode: split\nroutes:\n${Array.from({ length: n }, (_, i) => `  - ${destination(i)}`).join('\n')}\ndaemon:\n  journal: ${join(dir, 'j.json')}\n`;
  const result = validateProfileText(text, join(dir, 'bench.yaml'), { platform: 'linux' });
  if (!result.profile) throw new Error('bench profile invalid');
  const log = createLogger({ level: 'warn', format: 'json', write: () => {} });
  const backend = new LinuxBackend({ native: loadNative() });
  const engine = new Engine({ backend, journal: new Journal(result.profile.daemon.journal, result.profile.name), logger: log, policy: createPolicy(result.profile, 'linux', log) });
  await engine.start();
  const reconcile: number[] = [];
  const snapshot: number[] = [];
  for (let i = 0; i < count; i++) {
    let t = performance.now();
    await backend.snapshot();
    snapshot.push(performance.now() - t);
    t = performance.now();
    await engine.trigger('periodic');
    reconcile.push(performance.now() - t);
  }
  await engine.stop(60_000);
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ reconcile, snapshot }));
}

/** Deletes managed routes one at a time; the latency is from the listener seeing the delete to seeing the replacement. */
async function innerRepair(n: number, count: number): Promise<void> {
  const { loadNative } = await import('../native/index.js');
  const { linuxCodec, encodeDelRoute, REQUEST_FLAGS } = await import('../daemon/codec/linux/index.js');
  const { LISTEN_GROUPS } = await import('../daemon/backends/linux.js');
  const native = loadNative();
  const deletedAt = new Map<string, number>();
  const latency: number[] = [];
  let waiting: ((dest: string) => void) | null = null;
  const listener = new native.RouteSocket(
    (bytes) => {
      const at = performance.now();
      for (const { message } of linuxCodec.walk(bytes).messages) {
        if (message.kind !== 'route' || message.destination === null) continue;
        if (message.header.type === 25 /* RTM_DELROUTE */) deletedAt.set(message.destination, at);
        else if (deletedAt.has(message.destination)) {
          latency.push(at - (deletedAt.get(message.destination) as number));
          deletedAt.delete(message.destination);
          waiting?.(message.destination);
        }
      }
    },
    () => process.stderr.write('repair listener overflowed\n'),
    () => {},
    { groups: LISTEN_GROUPS, receiveBufferSize: 8 << 20 },
  );
  const requests = new native.RouteSocket(() => {}, () => {}, () => {}, {});
  const oif = Number(readFileSync('/sys/class/net/tun0/ifindex', 'utf8'));
  let missed = 0;
  // The first deletions warm up both sides (JIT, caches) and are not counted.
  const warmup = Math.min(5, count);
  for (let k = 0; k < count + warmup; k++) {
    if (k === warmup) latency.length = 0;
    const dest = destination(Math.floor((k * 7919) % n));
    const replaced = new Promise<boolean>((resolve) => {
      waiting = (d) => d === dest && resolve(true);
      setTimeout(() => resolve(false), 2000).unref();
    });
    requests.send(encodeDelRoute({ family: 'inet', destination: dest, gateway: null, oif, table: 254, priority: null }, k + 1, REQUEST_FLAGS.delete));
    if (!(await replaced)) {
      process.stderr.write(`repair: ${dest} was not replaced within 2 s\n`);
      if (++missed >= 3) throw new Error('repair: three routes were not replaced; giving up');
    }
    // Leave room between deletions: each is one repair, not a flap (and the confirm run may go).
    await sleep(30);
  }
  listener.close();
  requests.close();
  process.stdout.write(JSON.stringify({ latency }));
}

/** The repair floor: listens, and re-adds any deleted proto-232 route at once. */
async function innerReadder(): Promise<void> {
  const { loadNative } = await import('../native/index.js');
  const { linuxCodec, encodeNewRoute, REQUEST_FLAGS } = await import('../daemon/codec/linux/index.js');
  const native = loadNative();
  const requests = new native.RouteSocket(() => {}, () => {}, () => {}, {});
  let seq = 1;
  // Kept referenced: an unreferenced socket object may be collected, and closed with it.
  const listener = new native.RouteSocket(
    (bytes) => {
      for (const { message } of linuxCodec.walk(bytes).messages) {
        if (message.kind !== 'route' || message.header.type !== 25 || message.protocol !== 232 || message.destination === null) continue;
        requests.send(encodeNewRoute({ family: 'inet', destination: message.destination, gateway: null, oif: message.oif, table: 254, priority: null, protocol: 232 }, seq++, REQUEST_FLAGS.create));
      }
    },
    () => {},
    () => {},
    { groups: [7 /* RTNLGRP_IPV4_ROUTE */], receiveBufferSize: 8 << 20 },
  );
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
  listener.close();
  requests.close();
}

async function innerCodecs(count: number): Promise<void> {
  const { linuxCodec, encodeNewRoute, REQUEST_FLAGS } = await import('../daemon/codec/linux/index.js');
  const { darwinCodec } = await import('../daemon/codec/darwin/index.js');
  const { encodeRequest } = await import('../daemon/codec/darwin/encode.js');
  const linuxBackend = await import('../daemon/backends/linux.js');
  const darwinBackend = await import('../daemon/backends/darwin.js');
  // One buffer of 100 route messages, as a notification read from the socket would be.
  const linuxMessages = Array.from({ length: 100 }, (_, i) => encodeNewRoute({ family: 'inet', destination: destination(i), gateway: '192.168.50.1', oif: 3, table: 254, priority: 100, protocol: 232 }, i, REQUEST_FLAGS.create));
  const linuxBuf = Buffer.concat(linuxMessages);
  // macOS: RTM_ADD messages as route(8) writes them (what the kernel echoes to every listener).
  const darwinBuf = Buffer.concat(Array.from({ length: 100 }, (_, i) => encodeRequest({ type: 'add', destination: `10.${i}.0.0/16`, gateway: { address: '192.168.1.1' }, seq: i, pid: 100 })));
  // Messages per CPU-second of this (single-threaded) process: on a shared machine, time
  // spent waiting for a core is not decoding time. The best of five rounds.
  const time = (fn: () => void): number => {
    for (let i = 0; i < 50; i++) fn();
    const loops = Math.max(1, Math.floor(count / 500));
    let best = 0;
    for (let round = 0; round < 5; round++) {
      const cpu = process.cpuUsage();
      for (let i = 0; i < loops; i++) fn();
      const used = process.cpuUsage(cpu);
      best = Math.max(best, (loops * 100) / ((used.user + used.system) / 1e6));
    }
    return best;
  };
  let sink = 0;
  // The daemon's hot path: what each backend's listener does with a datagram, from bytes to
  // the KernelEvents the engine gets (every route a KernelRoute, gateway and record included).
  // Another process's messages (not our port or pid), so none is dropped unread; every one
  // must come out as a route event, or the figure would measure a shortcut.
  const events = (read: (onEvent: (event: { kind: string }) => void) => number, what: string) => () => {
    let routes = 0;
    read((event) => {
      if (event.kind === 'route') routes++;
    });
    if (routes !== 100) throw new Error(`${what}: ${routes} route events from 100 messages`);
    sink += routes;
  };
  const linux = time(events((onEvent) => linuxBackend.notificationEvents(linuxBuf, 4242, onEvent), 'linux'));
  const linuxMinimal = time(() => {
    sink += minimalLinuxDecode(linuxBuf);
  });
  const darwin = time(events((onEvent) => darwinBackend.notificationEvents(darwinBuf, 4242, onEvent), 'darwin'));
  // The full decode of every field (`tunroute decode`/`monitor`, dumps on Linux, the tests).
  const linuxFull = time(() => {
    sink += linuxCodec.walk(linuxBuf).messages.length;
  });
  const darwinFull = time(() => {
    sink += darwinCodec.walk(darwinBuf).messages.length;
  });
  process.stdout.write(JSON.stringify({ linux, linuxMinimal, darwin, linuxFull, darwinFull, sink }));
}

/** The peer: walks nlmsghdrs and rtattrs, keeps what the daemon uses (dst, gateway, oif, table, priority, protocol). */
function minimalLinuxDecode(buf: Buffer): number {
  let n = 0;
  let off = 0;
  while (off + 16 <= buf.length) {
    const len = buf.readUInt32LE(off);
    const type = buf.readUInt16LE(off + 4);
    if (len < 16 || off + len > buf.length) break;
    if (type === 24 || type === 25) {
      const family = buf[off + 16] as number;
      const dstLen = buf[off + 17] as number;
      let table = buf[off + 20] as number;
      const protocol = buf[off + 21] as number;
      let dst = '';
      let gw = '';
      let oif = 0;
      let prio = 0;
      let a = off + 28;
      while (a + 4 <= off + len) {
        const alen = buf.readUInt16LE(a);
        const atype = buf.readUInt16LE(a + 2);
        if (alen < 4) break;
        if (atype === 1 && family === 2) dst = `${buf[a + 4]}.${buf[a + 5]}.${buf[a + 6]}.${buf[a + 7]}/${dstLen}`;
        else if (atype === 5 && family === 2) gw = `${buf[a + 4]}.${buf[a + 5]}.${buf[a + 6]}.${buf[a + 7]}`;
        else if (atype === 4) oif = buf.readUInt32LE(a + 4);
        else if (atype === 6) prio = buf.readUInt32LE(a + 4);
        else if (atype === 15) table = buf.readUInt32LE(a + 4);
        a += (alen + 3) & ~3;
      }
      if (dst && (gw || oif) && table + protocol + prio >= 0) n++;
    }
    off += (len + 3) & ~3;
  }
  return n;
}

/**
 * macOS figures, against the XNU model (test/xnu), not a Mac: the real engine, darwin
 * backend and codec talking PF_ROUTE bytes to the model kernel, in this process. The
 * model's table is a list (its lookups are O(table)), so sizes stay at 1,000 routes; the
 * point is that a regression in the darwin path shows up here.
 */
async function innerDarwinModel(n: number, count: number): Promise<void> {
  const xnu = await import('../test/xnu/index.js');
  const { DarwinBackend } = await import('../daemon/backends/darwin.js');
  const { Engine } = await import('../daemon/engine/engine.js');
  const { Journal } = await import('../daemon/engine/journal.js');
  const { createPolicy } = await import('../daemon/policy.js');
  const { createLogger } = await import('../daemon/logger.js');
  const { validateProfileText } = await import('../daemon/profile/validate.js');
  const { darwinCodec } = await import('../daemon/codec/darwin/index.js');
  const mac = xnu.createMacScenario();
  xnu.advanceIndexTo(mac.kernel, 36);
  mac.addTunnel({ name: 'utun7', address: '10.10.10.2', mtu: 1420 });
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-bench-mac-'));
  const net = (i: number): string => `10.${100 + (i >> 8)}.${i & 255}.0`;
  // tunroute's own route writes (the system strategy would hand the routes to configd).
  const text = `interface:\n  name: utun7\naddress: 10.10.10.2\nmode: split\nfullTunnel:\n  strategy: replace\nroutes:\n${Array.from({ length: n }, (_, i) => `  - ${net(i)}/24`).join('\n')}\ndaemon:\n  journal: ${join(dir, 'j.json')}\n`;
  const result = validateProfileText(text, join(dir, 'bench.yaml'), { platform: 'darwin' });
  if (!result.profile) throw new Error(`bench profile invalid: ${JSON.stringify(result.problems)}`);
  const log = createLogger({ level: 'warn', format: 'json', write: () => {} });
  const backend = new DarwinBackend({ native: xnu.createXnuBinding(mac.kernel, { pid: 4242 }), pid: 4242 });
  const engine = new Engine({ backend, journal: new Journal(result.profile.daemon.journal, result.profile.name), logger: log, policy: createPolicy(result.profile, 'darwin', log) });
  let t = performance.now();
  await engine.start();
  const install = performance.now() - t;

  const reconcile: number[] = [];
  const snapshot: number[] = [];
  for (let i = 0; i < count; i++) {
    t = performance.now();
    await backend.snapshot();
    snapshot.push(performance.now() - t);
    t = performance.now();
    await engine.trigger('periodic');
    reconcile.push(performance.now() - t);
  }

  // Repair: another process deletes a managed route; an independent socket times delete → re-add.
  const deletedAt = new Map<string, number>();
  const latency: number[] = [];
  let seen: ((destination: string) => void) | null = null;
  const listener = mac.kernel.openSocket({
    pid: 999,
    onMessage: (bytes) => {
      const at = performance.now();
      for (const { message } of darwinCodec.walk(bytes).messages) {
        if (message.kind !== 'route' || message.destination === null) continue;
        if (message.type === xnu.RTM.DELETE) deletedAt.set(message.destination, at);
        else if (message.type === xnu.RTM.ADD && deletedAt.has(message.destination)) {
          latency.push(at - (deletedAt.get(message.destination) as number));
          deletedAt.delete(message.destination);
          seen?.(message.destination);
        }
      }
    },
  });
  const other = mac.kernel.openSocket({ pid: xnu.CONFIGD_PID });
  const repairs = Math.min(count * 5, 50);
  for (let k = 0; k < repairs + 5; k++) {
    if (k === 5) latency.length = 0; // the first five warm up, uncounted
    const i = (k * 7919) % n;
    const replaced = new Promise<void>((resolve) => {
      seen = (d) => d === `${net(i)}/24` && resolve();
    });
    other.write(xnu.deleteRequest(net(i), { bits: 24, seq: k + 1 }));
    await replaced;
    await sleep(5);
  }

  // Storm: another process adds and deletes routes on en0; the engine's CPU per event is the
  // storm's CPU with the engine listening minus the same storm with it stopped.
  const storm = (events: number): number => {
    const cpu = process.cpuUsage();
    for (let k = 0; k < events / 2; k++) {
      const dst = `172.16.${(k >> 8) & 255}.${k & 255}`;
      other.write(xnu.addRequest(dst, '192.168.1.1', { bits: null, seq: k }));
      other.write(xnu.deleteRequest(dst, { bits: null, seq: k }));
    }
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / 1000;
  };
  const events = QUICK ? 2000 : 20_000;
  const drained = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 300));
  let cpu = process.cpuUsage();
  const withEngineWrite = storm(events);
  await drained();
  let used = process.cpuUsage(cpu);
  const withEngine = (used.user + used.system) / 1000;
  const intact = mac.kernel.netstat(2).filter((r) => r.netif === 'utun7').length;
  listener.close();
  await engine.stop(60_000);
  cpu = process.cpuUsage();
  storm(events);
  await drained();
  used = process.cpuUsage(cpu);
  const without = (used.user + used.system) / 1000;
  other.close();
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ install, reconcile, snapshot, latency, stormEngineUsPerEvent: ((withEngine - without) * 1000) / events, stormWriteMs: withEngineWrite, intact }));
}

async function benchDarwinModel(): Promise<void> {
  const n = QUICK ? 100 : 1000;
  // 30 runs, not 9: at 1,000 routes the first ~8 runs of a fresh process are JIT warm-up for
  // the run and its snapshot alike, and a median of 9 swung between 1.35x and 2.24x by run.
  const r = JSON.parse(sh(process.execPath, [SELF, '--inner', 'darwin-model', '--routes', String(n), '--count', String(QUICK ? 3 : 30)])) as Record<string, number & number[]>;
  const rec = r.reconcile as number[];
  const snap = r.snapshot as number[];
  const lat = r.latency as number[];
  row({ group: 'macOS model', figure: `install ${n} routes (engine start, XNU model)`, value: r.install as number, unit: 'ms', samples: [] });
  row({ group: 'macOS model', figure: `reconcile ${n} routes (XNU model)`, value: median(rec), unit: 'ms', samples: rec, peer: 'its snapshot', peerValue: median(snap), ratio: median(rec) / median(snap), target: '≤ 2× snapshot', met: median(rec) / median(snap) <= 2 });
  row({ group: 'macOS model', figure: 'repair p50 (XNU model)', value: percentile(lat, 50), unit: 'ms', samples: lat, target: '< 1 ms', met: percentile(lat, 50) < 1 });
  row({ group: 'macOS model', figure: 'repair p99 (XNU model)', value: percentile(lat, 99), unit: 'ms', samples: [], target: '< 5 ms', met: percentile(lat, 99) < 5 });
  row({ group: 'macOS model', figure: 'engine + model delivery CPU per foreign event (XNU model; the model\'s list table dominates)', value: r.stormEngineUsPerEvent as number, unit: 'µs', samples: [] });
  row({ group: 'macOS model', figure: 'own routes on utun7 after the storm (XNU model)', value: r.intact as number, unit: 'routes', samples: [] });
}

// ---- main ---------------------------------------------------------------------------

async function main(): Promise<void> {
  if (values.inner) {
    const n = Number(values.routes ?? 100);
    const count = Number(values.count ?? 10);
    if (values.inner === 'reconcile') return innerReconcile(n, count);
    if (values.inner === 'repair') return innerRepair(n, count);
    if (values.inner === 'readder') return innerReadder();
    if (values.inner === 'codecs') return innerCodecs(count);
    if (values.inner === 'darwin-model') return innerDarwinModel(n, count);
    throw new Error(`unknown inner mode ${values.inner}`);
  }
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root on Linux (it creates network namespaces)\n');
    process.exitCode = 2;
    return;
  }
  // An interrupted run still removes its namespaces (their processes die with them).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const ns of live) ns.destroy();
      process.exit(130);
    });
  }
  const started = performance.now();
  process.stderr.write(`tunroute benchmarks${QUICK ? ' (quick: smoke test, figures not judged)' : ''}, ${ROUNDS} round(s)\n`);
  if (wants('codecs')) await benchCodecs();
  if (wants('check')) await benchCheck();
  if (wants('repair')) for (const n of QUICK ? [200] : [100, 10_000]) await benchRepair(n);
  if (wants('reconcile')) for (const n of QUICK ? [200] : [1_000, 10_000]) await benchReconcile(n);
  if (wants('install')) for (const n of SIZES) await benchInstallRemove(n);
  if (wants('storm')) await benchStormAndFootprint();
  if (wants('darwin')) await benchDarwinModel();

  const machine = `${sh('uname', ['-sr']).trim()}, node ${process.version}, ${sh('nproc', []).trim()} cores, ${new Date().toISOString().slice(0, 16)}Z`;
  const table = [
    `| measure | tunroute | peer | ratio | target | met |`,
    `| --- | ---: | --- | ---: | --- | --- |`,
    ...rows.map((r) => `| ${r.group}: ${r.figure} | ${fmt(r.value)} ${r.unit}${r.samples.length > 1 ? ` (${fmt(Math.min(...r.samples))}–${fmt(Math.max(...r.samples))})` : ''} | ${r.peer ? `${r.peer}: ${fmt(r.peerValue)} ${r.unit}` : ''} | ${r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : ''} | ${r.target ?? ''} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'} |`),
  ].join('\n');
  process.stdout.write(`\n${machine}, ${QUICK ? 'quick' : `${ROUNDS} rounds`}, ${((performance.now() - started) / 1000).toFixed(0)} s\n\n${table}\n`);
  if (values.json) writeFileSync(values.json, JSON.stringify({ machine, quick: QUICK, rounds: ROUNDS, rows }, null, 2));
}

await main();
