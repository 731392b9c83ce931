import fs from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import { resolvePort } from '../config/resolve-port.ts';
import { canExecute, runAsOf, type RunAs } from '../config/find-program.ts';
import { findAppAccount } from '../process/user.ts';
import { findOtherWriters } from '../root-only-dir.ts';
import { checkStateSurvivesReboot } from './volatile-mount.ts';
import { showUnit } from './systemctl.ts';
import { describeMask, findMask } from './unit-file.ts';
import { describeBackgrounding } from './background-script.ts';
import { canAppendLog, describeTooOld, readSystemdVersion } from './systemd-version.ts';

/** Who keeps the app running between deployments. */
export type SupervisorName = 'systemd' | 'direct';

/** True when systemd is PID 1 (the test sd_booted makes: /run/systemd/system exists). */
export function isSystemdBooted(runDir = '/run/systemd/system'): boolean {
  return fs.statSync(runDir, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/**
 * app.supervisor as it applies on this host: `auto` is systemd where PID 1 is systemd, otherwise direct; and direct
 * where a config that works when started directly would not under the unit portproof writes (see findSystemdBlockers).
 */
export function chooseSupervisor(
  config: LoadedConfig,
  booted = isSystemdBooted(),
  version = booted ? readSystemdVersion() : null,
): SupervisorName {
  if (config.app.supervisor === 'auto') {
    if (!booted) return 'direct';
    return config.app.unit === undefined && findSystemdBlockers(config, version).length > 0 ? 'direct' : 'systemd';
  }
  return config.app.supervisor;
}

/**
 * Why `auto` stays direct on a host whose PID 1 is systemd: what a config that worked when started directly (before
 * `auto` picked systemd) would break under the unit portproof writes. A WARNING for the verdict, '' when none.
 */
export function describeAutoFallback(
  config: LoadedConfig,
  booted = isSystemdBooted(),
  version = booted ? readSystemdVersion() : null,
): string {
  if (config.app.supervisor !== 'auto' || !booted || config.app.unit !== undefined) return '';
  const blockers = findSystemdBlockers(config, version);
  if (blockers.length === 0) return '';
  return `WARNING: app.supervisor auto chose direct, not systemd: ${blockers.join('; ')}`;
}

/** What the unit portproof writes cannot hold or do for this config; each a line naming its key. */
function findSystemdBlockers(config: LoadedConfig, version: number | null): string[] {
  const problems: string[] = [];
  const tooOld = describeTooOld(version);
  if (tooOld) problems.push(`app.supervisor: ${tooOld}`);
  // Each path goes on one line of the unit file: a line break would end it there.
  for (const [key, value] of [
    ['app.cwd', config.app.cwd],
    ['app.log', config.app.log],
  ] as const) {
    if (/[\n\r]/.test(value)) problems.push(`${key}: contains a line break, which a systemd unit cannot hold`);
  }
  // Before v240 the app's output goes to the journal: systemd opens no log file then.
  if (canAppendLog(version))
    problems.push(...config.ports.flatMap((port) => checkRootOnlyLogDirectory(resolvePort(config, port).logFile)));
  const backgrounds = describeBackgrounding(config);
  if (backgrounds) problems.push(backgrounds);
  // systemd drops (and logs, value and all) an assignment whose name it does not accept: refused, naming the key only.
  for (const key of Object.keys(config.app.env).filter((name) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))) {
    problems.push(`app.env.${key}: systemd takes only names of letters, digits and _, not starting with a digit`);
  }
  return [...new Set(problems)];
}

/**
 * What the supervisor setting implies about this host, each a line naming its key: systemd must be PID 1, the user's
 * unit must exist, and the unit portproof writes must be able to hold the paths it names.
 */
export function checkSupervisor(
  config: LoadedConfig,
  launch: boolean,
  booted = isSystemdBooted(),
  isRoot = process.getuid?.() === 0,
): string[] {
  const wantsSystemd = config.app.supervisor === 'systemd' || config.app.unit !== undefined;
  if (wantsSystemd && !booted) {
    const key = config.app.unit !== undefined ? 'app.unit' : 'app.supervisor';
    return [`${key}: needs systemd, but PID 1 here is ${readPid1Name()}; use app.supervisor: direct with app.command`];
  }
  const problems: string[] = [];
  const systemd = chooseSupervisor(config, booted) === 'systemd';
  // systemctl start, stop, enable and the unit directory are root's: every hook, found before anything is touched.
  if (systemd && !isRoot) {
    const why = config.app.supervisor === 'auto' ? 'auto chose systemd: PID 1 is systemd' : 'app.supervisor: systemd';
    const fix = 'run the hooks as root (appspec runas: root) or set app.supervisor: direct';
    problems.push(
      `app.supervisor: ${why}, which needs the hooks to run as root, not uid ${process.getuid?.()}: ${fix}`,
    );
  }
  // The rest concerns what a start would run: other hooks only need to know systemd is there.
  if (!launch || !systemd) return problems;
  if (config.app.unit !== undefined) {
    for (const port of config.ports) {
      const { unit } = resolvePort(config, port);
      const status = showUnit(unit);
      // A template's instance loads when the template exists: LoadState tells for both forms.
      if (status.loadState !== 'loaded')
        problems.push(`app.unit: ${unit} is ${status.loadState || 'unknown'} to systemd`);
    }
    return [...new Set(problems)];
  }
  for (const port of config.ports) {
    const { unit } = resolvePort(config, port);
    const mask = findMask(unit);
    if (mask !== null) problems.push(`app: ${describeMask(unit, mask)}`);
  }
  problems.push(...findSystemdBlockers(config, readSystemdVersion()));
  // The live unit starts at boot from what the state directory holds: a tmpfs would start it from nothing.
  const volatile = checkStateSurvivesReboot(config.stateDir);
  if (volatile !== null) problems.push(volatile);
  // Not a reason for auto to leave systemd: a release directory's mode is the host's to fix, said before anything runs.
  problems.push(...checkUserEntersCwd(config));
  return [...new Set(problems)];
}

/**
 * Under systemd, systemd opens app.log as root when the app starts, following links: a directory on the way that
 * someone other than root can write would let them point the app's output at any file. Refused, with the fix.
 */
function checkRootOnlyLogDirectory(logFile: string): string[] {
  let dir = path.dirname(logFile);
  // The nearest existing directory decides: portproof creates the rest as root.
  while (!fs.existsSync(dir) && dir !== '/') dir = path.dirname(dir);
  for (let at = dir; ; at = path.dirname(at)) {
    const stat = fs.statSync(at, { throwIfNoEntry: false });
    if (stat === undefined) return [];
    const writers = findOtherWriters(at, stat, { stickyOk: at !== dir });
    if (writers) {
      const why = 'systemd opens the log as root and would follow a link planted there';
      const fix = `${writers.fix}, or keep it where only root writes (the default is <stateDir>/<app>/app-{port}.log)`;
      return [`app.log: ${logFile}: ${at} is ${writers.problem}; ${why}; fix it with: ${fix}`];
    }
    if (at === '/') return [];
  }
}

/**
 * systemd enters WorkingDirectory as app.user (a direct start enters it as root, then drops): every directory on the
 * way must let that user search it, or the unit fails at its CHDIR step.
 */
function checkUserEntersCwd(config: LoadedConfig): string[] {
  if (!config.app.user) return [];
  let runAs: RunAs;
  try {
    runAs = runAsOf(findAppAccount(config.app.user)!);
  } catch {
    // An unknown user is app.user's own problem, said once by the user check.
    return [];
  }
  for (let dir = config.app.cwd; ; dir = path.dirname(dir)) {
    const stat = fs.statSync(dir, { throwIfNoEntry: false });
    // A missing directory is app.cwd's own problem, said by the directory check.
    if (stat?.isDirectory() && !canExecute(dir, runAs)) {
      const mode = `mode 0${(stat.mode & 0o777).toString(8)}, owner uid ${stat.uid}`;
      return [`app.cwd: ${runAs.name} cannot enter ${dir} (${mode}); systemd starts the app there as that user`];
    }
    if (dir === '/' || dir === '.') return [];
  }
}

function readPid1Name(): string {
  try {
    return fs.readFileSync('/proc/1/comm', 'utf8').trim() || 'unknown';
  } catch {
    // /proc/1 not readable: said as unknown.
    return 'not systemd';
  }
}
