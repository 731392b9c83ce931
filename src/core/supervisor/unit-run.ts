import { describeExit } from '../process/describe.ts';
import { readLogTail } from '../process/log-tail.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { ControlProcess, readFirstExitSince, readInvocationLines, readRunExit } from './journal.ts';
import { describeStepExit } from './unit-steps.ts';
import type { UnitStatus } from './systemctl.ts';

// One run of a unit, as the start, the validation and a rollback see it: who it is, whether it is over, how it ended
// and what it said.

/** An app systemd started: its unit, this run of it, and its main process (whose cgroup is the new tree). */
export interface UnitApp {
  unit: string;
  invocationId: string;
  /** NRestarts when the start began: a restart since shows as a higher count. */
  restarts: number;
  /** The unit's main process, with the unit's cgroup as its tree. */
  info: ProcessInfo;
  /** app.log for a unit portproof wrote, and where this start's output begins in it; null for the user's own unit. */
  log: { file: string; offset: number; user: string | undefined } | null;
  startedAt: number;
}

/** True when the run portproof started is over: its main process changed, systemd restarted it, or it stopped. */
export function hasLeftRun(app: Pick<UnitApp, 'invocationId' | 'info' | 'restarts'>, status: UnitStatus): boolean {
  return (
    status.invocationId !== app.invocationId ||
    status.mainPid !== app.info.pid ||
    status.restarts > app.restarts ||
    !['active', 'activating', 'reloading'].includes(status.activeState)
  );
}

/**
 * How the run ended, in words: the exit systemd logged for this run (or, during a start, the first since it began),
 * else the unit's status now.
 */
export function describeUnitExit(
  app: Pick<UnitApp, 'unit' | 'invocationId'> & { startedAt?: number },
  status: UnitStatus,
): string {
  const logged =
    app.startedAt !== undefined ? readFirstExitSince(app.unit, app.startedAt) : readRunExit(app.unit, app.invocationId);
  const now = status.lastExit;
  const main = now ? (now.code !== null ? describeStepExit(now.code) : describeExit(now)) : null;
  // A step before or beside the main process (ExecStartPre, a forking start) names what the main exit hides.
  const exit = status.failedStep ?? nameControlProcess(logged, status.controlSteps) ?? main;
  const restarted = status.restarts > 0 ? `, and systemd restarted it ${status.restarts} time(s)` : '';
  const gaveUp =
    status.result === 'start-limit-hit' ? `; systemd gave up after ${status.restarts} restart(s): start-limit-hit` : '';
  const stopped = `stopped (${status.activeState}/${status.subState}, result ${status.result})`;
  return `${exit ?? stopped}${restarted}${gaveUp}`;
}

/** "its control process exited …" as the journal says it, with the command when the unit has only one such step. */
function nameControlProcess(logged: string | null, steps: string[]): string | null {
  if (logged === null || !logged.startsWith(ControlProcess)) return logged;
  const which = steps.length === 1 ? `its ${steps[0]}` : `${ControlProcess} (one of ${steps.join(', ')})`;
  return steps.length === 0 ? logged : `${which}${logged.slice(ControlProcess.length)}`;
}

/** The app's last output for this start: its log file for a unit portproof wrote, the journal for the user's own. */
export function describeOutput(app: Pick<UnitApp, 'log' | 'invocationId'>): string[] {
  const lines = app.log
    ? readLogTail(app.log.file, app.log.offset, app.log.user)
    : readInvocationLines(app.invocationId);
  const where = app.log ? app.log.file : 'the journal';
  return lines.length > 0 ? [`last lines of ${where}:`, ...lines.map((l) => `  ${l}`)] : [];
}
