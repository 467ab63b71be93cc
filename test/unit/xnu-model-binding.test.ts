/**
 * @module test/unit/xnu-model-binding
 * createXnuBinding as a NativeBinding: asynchronous delivery to every socket, synchronous
 * send that throws, close/ref semantics, receive-buffer overflow (silent drops on macOS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RAW_RECVSPACE, RTF, RTM, addRequest, createMacScenario, createXnuBinding, getRequest, linkGateway } from '../xnu/index.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

test('platform darwin, nameToIndex/indexToName, sysctlRouteDump', () => {
  const { kernel } = createMacScenario();
  const b = createXnuBinding(kernel, { pid: 100 });
  assert.equal(b.platform, 'darwin');
  assert.equal(b.nameToIndex('en0'), 4);
  assert.equal(b.nameToIndex('utun9'), 0);
  assert.equal(b.indexToName(1), 'lo0');
  assert.equal(b.indexToName(999), undefined);
  assert.ok(b.sysctlRouteDump!(0, 1, 0).length > 0);
});

test('send is synchronous; the echo arrives later, on a later turn, to the sender and to others', async () => {
  const { kernel } = createMacScenario();
  const b = createXnuBinding(kernel, { pid: 100 });
  const mine: Buffer[] = [];
  const theirs: Buffer[] = [];
  const s1 = new b.RouteSocket((m) => mine.push(m), () => assert.fail('overflow'), () => assert.fail('error'));
  const s2 = new b.RouteSocket((m) => theirs.push(m), () => {}, () => {});
  const req = addRequest('10.1.0.0', '192.168.1.1', { bits: 16, seq: 3 });
  assert.equal(s1.send(req), req.length);
  assert.equal(mine.length, 0, 'nothing is delivered inside send()');
  await nextTurn();
  assert.equal(mine.length, 1);
  assert.equal(theirs.length, 1);
  assert.equal(mine[0]!.readInt32LE(16), 100);
  assert.ok(mine[0]!.readInt32LE(8) & RTF.DONE);
  s1.close();
  s2.close();
});

test('send throws the kernel errno as a SystemError and still echoes it', async () => {
  const { kernel } = createMacScenario();
  const b = createXnuBinding(kernel, { pid: 100 });
  const got: Buffer[] = [];
  const s = new b.RouteSocket((m) => got.push(m), () => {}, () => {});
  assert.throws(() => s.send(addRequest('0.0.0.0', '192.168.1.254', { bits: 0 })),
    { errno: 17, code: 'EEXIST', syscall: 'write', message: 'write EEXIST (File exists)' });
  await nextTurn();
  assert.equal(got[0]!.readInt32LE(24), 17);
  s.close();
});

test('root: false → EPERM for ADD, GET still allowed', () => {
  const { kernel } = createMacScenario();
  const b = createXnuBinding(kernel, { pid: 100, root: false });
  const s = new b.RouteSocket(() => {}, () => {}, () => {});
  assert.throws(() => s.send(addRequest('10.1.0.0', '192.168.1.1', { bits: 16 })), { code: 'EPERM' });
  assert.equal(s.send(getRequest('8.8.8.8')), 92 + 16);
  s.close();
});

test('close is idempotent, stops callbacks, and later calls fail with EBADF', async () => {
  const { kernel, addTunnel } = createMacScenario();
  const b = createXnuBinding(kernel, { pid: 100 });
  let calls = 0;
  const s = new b.RouteSocket(() => { calls++; }, () => {}, () => {});
  addTunnel();
  s.close();
  s.close();
  await nextTurn();
  assert.equal(calls, 0);
  assert.throws(() => s.send(getRequest('8.8.8.8')), { code: 'EBADF', syscall: 'send' });
  assert.throws(() => s.getReceiveBufferSize(), { code: 'EBADF', syscall: 'getsockopt' });
  assert.throws(() => s.localPort(), { code: 'EBADF' });
});

test('options: groups refused with EINVAL; receive buffer default 8192, settable, bounds checked', () => {
  const { kernel } = createMacScenario();
  const b = createXnuBinding(kernel, { pid: 100 });
  assert.throws(() => new b.RouteSocket(() => {}, () => {}, () => {}, { groups: [1] }), { code: 'EINVAL', syscall: 'socket' });
  const s = new b.RouteSocket(() => {}, () => {}, () => {});
  assert.equal(s.getReceiveBufferSize(), RAW_RECVSPACE);
  assert.equal(s.localPort(), 0);
  s.setReceiveBufferSize(65536);
  assert.equal(s.getReceiveBufferSize(), 65536);
  assert.throws(() => s.setReceiveBufferSize(0), { code: 'EINVAL', syscall: 'setsockopt' });
  assert.throws(() => s.setReceiveBufferSize(64 * 1024 * 1024), { code: 'ENOBUFS' });
  const sized = new b.RouteSocket(() => {}, () => {}, () => {}, { receiveBufferSize: 4096 });
  assert.equal(sized.getReceiveBufferSize(), 4096);
  s.close();
  sized.close();
});

test('overflow: a full receive buffer drops messages silently (no onOverflow), counted by the model', async () => {
  const { kernel, addTunnel } = createMacScenario();
  const utun = addTunnel();
  const b = createXnuBinding(kernel, { pid: 100 });
  const got: Buffer[] = [];
  let overflows = 0;
  const s = new b.RouteSocket((m) => got.push(m), () => { overflows++; }, () => {}, { receiveBufferSize: 1024 });
  const writer = kernel.openSocket({ pid: 7 });
  for (let i = 0; i < 20; i++) writer.write(addRequest(`10.${i}.0.0`, linkGateway(utun), { bits: 16, flags: RTF.UP | RTF.STATIC }));
  // Each 128-byte echo costs 130 bytes of buffer: 7 fit in 1024, 13 are dropped.
  const [model] = b.sockets();
  assert.equal(model!.dropped, 13);
  await nextTurn();
  assert.equal(got.length, 7);
  assert.ok(got.every((m) => m[3] === RTM.ADD));
  assert.equal(overflows, 0);
  // Draining frees the space again.
  writer.write(addRequest('10.200.0.0', linkGateway(utun), { bits: 16, flags: RTF.UP | RTF.STATIC }));
  await nextTurn();
  assert.equal(got.length, 8);
  s.close();
  writer.close();
});

test('a referenced open socket keeps the process alive; unref lets it exit', () => {
  const here = fileURLToPath(new URL('../xnu/index.js', import.meta.url));
  const script = (unref: boolean) => `
    import('${here}').then(({ createMacScenario, createXnuBinding }) => {
      const { kernel } = createMacScenario();
      const b = createXnuBinding(kernel, { pid: 1 });
      const s = new b.RouteSocket(() => {}, () => {}, () => {});
      ${unref ? 's.unref();' : ''}
    });`;
  const exited = spawnSync(process.execPath, ['--input-type=module', '-e', script(true)], { timeout: 5000 });
  assert.equal(exited.status, 0);
  const held = spawnSync(process.execPath, ['--input-type=module', '-e', script(false)], { timeout: 1500 });
  assert.equal(held.status, null, 'still running when the timeout killed it');
  assert.equal(held.signal, 'SIGTERM');
});
