// --wait: poll GetDeployment until the status is final, with a progress line at most every few seconds.
import { setTimeout as sleep } from 'node:timers/promises';
import { WhyError } from './errors.ts';
import { formatDuration } from '../core/config/duration.ts';
import { describeOverview } from './format.ts';
import { FinalStatuses, type DeploymentFacts } from './types.ts';

/** How often GetDeployment is asked by default (PORTPROOF_WHY_POLL_MS overrides). */
export const DefaultStatusPollMs = 5_000;
/** At most one progress line per this interval (PORTPROOF_WHY_PROGRESS_MS overrides). */
export const DefaultProgressMs = 5_000;
/** Polls throttled in a row (after the SDK's own retries) that --wait rides out before giving up. */
export const DefaultMaxThrottledPolls = 3;

/** Tunables and seams for waitForFinalStatus; tests pass a fake clock. */
export interface WaitOptions {
  pollMs: number;
  progressMs: number;
  maxThrottledPolls?: number;
  onProgress: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

/** True for statuses after which a deployment no longer changes on its own. */
export function isFinalStatus(status: string): boolean {
  return (FinalStatuses as readonly string[]).includes(status);
}

/** Poll until the deployment's status is final; return its last facts. */
export async function waitForFinalStatus(
  poll: () => Promise<DeploymentFacts>,
  options: WaitOptions,
): Promise<DeploymentFacts> {
  const now = options.now ?? Date.now;
  const pause = options.sleep ?? sleep;
  const maxThrottled = options.maxThrottledPolls ?? DefaultMaxThrottledPolls;
  const started = now();
  let lastProgress: number | undefined;
  let throttled = 0;
  for (;;) {
    let facts: DeploymentFacts | undefined;
    try {
      facts = await poll();
      throttled = 0;
    } catch (error) {
      // A throttled poll is skipped, not fatal: the next one comes a full interval later. Anything else ends the wait.
      if (!isThrottled(error) || ++throttled >= maxThrottled) throw error;
    }
    if (facts !== undefined && isFinalStatus(facts.status)) return facts;
    const at = now();
    if (facts !== undefined && (lastProgress === undefined || at - lastProgress >= options.progressMs)) {
      options.onProgress(describeProgress(facts, at - started));
      lastProgress = at;
    }
    await pause(options.pollMs);
  }
}

/** `waiting for d-…: InProgress after 12s (2 succeeded, 0 failed, …)`. */
export function describeProgress(facts: DeploymentFacts, elapsedMs: number): string {
  const after = formatDuration(elapsedMs, 'clock');
  return `waiting for ${facts.id}: ${facts.status} after ${after} (${describeOverview(facts.overview)})`;
}

function isThrottled(error: unknown): boolean {
  return error instanceof WhyError && error.cause instanceof Error && error.cause.name === 'ThrottlingException';
}
