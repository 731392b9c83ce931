import fs from 'node:fs';
import path from 'node:path';
import { HookError } from '../errors.ts';
import type { Account } from './user.ts';

const { O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = fs.constants;
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
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const dirFd = fs.openSync(path.dirname(file), O_RDONLY | O_DIRECTORY);
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
  } finally {
    fs.closeSync(dirFd);
  }
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
  refuse(file, `is not a regular file (${describeKind(stat)}); the app's output goes only to a regular file`);
}

function describeKind(stat: fs.Stats): string {
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  return 'not a plain file';
}

function refuse(file: string, why: string): never {
  throw new HookError('BAD_CONFIG', `app.log ${file} ${why}`);
}
