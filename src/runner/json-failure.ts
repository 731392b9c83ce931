import type { HookError } from '../core/errors.ts';
import type { LifecycleEvent } from '../core/events.ts';
import { cleanStrings } from '../core/text/clean-line.ts';

/**
 * The JSON document a --json run prints when it fails before (or instead of) its report: a usage error, a config
 * that cannot be loaded, the check's own failure. A monitor parsing stdout always gets JSON; the exit code is the same.
 */
export function renderJsonFailure(event: LifecycleEvent, error: HookError): string {
  const { code, message, exitCode } = error;
  const doc = { event, healthy: false, status: exitCode, reasons: [message], error: { code, message } };
  return JSON.stringify(cleanStrings(doc));
}
