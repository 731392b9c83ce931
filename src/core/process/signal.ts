import { rereadProcess } from '../procfs/index.ts';
import type { ProcessIdentity } from '../procfs/types.ts';

/**
 * Send `signal` to a process, or to its whole process group when asked and the group is its session's first one (the
 * group the start command portproof launched as a session leader led), but only after re-reading its identity: a PID
 * alone may already belong to someone else. Returns false if it was gone.
 */
export function signalProcess(target: ProcessIdentity, signal: NodeJS.Signals, group: boolean): boolean {
  const now = rereadProcess(target);
  if (now === null) return false;
  try {
    process.kill(group && now.pgid === now.sid ? -now.pgid : now.pid, signal);
    return true;
  } catch (error) {
    // ESRCH: it exited between the re-read and the signal, which is what we wanted anyway.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}
