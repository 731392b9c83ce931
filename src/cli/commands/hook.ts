import { executeHook } from '../../runner/run-hook.ts';
import type { LifecycleEvent } from '../../core/events.ts';
import { checkFlow } from '../../flows/check.ts';
import { startFlow } from '../../flows/start.ts';
import { describeUnusableConfig, stopFlow } from '../../flows/stop.ts';
import { validateFlow } from '../../flows/validate.ts';

// As src/hooks/*.ts pass them: ApplicationStop of a config nginx cannot serve warns and ends 0 there, and here.
const flows = {
  ApplicationStop: { run: stopFlow, check: checkFlow, unusableConfig: describeUnusableConfig },
  ApplicationStart: { run: startFlow, check: checkFlow },
  ValidateService: { run: validateFlow, check: checkFlow },
} as const;

/** A hook run from source (`portproof stop|start|validate …`), exactly as the compiled executable runs it. */
export function hookCommand(event: LifecycleEvent): { run(argv: string[]): Promise<number> } {
  return { run: (argv) => executeHook(event, flows[event], argv) };
}
