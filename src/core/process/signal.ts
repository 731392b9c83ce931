import { readProcessInfo } from '../procfs/index.ts';
import type { ProcessIdentity, ProcessInfo } from '../procfs/types.ts';

/** True while the identified process is alive: same PID and start time, and not a zombie awaiting its reaper. */
export function isRunning(id: Pick<ProcessIdentity, 'pid' | 'startTime'>): boolean {
  const now = readProcessInfo(id.pid);
  return now !== null && now.startTime === id.startTime && now.state !== 'Z';
}

/**
 * Send `signal` to a process, or to its whole process group when asked and the group is its session's first one (the
 * group the start command portproof launched as a session leader led), but only after re-reading its identity: a PID
 * alone may already belong to someone else. Returns false if it was gone.
 */
export function signalProcess(target: ProcessInfo, signal: NodeJS.Signals, group: boolean): boolean {
  const now = readProcessInfo(target.pid);
  if (now === null || now.startTime !== target.startTime || now.state === 'Z') return false;
  try {
    process.kill(group && now.pgid === now.sid ? -now.pgid : now.pid, signal);
    return true;
  } catch (error) {
    // ESRCH: it exited between the re-read and the signal, which is what we wanted anyway.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}
