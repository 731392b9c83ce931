import fs from 'node:fs';
import path from 'node:path';
import { DefaultProcRoot } from './boot.ts';
import { listCgroupPids } from './cgroup.ts';
import { listPids } from './fds.ts';
import { isSameProcess, readProcessInfo } from './process.ts';
import { parseStat } from './stat.ts';
import type { ProcessIdentity, ProcessInfo } from './types.ts';

/**
 * A process and its descendants started no earlier than it (a descendant cannot predate its ancestor; an older
 * one is a reused PID's child); under systemd, the root and every process in its unit's cgroup. Empty when the root
 * is gone or is no longer the same process.
 */
export function listProcessTree(root: ProcessIdentity, procRoot = DefaultProcRoot): ProcessInfo[] {
  if (!isSameProcess(root, procRoot)) return [];
  if (root.cgroup !== undefined) return listCgroupTree(root, root.cgroup, procRoot);
  const children = readChildMap(procRoot, root.startTime);
  const tree: ProcessInfo[] = [];
  const queue = [root.pid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    const info = readProcessInfo(pid, procRoot);
    // A descendant that exited since the child map was read is no longer part of the tree.
    if (info === null) continue;
    tree.push(info);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

/** ppid → child PIDs for every process started no earlier than `sinceTicks` (one stat read per process). */
function readChildMap(procRoot: string, sinceTicks: number): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const pid of listPids(procRoot)) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(procRoot, String(pid), 'stat'), 'utf8');
    } catch {
      // Exited mid-scan: it cannot be a live descendant.
      continue;
    }
    const stat = parseStat(text, path.join(procRoot, String(pid), 'stat'));
    if (stat.startTime < sinceTicks) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(pid);
    children.set(stat.ppid, list);
  }
  return children;
}

/** The root first, then the rest of its unit's cgroup: what systemd stops with the unit. */
function listCgroupTree(root: ProcessIdentity, cgroup: string, procRoot: string): ProcessInfo[] {
  const pids = [root.pid, ...listCgroupPids(cgroup, procRoot).filter((pid) => pid !== root.pid)];
  // A member that exited since the cgroup was listed is no longer part of the tree.
  return pids.map((pid) => readProcessInfo(pid, procRoot)).filter((info) => info !== null);
}
