/**
 * @module test/unit/profile-bad
 * Every file in test/fixtures/profiles/bad is a broken profile that names, in its own
 * `# expect:` lines, each problem the validator must report: exact position, key path
 * and message, in order, and nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { validateProfileText } from '../../daemon/profile/validate.js';
import type { Platform } from '../../daemon/profile/profile.js';

const DIR = new URL('../../../test/fixtures/profiles/bad/', import.meta.url);
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

test('there are at least 30 bad profiles', () => {
  assert.ok(files.length >= 30, `only ${files.length} fixtures`);
});

for (const name of files) {
  test(`bad profile ${name}`, () => {
    const text = readFileSync(new URL(name, DIR), 'utf8');
    const platform = /^# platform: (darwin|linux)$/m.exec(text)?.[1] as Platform | undefined;
    assert.ok(platform, 'fixture names its platform');
    const expected = [...text.matchAll(/^# expect: (.*)$/gm)].map((m) => m[1]);
    assert.ok(expected.length > 0, 'fixture names at least one expected problem');
    const result = validateProfileText(text, name, { platform });
    assert.equal(result.profile, undefined, 'a bad profile must not validate');
    const got = (result.problems ?? []).map((p) => {
      assert.equal(p.file, name);
      return `${p.line}:${p.col} ${p.path}: ${p.message}`;
    });
    assert.deepEqual(got, expected);
  });
}
