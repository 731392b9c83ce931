import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';
import { findProgram, runAsOf, type RunAs } from '../config/find-program.ts';
import type { LoadedConfig } from '../config/load.ts';
import { resolvePort } from '../config/resolve-port.ts';
import { DefaultRestartDelaySec } from '../defaults.ts';
import { HookError } from '../errors.ts';
import { describeFsError } from '../fs-error.ts';
import { findAppAccount } from '../process/user.ts';
import { runSystemctl } from './systemctl.ts';
import { canAppendLog, readSystemdVersion } from './systemd-version.ts';

/** Where portproof writes its units: the administrator's unit directory, which outranks packaged units. */
export const UnitDirectory = '/etc/systemd/system';

/** Where `systemctl mask` puts its links to /dev/null: for good, and until the next boot (--runtime). */
export const MaskDirectories = [UnitDirectory, '/run/systemd/system'];

/** The mask on `unit` (a link to /dev/null in a unit directory), or null: the administrator's, never undone. */
export function findMask(unit: string, dirs = MaskDirectories): string | null {
  for (const dir of dirs) {
    const file = path.join(dir, unit);
    try {
      if (fs.readlinkSync(file) === '/dev/null') return file;
    } catch {
      // Not a link, or not there: no mask in this directory.
    }
  }
  return null;
}

/** The line refusing a masked unit, naming the fix. */
export function describeMask(unit: string, mask: string): string {
  return `${unit} is masked (${mask} → /dev/null), which portproof never undoes: run "systemctl unmask ${unit}"`;
}

/** A unit portproof wrote for one port, and whether this start changed it. */
export interface InstalledUnit {
  unit: string;
  file: string;
  envFile: string;
  changed: boolean;
}

/**
 * Write the unit that runs the app on `port` (and its environment file, root's alone: app.env may hold secrets) and
 * reload systemd when either changed. The unit runs from this release's directory, so the other port's unit keeps
 * running the previous release from its own.
 */
export function installUnit(
  config: LoadedConfig,
  port: number,
  appDir: string,
  unitDir = UnitDirectory,
): InstalledUnit {
  const { unit } = resolvePort(config, port);
  const file = path.join(unitDir, unit);
  // Renaming over the mask's link would unmask it: preflight refuses this; this is the last look before the write.
  const mask = findMask(unit, [unitDir, ...MaskDirectories.slice(1)]);
  if (mask !== null) throw new HookError('SYSTEMD_FAILED', describeMask(unit, mask), { unit });
  const envFile = path.join(appDir, `unit-${port}.env`);
  const envChanged = writeIfChanged(envFile, renderEnvironment(config, port), 0o600);
  const unitChanged = writeIfChanged(file, renderUnit(config, port, envFile), 0o644);
  if (unitChanged) runSystemctl(['daemon-reload']);
  return { unit, file, envFile, changed: unitChanged || envChanged };
}

/** Who the unit's ExecStart runs as, by mode bits; null (root) without app.user or where it is no account here. */
function findUnitRunAs(appUser: string | undefined): RunAs | null {
  try {
    const account = findAppAccount(appUser);
    return account ? runAsOf(account) : null;
  } catch {
    // No such user here (a unit rendered for the docs): preflight refuses it before any real start.
    return null;
  }
}

/** The unit file's text: what the README shows in full. */
export function renderUnit(
  config: LoadedConfig,
  port: number,
  envFile: string,
  version = readSystemdVersion(),
): string {
  const { argv, logFile } = resolvePort(config, port);
  const pathVar = config.app.env.PATH ?? process.env.PATH ?? '';
  // Found as app.user's exec finds it (preflight's way): a PATH entry only root reaches is passed over.
  const program = findProgram(argv[0]!, config.app.cwd, pathVar, findUnitRunAs(config.app.user));
  // Preflight found the program; a program gone since is named by systemd's own start failure.
  const exec = ['file' in program ? program.file : argv[0]!, ...argv.slice(1)].map(quoteArgument).join(' ');
  const user = config.app.user ? [`User=${config.app.user}`] : [];
  return [
    `# Written by portproof for ${config.app.name} on port ${port}. Each ApplicationStart on this port rewrites it`,
    '# from portproof.yml: change that, not this file.',
    '[Unit]',
    `Description=${config.app.name} on port ${port} (portproof)`,
    'After=network.target',
    '',
    '[Service]',
    // Before v240 there is no Type=exec (a failed exec is seen as the start's exit 203) and no append:.
    canAppendLog(version) ? 'Type=exec' : 'Type=simple',
    `ExecStart=${exec}`,
    `WorkingDirectory=${escapeSpecifiers(config.app.cwd)}`,
    ...user,
    // `-`: a state directory wiped since must not keep the app from coming back after a crash or a boot.
    `EnvironmentFile=-${escapeSpecifiers(envFile)}`,
    'StandardInput=null',
    ...(canAppendLog(version)
      ? [`StandardOutput=append:${escapeSpecifiers(logFile)}`, `StandardError=append:${escapeSpecifiers(logFile)}`]
      : ['StandardOutput=journal', 'StandardError=journal']),
    // The whole cgroup is stopped: the signal to every process, SIGKILL to what is left after the grace.
    'KillMode=control-group',
    `KillSignal=${config.stop.signal}`,
    `TimeoutStopSec=${formatTimespan(config.stop.grace)}`,
    'SendSIGKILL=yes',
    // A JVM stopped by SIGTERM exits with 128 + 15: a clean stop, not a failure to restart after.
    'SuccessExitStatus=143',
    'Restart=on-failure',
    `RestartSec=${DefaultRestartDelaySec}s`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The app's environment as an EnvironmentFile: PORT and app.env, each value quoted. */
function renderEnvironment(config: LoadedConfig, port: number): string {
  const env = { ...config.app.env, PORT: String(port) };
  const lines = Object.entries(env).map(([key, value]) => `${key}="${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`);
  return `# ${config.app.name} on port ${port}: written by portproof from app.env.\n${lines.join('\n')}\n`;
}

/** One ExecStart argument, quoted: systemd's C escapes, `%%` for a specifier, `$$` for a variable. */
function quoteArgument(arg: string): string {
  const escaped = arg
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\t/g, '\\t')
    // A carriage return would end the line for systemd: every other control character as a hex escape.
    .replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/\$/g, '$$$$');
  return `"${escapeSpecifiers(escaped)}"`;
}

/** A duration for systemd: whole seconds as `30s`, else milliseconds; never 0, which systemd reads as "no limit". */
function formatTimespan(ms: number): string {
  return ms > 0 && ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.max(1, Math.ceil(ms))}ms`;
}

function escapeSpecifiers(text: string): string {
  return text.replace(/%/g, '%%');
}

/** Replace `file` atomically when its content differs; true when it did. */
function writeIfChanged(file: string, content: string, mode: number): boolean {
  try {
    if (fs.readFileSync(file, 'utf8') === content) return false;
  } catch {
    // Missing (the first start on this port) or unreadable: written below, where a real problem is reported.
  }
  try {
    writeFileAtomic(file, content, { mode, uid: 0, gid: 0 });
  } catch (error) {
    throw new HookError('SYSTEMD_FAILED', `cannot write ${file}: ${describeFsError(error)}`, { path: file });
  }
  return true;
}
