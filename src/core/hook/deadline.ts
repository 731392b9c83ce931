// The hook's own deadline: finish with a verdict before CodeDeploy's timeout kills it silently.

/** How much of the appspec timeout is kept back for the verdict: a tenth, at least 2 s, at most 30 s. */
export function deadlineMarginMs(timeoutMs: number): number {
  return Math.min(30_000, Math.max(2000, timeoutMs / 10));
}

/** A point in time every wait is capped by. */
export class Deadline {
  readonly startedAt = Date.now();
  readonly at: number;

  constructor(readonly timeoutMs: number) {
    this.at = this.startedAt + timeoutMs - deadlineMarginMs(timeoutMs);
  }

  /** Milliseconds left before the hook must give its verdict. */
  remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }

  /** Milliseconds since the hook started. */
  elapsedMs(): number {
    return Date.now() - this.startedAt;
  }
}
