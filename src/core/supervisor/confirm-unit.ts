import { HookError } from '../errors.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { describeRun, type StartRecord } from '../state/state.ts';
import { readProcessInfo } from '../procfs/index.ts';
import { showUnit } from './systemctl.ts';
import { describeOutput, describeUnitExit, hasLeftRun } from './unit-run.ts';
import type { AdoptedRun } from './supervisor.ts';

/**
 * A record ApplicationStart made under systemd is still the unit's current run: same main PID, same invocation, still
 * active. A restart is a failure here, never a silent new PID: it names the first exit and the process running now.
 */
export function confirmUnitRun(record: StartRecord & { unit: string }, port: number): void {
  const status = showUnit(record.unit);
  const app = {
    invocationId: record.invocationId ?? '',
    info: { pid: record.pid } as ProcessInfo,
    restarts: record.restarts ?? 0,
  };
  if (!hasLeftRun(app, status)) return;
  const how = describeUnitExit({ unit: record.unit, invocationId: app.invocationId }, status);
  const now = status.mainPid > 0 ? `; it now runs PID ${status.mainPid}, a run ValidateService did not see start` : '';
  const log = record.log ? { file: record.log, offset: 0, user: record.user || undefined } : null;
  throw new HookError('NOT_OWNER', `${record.unit}, started as PID ${record.pid} by ApplicationStart, ${how}${now}`, {
    port,
    pid: record.pid,
    unit: record.unit,
    evidence: describeOutput({ log, invocationId: record.invocationId ?? '' }),
  });
}

/**
 * The recorded main process is gone, but systemd may not have reaped it yet: wait for systemd (up to `waitMs`) to see
 * the run end, so that the verdict names its exit; throws that, or returns when systemd still shows the run.
 */
export function explainUnitExit(record: StartRecord & { unit: string }, port: number, waitMs = 2000): void {
  const until = Date.now() + waitMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    confirmUnitRun(record, port);
    if (Date.now() >= until) return;
    // A synchronous pause: the check it serves is synchronous, and nothing else runs in the hook meanwhile.
    Atomics.wait(pause, 0, 0, 50);
  }
}

/**
 * A rollback proves the unit's current run, not the one ApplicationStart recorded: systemd restarting the kept
 * version (a crash, a kill) is its job done. Null when the recorded run is still current, or when no run is active
 * (then confirmUnitRun names how it ended).
 */
export function adoptCurrentRun(record: StartRecord & { unit: string }): AdoptedRun | null {
  const status = showUnit(record.unit);
  const app = { invocationId: record.invocationId ?? '', info: { pid: record.pid } as ProcessInfo, restarts: 0 };
  if (!hasLeftRun({ ...app, restarts: record.restarts ?? 0 }, status)) return null;
  if (status.activeState !== 'active' || status.mainPid === 0) return null;
  const info = readProcessInfo(status.mainPid);
  if (info === null) return null;
  const adopted = {
    ...record,
    ...describeRun(info),
    invocationId: status.invocationId,
    restarts: status.restarts,
    cgroup: status.controlGroup,
  };
  const restarts = status.restarts > 0 ? `, ${status.restarts} restart(s)` : '';
  const clause = `${record.unit} was restarted since ApplicationStart (PID ${record.pid} → ${info.pid}${restarts})`;
  return { record: adopted, clause: `${clause}: its current run was proved` };
}
