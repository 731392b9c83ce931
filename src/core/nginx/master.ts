import fs from 'node:fs';
import { listProcessTree, readListeningTcpSockets, readProcessInfo, readSocketFds } from '../procfs/index.ts';
import type { ProcessInfo } from '../procfs/types.ts';

/** The running nginx master from its pid file, or why there is none. */
export function readNginxMaster(pidFile: string): { master: ProcessInfo } | { problem: string } {
  let text: string;
  try {
    text = fs.readFileSync(pidFile, 'utf8').trim();
  } catch {
    // No pid file: nginx is not running (or the config names the wrong file); either way nothing can be reloaded.
    return { problem: `nginx is not running (no pid file ${pidFile})` };
  }
  // nginx empties its pid file as it stops: as good as none.
  if (text === '') return { problem: `nginx is not running (pid file ${pidFile} is empty)` };
  const pid = Number(text);
  const master = Number.isInteger(pid) && pid > 0 ? readProcessInfo(pid) : null;
  if (master === null || master.state === 'Z')
    return { problem: `nginx is not running (pid file ${pidFile} names PID ${text}, which is gone)` };
  return { master };
}

/** The master's live worker processes (its descendants, zombies left out). */
export function listWorkers(master: ProcessInfo): ProcessInfo[] {
  return listProcessTree(master).filter((p) => p.pid !== master.pid && p.state !== 'Z');
}

/** The identities of the master's worker processes, as "pid:startTime" keys. */
export function readWorkerKeys(master: ProcessInfo): Set<string> {
  return new Set(listWorkers(master).map((p) => `${p.pid}:${p.startTime}`));
}

/**
 * True once none of the given (old) workers still holds one of the master's listening sockets: a worker told to
 * shut down after a reload closes them, and until then it may still take new connections with the old config.
 */
export function oldWorkersStoppedAccepting(master: ProcessInfo, oldWorkers: Set<string>): boolean {
  const listening = new Set(readListeningTcpSockets('/proc').map((s) => s.inode));
  const masterFds = readSocketFds(master.pid, '/proc');
  if ('skip' in masterFds) return false;
  const masterListening = [...masterFds.sockets.keys()].filter((inode) => listening.has(inode));
  for (const key of oldWorkers) {
    const fds = readSocketFds(Number(key.split(':')[0]), '/proc');
    // A worker that has exited (or whose fds are gone) accepts nothing.
    if ('skip' in fds) continue;
    if (masterListening.some((inode) => fds.sockets.has(inode))) return false;
  }
  return true;
}
