/**
 * @module service/service
 * install-service and uninstall-service for both service managers: systemd (Linux, one
 * template unit `tunroute@.service`, instance = profile name) and launchd (macOS, one
 * LaunchDaemon per profile, label `org.tunroute.<name>`).
 *
 * Root runs the daemon, so root must own everything it runs and reads: the package is
 * copied to a root-owned prefix (never the user's checkout, which the user could edit),
 * the node binary is the real one (process.execPath resolved, never a version manager's
 * shim in a home folder), and the profile is installed root-owned 0600.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import type { Platform, Profile } from '../profile/profile.js';
import { defaultJournalPath } from '../profile/profile.js';
import { RUN_DIR, pidFilePath } from '../status/socket.js';
import { stopMarkerPath } from './stop-marker.js';
import { commandStep, copyPackageStep, PACKAGE_ROOT, packageVersion, removeStep, under, writeFileStep, type Step, type StepContext } from './steps.js';

export const DEFAULT_PREFIX = '/usr/local/lib/tunroute';

/** Where each platform keeps installed profiles. */
export const CONFIG_DIR: Record<Platform, string> = { darwin: '/usr/local/etc/tunroute', linux: '/etc/tunroute' };

export const UNIT_PATH = '/etc/systemd/system/tunroute@.service';
export const unitInstance = (name: string): string => `tunroute@${name}.service`;
export const launchdLabel = (name: string): string => `org.tunroute.${name}`;
export const plistPath = (name: string): string => `/Library/LaunchDaemons/${launchdLabel(name)}.plist`;
export const newsyslogPath = (name: string): string => `/etc/newsyslog.d/${launchdLabel(name)}.conf`;
export const logPath = (name: string): string => `/var/log/tunroute/${name}.log`;
export const stderrLogPath = (name: string): string => `/var/log/tunroute/${name}.stderr.log`;

export interface InstallRequest {
  os: Platform;
  profile: Profile;
  /** The profile file's text, installed as is. */
  profileText: string;
  /** Folder of versioned copies (default /usr/local/lib/tunroute). */
  prefix: string;
  /** The node binary the service runs; resolved from process.execPath by default. */
  node?: string;
  /** The package to copy (this one by default). */
  source?: string;
}

export function installedPackage(prefix: string, source = PACKAGE_ROOT): string {
  return join(prefix, packageVersion(source));
}

/** The real node binary: version managers put a shim first on PATH; root must not run a file in a home folder. */
export function realNode(): string {
  return realpathSync(process.execPath);
}

export function profileTarget(os: Platform, name: string): string {
  return join(CONFIG_DIR[os], `${name}.yaml`);
}

// ---- systemd -------------------------------------------------------------------------

/** The shipped unit with the node binary and the installed package filled in. */
export function renderUnit(template: string, node: string, pkg: string): string {
  // systemd splits ExecStart= on spaces and expands % and $: paths with those cannot be written plainly.
  for (const [what, value] of [['node', node], ['package', pkg]] as const) {
    if (/[\s%$"'\\;]/.test(value)) throw new Error(`the ${what} path "${value}" contains a character systemd's ExecStart= would misread; use another --prefix`);
  }
  return template.replaceAll('@NODE@', node).replaceAll('@PREFIX@', pkg);
}

function readTemplate(source: string, path: string): string {
  return readFileSync(join(source, path), 'utf8');
}

function schemaText(source: string): string {
  return readTemplate(source, 'config/profile.schema.json');
}

function installProfileSteps(ctx: StepContext, req: InstallRequest, source: string): Step[] {
  const target = profileTarget(req.os, req.profile.name);
  return [
    writeFileStep(ctx, target, req.profileText, 0o600, `the profile, from ${req.profile.file}`),
    // The examples' modeline (`$schema=./profile.schema.json`) finds it beside the profile.
    writeFileStep(ctx, join(CONFIG_DIR[req.os], 'profile.schema.json'), schemaText(source), 0o644, 'the schema editors validate the profile against'),
  ];
}

export function systemdInstallSteps(ctx: StepContext, req: InstallRequest): Step[] {
  const source = req.source ?? PACKAGE_ROOT;
  const pkg = installedPackage(req.prefix, source);
  const unit = renderUnit(readTemplate(source, 'systemd/tunroute@.service'), req.node ?? realNode(), pkg);
  const instance = unitInstance(req.profile.name);
  const steps = [
    copyPackageStep(ctx, pkg, source),
    ...installProfileSteps(ctx, req, source),
    writeFileStep(ctx, UNIT_PATH, unit, 0o644, 'the systemd unit template'),
  ];
  if (ctx.root) {
    // systemctl --root edits the enablement links only; nothing is loaded or started.
    steps.push(commandStep(ctx, ['systemctl', `--root=${ctx.root}`, 'enable', instance], 'start at boot; not started now: --root'));
  } else {
    steps.push(
      commandStep(ctx, ['systemctl', 'daemon-reload'], 'load the unit'),
      commandStep(ctx, ['systemctl', 'enable', instance], 'start at boot'),
      // restart = stop (the old instance restores the table and exits) and then start.
      commandStep(ctx, ['systemctl', 'restart', instance], 'start it now, replacing a running instance'),
    );
  }
  return steps;
}

/** Profile names with an enabled instance, from the unit's .wants links. */
export function enabledInstances(ctx: StepContext): string[] {
  const dir = under(ctx, '/etc/systemd/system');
  const names = new Set<string>();
  let folders: string[] = [];
  try {
    folders = readdirSync(dir).filter((f) => f.endsWith('.wants'));
  } catch {
    return [];
  }
  for (const folder of folders) {
    for (const file of readdirSync(join(dir, folder))) {
      const m = /^tunroute@(.+)\.service$/.exec(file);
      if (m) names.add(m[1] as string);
    }
  }
  return [...names].sort();
}

/** The installed copy a unit or plist runs (…/dist/daemon/cli.js's package folder), if it is one of ours under `prefix`. */
function packageIn(text: string, prefix: string): string | null {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`(${escaped}/[^/\\s<]+)/dist/daemon/cli\\.js`).exec(text);
  return m ? (m[1] as string) : null;
}

export interface UninstallRequest {
  os: Platform;
  name: string;
  prefix: string;
  purge: boolean;
  /** The journal path the profile names, when the profile could be read (for --purge). */
  journal?: string;
}

function purgeSteps(ctx: StepContext, req: UninstallRequest, otherProfiles: boolean): Step[] {
  if (!req.purge) return [];
  const journal = req.journal ?? defaultJournalPath(req.os, req.name);
  const steps: Step[] = [removeStep(ctx, profileTarget(req.os, req.name), 'the profile (--purge)')];
  if (!otherProfiles) steps.push(removeStep(ctx, join(CONFIG_DIR[req.os], 'profile.schema.json'), 'the schema (--purge, no other profile left)'));
  steps.push({
    say: `remove ${journal} (the journal, --purge), unless it still lists moved routes`,
    run() {
      // A clean stop removes the journal. One that is left lists routes still moved aside:
      // deleting it would lose them, so it stays for `tunroute restore`.
      if (existsSync(under(ctx, journal))) throw new Error(`${journal} still lists routes moved aside (the stop did not finish its cleanup); run \`sudo tunroute restore ${profileTarget(req.os, req.name)}\` and uninstall again`);
    },
  });
  // The instance lock beside the journal: its daemon is stopped by now, so nothing holds it.
  steps.push(removeStep(ctx, `${journal}.lock`, 'the instance lock (--purge)'));
  return steps;
}

function otherProfilesExist(ctx: StepContext, os: Platform, name: string): boolean {
  try {
    return readdirSync(under(ctx, CONFIG_DIR[os])).some((f) => /\.ya?ml$/.test(f) && f !== `${name}.yaml`);
  } catch {
    return false;
  }
}

export function systemdUninstallSteps(ctx: StepContext, req: UninstallRequest): Step[] {
  const instance = unitInstance(req.name);
  const unitFile = under(ctx, UNIT_PATH);
  const steps: Step[] = [];
  const enabled = enabledInstances(ctx);
  if (existsSync(unitFile)) {
    steps.push(
      ctx.root
        ? commandStep(ctx, ['systemctl', `--root=${ctx.root}`, 'disable', instance], 'no longer started at boot')
        : // --now stops it too, and waits: the stopping daemon restores the table first.
          commandStep(ctx, ['systemctl', 'disable', '--now', instance], 'stop it (the table is restored) and no longer start it at boot'),
    );
    const others = enabled.filter((n) => n !== req.name);
    if (others.length === 0) {
      const pkg = packageIn(readFileSync(unitFile, 'utf8'), req.prefix);
      steps.push(removeStep(ctx, UNIT_PATH, 'the unit template: no other instance uses it'));
      if (!ctx.root) steps.push(commandStep(ctx, ['systemctl', 'daemon-reload'], 'forget the unit'));
      if (pkg) steps.push(removeStep(ctx, pkg, 'the installed copy of the package'));
    } else {
      steps.push({ say: `keep ${UNIT_PATH} and the installed package: ${others.map(unitInstance).join(', ')} still use them`, run() {} });
    }
  } else {
    steps.push({ say: `nothing to stop: ${UNIT_PATH} is not installed`, run() {} });
  }
  return [...steps, ...purgeSteps(ctx, req, otherProfilesExist(ctx, req.os, req.name))];
}

// ---- launchd -------------------------------------------------------------------------

/** Escapes text for a plist <string>: &, < and > (and quotes, harmlessly). */
export function plistEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** The inverse of plistEscape, to read back the paths a plist names. */
export function plistUnescape(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

export function renderPlist(template: string, values: { label: string; node: string; cli: string; profile: string; log: string; stderrLog: string }): string {
  const fill: Record<string, string> = { LABEL: values.label, NODE: values.node, CLI: values.cli, PROFILE: values.profile, LOG: values.log, STDERR_LOG: values.stderrLog };
  return template.replace(/@([A-Z_]+)@/g, (whole, key: string) => (key in fill ? plistEscape(fill[key] as string) : whole));
}

/**
 * newsyslog.d entry: rotate at 1 MB, keep 7 compressed, then signal the daemon (SIGUSR2,
 * 31 on macOS) through its pid file, and the daemon reopens its log.
 */
export function renderNewsyslog(name: string): string {
  return [
    `# tunroute ${name}: written by tunroute install-service`,
    '# logfilename                    [owner:group]  mode  count  size(KB)  when  flags  [/pid_file]  [sig_num]',
    `${logPath(name)}  root:wheel  640  7  1024  *  J  ${pidFilePath(RUN_DIR, name)}  31`,
    `${stderrLogPath(name)}  root:wheel  640  3  1024  *  JN`,
    '',
  ].join('\n');
}

/** bootout returns before the job has exited on some releases: wait until launchd no longer knows it. */
function bootoutStep(label: string): Step {
  return {
    say: `run launchctl bootout system/${label}, and wait until it has exited  (the running instance restores the table)`,
    async run() {
      const known = (): boolean => spawnSync('launchctl', ['print', `system/${label}`], { stdio: 'ignore' }).status === 0;
      if (!known()) return;
      spawnSync('launchctl', ['bootout', `system/${label}`], { stdio: 'ignore' });
      // ExitTimeOut is 30 s: launchd has SIGKILLed it by then.
      for (let waited = 0; known(); waited += 200) {
        if (waited > 40_000) throw new Error(`system/${label} did not exit within 40 s after bootout`);
        await sleep(200);
      }
    },
  };
}

export function launchdInstallSteps(ctx: StepContext, req: InstallRequest): Step[] {
  const source = req.source ?? PACKAGE_ROOT;
  const pkg = installedPackage(req.prefix, source);
  const name = req.profile.name;
  const label = launchdLabel(name);
  const plist = renderPlist(readTemplate(source, 'launchd/org.tunroute.plist'), {
    label,
    node: req.node ?? realNode(),
    cli: join(pkg, 'dist/daemon/cli.js'),
    profile: profileTarget('darwin', name),
    log: logPath(name),
    stderrLog: stderrLogPath(name),
  });
  const steps = [
    copyPackageStep(ctx, pkg, source),
    ...installProfileSteps(ctx, req, source),
    writeFileStep(ctx, newsyslogPath(name), renderNewsyslog(name), 0o644, 'log rotation'),
    writeFileStep(ctx, plistPath(name), plist, 0o644, `the LaunchDaemon ${label}`),
  ];
  if (ctx.root) {
    steps.push({ say: `not loading ${label}: --root`, run() {} });
  } else {
    steps.push(
      bootoutStep(label),
      // Install means on: an unclean stop's marker would make the new job stay stopped.
      removeStep(ctx, stopMarkerPath(RUN_DIR, label), 'the marker of an unclean stop, if any'),
      // A disabled job refuses to bootstrap (and stays off at boot); install means on.
      commandStep(ctx, ['launchctl', 'enable', `system/${label}`], 'allow it to run, now and at boot'),
      commandStep(ctx, ['launchctl', 'bootstrap', 'system', plistPath(name)], 'load and start it'),
    );
  }
  return steps;
}

export function launchdUninstallSteps(ctx: StepContext, req: UninstallRequest): Step[] {
  const label = launchdLabel(req.name);
  const plist = under(ctx, plistPath(req.name));
  const steps: Step[] = [];
  if (!ctx.root) steps.push(bootoutStep(label));
  let pkg: string | null = null;
  if (existsSync(plist)) pkg = packageIn(plistUnescape(readFileSync(plist, 'utf8')), req.prefix);
  steps.push(removeStep(ctx, plistPath(req.name), `the LaunchDaemon ${label}`), removeStep(ctx, newsyslogPath(req.name), 'log rotation'));
  if (pkg) {
    const plistDir = under(ctx, '/Library/LaunchDaemons');
    const users = readdirSync(plistDir).filter((f) => f.startsWith('org.tunroute.') && f !== `${label}.plist` && plistUnescape(readFileSync(join(plistDir, f), 'utf8')).includes(`${pkg}/`));
    if (users.length === 0) steps.push(removeStep(ctx, pkg, 'the installed copy of the package'));
    else steps.push({ say: `keep ${pkg}: ${users.join(', ')} still run it`, run() {} });
  }
  if (req.purge) steps.push(removeStep(ctx, logPath(req.name), 'the log (--purge)'));
  return [...steps, ...purgeSteps(ctx, req, otherProfilesExist(ctx, req.os, req.name))];
}
