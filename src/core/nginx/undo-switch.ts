import { spawn } from 'node:child_process';
import type { LoadedConfig } from '../config/load.ts';
import { DefaultUndoConfirmMs } from '../defaults.ts';
import { describeFsError } from '../fs-error.ts';
import { pollUntil } from '../wait.ts';
import { readIncludeFile, restoreIncludeFile, type IncludeFile } from './include-file.ts';
import { oldWorkersStoppedAccepting, readNginxMaster, readWorkerKeys } from './master.ts';

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

/** How an interrupted switch was undone: the verdict's clause, and whether nginx is confirmed on the old include. */
export interface UndoResult {
  clause: string;
  confirmed: boolean;
}

/**
 * Put the include back and have nginx reload it. The include is restored and the reload started synchronously (the
 * switch's own steps must not run in between); the reload runs in a session of its own, so the SIGTERM or SIGKILL
 * that ends this hook's process group does not end it; then new workers are awaited (`budgetMs`).
 */
export async function undoSwitch(
  nginx: NginxConfig,
  include: IncludeFile,
  was: string,
  budgetMs = DefaultUndoConfirmMs,
): Promise<UndoResult> {
  try {
    restoreIncludeFile(include);
  } catch (error) {
    const why = describeFsError(error);
    const advice = 'run "hooks/validate --port N" for the live port';
    const clause = `could not put the nginx include back on ${was} (${why}): ${advice}`;
    return { clause, confirmed: false };
  }
  const running = readNginxMaster(nginx.pidFile);
  const before = 'problem' in running ? null : readWorkerKeys(running.master);
  const untilMs = Date.now() + budgetMs;
  const exit = await runDetached(nginx.reload, budgetMs);
  if (exit !== 0)
    return { clause: `nginx include put back on ${was}, NOT reloaded (reload ${exit})`, confirmed: false };
  // nginx not running: it serves nothing, and starts on the restored include.
  if ('problem' in running || before === null) return { clause: `nginx include put back on ${was}`, confirmed: true };
  // New workers, and the old ones no longer accepting: until they close their listeners they serve the new port.
  const renewed = await pollUntil(() => {
    const fresh = [...readWorkerKeys(running.master)].some((w) => !before.has(w));
    return fresh && oldWorkersStoppedAccepting(running.master, before) ? true : undefined;
  }, untilMs);
  if (!renewed.done) {
    const either = 'nginx may serve either port';
    const clause = `nginx include put back on ${was} and reloaded, but no new nginx workers yet: ${either}`;
    return { clause, confirmed: false };
  }
  return { clause: `nginx include put back on ${was} and reloaded (new workers confirmed)`, confirmed: true };
}

/** Run argv in a new session (setsid), output discarded; resolves to its exit code, or why it has none. */
function runDetached(argv: readonly string[], budgetMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    const [bin, ...args] = argv;
    // spawn() forks and execs before it returns: from here on the reload runs whatever happens to this hook.
    const child = spawn(bin!, args, { detached: true, stdio: 'ignore' });
    const timer = setTimeout(() => resolve(`still running after ${budgetMs} ms`), budgetMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve(`failed: ${error.message}`);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? `killed by ${signal}`);
    });
  });
}
