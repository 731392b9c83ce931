import { formatDuration } from '../config/duration.ts';
import { DefaultAbandonGraceMs, DefaultUnitPollMs } from '../defaults.ts';
import { HookError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import { describeProcess } from '../process/describe.ts';
import { isSameProcess, readProcessInfo } from '../procfs/index.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { pollUntil } from '../wait.ts';
import { runSystemctl, showUnit, type UnitStatus } from './systemctl.ts';

/** A unit this hook stopped: its main process as it ran, and how long systemd took. */
export interface StoppedUnit {
  unit: string;
  main: ProcessInfo | null;
  tookMs: number;
}

/** True while systemd runs the unit or is about to (a restart pending counts: it would start again). */
export function isUnitRunning(status: UnitStatus): boolean {
  return status.loadState === 'loaded' && !['inactive', 'failed'].includes(status.activeState);
}

/**
 * Stop a unit through systemd, which signals its whole cgroup and SIGKILLs what is left after its own stop timeout,
 * and wait until it is down; null when it was not running. A pending restart is cancelled with it. A unit whose own
 * timeout is longer than `graceMs` (the user's unit may say infinity) gets SIGKILL to its cgroup after `graceMs`.
 * `status` is the unit's as the caller just read it.
 */
export async function stopUnit(
  unit: string,
  graceMs: number,
  untilMs: number,
  out: Progress,
  status = showUnit(unit),
): Promise<StoppedUnit | null> {
  if (!isUnitRunning(status)) return null;
  const main = status.mainPid > 0 ? readProcessInfo(status.mainPid) : null;
  const startedAt = Date.now();
  out.say(`Stopping ${unit}${main ? `, ${describeProcess(main)}` : ''}`, { unit, pid: main?.pid });
  // --no-block: the hook keeps its own deadline and progress lines instead of waiting inside systemctl.
  runSystemctl(['stop', '--no-block', '--', unit]);
  let askedAt = 0;
  // /proc every poll while the main process runs; systemd now and then, and at once when it is gone.
  const isDown = () => {
    if (main && isSameProcess(main) && Date.now() - askedAt < DefaultUnitPollMs) return undefined;
    askedAt = Date.now();
    return isUnitRunning(showUnit(unit)) ? undefined : true;
  };
  const options = { onTick: () => out.progress(startedAt, untilMs) };
  // A little past the grace: systemd's own SIGKILL, with the same grace, comes first when the unit is portproof's.
  let down = await pollUntil(isDown, Math.min(startedAt + graceMs + DefaultUnitPollMs * 4, untilMs), options);
  if (!down.done && Date.now() < untilMs) {
    out.say(`${unit} still stopping after ${formatDuration(graceMs)} grace: SIGKILL to its cgroup`, { unit });
    runSystemctl(['kill', '--signal=SIGKILL', '--', unit]);
    down = await pollUntil(isDown, untilMs, options);
  }
  const tookMs = Date.now() - startedAt;
  if (!down.done) {
    throw new HookError('STOP_FAILED', `${unit} was still stopping after ${formatDuration(tookMs)}`, {
      unit,
      pid: main?.pid,
    });
  }
  return { unit, main, tookMs };
}

/**
 * Stop a unit when the hook cannot wait for it (a failed start's cleanup): asks systemd, waits up to `untilMs`; false
 * when it was still stopping then (systemd goes on with the stop after the hook ends).
 */
export async function stopUnitQuietly(unit: string, untilMs: number, out: Progress): Promise<boolean> {
  try {
    await stopUnit(unit, DefaultAbandonGraceMs, untilMs, out);
    return true;
  } catch (error) {
    // The start's own failure is the verdict; a unit that would not stop is said above it.
    out.say(`Could not stop ${unit}: ${(error as Error).message}`);
    return false;
  }
}
