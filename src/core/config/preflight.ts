import fs from 'node:fs';
import path from 'node:path';
import { lookupAccount, type Account } from '../process/user.ts';
import { findProgram, readUserGroups, type RunAs } from './find-program.ts';
import type { LoadedConfig } from './load.ts';

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
  if (needs.launch) {
    const cwdOk = checkDirectory('app.cwd', config.app.cwd, problems);
    if (cwdOk) checkProgram(config, account && isRoot ? account : null, problems);
    for (const port of config.ports) checkLog(config.app.log.replaceAll('{port}', String(port)), problems);
  }
  if (needs.nginx && config.nginx) {
    checkDirectory('nginx.include', path.dirname(config.nginx.include), problems, 'directory ');
  }
  return [...new Set(problems)];
}

function checkUser(config: LoadedConfig, problems: string[]): Account | null {
  if (!config.app.user) return null;
  try {
    return lookupAccount(config.app.user);
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
  const program = config.app.command[0]!.replaceAll('{port}', String(config.ports[0]));
  const runAs: RunAs | null = account
    ? { name: account.name, uid: account.uid, gids: readUserGroups(account.name, account.gid) }
    : null;
  const pathVar = config.app.env.PATH ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  const found = findProgram(program, config.app.cwd, pathVar, runAs);
  if ('problem' in found) problems.push(`app.command: ${found.problem}`);
}

/** The app's log must be a regular file (or not exist yet) in a directory that exists or can be made. */
function checkLog(file: string, problems: string[]): void {
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
    problems.push(`app.log: ${file} is ${describeKind(stat)}, not a regular file`);
  } else if (!stat) {
    checkCanMakeDirectory(path.dirname(file), problems);
  }
}

function checkCanMakeDirectory(dir: string, problems: string[]): void {
  let existing = dir;
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const stat = fs.statSync(existing);
  if (!stat.isDirectory()) {
    problems.push(`app.log: directory ${dir} cannot be made: ${existing} is not a directory`);
    return;
  }
  if (existing === dir) return;
  try {
    fs.accessSync(existing, fs.constants.W_OK);
  } catch {
    problems.push(`app.log: directory ${dir} does not exist and cannot be made (${existing} is not writable)`);
  }
}

function describeMissing(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'does not exist';
  if (code === 'EACCES') return 'cannot be reached (permission denied)';
  return `cannot be read: ${(error as Error).message}`;
}

function describeKind(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isFIFO()) return 'a named pipe (fifo)';
  if (stat.isSocket()) return 'a socket';
  return 'not a plain file';
}

function readLink(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    // Gone or unreadable between the lstat and now: the link is still refused.
    return '?';
  }
}
