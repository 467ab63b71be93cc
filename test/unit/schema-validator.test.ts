// The schema validator the daemon runs is generated when tunroute is built
// (scripts/gen-schema-validator.ts): ajv's compile of config/profile.schema.json, as code.
// It must be exactly what ajv compiles from the schema in the tree, behave like it on good
// and bad profiles, and spare the running process ajv's compiler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { AJV_FORMATS, AJV_OPTIONS } from '../../daemon/profile/schema-formats.js';
import { validate } from '../../daemon/profile/schema-validator.js';
import { schemaValidatorSource } from '../../scripts/gen-schema-validator.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const CLI = new URL('../../daemon/cli.js', import.meta.url).pathname;
const SCHEMA_TEXT = readFileSync(join(ROOT, 'config/profile.schema.json'), 'utf8');

test('the built validator is the code ajv generates from the schema in the tree (rebuild after editing the schema)', () => {
  assert.equal(readFileSync(new URL('../../daemon/profile/schema-validator.js', import.meta.url), 'utf8'), schemaValidatorSource(SCHEMA_TEXT));
});

test('the generated validator and ajv compiling the schema at run time agree on every example and bad profile', () => {
  const ajv = new Ajv({ ...AJV_OPTIONS });
  for (const [name, format] of Object.entries(AJV_FORMATS)) ajv.addFormat(name, format);
  const compiled = ajv.compile(JSON.parse(SCHEMA_TEXT) as object);
  const bad = join(ROOT, 'test/fixtures/profiles/bad');
  const files = [join(ROOT, 'config/full-tunnel.yaml'), join(ROOT, 'config/split-tunnel.yaml'), ...readdirSync(bad).map((f) => join(bad, f))];
  let invalid = 0;
  for (const file of files) {
    let value: unknown;
    try {
      value = parse(readFileSync(file, 'utf8'));
    } catch {
      continue; // not YAML at all (a duplicate key, a syntax error): the schema never sees it
    }
    const ok = compiled(value);
    assert.equal(validate(value), ok, file);
    assert.deepEqual(validate.errors ?? null, compiled.errors ?? null, file);
    if (!ok) invalid++;
  }
  assert.ok(invalid >= 10, `the bad profiles include schema failures (${invalid})`);
});

test('tunroute check validates without loading ajv', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-ajv-'));
  const report = join(dir, 'report.mjs');
  // At exit, the CommonJS modules node loaded (ajv is one), as the cache lists them.
  writeFileSync(report, "import { createRequire } from 'node:module';\nconst { cache } = createRequire(import.meta.url);\nprocess.on('exit', () => process.stderr.write(`loaded=${JSON.stringify(Object.keys(cache))}\\n`));\n");
  const r = spawnSync(process.execPath, ['--import', report, CLI, 'check', '--os', 'linux', join(ROOT, 'test/fixtures/profiles/bad/duration-bad.yaml')], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /is not a duration/, 'the schema ran');
  const loaded = JSON.parse(/^loaded=(.*)$/m.exec(r.stderr)?.[1] ?? 'null') as string[];
  assert.ok(loaded.some((f) => f.includes('/node_modules/yaml/')), 'the report sees CommonJS modules');
  assert.deepEqual(loaded.filter((f) => f.includes('/node_modules/ajv/')), []);
});
