/**
 * Benchmark: installing and removing N routes through tunroute's rtnetlink backend,
 * compared in the same run with `ip -batch` (one process, one netlink socket) and with a
 * loop of `ip route add` (a process per route, what shell-script VPN helpers do).
 * Also times one full reconcile snapshot of a table holding those routes.
 *
 * Linux, root. Everything happens in a network namespace made (and removed) here.
 *   node dist/scripts/bench-linux-routes.js [--routes 1000] [--rounds 7] [--loop-routes 200]
 *
 * Prints medians and ratios: the machines are noisy, single timings mean little.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

const { values } = parseArgs({
  options: {
    routes: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '7' },
    'loop-routes': { type: 'string', default: '200' },
    inner: { type: 'string' },
  },
});
const N = Number(values.routes);
const ROUNDS = Number(values.rounds);
const LOOP_N = Number(values['loop-routes']);

function sh(cmd: string, args: string[], input?: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

const destination = (i: number): string => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;

/** Runs inside the namespace: the tunroute backend's side of the benchmark, printed as JSON. */
async function inner(): Promise<void> {
  const { loadNative } = await import('../native/index.js');
  const { LinuxBackend } = await import('../daemon/backends/linux.js');
  const backend = new LinuxBackend({ native: loadNative() });
  await backend.open(() => {});
  const snap = await backend.snapshot();
  const tun = snap.interfaces.find((i) => i.name === 'bench0');
  if (!tun) throw new Error('bench0 missing');
  const routes = Array.from({ length: N }, (_, i) => ({
    family: 'inet' as const, destination: destination(i), gateway: { link: tun.index }, interface: 'bench0', index: tun.index,
    scope: null, table: 254, metric: null, flags: [], mtu: null, origin: 'tunnel' as const,
  }));
  const result: Record<string, number[]> = { sequentialAdd: [], pipelinedAdd: [], pipelinedDelete: [], snapshot: [] };
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    for (const r of routes) await backend.addRoute(r);
    result.sequentialAdd!.push(performance.now() - t);
    await Promise.all(routes.map((r) => backend.deleteRoute(r)));
    t = performance.now();
    await Promise.all(routes.map((r) => backend.addRoute(r)));
    result.pipelinedAdd!.push(performance.now() - t);
    t = performance.now();
    await backend.snapshot();
    result.snapshot!.push(performance.now() - t);
    t = performance.now();
    await Promise.all(routes.map((r) => backend.deleteRoute(r)));
    result.pipelinedDelete!.push(performance.now() - t);
  }
  backend.close();
  process.stdout.write(JSON.stringify(result) + '\n');
}

function outer(): void {
  if (process.getuid?.() !== 0) {
    console.error('bench-linux-routes: needs root (creates a network namespace)');
    process.exit(1);
  }
  const ns = `trbench-${process.pid}`;
  sh('ip', ['netns', 'add', ns]);
  try {
    sh('ip', ['-n', ns, 'link', 'add', 'bench0', 'type', 'veth', 'peer', 'name', 'bench1']);
    sh('ip', ['-n', ns, 'link', 'set', 'bench0', 'up']);
    sh('ip', ['-n', ns, 'link', 'set', 'bench1', 'up']);
    const batchAdd = Array.from({ length: N }, (_, i) => `route add ${destination(i)} dev bench0`).join('\n') + '\n';
    const batchDel = batchAdd.replace(/route add/g, 'route del');
    const ipBatch: number[] = [];
    const ipLoop: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let t = performance.now();
      sh('ip', ['-n', ns, '-batch', '-'], batchAdd);
      ipBatch.push(performance.now() - t);
      sh('ip', ['-n', ns, '-batch', '-'], batchDel);
      t = performance.now();
      for (let i = 0; i < LOOP_N; i++) sh('ip', ['-n', ns, 'route', 'add', destination(i), 'dev', 'bench0']);
      ipLoop.push(((performance.now() - t) / LOOP_N) * N);
      sh('ip', ['-n', ns, '-batch', '-'], batchDel.split('\n').slice(0, LOOP_N).join('\n') + '\n');
    }
    const script = new URL(import.meta.url).pathname;
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, script, '--inner', '1', '--routes', String(N), '--rounds', String(ROUNDS)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const ours = JSON.parse(r.stdout) as Record<string, number[]>;
    const batch = median(ipBatch);
    const row = (name: string, ms: number, note = ''): string =>
      `${name.padEnd(44)} ${ms.toFixed(1).padStart(9)} ms  ${((ms * 1000) / N).toFixed(1).padStart(7)} µs/route  ${(ms / batch).toFixed(2).padStart(6)}× ip -batch ${note}`;
    console.log(`${N} routes, median of ${ROUNDS} rounds (kernel ${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()}, node ${process.version})`);
    console.log(row('ip -batch (peer: one process, one socket)', batch));
    console.log(row(`ip route add loop (peer; ${LOOP_N} timed, scaled)`, median(ipLoop)));
    console.log(row('tunroute backend, add one at a time', median(ours.sequentialAdd ?? [])));
    console.log(row('tunroute backend, add pipelined', median(ours.pipelinedAdd ?? [])));
    console.log(row('tunroute backend, delete pipelined', median(ours.pipelinedDelete ?? [])));
    console.log(row('tunroute snapshot of the full table', median(ours.snapshot ?? []), '(one reconcile read)'));
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

if (values.inner) await inner();
else outer();
