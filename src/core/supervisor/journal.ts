import { spawnSync } from 'node:child_process';
import { describeExit } from '../process/describe.ts';
import { fitTail, LogTailLines } from '../process/log-tail.ts';
import { describeStepExit } from './unit-steps.ts';

/** What one run of a unit wrote to the journal (its own output: the user's unit logs there), last lines first cut. */
export function readInvocationLines(invocationId: string): string[] {
  if (!/^[0-9a-f]{32}$/.test(invocationId)) return [];
  return fitTail(
    journal(['-o', 'cat', '-n', String(LogTailLines), `_SYSTEMD_INVOCATION_ID=${invocationId}`]).split('\n'),
  );
}

/** How one run of the unit ended, as systemd logged it: "exited with code 3", "was killed by SIGKILL". */
export function readRunExit(unit: string, invocationId: string): string | null {
  if (!/^[0-9a-f]{32}$/.test(invocationId)) return null;
  return findExit(readSystemdLines(unit, [`INVOCATION_ID=${invocationId}`], 0));
}

/**
 * How the unit's main process first ended since `sinceMs` (microseconds count: an earlier run's exit in the same
 * second is not this start's): the reason even after systemd restarted it (a new run) and cleared its status.
 */
export function readFirstExitSince(unit: string, sinceMs: number): string | null {
  return findExit(readSystemdLines(unit, [`--since=@${Math.floor(sinceMs / 1000)}`], sinceMs * 1000));
}

/**
 * Only what systemd itself logged about the unit (PID 1: a field journald sets, which the app cannot forge), from
 * `sinceUs` on.
 */
function readSystemdLines(unit: string, filters: string[], sinceUs: number): string[] {
  const text = journal(['-o', 'json', `UNIT=${unit}`, '_PID=1', ...filters]);
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    let entry: { MESSAGE?: unknown; __REALTIME_TIMESTAMP?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      // A line cut short or empty: nothing to read from it.
      continue;
    }
    if (Number(entry.__REALTIME_TIMESTAMP) >= sinceUs && typeof entry.MESSAGE === 'string') lines.push(entry.MESSAGE);
  }
  return lines;
}

/** How a control process's exit starts, for describeUnitExit to name the command. */
export const ControlProcess = 'its control process';

function findExit(lines: string[]): string | null {
  for (const line of lines) {
    // A control process (ExecStartPre, a forking unit's ExecStart) fails before any main process runs.
    const match = /(Main|Control) process exited, code=(\w+), status=(\d+)\/(\w+)/.exec(line);
    if (match === null) continue;
    const [, which, code, status, name] = match;
    // Which command it was, systemd does not log: describeUnitExit names it from the unit's own ExecStart* list.
    const whose = which === 'Control' ? `${ControlProcess} ` : '';
    if (code !== 'exited') return `${whose}${describeExit({ code: null, signal: `SIG${name}` })}`;
    // 200 to 243 are systemd's own: a step before the exec failed (CHDIR, USER, EXEC, STDOUT, …).
    return `${whose}${describeStepExit(Number(status), name)}`;
  }
  return null;
}

function journal(args: string[]): string {
  const run = spawnSync('journalctl', ['--no-pager', '--quiet', ...args], { encoding: 'utf8', timeout: 10_000 });
  // No journal (journald not running, or no access): no evidence, which the verdict then does without.
  return run.status === 0 ? run.stdout : '';
}
