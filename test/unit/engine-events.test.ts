/**
 * @module test/unit/engine-events
 * What a kernel event costs the engine, against the XNU model (the real engine, darwin
 * backend and codec on PF_ROUTE bytes): a foreign route that cannot change the plan starts
 * no reconcile (no table dump), and one deleted route of ours is put back at once, before
 * any dump, with the confirming full reconcile coming after.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DarwinBackend } from '../../daemon/backends/darwin.js';
import { Engine } from '../../daemon/engine/engine.js';
import { Journal } from '../../daemon/engine/journal.js';
import { createLogger } from '../../daemon/logger.js';
import { createPolicy } from '../../daemon/policy.js';
import { validateProfileText } from '../../daemon/profile/validate.js';
import { darwinCodec } from '../../daemon/codec/darwin/index.js';
import { addRequest, advanceIndexTo, createMacScenario, createXnuBinding, deleteRequest, CONFIGD_PID, RTM } from '../xnu/index.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('foreign routes off the plan start no reconcile; a deleted route of ours is re-added before any dump', async () => {
  const mac = createMacScenario();
  advanceIndexTo(mac.kernel, 36);
  mac.addTunnel({ name: 'utun7', address: '10.10.10.2', mtu: 1420 });
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-events-'));
  const routes = Array.from({ length: 20 }, (_, i) => `  - 10.${100 + i}.0.0/16`).join('\n');
  const result = validateProfileText(`interface:\n  name: utun7\naddress: 10.10.10.2\nmode: split\nfullTunnel:\n  strategy: replace\nroutes:\n${routes}\ndaemon:\n  journal: ${join(dir, 'j.json')}\n`, join(dir, 'p.yaml'), { platform: 'darwin' });
  assert.ok(result.profile, JSON.stringify(result.problems));
  const binding = createXnuBinding(mac.kernel, { pid: 4242 });
  let dumps = 0;
  const dump = binding.sysctlRouteDump.bind(binding);
  binding.sysctlRouteDump = (af, op, arg) => {
    dumps++;
    return dump(af, op, arg);
  };
  const log = createLogger({ level: 'silent', format: 'json', write: () => {} });
  const engine = new Engine({ backend: new DarwinBackend({ native: binding, pid: 4242 }), journal: new Journal(result.profile.daemon.journal, result.profile.name), logger: log, policy: createPolicy(result.profile, 'darwin', log) });
  const other = mac.kernel.openSocket({ pid: CONFIGD_PID });
  const added: string[] = [];
  const listener = mac.kernel.openSocket({
    pid: 999,
    onMessage: (bytes) => {
      for (const { message } of darwinCodec.walk(bytes).messages) {
        if (message.kind === 'route' && message.type === RTM.ADD && message.destination !== null) added.push(`${message.destination}@${dumps}`);
      }
    },
  });
  try {
    await engine.start();
    assert.equal(engine.currentState, 'installed');
    await sleep(300); // the echoes of our own writes are delivered and settle
    const quiet = dumps;

    for (let k = 0; k < 50; k++) {
      other.write(addRequest(`172.16.0.${k}`, '192.168.1.1', { bits: null, seq: k }));
      other.write(deleteRequest(`172.16.0.${k}`, { bits: null, seq: k }));
    }
    await sleep(300);
    assert.equal(dumps, quiet, '100 foreign host routes on en0 started no reconcile');

    added.length = 0; // the install's own messages are not the repair
    other.write(deleteRequest('10.105.0.0', { bits: 16, seq: 1000 }));
    for (let i = 0; i < 100 && !added.some((a) => a.startsWith('10.105.0.0/16@')); i++) await sleep(10);
    assert.deepEqual(added.filter((a) => a.startsWith('10.105.0.0/16@')), [`10.105.0.0/16@${quiet}`], 're-added once, before any table dump');
    for (let i = 0; i < 100 && dumps === quiet; i++) await sleep(20);
    assert.ok(dumps > quiet, 'a full reconcile confirms the repair afterwards');
  } finally {
    listener.close();
    other.close();
    await engine.stop(10_000);
    rmSync(dir, { recursive: true, force: true });
  }
});
