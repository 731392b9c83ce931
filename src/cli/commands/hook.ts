import { executeHook } from '../../runner/run-hook.ts';
import type { LifecycleEvent } from '../../core/events.ts';
import { checkFlow } from '../../flows/check.ts';
import { startFlow } from '../../flows/start.ts';
import { stopFlow } from '../../flows/stop.ts';
import { validateFlow } from '../../flows/validate.ts';

const flows = {
  ApplicationStop: stopFlow,
  ApplicationStart: startFlow,
  ValidateService: validateFlow,
} as const;

/** A hook run from source (`portproof stop|start|validate …`), exactly as the compiled executable runs it. */
export function hookCommand(event: LifecycleEvent): { run(argv: string[]): Promise<number> } {
  return { run: (argv) => executeHook(event, { run: flows[event], check: checkFlow }, argv) };
}
