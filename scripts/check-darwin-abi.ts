/**
 * @module scripts/check-darwin-abi
 * The macOS CI job's ABI check: compiles scripts/darwin-abi-probe.c against the SDK with
 * `cc`, runs it, and compares every public constant, sizeof and offsetof it prints with
 * daemon/codec/darwin/constants.ts. A public constant the SDK does not define fails too:
 * the codec relies on every value in those tables (one that really is not in the SDK must
 * be marked `private`). The offsets the codec writes as literals (pid, seq, errno, the
 * rt_metrics fields, the if_data counters, the sockaddr_dl fields) are pinned to the same
 * tables by test/unit/codec-darwin-offsets.test.ts, so this check covers them as well.
 * Prints each difference and exits 1 if there is any; otherwise prints a summary and exits
 * 0. On other systems it prints "skipped: needs macOS SDK" and exits 0.
 *
 *   node dist/scripts/check-darwin-abi.js
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ALL_CONSTANTS } from '../daemon/codec/darwin/constants.js';

export interface ProbeOutput {
  constants: Record<string, number>;
  sizeof: Record<string, number>;
  offsetof: Record<string, number>;
}

export interface AbiReport {
  checked: number;
  /** Values that differ, that the probe prints but constants.ts lacks, or that the SDK lacks: these fail the check. */
  differences: string[];
  /** The public constants among `differences` that the SDK does not define. */
  missing: string[];
  /** Entries marked private (not in the SDK), so not checked. */
  skipped: number;
}

function sectionOf(group: string): keyof ProbeOutput {
  return group === 'sizeof' ? 'sizeof' : group === 'offsetof' ? 'offsetof' : 'constants';
}

/** Compares the probe's output with the TS tables. Pure, so it is unit-tested off macOS. */
export function compareAbi(probe: ProbeOutput, tables: typeof ALL_CONSTANTS = ALL_CONSTANTS): AbiReport {
  const report: AbiReport = { checked: 0, differences: [], missing: [], skipped: 0 };
  const expected = new Set<string>();
  for (const [group, table] of Object.entries(tables)) {
    const section = sectionOf(group);
    for (const [name, c] of Object.entries(table as Record<string, { value: number; header: string; private?: boolean }>)) {
      if (c.private) {
        report.skipped++;
        continue;
      }
      expected.add(`${section}:${name}`);
      const actual = probe[section][name];
      if (actual === undefined) {
        if (section === 'constants') {
          const line = `constants ${name} (${c.header}): not defined by the SDK; constants.ts has ${c.value} (mark it private if it is not public)`;
          report.missing.push(line);
          report.differences.push(line);
        } else {
          report.differences.push(`${section} ${name}: not printed by the probe; constants.ts has ${c.value}`);
        }
        continue;
      }
      report.checked++;
      if (actual !== c.value) report.differences.push(`${section} ${name} (${c.header}): SDK ${actual}, constants.ts ${c.value}`);
    }
  }
  for (const section of ['constants', 'sizeof', 'offsetof'] as const) {
    for (const name of Object.keys(probe[section])) {
      if (!expected.has(`${section}:${name}`)) report.differences.push(`${section} ${name}: printed by the probe but not in constants.ts`);
    }
  }
  return report;
}

function runProbe(): ProbeOutput {
  const source = fileURLToPath(new URL('../../scripts/darwin-abi-probe.c', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'darwin-abi-'));
  try {
    const binary = join(dir, 'darwin-abi-probe');
    execFileSync('cc', ['-Wall', '-Werror', '-o', binary, source], { stdio: ['ignore', 'inherit', 'inherit'] });
    return JSON.parse(execFileSync(binary, { encoding: 'utf8' })) as ProbeOutput;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): number {
  if (process.platform !== 'darwin') {
    console.log('skipped: needs macOS SDK');
    return 0;
  }
  const report = compareAbi(runProbe());
  for (const line of report.differences) console.log(`${report.missing.includes(line) ? 'MISSING' : 'DIFFERENT'}: ${line}`);
  if (report.differences.length > 0) {
    console.log(`darwin ABI: ${report.differences.length} difference(s) in ${report.checked} checked value(s)`);
    return 1;
  }
  console.log(
    `darwin ABI: ${report.checked} value(s) match the SDK (${report.skipped} private ones not checked)`,
  );
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main();
}
