#!/usr/bin/env -S node --max-semi-space-size=4
/**
 * @module cli
 * The `tunroute` command: picks the subcommand and maps outcomes to exit statuses.
 * Each subcommand lives in commands/<name>.ts and exports `main(args)`, loaded on demand
 * so `tunroute --help` never loads the native addon.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';

interface Command {
  summary: string;
  load: () => Promise<{ main(args: string[]): Promise<number> }>;
}

const COMMANDS: Record<string, Command> = {
  run: { summary: 'run PROFILE             keep the profile\'s routes installed until SIGTERM', load: () => import('./commands/run.js') },
  check: { summary: 'check PROFILE           validate a profile and print a summary', load: () => import('./commands/check.js') },
  plan: { summary: 'plan PROFILE            print the routes and actions the profile would produce', load: () => import('./commands/plan.js') },
  status: { summary: 'status [PROFILE]        show what running daemons are doing (--json for the document)', load: () => import('./commands/status.js') },
  'install-service': { summary: 'install-service PROFILE start the profile at boot (systemd or launchd), root-owned', load: () => import('./commands/install-service.js') },
  'uninstall-service': { summary: 'uninstall-service PROFILE  stop it and remove the service (--purge: the profile too)', load: () => import('./commands/uninstall-service.js') },
  sandbox: { summary: 'sandbox [PROFILE]       Linux: watch tunroute work in a throwaway network of namespaces', load: () => import('./commands/sandbox.js') },
  restore: { summary: 'restore [PROFILE]       undo what an earlier, killed run left in the table', load: () => import('./commands/restore.js') },
  decode: { summary: 'decode --os OS [HEX…]   print routing messages given as hex', load: () => import('./commands/decode.js') },
  monitor: { summary: 'monitor [--json]        print routing messages as the kernel sends them', load: () => import('./commands/monitor.js') },
};

export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, CONFIG: 78 } as const;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function usage(): string {
  const lines = Object.values(COMMANDS).map((c) => `  tunroute ${c.summary}`);
  return [
    'usage: tunroute <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'tunroute <command> --help prints the options of one command.',
    'tunroute --version prints the version.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(version() + '\n');
    return EXIT.OK;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`tunroute: unknown command "${name}"\n\n${usage()}\n`);
    return EXIT.USAGE;
  }
  try {
    const module = await command.load();
    return await module.main(rest);
  } catch (e) {
    if (e instanceof UsageError || isParseArgsError(e)) {
      process.stderr.write(`tunroute ${name}: ${e instanceof UsageError ? e.message : parseArgsMessage(e as Error & { code: string })} (see tunroute ${name} --help)\n`);
      return EXIT.USAGE;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`tunroute ${name}: ${message}\n`);
    return EXIT.FAILURE;
  }
}

/** node:util parseArgs rejects unknown options and missing values with ERR_PARSE_ARGS_* codes: a usage error. */
function isParseArgsError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** parseArgs's messages, shortened to what was wrong. */
function parseArgsMessage(e: Error & { code: string }): string {
  const option = /'(-[^' ]*)/.exec(e.message)?.[1];
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) return /argument missing/.test(e.message) ? `option ${option} needs a value` : `option ${option} takes no value`;
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${/'([^']*)'/.exec(e.message)?.[1] ?? ''}`.trim();
  return e.message;
}

// Output that cannot be written (a closed pipe: `tunroute plan | head`; a full disk) ends a
// command with one line, never a stack trace. `run` contains its own log failures (logger.ts):
// a daemon holding the routing table must not exit because its log reader went away.
if (process.argv[2] !== 'run') {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    try {
      const name = process.argv[2];
      process.stderr.write(`tunroute${name !== undefined && name in COMMANDS ? ` ${name}` : ''}: cannot write the output (${e.code ?? e.message})\n`);
    } catch {
      // stderr is gone too
    }
    process.exit(e.code === 'EPIPE' ? 0 : EXIT.FAILURE);
  });
}
process.stderr.on('error', () => {
  // Nothing left to report to; the exit status still tells.
});

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (e: unknown) => {
    process.stderr.write(`tunroute: ${String(e)}\n`);
    process.exitCode = EXIT.FAILURE;
  },
);
