import fs from 'node:fs';
import path from 'node:path';
import { HookError } from '../errors.ts';
import { describeFileKind, describeFsError } from '../fs-error.ts';
import type { Account } from './user.ts';

const { O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = fs.constants;
/** A directory on the way to the log: opened only if it is one, never through a link. */
const DirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
/** Append, never follow a link at the last component, never block on a FIFO nobody reads. */
const AppendFlags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK;

/** The app's log, open for the app: the fd to hand it and where this start's output begins. */
export interface AppLog {
  fd: number;
  offset: number;
}

/**
 * Open the app's log as root without letting the app user turn it against the host: looked up through the fd of
 * its directory (a parent swapped for a link cannot redirect it), no link followed, nothing but a regular file with
 * one link accepted, and chowned to the app user only when portproof created it; an existing file must already be
 * the app user's. A log directory the app user can write therefore gains that user nothing.
 */
export function openAppLog(file: string, account: Account | null): AppLog {
  const dirFd = openLogDirectory(file, true);
  try {
    // /proc/self/fd/N/name resolves the name inside the directory already open, as openat(2) would.
    const via = `/proc/self/fd/${dirFd}/${path.basename(file)}`;
    refuseUnlessRegular(file, lstatOrNull(via));
    const { fd, created } = openForAppend(file, via);
    try {
      const stat = fs.fstatSync(fd);
      refuseUnlessRegular(file, stat);
      if (stat.nlink > 1) refuse(file, `has ${stat.nlink} hard links; the app log must have one name`);
      if (account && !created && stat.uid !== account.uid) {
        const fix = `chown it to ${account.name} or remove it`;
        refuse(file, `belongs to uid ${stat.uid}, not to app.user ${account.name}; ${fix}`);
      }
      if (account && created) fs.fchownSync(fd, account.uid, account.gid);
      return { fd, offset: stat.size };
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  } catch (error) {
    throw nameLogError(file, error);
  } finally {
    fs.closeSync(dirFd);
  }
}

/**
 * Open the app's log to read it as root, through the same walk as openAppLog and creating nothing: only a regular file
 * with one link that belongs to `owner` (the uid the app runs as) is opened, so a log the app user swapped for a link,
 * a hard link or a file of another user's is refused, never read. Null when there is no log.
 */
export function openAppLogForReading(file: string, owner: number): number | null {
  let dirFd: number;
  try {
    dirFd = openLogDirectory(file, false);
  } catch (error) {
    // A missing directory is a log never written; anything else (a link on the way) is refused by the throw.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  try {
    const via = `/proc/self/fd/${dirFd}/${path.basename(file)}`;
    let fd: number;
    try {
      fd = fs.openSync(via, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') refuse(file, 'is a symbolic link; it is not read');
      throw error;
    }
    try {
      const stat = fs.fstatSync(fd);
      refuseUnlessRegular(file, stat);
      if (stat.nlink > 1) refuse(file, `has ${stat.nlink} hard links; it is not read`);
      if (stat.uid !== owner) refuse(file, `belongs to uid ${stat.uid}, not to the app's uid ${owner}; not read`);
      return fd;
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  } finally {
    fs.closeSync(dirFd);
  }
}

/**
 * Open the log's directory one component at a time from `/`, each through the fd of the one before and never
 * following a link, creating what is missing as root when `create`: a directory the app user swapped for a link
 * (`logs` -> `/root-only-dir`) is refused, not followed by the open nor by a mkdir.
 */
function openLogDirectory(file: string, create: boolean): number {
  let fd = fs.openSync('/', DirFlags);
  let walked = '';
  try {
    for (const name of path
      .resolve(path.dirname(file))
      .split('/')
      .filter((part) => part !== '')) {
      walked += `/${name}`;
      const next = openComponent(file, walked, `/proc/self/fd/${fd}/${name}`, create);
      fs.closeSync(fd);
      fd = next;
    }
    return fd;
  } catch (error) {
    fs.closeSync(fd);
    if (!create && (error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
    throw nameLogError(file, error, walked);
  }
}

function openComponent(file: string, walked: string, via: string, create = true): number {
  try {
    return fs.openSync(via, DirFlags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // O_DIRECTORY with O_NOFOLLOW answers ENOTDIR for a link: lstat tells a link from a file.
    if (code === 'ELOOP' || (code === 'ENOTDIR' && lstatOrNull(via)?.isSymbolicLink())) {
      refuse(file, `cannot be opened: ${walked} is a symbolic link; ${NoLinks}`);
    }
    if (code === 'ENOTDIR') refuse(file, `cannot be opened: ${walked} is not a directory`);
    // Missing: made here once, then opened again without following a link planted between the two calls.
    if (code !== 'ENOENT' || !create) throw error;
  }
  try {
    fs.mkdirSync(via, 0o755);
  } catch (error) {
    // Made by someone else meanwhile: the open below decides whether it is a directory and not a link.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return openComponent(file, walked, via, false);
}

const NoLinks = 'portproof follows no link on the way to the app log (set app.log to the real path)';

/** A file system error on the way to the log, named by the log's own path and the errno in words. */
function nameLogError(file: string, error: unknown, at?: string): unknown {
  if (error instanceof HookError || !(error as NodeJS.ErrnoException).code) return error;
  const where = at && at !== path.dirname(path.resolve(file)) ? ` (at ${at})` : '';
  const why = describeFsError(error);
  return new HookError('START_EXITED', `app.log ${file} cannot be opened${where}: ${why}`, {}, { cause: error });
}

function openForAppend(file: string, via: string): { fd: number; created: boolean } {
  try {
    return { fd: fs.openSync(via, AppendFlags | O_CREAT | O_EXCL, 0o666), created: true };
  } catch (error) {
    // It exists (a previous start's log): append to it, still without following a link planted since the lstat.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  try {
    return { fd: fs.openSync(via, AppendFlags), created: false };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') refuse(file, 'is a symbolic link; portproof does not follow links for the app log');
    // A FIFO with no reader answers ENXIO to a non-blocking open: still not a regular file.
    if (code === 'ENXIO') refuse(file, 'is not a regular file (a FIFO or socket)');
    throw error;
  }
}

function lstatOrNull(file: string): fs.Stats | null {
  try {
    return fs.lstatSync(file);
  } catch (error) {
    // Missing is the first start's case: it is created below.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function refuseUnlessRegular(file: string, stat: fs.Stats | null): void {
  if (stat === null || stat.isFile()) return;
  if (stat.isSymbolicLink()) refuse(file, 'is a symbolic link; portproof does not follow links for the app log');
  refuse(file, `is not a regular file (${describeFileKind(stat)}); the app's output goes only to a regular file`);
}

function refuse(file: string, why: string): never {
  throw new HookError('BAD_CONFIG', `app.log ${file} ${why}`);
}
