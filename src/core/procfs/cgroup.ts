import fs from 'node:fs';
import path from 'node:path';
import { DefaultProcRoot } from './boot.ts';
import { listPids } from './fds.ts';

/**
 * The cgroup systemd put a process in, from /proc/PID/cgroup: the unified `0::` line (cgroup v2, and hybrid hosts),
 * else cgroup v1's `name=systemd` hierarchy. Null when the process is gone or the file names neither.
 */
export function readCgroupPath(pid: number, procRoot = DefaultProcRoot): string | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(procRoot, String(pid), 'cgroup'), 'utf8');
  } catch {
    // Exited, or not readable: it is in no cgroup portproof can name.
    return null;
  }
  return parseCgroupPath(text);
}

/** The systemd cgroup path in the text of /proc/PID/cgroup (see readCgroupPath). */
export function parseCgroupPath(text: string): string | null {
  let v1: string | null = null;
  for (const line of text.split('\n')) {
    const [id, controllers, ...rest] = line.split(':');
    const where = rest.join(':');
    // An empty path is no answer: a hybrid host with no unified hierarchy mounted shows `0::`.
    if (id === '0' && controllers === '' && where !== '') return where;
    if (controllers === 'name=systemd' && where !== '') v1 = where;
  }
  return v1;
}

/** True when `cgroup` is `unitCgroup` or one of its sub-cgroups (a unit may delegate). */
export function isInCgroup(cgroup: string | null, unitCgroup: string): boolean {
  return cgroup !== null && (cgroup === unitCgroup || cgroup.startsWith(`${unitCgroup}/`));
}

/** The PIDs of every process in a unit's cgroup (its sub-cgroups included), read from /proc. */
export function listCgroupPids(unitCgroup: string, procRoot = DefaultProcRoot): number[] {
  return listPids(procRoot).filter((pid) => isInCgroup(readCgroupPath(pid, procRoot), unitCgroup));
}
