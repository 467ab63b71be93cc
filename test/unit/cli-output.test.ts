// Every command's output may fail: a closed pipe (`tunroute plan | head`) or a full disk.
// Either is one line on stderr, never a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../daemon/cli.js', import.meta.url));

test('ENOSPC on stdout (/dev/full): one line naming the command, exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-cli-'));
  const profile = join(dir, 'wg0.yaml');
  writeFileSync(profile, 'interface:\n  name: wg0\nmode: split\nroutes:\n  - 10.0.0.0/8\n');
  chmodSync(profile, 0o600);
  const full = openSync('/dev/full', 'w');
  try {
    const r = spawnSync(process.execPath, [CLI, 'check', '--os', 'linux', profile], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'tunroute check: cannot write the output (ENOSPC)\n');
  } finally {
    closeSync(full);
  }
});

test('EPIPE on stdout (the reader is gone): one line, exit 0, no stack trace', (t) => {
  // A pipe whose read end is closed before the command starts: python3 makes one portably.
  const script = `import os,subprocess,sys
r,w=os.pipe(); os.close(r)
p=subprocess.run([sys.argv[1], sys.argv[2], '--help'], stdout=w, stderr=subprocess.PIPE)
sys.stdout.write(str(p.returncode) + '\\n' + p.stderr.decode())`;
  const r = spawnSync('python3', ['-c', script, process.execPath, CLI], { encoding: 'utf8' });
  if (r.error) {
    t.skip('needs python3 to make a pipe with no reader');
    return;
  }
  assert.equal(r.stdout, '0\ntunroute: cannot write the output (EPIPE)\n');
});
