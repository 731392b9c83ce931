import { spawnSync } from 'node:child_process';
import { cutLine } from '../text/clean-line.ts';
import { LogLineChars, LogTailBudgetChars, LogTailLines } from '../process/log-tail.ts';

/** What one run of a unit wrote to the journal (its own output: the user's unit logs there), last lines first cut. */
export function readInvocationLines(invocationId: string): string[] {
  if (!/^[0-9a-f]{32}$/.test(invocationId)) return [];
  const text = journal(['-o', 'cat', '-n', String(LogTailLines), `_SYSTEMD_INVOCATION_ID=${invocationId}`]);
  const lines = text
    .split('\n')
    .map((line) => cutLine(line.trimEnd(), LogLineChars))
    .filter((line) => line !== '');
  // The newest lines are the ones that explain an exit; the console has room for about this much.
  while (lines.join('\n').length > LogTailBudgetChars) lines.shift();
  return lines;
}

/**
 * How one run of the unit ended, as systemd logged it ("exited with code 3", "was killed by SIGKILL"): the run's
 * first exit is the reason even after systemd restarted it (a new run) and cleared its status.
 */
export function readRunExit(unit: string, invocationId: string): string | null {
  if (!/^[0-9a-f]{32}$/.test(invocationId)) return null;
  // Only what systemd itself (PID 1, a field journald sets) logged about this run: the app cannot forge an exit line,
  // and an earlier run's exit in the same second is not this one's.
  const text = journal(['-o', 'cat', `UNIT=${unit}`, `INVOCATION_ID=${invocationId}`, '_PID=1']);
  const match = /Main process exited, code=(\w+), status=(\d+)\/(\w+)/.exec(text);
  if (match === null) return null;
  const [, code, status, name] = match;
  return code === 'exited' ? `exited with code ${status}` : `was killed by SIG${name}`;
}

function journal(args: string[]): string {
  const run = spawnSync('journalctl', ['--no-pager', '--quiet', ...args], { encoding: 'utf8', timeout: 10_000 });
  // No journal (journald not running, or no access): no evidence, which the verdict then does without.
  return run.status === 0 ? run.stdout : '';
}
