import { listPids, readSocketFds } from './fds.ts';
import { readProcessInfo } from './process.ts';
import type { ScanSkip, SocketOwner } from './types.ts';

/** Who holds which of the wanted socket inodes, and what could not be looked at. */
export interface OwnerScan {
  owners: Map<number, SocketOwner[]>;
  skipped: ScanSkip[];
}

/**
 * Find every process holding any of `inodes` by reading the fds of `pids` (all processes when omitted). Every owner
 * of a shared socket is kept, not just the first.
 */
export function scanSocketOwners(
  inodes: Set<number>,
  procRoot: string,
  pids: number[] = listPids(procRoot),
): OwnerScan {
  const owners = new Map<number, SocketOwner[]>();
  const skipped: ScanSkip[] = [];
  if (inodes.size === 0) return { owners, skipped };
  for (const pid of pids) {
    const fds = readSocketFds(pid, procRoot);
    if ('skip' in fds) {
      skipped.push(fds.skip);
      continue;
    }
    for (const [inode, fd] of fds.sockets) {
      if (!inodes.has(inode)) continue;
      const info = readProcessInfo(pid, procRoot);
      // Exited after its fds were read: it no longer holds the socket.
      if (info === null) break;
      const list = owners.get(inode) ?? [];
      list.push({ ...info, fd });
      owners.set(inode, list);
    }
  }
  return { owners, skipped };
}
