/** What the probes share: `ip` inside the namespace they run in, and one JSON line of output. */
import { spawnSync } from 'node:child_process';

/** Runs `ip ARGS`; its output, or an error with its stderr. */
export function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Prints one observation as a JSON line (the test reads them with jsonLines). */
export function print(o: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}
