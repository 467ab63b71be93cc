// What install-service copies besides the package: the production dependency closure,
// found the way Node finds it, whether npm nested it in the package or hoisted it into
// the project around it; dev dependencies and unrelated packages are left out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dependencyFolders } from '../../daemon/service/steps.js';

function pkg(dir: string, deps: Record<string, string> = {}, extra: Record<string, unknown> = {}): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: dir.split('/').pop(), version: '1.0.0', dependencies: deps, ...extra }));
}

test('dependencies: nested and hoisted ones land in the copy\'s node_modules; dev and unrelated ones stay out', () => {
  const project = mkdtempSync(join(tmpdir(), 'tunroute-deps-'));
  const root = join(project, 'node_modules', 'tunroute');
  pkg(project, { tunroute: '*', unrelated: '*' });
  pkg(root, { a: '*', c: '*' }, { devDependencies: { typescript: '*' }, optionalDependencies: {} });
  pkg(join(project, 'node_modules', 'a'), { b: '*' }, { optionalDependencies: { 'not-installed': '*' } });
  pkg(join(project, 'node_modules', 'b'));
  pkg(join(root, 'node_modules', 'c'), { b: '*' });
  pkg(join(project, 'node_modules', 'typescript'));
  pkg(join(project, 'node_modules', 'unrelated'));
  assert.deepEqual(dependencyFolders(root), [
    { source: join(project, 'node_modules/a'), target: 'node_modules/a' },
    { source: join(project, 'node_modules/b'), target: 'node_modules/b' },
    { source: join(root, 'node_modules/c'), target: 'node_modules/c' },
  ]);
});

test('dependencies: a missing regular dependency is an error naming it', () => {
  const root = mkdtempSync(join(tmpdir(), 'tunroute-deps-'));
  pkg(root, { 'nowhere-to-be-found-xyz': '*' });
  assert.throws(() => dependencyFolders(root), /dependencies not installed: nowhere-to-be-found-xyz \(run npm ci\)/);
});
