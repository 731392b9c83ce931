import fs from 'node:fs';
import path from 'node:path';
import { DefaultProcRoot, listPids, parseStat, readProcessInfo } from '../procfs/index.ts';
import type { ProcessIdentity, ProcessInfo } from '../procfs/types.ts';

/** What became of a start command's session since its spawn: who is still in it, and who left sessions behind. */
export interface SessionScan {
  /** Live processes in the session the launcher leads (sid = its PID), started no earlier than it. */
  members: ProcessInfo[];
  /** Processes started after the spawn in a session whose leader is gone or new: where a daemon would be. */
  detached: number;
}

/**
 * Read every process's stat once: the launcher's session members (the new tree in `direct` mode, DESIGN: same
 * session, started no earlier), and how many new processes sit in sessions that began after the spawn.
 */
export function scanSession(launcher: ProcessIdentity, procRoot = DefaultProcRoot): SessionScan {
  const members: ProcessInfo[] = [];
  const sessions = new Map<number, number>();
  const fresh: { pid: number; sid: number }[] = [];
  for (const pid of listPids(procRoot)) {
    const stat = readStat(procRoot, pid);
    // Exited mid-scan or unreadable: it can be neither a live member nor a daemon.
    if (stat === null) continue;
    sessions.set(pid, stat.startTime);
    if (stat.startTime < launcher.startTime || stat.state === 'Z') continue;
    if (stat.sid !== launcher.pid) {
      fresh.push({ pid, sid: stat.sid });
      continue;
    }
    const info = readProcessInfo(pid, procRoot);
    if (info !== null && info.startTime === stat.startTime) members.push(info);
  }
  const leaderIsNew = (sid: number) => (sessions.get(sid) ?? Infinity) >= launcher.startTime;
  return { members, detached: fresh.filter((p) => leaderIsNew(p.sid)).length };
}

/** True when `info` is in the launcher's session and started no earlier than it. */
export function isSessionMember(info: ProcessInfo, launcher: ProcessIdentity): boolean {
  return info.sid === launcher.pid && info.startTime >= launcher.startTime && info.bootId === launcher.bootId;
}

/**
 * The process to record for a listener the session holds: walking up from its owner, the topmost ancestor still
 * in the session — the launcher while it runs, else the process the launcher left running (a backgrounded app).
 */
export function findSessionRoot(
  owner: ProcessInfo, launcher: ProcessIdentity, procRoot = DefaultProcRoot,
): ProcessInfo {
  let root = owner;
  for (let hops = 0; hops < 64 && root.pid !== launcher.pid; hops++) {
    const parent = readProcessInfo(root.ppid, procRoot);
    // The chain ends where the parent left the session (init, a subreaper) or exited.
    if (parent === null || parent.state === 'Z' || !isSessionMember(parent, launcher)) break;
    root = parent;
  }
  return root;
}

function readStat(procRoot: string, pid: number): ReturnType<typeof parseStat> | null {
  const file = path.join(procRoot, String(pid), 'stat');
  try {
    return parseStat(fs.readFileSync(file, 'utf8'), file);
  } catch {
    // Vanished between the listing and the read: nothing to count.
    return null;
  }
}
