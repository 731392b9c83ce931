import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HookError } from '../errors.ts';
import { isSameProcess, readBootId, readProcessInfo } from '../procfs/index.ts';
import type { ProcessIdentity } from '../procfs/types.ts';

/** How long a second hook waits for the first before failing. */
export const DefaultLockWaitMs = 10_000;

interface LockHolder extends ProcessIdentity {
  event: string;
  deploymentId: string | null;
  acquiredAt: string;
}

/** A held lock; release() removes it if it is still ours. */
export interface HeldLock {
  release(): void;
}

/**
 * Take the app's lock (one hook at a time). A lock whose holder is no longer the same process is stale and taken
 * over; a live holder is waited for up to `waitMs`, then named in the error.
 */
export async function acquireLock(dir: string, event: string, deploymentId: string | null, waitMs = DefaultLockWaitMs): Promise<HeldLock> {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'lock');
  const me = readProcessInfo(process.pid);
  if (me === null) throw new HookError('UNREADABLE', `cannot read /proc/${process.pid}: is /proc mounted?`);
  const mine: LockHolder = { pid: me.pid, startTime: me.startTime, bootId: readBootId(), event, deploymentId, acquiredAt: new Date().toISOString() };
  const text = `${JSON.stringify(mine)}\n`;
  const giveUpAt = Date.now() + waitMs;
  for (;;) {
    try {
      fs.writeFileSync(file, text, { flag: 'wx' });
      return { release: () => releaseIfOurs(file, text) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(file);
    if (holder === null || !isSameProcess(holder)) {
      // The holder died without releasing (crash, SIGKILL, reboot): remove its lock and try again.
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= giveUpAt) {
      const since = holder.acquiredAt ? ` since ${holder.acquiredAt}` : '';
      const deployment = holder.deploymentId ? `, deployment ${holder.deploymentId}` : '';
      throw new HookError('LOCKED', `another portproof hook is running: PID ${holder.pid} (${holder.event}${deployment}${since}) holds ${file}`, { pid: holder.pid });
    }
    await sleep(100);
  }
}

function readHolder(file: string): LockHolder | null {
  try {
    const holder = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return typeof holder.pid === 'number' && typeof holder.startTime === 'number' ? holder : null;
  } catch {
    // Gone since we looked, or half-written by a holder that crashed: either way no live holder is named here.
    return null;
  }
}

function releaseIfOurs(file: string, text: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === text) fs.rmSync(file);
  } catch {
    // Already removed: nothing to release.
  }
}
