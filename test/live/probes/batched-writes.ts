/**
 * Runs inside a test namespace: the Linux backend's pipelined route writes against the real
 * kernel. The native binding is the real one, wrapped only to record what each send()
 * carried, so the test can see that writes of one turn went out as one datagram.
 * Prints JSON lines.
 *
 *   node batched-writes.js outcomes DEV     adds 10.60.0.1–8/32 in one turn (10.60.0.5 is
 *                                           there already), then deletes 10.60.0.1–8 and .9
 *   node batched-writes.js prepared DEV     the adds of `outcomes`, encoded ahead (prepare)
 *   node batched-writes.js echo DEV         adds 20 routes of ours and one with `ip`: what
 *                                           reaches the listening socket
 *   node batched-writes.js overflow DEV N   adds N routes in one turn through a request
 *                                           socket too small for the answers (every other
 *                                           route is there already: N/2 EEXIST errors),
 *                                           then more
 *   node batched-writes.js dump-overflow DEV N  reads a table of N routes while, in the same
 *                                           turn, writes whose errors overflow the request
 *                                           socket go out: the dump's reply is lost
 *                                           mid-dump, and the snapshot reads it again
 */
import { spawnSync } from 'node:child_process';
import { loadNative, type NativeBinding, type NativeRouteSocketConstructor } from '../../../native/index.js';
import { LinuxBackend } from '../../../daemon/backends/linux.js';
import type { Route } from '../../../daemon/model/route.js';

const [scenario, dev, arg] = process.argv.slice(2);
const print = (o: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(o) + '\n');

const real = loadNative();
/** Bytes of each send() on the request socket, and how many netlink messages each held. */
const sends: Array<{ bytes: number; messages: number }> = [];
/** Datagrams delivered to the listening socket (the one joined to groups). */
let heard = 0;
/** Called after each send() on the request socket, with its bytes. */
let afterSend: ((bytes: Uint8Array) => void) | null = null;
const Counting = class extends (real.RouteSocket as unknown as new (...args: unknown[]) => { send(bytes: Uint8Array): number }) {
  constructor(...args: unknown[]) {
    const [listener, ...rest] = args as [(bytes: Buffer, datagrams: Uint32Array) => void, ...unknown[]];
    const options = rest[2] as { groups?: number[] } | undefined;
    const counted = (bytes: Buffer, datagrams: Uint32Array): void => {
      heard += datagrams.length / 2;
      listener(bytes, datagrams);
    };
    super(options?.groups ? counted : listener, ...rest);
  }
  override send(bytes: Uint8Array): number {
    let messages = 0;
    for (let offset = 0; offset + 16 <= bytes.length; offset += (Buffer.from(bytes.buffer, bytes.byteOffset + offset, 4).readUInt32LE(0) + 3) & ~3) messages++;
    sends.push({ bytes: bytes.length, messages });
    const sent = super.send(bytes);
    afterSend?.(bytes);
    return sent;
  }
};
const native: NativeBinding = { ...real, RouteSocket: Counting as unknown as NativeRouteSocketConstructor };

const index = real.nameToIndex(dev ?? '');
const route = (destination: string): Route => ({ family: 'inet', destination, gateway: { link: index }, interface: dev ?? '', index, scope: null, table: 254, metric: null, flags: [], mtu: null, origin: 'tunnel' });

/** Submits every write in one turn; resolves with each outcome (errno code or 'ok') in order, once all are answered. */
function submitAll(backend: LinuxBackend, kind: 'add' | 'delete', routes: Route[]): Promise<string[][]> {
  const outcomes: string[][] = routes.map(() => []);
  let left = routes.length;
  return new Promise((resolve) => {
    routes.forEach((r, i) => {
      backend.submitRoute(kind, r, (error) => {
        // Every outcome is recorded, so a write answered twice shows up.
        outcomes[i]!.push(error === null ? 'ok' : ((error as { code?: string }).code ?? error.message));
        if (--left === 0) setTimeout(() => resolve(outcomes), 50);
      });
    });
  });
}

/** Routes on DEV (ours are tagged; the ones added by `ip` are not). */
const devRoutes = async (backend: LinuxBackend): Promise<{ tagged: number; untagged: number }> => {
  const on = (await backend.snapshot()).routes.filter((r) => r.index === index && r.destination.endsWith('/32'));
  return { tagged: on.filter((r) => r.tagged).length, untagged: on.filter((r) => !r.tagged).length };
};

if (scenario === 'outcomes' || scenario === 'prepared') {
  const backend = new LinuxBackend({ native });
  await backend.open(() => {});
  const adds = Array.from({ length: 8 }, (_, i) => route(`10.60.0.${i + 1}/32`));
  // Encoded ahead with seq 0; each add takes its own seq when it is sent.
  if (scenario === 'prepared') backend.prepare(adds);
  sends.length = 0;
  print({ event: 'add', outcomes: await submitAll(backend, 'add', adds), sends: [...sends] });
  const dels = Array.from({ length: 9 }, (_, i) => route(`10.60.0.${i + 1}/32`));
  sends.length = 0;
  print({ event: 'delete', outcomes: await submitAll(backend, 'delete', dels), sends: [...sends] });
  backend.close();
} else if (scenario === 'echo') {
  const events: string[] = [];
  const backend = new LinuxBackend({ native });
  await backend.open((e) => {
    if (e.kind === 'route') events.push(`${e.change} ${e.route.destination}`);
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  heard = 0;
  const outcomes = await submitAll(backend, 'add', Array.from({ length: 20 }, (_, i) => route(`10.63.0.${i + 1}/32`)));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const ours = heard;
  const r = spawnSync('ip', ['route', 'add', '10.63.1.1/32', 'dev', dev ?? ''], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  await new Promise((resolve) => setTimeout(resolve, 200));
  print({ event: 'echo', outcomes, heardOurs: ours, heardAll: heard, events });
  backend.close();
} else if (scenario === 'overflow') {
  const n = Number(arg);
  // The kernel doubles SO_RCVBUF and keeps a floor; a few acks fit, the rest of the batch's do not.
  const backend = new LinuxBackend({ native, requestBufferSize: 4096 });
  await backend.open(() => {});
  const destinations = Array.from({ length: n }, (_, i) => `10.61.${i >> 8}.${i & 255}/32`);
  // Only a failure is answered in the middle of a batch: half of them fail, to overflow.
  const taken = destinations.filter((_, i) => i % 2 === 0);
  const r = spawnSync('ip', ['-batch', '-'], { input: taken.map((d) => `route add ${d} dev ${dev}`).join('\n') + '\n', encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const adds = destinations.map(route);
  sends.length = 0;
  const first = await submitAll(backend, 'add', adds);
  print({ event: 'overflowed', outcomes: first, sends: [...sends] });
  // Recovered: the same socket answers the next writes, and the table tells what was applied.
  print({ event: 'table', ...(await devRoutes(backend)) });
  const more = Array.from({ length: 4 }, (_, i) => route(`10.62.0.${i + 1}/32`));
  print({ event: 'after', outcomes: await submitAll(backend, 'add', more) });
  print({ event: 'table', ...(await devRoutes(backend)) });
  backend.close();
} else if (scenario === 'dump-overflow') {
  const n = Number(arg);
  const backend = new LinuxBackend({ native, requestBufferSize: 4096 });
  await backend.open(() => {});
  const destinations = Array.from({ length: n }, (_, i) => `10.64.${i >> 8}.${i & 255}/32`);
  const r = spawnSync('ip', ['-batch', '-'], { input: destinations.map((d) => `route add ${d} dev ${dev}`).join('\n') + '\n', encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  // The route dump needs several parts; the first is queued as it starts and fills the small
  // buffer, so the adds' EEXIST answers overflow it while the kernel's dump is still running.
  const started = performance.now();
  const writes = new Promise<string[][]>((resolve) => {
    afterSend = (bytes) => {
      if (bytes.length < 16 || Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readUInt16LE(4) !== 26) return;
      afterSend = null;
      void submitAll(backend, 'add', destinations.slice(0, 200).map(route)).then(resolve);
    };
  });
  const snapshot = backend.snapshot().then(
    (s) => ({ routes: s.routes.filter((x) => x.index === index && x.destination.startsWith('10.64.')).length }),
    (e: Error & { code?: string }) => ({ error: e.code ?? e.message }),
  );
  const [read, outcomes] = await Promise.all([snapshot, writes]);
  print({ event: 'dump-overflow', ...read, lost: outcomes.flat().filter((o) => o === 'ENOBUFS').length, ms: Math.round(performance.now() - started) });
  backend.close();
} else {
  throw new Error(`unknown scenario ${scenario}`);
}
