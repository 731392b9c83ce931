import fs from 'node:fs';
import path from 'node:path';
import { DefaultClockTicks, DefaultProcRoot, readBootId, readBootTimeMs } from './boot.ts';
import { parseCmdline, parseStat, parseStatusUid } from './stat.ts';
import type { ProcessIdentity, ProcessInfo } from './types.ts';
import { lookupUserName } from './users.ts';

/** Everything reported about a process, read now; null when it no longer exists. */
export function readProcessInfo(pid: number, procRoot = DefaultProcRoot): ProcessInfo | null {
  const dir = path.join(procRoot, String(pid));
  let statText: string;
  try {
    statText = fs.readFileSync(path.join(dir, 'stat'), 'utf8');
  } catch (error) {
    // The process exited (or never was): that is an answer, not an error.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ESRCH')
      return null;
    throw error;
  }
  const stat = parseStat(statText, path.join(dir, 'stat'));
  const uid = parseStatusUid(readOptional(path.join(dir, 'status')));
  const command = parseCmdline(readOptional(path.join(dir, 'cmdline')));
  return {
    pid,
    startTime: stat.startTime,
    bootId: readBootId(procRoot),
    ppid: stat.ppid,
    pgid: stat.pgid,
    sid: stat.sid,
    state: stat.state,
    uid,
    user: lookupUserName(uid),
    comm: stat.comm,
    command: command || `[${stat.comm}]`,
    startedAt: new Date(readBootTimeMs(procRoot) + (stat.startTime * 1000) / DefaultClockTicks),
  };
}

/**
 * Re-read a recorded or remembered process now: the process as it runs, or null unless the PID is alive (not a zombie
 * awaiting its reaper) with the same start time in the same boot. The one identity check every re-read goes through.
 */
export function rereadProcess(id: ProcessIdentity, procRoot = DefaultProcRoot): ProcessInfo | null {
  if (id.bootId !== readBootId(procRoot)) return null;
  const now = readProcessInfo(id.pid, procRoot);
  return now !== null && hasIdentity(now, id) && now.state !== 'Z' ? now : null;
}

/** True only if the identified process still runs: same PID, start time and boot, and not a zombie. */
export function isSameProcess(id: ProcessIdentity, procRoot = DefaultProcRoot): boolean {
  return rereadProcess(id, procRoot) !== null;
}

/** True when two identities name the same process: PID, start time and boot id (no re-read). */
export function hasIdentity(a: ProcessIdentity, b: ProcessIdentity): boolean {
  return a.pid === b.pid && a.startTime === b.startTime && a.bootId === b.bootId;
}

function readOptional(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    // status and cmdline vanish with the process or may be unreadable; stat already proved it existed.
    return '';
  }
}
