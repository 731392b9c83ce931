import { setTimeout as sleep } from 'node:timers/promises';
import { DefaultPollMs } from './defaults.ts';

/** The outcome of pollUntil: the value that ended the wait, or a timeout. */
export type PollResult<T> = { done: true; value: T; waitedMs: number } | { done: false; waitedMs: number };

/**
 * Re-check `check` until it returns a value other than undefined or `untilMs` (a Date.now() instant) passes;
 * `onTick` runs between checks (progress lines).
 */
export async function pollUntil<T>(
  check: () => T | undefined | Promise<T | undefined>,
  untilMs: number,
  options: { intervalMs?: number; onTick?: () => void } = {},
): Promise<PollResult<T>> {
  const startedAt = Date.now();
  const intervalMs = options.intervalMs ?? DefaultPollMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return { done: true, value, waitedMs: Date.now() - startedAt };
    const left = untilMs - Date.now();
    if (left <= 0) return { done: false, waitedMs: Date.now() - startedAt };
    options.onTick?.();
    await sleep(Math.min(intervalMs, left));
  }
}
