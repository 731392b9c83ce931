import { spawnSync } from 'node:child_process';
import type { LoadedConfig } from '../config/load.ts';
import { describeFsError } from '../fs-error.ts';
import { readIncludeFile, restoreIncludeFile, type IncludeFile } from './include-file.ts';

type NginxConfig = NonNullable<LoadedConfig['nginx']>;

/** The include as it is before a switch, to put back if the hook is interrupted mid-switch; null when unreadable. */
export function saveInclude(nginx: NginxConfig): IncludeFile | null {
  try {
    return readIncludeFile(nginx.include);
  } catch {
    // The switch refuses an include it cannot read, before writing anything: nothing to put back then.
    return null;
  }
}

/**
 * Put the include back and have nginx reload it, synchronously: on an interrupt the switch's own steps must not run
 * in between, and SIGKILL may follow within seconds. A clause for the interrupt's verdict.
 */
export function undoSwitchNow(nginx: NginxConfig, include: IncludeFile, was: string): string {
  try {
    restoreIncludeFile(include);
  } catch (error) {
    const why = describeFsError(error);
    return `could not put the nginx include back on ${was} (${why}): run "hooks/validate --port N" for the live port`;
  }
  const [bin, ...args] = nginx.reload;
  const reload = spawnSync(bin!, args, { stdio: 'ignore', timeout: 3000, killSignal: 'SIGKILL' });
  return `nginx include put back on ${was} and ${reload.status === 0 ? 'reloaded' : 'NOT reloaded (reload failed)'}`;
}
