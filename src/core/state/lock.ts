import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HookError } from '../errors.ts';
import { describeFsError } from '../fs-error.ts';
import { isSameProcess, readProcessInfo } from '../procfs/index.ts';
import type { ProcessIdentity } from '../procfs/types.ts';
import { DefaultLockPollMs, DefaultLockWaitMs, DefaultUnreadableLockStaleMs } from '../defaults.ts';

/** Claims left by takers that died mid-takeover, passed over before giving up on one stale lock. */
const MaxClaimGenerations = 8;

interface LockHolder extends ProcessIdentity {
  event: string;
  deploymentId: string | null;
  acquiredAt: string;
}

/** A held lock; release() removes it if it is still ours. */
export interface HeldLock {
  release(): void;
}

/** The lock file as one waiter saw it: which inode, written when, holding what. */
interface SeenLock {
  ino: number;
  mtimeMs: number;
  text: string;
  holder: LockHolder | null;
}

/**
 * Take the app's lock (one hook at a time). The lock file appears with its content in one step: written to a temp
 * file, then link()ed into place, which fails with EEXIST if a lock exists. A lock whose holder is no longer the same
 * process is stale and taken over (see takeOverStaleLock: only one waiter can); a live holder is waited for up to
 * `waitMs`, then named in the error.
 */
export async function acquireLock(
  dir: string,
  event: string,
  deploymentId: string | null,
  waitMs = DefaultLockWaitMs,
): Promise<HeldLock> {
  const file = path.join(dir, 'lock');
  const me = readProcessInfo(process.pid);
  if (me === null) throw new HookError('PROC_UNREADABLE', `cannot read /proc/${process.pid}: is /proc mounted?`);
  const acquiredAt = new Date().toISOString();
  const mine: LockHolder = { pid: me.pid, startTime: me.startTime, bootId: me.bootId, event, deploymentId, acquiredAt };
  const text = `${JSON.stringify(mine)}\n`;
  const temp = writeTempLock(dir, file, text);
  const giveUpAt = Date.now() + waitMs;
  try {
    for (;;) {
      if (linkLock(temp, file)) {
        const { ino } = fs.statSync(file);
        removeLeftovers(dir);
        return { release: () => releaseIfOurs(file, ino, text) };
      }
      const seen = readLock(file);
      // Released between our link and our read: try again at once.
      if (seen === null) continue;
      // A stale lock removed (or replaced meanwhile): race for the lock again at once.
      if (isStale(seen) && takeOverStaleLock(file, seen)) continue;
      if (Date.now() >= giveUpAt) throw lockedError(file, seen);
      // A live holder, or an unreadable lock too young to judge: look again shortly.
      await sleep(DefaultLockPollMs);
    }
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/**
 * Remove the stale lock `seen` so that waiters race for the lock again by link(); false if another waiter is doing
 * it. Two waiters may both judge one lock stale, and by the time the slower acts a third may have made a fresh lock:
 * a rename or unlink of the path would hit whatever lies there by then. So the takeover is claimed first, by a hard
 * link named after exactly the lock judged (inode, mtime, content): link() fails with EEXIST for every other waiter,
 * and it is harmless when it catches a different inode, because a link moves nothing. Only the waiter whose claim is
 * the judged inode unlinks the lock; nobody else can remove that inode (its holder is dead, other takers lose the
 * claim), so it is still the one there. A claim whose taker died mid-way (power loss) is never removed by another
 * waiter, which could race a live taker; the next generation of the claim is used instead.
 */
function takeOverStaleLock(file: string, seen: SeenLock): boolean {
  const key = `${seen.ino}-${Math.round(seen.mtimeMs * 1000).toString(36)}-${hashText(seen.text)}`;
  for (let generation = 0; generation < MaxClaimGenerations; generation++) {
    const claim = `${file}.takeover-${key}.${generation}`;
    try {
      fs.linkSync(file, claim);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Gone already: race for the lock again.
      if (code === 'ENOENT') return true;
      if (code !== 'EEXIST') throw lockError(claim, error);
      // A claim made moments ago is a live taker's: let it finish. An old one was left by a taker that died.
      if (!isLeftOver(claim)) return false;
      continue;
    }
    try {
      const claimed = readLock(claim);
      // The lock was replaced since we judged it: the claim is an extra name for someone's fresh lock; drop it.
      if (claimed === null || claimed.ino !== seen.ino || claimed.text !== seen.text) return true;
      fs.rmSync(file, { force: true });
      return true;
    } finally {
      fs.rmSync(claim, { force: true });
    }
  }
  return false;
}

/** True when a takeover claim is older than any live taker's: link() set its ctime; a takeover takes microseconds. */
function isLeftOver(claim: string): boolean {
  try {
    return Date.now() - fs.statSync(claim).ctimeMs > DefaultUnreadableLockStaleMs;
  } catch {
    // Removed by its taker just now: not left over; the caller races again.
    return false;
  }
}

/** True when the lock's holder is gone, or an unreadable lock is old enough that nobody is still writing it. */
function isStale(seen: SeenLock): boolean {
  if (seen.holder) return !isSameProcess(seen.holder);
  return Date.now() - seen.mtimeMs > DefaultUnreadableLockStaleMs;
}

/**
 * Remove what waiters killed mid-wait left (SIGTERM exits without unwinding): temp files of PIDs that are gone, and
 * takeover claims older than any live taker's. Run by the holder: the lock any claim was for is gone by now.
 */
function removeLeftovers(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const temp = /^\.lock\.(\d+)\.[0-9a-z]+\.tmp$/.exec(name);
    const claim = name.startsWith('lock.takeover-');
    try {
      const leftOver = temp ? readProcessInfo(Number(temp[1])) === null : claim && isLeftOver(path.join(dir, name));
      if (leftOver) fs.rmSync(path.join(dir, name), { force: true });
    } catch {
      // Best effort: litter that cannot be removed now does no harm, and the hook holds its lock either way.
    }
  }
}

function writeTempLock(dir: string, file: string, text: string): string {
  // Unique enough with the PID; 'wx' below refuses a name that exists anyway.
  const temp = path.join(dir, `.lock.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    const fd = fs.openSync(temp, 'wx', 0o644);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return temp;
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw lockError(file, error);
  }
}

/** link() the complete temp file into place: true if the lock is now ours, false if one exists. */
function linkLock(temp: string, file: string): boolean {
  try {
    fs.linkSync(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw lockError(file, error);
  }
}

function readLock(file: string): SeenLock | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    // Released since we looked: no holder to judge.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw lockError(file, error, 'read');
  }
  try {
    const stat = fs.fstatSync(fd);
    const text = fs.readFileSync(fd, 'utf8');
    return { ino: stat.ino, mtimeMs: stat.mtimeMs, text, holder: parseHolder(text) };
  } finally {
    fs.closeSync(fd);
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const holder = JSON.parse(text) as LockHolder;
    return typeof holder.pid === 'number' && typeof holder.startTime === 'number' ? holder : null;
  } catch {
    // Empty or half-written (an older release, mid-write or crashed): no holder can be named; its age decides.
    return null;
  }
}

function lockedError(file: string, seen: SeenLock): HookError {
  const holder = seen.holder;
  if (holder === null) {
    const age = Math.max(0, Math.round((Date.now() - seen.mtimeMs) / 1000));
    const what = seen.text ? 'unreadable' : 'empty';
    const staleAfter = DefaultUnreadableLockStaleMs / 1000;
    return new HookError(
      'LOCKED',
      `the lock ${file} is ${what} and was written ${age} s ago: another hook may be ` +
        `writing it; it counts as stale after ${staleAfter} s`,
    );
  }
  const since = holder.acquiredAt ? ` since ${holder.acquiredAt}` : '';
  const deployment = holder.deploymentId ? `, deployment ${holder.deploymentId}` : '';
  const who = `PID ${holder.pid} (${holder.event}${deployment}${since})`;
  return new HookError('LOCKED', `another portproof hook is running: ${who} holds ${file}`, { pid: holder.pid });
}

function lockError(file: string, error: unknown, verb: 'read' | 'write' = 'write'): HookError {
  const reason = describeFsError(error);
  return new HookError('LOCK_FAILED', `cannot ${verb} the lock ${file}: ${reason}`, { path: file }, { cause: error });
}

function releaseIfOurs(file: string, ino: number, text: string): void {
  try {
    const seen = readLock(file);
    if (seen !== null && seen.ino === ino && seen.text === text) fs.rmSync(file);
  } catch {
    // Already removed, or the directory became unreadable: nothing more to release.
  }
}

/** FNV-1a of a short text, in hex: names a claim after the lock's content without loading node:crypto (~5 ms). */
function hashText(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}
