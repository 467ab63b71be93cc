/**
 * @module commands/run
 * `tunroute run PROFILE`: the daemon, in the foreground (launchd and systemd supervise it).
 */
import { parseArgs } from 'node:util';
import type { LevelWithSilent } from 'pino';
import { runDaemon } from '../daemon.js';
import { UsageError } from '../errors.js';
import { LAUNCHD_LABEL_ENV, leaveStopMarker, takeStopMarker } from '../service/stop-marker.js';
import { RUN_DIR } from '../status/socket.js';
import { defaultLogFormat, LOG_FORMATS, LOG_LEVELS, LogFile, type LogFormat } from '../logger.js';

const HELP = `usage: tunroute run PROFILE [--log-level LEVEL] [--log-format json|pretty|journal]
                          [--log-file PATH] [--run-dir DIR]

Installs the profile's routes once its interface is up, keeps them in place while the
network changes, and on SIGTERM or SIGINT removes what it added and restores what it
moved. SIGHUP (or saving the profile) reloads the profile.

  --log-level LEVEL   trace, debug, info, warn, error, fatal or silent (default: the profile's)
  --log-format FMT    json (default when not a terminal), pretty, or journal (json with
                      the <priority> prefix journald reads; the systemd unit uses it)
  --log-file PATH     append log lines to PATH instead of stdout; SIGUSR2 reopens it
                      (newsyslog sends it after rotating the file)
  --run-dir DIR       where the status socket goes: DIR/<profile name>.sock (default ${RUN_DIR})

Exit status: 0 stopped cleanly, 1 failure or unfinished cleanup (run \`tunroute restore\`),
2 usage, 75 another instance runs this profile, 78 the profile has problems (nothing was changed).
`;

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'log-level': { type: 'string' }, 'log-format': { type: 'string' }, 'run-dir': { type: 'string' }, 'log-file': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('needs exactly one PROFILE');
  const level = values['log-level'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const format = values['log-format'] ?? process.env.TUNROUTE_LOG_FORMAT ?? defaultLogFormat();
  if (!(LOG_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--log-format must be one of ${LOG_FORMATS.join(', ')}`);
  const runDir = values['run-dir'] ?? RUN_DIR;
  const profilePath = positionals[0] as string;
  // Under launchd: the previous stop could not finish its cleanup, and launchd restarted us
  // because of that. Finish the cleanup and stay stopped, as the user asked (service/stop-marker.ts).
  const label = process.env[LAUNCHD_LABEL_ENV];
  if (label !== undefined && takeStopMarker(runDir, label)) {
    process.stdout.write(`tunroute run: the last stop of ${label} did not finish its cleanup; finishing it and staying stopped (launchctl kickstart system/${label} starts it again)\n`);
    const { main: restore } = await import('./restore.js');
    return restore([profilePath]);
  }
  const logFile = values['log-file'] === undefined ? null : new LogFile(values['log-file']);
  const reopen = (): void => logFile?.reopen();
  if (logFile) process.on('SIGUSR2', reopen);
  const status = await runDaemon({
    ...(logFile ? { logWrite: (line: string) => logFile.write(line), errorWrite: (line: string) => logFile.write(line) } : {}),
    // Under systemd, the one-line startup errors (a bad profile) are errors in the journal too.
    ...(!logFile && format === 'journal' ? { errorWrite: (line: string) => process.stderr.write(`<3>${line}`) } : {}),
    profilePath,
    ...(level !== undefined ? { logLevel: level as LevelWithSilent } : {}),
    logFormat: format as LogFormat,
    runDir,
    ...(label !== undefined ? { onUncleanStop: () => leaveStopMarker(runDir, label) } : {}),
  });
  // The daemon has stopped: its table is restored, or the journal holds what is left. Its exit
  // status is what launchd and systemd act on, so it must not wait for every library handle
  // (a file watcher still being set up when the signal came) to let the event loop drain.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(status);
}
