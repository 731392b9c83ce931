import { HookError } from '../errors.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import type { StartRecord } from '../state/state.ts';
import { showUnit } from './systemctl.ts';
import { describeOutput, describeUnitExit, hasLeftRun } from './unit-start.ts';

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
  const log = record.log ? { file: record.log, offset: 0 } : null;
  throw new HookError('NOT_OWNER', `${record.unit}, started as PID ${record.pid} by ApplicationStart, ${how}${now}`, {
    port,
    pid: record.pid,
    unit: record.unit,
    evidence: describeOutput({ log, invocationId: record.invocationId ?? '' }),
  });
}
