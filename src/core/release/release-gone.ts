import fs from 'node:fs';
import path from 'node:path';
import { HookError } from '../errors.ts';
import { releasesDir } from './make-release.ts';

/**
 * Refuse to trust (or roll back to) the app on `port` when the release it runs from is gone: it may still answer now,
 * but a crash or a reboot would start nothing there.
 */
export function assertReleaseKept(appDir: string, record: { release?: string }, port: number): void {
  if (record.release === undefined) return;
  const dir = path.join(releasesDir(appDir), record.release);
  try {
    if (fs.statSync(dir).isDirectory()) return;
  } catch (error) {
    // Only a release that is not there is refused; one this user may not look at (run as non-root) is not judged.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return;
  }
  const why = 'a crash or a reboot would start nothing there';
  const message = `release ${record.release} that port ${port} runs from is gone (${dir}): ${why}; deploy it again`;
  throw new HookError('RELEASE_GONE', message, { port, release: record.release });
}
