import fs from 'node:fs';
import path from 'node:path';
import { DefaultProcRoot, listPids, parseStat, readProcessInfo, rereadProcess } from '../procfs/index.ts';
import type { ProcessIdentity, ProcessInfo } from '../procfs/types.ts';

/** What became of a start command's session since its spawn: who is still in it, and who left sessions behind. */
export interface SessionScan {
  /** Live processes in the session the launcher leads (sid = its PID), started no earlier than it. */
  members: ProcessInfo[];
  /** Processes started after the spawn that look daemonized (their session's leader gone, or orphaned to PID 1). */
  detached: ProcessInfo[];
}

/**
 * Read every process's stat once: the launcher's session members (the new tree in `direct` mode, DESIGN: same
 * session, started no earlier), and how many processes started since look daemonized.
 */
export function scanSession(launcher: ProcessIdentity, procRoot = DefaultProcRoot): SessionScan {
  const members: ProcessInfo[] = [];
  const alive = new Set<number>();
  const fresh: { pid: number; sid: number; ppid: number; startTime: number }[] = [];
  for (const pid of listPids(procRoot)) {
    const stat = readStat(procRoot, pid);
    // Exited mid-scan or unreadable: it can be neither a live member nor a daemon.
    if (stat === null) continue;
    alive.add(pid);
    if (stat.startTime < launcher.startTime || stat.state === 'Z') continue;
    if (stat.sid !== launcher.pid) {
      // Session 0: kernel threads, or a leader outside this PID namespace; neither is a daemon of ours.
      if (stat.sid !== 0) fresh.push({ pid, sid: stat.sid, ppid: stat.ppid, startTime: stat.startTime });
      continue;
    }
    const info = rereadProcess({ pid, startTime: stat.startTime, bootId: launcher.bootId }, procRoot);
    if (info !== null) members.push(info);
  }
  // A double fork leaves its session without a leader; a single fork and setsid leaves a leader orphaned to init.
  const daemonLike = (p: { sid: number; ppid: number }) => !alive.has(p.sid) || p.ppid === 1;
  const detached = fresh.filter(daemonLike).flatMap((p) => {
    const info = rereadProcess({ ...p, bootId: launcher.bootId }, procRoot);
    return info !== null ? [info] : [];
  });
  return { members, detached };
}

/**
 * True when `sid`'s session can be shown to come from this start: it is newer than the spawn (its leader, or with the
 * leader gone its oldest live member, started no earlier than the launcher) and daemon-like (its leader gone, orphaned
 * to PID 1, or the child of a process in the launcher's session). A supervisor's session that predates the spawn and
 * restarts its app on the port is not.
 */
export function isDaemonOfStart(sid: number, launcher: ProcessIdentity, procRoot = DefaultProcRoot): boolean {
  const leader = readStat(procRoot, sid);
  if (leader !== null && leader.sid === sid && leader.state !== 'Z') {
    if (leader.startTime < launcher.startTime) return false;
    const parent = readProcessInfo(leader.ppid, procRoot);
    return leader.ppid === 1 || (parent !== null && isSessionMember(parent, launcher));
  }
  // The leader is gone (a double fork): the session is as old as its oldest process still alive.
  let oldest = Infinity;
  for (const pid of listPids(procRoot)) {
    const stat = readStat(procRoot, pid);
    if (stat !== null && stat.sid === sid) oldest = Math.min(oldest, stat.startTime);
  }
  return oldest >= launcher.startTime;
}

/** True when `info` is in the launcher's session and started no earlier than it. */
export function isSessionMember(info: ProcessInfo, launcher: ProcessIdentity): boolean {
  return info.sid === launcher.pid && info.startTime >= launcher.startTime && info.bootId === launcher.bootId;
}

/**
 * The process to record for a listener the session holds: walking up from its owner through the session, the topmost
 * ancestor that holds the port too (`holders`; a pre-forking server's master), so neither a start script that exits
 * later nor a wrapper that only waits is taken for the app. Without `holders`, the topmost ancestor in the session.
 */
export function findSessionRoot(
  owner: ProcessInfo,
  launcher: ProcessIdentity,
  holders?: Set<number>,
  procRoot = DefaultProcRoot,
): ProcessInfo {
  let root = owner;
  for (let hops = 0; hops < 64 && root.pid !== launcher.pid; hops++) {
    const parent = readProcessInfo(root.ppid, procRoot);
    // The chain ends where the parent left the session (init, a subreaper) or exited.
    if (parent === null || parent.state === 'Z' || !isSessionMember(parent, launcher)) break;
    // A parent that does not hold the port is a launcher or wrapper: the app is below it.
    if (holders && !holders.has(parent.pid)) break;
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
