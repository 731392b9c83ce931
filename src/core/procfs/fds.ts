import fs from 'node:fs';
import path from 'node:path';
import { toSkip } from './skip.ts';
import type { ScanSkip } from './types.ts';

/** The socket inodes a process holds, each with the fd it holds it by; or why they could not be read. */
export type SocketFds = { sockets: Map<number, number> } | { skip: ScanSkip };

/** Read /proc/PID/fd and keep the links that name sockets ("socket:[12345]"). */
export function readSocketFds(pid: number, procRoot: string): SocketFds {
  const dir = path.join(procRoot, String(pid), 'fd');
  let fds: string[];
  try {
    fds = fs.readdirSync(dir);
  } catch (error) {
    return { skip: toSkip(error, pid, dir) };
  }
  const sockets = new Map<number, number>();
  for (const fd of fds) {
    let target: string;
    try {
      target = fs.readlinkSync(path.join(dir, fd));
    } catch (error) {
      // An fd closed between readdir and readlink is simply no longer held; other errors are recorded by toSkip.
      toSkip(error, pid, path.join(dir, fd));
      continue;
    }
    if (target.startsWith('socket:[')) sockets.set(Number(target.slice(8, -1)), Number(fd));
  }
  return { sockets };
}

/**
 * The socket targets of a process's fd links ("socket:[12345]"), as text for the pure stages; null when the process
 * is gone or its fds cannot be read (then it holds nothing this sample can show).
 */
export function readSocketLinks(pid: number, procRoot: string): string[] | null {
  const dir = path.join(procRoot, String(pid), 'fd');
  let fds: string[];
  try {
    fds = fs.readdirSync(dir);
  } catch {
    // Gone, or not ours to read: the sample shows no socket of it (never counted as proof of anything).
    return null;
  }
  const links: string[] = [];
  for (const fd of fds) {
    try {
      const target = fs.readlinkSync(path.join(dir, fd));
      if (target.startsWith('socket:[')) links.push(target);
    } catch {
      // Closed between readdir and readlink: no longer held.
    }
  }
  return links;
}

/** Every PID with a /proc entry. */
export function listPids(procRoot: string): number[] {
  return fs
    .readdirSync(procRoot)
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}
