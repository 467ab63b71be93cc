// The native routing socket against the real Linux kernel, inside namespaces made here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { jsonLines, probePath, skipUnlessLinuxRoot, withNetns } from '../helpers/netns.js';

const EEXIST = 17;
const RTM_NEWROUTE = 24;
const NLMSG_ERROR = 2;

interface Observation {
  event: string;
  [key: string]: unknown;
}

test('a hand-built RTM_NEWROUTE is acknowledged, notified, and refused with EEXIST the second time', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('sock', (ns) => {
    ns.addVeth('veth0', 'veth1', '10.76.0.1/24');
    const r = ns.exec('node', [probePath('netlink-socket'), 'routes', 'veth0']);
    assert.equal(r.status, 0, r.stderr);
    const seen = jsonLines<Observation>(r.stdout);
    const port = seen.find((o) => o.event === 'port')?.port;
    assert.ok(typeof port === 'number' && port > 0, 'the socket has a kernel-assigned port');
    const messages = seen.filter((o) => o.event === 'message');
    // seq 1: the ack (error 0) and the multicast notification of the new route
    assert.ok(messages.some((m) => m.type === NLMSG_ERROR && m.seq === 1 && m.error === 0 && m.sender === 0), JSON.stringify(messages));
    assert.ok(messages.some((m) => m.type === RTM_NEWROUTE && m.sender === 0), 'the notification arrives through the async callback');
    // seq 2: the duplicate is refused in the kernel's acknowledgement
    assert.ok(messages.some((m) => m.type === NLMSG_ERROR && m.seq === 2 && m.error === EEXIST), JSON.stringify(messages));
    assert.ok(seen.some((o) => o.event === 'closed-twice'), 'close() twice does not crash');
    assert.match(ns.ip('route', 'show', '10.77.0.0/16'), /10\.77\.0\.0\/16 dev veth0/);
  });
});

test('failing socket calls throw Error{errno, code, syscall}', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('err', (ns) => {
    const r = ns.exec('node', [probePath('netlink-socket'), 'errors']);
    assert.equal(r.status, 0, r.stderr);
    const thrown = jsonLines<Observation>(r.stdout).filter((o) => o.event === 'thrown');
    const byCall = Object.fromEntries(thrown.map((o) => [o.call, o]));
    assert.deepEqual(
      { errno: byCall['group 0']?.errno, code: byCall['group 0']?.code, syscall: byCall['group 0']?.syscall, isError: byCall['group 0']?.isError },
      { errno: 22, code: 'EINVAL', syscall: 'setsockopt', isError: true },
    );
    assert.deepEqual(
      { errno: byCall['send after close']?.errno, code: byCall['send after close']?.code, syscall: byCall['send after close']?.syscall },
      { errno: 9, code: 'EBADF', syscall: 'send' },
    );
    assert.equal(byCall['empty send']?.syscall, 'sendto');
    assert.equal(typeof byCall['empty send']?.code, 'string');
  });
});

test('a flood larger than a small receive buffer is reported as overflow, not a crash', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('ovf', (ns) => {
    const r = ns.exec('node', [probePath('netlink-socket'), 'overflow', '3000']);
    assert.equal(r.status, 0, r.stderr);
    const seen = jsonLines<Observation>(r.stdout);
    assert.equal(seen.find((o) => o.event === 'batch')?.status, 0);
    const result = seen.find((o) => o.event === 'result');
    assert.ok(result, r.stdout);
    assert.ok((result.overflows as number) >= 1, `overflow reported: ${JSON.stringify(result)}`);
    assert.ok((result.received as number) < 3000, 'some notifications were lost, as the overflow says');
    assert.equal(seen.filter((o) => o.event === 'error').length, 0, 'ENOBUFS is not an error event');
  });
});

test('a reply larger than the 64 KiB read buffer is reported as an overflow, never cut; the socket goes on', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('big', (ns) => {
    ns.addVeth('veth0', 'veth1', '10.76.0.1/24');
    const r = ns.exec('node', [probePath('netlink-socket'), 'oversize', 'veth0']);
    assert.equal(r.status, 0, r.stderr);
    const seen = jsonLines<Observation>(r.stdout);
    assert.ok((seen.find((o) => o.event === 'sent')?.bytes as number) > 65536, 'the request (and so its error reply) is larger than 64 KiB');
    assert.equal(seen.filter((o) => o.event === 'overflow').length, 1, JSON.stringify(seen));
    assert.deepEqual(seen.filter((o) => o.event === 'message' && o.seq === 1), [], 'no part of the oversized reply is delivered');
    assert.ok(seen.some((o) => o.event === 'message' && o.seq === 2 && o.error === 0), `the next request is answered: ${JSON.stringify(seen)}`);
    assert.equal(seen.filter((o) => o.event === 'error').length, 0);
  });
});

test('discardQueued drops what is queued, none of it delivered, and the socket goes on', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('discard', (ns) => {
    const r = ns.exec('node', [probePath('netlink-socket'), 'discard', '500']);
    assert.equal(r.status, 0, r.stderr);
    const seen = jsonLines<Observation>(r.stdout);
    assert.equal(seen.find((o) => o.event === 'batch')?.status, 0);
    assert.deepEqual(seen.find((o) => o.event === 'discarded'), { event: 'discarded', dropped: 500, received: 0 }, JSON.stringify(seen));
    assert.deepEqual(seen.find((o) => o.event === 'later'), { event: 'later', received: 1 }, 'a notification after the discard arrives');
    assert.equal(seen.filter((o) => o.event === 'overflow' || o.event === 'error').length, 0);
  });
});

function exitsWithin(ms: number, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(false);
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

test('an unref\'ed socket does not keep the process alive; a ref\'ed one does', async (t) => {
  if (process.platform !== 'linux') return t.skip('needs Linux (netlink)');
  assert.equal(await exitsWithin(5000, [probePath('netlink-socket'), 'unref']), true, 'unref: exits by itself');
  assert.equal(await exitsWithin(1500, [probePath('netlink-socket'), 'ref']), false, 'ref: still running');
});
