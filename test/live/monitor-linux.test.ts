// `tunroute monitor --json` on a live netlink socket, inside a namespace made here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessLinuxRoot, withNetns } from '../helpers/netns.js';
import { CLI } from '../helpers/daemon-process.js';

test('tunroute monitor --json shows a route that `ip route add` creates', async (t) => {
  if (skipUnlessLinuxRoot(t)) return;
  await withNetns('mon', async (ns) => {
    ns.addVeth('veth0', 'veth1', '10.66.0.1/24');
    const child = ns.spawn('node', [CLI, 'monitor', '--json'], { env: { ...process.env, TUNROUTE_MONITOR_READY: '1' } });
    let stdout = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('monitor did not get ready')), 5000);
      child.stderr?.on('data', (c: Buffer) => {
        if (c.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    ns.ip('route', 'add', '10.123.0.0/16', 'via', '10.66.0.2', 'dev', 'veth0', 'metric', '7');
    ns.ip('route', 'del', '10.123.0.0/16', 'via', '10.66.0.2', 'dev', 'veth0', 'metric', '7');
    const deadline = Date.now() + 5000;
    const find = (type: string) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((m) => m.type === type && m.destination === '10.123.0.0/16');
    while ((!find('RTM_NEWROUTE') || !find('RTM_DELROUTE')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGINT');
    const exit = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const added = find('RTM_NEWROUTE');
    assert.ok(added, `no RTM_NEWROUTE for 10.123.0.0/16 in:\n${stdout}`);
    assert.equal(added.gateway, '10.66.0.2');
    assert.equal(added.priority, 7);
    assert.equal(added.family, 'inet');
    assert.equal(added.table, 254);
    assert.ok(find('RTM_DELROUTE'), 'the deletion is shown too');
    assert.equal(exit, 0, 'Ctrl-C ends it cleanly');
  });
});
