import type { HookFlow } from './context.ts';
import type { LifecycleEvent } from './help.ts';
import { answerAtOnce } from './quick-answer.ts';

/**
 * A hook executable's first step: --version and --help answer at once; the runner and the flow are loaded lazily
 * (the bundle evaluates them only now), so a person's first try is instant.
 */
export function startHook(event: LifecycleEvent, loadFlow: () => Promise<HookFlow>, argv = process.argv.slice(2)): void {
  if (answerAtOnce(event, argv)) return;
  // --check loads its own flow only when asked for: a real hook run does not pay for it.
  const check: HookFlow = async (ctx) => (await import('../../flows/check.ts')).checkFlow(ctx);
  void Promise.all([import('./run-hook.ts'), loadFlow()]).then(([{ runHook }, run]) => runHook(event, { run, check }, argv));
}
