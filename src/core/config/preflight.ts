import fs from 'node:fs';
import path from 'node:path';
import { describeFileKind, describeFsError } from '../fs-error.ts';
import { resolvePort } from './resolve-port.ts';
import { findAppAccount, type Account } from '../process/user.ts';
import { findProgram, runAsOf } from './find-program.ts';
import type { LoadedConfig } from './load.ts';
import { checkSupervisor } from '../supervisor/choose.ts';

// Everything the config implies about this host, checked before a hook touches anything: a wrong user, a missing
// directory or program is found while the old app still runs, not after it was stopped.

/** What a hook is about to use: ApplicationStart launches the app, ValidateService switches nginx. */
export interface PreflightNeeds {
  launch: boolean;
  nginx: boolean;
}

/** Every problem found, each a line naming its key; empty when the host can run this config. */
export function preflight(config: LoadedConfig, needs: PreflightNeeds, isRoot = process.getuid?.() === 0): string[] {
  const problems: string[] = [];
  const account = checkUser(config, problems);
  problems.push(...checkSupervisor(config, needs.launch));
  if (needs.launch && config.app.command) {
    const cwdOk = checkDirectory('app.cwd', config.app.cwd, problems);
    if (cwdOk) checkProgram(config, account && isRoot ? account : null, problems);
    checkLaunchArguments(config, problems);
    const owner = account && isRoot ? account : null;
    for (const port of config.ports) checkLog(resolvePort(config, port).logFile, owner, problems);
  }
  if (needs.nginx && config.nginx) {
    checkDirectory('nginx.include', path.dirname(config.nginx.include), problems, 'directory ');
  }
  return [...new Set(problems)];
}

function checkUser(config: LoadedConfig, problems: string[]): Account | null {
  try {
    return findAppAccount(config.app.user);
  } catch (error) {
    problems.push((error as Error).message);
    return null;
  }
}

function checkDirectory(key: string, dir: string, problems: string[], what = ''): boolean {
  try {
    if (fs.statSync(dir).isDirectory()) return true;
    problems.push(`${key}: ${what}${dir} is not a directory`);
  } catch (error) {
    problems.push(`${key}: ${what}${dir} ${describeMissing(error)}`);
  }
  return false;
}

function checkProgram(config: LoadedConfig, account: Account | null, problems: string[]): void {
  const program = resolvePort(config, config.ports[0]!).argv[0]!;
  const runAs = account ? runAsOf(account) : null;
  const pathVar = config.app.env.PATH ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  const found = findProgram(program, config.app.cwd, pathVar, runAs);
  if ('problem' in found) problems.push(`app.command: ${found.problem}`);
}

/** Linux refuses one argument or environment string longer than this (MAX_ARG_STRLEN, 32 pages), with E2BIG. */
export const MaxArgBytes = 131072;

/** What portproof lets argv and environment come to in all: well under ARG_MAX (a quarter of an 8 MiB stack). */
export const MaxExecBytes = 1024 * 1024;

/**
 * What exec(2) would refuse after the old app was stopped: a NUL byte (it ends a C string: Node refuses the spawn),
 * one string over MAX_ARG_STRLEN, or argv and environment together too big (E2BIG).
 */
function checkLaunchArguments(config: LoadedConfig, problems: string[]): void {
  const strings: string[] = [];
  (config.app.command ?? []).forEach((arg, i) => {
    strings.push(arg);
    checkExecString(`app.command[${i}]`, arg, problems);
  });
  for (const [key, value] of Object.entries(config.app.env)) {
    strings.push(`${key}=${value}`);
    checkExecString(`app.env.${key.replaceAll('\0', '\\0')}`, `${key}=${value}`, problems);
  }
  // The hook's own environment goes to the app too, and setpriv's few arguments: 256 bytes cover them.
  for (const [key, value] of Object.entries(process.env)) strings.push(`${key}=${value ?? ''}`);
  const total = strings.reduce((sum, text) => sum + Buffer.byteLength(text) + 1 + 8, 256);
  if (total > MaxExecBytes) {
    const limit = `portproof keeps them under ${MaxExecBytes} bytes so that exec cannot fail with E2BIG`;
    problems.push(`app.command and app.env: ${total} bytes with the hook's environment; ${limit}`);
  }
}

function checkExecString(key: string, text: string, problems: string[]): void {
  if (text.includes('\0')) problems.push(`${key} contains a NUL byte, which no program argument or variable can hold`);
  const bytes = Buffer.byteLength(text) + 1;
  if (bytes > MaxArgBytes) {
    problems.push(`${key} is ${bytes} bytes; Linux refuses one argument or variable over ${MaxArgBytes} (E2BIG)`);
  }
}

/**
 * The app's log must be a regular file (or not exist yet), an existing one already app.user's, in a directory
 * reached without a link (the hook refuses links on the way) that exists or can be made.
 */
function checkLog(file: string, owner: Account | null, problems: string[]): void {
  if (!checkLogDirectory(file, problems)) return;
  let stat: fs.Stats | null = null;
  try {
    stat = fs.lstatSync(file);
  } catch (error) {
    // Not there yet: the hook creates it; anything else (a directory that cannot be searched) is a problem.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && (error as NodeJS.ErrnoException).code !== 'ENOTDIR') {
      problems.push(`app.log: ${file} ${describeMissing(error)}`);
      return;
    }
  }
  if (stat?.isSymbolicLink()) {
    problems.push(`app.log: ${file} is a symbolic link (to ${readLink(file)}); the app's log must be a regular file`);
  } else if (stat && !stat.isFile()) {
    problems.push(`app.log: ${file} is ${describeFileKind(stat)}, not a regular file`);
  } else if (stat && owner && stat.uid !== owner.uid) {
    // The hook would refuse it after stopping the old app (an app.user change): say so while the old app runs.
    const fix = `chown it to ${owner.name} or remove it`;
    problems.push(`app.log: ${file} belongs to uid ${stat.uid}, not to app.user ${owner.name}; ${fix}`);
  }
}

/** Walk the log's directory from `/` as the hook will: no link, each part a directory, the first missing makeable. */
function checkLogDirectory(file: string, problems: string[]): boolean {
  const dir = path.resolve(path.dirname(file));
  let walked = '/';
  for (const name of dir.split('/').filter((part) => part !== '')) {
    const next = path.join(walked, name);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(next);
    } catch (error) {
      // The rest is made by the hook, as root, inside the last directory that exists.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return checkWritable(file, walked, problems);
      problems.push(`app.log: ${file} cannot be reached: ${next} ${describeMissing(error)}`);
      return false;
    }
    if (stat.isSymbolicLink()) {
      const why = 'portproof follows no link on the way to the app log (set app.log to the real path)';
      problems.push(`app.log: ${file}: ${next} is a symbolic link (to ${readLink(next)}); ${why}`);
      return false;
    }
    if (!stat.isDirectory()) {
      problems.push(`app.log: directory ${dir} cannot be made: ${next} is not a directory`);
      return false;
    }
    walked = next;
  }
  return true;
}

function checkWritable(file: string, existing: string, problems: string[]): boolean {
  try {
    fs.accessSync(existing, fs.constants.W_OK);
    return true;
  } catch (error) {
    const dir = path.dirname(file);
    const why = describeFsError(error);
    problems.push(`app.log: directory ${dir} does not exist and cannot be made in ${existing}: ${why}`);
    return false;
  }
}

function describeMissing(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'does not exist';
  if (code === 'EACCES') return 'cannot be reached (permission denied)';
  return `cannot be read: ${(error as Error).message}`;
}

function readLink(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    // Gone or unreadable between the lstat and now: the link is still refused.
    return '?';
  }
}
