/**
 * @module test/unit/profile-name-file
 * wireguard-go's name file is believed only while fresh, as wg-quick decides it: the
 * named utun's .sock exists next to it and both were written within 2 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveNameFile } from '../../daemon/profile/name-file.js';

async function withDir(fn: (dir: string, listen: (path: string) => Promise<Server>) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-wg-'));
  const servers: Server[] = [];
  const listen = (path: string): Promise<Server> =>
    new Promise((resolve) => {
      const server = createServer();
      servers.push(server);
      server.listen(path, () => resolve(server));
    });
  try {
    await fn(dir, listen);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    rmSync(dir, { recursive: true, force: true });
  }
}

const T = 1_700_000_000;

test('fresh: the socket exists and the mtimes are within 2 s', async () => {
  await withDir(async (dir, listen) => {
    const nameFile = join(dir, 'wg0.name');
    writeFileSync(nameFile, 'utun7\n');
    await listen(join(dir, 'utun7.sock'));
    utimesSync(nameFile, T, T);
    utimesSync(join(dir, 'utun7.sock'), T + 2, T + 2);
    assert.deepEqual(resolveNameFile(nameFile), { name: 'utun7' });
  });
});

test('stale: mtimes more than 2 s apart', async () => {
  await withDir(async (dir, listen) => {
    const nameFile = join(dir, 'wg0.name');
    writeFileSync(nameFile, 'utun7\n');
    await listen(join(dir, 'utun7.sock'));
    utimesSync(nameFile, T, T);
    utimesSync(join(dir, 'utun7.sock'), T + 2.5, T + 2.5);
    const result = resolveNameFile(nameFile);
    assert.equal(result.name, null);
    assert.match(result.reason ?? '', /^stale: .* were written 2\.5 s apart/);
  });
});

test('stale: the socket is gone (wireguard-go exited and never deletes the name file)', async () => {
  await withDir(async (dir) => {
    const nameFile = join(dir, 'wg0.name');
    writeFileSync(nameFile, 'utun7\n');
    const result = resolveNameFile(nameFile);
    assert.equal(result.name, null);
    assert.match(result.reason ?? '', /utun7\.sock: ENOENT/);
  });
});

test('refused: a regular file where the socket should be, junk in the name file, no name file', async () => {
  await withDir(async (dir) => {
    const nameFile = join(dir, 'wg0.name');
    writeFileSync(nameFile, 'utun7\n');
    writeFileSync(join(dir, 'utun7.sock'), '');
    assert.match(resolveNameFile(nameFile).reason ?? '', /is not a socket$/);
    writeFileSync(nameFile, '../../etc/passwd\n');
    assert.match(resolveNameFile(nameFile).reason ?? '', /does not hold a utun name$/);
    assert.match(resolveNameFile(join(dir, 'missing.name')).reason ?? '', /ENOENT$/);
  });
});
