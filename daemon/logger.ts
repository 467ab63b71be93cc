/**
 * @module logger
 * pino, writing JSON lines to stdout (launchd and systemd capture them) or, on a
 * terminal, one readable line per event. The readable form is a few lines here rather
 * than pino-pretty: it needs no worker thread and no extra dependency in a root daemon.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };
/** json: pino's lines. pretty: one readable line per event. journal: json behind a `<priority>` prefix for journald. */
export type LogFormat = 'json' | 'pretty' | 'journal';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty', 'journal'];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Formats one pino JSON line as `HH:MM:SS.mmm LEVEL msg key=value …`. */
export function prettyLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, pid: _pid, hostname: _hostname, ...rest } = record;
  const when = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/[\s"]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(' ');
  return `${when} ${(LEVEL_NAMES[level as number] ?? String(level)).padEnd(5)} ${String(msg ?? '')}${fields ? ' ' + fields : ''}\n`;
}

/** pino level → syslog priority (journald's PRIORITY): trace/debug 7, info 6, warn 4, error 3, fatal 2. */
const SYSLOG_PRIORITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

/**
 * A JSON line with the `<N>` prefix systemd reads on a service's stdout (SyslogLevelPrefix=,
 * on by default): journald stores the line under that priority, so `journalctl -p warning`
 * finds warnings, and strips the prefix.
 */
export function journalLine(json: string): string {
  const level = /"level":(\d+)/.exec(json)?.[1];
  return `<${SYSLOG_PRIORITY[Number(level)] ?? 6}>${json}`;
}

export interface LoggerOptions {
  level: LevelWithSilent;
  format: LogFormat;
  /** Where lines go; stdout by default. Tests pass a collector. */
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? stdoutWriter();
  const format = { json: write, pretty: (line: string) => write(prettyLine(line)), journal: (line: string) => write(journalLine(line)) }[options.format];
  const stream = { write: format };
  return pino({ level: options.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.epochTime }, stream);
}

/** The format to use when none is asked for: readable on a terminal, JSON elsewhere. */
export function defaultLogFormat(): LogFormat {
  return process.stdout.isTTY ? 'pretty' : 'json';
}

/**
 * A log file the daemon writes itself (launchd's StandardOutPath would stay open on the
 * rotated file forever). newsyslog renames it and sends SIGUSR2 (its entry names the pid
 * file); `reopen` then starts a new file at the same path. SIGUSR1 is Node's debugger signal.
 */
export class LogFile {
  private fd: number;
  readonly path: string;

  constructor(path: string) {
    this.path = path;
    this.fd = LogFile.open(path);
  }

  private static open(path: string): number {
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    return openSync(path, 'a', 0o640);
  }

  /** A full log disk (ENOSPC) or an I/O error is reported once and the line dropped: routing goes on. */
  write(line: string): void {
    try {
      writeSync(this.fd, line);
      this.failed = null;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      if (this.failed === null) reportToStderr(`tunroute: writing ${this.path} failed (${code}); routing continues, log lines are dropped\n`);
      this.failed = code;
    }
  }

  private failed: string | null = null;

  reopen(): void {
    const fd = LogFile.open(this.path);
    closeSync(this.fd);
    this.fd = fd;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Writes log lines to stdout, and contains its failures: a closed pipe (EPIPE, the log
 * reader went away) or a full disk (ENOSPC) must never stop a daemon that is holding the
 * routing table, let alone make it exit 0 mid-install. The first failure is reported once on
 * stderr; later lines are dropped until stdout works again (ENOSPC can clear).
 */
export function stdoutWriter(stream: NodeJS.WriteStream = process.stdout, report: (line: string) => void = reportToStderr): (line: string) => void {
  let failed: string | null = null;
  const onError = (e: NodeJS.ErrnoException): void => {
    if (failed === null) report(`tunroute: log output failed (${e.code ?? e.message}); routing continues, log lines are dropped\n`);
    failed = e.code ?? 'error';
  };
  stream.on('error', onError);
  return (line: string) => {
    if (failed === 'EPIPE') return;
    try {
      stream.write(line, (e) => {
        if (e) onError(e as NodeJS.ErrnoException);
        else failed = null;
      });
    } catch (e) {
      onError(e as NodeJS.ErrnoException);
    }
  };
}

function reportToStderr(line: string): void {
  try {
    process.stderr.write(line, () => {});
  } catch {
    // stderr is gone too: nothing left to tell
  }
}
