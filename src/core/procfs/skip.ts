import { unreadableProcError } from './proc-errors.ts';
import type { ScanSkip } from './types.ts';

/**
 * Classify an fs error met while scanning /proc: a process or fd that vanished mid-scan (ENOENT, ESRCH) and one we
 * may not read (EACCES, EPERM) are expected and become a recorded skip; anything else is a real fault and is thrown.
 */
export function toSkip(error: unknown, pid: number, path: string): ScanSkip {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ESRCH') return { pid, path, reason: 'vanished', detail: code };
  if (code === 'EACCES' || code === 'EPERM') return { pid, path, reason: 'permission', detail: code };
  throw unreadableProcError(path, error);
}
