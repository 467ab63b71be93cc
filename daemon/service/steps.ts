/**
 * @module service/steps
 * What install-service and uninstall-service do, as a list of steps that either run or,
 * with --dry-run, print. Every step is idempotent: a file is written through a temporary
 * name and a rename (and left alone when it already has the content), a folder is copied
 * beside its target and swapped in, a command is one the service manager accepts twice.
 *
 * `root` (--root) puts every path under another folder, for tests and image builds: the
 * service manager is then not asked to load or start anything.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';

export interface Step {
  /** One line saying what the step does, printed before it runs (or instead, with --dry-run). */
  say: string;
  run(): void | Promise<void>;
}

export interface StepContext {
  /** Prefix for every path (`--root`); '' for the real system. */
  root: string;
  dryRun: boolean;
  out: (line: string) => void;
}

/** The options install-service and uninstall-service share, read and checked once. */
export interface ServiceTarget {
  os: 'darwin' | 'linux';
  dryRun: boolean;
  root: string;
  prefix: string;
}

/**
 * Checks the shared options (usage errors throw `UsageError`): `--root` and `--prefix`
 * absolute, another platform's service only with --dry-run or --root. Returns null after
 * printing why when the real system would be changed without root (exit 77).
 */
export function serviceTarget(
  command: 'install-service' | 'uninstall-service',
  values: { os?: string; 'dry-run'?: boolean; root?: string; prefix?: string },
  platformOption: (value: string | undefined) => 'darwin' | 'linux',
  defaultPrefix: string,
): ServiceTarget | null {
  const os = platformOption(values.os);
  const dryRun = values['dry-run'] ?? false;
  const root = values.root ?? '';
  if (root !== '' && !root.startsWith('/')) throw new UsageError('--root must be an absolute path');
  const prefix = values.prefix ?? defaultPrefix;
  if (!prefix.startsWith('/')) throw new UsageError('--prefix must be an absolute path');
  const verb = command === 'install-service' ? 'installing' : 'removing';
  if (os !== process.platform && !dryRun && root === '') throw new UsageError(`${verb} a ${os} service on ${process.platform} needs --dry-run or --root`);
  if (!dryRun && process.geteuid?.() !== 0) {
    process.stderr.write(`tunroute ${command}: needs root (try sudo, or --dry-run to see the steps)\n`);
    return null;
  }
  return { os, dryRun, root, prefix };
}

export async function runSteps(steps: Step[], ctx: StepContext): Promise<void> {
  for (const step of steps) {
    ctx.out(`${ctx.dryRun ? 'would ' : ''}${step.say}`);
    if (!ctx.dryRun) await step.run();
  }
}

/** `path` under the context's root. */
export const under = (ctx: StepContext, path: string): string => (ctx.root ? join(ctx.root, path) : path);

/** Writes `content` to `path` (owned by root, `mode`) through a temporary file and a rename; unchanged content is left alone. */
export function writeFileStep(ctx: StepContext, path: string, content: string, mode: number, what: string): Step {
  return {
    say: `write ${path} (${what}, root, ${mode.toString(8).padStart(4, '0')})`,
    run() {
      const target = under(ctx, path);
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      const same = existsSync(target) && readFileSync(target, 'utf8') === content && (lstatSync(target).mode & 0o7777) === mode && lstatSync(target).uid === 0;
      if (same) return;
      const tmp = `${target}.tunroute-${process.pid}.tmp`;
      writeFileSync(tmp, content, { mode });
      chownSync(tmp, 0, 0);
      chmodSync(tmp, mode);
      renameSync(tmp, target);
    },
  };
}

export function removeStep(ctx: StepContext, path: string, what: string): Step {
  return {
    say: `remove ${path} (${what})`,
    run() {
      rmSync(under(ctx, path), { recursive: true, force: true });
    },
  };
}

/** Runs a command; `ok` lists exit statuses that are not failures (already so). */
export function commandStep(ctx: StepContext, argv: string[], why: string, ok: number[] = [0]): Step {
  return {
    say: `run ${argv.join(' ')}  (${why})`,
    run() {
      const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
      if (r.error) throw new Error(`${argv[0]}: ${r.error.message}`);
      if (!ok.includes(r.status ?? -1)) throw new Error(`${argv.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
    },
  };
}

/**
 * Refuses a path one of whose existing folders someone other than root can write: they
 * could swap what root is about to run or read (as sshd's StrictModes refuses a profile).
 * Homebrew on Intel Macs makes /usr/local/* the user's; pick another --prefix there.
 */
export function assertRootOnlyAncestors(path: string): void {
  let dir = path;
  for (;;) {
    const parent = dirname(dir);
    if (existsSync(dir)) {
      const st = lstatSync(dir);
      if (st.isSymbolicLink()) {
        // The system's own links (/var → private/var on macOS) are fine when root owns them.
        if (st.uid !== 0) throw new Error(`${dir} is a symbolic link owned by uid ${st.uid}, not root`);
      } else {
        if (st.uid !== 0) throw new Error(`${dir} is owned by uid ${st.uid}, not root: whoever owns it could replace what root runs from there`);
        if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) throw new Error(`${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`);
      }
    }
    if (parent === dir) return;
    dir = parent;
  }
}

/** Refuses a program root would run that someone else could replace: not root's, writable by others, or in such a folder. */
export function assertRootOnlyFile(path: string): void {
  const st = lstatSync(path);
  if (!st.isFile()) throw new Error(`${path} is not a regular file`);
  if (st.uid !== 0) throw new Error(`${path} is owned by uid ${st.uid}, not root: its owner could replace what root runs`);
  if ((st.mode & 0o022) !== 0) throw new Error(`${path} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`);
  assertRootOnlyAncestors(dirname(path));
}

/** The package's own folder (dist/daemon/service/ is three levels below it). */
export const PACKAGE_ROOT = new URL('../../../', import.meta.url).pathname.replace(/\/$/, '');

export function packageVersion(root = PACKAGE_ROOT): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

/** What the daemon needs at run time, relative to the package root (not sources, tests or maps). */
const PACKAGE_PARTS = ['package.json', 'LICENSE', 'README.md', 'dist/daemon', 'dist/native', 'native/build/Release/tunroute_native.node', 'config', 'systemd', 'launchd'];

/**
 * The production dependency closure: every package reachable from package.json's
 * dependencies, resolved the way Node resolves them (nested node_modules first, then up,
 * past the package itself when it is installed inside a project that hoisted them). Each
 * comes with where it goes in the copy: hoisted packages land in the copy's own node_modules.
 */
export function dependencyFolders(root = PACKAGE_ROOT): Array<{ source: string; target: string }> {
  const found = new Map<string, string>();
  const missing: string[] = [];
  const visit = (from: string, name: string, optional: boolean): void => {
    for (let dir = from; ; dir = climb(dir)) {
      const candidate = join(dir, 'node_modules', name);
      if (existsSync(join(candidate, 'package.json'))) {
        if (found.has(candidate)) return;
        // Under the package: the same place in the copy. Above it (hoisted): the copy's node_modules.
        const base = candidate.startsWith(`${root}/`) ? root : dir;
        found.set(candidate, candidate.slice(base.length + 1));
        const pkg = JSON.parse(readFileSync(join(candidate, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
        for (const dep of Object.keys(pkg.dependencies ?? {})) visit(candidate, dep, false);
        for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(candidate, dep, true);
        return;
      }
      if (dirname(dir) === dir) {
        // An optional dependency may be absent; a regular one would make the copy fail at run time.
        if (!optional) missing.push(name);
        return;
      }
    }
  };
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(pkg.dependencies ?? {})) visit(root, dep, false);
  if (missing.length) throw new Error(`dependencies not installed: ${missing.join(', ')} (run npm ci)`);
  return [...found].map(([source, target]) => ({ source, target })).sort((a, b) => a.target.localeCompare(b.target));
}

/** From …/node_modules/a/node_modules/b to …/node_modules/a, the next place Node looks. */
function climb(dir: string): string {
  const i = dir.lastIndexOf('/node_modules/');
  return i < 0 ? dirname(dir) : dir.slice(0, i);
}

/**
 * Copies the package (run-time parts and production dependencies) to `target`, owned by
 * root and writable by root only: built beside it, then swapped in, so a running daemon
 * never sees a half-copied tree.
 */
export function copyPackageStep(ctx: StepContext, target: string, source = PACKAGE_ROOT): Step {
  return {
    say: `copy the package ${source} to ${target} (root-owned, not writable by others)`,
    run() {
      const dest = under(ctx, target);
      const building = `${dest}.tunroute-${process.pid}.new`;
      rmSync(building, { recursive: true, force: true });
      mkdirSync(building, { recursive: true, mode: 0o755 });
      const parts = [...PACKAGE_PARTS.map((part) => ({ source: join(source, part), target: part })), ...dependencyFolders(source)];
      for (const { source: from, target } of parts) {
        if (!existsSync(from)) {
          if (target === 'LICENSE' || target === 'README.md') continue;
          throw new Error(`${from} is missing (run npm ci && npm run build first)`);
        }
        mkdirSync(dirname(join(building, target)), { recursive: true, mode: 0o755 });
        cpSync(from, join(building, target), { recursive: true, dereference: true, filter: (f) => !f.endsWith('.map') && !f.includes('/.bin/') });
      }
      rootOwned(building);
      const old = `${dest}.tunroute-${process.pid}.old`;
      mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
      if (existsSync(dest)) renameSync(dest, old);
      renameSync(building, dest);
      rmSync(old, { recursive: true, force: true });
    },
  };
}

/** root:0 everywhere, folders 0755, files 0644 (0755 when executable for anyone). */
function rootOwned(path: string): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  chownSync(path, 0, 0);
  if (st.isDirectory()) {
    chmodSync(path, 0o755);
    for (const name of readdirSync(path)) rootOwned(join(path, name));
  } else {
    chmodSync(path, st.mode & 0o111 ? 0o755 : 0o644);
  }
}
