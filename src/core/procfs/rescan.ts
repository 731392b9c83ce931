// A listener whose owner is not found is not yet an unreadable one: a worker that exits between the read of
// /proc/net/tcp and the read of its fds (apps that recycle SO_REUSEPORT workers) leaves a row that names no process.
import type { Listener, ScanSkip } from './types.ts';

/** Scans made at most for one answer: the first, and re-reads while what they see is still moving. */
export const DefaultListenerScans = 3;

/** What a listener scan found that decides whether to look again. */
export interface ListenerScan {
  listeners: Listener[];
  skipped: ScanSkip[];
}

/**
 * Run `scan` until every listener it finds has an owner, or two scans in a row agree and no process vanished during
 * the last: a listener with no owner after that is unreadable, not gone. At most `scans` scans.
 */
export function scanUntilSettled<T extends ListenerScan>(scan: () => T, scans = DefaultListenerScans): T {
  let result = scan();
  for (let done = 1; done < scans && ownerless(result).length > 0; done += 1) {
    const again = scan();
    const moving = again.skipped.some((s) => s.reason === 'vanished') || !sameOwnerless(result, again);
    result = again;
    // Still the same ownerless listeners, and nothing vanished meanwhile: another read would see the same.
    if (!moving) break;
  }
  return result;
}

/** True when some listener without an owner may be unreadable (a permission skip), not gone. */
export function hasPermissionSkip(skipped: readonly ScanSkip[]): boolean {
  return skipped.some((s) => s.reason === 'permission');
}

function ownerless(scan: ListenerScan): number[] {
  return scan.listeners.filter((l) => l.owners.length === 0).map((l) => l.inode);
}

function sameOwnerless(a: ListenerScan, b: ListenerScan): boolean {
  const [x, y] = [ownerless(a), ownerless(b)];
  return x.length === y.length && x.every((inode) => y.includes(inode));
}
