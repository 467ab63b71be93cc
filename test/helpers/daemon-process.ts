/**
 * @module test/helpers/daemon-process
 * A `tunroute` process started inside a test namespace, with its JSON log collected so a
 * test can wait for what the daemon says it did.
 */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Netns } from './netns.js';

export const CLI = new URL('../../daemon/cli.js', import.meta.url).pathname;

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export class DaemonProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly waiters: Array<() => void> = [];
  /** The daemon's own status-socket folder, so parallel tests never share one. */
  readonly runDir = mkdtempSync(join(tmpdir(), 'tunroute-run-'));

  /** `ns`: a test namespace, or anything that spawns inside one (the sandbox world's client). */
  constructor(ns: Pick<Netns, 'spawn'>, args: string[]) {
    const runDir = args[0] === 'run' && !args.includes('--run-dir') ? ['--run-dir', this.runDir] : [];
    this.child = ns.spawn('node', [CLI, ...args, ...runDir, '--log-format', 'json']);
    let buffer = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ msg: line });
        }
        for (const w of this.waiters.splice(0)) w();
      }
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => {
      for (const w of this.waiters.splice(0)) w();
      resolve(code);
    }));
  }

  /** Resolves with the first log line (from `from` on) matching `pred`; rejects after `ms`. */
  waitFor(pred: (line: LogLine) => boolean, ms = 10_000, from = 0): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`timed out waiting for a log line; last lines:\n${this.tail()}\nstderr: ${this.stderr}`)), ms);
      const check = (): void => {
        const hit = this.lines.slice(from).find(pred);
        if (hit) {
          clearTimeout(deadline);
          resolve(hit);
        } else if (this.child.exitCode !== null) {
          clearTimeout(deadline);
          reject(new Error(`daemon exited (${this.child.exitCode}) before the line came; last lines:\n${this.tail()}\nstderr: ${this.stderr}`));
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }

  /** Waits for the daemon to enter `state` after log line `from`. */
  waitForState(state: string, ms = 10_000, from = 0): Promise<LogLine> {
    return this.waitFor((l) => l.state === state, ms, from);
  }

  tail(n = 15): string {
    return this.lines.slice(-n).map((l) => JSON.stringify(l)).join('\n');
  }

  signal(sig: NodeJS.Signals): void {
    // `ip netns exec` execs the program, so the child's pid is the daemon's.
    this.child.kill(sig);
  }
}

/**
 * Writes a profile the way a careful admin would: root-owned, mode 0600, in its own folder.
 * `text` may be a function of that folder, for profiles that keep their journal beside them.
 */
export function writeProfile(text: string | ((dir: string) => string), name = 'profile.yaml'): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tunroute-test-'));
  const path = join(dir, name);
  writeFileSync(path, typeof text === 'string' ? text : text(dir));
  chmodSync(path, 0o600);
  return { dir, path };
}
