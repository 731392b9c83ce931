import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '../config/duration.ts';
import { displayUrl } from '../config/secrets.ts';
import { DefaultSettleWatchMs } from '../defaults.ts';
import { HookError } from '../errors.ts';
import type { Progress } from '../progress.ts';
import type { ProcessInfo } from '../procfs/types.ts';
import { probeHealthOnce, type HealthPolicy } from './wait-healthy.ts';

// health.settle: an app that binds, answers health once, then dies must not pass. After health passed, the same
// process must still own the port, and answer health again, this much later.

/** How long to settle, the hook's deadline, and the health request to repeat at the end. */
export interface SettlePolicy {
  /** health.settle in ms; 0 turns the settle off. */
  settleMs: number;
  /** The hook's own deadline: the settle never waits past it. */
  deadlineAt: number;
  health: Omit<HealthPolicy, 'intervalMs' | 'untilMs'>;
}

/**
 * Re-reads the recorded process and proves it still owns the port, returning it; throws a HookError otherwise, whose
 * message says `when` ("within the 5.0 s settle after answering health"). Each supervisor adds its own identity
 * checks here.
 */
export type ConfirmOwner = (when: string) => ProcessInfo;

/** What a passed settle saw: how long it watched, and the last health answer. */
export interface Settled {
  waitedMs: number;
  status: number;
}

/**
 * Watch the proven process for `settleMs` (an exit or a lost listener fails at once, not at the end), then confirm
 * it once more, ask health once more over a connection it owns, and confirm again. Null when the settle is off.
 */
export async function settleOwner(policy: SettlePolicy, confirm: ConfirmOwner, out: Progress): Promise<Settled | null> {
  // health.settle: 0 is the operator saying "no settle".
  if (policy.settleMs <= 0) return null;
  const settle = formatDuration(policy.settleMs);
  const when = `within the ${settle} settle after answering health`;
  const startedAt = Date.now();
  const untilMs = Math.min(startedAt + policy.settleMs, policy.deadlineAt);
  out.begin(`Settling: the same process must still own the port and answer health ${settle} from now`, {
    settleMs: policy.settleMs,
  });
  do {
    confirm(when);
    out.progress(startedAt, untilMs);
    await sleep(Math.max(0, Math.min(DefaultSettleWatchMs, untilMs - Date.now())));
  } while (Date.now() < untilMs);
  const info = confirm(when);
  if (startedAt + policy.settleMs > policy.deadlineAt) throw deadlineError(policy, Date.now() - startedAt);
  const timeoutMs = Math.max(100, Math.min(policy.health.requestTimeoutMs, policy.deadlineAt - Date.now()));
  const { answer, reason } = await probeHealthOnce(info, policy.health, timeoutMs);
  if (reason !== null) {
    // Gone while the request ran: the exit, with its log, says more than the failed request.
    confirm(when);
    const url = displayUrl(policy.health.url);
    throw new HookError('UNHEALTHY', `${url} answered health, then failed it ${settle} later: ${reason}`, {
      url,
      status: answer.status ?? undefined,
      durationMs: Date.now() - startedAt,
    });
  }
  confirm(when);
  return { waitedMs: Date.now() - startedAt, status: answer.status ?? 0 };
}

function deadlineError(policy: SettlePolicy, waitedMs: number): HookError {
  const settle = formatDuration(policy.settleMs);
  return new HookError(
    'INTERRUPTED',
    `the hook's deadline came ${formatDuration(waitedMs)} into the ${settle} health.settle (the process still ` +
      'owned the port so far); raise the ValidateService timeout in appspec.yml or lower health.settle',
    { durationMs: waitedMs },
  );
}
