/**
 * @module test/unit/engine-repair-in-run
 * A route of ours deleted while a full reconcile run is under way, against the XNU model
 * (the real engine, darwin backend and codec on PF_ROUTE bytes): it is put back at once,
 * during that run, not after the run and another snapshot (at 10,000 routes that wait was
 * the repair's p99, 66–90 ms); and a run whose snapshot already misses the route leaves
 * the add to the repair instead of racing it to an EEXIST (which would end the run degraded).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DarwinBackend } from '../../daemon/backends/darwin.js';
import type { KernelSnapshot } from '../../daemon/backends/backend.js';
import { Engine } from '../../daemon/engine/engine.js';
import { Journal } from '../../daemon/engine/journal.js';
import { createLogger } from '../../daemon/logger.js';
import { createPolicy } from '../../daemon/policy.js';
import { validateProfileText } from '../../daemon/profile/validate.js';
import { darwinCodec } from '../../daemon/codec/darwin/index.js';
import { advanceIndexTo, createMacScenario, createXnuBinding, deleteRequest, CONFIGD_PID, RTM } from '../xnu/index.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Rig {
  engine: Engine;
  /** Runs once inside the next snapshot: `before` ahead of the table dump, `after` once it is read (the run waits for it). */
  holdNextSnapshot(hooks: { before?: () => void; after?: () => Promise<void> }): void;
  snapshots(): number;
  /** Successful RTM_ADDs of `destination` seen by an independent listener, each with the snapshot count at that moment. */
  addsOf(destination: string): number[];
  deleteOurs(destination: string, bits: number): void;
  close(): Promise<void>;
}

async function rig(): Promise<Rig> {
  const mac = createMacScenario();
  advanceIndexTo(mac.kernel, 36);
  mac.addTunnel({ name: 'utun7', address: '10.10.10.2', mtu: 1420 });
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-inrun-'));
  const routes = Array.from({ length: 20 }, (_, i) => `  - 10.${100 + i}.0.0/16`).join('\n');
  const result = validateProfileText(`interface:\n  name: utun7\naddress: 10.10.10.2\nmode: split\nfullTunnel:\n  strategy: replace\nroutes:\n${routes}\ndaemon:\n  journal: ${join(dir, 'j.json')}\n`, join(dir, 'p.yaml'), { platform: 'darwin' });
  assert.ok(result.profile, JSON.stringify(result.problems));
  const binding = createXnuBinding(mac.kernel, { pid: 4242 });
  const backend = new DarwinBackend({ native: binding, pid: 4242 });
  let snapshots = 0;
  let hooks: { before?: () => void; after?: () => Promise<void> } | null = null;
  const snapshot = backend.snapshot.bind(backend);
  backend.snapshot = async (): Promise<KernelSnapshot> => {
    const h = hooks;
    hooks = null;
    h?.before?.();
    const snap = await snapshot();
    snapshots++;
    await h?.after?.();
    return snap;
  };
  const log = createLogger({ level: 'silent', format: 'json', write: () => {} });
  const engine = new Engine({ backend, journal: new Journal(result.profile.daemon.journal, result.profile.name), logger: log, policy: createPolicy(result.profile, 'darwin', log) });
  const other = mac.kernel.openSocket({ pid: CONFIGD_PID });
  const adds: { destination: string; at: number }[] = [];
  const listener = mac.kernel.openSocket({
    pid: 999,
    onMessage: (bytes) => {
      for (const { message } of darwinCodec.walk(bytes).messages) {
        if (message.kind === 'route' && message.type === RTM.ADD && message.destination !== null && message.errno === 0) adds.push({ destination: message.destination, at: snapshots });
      }
    },
  });
  await engine.start();
  assert.equal(engine.currentState, 'installed');
  await sleep(300); // the echoes of our own writes are delivered and settle
  adds.length = 0;
  return {
    engine,
    holdNextSnapshot: (h) => {
      hooks = h;
    },
    snapshots: () => snapshots,
    addsOf: (destination) => adds.filter((a) => a.destination === destination).map((a) => a.at),
    deleteOurs: (destination, bits) => other.write(deleteRequest(destination, { bits, seq: 1000 })),
    close: async () => {
      listener.close();
      other.close();
      await engine.stop(10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a route of ours deleted during a full run is put back during that run, before another snapshot', async () => {
  const r = await rig();
  try {
    let inRun = false;
    let repairedInRun = false;
    r.holdNextSnapshot({
      // The table is read with the route in place; then it goes while the run is still under way.
      after: async () => {
        inRun = true;
        r.deleteOurs('10.105.0.0', 16);
        for (let i = 0; i < 50 && r.addsOf('10.105.0.0/16').length === 0; i++) await sleep(5);
        repairedInRun = r.addsOf('10.105.0.0/16').length > 0;
        inRun = false;
      },
    });
    const first = r.snapshots();
    await r.engine.trigger('test');
    assert.equal(inRun, false);
    assert.ok(repairedInRun, 'the replacement was added while the run that read the table was still under way');
    assert.deepEqual(r.addsOf('10.105.0.0/16'), [first + 1], 'added once, before any later snapshot');
    assert.equal(r.engine.currentState, 'installed');
  } finally {
    await r.close();
  }
});

test('a run whose snapshot misses a route being repaired leaves the add to the repair (no EEXIST, not degraded)', async () => {
  const r = await rig();
  try {
    const states: string[] = [];
    r.engine.onState((s) => states.push(s));
    // Deleted just before the dump: the snapshot misses the route, and the deletion event is
    // read at the run's first turn of the event loop, when the run already plans to add it.
    r.holdNextSnapshot({ before: () => r.deleteOurs('10.107.0.0', 16) });
    await r.engine.trigger('test');
    for (let i = 0; i < 100 && r.addsOf('10.107.0.0/16').length === 0; i++) await sleep(10);
    assert.equal(r.addsOf('10.107.0.0/16').length, 1, 'put back once');
    await sleep(400); // the confirming run
    assert.deepEqual(states.filter((s) => s === 'degraded'), [], 'no run ended degraded');
    assert.equal(r.engine.currentState, 'installed');
  } finally {
    await r.close();
  }
});
