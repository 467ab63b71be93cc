// The macOS-only native files compiled here, on Linux, against test/macos-sdk-stub/: the
// declarations of what they call, with the SDK's signatures. Nobody on this project can
// build against the real SDK, so this is where a misspelt SystemConfiguration function,
// a wrong argument count or a CFArray passed as a CFString fails, not on the first Mac.
// The mutation tests prove the stub is strict enough to catch exactly those mistakes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = new URL('../../../', import.meta.url).pathname;
const sources = join(root, 'native/src');
const MACOS_ONLY = ['dynamic_store.cc', 'platform_darwin.cc'];

function compiler(): string | null {
  for (const cxx of [process.env.CXX, 'g++', 'c++', 'clang++']) {
    if (cxx && spawnSync(cxx, ['--version'], { stdio: 'ignore' }).status === 0) return cxx;
  }
  return null;
}

/** Node's headers: those the addon was built with (native/build/config.gypi nodedir), else Node's own install. */
function nodeIncludeDir(): string | null {
  const candidates: string[] = [];
  const gypi = join(root, 'native/build/config.gypi');
  if (existsSync(gypi)) {
    const nodedir = /"nodedir":\s*"([^"]+)"/.exec(readFileSync(gypi, 'utf8'))?.[1];
    if (nodedir) candidates.push(join(nodedir, 'include/node'));
  }
  candidates.push(join(dirname(dirname(process.execPath)), 'include/node'), '/usr/include/node', '/usr/local/include/node');
  return candidates.find((dir) => existsSync(join(dir, 'node_api.h'))) ?? null;
}

function addonApiDir(): string {
  const require = createRequire(join(root, 'package.json'));
  return dirname(require.resolve('node-addon-api/package.json'));
}

interface Setup {
  cxx: string;
  args: string[];
}

function setup(t: { skip(reason: string): void }): Setup | null {
  if (process.platform === 'darwin') {
    t.skip('on macOS the real build compiles these files against the SDK');
    return null;
  }
  const cxx = compiler();
  if (cxx === null) {
    t.skip('needs a C++ compiler (g++, c++ or clang++)');
    return null;
  }
  const node = nodeIncludeDir();
  if (node === null) {
    t.skip("needs Node's headers (node_api.h), which the addon build also needs");
    return null;
  }
  return {
    cxx,
    // The flags binding.gyp gives the addon, plus -Werror, and what node-addon-api's gyp adds.
    args: ['-std=c++17', '-fsyntax-only', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Werror', '-D__APPLE__',
      `-DNAPI_VERSION=${process.versions.napi}`, '-DNAPI_CPP_EXCEPTIONS',
      '-I', join(root, 'test/macos-sdk-stub'), '-I', sources, '-I', addonApiDir(), '-I', node],
  };
}

function compile(s: Setup, file: string): { ok: boolean; output: string } {
  const result = spawnSync(s.cxx, [...s.args, file], { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

for (const name of MACOS_ONLY) {
  test(`native/src/${name} compiles against the macOS SDK declarations`, (t) => {
    const s = setup(t);
    if (!s) return;
    const result = compile(s, join(sources, name));
    assert.ok(result.ok, result.output);
  });
}

/** One mistake each, of the kinds that must never reach a Mac. */
const MUTATIONS: Array<{ what: string; file: string; from: string | RegExp; to: string; error: RegExp }> = [
  {
    what: 'a misspelt SystemConfiguration function',
    file: 'dynamic_store.cc',
    from: 'SCDynamicStoreNotifyValue(store_,',
    to: 'SCDynamicStoreNotifyValues(store_,',
    error: /SCDynamicStoreNotifyValues/,
  },
  {
    what: 'an argument left out',
    file: 'dynamic_store.cc',
    from: /SCDynamicStoreSetMultiple\(store_, static_cast<CFDictionaryRef>\(toSet\.get\(\)\), /,
    to: 'SCDynamicStoreSetMultiple(store_, ',
    error: /SCDynamicStoreSetMultiple/,
  },
  {
    what: 'a CFArray where a CFString belongs',
    file: 'dynamic_store.cc',
    from: 'SCDynamicStoreCopyKeyList(store_, static_cast<CFStringRef>(pattern.get()))',
    to: 'SCDynamicStoreCopyKeyList(store_, static_cast<CFArrayRef>(pattern.get()))',
    error: /CFArray|cannot convert|no matching/,
  },
  {
    what: 'an untyped CF pointer passed on',
    file: 'dynamic_store.cc',
    from: 'SCDynamicStoreCopyValue(store_, static_cast<CFStringRef>(key.get()))',
    to: 'SCDynamicStoreCopyValue(store_, key.get())',
    error: /invalid conversion|cannot convert|const void/,
  },
  {
    what: 'a misspelt option key',
    file: 'dynamic_store.cc',
    from: 'kSCDynamicStoreUseSessionKeys, kCFBooleanTrue',
    to: 'kSCDynamicStoreUseSessionKey, kCFBooleanTrue',
    error: /kSCDynamicStoreUseSessionKey/,
  },
  {
    what: 'a wrong sysctl argument',
    file: 'platform_darwin.cc',
    from: 'sysctl(mib, 6, nullptr, &needed, nullptr, 0)',
    to: 'sysctl(mib, 6, nullptr, needed, nullptr, 0)',
    error: /sysctl|conversion/,
  },
];

test('the SDK declarations are strict enough: each kind of mistake fails to compile', (t) => {
  const s = setup(t);
  if (!s) return;
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-macos-compile-'));
  try {
    for (const m of MUTATIONS) {
      const original = readFileSync(join(sources, m.file), 'utf8');
      const mutated = original.replace(m.from, m.to);
      assert.notEqual(mutated, original, `the mutation "${m.what}" found its text in ${m.file}`);
      const file = join(dir, m.file);
      writeFileSync(file, mutated);
      const result = compile(s, file);
      assert.equal(result.ok, false, `${m.what} compiled`);
      assert.match(result.output, m.error, m.what);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** node-gyp's own gyp (npm ships it): what `npm ci` runs to build the addon. */
function gypMain(): { main: string; nodeGyp: string } | null {
  const roots = [join(dirname(dirname(process.execPath)), 'lib/node_modules/npm/node_modules/node-gyp'), '/usr/share/nodejs/node-gyp', '/usr/lib/node_modules/npm/node_modules/node-gyp'];
  const nodeGyp = roots.find((r) => existsSync(join(r, 'gyp/gyp_main.py')));
  return nodeGyp ? { main: join(nodeGyp, 'gyp/gyp_main.py'), nodeGyp } : null;
}

test('binding.gyp: on macOS the addon gets dynamic_store.cc and links SystemConfiguration and CoreFoundation; on Linux neither', (t) => {
  const gyp = gypMain();
  if (gyp === null) return t.skip("needs node-gyp's gyp (shipped with npm)");
  if (spawnSync('python3', ['--version'], { stdio: 'ignore' }).status !== 0) return t.skip('needs python3, which node-gyp needs too');
  const gypi = join(root, 'native/build/config.gypi');
  if (!existsSync(gypi)) return t.skip('needs the addon built once (native/build/config.gypi)');
  const makefiles = (os: string): string => {
    const out = mkdtempSync(join(tmpdir(), `tunroute-gyp-${os}-`));
    try {
      const result = spawnSync('python3', [
        gyp.main, join(root, 'native/binding.gyp'), '-f', 'make', `-DOS=${os}`, '--depth=.', `--generator-output=${out}`, '-Goutput_dir=.',
        '-I', join(gyp.nodeGyp, 'addon.gypi'), '-I', gypi,
        `-Dnode_gyp_dir=${gyp.nodeGyp}`, `-Dmodule_root_dir=${join(root, 'native')}`, '-Dnode_root_dir=/usr', '-Dnode_lib_file=node.lib', '-Dnode_engine=v8',
        '-Dlibrary=shared_library', '-Dvisibility=default', '-Dstandalone_static_library=0', `-Dnapi_build_version=${process.versions.napi}`,
      ], { cwd: join(root, 'native'), encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      return readFileSync(join(out, 'tunroute_native.target.mk'), 'utf8');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  };
  const mac = makefiles('mac');
  assert.match(mac, /src\/dynamic_store\.o/);
  assert.match(mac, /LIBS := \\\n\t-framework SystemConfiguration \\\n\t-framework CoreFoundation/);
  const linux = makefiles('linux');
  assert.doesNotMatch(linux, /dynamic_store|platform_darwin|framework/);
  assert.match(linux, /src\/platform_linux\.o/);
});
