// The hook's own deadline: finish with a verdict before CodeDeploy's timeout kills it silently.

/** How much of the appspec timeout is kept back for the verdict: a tenth, at least 2 s, at most 30 s. */
export function deadlineMarginMs(timeoutMs: number): number {
  return Math.min(30_000, Math.max(2000, timeoutMs / 10));
}

/** When this process began (the agent's timeout runs from its spawn, not from when the config was read). */
export function processStartedAt(): number {
  return Math.round(performance.timeOrigin);
}

/** A point in time every wait is capped by, counted from the process's start. */
export class Deadline {
  readonly at: number;

  constructor(
    readonly timeoutMs: number,
    readonly startedAt = processStartedAt(),
  ) {
    this.at = this.startedAt + timeoutMs - deadlineMarginMs(timeoutMs);
  }

  /** Milliseconds left before the hook must give its verdict. */
  remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }

  /** Milliseconds since the hook's process started. */
  elapsedMs(): number {
    return Date.now() - this.startedAt;
  }
}
