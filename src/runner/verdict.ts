import { HookError } from '../core/errors.ts';
import type { LifecycleEvent } from '../core/events.ts';
import { cutLine } from '../core/text/clean-line.ts';

/** The verdict line (in UTF-8 bytes) may be longer than other lines, but never near the console's ~2 KB limit. */
export const MaxVerdictChars = 1000;

/** The last line of a successful hook. */
export function okVerdict(event: LifecycleEvent, summary: string): string {
  return cutLine(`portproof ${event} OK: ${summary}`, MaxVerdictChars);
}

/** The last line of a --check that found the app not healthy (its exit code says which way). */
export function unhealthyVerdict(event: LifecycleEvent, summary: string): string {
  return cutLine(`portproof ${event} UNHEALTHY: ${summary}`, MaxVerdictChars);
}

/** The closing lines of a hook that ends 0 with what it could not do: the evidence, then the verdict last. */
export function warningVerdict(event: LifecycleEvent, message: string, evidence: string[] = []): string[] {
  return [
    ...evidence.map((line) => cutLine(line, 220)),
    cutLine(`portproof ${event} WARNING: ${message}`, MaxVerdictChars),
  ];
}

/** The closing lines of a failed hook: its evidence, then the verdict last. */
export function failedVerdict(event: LifecycleEvent, error: unknown): string[] {
  const hookError = toHookError(error);
  const evidence = (hookError.context.evidence ?? []).map((line) => cutLine(line, 220));
  return [...evidence, cutLine(`portproof ${event} FAILED: ${hookError.message}`, MaxVerdictChars)];
}

/** Any thrown value as a HookError; an unexpected one keeps its message and says it is a bug. */
export function toHookError(error: unknown): HookError {
  if (error instanceof HookError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new HookError(
    'INTERNAL',
    `unexpected error (a portproof bug, please report it): ${message}`,
    {},
    { cause: error },
  );
}
